/** The Internet checksum (RFC 1071) and the TCP/UDP/ICMPv6 pseudo-header sum, for the builders. */

/** One's-complement 16-bit sum of buf[off, off+len) added to acc (unfolded, fits a double). */
export function onesSum(buf: Uint8Array, off: number, len: number, acc = 0): number {
  let s = acc;
  const end = off + len;
  let i = off;
  for (; i + 1 < end; i += 2) s += (buf[i] << 8) | buf[i + 1];
  if (i < end) s += buf[i] << 8;
  return s;
}

/** Fold a sum to 16 bits and complement it: the value to store in a checksum field. */
export function finishChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** RFC 1071 Internet checksum of buf[off, off+len). */
export function internetChecksum(buf: Uint8Array, off = 0, len = buf.length - off): number {
  return finishChecksum(onesSum(buf, off, len));
}

/** Sum of the TCP/UDP/ICMPv6 pseudo-header (addresses as bytes, 4 or 16 each). */
export function pseudoSum(src: Uint8Array, dst: Uint8Array, proto: number, len: number): number {
  let s = onesSum(src, 0, src.length) + onesSum(dst, 0, dst.length);
  s += proto + (len >>> 16) + (len & 0xffff);
  return s;
}
