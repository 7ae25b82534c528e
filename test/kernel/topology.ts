/**
 * The firewall namespace's legs when the test names them (the firewall
 * model of issue 17): interfaces with addresses, the networks behind them
 * and a default route; which leg a captured packet enters by; and the
 * `ip -batch` lines that build them. The classic two-leg `c`/`s` setup
 * stays in harness.ts.
 */

/** One interface of the firewall, as the rule file's `interfaces:` describes it. */
export interface KernelInterface {
  /** Addresses WITH prefix ('192.168.1.1/24'); the prefix is the connected network. */
  addresses?: string | string[];
  /** More networks routed out of this leg (CIDRs). */
  networks?: string | string[];
  /** The default routes (IPv4 and IPv6) leave by this leg. */
  default?: boolean;
}

export type KernelInterfaces = Record<string, KernelInterface>;

export interface Cidr {
  v: 4 | 6;
  bytes: Uint8Array;
  bits: number;
}

export function parseIp(s: string): { v: 4 | 6; bytes: Uint8Array } {
  if (s.includes(':')) {
    const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    if (tail === undefined && h.length !== 8) throw new Error(`bad IPv6 address ${s}`);
    const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
    const bytes = new Uint8Array(16);
    groups.forEach((g, i) => {
      const n = parseInt(g, 16);
      if (!/^[0-9a-f]{1,4}$/i.test(g)) throw new Error(`bad IPv6 address ${s}`);
      bytes[2 * i] = n >> 8;
      bytes[2 * i + 1] = n & 0xff;
    });
    return { v: 6, bytes };
  }
  const parts = s.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new Error(`bad IPv4 address ${s}`);
  return { v: 4, bytes: Uint8Array.from(parts) };
}

export function parseCidr(s: string): Cidr {
  const [addr, len] = s.split('/');
  const ip = parseIp(addr ?? '');
  const bits = len === undefined ? ip.bytes.length * 8 : Number(len);
  if (!Number.isInteger(bits) || bits < 0 || bits > ip.bytes.length * 8) throw new Error(`bad CIDR ${s}`);
  return { ...ip, bits };
}

export function inCidr(c: Cidr, v: number, addr: Uint8Array): boolean {
  if (c.v !== v) return false;
  for (let b = 0; b < c.bits; b += 8) {
    const n = Math.min(8, c.bits - b);
    const mask = (0xff << (8 - n)) & 0xff;
    if ((c.bytes[b >> 3] & mask) !== (addr[b >> 3] & mask)) return false;
  }
  return true;
}

/** The network part of a CIDR, as text ('192.168.1.1/24' -> '192.168.1.0/24'). */
function networkText(c: Cidr): string {
  const b = c.bytes.slice();
  for (let i = 0; i < b.length; i++) {
    const keep = Math.max(0, Math.min(8, c.bits - i * 8));
    b[i] &= (0xff << (8 - keep)) & 0xff;
  }
  if (c.v === 4) return `${b.join('.')}/${c.bits}`;
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((b[i] << 8) | b[i + 1]).toString(16));
  return `${g.join(':')}/${c.bits}`;
}

/** A leg of the firewall namespace: a veth pair whose two ends carry `name`. */
export interface Leg {
  name: string;
  fwMac: string;
  xMac: string;
  /** Fake next hop on this leg (permanent neighbour entry -> xMac), so there is never any ARP/ND. */
  hop4: string;
  hop6: string;
  /** Own addresses with prefix. */
  addresses: Cidr[];
  addressText: string[];
  /** Networks routed out of this leg: the addresses' connected nets, then `networks`. */
  nets: Cidr[];
  netText: string[];
  isDefault: boolean;
}

/**
 * nf_dup's copies of packets the firewall took in are sent to `to4`/`to6`,
 * routed out of the first leg via a gateway whose MAC tells replay.py
 * "accepted by the firewall itself". (The gateway matters: a route without
 * one makes the packet's own destination, fw's address, the next hop.)
 */
export const DUP = {
  mac: '02:00:00:00:dd:02',
  to4: '198.18.255.9',
  gw4: '198.18.255.8',
  to6: 'fdff:fffe::dd9',
  gw6: 'fe80::dd:2',
};

const NAME = /^[A-Za-z0-9_.-]{1,15}$/;

function list(x: string | string[] | undefined): string[] {
  return x === undefined ? [] : Array.isArray(x) ? x : [x];
}

