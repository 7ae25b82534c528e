/**
 * NAT in the conntrack layer (src/conntrack/nat.ts): the reply tuple, the
 * status bits and the packets as they leave, against tuples worked out by
 * hand from nf_nat_core.c (get_unique_tuple, nf_nat_packet).
 *
 * Addresses: inside hosts A 192.168.1.10 and B 192.168.1.20 behind the
 * firewall F (LAN 192.168.1.1, WAN 203.0.113.1); server S 198.51.100.10;
 * outside client C 198.51.100.77.
 */
import { describe, expect, it } from 'vitest';
import {
  CtStatus,
  CtTuple,
  NatFlag,
  NatManip,
  natFlags,
  natInitialized,
  natTarget,
} from '../../src/conntrack/index.js';
import { formatConntrackEntry } from '../../src/report/conntrack-list.js';
import { Driver, icmp, tcp, udp } from './helpers.js';
import { forward, packetTuple, range, text } from './nat-helpers.js';

/** A TCP tuple from "a:p > b:q". */
const tuple = (flow: string): CtTuple => packetTuple(tcp(flow, 'S'));

const A = '192.168.1.10';
const B = '192.168.1.20';
const F = '203.0.113.1';
const S = '198.51.100.10';
const C = '198.51.100.77';
const masq = { snat: range(F) };

const NAT_BITS = CtStatus.SRC_NAT | CtStatus.DST_NAT | CtStatus.SRC_NAT_DONE | CtStatus.DST_NAT_DONE;

