/**
 * The firewall model of a rule file (firewall.ts): read when the file has
 * `interfaces:` or `chains:`. Interfaces and sets come first (rules refer
 * to them), then the chains, either as written under `chains:` or built
 * from `rules:` beside `interfaces:` (input, forward, output, each opened
 * by the stateful preamble). Then the checks that need the whole file
 * (fw-checks.ts): duplicate ids, jump targets, loops and depth, and where
 * NAT statements may stand.
 */
import { isMap, isScalar, isSeq, type ParsedNode } from 'yaml';
import type { SourcePos } from '../base/diag.js';
import { describeNode, quoted } from '../base/yaml-nodes.js';
import { didYouMean } from '../base/suggest.js';
import { list, type Entry } from '../base/yaml-reader.js';
import {
  CONNTRACK_PRIORITY,
  emptyRuleBody,
  PRIORITY_NAMES,
  type ChainType,
  type Firewall,
  type FwRule,
  type Hook,
  type NamedSet,
  type PolicyVerdict,
} from './firewall.js';
import { nftNameProblem, type Reader } from './fw-read.js';
import { checkFirewall, type ReadChain } from './fw-checks.js';
import { readFwRule, type ReadRule, type RuleContext } from './load-fw-rule.js';
import { readInterfaces } from './load-interfaces.js';
import { readSets } from './load-sets.js';
import {
  CHAIN_FAMILIES,
  CHAIN_KEYS,
  CHAIN_TYPES,
  FW_RULE_KEYS,
  HOOKS,
  POLICIES,
  RULE_KEYS,
  RULE_SYNONYMS,
} from './spec.js';
import type { Action, Chain } from './types.js';

/** What load.ts has read of the simple model's keys, which rules: beside interfaces: still uses. */
export interface SimpleTop {
  policy: Action;
  outputPolicy: Action;
  stateful: boolean;
  hostModel: boolean;
}

/** A note for an unknown key of a simple-model rule that is a key of the firewall model. */
export function firewallKeyHint(k: string): string {
  return (FW_RULE_KEYS as readonly string[]).includes(k) && !(RULE_KEYS as readonly string[]).includes(k)
    ? `; "${k}" needs the firewall model: add interfaces: (or chains:) at the top level`
    : '';
}

/** `sets:` without interfaces: or chains: (the simple model has no sets). */
export function setsWithoutFirewall(r: Reader, e: Entry): void {
  r.error(
    e.key,
    "sets: needs the firewall model: add interfaces: (the firewall's interfaces) or chains: at the top level; in the simple model, list the addresses or ports in the rule",
    'rules.needs-firewall',
  );
}

/** Reads the firewall model; every problem is recorded in `r` (the caller throws when there are errors). */
export function readFirewall(r: Reader, root: ParsedNode, m: ReadonlyMap<string, Entry>, top: SimpleTop): Firewall {
  const interfaces = readInterfaces(r, m.get('interfaces'), root);
  const sets = readSets(r, m.get('sets'));
  const setMap = new Map<string, NamedSet>(sets.map((s) => [s.name, s]));
  const ce = m.get('chains');
  let read: ReadChain[];
  if (ce) {
    for (const k of ['rules', 'policy', 'output_policy'] as const) {
      const e = m.get(k);
      if (!e) continue;
      r.error(
        e.key,
        `${k}: and chains: (${r.fmt(r.nodePos(ce.key))}) do not go together: with chains:, ${k === 'rules' ? 'every rule belongs to a chain; move the rules into the chains' : 'each base chain has its own policy:; move it there'}`,
        'rules.chains-with-simple-keys',
      );
    }
    read = readChains(r, ce, setMap, interfaces);
  } else read = simpleChains(r, root, m, top, setMap, interfaces);
  checkFirewall(r, read, top.stateful, !ce);
  return { interfaces, sets, chains: read.map((c) => c.chain) };
}

// --- chains: ------------------------------------------------------------------

