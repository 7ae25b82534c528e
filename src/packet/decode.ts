/**
 * Hot-path packet decoder.
 *
 * `decodePacket()` fills one reused DecodedPacket per packet. It never throws
 * and allocates nothing on the success path: fields are read with plain byte
 * arithmetic, every string it stores on that path is a constant, and error
 * strings (which do allocate) are only built for MALFORMED frames and for
 * unusual non-IP ethertypes (cached, so each is built once).
 *
 * Bounds: the frame is buf[off, off + caplen), clamped to buf.length. The IP
 * packet's end is the smaller of what the IP header claims and what was
 * captured; nothing is ever read past it, so a link-layer trailer (Ethernet
 * padding, FCS) is never mistaken for payload.
 */

import { Direction, LinkType } from '../base/link.js';
import { IpProto, isIcmpError, isPortProto, PacketKind, SCTP_MAX_CHUNKS, type DecodedPacket } from './types.js';

// ---------------------------------------------------------------------------
// Allocation and reset

/** Allocate a DecodedPacket once; pass it to every decodePacket() call. */
export function newDecodedPacket(): DecodedPacket {
  const p = {} as DecodedPacket;
  resetPacket(p, Direction.UNKNOWN);
  // Made once per DecodedPacket, filled only for SCTP (after every other field: one hidden class).
  p.sctpTypes = new Uint8Array(SCTP_MAX_CHUNKS);
  p.sctpFlags = new Uint8Array(SCTP_MAX_CHUNKS);
  p.sctpInitTag = new Float64Array(SCTP_MAX_CHUNKS);
  p.sctpMap = new Uint32Array(8);
  return p;
}

/** Give every field its "absent" value. Assigns all fields in one fixed order (stable hidden class). */
function resetPacket(p: DecodedPacket, direction: number): void {
  p.kind = PacketKind.MALFORMED;
  p.error = '';
  p.l2Name = '';
  p.note = '';

  p.etherType = 0;
  p.vlanOuter = -1;
  p.vlanInner = -1;
  p.direction = direction;
  p.macOff = -1;
  p.linkIfIndex = -1;

  p.ipVersion = 0;
  p.src0 = 0; p.src1 = 0; p.src2 = 0; p.src3 = 0;
  p.dst0 = 0; p.dst1 = 0; p.dst2 = 0; p.dst3 = 0;
  p.ipOff = -1;
  p.ipHeaderLen = 0;
  p.ipTotalLen = 0;
  p.ipId = 0;
  p.ttl = 0;
  p.dontFragment = false;
  p.isFragment = false;
  p.fragOffset = 0;
  p.moreFragments = false;
  p.proto = 0;
  p.l4Off = -1;
  p.l4Len = 0;
  p.snapTruncated = false;

  p.sport = 0;
  p.dport = 0;
  p.seq = 0;
  p.ack = 0;
  p.tcpFlags = 0;
  p.window = 0;
  p.tcpHeaderLen = 0;
  p.payloadLen = 0;
  p.wscale = -1;
  p.mss = -1;
  p.sackPermitted = false;
  p.sackMaxRight = -1;
  p.hasTimestamp = false;
  p.tsVal = 0;
  p.tsEcr = 0;

  p.icmpType = -1;
  p.icmpCode = -1;
  p.icmpId = 0;
  p.icmpSeq = 0;
  p.innerValid = false;
  p.innerIpVersion = 0;
  p.innerSrc0 = 0; p.innerSrc1 = 0; p.innerSrc2 = 0; p.innerSrc3 = 0;
  p.innerDst0 = 0; p.innerDst1 = 0; p.innerDst2 = 0; p.innerDst3 = 0;
  p.innerProto = 0;
  p.innerSport = 0;
  p.innerDport = 0;
  p.innerSeq = 0;

  // (The SCTP chunk arrays are newDecodedPacket()'s, filled only for SCTP.)
  p.sctpVtag = 0;
  p.sctpChunks = 0;
  p.sctpBad = false;
}

// ---------------------------------------------------------------------------
// Byte helpers (inlined by the JIT)

function u16(b: Uint8Array, i: number): number {
  return (b[i] << 8) | b[i + 1];
}

function u32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

