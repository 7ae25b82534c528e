/**
 * Policy expectations: what a replay must produce, written next to the
 * traffic (in a scenario file, or in a NAME.expect.yaml beside a capture).
 *
 *   expect:
 *     - { step: a1, verdict: accept, ct: established }     # every packet of a step / connection
 *     - { packet: 17, verdict: drop, reason: policy }
 *     - { flow: "tcp 10.1.0.2:* -> 10.2.0.1:8080", verdict: accept }
 *     - { conntrack: { count: 2, has: "tcp 10.1.0.3:* -> 10.2.0.1:8080 ESTABLISHED" } }
 *
 * Parsing keeps every expectation's line:column so a failure points at the
 * line that states it.
 */
import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node as YNode, type Pair } from 'yaml';
import type { Diagnostic, SourcePos } from '../base/diag.js';
import { YamlReader } from '../base/yaml-reader.js';
import type { PolicyCode } from './codes.js';
import { didYouMean } from '../base/suggest.js';
import { CAUSE_WORDS } from '../engine/result.js';

export const VERDICTS = ['accept', 'drop', 'reject', 'skip'] as const;
export const CT_STATES = ['new', 'established', 'related', 'invalid', 'untracked', 'none'] as const;

const SELECTORS = ['step', 'packet', 'flow', 'conntrack'] as const;
const PACKET_CHECKS = ['verdict', 'ct', 'rule', 'reason'] as const;
const CONNTRACK_CHECKS = ['count', 'has', 'lacks', 'at'] as const;

export type Selector =
  | { kind: 'step'; step: string }
  | { kind: 'packet'; packets: PacketRange[] }
  | { kind: 'flow'; flow: string; pattern: RegExp };

export interface PacketExpectation {
  type: 'packets';
  pos: SourcePos;
  /** The expectation as written, for failure messages. */
  text: string;
  select: Selector;
  verdict?: string;
  ct?: string;
  /** null: the packet must not be decided by (or belong to a flow opened by) any rule. */
  rule?: string | null;
  reason?: string;
}

export interface ConntrackExpectation {
  type: 'conntrack';
  pos: SourcePos;
  text: string;
  /** Packet number after which the table is checked; undefined = the end. */
  at?: number;
  count?: number;
  has: { text: string; pattern: RegExp }[];
  lacks: { text: string; pattern: RegExp }[];
}

export type Expectation = PacketExpectation | ConntrackExpectation;

/**
 * A flow pattern: "tcp 10.1.0.3:* -> 10.2.0.1:8080 ESTABLISHED", any part may
 * be "*"; the state is optional. Matched against "proto src:sport -> dst:dport STATE"
 * (IPv6 addresses in brackets, ICMP as "icmp 10.1.0.2 -> 10.2.0.1 id 7").
 */
export function flowPattern(text: string): RegExp {
  const trimmed = text.trim().replace(/\s+/g, ' ');
  const escaped = trimmed.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^ ]*');
  const hasState = /\s[A-Z_0-9]+$/.test(trimmed);
  return new RegExp(`^${escaped}${hasState ? '' : '( [A-Z_0-9]+)?'}$`);
}

function scalar(node: unknown): unknown {
  return isScalar(node) ? node.value : undefined;
}

/** A value as a message shows it: the scalar as JSON, or what kind of node it is. */
function shown(node: unknown): string {
  if (isScalar(node)) return JSON.stringify(node.value) ?? String(node.value);
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  return 'nothing';
}

function stringList(rd: YamlReader<PolicyCode>, node: YNode | null | undefined, what: string): string[] | null {
  if (isScalar(node) && typeof node.value === 'string') return [node.value];
  if (isSeq(node)) {
    const out: string[] = [];
    for (const item of node.items) {
      if (isScalar(item) && typeof item.value === 'string') out.push(item.value);
      else
        rd.error(
          item as YNode,
          `${what} must be text like "tcp 10.1.0.2:* -> 10.2.0.1:8080 ESTABLISHED"`,
          'policy.bad-flow-pattern',
        );
    }
    return out;
  }
  rd.error(
    node,
    `${what} must be a flow pattern or a list of them, like "tcp 10.1.0.2:* -> 10.2.0.1:8080 ESTABLISHED"`,
    'policy.bad-flow-pattern',
  );
  return null;
}

/** An inclusive range of packet numbers. */
export interface PacketRange {
  lo: number;
  hi: number;
}

const PACKET_HELP = 'a packet number is a whole number from 1, a range "10-12", or a list of them';

/**
 * "17", 17, [3, 4], "10-12" → ranges of packet numbers. Kept as ranges, not
 * expanded: "1-999999999" costs two numbers, and checking it stops at the
 * first packet that differs or does not exist.
 */