function readChains(
  r: Reader,
  e: Entry,
  sets: ReadonlyMap<string, NamedSet>,
  interfaces: Firewall['interfaces'],
): ReadChain[] {
  const v = e.value;
  if (v === null || !isMap(v)) {
    r.error(
      e.at,
      `chains must be a mapping of chain names to chains (input: { hook: input, policy: drop, rules: [...] }), not ${describeNode(v)}`,
      'rules.chains-not-mapping',
    );
    return [];
  }
  const out: ReadChain[] = [];
  for (const [name, ch] of r.readMap(v, null, () => '')) {
    const problem = nftNameProblem(name);
    if (problem !== null) {
      r.error(ch.key, `chain name ${quoted(name)} ${problem}`, 'rules.bad-chain-name');
      continue;
    }
    const c = readChain(r, name, ch, sets, interfaces);
    if (c !== null) out.push(c);
  }
  return out;
}

function readChain(
  r: Reader,
  name: string,
  ce: Entry,
  sets: ReadonlyMap<string, NamedSet>,
  interfaces: Firewall['interfaces'],
): ReadChain | null {
  const pos = r.nodePos(ce.key);
  const v = ce.value;
  const empty = v === null || (isScalar(v) && v.value === null);
  if (!empty && !isMap(v)) {
    r.error(
      ce.at,
      `chain ${name} must be a mapping (hook:, type:, priority:, policy:, rules:), not ${describeNode(v)}`,
      'rules.chains-not-mapping',
    );
    return null;
  }
  const m = empty
    ? new Map<string, Entry>()
    : r.readMap(v, CHAIN_KEYS, (k) => {
        const hint = (FW_RULE_KEYS as readonly string[]).includes(k) ? `; "${k}" belongs in a rule under rules:` : '';
        return `unknown key "${k}" in chain ${name}${didYouMean(k, CHAIN_KEYS)}${hint} (allowed: ${list(CHAIN_KEYS)})`;
      });
  const he = m.get('hook');
  const hook = r.oneOf(
    he,
    `chain ${name}: hook`,
    HOOKS,
    {},
    { pre: 'prerouting', post: 'postrouting', fwd: 'forward' },
  );
  const te = m.get('type');
  const type: ChainType = r.oneOf(te, `chain ${name}: type`, CHAIN_TYPES, {}, { route: 'filter' }) ?? 'filter';
  const pe = m.get('policy');
  const policy = readPolicy(r, pe, `chain ${name}: policy`) ?? 'accept';
  const pre = m.get('priority');
  if (!he) {
    for (const [k, en] of [
      ['type', te],
      ['priority', pre],
      ['policy', pe],
    ] as const)
      if (en)
        r.error(
          en.key,
          `chain ${name} has ${k}: but no hook:; ${k} belongs to base chains (hook: prerouting, input, forward, output or postrouting), and a chain without hook: is a user chain, entered only by jump or goto`,
          'rules.base-chain-key',
        );
  }
  if (hook === 'forward' && type === 'nat' && te)
    r.error(
      te.at,
      `chain ${name}: nft has no nat chains on the forward hook; NAT happens at prerouting and output (dnat, redirect) and at postrouting and input (snat, masquerade)`,
      'rules.nat-chain-hook',
    );
  const defaultPriority =
    type === 'nat' ? (hook === 'prerouting' || hook === 'output' ? PRIORITY_NAMES.dstnat : PRIORITY_NAMES.srcnat) : 0;
  const priority = he ? (readPriority(r, pre, name, hook, type) ?? defaultPriority) : 0;
  const fe = m.get('family');
  const fam = fe
    ? r.oneOf(fe, `chain ${name}: family`, CHAIN_FAMILIES, {}, { ipv4: 'ip', ipv6: 'ip6', ip4: 'ip', inet6: 'ip6' })
    : null;
  const family = fam === 'ip' ? 4 : fam === 'ip6' ? 6 : null;

  const rules: ReadRule[] = [];
  const re = m.get('rules');
  if (re) {
    const rv = re.value;
    if (rv !== null && !(isScalar(rv) && rv.value === null) && !isSeq(rv))
      r.error(
        re.at,
        `chain ${name}: rules must be a list of rules (each item starting with "- "), not ${describeNode(rv)}`,
        'rules.rules-not-list',
      );
    else if (rv !== null && isSeq(rv))
      rv.items.forEach((item, i) => {
        const n = r.deref(item);
        if (n === null) return;
        const ctx: RuleContext = {
          chain: name,
          index: i + 1,
          defaultId: `${name}-${i + 1}`,
          chainKey: false,
          sets,
          interfaces,
        };
        const rr = readFwRule(r, n, ctx);
        if (rr === null) return;
        if (family !== null && rr.rule.family !== null && rr.rule.family !== family)
          r.error(
            n,
            `rule ${rr.rule.id} matches IPv${rr.rule.family} packets only, and chain ${name} is of family ${fam} (IPv${family} only): it could never match; move it to a chain of family ip${rr.rule.family === 6 ? '6' : ''} or inet`,
            'rules.family-clash',
          );
        rules.push(rr);
      });
  }
  return {
    chain: {
      name,
      hook: hook ?? null,
      type: hook ? type : 'filter',
      priority,
      policy,
      rules: rules.map((x) => x.rule),
      pos,
      ...(fe && fam !== null ? { family } : {}),
    },
    rules,
  };
}