describe('SNAT / masquerade', () => {
  it('rewrites the source going out and the destination of replies; conntrack -L as the kernel prints it', () => {
    const d = new Driver();
    const h = forward(d, tcp(`${A}:40000 > ${S}:80`, 'S', { seq: 1000 }), masq);
    expect(h.setup).toBe(true);
    expect(h.routed).toBe(`${A}:40000 > ${S}:80`);
    expect(h.out).toBe(`${F}:40000 > ${S}:80`);
    const e = d.only();
    expect(e.status & NAT_BITS).toBe(CtStatus.SRC_NAT | CtStatus.SRC_NAT_DONE | CtStatus.DST_NAT_DONE);
    expect(text(e.reply)).toBe(`${S}:80 > ${F}:40000`);
    expect(text(e.orig)).toBe(`${A}:40000 > ${S}:80`);

    const back = forward(d, tcp(`${S}:80 > ${F}:40000`, 'S.', { seq: 5000, ack: 1001 }));
    expect([back.state, back.reply]).toEqual(['established', true]);
    expect(back.routed).toBe(`${S}:80 > ${A}:40000`);
    expect(back.out).toBe(`${S}:80 > ${A}:40000`);
    expect(text(natTarget(back.r, new CtTuple()))).toBe(`${S}:80 > ${A}:40000`);
    forward(d, tcp(`${A}:40000 > ${S}:80`, '.', { seq: 1001, ack: 5001 }));
    d.now += 0.3;
    expect(formatConntrackEntry(d.only(), d.now)).toBe(
      'tcp      6 431999 ESTABLISHED src=192.168.1.10 dst=198.51.100.10 sport=40000 dport=80 src=198.51.100.10 dst=203.0.113.1 sport=80 dport=40000 [ASSURED] mark=0 use=1',
    );
  });

  it('replies are found through the altered reply tuple, not the inverted original', () => {
    const d = new Driver();
    forward(d, tcp(`${A}:40000 > ${S}:80`, 'S', { seq: 1000 }), masq);
    const e = d.only();
    expect(d.ct.lookup(tuple(`${S}:80 > ${F}:40000`))).toBe(e);
    // S never sees A: S:80 > A:40000 is no tuple of the entry.
    expect(d.ct.lookup(tuple(`${S}:80 > ${A}:40000`))).toBeNull();
    expect(d.ct.lookup(tuple(`${A}:40000 > ${S}:80`))).toBe(e);
  });

  it('an entry that leaves the table keeps its altered reply tuple, and its slot comes back clean', () => {
    const d = new Driver();
    forward(d, tcp(`${A}:40000 > ${S}:80`, 'S', { seq: 1000 }), masq);
    const e = d.only();
    d.ct.flush(d.now);
    expect(text(e.reply)).toBe(`${S}:80 > ${F}:40000`);
    expect(e.status & CtStatus.SRC_NAT).toBe(CtStatus.SRC_NAT);
    // The slot is reused by a flow without NAT: its reply is the inverted original again.
    forward(d, udp(`${B}:5000 > ${S}:53`));
    expect(text(d.only().reply)).toBe(`${S}:53 > ${B}:5000`);
    expect(d.ct.lookup(tuple(`${S}:80 > ${F}:40000`))).toBeNull();
  });

  it('two inside hosts with the same source port to the same server: the second moves (kernel: a random port)', () => {
    const d = new Driver();
    const a = forward(d, tcp(`${A}:40000 > ${S}:80`, 'S', { seq: 1 }), masq);
    const b = forward(d, tcp(`${B}:40000 > ${S}:80`, 'S', { seq: 2 }), masq);
    expect(a.out).toBe(`${F}:40000 > ${S}:80`);
    // 40000 is taken: fwemu searches upwards from it in 1024-65535.
    expect(b.out).toBe(`${F}:40001 > ${S}:80`);
    const back = forward(d, tcp(`${S}:80 > ${F}:40001`, 'S.', { seq: 9, ack: 3 }));
    expect([back.reply, back.out]).toEqual([true, `${S}:80 > ${B}:40000`]);
    const [ea, eb] = d.ct.entries(d.now);
    expect(text(ea.reply)).toBe(`${S}:80 > ${F}:40000`);
    expect(text(eb.reply)).toBe(`${S}:80 > ${F}:40001`);
    // find_appropriate_src: B:40000 keeps its mapping 40001 to another server, although 40000 is free there.
    const b2 = forward(d, tcp(`${B}:40000 > ${C}:443`, 'S', { seq: 3 }), masq);
    expect(b2.out).toBe(`${F}:40001 > ${C}:443`);
  });

  it('an inside socket keeps its mapping among many SNATed flows, and loses it when its entries expire', () => {
    const d = new Driver();
    forward(d, udp(`${A}:40000 > ${S}:53`), masq);
    expect(forward(d, udp(`${B}:40000 > ${S}:53`), masq).out).toBe(`${F}:40001 > ${S}:53`);
    // Enough other sources to make the by-source index grow (it starts with 1024 buckets).
    for (let i = 0; i < 1030; i++) forward(d, udp(`10.1.${i >> 8}.${i & 255}:${1000 + i} > ${S}:53`), masq);
    expect(forward(d, udp(`${B}:40000 > ${C}:53`), masq).out).toBe(`${F}:40001 > ${C}:53`);
    d.now += 31; // every UDP entry has expired
    expect(d.ct.expire(d.now)).toBe(1033);
    expect(forward(d, udp(`${B}:40000 > ${C}:53`), masq).out).toBe(`${F}:40000 > ${C}:53`);
  });

  it('removing entries from the middle of a by-source chain keeps the rest reachable', () => {
    const d = new Driver();
    forward(d, tcp(`${A}:40000 > ${S}:80`, 'S', { seq: 1 }), masq);
    // Four flows of one inside socket, all mapped to F:40001 (newest first in the index).
    const servers = [S, '198.51.100.2', '198.51.100.3', '198.51.100.4'];
    for (const s of servers)
      expect(forward(d, tcp(`${B}:40000 > ${s}:80`, 'S', { seq: 1 }), masq).out).toContain(':40001 >');
    const rst = (s: string): void => {
      const before = d.ct.entries(d.now).length;
      forward(d, tcp(`${B}:40000 > ${s}:80`, 'R', { seq: 2 }));
      expect(d.ct.entries(d.now)).toHaveLength(before - 1);
    };
    rst(servers[2]);
    rst(servers[1]);
    forward(d, tcp(`${C}:5555 > ${S}:80`, 'S', { seq: 1 }), masq); // reuses a freed record
    rst(servers[3]);
    // Left of B's: the flow to servers[0], still mapped to 40001.
    expect(forward(d, tcp(`${B}:40000 > 198.51.100.5:80`, 'S', { seq: 1 }), masq).out).toBe(
      `${F}:40001 > 198.51.100.5:80`,
    );
  });

  it('a long run of taken ports does not make the search fail (the kernel restarts at random offsets)', () => {
    const d = new Driver();
    // 300 hosts keep their own ports 40000-40299 towards S: a run longer than the 248 tries of one stretch.
    for (let i = 0; i < 300; i++) forward(d, udp(`10.1.${i >> 8}.${i & 255}:${40000 + i} > ${S}:53`), masq);
    const h = forward(d, udp(`${A}:40000 > ${S}:53`), masq);
    expect(h.setup).toBe(true);
    const port = Number(/:(\d+) >/.exec(h.out)![1]);
    expect(port < 40000 || port > 40299).toBe(true);
    expect(port).toBeGreaterThanOrEqual(1024);
  });

  it('random and fully-random keep a free port (known difference: the kernel draws one for every flow)', () => {
    for (const flags of [NatFlag.RANDOM, NatFlag.FULLY_RANDOM, natFlags(['random', 'fully-random'])]) {
      const d = new Driver();
      const r = { snat: range(F, undefined, flags) };
      expect(forward(d, udp(`${A}:40000 > ${S}:53`), r).out).toBe(`${F}:40000 > ${S}:53`);
      // Random flags skip find_appropriate_src and the "keep": a clash still moves up from the port.
      expect(forward(d, udp(`${B}:40000 > ${S}:53`), r).out).toBe(`${F}:40001 > ${S}:53`);
    }
  });

  it('a port below 1024 stays in its class (1-511)', () => {
    const d = new Driver();
    forward(d, udp(`${A}:123 > ${S}:123`), masq);
    expect(forward(d, udp(`${B}:123 > ${S}:123`), masq).out).toBe(`${F}:124 > ${S}:123`);
    forward(d, udp(`${A}:511 > ${S}:123`), masq);
    // 511 is the top of 1-511: the search wraps to 1.
    expect(forward(d, udp(`${B}:511 > ${S}:123`), masq).out).toBe(`${F}:1 > ${S}:123`);
  });

  it('a port range: out of range moves into it; a full range fails the setup (the kernel drops at confirm)', () => {
    const d = new Driver();
    const r = { snat: range(F, '40000-40001') };
    expect(forward(d, udp(`${A}:1000 > ${S}:53`), r).out).toBe(`${F}:40000 > ${S}:53`);
    expect(forward(d, udp(`${B}:1000 > ${S}:53`), r).out).toBe(`${F}:40001 > ${S}:53`);
    const c = forward(d, udp(`192.168.1.30:1000 > ${S}:53`), r);
    expect(c.setup).toBe(false);
    expect(d.ct.entries(d.now)).toHaveLength(2);
    // In range and free: kept.
    expect(forward(d, udp(`${A}:40001 > ${C}:53`), r).out).toBe(`${F}:40001 > ${C}:53`);
  });

  it('ICMP echo: a clashing id moves (kernel: a random id), replies go back to the right host and id', () => {
    const d = new Driver();
    const a = forward(d, icmp(`${A} > ${S}`, { type: 8, id: 1234 }), masq);
    const b = forward(d, icmp(`${B} > ${S}`, { type: 8, id: 1234 }), masq);
    expect(a.out).toBe(`${F} > ${S} id=1234`);
    expect(b.out).toBe(`${F} > ${S} id=1235`);
    const rb = forward(d, icmp(`${S} > ${F}`, { type: 0, id: 1235 }));
    expect([rb.state, rb.out]).toEqual(['established', `${S} > ${B} id=1234`]);
    const ra = forward(d, icmp(`${S} > ${F}`, { type: 0, id: 1234 }));
    expect(ra.out).toBe(`${S} > ${A} id=1234`);
    expect(d.ct.entries(d.now).map((e) => formatConntrackEntry(e, d.now))).toEqual([
      'icmp     1 30 src=192.168.1.10 dst=198.51.100.10 type=8 code=0 id=1234 src=198.51.100.10 dst=203.0.113.1 type=0 code=0 id=1234 mark=0 use=1',
      'icmp     1 30 src=192.168.1.20 dst=198.51.100.10 type=8 code=0 id=1234 src=198.51.100.10 dst=203.0.113.1 type=0 code=0 id=1235 mark=0 use=1',
    ]);
  });
});