function u32le(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

/** A UDP length field that fits the IP payload it is in (udp_error's test: 8 <= length <= payload). */
function udpLengthFits(udpLen: number, ipPayload: number): boolean {
  return udpLen >= 8 && udpLen <= ipPayload;
}

/**
 * The UDP length field of a decoded first fragment, when it does not fit
 * the fragment (udp_error on the fragment alone), else -1. decodePacket()
 * does not check it for fragments: their length field is the whole
 * datagram's. For a UDP packet whose header was decoded from `buf`.
 */
export function loneFragmentUdpLengthFault(buf: Uint8Array, p: DecodedPacket): number {
  const udpLen = u16(buf, p.l4Off + 4);
  return udpLengthFits(udpLen, p.ipOff + p.ipTotalLen - p.l4Off) ? -1 : udpLen;
}

/** RFC 1982 style "a is after b" on 32-bit sequence numbers, as netfilter's after(). */
function seqAfter(a: number, b: number): boolean {
  return ((b - a) | 0) < 0;
}

function malformed(p: DecodedPacket, error: string): DecodedPacket {
  p.kind = PacketKind.MALFORMED;
  p.error = error;
  return p;
}

// ---------------------------------------------------------------------------
// Names

/** Constant strings for the notes (no allocation on the decode path). */
export const DecodeNote = {
  UDP_LENGTH_MISMATCH: 'UDP length field disagrees with the IP payload length; used the IP length',
  UDP_LENGTH_SHORT: 'UDP length field is shorter than the IP payload; trailing bytes ignored',
  VLAN_TAGS_BEYOND_TWO: 'more than two VLAN tags; only the outer two are recorded',
  // UDP-Lite faults conntrack calls INVALID (udplite_error), in its words.
  UDPLITE_SHORT: 'UDP-Lite: short packet (less than the 8-byte header)',
  UDPLITE_COVERAGE: 'UDP-Lite: invalid checksum coverage (below 8 or beyond the packet)',
  UDPLITE_NO_CHECKSUM: 'UDP-Lite: checksum missing (UDP-Lite mandates one)',
  SCTP_SHORT: 'SCTP: short packet (less than the 12-byte common header)',
} as const;

const ETHERTYPE_NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  [0x0806, 'ARP'],
  [0x8035, 'RARP'],
  [0x88cc, 'LLDP'],
  [0x888e, 'EAPOL'],
  [0x8863, 'PPPoE discovery'],
  [0x8864, 'PPPoE session'],
  [0x8847, 'MPLS'],
  [0x8848, 'MPLS multicast'],
  [0x8809, 'slow protocols (LACP)'],
  [0x88f7, 'PTP'],
  [0x88e5, 'MACsec'],
  [0x8100, '802.1Q'],
  [0x9000, 'loopback'],
  [0x893a, 'IEEE 1905.1'],
  [0x88b8, 'GOOSE'],
  [0x8915, 'RoCE'],
  [0x22f0, 'AVTP'],
  [0x6003, 'DECnet'],
  [0x809b, 'AppleTalk'],
  [0x8137, 'IPX'],
  [0x88a8, '802.1ad'],
]);

const nameCache = new Map<number, string>();

/** Name of a non-IP ethertype: "ARP", "LLDP", ..., or "ethertype 0x88b5". Cached. */
export function etherTypeName(t: number): string {
  const known = ETHERTYPE_NAMES.get(t);
  if (known !== undefined) return known;
  if (t <= 1500) return '802.3 length field (LLC)';
  let s = nameCache.get(t);
  if (s === undefined) {
    s = 'ethertype 0x' + t.toString(16).padStart(4, '0');
    nameCache.set(t, s);
  }
  return s;
}

// ---------------------------------------------------------------------------
// Entry point

/**
 * Decode buf[off, off + caplen) captured on a LINKTYPE_* `linkType` link into
 * `out` (every field is reset first) and return `out`. `direction` is the
 * capture-level direction (pcapng EPB flags); SLL/SLL2 headers override it.
 *
 * `wireLen` is the frame's original length (the capture record's `len`),
 * when known. An IP packet that claims more bytes than the frame has is then
 * told apart: cut by the snaplen (wireLen > caplen: `snapTruncated`, judged
 * by its headers) or short on the wire itself (wireLen <= caplen: MALFORMED,
 * as the kernel's ip_rcv/ipv6_rcv drop it before netfilter sees it).
 */