function readPolicy(r: Reader, e: Entry | undefined, what: string): PolicyVerdict | null {
  if (!e) return null;
  const v = e.value;
  if (v !== null && isScalar(v) && typeof v.value === 'string' && /^(reject|refuse)$/i.test(v.value.trim())) {
    r.error(
      e.at,
      `${what} reject: an nft chain's policy is accept or drop; write policy: drop and end the chain with a rule { action: reject }`,
      'rules.bad-firewall-policy',
    );
    return null;
  }
  return r.oneOf(e, what, POLICIES, {}, RULE_SYNONYMS);
}

const PRIORITY_HELP = `a whole number, or an nft priority name (${Object.entries(PRIORITY_NAMES)
  .map(([k, v]) => `${k} ${v}`)
  .join(', ')}) with an optional offset ("dstnat + 5", "filter - 10")`;

/** Priority names nft takes on one hook only (its other names go anywhere). */
const NAME_HOOK: Readonly<Record<string, Hook>> = { dstnat: 'prerouting', srcnat: 'postrouting' };

function readPriority(
  r: Reader,
  e: Entry | undefined,
  name: string,
  hook: Hook | null,
  type: ChainType,
): number | null {
  if (!e) return null;
  const v = e.value;
  let p: number | null = null;
  if (v !== null && isScalar(v) && typeof v.value === 'number' && Number.isInteger(v.value)) p = v.value;
  else if (v !== null && isScalar(v) && typeof v.value === 'string') {
    const s = v.value.trim();
    const mm = /^([a-z]+)\s*(?:([+-])\s*([0-9]+))?$/.exec(s);
    if (/^[+-]?[0-9]+$/.test(s)) p = Number(s);
    else if (mm !== null && Object.hasOwn(PRIORITY_NAMES, mm[1])) {
      p = PRIORITY_NAMES[mm[1]] + (mm[2] === undefined ? 0 : (mm[2] === '-' ? -1 : 1) * Number(mm[3]));
      const only = NAME_HOOK[mm[1]];
      if (only !== undefined && hook !== null && hook !== only) {
        // As nft: "invalid priority expression value in this context" (measured on every hook).
        r.error(
          e.at,
          `chain ${name}: nft takes the priority name ${mm[1]} only on the ${only} hook, not on ${hook}; write the number: priority: ${p}`,
          'rules.bad-priority',
        );
        return null;
      }
    } else if (mm !== null) {
      r.error(
        e.at,
        `chain ${name}: priority ${quoted(mm[1])} is not an nft priority name${didYouMean(mm[1], Object.keys(PRIORITY_NAMES))} (allowed: ${PRIORITY_HELP})`,
        'rules.bad-priority',
      );
      return null;
    }
  }
  if (p === null) {
    r.error(e.at, `chain ${name}: priority must be ${PRIORITY_HELP}, not ${describeNode(v)}`, 'rules.bad-priority');
    return null;
  }
  if (p < -0x80000000 || p > 0x7fffffff) {
    r.error(e.at, `chain ${name}: priority ${p} is out of range (a 32-bit signed number)`, 'rules.bad-priority');
    return null;
  }
  // A filter chain before conntrack (raw) sees every packet as ct state invalid; the kernel refuses a nat chain there.
  if (p <= CONNTRACK_PRIORITY && type === 'nat') {
    r.error(
      e.at,
      `chain ${name}: a nat chain at priority ${p} would run before connection tracking (${CONNTRACK_PRIORITY}), which NAT needs; the kernel refuses it (EOPNOTSUPP): give a priority above ${CONNTRACK_PRIORITY}`,
      'rules.priority-before-conntrack',
    );
    return null;
  }
  return p;
}