describe('DNAT', () => {
  const fwd = { dnat: range(A, '8080') };

  it('rewrites the destination coming in and the source of replies', () => {
    const d = new Driver();
    const h = forward(d, tcp(`${C}:5555 > ${F}:80`, 'S', { seq: 1 }), fwd);
    expect(h.routed).toBe(`${C}:5555 > ${A}:8080`);
    expect(h.out).toBe(`${C}:5555 > ${A}:8080`);
    const e = d.only();
    expect(e.status & NAT_BITS).toBe(CtStatus.DST_NAT | CtStatus.DST_NAT_DONE | CtStatus.SRC_NAT_DONE);
    expect(text(e.reply)).toBe(`${A}:8080 > ${C}:5555`);
    const back = forward(d, tcp(`${A}:8080 > ${C}:5555`, 'S.', { seq: 7, ack: 2 }));
    expect([back.reply, back.routed, back.out]).toEqual([true, `${A}:8080 > ${C}:5555`, `${F}:80 > ${C}:5555`]);
  });

  it('to the address and port the packet already has: no DST_NAT bit (the tuple did not change)', () => {
    const d = new Driver();
    forward(d, tcp(`${C}:5555 > ${A}:8080`, 'S', { seq: 1 }), fwd);
    expect(d.only().status & NAT_BITS).toBe(CtStatus.DST_NAT_DONE | CtStatus.SRC_NAT_DONE);
  });

  it("a single port whose reply tuple is taken: the null binding at postrouting moves the client's port", () => {
    const d = new Driver();
    forward(d, tcp(`${C}:5555 > ${A}:8080`, 'S', { seq: 1 })); // direct, reply A:8080 > C:5555
    const h = forward(d, tcp(`${C}:5555 > ${F}:80`, 'S', { seq: 1 }), fwd);
    expect([h.setup, h.routed, h.out]).toEqual([true, `${C}:5555 > ${A}:8080`, `${C}:5556 > ${A}:8080`]);
    const e = d.ct.entries(d.now)[1];
    expect(e.status & NAT_BITS).toBe(NAT_BITS);
    expect(text(e.reply)).toBe(`${A}:8080 > ${C}:5556`);
  });

  it('a taken reply tuple that SNAT to one port cannot avoid: confirm refuses the entry and drops the packet', () => {
    const d = new Driver();
    forward(d, tcp(`${C}:5555 > ${A}:8080`, 'S', { seq: 1 }));
    const h = forward(d, tcp(`${C}:5555 > ${F}:80`, 'S', { seq: 1 }), { ...fwd, snat: range(C, '5555') });
    expect([h.setup, h.r.drop]).toEqual([false, true]);
    expect(d.ct.entries(d.now)).toHaveLength(1);
    expect(d.ct.stats.insertFailed).toBe(1);
  });

  it('DNAT then SNAT on one entry (a hairpin)', () => {
    const d = new Driver();
    const both = { dnat: range(A, '8080'), snat: range('192.168.1.1') };
    const h = forward(d, tcp(`${B}:5555 > ${F}:80`, 'S', { seq: 1 }), both);
    expect(h.routed).toBe(`${B}:5555 > ${A}:8080`);
    expect(h.out).toBe(`192.168.1.1:5555 > ${A}:8080`);
    const e = d.only();
    expect(e.status & NAT_BITS).toBe(NAT_BITS);
    expect(text(e.reply)).toBe(`${A}:8080 > 192.168.1.1:5555`);
    expect(natInitialized(h.r, NatManip.DST) && natInitialized(h.r, NatManip.SRC)).toBe(true);
    const back = forward(d, tcp(`${A}:8080 > 192.168.1.1:5555`, 'S.', { seq: 7, ack: 2 }));
    expect([back.routed, back.out]).toEqual([`${A}:8080 > ${B}:5555`, `${F}:80 > ${B}:5555`]);
  });
});

