/**
 * Scenario files (cold path): YAML -> a checked, resolved Scenario.
 *
 * Like rule files, the YAML is read as a node tree so that every problem is
 * reported as "file:line:col: what is wrong; what is allowed". All problems
 * are collected and thrown together as one ScenarioError. Besides the
 * syntax, the steps are walked in order to check what they refer to: hosts,
 * connections named with `as:` (defined earlier, still open), sides, and the
 * address family both ends share.
 */
import { inputDisplayName, readInputFile, tooBig } from '../base/input-file.js';
import { sortDiags } from '../base/diag.js';
import { describeNode } from '../base/yaml-nodes.js';
import { list, YamlReader, type Entry } from '../base/yaml-reader.js';
import { basename, extname } from 'node:path';
import { isMap, isScalar, isSeq, type ParsedNode } from 'yaml';
import { LATEST_TIMESTAMP_SEC, utcString } from '../capture/timestamp.js';
import { parseAddr, formatAddr } from '../packet/addr.js';
import { parseTcpFlags } from '../packet/encode.js';
import { ICMPV6_TYPES, ICMP_TYPES } from '../rules/spec.js';
import { didYouMean } from '../base/suggest.js';
import { hashSeed } from './rng.js';
import {
  SCENARIO_KEYS,
  STEP_TYPES,
  ScenarioError,
  UNREACH_CODES,
  type Endpoint,
  type ExpectEntry,
  type FlowDef,
  type HostDef,
  type ScenarioOptions,
  type Scenario,
  type SeqValue,
  type Side,
  type SourcePos,
  type Step,
  type StepKind,
  type TcpOptionValues,
  type TcpParams,
  type UnreachCode,
} from './types.js';

/** Largest scenario file read (bytes). */
export const MAX_SCENARIO_BYTES = 1024 * 1024;
/** Largest payload one send/udp/packet step may carry. */
export const MAX_SEND_BYTES = 64 * 1024 * 1024;
/** Longest a scenario may last in total (microseconds): 30 days. */
export const MAX_SCENARIO_USEC = 30 * 86_400 * 1_000_000;
/**
 * The latest start: a scenario lasting its longest still ends by the last
 * time fwemu judges (LATEST_TIMESTAMP_SEC, 2174). Written as pcap, times
 * after 2106-02-07T06:28:15Z need a .pcapng name (the writer says so).
 */
export const LATEST_START_SEC = LATEST_TIMESTAMP_SEC - MAX_SCENARIO_USEC / 1e6;
/** Default capture start. */
export const DEFAULT_START = '2026-01-01T00:00:00Z';

const PORT_HELP = 'a port is a whole number 1-65535';
const ENDPOINT_HELP = 'an endpoint is host, host:port, an address (10.1.0.9, fd00:1::9), 10.1.0.9:port or [fd00:1::9]:port';
const MAX_ALIASES = 100;
/** No duration in a scenario (a wait, an RTT) may exceed the whole scenario's limit. */
const MAX_DURATION = { usec: MAX_SCENARIO_USEC, why: 'a scenario lasts at most 30 days' };

/** Parameters each step type takes (besides `as`). The first one is what the shorthand form sets. */
const STEP_PARAMS: Readonly<Record<StepKind, readonly string[]>> = {
  listen: ['on'],
  connect: ['from', 'to', 'family', 'rtt', 'answer', 'retries', 'simultaneous', 'mss', 'window', 'wscale', 'timestamps', 'sack'],
  send: ['conn', 'from', 'bytes', 'data', 'rtt'],
  close: ['conn', 'from', 'half', 'rtt'],
  reset: ['conn', 'from'],
  wait: ['for'],
  packet: [
    'conn', 'from', 'to', 'family', 'proto', 'sport', 'dport', 'flags', 'seq', 'ack', 'window', 'bytes', 'data',
    'ttl', 'ip_id', 'df', 'options', 'type', 'code', 'ident',
  ],
  retransmit: ['conn', 'from', 'ack', 'rtt'],
  udp: ['from', 'to', 'conn', 'family', 'bytes', 'data', 'reply', 'rtt'],
  unreachable: ['about', 'code', 'from', 'side', 'mtu'],
  ping: ['from', 'to', 'family', 'count', 'interval', 'reply', 'bytes', 'ident', 'rtt'],
};

/** What the shorthand value of each step type is (for messages), or null when it has none. */
const SHORTHAND: Readonly<Record<StepKind, string | null>> = {
  listen: 'an endpoint or a list of them, like listen: server:8080',
  connect: '"client -> server:port", like connect: alice -> server:8080',
  send: null,
  close: 'a connection name, like close: a1',
  reset: 'a connection name, like reset: a1',
  wait: 'a duration, like wait: 30s',
  packet: null,
  retransmit: 'a connection name, like retransmit: a1',
  udp: '"client -> server:port", like udp: alice -> server:53',
  unreachable: 'a flow name, like unreachable: u2',
  ping: '"from -> to", like ping: alice -> server',
};

const EXAMPLE: Readonly<Record<StepKind, string>> = {
  listen: 'listen: server:8080',
  connect: 'connect: alice -> server:8080',
  send: 'send: { conn: a1, from: client, bytes: 120 }',
  close: 'close: a1',
  reset: 'reset: a1',
  wait: 'wait: 30s',
  packet: 'packet: { from: server:8080, to: alice:33333, flags: PA }',
  retransmit: 'retransmit: { conn: a1, from: server }',
  udp: 'udp: { from: alice, to: server:53, bytes: 40, reply: true }',
  unreachable: 'unreachable: { about: u2, code: port }',
  ping: 'ping: { from: alice, to: server }',
};

/** Other names people use for unreachable codes. */
const CODE_SYNONYMS: Readonly<Record<string, UnreachCode>> = {
  'net-unreachable': 'net',
  'host-unreachable': 'host',
  'port-unreachable': 'port',
  'prot-unreachable': 'protocol',
  'protocol-unreachable': 'protocol',
  'no-route': 'net',
  'addr-unreachable': 'host',
  'admin-prohibited': 'admin',
  prohibited: 'admin',
  'too-big': 'packet-too-big',
  'frag': 'frag-needed',
  ttl: 'time-exceeded',
  'ttl-exceeded': 'time-exceeded',
};

// ---------------------------------------------------------------------------
// Public entry points

