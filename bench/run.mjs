#!/usr/bin/env node
/**
 * fwemu replay throughput and memory benchmark (npm run bench; needs a build
 * in dist/ and tcpdump on the PATH). See bench/README.md.
 *
 *   node bench/run.mjs [--runs N] [--only a,b,c] [--no-reports] [--no-stdin]
 *                      [--jobs J | --no-jobs] [--dir DIR] [--out FILE]
 *
 * Every figure is the median of N runs (default 5) of a separate process,
 * timed from spawn to exit (so Node's start-up and the rule-file load are
 * included). Peak RSS is the child's maximum resident set size as
 * /usr/bin/time -f %M reports it (getrusage ru_maxrss). No thresholds: this
 * measures, it does not judge. Results go to bench/results/latest.json and,
 * when bench/results/baseline.json exists, are compared with it.
 *
 * --jobs J (default: one per core) also times `replay --format none --jobs J`
 * on each capture, against tcpdump and one thread, and checks that its
 * summary is one thread's; and the reports (jsonl, text) with --jobs J
 * against one thread's (their lines are the same: test/cli/jobs.test.ts).
 */
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { availableParallelism, cpus as osCpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureCapture } from './gen.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = parseArgs(process.argv.slice(2));
const RUNS = Number(args.runs ?? 5);
const ONLY = new Set((args.only ?? 'a,b,c').split(','));
const DIR = resolve(args.dir ?? join(ROOT, 'bench', 'out'));
const OUT = resolve(args.out ?? join(ROOT, 'bench', 'results', 'latest.json'));
const BASELINE = join(ROOT, 'bench', 'results', 'baseline.json');
const RULES = join(ROOT, 'bench', 'rules.yaml');
const JOBS = args.jobs === false ? 0 : Number(args.jobs ?? availableParallelism());
const FWEMU = join(ROOT, 'bin', 'fwemu.js');
const TIME = '/usr/bin/time';
const devnull = openSync('/dev/null', 'w');
const rssFile = join(DIR, '.maxrss');

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    if (a.startsWith('--no-')) o[a.slice(5)] = false;
    else o[a.slice(2)] = argv[++i];
  }
  return o;
}

const log = (s) => process.stderr.write(s + '\n');

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Runs `argv` (through sh when `shell`), stdout to /dev/null unless captured;
 * returns { sec, maxRssKiB, stdout, stderr }. Throws on a non-zero exit.
 */
/**
 * CPU time the hypervisor gave to others while we waited (steal, /proc/stat),
 * in seconds summed over all CPUs; 0 where the kernel does not report it.
 * On a shared virtual machine it is what makes figures from different runs
 * disagree, so it is recorded with them.
 */
function stealSeconds() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    return Number(f[8] ?? 0) / 100;
  } catch {
    return 0;
  }
}
let stolen = 0;

function timed(argv, { shell = false, keepStdout = false } = {}) {
  const cmd = shell ? ['sh', '-c', argv] : argv;
  const s0 = stealSeconds();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(TIME, ['-f', '%M', '-o', rssFile, ...cmd], {
    cwd: ROOT,
    stdio: ['ignore', keepStdout ? 'pipe' : devnull, 'pipe'],
    maxBuffer: 64 << 20,
    encoding: 'utf8',
  });
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  stolen += stealSeconds() - s0;
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} exited with ${r.status}: ${r.stderr}`);
  return {
    sec,
    maxRssKiB: Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()),
    stdout: r.stdout ?? '',
    stderr: r.stderr,
  };
}

function repeat(n, f) {
  const runs = [];
  for (let i = 0; i < n; i++) runs.push(f());
  return {
    sec: median(runs.map((r) => r.sec)),
    maxRssKiB: median(runs.map((r) => r.maxRssKiB)),
    runs: runs.map((r) => +r.sec.toFixed(4)),
    last: runs[runs.length - 1],
  };
}

const replayArgs = (file, format = 'none', jobs = 1) => [
  'node',
  FWEMU,
  'replay',
  '--format',
  format,
  '-r',
  RULES,
  ...(jobs > 1 ? ['--jobs', String(jobs)] : []),
  file,
];
const q = (s) => `'${s.replaceAll("'", "'\\''")}'`;

/** "N packets: A accepted, D dropped ..." and the flows line, for checking that nothing changed. */
function summaryOf(text) {
  const m = /(\d+) packets: (\d+) accepted, (\d+) dropped, (\d+) rejected, (\d+) skipped/.exec(text);
  const f = /flows: (\d+) entered the conntrack table, (\d+) still in it/.exec(text);
  const by = /decided by: (.*)/.exec(text);
  if (!m) throw new Error(`no summary in fwemu output:\n${text}`);
  return {
    packets: +m[1],
    accepted: +m[2],
    dropped: +m[3],
    rejected: +m[4],
    skipped: +m[5],
    flows: f ? +f[1] : null,
    liveAtEnd: f ? +f[2] : null,
    decidedBy: by ? by[1] : null,
  };
}

function version(cmd, argv) {
  try {
    return execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .split('\n')[0]
      .trim();
  } catch {
    return null;
  }
}

function gitState() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head}+dirty` : head;
  } catch {
    return null;
  }
}

