// Fuzz cases for the resource bounds of the YAML inputs (registered in
// scripts/fuzz-lib.mjs as kind "bounds"; run by test/robustness/fuzz.test.ts):
//
//   - deep: a seed rule file, scenario or policy test with a value nested
//     d levels deep appended (flow lists, flow mappings, block lists, block
//     mappings). Past MAX_YAML_DEPTH the loader must refuse it with the
//     nesting message at the position computed here from the text; within
//     it, no nesting message and never "call stack".
//   - huge: a rule file of thousands of generated rules (empty, distinct
//     ports, distinct sources, overlapping ranges): loaded or refused with
//     positioned diagnostics (a file over the limit: the size message), and
//     the shadow check within its comparison budget.
//   - nonregular: a rule file of a chosen size around the 1 MiB limit, read
//     from a regular file, through a FIFO (written by another process), or
//     /dev/zero: over the limit is refused with the size message whatever
//     stat() says; within it, the outcome is that of the same text parsed
//     directly.

import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../dist/base/errors.js';
import { runPolicyTest } from '../dist/policy/run.js';
import { loadRuleSet, parseRuleSet } from '../dist/rules/load.js';
import { analyzeRules, MAX_SHADOW_COMPARISONS } from '../dist/rules/shadow.js';
import { MAX_RULE_FILE_BYTES } from '../dist/rules/spec.js';
import { RuleFileError } from '../dist/rules/types.js';
import { parseScenario } from '../dist/synth/scenario.js';
import { ScenarioError } from '../dist/synth/types.js';
import { MAX_YAML_DEPTH } from '../dist/base/yaml-nodes.js';
import { caseRng, Finding, ROOT, thrownText } from './fuzz-lib.mjs';

const NESTED = `YAML nested deeper than ${MAX_YAML_DEPTH} levels here`;

function check(cond, msg) {
  if (!cond) throw new Finding(msg);
}

