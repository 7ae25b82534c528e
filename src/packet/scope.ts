/**
 * Address scopes the kernel acts on before any filter chain: multicast and
 * broadcast stay on their link, IPv6 link-local addresses never leave it,
 * and "martian" addresses are discarded on receipt. A firewall ruleset
 * never sees these decisions, so fwemu must make them itself, in the
 * kernel's order (ip6_rcv_core and ip_route_input_slow on receipt,
 * ip6_forward for link-local; checked against a kernel namespace in
 * test/kernel/link-local.test.ts).
 *
 * Addresses are DecodedPacket's network-order words; the checks read only
 * the words they need and allocate nothing.
 */
import type { DecodedPacket } from './types.js';

/** Why the kernel keeps a packet from the filter chains it would otherwise cross; 0 = it does not. */
export const Scope = {
  NONE: 0,
  /**
   * Dropped on receipt, whoever it is for (before PREROUTING for IPv6 in
   * ip6_rcv_core; by ip_route_input_slow for IPv4, after conntrack saw it):
   * a multicast or broadcast source, a loopback address arriving on a link,
   * an IPv4 source 0.0.0.0 to anything but the limited broadcast.
   */
  MARTIAN: 1,
  /** Multicast destination: delivered on the link to the group's members; forwarded only by a multicast router. */
  MULTICAST: 2,
  /** IPv4 limited broadcast 255.255.255.255: delivered on the link, never forwarded. */
  BROADCAST: 3,
  /** IPv6 link-local source (fe80::/10): ip6_forward answers ICMPv6 beyond-scope when it would leave the link. */
  LINK_LOCAL_SRC: 4,
  /** IPv6 unspecified source (::): allowed on the link (duplicate address detection), never forwarded. */
  UNSPECIFIED_SRC: 5,
} as const;
export type ScopeValue = (typeof Scope)[keyof typeof Scope];

/** IPv4 0.0.0.0/8 ("this network"). */
const isZeroNet4 = (w: number) => w >>> 24 === 0;
/** IPv4 127.0.0.0/8. */
const isLoopback4 = (w: number) => w >>> 24 === 127;
/** IPv4 224.0.0.0/4. */
const isMulticast4 = (w: number) => w >>> 28 === 0xe;
/** IPv4 255.255.255.255. */
const isBroadcast4 = (w: number) => w >>> 0 === 0xffffffff;
/** IPv6 ff00::/8 (word 0). */
const isMulticast6 = (w0: number) => w0 >>> 24 === 0xff;
/** IPv6 fe80::/10 (word 0). */
const isLinkLocal6 = (w0: number) => w0 >>> 22 === 0x3fa;
const isLoopback6 = (w0: number, w1: number, w2: number, w3: number) => (w0 | w1 | w2) === 0 && w3 === 1;
const isUnspecified6 = (w0: number, w1: number, w2: number, w3: number) => (w0 | w1 | w2 | w3) === 0;

/** Which martian rule a packet breaks (martianKind); NONE when it breaks none. */
export const Martian = {
  NONE: 0,
  MULTICAST_SRC: 1,
  BROADCAST_SRC: 2,
  LOOPBACK_SRC: 3,
  LOOPBACK_DST: 4,
  /** IPv4 0.0.0.0/8 as the destination. */
  ZERO_DST: 5,
  /** IPv4 0.0.0.0/8 as the source, to anything but the limited broadcast. */
  ZERO_SRC: 6,
  /** IPv6 multicast of scope 0 (reserved) or 1 (interface-local): never on a link. */
  LOCAL_MULTICAST_DST: 7,
} as const;
export type MartianValue = (typeof Martian)[keyof typeof Martian];

/**
 * Discarded on receipt by any Linux host or router (ip6_rcv_core: multicast
 * source, loopback source or destination, interface-local or scope-0
 * multicast destination; ip_route_input_slow: multicast, broadcast or
 * loopback source, loopback destination, 0.0.0.0 source or destination
 * except 0.0.0.0 to the limited broadcast, as a DHCP client sends): which
 * rule the packet breaks, the first in that order.
 */