export function decodePacket(
  buf: Uint8Array,
  off: number,
  caplen: number,
  linkType: number,
  direction: number,
  out: DecodedPacket,
  wireLen = -1,
): DecodedPacket {
  decodeFrame(buf, off, caplen, linkType, direction, out);
  if (out.snapTruncated && out.kind === PacketKind.IP && wireLen >= 0) {
    const frameLen = Math.max(0, Math.min(off + caplen, buf.length) - Math.max(0, off));
    if (wireLen <= frameLen) shortOnTheWire(out, Math.min(off + caplen, buf.length), wireLen);
  }
  return out;
}

/** Cold: the IP length field promises bytes the frame never had. */
function shortOnTheWire(out: DecodedPacket, capEnd: number, wireLen: number): void {
  const present = capEnd - out.ipOff;
  const field = out.ipVersion === 4 ? `IPv4 total length ${out.ipTotalLen}` : `IPv6 payload length ${out.ipTotalLen - 40}`;
  const has = out.ipVersion === 4 ? present : present - 40;
  malformed(out, `${field} exceeds the ${has} bytes present; the frame was captured whole (${wireLen} bytes), so the packet is short on the wire (the kernel drops it before netfilter)`);
}

function decodeFrame(
  buf: Uint8Array,
  off: number,
  caplen: number,
  linkType: number,
  direction: number,
  out: DecodedPacket,
): DecodedPacket {
  resetPacket(out, direction);
  // Clamp the frame to the buffer; a negative / NaN caplen counts as 0.
  if (!(off >= 0)) off = 0;
  let end = off + (caplen > 0 ? caplen : 0);
  if (end > buf.length) end = buf.length;
  if (off > end) off = end;
  const avail = end - off;

  switch (linkType) {
    case LinkType.ETHERNET: {
      if (avail < 14) return malformed(out, `Ethernet header truncated: captured ${avail} of 14 bytes`);
      out.macOff = off;
      return decodeEtherType(buf, off + 12, end, out, 0);
    }
    case LinkType.LINUX_SLL: {
      if (avail < 16) return malformed(out, `Linux SLL header truncated: captured ${avail} of 16 bytes`);
      sllDirection(u16(buf, off), out);
      return decodeSllProtocol(buf, u16(buf, off + 14), off + 16, u16(buf, off + 2), end, out);
    }
    case LinkType.LINUX_SLL2: {
      if (avail < 20) return malformed(out, `Linux SLL2 header truncated: captured ${avail} of 20 bytes`);
      out.linkIfIndex = u32(buf, off + 4);
      sllDirection(buf[off + 10], out);
      return decodeSllProtocol(buf, u16(buf, off), off + 20, u16(buf, off + 8), end, out);
    }
    case LinkType.RAW: {
      if (avail < 1) return malformed(out, 'raw IP packet is empty');
      const v = buf[off] >> 4;
      if (v === 4) return decodeIPv4(buf, off, end, out);
      if (v === 6) return decodeIPv6(buf, off, end, out);
      return malformed(out, `raw IP packet with IP version ${v}`);
    }
    case LinkType.IPV4:
      return decodeIPv4(buf, off, end, out);
    case LinkType.IPV6:
      return decodeIPv6(buf, off, end, out);
    case LinkType.NULL:
    case LinkType.LOOP: {
      if (avail < 4) return malformed(out, `loopback header truncated: captured ${avail} of 4 bytes`);
      const be = u32(buf, off);
      let af = be;
      if (linkType === LinkType.NULL) {
        // Host byte order of the writer: whichever reading is a small number.
        const le = u32le(buf, off);
        if (!isLoopbackAf(be) && (isLoopbackAf(le) || le < be)) af = le;
      }
      if (af === 2) return decodeIPv4(buf, off + 4, end, out);
      if (af === 24 || af === 28 || af === 30) return decodeIPv6(buf, off + 4, end, out);
      out.kind = PacketKind.NON_IP;
      out.l2Name = `loopback address family ${af}`;
      return out;
    }
    default:
      return malformed(out, `unsupported link type ${linkType}`);
  }
}

function isLoopbackAf(af: number): boolean {
  return af === 2 || af === 24 || af === 28 || af === 30;
}

