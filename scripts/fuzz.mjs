#!/usr/bin/env node
// A longer fuzz run than the one in `npm test` (test/robustness/fuzz.test.ts).
//
//   npx tsc -p . && node scripts/fuzz.mjs --iterations 20000 --seed 7
//
// Options: --iterations N capture cases (default 5000; YAML cases: N/10 each
// for rules and scenarios, N/40 for policy tests), --seed S (default: the
// time), --kinds capture,clock,rules,scenario,policy,inject,bounds,frag (inject: N/10 cases of
// scripts/fuzz-inject.mjs; bounds and frag: N/40 of scripts/fuzz-bounds.mjs and fuzz-frag.mjs), --out DIR (where failing
// inputs are saved; default a fresh directory under /tmp), --flood N (also
// run the SYN flood of scripts/fuzz-flood.mjs with N spoofed sources against
// the default table; `--iterations 0 --flood 2000000` is the full-size run
// alone, about a minute).
// Exit status: 0 no findings, 1 findings (each printed with its case and how
// to reproduce it), 2 bad arguments. --case I runs only case I of each kind
// given (with the same --seed): how a finding is reproduced.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fuzz } from './fuzz-lib.mjs';

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      iterations: { type: 'string', default: '5000' },
      seed: { type: 'string' },
      kinds: { type: 'string', default: 'capture,clock,rules,scenario,policy,inject,bounds,frag' },
      out: { type: 'string' },
      flood: { type: 'string' },
      case: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (err) {
  process.stderr.write(`fuzz.mjs: ${err.message}\n`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(
    'usage: node scripts/fuzz.mjs [--iterations N] [--seed S] [--kinds capture,clock,rules,scenario,policy,inject,bounds,frag] [--case I] [--out DIR] [--flood N]\n',
  );
  process.exit(0);
}
const iterations = Number(args.iterations);
if (!Number.isInteger(iterations) || iterations < 0) {
  process.stderr.write(`fuzz.mjs: --iterations ${args.iterations}: a whole number\n`);
  process.exit(2);
}
const seed = args.seed ?? String(Date.now());
const kinds = args.kinds
  .split(',')
  .map((k) => k.trim())
  .filter(Boolean);
let outDir = args.out ?? null;
let findings = 0;
const started = Date.now();

process.stderr.write(`fuzz: seed ${seed}, ${iterations} capture iterations, kinds ${kinds.join(',')}\n`);
const stats = await fuzz({
  seed,
  iterations,
  kinds,
  only: args.case === undefined ? null : Number(args.case),
  onProgress: (kind, n) =>
    process.stderr.write(`fuzz: ${kind} ${n} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`),
  onFinding: (kind, res) => {
    findings++;
    outDir ??= mkdtempSync(join(tmpdir(), 'fwemu-fuzz-findings-'));
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `${kind}-${findings}${res.bytes ? '.bin' : '.yaml'}`);
    writeFileSync(file, res.bytes ?? res.text ?? '');
    process.stdout.write(
      `FINDING ${res.desc} (reproduce: --seed ${seed} --kinds ${kind} --case ${res.desc.match(/#(\d+)/)?.[1]})\n  ${String(res.error).split('\n').slice(0, 8).join('\n  ')}\n  input: ${file}\n`,
    );
  },
});

if (args.flood) {
  const sources = Number(args.flood);
  const { synFlood } = await import('./fuzz-flood.mjs');
  process.stderr.write(`fuzz: SYN flood, ${sources} spoofed sources against the default table\n`);
  const r = await synFlood({ sources, fillTable: true, newAfterFull: 1000 });
  const { summary: _summary, ...figures } = r;
  process.stdout.write(`flood: ${JSON.stringify(figures)}\n`);
  if (!r.ok) findings++;
}

const secs = ((Date.now() - started) / 1000).toFixed(1);
for (const [kind, s] of Object.entries(stats)) {
  const outcomes = Object.entries(s.outcomes)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  process.stdout.write(`${kind}: ${s.runs} cases, ${s.findings} findings${outcomes ? ` (${outcomes})` : ''}\n`);
}
process.stdout.write(`seed ${seed}: ${findings} findings in ${secs} s\n`);
process.exit(findings ? 1 : 0);
