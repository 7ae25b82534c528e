/**
 * `fwemu test`: policy tests users keep in their own CI.
 *
 * A test is one of:
 *   - a scenario file (YAML with `scenario:`) that also has `rules:` and `expect:`;
 *   - NAME.expect.yaml beside a capture NAME.pcap / NAME.pcapng, with `rules:`
 *     and `expect:` (and optionally `capture:` to name another file).
 * Paths in `rules:` and `capture:` are relative to the test file.
 */
import type { ClockStats } from '../engine/clock.js';
import { existsSync } from 'node:fs';
import { dirname, resolve, relative } from 'node:path';
import { Document, isMap, isScalar, isSeq, type Node as YNode } from 'yaml';
import { loadRuleFiles, NO_HOST, type HostOptions } from '../rules/import/load-rules.js';
import type { CtEntry } from '../conntrack/entry.js';
import { replay, type PacketSource } from '../engine/replay.js';
import { causeName } from '../engine/result.js';
import { DiagnosticsError } from '../base/errors.js';
import { expandPaths } from '../base/find-files.js';
import { inputDisplayName, readHead, readInputFile, STDIN_PATH } from '../base/input-file.js';
import { aliasBomb, describeNode, parseDocumentBounded, tooDeepMessage } from '../base/yaml-nodes.js';
import { describePacket } from '../packet/describe.js';
import { endpoint } from '../report/packet-text.js';
import { describeTuple, explain } from '../report/reason.js';
import { didYouMean } from '../base/suggest.js';
import { formatDiagnostic, type Diagnostic, type SourcePos } from '../base/diag.js';
import { YamlReader } from '../base/yaml-reader.js';
import type { PolicyCode } from './codes.js';
import { generate, parseScenario, synthSource, type Scenario } from '../synth/index.js';
import {
  parseExpectations,
  STYLE,
  type ConntrackExpectation,
  type Expectation,
  type PacketExpectation,
  type PacketRange,
} from './expect.js';

/** What the expectations are checked against: one row per packet. */
export interface PacketOutcome {
  n: number;
  verdict: string;
  ct: string | null;
  /** The rule that decided, or that opened the packet's flow. */
  rule: string | null;
  cause: string;
  reason: string;
  /** Its conntrack entry's original tuple and TCP state ("tcp a:1 -> b:2 ESTABLISHED"), or null. */
  flow: string | null;
  /** The packet's own endpoints, both ways: "tcp a:1 -> b:2" and "tcp b:2 -> a:1". */
  tuple: string;
  reverse: string;
  /** The packet created its conntrack entry. */
  opened: boolean;
}

export interface PolicyRun {
  packets: PacketOutcome[];
  /** Step names (and numbers) → packet numbers; for a named flow, every packet of it. */
  steps: Map<string, number[]>;
  /** Conntrack tables ("tcp a:1 -> b:2 STATE" per entry) after chosen packets; key 0 = the end. */
  tables: Map<number, string[]>;
}

export interface Failure {
  pos: SourcePos;
  text: string;
  message: string;
}

export interface TestResult {
  file: string;
  expectations: number;
  packets: number;
  failures: Failure[];
  /** The capture clock's jumps and backward steps (engine/clock.ts); null when stateless. */
  clock: ClockStats | null;
  /** What was replayed: the capture's path, or the test file for a scenario. */
  source: string;
}

function entryKey(e: CtEntry): string {
  return `${describeTuple(e.orig)}${e.tcpStateName ? ` ${e.tcpStateName}` : ''}`;
}

// ---------------------------------------------------------------------------
// Checking

function checkPacket(e: PacketExpectation, p: PacketOutcome): string | null {
  const diffs: string[] = [];
  if (e.verdict !== undefined && p.verdict !== e.verdict) diffs.push(`verdict ${p.verdict}, expected ${e.verdict}`);
  if (e.ct !== undefined) {
    const ct = p.ct ?? 'none';
    // The packet that opens a connection is `new` by definition; `ct: established`
    // on a step or flow speaks of the connection it opened.
    const openerOk = e.ct === 'established' && ct === 'new' && p.opened && e.select.kind !== 'packet';
    if (ct !== e.ct && !openerOk) diffs.push(`ct ${ct}, expected ${e.ct}`);
  }
  if (e.rule !== undefined && p.rule !== e.rule) diffs.push(`rule ${p.rule ?? 'none'}, expected ${e.rule ?? 'none'}`);
  if (e.reason !== undefined) {
    const ok = p.cause === e.reason || p.reason.toLowerCase().includes(e.reason.toLowerCase());
    if (!ok) diffs.push(`reason "${p.cause}", expected "${e.reason}"`);
  }
  if (diffs.length === 0) return null;
  return `packet ${p.n}: ${diffs.join('; ')} (${p.reason})`;
}

