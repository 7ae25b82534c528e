/**
 * The firewall's interfaces and routing table, compiled for the per-packet
 * path: which interface a packet came in by (the route back to its source,
 * when the capture does not say), which it leaves by (the longest prefix
 * holding its destination), and which addresses are the firewall's own.
 *
 * Routes are those the interfaces imply, as `ip route` shows them after the
 * addresses are added: each address's connected network, the `networks:`
 * routed out of an interface, and the default route. `lo` always exists
 * (index 0), owning 127.0.0.0/8 and ::1 as the kernel's local table does.
 */
import { wordMask } from './cidr.js';
import type { FwInterface } from './firewall.js';
import { masqueradeSource } from './source-address.js';
import type { Cidr } from './types.js';

/** No interface: no route, or a packet the firewall sends itself (no ingress). */
export const NO_IF = -1;

/** Index of `lo` in every RouteTable. */
export const LO_IF = 0;

/** ownerOf: not an address of the firewall. */
export const NOT_OWN = -2;

/** Route types (RTN_* of rtnetlink.h), as a fib lookup answers them. */
export const Rtn = {
  UNSPEC: 0,
  UNICAST: 1,
  LOCAL: 2,
  BROADCAST: 3,
  ANYCAST: 4,
  MULTICAST: 5,
  BLACKHOLE: 6,
  UNREACHABLE: 7,
  PROHIBIT: 8,
} as const;

export class RouteTable {
  /** Interface names by index; 0 is lo. */
  readonly names: readonly string[];
  /** IPv4 routes, longest prefix first: [net, mask, ifIndex] triples (int32). */
  private readonly v4: Int32Array;
  /** IPv6 routes, longest prefix first: groups of 9: net0-3, mask0-3, ifIndex. */
  private readonly v6: Int32Array;
  /** Own IPv4 addresses and their interfaces: [addr, ifIndex] pairs. */
  private readonly own4: Int32Array;
  /** Own IPv6 addresses: groups of 5: addr0-3, ifIndex. */
  private readonly own6: Int32Array;
  /** Directed broadcast addresses of the IPv4 connected networks (prefix < 31): [addr, ifIndex]. */
  private readonly bcast4: Int32Array;
  /** Connected IPv6 networks (prefix < 127): groups of 5: net0-3, ifIndex (their subnet-router anycast address). */
  private readonly net6: Int32Array;
  /** The interfaces' addresses, for masquerade (first address of the family on the interface, or the one whose network holds the next hop). */
  private readonly addrs: readonly (readonly { addr: Cidr; net: Cidr }[])[];

  constructor(interfaces: readonly FwInterface[], extraOwn: readonly Cidr[] = []) {
    const declared = interfaces.filter((i) => i.name !== 'lo');
    const loDecl = interfaces.find((i) => i.name === 'lo');
    const lo: FwInterface = {
      name: 'lo',
      addresses: [
        { addr: cidr4(0x7f000001, 32), net: cidr4(0x7f000000, 8) },
        { addr: cidr6([0, 0, 0, 1], 128), net: cidr6([0, 0, 0, 1], 128) },
        ...(loDecl?.addresses ?? []),
      ],
      networks: [],
      defaultRoute: false,
      pos: loDecl?.pos ?? { file: '', line: 0, col: 0 },
    };
    const all = [lo, ...declared];
    this.names = all.map((i) => i.name);
    this.addrs = all.map((i) => i.addresses);
    type Route = { version: 4 | 6; words: number[]; prefix: number; ifIndex: number };
    const routes: Route[] = [];
    const own4: number[] = [];
    const own6: number[] = [];
    const bcast4: number[] = [];
    const net6: number[] = [];
    all.forEach((iface, ifIndex) => {
      for (const a of iface.addresses) {
        routes.push({ version: a.net.version, words: [...a.net.words], prefix: a.net.prefix, ifIndex });
        if (a.addr.version === 4) {
          own4.push(a.addr.words[0] | 0, ifIndex);
          if (a.net.prefix < 31 && ifIndex !== LO_IF) {
            const host = ~wordMask(a.net.prefix, 0) >>> 0;
            bcast4.push(a.net.words[0] | host | 0, ifIndex);
          }
        } else {
          own6.push(a.addr.words[0] | 0, a.addr.words[1] | 0, a.addr.words[2] | 0, a.addr.words[3] | 0, ifIndex);
          if (a.net.prefix < 127 && ifIndex !== LO_IF)
            net6.push(a.net.words[0] | 0, a.net.words[1] | 0, a.net.words[2] | 0, a.net.words[3] | 0, ifIndex);
        }
      }
      for (const n of iface.networks)
        routes.push({ version: n.version, words: [...n.words], prefix: n.prefix, ifIndex });
      if (iface.defaultRoute) {
        routes.push({ version: 4, words: [0, 0, 0, 0], prefix: 0, ifIndex });
        routes.push({ version: 6, words: [0, 0, 0, 0], prefix: 0, ifIndex });
      }
    });
    for (const c of extraOwn) {
      if (c.version === 4) own4.push(c.words[0] | 0, NO_IF);
      else own6.push(c.words[0] | 0, c.words[1] | 0, c.words[2] | 0, c.words[3] | 0, NO_IF);
    }
    // Longest prefix first; among equal prefixes the first declared wins (the kernel keeps the first route added).
    const sorted = routes.map((r, i) => ({ r, i })).sort((a, b) => b.r.prefix - a.r.prefix || a.i - b.i);
    const r4: number[] = [];
    const r6: number[] = [];
    for (const { r } of sorted) {
      if (r.version === 4) r4.push(r.words[0] | 0, wordMask(r.prefix, 0) | 0, r.ifIndex);
      else {
        for (let w = 0; w < 4; w++) r6.push(r.words[w] | 0);
        for (let w = 0; w < 4; w++) r6.push(wordMask(r.prefix, w) | 0);
        r6.push(r.ifIndex);
      }
    }
    this.v4 = Int32Array.from(r4);
    this.v6 = Int32Array.from(r6);
    this.own4 = Int32Array.from(own4);
    this.own6 = Int32Array.from(own6);
    this.bcast4 = Int32Array.from(bcast4);
    this.net6 = Int32Array.from(net6);
  }

