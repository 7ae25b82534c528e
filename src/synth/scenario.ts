/**
 * Scenario files (cold path): YAML -> a checked, resolved Scenario.
 *
 * Like rule files, the YAML is read as a node tree so that every problem is
 * reported as "file:line:col: what is wrong; what is allowed". All problems
 * are collected and thrown together as one ScenarioError. Besides the
 * syntax, the steps are walked in order to check what they refer to: hosts,
 * connections named with `as:` (defined earlier, still open), sides, and the
 * address family both ends share.
 *
 * This file reads the top level; scenario/ holds the rest: reader.ts (the
 * reader's state and shared parameter readers), endpoints.ts (hosts and
 * endpoints), flows.ts (the flow-state checker), start.ts, steps.ts (a
 * step's shape) and steps/ (one reader per step kind).
 */
import { basename, extname } from 'node:path';
import { isMap, isScalar, isSeq, type ParsedNode } from 'yaml';
import { sortDiags } from '../base/diag.js';
import { inputDisplayName, readInputFile, tooBig } from '../base/input-file.js';
import { didYouMean } from '../base/suggest.js';
import { describeNode } from '../base/yaml-nodes.js';
import { list, wholeNumberIn, type Entry } from '../base/yaml-reader.js';
import { hashSeed } from './rng.js';
import { readHosts } from './scenario/endpoints.js';
import { MAX_DURATION, ScenarioReader } from './scenario/reader.js';
import { readStart } from './scenario/start.js';
import { readSteps } from './scenario/steps.js';
import {
  SCENARIO_KEYS,
  STEP_TYPES,
  ScenarioError,
  type ExpectEntry,
  type Scenario,
  type ScenarioOptions,
} from './types.js';

/** Largest scenario file read (bytes). */
export const MAX_SCENARIO_BYTES = 1024 * 1024;
const MAX_ALIASES = 100;

// ---------------------------------------------------------------------------
// Public entry points

/**
 * Reads and checks a scenario file ('-': standard input, or `stdin` when
 * given). Throws ScenarioError (every problem, positioned) when it has errors.
 */
export function loadScenario(path: string, stdin?: Uint8Array): Scenario {
  const name = inputDisplayName(path);
  const input = readInputFile(path, MAX_SCENARIO_BYTES, 'scenario', stdin);
  if ('error' in input) throw new ScenarioError(name, [input.error]);
  return parseScenario(input.text, name);
}

/** Parses and checks scenario text; `file` is used in positions and as the default title. */
export function parseScenario(text: string, file: string): Scenario {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_SCENARIO_BYTES) throw new ScenarioError(file, [tooBig(file, bytes, 'scenario', MAX_SCENARIO_BYTES)]);
  const p = new Parser(text, file);
  const s = p.run();
  if (p.diags.length > 0 || s === null) throw new ScenarioError(file, sortDiags(p.diags));
  return s;
}

