/**
 * conntrack -L / -E text, compared with lines printed by the real tool.
 *
 * Every expected line below was copied from `ip netns exec ct-helper-b
 * conntrack -L` (or `conntrack -E`) of conntrack v1.4.7 on Linux 6.18, after
 * sending the same packets with scapy through that namespace (lab/README.md).
 * Timeouts there were read a fraction of a second after the packet, so we
 * list at the matching moment.
 */
import { describe, expect, it } from 'vitest';
import type { CtEvent } from '../../src/conntrack/index.js';
import {
  ctProtoName,
  entryToJson,
  formatConntrackEntry,
  formatConntrackEvent,
} from '../../src/report/conntrack-list.js';
import { Driver, generic, icmp, tcp, udp } from './helpers.js';

const A = '10.1.0.2';
const C = '10.2.0.2';

/** List `dt` seconds later (the clock moves on: listing is a moment in the capture). */
function listAt(d: Driver, dt: number): string[] {
  d.now += dt;
  return d.ct.entries(d.now).map((e) => formatConntrackEntry(e, d.now));
}

describe('formatConntrackEntry (conntrack -L)', () => {
  it('TCP through the handshake', () => {
    const d = new Driver();
    d.send(tcp(`${A}:51514 > ${C}:8080`, 'S', { seq: 1000, win: 64240, wscale: 7, sackPerm: true }));
    expect(listAt(d, 0.3)).toEqual([
      'tcp      6 119 SYN_SENT src=10.1.0.2 dst=10.2.0.2 sport=51514 dport=8080 [UNREPLIED] src=10.2.0.2 dst=10.1.0.2 sport=8080 dport=51514 mark=0 use=1',
    ]);
    d.send(tcp(`${C}:8080 > ${A}:51514`, 'S.', { seq: 5000, ack: 1001, win: 65160, wscale: 7, sackPerm: true }));
    expect(listAt(d, 0.3)).toEqual([
      'tcp      6 59 SYN_RECV src=10.1.0.2 dst=10.2.0.2 sport=51514 dport=8080 src=10.2.0.2 dst=10.1.0.2 sport=8080 dport=51514 mark=0 use=1',
    ]);
    d.send(tcp(`${A}:51514 > ${C}:8080`, '.', { seq: 1001, ack: 5001, win: 502 }));
    expect(listAt(d, 0.3)).toEqual([
      'tcp      6 431999 ESTABLISHED src=10.1.0.2 dst=10.2.0.2 sport=51514 dport=8080 src=10.2.0.2 dst=10.1.0.2 sport=8080 dport=51514 [ASSURED] mark=0 use=1',
    ]);
  });

  it('UDP, ICMP, ICMPv6, IPv6 TCP and UDP, generic', () => {
    const d = new Driver();
    d.send(udp(`${A}:40000 > ${C}:53`, { len: 10 }));
    d.send(icmp(`${A} > ${C}`, { type: 8, id: 77 }));
    d.send(icmp(`${C} > ${A}`, { type: 0, id: 77 }));
    d.send(tcp('[fd01::2]:40001 > [fd02::2]:443', 'S', { seq: 1 }));
    d.send(udp('[fd01::2]:40002 > [fd02::2]:53'));
    d.send(udp('[fd02::2]:53 > [fd01::2]:40002'));
    d.send(icmp('fd01::2 > fd02::2', { type: 128, id: 99 }));
    d.send(icmp('fd02::2 > fd01::2', { type: 129, id: 99 }));
    d.send(generic(`${A} > ${C}`, 99));
    d.send(generic('fd01::2 > fd02::2', 99));
    expect(listAt(d, 0.5).sort()).toEqual([
      'icmp     1 29 src=10.1.0.2 dst=10.2.0.2 type=8 code=0 id=77 src=10.2.0.2 dst=10.1.0.2 type=0 code=0 id=77 mark=0 use=1',
      'icmpv6   58 29 src=fd01::2 dst=fd02::2 type=128 code=0 id=99 src=fd02::2 dst=fd01::2 type=129 code=0 id=99 mark=0 use=1',
      'tcp      6 119 SYN_SENT src=fd01::2 dst=fd02::2 sport=40001 dport=443 [UNREPLIED] src=fd02::2 dst=fd01::2 sport=443 dport=40001 mark=0 use=1',
      'udp      17 29 src=10.1.0.2 dst=10.2.0.2 sport=40000 dport=53 [UNREPLIED] src=10.2.0.2 dst=10.1.0.2 sport=53 dport=40000 mark=0 use=1',
      'udp      17 29 src=fd01::2 dst=fd02::2 sport=40002 dport=53 src=fd02::2 dst=fd01::2 sport=53 dport=40002 mark=0 use=1',
      'unknown  99 599 src=10.1.0.2 dst=10.2.0.2 [UNREPLIED] src=10.2.0.2 dst=10.1.0.2 mark=0 use=1',
      'unknown  99 599 src=fd01::2 dst=fd02::2 [UNREPLIED] src=fd02::2 dst=fd01::2 mark=0 use=1',
    ]);
  });

  it('IPv6 addresses as inet_ntop writes them', () => {
    const d = new Driver();
    for (const src of [
      '2001:db8:0:0:1:0:0:1',
      '2001:db8::',
      '::ffff:10.1.0.9',
      'fd01:0:0:0:0:0:0:abcd',
      '2001:0:0:1::1',
    ]) {
      d.send(udp(`[${src}]:1 > [fd02::2]:2`));
    }
    expect(listAt(d, 0.5).sort()).toEqual([
      'udp      17 29 src=2001:0:0:1::1 dst=fd02::2 sport=1 dport=2 [UNREPLIED] src=fd02::2 dst=2001:0:0:1::1 sport=2 dport=1 mark=0 use=1',
      'udp      17 29 src=2001:db8:: dst=fd02::2 sport=1 dport=2 [UNREPLIED] src=fd02::2 dst=2001:db8:: sport=2 dport=1 mark=0 use=1',
      'udp      17 29 src=2001:db8::1:0:0:1 dst=fd02::2 sport=1 dport=2 [UNREPLIED] src=fd02::2 dst=2001:db8::1:0:0:1 sport=2 dport=1 mark=0 use=1',
      'udp      17 29 src=::ffff:10.1.0.9 dst=fd02::2 sport=1 dport=2 [UNREPLIED] src=fd02::2 dst=::ffff:10.1.0.9 sport=2 dport=1 mark=0 use=1',
      'udp      17 29 src=fd01::abcd dst=fd02::2 sport=1 dport=2 [UNREPLIED] src=fd02::2 dst=fd01::abcd sport=2 dport=1 mark=0 use=1',
    ]);
  });

  it('GRE shows its keys (kernel: generic)', () => {
    const d = new Driver();
    d.send(generic(`${A} > ${C}`, 47));
    expect(listAt(d, 0.3)).toEqual([
      'gre      47 29 src=10.1.0.2 dst=10.2.0.2 srckey=0x0 dstkey=0x0 [UNREPLIED] src=10.2.0.2 dst=10.1.0.2 srckey=0x0 dstkey=0x0 mark=0 use=1',
    ]);
  });

  it('an expired entry would show 0 (never negative)', () => {
    const d = new Driver();
    d.send(udp(`${A}:1 > ${C}:2`));
    const e = d.only();
    expect(formatConntrackEntry(e, d.now + 31)).toMatch(/^udp {6}17 0 src=/);
  });

  it('protocol names as libnetfilter_conntrack has them', () => {
    expect([6, 17, 1, 58, 136, 132, 47, 33, 99].map(ctProtoName)).toEqual([
      'tcp',
      'udp',
      'icmp',
      'icmpv6',
      'udplite',
      'sctp',
      'gre',
      'dccp',
      'unknown',
    ]);
  });
});

