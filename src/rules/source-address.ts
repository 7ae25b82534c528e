/**
 * The source address masquerade takes (route.ts sourceAddress), as the
 * kernel chooses it:
 * - IPv4, nf_nat_masquerade_ipv4 -> inet_select_addr(out, ..., universe):
 *   an address of the egress interface (the one whose network holds the
 *   destination first); when it has none, the first universe-scope address
 *   of any interface in device order (lo's 127.0.0.1 is host scope).
 * - IPv6, nf_nat_masquerade_ipv6 -> ipv6_dev_get_saddr (RFC 6724): the
 *   candidates are the egress interface's addresses when the destination is
 *   multicast or link-local, else every interface's; the best by the rules
 *   that tell static addresses apart (addrconf.c ipv6_get_saddr_eval):
 *   same address as the destination, appropriate scope, the egress
 *   interface, matching label, longest matching prefix; a tie keeps the
 *   first in device order. So a router whose WAN has no IPv6 address
 *   masquerades with its LAN address and forwards. The link-local
 *   addresses the kernel gives every interface are not in the model.
 */
import type { Cidr } from './types.js';

/** An interface's addresses: each with its connected network (FwInterface.addresses). */
export type IfAddrs = readonly { addr: Cidr; net: Cidr }[];

// ipv6_addr_type scopes (IPV6_ADDR_SCOPE_*).
const NODELOCAL = 0x1;
const LINKLOCAL = 0x2;
const SITELOCAL = 0x5;
const GLOBAL = 0xe;

/** The scope of an IPv6 address as a source or destination (__ipv6_addr_src_scope). */
function scope6(w: readonly number[]): number {
  const w0 = w[0] >>> 0;
  if (w0 >>> 24 === 0xff) return (w0 >>> 16) & 0xf;
  if (w0 >>> 22 === 0x3fa) return LINKLOCAL;
  if (w0 >>> 22 === 0x3fb) return SITELOCAL;
  if (w0 === 0 && w[1] >>> 0 === 0 && w[2] >>> 0 === 0 && w[3] >>> 0 === 1) return NODELOCAL;
  return GLOBAL;
}

/** Linux's default address labels (ip6addrlbl_init_table), longest prefix first where they nest. */
const LABELS: readonly [number, number, number, number, number, number][] = [
  // w0, w1, w2, w3, prefix, label
  [0, 0, 0, 1, 128, 0],
  [0x20010010, 0, 0, 0, 28, 7],
  [0, 0, 0xffff, 0, 96, 4],
  [0, 0, 0, 0, 96, 3],
  [0x20010000, 0, 0, 0, 32, 6],
  [0x20020000, 0, 0, 0, 16, 2],
  [0x3ffe0000, 0, 0, 0, 16, 12],
  [0xfec00000, 0, 0, 0, 10, 11],
  [0xfc000000, 0, 0, 0, 7, 5],
];

/** Leading bits two addresses share (ipv6_addr_diff), 128 when equal. */
function common(a: readonly number[], b: readonly number[], words: number): number {
  for (let i = 0; i < words; i++) {
    const x = (a[i] ^ b[i]) >>> 0;
    if (x !== 0) return i * 32 + Math.clz32(x);
  }
  return words * 32;
}

function label6(w: readonly number[]): number {
  for (const [a, b, c, d, prefix, label] of LABELS) if (common(w, [a, b, c, d], 4) >= prefix) return label;
  return 1;
}

function inNet(dst: readonly number[], net: Cidr, words: number): boolean {
  return common(dst, net.words, words) >= net.prefix;
}

/** The score of one candidate, rule by rule (higher is better); compared in order, as ipv6_dev_get_saddr does. */
function score6(a: { addr: Cidr; net: Cidr }, onOif: boolean, dst: readonly number[], dstScope: number): number[] {
  const w = a.addr.words;
  const s = scope6(w);
  return [
    common(w, dst, 4) === 128 ? 1 : 0,
    s >= dstScope ? -s : s - 128,
    onOif ? 1 : 0,
    label6(w) === label6(dst) ? 1 : 0,
    Math.min(common(w, dst, 4), a.net.prefix),
  ];
}

function better(x: number[], y: number[]): boolean {
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] > y[i];
  return false;
}

/**
 * The source for a flow leaving by interface `oif` (an index of `addrs`,
 * whose index 0 is lo) towards `dst`; null when the kernel finds none
 * (and drops the packet).
 */
export function masqueradeSource(
  addrs: readonly IfAddrs[],
  oif: number,
  version: 4 | 6,
  dst: readonly number[],
): Cidr | null {
  if (version === 4) {
    let first: Cidr | null = null;
    for (const a of addrs[oif] ?? []) {
      if (a.addr.version !== 4) continue;
      if (inNet(dst, a.net, 1)) return a.addr;
      first ??= a.addr;
    }
    if (first !== null) return first;
    // No address on the egress interface: the first of universe scope anywhere (not 127.0.0.0/8, host scope).
    for (const list of addrs)
      for (const a of list) if (a.addr.version === 4 && a.addr.words[0] >>> 24 !== 127) return a.addr;
    return null;
  }
  const dstScope = scope6(dst);
  const oifOnly = dstScope <= LINKLOCAL || dst[0] >>> 24 === 0xff;
  let best: Cidr | null = null;
  let bestScore: number[] = [];
  for (let i = 0; i < addrs.length; i++) {
    if (oifOnly && i !== oif) continue;
    for (const a of addrs[i]) {
      // (::1 would lose to the link-local address every interface has in the kernel, which the model leaves
      // out: without a declared address the answer is none, and the packet is dropped.)
      if (a.addr.version !== 6 || scope6(a.addr.words) === NODELOCAL) continue;
      const s = score6(a, i === oif, dst, dstScope);
      if (best === null || better(s, bestScore)) {
        best = a.addr;
        bestScore = s;
      }
    }
  }
  return best;
}
