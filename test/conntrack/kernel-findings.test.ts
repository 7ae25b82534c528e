/**
 * Behaviours found by the randomized kernel comparison (test/kernel/random.ts),
 * each pinned here with the packets that showed it. "kernel:" gives what
 * Linux 6.18 did with exactly these packets (replayed through the kernel
 * harness, test/kernel/harness.ts, with an accept-all ruleset).
 */
import { describe, expect, it } from 'vitest';
import { Driver, generic, tcp } from './helpers.js';
import { formatConntrackEntry } from '../../src/report/conntrack-list.js';
import { buildIpPacket } from '../../src/packet/encode.js';
import { decodePacket, newDecodedPacket } from '../../src/packet/decode.js';
import { LinkType } from '../../src/capture/types.js';

const C = '10.1.0.2:47316';
const S = '10.2.0.1:9000';
const c2s = (f: string, o: Parameters<typeof tcp>[2] = {}) => tcp(`${C} > ${S}`, f, o);
const s2c = (f: string, o: Parameters<typeof tcp>[2] = {}) => tcp(`${S} > ${C}`, f, o);

describe('RST after a SYN conntrack let through (tcp_packet, TCP_CONNTRACK_CLOSE)', () => {
  it('an RST from the SYN/ACK-ignoring side itself is window-checked, not taken as the answer to the SYN (kernel: SYN_SENT kept)', () => {
    // SYN, then a SYN/ACK whose ACK is under the lower bound: ignored
    // (SEEN_REPLY set, last_index still SYN, last_end 0). The client's RST
    // acks 0 == last_end, but it comes from the SYN's own side: the kernel
    // checks its window (seq 1002 overshoots td_maxend 1001 by 2: ignored).
    const d = new Driver();
    d.send(c2s('S', { seq: 1000, win: 64240, wscale: 7, sackPerm: true }));
    const sa = d.send(s2c('S.', { seq: 66382624, ack: 3000000000, win: 65160, wscale: 7, sackPerm: true }));
    expect(sa.state).toBe('established');
    expect(d.tcpState()).toBe('SYN_SENT');
    const rst = d.send(c2s('R', { seq: 1002, ack: 0, win: 502 }));
    expect(rst.state).toBe('established');
    expect(rst.reason).toMatch(/more than the receiver's window allows/);
    expect(d.tcpState()).toBe('SYN_SENT');
  });

  it('the same RST from the other side closes the entry without a window check (kernel: CLOSE)', () => {
    const d = new Driver();
    d.send(c2s('S', { seq: 1000, win: 64240, wscale: 7, sackPerm: true }));
    d.send(s2c('S.', { seq: 66382624, ack: 3000000000, win: 65160, wscale: 7, sackPerm: true }));
    d.send(s2c('R', { seq: 99999999, ack: 0, win: 0 }));
    expect(d.tcpState()).toBe('CLOSE');
  });

  it('an ignored SYN in ESTABLISHED: an RST from the same side acking its end is invalid (kernel: dropped, ESTABLISHED kept)', () => {
    const d = new Driver();
    d.send(c2s('S', { seq: 1000, win: 64240, wscale: 7, sackPerm: true }));
    d.send(s2c('S.', { seq: 5000, ack: 1001, win: 65160, wscale: 7, sackPerm: true }));
    d.send(c2s('.', { seq: 1001, ack: 5001, win: 502 }));
    d.send(c2s('S', { seq: 900000, win: 64240, wscale: 7, sackPerm: true }));
    const rst = d.send(c2s('R.', { seq: 77777777, ack: 900001, win: 0 }));
    expect(rst.state).toBe('invalid');
    expect(d.tcpState()).toBe('ESTABLISHED');
  });

  it("... while the server's RST answering that SYN closes (kernel: CLOSE)", () => {
    const d = new Driver();
    d.send(c2s('S', { seq: 1000, win: 64240, wscale: 7, sackPerm: true }));
    d.send(s2c('S.', { seq: 5000, ack: 1001, win: 65160, wscale: 7, sackPerm: true }));
    d.send(c2s('.', { seq: 1001, ack: 5001, win: 502 }));
    d.send(c2s('S', { seq: 900000, win: 64240, wscale: 7, sackPerm: true }));
    d.send(s2c('R.', { seq: 77777777, ack: 900001, win: 0 }));
    expect(d.tcpState()).toBe('CLOSE');
  });

  it("the ACK case has no such direction rule: an RST from the ignored ACK's own side closes (kernel: CLOSE)", () => {
    const d = new Driver();
    d.send(c2s('S', { seq: 1000, win: 64240, wscale: 7, sackPerm: true }));
    d.send(s2c('S.', { seq: 66382624, ack: 3000000000, win: 65160, wscale: 7, sackPerm: true }));
    d.send(s2c('.', { seq: 66382625, ack: 777, win: 500 }));
    d.send(s2c('R', { seq: 99999999, ack: 66382625, win: 0 }));
    expect(d.tcpState()).toBe('CLOSE');
  });
});

describe('ICMP query identifiers (icmp_pkt_to_tuple, icmpv6_pkt_to_tuple)', () => {
  const decode = (ip: Uint8Array) => {
    const p = newDecodedPacket();
    decodePacket(ip, 0, ip.length, LinkType.RAW, 0, p);
    return p;
  };

  it('an address-mask request (type 17) is keyed by its identifier like echo (kernel: id=49082 in conntrack -L)', () => {
    const d = new Driver();
    const req = decode(
      buildIpPacket({
        ip: { src: '10.1.0.2', dst: '10.2.0.1' },
        icmp: { type: 17, code: 0, id: 49082, seq: 1, payload: new Uint8Array(4) },
      }),
    );
    expect(req.icmpId).toBe(49082);
    d.send(req);
    expect(d.only().orig.icmpId).toBe(49082);
    const rep = decode(
      buildIpPacket({
        ip: { src: '10.2.0.1', dst: '10.1.0.2' },
        icmp: { type: 18, code: 0, id: 49082, seq: 1, payload: new Uint8Array(4) },
      }),
    );
    expect(d.send(rep).state).toBe('established');
  });

  it('IPv6 node information queries (type 139) too', () => {
    const d = new Driver();
    const q = decode(
      buildIpPacket({
        ip: { src: 'fd00:1::2', dst: 'fd00:2::1' },
        icmpv6: { type: 139, code: 0, id: 4242, seq: 0, payload: new Uint8Array(8) },
      }),
    );
    expect(q.icmpId).toBe(4242);
    expect(d.send(q).state).toBe('new');
    const r = decode(
      buildIpPacket({
        ip: { src: 'fd00:2::1', dst: 'fd00:1::2' },
        icmpv6: { type: 140, code: 0, id: 4242, seq: 0, payload: new Uint8Array(8) },
      }),
    );
    expect(d.send(r).state).toBe('established');
  });
});

describe('conntrack -L of protocols without a tracker in fwemu', () => {
  it('DCCP (generic tracker in Linux 6.18 too) lists sport=0 dport=0, as conntrack prints it (kernel: same line)', () => {
    const d = new Driver();
    d.send(generic('fd00:1::f > fd00:2::4', 33));
    expect(formatConntrackEntry(d.only(), d.now)).toBe(
      'dccp     33 600 src=fd00:1::f dst=fd00:2::4 sport=0 dport=0 [UNREPLIED] src=fd00:2::4 dst=fd00:1::f sport=0 dport=0 mark=0 use=1',
    );
  });
});
