// Seeded fuzzing of fwemu's inputs: captures (pcap, pcapng) through the
// reader, the decoder, the engine and the report code, and rule, scenario and
// policy-test YAML through their loaders.
//
// Used by test/robustness/fuzz.test.ts (a bounded run in CI) and by
// scripts/fuzz.mjs (a longer run). Works on the compiled code in dist/
// (`npx tsc -p .` first). Every case is reproducible from (seed, kind,
// iteration): each has its own random stream.
//
// What counts as a finding:
//   - any exception other than the input's own error class (CaptureError for
//     captures, RuleFileError, ScenarioError, UserError for YAML), or one of
//     those without a proper position;
//   - packet numbers that are not 1, 2, 3, ... in order;
//   - summary counts that do not add up (verdicts, causes, undecodable);
//   - a different outcome for the same bytes read in different chunk sizes;
//   - messages with "undefined", "NaN" or "[object Object]" in them.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CaptureParser } from '../dist/capture/parser.js';
import { CaptureError } from '../dist/capture/types.js';
import { replay } from '../dist/engine/replay.js';
import { Cause, causeName } from '../dist/engine/result.js';
import { UserError } from '../dist/base/errors.js';
import { exportNft } from '../dist/export/nft.js';
import { PacketKind } from '../dist/packet/types.js';
import { runPolicyTest } from '../dist/policy/run.js';
import { formatConntrackEntry } from '../dist/report/conntrack-list.js';
import { replayJsonLine } from '../dist/report/json-line.js';
import { engineFacts, NO_PAINT, replayJson, summaryLines } from '../dist/report/replay-text.js';
import { replayLine } from '../dist/report/text-line.js';
import { formatRuleSet } from '../dist/rules/describe.js';
import { parseRuleSet } from '../dist/rules/load.js';
import { RuleFileError } from '../dist/rules/types.js';
import { generate } from '../dist/synth/generate.js';
import { synthSource } from '../dist/synth/output.js';
import { parseScenario } from '../dist/synth/scenario.js';
import { ScenarioError } from '../dist/synth/types.js';
import { safeJson } from '../dist/base/text-escape.js';
import { injectCase } from './fuzz-inject.mjs'; // hostile strings into exports and text outputs
import { boundsCase } from './fuzz-bounds.mjs';

export const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

// ---------------------------------------------------------------------------
// Randomness

