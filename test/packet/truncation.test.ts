/**
 * Every truncation point of hand-written frames: decoding never throws, is
 * MALFORMED with a message naming the cut header until all headers are
 * present, and IP with snapTruncated after. Plus a mutation fuzz for the
 * "never throws, never reads outside the frame" invariants.
 */
import { describe, expect, it } from 'vitest';
import { Direction, LinkType } from '../../src/capture/types.js';
import { decodePacket, newDecodedPacket } from '../../src/packet/decode.js';
import { buildArp, buildPacket, LINK_TYPE_OF, type PacketSpec } from '../../src/packet/encode.js';
import { PacketKind } from '../../src/packet/types.js';
import { hex } from './helpers.js';

const out = newDecodedPacket();
function decodeCut(frame: Uint8Array, caplen: number, linkType: number) {
  // Decode from a copy that holds exactly caplen bytes, so any read beyond it would see undefined.
  const b = frame.slice(0, caplen);
  return decodePacket(b, 0, caplen, linkType, Direction.UNKNOWN, out);
}

// 14 Ethernet + 20 IPv4 + 40 TCP (options) + 10 payload = 84 bytes; IPv4 total length 70.
const TCP4 = hex(`
  525400123502 080027a1b2c3 0800
  45 00 0046 1c46 4000 40 06 0000 c0a80164 5db8d822
  d431 0050 9a3b7c11 00000000 a0 18 faf0 0000 0000
  020405b4 0402 080a0001e24000000000 01 030307
  30313233343536373839
`);

describe('IPv4/TCP over Ethernet, cut at every length', () => {
  it('has the expected length', () => expect(TCP4.length).toBe(84));
  for (let c = 0; c <= TCP4.length; c++) {
    it(`caplen ${c}`, () => {
      const p = decodeCut(TCP4, c, LinkType.ETHERNET);
      if (c < 14) {
        expect(p.kind).toBe(PacketKind.MALFORMED);
        expect(p.error).toBe(`Ethernet header truncated: captured ${c} of 14 bytes`);
      } else if (c < 34) {
        expect(p.kind).toBe(PacketKind.MALFORMED);
        expect(p.error).toBe(`IPv4 header truncated: captured ${c - 14} of 20 bytes`);
      } else if (c < 54) {
        expect(p.kind).toBe(PacketKind.MALFORMED);
        expect(p.error).toBe(`IPv4 total length 70 exceeds captured ${c - 14} bytes (TCP header incomplete)`);
        expect(p.ipVersion).toBe(4); // addresses were read and stay available for reports
        expect(p.src0).toBe(0xc0a80164);
      } else if (c < 74) {
        expect(p.kind).toBe(PacketKind.MALFORMED);
        expect(p.error).toBe(`TCP data offset 10 (40 bytes) exceeds the ${c - 34} captured bytes`);
      } else {
        expect(p.kind).toBe(PacketKind.IP);
        expect(p.error).toBe('');
        expect(p.snapTruncated).toBe(c < 84);
        expect(p.payloadLen).toBe(10);
        expect(p.l4Len).toBe(c - 34);
        expect(p.mss).toBe(1460);
        expect(p.wscale).toBe(7);
        expect(p.tcpFlags).toBe(0x18);
      }
    });
  }
});

// 14 Ethernet + 40 IPv6 + 8 hop-by-hop + 8 fragment + 20 TCP + 8 payload = 98 bytes.
const TCP6 = hex(`
  525400123502 080027a1b2c3 86dd
  60000000 002c 00 40
  20010db800000000000000000000000a
  20010db800000000000000000000000b
  2c 00 05020000 0100
  06 00 0001 deadbeef
  01bb c001 00000001 00000002 50 18 0100 0000 0000
  0011223344556677
`);