/** Reads and checks a scenario file. Throws ScenarioError (every problem, positioned) when it has errors. */
export function loadScenario(path: string): Scenario {
  const name = inputDisplayName(path);
  const input = readInputFile(path, MAX_SCENARIO_BYTES, 'scenario');
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

// ---------------------------------------------------------------------------

const HOST_NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** A piece of a scalar's text and where it starts in that scalar's value. */
interface Piece {
  text: string;
  node: ParsedNode;
  offset: number;
}

/** An endpoint as written, before the address family is chosen. */
interface EpTok {
  piece: Piece;
  /** Named host, or null for a literal address. */
  host: HostDef | null;
  literal: { text: string; version: 4 | 6 } | null;
  port: number | null;
}

type FlowState = 'open' | 'refused' | 'syn-sent' | 'closed' | 'reset';

/** What the checker knows about a named flow while walking the steps. */
interface FlowCheck {
  def: FlowDef;
  client: Endpoint;
  server: Endpoint;
  state: FlowState;
  fin: { client: boolean; server: boolean };
  /** Where it was closed/reset, for messages. */
  endedAt: SourcePos | null;
  /** Has the server side ever sent a sequence-consuming segment (SYN/ACK)? */
  serverSent: boolean;
  /** Has each side sent any packet (something an ICMP error could quote)? */
  sent: { client: boolean; server: boolean };
}

/** How scenarios word what differs between kinds of YAML files. */
const STYLE = {
  files: 'scenario files',
  at: 'line',
  mergeAdvice: 'write the keys out',
  unknownThenDuplicate: false,
} as const;

class Parser extends YamlReader {
  private readonly hosts = new Map<string, HostDef>();
  private readonly addrOwner = new Map<string, string>();
  /** Every `as:` name in the file (pre-scan), for "used before it is defined". */
  private readonly allNames = new Map<string, { step: number; pos: SourcePos; kind: string }>();
  /** Names defined so far. */
  private readonly names = new Map<string, { step: number; pos: SourcePos; kind: StepKind }>();
  private readonly flows = new Map<string, FlowCheck>();
  private readonly flowDefs = new Map<string, FlowDef>();
  private readonly listening = new Set<string>();
  /** TCP 4-tuples with a fixed client port in use -> connection name. */
  private readonly tuples = new Map<string, string>();
  private options!: ScenarioOptions;
  /** Index of the step being checked. */
  private current = 0;

  constructor(text: string, file: string) {
    super(text, file, STYLE);
  }

  // --- positions ---------------------------------------------------------------

  /** Position of character `offset` of a scalar's value (exact for single-line plain and simply quoted scalars). */
  private piecePos(p: Piece): SourcePos {
    const n = p.node;
    if (!isScalar(n) || !n.range) return this.nodePos(n);
    const start = n.range[0];
    const raw = this.text.slice(start, n.range[1]);
    if (raw.includes('\n')) return this.posOf(start);
    if (n.type === 'PLAIN') return this.posOf(start + p.offset);
    if ((n.type === 'QUOTE_DOUBLE' && !raw.includes('\\')) || (n.type === 'QUOTE_SINGLE' && !raw.includes("''")))
      return this.posOf(start + 1 + p.offset);
    return this.posOf(start);
  }

  private errorIn(p: Piece, message: string): void {
    this.errorAt(this.piecePos(p), message);
  }

  private scalarText(e: Entry, what: string, help: string): Piece | null {
    const v = e.value;
    if (v !== null && isScalar(v) && (typeof v.value === 'string' || typeof v.value === 'number')) {
      const text = String(v.value);
      return { text, node: v, offset: 0 };
    }
    this.error(e.at, `${what} must be ${help}, not ${describeNode(v)}`);
    return null;
  }

  // --- entry --------------------------------------------------------------------------

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
      this.error(root, 'the file is empty; a scenario is a mapping with at least hosts: and steps:');
      return null;
    }
    if (!isMap(root)) {
      this.error(root, `the top level must be a mapping (scenario:, hosts:, steps:, ...), not ${describeNode(root)}`);
      return null;
    }
    const m = this.readMap(root, SCENARIO_KEYS, (k) =>
      (STEP_TYPES as readonly string[]).includes(k)
        ? `"${k}" is a step; put it in the steps: list ("- ${k}: ...")`
        : `unknown top-level key "${k}"${didYouMean(k, SCENARIO_KEYS)} (allowed: ${list(SCENARIO_KEYS)})`,
    );

    const title = this.text1(m.get('scenario'), 'scenario') ?? basename(this.file, extname(this.file));
    const description = this.text1(m.get('description'), 'description');
    const start = this.start(m.get('start'));
    this.options = this.topOptions(m);
    this.hostsSection(m.get('hosts'));
    const steps = this.stepsSection(root, m.get('steps'));
    const expect = this.expectSection(m.get('expect'));
    const re = m.get('rules');
    const rules = re && re.value !== null ? { value: re.value.toJSON(), node: re.value, pos: this.nodePos(re.value) } : null;
    if (this.diags.length > 0) return null;
    return {
      file: this.file,
      title,
      description,
      start,
      options: this.options,
      hosts: [...this.hosts.values()],
      steps,
      flows: this.flowDefs,
      expect,
      rules,
      doc: this.doc,
      lineCounter: this.lc,
    };
  }

  // --- top level ------------------------------------------------------------------------

  private start(e: Entry | undefined): { sec: number; usec: number } {
    const dflt = { sec: Date.parse(DEFAULT_START) / 1000, usec: 0 };
    if (!e) return dflt;
    const v = e.value;
    const range = (sec: number, shown: string): boolean => {
      if (sec < 0) this.error(e.at, `start ${shown} is before 1970-01-01T00:00:00Z; capture times count from 1970`);
      else if (sec > LATEST_START_SEC) {
        this.error(e.at, `start ${shown} is after ${utcString(LATEST_START_SEC)}, the latest start from which a scenario (up to 30 days long) ends by ${utcString(LATEST_TIMESTAMP_SEC)}, the last time fwemu judges packets at`);
      } else return true;
      return false;
    };
    if (v !== null && isScalar(v) && typeof v.value === 'number') {
      if (!Number.isFinite(v.value)) {
        this.error(e.at, `start must be a date and time like 2026-01-01T00:00:00Z, or seconds since 1970, not ${describeNode(v)}`);
        return dflt;
      }
      if (!range(v.value, String(v.value))) return dflt;
      const sec = Math.floor(v.value);
      return { sec, usec: Math.min(Math.round((v.value - sec) * 1e6), 999_999) };
    }
    if (v !== null && isScalar(v) && typeof v.value === 'string') {
      const s = v.value.trim();
      const m = /^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d))?(\.\d{1,9})?(Z|[+-]\d\d:?\d\d)?)?$/i.exec(s);
      if (m) {
        // Each field checked by hand: Date.parse rolls 2026-02-30 over into March 2.
        const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
        const fault = dateFault(year, month, day, m[4] === undefined ? 0 : Number(m[4]), m[5] === undefined ? 0 : Number(m[5]), m[6] === undefined ? 0 : Number(m[6]), m[8]);
        if (fault !== '') {
          this.error(e.at, `start "${s}" is not a possible date and time: ${fault}`);
          return dflt;
        }
        if (m[4] !== undefined && m[8] !== undefined) {
          const zone = m[8].toUpperCase() === 'Z' ? 0 : (m[8][0] === '-' ? -1 : 1) * (Number(m[8].slice(1, 3)) * 60 + Number(m[8].slice(-2)));
          const sec = daysFromCivil(year, month, day) * 86_400 + Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6] ?? 0) - zone * 60;
          if (!range(sec, `"${s}"`)) return dflt;
          const frac = m[7] ? Math.round(Number(`0${m[7]}`) * 1e6) : 0;
          return { sec, usec: Math.min(frac, 999_999) };
        }
      }
      const noZone = /^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?)?)?$/.test(s);
      this.error(e.at, `start "${s}" is not a date and time${noZone ? ' with a time zone (add Z for UTC)' : ''}; write it like 2026-01-01T00:00:00Z, or give seconds since 1970`);
      return dflt;
    }
    this.error(e.at, `start must be a date and time like 2026-01-01T00:00:00Z, not ${describeNode(v)}`);
    return dflt;
  }

  private topOptions(m: Map<string, Entry>): ScenarioOptions {
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
      if (v !== null && isScalar(v) && typeof v.value === 'number' && Number.isInteger(v.value) && v.value >= 0 && v.value <= 0xffffffff) o.seed = v.value;
      else if (v !== null && isScalar(v) && typeof v.value === 'string' && v.value !== '') o.seed = hashSeed(v.value);
      else this.error(se.at, `seed must be a whole number 0-4294967295 or a word, not ${describeNode(v)}`);
    }
    return o;
  }

  private windowValue(e: Entry | undefined): number | null {
    return this.int(e, 'window', 64, 65535 * 2 ** 14, 'the receive window in bytes, 64-1073725440 (above 65535 it needs wscale)');
  }

  /** undefined: not given; null: false (no window scaling). */
  private wscaleValue(e: Entry | undefined): number | null | undefined {
    if (!e) return undefined;
    const v = e.value;
    if (v !== null && isScalar(v) && v.value === false) return null;
    const n = this.int(e, 'wscale', 0, 14, 'a window-scale shift 0-14, or false for no window scaling');
    return n === null ? undefined : n;
  }

  private hostsSection(e: Entry | undefined): void {
    if (!e) return;
    const v = e.value;
    if (v === null || (isScalar(v) && v.value === null)) return;
    if (!isMap(v)) {
      this.error(e.at, `hosts must be a mapping of names to addresses (alice: 10.1.0.2), not ${describeNode(v)}`);
      return;
    }
    const m = this.readMap(v, null, () => '');
    for (const [name, en] of m) {
      if (!HOST_NAME_RE.test(name) || parseAddr(name) !== null) {
        this.error(en.key, `host name "${name}" is not allowed; a host name starts with a letter and has letters, digits, "_", "-" and "." (like alice, web-1)`);
        continue;
      }
      const items: ParsedNode[] = [];
      const val = en.value;
      if (val !== null && isSeq(val)) {
        for (const it of val.items) {
          const n = this.deref(it);
          if (n !== null) items.push(n);
        }
        if (items.length === 0) this.error(en.at, `host ${name} has an empty list of addresses; give an IPv4 and/or IPv6 address`);
      } else if (val !== null && isScalar(val) && val.value !== null) {
        items.push(val);
      } else {
        this.error(en.at, `host ${name} needs an address or a list of addresses (like 10.1.0.2 or [10.1.0.2, fd00:1::2]), not ${describeNode(val)}`);
        continue;
      }
      const addrs: string[] = [];
      for (const n of items) {
        if (!isScalar(n) || typeof n.value !== 'string') {
          this.error(n, `host ${name}: an address must be text like 10.1.0.2 or fd00:1::2, not ${describeNode(n)}`);
          continue;
        }
        const a = parseAddr(n.value.trim());
        if (a === null) {
          const hint = n.value.includes('/') ? ' (a host has addresses, not networks: leave out the /prefix)' : '';
          this.error(n, `host ${name}: "${n.value}" is not an IPv4 or IPv6 address${hint}; write it like 10.1.0.2 or fd00:1::2`);
          continue;
        }
        const canon = formatAddr(a.version, ...a.words);
        const owner = this.addrOwner.get(canon);
        if (owner !== undefined) {
          this.error(n, owner === name ? `host ${name} lists ${canon} twice; give each address once` : `address ${canon} is given to both ${owner} and ${name}; each address belongs to one host`);
          continue;
        }
        this.addrOwner.set(canon, name);
        addrs.push(canon);
      }
      this.hosts.set(name, { name, addrs, pos: this.nodePos(en.key) });
    }
  }

  private expectSection(e: Entry | undefined): ExpectEntry[] | null {
    if (!e) return null;
    const v = e.value;
    if (v === null || (isScalar(v) && v.value === null)) return [];
    if (!isSeq(v)) {
      this.error(e.at, `expect must be a list of expectations (each item starting with "- "), not ${describeNode(v)}`);
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

  // --- steps ------------------------------------------------------------------------------

  private stepsSection(root: ParsedNode, e: Entry | undefined): Step[] {
    if (!e) {
      this.error(root, `missing steps: list; add steps: with what happens, like - ${EXAMPLE.connect}`);
      return [];
    }
    const v = e.value;
    if (v === null || !isSeq(v) || v.items.length === 0) {
      this.error(e.at, `steps must be a non-empty list of steps (each item starting with "- "), not ${isSeq(v) ? 'an empty list' : describeNode(v)}`);
      return [];
    }
    const items = v.items.map((it) => this.deref(it));
    // Pre-scan the as: names so a reference to a later step says so.
    items.forEach((n, i) => {
      if (n === null || !isMap(n)) return;
      for (const p of n.items) {
        if (isScalar(p.key) && p.key.value === 'as') {
          const val = this.deref(p.value);
          if (val !== null && isScalar(val) && typeof val.value === 'string' && !this.allNames.has(val.value)) {
            const kind = n.items.map((q) => (isScalar(q.key) ? String(q.key.value) : '')).find((k) => (STEP_TYPES as readonly string[]).includes(k)) ?? 'step';
            this.allNames.set(val.value, { step: i + 1, pos: this.nodePos(n), kind });
          }
        }
      }
    });
    const steps: Step[] = [];
    let total = 0;
    items.forEach((n, i) => {
      if (n === null) return;
      const s = this.step(n, i + 1);
      if (s !== null) {
        steps.push(s);
        if (s.kind === 'wait') {
          total += s.duration;
          if (total > MAX_SCENARIO_USEC) this.error(n, 'the waits add up to more than 30 days; a scenario lasts at most 30 days');
        }
      }
    });
    return steps;
  }

  private step(n: ParsedNode, index: number): Step | null {
    this.current = index;
    if (!isMap(n)) {
      const hint = isScalar(n) && typeof n.value === 'string' && (STEP_TYPES as readonly string[]).includes(n.value.split(/[\s:]/)[0]) ? ` (write "${n.value.split(/[\s:]/)[0]}: ..." with a colon)` : '';
      this.error(n, `step #${index} must be a mapping like "- ${EXAMPLE.connect}", not ${describeNode(n)}${hint}`);
      return null;
    }
    const typeKeys: { key: string; node: ParsedNode }[] = [];
    const unknown: { key: string; node: ParsedNode }[] = [];
    const knownParams = new Set<string>(['as', ...Object.values(STEP_PARAMS).flat()]);
    for (const p of n.items) {
      const k = this.deref(p.key);
      if (k === null || !isScalar(k)) continue;
      const key = String(k.value);
      if ((STEP_TYPES as readonly string[]).includes(key)) typeKeys.push({ key, node: k });
      else if (!knownParams.has(key)) unknown.push({ key, node: k });
    }
    if (typeKeys.length > 1) {
      this.error(typeKeys[1].node, `step #${index} has two step types, ${typeKeys[0].key} and ${typeKeys[1].key}; give each its own "- " item`);
      return null;
    }
    if (typeKeys.length === 0) {
      if (unknown.length > 0) {
        for (const u of unknown) this.error(u.node, `unknown step type "${u.key}"${didYouMean(u.key, STEP_TYPES)} (allowed: ${list(STEP_TYPES)})`);
      } else {
        this.error(n, `step #${index} has no step type; start it with one of: ${list(STEP_TYPES)}`);
      }
      return null;
    }
    const kind = typeKeys[0].key as StepKind;
    const allowed = STEP_PARAMS[kind];
    const siblingAllowed = ['as', kind, ...allowed];
    const params = new Map<string, Entry>();
    let typeEntry: Entry | null = null;
    const sib = this.readMap(n, siblingAllowed, (k) => `${kind} has no parameter "${k}"${didYouMean(k, siblingAllowed)} (allowed: as, ${list(allowed)})`);
    for (const [k, e] of sib) {
      if (k === kind) typeEntry = e;
      else params.set(k, e);
    }
    if (typeEntry === null) return null;
    // The type key's value: a mapping of parameters or the shorthand.
    const tv = typeEntry.value;
    if (tv !== null && isMap(tv)) {
      const inner = this.readMap(tv, allowed, (k) =>
        k === 'as'
          ? `as: names the step; put it next to "${kind}:", not inside it`
          : `${kind} has no parameter "${k}"${didYouMean(k, allowed)} (allowed: ${list(allowed)})`,
      );
      for (const [k, e] of inner) {
        const dup = params.get(k);
        if (dup) {
          this.error(e.key, `${kind}: ${k} is given twice (also at ${this.fmt(this.nodePos(dup.key))}); give it once`);
          continue;
        }
        params.set(k, e);
      }
    } else if (tv === null || (isScalar(tv) && tv.value === null)) {
      this.error(typeEntry.at, `${kind} needs a value; like ${EXAMPLE[kind]}`);
      return null;
    } else {
      if (SHORTHAND[kind] === null) {
        this.error(typeEntry.at, `${kind} takes a mapping of parameters, like ${EXAMPLE[kind]}; not ${describeNode(tv)}`);
        return null;
      }
      if (kind === 'connect' || kind === 'udp' || kind === 'ping') {
        if (!this.arrowShorthand(kind, typeEntry, params)) return null;
      } else {
        const first = allowed[0];
        const dup = params.get(first);
        if (dup) {
          this.error(dup.key, `${kind}: ${first} is given twice (also as the value of ${kind}); give it once`);
          return null;
        }
        params.set(first, typeEntry);
      }
    }

    const pos = this.nodePos(n);
    const name = this.stepName(params.get('as'), kind);
    const rtt = this.duration(params.get('rtt'), 'rtt', 2, MAX_DURATION);
    const base = { index, name, pos, rtt };
    const before = this.diags.length;
    const step = this.stepBody(kind, base, params, typeEntry);
    if (step === null || this.diags.length > before) return null;
    if (name !== null) this.names.set(name, { step: index, pos, kind });
    return step;
  }

  /** "a -> b" into from/to entries that point into the scalar. */
  private arrowShorthand(kind: StepKind, e: Entry, params: Map<string, Entry>): boolean {
    const v = e.value;
    if (v === null || !isScalar(v) || typeof v.value !== 'string') {
      this.error(e.at, `${kind} must be ${SHORTHAND[kind]} or a mapping with from: and to:, not ${describeNode(v)}${isSeq(v) ? ' (quote an endpoint that starts with "[")' : ''}`);
      return false;
    }
    const s = v.value;
    const i = s.indexOf('->');
    if (i < 0 || s.indexOf('->', i + 2) >= 0) {
      this.error(e.at, `${kind} "${s}" must be ${SHORTHAND[kind]}`);
      return false;
    }
    for (const k of ['from', 'to']) {
      const d = params.get(k);
      if (d) {
        this.error(d.key, `${kind}: ${k} is given twice (also in "${s}"); give it once`);
        return false;
      }
    }
    // Synthetic entries: the value node stays the scalar; the piece offsets are kept aside.
    this.shorthandPieces.set(v, [
      { text: s.slice(0, i), node: v, offset: 0 },
      { text: s.slice(i + 2), node: v, offset: i + 2 },
    ]);
    params.set('from', { key: e.key, value: v, at: v });
    params.set('to', { key: e.key, value: v, at: v });
    return true;
  }

  /** For "a -> b" shorthands: the two pieces of the scalar. */
  private readonly shorthandPieces = new Map<ParsedNode, [Piece, Piece]>();

  /** The text of an endpoint parameter (from/to), as a piece of its scalar. */
  private endpointPiece(e: Entry, which: 'from' | 'to'): Piece | null {
    const v = e.value;
    if (v !== null) {
      const sp = this.shorthandPieces.get(v);
      if (sp) return which === 'from' ? sp[0] : sp[1];
    }
    if (v !== null && isSeq(v)) {
      this.error(e.at, `${which} must be an endpoint, not a list; quote an endpoint that starts with "[": "[fd00::1]:8080"`);
      return null;
    }
    return this.scalarText(e, which, ENDPOINT_HELP);
  }

  private stepName(e: Entry | undefined, kind: StepKind): string | null {
    if (!e) return null;
    const v = e.value;
    if (v === null || !isScalar(v) || (typeof v.value !== 'string' && typeof v.value !== 'number')) {
      this.error(e.at, `as must be a name like a1, not ${describeNode(v)}`);
      return null;
    }
    const name = String(v.value);
    if (!/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(name)) {
      this.error(e.at, `name "${name}" is not allowed; a name starts with a letter and has up to 64 letters, digits, "_", "-" and "."`);
      return null;
    }
    if (name === 'client' || name === 'server') {
      this.error(e.at, `"${name}" cannot be a name: it already means one side of a connection`);
      return null;
    }
    const prev = this.names.get(name);
    if (prev) {
      this.error(e.at, `name "${name}" is already used by the ${prev.kind} step at ${this.fmt(prev.pos)}; names must be unique`);
      return null;
    }
    if (this.hosts.has(name)) {
      this.error(e.at, `name "${name}" is also a host; use a different name for the ${kind} step`);
      return null;
    }
    return name;
  }

  // --- endpoints ---------------------------------------------------------------------------

  /** Parses endpoint text; reports problems; null on error. */
  private endpointTok(p: Piece, what: string, portRule: 'required' | 'optional' | 'none', minPort = 1): EpTok | null {
    const lead = p.text.length - p.text.trimStart().length;
    let text = p.text.trim();
    let offset = p.offset + lead;
    const quoted = /^(["'])(.*)\1$/.exec(text); // connect: alice -> "[fd00::1]:80" (quotes inside a plain value)
    if (quoted) {
      text = quoted[2];
      offset++;
    }
    const piece: Piece = { text, node: p.node, offset };
    if (text === '') {
      this.errorIn(piece, `${what} is missing; ${ENDPOINT_HELP}`);
      return null;
    }
    let addrText: string;
    let portText: string | null = null;
    let portOff = 0;
    const br = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
    if (br) {
      addrText = br[1];
      if (br[2] !== undefined) {
        portText = br[2];
        portOff = br[1].length + 3;
      }
      const a = parseAddr(addrText);
      if (a === null || a.version !== 6) {
        this.errorIn(piece, `"${addrText}" in ${what} is not an IPv6 address; brackets are for IPv6 addresses, like [fd00:1::2]:8080`);
        return null;
      }
    } else if (parseAddr(text) !== null) {
      addrText = text;
    } else {
      const c = text.lastIndexOf(':');
      if (c >= 0) {
        addrText = text.slice(0, c);
        portText = text.slice(c + 1);
        portOff = c + 1;
        if (addrText.includes(':')) {
          this.errorIn(piece, `"${text}" in ${what} is not an endpoint; write an IPv6 address with a port in brackets, like [fd00:1::2]:8080 (quoted in YAML)`);
          return null;
        }
      } else {
        addrText = text;
      }
    }
    let port: number | null = null;
    if (portText !== null) {
      const pp: Piece = { text: portText, node: p.node, offset: piece.offset + portOff };
      if (portRule === 'none') {
        this.errorIn(pp, `${what} takes no port (":${portText}"); give just the host or address`);
        return null;
      }
      if (!/^\d+$/.test(portText)) {
        this.errorIn(pp, `port "${portText}" is not a number${/^[a-z]/i.test(portText) ? ' (service names are not supported)' : ''}; ${PORT_HELP}`);
        return null;
      }
      port = Number(portText);
      if (port < minPort || port > 65535) {
        this.errorIn(pp, `port ${portText} is out of range; ${minPort === 0 ? 'a port is a whole number 0-65535' : PORT_HELP}`);
        return null;
      }
    } else if (portRule === 'required') {
      this.errorIn(piece, `${what} "${text}" needs a port, like ${HOST_NAME_RE.test(text) ? text : parseAddr(text)?.version === 6 ? `[${text}]` : text}:8080`);
      return null;
    }
    const lit = parseAddr(addrText);
    if (lit !== null) {
      return { piece, host: null, literal: { text: formatAddr(lit.version, ...lit.words), version: lit.version }, port };
    }
    const ap: Piece = { text: addrText, node: p.node, offset: piece.offset + (br ? 1 : 0) };
    if (/^[\d.]+$/.test(addrText)) {
      this.errorIn(ap, `"${addrText}" in ${what} is not an IPv4 address; each of its four numbers is 0-255, like 10.1.0.2`);
      return null;
    }
    const host = this.hosts.get(addrText);
    if (!host) {
      const names = [...this.hosts.keys()];
      this.errorIn(
        ap,
        `unknown host "${addrText}"${didYouMean(addrText, names)} (${names.length > 0 ? `hosts: ${list(names)}` : 'no hosts: are defined'}; or give an address like 10.1.0.9)`,
      );
      return null;
    }
    if (host.addrs.length === 0) return null; // its addresses were bad; already reported
    return { piece, host, literal: null, port };
  }

  private candidates(t: EpTok): { text: string; version: 4 | 6 }[] {
    if (t.literal) return [t.literal];
    return t.host!.addrs.map((a) => ({ text: a, version: parseAddr(a)!.version }));
  }

  private endpointOf(t: EpTok, version: 4 | 6): Endpoint | null {
    const c = this.candidates(t).find((x) => x.version === version);
    if (!c) return null;
    return { host: t.literal ? this.addrOwner.get(t.literal.text) ?? null : t.host!.name, addr: c.text, version, port: t.port };
  }

  /** Picks the family both ends share (`family:` if given, else the first one the first end lists). */
  private resolvePair(a: EpTok, b: EpTok, family: 4 | 6 | null, familyNode: ParsedNode | null): [Endpoint, Endpoint] | null {
    const ca = this.candidates(a);
    const cb = this.candidates(b);
    const describe = (t: EpTok, c: { text: string }[]) => (t.host ? `${t.host.name} (${c.map((x) => x.text).join(', ')})` : c[0].text);
    let version: 4 | 6 | null = null;
    if (family !== null) {
      for (const [t, c] of [[a, ca], [b, cb]] as const) {
        if (!c.some((x) => x.version === family)) {
          if (familyNode) this.error(familyNode, `family ${family}: ${describe(t, c)} has no IPv${family} address`);
          else this.errorIn(t.piece, `${describe(t, c)} has no IPv${family} address`);
          return null;
        }
      }
      version = family;
    } else {
      const order = b.literal ? [b.literal.version] : ca.map((x) => x.version);
      version = order.find((v) => ca.some((x) => x.version === v) && cb.some((x) => x.version === v)) ?? null;
      if (version === null) {
        this.errorIn(b.piece, `${describe(a, ca)} and ${describe(b, cb)} share no address family; both ends must be IPv4 or both IPv6`);
        return null;
      }
    }
    return [this.endpointOf(a, version)!, this.endpointOf(b, version)!];
  }

  private familyParam(params: Map<string, Entry>): { family: 4 | 6 | null; node: ParsedNode | null } {
    const e = params.get('family');
    if (!e) return { family: null, node: null };
    const v = e.value;
    if (v !== null && isScalar(v) && (v.value === 4 || v.value === 6 || v.value === 'ipv4' || v.value === 'ipv6' || v.value === 'inet' || v.value === 'inet6')) {
      const f = v.value === 4 || v.value === 'ipv4' || v.value === 'inet' ? 4 : 6;
      return { family: f, node: e.at };
    }
    this.error(e.at, `family must be 4 or 6, not ${describeNode(v)}`);
    return { family: null, node: e.at };
  }

  // --- references ----------------------------------------------------------------------------

  /** A reference to a named flow defined earlier; reports and returns null otherwise. */
  private flowRef(e: Entry | undefined, stepKind: StepKind, what: string, protos: readonly string[] | null): FlowCheck | null {
    if (!e) return null;
    const v = e.value;
    if (v === null || !isScalar(v) || (typeof v.value !== 'string' && typeof v.value !== 'number')) {
      this.error(e.at, `${what} must be the name of a ${protos?.includes('udp') && !protos.includes('tcp') ? 'UDP flow' : 'connection'} (given with as:), not ${describeNode(v)}`);
      return null;
    }
    const name = String(v.value);
    const f = this.flows.get(name);
    if (f) {
      if (protos && !protos.includes(f.def.proto)) {
        const k = f.def.proto === 'tcp' ? 'a TCP connection' : f.def.proto === 'udp' ? 'a UDP flow' : 'a ping';
        this.error(e.at, `${name} is ${k} (line ${f.def.pos.line}); ${stepKind} works on ${protos.map((p) => (p === 'tcp' ? 'TCP connections' : p === 'udp' ? 'UDP flows' : 'pings')).join(' and ')}`);
        return null;
      }
      return f;
    }
    const step = this.names.get(name);
    if (step) {
      this.error(e.at, `${name} names a ${step.kind} step (${this.fmt(step.pos)}), not a connection or flow; ${what} refers to a connect, udp or ping step's as: name`);
      return null;
    }
    const later = this.allNames.get(name);
    if (later && later.step < this.current) return null; // the step that names it has errors of its own (reported there)
    if (later) {
      this.error(e.at, `${name} is used before it is defined: the ${later.kind} step that names it comes later (${this.fmt(later.pos)}); steps run in order`);
      return null;
    }
    const known = [...this.flows.keys()];
    this.error(e.at, `unknown connection "${name}"${didYouMean(name, known)} (${known.length > 0 ? `named so far: ${list(known)}` : 'no connection has been named with as: yet'})`);
    return null;
  }

  /** from: client|server (or the host name of one side). */
  private sideParam(e: Entry | undefined, f: FlowCheck | null, key = 'from', dflt: Side = 'client'): Side {
    if (!e) return dflt;
    const v = e.value;
    if (v !== null && isScalar(v) && typeof v.value === 'string') {
      const s = v.value;
      if (s === 'client' || s === 'server') return s;
      if (f) {
        const c = f.client.host === s || f.client.addr === s;
        const sv = f.server.host === s || f.server.addr === s;
        if (c && !sv) return 'client';
        if (sv && !c) return 'server';
        if (c && sv) {
          this.error(e.at, `${s} is both ends of ${f.def.name}; say client or server`);
          return dflt;
        }
      }
      if (f === null) return dflt; // the connection itself is wrong (reported); don't guess
      this.error(e.at, `${key} "${s}" is not a side${didYouMean(s, ['client', 'server'])}; write client or server${f ? ` (${f.def.name}: client ${f.client.host ?? f.client.addr}, server ${f.server.host ?? f.server.addr})` : ''}`);
      return dflt;
    }
    this.error(e.at, `${key} must be client or server, not ${describeNode(v)}`);
    return dflt;
  }

  /** Payload size from bytes:/data:. */
  private payload(params: Map<string, Entry>, kind: StepKind, dflt: number | null, max = MAX_SEND_BYTES): { bytes: number; data: Uint8Array | null } | null {
    const be = params.get('bytes');
    const de = params.get('data');
    if (be && de) {
      this.error(de.key, `${kind}: give bytes or data, not both (data sets the exact bytes; bytes a size filled with filler)`);
      return null;
    }
    if (de) {
      const t = this.text1(de, 'data');
      if (t === null) return null;
      const data = new TextEncoder().encode(t);
      if (data.length > max) {
        this.error(de.at, `data is ${data.length} bytes; at most ${max}`);
        return null;
      }
      return { bytes: data.length, data };
    }
    if (be) {
      const n = this.int(be, 'bytes', 0, max, `a size in bytes, 0-${max}`);
      if (n === null) return null;
      return { bytes: n, data: null };
    }
    return dflt === null ? null : { bytes: dflt, data: null };
  }

  private stateProblem(f: FlowCheck, side: Side | null): string | null {
    const name = f.def.name;
    switch (f.state) {
      case 'refused':
        return `connection ${name} was refused at ${this.fmt(f.def.pos)} (nothing listens on ${f.server.host ?? f.server.addr}:${f.server.port}; add "- listen: ${f.server.host ?? f.server.addr}:${f.server.port}" before the connect)`;
      case 'syn-sent':
        return `connection ${name} never completed its handshake (its SYN went unanswered, ${this.fmt(f.def.pos)})`;
      case 'closed':
        return `connection ${name} is already closed (${this.fmt(f.endedAt!)})`;
      case 'reset':
        return `connection ${name} was reset (${this.fmt(f.endedAt!)})`;
      default:
        if (side && f.fin[side]) return `the ${side} of ${name} has already closed its side (sent its FIN); it cannot send any more`;
        return null;
    }
  }

  // --- step bodies -----------------------------------------------------------------------------

  private stepBody(kind: StepKind, base: { index: number; name: string | null; pos: SourcePos; rtt: number | null }, params: Map<string, Entry>, typeEntry: Entry): Step | null {
    switch (kind) {
      case 'listen': {
        const on = params.get('on');
        if (!on) {
          this.error(typeEntry.key, `listen needs on:; like ${EXAMPLE.listen}`);
          return null;
        }
        return this.listenStep(base, on);
      }
      case 'connect':
        return this.connectStep(base, params, typeEntry);
      case 'send':
        return this.sendStep(base, params, typeEntry);
      case 'close':
      case 'reset':
      case 'retransmit':
        return this.connStep(kind, base, params, typeEntry);
      case 'wait': {
        if (!params.has('for')) {
          this.error(typeEntry.key, `wait needs for:; like ${EXAMPLE.wait}`);
          return null;
        }
        const d = this.duration(params.get('for'), 'wait', 0, MAX_DURATION);
        return d === null ? null : { kind: 'wait', ...base, duration: d };
      }
      case 'packet':
        return this.packetStep(base, params, typeEntry);
      case 'udp':
        return this.udpStep(base, params, typeEntry);
      case 'unreachable':
        return this.unreachableStep(base, params, typeEntry);
      case 'ping':
        return this.pingStep(base, params, typeEntry);
    }
  }

  private listenStep(base: { index: number; name: string | null; pos: SourcePos; rtt: number | null }, e: Entry): Step | null {
    const v = e.value;
    const nodes: ParsedNode[] = [];
    if (v !== null && isSeq(v)) for (const it of v.items) {
      const n = this.deref(it);
      if (n !== null) nodes.push(n);
    }
    else if (v !== null) nodes.push(v);
    if (nodes.length === 0) {
      this.error(e.at, `listen needs an endpoint or a list of them, like ${EXAMPLE.listen}`);
      return null;
    }
    const sockets: Endpoint[] = [];
    for (const n of nodes) {
      const p = this.scalarText({ key: e.key, value: n, at: n }, 'listen', `${SHORTHAND.listen}`);
      if (p === null) continue;
      const t = this.endpointTok(p, 'listen', 'required');
      if (t === null) continue;
      for (const c of this.candidates(t)) {
        const host = t.host ? t.host.name : this.addrOwner.get(c.text) ?? null;
        sockets.push({ host, addr: c.text, version: c.version, port: t.port });
        this.listening.add(`${c.text}|${t.port}`);
      }
    }
    return { kind: 'listen', ...base, sockets };
  }

  private tcpParams(params: Map<string, Entry>): TcpParams {
    const o = this.options;
    const ws = this.wscaleValue(params.get('wscale'));
    return {
      mss: this.int(params.get('mss'), 'mss', 64, 65495, 'the TCP maximum segment size in bytes, 64-65495') ?? o.mss,
      window: this.windowValue(params.get('window')) ?? o.window,
      wscale: ws === undefined ? o.wscale : ws,
      timestamps: this.bool(params.get('timestamps'), 'timestamps') ?? o.timestamps,
      sack: this.bool(params.get('sack'), 'sack') ?? o.sack,
    };
  }

  private requireParams(kind: StepKind, params: Map<string, Entry>, typeEntry: Entry, names: string[]): boolean {
    const missing = names.filter((k) => !params.has(k));
    if (missing.length === 0) return true;
    this.error(typeEntry.key, `${kind} needs ${missing.map((k) => `${k}:`).join(' and ')}; like ${EXAMPLE[kind]}`);
    return false;
  }

  private connectStep(base: { index: number; name: string | null; pos: SourcePos; rtt: number | null }, params: Map<string, Entry>, typeEntry: Entry): Step | null {
    if (!this.requireParams('connect', params, typeEntry, ['from', 'to'])) return null;
    const fp = this.endpointPiece(params.get('from')!, 'from');
    const tp = this.endpointPiece(params.get('to')!, 'to');
    const { family, node: famNode } = this.familyParam(params);
    const tcp = this.tcpParams(params);
    const simultaneous = this.bool(params.get('simultaneous'), 'simultaneous') ?? false;
    let answer = this.oneOf(params.get('answer'), 'answer', ['accept', 'reset', 'none'] as const);
    const retries = this.int(params.get('retries'), 'retries', 0, 10, 'a number of SYN retransmissions, 0-10') ?? 0;
    if (fp === null || tp === null) return null;
    const ft = this.endpointTok(fp, 'from', 'optional');
    const tt = this.endpointTok(tp, 'to', 'required');
    if (ft === null || tt === null) return null;
    const pair = this.resolvePair(ft, tt, family, famNode);
    if (pair === null) return null;
    const [client, server] = pair;
    if (simultaneous && params.has('answer')) {
      this.error(params.get('answer')!.key, 'answer does not apply to a simultaneous open (both ends send a SYN)');
      return null;
    }
    if (simultaneous) answer = 'accept';
    if (answer === null) answer = this.listening.has(`${server.addr}|${server.port}`) ? 'accept' : 'reset';
    if (params.has('retries') && answer !== 'none') {
      this.error(params.get('retries')!.key, 'retries applies only with answer: none (an unanswered SYN is retransmitted)');
      return null;
    }
    if (client.port !== null) {
      const key = `${client.addr}|${client.port}|${server.addr}|${server.port}`;
      const other = this.tuples.get(key);
      if (other !== undefined) {
        const f = this.flows.get(other);
        if (f && (f.state === 'open' || f.state === 'syn-sent')) {
          this.errorIn(ft.piece, `${ft.piece.text} -> ${tt.piece.text} is still in use by connection ${other} (${this.fmt(f.def.pos)}); close or reset it first, or use another port`);
          return null;
        }
      }
    }
    const step: Step = { kind: 'connect', ...base, client, server, answer, retries, simultaneous, tcp };
    if (base.name !== null) {
      const def: FlowDef = { name: base.name, proto: 'tcp', step: base.index, pos: base.pos };
      this.flowDefs.set(base.name, def);
      this.flows.set(base.name, {
        def,
        client,
        server,
        state: answer === 'accept' ? 'open' : answer === 'reset' ? 'refused' : 'syn-sent',
        fin: { client: false, server: false },
        endedAt: null,
        serverSent: answer === 'accept',
        sent: { client: true, server: answer !== 'none' },
      });
      if (client.port !== null) this.tuples.set(`${client.addr}|${client.port}|${server.addr}|${server.port}`, base.name);
    }
    return step;
  }

  private sendStep(base: { index: number; name: string | null; pos: SourcePos; rtt: number | null }, params: Map<string, Entry>, typeEntry: Entry): Step | null {
    if (!this.requireParams('send', params, typeEntry, ['conn'])) return null;
    const f = this.flowRef(params.get('conn'), 'send', 'conn', ['tcp']);
    const from = this.sideParam(params.get('from'), f);
    if (!params.has('bytes') && !params.has('data')) {
      this.error(typeEntry.key, `send needs bytes: (a size) or data: (the exact text); like ${EXAMPLE.send}`);
      return null;
    }
    const pl = this.payload(params, 'send', null);
    if (f === null || pl === null) return null;
    if (pl.bytes === 0) {
      this.error((params.get('bytes') ?? params.get('data'))!.at, 'send needs at least 1 byte');
      return null;
    }
    const problem = this.stateProblem(f, from);
    if (problem) {
      this.error(params.get('conn')!.at, problem);
      return null;
    }
    return { kind: 'send', ...base, conn: f.def.name, from, bytes: pl.bytes, data: pl.data };
  }

  private connStep(kind: 'close' | 'reset' | 'retransmit', base: { index: number; name: string | null; pos: SourcePos; rtt: number | null }, params: Map<string, Entry>, typeEntry: Entry): Step | null {
    if (!this.requireParams(kind, params, typeEntry, ['conn'])) return null;
    const ce = params.get('conn')!;
    const f = this.flowRef(ce, kind, kind === 'close' ? 'close' : kind === 'reset' ? 'reset' : 'retransmit', ['tcp']);
    const from = this.sideParam(params.get('from'), f);
    const half = kind === 'close' ? this.bool(params.get('half'), 'half') ?? false : false;
    const ack = kind === 'retransmit' ? this.bool(params.get('ack'), 'ack') ?? true : true;
    if (f === null) return null;
    if (kind === 'retransmit') {
      if (from === 'server' && !f.serverSent) {
        this.error(ce.at, `the server of ${f.def.name} never sent a segment to retransmit (${f.state === 'refused' ? 'the connection was refused' : 'its SYN went unanswered'})`);
        return null;
      }
      return { kind, ...base, conn: f.def.name, from, ack };
    }
    const problem = this.stateProblem(f, kind === 'close' ? from : null);
    if (problem) {
      this.error(ce.at, problem);
      return null;
    }
    if (kind === 'reset') {
      f.state = 'reset';
      f.endedAt = base.pos;
      return { kind, ...base, conn: f.def.name, from };
    }
    const other: Side = from === 'client' ? 'server' : 'client';
    f.fin[from] = true;
    if (!half) f.fin[other] = true;
    if (f.fin.client && f.fin.server) {
      f.state = 'closed';
      f.endedAt = base.pos;
    }
    return { kind, ...base, conn: f.def.name, from, half };
  }

  private seqParam(e: Entry | undefined, what: string, connMode: boolean): SeqValue | null {
    if (!e) return null;
    const v = e.value;
    if (v !== null && isScalar(v) && (typeof v.value === 'number' || typeof v.value === 'string')) {
      const raw = (typeof v.value === 'string' ? v.value : this.text.slice(v.range[0], v.range[1])).trim();
      const m = /^([+-]?)(\d+)$/.exec(raw);
      if (m) {
        const n = Number(m[2]);
        if (m[1] !== '') {
          if (!connMode) {
            this.error(e.at, `${what} ${raw} is relative, which needs conn: (relative to that connection's next ${what === 'seq' ? 'sequence' : 'acknowledgment'} number); give a number 0-4294967295`);
            return null;
          }
          if (n > 0xffffffff) {
            this.error(e.at, `${what} ${raw} is out of range; an offset is at most 4294967295`);
            return null;
          }
          return { relative: true, value: m[1] === '-' ? -n : n };
        }
        if (n <= 0xffffffff) return { relative: false, value: n };
      }
    }
    this.error(e.at, `${what} must be a number 0-4294967295${connMode ? ', or +N / -N relative to the connection' : ''}, not ${describeNode(v)}`);
    return null;
  }

  private tcpOptionsParam(e: Entry | undefined): TcpOptionValues | null {
    if (!e) return null;
    const v = e.value;
    if (v === null || !isMap(v)) {
      this.error(e.at, `options must be a mapping like { mss: 1460, wscale: 7, sack_perm: true, timestamps: [1000, 0] }, not ${describeNode(v)}`);
      return null;
    }
    const keys = ['mss', 'wscale', 'sack_perm', 'timestamps'];
    const m = this.readMap(v, keys, (k) => `unknown TCP option "${k}"${didYouMean(k, keys)} (allowed: ${list(keys)})`);
    const o: TcpOptionValues = {};
    const mss = this.int(m.get('mss'), 'mss', 0, 65535);
    if (mss !== null) o.mss = mss;
    const ws = this.int(m.get('wscale'), 'wscale', 0, 255);
    if (ws !== null) o.wscale = ws;
    const sp = this.bool(m.get('sack_perm'), 'sack_perm');
    if (sp !== null) o.sackPermitted = sp;
    const ts = m.get('timestamps');
    if (ts) {
      const tv = ts.value;
      const ok = tv !== null && isSeq(tv) && tv.items.length === 2 && tv.items.every((x) => isScalar(x) && typeof x.value === 'number' && Number.isInteger(x.value) && x.value >= 0 && x.value <= 0xffffffff);
      if (ok) o.timestamps = [(tv.items[0] as { value: number }).value, (tv.items[1] as { value: number }).value];
      else this.error(ts.at, `timestamps must be [TSval, TSecr], two numbers 0-4294967295, not ${describeNode(tv)}`);
    }
    return o;
  }

  private packetStep(base: { index: number; name: string | null; pos: SourcePos; rtt: number | null }, params: Map<string, Entry>, typeEntry: Entry): Step | null {
    const ce = params.get('conn');
    const connMode = ce !== undefined;
    const f = connMode ? this.flowRef(ce, 'packet', 'conn', ['tcp', 'udp']) : null;
    if (connMode && f === null) return null;
    const step: Step = {
      kind: 'packet',
      ...base,
      conn: f ? f.def.name : null,
      from: 'client',
      src: null,
      dst: null,
      proto: f ? (f.def.proto as 'tcp' | 'udp') : 'tcp',
      sport: null,
      dport: null,
      flags: null,
      seq: null,
      ack: null,
      window: null,
      bytes: 0,
      data: null,
      ttl: this.int(params.get('ttl'), 'ttl', 0, 255),
      ipId: this.int(params.get('ip_id'), 'ip_id', 0, 65535),
      df: this.bool(params.get('df'), 'df'),
      options: null,
      icmpType: null,
      icmpCode: null,
      ident: null,
      icmpSeq: null,
    };
    if (connMode) {
      for (const k of ['to', 'proto', 'sport', 'dport', 'family', 'type', 'code', 'ident']) {
        const e = params.get(k);
        if (e) this.error(e.key, `packet with conn: takes addresses, ports and protocol from ${f!.def.name}; leave out ${k}: (or leave out conn: to give every field)`);
      }
      step.from = this.sideParam(params.get('from'), f);
      f!.sent[step.from] = true;
    } else {
      if (!this.requireParams('packet', params, typeEntry, ['from', 'to'])) return null;
      const pe = params.get('proto');
      if (pe) {
        const v = pe.value;
        if (v !== null && isScalar(v) && typeof v.value === 'number' && Number.isInteger(v.value) && v.value >= 0 && v.value <= 255) step.proto = v.value;
        else step.proto = this.oneOf(pe, 'proto', ['tcp', 'udp', 'icmp', 'icmpv6'] as const) ?? 'tcp';
      }
      const ports = step.proto === 'tcp' || step.proto === 'udp';
      const fp = this.endpointPiece(params.get('from')!, 'from');
      const tp = this.endpointPiece(params.get('to')!, 'to');
      const { family, node } = this.familyParam(params);
      const ft = fp && this.endpointTok(fp, 'from', ports ? 'optional' : 'none', 0);
      const tt = tp && this.endpointTok(tp, 'to', ports ? 'optional' : 'none', 0);
      if (!ft || !tt) return null;
      const pair = this.resolvePair(ft, tt, family, node);
      if (!pair) return null;
      [step.src, step.dst] = pair;
      if (step.proto === 'icmp' && step.src.version === 6) step.proto = 'icmpv6';
      if (step.proto === 'icmpv6' && step.src.version === 4) {
        this.error(pe!.at, 'proto icmpv6 needs IPv6 addresses; write icmp for IPv4');
        return null;
      }
      for (const k of ['sport', 'dport'] as const) {
        const e = params.get(k);
        const fromEp = k === 'sport' ? step.src.port : step.dst.port;
        if (e) {
          if (!ports) {
            this.error(e.key, `${k} needs proto tcp or udp`);
            continue;
          }
          const n = this.int(e, k, 0, 65535, 'a port 0-65535');
          if (n !== null && fromEp !== null && n !== fromEp) this.error(e.key, `${k} ${n} contradicts the port in ${k === 'sport' ? 'from' : 'to'} (${fromEp}); give it once`);
          step[k] = n ?? fromEp;
        } else step[k] = fromEp;
      }
      if (ports && step.dport === null) this.error(params.get('to')!.at, `a ${step.proto} packet needs a destination port: to: host:port or dport:`);
      if (step.proto === 'icmp' || step.proto === 'icmpv6') {
        const table = step.proto === 'icmp' ? ICMP_TYPES : ICMPV6_TYPES;
        const te = params.get('type');
        if (te) {
          const v = te.value;
          if (v !== null && isScalar(v) && typeof v.value === 'number') step.icmpType = this.int(te, 'type', 0, 255);
          else step.icmpType = table[this.oneOf(te, 'type', Object.keys(table)) ?? ''] ?? null;
        } else step.icmpType = table['echo-request'];
        step.icmpCode = this.int(params.get('code'), 'code', 0, 255) ?? 0;
        step.ident = this.int(params.get('ident'), 'ident', 0, 65535);
      } else {
        for (const k of ['type', 'code', 'ident']) {
          const e = params.get(k);
          if (e) this.error(e.key, `${k} applies to ICMP packets (proto: icmp or icmpv6)`);
        }
      }
    }
    const isTcp = step.proto === 'tcp';
    const isIcmp = step.proto === 'icmp' || step.proto === 'icmpv6';
    for (const k of ['flags', 'ack', 'window', 'options']) {
      const e = params.get(k);
      if (e && !isTcp) this.error(e.key, `${k} applies to TCP packets${connMode ? ` (${f!.def.name} is ${f!.def.proto.toUpperCase()})` : ' (proto: tcp)'}`);
    }
    const se = params.get('seq');
    if (se && !isTcp && !isIcmp) this.error(se.key, 'seq applies to TCP packets (sequence number) and ICMP echo (sequence)');
    if (isTcp) {
      const fe = params.get('flags');
      if (fe) {
        const v = fe.value;
        if (v !== null && isScalar(v) && (typeof v.value === 'string' || typeof v.value === 'number')) {
          try {
            step.flags = parseTcpFlags(typeof v.value === 'number' ? v.value : v.value.replace(/[\s,|+]/g, ''));
          } catch {
            this.error(fe.at, `flags "${v.value}" are not TCP flags; use letters S (SYN), A (ACK), F (FIN), R (RST), P (PSH), U (URG), E (ECE), C (CWR), like SA or PA`);
          }
        } else this.error(fe.at, `flags must be letters like SA, PA, FA, R, not ${describeNode(v)}`);
      }
      step.seq = this.seqParam(se, 'seq', connMode);
      step.ack = this.seqParam(params.get('ack'), 'ack', connMode);
      step.window = this.int(params.get('window'), 'window', 0, 65535, 'the raw 16-bit window field, 0-65535');
      step.options = this.tcpOptionsParam(params.get('options'));
    } else if (isIcmp && se) {
      step.icmpSeq = this.int(se, 'seq', 0, 65535, 'an echo sequence number 0-65535');
    }
    const pl = this.payload(params, 'packet', 0, 65000);
    if (pl) {
      step.bytes = pl.bytes;
      step.data = pl.data;
    }
    return step;
  }

  private udpStep(base: { index: number; name: string | null; pos: SourcePos; rtt: number | null }, params: Map<string, Entry>, typeEntry: Entry): Step | null {
    const ce = params.get('conn');
    const pl = this.payload(params, 'udp', 32, 65000);
    let reply: number | null = null;
    const re = params.get('reply');
    if (re) {
      const v = re.value;
      if (v !== null && isScalar(v) && typeof v.value === 'boolean') reply = v.value ? -1 : null;
      else reply = this.int(re, 'reply', 0, 65000, 'true, false, or the reply size in bytes (0-65000)');
    }
    if (pl && reply === -1) reply = pl.bytes;
    if (ce) {
      for (const k of ['to', 'family']) {
        const e = params.get(k);
        if (e) this.error(e.key, `udp with conn: continues that flow; leave out ${k}: (from: says which side sends)`);
      }
      const f = this.flowRef(ce, 'udp', 'conn', ['udp']);
      const from = this.sideParam(params.get('from'), f);
      if (f === null || pl === null) return null;
      if (base.name !== null) {
        this.error(params.get('as')!.at, `udp with conn: continues ${f.def.name}; name the flow at the udp step that starts it`);
        return null;
      }
      f.sent[from] = true;
      if (reply !== null) f.sent[from === 'client' ? 'server' : 'client'] = true;
      return { kind: 'udp', ...base, conn: f.def.name, from, client: null, server: null, bytes: pl.bytes, data: pl.data, reply };
    }
    if (!this.requireParams('udp', params, typeEntry, ['from', 'to'])) return null;
    const fp = this.endpointPiece(params.get('from')!, 'from');
    const tp = this.endpointPiece(params.get('to')!, 'to');
    const { family, node } = this.familyParam(params);
    const ft = fp && this.endpointTok(fp, 'from', 'optional');
    const tt = tp && this.endpointTok(tp, 'to', 'required');
    if (!ft || !tt || pl === null) return null;
    const pair = this.resolvePair(ft, tt, family, node);
    if (!pair) return null;
    const [client, server] = pair;
    if (base.name !== null) this.defineFlow(base, 'udp', client, server, reply !== null);
    return { kind: 'udp', ...base, conn: null, from: 'client', client, server, bytes: pl.bytes, data: pl.data, reply };
  }

  private defineFlow(base: { index: number; name: string | null; pos: SourcePos }, proto: FlowDef['proto'], client: Endpoint, server: Endpoint, serverSends: boolean): void {
    const def: FlowDef = { name: base.name!, proto, step: base.index, pos: base.pos };
    this.flowDefs.set(def.name, def);
    this.flows.set(def.name, {
      def,
      client,
      server,
      state: 'open',
      fin: { client: false, server: false },
      endedAt: null,
      serverSent: true,
      sent: { client: true, server: serverSends },
    });
  }

  private unreachableStep(base: { index: number; name: string | null; pos: SourcePos; rtt: number | null }, params: Map<string, Entry>, typeEntry: Entry): Step | null {
    if (!this.requireParams('unreachable', params, typeEntry, ['about'])) return null;
    const f = this.flowRef(params.get('about'), 'unreachable', 'about', null);
    const code = params.has('code') ? this.oneOf(params.get('code'), 'code', UNREACH_CODES, CODE_SYNONYMS) : 'port';
    const se = params.get('side');
    let side: Side | null = null;
    if (se) side = this.sideParam(se, f, 'side');
    const mtu = this.int(params.get('mtu'), 'mtu', 68, 65535, 'the next-hop MTU in bytes, 68-65535');
    if (f === null || code === null) return null;
    if (side !== null && !f.sent[side]) {
      this.error(se!.at, `the ${side} of ${f.def.name} has sent nothing yet, so there is no packet of it to quote`);
      return null;
    }
    let from: Endpoint | null = null;
    const fe = params.get('from');
    if (fe) {
      const p = this.endpointPiece(fe, 'from');
      const t = p && this.endpointTok(p, 'from', 'none');
      if (!t) return null;
      from = this.endpointOf(t, f.client.version);
      if (from === null) {
        this.errorIn(t.piece, `${t.piece.text} has no IPv${f.client.version} address, and ${f.def.name} is IPv${f.client.version}`);
        return null;
      }
    }
    const v6 = f.client.version === 6;
    if (v6 && code === 'protocol') {
      this.error(params.get('code')!.at, 'code protocol exists only in ICMP (IPv4); IPv6 reports an unknown next header with a parameter problem');
      return null;
    }
    if (mtu !== null && code !== 'frag-needed' && code !== 'packet-too-big') {
      this.error(params.get('mtu')!.key, 'mtu applies only to code frag-needed / packet-too-big');
      return null;
    }
    if (v6 && mtu !== null && mtu < 1280) {
      this.error(params.get('mtu')!.at, `mtu ${mtu} is below the IPv6 minimum of 1280`);
      return null;
    }
    return { kind: 'unreachable', ...base, about: f.def.name, code, from, side, mtu: mtu ?? (v6 ? 1280 : 1400) };
  }

  private pingStep(base: { index: number; name: string | null; pos: SourcePos; rtt: number | null }, params: Map<string, Entry>, typeEntry: Entry): Step | null {
    if (!this.requireParams('ping', params, typeEntry, ['from', 'to'])) return null;
    const fp = this.endpointPiece(params.get('from')!, 'from');
    const tp = this.endpointPiece(params.get('to')!, 'to');
    const { family, node } = this.familyParam(params);
    const count = this.int(params.get('count'), 'count', 1, 10000) ?? 1;
    const interval = this.duration(params.get('interval'), 'interval', 1, MAX_DURATION) ?? 1_000_000;
    const reply = this.bool(params.get('reply'), 'reply') ?? true;
    const bytes = this.int(params.get('bytes'), 'bytes', 0, 65000, 'the echo data size in bytes, 0-65000') ?? 56;
    const ident = this.int(params.get('ident'), 'ident', 0, 65535);
    const ft = fp && this.endpointTok(fp, 'from', 'none');
    const tt = tp && this.endpointTok(tp, 'to', 'none');
    if (!ft || !tt) return null;
    const pair = this.resolvePair(ft, tt, family, node);
    if (!pair) return null;
    const [client, server] = pair;
    if (base.name !== null) this.defineFlow(base, client.version === 6 ? 'icmpv6' : 'icmp', client, server, reply);
    return { kind: 'ping', ...base, client, server, count, interval, reply, bytes, ident };
  }
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Why a date and time cannot be (in words), or '' when it can. `zone` is "Z", "+01:00", "-0530" or undefined. */
function dateFault(year: number, month: number, day: number, hour: number, minute: number, second: number, zone: string | undefined): string {
  if (month < 1 || month > 12) return `there is no month ${month} (months are 01-12)`;
  const days = daysInMonth(year, month);
  if (day < 1 || day > days) return `${MONTHS[month - 1]} ${year} has ${days} days, so there is no day ${day}`;
  if (hour > 23) return `there is no hour ${hour} (hours are 00-23)`;
  if (minute > 59) return `there is no minute ${minute} (minutes are 00-59)`;
  if (second === 60) return 'second 60 (a leap second) has no time of its own in Unix time, which capture timestamps count; use :59';
  if (second > 59) return `there is no second ${second} (seconds are 00-59)`;
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const zh = Number(zone.slice(1, 3));
    const zm = Number(zone.slice(-2));
    if (zh > 23 || zm > 59) return `time zone ${zone} is not an offset from UTC (hours 00-23, minutes 00-59)`;
  }
  return '';
}

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}