describe('formatConntrackEvent (conntrack -E)', () => {
  it('NEW / UPDATE for TCP, UDP, ICMP and generic', () => {
    const d = new Driver();
    const lines: string[] = [];
    d.ct.onEvent = (e: CtEvent) => lines.push(formatConntrackEvent(e));
    d.send(tcp(`${A}:51514 > ${C}:8080`, 'S', { seq: 1000, win: 64240, wscale: 7, sackPerm: true }));
    d.send(tcp(`${C}:8080 > ${A}:51514`, 'S.', { seq: 5000, ack: 1001, win: 65160, wscale: 7, sackPerm: true }));
    d.send(tcp(`${A}:51514 > ${C}:8080`, '.', { seq: 1001, ack: 5001, win: 502 }));
    d.send(udp(`${A}:40000 > ${C}:53`, { len: 10 }));
    d.send(icmp(`${A} > ${C}`, { type: 8, id: 77 }));
    d.send(icmp(`${C} > ${A}`, { type: 0, id: 77 }));
    d.send(icmp('fd01::2 > fd02::2', { type: 128, id: 99 }));
    d.send(icmp('fd02::2 > fd01::2', { type: 129, id: 99 }));
    d.send(generic(`${A} > ${C}`, 99));
    expect(lines).toEqual([
      '    [NEW] tcp      6 120 SYN_SENT src=10.1.0.2 dst=10.2.0.2 sport=51514 dport=8080 [UNREPLIED] src=10.2.0.2 dst=10.1.0.2 sport=8080 dport=51514',
      ' [UPDATE] tcp      6 60 SYN_RECV src=10.1.0.2 dst=10.2.0.2 sport=51514 dport=8080 src=10.2.0.2 dst=10.1.0.2 sport=8080 dport=51514',
      ' [UPDATE] tcp      6 432000 ESTABLISHED src=10.1.0.2 dst=10.2.0.2 sport=51514 dport=8080 src=10.2.0.2 dst=10.1.0.2 sport=8080 dport=51514 [ASSURED]',
      '    [NEW] udp      17 30 src=10.1.0.2 dst=10.2.0.2 sport=40000 dport=53 [UNREPLIED] src=10.2.0.2 dst=10.1.0.2 sport=53 dport=40000',
      '    [NEW] icmp     1 30 src=10.1.0.2 dst=10.2.0.2 type=8 code=0 id=77 [UNREPLIED] src=10.2.0.2 dst=10.1.0.2 type=0 code=0 id=77',
      ' [UPDATE] icmp     1 30 src=10.1.0.2 dst=10.2.0.2 type=8 code=0 id=77 src=10.2.0.2 dst=10.1.0.2 type=0 code=0 id=77',
      '    [NEW] icmpv6   58 30 src=fd01::2 dst=fd02::2 type=128 code=0 id=99 [UNREPLIED] src=fd02::2 dst=fd01::2 type=129 code=0 id=99',
      ' [UPDATE] icmpv6   58 30 src=fd01::2 dst=fd02::2 type=128 code=0 id=99 src=fd02::2 dst=fd01::2 type=129 code=0 id=99',
      '    [NEW] unknown  99 600 src=10.1.0.2 dst=10.2.0.2 [UNREPLIED] src=10.2.0.2 dst=10.1.0.2',
    ]);
  });

  it('DESTROY: seconds left when killed, none when expired', () => {
    const d = new Driver();
    const lines: string[] = [];
    d.ct.onEvent = (e: CtEvent) => lines.push(formatConntrackEvent(e));
    d.send(tcp(`${A}:51514 > ${C}:8080`, 'S', { seq: 1000, win: 64240 }));
    d.send(tcp(`${C}:8080 > ${A}:51514`, 'R', { seq: 0, ack: 1001, win: 0 }), 0.5);
    d.send(udp(`${A}:40000 > ${C}:53`, { len: 10 }));
    d.ct.expire(d.now + 30);
    expect(lines).toEqual([
      '    [NEW] tcp      6 120 SYN_SENT src=10.1.0.2 dst=10.2.0.2 sport=51514 dport=8080 [UNREPLIED] src=10.2.0.2 dst=10.1.0.2 sport=8080 dport=51514',
      '[DESTROY] tcp      6 119 CLOSE src=10.1.0.2 dst=10.2.0.2 sport=51514 dport=8080 [UNREPLIED] src=10.2.0.2 dst=10.1.0.2 sport=8080 dport=51514',
      '    [NEW] udp      17 30 src=10.1.0.2 dst=10.2.0.2 sport=40000 dport=53 [UNREPLIED] src=10.2.0.2 dst=10.1.0.2 sport=53 dport=40000',
      '[DESTROY] udp      17 src=10.1.0.2 dst=10.2.0.2 sport=40000 dport=53 [UNREPLIED] src=10.2.0.2 dst=10.1.0.2 sport=53 dport=40000',
    ]);
  });
});