/** SLL packet types: 0 host, 1 broadcast, 2 multicast, 3 other host → in; 4 outgoing → out. */
function sllDirection(pktType: number, out: DecodedPacket): void {
  if (pktType <= 3) out.direction = Direction.INBOUND;
  else if (pktType === 4) out.direction = Direction.OUTBOUND;
}

const ARPHRD_NETLINK = 824;

function decodeSllProtocol(
  buf: Uint8Array, protocol: number, pos: number, arphrd: number, end: number, out: DecodedPacket,
): DecodedPacket {
  if (arphrd === ARPHRD_NETLINK) {
    out.kind = PacketKind.NON_IP;
    out.l2Name = 'netlink';
    return out;
  }
  // The protocol field is an ethertype (VLAN tags, when kept, follow the header).
  return dispatchEtherType(buf, protocol, pos, end, out, 0);
}

/** Read the ethertype at typeAt; the payload follows it. */
function decodeEtherType(buf: Uint8Array, typeAt: number, end: number, out: DecodedPacket, depth: number): DecodedPacket {
  return dispatchEtherType(buf, u16(buf, typeAt), typeAt + 2, end, out, depth);
}

function dispatchEtherType(buf: Uint8Array, t: number, pos: number, end: number, out: DecodedPacket, depth: number): DecodedPacket {
  // VLAN tags: TCI (2 bytes) then the next ethertype, any number of them.
  while (t === 0x8100 || t === 0x88a8 || t === 0x9100) {
    if (end - pos < 4) {
      out.etherType = t;
      return malformed(out, `VLAN tag truncated: captured ${end - pos < 0 ? 0 : end - pos} of 4 bytes`);
    }
    const vid = u16(buf, pos) & 0x0fff;
    if (depth === 0) out.vlanOuter = vid;
    else if (depth === 1) out.vlanInner = vid;
    else out.note = DecodeNote.VLAN_TAGS_BEYOND_TWO;
    depth++;
    t = u16(buf, pos + 2);
    pos += 4;
  }
  out.etherType = t;
  if (t === 0x0800) return decodeIPv4(buf, pos, end, out);
  if (t === 0x86dd) return decodeIPv6(buf, pos, end, out);
  out.kind = PacketKind.NON_IP;
  out.l2Name = etherTypeName(t);
  return out;
}

// ---------------------------------------------------------------------------
// IPv4

function decodeIPv4(buf: Uint8Array, ip: number, capEnd: number, out: DecodedPacket): DecodedPacket {
  const avail = capEnd - ip;
  out.ipOff = ip;
  if (avail < 1) return malformed(out, 'IPv4 header truncated: captured 0 of 20 bytes');
  const b0 = buf[ip];
  if (b0 >> 4 !== 4) return malformed(out, `IPv4 packet with IP version ${b0 >> 4}`);
  if (avail < 20) return malformed(out, `IPv4 header truncated: captured ${avail} of 20 bytes`);
  const ihl = (b0 & 0x0f) * 4;
  if (ihl < 20) return malformed(out, `IPv4 header length ${ihl} below the 20-byte minimum`);
  const totalLen = u16(buf, ip + 2);
  if (totalLen < ihl) return malformed(out, `IPv4 total length ${totalLen} below header length ${ihl}`);
  if (avail < ihl) return malformed(out, `IPv4 header truncated: captured ${avail} of ${ihl} bytes`);

  out.ipVersion = 4;
  out.ipHeaderLen = ihl;
  out.ipTotalLen = totalLen;
  out.ipId = u16(buf, ip + 4);
  const ff = u16(buf, ip + 6);
  out.dontFragment = (ff & 0x4000) !== 0;
  out.moreFragments = (ff & 0x2000) !== 0;
  out.fragOffset = (ff & 0x1fff) * 8;
  out.isFragment = out.moreFragments || out.fragOffset !== 0;
  out.ttl = buf[ip + 8];
  out.proto = buf[ip + 9];
  out.src0 = u32(buf, ip + 12);
  out.dst0 = u32(buf, ip + 16);

  const ipEnd = ip + totalLen;
  return decodeTransport(buf, ip + ihl, ipEnd, capEnd, out);
}

// ---------------------------------------------------------------------------
// IPv6