export function martianKind(p: DecodedPacket): MartianValue {
  if (p.ipVersion === 4) {
    const s = p.src0;
    const d = p.dst0;
    if (isMulticast4(s)) return Martian.MULTICAST_SRC;
    if (isBroadcast4(s)) return Martian.BROADCAST_SRC;
    if (isLoopback4(s)) return Martian.LOOPBACK_SRC;
    if (isLoopback4(d)) return Martian.LOOPBACK_DST;
    if (isZeroNet4(d)) return Martian.ZERO_DST;
    return isZeroNet4(s) && !isBroadcast4(d) ? Martian.ZERO_SRC : Martian.NONE;
  }
  if (p.ipVersion !== 6) return Martian.NONE;
  if (isMulticast6(p.src0)) return Martian.MULTICAST_SRC;
  if (isLoopback6(p.src0, p.src1, p.src2, p.src3)) return Martian.LOOPBACK_SRC;
  if (isLoopback6(p.dst0, p.dst1, p.dst2, p.dst3)) return Martian.LOOPBACK_DST;
  // Multicast scope (the low nibble of the second byte) 0 (reserved) or 1 (interface-local).
  return isMulticast6(p.dst0) && ((p.dst0 >>> 16) & 0xf) <= 1 ? Martian.LOCAL_MULTICAST_DST : Martian.NONE;
}

export function isMartian(p: DecodedPacket): boolean {
  return martianKind(p) !== Martian.NONE;
}

/** The destination is the IPv4 limited broadcast, 255.255.255.255. */
export function isBroadcastDestination(p: DecodedPacket): boolean {
  return p.ipVersion === 4 && isBroadcast4(p.dst0);
}

/** The destination is a group (multicast, or the IPv4 limited broadcast): whoever listens on the link receives it. */
export function isGroupDestination(p: DecodedPacket): boolean {
  if (p.ipVersion === 4) return isMulticast4(p.dst0) || isBroadcast4(p.dst0);
  return p.ipVersion === 6 && isMulticast6(p.dst0);
}

/**
 * Why a router never passes this packet to its forward chain (Scope.NONE
 * when it may). The gateway model's router joins two links, so a packet
 * that crosses it always leaves by another link than it came in on; that
 * is when ip6_forward refuses a link-local or unspecified source (sent
 * back out of its own link, it would be forwarded). A link-local
 * destination is routed back onto the link it came from, through the
 * forward chain, so it is not one of these.
 */
export function notForwardedScope(p: DecodedPacket): ScopeValue {
  // Every packet of a gateway replay comes here: most addresses are plain
  // unicast, which the first bytes tell at once.
  const a = p.src0 >>> 24;
  const b = p.dst0 >>> 24;
  if (p.ipVersion === 4) {
    if (a !== 0 && a !== 127 && a < 224 && b !== 0 && b !== 127 && b < 224) return Scope.NONE;
  } else if (a !== 0 && a !== 0xfe && a !== 0xff && b !== 0 && b !== 0xff) return Scope.NONE;
  if (isMartian(p)) return Scope.MARTIAN;
  if (p.ipVersion === 4) {
    if (isMulticast4(p.dst0)) return Scope.MULTICAST;
    if (isBroadcast4(p.dst0)) return Scope.BROADCAST;
    return Scope.NONE;
  }
  if (p.ipVersion !== 6) return Scope.NONE;
  if (isMulticast6(p.dst0)) return Scope.MULTICAST;
  if (isLinkLocal6(p.src0)) return Scope.LINK_LOCAL_SRC;
  if (isUnspecified6(p.src0, p.src1, p.src2, p.src3)) return Scope.UNSPECIFIED_SRC;
  return Scope.NONE;
}

/** IPv6 solicited-node multicast ff02::1:ffXX:XXXX (RFC 4291 2.7.1): true when `p`'s destination is one. */
export function isSolicitedNode(p: DecodedPacket): boolean {
  return (
    p.ipVersion === 6 && p.dst0 >>> 0 === 0xff020000 && p.dst1 === 0 && p.dst2 >>> 0 === 1 && p.dst3 >>> 24 === 0xff
  );
}

/** IPv6 ff02::1 (all nodes) or IPv4 224.0.0.1 (all systems): every host receives it. */
export function isAllNodes(p: DecodedPacket): boolean {
  if (p.ipVersion === 4) return p.dst0 >>> 0 === 0xe0000001;
  return p.ipVersion === 6 && p.dst0 >>> 0 === 0xff020000 && (p.dst1 | p.dst2) === 0 && p.dst3 === 1;
}

/** IPv6 ff02::2 (all routers, link-local scope): received by a host that forwards. */
export function isAllRouters(p: DecodedPacket): boolean {
  return p.ipVersion === 6 && p.dst0 >>> 0 === 0xff020000 && (p.dst1 | p.dst2) === 0 && p.dst3 === 2;
}
