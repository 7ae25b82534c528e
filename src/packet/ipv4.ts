/** IPv4 (RFC 791): header fields, decoding into the DecodedPacket, building and fragmenting. */

import { check, concat, padTo4, toBytes, u16, u32, writeU16 } from './bytes.js';
import { internetChecksum } from './checksum.js';
import type { IpSpec } from './encode.js';
import { malformed } from './fault.js';
import type { DecodedPacket } from './types.js';

/** Header fields, as offsets from the header start. */
// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
export const enum field {
  VER_IHL = 0,
  DSCP_ECN = 1,
  LENGTH = 2,
  IDENT = 4,
  FLG_OFF = 6,
  TTL = 8,
  PROTOCOL = 9,
  CHECKSUM = 10,
  SRC_ADDR = 12,
  DST_ADDR = 16,
  OPTIONS = 20,
}
export const HEADER_LEN = 20;
export const MAX_OPTIONS_LEN = 40;

/** The FLG_OFF word: flags, and the fragment offset in 8-byte units. */
// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
export const enum Flg {
  DF = 0x4000,
  MF = 0x2000,
  OFFSET_MASK = 0x1fff,
}
/** An option's type byte: bit 7 says it is copied into every fragment. */
const OPT_END = 0;
const OPT_NOP = 1;
const OPT_COPIED = 0x80;

export function version(b: Uint8Array, ip: number): number {
  return b[ip + field.VER_IHL] >> 4;
}

/** Header length in bytes (IHL * 4). */
export function headerLen(b: Uint8Array, ip: number): number {
  return (b[ip + field.VER_IHL] & 0x0f) * 4;
}

/** Offset 0: a whole datagram or its first fragment (which carries the transport header). */
export function isFirstFragment(b: Uint8Array, ip: number): boolean {
  return (u16(b, ip + field.FLG_OFF) & Flg.OFFSET_MASK) === 0;
}

/**
 * Read the header at buf[ip, capEnd) into `out`: false (and `out`
 * MALFORMED) when it cannot be. The payload is buf[ip + out.ipHeaderLen,
 * ip + out.ipTotalLen), as far as it was captured.
 *
 * The checks are written once over for speed: the messages' template
 * strings made this function too big for V8 to inline (460 bytes of
 * bytecode) into the decoder, so they live in ipv4HeaderFault(), which is
 * only called when a check fails and says which one, in the same order.
 */
export function decodeIpv4Header(buf: Uint8Array, ip: number, capEnd: number, out: DecodedPacket): boolean {
  const avail = capEnd - ip;
  out.ipOff = ip;
  if (avail < HEADER_LEN) return ipv4HeaderFault(buf, ip, avail, out);
  const b0 = buf[ip + field.VER_IHL];
  const ihl = (b0 & 0x0f) * 4;
  const totalLen = u16(buf, ip + field.LENGTH);
  if (b0 >> 4 !== 4 || ihl < HEADER_LEN || totalLen < ihl || avail < ihl) return ipv4HeaderFault(buf, ip, avail, out);

  out.ipVersion = 4;
  out.ipHeaderLen = ihl;
  out.ipTotalLen = totalLen;
  out.ipId = u16(buf, ip + field.IDENT);
  const ff = u16(buf, ip + field.FLG_OFF);
  out.dontFragment = (ff & Flg.DF) !== 0;
  out.moreFragments = (ff & Flg.MF) !== 0;
  out.fragOffset = (ff & Flg.OFFSET_MASK) * 8;
  out.isFragment = out.moreFragments || out.fragOffset !== 0;
  out.ttl = buf[ip + field.TTL];
  out.proto = buf[ip + field.PROTOCOL];
  out.src0 = u32(buf, ip + field.SRC_ADDR);
  out.dst0 = u32(buf, ip + field.DST_ADDR);
  return true;
}

/** Cold: the first check of decodeIpv4Header() that fails, as `out`'s MALFORMED message; false. */
function ipv4HeaderFault(buf: Uint8Array, ip: number, avail: number, out: DecodedPacket): boolean {
  if (avail < 1) return !malformed(out, `IPv4 header truncated: captured 0 of ${HEADER_LEN} bytes`);
  const b0 = buf[ip + field.VER_IHL];
  if (b0 >> 4 !== 4) return !malformed(out, `IPv4 packet with IP version ${b0 >> 4}`);
  if (avail < HEADER_LEN) return !malformed(out, `IPv4 header truncated: captured ${avail} of ${HEADER_LEN} bytes`);
  const ihl = (b0 & 0x0f) * 4;
  if (ihl < HEADER_LEN) return !malformed(out, `IPv4 header length ${ihl} below the ${HEADER_LEN}-byte minimum`);
  const totalLen = u16(buf, ip + field.LENGTH);
  if (totalLen < ihl) return !malformed(out, `IPv4 total length ${totalLen} below header length ${ihl}`);
  return !malformed(out, `IPv4 header truncated: captured ${avail} of ${ihl} bytes`);
}

