/**
 * Firewall-model rule sets built in code (rules/firewall.ts types), for
 * the export tests: the YAML loader for `interfaces:`/`chains:` is written
 * in parallel, so these tests do not depend on it. Each helper fills in
 * what the loader would (ids `CHAIN-N`, positions, nulls for absent
 * conditions) and nothing else.
 */
import { parseCidr } from '../../src/rules/cidr.js';
import type {
  AddrMatch,
  AddrRange,
  ChainType,
  Firewall,
  FwChain,
  FwInterface,
  FwRule,
  Hook,
  NamedSet,
  NatStatement,
  PolicyVerdict,
  PortMatch,
} from '../../src/rules/firewall.js';
import type { Cidr, RuleSet } from '../../src/rules/types.js';
import { ok } from '../rules/helpers.js';

const FILE = 'fw.yaml';
let line = 1;
const pos = () => ({ file: FILE, line: line++, col: 3 });

export function cidr(text: string): Cidr {
  const r = parseCidr(text);
  if (!r.ok) throw new Error(r.error);
  return r.cidr;
}

function range(text: string): AddrRange {
  const [a, b] = text.split('-').map(cidr);
  return { version: a.version, lo: a.words, hi: b.words, text };
}

/** An address condition: addresses, prefixes and `a-b` ranges; `@name` refers to set `name` of `sets`. */
export function addrs(items: string[], sets: NamedSet[] = []): AddrMatch {
  if (items.length === 1 && items[0].startsWith('@')) {
    const name = items[0].slice(1);
    const s = sets.find((x) => x.name === name);
    if (s?.addrs == null) throw new Error(`no address set ${name}`);
    return { ...s.addrs, set: name };
  }
  const m: AddrMatch = { cidrs: [], ranges: [], set: null };
  for (const t of items) {
    // A range has a '-' between two addresses (IPv6 addresses hold no '-').
    if (t.includes('-')) m.ranges.push(range(t));
    else m.cidrs.push(cidr(t));
  }
  return m;
}

export function ports(items: (number | string)[], sets: NamedSet[] = []): PortMatch {
  if (items.length === 1 && String(items[0]).startsWith('@')) {
    const name = String(items[0]).slice(1);
    const s = sets.find((x) => x.name === name);
    if (s?.ports == null) throw new Error(`no port set ${name}`);
    return { ...s.ports, set: name };
  }
  return {
    ranges: items.map((p) => {
      const [lo, hi] = String(p).split('-').map(Number);
      return { lo, hi: hi ?? lo };
    }),
    set: null,
  };
}

export function addrSet(name: string, kind: 'ipv4_addr' | 'ipv6_addr', items: string[]): NamedSet {
  return { name, kind, addrs: addrs(items), ports: null, pos: pos() };
}

export function portSet(name: string, items: (number | string)[]): NamedSet {
  return { name, kind: 'inet_service', addrs: null, ports: ports(items), pos: pos() };
}

export function nat(
  kind: NatStatement['kind'],
  to: string | null,
  portsText: string | null = null,
  flags: string[] = [],
): NatStatement {
  let addr: NatStatement['addr'] = null;
  if (to !== null) {
    const [a, b] = to.split('-').map(cidr);
    addr = { version: a.version, lo: a.words, hi: (b ?? a).words, text: to };
  }
  let pr = null;
  if (portsText !== null) {
    const [lo, hi] = portsText.split('-').map(Number);
    pr = { lo, hi: hi ?? lo };
  }
  return { kind, addr, ports: pr, flags, text: `${kind} ${to ?? ''}` };
}

export type RuleSpec = Partial<Omit<FwRule, 'chain' | 'index' | 'pos'>>;

export function rule(chainName: string, index: number, r: RuleSpec): FwRule {
  return {
    id: r.id ?? `${chainName}-${index}`,
    idGiven: r.id !== undefined,
    index,
    chain: chainName,
    comment: null,
    pos: pos(),
    proto: 'any',
    family: null,
    iif: null,
    oif: null,
    src: null,
    dst: null,
    sport: null,
    dport: null,
    icmp: null,
    tcpFlags: null,
    ctState: null,
    ctStatus: null,
    pktType: null,
    limit: null,
    counter: false,
    log: null,
    nat: null,
    action: 'accept',
    rejectWith: null,
    target: null,
    ...r,
  };
}

export interface ChainOpts {
  hook?: Hook;
  type?: ChainType;
  priority?: number;
  policy?: PolicyVerdict;
}

export function chain(name: string, opts: ChainOpts, rules: RuleSpec[]): FwChain {
  return {
    name,
    hook: opts.hook ?? null,
    type: opts.type ?? 'filter',
    priority: opts.priority ?? 0,
    policy: opts.policy ?? 'accept',
    rules: rules.map((r, i) => rule(name, i + 1, r)),
    pos: pos(),
  };
}

export function iface(name: string, addresses: string[], networks: string[] = [], defaultRoute = false): FwInterface {
  return {
    name,
    addresses: addresses.map((a) => {
      const [addr, prefix] = a.split('/');
      const full = cidr(addr);
      return { addr: full, net: cidr(`${addr}/${prefix}`) };
    }),
    networks: networks.map(cidr),
    defaultRoute,
    pos: pos(),
  };
}

/** A RuleSet whose `firewall` is `fw` (the rest as the loader sets it for a file with `chains:`). */
export function firewallRuleSet(fw: Firewall, name = 'fw-test'): RuleSet {
  const rs = ok(`name: ${name}\nrules:\n  - { proto: tcp, dport: 22 }\n`).ruleset;
  rs.rules = [];
  rs.file = FILE;
  rs.firewall = fw;
  return rs;
}