  /** The interface the route to this address leaves by, or NO_IF (no route). */
  lookup(version: number, w0: number, w1: number, w2: number, w3: number): number {
    if (version === 4) {
      const t = this.v4;
      for (let i = 0; i < t.length; i += 3) if ((w0 & t[i + 1]) === t[i]) return t[i + 2];
      return NO_IF;
    }
    const t = this.v6;
    for (let i = 0; i < t.length; i += 9) {
      if (
        (w0 & t[i + 4]) === t[i] &&
        (w1 & t[i + 5]) === t[i + 1] &&
        (w2 & t[i + 6]) === t[i + 2] &&
        (w3 & t[i + 7]) === t[i + 3]
      )
        return t[i + 8];
    }
    return NO_IF;
  }

  /** Is this one of the firewall's own addresses (any interface, lo's 127.0.0.0/8 included)? */
  isOwn(version: number, w0: number, w1: number, w2: number, w3: number): boolean {
    if (version === 4) {
      if (w0 >>> 24 === 127) return true;
      const t = this.own4;
      for (let i = 0; i < t.length; i += 2) if ((w0 | 0) === t[i]) return true;
      return false;
    }
    const t = this.own6;
    for (let i = 0; i < t.length; i += 5)
      if ((w0 | 0) === t[i] && (w1 | 0) === t[i + 1] && (w2 | 0) === t[i + 2] && (w3 | 0) === t[i + 3]) return true;
    return false;
  }

  /**
   * The interface owning this address (lo for 127.0.0.0/8), NO_IF for an
   * own address of no interface (host:), -2 when it is not the firewall's.
   */
  ownerOf(version: number, w0: number, w1: number, w2: number, w3: number): number {
    if (version === 4) {
      const t = this.own4;
      for (let i = 0; i < t.length; i += 2) if ((w0 | 0) === t[i]) return t[i + 1];
      return w0 >>> 24 === 127 ? LO_IF : NOT_OWN;
    }
    const t = this.own6;
    for (let i = 0; i < t.length; i += 5)
      if ((w0 | 0) === t[i] && (w1 | 0) === t[i + 1] && (w2 | 0) === t[i + 2] && (w3 | 0) === t[i + 3]) return t[i + 4];
    return NOT_OWN;
  }