describe('null binding', () => {
  it("the firewall's own flow whose reply tuple a masqueraded flow holds moves its source port", () => {
    const d = new Driver();
    forward(d, tcp(`${A}:40000 > ${S}:80`, 'S', { seq: 1 }), masq);
    const own = forward(d, tcp(`${F}:40000 > ${S}:80`, 'S', { seq: 2 }));
    expect([own.state, own.reply]).toEqual(['new', false]);
    expect(own.out).toBe(`${F}:40001 > ${S}:80`);
    const e = d.ct.entries(d.now)[1];
    expect(e.status & NAT_BITS).toBe(CtStatus.SRC_NAT | CtStatus.SRC_NAT_DONE | CtStatus.DST_NAT_DONE);
    expect(text(e.reply)).toBe(`${S}:80 > ${F}:40001`);
  });

  it('without a clash nothing changes and no NAT bit is set', () => {
    const d = new Driver();
    const h = forward(d, udp(`${A}:40000 > ${S}:53`));
    expect(h.out).toBe(`${A}:40000 > ${S}:53`);
    expect(d.only().status & NAT_BITS).toBe(CtStatus.SRC_NAT_DONE | CtStatus.DST_NAT_DONE);
    expect(text(d.only().reply)).toBe(`${S}:53 > ${A}:40000`);
  });
});

