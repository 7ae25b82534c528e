/**
 * The rule files of the firewall-model random corpus (fw-random.ts): an
 * address plan (LAN, WAN with the default route, sometimes a DMZ with a
 * network routed behind it), seeded random rule files drawn from what real
 * gateways use (ct state and status, interface names and wildcards, sets,
 * ranges, lists, TCP flags, ICMP types, pkttype, log, counter, reject
 * types, user chains by jump and goto, a second filter chain on a hook,
 * masquerade, snat, dnat, redirect; issue 18's negation, marks, fib,
 * notrack and raw chains, chain families), and predict(): the generator's own
 * evaluation of its NAT rules on a flow's first packet, so that replies can
 * be addressed as the far end sees the flow. It only addresses packets;
 * what happens to them is the kernel's to say.
 */
import { stringify } from 'yaml';
import { Prng } from './random.js';

// ---------------------------------------------------------------- addresses

export type Fam = 4 | 6;
export type Leg = 'lan' | 'wan' | 'dmz';

export interface Iface {
  leg: Leg;
  name: string;
  /** nft wildcard that matches it (and maybe others: eth* matches eth0 and eth1). */
  wild: string;
  v4: string[];
  v6: string[];
}

export interface Topology {
  lan: Iface;
  wan: Iface;
  dmz: Iface | null;
}

export interface Host {
  v4: string;
  v6: string;
}

const range = (lo: number, hi: number) => Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
export const LAN_HOSTS: Host[] = range(10, 19).map((i) => ({ v4: `192.168.1.${i}`, v6: `fd00:1::${i}` }));
export const WAN_SERVERS: Host[] = range(10, 17).map((i) => ({ v4: `198.51.100.${i}`, v6: `2001:db8:5::${i}` }));
export const WAN_CLIENTS: Host[] = [
  ...range(20, 25).map((i) => ({ v4: `198.51.100.${i}`, v6: `2001:db8:6::${i}` })),
  { v4: '203.0.113.50', v6: '2001:db8:ffff::50' }, // on the WAN link itself
];
export const DMZ_HOSTS: Host[] = [
  ...range(10, 13).map((i) => ({ v4: `172.16.0.${i}`, v6: `fd00:d::${i}` })),
  { v4: '10.50.3.7', v6: 'fd00:d5:1::7' }, // behind the DMZ's routed network
];
/** Far ends of flows whose NAT port the kernel picks at random: no other session talks to them. */
export const REMAP_SERVER: Host = { v4: '198.51.100.99', v6: '2001:db8:5::99' };
/**
 * One per clash session of a batch (in turn): the kernel's random port for a clash's second flow
 * must not be a later clash's own port towards the same server.
 */
export const CLASH_SERVERS: Host[] = range(90, 98).map((i) => ({ v4: `198.51.100.${i}`, v6: `2001:db8:5::${i}` }));
/** A router on the way to the WAN servers, for ICMP errors from the middle of the path. */
export const WAN_HOP: Host = { v4: '198.51.100.1', v6: '2001:db8:5::1' };
/** Destination of LAN DNS queries a redirect may hijack. */
export const PUBLIC_DNS: Host = { v4: '198.51.100.53', v6: '2001:db8:5::53' };

function randomTopology(rng: Prng): Topology {
  const iface = (leg: Leg, name: string, v4: string[], v6: string[]): Iface => ({
    leg,
    name,
    wild: `${name.replace(/[0-9]+$/, '')}*`,
    v4,
    v6,
  });
  const lanName = rng.pick(['lan0', 'eth1', 'br-lan']);
  const wanName = rng.pick(['wan0', 'eth0', 'ppp0']);
  const dmzName = rng.pick(['dmz0', 'eth2']);
  return {
    lan: iface('lan', lanName, ['192.168.1.1'], ['fd00:1::1']),
    wan: iface('wan', wanName, rng.chance(0.3) ? ['203.0.113.1', '203.0.113.2'] : ['203.0.113.1'], [
      '2001:db8:ffff::1',
    ]),
    dmz: rng.chance(0.5) ? iface('dmz', dmzName, ['172.16.0.1'], ['fd00:d::1']) : null,
  };
}

function ifaces(t: Topology): Iface[] {
  return t.dmz ? [t.lan, t.wan, t.dmz] : [t.lan, t.wan];
}

export function famOf(a: string): Fam {
  return a.includes(':') ? 6 : 4;
}