/** Packet numbers of ranges, lazily: a range as wide as the user likes costs nothing until checked. */
function* inRanges(ranges: readonly PacketRange[]): Generator<number> {
  for (const r of ranges) for (let n = r.lo; n <= r.hi; n++) yield n;
}

function selectPackets(e: PacketExpectation, run: PolicyRun): Iterable<number> | string {
  switch (e.select.kind) {
    case 'packet':
      return inRanges(e.select.packets);
    case 'step': {
      const nums = run.steps.get(e.select.step);
      if (!nums)
        return `no step or flow named "${e.select.step}" (known: ${[...run.steps.keys()].filter((k) => !/^\d+$/.test(k)).join(', ') || 'none; this test has no scenario steps'})`;
      return nums;
    }
    case 'flow': {
      const re = e.select.pattern;
      const nums = run.packets
        .filter((p) => (p.flow !== null && re.test(p.flow)) || re.test(p.tuple) || re.test(p.reverse))
        .map((p) => p.n);
      return nums.length ? nums : `no packet belongs to a flow matching "${e.select.flow}"`;
    }
  }
}

function checkConntrack(e: ConntrackExpectation, run: PolicyRun): string | null {
  const table = run.tables.get(e.at ?? 0);
  const where = e.at ? `after packet ${e.at}` : 'at the end';
  if (!table) return `no conntrack table ${where} (the replay has ${run.packets.length} packets, or tracking is off)`;
  const shown = table.length ? table.join('; ') : 'empty';
  if (e.count !== undefined && table.length !== e.count)
    return `${table.length} entries ${where}, expected ${e.count} (${shown})`;
  for (const h of e.has)
    if (!table.some((k) => h.pattern.test(k))) return `no entry matches "${h.text}" ${where} (${shown})`;
  for (const l of e.lacks) {
    const hit = table.find((k) => l.pattern.test(k));
    if (hit) return `entry "${hit}" matches "${l.text}" ${where}, expected none`;
  }
  return null;
}

/** The first difference of each expectation that does not hold. */
export function checkExpectations(expectations: Expectation[], run: PolicyRun): Failure[] {
  const failures: Failure[] = [];
  for (const e of expectations) {
    let message: string | null;
    if (e.type === 'conntrack') {
      message = checkConntrack(e, run);
    } else {
      const sel = selectPackets(e, run);
      message = null;
      if (typeof sel === 'string') message = sel;
      else {
        for (const n of sel) {
          const p = run.packets[n - 1];
          message = p ? checkPacket(e, p) : `packet ${n} does not exist (the replay has ${run.packets.length} packets)`;
          if (message) break;
        }
      }
    }
    if (message) failures.push({ pos: e.pos, text: e.text, message });
  }
  return failures;
}

// ---------------------------------------------------------------------------
// Loading and running

interface TestSpec {
  file: string;
  rules: string[];
  /** A capture path, or the scenario whose packets are the test's traffic. */
  capture: string | null;
  scenario: Scenario | null;
  expectations: Expectation[];
}

/** Policy-test files are small; anything bigger is a mistake (or an attack) and refused before parsing. */
const MAX_TEST_FILE_BYTES = 1024 * 1024;

/** A policy test that cannot run: every problem found in its file, positioned. */
export class PolicyTestError extends DiagnosticsError {
  constructor(file: string, diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'), file, diagnostics);
    this.name = 'PolicyTestError';
  }
}

function parseSideFile(file: string, text: string): { doc: Document; rd: YamlReader<PolicyCode> } {
  const rd = new YamlReader<PolicyCode>(text, file, STYLE);
  const parsed = parseDocumentBounded(text, { lineCounter: rd.lc, prettyErrors: false });
  if (parsed.doc === null) {
    rd.errorAt(rd.posOf(parsed.deep), tooDeepMessage(), 'yaml.too-deep');
    return { doc: new Document(), rd };
  }
  const doc = parsed.doc;
  for (const e of doc.errors) rd.errorAt(rd.posOf(e.pos[0]), e.message.split('\n')[0], 'yaml.syntax');
  if (rd.errors === 0) {
    const bomb = aliasBomb(doc, 100);
    if (bomb !== null) {
      rd.error(
        bomb.first,
        `too many YAML alias expansions (${bomb.message}); policy tests may use anchors and aliases, but not to build huge structures`,
        'yaml.alias-bomb',
      );
    }
  }
  return { doc, rd };
}