/** IPv6 extension header names for error messages (cold). */
function extName(nh: number): string {
  switch (nh) {
    case 0: return 'IPv6 hop-by-hop options header';
    case 43: return 'IPv6 routing header';
    case 44: return 'IPv6 fragment header';
    case 60: return 'IPv6 destination options header';
    case 51: return 'IPv6 authentication header';
    default: return `IPv6 extension header ${nh}`;
  }
}

const MAX_EXT_HEADERS = 16;

function decodeIPv6(buf: Uint8Array, ip: number, capEnd: number, out: DecodedPacket): DecodedPacket {
  const avail = capEnd - ip;
  out.ipOff = ip;
  if (avail < 1) return malformed(out, 'IPv6 header truncated: captured 0 of 40 bytes');
  const v = buf[ip] >> 4;
  if (v !== 6) return malformed(out, `IPv6 packet with IP version ${v}`);
  if (avail < 40) return malformed(out, `IPv6 header truncated: captured ${avail} of 40 bytes`);

  const payloadLen = u16(buf, ip + 4);
  let nh = buf[ip + 6];
  out.ipVersion = 6;
  out.ttl = buf[ip + 7];
  out.src0 = u32(buf, ip + 8);
  out.src1 = u32(buf, ip + 12);
  out.src2 = u32(buf, ip + 16);
  out.src3 = u32(buf, ip + 20);
  out.dst0 = u32(buf, ip + 24);
  out.dst1 = u32(buf, ip + 28);
  out.dst2 = u32(buf, ip + 32);
  out.dst3 = u32(buf, ip + 36);
  out.ipTotalLen = 40 + payloadLen;
  if (payloadLen === 0 && nh === 0) {
    out.ipHeaderLen = 40;
    return malformed(out, 'IPv6 jumbogram (payload length 0 with hop-by-hop options) is not supported');
  }

  const ipEnd = ip + 40 + payloadLen;
  let pos = ip + 40;
  let count = 0;
  while (nh === 0 || nh === 43 || nh === 44 || nh === 60 || nh === 51) {
    if (++count > MAX_EXT_HEADERS) {
      out.ipHeaderLen = pos - ip;
      return malformed(out, `more than ${MAX_EXT_HEADERS} IPv6 extension headers`);
    }
    let hlen = 8;
    if (nh !== 44) {
      if (!need(out, 2, pos, ipEnd, capEnd, nh)) return out;
      hlen = nh === 51 ? (buf[pos + 1] + 2) * 4 : (buf[pos + 1] + 1) * 8;
    }
    if (!need(out, hlen, pos, ipEnd, capEnd, nh)) return out;
    if (nh === 44) {
      const fo = u16(buf, pos + 2);
      out.isFragment = true;
      out.fragOffset = fo & 0xfff8;
      out.moreFragments = (fo & 1) !== 0;
      out.ipId = u32(buf, pos + 4);
      if (out.fragOffset !== 0) {
        // Non-first fragment: what follows is the middle of the original payload.
        out.ipHeaderLen = pos + 8 - ip;
        out.proto = buf[pos];
        out.kind = PacketKind.IP;
        out.snapTruncated = capEnd < ipEnd;
        return out;
      }
    }
    nh = buf[pos];
    pos += hlen;
  }
  out.ipHeaderLen = pos - ip;
  out.proto = nh;
  return decodeTransport(buf, pos, ipEnd, capEnd, out);
}

/**
 * Check that `n` bytes at `pos` lie within the IP packet and the capture.
 * On failure mark `out` MALFORMED with a message naming the header `what`
 * (an IP protocol / extension header number, resolved to a name only here).
 */
function need(out: DecodedPacket, n: number, pos: number, ipEnd: number, capEnd: number, what: number): boolean {
  if (pos + n <= ipEnd && pos + n <= capEnd) return true;
  const name = headerName(what);
  if (pos + n > ipEnd) {
    const has = ipEnd - pos;
    malformed(out, `${name} needs ${n} bytes but the IP packet has only ${has < 0 ? 0 : has} left`);
  } else if (out.ipVersion === 4) {
    malformed(out, `IPv4 total length ${out.ipTotalLen} exceeds captured ${capEnd - out.ipOff} bytes (${name} incomplete)`);
  } else {
    malformed(out, `IPv6 payload length ${out.ipTotalLen - 40} exceeds captured ${capEnd - out.ipOff - 40} bytes (${name} incomplete)`);
  }
  return false;
}