describe('entryToJson', () => {
  it('has the tuples, state, flags, timing and counters', () => {
    const d = new Driver();
    d.send(tcp(`${A}:51514 > ${C}:8080`, 'S', { seq: 1000, win: 64240, wscale: 7 }));
    d.send(tcp(`${C}:8080 > ${A}:51514`, 'S.', { seq: 5000, ack: 1001, win: 65160, wscale: 7 }), 0.01);
    d.send(tcp(`${A}:51514 > ${C}:8080`, '.', { seq: 1001, ack: 5001, win: 502 }), 0.01);
    const e = d.only();
    e.openedBy = { packet: 1, ruleId: 'web' };
    const j = entryToJson(e, d.now + 10);
    expect(j).toMatchObject({
      family: 'ipv4',
      proto: 'tcp',
      protoNumber: 6,
      timeout: 431990,
      state: 'ESTABLISHED',
      orig: { src: '10.1.0.2', dst: '10.2.0.2', sport: 51514, dport: 8080 },
      reply: { src: '10.2.0.2', dst: '10.1.0.2', sport: 8080, dport: 51514 },
      seenReply: true,
      assured: true,
      created: { time: 1000, packet: 1 },
      openedBy: { packet: 1, ruleId: 'web' },
      lastSeen: { packet: 3 },
      counters: { orig: { packets: 2 }, reply: { packets: 1 } },
    });
    expect(j.tcp!.seen[0].td_scale).toBe(7);
    expect(JSON.parse(JSON.stringify(j))).toEqual(j);

    const i = entryToJson(
      (() => {
        const d2 = new Driver();
        d2.send(icmp('fd01::2 > fd02::2', { type: 128, id: 5 }));
        return d2.only();
      })(),
      1000,
    );
    expect(i).toMatchObject({
      family: 'ipv6',
      proto: 'icmpv6',
      orig: { type: 128, code: 0, id: 5 },
      reply: { type: 129 },
    });
    expect(i.state).toBeUndefined();
  });
});
