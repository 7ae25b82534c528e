/**
 * Issue 18's rule keys in fwemu YAML (the form `fwemu import` writes):
 * `not:` (conditions whose value test is inverted), `mark:`, `mark_set:`,
 * `fib:` and `notrack:`. The conditions under `not:` are read by the same
 * code as the rule's own (load-fw-rule.ts merges them in); this file says
 * which they are and reads the rest.
 */
import { isMap, isScalar, isSeq, type ParsedNode } from 'yaml';
import { describeNode } from '../base/yaml-nodes.js';
import { didYouMean } from '../base/suggest.js';
import { list, type Entry } from '../base/yaml-reader.js';
import type { FibMatch, MarkMatch, MarkSet, NegatableCondition } from './firewall.js';
import type { Reader } from './fw-read.js';
import {
  FIB_HELP,
  HOP_LIMIT_HELP,
  MARK_HELP,
  parseFib,
  parseHopLimit,
  parseMark,
  parseMarkSet,
} from './fw-meta-values.js';

/** The keys `not:` takes, and the condition each negates. */
export const NOT_KEYS: Readonly<Record<string, NegatableCondition>> = {
  iif: 'iif',
  oif: 'oif',
  src: 'src',
  dst: 'dst',
  sport: 'sport',
  dport: 'dport',
  proto: 'proto',
  type: 'icmp',
  code: 'icmp',
  tcp_flags: 'tcpFlags',
  ct_state: 'ctState',
  ct_status: 'ctStatus',
  pkttype: 'pktType',
  mark: 'mark',
};

/** The rule's keys with those under `not:` merged in, and the names of the negated conditions. */
export interface Negated {
  m: Map<string, Entry>;
  not: NegatableCondition[];
  /** The YAML keys given under not: (proto, type, ...). */
  keys: Set<string>;
}

/** Merge `not:`'s conditions into the rule's keys; a key may be in one place only. */
export function readNot(r: Reader, m: ReadonlyMap<string, Entry>, label: string): Negated {
  const out: Negated = { m: new Map(m), not: [], keys: new Set() };
  const e = m.get('not');
  out.m.delete('not');
  if (!e) return out;
  const allowed = Object.keys(NOT_KEYS);
  if (e.value === null || !isMap(e.value)) {
    r.error(
      e.at,
      `rule ${label}: not: must be a mapping of the conditions to negate (${list(allowed)}), e.g. not: { src: 10.0.0.0/8 }, not ${describeNode(e.value)}`,
      'rules.bad-not',
    );
    return out;
  }
  const inner = r.readMap(
    e.value,
    allowed,
    (k) =>
      `rule ${label}: "${k}" cannot be negated under not:${didYouMean(k, allowed)} (conditions that can: ${list(allowed)})`,
  );
  for (const [k, v] of inner) {
    if (m.has(k)) {
      r.error(
        v.key,
        `rule ${label}: ${k} is given both in the rule and under not:; a condition is either required or negated (use two rules for both)`,
        'rules.bad-not',
      );
      continue;
    }
    out.m.set(k, v);
    out.keys.add(k);
    const c = NOT_KEYS[k];
    if (!out.not.includes(c)) out.not.push(c);
  }
  if (e.value.items.length === 0)
    r.error(e.at, `rule ${label}: not: is empty; give the conditions to negate or leave it out`, 'rules.bad-not');
  return out;
}

/**
 * What a negation cannot mean in one rule: the protocol negated while a
 * port, ICMP type or TCP flag condition needs it, `proto: any` negated, or
 * an ICMP code negated apart from its type (the model negates the two
 * together, as `icmp type . icmp code != ...`).
 */
export function checkNot(r: Reader, n: Negated, label: string): void {
  const at = (k: string) => n.m.get(k)!.key;
  if (n.keys.has('proto')) {
    const v = n.m.get('proto')!.value;
    if (v !== null && isScalar(v) && v.value === 'any')
      r.error(at('proto'), `rule ${label}: proto any under not: matches nothing; leave it out`, 'rules.bad-not');
    for (const k of ['sport', 'dport', 'type', 'code', 'tcp_flags'])
      if (n.m.has(k))
        r.error(
          at('proto'),
          `rule ${label}: proto under not: leaves no protocol for ${k}, which needs it; negate ${k} instead (the protocol stays required)`,
          'rules.bad-not',
        );
  }
  if (n.keys.has('code') !== (n.keys.has('type') && n.m.has('code')))
    r.error(
      at(n.keys.has('code') ? 'code' : 'type'),
      `rule ${label}: an ICMP type and its code are negated together: put both type: and code: under not:, or neither`,
      'rules.bad-not',
    );
}