function headerName(what: number): string {
  switch (what) {
    case IpProto.TCP: return 'TCP header';
    case IpProto.UDP: return 'UDP header';
    case IpProto.UDPLITE: return 'UDP-Lite header';
    case IpProto.SCTP: return 'SCTP common header';
    case IpProto.ICMP: return 'ICMP header';
    case IpProto.ICMPV6: return 'ICMPv6 header';
    default: return extName(what);
  }
}

// ---------------------------------------------------------------------------
// Transport

function decodeTransport(buf: Uint8Array, l4: number, ipEnd: number, capEnd: number, out: DecodedPacket): DecodedPacket {
  const dataEnd = ipEnd < capEnd ? ipEnd : capEnd;
  out.snapTruncated = capEnd < ipEnd;
  if (out.fragOffset !== 0) {
    // Non-first IPv4 fragment: no transport header here.
    out.kind = PacketKind.IP;
    return out;
  }
  out.l4Off = l4;
  out.l4Len = dataEnd - l4;
  const ipPayload = ipEnd - l4;
  const proto = out.proto;

  if (proto === IpProto.TCP) {
    if (!need(out, 20, l4, ipEnd, capEnd, proto)) return out;
    const doff = buf[l4 + 12] >> 4;
    if (doff < 5) return malformed(out, `TCP data offset ${doff} below the minimum of 5`);
    const hl = doff * 4;
    if (hl > ipPayload) {
      return malformed(out, `TCP data offset ${doff} (${hl} bytes) exceeds the ${ipPayload}-byte IP payload`);
    }
    if (l4 + hl > capEnd) {
      return malformed(out, `TCP data offset ${doff} (${hl} bytes) exceeds the ${capEnd - l4} captured bytes`);
    }
    out.sport = u16(buf, l4);
    out.dport = u16(buf, l4 + 2);
    out.seq = u32(buf, l4 + 4);
    out.ack = u32(buf, l4 + 8);
    out.tcpFlags = buf[l4 + 13];
    out.window = u16(buf, l4 + 14);
    out.tcpHeaderLen = hl;
    out.payloadLen = ipPayload - hl;
    if (hl > 20) parseTcpOptions(buf, l4 + 20, l4 + hl, out);
    out.kind = PacketKind.IP;
    return out;
  }

  if (proto === IpProto.UDP) {
    if (!need(out, 8, l4, ipEnd, capEnd, proto)) return out;
    out.sport = u16(buf, l4);
    out.dport = u16(buf, l4 + 2);
    const udpLen = u16(buf, l4 + 4);
    if (out.isFragment) {
      // First fragment: the UDP length covers the whole datagram; report this fragment's share.
      out.payloadLen = ipPayload - 8;
    } else if (!udpLengthFits(udpLen, ipPayload)) {
      out.payloadLen = ipPayload - 8;
      out.note = DecodeNote.UDP_LENGTH_MISMATCH;
    } else {
      out.payloadLen = udpLen - 8;
      if (udpLen < ipPayload) out.note = DecodeNote.UDP_LENGTH_SHORT;
    }
    out.kind = PacketKind.IP;
    return out;
  }

  if ((proto === IpProto.ICMP && out.ipVersion === 4) || (proto === IpProto.ICMPV6 && out.ipVersion === 6)) {
    if (!need(out, 8, l4, ipEnd, capEnd, proto)) return out;
    const type = buf[l4];
    out.icmpType = type;
    out.icmpCode = buf[l4 + 1];
    out.payloadLen = ipPayload - 8;
    out.kind = PacketKind.IP;
    if (out.ipVersion === 4) {
      if (type === 8 || type === 0 || (type >= 13 && type <= 18)) {
        // Echo, timestamp, information, address mask: identifier and
        // sequence, as conntrack's icmp_pkt_to_tuple keys them.
        out.icmpId = u16(buf, l4 + 4);
        out.icmpSeq = u16(buf, l4 + 6);
      } else if (isIcmpError(4, type)) {
        decodeInner(buf, l4 + 8, dataEnd, 4, out);
      }
    } else {
      if (type === 128 || type === 129 || type === 139 || type === 140) {
        // Echo and node information (the types conntrack tracks): the
        // identifier field (Qtype for node information), as
        // icmpv6_pkt_to_tuple keys them.
        out.icmpId = u16(buf, l4 + 4);
        out.icmpSeq = u16(buf, l4 + 6);
      } else if (isIcmpError(6, type)) {
        decodeInner(buf, l4 + 8, dataEnd, 6, out);
      }
    }
    return out;
  }

  if (proto === IpProto.UDPLITE) {
    if (!portsHeader(buf, l4, 8, ipPayload, ipEnd, capEnd, DecodeNote.UDPLITE_SHORT, out)) return out;
    const cscov = u16(buf, l4 + 4);
    if (cscov !== 0 && (cscov < 8 || cscov > ipPayload)) out.note = DecodeNote.UDPLITE_COVERAGE;
    else if (u16(buf, l4 + 6) === 0) out.note = DecodeNote.UDPLITE_NO_CHECKSUM;
    return out;
  }

  if (proto === IpProto.SCTP) {
    if (!portsHeader(buf, l4, 12, ipPayload, ipEnd, capEnd, DecodeNote.SCTP_SHORT, out)) return out;
    out.sctpVtag = u32(buf, l4 + 4);
    sctpChunks(buf, l4 + 12, dataEnd, out);
    return out;
  }

  // Any other protocol: recognised as IP, no ports.
  out.kind = PacketKind.IP;
  return out;
}

