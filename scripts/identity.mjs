#!/usr/bin/env node
// Byte-identity check for refactors (issue 15: "every fixture and scenario
// gives byte-identical replay text, jsonl, conntrack and dump output before
// and after").
//
//   node scripts/identity.mjs compare REV            REV against the working tree
//   node scripts/identity.mjs compare REV REV2       two commits
//   node scripts/identity.mjs record DIR             the working tree's output, kept
//   node scripts/identity.mjs diff DIR_A DIR_B       two kept records
//   options: --only RE, --full, --out DIR, --jobs N, --no-cache, --bin PATH (--help)
//
// `record` runs the built CLI over a fixed set of cases and keeps, per case,
// its stdout, stderr and exit status as DIR/<case>.out, .err and .exit. Case
// names mirror the inputs (fixtures/http-curl.pcap/web-server/replay.out),
// and DIR/cases.tsv gives each case's command line. `diff` compares two
// records byte for byte and prints, per differing file, the first differing
// line of each side and the command that made it. `compare` builds REV in a
// temporary git worktree (node_modules symlinked, `npm run build`; the
// worktree is removed afterwards, also on failure or Ctrl-C) and the working
// tree (`npm run build`), records both, and diffs them. A commit's record is
// cached (the last 4, in $TMPDIR/fwemu-identity-cache, keyed by the commit,
// this script, Node, package-lock.json and every input's bytes), so a second
// compare against the same base records one side only.
//
// Determinism without stripping anything: both sides run on the working
// tree's inputs (fixtures/, rules/, the kernel suite's test/kernel/*/ inputs)
// with cwd = the working tree and relative paths, so the file names in the
// output are the same; the environment is fixed (NO_COLOR=1, TZ=UTC,
// LC_ALL=C, no other variable but PATH); stdin is empty unless a case feeds
// it; stdout and stderr are pipes (no progress lines, no colour).
//
// The cases (1,197; --full: 1,819):
//   every capture under fixtures/ (*.pcap, *.pcapng; malformed/ included) and
//   test/, and every scenario under fixtures/scenarios/ (and test/**/
//   scenario.yaml), crossed with every rules/*.yaml (test/ inputs also with
//   the rules.yaml beside them): replay (default text), replay --time epoch,
//   replay --format jsonl, conntrack, conntrack -E. Malformed captures are
//   crossed with rules/web-server.yaml only (--full: every rule file): they
//   stop in the capture reader whatever the rules.
//   each input: dump, dump --format jsonl, sockets, and with
//   rules/web-server.yaml: replay --jobs 2 --format jsonl (the sharded
//   path) and, for captures, replay --format jsonl from a pipe on stdin.
//   --full adds sockets --format json, conntrack --format json and replay
//   --write-accepted - (the capture writer).
//   each scenario: synth to pcap and to pcapng.
//   each rule file: check, export (nft), export --format iptables.
//   broken YAML: seven deterministic edits of each rules/*.yaml and scenario
//   (misspelt key, unclosed [, huge number, deleted line, extra indent,
//   boolean value, file cut in half) fed on stdin to check and synth: the
//   diagnostics.
//   once: check of all rule files, test fixtures, demo, --help of every
//   command, --version, and usage errors (no command, unknown command,
//   missing -r, bad --format, missing files, bad --at).
//
// Time: each case is one fwemu process (~0.3 s of CPU, almost all Node and
// bundle start-up), two at a time. Measured on the project's 2-core machine
// shared with other work: a default record 330 s (load ~5) to 770 s (load
// ~10); a compare is two records and two builds, one record with the base
// cached. An idle machine should take about half.
//
// Exit status: 0 identical (compare, diff) or recorded (record); 1 the two
// sides differ; 2 bad usage (unknown REV, not a record directory, bad
// option); 3 a side could not be built or recorded (build failed, a case
// timed out after 120 s).

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MANIFEST = 'cases.tsv';
/** A hung case must not hang the check; far above any fixture's run time. */
const CASE_TIMEOUT_MS = 120_000;
/** Files detailed in a report; the rest are counted. */
const REPORT_FILES = 25;

