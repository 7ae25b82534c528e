/**
 * UDP, ICMP/ICMPv6 (queries and errors) and generic protocols. Expected
 * outcomes: nf_conntrack_proto_udp.c, nf_conntrack_proto_icmp.c,
 * nf_conntrack_proto_icmpv6.c, nf_conntrack_core.c (nf_conntrack_in,
 * resolve_normal_ct, generic_packet), nft_ct.c (no conntrack -> "invalid"),
 * and where marked "kernel:", Linux 6.18 itself (lab/scenarios/<name>.json).
 */
import { describe, expect, it } from 'vitest';
import { CtCode, CtState } from '../../src/conntrack/index.js';
import { PacketKind } from '../../src/packet/types.js';
import { Driver, generic, icmp, icmpError, tcp, udp } from './helpers.js';

const A = '10.1.0.2';
const B = '10.2.0.1';

describe('UDP', () => {
  it('first packet new, reply established, then established both ways (kernel: udp)', () => {
    const d = new Driver();
    expect(d.send(udp(`${A}:40000 > ${B}:53`)).state).toBe('new');
    // a second packet before any reply is still "new" (ctinfo IP_CT_NEW: no SEEN_REPLY)
    expect(d.send(udp(`${A}:40000 > ${B}:53`)).state).toBe('new');
    const rep = d.send(udp(`${B}:53 > ${A}:40000`));
    expect(rep.state).toBe('established');
    expect(rep.reply).toBe(true);
    expect(d.send(udp(`${A}:40000 > ${B}:53`)).state).toBe('established');
  });

  it('another source port is another flow', () => {
    const d = new Driver();
    d.send(udp(`${A}:40000 > ${B}:53`));
    expect(d.send(udp(`${A}:40001 > ${B}:53`)).state).toBe('new');
    expect(d.ct.size).toBe(2);
  });

  it('counts packets and IP bytes per direction', () => {
    const d = new Driver();
    d.send(udp(`${A}:40000 > ${B}:53`, { len: 12 }));
    d.send(udp(`${B}:53 > ${A}:40000`, { len: 100 }));
    const e = d.only();
    expect([e.packetsOrig, e.bytesOrig, e.packetsReply, e.bytesReply]).toEqual([1, 40, 1, 128]);
  });
});

describe('ICMP echo (nf_conntrack_icmp_packet)', () => {
  it('request new, reply established; tracked by id (kernel: icmp)', () => {
    const d = new Driver();
    expect(d.send(icmp(`${A} > ${B}`, { type: 8, id: 77 })).state).toBe('new');
    const rep = d.send(icmp(`${B} > ${A}`, { type: 0, id: 77 }));
    expect(rep.state).toBe('established');
    expect(rep.reply).toBe(true);
    const e = d.only();
    expect([e.orig.icmpType, e.orig.icmpCode, e.orig.icmpId]).toEqual([8, 0, 77]);
    expect([e.reply.icmpType, e.reply.icmpId]).toEqual([0, 77]);
    expect(d.send(icmp(`${A} > ${B}`, { type: 8, id: 77 })).state).toBe('established');
  });

  it('a reply without its request is invalid and creates nothing (kernel: icmp)', () => {
    const d = new Driver();
    d.send(icmp(`${A} > ${B}`, { type: 8, id: 77 }));
    const o = d.send(icmp(`${B} > ${A}`, { type: 0, id: 78 }));
    expect(o.state).toBe('invalid');
    expect(o.code).toBe(CtCode.INVALID_NEW);
    expect(o.reason).toMatch(/^icmp echo-reply cannot create a connection/);
    expect(d.ct.size).toBe(1);
  });

  it('timestamp request is tracked like echo (kernel: icmp)', () => {
    const d = new Driver();
    expect(d.send(icmp(`${A} > ${B}`, { type: 13 })).state).toBe('new');
    expect(d.only().reply.icmpType).toBe(14);
  });

  it('a type without a reply type (router advertisement) is invalid (nf_conntrack_invert_icmp_tuple; kernel: icmp)', () => {
    const d = new Driver();
    const o = d.send(icmp(`${A} > ${B}`, { type: 9 }));
    expect(o.state).toBe('invalid');
    expect(o.reason).toMatch(/no reply type/);
  });

  it('types above 18 are invalid (nf_conntrack_icmpv4_error; kernel: icmp)', () => {
    const d = new Driver();
    expect(d.send(icmp(`${A} > ${B}`, { type: 40 })).reason).toMatch(/^invalid icmp type 40 /);
  });
});