function hash32(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** mulberry32: small, fast, good enough to pick mutations. */
export class Rng {
  constructor(seed) {
    this.s = seed >>> 0;
  }
  /** [0, 1) */
  next() {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n) {
    return Math.floor(this.next() * n);
  }
  /** An integer in [a, b]. */
  range(a, b) {
    return a + this.int(b - a + 1);
  }
  pick(xs) {
    return xs[this.int(xs.length)];
  }
  chance(p) {
    return this.next() < p;
  }
}

export function caseRng(seed, kind, i) {
  return new Rng(hash32(`${seed}/${kind}/${i}`));
}

// ---------------------------------------------------------------------------
// Capture structure: where the units and length fields are

/**
 * The units of a capture (pcap header and records, or pcapng blocks) and its
 * length-like fields, found by walking it as far as it makes sense.
 */
export function layout(buf) {
  const units = [];
  const fields = [];
  const packets = [];
  if (buf.length < 4) return { format: 'unknown', le: true, units, fields, packets };
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const m = dv.getUint32(0, true);
  if (m === 0x0a0d0d0a) {
    let le = true;
    let p = 0;
    while (p + 12 <= buf.length) {
      const type = dv.getUint32(p, le);
      if (type === 0x0a0d0d0a) le = dv.getUint32(p + 8, true) === 0x1a2b3c4d;
      const len = dv.getUint32(p + 4, le);
      if (len < 12 || p + len > buf.length) break;
      units.push({ off: p, len, type });
      fields.push(
        { off: p + 4, size: 4, le, what: 'block length' },
        { off: p + len - 4, size: 4, le, what: 'block trailer' },
      );
      if (type === 6 && len >= 32) {
        fields.push(
          { off: p + 8, size: 4, le, what: 'EPB interface' },
          { off: p + 20, size: 4, le, what: 'EPB caplen' },
          { off: p + 24, size: 4, le, what: 'EPB len' },
        );
        packets.push({ off: p + 28, len: Math.min(dv.getUint32(p + 20, le), len - 32) });
      } else if (type === 1 && len >= 20) {
        fields.push(
          { off: p + 8, size: 2, le, what: 'IDB link type' },
          { off: p + 12, size: 4, le, what: 'IDB snaplen' },
        );
        if (len > 20) fields.push({ off: p + 18, size: 2, le, what: 'IDB first option length' });
      } else if (type === 0x0a0d0d0a && len >= 28) {
        fields.push({ off: p + 12, size: 2, le, what: 'SHB major version' });
      } else if (type === 3 && len >= 16) {
        fields.push({ off: p + 8, size: 4, le, what: 'SPB len' });
        packets.push({ off: p + 12, len: len - 16 });
      }
      p += len;
    }
    return { format: 'pcapng', le, units, fields, packets };
  }
  const le = m === 0xa1b2c3d4 || m === 0xa1b23c4d;
  const be = m === 0xd4c3b2a1 || m === 0x4d3cb2a1;
  if (!le && !be) return { format: 'unknown', le: true, units, fields, packets };
  if (buf.length < 24) return { format: 'pcap', le, units, fields, packets };
  units.push({ off: 0, len: 24, type: -1 });
  fields.push(
    { off: 16, size: 4, le, what: 'snaplen' },
    { off: 20, size: 4, le, what: 'link type' },
    { off: 4, size: 2, le, what: 'major version' },
  );
  let p = 24;
  while (p + 16 <= buf.length) {
    const caplen = dv.getUint32(p + 8, le);
    if (p + 16 + caplen > buf.length) break;
    units.push({ off: p, len: 16 + caplen, type: 0 });
    fields.push(
      { off: p + 8, size: 4, le, what: 'caplen' },
      { off: p + 12, size: 4, le, what: 'len' },
      { off: p + 4, size: 4, le, what: 'subsecond' },
    );
    packets.push({ off: p + 16, len: caplen });
    p += 16 + caplen;
  }
  return { format: 'pcap', le, units, fields, packets };
}

function setField(buf, f, v) {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (f.off + f.size > buf.length) return;
  if (f.size === 2) dv.setUint16(f.off, v & 0xffff, f.le);
  else dv.setUint32(f.off, v >>> 0, f.le);
}

function getField(buf, f) {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return f.size === 2 ? dv.getUint16(f.off, f.le) : dv.getUint32(f.off, f.le);
}

const INTERESTING_U32 = [
  0, 1, 2, 3, 4, 7, 8, 11, 12, 13, 15, 16, 20, 24, 27, 28, 31, 32, 60, 64, 65535, 65536, 262143, 262144, 262145,
  16777216, 16777220, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff,
];
const INTERESTING_U8 = [0, 1, 0x0f, 0x10, 0x40, 0x45, 0x46, 0x4f, 0x50, 0x60, 0x7f, 0x80, 0xf0, 0xff];

function splice(buf, at, del, insert = new Uint8Array(0)) {
  at = Math.max(0, Math.min(at, buf.length));
  del = Math.max(0, Math.min(del, buf.length - at));
  const out = new Uint8Array(buf.length - del + insert.length);
  out.set(buf.subarray(0, at), 0);
  out.set(insert, at);
  out.set(buf.subarray(at + del), at + insert.length);
  return out;
}

/** One mutation of `buf`; `donors` are other valid captures to take units from. Returns [bytes, description]. */
export function mutateCapture(rng, buf, donors) {
  const lay = layout(buf);
  const ops = [
    'bitflip',
    'byte',
    'truncate',
    'field',
    'field',
    'field',
    'duplicate',
    'delete',
    'swap',
    'donor',
    'insert',
    'header',
    'header',
    'header',
  ];
  const op = rng.pick(ops);
  let out = buf.slice();
  switch (op) {
    case 'bitflip': {
      if (out.length === 0) return [out, 'bitflip (empty)'];
      const n = rng.range(1, 8);
      const at = [];
      for (let i = 0; i < n; i++) {
        const bit = rng.int(out.length * 8);
        out[bit >> 3] ^= 1 << (bit & 7);
        at.push(bit >> 3);
      }
      return [out, `flip ${n} bits at bytes ${at.join(',')}`];
    }
    case 'byte': {
      if (out.length === 0) return [out, 'byte (empty)'];
      const at = rng.int(out.length);
      const v = rng.chance(0.5) ? rng.pick(INTERESTING_U8) : rng.int(256);
      out[at] = v;
      return [out, `byte ${at} = ${v}`];
    }
    case 'truncate': {
      // Near a unit boundary half the time: the interesting places.
      let at = rng.int(out.length + 1);
      if (lay.units.length && rng.chance(0.5)) {
        const u = rng.pick(lay.units);
        at = Math.max(0, Math.min(out.length, u.off + rng.range(-4, 20)));
      }
      return [out.subarray(0, at).slice(), `truncate at ${at}`];
    }
    case 'field': {
      if (!lay.fields.length) return mutateCapture(rng, buf, donors);
      const f = rng.pick(lay.fields);
      const old = getField(out, f);
      const choices = [
        rng.pick(INTERESTING_U32),
        old + rng.range(-8, 8),
        old ^ (1 << rng.int(f.size * 8)),
        rng.int(2 ** (f.size * 8)),
      ];
      const v = rng.pick(choices) >>> 0;
      setField(out, f, v);
      return [out, `${f.what} at ${f.off}: ${old} -> ${f.size === 2 ? v & 0xffff : v}`];
    }
    case 'duplicate':
    case 'delete':
    case 'swap': {
      const units = lay.units.filter((u) => u.off > 0 || lay.format === 'pcapng');
      if (units.length < 2) return mutateCapture(rng, buf, donors);
      const a = rng.pick(units);
      if (op === 'duplicate')
        return [splice(out, a.off + a.len, 0, out.slice(a.off, a.off + a.len)), `duplicate unit at ${a.off}`];
      if (op === 'delete') return [splice(out, a.off, a.len), `delete unit at ${a.off} (${a.len} bytes)`];
      const b = rng.pick(units);
      if (b === a) return [splice(out, a.off, a.len), `delete unit at ${a.off}`];
      const [x, y] = a.off < b.off ? [a, b] : [b, a];
      const ub = out.slice(y.off, y.off + y.len);
      const ua = out.slice(x.off, x.off + x.len);
      out = splice(out, y.off, y.len, ua);
      out = splice(out, x.off, x.len, ub);
      return [out, `swap units at ${x.off} and ${y.off}`];
    }
    case 'donor': {
      // A unit of another capture, perhaps of the other format or byte order.
      const d = rng.pick(donors);
      const dl = layout(d);
      const units = dl.units.filter((u) => u.off > 0 || dl.format === 'pcapng');
      if (!units.length) return mutateCapture(rng, buf, donors);
      const u = rng.pick(units);
      const at = lay.units.length && rng.chance(0.8) ? rng.pick(lay.units).off : rng.int(out.length + 1);
      return [
        splice(out, at, 0, d.slice(u.off, u.off + u.len)),
        `insert a ${dl.format} unit (${u.len} bytes) at ${at}`,
      ];
    }
    case 'insert': {
      const n = rng.range(1, 16);
      const bytes = Uint8Array.from({ length: n }, () => rng.int(256));
      const at = rng.int(out.length + 1);
      return [splice(out, at, 0, bytes), `insert ${n} random bytes at ${at}`];
    }
    case 'header': {
      // A byte inside the first 80 bytes of a packet: link, IP and transport headers.
      if (!lay.packets.length) return mutateCapture(rng, buf, donors);
      const p = rng.pick(lay.packets);
      if (p.len <= 0) return mutateCapture(rng, buf, donors);
      const at = p.off + rng.int(Math.min(p.len, 80));
      const v = rng.chance(0.5) ? rng.pick(INTERESTING_U8) : rng.int(256);
      out[at] = v;
      return [out, `packet byte at ${at} (packet offset ${at - p.off}) = ${v}`];
    }
  }
  return [out, 'none'];
}

// ---------------------------------------------------------------------------
// Checks

export class Finding extends Error {}

/**
 * A failure as a finding's text: a Finding's message, or whatever else was thrown with its name and stack.
 * @param {any} err
 */
export function thrownText(err) {
  return err instanceof Finding ? err.message : `${err?.name ?? 'Error'}: ${err?.stack ?? err}`;
}

/** Words that betray a value printed without care. */
const BAD_TEXT = /\bundefined\b|\bNaN\b|\[object Object\]/;
/** YAML's .nan is the number NaN, and may be quoted back as such. */
const BAD_TEXT_NAN_OK = /\bundefined\b|\[object Object\]/;

function check(cond, msg) {
  if (!cond) throw new Finding(msg);
}

function checkText(text, what, source = '') {
  const bad = /\.nan\b/i.test(source) ? BAD_TEXT_NAN_OK : BAD_TEXT;
  check(
    typeof text === 'string' && !bad.test(text),
    `${what} contains undefined/NaN/[object Object]: ${JSON.stringify(text)}`,
  );
}

/** A PacketSource reading `buf` in chunks of the given sizes (cycled). */
function chunkedSource(buf, name, sizes) {
  return async (onRecord) => {
    const parser = new CaptureParser(name, onRecord);
    let i = 0;
    for (let at = 0; at < buf.length; ) {
      const n = Math.max(1, sizes[i++ % sizes.length]);
      parser.push(buf.slice(at, at + n));
      at += n;
    }
    return parser.end();
  };
}

/**
 * Replays `buf` through `rules` (a RuleSet) and checks every invariant.
 * Returns a trace (one line per packet plus the outcome) for comparison
 * between chunkings. Throws Finding (or whatever escaped) on a problem.
 */
export async function replayChecked(buf, name, rules, sizes) {
  const trace = [];
  let expected = 1;
  let undecodable = 0;
  /** @type {import('../dist/engine/engine.js').Engine | null} */
  let lastEngine = null;
  const base = { sec: -1, nsec: 0 };
  let outcome;
  try {
    const summary = await replay({
      rules,
      source: chunkedSource(buf, name, sizes),
      onPacket: (r, p, rec, engine) => {
        lastEngine = engine;
        check(r.n === expected && rec.n === expected, `packet numbered ${r.n} (record ${rec.n}), expected ${expected}`);
        expected++;
        check(['accept', 'drop', 'reject', 'skip'].includes(r.verdict), `verdict ${r.verdict}`);
        check(
          rec.fileOffset >= 0 && rec.fileOffset < buf.length,
          `record ${rec.n} at offset ${rec.fileOffset} outside the ${buf.length}-byte input`,
        );
        // A fragment that cannot be read alone (a first fragment cut inside
        // its transport header, say) is still part of a datagram: the kernel
        // reassembles before it reads transport headers, so it shares the
        // datagram's verdict or is dropped with it.
        const inDatagram = p.isFragment && (r.fragOf > 0 || r.cause === Cause.FRAGMENT);
        if (p.kind === PacketKind.MALFORMED && !inDatagram) {
          check(
            r.verdict === 'skip' && r.cause === Cause.UNDECODABLE,
            `undecodable packet ${r.n} got ${r.verdict}/${causeName(r.cause)}`,
          );
          check(p.error.length > 0, `undecodable packet ${r.n} without a reason`);
          undecodable++;
        }
        if (base.sec < 0) {
          base.sec = rec.tsSec;
          base.nsec = rec.tsNsec;
        }
        // The report code runs on every packet the CLI shows.
        const line = replayLine(r, p, engine, 'relative', base, NO_PAINT);
        checkText(line, `text line of packet ${r.n}`);
        // The jsonl line the CLI writes, against JSON.stringify of the object it stands for.
        const json = replayJsonLine(r, p, rec, engine);
        check(
          json === safeJson(replayJson(r, p, rec, engine)),
          `jsonl line of packet ${r.n} differs from safeJson(replayJson())`,
        );
        trace.push(`${r.n} ${r.verdict} ${causeName(r.cause)} ${r.ct} ${r.detail}`);
      },
    });
    const s = summary.stats;
    const n = expected - 1;
    check(s.packets === n, `stats.packets ${s.packets}, ${n} packets seen`);
    check(summary.capture.records === n, `capture.records ${summary.capture.records}, ${n} packets seen`);
    const v = s.verdicts;
    check(v.accept + v.drop + v.reject + v.skip === n, `verdicts ${JSON.stringify(v)} do not add up to ${n}`);
    const causes = Object.values(s.byCause).reduce((a, b) => a + b, 0);
    check(causes === n, `causes add up to ${causes}, not ${n}`);
    check(
      s.undecodable === undecodable && s.byCause.undecodable === undecodable,
      `undecodable ${s.undecodable}/${s.byCause.undecodable}, counted ${undecodable}`,
    );
    for (const w of summary.capture.warnings) {
      checkText(w.message, 'capture warning');
      check(
        Number.isInteger(w.offset) && w.offset >= 0 && w.offset <= buf.length,
        `warning offset ${w.offset} outside the input: ${w.message}`,
      );
    }
    if (summary.capture.truncated)
      check(
        /cut off/.test(summary.capture.warnings.at(-1)?.message ?? ''),
        'truncated capture whose last warning is not the cut-off',
      );
    for (const l of summaryLines(engineFacts(summary.engine), summary.capture, NO_PAINT)) checkText(l, 'summary line');
    const ct = summary.engine.ct;
    if (ct)
      for (const e of ct.entries(summary.engine.now))
        checkText(formatConntrackEntry(e, summary.engine.now), 'conntrack entry');
    outcome = `ok ${n} ${JSON.stringify(v)} ${summary.capture.truncated} ${summary.capture.warnings.map((w) => `${w.offset}:${w.message}`).join('|')}`;
  } catch (err) {
    if (err instanceof Finding) throw err;
    if (!(err instanceof CaptureError)) throw err;
    check(err.file === name, `CaptureError names ${err.file}, not ${name}`);
    check(
      Number.isInteger(err.offset) && err.offset >= 0 && err.offset <= buf.length,
      `CaptureError offset ${err.offset} outside the ${buf.length}-byte input`,
    );
    check(
      err.message === `${name}: at byte ${err.offset}: ${err.detail}`,
      `CaptureError message not positioned: ${err.message}`,
    );
    checkText(err.message, 'CaptureError');
    if (lastEngine)
      check(lastEngine.stats.packets === expected - 1, 'stats disagree with the packets seen before the error');
    outcome = `error ${err.message}`;
  }
  trace.push(outcome);
  return trace;
}

// ---------------------------------------------------------------------------
// Capture fuzzing

export function loadSeeds() {
  const dir = join(ROOT, 'fixtures');
  return readdirSync(dir)
    .filter((f) => /\.pcap(ng)?$/.test(f))
    .sort()
    .map((f) => ({ name: f, bytes: new Uint8Array(readFileSync(join(dir, f))) }));
}

/** Rule sets a capture is replayed through: the examples, a stateless one, and a tiny table (early drop, table full). */
export function loadRuleSets() {
  const dir = join(ROOT, 'rules');
  const sets = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => parseRuleSet(readFileSync(join(dir, f), 'utf8'), `rules/${f}`).ruleset);
  sets.push(
    parseRuleSet(
      'policy: drop\nstateful: false\nrules:\n  - { id: web, proto: tcp, dport: 8080 }\n  - { id: any-udp, proto: udp }\n',
      'stateless.yaml',
    ).ruleset,
  );
  sets.push(
    parseRuleSet(
      'policy: accept\nconntrack: { max: 3 }\nrules:\n  - { id: no-telnet, proto: tcp, dport: 23, action: reject }\n',
      'tiny-table.yaml',
    ).ruleset,
  );
  return sets;
}