describe('IPv6 (hop-by-hop + fragment) / TCP over Ethernet, cut at every length', () => {
  it('has the expected length', () => expect(TCP6.length).toBe(98));
  for (let c = 0; c <= TCP6.length; c++) {
    it(`caplen ${c}`, () => {
      const p = decodeCut(TCP6, c, LinkType.ETHERNET);
      const cut = (what: string) => `IPv6 payload length 44 exceeds captured ${c - 54} bytes (${what} incomplete)`;
      if (c < 14) {
        expect(p.error).toBe(`Ethernet header truncated: captured ${c} of 14 bytes`);
      } else if (c < 54) {
        expect(p.kind).toBe(PacketKind.MALFORMED);
        expect(p.error).toBe(`IPv6 header truncated: captured ${c - 14} of 40 bytes`);
      } else if (c < 62) {
        expect(p.kind).toBe(PacketKind.MALFORMED);
        expect(p.error).toBe(cut('IPv6 hop-by-hop options header'));
      } else if (c < 70) {
        expect(p.kind).toBe(PacketKind.MALFORMED);
        expect(p.error).toBe(cut('IPv6 fragment header'));
      } else if (c < 90) {
        expect(p.kind).toBe(PacketKind.MALFORMED);
        expect(p.error).toBe(cut('TCP header'));
      } else {
        expect(p.kind).toBe(PacketKind.IP);
        expect(p.snapTruncated).toBe(c < 98);
        expect(p.sport).toBe(443);
        expect(p.payloadLen).toBe(8);
        expect(p.ipId).toBe(0xdeadbeef);
      }
    });
  }
});

// ICMP port unreachable quoting IPv4/UDP: 14 + 20 + 8 + 20 + 8 = 70 bytes.
const ICMP4 = hex(`
  525400123502 080027a1b2c3 0800
  45c0 0038 0007 0000 40 01 0000 0a000002 0a000001
  03 03 0000 00000000
  45 00 0030 1234 4000 40 11 0000 0a000001 0a000002
  9c40 01bb 001c 0000
`);

// ICMPv6 packet too big quoting IPv6/TCP, raw link: 40 + 8 + 40 + 8 = 96 bytes.
const ICMP6 = hex(`
  60000000 0038 3a 40
  20010db8000000000000000000000001
  20010db8000000000000000000000002
  02 00 0000 00000500
  60000000 05c8 06 40
  20010db8000000000000000000000002
  20010db8000100000000000000000005
  c350 01bb 11223344
`);

describe('ICMP errors with cut quotes', () => {
  it('ICMPv4: innerValid only once the quoted IP header and 8 bytes are captured', () => {
    expect(ICMP4.length).toBe(70);
    for (let c = 0; c <= ICMP4.length; c++) {
      const p = decodeCut(ICMP4, c, LinkType.ETHERNET);
      if (c < 34) {
        expect(p.kind).toBe(PacketKind.MALFORMED);
      } else if (c < 42) {
        expect(p.kind).toBe(PacketKind.MALFORMED);
        expect(p.error).toBe(`IPv4 total length 56 exceeds captured ${c - 14} bytes (ICMP header incomplete)`);
      } else {
        expect(p.kind, `caplen ${c}`).toBe(PacketKind.IP);
        expect(p.icmpType).toBe(3);
        expect(p.icmpCode).toBe(3);
        expect(p.snapTruncated).toBe(c < 70);
        expect(p.innerValid, `caplen ${c}`).toBe(c === 70);
      }
    }
  });

  it('ICMPv6: innerValid only once the quoted IPv6 header and 8 bytes are captured', () => {
    expect(ICMP6.length).toBe(96);
    for (let c = 0; c <= ICMP6.length; c++) {
      const p = decodeCut(ICMP6, c, LinkType.RAW);
      if (c === 0) {
        expect(p.error).toBe('raw IP packet is empty');
      } else if (c < 40) {
        expect(p.error).toBe(`IPv6 header truncated: captured ${c} of 40 bytes`);
      } else if (c < 48) {
        expect(p.error).toBe(`IPv6 payload length 56 exceeds captured ${c - 40} bytes (ICMPv6 header incomplete)`);
      } else {
        expect(p.kind, `caplen ${c}`).toBe(PacketKind.IP);
        expect(p.icmpType).toBe(2);
        expect(p.innerValid, `caplen ${c}`).toBe(c === 96);
        if (c === 96) expect(p.innerSeq).toBe(0x11223344);
      }
    }
  });

  it('a quote cut by the IP length (not the capture) is also innerValid false', () => {
    // Same ICMPv6 message, but the outer payload length stops 1 byte short of the 8 quoted transport bytes.
    const f = ICMP6.slice(0, 95);
    f[5] = 0x37;
    const p = decodeCut(f, f.length, LinkType.RAW);
    expect(p.kind).toBe(PacketKind.IP);
    expect(p.snapTruncated).toBe(false);
    expect(p.innerValid).toBe(false);
  });
});