/** An address as a number (IPv4 32 bits, IPv6 128 bits). */
export function addrNum(a: string): bigint {
  if (!a.includes(':')) return a.split('.').reduce((n, x) => (n << 8n) | BigInt(Number(x)), 0n);
  const [head, tail] = a.includes('::') ? a.split('::') : [a, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const g = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return g.reduce((n, x) => (n << 16n) | BigInt(parseInt(x, 16)), 0n);
}

/** Does `a` fall in one item: an address, a CIDR or a range a-b (of the same family)? */
function inItem(a: string, item: string): boolean {
  const fam = famOf(a);
  if (item.includes('/')) {
    const [net, len] = item.split('/');
    if (famOf(net) !== fam) return false;
    const bits = fam === 4 ? 32 : 128;
    const shift = BigInt(bits - Number(len));
    return addrNum(net) >> shift === addrNum(a) >> shift;
  }
  const dash = item.indexOf('-');
  if (dash > 0) {
    const lo = item.slice(0, dash);
    if (famOf(lo) !== fam) return false;
    const n = addrNum(a);
    return n >= addrNum(lo) && n <= addrNum(item.slice(dash + 1));
  }
  return famOf(item) === fam && addrNum(item) === addrNum(a);
}

export function isOwn(t: Topology, a: string): boolean {
  return ifaces(t).some((i) => [...i.v4, ...i.v6].some((x) => addrNum(x) === addrNum(a) && famOf(x) === famOf(a)));
}

/** The leg an address lives behind (the route the kernel harness builds from the same interfaces). */
export function legOf(t: Topology, a: string): Iface {
  if (inItem(a, '192.168.1.0/24') || inItem(a, 'fd00:1::/64')) return t.lan;
  if (t.dmz && ['172.16.0.0/24', '10.50.0.0/16', 'fd00:d::/64', 'fd00:d5::/48'].some((n) => inItem(a, n))) return t.dmz;
  return t.wan;
}

export function firstAddr(i: Iface, fam: Fam): string {
  return fam === 4 ? i.v4[0] : i.v6[0];
}

// ---------------------------------------------------------------------- NAT

export type L4 = 'tcp' | 'udp' | 'icmp';

export interface NatRule {
  /** prerouting, postrouting, or output (the firewall's own packets: dnat only here). */
  hook: 'pre' | 'post' | 'out';
  id: string;
  iif?: string[];
  oif?: string[];
  src?: string[];
  dst?: string[];
  proto?: 'tcp' | 'udp';
  dport?: number[];
  family?: Fam;
  kind: 'dnat' | 'redirect' | 'masquerade' | 'snat';
  /** snat/dnat: the address, or the first of a range. */
  addr?: string;
  addrHi?: string;
  ports?: [number, number];
  persistent?: boolean;
}

/** A flow's tuple (ICMP echo: the id in both ports). */
export interface Flow {
  fam: Fam;
  proto: L4;
  src: string;
  dst: string;
  sport: number;
  dport: number;
}

export interface Prediction {
  path: 'forward' | 'input' | 'output';
  /** The tuple as the far end sees it (after DNAT/redirect and SNAT/masquerade). */
  out: Flow;
  /** What translated it: 'none', or the NAT kinds joined with '+'. */
  nat: string;
  /** False when the kernel picks the new port at random (outside a NAT port range). */
  predictable: boolean;
}

/** A set's elements, for @name in NAT rules. */
export type Sets = Record<string, string[]>;

function natMatches(r: NatRule, f: Flow, iif: Iface | null, oif: Iface | null, sets: Sets): boolean {
  const name = (pats: string[] | undefined, i: Iface | null) =>
    pats === undefined ||
    (i !== null && pats.some((p) => (p.endsWith('*') ? i.name.startsWith(p.slice(0, -1)) : p === i.name)));
  const addrs = (items: string[] | undefined, a: string) =>
    items === undefined || items.flatMap((x) => (x.startsWith('@') ? sets[x.slice(1)] : [x])).some((x) => inItem(a, x));
  if (r.family !== undefined && r.family !== f.fam) return false;
  if (r.addr !== undefined && famOf(r.addr) !== f.fam) return false;
  if (r.proto !== undefined && r.proto !== f.proto) return false;
  if (r.dport !== undefined && !r.dport.includes(f.dport)) return false;
  return name(r.iif, iif) && name(r.oif, oif) && addrs(r.src, f.src) && addrs(r.dst, f.dst);
}

/** include/linux/jhash.h jhash2() of four words, for find_best_ips_proto's pick from an address range. */
function jhash2(k: number[], initval: number): number {
  const rol = (x: number, s: number) => ((x << s) | (x >>> (32 - s))) >>> 0;
  let a = (0xdeadbeef + (4 << 2) + initval) >>> 0;
  let b = a;
  let c = a;
  a = (a + k[0]) >>> 0;
  b = (b + k[1]) >>> 0;
  c = (c + k[2]) >>> 0;
  // __jhash_mix
  a = ((a - c) ^ rol(c, 4)) >>> 0;
  c = (c + b) >>> 0;
  b = ((b - a) ^ rol(a, 6)) >>> 0;
  a = (a + c) >>> 0;
  c = ((c - b) ^ rol(b, 8)) >>> 0;
  b = (b + a) >>> 0;
  a = ((a - c) ^ rol(c, 16)) >>> 0;
  c = (c + b) >>> 0;
  b = ((b - a) ^ rol(a, 19)) >>> 0;
  a = (a + c) >>> 0;
  c = ((c - b) ^ rol(b, 4)) >>> 0;
  b = (b + a) >>> 0;
  a = (a + k[3]) >>> 0;
  // __jhash_final
  c = ((c ^ b) - rol(b, 14)) >>> 0;
  a = ((a ^ c) - rol(c, 11)) >>> 0;
  b = ((b ^ a) - rol(a, 25)) >>> 0;
  c = ((c ^ b) - rol(b, 16)) >>> 0;
  a = ((a ^ c) - rol(c, 4)) >>> 0;
  b = ((b ^ a) - rol(a, 14)) >>> 0;
  c = ((c ^ b) - rol(b, 24)) >>> 0;
  return c;
}

/** An IPv4 address's 32 bits as they lie in memory, read as a little-endian word (x86). */
function leWord(a: string): number {
  const b = a.split('.').map(Number);
  return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0;
}

/** find_best_ips_proto for an IPv4 SNAT range: jhash2 of the source, keyed by the destination unless persistent. */
function pickFromRange(r: NatRule, f: Flow): string {
  const lo = addrNum(r.addr!);
  const size = Number(addrNum(r.addrHi!) - lo + 1n);
  const j = jhash2([leWord(f.src), 0, 0, 0], r.persistent ? 0 : leWord(f.dst));
  const n = Number(lo) + Number((BigInt(j) * BigInt(size)) >> 32n);
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Where a flow's first packet goes and how NAT rewrites it, by the batch's NAT rules. */
export function predict(t: Topology, rules: NatRule[], sets: Sets, flow: Flow): Prediction {
  const f = { ...flow };
  const kinds: string[] = [];
  let predictable = true;
  const own = isOwn(t, f.src);
  const iif = own ? null : legOf(t, f.src);
  // (The output hook's rules here have no interface conditions: iif none, oif left out.)
  const pre = rules.find((x) => x.hook === (own ? 'out' : 'pre') && natMatches(x, f, iif, null, sets));
  if (pre) {
    kinds.push(own ? `${pre.kind}-out` : pre.kind);
    f.dst = pre.kind === 'redirect' ? firstAddr(iif!, f.fam) : pre.addr!;
    if (pre.ports) f.dport = pre.ports[0];
  }
  if (isOwn(t, f.dst)) return { path: 'input', out: f, nat: kinds.join('+') || 'none', predictable };
  const oif = legOf(t, f.dst);
  const r = rules.find((x) => x.hook === 'post' && natMatches(x, f, iif, oif, sets));
  if (r) {
    if (r.kind === 'masquerade') f.src = firstAddr(oif, f.fam);
    else f.src = r.addrHi !== undefined ? pickFromRange(r, f) : r.addr!;
    let k = r.kind === 'masquerade' ? 'masq' : r.addrHi !== undefined ? 'snat-range' : 'snat';
    if (r.ports) {
      k += '-ports';
      if (f.sport < r.ports[0] || f.sport > r.ports[1]) predictable = false;
    }
    kinds.push(k);
  }
  return { path: own ? 'output' : 'forward', out: f, nat: kinds.join('+') || 'none', predictable };
}

// -------------------------------------------------------------------- rules

/** Ports the sessions use; rules draw from them too, so that some match and some do not. */
export const TCP_OUT = [22, 25, 80, 443, 993, 8080, 8443];
export const UDP_OUT = [53, 123, 500, 1194, 5060];
/** The source port range of masquerade/snat with ports; sessions that should keep their port use its upper half. */
export const NAT_PORTS: [number, number] = [40000, 40999];

type Rule = Record<string, unknown>;

export interface RuleFile {
  yaml: string;
  topology: Topology;
  nat: NatRule[];
  sets: Sets;
}

function natYaml(r: NatRule): Rule {
  const o: Rule = { id: r.id };
  if (r.family) o.family = `ipv${r.family}`;
  if (r.iif) o.iif = r.iif.length === 1 ? r.iif[0] : r.iif;
  if (r.oif) o.oif = r.oif.length === 1 ? r.oif[0] : r.oif;
  if (r.src) o.src = r.src.length === 1 ? r.src[0] : r.src;
  if (r.dst) o.dst = r.dst.length === 1 ? r.dst[0] : r.dst;
  if (r.proto) o.proto = r.proto;
  if (r.dport) o.dport = r.dport.length === 1 ? r.dport[0] : r.dport;
  const addr = (a: string) => (famOf(a) === 6 && r.ports ? `[${a}]` : a);
  const ports = r.ports ? (r.ports[0] === r.ports[1] ? `:${r.ports[0]}` : `:${r.ports[0]}-${r.ports[1]}`) : '';
  if (r.kind === 'masquerade') o.masquerade = r.ports ? `${r.ports[0]}-${r.ports[1]}` : true;
  else if (r.kind === 'redirect') o.redirect = r.ports ? r.ports[0] : true;
  else o[r.kind] = `${addr(r.addr!)}${r.addrHi ? `-${addr(r.addrHi)}` : ''}${ports}`;
  if (r.persistent) o.nat_flags = ['persistent'];
  return o;
}

/** A random rule file of the firewall model, with the NAT rules kept apart for predict(). */
export function randomFwRules(rng: Prng, name: string): RuleFile {
  const t = randomTopology(rng);
  const L = t.lan;
  const W = t.wan;
  const D = t.dmz;
  const nm = (i: Iface) => (rng.chance(0.3) ? i.wild : i.name);
  const interfaces: Rule = {};
  for (const i of ifaces(t)) {
    const o: Rule = {
      addresses: [...i.v4.map((a) => `${a}/24`), ...i.v6.map((a) => `${a}/64`)],
    };
    if (i.leg === 'dmz') o.networks = ['10.50.0.0/16', 'fd00:d5::/48'];
    if (i.leg === 'wan') o.default = true;
    interfaces[i.name] = o;
  }
  const sets: Sets = {
    lan_hosts: ['192.168.1.10', '192.168.1.12', `192.168.1.${rng.int(13, 15)}-192.168.1.${rng.int(15, 17)}`],
    admins: [rng.pick(LAN_HOSTS).v4, `192.168.1.1${rng.int(0, 4)}-192.168.1.1${rng.int(5, 9)}`],
    blocked: [rng.pick(WAN_SERVERS).v4, rng.pick(WAN_SERVERS).v4].filter((x, i, a) => a.indexOf(x) === i),
  };
  const setsYaml: Rule = {
    lan_hosts: sets.lan_hosts,
    admins: sets.admins,
    blocked: sets.blocked,
    lan6: { type: 'ipv6_addr', elements: ['fd00:1::/64'] },
    web: [80, 443, '8000-8099'],
    mail: { type: 'inet_service', elements: [25, 465, 587] },
  };
  sets.lan6 = ['fd00:1::/64'];

  // NAT: port forwards and redirects at prerouting, masquerade / snat at postrouting.
  const nat: NatRule[] = [];
  const pre: NatRule[] = [];
  const fwds: NatRule[] = [
    { hook: 'pre', id: 'fwd-web', kind: 'dnat', proto: 'tcp', dport: [8080], addr: '192.168.1.18', ports: [80, 80] },
    { hook: 'pre', id: 'fwd-ssh', kind: 'dnat', proto: 'tcp', dport: [2222], addr: '192.168.1.19', ports: [22, 22] },
    { hook: 'pre', id: 'fwd-game', kind: 'dnat', proto: 'udp', dport: [27015, 27016], addr: '192.168.1.18' },
    { hook: 'pre', id: 'fwd-web6', kind: 'dnat', proto: 'tcp', dport: [8081], addr: 'fd00:1::18', ports: [80, 80] },
  ];
  if (D)
    fwds.push(
      { hook: 'pre', id: 'fwd-dmz-https', kind: 'dnat', proto: 'tcp', dport: [443], addr: '172.16.0.10' },
      { hook: 'pre', id: 'fwd-dmz-dns', kind: 'dnat', proto: 'udp', dport: [53], addr: '172.16.0.11' },
    );
  for (const f of fwds) {
    if (!rng.chance(0.6)) continue;
    // By interface, or by the public address (then a LAN host reaching it is forwarded too).
    if (rng.chance(0.7)) f.iif = [nm(W)];
    else f.dst = [f.addr!.includes(':') ? W.v6[0] : W.v4[0]];
    pre.push(f);
  }
  if (rng.chance(0.4))
    pre.push({
      hook: 'pre',
      id: 'proxy',
      kind: 'redirect',
      iif: [nm(L)],
      proto: 'tcp',
      dport: [3128],
      ports: [8080, 8080],
    });
  if (rng.chance(0.4))
    pre.push({
      hook: 'pre',
      id: 'dns-hijack',
      kind: 'redirect',
      iif: [nm(L)],
      proto: 'udp',
      dport: [53],
      dst: [rng.chance(0.5) ? PUBLIC_DNS.v4 : PUBLIC_DNS.v6],
    });
  const post: NatRule[] = [];
  const v4only = rng.chance(0.5) ? 4 : undefined;
  const style = rng.weighted([
    [4, 'masq'],
    [2, 'masq-ports'],
    [1, 'snat'],
    [1, 'snat-range'],
    [1, 'snat-ports'],
    [1, 'none'],
  ] as const);
  if (style === 'masq') post.push({ hook: 'post', id: 'masq', kind: 'masquerade', oif: [nm(W)], family: v4only });
  else if (style === 'masq-ports') {
    for (const p of ['tcp', 'udp'] as const)
      post.push({ hook: 'post', id: `masq-${p}`, kind: 'masquerade', oif: [nm(W)], proto: p, ports: NAT_PORTS });
    post.push({ hook: 'post', id: 'masq', kind: 'masquerade', oif: [nm(W)], family: v4only });
  } else if (style === 'snat')
    post.push({
      hook: 'post',
      id: 'snat',
      kind: 'snat',
      oif: [nm(W)],
      src: ['192.168.1.0/24'],
      addr: W.v4[W.v4.length - 1],
    });
  else if (style === 'snat-range')
    post.push({
      hook: 'post',
      id: 'snat-pool',
      kind: 'snat',
      oif: [nm(W)],
      src: [rng.chance(0.5) ? '@lan_hosts' : '192.168.1.0/24'],
      addr: '203.0.113.100',
      addrHi: `203.0.113.${rng.int(101, 104)}`,
      persistent: rng.chance(0.4),
    });
  else if (style === 'snat-ports')
    for (const p of ['tcp', 'udp'] as const)
      post.push({
        hook: 'post',
        id: `snat-${p}`,
        kind: 'snat',
        oif: [nm(W)],
        proto: p,
        addr: W.v4[0],
        ports: NAT_PORTS,
      });
  // IPv6 flows: SNAT to the WAN's IPv6 address too, now and then with the port range.
  if ((style === 'snat' || style === 'snat-ports') && rng.chance(0.5))
    post.push({
      hook: 'post',
      id: 'snat6',
      kind: 'snat',
      oif: [nm(W)],
      addr: W.v6[0],
      ...(style === 'snat-ports' ? { proto: 'tcp' as const, ports: NAT_PORTS } : {}),
    });
  if (D && style !== 'none' && rng.chance(0.6))
    post.unshift({ hook: 'post', id: 'dmz-out', kind: 'snat', iif: [nm(D)], oif: [nm(W)], addr: '203.0.113.9' });
  if (style === 'snat' && rng.chance(0.5))
    post.push({ hook: 'post', id: 'masq6', kind: 'masquerade', oif: [nm(W)], family: 6 });

  const chains: Rule = {};
  // Port forwards sometimes sit in a user chain the prerouting chain jumps to.
  if (pre.length > 0 || post.length > 0) {
    const fwdInChain = pre.filter((r) => r.kind === 'dnat' && r.iif);
    if (fwdInChain.length >= 2 && rng.chance(0.5)) {
      const rest = pre.filter((r) => !fwdInChain.includes(r));
      // The jump's condition is each forward's (what predict() evaluates).
      const via = nm(W);
      for (const r of fwdInChain) r.iif = [via];
      pre.splice(0, pre.length, ...fwdInChain, ...rest);
      chains.prerouting = {
        hook: 'prerouting',
        type: 'nat',
        rules: [{ id: 'to-fwd', iif: via, jump: 'port_fwd' }, ...rest.map(natYaml)],
      };
      chains.port_fwd = {
        rules: [
          ...fwdInChain.map((r) => natYaml({ ...r, iif: undefined })),
          ...(rng.chance(0.5) ? [{ id: 'fwd-end', action: 'return' }] : []),
        ],
      };
    } else if (pre.length > 0)
      chains.prerouting = { hook: 'prerouting', type: 'nat', priority: 'dstnat', rules: pre.map(natYaml) };
    if (post.length > 0) chains.postrouting = { hook: 'postrouting', type: 'nat', rules: post.map(natYaml) };
  }
  // The firewall's own DNS queries to the public resolver go to the LAN's (output hook DNAT, rerouted).
  const out: NatRule[] = [];
  if (rng.chance(0.3)) {
    out.push({
      hook: 'out',
      id: 'own-dns',
      kind: 'dnat',
      proto: 'udp',
      dport: [53],
      dst: [PUBLIC_DNS.v4],
      addr: '192.168.1.17',
    });
    if (rng.chance(0.5))
      out.push({
        hook: 'out',
        id: 'own-web',
        kind: 'dnat',
        proto: 'tcp',
        dport: [80],
        dst: [PUBLIC_DNS.v4],
        addr: '192.168.1.17',
        ports: [8080, 8080],
      });
    chains.nat_out = { hook: 'output', type: 'nat', rules: out.map(natYaml) };
  }
  nat.push(...pre, ...post, ...out);

  const est = (id: string): Rule => ({ id, ct_state: ['established', 'related'], action: 'accept' });
  const inv = (id: string): Rule => ({
    id,
    ct_state: 'invalid',
    action: 'drop',
    ...(rng.chance(0.3) ? { counter: true } : {}),
  });
  const some = <T>(xs: readonly T[], p = 0.6): T[] => {
    const k = xs.filter(() => rng.chance(p));
    return k.length ? k : [xs[0]];
  };
  const one = <T>(xs: T[]): T | T[] => (xs.length === 1 ? xs[0] : xs);
  const rejectWith = (fam: Fam | null): Rule => {
    const w = rng.pick([
      null,
      'icmpx admin-prohibited',
      'icmpx port-unreachable',
      'icmpx host-unreachable',
      ...(fam === 4 ? ['icmp host-prohibited', 'icmp port-unreachable', 'icmp net-unreachable'] : []),
      ...(fam === 6 ? ['icmpv6 admin-prohibited', 'icmpv6 port-unreachable', 'icmpv6 no-route'] : []),
    ]);
    return w ? { reject_with: w } : {};
  };
  /** The stateful preamble, at the top, further down, or missing (then replies meet the other rules). */
  const place = (rules: Rule[], prefix: string): Rule[] => {
    const out = rules.slice();
    const ins = (r: Rule) => {
      const where = rng.weighted([
        [6, 0],
        [3, 1],
        [1, -1],
      ] as const);
      if (where === 0) out.unshift(r);
      else if (where === 1) out.splice(rng.int(1, out.length), 0, r);
    };
    if (rng.chance(0.8)) ins(inv(`${prefix}-invalid`));
    ins(est(`${prefix}-est`));
    return out;
  };

  // forward
  const fwd: Rule[] = [];
  const users: Record<string, Rule[]> = {};
  if (rng.chance(0.5)) {
    users.lan_out = [
      ...(rng.chance(0.6) ? [{ id: 'lo-blocked', dst: '@blocked', action: rng.pick(['drop', 'reject']) }] : []),
      ...(rng.chance(0.5)
        ? [{ id: 'lo-smtp', proto: 'tcp', dport: '@mail', action: 'reject', reject_with: 'tcp reset' }]
        : []),
      { id: 'lo-tcp', proto: 'tcp', dport: one(some(TCP_OUT)), action: 'accept' },
      { id: 'lo-udp', proto: 'udp', dport: one(some(UDP_OUT)), action: 'accept' },
      ...(rng.chance(0.5) ? [{ id: 'lo-range', src: '192.168.1.10-192.168.1.13', action: 'accept' }] : []),
      ...(rng.chance(0.5) ? [{ id: 'lo-ret', action: 'return' }] : []),
    ];
    fwd.push({ id: 'f-lan-out', iif: nm(L), oif: nm(W), jump: 'lan_out' });
  } else {
    fwd.push({
      id: 'f-lan-web',
      iif: nm(L),
      oif: nm(W),
      proto: 'tcp',
      dport: rng.chance(0.5) ? '@web' : one(some(TCP_OUT)),
      action: 'accept',
    });
    fwd.push({ id: 'f-lan-udp', iif: nm(L), oif: nm(W), proto: 'udp', dport: one(some(UDP_OUT)), action: 'accept' });
  }
  if (rng.chance(0.7))
    fwd.push({
      id: 'f-ping',
      proto: 'icmp',
      type: rng.chance(0.5) ? 'echo-request' : ['echo-request', 'echo-reply'],
      action: 'accept',
    });
  if (rng.chance(0.6)) fwd.push({ id: 'f-ping6', proto: 'icmpv6', type: 'echo-request', action: 'accept' });
  if (rng.chance(0.6)) fwd.push({ id: 'f-lan6', src: '@lan6', oif: nm(W), action: 'accept' });
  if (rng.chance(0.4)) fwd.push({ id: 'f-hosts', src: '@lan_hosts', proto: 'tcp', action: 'accept' });
  if (rng.chance(0.75))
    fwd.push({ id: 'f-dnat', ...(rng.chance(0.5) ? { iif: nm(W) } : {}), ct_status: 'dnat', action: 'accept' });
  if (rng.chance(0.3))
    fwd.push({
      id: 'f-snat',
      ct_status: 'snat',
      ...(rng.chance(0.5) ? { counter: true, action: 'continue' } : { action: 'accept' }),
    });
  if (rng.chance(0.4))
    fwd.push({ id: 'f-errors', proto: 'icmp', type: ['destination-unreachable', 'time-exceeded'], action: 'accept' });
  if (rng.chance(0.3)) {
    const fam = rng.pick([4, 6, null] as const);
    fwd.push({
      id: 'f-reject',
      ...(fam ? { family: `ipv${fam}` } : {}),
      proto: 'udp',
      dport: rng.pick([5060, 123, '1000-2000']),
      action: 'reject',
      ...rejectWith(fam),
    });
  }
  if (rng.chance(0.3))
    fwd.push({ id: 'f-synack', proto: 'tcp', tcp_flags: 'syn,ack / syn,ack', ct_state: 'new', action: 'drop' });
  if (rng.chance(0.3)) fwd.push({ id: 'f-rst', proto: 'tcp', tcp_flags: 'rst', counter: true, action: 'continue' });
  if (rng.chance(0.3)) fwd.push({ id: 'f-log', log: 'fwd: ', counter: true, action: 'continue' });
  if (rng.chance(0.3))
    fwd.push({
      id: 'f-pkttype',
      pkttype: rng.pick(['host', ['broadcast', 'multicast']]),
      counter: true,
      action: 'continue',
    });
  if (rng.chance(0.3)) fwd.push({ id: 'f-blocked', dst: '@blocked', action: 'reject', ...rejectWith(4) });
  if (D) {
    fwd.push({
      id: 'f-lan-dmz',
      iif: nm(L),
      oif: nm(D),
      proto: 'tcp',
      dport: one(some([22, 80, 443, 5432])),
      action: 'accept',
    });
    if (rng.chance(0.5)) fwd.push({ id: 'f-lan-dmz-udp', iif: L.wild, oif: D.wild, proto: 'udp', action: 'accept' });
    if (rng.chance(0.6)) fwd.push({ id: 'f-dmz-out', iif: nm(D), oif: nm(W), action: 'accept' });
    if (rng.chance(0.5)) fwd.push({ id: 'f-dmz-lan', iif: nm(D), oif: nm(L), action: 'reject', ...rejectWith(null) });
  }
  if (rng.chance(0.4)) {
    users.wan_in = [
      { id: 'wi-dnat', ct_status: 'dnat', action: 'accept' },
      ...(rng.chance(0.5) ? [{ id: 'wi-err', proto: 'icmp', type: 'destination-unreachable', action: 'accept' }] : []),
      ...(rng.chance(0.5) ? [{ id: 'wi-drop', proto: 'tcp', action: 'drop' }] : []),
    ];
    fwd.splice(rng.int(0, fwd.length), 0, { id: 'f-wan', iif: nm(W), goto: 'wan_in' });
  }
  shuffle(rng, fwd);
  chains.forward = { hook: 'forward', policy: rng.chance(0.75) ? 'drop' : 'accept', rules: place(fwd, 'f') };
  if (rng.chance(0.35))
    chains.forward_extra = {
      hook: 'forward',
      priority: rng.pick([-10, 10, 'filter + 5', 'filter - 5']),
      policy: 'accept',
      rules: [
        ...(rng.chance(0.5) ? [{ id: 'x-8443', proto: 'tcp', dport: 8443, action: 'drop' }] : []),
        ...(rng.chance(0.5) ? [{ id: 'x-ntp', proto: 'udp', dport: 123, action: 'reject', ...rejectWith(null) }] : []),
        { id: 'x-new', ct_state: 'new', proto: 'tcp', tcp_flags: 'syn / syn,ack', counter: true, action: 'continue' },
        ...(rng.chance(0.5)
          ? [{ id: 'x-est-only', ct_state: 'established', ct_status: 'seen-reply', action: 'accept' }]
          : []),
      ],
    };

  // input
  const inp: Rule[] = [{ id: 'i-lo', iif: 'lo', action: 'accept' }];
  if (rng.chance(0.7)) {
    inp.push({ id: 'i-ssh', iif: nm(L), proto: 'tcp', dport: 22, jump: 'ssh_in' });
    users.ssh_in = [
      { id: 'ssh-admins', src: '@admins', action: 'accept' },
      ...(rng.chance(0.6) ? [{ id: 'ssh-others', proto: 'tcp', action: 'reject', reject_with: 'tcp reset' }] : []),
    ];
  }
  if (rng.chance(0.7))
    inp.push({ id: 'i-dns', iif: nm(L), proto: 'udp', dport: one(some([53, 67, 123])), action: 'accept' });
  if (rng.chance(0.6))
    inp.push({ id: 'i-proxy', iif: nm(L), proto: 'tcp', dport: one(some([53, 80, 8080])), action: 'accept' });
  if (rng.chance(0.6)) inp.push({ id: 'i-ping', proto: 'icmp', type: 'echo-request', action: 'accept' });
  if (rng.chance(0.5))
    inp.push({ id: 'i-ping6', proto: 'icmpv6', type: ['echo-request', 'echo-reply'], action: 'accept' });
  if (rng.chance(0.5))
    inp.push({ id: 'i-wan-ssh', iif: nm(W), proto: 'tcp', dport: 22, action: rng.pick(['drop', 'reject']) });
  if (rng.chance(0.4)) inp.push({ id: 'i-wan-web', iif: nm(W), proto: 'tcp', dport: '@web', action: 'accept' });
  if (rng.chance(0.4)) inp.push({ id: 'i-ike', proto: 'udp', dport: [500, 4500], action: 'accept' });
  if (rng.chance(0.4)) inp.push({ id: 'i-redirected', ct_status: 'dnat', action: 'accept' });
  if (rng.chance(0.3)) inp.push({ id: 'i-reject', iif: nm(W), action: 'reject', ...rejectWith(null) });
  shuffle(rng, inp);
  chains.input = { hook: 'input', policy: rng.chance(0.8) ? 'drop' : 'accept', rules: place(inp, 'i') };

  // A second input chain, after (or before) the first.
  if (rng.chance(0.3))
    chains.input_extra = {
      hook: 'input',
      priority: rng.pick([-10, 10, 'filter + 1']),
      policy: 'accept',
      rules: [
        ...(rng.chance(0.5) ? [{ id: 'ix-wan-proxy', iif: nm(W), proto: 'tcp', dport: 8080, action: 'drop' }] : []),
        ...(rng.chance(0.5) ? [{ id: 'ix-ntp', ct_state: 'new', proto: 'udp', dport: 123, action: 'drop' }] : []),
        { id: 'ix-count', ct_state: ['established', 'related'], counter: true, action: 'continue' },
      ],
    };

  // output
  if (rng.chance(0.6)) {
    const outp: Rule[] = [
      { id: 'o-web', oif: nm(W), proto: 'tcp', dport: one(some([80, 443, 25])), action: 'accept' },
      { id: 'o-udp', proto: 'udp', dport: one(some([53, 123])), action: 'accept' },
    ];
    if (rng.chance(0.6)) outp.push({ id: 'o-ping', proto: 'icmp', action: 'accept' });
    if (rng.chance(0.5)) outp.push({ id: 'o-lan', oif: nm(L), action: 'accept' });
    if (rng.chance(0.4)) outp.push({ id: 'o-smtp', proto: 'tcp', dport: 25, action: 'reject' });
    shuffle(rng, outp);
    chains.output = { hook: 'output', policy: rng.pick(['drop', 'accept']), rules: place(outp, 'o') };
  }
  for (const [k, v] of Object.entries(users)) chains[k] = { rules: v };

  addIssue18(new Prng(nameSeed(name)), chains, t);

  const doc = { name, interfaces, sets: setsYaml, chains };
  return { yaml: stringify(doc, { lineWidth: 0 }), topology: t, nat, sets };
}

/** A seed from the file's name: issue 18's rules have a generator of their own, so the rest of a seed's file is as before. */
function nameSeed(name: string): number {
  let h = 0x18181818;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Issue 18's fields: a raw chain (the reverse-path check, notrack, ct state
 * there), marks set in prerouting and read in forward, negated conditions,
 * fib in input, a second forward chain of one family.
 */
function addIssue18(rng: Prng, chains: Record<string, unknown>, t: Topology): void {
  const L = t.lan;
  if (rng.chance(0.5)) {
    const raw: Rule[] = [];
    if (rng.chance(0.6)) raw.push({ id: 'r-rpf', fib: 'saddr . iif oif missing', action: 'drop' });
    if (rng.chance(0.6)) raw.push({ id: 'r-notrack', proto: 'udp', dport: rng.pick([123, 53]), notrack: true });
    if (rng.chance(0.4))
      raw.push({ id: 'r-invalid', proto: 'tcp', dport: 9, not: { ct_state: 'invalid' }, action: 'drop' });
    chains.raw18 = { hook: 'prerouting', priority: 'raw', rules: raw };
  }
  if (rng.chance(0.5))
    chains.mangle18 = {
      hook: 'prerouting',
      priority: 'mangle',
      rules: [
        { id: 'm-lan', iif: L.name, mark_set: '0x10/0xf0' },
        { id: 'm-other', not: { iif: L.name }, mark_set: rng.pick(['0x1', '0x3/0x3']) },
      ],
    };
  const fwd = (chains.forward as { rules: Rule[] }).rules;
  const add = (list: Rule[], r: Rule) => list.splice(rng.int(0, list.length), 0, r);
  if (rng.chance(0.5))
    add(fwd, { id: 'f-mark', mark: '0x10/0xf0', proto: 'tcp', not: { dport: 25 }, action: 'accept' });
  if (rng.chance(0.4))
    add(fwd, { id: 'f-not-mark', not: { mark: 0 }, proto: 'udp', action: rng.pick(['accept', 'drop']) });
  if (rng.chance(0.4))
    add(fwd, { id: 'f-not-host', not: { src: rng.pick(LAN_HOSTS).v4 }, proto: 'tcp', dport: 443, action: 'drop' });
  if (rng.chance(0.4))
    add(fwd, { id: 'f-not-lan', proto: 'tcp', not: { iif: L.name, dport: [80, 443] }, action: 'drop' });
  if (rng.chance(0.3)) add(fwd, { id: 'f-untracked', ct_state: 'untracked', action: 'accept' });
  const inp = (chains.input as { rules: Rule[] }).rules;
  if (rng.chance(0.5))
    add(inp, { id: 'i-not-local-iif', proto: 'tcp', dport: 22, fib: 'daddr . iif type != local', action: 'drop' });
  if (rng.chance(0.3)) add(inp, { id: 'i-bcast', proto: 'udp', fib: 'daddr type broadcast', action: 'accept' });
  const extra = chains.forward_extra as Rule | undefined;
  if (extra !== undefined && rng.chance(0.5)) extra.family = rng.pick(['ip', 'ip6']);
}

function shuffle<T>(rng: Prng, xs: T[]): void {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
}