/** mark:, mark_set:, fib:, notrack: of one rule. */
export interface MetaKeys {
  mark: MarkMatch | null;
  markSet: MarkSet | null;
  fib: FibMatch[] | null;
  /** The fib: value, for hook checks. */
  fibAt: ParsedNode | null;
  notrack: boolean;
  /** hop_limit:, its family still to come from the rule (load-fw-rule.ts writes its text). */
  hopLimit: { lo: number; hi: number; neg: boolean } | null;
  hopLimitAt: ParsedNode | null;
}

function text(v: ParsedNode | null): string | null {
  if (v === null || !isScalar(v)) return null;
  if (typeof v.value === 'string') return v.value;
  if (typeof v.value === 'number' && Number.isInteger(v.value)) return String(v.value);
  return null;
}

export function readMeta(r: Reader, m: ReadonlyMap<string, Entry>, label: string): MetaKeys {
  const out: MetaKeys = {
    mark: null,
    markSet: null,
    fib: null,
    fibAt: null,
    notrack: false,
    hopLimit: null,
    hopLimitAt: null,
  };
  const he = m.get('hop_limit');
  if (he) {
    const t = text(he.value);
    const p = t === null ? null : parseHopLimit(t);
    if (p === null)
      r.error(
        he.at,
        `rule ${label}: hop_limit must be ${HOP_LIMIT_HELP}, not ${describeNode(he.value)}`,
        'rules.bad-hop-limit',
      );
    else if (!p.ok)
      r.error(he.at, `rule ${label}: hop_limit: ${p.error}; give ${HOP_LIMIT_HELP}`, 'rules.bad-hop-limit');
    else {
      out.hopLimit = p.value;
      out.hopLimitAt = he.at;
    }
  }
  const me = m.get('mark');
  if (me) {
    const t = text(me.value);
    const p = t === null ? null : parseMark(t);
    if (p === null)
      r.error(me.at, `rule ${label}: mark must be ${MARK_HELP}, not ${describeNode(me.value)}`, 'rules.bad-mark');
    else if (!p.ok) r.error(me.at, `rule ${label}: mark: ${p.error}; give ${MARK_HELP}`, 'rules.bad-mark');
    else out.mark = p.value;
  }
  const se = m.get('mark_set');
  if (se) {
    const t = text(se.value);
    const p = t === null ? null : parseMarkSet(t);
    const help = `${MARK_HELP}; with a mask only its bits change (mark = (mark & ~mask) ^ value)`;
    if (p === null)
      r.error(se.at, `rule ${label}: mark_set must be ${help}, not ${describeNode(se.value)}`, 'rules.bad-mark');
    else if (!p.ok) r.error(se.at, `rule ${label}: mark_set: ${p.error}; give ${help}`, 'rules.bad-mark');
    else out.markSet = p.value;
  }
  const fe = m.get('fib');
  if (fe) {
    const v = fe.value;
    const items = v !== null && isSeq(v) ? r.items(v) : v !== null ? [v] : [];
    if (items.length === 0) r.error(fe.at, `rule ${label}: fib needs ${FIB_HELP} (one or a list)`, 'rules.bad-fib');
    const fib: FibMatch[] = [];
    for (const item of items) {
      const t = isScalar(item) && typeof item.value === 'string' ? item.value : null;
      if (t === null) {
        r.error(item, `rule ${label}: fib must be ${FIB_HELP}, not ${describeNode(item)}`, 'rules.bad-fib');
        continue;
      }
      const p = parseFib(t);
      if (!p.ok) r.error(item, `rule ${label}: fib "${t}": ${p.error}`, 'rules.bad-fib');
      else fib.push(p.value);
    }
    if (fib.length > 0 && fib.length === items.length) {
      out.fib = fib;
      out.fibAt = fe.at;
    }
  }
  const ne = m.get('notrack');
  if (ne) out.notrack = r.bool(ne, `rule ${label}: notrack`) ?? false;
  return out;
}
