/**
 * A captured frame rewritten as NAT leaves it: the addresses, ports and
 * ICMP echo id of `e` (the packet as it leaves) written over those of `p`
 * (as captured), ICMP errors' quoted packets included, and every checksum
 * that covers a changed byte adjusted. Adjusted, not recomputed, as the
 * kernel's NAT does (inet_proto_csum_replace*): a checksum that was wrong
 * stays exactly as wrong, and one over bytes the capture cut off is still
 * right. Cold path (--write-accepted): it allocates the copy.
 */
import { finishChecksum, onesSum } from './checksum.js';
import { IpProto, isPortProto, type DecodedPacket } from './types.js';

const TCP_CSUM = 16;
const UDP_CSUM = 6;
const ICMP_CSUM = 2;
const ICMP_ECHO_ID = 4;
const IPV4_CSUM = 10;
const IPV4_SRC = 12;
const IPV6_SRC = 8;
/** ICMP errors quote their packet after the 8-byte ICMP header. */
const QUOTE = 8;

function put32(b: Uint8Array, at: number, v: number, end: number): void {
  if (at + 4 > end) return;
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 255;
  b[at + 2] = (v >>> 8) & 255;
  b[at + 3] = v & 255;
}

function put16(b: Uint8Array, at: number, v: number, end: number): void {
  if (at + 2 > end) return;
  b[at] = (v >>> 8) & 255;
  b[at + 1] = v & 255;
}

function get16(b: Uint8Array, at: number): number {
  return (b[at] << 8) | b[at + 1];
}

function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/**
 * Adjust the checksum at `at` for what changed between `old` and `b` in
 * `ranges` ([start, end) pairs; the checksum's own bytes count as zero):
 * C' = ~(~C + ~S_old + S_new) (RFC 1624).
 */
function adjust(b: Uint8Array, old: Uint8Array, at: number, end: number, ranges: number[], udp = false): void {
  if (at + 2 > end) return;
  const c = get16(b, at);
  if (udp && c === 0) return; // IPv4 UDP without a checksum
  let sOld = 0;
  let sNew = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    const from = ranges[i];
    const to = Math.min(ranges[i + 1], end);
    if (to <= from) continue;
    sOld = onesSum(old, from, to - from, sOld);
    sNew = onesSum(b, from, to - from, sNew);
    if (at >= from && at + 2 <= to) {
      sOld -= get16(old, at);
      sNew -= get16(b, at);
    }
  }
  const folded = fold((~c & 0xffff) + (~fold(sOld) & 0xffff) + fold(sNew));
  let v = finishChecksum(folded);
  if (udp && v === 0) v = 0xffff;
  put16(b, at, v, end);
}

/** Write the address words of `e` (outer or inner) at `at` (IPv4 4 bytes each, IPv6 16). */
function putAddrs(b: Uint8Array, at: number, v: number, s: readonly number[], d: readonly number[], end: number): void {
  const n = v === 4 ? 1 : 4;
  for (let i = 0; i < n; i++) put32(b, at + 4 * i, s[i], end);
  for (let i = 0; i < n; i++) put32(b, at + 4 * n + 4 * i, d[i], end);
}

/**
 * The bytes of the record's frame (buf[off, off + caplen)) as the packet
 * leaves: a new array. `p` is the decoded capture, `e` the packet as NAT
 * left it (same decoded layout, other addresses and ports).
 */