/**
 * A UDP-Lite or SCTP header of `len` bytes: its ports. False when the packet
 * is shorter than the header (not undecodable: conntrack sees it and calls
 * it INVALID, udplite_error / sctp_error, so it is only noted) or the header
 * was not captured (malformed).
 */
function portsHeader(
  buf: Uint8Array, l4: number, len: number, ipPayload: number, ipEnd: number, capEnd: number, shortNote: string, out: DecodedPacket,
): boolean {
  out.kind = PacketKind.IP;
  if (ipPayload < len) {
    out.note = shortNote;
    return false;
  }
  if (!need(out, len, l4, ipEnd, capEnd, out.proto)) return false;
  out.sport = u16(buf, l4);
  out.dport = u16(buf, l4 + 2);
  out.payloadLen = ipPayload - len;
  return true;
}

/**
 * The chunk walk of nf_conntrack_proto_sctp (for_each_sctp_chunk and
 * do_basic_checks): a chunk header is read while one fits before the end,
 * and each chunk's length, rounded up to 4, leads to the next.
 */
function sctpChunks(buf: Uint8Array, pos: number, end: number, out: DecodedPacket): void {
  const map = out.sctpMap;
  map.fill(0);
  let count = 0;
  let alone = false;
  let bad = false;
  while (pos + 4 <= end) {
    const type = buf[pos];
    const len = u16(buf, pos + 2);
    if (type === 1 || type === 2 || type === 14) alone = true;
    // COOKIE_ECHO / COOKIE_ACK not first, INIT / INIT_ACK / SHUTDOWN_COMPLETE not alone, or zero length.
    if (((type === 10 || type === 11 || alone) && count !== 0) || len === 0) {
      bad = true;
      break;
    }
    map[type >>> 5] |= 1 << (type & 31);
    if (count < SCTP_MAX_CHUNKS) {
      out.sctpTypes[count] = type;
      out.sctpFlags[count] = buf[pos + 1];
      // INIT and INIT_ACK: the initiate tag, when the 16-byte INIT header fits.
      out.sctpInitTag[count] = (type === 1 || type === 2) && pos + 4 + 16 <= end ? u32(buf, pos + 4) : -1;
    }
    count++;
    pos += (len + 3) & ~3;
  }
  out.sctpChunks = count;
  out.sctpBad = bad || count === 0;
}

/**
 * TCP options between pos and end (already known to be captured). Like the
 * kernel, a malformed option length stops parsing without failing the packet.
 */