const SIDE_KEYS = ['rules', 'capture', 'expect'] as const;

/** A NAME.expect.yaml is a mapping of rules:, capture: and expect:; anything else is a typo worth naming. */
function checkSideKeys(doc: Document, rd: YamlReader<PolicyCode>): void {
  const root = doc.contents as YNode | null;
  if (!isMap(root)) {
    rd.error(
      root,
      `a policy test is a mapping with rules: and expect: (see README, "Policy tests"), not ${describeNode(root)}`,
      'policy.not-a-mapping',
    );
    return;
  }
  for (const pair of root.items) {
    const key = pair.key as YNode | null;
    const name = isScalar(key) ? key.value : undefined;
    if (typeof name !== 'string') {
      rd.error(
        key,
        `keys must be plain names, not ${describeNode(key)} (allowed: ${SIDE_KEYS.join(', ')})`,
        'yaml.bad-key',
      );
    } else if (!(SIDE_KEYS as readonly string[]).includes(name)) {
      rd.error(
        key,
        `unknown key "${name}"${didYouMean(name, SIDE_KEYS)} (allowed: ${SIDE_KEYS.join(', ')})`,
        'yaml.unknown-key',
      );
    }
  }
}

function readSpec(path: string, stdin?: Uint8Array): TestSpec {
  // '-' is standard input, read once: paths in it are relative to the current directory.
  const file = inputDisplayName(path);
  const input = readInputFile(path, MAX_TEST_FILE_BYTES, 'policy test', stdin);
  if ('error' in input) throw new PolicyTestError(file, [input.error]);
  const text = input.text;
  const isScenario = /^scenario\s*:/m.test(text) && !/\.expect\.ya?ml$/.test(file);
  // A scenario is validated in full by the synth loader, whose document we reuse.
  const scenario = isScenario ? parseScenario(text, file) : null;
  const { doc, rd } = scenario
    ? { doc: scenario.doc, rd: new YamlReader<PolicyCode>(text, file, STYLE, scenario.lineCounter) }
    : parseSideFile(file, text);
  const errors = rd.diags;
  if (errors.length) throw new PolicyTestError(file, errors);
  if (!scenario) checkSideKeys(doc, rd);
  const expectations = parseExpectations(doc, text, file, rd.lc, errors);
  const dir = path === STDIN_PATH ? '.' : dirname(file);
  const top = { file, line: 1, col: 1 };
  // One rule file, or the files of one ruleset ([rules.v4, rules.v6]); a ruleset or host file as -r takes them.
  const rulesNode = doc.get('rules', true) as YNode | undefined;
  const rulesItems = isSeq(rulesNode) ? (rulesNode.items as YNode[]) : rulesNode === undefined ? [] : [rulesNode];
  const rules: string[] = [];
  if (rulesNode === undefined || (isScalar(rulesNode) && rulesNode.value === null) || rulesItems.length === 0)
    rd.error(
      rulesNode,
      'a policy test names its rule file: rules: path/to/rules.yaml (relative to this file), or the files of a ruleset: rules: [rules.v4, rules.v6]',
      'policy.missing-rules',
    );
  else
    for (const n of rulesItems) {
      if (isScalar(n) && typeof n.value === 'string' && n.value.trim() !== '') rules.push(n.value);
      else
        rd.error(
          n,
          `rules: takes the path of a rule file, ruleset or host file (relative to this file), or a list of them, not ${describeNode(n)}`,
          'policy.bad-path',
        );
    }
  if (expectations.length === 0 && errors.length === 0) {
    rd.errorAt(top, 'a policy test needs an expect: list (see README, "Policy tests")', 'policy.missing-expect');
  }
  let capture: string | null = null;
  if (!scenario) {
    const named = doc.get('capture');
    const namedNode = doc.get('capture', true) as YNode | undefined;
    if (namedNode !== undefined && typeof named !== 'string') {
      rd.error(
        namedNode,
        `capture: takes the path of a capture (relative to this file), not ${describeNode(namedNode)}`,
        'policy.bad-path',
      );
    }
    const base = file.replace(/\.expect\.ya?ml$/, '');
    if (path === STDIN_PATH && typeof named !== 'string') {
      rd.errorAt(
        top,
        'a policy test read from standard input names its capture: capture: path/to/capture.pcap (relative to the current directory)',
        'policy.missing-capture',
      );
      throw new PolicyTestError(file, errors);
    }
    // A capture named is read as named, and a missing one reported as every input is (rules: likewise);
    // one found by the test's name is looked for.
    const candidates = [`${base}.pcap`, `${base}.pcapng`];
    capture =
      typeof named === 'string'
        ? relative(process.cwd(), resolve(dir, named))
        : (candidates.find((c) => existsSync(c)) ?? null);
    if (!capture)
      rd.errorAt(top, `no capture for this test: looked for ${candidates.join(' and ')}`, 'policy.missing-capture');
  }
  if (errors.length) throw new PolicyTestError(file, errors);
  return { file, rules: rules.map((r) => relative(process.cwd(), resolve(dir, r))), capture, scenario, expectations };
}