function packetNumbers(rd: YamlReader<PolicyCode>, node: YNode | null | undefined): PacketRange[] | null {
  const one = (v: unknown, at: YNode | null | undefined): PacketRange | null => {
    const whole = (x: number, shown: string): number | null => {
      if (x < 1) {
        rd.error(at, `packet ${shown}: packets are numbered from 1; ${PACKET_HELP}`, 'policy.bad-packet-number');
        return null;
      }
      if (!Number.isSafeInteger(x)) {
        rd.error(
          at,
          `packet ${shown}: packet numbers go up to ${Number.MAX_SAFE_INTEGER} (2^53 - 1, the largest whole number counted exactly); ${PACKET_HELP}`,
          'policy.bad-packet-number',
        );
        return null;
      }
      return x;
    };
    if (typeof v === 'number' && Number.isInteger(v)) {
      const n = whole(v, String(v));
      return n === null ? null : { lo: n, hi: n };
    }
    if (typeof v === 'string') {
      const s = v.trim();
      if (/^\d+$/.test(s)) {
        const n = whole(Number(s), s);
        return n === null ? null : { lo: n, hi: n };
      }
      const m = /^(\d+)\s*-\s*(\d+)$/.exec(s);
      if (m) {
        const lo = whole(Number(m[1]), m[1]);
        const hi = lo === null ? null : whole(Number(m[2]), m[2]);
        if (lo === null || hi === null) return null;
        if (lo > hi) {
          rd.error(
            at,
            `packet range "${s}" is backwards (${lo} is after ${hi}); write "${hi}-${lo}"`,
            'policy.bad-packet-number',
          );
          return null;
        }
        return { lo, hi };
      }
    }
    rd.error(at, `packet ${shown(at)}: ${PACKET_HELP}`, 'policy.bad-packet-number');
    return null;
  };
  if (isSeq(node)) {
    const out: PacketRange[] = [];
    for (const item of node.items) {
      const n = one(scalar(item), item as YNode);
      if (n) out.push(n);
    }
    return out;
  }
  const r = one(scalar(node), node);
  return r === null ? null : [r];
}

function checkEnum(
  rd: YamlReader<PolicyCode>,
  node: YNode | null | undefined,
  key: string,
  allowed: readonly string[],
): string | undefined {
  const v = scalar(node);
  if (typeof v === 'string' && allowed.includes(v)) return v;
  if (!isScalar(node))
    rd.error(node, `${key} must be one of ${allowed.join(', ')}; not ${shown(node)}`, 'value.not-allowed');
  else
    rd.error(
      node,
      `${key} ${shown(node)} is not allowed${typeof v === 'string' ? didYouMean(v, allowed) : ''} (allowed: ${allowed.join(', ')})`,
      'value.not-allowed',
    );
  return undefined;
}

