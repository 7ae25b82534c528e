/** UDP (RFC 768) and UDP-Lite (RFC 3828): header fields, decoding into the DecodedPacket, building. */

import { payloadBytes, u16, writeU16 } from './bytes.js';
import { finishChecksum, onesSum, pseudoSum } from './checksum.js';
import { need } from './fault.js';
import { DecodeNote, IpProto, PacketKind, type DecodedPacket } from './types.js';

/** Header fields, as offsets from the header start. */
// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
export const enum field {
  SRC_PORT = 0,
  DST_PORT = 2,
  LENGTH = 4,
  CHECKSUM = 6,
}
export const HEADER_LEN = 8;

/** UDP-Lite's header: UDP's, with the checksum coverage where UDP has its length. */
// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
export const enum liteField {
  SRC_PORT = 0,
  DST_PORT = 2,
  CSCOV = 4,
  CHECKSUM = 6,
}

/** A UDP length field that fits the IP payload it is in (udp_error's test: 8 <= length <= payload). */
function udpLengthFits(udpLen: number, ipPayload: number): boolean {
  return udpLen >= HEADER_LEN && udpLen <= ipPayload;
}

/**
 * The UDP length field of a decoded first fragment, when it does not fit
 * the fragment (udp_error on the fragment alone), else -1. decodePacket()
 * does not check it for fragments: their length field is the whole
 * datagram's. For a UDP packet whose header was decoded from `buf`.
 */
export function loneFragmentUdpLengthFault(buf: Uint8Array, p: DecodedPacket): number {
  const udpLen = u16(buf, p.l4Off + field.LENGTH);
  return udpLengthFits(udpLen, p.ipOff + p.ipTotalLen - p.l4Off) ? -1 : udpLen;
}

/** The UDP header at `l4` of an IP packet ending at ipEnd (captured up to capEnd), into `out`. */
export function decodeUdp(
  buf: Uint8Array,
  l4: number,
  ipEnd: number,
  capEnd: number,
  out: DecodedPacket,
): DecodedPacket {
  if (!need(out, HEADER_LEN, l4, ipEnd, capEnd, IpProto.UDP)) return out;
  const ipPayload = ipEnd - l4;
  out.sport = u16(buf, l4 + field.SRC_PORT);
  out.dport = u16(buf, l4 + field.DST_PORT);
  const udpLen = u16(buf, l4 + field.LENGTH);
  if (out.isFragment) {
    // First fragment: the UDP length covers the whole datagram; report this fragment's share.
    out.payloadLen = ipPayload - HEADER_LEN;
  } else if (!udpLengthFits(udpLen, ipPayload)) {
    out.payloadLen = ipPayload - HEADER_LEN;
    out.note = DecodeNote.UDP_LENGTH_MISMATCH;
  } else {
    out.payloadLen = udpLen - HEADER_LEN;
    if (udpLen < ipPayload) out.note = DecodeNote.UDP_LENGTH_SHORT;
  }
  out.kind = PacketKind.IP;
  return out;
}

/** The UDP-Lite header at `l4`: its faults are notes (conntrack's udplite_error calls them INVALID). */
export function decodeUdpLite(
  buf: Uint8Array,
  l4: number,
  ipEnd: number,
  capEnd: number,
  out: DecodedPacket,
): DecodedPacket {
  const ipPayload = ipEnd - l4;
  if (!portsHeader(buf, l4, HEADER_LEN, ipPayload, ipEnd, capEnd, DecodeNote.UDPLITE_SHORT, out)) return out;
  const cscov = u16(buf, l4 + liteField.CSCOV);
  if (cscov !== 0 && (cscov < HEADER_LEN || cscov > ipPayload)) out.note = DecodeNote.UDPLITE_COVERAGE;
  else if (u16(buf, l4 + liteField.CHECKSUM) === 0) out.note = DecodeNote.UDPLITE_NO_CHECKSUM;
  return out;
}

/**
 * A UDP-Lite or SCTP header of `len` bytes: its ports (the first two
 * fields of both). False when the packet is shorter than the header (not
 * undecodable: conntrack sees it and calls it INVALID, udplite_error /
 * sctp_error, so it is only noted) or the header was not captured
 * (malformed).
 */
export function portsHeader(
  buf: Uint8Array,
  l4: number,
  len: number,
  ipPayload: number,
  ipEnd: number,
  capEnd: number,
  shortNote: string,
  out: DecodedPacket,
): boolean {
  out.kind = PacketKind.IP;
  if (ipPayload < len) {
    out.note = shortNote;
    return false;
  }
  if (!need(out, len, l4, ipEnd, capEnd, out.proto)) return false;
  out.sport = u16(buf, l4 + field.SRC_PORT);
  out.dport = u16(buf, l4 + field.DST_PORT);
  out.payloadLen = ipPayload - len;
  return true;
}

// ---------------------------------------------------------------------------
// Building

export interface UdpSpec {
  sport: number;
  dport: number;
  payload?: number | Uint8Array;
  /** IPv4 only: false leaves the checksum 0 (none). Default true. */
  checksum?: boolean;
  lengthOverride?: number;
  checksumOverride?: number;
}

/** A UDP datagram; its checksum over the pseudo-header of src and dst (always for IPv6, where it is mandatory). */
export function buildUdp(u: UdpSpec, src: Uint8Array, dst: Uint8Array, version: 4 | 6): Uint8Array {
  const payload = payloadBytes(u.payload);
  const dg = new Uint8Array(HEADER_LEN + payload.length);
  writeU16(dg, field.SRC_PORT, u.sport);
  writeU16(dg, field.DST_PORT, u.dport);
  writeU16(dg, field.LENGTH, u.lengthOverride ?? dg.length);
  dg.set(payload, HEADER_LEN);
  let sum = 0;
  if (u.checksumOverride !== undefined) sum = u.checksumOverride;
  else if (u.checksum !== false || version === 6) {
    sum = finishChecksum(onesSum(dg, 0, dg.length, pseudoSum(src, dst, IpProto.UDP, dg.length)));
    // 0 means "no checksum": a computed 0 is sent as its other form.
    if (sum === 0) sum = 0xffff;
  }
  writeU16(dg, field.CHECKSUM, sum);
  return dg;
}