function parseTcpOptions(buf: Uint8Array, pos: number, end: number, out: DecodedPacket): void {
  while (pos < end) {
    const kind = buf[pos];
    if (kind === 0) return; // end of option list
    if (kind === 1) { // NOP
      pos++;
      continue;
    }
    if (pos + 1 >= end) return;
    const len = buf[pos + 1];
    if (len < 2 || pos + len > end) return; // "silly options" / overrun
    switch (kind) {
      case 2:
        if (len === 4) out.mss = u16(buf, pos + 2);
        break;
      case 3:
        if (len === 3) out.wscale = buf[pos + 2];
        break;
      case 4:
        if (len === 2) out.sackPermitted = true;
        break;
      case 5:
        if (len >= 10 && (len - 2) % 8 === 0) {
          // As netfilter's tcp_sack(): start from ack, keep the latest right edge after() it.
          let best = out.sackMaxRight === -1 ? out.ack : out.sackMaxRight;
          for (let i = pos + 2; i < pos + len; i += 8) {
            const right = u32(buf, i + 4);
            if (seqAfter(right, best)) best = right;
          }
          out.sackMaxRight = best;
        }
        break;
      case 8:
        if (len === 10) {
          out.hasTimestamp = true;
          out.tsVal = u32(buf, pos + 2);
          out.tsEcr = u32(buf, pos + 6);
        }
        break;
      default:
        break;
    }
    pos += len;
  }
}

// ---------------------------------------------------------------------------
// ICMP error quotes

/**
 * Decode the packet quoted by an ICMP/ICMPv6 error: its IP header (IPv6: with
 * extension headers) and the first 8 transport bytes. Only what was both
 * captured and inside the outer IP packet counts. Sets innerValid only when
 * all of that is present.
 */
function decodeInner(buf: Uint8Array, ip: number, end: number, version: number, out: DecodedPacket): void {
  const avail = end - ip;
  if (avail < 1 || buf[ip] >> 4 !== version) return;
  let l4: number;
  let proto: number;
  let nonFirstFragment = false;
  if (version === 4) {
    if (avail < 20) return;
    const ihl = (buf[ip] & 0x0f) * 4;
    if (ihl < 20 || avail < ihl) return;
    proto = buf[ip + 9];
    nonFirstFragment = (u16(buf, ip + 6) & 0x1fff) !== 0;
    out.innerSrc0 = u32(buf, ip + 12);
    out.innerDst0 = u32(buf, ip + 16);
    l4 = ip + ihl;
  } else {
    if (avail < 40) return;
    proto = buf[ip + 6];
    out.innerSrc0 = u32(buf, ip + 8);
    out.innerSrc1 = u32(buf, ip + 12);
    out.innerSrc2 = u32(buf, ip + 16);
    out.innerSrc3 = u32(buf, ip + 20);
    out.innerDst0 = u32(buf, ip + 24);
    out.innerDst1 = u32(buf, ip + 28);
    out.innerDst2 = u32(buf, ip + 32);
    out.innerDst3 = u32(buf, ip + 36);
    l4 = ip + 40;
    for (let i = 0; i < MAX_EXT_HEADERS; i++) {
      if (proto === 0 || proto === 43 || proto === 60 || proto === 51) {
        if (l4 + 2 > end) return;
        const hlen = proto === 51 ? (buf[l4 + 1] + 2) * 4 : (buf[l4 + 1] + 1) * 8;
        proto = buf[l4];
        l4 += hlen;
      } else if (proto === 44) {
        if (l4 + 8 > end) return;
        nonFirstFragment = (u16(buf, l4 + 2) & 0xfff8) !== 0;
        proto = buf[l4];
        l4 += 8;
        if (nonFirstFragment) break;
      } else {
        break;
      }
    }
    if (l4 > end) return;
  }
  out.innerIpVersion = version;
  out.innerProto = proto;
  const hasPorts = !nonFirstFragment &&
    (isPortProto(proto) || proto === IpProto.ICMP || proto === IpProto.ICMPV6);
  if (hasPorts) {
    if (l4 + 8 > end) return;
    if (isPortProto(proto)) {
      out.innerSport = u16(buf, l4);
      out.innerDport = u16(buf, l4 + 2);
      if (proto === IpProto.TCP) out.innerSeq = u32(buf, l4 + 4);
    } else {
      const t = buf[l4];
      out.innerDport = t;
      const echo = proto === IpProto.ICMP ? t === 8 || t === 0 : t === 128 || t === 129;
      if (echo) out.innerSport = u16(buf, l4 + 4);
    }
  }
  out.innerValid = true;
}