// --- rules: beside interfaces: ---------------------------------------------------

/**
 * The simple model's rules on a firewall with interfaces: base chains
 * input, forward and output (filter, priority 0), each opened by the
 * stateful preamble, then the file's rules in their chain.
 */
function simpleChains(
  r: Reader,
  root: ParsedNode,
  m: ReadonlyMap<string, Entry>,
  top: SimpleTop,
  sets: ReadonlyMap<string, NamedSet>,
  interfaces: Firewall['interfaces'],
): ReadChain[] {
  for (const [k, v] of [
    ['policy', top.policy],
    ['output_policy', top.outputPolicy],
  ] as const) {
    const e = m.get(k);
    if (v === 'reject' && e)
      r.error(
        e.at,
        `${k}: reject: with interfaces:, the chains are nft's, whose policy is accept or drop; write ${k}: drop and end the rules with { action: reject${k === 'output_policy' ? ', chain: output' : ''} }`,
        'rules.bad-firewall-policy',
      );
  }
  const re = m.get('rules');
  const pos = r.nodePos(re?.key ?? root);
  const names: Chain[] = ['input', 'forward', 'output'];
  const chains = new Map<Chain, ReadChain>();
  for (const name of names) {
    const policy: PolicyVerdict = (name === 'output' ? top.outputPolicy : top.policy) === 'accept' ? 'accept' : 'drop';
    const c: ReadChain = {
      chain: { name, hook: name, type: 'filter', priority: 0, policy, rules: [], pos },
      rules: [],
    };
    if (top.stateful) for (const r of preamble(name, pos)) c.chain.rules.push(r);
    chains.set(name, c);
  }
  if (!re) {
    r.error(
      root,
      'missing rules: list; add rules: (the rules of the input, forward and output chains), or chains:',
      'rules.missing-rules',
    );
    return names.map((n) => chains.get(n)!);
  }
  const v = re.value;
  if (v === null || !isSeq(v)) {
    const hint = v !== null && isScalar(v) && v.value === null ? '; write rules: [] for no rules' : '';
    r.error(
      re.at,
      `rules must be a list of rules (each item starting with "- "), not ${describeNode(v)}${hint}`,
      'rules.rules-not-list',
    );
    return names.map((n) => chains.get(n)!);
  }
  const fallback: Chain = top.hostModel ? 'input' : 'forward';
  v.items.forEach((item, i) => {
    const n = r.deref(item);
    if (n === null) return;
    const ctx: RuleContext = {
      chain: fallback,
      index: i + 1,
      defaultId: `rule-${i + 1}`,
      chainKey: true,
      sets,
      interfaces,
    };
    const rr = readFwRule(r, n, ctx);
    if (rr === null) return;
    const c = chains.get(rr.chainGiven ?? fallback)!;
    rr.rule.chain = c.chain.name;
    rr.rule.index = c.chain.rules.length + 1;
    c.chain.rules.push(rr.rule);
    c.rules.push(rr);
  });
  return names.map((n) => chains.get(n)!);
}

/** `ct state established,related accept; ct state invalid drop`, as the simple model's stateful preamble. */
function preamble(chain: string, pos: SourcePos): FwRule[] {
  const base = { ...emptyRuleBody(), idGiven: false, chain, pos };
  return [
    { ...base, id: 'established', index: 1, ctState: ['established', 'related'], action: 'accept' },
    { ...base, id: 'invalid', index: 2, ctState: ['invalid'], action: 'drop' },
  ];
}