export function rewriteLeaving(
  buf: Uint8Array,
  off: number,
  caplen: number,
  p: DecodedPacket,
  e: DecodedPacket,
): Uint8Array {
  const old = buf.slice(off, off + caplen);
  const b = old.slice();
  const end = b.length;
  const ip = p.ipOff - off;
  if (p.ipOff < 0 || ip >= end) return b;
  const v = p.ipVersion;
  const addrAt = ip + (v === 4 ? IPV4_SRC : IPV6_SRC);
  const addrLen = v === 4 ? 8 : 32;
  putAddrs(b, addrAt, v, [e.src0, e.src1, e.src2, e.src3], [e.dst0, e.dst1, e.dst2, e.dst3], end);
  const l4 = p.l4Off >= 0 ? p.l4Off - off : -1;
  const ipEnd = Math.min(end, ip + (p.ipTotalLen > 0 ? p.ipTotalLen : end - ip));
  const pseudo = [addrAt, addrAt + addrLen];
  if (l4 >= 0 && l4 < end) {
    const whole = [l4, ipEnd];
    if (isPortProto(p.proto)) {
      put16(b, l4, e.sport, end);
      put16(b, l4 + 2, e.dport, end);
      if (p.proto === IpProto.TCP) adjust(b, old, l4 + TCP_CSUM, end, [...pseudo, ...whole]);
      else if (p.proto === IpProto.UDP) adjust(b, old, l4 + UDP_CSUM, end, [...pseudo, ...whole], v === 4);
    } else if (p.proto === IpProto.ICMP || p.proto === IpProto.ICMPV6) {
      if (e.icmpId !== p.icmpId) put16(b, l4 + ICMP_ECHO_ID, e.icmpId, end);
      if (p.innerValid && e.innerValid) rewriteQuote(b, old, l4 + QUOTE, ipEnd, p, e);
      // ICMPv6 covers the addresses (pseudo-header); ICMPv4 only its own bytes.
      adjust(b, old, l4 + ICMP_CSUM, end, p.proto === IpProto.ICMPV6 ? [...pseudo, ...whole] : whole);
    }
  }
  if (v === 4) adjust(b, old, ip + IPV4_CSUM, end, [ip, ip + p.ipHeaderLen]);
  return b;
}

/** An ICMP error's quoted packet: its addresses and ports (or echo id) as the error leaves, its IPv4 header checksum with them. */
function rewriteQuote(
  b: Uint8Array,
  old: Uint8Array,
  q: number,
  end: number,
  p: DecodedPacket,
  e: DecodedPacket,
): void {
  const v = p.innerIpVersion;
  if (q >= end) return;
  const addrAt = q + (v === 4 ? IPV4_SRC : IPV6_SRC);
  putAddrs(
    b,
    addrAt,
    v,
    [e.innerSrc0, e.innerSrc1, e.innerSrc2, e.innerSrc3],
    [e.innerDst0, e.innerDst1, e.innerDst2, e.innerDst3],
    end,
  );
  // (IPv6 quotes with extension headers: the transport header is not right after 40 bytes; only IPv4's is placed here.)
  const ihl = v === 4 ? (b[q] & 15) * 4 : 40;
  const l4 = q + ihl;
  if (v === 6 && old[q + 6] !== p.innerProto) return;
  if (isPortProto(p.innerProto)) {
    put16(b, l4, e.innerSport, end);
    put16(b, l4 + 2, e.innerDport, end);
    // Its TCP/UDP checksum only when the quote holds it (the kernel's rule for a quoted header).
    const pseudo = [addrAt, addrAt + (v === 4 ? 8 : 32)];
    if (p.innerProto === IpProto.TCP && l4 + TCP_CSUM + 2 <= end)
      adjust(b, old, l4 + TCP_CSUM, end, [...pseudo, l4, l4 + 20]);
    else if (p.innerProto === IpProto.UDP && l4 + 8 <= end)
      adjust(b, old, l4 + UDP_CSUM, end, [...pseudo, l4, l4 + 8], v === 4);
  } else if ((p.innerProto === IpProto.ICMP || p.innerProto === IpProto.ICMPV6) && e.innerSport !== p.innerSport) {
    put16(b, l4 + ICMP_ECHO_ID, e.innerSport, end);
    if (l4 + 8 <= end) adjust(b, old, l4 + ICMP_CSUM, end, [l4, l4 + 8]);
  }
  if (v === 4) adjust(b, old, q + IPV4_CSUM, end, [q, q + ihl]);
}