function chunkSizes(rng, len) {
  switch (rng.int(4)) {
    case 0:
      return [Math.max(1, len)];
    case 1:
      return [1];
    case 2:
      return [rng.range(1, 64)];
    default:
      return Array.from({ length: 5 }, () => rng.range(1, 4096));
  }
}

/**
 * One capture case: a seed, 1-3 mutations, replayed in two chunkings that
 * must agree. Returns { ok: true, desc, outcome } or { ok: false, desc,
 * error }, both with the seed's name (`base`), the mutations (`steps`) and
 * the mutated `bytes`.
 */
export async function captureCase(seed, i, seeds, ruleSets) {
  const rng = caseRng(seed, 'capture', i);
  const base = rng.pick(seeds);
  let bytes = base.bytes;
  const steps = [];
  const n = rng.range(1, 3);
  for (let k = 0; k < n; k++) {
    const [b, d] = mutateCapture(
      rng,
      bytes,
      seeds.map((s) => s.bytes),
    );
    bytes = b;
    steps.push(d);
  }
  const rules = rng.pick(ruleSets);
  const desc = `capture #${i}: ${base.name}, ${steps.join('; ')}; rules ${rules.name}`;
  const name = `fuzz-${i}.${base.name.endsWith('.pcapng') ? 'pcapng' : 'pcap'}`;
  try {
    const a = await replayChecked(bytes, name, rules, chunkSizes(rng, bytes.length));
    const b = await replayChecked(bytes, name, rules, chunkSizes(rng, bytes.length));
    const diff = a.findIndex((x, k) => x !== b[k]);
    if (diff >= 0 || a.length !== b.length) {
      return {
        ok: false,
        desc,
        base: base.name,
        steps,
        bytes,
        error: `chunking changes the outcome at trace line ${diff}: ${a[diff]} vs ${b[diff]}`,
      };
    }
    return { ok: true, desc, base: base.name, steps, bytes, outcome: a.at(-1) };
  } catch (err) {
    return { ok: false, desc, base: base.name, steps, bytes, error: thrownText(err) };
  }
}

