/**
 * ICMP (RFC 792) and ICMPv6 (RFC 4443): header fields, decoding into the
 * DecodedPacket (with the packet an error quotes), building.
 */

import { payloadBytes, u16, u32, writeU16, writeU32 } from './bytes.js';
import { finishChecksum, internetChecksum, onesSum, pseudoSum } from './checksum.js';
import { need } from './fault.js';
import * as ipv4 from './ipv4.js';
import * as ipv6 from './ipv6.js';
import * as tcp from './tcp.js';
import { IpProto, isIcmpError, isPortProto, PacketKind, type DecodedPacket } from './types.js';

/**
 * Header fields, as offsets from the header start. The second word depends
 * on the type: echo's identifier and sequence, or the MTU of "fragmentation
 * needed" / "packet too big" (the builder writes it as one word at ECHO_IDENT).
 */
// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
export const enum field {
  TYPE = 0,
  CODE = 1,
  CHECKSUM = 2,
  ECHO_IDENT = 4,
  ECHO_SEQNO = 6,
  /** Errors: the offending packet, quoted. */
  QUOTE = 8,
}
export const HEADER_LEN = 8;
/** What an error quotes of the offending packet's transport header. */
const QUOTED_TRANSPORT_LEN = 8;
/** The smallest IPv6 MTU: an ICMPv6 error quotes as much as fits in it. */
const IPV6_MIN_MTU = 1280;

// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
export const enum Icmp4Type {
  ECHO_REPLY = 0,
  ECHO_REQUEST = 8,
  /** Timestamp, information and address-mask requests and replies: 13..18. */
  TIMESTAMP = 13,
  ADDRESS_MASK_REPLY = 18,
}

// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
export const enum Icmp6Type {
  ECHO_REQUEST = 128,
  ECHO_REPLY = 129,
  NODE_INFO_QUERY = 139,
  NODE_INFO_RESPONSE = 140,
}

/** A query that carries an identifier and a sequence number, as conntrack keys them (icmp_pkt_to_tuple, icmpv6_pkt_to_tuple). */
function hasIdent(version: number, type: number): boolean {
  if (version === 4) {
    return (
      type === Icmp4Type.ECHO_REQUEST ||
      type === Icmp4Type.ECHO_REPLY ||
      (type >= Icmp4Type.TIMESTAMP && type <= Icmp4Type.ADDRESS_MASK_REPLY)
    );
  }
  // Echo and node information: the identifier field (Qtype for node information).
  return (
    type === Icmp6Type.ECHO_REQUEST ||
    type === Icmp6Type.ECHO_REPLY ||
    type === Icmp6Type.NODE_INFO_QUERY ||
    type === Icmp6Type.NODE_INFO_RESPONSE
  );
}

/** The ICMP or ICMPv6 (per out.ipVersion) header at `l4`, into `out`; for an error, the packet it quotes. */
export function decodeIcmp(
  buf: Uint8Array,
  l4: number,
  ipEnd: number,
  capEnd: number,
  dataEnd: number,
  out: DecodedPacket,
  w: ipv6.ExtWalk,
): DecodedPacket {
  if (!need(out, HEADER_LEN, l4, ipEnd, capEnd, out.proto)) return out;
  const type = buf[l4 + field.TYPE];
  const version = out.ipVersion;
  out.icmpType = type;
  out.icmpCode = buf[l4 + field.CODE];
  out.payloadLen = ipEnd - l4 - HEADER_LEN;
  out.kind = PacketKind.IP;
  if (hasIdent(version, type)) {
    out.icmpId = u16(buf, l4 + field.ECHO_IDENT);
    out.icmpSeq = u16(buf, l4 + field.ECHO_SEQNO);
  } else if (isIcmpError(version, type)) {
    decodeQuote(buf, l4 + field.QUOTE, dataEnd, version, out, w);
  }
  return out;
}

/**
 * The packet quoted by an ICMP/ICMPv6 error: its IP header (IPv6: with
 * extension headers) and the first 8 transport bytes. Only what was both
 * captured and inside the outer IP packet counts. Sets innerValid only when
 * all of that is present.
 */