/** Validate the description and lay out the legs (MACs, next hops, routes). */
export function buildLegs(ifs: KernelInterfaces): Leg[] {
  const names = Object.keys(ifs);
  if (names.length === 0) throw new Error('kernel harness: interfaces: at least one interface is needed');
  if (names.length > 200) throw new Error('kernel harness: interfaces: at most 200');
  const defaults = names.filter((n) => ifs[n].default);
  if (defaults.length > 1)
    throw new Error(`kernel harness: interfaces: more than one default (${defaults.join(', ')})`);
  return names.map((name, i) => {
    if (!NAME.test(name) || name === 'lo' || name === '.' || name === '..')
      throw new Error(`kernel harness: interfaces: bad interface name ${JSON.stringify(name)}`);
    const addressText = list(ifs[name].addresses);
    const addresses = addressText.map((a) => {
      if (!a.includes('/')) throw new Error(`kernel harness: interfaces: ${name}: address ${a} needs a prefix`);
      return parseCidr(a);
    });
    const extra = list(ifs[name].networks);
    const x = (i + 0x10).toString(16).padStart(2, '0');
    return {
      name,
      fwMac: `02:00:00:00:${x}:01`,
      xMac: `02:00:00:00:${x}:02`,
      hop4: `198.18.254.${i + 1}`,
      hop6: `fe80::${x}:2`,
      addresses,
      addressText,
      nets: [...addresses, ...extra.map(parseCidr)],
      netText: [...addresses.map(networkText), ...extra.map((n) => networkText(parseCidr(n)))],
      isDefault: !!ifs[name].default,
    };
  });
}

/** The leg whose networks hold `addr` (longest prefix), else the default leg, else the first. */
export function routeLeg(legs: Leg[], v: number, addr: Uint8Array): number {
  let best = -1;
  let bestBits = -1;
  legs.forEach((l, i) =>
    l.nets.forEach((n) => {
      if (n.bits > bestBits && inCidr(n, v, addr)) {
        best = i;
        bestBits = n.bits;
      }
    }),
  );
  if (best >= 0) return best;
  const d = legs.findIndex((l) => l.isDefault);
  return d >= 0 ? d : 0;
}

/** Is there a route for `addr` at all (a leg's network or a default leg)? */
export function routable(legs: Leg[], v: number, addr: Uint8Array): boolean {
  return legs.some((l) => l.isDefault || l.nets.some((n) => inCidr(n, v, addr)));
}

/**
 * `ip -batch` lines for the firewall namespace. Addresses go on without
 * their prefix route, and every network (connected ones too) is routed via
 * the leg's fake next hop, `src` the leg's address in it: then no packet
 * ever waits for ARP/ND, and what the firewall itself sends about a network
 * comes from its address there. IPv4 masquerade picks the egress leg's
 * first address (inet_select_addr finds none sharing the next hop's
 * subnet); IPv6 masquerade selects a source address as usual. Without a default leg, unrouted destinations hit a blackhole: the
 * packet is dropped before any filter chain, silently.
 */
export function legBatch(legs: Leg[]): string[] {
  const out: string[] = [];
  for (const l of legs) {
    out.push(`link set ${l.name} up`);
    // An interface's addresses are in the order `ip addr` lists them: IPv4
    // as added, IPv6 newest first among one scope (ipv6_link_dev_addr), so
    // IPv6 addresses are added last to first (redirect takes the first).
    const order = l.addresses.map((_, k) => k);
    const v6 = order.filter((k) => l.addresses[k].v === 6).reverse();
    for (const k of [...order.filter((k) => l.addresses[k].v === 4), ...v6])
      out.push(`addr add ${l.addressText[k]} dev ${l.name} noprefixroute${l.addresses[k].v === 6 ? ' nodad' : ''}`);
    out.push(
      `neigh replace ${l.hop4} lladdr ${l.xMac} dev ${l.name} nud permanent`,
      `neigh replace ${l.hop6} lladdr ${l.xMac} dev ${l.name} nud permanent`,
    );
  }
  for (const l of legs) {
    l.nets.forEach((n, k) => {
      const src = l.addresses.find((a) => a.v === n.v && inCidr(n, a.v, a.bytes));
      const srcText = src ? ` src ${l.addressText[l.addresses.indexOf(src)].split('/')[0]}` : '';
      out.push(
        n.v === 4
          ? `route replace ${l.netText[k]} via ${l.hop4} dev ${l.name} onlink${srcText}`
          : `route replace ${l.netText[k]} via ${l.hop6} dev ${l.name}${srcText}`,
      );
    });
  }
  const d = legs.find((l) => l.isDefault);
  if (d)
    out.push(
      `route replace 0.0.0.0/0 via ${d.hop4} dev ${d.name} onlink`,
      `route replace ::/0 via ${d.hop6} dev ${d.name}`,
    );
  else out.push('route replace blackhole 0.0.0.0/0', 'route replace blackhole ::/0');
  const first = legs[0].name;
  out.push(
    `neigh replace ${DUP.gw4} lladdr ${DUP.mac} dev ${first} nud permanent`,
    `neigh replace ${DUP.gw6} lladdr ${DUP.mac} dev ${first} nud permanent`,
    `route replace ${DUP.to4}/32 via ${DUP.gw4} dev ${first} onlink`,
    `route replace ${DUP.to6}/128 via ${DUP.gw6} dev ${first}`,
  );
  return out;
}

/** Own addresses of the firewall (no prefix). */
export function ownAddresses(legs: Leg[]): Cidr[] {
  return legs.flatMap((l) => l.addresses.map((a) => ({ ...a, bits: a.v === 4 ? 32 : 128 })));
}
