/**
 * Compiling a Firewall (firewall.ts) into the flat form the per-packet walk
 * (fw-walk.ts) tests with number comparisons: interface names become a
 * table indexed by interface number, addresses and ports typed arrays,
 * state and flag lists bit masks, jump targets chain indices.
 */
import { wordMask } from './cidr.js';
import {
  type AddrMatch,
  CONNTRACK_PRIORITY,
  type CtStatusWord,
  type CtStateWord,
  type FibAddrType,
  type FibMatch,
  type Firewall,
  type FwAction,
  type FwChain,
  type FwRule,
  type Hook,
  type NegatableCondition,
  type PktType,
  type PortMatch,
} from './firewall.js';
import { RouteTable, Rtn, ifNameMatches } from './route.js';
import { PROTO_NUMBER } from './spec.js';
import type { Cidr } from './types.js';

/** Verdict codes of a compiled rule. */
export const Verdict = { ACCEPT: 0, DROP: 1, REJECT: 2, JUMP: 3, GOTO: 4, RETURN: 5, CONTINUE: 6 } as const;
export type VerdictCode = (typeof Verdict)[keyof typeof Verdict];

const VERDICT_OF: Record<FwAction, VerdictCode> = {
  accept: Verdict.ACCEPT,
  drop: Verdict.DROP,
  reject: Verdict.REJECT,
  jump: Verdict.JUMP,
  goto: Verdict.GOTO,
  return: Verdict.RETURN,
  continue: Verdict.CONTINUE,
};

/** nft's ct state bits (nf_conntrack_common.h NF_CT_STATE_BIT, as CtState in conntrack/types.ts). */
export const CT_STATE_BIT: Readonly<Record<CtStateWord, number>> = {
  invalid: 1,
  established: 2,
  related: 4,
  new: 8,
  untracked: 64,
};

/** IPS_* status bits (uapi nf_conntrack_common.h). */
export const CT_STATUS_BIT: Readonly<Record<CtStatusWord, number>> = {
  expected: 1 << 0,
  'seen-reply': 1 << 1,
  assured: 1 << 2,
  confirmed: 1 << 3,
  snat: 1 << 4,
  dnat: 1 << 5,
  dying: 1 << 9,
};

/** meta pkttype values as bits. */
export const PKTTYPE_BIT: Readonly<Record<PktType, number>> = {
  host: 1,
  unicast: 1,
  broadcast: 2,
  multicast: 4,
  other: 8,
};

/** Bits of CompiledFwRule.neg: the conditions whose value test is inverted. */
export const Neg = {
  IIF: 1,
  OIF: 2,
  SRC: 4,
  DST: 8,
  SPORT: 16,
  DPORT: 32,
  PROTO: 64,
  ICMP: 128,
  TCP_FLAGS: 256,
  CT_STATE: 512,
  CT_STATUS: 1024,
  PKTTYPE: 2048,
  MARK: 4096,
} as const;

const NEG_BIT: Readonly<Record<NegatableCondition, number>> = {
  iif: Neg.IIF,
  oif: Neg.OIF,
  src: Neg.SRC,
  dst: Neg.DST,
  sport: Neg.SPORT,
  dport: Neg.DPORT,
  proto: Neg.PROTO,
  icmp: Neg.ICMP,
  tcpFlags: Neg.TCP_FLAGS,
  ctState: Neg.CT_STATE,
  ctStatus: Neg.CT_STATUS,
  pktType: Neg.PKTTYPE,
  mark: Neg.MARK,
};

/** RTN_* codes of nft's fib address types. */
export const FIB_TYPE_CODE: Readonly<Record<FibAddrType, number>> = {
  unspec: Rtn.UNSPEC,
  unicast: Rtn.UNICAST,
  local: Rtn.LOCAL,
  broadcast: Rtn.BROADCAST,
  anycast: Rtn.ANYCAST,
  multicast: Rtn.MULTICAST,
  blackhole: Rtn.BLACKHOLE,
  unreachable: Rtn.UNREACHABLE,
  prohibit: Rtn.PROHIBIT,
};

/** One fib condition, as numbers. */
export interface CompiledFib {
  /** Look up the destination (true) or the source address. */
  readonly daddr: boolean;
  /** 0: no device; 1: the packet's iif; 2: its oif. */
  readonly dev: 0 | 1 | 2;
  /** Result: the route type (true), or whether a route leaves by the device (`oif missing`). */
  readonly type: boolean;
  /** 1 << RTN_* for each type that matches. */
  readonly types: number;
  readonly neg: boolean;
}