const fmtPps = (x) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : `${(x / 1e3).toFixed(0)} k`);

async function main() {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('no build in dist/: run npm run build first');
  const results = {
    date: new Date().toISOString(),
    commit: gitState(),
    machine: { cpu: osCpus()[0]?.model ?? '?', cores: osCpus().length, memGiB: +(totalmem() / 2 ** 30).toFixed(1) },
    node: process.version,
    tcpdump: version('tcpdump', ['--version']),
    runs: RUNS,
    method: {
      timing:
        'median wall-clock seconds from spawn to exit of RUNS separate processes (Node start-up and rule loading included)',
      pps: 'packets in the capture / median seconds',
      ratio: 'fwemu pps / tcpdump pps on the same file, same run',
      tcpdump: "tcpdump -n -r FILE -w /dev/null 'tcp dst port 443'",
      fwemu: 'node bin/fwemu.js replay --format none -r bench/rules.yaml FILE',
      jobs: "node bin/fwemu.js replay --format none --jobs J -r bench/rules.yaml FILE (J worker threads; speedUp = one thread's seconds / these)",
      peakRss: 'maximum resident set size of the process (/usr/bin/time %M, getrusage ru_maxrss), KiB',
      stealSec:
        'CPU steal (/proc/stat) summed over CPUs during all timed runs, seconds: time the hypervisor gave to other guests',
      bytesPerFlow:
        '(peak RSS replaying b - peak RSS replaying b-small) / (flows in b - flows in b-small); b-small has the same shape with 1000 flows, so Node, code and I/O buffers cancel out',
    },
    captures: {},
  };

  const ids = ['a', 'b', 'c'].filter((id) => ONLY.has(id));
  const caps = {};
  for (const id of ids) caps[id] = await ensureCapture(DIR, id, log);
  if (ONLY.has('b')) caps.bSmall = await ensureCapture(DIR, 'bSmall', log);

  // Start-up: the smallest capture, for reading the other figures.
  if (caps.bSmall) {
    const s = repeat(RUNS, () => timed(replayArgs(caps.bSmall.path)));
    results.startup = { sec: +s.sec.toFixed(4), packets: caps.bSmall.packets, maxRssKiB: s.maxRssKiB };
    log(
      `start-up (b-small, ${caps.bSmall.packets} packets): ${(s.sec * 1000).toFixed(0)} ms, peak RSS ${(s.maxRssKiB / 1024).toFixed(0)} MiB`,
    );
  }

  for (const id of ids) {
    const c = caps[id];
    const r = { file: c.path, packets: c.packets, bytes: c.bytes, params: c.params };
    log(`\n[${id}] ${c.path}: ${c.packets} packets, ${(c.bytes / 1e6).toFixed(0)} MB`);

    const fw = repeat(RUNS, () => timed(replayArgs(c.path), { keepStdout: true }));
    r.summary = summaryOf(fw.last.stdout);
    if (r.summary.packets !== c.packets) throw new Error(`fwemu replayed ${r.summary.packets} of ${c.packets} packets`);
    const td = repeat(RUNS, () => timed(['tcpdump', '-n', '-r', c.path, '-w', '/dev/null', 'tcp dst port 443']));
    r.fwemu = { sec: +fw.sec.toFixed(4), pps: Math.round(c.packets / fw.sec), peakRssKiB: fw.maxRssKiB, runs: fw.runs };
    r.tcpdump = {
      sec: +td.sec.toFixed(4),
      pps: Math.round(c.packets / td.sec),
      peakRssKiB: td.maxRssKiB,
      runs: td.runs,
    };
    r.ratio = +(r.fwemu.pps / r.tcpdump.pps).toFixed(3);
    if (results.startup) r.fwemu.ppsExclStartup = Math.round(c.packets / Math.max(1e-9, fw.sec - results.startup.sec));
    log(
      `  fwemu   ${fw.sec.toFixed(3)} s  ${fmtPps(r.fwemu.pps)}pps  peak RSS ${(fw.maxRssKiB / 1024).toFixed(0)} MiB`,
    );
    log(`  tcpdump ${td.sec.toFixed(3)} s  ${fmtPps(r.tcpdump.pps)}pps`);
    log(`  ratio fwemu/tcpdump ${r.ratio}`);

    if (JOBS > 1) {
      const jb = repeat(RUNS, () => timed(replayArgs(c.path, 'none', JOBS), { keepStdout: true }));
      if (jb.last.stdout !== fw.last.stdout)
        throw new Error(
          `replay --jobs ${JOBS} gave another summary than one thread:\n${jb.last.stdout}\nagainst\n${fw.last.stdout}`,
        );
      if (/again on one thread/.test(jb.last.stderr))
        throw new Error(`replay --jobs ${JOBS} fell back to one thread: ${jb.last.stderr}`);
      r.jobs = {
        jobs: JOBS,
        sec: +jb.sec.toFixed(4),
        pps: Math.round(c.packets / jb.sec),
        ratio: +(c.packets / jb.sec / r.tcpdump.pps).toFixed(3),
        speedUp: +(fw.sec / jb.sec).toFixed(2),
        peakRssKiB: jb.maxRssKiB,
        runs: jb.runs,
      };
      log(
        `  --jobs ${JOBS} ${jb.sec.toFixed(3)} s  ${fmtPps(r.jobs.pps)}pps  ratio ${r.jobs.ratio}  ${r.jobs.speedUp}x one thread  peak RSS ${(jb.maxRssKiB / 1024).toFixed(0)} MiB  (same summary)`,
      );
    }

    if (args.stdin !== false) {
      const st = repeat(RUNS, () => timed(`cat ${q(c.path)} | ${replayArgs('-').map(q).join(' ')}`, { shell: true }));
      r.stdin = {
        sec: +st.sec.toFixed(4),
        pps: Math.round(c.packets / st.sec),
        peakRssKiB: st.maxRssKiB,
        vsFile: +(fw.sec / st.sec).toFixed(3),
        runs: st.runs,
      };
      log(`  stdin   ${st.sec.toFixed(3)} s  ${fmtPps(r.stdin.pps)}pps  (${r.stdin.vsFile} of the file rate)`);
    }

    if (args.reports !== false && id !== 'b') {
      r.reports = {};
      const n = Math.max(1, Math.min(RUNS, 3));
      for (const format of ['jsonl', 'text']) {
        const rep = repeat(n, () => timed(replayArgs(c.path, format)));
        r.reports[format] = {
          sec: +rep.sec.toFixed(4),
          pps: Math.round(c.packets / rep.sec),
          vsNone: +(rep.sec / fw.sec).toFixed(2),
          peakRssKiB: rep.maxRssKiB,
          runs: rep.runs,
        };
        log(
          `  --format ${format.padEnd(5)} ${rep.sec.toFixed(3)} s  ${fmtPps(r.reports[format].pps)}pps  ${r.reports[format].vsNone}x the time of --format none`,
        );
        if (JOBS > 1) {
          const jr = repeat(n, () => timed(replayArgs(c.path, format, JOBS)));
          if (/again on one thread/.test(jr.last.stderr))
            throw new Error(`replay --format ${format} --jobs ${JOBS} fell back to one thread: ${jr.last.stderr}`);
          r.reports[format].jobs = {
            jobs: JOBS,
            sec: +jr.sec.toFixed(4),
            pps: Math.round(c.packets / jr.sec),
            speedUp: +(rep.sec / jr.sec).toFixed(2),
            peakRssKiB: jr.maxRssKiB,
            runs: jr.runs,
          };
          log(
            `  --format ${format.padEnd(5)} --jobs ${JOBS} ${jr.sec.toFixed(3)} s  ${fmtPps(r.reports[format].jobs.pps)}pps  ${r.reports[format].jobs.speedUp}x one thread  peak RSS ${(jr.maxRssKiB / 1024).toFixed(0)} MiB`,
          );
        }
      }
    }
    results.captures[id] = r;
  }

  if (caps.b && caps.bSmall) {
    const big = results.captures.b.fwemu.peakRssKiB;
    const small = results.startup.maxRssKiB;
    const flows = caps.b.flows - caps.bSmall.flows;
    results.memory = {
      flows: caps.b.flows,
      peakRssKiB: big,
      baselinePeakRssKiB: small,
      bytesPerFlow: Math.round(((big - small) * 1024) / flows),
    };
    log(`\nbytes per tracked flow (b): (${big} - ${small}) KiB / ${flows} flows = ${results.memory.bytesPerFlow} B`);
  }

  const timedSec = Object.values(results.captures).reduce((t, r) => t + r.fwemu.sec * RUNS, 0);
  results.stealSec = +stolen.toFixed(2);
  log(
    `\nCPU steal while measuring: ${stolen.toFixed(1)} s (summed over CPUs; the replays of --format none alone took ~${timedSec.toFixed(0)} s)` +
      (stolen > 0.05 * timedSec
        ? '. The machine was shared: compare ratios within this run, not times across runs.'
        : ''),
  );
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(results, null, 2) + '\n');
  log(`\nwrote ${OUT}`);
  if (existsSync(BASELINE) && resolve(BASELINE) !== OUT) compare(JSON.parse(readFileSync(BASELINE, 'utf8')), results);
  rmSync(rssFile, { force: true });
}