// ---------------------------------------------------------------------------
// Building

/** `l4` (of protocol `proto`) behind an IPv4 header per `ip`. */
export function buildIpv4(ip: IpSpec, src: Uint8Array, dst: Uint8Array, proto: number, l4: Uint8Array): Uint8Array {
  const opts = ip.options ? padTo4(toBytes(ip.options)) : new Uint8Array(0);
  check(opts.length <= MAX_OPTIONS_LEN, `IPv4 options of ${opts.length} bytes exceed ${MAX_OPTIONS_LEN}`);
  const hl = HEADER_LEN + opts.length;
  const h = new Uint8Array(hl);
  h[field.VER_IHL] = ((ip.versionOverride ?? 4) << 4) | ((ip.headerLengthOverride ?? hl) / 4);
  h[field.DSCP_ECN] = ip.tos ?? 0;
  writeU16(h, field.LENGTH, ip.totalLengthOverride ?? hl + l4.length);
  writeU16(h, field.IDENT, ip.id ?? 0);
  let ff = ip.df ? Flg.DF : 0;
  if (ip.frag) {
    check(
      ip.frag.offset % 8 === 0 && ip.frag.offset >= 0 && ip.frag.offset / 8 <= Flg.OFFSET_MASK,
      `bad fragment offset ${ip.frag.offset}`,
    );
    ff |= ip.frag.offset / 8;
    if (ip.frag.more) ff |= Flg.MF;
  }
  writeU16(h, field.FLG_OFF, ff);
  h[field.TTL] = ip.ttl ?? 64;
  h[field.PROTOCOL] = proto;
  h.set(src, field.SRC_ADDR);
  h.set(dst, field.DST_ADDR);
  h.set(opts, field.OPTIONS);
  writeU16(h, field.CHECKSUM, ip.checksumOverride ?? internetChecksum(h));
  return concat([h, l4]);
}

/**
 * Split an IPv4 packet into fragments of `unit` bytes of data (a multiple
 * of 8) each; options without the copied flag go in the first one only.
 */
export function fragmentIpv4(ipPkt: Uint8Array, unit: number, id: number | undefined): Uint8Array[] {
  const out: Uint8Array[] = [];
  const ihl = headerLen(ipPkt, 0);
  const total = u16(ipPkt, field.LENGTH);
  const data = ipPkt.subarray(ihl, total);
  const firstHdr = ipPkt.slice(0, ihl);
  // Options with the copied flag only, for the later fragments.
  const copied: number[] = [];
  for (let i = field.OPTIONS; i < ihl; ) {
    const k = ipPkt[i];
    if (k === OPT_END) break;
    if (k === OPT_NOP) {
      i++;
      continue;
    }
    const l = ipPkt[i + 1]; // an option's length byte follows its type
    if (l < 2 || i + l > ihl) break;
    if (k & OPT_COPIED) for (let j = 0; j < l; j++) copied.push(ipPkt[i + j]);
    i += l;
  }
  const laterHdr = new Uint8Array(padTo4(Uint8Array.from(copied)).length + HEADER_LEN);
  laterHdr.set(ipPkt.subarray(0, HEADER_LEN));
  laterHdr.set(padTo4(Uint8Array.from(copied)), field.OPTIONS);
  laterHdr[field.VER_IHL] = 0x40 | (laterHdr.length / 4);
  const baseFF = u16(ipPkt, field.FLG_OFF);
  const baseOff = (baseFF & Flg.OFFSET_MASK) * 8;
  const baseMore = (baseFF & Flg.MF) !== 0;
  if (id !== undefined) {
    writeU16(firstHdr, field.IDENT, id & 0xffff);
    writeU16(laterHdr, field.IDENT, id & 0xffff);
  }
  for (let o = 0; o < data.length; o += unit) {
    const chunk = data.subarray(o, Math.min(o + unit, data.length));
    const h = (o === 0 ? firstHdr : laterHdr).slice();
    const more = o + unit < data.length || baseMore;
    writeU16(h, field.LENGTH, h.length + chunk.length);
    writeU16(h, field.FLG_OFF, (baseFF & Flg.DF) | (more ? Flg.MF : 0) | ((baseOff + o) / 8));
    writeU16(h, field.CHECKSUM, 0);
    writeU16(h, field.CHECKSUM, internetChecksum(h));
    out.push(concat([h, chunk]));
  }
  return out;
}