function decodeQuote(
  buf: Uint8Array,
  ip: number,
  end: number,
  version: number,
  out: DecodedPacket,
  w: ipv6.ExtWalk,
): void {
  const avail = end - ip;
  if (avail < 1 || buf[ip] >> 4 !== version) return;
  let l4: number;
  let proto: number;
  let nonFirstFragment = false;
  if (version === 4) {
    if (avail < ipv4.HEADER_LEN) return;
    const ihl = ipv4.headerLen(buf, ip);
    if (ihl < ipv4.HEADER_LEN || avail < ihl) return;
    proto = buf[ip + ipv4.field.PROTOCOL];
    nonFirstFragment = !ipv4.isFirstFragment(buf, ip);
    out.innerSrc0 = u32(buf, ip + ipv4.field.SRC_ADDR);
    out.innerDst0 = u32(buf, ip + ipv4.field.DST_ADDR);
    l4 = ip + ihl;
  } else {
    if (avail < ipv6.HEADER_LEN) return;
    const src = ip + ipv6.field.SRC_ADDR;
    const dst = ip + ipv6.field.DST_ADDR;
    out.innerSrc0 = u32(buf, src);
    out.innerSrc1 = u32(buf, src + 4);
    out.innerSrc2 = u32(buf, src + 8);
    out.innerSrc3 = u32(buf, src + 12);
    out.innerDst0 = u32(buf, dst);
    out.innerDst1 = u32(buf, dst + 4);
    out.innerDst2 = u32(buf, dst + 8);
    out.innerDst3 = u32(buf, dst + 12);
    w.begin(buf, ip);
    for (;;) {
      const r = ipv6.walkExtHeaders(buf, end, w);
      if (r === ipv6.Walk.TRUNCATED) return;
      if (r !== ipv6.Walk.FRAGMENT) break; // END, or TOO_MANY: the quote is judged with what was reached
      if (w.pos + ipv6.FRAG_HEADER_LEN > end) return;
      nonFirstFragment = (u16(buf, w.pos + ipv6.fragField.FRAG_OFF) & ipv6.FRAG_OFFSET_MASK) !== 0;
      w.skipFragment(buf);
      if (nonFirstFragment) break;
    }
    proto = w.nh;
    l4 = w.pos;
    if (l4 > end) return;
  }
  out.innerIpVersion = version;
  out.innerProto = proto;
  const hasPorts = !nonFirstFragment && (isPortProto(proto) || proto === IpProto.ICMP || proto === IpProto.ICMPV6);
  if (hasPorts) {
    if (l4 + QUOTED_TRANSPORT_LEN > end) return;
    if (isPortProto(proto)) {
      // The ports lead TCP's, UDP's, UDP-Lite's and SCTP's headers alike.
      out.innerSport = u16(buf, l4 + tcp.field.SRC_PORT);
      out.innerDport = u16(buf, l4 + tcp.field.DST_PORT);
      if (proto === IpProto.TCP) out.innerSeq = u32(buf, l4 + tcp.field.SEQ_NUM);
    } else {
      const t = buf[l4 + field.TYPE];
      out.innerDport = t;
      const echo =
        proto === IpProto.ICMP
          ? t === Icmp4Type.ECHO_REQUEST || t === Icmp4Type.ECHO_REPLY
          : t === Icmp6Type.ECHO_REQUEST || t === Icmp6Type.ECHO_REPLY;
      if (echo) out.innerSport = u16(buf, l4 + field.ECHO_IDENT);
    }
  }
  out.innerValid = true;
}

// ---------------------------------------------------------------------------
// Building

export interface IcmpSpec {
  type: number;
  code?: number;
  /** Echo identifier and sequence (bytes 4..7). */
  id?: number;
  seq?: number;
  /** v4 dest-unreachable/frag-needed next-hop MTU, v6 packet-too-big MTU (bytes 4..7). */
  mtu?: number;
  /** Bytes 4..7 as one uint32; overrides id/seq/mtu. */
  rest?: number;
  /** Data after the 8-byte header (ignored when quote is given). */
  payload?: number | Uint8Array;
  /**
   * An original IP packet (no link header; buildPacket with link 'raw') to
   * quote in an error. Default amount: IPv4 its header + 8 bytes; IPv6 as much
   * as fits in 1280 bytes. `quoteLen` overrides.
   */
  quote?: Uint8Array;
  quoteLen?: number;
  checksumOverride?: number;
}

/** An ICMP (version 4) or ICMPv6 message; ICMPv6's checksum covers the pseudo-header of src and dst. */
export function buildIcmp(c: IcmpSpec, version: 4 | 6, src: Uint8Array, dst: Uint8Array): Uint8Array {
  let body: Uint8Array;
  if (c.quote) {
    let n: number;
    if (c.quoteLen !== undefined) n = c.quoteLen;
    else if (version === 4) n = c.quote.length >= 1 ? ipv4.headerLen(c.quote, 0) + QUOTED_TRANSPORT_LEN : 0;
    else n = IPV6_MIN_MTU - ipv6.HEADER_LEN - HEADER_LEN;
    body = c.quote.slice(0, Math.min(n, c.quote.length));
  } else {
    body = payloadBytes(c.payload);
  }
  const msg = new Uint8Array(HEADER_LEN + body.length);
  msg[field.TYPE] = c.type;
  msg[field.CODE] = c.code ?? 0;
  let rest = 0;
  if (c.rest !== undefined) rest = c.rest;
  else if (c.mtu !== undefined) rest = version === 4 ? c.mtu & 0xffff : c.mtu;
  else if (c.id !== undefined || c.seq !== undefined) rest = (((c.id ?? 0) & 0xffff) << 16) | ((c.seq ?? 0) & 0xffff);
  writeU32(msg, field.ECHO_IDENT, rest >>> 0);
  msg.set(body, field.QUOTE);
  let sum: number;
  if (c.checksumOverride !== undefined) sum = c.checksumOverride;
  else if (version === 4) sum = internetChecksum(msg);
  else sum = finishChecksum(onesSum(msg, 0, msg.length, pseudoSum(src, dst, IpProto.ICMPV6, msg.length)));
  writeU16(msg, field.CHECKSUM, sum);
  return msg;
}