describe('ICMPv6 (nf_conntrack_proto_icmpv6.c)', () => {
  it('echo request new, reply established, lone reply invalid (kernel: icmp6)', () => {
    const d = new Driver();
    expect(d.send(icmp('fd01::2 > fd02::2', { type: 128, id: 77 })).state).toBe('new');
    expect(d.send(icmp('fd02::2 > fd01::2', { type: 129, id: 77 })).state).toBe('established');
    expect(d.send(icmp('fd02::2 > fd01::2', { type: 129, id: 78 })).state).toBe('invalid');
  });

  it('neighbour discovery and MLD are untracked (noct_valid_new; kernel: icmp6)', () => {
    const d = new Driver();
    for (const type of [130, 131, 132, 133, 134, 135, 136, 143]) {
      const o = d.send(icmp('fd01::2 > fd02::2', { type }));
      expect(o.state, `type ${type}`).toBe('untracked');
      expect(o.entry).toBeNull();
    }
    expect(d.ct.size).toBe(0);
  });

  it('an informational type without reply type is invalid (kernel: icmp6)', () => {
    const d = new Driver();
    expect(d.send(icmp('fd01::2 > fd02::2', { type: 200 })).state).toBe('invalid');
  });

  it('redirects are never related here (deliberate: the redirected header is not decoded)', () => {
    const d = new Driver();
    expect(d.send(icmp('fe80::1 > fd01::2', { type: 137 })).code).toBe(CtCode.INVALID_ICMP_ERROR);
  });
});

describe('ICMP errors (nf_conntrack_inet_error)', () => {
  it('port unreachable about a UDP flow is related, in the reply direction (kernel: icmp)', () => {
    const d = new Driver();
    d.send(udp(`${A}:40000 > ${B}:53`));
    const before = d.only().deadline;
    const o = d.send(icmpError(`${B} > ${A}`, { type: 3, code: 3 }, { proto: 'udp', flow: `${A}:40000 > ${B}:53` }), 5);
    expect(o.state).toBe('related');
    expect(o.code).toBe(CtCode.RELATED);
    expect(o.reply).toBe(true);
    expect(o.related).toBe(d.only());
    expect(o.entry).toBe(d.only());
    // an error does not refresh the entry nor count as a reply
    expect(d.only().deadline).toBe(before);
    expect(d.only().seenReply).toBe(false);
  });

  it('an error from anywhere on the path counts (outer source is not checked)', () => {
    const d = new Driver();
    d.send(udp(`${A}:40000 > ${B}:53`));
    const o = d.send(icmpError(`192.0.2.1 > ${A}`, { type: 11 }, { proto: 'udp', flow: `${A}:40000 > ${B}:53` }));
    expect(o.state).toBe('related');
  });

  it("an error about the server's packet, sent by the client side, is related in the original direction (kernel: icmp)", () => {
    const d = new Driver();
    d.send(udp(`${A}:40000 > ${B}:53`));
    const o = d.send(icmpError(`${A} > ${B}`, { type: 11 }, { proto: 'udp', flow: `${B}:53 > ${A}:40000` }));
    expect(o.state).toBe('related');
    expect(o.reply).toBe(false);
  });

  it('an error about a TCP flow is related (kernel: icmp)', () => {
    const d = new Driver();
    d.send(tcp(`${A}:40000 > ${B}:8080`, 'S', { seq: 1000 }));
    const o = d.send(icmpError(`${B} > ${A}`, { type: 3, code: 1 }, { proto: 'tcp', flow: `${A}:40000 > ${B}:8080` }));
    expect(o.state).toBe('related');
    expect(d.tcpState()).toBe('SYN_SENT');
  });

  it('an error about an ICMP echo is related (kernel: icmp)', () => {
    const d = new Driver();
    d.send(icmp(`${A} > ${B}`, { type: 8, id: 77 }));
    const o = d.send(icmpError(`${B} > ${A}`, { type: 11 }, { proto: 'icmp', flow: `${A} > ${B}`, id: 77 }));
    expect(o.state).toBe('related');
  });

  it('an error quoting an unknown flow is invalid: no conntrack, so nft sees invalid (nft_ct_get_eval; kernel: icmp)', () => {
    const d = new Driver();
    d.send(udp(`${A}:40000 > ${B}:53`));
    const o = d.send(icmpError(`${B} > ${A}`, { type: 3, code: 3 }, { proto: 'udp', flow: `${A}:41111 > ${B}:53` }));
    expect(o.state).toBe('invalid');
    expect(o.code).toBe(CtCode.INVALID_ICMP_ERROR);
    expect(o.reason).toBe(
      'icmp destination-unreachable port-unreachable, an error, quotes a packet of no known connection',
    );
    expect(d.ct.size).toBe(1);
  });

  it("an error sent to an address that is not the connection's endpoint is invalid (outer daddr != inner; kernel: icmp)", () => {
    const d = new Driver();
    d.send(udp(`${A}:40000 > ${B}:53`));
    const o = d.send(
      icmpError(`${B} > 10.1.0.3`, { type: 3, code: 3 }, { proto: 'udp', flow: `${A}:40000 > ${B}:53` }),
    );
    expect(o.state).toBe('invalid');
    expect(o.about).toBe(d.only());
  });

  it('an error without a readable quote is invalid', () => {
    const d = new Driver();
    const p = icmpError(`${B} > ${A}`, { type: 3, code: 3 }, { proto: 'udp', flow: `${A}:40000 > ${B}:53` });
    p.innerValid = false;
    expect(d.send(p).state).toBe('invalid');
  });

  it('ICMPv6 destination unreachable and packet too big are related (kernel: icmp6)', () => {
    const d = new Driver();
    d.send(udp('[fd01::2]:40000 > [fd02::2]:53'));
    const flow = '[fd01::2]:40000 > [fd02::2]:53';
    expect(d.send(icmpError('fd02::2 > fd01::2', { type: 1, code: 4 }, { proto: 'udp', flow })).state).toBe('related');
    expect(d.send(icmpError('fd02::2 > fd01::2', { type: 2 }, { proto: 'udp', flow })).state).toBe('related');
    const other = '[fd01::2]:41111 > [fd02::2]:53';
    expect(d.send(icmpError('fd02::2 > fd01::2', { type: 1, code: 4 }, { proto: 'udp', flow: other })).state).toBe(
      'invalid',
    );
  });

  it('the result state is the nft "ct state" bit', () => {
    const d = new Driver();
    d.send(udp(`${A}:40000 > ${B}:53`));
    const r = d.ct.process(
      icmpError(`${B} > ${A}`, { type: 3, code: 3 }, { proto: 'udp', flow: `${A}:40000 > ${B}:53` }),
      d.now,
      99,
    );
    expect(r.state).toBe(CtState.RELATED);
  });
});