// ---------------------------------------------------------------------------
// YAML fuzzing

const YAML_VALUES = [
  '',
  '-1',
  '0',
  '1',
  '65535',
  '65536',
  '99999999999999999999',
  '1e400',
  '.nan',
  '.inf',
  '-.inf',
  '~',
  'null',
  'true',
  'no',
  '[]',
  '{}',
  '[1, [2, [3]]]',
  '"',
  "'",
  '|',
  '>',
  '!!binary AAAA',
  '!!js/function x',
  '!!str',
  '!foo bar',
  '*x',
  '&x 1',
  '<<: *x',
  '10.0.0.0/33',
  '::/129',
  'fd00::1/64',
  '10.1.0.0/16',
  '1-0',
  '65535-1',
  '8000-8099',
  '0x50',
  '08',
  '22:22',
  '1_000',
  '"\\u0000"',
  'tcp',
  'udp',
  'icmp',
  'icmpv6',
  'any',
  'S',
  'SFRPAUEC',
  'XYZ',
  '+4294967296',
  '-4294967296',
  '+100',
  'echo-request',
  'port',
  '1000000h',
  '0ms',
  '-5s',
  '30s',
  '1.5',
  'accept',
  'drop',
  'reject',
  'forward',
  'server',
  'alice',
  'server:8080',
  'alice -> server:8080',
  'a1',
  '"%"',
  '? complex',
  '- item',
  'x'.repeat(300),
  '{ conn: a1, from: client, bytes: 5 }',
  '[accept, drop]',
  '2026-13-45T99:00:00Z',
  '\t',
  '#',
];