/** Every message an input error carries, one per line, as a user sees them. */
function messages(err) {
  if (err instanceof RuleFileError || err instanceof ScenarioError)
    return err.diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`);
  return String(err.message).split('\n');
}

/**
 * `zz:` and a value nested `depth` levels (the top-level mapping is one
 * more) in one of four styles, to append after `lines` lines; and where
 * level MAX_YAML_DEPTH + 1 starts (line, column), by construction.
 * @returns {{ style: string, text: string, at: [number, number] }}
 */
function nested(rng, depth, lines) {
  // (Block mappings take depth^2/2 bytes of indentation: past ~1400 levels the file is over the 1 MiB limit.)
  const style = rng.pick(
    depth > 1200 ? ['flow-list', 'flow-map', 'block-list'] : ['flow-list', 'flow-map', 'block-list', 'block-map'],
  );
  const L = lines + 1; // the line of "zz:"
  const first = MAX_YAML_DEPTH + 1; // the first level too deep; level 2 is the value's outermost collection
  switch (style) {
    case 'flow-list':
      return { style, text: `zz: ${'['.repeat(depth)}${']'.repeat(depth)}\n`, at: [L, 5 + (first - 2)] };
    case 'flow-map':
      return { style, text: `zz: ${'{a: '.repeat(depth)}1${'}'.repeat(depth)}\n`, at: [L, 5 + 4 * (first - 2)] };
    case 'block-list':
      return { style, text: `zz:\n  ${'- '.repeat(depth)}x\n`, at: [L + 1, 3 + 2 * (first - 2)] };
    case 'block-map': {
      let t = 'zz:\n';
      for (let i = 0; i < depth; i++) t += `${' '.repeat(i + 1)}k${i}:\n`;
      return { style, text: t, at: [L + first - 1, first] };
    }
  }
  throw new Error(`no such style: ${style}`);
}

async function deepCase(rng, seeds, workDir, i) {
  const kind = rng.pick(['rules', 'scenario', 'policy']);
  const pool = kind === 'rules' ? seeds.rules : kind === 'scenario' ? seeds.scenarios : seeds.expects;
  const base = rng.pick(pool);
  // Mostly around the limit; sometimes far past it (the old loaders overflowed at a few hundred).
  const depth = rng.chance(0.2) ? rng.range(200, 3000) : rng.range(MAX_YAML_DEPTH - 8, MAX_YAML_DEPTH + 8);
  let text = base.text.endsWith('\n') ? base.text : `${base.text}\n`;
  const n = nested(rng, depth, text.split('\n').length - 1);
  text += n.text;
  const desc = `bounds #${i}: deep ${n.style} ${depth} in ${base.name}`;
  const tooDeep = 1 + depth > MAX_YAML_DEPTH;
  let name = `fuzz-deep-${i}.yaml`;
  let outcome;
  try {
    if (kind === 'rules') parseRuleSet(text, name);
    else if (kind === 'scenario') parseScenario(text, name);
    else {
      const dir = join(workDir, `b${i}`);
      mkdirSync(dir, { recursive: true });
      name = join(dir, 'case.expect.yaml');
      writeFileSync(join(dir, 'case.pcap'), Buffer.alloc(0));
      writeFileSync(
        name,
        text.replace(/^rules\s*:\s*(\S+)/m, (_m, p) => `rules: ${resolve(ROOT, base.name, '..', p)}`),
      );
      try {
        await runPolicyTest(name);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    outcome = 'accepted';
  } catch (err) {
    if (!(err instanceof RuleFileError || err instanceof ScenarioError || err instanceof UserError)) throw err;
    const ms = messages(err);
    check(!ms.some((m) => /call stack/i.test(m)), `${desc}: "call stack" in a message: ${ms.join(' | ')}`);
    outcome = ms.some((m) => m.includes(NESTED)) ? 'too deep' : 'rejected';
    if (tooDeep) {
      const want = `${name}:${n.at[0]}:${n.at[1]}: ${NESTED}`;
      check(
        ms.some((m) => m.startsWith(want)),
        `${desc}: expected "${want}", got: ${ms.join(' | ').slice(0, 500)}`,
      );
    }
  }
  check(tooDeep === (outcome === 'too deep'), `${desc}: nesting ${1 + depth} levels gave ${outcome}`);
  return { ok: true, desc, base: base.name, text, outcome: `deep: ${outcome}` };
}

function generatedRules(rng, n) {
  const shape = rng.pick(['empty', 'dports', 'srcs', 'wide', 'mixed']);
  const rules = [];
  for (let k = 0; k < n; k++) {
    const s = shape === 'mixed' ? rng.pick(['empty', 'dports', 'srcs', 'wide']) : shape;
    if (s === 'empty') rules.push('{}');
    else if (s === 'dports') rules.push(`{proto: tcp, dport: ${1 + (k % 65535)}}`);
    else if (s === 'srcs') rules.push(`{proto: udp, src: 10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}}`);
    else {
      const lo = rng.range(1, 60000);
      rules.push(`{proto: tcp, dport: ${lo}-${lo + rng.range(1, 5000)}}`);
    }
  }
  return { shape, text: `rules: [${rules.join(',')}]\n` };
}

function hugeCase(rng, i) {
  const n = rng.chance(0.1) ? rng.range(40_000, 60_000) : rng.range(500, 6000);
  const { shape, text } = generatedRules(rng, n);
  const name = `fuzz-huge-${i}.yaml`;
  const desc = `bounds #${i}: huge, ${n} ${shape} rules, ${text.length} bytes`;
  try {
    const loaded = parseRuleSet(text, name);
    check(Buffer.byteLength(text) <= MAX_RULE_FILE_BYTES, `${desc}: accepted over the limit`);
    check(loaded.ruleset.rules.length === n, `${desc}: ${loaded.ruleset.rules.length} rules loaded`);
    const stats = { comparisons: 0 };
    analyzeRules(loaded.ruleset, stats);
    check(stats.comparisons <= MAX_SHADOW_COMPARISONS + n, `${desc}: ${stats.comparisons} comparisons`);
    return { ok: true, desc, base: 'generated', text: '', outcome: 'huge: accepted' };
  } catch (err) {
    if (!(err instanceof RuleFileError)) throw err;
    const over = Buffer.byteLength(text) > MAX_RULE_FILE_BYTES;
    if (over)
      check(
        err.diagnostics[0]?.message.startsWith(`file is ${Buffer.byteLength(text)} bytes;`),
        `${desc}: ${err.message.slice(0, 300)}`,
      );
    return { ok: true, desc, base: 'generated', text: '', outcome: over ? 'huge: too big' : 'huge: rejected' };
  }
}

/** Starts a process that writes `file` into the FIFO `fifo` (our read of the FIFO blocks until it opens it). */
function feed(fifo, file) {
  const child = spawn('sh', ['-c', 'cat "$1" > "$2" 2>/dev/null', 'sh', file, fifo], { stdio: 'ignore' });
  return new Promise((done) => child.on('exit', done));
}

async function nonRegularCase(rng, seeds, workDir, i) {
  const base = rng.pick(seeds.rules);
  const via = rng.pick(['file', 'fifo', 'fifo', 'zero']);
  const L = MAX_RULE_FILE_BYTES;
  const size =
    via === 'zero'
      ? Infinity
      : rng.pick([L - 1, L, L + 1, L + rng.range(2, 1 << 20), rng.range(base.text.length + 2, L)]);
  // The seed, then one comment line that brings it to `size` bytes.
  const seedText = base.text.endsWith('\n') ? base.text : `${base.text}\n`;
  const text = via === 'zero' ? '' : `${seedText}${'#'.repeat(size - Buffer.byteLength(seedText) - 1)}\n`;
  const desc = `bounds #${i}: ${base.name} via ${via}, ${size} bytes`;
  const dir = join(workDir, `n${i}`);
  mkdirSync(dir, { recursive: true });
  try {
    const file = join(dir, 'rules.yaml');
    let path = file;
    /** @type {Promise<void> | null} */
    let fed = null;
    if (via !== 'zero') writeFileSync(file, text);
    if (via === 'zero') path = '/dev/zero';
    if (via === 'fifo') {
      path = join(dir, 'rules.fifo');
      await new Promise(
        /** @param {(v?: void) => void} done */ (done, fail) =>
          spawn('mkfifo', [path]).on('exit', (c) => (c === 0 ? done() : fail(new Error('mkfifo failed')))),
      );
      fed = feed(path, file);
    }
    let got;
    try {
      const r = loadRuleSet(path);
      got = { ok: true, warnings: r.warnings.map((w) => w.message) };
    } catch (err) {
      if (!(err instanceof RuleFileError)) throw err;
      got = { ok: false, messages: err.diagnostics.map((d) => `${d.line}:${d.col}: ${d.message}`) };
    }
    if (fed) await fed;
    if (size > L) {
      const sized =
        via === 'file' ? `file is ${size} bytes;` : `file is larger than ${L} bytes (reading stopped there);`;
      check(
        !got.ok && got.messages.length === 1 && got.messages[0].startsWith(`1:1: ${sized}`),
        `${desc}: ${JSON.stringify(got).slice(0, 300)}`,
      );
      return { ok: true, desc, base: base.name, text: '', outcome: 'nonregular: too big' };
    }
    let want;
    try {
      want = { ok: true, warnings: parseRuleSet(text, path).warnings.map((w) => w.message) };
    } catch (err) {
      want = { ok: false, messages: err.diagnostics.map((d) => `${d.line}:${d.col}: ${d.message}`) };
    }
    check(
      JSON.stringify(got) === JSON.stringify(want),
      `${desc}: read ${JSON.stringify(got).slice(0, 200)}, parsed ${JSON.stringify(want).slice(0, 200)}`,
    );
    return { ok: true, desc, base: base.name, text: '', outcome: `nonregular: ${got.ok ? 'accepted' : 'rejected'}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One bounds case (deep, huge or nonregular, by the case's own random stream). */
export async function boundsCase(seed, i, seeds, workDir) {
  const rng = caseRng(seed, 'bounds', i);
  const what = rng.pick(['deep', 'deep', 'huge', 'nonregular']);
  try {
    if (what === 'deep') return await deepCase(rng, seeds, workDir, i);
    if (what === 'huge') return hugeCase(rng, i);
    return await nonRegularCase(rng, seeds, workDir, i);
  } catch (err) {
    return { ok: false, desc: `bounds #${i}: ${what}`, base: what, text: '', error: thrownText(err) };
  }
}