describe('IPv6', () => {
  const A6 = 'fd00:1::10';
  const B6 = 'fd00:1::20';
  const F6 = '2001:db8:1::1';
  const S6 = '2001:db8:2::80';

  it('masquerade with a port clash, replies back, and DNAT', () => {
    const d = new Driver();
    const m = { snat: range(F6) };
    expect(forward(d, tcp(`[${A6}]:40000 > [${S6}]:443`, 'S', { seq: 1 }), m).out).toBe(`[${F6}]:40000 > [${S6}]:443`);
    expect(forward(d, tcp(`[${B6}]:40000 > [${S6}]:443`, 'S', { seq: 1 }), m).out).toBe(`[${F6}]:40001 > [${S6}]:443`);
    const back = forward(d, tcp(`[${S6}]:443 > [${F6}]:40001`, 'S.', { seq: 5, ack: 2 }));
    expect([back.reply, back.out]).toEqual([true, `[${S6}]:443 > [${B6}]:40000`]);
    expect(formatConntrackEntry(d.ct.entries(d.now)[1], d.now)).toBe(
      `tcp      6 60 SYN_RECV src=${B6} dst=${S6} sport=40000 dport=443 src=${S6} dst=${F6} sport=443 dport=40001 mark=0 use=1`,
    );
    const h = forward(d, udp(`[${S6}]:5000 > [${F6}]:53`), { dnat: range(A6, '5353') });
    expect(h.routed).toBe(`[${S6}]:5000 > [${A6}]:5353`);
    const r = forward(d, udp(`[${A6}]:5353 > [${S6}]:5000`));
    expect(r.out).toBe(`[${F6}]:53 > [${S6}]:5000`);
  });
});