const USAGE = `usage:
  node scripts/identity.mjs compare REV [REV2] [--only RE] [--full] [--out DIR] [--jobs N] [--no-cache]
  node scripts/identity.mjs record DIR [--only RE] [--full] [--bin PATH] [--jobs N]
  node scripts/identity.mjs diff DIR_A DIR_B

Byte-identity check for behaviour-preserving changes. Runs the fwemu CLI over
every fixture capture and scenario crossed with every rules/*.yaml (replay
text, --time epoch and jsonl; conntrack -L and -E), and dump, sockets, synth,
check, export, broken-YAML diagnostics, help texts and usage errors; keeps
each case's stdout, stderr and exit status; and compares them byte for byte.

  compare REV     build REV in a temporary git worktree and the working tree
                  (npm run build in each), record both on the working tree's
                  inputs, and print the first differing line of every
                  differing file; REV's record is cached for the next compare
  compare REV REV2  the same, with commit REV2 as the after side
  record DIR      record the working tree's built CLI (npm run build first)
                  into DIR/<case>.out, .err, .exit and DIR/cases.tsv
                  (DIR is replaced if it holds an earlier record)
  diff A B        compare two record directories (A is "before")

  --only RE       only the cases whose name matches the regular expression
                  (names look like fixtures/ping.pcap/web-server/replay)
  --full          also the malformed captures with every rule file, sockets
                  and conntrack as JSON, and replay --write-accepted
  --out DIR       compare: keep the two records in DIR/before and DIR/after
                  (default: a temporary directory, removed at the end)
  --jobs N        cases run at a time (default 2)
  --no-cache      compare: record REV even if a record of it is cached
  --bin PATH      record: the CLI to run (default bin/fwemu.js of this tree)

Exit status: 0 identical (or recorded), 1 different, 2 bad usage,
3 a side could not be built or recorded.`;

class UsageError extends Error {}
class RunError extends Error {}

// ---------------------------------------------------------------- the cases

/** Files under `dir` (relative to ROOT, '/'-separated, sorted) whose name passes `keep`. */
function filesUnder(dir, keep) {
  const abs = join(ROOT, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs, { recursive: true })
    .map((name) => join(dir, String(name)).split(sep).join('/'))
    .filter((p) => keep(p) && statSync(join(ROOT, p)).isFile())
    .sort(byCodeUnit);
}

