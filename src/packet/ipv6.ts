/**
 * IPv6 (RFC 8200): header fields, the one extension-header walk (decoder,
 * ICMPv6 quotes, the defragmenter and the shard picker all use it),
 * decoding into the DecodedPacket, building and fragmenting.
 */

import { check, concat, u16, u32, writeU16, writeU32 } from './bytes.js';
import type { IpSpec } from './encode.js';
import { malformed, need } from './fault.js';
import { IpProto, PacketKind, type DecodedPacket } from './types.js';

/** Header fields, as offsets from the header start. */
// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
export const enum field {
  VER_TC_FLOW = 0,
  PAYLOAD_LEN = 4,
  NXT_HDR = 6,
  HOP_LIMIT = 7,
  SRC_ADDR = 8,
  DST_ADDR = 24,
}
export const HEADER_LEN = 40;

/** Fields common to the extension headers but the fragment header's second byte. */
// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
export const enum extField {
  NXT_HDR = 0,
  LENGTH = 1,
}

/** Fragment header fields. */
// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
export const enum fragField {
  NXT_HDR = 0,
  FRAG_OFF = 2,
  IDENT = 4,
}
export const FRAG_HEADER_LEN = 8;
/** The FRAG_OFF word: the offset in bytes (a multiple of 8), and bit 0, more fragments. */
export const FRAG_OFFSET_MASK = 0xfff8;
export const FRAG_MORE = 1;

/**
 * Extension headers a walk steps over before it calls the packet malformed.
 * Linux has no such limit (ipv6_skip_exthdr stops at the packet's end); 16
 * is far beyond any real chain and keeps the walk's cost bounded.
 */
export const MAX_EXT_HEADERS = 16;

export function version(b: Uint8Array, ip: number): number {
  return b[ip + field.VER_TC_FLOW] >> 4;
}

/**
 * An extension header the walk steps over: the kernel's ipv6_ext_hdr()
 * but NEXTHDR_NONE (nothing follows it, so a walk ends there as at a
 * transport header) and ESP (encrypted: it ends the walk too).
 */
export function isExtHeader(nh: number): boolean {
  return (
    nh === IpProto.HOPOPTS ||
    nh === IpProto.ROUTING ||
    nh === IpProto.FRAGMENT ||
    nh === IpProto.DSTOPTS ||
    nh === IpProto.AUTH
  );
}

/**
 * Length of the extension header of type `nh` at `pos` (its first two bytes
 * must be there): AH counts 4-byte units less 2 (ipv6_authlen), the
 * others 8-byte units less 1 (ipv6_optlen), the fragment header is 8.
 */
export function extHeaderLen(b: Uint8Array, pos: number, nh: number): number {
  if (nh === IpProto.FRAGMENT) return FRAG_HEADER_LEN;
  const len = b[pos + extField.LENGTH];
  return nh === IpProto.AUTH ? (len + 2) * 4 : (len + 1) * 8;
}

/** Where walkExtHeaders() stopped. */
// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
export const enum Walk {
  /** At a header that is not an extension header (transport, NONE, ESP): ExtWalk.nh names it. */
  END = 0,
  /** At a fragment header (counted, not bounds-checked: its 8 bytes are the caller's to check). */
  FRAGMENT = 1,
  /** The extension header at ExtWalk.pos does not fit before the end; it needed ExtWalk.need bytes there. */
  TRUNCATED = 2,
  /** At a header beyond MAX_EXT_HEADERS extension headers. */
  TOO_MANY = 3,
}

/** The state of an extension-header walk: one per caller, reused (the walk allocates nothing). */
export class ExtWalk {
  /** The header type at `pos`. */
  nh = 0;
  pos = 0;
  /** Offset of the byte that holds `nh` (the IPv6 header's or the previous extension header's next-header field). */
  nhAt = 0;
  /** Extension headers met so far (the fragment header included). */
  count = 0;
  /** After TRUNCATED: the bytes the header needed at `pos`. */
  need = 0;

  /** Start at the first header after the IPv6 header at `ip`. */
  begin(b: Uint8Array, ip: number): void {
    this.nh = b[ip + field.NXT_HDR];
    this.nhAt = ip + field.NXT_HDR;
    this.pos = ip + HEADER_LEN;
    this.count = 0;
  }

  /** Step past the fragment header the walk stopped at. */
  skipFragment(b: Uint8Array): void {
    this.nh = b[this.pos + fragField.NXT_HDR];
    this.nhAt = this.pos + fragField.NXT_HDR;
    this.pos += FRAG_HEADER_LEN;
  }
}

/**
 * Step over extension headers from w.pos while each fits before `end`,
 * stopping at the first non-extension header, at a fragment header (the
 * caller reads it, then w.skipFragment() and walks on), or at trouble
 * (Walk.TRUNCATED, Walk.TOO_MANY).
 */