/** How the rules of every test are loaded: the host description and --lenient of `fwemu test`. */
export interface PolicyRuleOptions {
  host: HostOptions;
  lenient: boolean;
}

/** Runs the policy test at `path` ('-': standard input, or `stdin` when given; reported as <stdin>). */
export async function runPolicyTest(
  path: string,
  stdin?: Uint8Array,
  ruleOpts: PolicyRuleOptions = { host: NO_HOST, lenient: false },
): Promise<TestResult> {
  const spec = readSpec(path, stdin);
  const file = spec.file;
  const steps = new Map<string, number[]>();
  let source: PacketSource = spec.capture ?? '';
  if (spec.scenario) {
    const out = generate(spec.scenario);
    for (const s of out.steps) {
      steps.set(String(s.index), s.packets);
      if (s.name) steps.set(s.name, s.packets);
    }
    for (const [name, conn] of out.conns) steps.set(name, conn.packets);
    source = synthSource(out);
  }
  const wanted = new Set<number>(spec.expectations.flatMap((e) => (e.type === 'conntrack' && e.at ? [e.at] : [])));
  const tables = new Map<number, string[]>();
  const packets: PacketOutcome[] = [];
  const summary = await replay({
    rules: loadRuleFiles(spec.rules, ruleOpts.host, { lenient: ruleOpts.lenient }).ruleset,
    source,
    onPacket: (r, p, _rec, engine) => {
      const info = describePacket(p);
      const proto = info.proto ?? '?';
      const a = endpoint(info.src, info.sport);
      const b = endpoint(info.dst, info.dport);
      const entry = r.entry as CtEntry | null;
      packets.push({
        n: r.n,
        verdict: r.verdict,
        ct: r.ct,
        rule: r.rule?.id ?? r.fwRule?.id ?? null,
        cause: causeName(r.cause),
        reason: explain(r, p, engine.compiled),
        flow: entry ? entryKey(entry) : null,
        tuple: `${proto} ${a} -> ${b}`,
        reverse: `${proto} ${b} -> ${a}`,
        opened: entry?.openedBy?.packet === r.n,
      });
      if (wanted.has(r.n) && engine.ct) tables.set(r.n, engine.ct.entries(engine.now).map(entryKey));
    },
  });
  const engine = summary.engine;
  if (engine.ct) tables.set(0, engine.ct.entries(engine.now).map(entryKey));
  return {
    file,
    expectations: spec.expectations.length,
    packets: packets.length,
    failures: checkExpectations(spec.expectations, { packets, steps, tables }),
    clock: summary.clock,
    source: spec.capture ?? file,
  };
}

// ---------------------------------------------------------------------------
// Discovery

function isTestFile(path: string): boolean {
  if (/\.expect\.ya?ml$/.test(path)) return true;
  if (!/\.ya?ml$/.test(path)) return false;
  // Its head only: a YAML file of any size is never read whole to find out.
  const head = readHead(path, MAX_TEST_FILE_BYTES);
  if (head === null) return false;
  return /^scenario\s*:/m.test(head) && /^expect\s*:/m.test(head) && /^rules\s*:/m.test(head);
}

/** Every policy test under the given files and directories, sorted. */
export function discoverTests(paths: string[]): string[] {
  return expandPaths(paths, isTestFile, 'policy test file');
}