/** Addresses of one condition: prefixes as in compile.ts, ranges as unsigned word bounds. */
export interface CompiledAddrMatch {
  /** IPv4 [net, mask] pairs (int32). */
  v4: Int32Array;
  /** IPv6 groups of 8: net0-3, mask0-3 (int32). */
  v6: Int32Array;
  /** IPv4 ranges [lo, hi] (uint32). */
  r4: Uint32Array;
  /** IPv6 ranges, groups of 8: lo0-3, hi0-3 (uint32). */
  r6: Uint32Array;
}

/** A token bucket (nft_limit.c), in nanoseconds of capture time. */
export interface Bucket {
  /** Nanoseconds one packet costs: the unit / rate. */
  cost: number;
  /** Bucket size: cost * burst. */
  max: number;
  tokens: number;
  /** Capture time (ns since the first packet) of the last evaluation; -1 before the first. */
  last: number;
  over: boolean;
}

export interface CompiledFwRule {
  readonly rule: FwRule;
  /** IP protocol number, or -1 for any. */
  readonly proto: number;
  readonly v4: boolean;
  readonly v6: boolean;
  /** 1 per interface index the name list matches; null: any. The firewall's own packets have no iif. */
  readonly iif: Uint8Array | null;
  readonly oif: Uint8Array | null;
  readonly src: CompiledAddrMatch | null;
  readonly dst: CompiledAddrMatch | null;
  readonly sport: Int32Array | null;
  readonly dport: Int32Array | null;
  readonly icmpTypes: Uint8Array | null;
  readonly icmpCodes: Uint8Array | null;
  /** tcp flags condition: (flags & tcpMask) === tcpValue; tcpMask 0 = none. */
  readonly tcpMask: number;
  readonly tcpValue: number;
  /** ct state bits any of which must be the packet's; 0 = no condition. */
  readonly ctState: number;
  /** ct status bits any of which must be set; 0 = no condition. */
  readonly ctStatus: number;
  readonly pktType: number;
  readonly limit: Bucket | null;
  /**
   * False when the rule uses any of issue 18's conditions (negation, mark,
   * fib): the walk then takes the general test; plain rules keep the short one.
   */
  readonly plain: boolean;
  /** Neg bits of the inverted conditions. */
  readonly neg: number;
  /** meta mark condition: (mark & markMask) === markValue, when hasMark. */
  readonly hasMark: boolean;
  readonly markMask: number;
  readonly markValue: number;
  readonly fib: readonly CompiledFib[] | null;
  /** TTL / hop limit condition: hopLo <= value <= hopHi (hopNeg inverts); hopLo -1 = none. */
  readonly hopLo: number;
  readonly hopHi: number;
  readonly hopNeg: boolean;
  /** meta mark set: mark = (mark & markAnd) ^ markXor, when setsMark. */
  readonly setsMark: boolean;
  readonly markAnd: number;
  readonly markXor: number;
  readonly notrack: boolean;
  /** Has the rule statements the walk runs when it matches (setsMark, notrack)? */
  readonly statements: boolean;
  readonly verdict: VerdictCode;
  /** Position among every rule of the firewall, chains in file order (the summary's rule hits). */
  readonly flat: number;
  /** Chain index entered by jump/goto; -1 otherwise. */
  readonly target: number;
  /** Packets and bytes counted (when the rule has `counter`, and for every rule: the walk counts matches). */
  packets: number;
  bytes: number;
}

export interface CompiledChain {
  readonly chain: FwChain;
  readonly index: number;
  readonly rules: readonly CompiledFwRule[];
  /** Verdict.ACCEPT or Verdict.DROP (base chains). */
  readonly policy: VerdictCode;
  /** IP version of the chain's table (4 or 6), 0 for both (inet). */
  readonly family: number;
}

export interface CompiledFirewall {
  readonly firewall: Firewall;
  readonly routes: RouteTable;
  readonly chains: readonly CompiledChain[];
  /** Base chains per hook, in increasing priority, filter and nat chains together. */
  readonly hooks: Readonly<Record<Hook, readonly CompiledChain[]>>;
  readonly hasNat: boolean;
  /**
   * Per hook, how many of its first base chains run before conntrack
   * (priority below -200: raw); only prerouting and output have conntrack.
   */
  readonly raw: Readonly<Record<Hook, number>>;
}