function byCodeUnit(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

const stem = (p) => p.slice(p.lastIndexOf('/') + 1).replace(/\.ya?ml$/, '');

/**
 * A few broken versions of a YAML file, each one edit of one line, spread
 * over the file: a misspelt key (did-you-mean), an unclosed flow sequence
 * (a YAML syntax error), an out-of-range number, a deleted line, one more
 * space of indentation, a boolean where something else belongs; and the
 * file cut in half. The edits depend only on the file's text.
 */
function mutants(text) {
  const lines = text.split('\n');
  const targets = lines
    .map((l, i) => [l, i])
    .filter(([l]) => /^\s*(-\s+)?[A-Za-z_][\w-]*\s*:/.test(l) && !/^\s*#/.test(l));
  const out = [];
  const kinds = 6;
  const edit = (kind, line) => {
    // `targets` holds only lines this matches.
    const m = /** @type {RegExpExecArray} */ (/^(\s*(?:-\s+)?)([A-Za-z_][\w-]*)(\s*:)(.*)$/.exec(line));
    const [, lead, key, colon] = m;
    switch (kind) {
      case 0:
        return `${lead}${key}x${colon}${m[4]}`;
      case 1:
        return `${lead}${key}${colon} [unclosed`;
      case 2:
        return `${lead}${key}${colon} 99999999999`;
      case 3:
        return null;
      case 4:
        return ` ${line}`;
      default:
        return `${lead}${key}${colon} true`;
    }
  };
  for (let k = 0; k < kinds && targets.length > 0; k++) {
    const [line, i] = targets[Math.floor(((k + 0.5) * targets.length) / kinds)];
    const edited = edit(k, line);
    const copy = lines.slice();
    if (edited === null) copy.splice(i, 1);
    else copy[i] = edited;
    out.push({
      name: `line${i + 1}-${['key', 'unclosed', 'number', 'deleted', 'indent', 'bool'][k]}`,
      text: copy.join('\n'),
    });
  }
  out.push({ name: 'cut-in-half', text: text.slice(0, text.length >> 1) });
  return out;
}

/**
 * Every case: { id, args, stdinFile?, stdinText?, cwd? }. `id` names the
 * output files; `args` follow `fwemu`; paths are relative to ROOT (the cwd;
 * cwd: 'cli' runs in the tree the CLI was built in). The
 * default set leaves out what is least likely to show a difference the rest
 * does not (`full` adds it): the malformed captures crossed with more than
 * one rule file (they fail or pass in the capture reader, whatever the
 * rules), sockets --format json, conntrack --format json and replay
 * --write-accepted.
 */
export function listCases({ full = false } = {}) {
  const isCapture = (p) => /\.(pcap|pcapng)$/.test(p);
  const captures = filesUnder('fixtures', (p) => isCapture(p) && !p.startsWith('fixtures/scenarios/'));
  const malformed = new Set(captures.filter((p) => p.startsWith('fixtures/malformed/')));
  const scenarios = filesUnder('fixtures/scenarios', (p) => /\.ya?ml$/.test(p));
  const rules = filesUnder('rules', (p) => /^rules\/[^/]+\.ya?ml$/.test(p));
  // The kernel suite's own inputs (SCTP, timeouts) exercise trackers and
  // settings no fixture does; each is crossed with its rules.yaml too.
  const testInputs = filesUnder('test', (p) => isCapture(p) || /\/scenario[^/]*\.ya?ml$/.test(p));
  const sibling = (p) => {
    const r = `${p.slice(0, p.lastIndexOf('/'))}/rules.yaml`;
    return existsSync(join(ROOT, r)) ? [r] : [];
  };
  const testRules = [...new Set(testInputs.flatMap(sibling))].sort(byCodeUnit);
  const oneRules = rules.includes('rules/web-server.yaml') ? 'rules/web-server.yaml' : rules[0];
  const isScenario = (p) => !isCapture(p);
  const cases = [];
  const add = (id, args, more = {}) => cases.push({ id, args, ...more });
  const name = (r) => (r.startsWith('rules/') ? stem(r) : 'own-rules');

  for (const input of [...captures, ...testInputs, ...scenarios]) {
    const crossed =
      malformed.has(input) && !full ? [oneRules] : [...rules, ...(input.startsWith('test/') ? sibling(input) : [])];
    for (const r of crossed.filter(Boolean)) {
      const at = `${input}/${name(r)}`;
      add(`${at}/replay`, ['replay', '-r', r, input]);
      add(`${at}/replay-time-epoch`, ['replay', '--time', 'epoch', '-r', r, input]);
      add(`${at}/replay-jsonl`, ['replay', '--format', 'jsonl', '-r', r, input]);
      add(`${at}/conntrack`, ['conntrack', '-r', r, input]);
      add(`${at}/conntrack-events`, ['conntrack', '-E', '-r', r, input]);
    }
    add(`${input}/dump`, ['dump', input]);
    add(`${input}/dump-jsonl`, ['dump', '--format', 'jsonl', input]);
    add(`${input}/sockets`, ['sockets', input]);
    if (full) add(`${input}/sockets-json`, ['sockets', '--format', 'json', input]);
    if (oneRules) {
      const at = `${input}/${name(oneRules)}`;
      // The sharded replay and reading from a pipe take other paths through the session layer.
      add(`${at}/replay-jobs-2-jsonl`, ['replay', '--jobs', '2', '--format', 'jsonl', '-r', oneRules, input]);
      if (!isScenario(input))
        add(`${at}/replay-stdin-jsonl`, ['replay', '--format', 'jsonl', '-r', oneRules, '-'], { stdinFile: input });
      if (full) {
        add(`${at}/replay-write-accepted`, [
          'replay',
          '--format',
          'none',
          '--write-accepted',
          '-',
          '-r',
          oneRules,
          input,
        ]);
        add(`${at}/conntrack-json`, ['conntrack', '--format', 'json', '-r', oneRules, input]);
      }
    }
  }
  for (const s of [...scenarios, ...testInputs.filter(isScenario)]) {
    add(`${s}/synth-pcap`, ['synth', s]);
    add(`${s}/synth-pcapng`, ['synth', '--format', 'pcapng', '-o', '-', s]);
  }
  for (const r of [...rules, ...testRules]) {
    add(`${r}/check`, ['check', r]);
    add(`${r}/export-nft`, ['export', r]);
    add(`${r}/export-iptables`, ['export', '--format', 'iptables', r]);
  }
  for (const r of rules) {
    for (const m of mutants(readFileSync(join(ROOT, r), 'utf8')))
      add(`broken-yaml/${r}/${m.name}/check`, ['check', '-'], { stdinText: m.text });
  }
  for (const s of scenarios) {
    for (const m of mutants(readFileSync(join(ROOT, s), 'utf8')))
      add(`broken-yaml/${s}/${m.name}/synth`, ['synth', '-q', '-'], { stdinText: m.text });
  }
  if (rules.length > 0) add('misc/check-all-rules', ['check', ...rules]);
  add('misc/test-fixtures', ['test', 'fixtures']);
  // demo reads its scenario and rules from the CLI's own tree and prints their paths relative to the cwd.
  add('misc/demo', ['demo'], { cwd: 'cli' });
  add('misc/help', ['--help']);
  add('misc/version', ['--version']);
  for (const c of ['dump', 'replay', 'conntrack', 'check', 'export', 'synth', 'sockets', 'test', 'demo'])
    add(`misc/help-${c}`, [c, '--help']);
  const r = oneRules ?? 'rules/none.yaml';
  add('misc/usage-no-command', []);
  add('misc/usage-unknown-command', ['nosuchcommand']);
  add('misc/usage-replay-no-rules', ['replay', 'fixtures/ping.pcap']);
  add('misc/usage-replay-bad-format', ['replay', '--format', 'xml', '-r', r, 'fixtures/ping.pcap']);
  add('misc/usage-missing-capture', ['replay', '-r', r, 'fixtures/no-such-file.pcap']);
  add('misc/usage-missing-rules', ['replay', '-r', 'rules/no-such-file.yaml', 'fixtures/ping.pcap']);
  add('misc/usage-conntrack-at-bad', ['conntrack', '--at', 'x', '-r', r, 'fixtures/ping.pcap']);
  return cases.sort((a, b) => byCodeUnit(a.id, b.id));
}

/** The cases of a run: the default or --full set, narrowed by --only. */
function selectCases({ only, full }) {
  let cases = listCases({ full });
  if (only) cases = cases.filter((c) => only.test(c.id));
  if (cases.length === 0) throw new UsageError(`no case matches --only ${only}`);
  return cases;
}

// ---------------------------------------------------------------- record

/** Same on every run and every machine: nothing from the caller's environment but PATH. */
const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', TZ: 'UTC', LC_ALL: 'C', LANG: 'C' };

function runCase(bin, c) {
  return new Promise((done) => {
    const child = spawn(process.execPath, [bin, ...c.args], {
      cwd: c.cwd === 'cli' ? resolve(dirname(bin), '..') : ROOT,
      env: ENV,
      stdio: [c.stdinFile || c.stdinText !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    const out = [];
    const err = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, CASE_TIMEOUT_MS);
    child.stdout?.on('data', (b) => out.push(b));
    child.stderr?.on('data', (b) => err.push(b));
    if (child.stdin) {
      // A CLI that stops reading (bad capture header) closes the pipe early: not an error here.
      child.stdin.on('error', () => {});
      child.stdin.end(c.stdinFile ? readFileSync(join(ROOT, c.stdinFile)) : c.stdinText);
    }
    child.on('error', (e) => {
      clearTimeout(timer);
      done({
        out: Buffer.alloc(0),
        err: Buffer.from(String(e)),
        exit: `spawn error ${/** @type {NodeJS.ErrnoException} */ (e).code ?? ''}\n`,
        failed: true,
      });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const exit = timedOut
        ? `timeout after ${CASE_TIMEOUT_MS / 1000} s\n`
        : signal
          ? `signal ${signal}\n`
          : `${code}\n`;
      done({ out: Buffer.concat(out), err: Buffer.concat(err), exit, failed: timedOut });
    });
  });
}

function shellQuote(a) {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`;
}

function commandLine(c) {
  const cmd = ['fwemu', ...c.args].map(shellQuote).join(' ');
  if (c.stdinFile) return `${cmd} < ${shellQuote(c.stdinFile)}`;
  if (c.stdinText !== undefined) return `${cmd} < ${shellQuote(`${c.id}.in`)}`;
  return cmd;
}

function progressLine(label, done, total, t0) {
  const s = ((Date.now() - t0) / 1000).toFixed(0);
  return `${label}: ${done}/${total} cases, ${s} s`;
}

/** Warns when the CLI's dist/ looks older than its src/ (an edit not built yet). */
function warnIfStale(bin) {
  const tree = resolve(dirname(bin), '..');
  const newest = (dir, ext) => {
    let t = -1;
    if (!existsSync(dir)) return t;
    for (const n of readdirSync(dir, { recursive: true }))
      if (String(n).endsWith(ext)) t = Math.max(t, statSync(join(dir, String(n))).mtimeMs);
    return t;
  };
  const dist = newest(join(tree, 'dist'), '.js');
  if (dist < 0)
    throw new UsageError(`${relative(process.cwd(), bin) || bin}: no build in dist/; run npm run build first`);
  if (newest(join(tree, 'src'), '.ts') > dist)
    process.stderr.write(`identity: warning: ${join(tree, 'src')} has files newer than its dist/; run npm run build\n`);
}

/**
 * Runs every case with the CLI at `bin` and writes DIR/<id>.out, .err,
 * .exit (.in for generated stdin) and DIR/cases.tsv. Throws RunError if a
 * case timed out or could not start.
 */
export async function record(dir, cases, { bin = join(ROOT, 'bin', 'fwemu.js'), jobs = 2, label = 'record' } = {}) {
  warnIfStale(bin);
  if (existsSync(dir)) {
    const names = readdirSync(dir);
    if (names.length > 0 && !names.includes(MANIFEST))
      throw new UsageError(`${dir} exists and is not a record directory (no ${MANIFEST}); not replacing it`);
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, MANIFEST), cases.map((c) => `${c.id}\t${commandLine(c)}\n`).join(''));

  const t0 = Date.now();
  const tty = process.stderr.isTTY;
  let next = 0;
  let finished = 0;
  let lastShown = 0;
  const failures = [];
  const show = (final) => {
    if (tty) process.stderr.write(`\r${progressLine(label, finished, cases.length, t0)}${final ? '\n' : ''}`);
    else if ((final && finished !== lastShown) || finished - lastShown >= Math.max(1, Math.ceil(cases.length / 10))) {
      lastShown = finished;
      process.stderr.write(`${progressLine(label, finished, cases.length, t0)}\n`);
    }
  };
  const worker = async () => {
    while (next < cases.length) {
      const c = cases[next++];
      const r = await runCase(bin, c);
      const base = join(dir, c.id);
      mkdirSync(dirname(base), { recursive: true });
      writeFileSync(`${base}.out`, r.out);
      writeFileSync(`${base}.err`, r.err);
      writeFileSync(`${base}.exit`, r.exit);
      if (c.stdinText !== undefined) writeFileSync(`${base}.in`, c.stdinText);
      if (r.failed) failures.push(`${c.id}: ${r.exit.trim()}`);
      finished++;
      show(false);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
  show(true);
  if (failures.length > 0)
    throw new RunError(`${label}: ${failures.length} case(s) did not finish:\n  ${failures.join('\n  ')}`);
  return { cases: cases.length, seconds: (Date.now() - t0) / 1000 };
}

// ---------------------------------------------------------------- diff

function recordFiles(dir) {
  if (!existsSync(join(dir, MANIFEST))) throw new UsageError(`${dir}: not a record directory (no ${MANIFEST})`);
  return readdirSync(dir, { recursive: true })
    .map((n) => String(n).split(sep).join('/'))
    .filter((n) => n !== MANIFEST && statSync(join(dir, n)).isFile())
    .sort(byCodeUnit);
}

function manifest(dir) {
  const m = new Map();
  for (const line of readFileSync(join(dir, MANIFEST), 'utf8').split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0) m.set(line.slice(0, tab), line.slice(tab + 1));
  }
  return m;
}

/** A line for the report: as it is if it is text, else with \\xNN escapes; cut to a window around column `col`. */
function showLine(buf, col) {
  const WIDTH = 160;
  const from = Math.max(0, col - 60);
  const part = buf.subarray(from, from + WIDTH);
  let printable = true;
  try {
    printable = !/[\x00-\x08\x0a-\x1f\x7f]/.test(new TextDecoder('utf-8', { fatal: true }).decode(buf));
  } catch {
    printable = false;
  }
  const esc = (b) => {
    if (printable) return b.toString('utf8');
    let t = '';
    for (const c of b)
      t += c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
    return t;
  };
  const shown = `${from > 0 ? '...' : ''}${esc(part)}${from + WIDTH < buf.length ? '...' : ''}`;
  // Where the first differing byte is in the shown text, for a caret under it.
  const caret = (from > 0 ? 3 : 0) + esc(buf.subarray(from, Math.min(col, buf.length))).length;
  return { text: printable ? shown : `${shown}  (escaped: not plain text)`, caret };
}

/** Where two buffers first differ: byte offset, 1-based line and column, and both lines. */
export function firstDifference(a, b) {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  const start = i === 0 ? 0 : a.lastIndexOf(0x0a, i - 1) + 1;
  let line = 1;
  for (let k = 0; k < start; k++) if (a[k] === 0x0a) line++;
  const lineOf = (buf) => {
    if (start >= buf.length) return null;
    const end = buf.indexOf(0x0a, start);
    return buf.subarray(start, end < 0 ? buf.length : end);
  };
  return { offset: i, line, column: i - start + 1, a: lineOf(a), b: lineOf(b) };
}

/**
 * Compares two record directories. Returns { cases, differing: [{ file,
 * kind: 'differs' | 'only-a' | 'only-b', ... }] } with files in name order.
 */
export function diffRecords(dirA, dirB) {
  const fa = recordFiles(dirA);
  const fb = recordFiles(dirB);
  const inA = new Set(fa);
  const inB = new Set(fb);
  const all = [...new Set([...fa, ...fb])].sort(byCodeUnit);
  const differing = [];
  for (const file of all) {
    if (!inB.has(file)) differing.push({ file, kind: 'only-a' });
    else if (!inA.has(file)) differing.push({ file, kind: 'only-b' });
    else {
      const a = readFileSync(join(dirA, file));
      const b = readFileSync(join(dirB, file));
      if (!a.equals(b))
        differing.push({ file, kind: 'differs', sizeA: a.length, sizeB: b.length, ...firstDifference(a, b) });
    }
  }
  const cases = new Set([...manifest(dirA).keys(), ...manifest(dirB).keys()]).size;
  return { cases, differing };
}

const caseOf = (file) => file.replace(/\.(out|err|exit|in)$/, '');

/** The report `diff` and `compare` print; returns its lines. */
export function report({ cases, differing }, dirA, dirB, labelA = 'A', labelB = 'B') {
  const lines = [];
  if (differing.length === 0) {
    lines.push(`identical: ${cases} case${cases === 1 ? '' : 's'}, every stdout, stderr and exit status byte for byte`);
    return lines;
  }
  const commands = new Map([...manifest(dirA), ...manifest(dirB)]);
  const w = Math.max(labelA.length, labelB.length);
  const la = labelA.padEnd(w);
  const lb = labelB.padEnd(w);
  for (const d of differing.slice(0, REPORT_FILES)) {
    const cmd = commands.get(caseOf(d.file));
    lines.push(`${d.file}${cmd ? `    (${cmd})` : ''}`);
    if (d.kind === 'only-a') lines.push(`  only in ${labelA}`);
    else if (d.kind === 'only-b') lines.push(`  only in ${labelB}`);
    else {
      lines.push(`  line ${d.line}, column ${d.column} (byte ${d.offset}; sizes ${d.sizeA} and ${d.sizeB})`);
      const col = d.column - 1;
      const sa = d.a === null ? { text: '(ends before this line)', caret: 0 } : showLine(d.a, col);
      const sb = d.b === null ? { text: '(ends before this line)', caret: 0 } : showLine(d.b, col);
      lines.push(`  ${la} | ${sa.text}`);
      lines.push(`  ${lb} | ${sb.text}`);
      if (d.a !== null && d.b !== null) lines.push(`  ${' '.repeat(w)}   ${' '.repeat(sa.caret)}^`);
    }
  }
  if (differing.length > REPORT_FILES)
    lines.push(`... and ${differing.length - REPORT_FILES} more files (diff -r the two records for all of them)`);
  const differingCases = new Set(differing.map((d) => caseOf(d.file)));
  const byCommand = new Map();
  for (const id of differingCases) {
    const kind = id.slice(id.lastIndexOf('/') + 1);
    byCommand.set(kind, (byCommand.get(kind) ?? 0) + 1);
  }
  const kinds = [...byCommand].sort((x, y) => y[1] - x[1] || byCodeUnit(x[0], y[0])).map(([k, n]) => `${k} ${n}`);
  lines.push(
    `DIFFERENT: ${differingCases.size} of ${cases} cases (${differing.length} files); by kind: ${kinds.join(', ')}`,
  );
  return lines;
}

// ---------------------------------------------------------------- compare

function git(args, opts = {}) {
  return spawnSync('git', args, { cwd: ROOT, encoding: 'utf8', ...opts });
}

function resolveRev(rev) {
  const r = git(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]);
  if (r.status !== 0) throw new UsageError(`${rev}: not a commit in ${ROOT}`);
  return r.stdout.trim();
}

/** The build running, so that Ctrl-C can stop it before the worktree is removed. */
/** @type {import('node:child_process').ChildProcess | null} */
let building = null;

/** npm run build in `tree`; asynchronous, so a signal is handled at once. */
function build(tree, label) {
  process.stderr.write(`${label}: npm run build in ${tree}\n`);
  return new Promise(
    /** @param {(v?: void) => void} done */ (done, fail) => {
      const child = spawn('npm', ['run', 'build'], {
        cwd: tree,
        env: { ...process.env, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      building = child;
      const log = [];
      child.stdout.on('data', (b) => log.push(b));
      child.stderr.on('data', (b) => log.push(b));
      child.on('error', (e) => fail(new RunError(`${label}: cannot run npm: ${e.message}`)));
      child.on('close', (code) => {
        building = null;
        if (code === 0) done();
        else
          fail(
            new RunError(
              `${label}: npm run build failed in ${tree}:\n${Buffer.concat(log).toString('utf8').trim().split('\n').slice(-20).join('\n')}`,
            ),
          );
      });
    },
  );
}

/**
 * Records of commits are kept (the last few, in the system's temporary
 * directory), keyed by everything that can change them: the commit, this
 * script, Node's version, package-lock.json (node_modules is shared), the
 * case list and the bytes of every input. Comparing moves against the same
 * base commit then builds and records the base once.
 */
const CACHE = join(tmpdir(), 'fwemu-identity-cache');
const CACHE_KEEP = 4;

function cacheKey(sha, cases) {
  const h = createHash('sha256');
  h.update(readFileSync(fileURLToPath(import.meta.url)));
  h.update(`\0${process.version}\0${sha}\0${JSON.stringify(ENV.NO_COLOR + ENV.TZ + ENV.LC_ALL)}\0`);
  const lock = join(ROOT, 'package-lock.json');
  if (existsSync(lock)) h.update(readFileSync(lock));
  for (const c of cases) h.update(`\0${JSON.stringify([c.id, c.args, c.stdinFile ?? null, c.stdinText ?? null])}`);
  const inputs = [
    ...filesUnder('fixtures', () => true),
    ...filesUnder('rules', () => true),
    ...filesUnder('test', (p) => /\.(pcap|pcapng|ya?ml)$/.test(p)),
  ];
  for (const f of inputs) {
    h.update(`\0${f}\0`);
    h.update(readFileSync(join(ROOT, f)));
  }
  return h.digest('hex').slice(0, 32);
}

function cached(key) {
  const dir = join(CACHE, key);
  return existsSync(join(dir, MANIFEST)) ? dir : null;
}

function keep(key, dir) {
  mkdirSync(CACHE, { recursive: true });
  const tmp = join(CACHE, `${key}.${process.pid}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  cpSync(dir, tmp, { recursive: true });
  rmSync(join(CACHE, key), { recursive: true, force: true });
  renameSync(tmp, join(CACHE, key));
  const entries = readdirSync(CACHE)
    .filter((n) => !n.endsWith('.tmp'))
    .map((n) => ({ n, t: statSync(join(CACHE, n)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { n } of entries.slice(CACHE_KEEP)) rmSync(join(CACHE, n), { recursive: true, force: true });
}

async function compare(revs, { only, out, jobs, full, cache }) {
  const shas = revs.map(resolveRev);
  const cases = selectCases({ only, full });
  const tmp = mkdtempSync(join(tmpdir(), 'fwemu-identity-'));
  const trees = [];
  const cleanup = () => {
    for (const t of trees) git(['worktree', 'remove', '--force', t], { stdio: 'ignore' });
    if (trees.length > 0) git(['worktree', 'prune'], { stdio: 'ignore' });
    rmSync(tmp, { recursive: true, force: true });
  };
  const onSignal = (sig) => {
    building?.kill('SIGTERM');
    cleanup();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const base = out ? resolve(out) : tmp;
    const dirs = [join(base, 'before'), join(base, 'after')];
    const labels = [];
    let seconds = 0;
    const side = async (i, label, bin, key) => {
      labels[i] = label;
      const r = await record(dirs[i], cases, { bin, jobs, label: `record ${label}` });
      seconds += r.seconds;
      if (key) keep(key, dirs[i]);
    };
    for (const [i, sha] of shas.entries()) {
      const label = sha.startsWith(revs[i]) ? sha.slice(0, 12) : `${revs[i]} (${sha.slice(0, 7)})`;
      const key = cacheKey(sha, cases);
      const hit = cache ? cached(key) : null;
      if (hit) {
        // The newest entry is the last one evicted.
        utimesSync(hit, new Date(), new Date());
        process.stderr.write(`${label}: recorded before, using ${hit}\n`);
        labels[i] = label;
        if (out) {
          rmSync(dirs[i], { recursive: true, force: true });
          cpSync(hit, dirs[i], { recursive: true });
        } else dirs[i] = hit;
        continue;
      }
      const tree = join(tmp, `tree-${i}`);
      const r = git(['worktree', 'add', '--detach', tree, sha]);
      if (r.status !== 0) throw new RunError(`git worktree add ${tree} ${revs[i]} failed:\n${r.stderr.trim()}`);
      trees.push(tree);
      symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'));
      await build(tree, revs[i]);
      await side(i, label, join(tree, 'bin', 'fwemu.js'), key);
    }
    if (shas.length === 1) {
      await build(ROOT, 'working tree');
      await side(1, 'working tree', join(ROOT, 'bin', 'fwemu.js'), null);
    }
    const result = diffRecords(dirs[0], dirs[1]);
    for (const l of report(result, dirs[0], dirs[1], labels[0], labels[1])) process.stdout.write(`${l}\n`);
    process.stderr.write(
      `compare: ${cases.length} cases per side; recording took ${seconds.toFixed(0)} s${out ? `; records kept in ${dirs.join(' and ')}` : ''}\n`,
    );
    return result.differing.length === 0 ? 0 : 1;
  } finally {
    cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

// ---------------------------------------------------------------- command line

function parseArgs(argv) {
  /** @type {{ jobs: number, only: RegExp | undefined, bin: string | undefined, out: string | undefined, full: boolean, cache: boolean, help?: boolean }} */
  const opts = { jobs: 2, only: undefined, bin: undefined, out: undefined, full: false, cache: true };
  const pos = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--help' || a === '-h') opts.help = true;
    else if (a === '--only') {
      const re = value();
      try {
        opts.only = new RegExp(re);
      } catch (e) {
        throw new UsageError(`--only: ${e.message}`);
      }
    } else if (a === '--bin') opts.bin = resolve(value());
    else if (a === '--out') opts.out = value();
    else if (a === '--full') opts.full = true;
    else if (a === '--no-cache') opts.cache = false;
    else if (a === '--jobs') {
      opts.jobs = Number(value());
      if (!Number.isInteger(opts.jobs) || opts.jobs < 1)
        throw new UsageError('--jobs takes a whole number of at least 1');
    } else if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option ${a}`);
    else pos.push(a);
  }
  return { pos, opts };
}

async function main(argv) {
  const { pos, opts } = parseArgs(argv);
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [cmd, ...rest] = pos;
  const want = (n, m = n) => {
    if (rest.length < n || rest.length > m)
      throw new UsageError(`${cmd} takes ${n === m ? n : `${n} or ${m}`} argument(s)`);
  };
  switch (cmd) {
    case 'record': {
      want(1);
      if (opts.bin && !existsSync(opts.bin)) throw new UsageError(`--bin ${opts.bin}: no such file`);
      const r = await record(resolve(rest[0]), selectCases(opts), { bin: opts.bin, jobs: opts.jobs });
      process.stderr.write(`record: ${r.cases} cases in ${r.seconds.toFixed(0)} s into ${rest[0]}\n`);
      return 0;
    }
    case 'compare':
      want(1, 2);
      return compare(rest, opts);
    case 'diff': {
      want(2);
      const result = diffRecords(rest[0], rest[1]);
      for (const l of report(result, rest[0], rest[1], rest[0], rest[1])) process.stdout.write(`${l}\n`);
      return result.differing.length === 0 ? 0 : 1;
    }
    default:
      throw new UsageError(cmd === undefined ? 'no command given' : `unknown command ${cmd}`);
  }
}

// Importable (listCases, diffRecords, ...) without running the command line.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      if (e instanceof UsageError) {
        process.stderr.write(`identity: ${e.message} (node scripts/identity.mjs --help)\n`);
        process.exitCode = 2;
      } else if (e instanceof RunError) {
        process.stderr.write(`identity: ${e.message}\n`);
        process.exitCode = 3;
      } else {
        process.stderr.write(`identity: internal error: ${e?.stack ?? e}\n`);
        process.exitCode = 70;
      }
    },
  );