/** Prints the change against the committed baseline (figures only; the verdict counts must be equal). */
function compare(base, cur) {
  log(`\nagainst bench/results/baseline.json (${base.date}, ${base.commit ?? '?'}):`);
  for (const [id, r] of Object.entries(cur.captures)) {
    const b = base.captures?.[id];
    if (!b) continue;
    const pct = (x, y) => `${x >= y ? '+' : ''}${(((x - y) / y) * 100).toFixed(0)}%`;
    log(
      `  [${id}] fwemu ${fmtPps(r.fwemu.pps)}pps (${pct(r.fwemu.pps, b.fwemu.pps)}), ratio ${r.ratio} (was ${b.ratio}), peak RSS ${pct(r.fwemu.peakRssKiB, b.fwemu.peakRssKiB)}`,
    );
    const same =
      JSON.stringify({ ...r.summary, decidedBy: null }) === JSON.stringify({ ...b.summary, decidedBy: null }) &&
      r.summary.decidedBy === b.summary.decidedBy;
    if (!same)
      log(
        `  [${id}] WARNING: the replay summary differs from the baseline's:\n    now  ${JSON.stringify(r.summary)}\n    was  ${JSON.stringify(b.summary)}`,
      );
  }
  if (base.memory && cur.memory) log(`  bytes per flow ${cur.memory.bytesPerFlow} (was ${base.memory.bytesPerFlow})`);
}

main().catch((err) => {
  log(`bench: ${err.stack ?? err}`);
  process.exit(1);
});