export function walkExtHeaders(b: Uint8Array, end: number, w: ExtWalk): number {
  for (;;) {
    const nh = w.nh;
    if (!isExtHeader(nh)) return Walk.END;
    if (w.count >= MAX_EXT_HEADERS) return Walk.TOO_MANY;
    w.count++;
    if (nh === IpProto.FRAGMENT) return Walk.FRAGMENT;
    const pos = w.pos;
    if (pos + 2 > end) {
      w.need = 2;
      return Walk.TRUNCATED;
    }
    const hlen = extHeaderLen(b, pos, nh);
    if (pos + hlen > end) {
      w.need = hlen;
      return Walk.TRUNCATED;
    }
    w.nh = b[pos + extField.NXT_HDR];
    w.nhAt = pos + extField.NXT_HDR;
    w.pos = pos + hlen;
  }
}

// ---------------------------------------------------------------------------
// Decoding

/** What decodeIpv6Header() leaves to do. */
// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
export const enum Ipv6Header {
  /** `out` is MALFORMED. */
  BAD = 0,
  /** The transport header (out.proto) follows at ip + out.ipHeaderLen. */
  TRANSPORT = 1,
  /** A non-first fragment: `out` is complete, no transport header here. */
  DONE = 2,
}

/**
 * Read the header at buf[ip, capEnd) and its extension headers into `out`,
 * with `w` as the walk's state. The packet ends at ip + out.ipTotalLen.
 */
export function decodeIpv6Header(buf: Uint8Array, ip: number, capEnd: number, out: DecodedPacket, w: ExtWalk): number {
  const avail = capEnd - ip;
  out.ipOff = ip;
  if (avail < 1) return bad(out, `IPv6 header truncated: captured 0 of ${HEADER_LEN} bytes`);
  const v = buf[ip + field.VER_TC_FLOW] >> 4;
  if (v !== 6) return bad(out, `IPv6 packet with IP version ${v}`);
  if (avail < HEADER_LEN) return bad(out, `IPv6 header truncated: captured ${avail} of ${HEADER_LEN} bytes`);

  const payloadLen = u16(buf, ip + field.PAYLOAD_LEN);
  const nh = buf[ip + field.NXT_HDR];
  out.ipVersion = 6;
  out.ttl = buf[ip + field.HOP_LIMIT];
  out.src0 = u32(buf, ip + field.SRC_ADDR);
  out.src1 = u32(buf, ip + field.SRC_ADDR + 4);
  out.src2 = u32(buf, ip + field.SRC_ADDR + 8);
  out.src3 = u32(buf, ip + field.SRC_ADDR + 12);
  out.dst0 = u32(buf, ip + field.DST_ADDR);
  out.dst1 = u32(buf, ip + field.DST_ADDR + 4);
  out.dst2 = u32(buf, ip + field.DST_ADDR + 8);
  out.dst3 = u32(buf, ip + field.DST_ADDR + 12);
  out.ipTotalLen = HEADER_LEN + payloadLen;
  if (payloadLen === 0 && nh === IpProto.HOPOPTS) {
    out.ipHeaderLen = HEADER_LEN;
    return bad(out, 'IPv6 jumbogram (payload length 0 with hop-by-hop options) is not supported');
  }
  if (!isExtHeader(nh)) {
    out.ipHeaderLen = HEADER_LEN;
    out.proto = nh;
    return Ipv6Header.TRANSPORT;
  }

  const ipEnd = ip + HEADER_LEN + payloadLen;
  const end = ipEnd < capEnd ? ipEnd : capEnd;
  w.begin(buf, ip);
  for (;;) {
    const r = walkExtHeaders(buf, end, w);
    if (r === Walk.END) break;
    if (r === Walk.TOO_MANY) {
      out.ipHeaderLen = w.pos - ip;
      return bad(out, `more than ${MAX_EXT_HEADERS} IPv6 extension headers`);
    }
    if (r === Walk.TRUNCATED) {
      need(out, w.need, w.pos, ipEnd, capEnd, w.nh);
      return Ipv6Header.BAD;
    }
    const pos = w.pos;
    if (!need(out, FRAG_HEADER_LEN, pos, ipEnd, capEnd, IpProto.FRAGMENT)) return Ipv6Header.BAD;
    const fo = u16(buf, pos + fragField.FRAG_OFF);
    out.isFragment = true;
    out.fragOffset = fo & FRAG_OFFSET_MASK;
    out.moreFragments = (fo & FRAG_MORE) !== 0;
    out.ipId = u32(buf, pos + fragField.IDENT);
    if (out.fragOffset !== 0) {
      // Non-first fragment: what follows is the middle of the original payload.
      out.ipHeaderLen = pos + FRAG_HEADER_LEN - ip;
      out.proto = buf[pos + fragField.NXT_HDR];
      out.kind = PacketKind.IP;
      out.snapTruncated = capEnd < ipEnd;
      return Ipv6Header.DONE;
    }
    w.skipFragment(buf);
  }
  out.ipHeaderLen = w.pos - ip;
  out.proto = w.nh;
  return Ipv6Header.TRANSPORT;
}