  /**
   * The route type of an address, as `fib ADDR [. iif|oif] type` reads it
   * (RTN_*). IPv4 (inet_dev_addr_type): 0.0.0.0/8 and 255.255.255.255 are
   * broadcast, 224/4 multicast, then the local table decides (an own
   * address local, a connected network's broadcast address broadcast, each
   * only on its own interface when `dev` restricts the lookup), anything
   * else is unicast, routed or not. IPv6 (__nft_fib6_eval_type): an own
   * address is local (on `dev` only, when given), the subnet-router anycast
   * address of a connected network anycast, no route unreachable, else
   * multicast or unicast by the address itself. `dev` is NO_IF for none.
   */
  addrType(version: number, w0: number, w1: number, w2: number, w3: number, dev: number): number {
    if (version === 4) {
      if (w0 >>> 24 === 0 || (w0 | 0) === -1) return Rtn.BROADCAST;
      if (w0 >>> 28 === 0xe) return Rtn.MULTICAST;
      const owner = this.ownerOf(4, w0, 0, 0, 0);
      // 127.255.255.255 is lo's broadcast (its /8 has one, as every connected net below /31).
      if (w0 >>> 24 === 127 && (w0 & 0xffffff) === 0xffffff)
        return dev === NO_IF || dev === LO_IF ? Rtn.BROADCAST : Rtn.UNICAST;
      if (owner !== NOT_OWN) return dev === NO_IF || owner === NO_IF || dev === owner ? Rtn.LOCAL : Rtn.UNICAST;
      const t = this.bcast4;
      for (let i = 0; i < t.length; i += 2)
        if ((w0 | 0) === t[i]) return dev === NO_IF || dev === t[i + 1] ? Rtn.BROADCAST : Rtn.UNICAST;
      return Rtn.UNICAST;
    }
    const owner = this.ownerOf(6, w0, w1, w2, w3);
    if (dev !== NO_IF && owner !== NOT_OWN && (owner === dev || owner === NO_IF)) return Rtn.LOCAL;
    const multicast = w0 >>> 24 === 0xff;
    // Link-local and multicast destinations have a route on every interface (fe80::/64, ff00::/8).
    if (owner === NOT_OWN && !multicast && w0 >>> 22 !== 0x3fa && this.lookup(6, w0, w1, w2, w3) === NO_IF)
      return Rtn.UNREACHABLE;
    const n = this.net6;
    for (let i = 0; i < n.length; i += 5)
      if ((w0 | 0) === n[i] && (w1 | 0) === n[i + 1] && (w2 | 0) === n[i + 2] && (w3 | 0) === n[i + 3])
        return Rtn.ANYCAST;
    if (dev === NO_IF && owner !== NOT_OWN) return Rtn.LOCAL;
    if (multicast) return Rtn.MULTICAST;
    return (w0 | w1 | w2 | w3) === 0 ? Rtn.UNSPEC : Rtn.UNICAST;
  }

  /**
   * Does the route to this address leave by `dev` (NO_IF: by any
   * interface)? What `fib ADDR [. iif|oif] oif` finds (nft_fib4_eval,
   * nft_fib6_eval) before its special cases: no route, or an own address
   * (a local route: "should not see RTN_LOCAL here"), or a subnet-router
   * anycast address finds none; an IPv6 link-local address is looked up on
   * the interface itself and always found there.
   */
  routeLeavesBy(version: number, w0: number, w1: number, w2: number, w3: number, dev: number): boolean {
    if (this.ownerOf(version, w0, w1, w2, w3) !== NOT_OWN) return false;
    if (version === 6) {
      if (w0 >>> 22 === 0x3fa) return true;
      const n = this.net6;
      for (let i = 0; i < n.length; i += 5)
        if ((w0 | 0) === n[i] && (w1 | 0) === n[i + 1] && (w2 | 0) === n[i + 2] && (w3 | 0) === n[i + 3]) return false;
    }
    const found = this.lookup(version, w0, w1, w2, w3);
    return found !== NO_IF && (dev === NO_IF || found === dev);
  }

  /** Is this IPv4 address the directed broadcast of one of the firewall's connected networks? */
  isDirectedBroadcast(w0: number): boolean {
    const t = this.bcast4;
    for (let i = 0; i < t.length; i += 2) if ((w0 | 0) === t[i]) return true;
    return false;
  }

  /**
   * The address masquerade gives a flow leaving by `ifIndex` towards `dst`
   * (the kernel's inet_select_addr / ipv6_dev_get_saddr: source-address.ts);
   * null when there is none (the kernel then drops the packet).
   */
  sourceAddress(ifIndex: number, version: 4 | 6, dst: readonly number[]): Cidr | null {
    return masqueradeSource(this.addrs, ifIndex, version, dst);
  }

  /** The interface's first address of the family (what redirect translates to, nf_nat_redirect), or null. */
  firstAddress(ifIndex: number, version: 4 | 6): Cidr | null {
    for (const a of this.addrs[ifIndex] ?? []) if (a.addr.version === version) return a.addr;
    return null;
  }

  /** The index of a declared interface by name, or NO_IF. */
  indexOf(name: string): number {
    return this.names.indexOf(name);
  }
}

function cidr4(w0: number, prefix: number): Cidr {
  const words: [number, number, number, number] = [w0 >>> 0, 0, 0, 0];
  return { version: 4, words, prefix, text: '' };
}

function cidr6(words: [number, number, number, number], prefix: number): Cidr {
  return { version: 6, words, prefix, text: '' };
}

/** Does an nft interface-name pattern (a trailing `*` matches any suffix) match `name`? */
export function ifNameMatches(pattern: string, name: string): boolean {
  if (pattern.endsWith('*')) return name.startsWith(pattern.slice(0, -1));
  return pattern === name;
}