function ifTable(patterns: string[] | null, names: readonly string[]): Uint8Array | null {
  if (patterns === null) return null;
  const t = new Uint8Array(names.length);
  names.forEach((name, i) => {
    if (patterns.some((p) => ifNameMatches(p, name))) t[i] = 1;
  });
  return t;
}

function compileAddrMatch(m: AddrMatch | null): CompiledAddrMatch | null {
  if (m === null) return null;
  const c4 = m.cidrs.filter((c) => c.version === 4);
  const c6 = m.cidrs.filter((c) => c.version === 6);
  const v4 = new Int32Array(c4.length * 2);
  c4.forEach((c: Cidr, i) => {
    v4[2 * i] = c.words[0] | 0;
    v4[2 * i + 1] = wordMask(c.prefix, 0) | 0;
  });
  const v6 = new Int32Array(c6.length * 8);
  c6.forEach((c, i) => {
    for (let w = 0; w < 4; w++) {
      v6[8 * i + w] = c.words[w] | 0;
      v6[8 * i + 4 + w] = wordMask(c.prefix, w) | 0;
    }
  });
  const g4 = m.ranges.filter((r) => r.version === 4);
  const g6 = m.ranges.filter((r) => r.version === 6);
  const r4 = new Uint32Array(g4.length * 2);
  g4.forEach((r, i) => {
    r4[2 * i] = r.lo[0];
    r4[2 * i + 1] = r.hi[0];
  });
  const r6 = new Uint32Array(g6.length * 8);
  g6.forEach((r, i) => {
    for (let w = 0; w < 4; w++) {
      r6[8 * i + w] = r.lo[w];
      r6[8 * i + 4 + w] = r.hi[w];
    }
  });
  return { v4, v6, r4, r6 };
}

function compilePorts(m: PortMatch | null): Int32Array | null {
  if (m === null) return null;
  const sorted = [...m.ranges].sort((a, b) => a.lo - b.lo);
  const out: number[] = [];
  for (const r of sorted) {
    const n = out.length;
    if (n > 0 && r.lo <= out[n - 1] + 1) out[n - 1] = Math.max(out[n - 1], r.hi);
    else out.push(r.lo, r.hi);
  }
  return Int32Array.from(out);
}

function byteSet(values: readonly number[]): Uint8Array {
  const t = new Uint8Array(256);
  for (const v of values) t[v] = 1;
  return t;
}

const UNIT_SECONDS = { second: 1, minute: 60, hour: 3600, day: 86400, week: 604800 } as const;

function bucket(rule: FwRule): Bucket | null {
  const l = rule.limit;
  if (l === null) return null;
  // nft_limit_init, packet mode: cost = nsecs / rate (integer division), tokens_max = cost * burst.
  const cost = Math.floor((UNIT_SECONDS[l.unit] * 1e9) / l.rate);
  const burst = l.burst > 0 ? l.burst : 5;
  return { cost, max: cost * burst, tokens: cost * burst, last: -1, over: l.over };
}

/** Can the rule match IPv4 / IPv6 at all (family, protocol, addresses)? */
function families(rule: FwRule): { v4: boolean; v6: boolean } {
  // An inert rule (--lenient kept a construct fwemu cannot model) never matches.
  if (rule.inert) return { v4: false, v6: false };
  // (`meta l4proto != icmp` implies no family.)
  const proto = rule.not?.includes('proto') ? 'any' : rule.proto;
  const family = rule.family ?? hopLimitFamily(rule);
  let v4 = family !== 6 && proto !== 'icmpv6';
  let v6 = family !== 4 && proto !== 'icmp';
  for (const m of [rule.src, rule.dst]) {
    if (m === null) continue;
    const has = (v: 4 | 6) => m.cidrs.some((c) => c.version === v) || m.ranges.some((r) => r.version === v);
    v4 &&= has(4);
    v6 &&= has(6);
  }
  return { v4, v6 };
}

function bits<T extends string>(list: readonly T[] | null, table: Readonly<Record<T, number>>): number {
  if (list === null) return 0;
  let b = 0;
  for (const w of list) b |= table[w];
  return b;
}

/** Every rule of the firewall, chains in file order: the order of `flat` and of the summary's rule hits. */
export function firewallRules(fw: Firewall): FwRule[] {
  return fw.chains.flatMap((c) => c.rules);
}

/**
 * The family a TTL / hop limit condition implies (`ip ttl`: IPv4, `ip6
 * hoplimit`, ip6tables `-m hl`: IPv6), read from its text; null when it
 * says neither (then it tests both headers' field).
 */