function parseOne(rd: YamlReader<PolicyCode>, item: YNode, source: string): Expectation | null {
  if (!isMap(item)) {
    rd.error(item, 'an expectation is a mapping, like { packet: 17, verdict: drop }', 'policy.expectation-not-mapping');
    return null;
  }
  const pos = rd.nodePos(item);
  const text = source
    .slice(item.range?.[0] ?? 0, item.range?.[1] ?? 0)
    .trim()
    .replace(/\s+/g, ' ');
  const pairs = new Map<string, Pair<YNode, YNode>>();
  for (const pair of item.items as Pair<YNode, YNode>[]) {
    const key = scalar(pair.key);
    if (typeof key !== 'string') {
      rd.error(pair.key, 'expectation keys are words like packet, verdict', 'yaml.bad-key');
      continue;
    }
    pairs.set(key, pair);
  }
  const selectors = SELECTORS.filter((s) => pairs.has(s));
  if (selectors.length !== 1) {
    rd.error(
      item,
      `an expectation names exactly one of ${SELECTORS.join(', ')}${selectors.length ? ` (this one names ${selectors.join(' and ')})` : ''}`,
      'policy.selector-count',
    );
    return null;
  }

  if (selectors[0] === 'conntrack') {
    for (const k of pairs.keys())
      if (k !== 'conntrack')
        rd.error(
          pairs.get(k)!.key,
          `unknown key "${k}" beside conntrack${didYouMean(k, CONNTRACK_CHECKS)}; put checks inside conntrack: { ${CONNTRACK_CHECKS.join(', ')} }`,
          'yaml.unknown-key',
        );
    const body = pairs.get('conntrack')!.value;
    if (!isMap(body)) {
      rd.error(
        body,
        'conntrack: takes a mapping like { count: 2, has: "tcp 10.1.0.3:* -> 10.2.0.1:8080 ESTABLISHED" }',
        'policy.bad-conntrack-check',
      );
      return null;
    }
    const e: ConntrackExpectation = { type: 'conntrack', pos, text, has: [], lacks: [] };
    for (const pair of body.items as Pair<YNode, YNode>[]) {
      const k = scalar(pair.key);
      const v = scalar(pair.value);
      if (k === 'count') {
        if (typeof v === 'number' && Number.isInteger(v) && v >= 0) e.count = v;
        else
          rd.error(
            pair.value,
            `count ${shown(pair.value)}: a whole number of entries from 0`,
            'policy.bad-conntrack-check',
          );
      } else if (k === 'at') {
        const n = packetNumbers(rd, pair.value);
        if (n && n.length === 1 && n[0].lo === n[0].hi) e.at = n[0].lo;
        else if (n) rd.error(pair.value, 'at: one packet number', 'policy.bad-conntrack-check');
      } else if (k === 'has' || k === 'lacks') {
        const list = stringList(rd, pair.value, k);
        if (list) e[k] = list.map((t) => ({ text: t, pattern: flowPattern(t) }));
      } else {
        rd.error(
          pair.key,
          `unknown conntrack check "${String(k)}"${didYouMean(String(k), CONNTRACK_CHECKS)} (allowed: ${CONNTRACK_CHECKS.join(', ')})`,
          'yaml.unknown-key',
        );
      }
    }
    return e;
  }

  const e: PacketExpectation = { type: 'packets', pos, text, select: { kind: 'packet', packets: [] } };
  for (const [k, pair] of pairs) {
    const v = scalar(pair.value);
    switch (k) {
      case 'step':
        if (typeof v === 'string' || typeof v === 'number') e.select = { kind: 'step', step: String(v) };
        else
          rd.error(
            pair.value,
            'step: the name given with `as:` in the scenario, or the step number',
            'policy.bad-selector',
          );
        break;
      case 'packet': {
        const n = packetNumbers(rd, pair.value);
        if (n) e.select = { kind: 'packet', packets: n };
        break;
      }
      case 'flow':
        if (typeof v === 'string') e.select = { kind: 'flow', flow: v, pattern: flowPattern(v) };
        else rd.error(pair.value, 'flow: a pattern like "tcp 10.1.0.2:* -> 10.2.0.1:8080"', 'policy.bad-selector');
        break;
      case 'verdict':
        e.verdict = checkEnum(rd, pair.value, 'verdict', VERDICTS);
        break;
      case 'ct':
        e.ct = checkEnum(rd, pair.value, 'ct', CT_STATES);
        break;
      case 'rule':
        if (v === null || typeof v === 'string') e.rule = v;
        else rd.error(pair.value, 'rule: a rule id, or null for "no rule"', 'policy.bad-check');
        break;
      case 'reason':
        if (typeof v === 'string' && v.length > 0) e.reason = v;
        else
          rd.error(
            pair.value,
            `reason: one of ${CAUSE_WORDS.join(', ')}, or words the reason sentence must contain`,
            'policy.bad-check',
          );
        break;
      default:
        rd.error(
          pair.key,
          `unknown key "${k}" in an expectation${didYouMean(k, [...SELECTORS, ...PACKET_CHECKS])} (allowed: ${[...SELECTORS, ...PACKET_CHECKS].join(', ')})`,
          'yaml.unknown-key',
        );
    }
  }
  if (e.verdict === undefined && e.ct === undefined && e.rule === undefined && e.reason === undefined) {
    rd.error(
      item,
      `this expectation checks nothing: give at least one of ${PACKET_CHECKS.join(', ')}`,
      'policy.checks-nothing',
    );
  }
  return e;
}

/** Policy tests name a second position by file, line and column (as rule files do). */
export const STYLE = {
  files: 'policy tests',
  at: 'file:line:col',
  mergeAdvice: 'write the keys out',
  unknownThenDuplicate: true,
} as const;

/** The `expect:` list of a parsed document; problems go to `errors` with positions. */
export function parseExpectations(
  doc: Document,
  source: string,
  file: string,
  lc: LineCounter,
  errors: Diagnostic[],
): Expectation[] {
  const rd = new YamlReader<PolicyCode>(source, file, STYLE, lc, errors);
  const node = doc.get('expect', true) as YNode | undefined;
  if (node === undefined) return [];
  if (!isSeq(node)) {
    rd.error(
      node,
      'expect: takes a list of expectations, like - { packet: 17, verdict: drop }',
      'policy.expect-not-list',
    );
    return [];
  }
  const out: Expectation[] = [];
  for (const item of node.items) {
    const e = parseOne(rd, item as YNode, source);
    if (e) out.push(e);
  }
  return out;
}
