/**
 * The one IPv6 extension-header walk (packet/ipv6.ts), on hand-computed
 * bytes: where it stops, what it counts, and that the decoder, the ICMPv6
 * quote reader and the defragmenter share its one limit.
 */
import { describe, expect, it } from 'vitest';
import { Direction, LinkType } from '../../src/capture/types.js';
import { decodePacket, newDecodedPacket } from '../../src/packet/decode.js';
import { buildIpPacket } from '../../src/packet/encode.js';
import { ExtWalk, MAX_EXT_HEADERS, Walk, walkExtHeaders } from '../../src/packet/ipv6.js';
import { PacketKind } from '../../src/packet/types.js';
import { hex } from './helpers.js';

const ADDRS = '20010db8000000000000000000000001 20010db8000000000000000000000002';

/** An IPv6 header whose payload is `rest` (hex), first header `nh`. */
function ipv6(nh: number, rest: string): Uint8Array {
  const body = hex(rest);
  const len = body.length.toString(16).padStart(4, '0');
  return hex(`60000000 ${len} ${nh.toString(16).padStart(2, '0')} 40 ${ADDRS} ${rest}`);
}

/** `n` hop-by-hop/destination-options headers of 8 bytes each, the last pointing at `last`. */
function chain(n: number, last: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += `${(i + 1 < n ? 60 : last).toString(16).padStart(2, '0')} 00 010400000000 `;
  return s;
}

function walkOf(ip: Uint8Array, end = ip.length): { r: number; w: ExtWalk } {
  const w = new ExtWalk();
  w.begin(ip, 0);
  return { r: walkExtHeaders(ip, end, w), w };
}

describe('walkExtHeaders', () => {
  it('steps over hop-by-hop (8-byte units) and AH (4-byte units less 2) to the transport header', () => {
    // HBH: next AH, length 0 -> 8 bytes; AH: next TCP (6), length 4 -> (4 + 2) * 4 = 24 bytes.
    const ip = ipv6(0, '33 00 010400000000  06 04 0000 00001000 00000001 0000000000000000 00000000  0000');
    const { r, w } = walkOf(ip);
    expect(r).toBe(Walk.END);
    expect(w.nh).toBe(6);
    expect(w.pos).toBe(40 + 8 + 24);
    expect(w.nhAt).toBe(48); // AH's next-header byte
    expect(w.count).toBe(2);
  });

  it('stops at a fragment header (counted) and walks on after skipFragment()', () => {
    const ip = ipv6(0, '2c 00 010400000000  11 00 0000 00000007  0035 0035 0008 0000');
    const { r, w } = walkOf(ip);
    expect(r).toBe(Walk.FRAGMENT);
    expect([w.pos, w.nhAt, w.count]).toEqual([48, 40, 2]);
    w.skipFragment(ip);
    expect(walkExtHeaders(ip, ip.length, w)).toBe(Walk.END);
    expect([w.nh, w.pos, w.nhAt]).toEqual([17, 56, 48]);
  });

  it('TRUNCATED says what the header needed: its two-byte prefix, then its whole length', () => {
    const ip = ipv6(0, '06 01 0000 00000000 00000000'); // HBH claims 16 bytes, 12 present
    const whole = walkOf(ip);
    expect([whole.r, whole.w.pos, whole.w.need]).toEqual([Walk.TRUNCATED, 40, 16]);
    const cut = walkOf(ip, 41);
    expect([cut.r, cut.w.need]).toEqual([Walk.TRUNCATED, 2]);
  });

  it(`TOO_MANY at the header after ${MAX_EXT_HEADERS} extension headers`, () => {
    const ok = walkOf(ipv6(60, chain(MAX_EXT_HEADERS, 59)));
    expect([ok.r, ok.w.nh, ok.w.count]).toEqual([Walk.END, 59, MAX_EXT_HEADERS]);
    const over = walkOf(ipv6(60, chain(MAX_EXT_HEADERS + 1, 59)));
    expect([over.r, over.w.pos]).toEqual([Walk.TOO_MANY, 40 + 8 * MAX_EXT_HEADERS]);
  });
});

describe('one limit for every reader of the chain', () => {
  const dec = (b: Uint8Array) => decodePacket(b, 0, b.length, LinkType.RAW, Direction.UNKNOWN, newDecodedPacket());

  it(`the decoder takes ${MAX_EXT_HEADERS} extension headers and calls one more malformed`, () => {
    expect(dec(ipv6(60, chain(MAX_EXT_HEADERS, 59))).kind).toBe(PacketKind.IP);
    const p = dec(ipv6(60, chain(MAX_EXT_HEADERS + 1, 59)));
    expect(p.kind).toBe(PacketKind.MALFORMED);
    expect(p.error).toBe(`more than ${MAX_EXT_HEADERS} IPv6 extension headers`);
  });

  it('an ICMPv6 error quoting a packet behind destination options finds the quoted ports', () => {
    const quoted = ipv6(60, `${chain(3, 17)} 1f90 0050 0008 0000`); // UDP 8080 -> 80
    const err = buildIpPacket({
      ip: { src: '2001:db8::2', dst: '2001:db8::1' },
      icmpv6: { type: 1, code: 4, quote: quoted },
    });
    const p = dec(err);
    expect(p.innerValid).toBe(true);
    expect([p.innerProto, p.innerSport, p.innerDport]).toEqual([17, 8080, 80]);
  });
});