describe('mutation fuzz: never throws, stays inside the frame', () => {
  // Deterministic xorshift PRNG.
  let s = 0x12345678;
  const rnd = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  const specs: PacketSpec[] = [
    {
      ip: { src: '10.0.0.1', dst: '10.0.0.2', options: [0x94, 4, 0, 0] },
      tcp: {
        sport: 1,
        dport: 2,
        options: { mss: 1400, sack: [[1, 2]], timestamps: [3, 4], wscale: 2, sackPermitted: true },
        payload: 20,
      },
    },
    {
      link: 'sll',
      vlan: [3],
      ip: {
        src: '2001:db8::1',
        dst: '2001:db8::2',
        extHeaders: [{ type: 0 }, { type: 60 }],
        frag: { offset: 0, more: true },
        id: 9,
      },
      udp: { sport: 1, dport: 2, payload: 9 },
    },
    {
      link: 'sll2',
      ip: { src: '10.0.0.1', dst: '10.0.0.2' },
      icmp: {
        type: 3,
        code: 3,
        quote: buildPacket({ link: 'raw', ip: { src: '10.0.0.2', dst: '10.0.0.1' }, udp: { sport: 5, dport: 6 } }),
      },
    },
    {
      link: 'null',
      ip: { src: '2001:db8::1', dst: '2001:db8::2' },
      icmpv6: {
        type: 1,
        code: 4,
        quote: buildPacket({
          link: 'raw',
          ip: { src: '2001:db8::2', dst: '2001:db8::1', extHeaders: [{ type: 51 }] },
          tcp: { sport: 5, dport: 6 },
        }),
      },
    },
    { link: 'loop', vlan: [], ip: { src: '10.0.0.1', dst: '10.0.0.2', frag: { offset: 64, more: true } }, payload: 30 },
    { vlan: [1, 2, 3], ip: { src: '10.0.0.1', dst: '10.0.0.2' }, icmp: { type: 8, id: 1, seq: 2, payload: 5 } },
  ];
  const frames = specs.map((sp) => ({ bytes: buildPacket(sp), lt: LINK_TYPE_OF[sp.link ?? 'ethernet'] }));
  frames.push({
    bytes: buildArp({ op: 'request', senderIp: '10.0.0.1', targetIp: '10.0.0.2' }),
    lt: LinkType.ETHERNET,
  });

  it('20k mutated frames', () => {
    const linkTypes = [0, 1, 101, 108, 113, 228, 229, 276, 999];
    for (let i = 0; i < 20_000; i++) {
      const base = frames[rnd() % frames.length];
      const b = base.bytes.slice();
      const flips = 1 + (rnd() % 4);
      for (let k = 0; k < flips; k++) b[rnd() % b.length] = rnd() & 0xff;
      const caplen = rnd() % (b.length + 1);
      const lt = rnd() % 8 === 0 ? linkTypes[rnd() % linkTypes.length] : base.lt;
      const buf = b.slice(0, caplen);
      const p = decodePacket(buf, 0, caplen, lt, 0, out);
      expect([1, 2, 3]).toContain(p.kind);
      if (p.kind === PacketKind.MALFORMED) expect(p.error).not.toBe('');
      else expect(p.error).toBe('');
      if (p.kind === PacketKind.IP) {
        expect(p.ipOff + p.ipHeaderLen).toBeLessThanOrEqual(caplen);
        if (p.l4Off >= 0) {
          expect(p.l4Off + p.l4Len).toBeLessThanOrEqual(caplen);
          expect(p.l4Len).toBeGreaterThanOrEqual(0);
        }
        for (const v of [p.seq, p.ack, p.tsVal, p.tsEcr, p.src0, p.src3, p.dst0, p.dst3, p.ipId]) {
          expect(v >= 0 && v <= 0xffffffff && Number.isInteger(v)).toBe(true);
        }
        expect(p.payloadLen).toBeGreaterThanOrEqual(0);
      }
    }
  });
});