const YAML_KEYS = [
  'proto',
  'dport',
  'sport',
  'src',
  'dst',
  'action',
  'chain',
  'id',
  'type',
  'code',
  'policy',
  'rules',
  'conntrack',
  'max',
  'tcp_loose',
  'host',
  'stateful',
  'steps',
  'hosts',
  'connect',
  'send',
  'packet',
  'flags',
  'seq',
  'ack',
  'window',
  'bytes',
  'from',
  'to',
  'conn',
  'as',
  'listen',
  'close',
  'reset',
  'wait',
  'udp',
  'ping',
  'unreachable',
  'about',
  'expect',
  'verdict',
  'ct',
  'rule',
  'reason',
  'step',
  'flow',
  'count',
  'has',
  'lacks',
  'at',
  'scenario',
  'rtt',
  'mss',
  'wscale',
  'seed',
  'start',
  'family',
  'answer',
  'retries',
  'simultaneous',
  'link',
  'ttl',
  'dport ',
  'dprt',
  'potocol',
  'Proto',
];

const ALIAS_BOMB =
  'a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n';

/** One text mutation of a YAML file. Returns [text, description]. */
export function mutateYaml(rng, text) {
  const lines = text.split('\n');
  const li = rng.int(lines.length);
  const op = rng.pick([
    'delete',
    'duplicate',
    'swap',
    'indent',
    'value',
    'value',
    'value',
    'key',
    'key',
    'typo',
    'dupkey',
    'insert',
    'truncate',
    'alias',
    'bomb',
    'char',
  ]);
  switch (op) {
    case 'delete':
      lines.splice(li, 1);
      return [lines.join('\n'), `delete line ${li + 1}`];
    case 'duplicate':
      lines.splice(li, 0, lines[li]);
      return [lines.join('\n'), `duplicate line ${li + 1}`];
    case 'swap': {
      const lj = rng.int(lines.length);
      [lines[li], lines[lj]] = [lines[lj], lines[li]];
      return [lines.join('\n'), `swap lines ${li + 1} and ${lj + 1}`];
    }
    case 'indent': {
      const d = rng.pick([-2, -1, 1, 2, 4]);
      lines[li] =
        d > 0
          ? ' '.repeat(d) + lines[li]
          : lines[li].slice(Math.min(-d, lines[li].length - lines[li].trimStart().length));
      return [lines.join('\n'), `indent line ${li + 1} by ${d}`];
    }
    case 'value': {
      // Replace the value after a "key:" (block or flow style).
      const re = /(\b[\w-]+\s*:\s*)([^,{}[\]\n#]*)/g;
      const hits = [...text.matchAll(re)].filter((m) => m[2].trim() !== '');
      if (!hits.length) return mutateYaml(rng, text);
      const m = rng.pick(hits);
      const v = rng.pick(YAML_VALUES);
      const at = m.index + m[1].length;
      return [
        text.slice(0, at) + v + text.slice(at + m[2].length),
        `value at char ${at}: ${JSON.stringify(m[2].trim())} -> ${JSON.stringify(v)}`,
      ];
    }
    case 'key':
    case 'typo': {
      const re = /(^|[\s{,-])([A-Za-z_][\w-]*)(\s*:)/g;
      const hits = [...text.matchAll(re)];
      if (!hits.length) return mutateYaml(rng, text);
      const m = rng.pick(hits);
      const at = m.index + m[1].length;
      let k = m[2];
      if (op === 'key') k = rng.pick(YAML_KEYS);
      else if (k.length > 1) {
        const j = rng.int(k.length - 1);
        k = rng.chance(0.5) ? k.slice(0, j) + k.slice(j + 1) : k.slice(0, j) + k[j + 1] + k[j] + k.slice(j + 2);
      }
      return [text.slice(0, at) + k + text.slice(at + m[2].length), `key at char ${at}: ${m[2]} -> ${k}`];
    }
    case 'dupkey': {
      const m = /^(\s*)(-\s+)?([\w-]+)\s*:.*$/.exec(lines[li]);
      if (!m) return mutateYaml(rng, text);
      const indent = m[1] + (m[2] ? ' '.repeat(m[2].length) : '');
      lines.splice(li + 1, 0, `${indent}${m[3]}: ${rng.pick(YAML_VALUES)}`);
      return [lines.join('\n'), `duplicate key ${m[3]} after line ${li + 1}`];
    }
    case 'insert': {
      const at = rng.int(text.length + 1);
      const t = rng.pick([
        ...YAML_VALUES,
        ': ',
        '- ',
        '\n  ',
        '{',
        '}',
        '[',
        ']',
        ',',
        '&a ',
        '*a',
        '? ',
        '---\n',
        '...\n',
        '%YAML 1.1\n',
      ]);
      return [text.slice(0, at) + t + text.slice(at), `insert ${JSON.stringify(t)} at char ${at}`];
    }
    case 'truncate': {
      const at = rng.int(text.length + 1);
      return [text.slice(0, at), `truncate at char ${at}`];
    }
    case 'alias': {
      const m = /^(\s*)(-\s+)?([\w-]+)\s*:\s*(\S.*)$/.exec(lines[li]);
      if (!m) return mutateYaml(rng, text);
      lines[li] = lines[li].replace(m[4], `&anchor${li} ${m[4]}`);
      const lj = rng.int(lines.length);
      lines.splice(lj, 0, `${m[1]}${m[2] ? ' '.repeat(m[2].length) : ''}aliased: *anchor${li}`);
      return [lines.join('\n'), `anchor line ${li + 1}, alias at line ${lj + 1}`];
    }
    case 'bomb':
      return [ALIAS_BOMB + text, 'alias bomb on top'];
    case 'char': {
      const at = rng.int(text.length + 1);
      const c = rng.pick([
        '\t',
        '\u0000',
        '\u00ff',
        '\ufeff',
        '\r',
        '\u2028',
        '"',
        "'",
        '\\',
        '%',
        '@',
        '`',
        '|',
        '>',
        '!',
      ]);
      return [text.slice(0, at) + c + text.slice(at), `char ${JSON.stringify(c)} at ${at}`];
    }
  }
  return [text, 'none'];
}

function checkDiagnostics(err, name, text, what) {
  const lines = text.split('\n').length;
  check(Array.isArray(err.diagnostics) && err.diagnostics.length > 0, `${what} without diagnostics: ${err.message}`);
  for (const d of err.diagnostics) {
    check(d.file === name, `${what} diagnostic names ${d.file}, not ${name}`);
    check(
      Number.isInteger(d.line) && d.line >= 1 && d.line <= lines + 1,
      `${what} diagnostic at line ${d.line} of a ${lines}-line file: ${d.message}`,
    );
    check(Number.isInteger(d.col) && d.col >= 1, `${what} diagnostic at column ${d.col}: ${d.message}`);
    check(typeof d.message === 'string' && d.message.length > 0, `${what} diagnostic without a message`);
    checkText(d.message, `${what} diagnostic`, text);
  }
}

function readable(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** A small capture to run accepted rule files over. */
/** @type {Uint8Array | null} */
let probe = null;
function probeCapture() {
  probe ??= new Uint8Array(readFileSync(join(ROOT, 'fixtures/http-curl.pcap')));
  return probe;
}

export function loadYamlSeeds() {
  const rules = readdirSync(join(ROOT, 'rules'))
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => ({ name: `rules/${f}`, text: readFileSync(join(ROOT, 'rules', f), 'utf8') }));
  const scenarios = readdirSync(join(ROOT, 'fixtures/scenarios'))
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => ({ name: `fixtures/scenarios/${f}`, text: readFileSync(join(ROOT, 'fixtures/scenarios', f), 'utf8') }));
  const expects = readdirSync(join(ROOT, 'fixtures'))
    .filter((f) => f.endsWith('.expect.yaml'))
    .sort()
    .map((f) => ({ name: `fixtures/${f}`, text: readFileSync(join(ROOT, 'fixtures', f), 'utf8') }));
  return { rules, scenarios, expects };
}

/** One to three mutations of a YAML text, and what each was. */
function mutateYamlTimes(rng, text) {
  const steps = [];
  for (let k = rng.range(1, 3); k > 0; k--) {
    const [t, d] = mutateYaml(rng, text);
    text = t;
    steps.push(d);
  }
  return { text, steps };
}

/** One rule-file case: mutate, load; an accepted file must also compile, print, export and replay. */
export async function ruleCase(seed, i, seeds) {
  const rng = caseRng(seed, 'rules', i);
  const base = rng.pick(seeds.rules);
  const { text, steps } = mutateYamlTimes(rng, base.text);
  const name = `fuzz-rules-${i}.yaml`;
  const desc = `rules #${i}: ${base.name}, ${steps.join('; ')}`;
  try {
    let loaded;
    try {
      loaded = parseRuleSet(text, name);
    } catch (err) {
      if (!(err instanceof RuleFileError)) throw err;
      checkDiagnostics(err, name, text, 'RuleFileError');
      return { ok: true, desc, base: base.name, text, outcome: 'rejected' };
    }
    for (const w of loaded.warnings) checkText(w.message, 'rule warning', text);
    checkText(formatRuleSet(loaded.ruleset, loaded.warnings), 'formatted rule set', text);
    checkText(exportNft(loaded.ruleset), 'nft export', text);
    await replayChecked(probeCapture(), 'http-curl.pcap', loaded.ruleset, [4096]);
    return { ok: true, desc, base: base.name, text, outcome: 'accepted' };
  } catch (err) {
    return { ok: false, desc, base: base.name, text, error: thrownText(err) };
  }
}

/** One scenario case: mutate, parse; an accepted scenario must generate and replay. */
export async function scenarioCase(seed, i, seeds, webRules) {
  const rng = caseRng(seed, 'scenario', i);
  const base = rng.pick(seeds.scenarios);
  const { text, steps } = mutateYamlTimes(rng, base.text);
  const name = `fuzz-scenario-${i}.yaml`;
  const desc = `scenario #${i}: ${base.name}, ${steps.join('; ')}`;
  try {
    let scenario;
    try {
      scenario = parseScenario(text, name);
    } catch (err) {
      if (!(err instanceof ScenarioError)) throw err;
      checkDiagnostics(err, name, text, 'ScenarioError');
      return { ok: true, desc, base: base.name, text, outcome: 'rejected' };
    }
    let out;
    try {
      out = generate(scenario);
    } catch (err) {
      // Only the traffic bound may stop a scenario the checker accepted.
      if (!(err instanceof ScenarioError)) throw err;
      checkDiagnostics(err, name, text, 'ScenarioError from generate');
      return { ok: true, desc, base: base.name, text, outcome: 'too big' };
    }
    const trace = [];
    let expected = 1;
    const summary = await replay({
      rules: webRules,
      source: synthSource(out),
      onPacket: (r) => {
        check(r.n === expected++, `synthesized packet numbered ${r.n}`);
        trace.push(r.verdict);
      },
    });
    check(
      summary.stats.packets === out.packets.length,
      `replayed ${summary.stats.packets} of ${out.packets.length} synthesized packets`,
    );
    check(summary.stats.undecodable === 0, `${summary.stats.undecodable} synthesized packets are undecodable`);
    return { ok: true, desc, base: base.name, text, outcome: `accepted, ${out.packets.length} packets` };
  } catch (err) {
    return { ok: false, desc, base: base.name, text, error: thrownText(err) };
  }
}

/**
 * One policy-test case: a mutated *.expect.yaml (or scenario with rules: and
 * expect:) written to a temporary directory with what it refers to, run as
 * `fwemu test` runs it.
 */
export async function policyCase(seed, i, seeds, workDir) {
  const rng = caseRng(seed, 'policy', i);
  const pool = [
    ...seeds.expects,
    ...seeds.scenarios.filter((s) => /^expect\s*:/m.test(s.text) && /^rules\s*:/m.test(s.text)),
  ];
  const base = rng.pick(pool);
  const dir = join(workDir, `p${i}`);
  mkdirSync(dir, { recursive: true });
  // What the test refers to, by absolute path, so the copy works anywhere.
  let text = base.text.replace(/^rules\s*:\s*(\S+)/m, (_m, p) => `rules: ${resolve(ROOT, base.name, '..', p)}`);
  const isExpect = base.name.endsWith('.expect.yaml');
  const file = join(dir, isExpect ? 'case.expect.yaml' : 'case.yaml');
  if (isExpect)
    writeFileSync(join(dir, 'case.pcap'), readFileSync(join(ROOT, base.name.replace(/\.expect\.yaml$/, '.pcap'))));
  const mutated = mutateYamlTimes(rng, text);
  text = mutated.text;
  const steps = mutated.steps;
  writeFileSync(file, text);
  const desc = `policy #${i}: ${base.name}, ${steps.join('; ')}`;
  try {
    try {
      const r = await runPolicyTest(file);
      for (const f of r.failures) {
        checkText(f.message, 'policy failure', text);
        check(f.pos.line >= 1 && f.pos.col >= 1, `failure without a position: ${f.message}`);
      }
      return { ok: true, desc, base: base.name, text, outcome: r.failures.length ? 'fails' : 'passes' };
    } catch (err) {
      if (err instanceof RuleFileError || err instanceof ScenarioError) {
        checkDiagnostics(err, err.file, err.file === file ? text : readable(err.file), err.name);
        return { ok: true, desc, base: base.name, text, outcome: 'rejected' };
      }
      if (err instanceof UserError) {
        checkText(err.message, 'UserError', text);
        check(
          /:\d+:\d+: /.test(err.message) || /no such file|cannot read/.test(err.message),
          `UserError without a position: ${err.message}`,
        );
        return { ok: true, desc, base: base.name, text, outcome: 'rejected' };
      }
      if (err instanceof CaptureError) return { ok: true, desc, base: base.name, text, outcome: 'rejected' };
      throw err;
    }
  } catch (err) {
    return { ok: false, desc, base: base.name, text, error: thrownText(err) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// A run

/**
 * Runs `iterations` capture cases and a share of YAML cases (rules,
 * scenarios, policy tests: iterations/10 each, at least 20), or with `only`
 * just case number `only` of each kind. `onFinding` gets each failure,
 * `onCase` every case (kind, number, result). Returns counts by kind and
 * outcome.
 * @param {{
 *   seed: number | string, iterations: number, yamlIterations?: number,
 *   onFinding?: (kind: string, res: any) => void,
 *   onCase?: (kind: string, i: number, res: any) => void,
 *   onProgress?: (kind: string, n: number) => void,
 *   kinds?: string[], only?: number | null,
 * }} options
 * @returns {Promise<Record<string, { runs: number, findings: number, outcomes: Record<string, number> }>>}
 */
export async function fuzz({
  seed,
  iterations,
  yamlIterations = iterations === 0 ? 0 : Math.max(20, Math.floor(iterations / 10)),
  onFinding = () => {},
  onCase = () => {},
  onProgress = () => {},
  kinds = ['capture', 'clock', 'rules', 'scenario', 'policy'],
  only = null,
}) {
  const seeds = loadSeeds();
  const ruleSets = loadRuleSets();
  const yamlSeeds = loadYamlSeeds();
  const webRules = ruleSets.find((r) => r.name === 'web-server') ?? ruleSets[0];
  const workDir = mkdtempSync(join(tmpdir(), 'fwemu-fuzz-'));
  /** @type {Record<string, { runs: number, findings: number, outcomes: Record<string, number> }>} */
  const stats = {};
  const tally = (kind, i, res) => {
    onCase(kind, i, res);
    stats[kind] ??= { runs: 0, findings: 0, outcomes: {} };
    const s = stats[kind];
    s.runs++;
    if (!res.ok) {
      s.findings++;
      onFinding(kind, res);
    } else {
      const key = String(res.outcome)
        .replace(/^(ok \d+|error [^:]+:).*$/, '$1')
        .replace(/^ok \d+$/, 'ok')
        .replace(/^error .*$/, 'CaptureError')
        .replace(/, \d+ packets$/, '');
      s.outcomes[key] = (s.outcomes[key] ?? 0) + 1;
    }
  };
  try {
    if (kinds.includes('capture')) {
      for (let i = only ?? 0; i < (only === null ? iterations : only + 1); i++) {
        tally('capture', i, await captureCase(seed, i, seeds, ruleSets));
        if (i % 500 === 499) onProgress('capture', i + 1);
      }
    }
    if (kinds.includes('clock')) {
      const { clockCase } = await import('./fuzz-clock.mjs'); // timestamp extremes
      for (let i = only ?? 0; i < (only === null ? iterations : only + 1); i++)
        tally('clock', i, await clockCase(seed, i, ruleSets));
    }
    if (kinds.includes('frag')) {
      const { fragCase } = await import('./fuzz-frag.mjs'); // held fragments with large gaps
      for (let i = only ?? 0; i < (only === null ? Math.max(10, Math.floor(yamlIterations / 4)) : only + 1); i++)
        tally('frag', i, await fragCase(seed, i));
    }
    for (const kind of ['rules', 'scenario', 'policy', 'inject', 'bounds']) {
      if (!kinds.includes(kind)) continue;
      const n =
        kind === 'policy' || kind === 'bounds'
          ? yamlIterations === 0
            ? 0
            : Math.max(10, Math.floor(yamlIterations / 4))
          : yamlIterations;
      for (let i = only ?? 0; i < (only === null ? n : only + 1); i++) {
        const res =
          kind === 'inject'
            ? await injectCase(caseRng(seed, kind, i), i, ROOT)
            : kind === 'rules'
              ? await ruleCase(seed, i, yamlSeeds)
              : kind === 'scenario'
                ? await scenarioCase(seed, i, yamlSeeds, webRules)
                : kind === 'bounds'
                  ? await boundsCase(seed, i, yamlSeeds, workDir)
                  : await policyCase(seed, i, yamlSeeds, workDir);
        tally(kind, i, res);
      }
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  return stats;
}

export { basename };