function bad(out: DecodedPacket, error: string): number {
  malformed(out, error);
  return Ipv6Header.BAD;
}

// ---------------------------------------------------------------------------
// Building

/** An extension header (spec types 0, 43, 60, 51) to go before `nextHeader`. */
export function buildExtHeader(nextHeader: number, type: number, data: Uint8Array): Uint8Array {
  if (type === IpProto.AUTH) {
    // AH: length in 4-byte units minus 2; total a multiple of 8 for IPv6.
    let total = 2 + data.length;
    total = Math.max(12, Math.ceil(total / 8) * 8);
    const h = new Uint8Array(total);
    h[extField.NXT_HDR] = nextHeader;
    h[extField.LENGTH] = total / 4 - 2;
    h.set(data, 2);
    return h;
  }
  const total = Math.max(8, Math.ceil((2 + data.length) / 8) * 8);
  const h = new Uint8Array(total);
  h[extField.NXT_HDR] = nextHeader;
  h[extField.LENGTH] = total / 8 - 1;
  h.set(data, 2);
  return h;
}

export function buildFragHeader(nextHeader: number, offset: number, more: boolean, id: number): Uint8Array {
  const f = new Uint8Array(FRAG_HEADER_LEN);
  f[fragField.NXT_HDR] = nextHeader;
  writeU16(f, fragField.FRAG_OFF, offset | (more ? FRAG_MORE : 0));
  writeU32(f, fragField.IDENT, id);
  return f;
}

/** The fixed header before `rest` (extension headers and transport), which begins with header type `nh`. */
export function buildIpv6(ip: IpSpec, src: Uint8Array, dst: Uint8Array, nh: number, rest: Uint8Array): Uint8Array {
  const h = new Uint8Array(HEADER_LEN);
  const tc = ip.tos ?? 0;
  const flow = ip.flowLabel ?? 0;
  writeU32(h, field.VER_TC_FLOW, (((ip.versionOverride ?? 6) << 28) | (tc << 20) | (flow & 0xfffff)) >>> 0);
  writeU16(
    h,
    field.PAYLOAD_LEN,
    ip.totalLengthOverride !== undefined ? ip.totalLengthOverride - HEADER_LEN : rest.length,
  );
  h[field.NXT_HDR] = nh;
  h[field.HOP_LIMIT] = ip.ttl ?? 64;
  h.set(src, field.SRC_ADDR);
  h.set(dst, field.DST_ADDR);
  return concat([h, rest]);
}

/**
 * Split an IPv6 packet into fragments of `unit` bytes of data (a multiple
 * of 8) each. The unfragmentable part (RFC 8200 4.5) ends after the last
 * hop-by-hop or routing header; destination options before a routing
 * header stay with it, AH and what follows are fragmented.
 */
export function fragmentIpv6(ipPkt: Uint8Array, unit: number, id: number | undefined): Uint8Array[] {
  const out: Uint8Array[] = [];
  const end = HEADER_LEN + u16(ipPkt, field.PAYLOAD_LEN);
  let type = ipPkt[field.NXT_HDR];
  let pos = HEADER_LEN;
  let unfragEnd = HEADER_LEN;
  let nhFieldAt: number = field.NXT_HDR; // the "next header" byte that will point at the fragment header
  while ((type === IpProto.HOPOPTS || type === IpProto.ROUTING || type === IpProto.DSTOPTS) && pos + 2 <= end) {
    const hlen = extHeaderLen(ipPkt, pos, type);
    if (type === IpProto.HOPOPTS || type === IpProto.ROUTING) {
      unfragEnd = pos + hlen;
      nhFieldAt = pos + extField.NXT_HDR;
    }
    type = ipPkt[pos + extField.NXT_HDR];
    pos += hlen;
  }
  const nhAtUnfragEnd = ipPkt[nhFieldAt];
  const unfrag = ipPkt.slice(0, unfragEnd);
  unfrag[nhFieldAt] = IpProto.FRAGMENT;
  const data = ipPkt.subarray(unfragEnd, end);
  for (let o = 0; o < data.length; o += unit) {
    const chunk = data.subarray(o, Math.min(o + unit, data.length));
    const f = buildFragHeader(nhAtUnfragEnd, o, o + unit < data.length, id ?? 0);
    const h = unfrag.slice();
    writeU16(h, field.PAYLOAD_LEN, unfrag.length - HEADER_LEN + FRAG_HEADER_LEN + chunk.length);
    out.push(concat([h, f, chunk]));
  }
  return out;
}

/** Checks a fragment header's offset for the builders. */
export function checkFragOffset(offset: number): void {
  check(offset % 8 === 0 && offset >= 0 && offset <= FRAG_OFFSET_MASK, `bad fragment offset ${offset}`);
}
