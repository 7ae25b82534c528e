/**
 * Compiling a RuleSet into a flat form that `matchRule()` / `firstMatch()`
 * can test against a DecodedPacket with plain number comparisons and no
 * allocation.
 */
import { wordMask } from './cidr.js';
import { ruleFamilies } from './shadow.js';
import { PROTO_NUMBER } from './spec.js';
import type { Action, Chain, Cidr, FirewallModel, PortRange, Rule, RuleSet } from './types.js';

/** Addresses of one direction, split by IP version. Values are int32 (compare with `&`, which yields int32). */
export interface CompiledAddrs {
  /** IPv4 entries as pairs [net, mask, net, mask, ...]. */
  v4: Int32Array;
  /** IPv6 entries as groups of 8: [net0, net1, net2, net3, mask0, mask1, mask2, mask3, ...]. */
  v6: Int32Array;
}

export interface CompiledRule {
  /** The rule as loaded (id, pos, comment, ...), for messages. */
  readonly rule: Rule;
  readonly id: string;
  /** 1-based position in the file. */
  readonly index: number;
  readonly chain: Chain;
  readonly action: Action;
  /** IP protocol number to match, or -1 for any. */
  readonly proto: number;
  /** Can this rule match IPv4 / IPv6 packets at all (proto and address families)? */
  readonly v4: boolean;
  readonly v6: boolean;
  /** Port ranges as sorted, merged pairs [lo, hi, lo, hi, ...]; null = any port. */
  readonly sport: Int32Array | null;
  readonly dport: Int32Array | null;
  /** Address conditions; null = any address. */
  readonly src: CompiledAddrs | null;
  readonly dst: CompiledAddrs | null;
  /** ICMP types / codes to match: 1 at each value in the rule's list (a byte indexes it); null for any. */
  readonly icmpTypes: Uint8Array | null;
  readonly icmpCodes: Uint8Array | null;
}

export interface CompiledRuleSet {
  readonly ruleset: RuleSet;
  readonly model: FirewallModel;
  readonly stateful: boolean;
  /** Rules of each chain, in file order. */
  readonly chains: Readonly<Record<Chain, readonly CompiledRule[]>>;
  /** Verdict per chain for a new flow no rule decides. */
  readonly policy: Readonly<Record<Chain, Action>>;
  /** The host's addresses (host model): IPv4 words, and IPv6 as groups of 4 words (int32). Empty in the gateway model. */
  readonly host4: Int32Array;
  readonly host6: Int32Array;
  /** Every compiled rule in file order. */
  readonly rules: readonly CompiledRule[];
}

function compilePorts(p: PortRange[] | null): Int32Array | null {
  if (p === null) return null;
  const out = new Int32Array(p.length * 2);
  p.forEach((r, i) => {
    out[2 * i] = r.lo;
    out[2 * i + 1] = r.hi;
  });
  return out;
}

function compileAddrs(list: Cidr[] | null): CompiledAddrs | null {
  if (list === null) return null;
  const v4 = list.filter((c) => c.version === 4);
  const v6 = list.filter((c) => c.version === 6);
  const a4 = new Int32Array(v4.length * 2);
  v4.forEach((c, i) => {
    a4[2 * i] = c.words[0] | 0;
    a4[2 * i + 1] = wordMask(c.prefix, 0) | 0;
  });
  const a6 = new Int32Array(v6.length * 8);
  v6.forEach((c, i) => {
    for (let w = 0; w < 4; w++) {
      a6[8 * i + w] = c.words[w] | 0;
      a6[8 * i + 4 + w] = wordMask(c.prefix, w) | 0;
    }
  });
  return { v4: a4, v6: a6 };
}

/** A list of byte values as a 256-entry table, so matching is one load whatever the list's length. */
function byteSet(values: readonly number[]): Uint8Array {
  const t = new Uint8Array(256);
  for (const v of values) t[v] = 1;
  return t;
}

export function compileRule(rule: Rule): CompiledRule {
  const fam = ruleFamilies(rule);
  return {
    rule,
    id: rule.id,
    index: rule.index,
    chain: rule.chain,
    action: rule.action,
    proto: PROTO_NUMBER[rule.proto],
    v4: fam.v4,
    v6: fam.v6,
    sport: compilePorts(rule.sport),
    dport: compilePorts(rule.dport),
    src: compileAddrs(rule.src),
    dst: compileAddrs(rule.dst),
    icmpTypes: rule.icmp ? byteSet(rule.icmp.types) : null,
    icmpCodes: rule.icmp?.codes ? byteSet(rule.icmp.codes) : null,
  };
}

export function compileRuleSet(rs: RuleSet): CompiledRuleSet {
  const rules = rs.rules.map(compileRule);
  const host = rs.hostAddrs ?? [];
  const h4 = host.filter((c) => c.version === 4);
  const h6 = host.filter((c) => c.version === 6);
  const host4 = new Int32Array(h4.map((c) => c.words[0] | 0));
  const host6 = new Int32Array(h6.length * 4);
  h6.forEach((c, i) => {
    for (let w = 0; w < 4; w++) host6[4 * i + w] = c.words[w] | 0;
  });
  return {
    ruleset: rs,
    model: rs.model,
    stateful: rs.stateful,
    chains: {
      input: rules.filter((r) => r.chain === 'input'),
      output: rules.filter((r) => r.chain === 'output'),
      forward: rules.filter((r) => r.chain === 'forward'),
    },
    policy: { input: rs.policy, forward: rs.policy, output: rs.outputPolicy },
    host4,
    host6,
    rules,
  };
}
