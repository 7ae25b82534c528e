#!/usr/bin/env node
/**
 * Two versions of fwemu side by side, in the same minutes:
 *
 *   node bench/ab.mjs REV [--runs N] [--format none|text|jsonl] [--instructions] FILE...
 *
 * Builds commit REV into a temporary git worktree (sharing node_modules;
 * tsc, then the CLI bundle where REV has scripts/bundle.mjs),
 * then runs `fwemu replay --format F --no-summary -r bench/rules.yaml FILE`
 * with REV's build and with the working tree's dist/ in turn, N times each
 * (default 3), and prints the fastest wall-clock time of each, their ratio,
 * and the CPU time (user + system). On a shared machine whose speed wanders
 * (see bench/README.md), interleaving is what makes the two comparable;
 * figures from separate runs of `npm run bench` are not.
 *
 * --instructions counts instructions instead of timing: each run goes
 * through valgrind (cachegrind, no cache simulation) with V8 made
 * deterministic (node --single-threaded: compilation and GC on the main
 * thread). The count moves by well under 1% from run to run whatever else
 * the machine does, where wall and CPU time wander by 5-10%; it is ~50x
 * slower, so use a capture of ~100k packets (editcap -r FILE SLICE
 * 1-100000). It includes start-up (~1.25 G instructions): compare the
 * differences, or subtract a run on a 10-packet slice.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
let runs = 3;
let format = 'none';
let instructions = false;
const files = [];
/** @type {string | null} */
let rev = null;
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--runs') runs = Number(argv[++i]);
  else if (argv[i] === '--format') format = argv[++i];
  else if (argv[i] === '--instructions') instructions = true;
  else if (rev === null) rev = argv[i];
  else files.push(argv[i]);
}
if (!rev || files.length === 0 || !['none', 'text', 'jsonl'].includes(format) || !(runs >= 1)) {
  process.stderr.write('usage: node bench/ab.mjs REV [--runs N] [--format none|text|jsonl] [--instructions] FILE...\n');
  process.exit(2);
}
if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
  process.stderr.write('bench/ab.mjs: no build in dist/: run npm run build first\n');
  process.exit(2);
}
// REV is bundled below when it can be; a working tree built by tsc alone would start slower than it.
const built = (name) => statSync(join(ROOT, 'dist', 'cli', name), { throwIfNoEntry: false })?.mtimeMs ?? -1;
if (existsSync(join(ROOT, 'scripts', 'bundle.mjs')) && built('main.bundle.mjs') < built('main.js')) {
  process.stderr.write('bench/ab.mjs: dist/ was built by tsc alone (no fresh bundle): run npm run build first\n');
  process.exit(2);
}

const log = (s) => process.stderr.write(`${s}\n`);
const tmp = mkdtempSync(join(tmpdir(), 'fwemu-ab-'));
const tree = join(tmp, 'tree');
const rssFile = join(tmp, 'time');

function cleanup() {
  try {
    execFileSync('git', ['worktree', 'remove', '--force', tree], { cwd: ROOT, stdio: 'ignore' });
  } catch {
    // not made yet
  }
  rmSync(tmp, { recursive: true, force: true });
}

/** The replay each run times or counts: the CLI at `bin` over `file`, no output. */
function replayArgs(bin, file) {
  return [bin, 'replay', '--format', format, '--no-summary', '-r', join(ROOT, 'bench', 'rules.yaml'), file];
}

/** Wall seconds and CPU seconds of one replay with the CLI at `bin`. */
function once(bin, file) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', rssFile, 'node', ...replayArgs(bin, file)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${bin} on ${file} exited with ${r.status}: ${r.stderr}`);
  const [user, sys] = (readFileSync(rssFile, 'utf8').trim().split('\n').pop() ?? '').split(' ').map(Number);
  return { wall, cpu: user + sys };
}

/** Instructions (millions) of one replay with the CLI at `bin`, under valgrind with a deterministic V8. */
function count(bin, file) {
  const r = spawnSync(
    'valgrind',
    [
      '--tool=cachegrind',
      '--cache-sim=no',
      // V8 writes the code it runs: valgrind must notice, or it runs stale translations.
      '--smc-check=all-non-file',
      '--cachegrind-out-file=/dev/null',
      'node',
      '--single-threaded',
      ...replayArgs(bin, file),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  if (r.error) throw new Error(`valgrind: ${r.error.message} (apt install valgrind)`);
  const m = /I\s+refs:\s+([\d,]+)/.exec(r.stderr);
  if (r.status !== 0 || !m)
    throw new Error(`${bin} on ${file} under valgrind exited with ${r.status}: ${r.stderr.slice(-2000)}`);
  return Number(m[1].replaceAll(',', '')) / 1e6;
}

try {
  log(`building ${rev} in ${tree} ...`);
  execFileSync('git', ['worktree', 'add', '--detach', tree, rev], { cwd: ROOT, stdio: 'ignore' });
  symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'));
  execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(tree, 'tsconfig.json')],
    { stdio: 'inherit' },
  );
  // Commits since de51cc1 also bundle the CLI (npm run build); without the bundle they start slower.
  const bundler = join(tree, 'scripts', 'bundle.mjs');
  if (existsSync(bundler)) execFileSync(process.execPath, [bundler], { stdio: 'inherit' });
  const bins = { [rev]: join(tree, 'bin', 'fwemu.js'), 'working tree': join(ROOT, 'bin', 'fwemu.js') };
  const label = (s) => s.padEnd(Math.max(...Object.keys(bins).map((k) => k.length)));
  for (const file of instructions ? files : []) {
    /** @type {Record<string, number[]>} */
    const counts = Object.fromEntries(Object.keys(bins).map((k) => [k, []]));
    for (let i = 0; i < runs; i++) for (const [k, bin] of Object.entries(bins)) counts[k].push(count(bin, file));
    console.log(`${file}, replay --format ${format}, ${runs} runs each under valgrind, interleaved:`);
    const least = {};
    for (const [k, cs] of Object.entries(counts)) {
      least[k] = Math.min(...cs);
      console.log(
        `  ${label(k)}  ${least[k].toFixed(1)} M instructions  (all: ${cs.map((c) => c.toFixed(1)).join(' ')})`,
      );
    }
    console.log(
      `  instructions of the working tree: ${((least['working tree'] / least[rev]) * 100).toFixed(1)}% of ${rev}'s`,
    );
  }
  for (const file of instructions ? [] : files) {
    /** @type {Record<string, { wall: number, cpu: number }[]>} */
    const times = Object.fromEntries(Object.keys(bins).map((k) => [k, []]));
    for (let i = 0; i < runs; i++) for (const [k, bin] of Object.entries(bins)) times[k].push(once(bin, file));
    console.log(`${file}, replay --format ${format}, ${runs} runs each, interleaved:`);
    const best = {};
    for (const [k, ts] of Object.entries(times)) {
      best[k] = Math.min(...ts.map((t) => t.wall));
      console.log(
        `  ${label(k)}  fastest ${best[k].toFixed(2)} s  (wall ${ts.map((t) => t.wall.toFixed(2)).join(' ')}; cpu ${ts.map((t) => t.cpu.toFixed(2)).join(' ')})`,
      );
    }
    console.log(`  speed-up of the working tree: ${(best[rev] / best['working tree']).toFixed(2)}x`);
  }
} finally {
  cleanup();
}
