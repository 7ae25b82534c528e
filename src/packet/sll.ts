/**
 * Linux "cooked" capture headers (tcpdump -i any): LINKTYPE_LINUX_SLL (v1)
 * and LINKTYPE_LINUX_SLL2, and the loopback headers of LINKTYPE_NULL /
 * LINKTYPE_LOOP (a 4-byte address family).
 */

import { Direction } from '../base/link.js';
import { u32, u32le, writeU16, writeU32, writeU32le } from './bytes.js';
import type { DecodedPacket } from './types.js';

/** SLL (v1) fields. */
// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
export const enum field {
  PKTTYPE = 0,
  HATYPE = 2,
  HALEN = 4,
  ADDR = 6,
  PROTOCOL = 14,
}
export const HEADER_LEN = 16;

/** SLL2 fields. */
// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
export const enum field2 {
  PROTOCOL = 0,
  RESERVED = 2,
  IFINDEX = 4,
  HATYPE = 8,
  PKTTYPE = 10,
  HALEN = 11,
  ADDR = 12,
}
export const HEADER2_LEN = 20;

/** The packet types (PACKET_* of linux/if_packet.h). */
// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
export const enum PacketType {
  HOST = 0,
  BROADCAST = 1,
  MULTICAST = 2,
  OTHERHOST = 3,
  OUTGOING = 4,
}

export const ARPHRD_ETHER = 1;
/** A netlink "device" (nlmon): the protocol field is not an ethertype. */
export const ARPHRD_NETLINK = 824;
const ETHER_ADDR_LEN = 6;

/** SLL packet types: 0 host, 1 broadcast, 2 multicast, 3 other host → in; 4 outgoing → out. */
export function sllDirection(pktType: number, out: DecodedPacket): void {
  if (pktType <= PacketType.OTHERHOST) out.direction = Direction.INBOUND;
  else if (pktType === PacketType.OUTGOING) out.direction = Direction.OUTBOUND;
}

export function buildSllHeader(pktType: number, mac: Uint8Array, protocol: number): Uint8Array {
  const h = new Uint8Array(HEADER_LEN);
  writeU16(h, field.PKTTYPE, pktType);
  writeU16(h, field.HATYPE, ARPHRD_ETHER);
  writeU16(h, field.HALEN, ETHER_ADDR_LEN);
  h.set(mac, field.ADDR);
  writeU16(h, field.PROTOCOL, protocol);
  return h;
}

export function buildSll2Header(pktType: number, ifIndex: number, mac: Uint8Array, protocol: number): Uint8Array {
  const h = new Uint8Array(HEADER2_LEN);
  writeU16(h, field2.PROTOCOL, protocol);
  writeU32(h, field2.IFINDEX, ifIndex);
  writeU16(h, field2.HATYPE, ARPHRD_ETHER);
  h[field2.PKTTYPE] = pktType;
  h[field2.HALEN] = ETHER_ADDR_LEN;
  h.set(mac, field2.ADDR);
  return h;
}

// ---------------------------------------------------------------------------
// Loopback (LINKTYPE_NULL: the writer's byte order; LINKTYPE_LOOP: big-endian)

export const LOOPBACK_HEADER_LEN = 4;
/** Address families: AF_INET, and AF_INET6 as BSD (24), FreeBSD (28) and macOS (30) number it. */
// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
export const enum Af {
  INET = 2,
  INET6_BSD = 24,
  INET6_FREEBSD = 28,
  INET6_DARWIN = 30,
}

export function isInet6Af(af: number): boolean {
  return af === Af.INET6_BSD || af === Af.INET6_FREEBSD || af === Af.INET6_DARWIN;
}

function isLoopbackAf(af: number): boolean {
  return af === Af.INET || isInet6Af(af);
}

/** The address family of a loopback header; for LINKTYPE_NULL whichever byte order reads as a small number. */
export function loopbackAf(b: Uint8Array, off: number, hostOrder: boolean): number {
  const be = u32(b, off);
  if (!hostOrder) return be;
  const le = u32le(b, off);
  return !isLoopbackAf(be) && (isLoopbackAf(le) || le < be) ? le : be;
}

export function buildLoopbackHeader(af: number, bigEndian: boolean): Uint8Array {
  const h = new Uint8Array(LOOPBACK_HEADER_LEN);
  if (bigEndian) writeU32(h, 0, af);
  else writeU32le(h, 0, af);
  return h;
}