export function hopLimitFamily(rule: FwRule): 4 | 6 | null {
  const t = rule.hopLimit?.text;
  if (t === undefined) return null;
  if (/hoplimit|\bhl\b|--hl-/.test(t)) return 6;
  if (/\bttl\b|--ttl-/.test(t)) return 4;
  return null;
}

function compileFib(f: FibMatch): CompiledFib {
  let types = 0;
  for (const t of f.types) types |= 1 << FIB_TYPE_CODE[t];
  return {
    daddr: f.addr === 'daddr',
    dev: f.dev === 'iif' ? 1 : f.dev === 'oif' ? 2 : 0,
    type: f.result === 'type',
    types,
    neg: f.neg,
  };
}

function negBits(rule: FwRule): number {
  let b = 0;
  for (const k of rule.not ?? []) b |= NEG_BIT[k];
  return b;
}

export function compileFirewall(fw: Firewall, extraOwn: readonly Cidr[] = []): CompiledFirewall {
  const routes = new RouteTable(fw.interfaces, extraOwn);
  const chainIndex = new Map(fw.chains.map((c, i) => [c.name, i]));
  let flat = 0;
  const chains: CompiledChain[] = fw.chains.map((chain, index) => ({
    chain,
    index,
    policy: chain.policy === 'drop' ? Verdict.DROP : Verdict.ACCEPT,
    family: chain.family ?? 0,
    rules: chain.rules.map((rule): CompiledFwRule => {
      const fam = families(rule);
      const verdict = VERDICT_OF[rule.action];
      return {
        rule,
        proto: PROTO_NUMBER[rule.proto],
        v4: fam.v4,
        v6: fam.v6,
        iif: ifTable(rule.iif, routes.names),
        oif: ifTable(rule.oif, routes.names),
        src: compileAddrMatch(rule.src),
        dst: compileAddrMatch(rule.dst),
        sport: compilePorts(rule.sport),
        dport: compilePorts(rule.dport),
        icmpTypes: rule.icmp ? byteSet(rule.icmp.types) : null,
        icmpCodes: rule.icmp?.codes ? byteSet(rule.icmp.codes) : null,
        tcpMask: rule.tcpFlags?.mask ?? 0,
        tcpValue: rule.tcpFlags?.value ?? 0,
        ctState: bits(rule.ctState, CT_STATE_BIT),
        ctStatus: bits(rule.ctStatus, CT_STATUS_BIT),
        pktType: bits(rule.pktType, PKTTYPE_BIT),
        limit: bucket(rule),
        plain: negBits(rule) === 0 && !rule.mark && !(rule.fib && rule.fib.length > 0) && !rule.hopLimit,
        neg: negBits(rule),
        hasMark: !!rule.mark,
        markMask: (rule.mark?.mask ?? 0) >>> 0,
        markValue: (rule.mark?.value ?? 0) >>> 0,
        fib: rule.fib && rule.fib.length > 0 ? rule.fib.map(compileFib) : null,
        hopLo: rule.hopLimit ? rule.hopLimit.lo : -1,
        hopHi: rule.hopLimit ? rule.hopLimit.hi : -1,
        hopNeg: rule.hopLimit?.neg === true,
        setsMark: !!rule.markSet,
        markAnd: (rule.markSet?.and ?? 0xffffffff) >>> 0,
        markXor: (rule.markSet?.xor ?? 0) >>> 0,
        notrack: rule.notrack === true,
        statements: !!rule.markSet || rule.notrack === true,
        verdict,
        flat: flat++,
        target: rule.target !== null ? (chainIndex.get(rule.target) ?? -1) : -1,
        packets: 0,
        bytes: 0,
      };
    }),
  }));
  const hooks: Record<Hook, CompiledChain[]> = {
    prerouting: [],
    input: [],
    forward: [],
    output: [],
    postrouting: [],
  };
  for (const c of chains) if (c.chain.hook !== null) hooks[c.chain.hook].push(c);
  // Increasing priority; equal priorities in file order (the kernel orders them by registration).
  for (const h of Object.values(hooks)) h.sort((a, b) => a.chain.priority - b.chain.priority || a.index - b.index);
  const before = (h: Hook) => hooks[h].filter((c) => c.chain.priority < CONNTRACK_PRIORITY).length;
  const raw = { prerouting: before('prerouting'), input: 0, forward: 0, output: before('output'), postrouting: 0 };
  return { firewall: fw, routes, chains, hooks, hasNat: fw.chains.some((c) => c.type === 'nat'), raw };
}