describe('generic protocols and untrackable packets', () => {
  it('other protocols: tuple without ports, new then established, 600 s, never ASSURED (generic_packet; kernel: generic)', () => {
    const d = new Driver();
    expect(d.send(generic(`${A} > ${B}`, 99)).state).toBe('new');
    expect(d.send(generic(`${B} > ${A}`, 99)).state).toBe('established');
    d.send(generic(`${A} > ${B}`, 99), 5);
    const e = d.only();
    expect([e.orig.sport, e.orig.dport]).toEqual([0, 0]);
    expect(e.assured).toBe(false);
    expect(d.left()).toBe(600);
    expect(d.send(generic(`${A} > ${B}`, 253)).state).toBe('new'); // another protocol: another entry
    expect(d.ct.size).toBe(2);
    // SCTP has a tracker of its own (sctp.test.ts): a packet without chunks fails do_basic_checks.
    const sctp = generic(`${A} > ${B}`, 132);
    sctp.sctpBad = true;
    expect(d.send(sctp).state).toBe('invalid');
    expect(d.ct.size).toBe(2);
  });

  it('GRE: 30 s until a reply, then 180 s and ASSURED on the next packet (nf_conntrack_gre_packet; kernel: generic)', () => {
    const d = new Driver();
    d.send(generic(`${A} > ${B}`, 47));
    expect(d.left()).toBe(30);
    expect(d.send(generic(`${B} > ${A}`, 47)).state).toBe('established');
    expect(d.left()).toBe(30); // SEEN_REPLY is set after the tracker ran
    expect(d.only().assured).toBe(false);
    d.send(generic(`${A} > ${B}`, 47));
    expect(d.left()).toBe(180);
    expect(d.only().assured).toBe(true);
  });

  it('a non-first fragment is invalid (the kernel tracks reassembled packets only)', () => {
    const d = new Driver();
    const p = udp(`${A}:40000 > ${B}:53`);
    p.isFragment = true;
    p.fragOffset = 1480;
    const o = d.send(p);
    expect(o.state).toBe('invalid');
    expect(o.code).toBe(CtCode.INVALID_PACKET);
  });

  it('a first fragment is tracked by its headers', () => {
    const d = new Driver();
    const p = udp(`${A}:40000 > ${B}:53`);
    p.isFragment = true;
    p.moreFragments = true;
    expect(d.send(p).state).toBe('new');
  });

  it('non-IP frames are untracked, undecodable ones invalid', () => {
    const d = new Driver();
    const arp = udp(`${A}:1 > ${B}:2`);
    arp.kind = PacketKind.NON_IP;
    expect(d.send(arp).state).toBe('untracked');
    const bad = udp(`${A}:1 > ${B}:2`);
    bad.kind = PacketKind.MALFORMED;
    bad.error = 'IPv4 total length 1500 exceeds captured 60 bytes';
    const o = d.send(bad);
    expect(o.state).toBe('invalid');
    expect(o.reason).toBe('IPv4 total length 1500 exceeds captured 60 bytes');
  });
});