/** The top level of a scenario: its options, hosts, steps and expectations (each read by its own file in scenario/). */
class Parser extends ScenarioReader {
  run(): Scenario | null {
    const ok = this.parse({
      multipleDocs: 'a scenario file holds one YAML document; remove the "---" line',
      hints: [
        [/:\s*\[[0-9a-fA-F:]*\]:\d/, '; quote an endpoint that starts with "[": "[fd00::1]:8080"'],
        [/[0-9a-fA-F]::?$/, '; an IPv6 address ending in ":" must be quoted ("fd00::")'],
      ],
      warnings: false,
      maxAliases: MAX_ALIASES,
      aliasUsers: 'scenarios',
    });
    if (!ok) return null;
    const root = this.doc.contents as ParsedNode | null;
    if (root === null || (isScalar(root) && root.value === null)) {
      this.error(
        root,
        'the file is empty; a scenario is a mapping with at least hosts: and steps:',
        'scenario.empty-file',
      );
      return null;
    }
    if (!isMap(root)) {
      this.error(
        root,
        `the top level must be a mapping (scenario:, hosts:, steps:, ...), not ${describeNode(root)}`,
        'scenario.not-a-mapping',
      );
      return null;
    }
    // A rule file as the capture: tcpdump's -r habit (fwemu replay -r CAPTURE RULES.yaml).
    const top = new Set(root.items.map((i) => (isScalar(i.key) ? String(i.key.value) : '')));
    if (top.has('rules') && !top.has('hosts') && !top.has('steps')) {
      this.error(
        root,
        'this is a rule file (rules:, and no hosts: or steps:), not a scenario: rule files go after -r, the capture or scenario last (fwemu replay -r RULES.yaml CAPTURE)',
        'scenario.is-rule-file',
      );
      return null;
    }
    const m = this.readMap(root, SCENARIO_KEYS, (k) =>
      (STEP_TYPES as readonly string[]).includes(k)
        ? `"${k}" is a step; put it in the steps: list ("- ${k}: ...")`
        : `unknown top-level key "${k}"${didYouMean(k, SCENARIO_KEYS)} (allowed: ${list(SCENARIO_KEYS)})`,
    );

    const title = this.text1(m.get('scenario'), 'scenario') ?? basename(this.file, extname(this.file));
    const description = this.text1(m.get('description'), 'description');
    const start = readStart(this, m.get('start'));
    this.options = this.topOptions(m);
    readHosts(this, m.get('hosts'));
    const steps = readSteps(this, root, m.get('steps'));
    const expect = this.expectSection(m.get('expect'));
    const re = m.get('rules');
    const rules =
      re && re.value !== null ? { value: re.value.toJSON(), node: re.value, pos: this.nodePos(re.value) } : null;
    if (this.diags.length > 0) return null;
    return {
      file: this.file,
      title,
      description,
      start,
      options: this.options,
      hosts: [...this.hosts.values()],
      steps,
      flows: this.flows.defs,
      expect,
      rules,
      doc: this.doc,
      lineCounter: this.lc,
    };
  }

  topOptions(m: Map<string, Entry>): ScenarioOptions {
    const o: ScenarioOptions = {
      rtt: 10_000,
      mtu: 1500,
      mss: null,
      window: null,
      wscale: 7,
      timestamps: true,
      sack: true,
      ttl: 64,
      link: 'ethernet',
      seed: 1,
    };
    const rtt = this.duration(m.get('rtt'), 'rtt', 2, MAX_DURATION);
    if (rtt !== null) o.rtt = rtt;
    o.mtu = this.int(m.get('mtu'), 'mtu', 1280, 65535, 'the link MTU in bytes, 1280-65535') ?? o.mtu;
    o.mss = this.int(m.get('mss'), 'mss', 64, 65495, 'the TCP maximum segment size in bytes, 64-65495') ?? null;
    o.window = this.windowValue(m.get('window'));
    const ws = this.wscaleValue(m.get('wscale'));
    if (ws !== undefined) o.wscale = ws;
    o.timestamps = this.bool(m.get('timestamps'), 'timestamps') ?? true;
    o.sack = this.bool(m.get('sack'), 'sack') ?? true;
    o.ttl = this.int(m.get('ttl'), 'ttl', 1, 255) ?? 64;
    o.link = this.oneOf(m.get('link'), 'link', ['ethernet', 'raw'] as const) ?? 'ethernet';
    const se = m.get('seed');
    if (se) {
      const v = se.value;
      const n = wholeNumberIn(v, 0, 0xffffffff);
      if (n !== null) o.seed = n;
      else if (v !== null && isScalar(v) && typeof v.value === 'string' && v.value !== '') o.seed = hashSeed(v.value);
      else
        this.error(
          se.at,
          `seed must be a whole number 0-4294967295 or a word, not ${describeNode(v)}`,
          'scenario.bad-seed',
        );
    }
    return o;
  }

  expectSection(e: Entry | undefined): ExpectEntry[] | null {
    if (!e) return null;
    const v = e.value;
    if (v === null || (isScalar(v) && v.value === null)) return [];
    if (!isSeq(v)) {
      this.error(
        e.at,
        `expect must be a list of expectations (each item starting with "- "), not ${describeNode(v)}`,
        'scenario.expect-not-list',
      );
      return null;
    }
    const out: ExpectEntry[] = [];
    for (const it of v.items) {
      const n = this.deref(it);
      if (n === null) continue;
      out.push({ value: n.toJSON(), node: n, pos: this.nodePos(n) });
    }
    return out;
  }
}
