import { availableParallelism } from 'node:os';
import type { Argv } from 'yargs';
import { CaptureError, type CaptureRecord } from '../capture/types.js';
import type { Engine } from '../engine/engine.js';
import { ClockWatch } from '../engine/clock.js';
import { replay, type PacketSource, type ReplaySummary } from '../engine/replay.js';
import { ExitCode, UserError } from '../base/errors.js';
import { LineWriter } from '../report/output.js';
import { PcapSink } from '../report/pcap-sink.js';
import { writeReplayJsonLine } from '../report/json-line.js';
import { ANSI_PAINT, engineFacts, NO_PAINT, REPLAY_HEADER, summaryLines } from '../report/replay-text.js';
import { writeReplayLine } from '../report/text-line.js';
import { replaySharded } from '../run/sharded.js';
import type { TimeFormat } from '../report/time.js';
import { loadRuleSet, type LoadResult } from '../rules/load.js';
import { formatDiagnostic } from '../base/diag.js';
import { visible } from '../base/text-escape.js';
import { checkOutputs, type NamedFile } from '../base/output-file.js';
import { inputName, isScenarioPath, outcome, packetSource, reportCaptureEnd, reportClock, stdinPath, useColor, type CommonOptions } from './common.js';
import { captureProgress } from './progress.js';

interface ReplayArgs extends CommonOptions {
  capture: string;
  rules: string;
  format: 'text' | 'jsonl' | 'none';
  time: TimeFormat;
  'write-accepted'?: string;
  'write-dropped'?: string;
  summary: boolean;
  progress?: boolean;
  /** A whole number, or 'auto' (yargs gives what was typed). */
  jobs: string | number;
}

export function replayCommand(y: Argv<CommonOptions>) {
  return y.command<ReplayArgs>(
    'replay <capture>',
    'Judge every packet of a capture: verdict, conntrack state, and the reason',
    (a) =>
      a
        .positional('capture', { type: 'string', demandOption: true, describe: 'pcap or pcapng file, - for stdin, or a scenario (.yaml) to synthesize' })
        .option('rules', { alias: 'r', type: 'string', demandOption: true, describe: 'rule file (YAML), or - for standard input; see rules/ for examples' })
        .option('format', {
          alias: 'f',
          choices: ['text', 'jsonl', 'none'] as const,
          default: 'text' as const,
          describe: 'text: aligned columns; jsonl: one JSON object per packet (fields n, verdict, ct, rule, flow, reason, ...); none: summary only',
        })
        .option('time', { choices: ['relative', 'epoch', 'iso'] as const, default: 'relative' as const, describe: 'timestamps in text output' })
        .option('write-accepted', {
          type: 'string',
          requiresArg: true,
          describe: 'write the accepted packets to this capture (.pcapng keeps interfaces; otherwise pcap), replaced only once the replay succeeded; - for stdout (pcap) with --format none',
        })
        .option('write-dropped', { type: 'string', requiresArg: true, describe: 'write the dropped and rejected packets to this capture (as --write-accepted)' })
        .option('summary', { type: 'boolean', default: true, describe: 'print the summary (stdout for text/none, stderr for jsonl); --no-summary to omit' })
        .option('progress', {
          type: 'boolean',
          describe: 'a progress line on stderr: packets, % of the file, rate, time left (default: when stderr is a terminal and the results go to a file, or there are none); --no-progress to omit',
        })
        .option('jobs', {
          alias: 'j',
          type: 'string',
          default: '1',
          describe:
            'judge on N worker threads (auto: one per core), each holding the flows of some address pairs; the lines, the written captures and the summary are the same as with one thread. ' +
            'It pays on large captures of many hosts, up to about one thread per core; when the conntrack table could fill up, the capture is replayed again on one thread',
        })
        .example('$0 replay -r rules/web-server.yaml fixtures/seed-three-clients.pcap', 'why each packet passes or not')
        .example('$0 replay -r rules/web-server.yaml -f jsonl cap.pcap | jq -c "select(.verdict==\\"drop\\")"', 'only the drops, as JSON')
        .example('tcpdump -U -w - -i eth0 | $0 replay -r my.yaml -', 'judge live traffic')
        .example('$0 replay -r my.yaml -f jsonl -j auto big.pcap > big.jsonl', 'a large capture judged on one thread per core'),
    async (args) => {
      args.rules = stdinPath(args.rules);
      if (args.rules === '-' && stdinPath(args.capture) === '-')
        throw new UserError('replay: the rule file and the capture cannot both be - (standard input): give one of them as a file');
      const jobs = checkJobs(args);
      const { source } = packetSource(args.capture);
      if (jobs > 1 && typeof source === 'string') {
        outcome.exitCode = await runReplaySharded(args, source, jobs);
        return;
      }
      outcome.exitCode = await runReplay(args, source);
    },
  );
}

/** Where a sharded replay that could not go on exactly left off: its output, and the packets whose output it wrote. */
interface Resume {
  out: LineWriter;
  accepted: PcapSink | null;
  dropped: PcapSink | null;
  /** Packets whose output (line, written record) is out already: one thread's first ones. */
  skip: number;
  /** The rules the sharded replay loaded. */
  rules: LoadResult;
}

/** One thread's replay; or the rest of one that a sharded replay began (`resume`). */
export async function runReplay(args: ReplayArgs, source: PacketSource, resume?: Resume): Promise<number> {
  const out = resume?.out ?? new LineWriter();
  const paint = useColor(args.color) ? ANSI_PAINT : NO_PAINT;
  if (!resume) checkSinks(args);
  const base = { sec: -1, nsec: 0 };
  let firstLinkType = 1;
  let skip = resume?.skip ?? 0;
  let headerDone = skip > 0;
  /** The engine, once a packet has been replayed: what a capture error leaves to summarize. */
  let engineSeen: Engine | null = null;
  // Loaded here rather than by replay(), so that its warnings are printed after a capture error too.
  // (A resumed replay reuses the rules already read: standard input cannot be read twice.)
  const { ruleset, warnings: ruleWarnings } = resume?.rules ?? loadRuleSet(args.rules);
  const { accepted, dropped } = resume ?? openSinks(args);
  const progress = captureProgress(args.capture, args.progress, args.format !== 'none');
  // Ours, so that what it saw is known after a capture error too.
  const clock = ClockWatch.forRuleSet(ruleset);

  let summary: ReplaySummary;
  try {
    summary = await replay({
      rules: ruleset,
      source,
      clock,
      beforeRead: () => out.pending() ?? accepted?.pending() ?? dropped?.pending() ?? null,
      onRecord: progress === null ? undefined : (rec) => progress.tick(rec.fileOffset),
      onPacket: (r, p, rec, engine) => {
        if (base.sec < 0) {
          base.sec = rec.tsSec;
          base.nsec = rec.tsNsec;
          firstLinkType = rec.linkType;
          engineSeen = engine;
        }
        if (skip > 0) {
          skip--;
          return;
        }
        if (accepted && r.verdict === 'accept') accepted.add(rec);
        if (dropped && (r.verdict === 'drop' || r.verdict === 'reject')) dropped.add(rec);
        if (args.format === 'none' || out.closed) return;
        if (args.format === 'jsonl') {
          writeReplayJsonLine(out, r, p, rec, engine);
          out.endLine();
          return;
        }
        if (!headerDone) {
          out.line(paint.dim(REPLAY_HEADER));
          headerDone = true;
        }
        writeReplayLine(out, r, p, engine, args.time, base, paint);
        out.endLine();
      },
    });
  } catch (err) {
    progress?.clear();
    // A capture unreadable from some point on: every packet before it has
    // been judged; show those lines, their summary and the warnings raised
    // before the error (what the reader had read is the error's `partial`),
    // then let main() report the error (exit 2). The run failed: the files
    // named by --write-* are left as they were.
    abortSinks(args, accepted, dropped);
    if (err instanceof CaptureError) {
      const engine = engineSeen as Engine | null; // (set in a callback, which TypeScript does not follow)
      const capture = err.partial;
      if (engine !== null && capture !== undefined && args.summary) {
        const lines = summaryLines(engineFacts(engine, clock?.result ?? null), capture, args.format === 'jsonl' ? NO_PAINT : paint);
        lines.push(unreadableFrom(err, engine.stats.packets));
        writeSummary(args, out, lines);
      }
      await out.flush();
      for (const w of ruleWarnings) args.log.warn(formatDiagnostic(w));
      if (capture !== undefined) reportCaptureEnd(args, capture, engine?.stats.undecodable ?? 0, inputName(args.capture));
      reportClock(clock?.result ?? null, inputName(args.capture));
    } else {
      await out.flush();
    }
    throw err;
  }

  progress?.clear();
  for (const w of ruleWarnings) args.log.warn(formatDiagnostic(w));
  if (args.summary) writeSummary(args, out, summaryLines(engineFacts(summary.engine, summary.clock), summary.capture, args.format === 'jsonl' ? NO_PAINT : paint));
  await finish(args, out, accepted, dropped, firstLinkType);
  reportCaptureEnd(args, summary.capture, summary.stats.undecodable, inputName(args.capture));
  reportClock(summary.clock, inputName(args.capture));
  return ExitCode.OK;
}

/** The summary's last line when the capture broke off (main() then reports the error itself). */
function unreadableFrom(err: CaptureError, packets: number): string {
  return `  capture unreadable from byte ${err.offset}: only the ${packets} packets before it were replayed (the error follows)`;
}

/** The summary goes to stdout after the packet lines, or to stderr when stdout carries JSON lines or a capture. */
function writeSummary(args: ReplayArgs, out: LineWriter, lines: string[]): void {
  if (args.format === 'jsonl' || captureOnStdout(args)) process.stderr.write(lines.join('\n') + '\n');
  else {
    if (args.format === 'text') out.line('');
    for (const l of lines) out.line(l);
  }
}

function captureOnStdout(args: ReplayArgs): boolean {
  return args['write-accepted'] === '-' || args['write-dropped'] === '-';
}

/**
 * Before anything is read or written: "-" (standard output) only where it
 * carries nothing else, and no output that is an input (the capture, the
 * rule file) or another output (stdout included, when it is a file).
 */
function checkSinks(args: ReplayArgs): void {
  const options = [['--write-accepted', args['write-accepted']], ['--write-dropped', args['write-dropped']]] as const;
  for (const [option, path] of options) {
    if (path === '') throw new UserError(`replay: ${option} needs a file name (or -, standard output, with --format none)`);
    if (path !== '-') continue;
    if (args.format !== 'none') {
      throw new UserError(`replay: ${option} -: standard output carries the packet lines; add --format none to write the capture there (the summary then goes to stderr), or name a file`);
    }
    if (process.stdout.isTTY) throw new UserError(`replay: refusing to write a binary capture to the terminal (${option} -): name a file, or pipe the output`);
  }
  if (args['write-accepted'] === '-' && args['write-dropped'] === '-') {
    throw new UserError('replay: --write-accepted - and --write-dropped -: standard output can carry one capture; name a file for the other');
  }
  const outputs: NamedFile[] = [];
  for (const [option, path] of options) if (path !== undefined) outputs.push({ role: option, path });
  // The lines and the summary: refused when they would land in an input, or in a written capture.
  if (!captureOnStdout(args)) outputs.push({ role: 'the results', path: '-' });
  checkOutputs([{ role: isScenarioPath(args.capture) ? 'the scenario' : 'the capture', path: args.capture }, { role: 'the rule file', path: args.rules }], outputs);
}

/** The captures --write-* name, opened (each replaces its file only at close()). */
function openSinks(args: ReplayArgs): { accepted: PcapSink | null; dropped: PcapSink | null } {
  const accepted = args['write-accepted'] !== undefined ? new PcapSink(args['write-accepted']) : null;
  try {
    return { accepted, dropped: args['write-dropped'] !== undefined ? new PcapSink(args['write-dropped']) : null };
  } catch (err) {
    accepted?.abort();
    throw err;
  }
}

/** The replay succeeded: its lines out, then each written capture put in place. */
async function finish(args: ReplayArgs, out: LineWriter, accepted: PcapSink | null, dropped: PcapSink | null, firstLinkType: number): Promise<void> {
  try {
    await out.flush();
    for (const sink of [accepted, dropped]) {
      if (!sink) continue;
      await sink.close(firstLinkType);
      if (sink.skippedLinkType) {
        process.stderr.write(`fwemu: warning: ${sink.skippedLinkType} packets not written to ${visible(sink.name)}: their link type differs from the file's (use a .pcapng name to keep them all)\n`);
      }
    }
  } catch (err) {
    // (a capture already closed is in place; abort() leaves it so)
    abortSinks(args, accepted, dropped);
    throw err;
  }
}

/** The run failed: every file --write-* names is left as it was, and stderr says so. */
function abortSinks(args: ReplayArgs, accepted: PcapSink | null, dropped: PcapSink | null): void {
  for (const [option, sink] of [['--write-accepted', accepted], ['--write-dropped', dropped]] as const) {
    if (!sink) continue;
    const undoable = sink.undoable;
    sink.abort();
    if (undoable) process.stderr.write(`fwemu: ${option} ${visible(sink.path)}: not written (the run failed; a file of that name is left as it was)\n`);
  }
}

/** Worker threads per core at most: judging is CPU-bound, so more than one per core gains nothing; a few are allowed for cores Node undercounts. */
export const JOBS_PER_CORE = 4;

/**
 * --jobs: a whole number from 1 to 256, or auto (one per core, as Node
 * counts them). More than JOBS_PER_CORE per core is lowered to that, with
 * a warning: each thread keeps its own flows and buffers (256 threads on 2
 * cores took 2.4 GB) and cannot run sooner for being started. A scenario is
 * generated on this thread, so it is judged there too (--jobs is ignored).
 */
function checkJobs(args: ReplayArgs): number {
  const given = String(args.jobs).trim();
  const cores = availableParallelism();
  if (given === 'auto') return Math.min(256, cores);
  const j = /^\d+$/.test(given) ? Number(given) : NaN;
  if (!(j >= 1 && j <= 256)) {
    throw new UserError(`replay: --jobs must be a whole number from 1 to 256, or auto, not ${given === '' ? 'nothing' : given}`);
  }
  const cap = Math.min(256, JOBS_PER_CORE * cores);
  if (j > cap) {
    process.stderr.write(
      `fwemu: warning: replay --jobs ${j}: using ${cap} threads, ${JOBS_PER_CORE} per core (${cores} ${cores === 1 ? 'core' : 'cores'} here): ` +
        `more threads only take more memory, each keeping its own flows and buffers, and finish no sooner\n`,
    );
    return cap;
  }
  return j;
}

/**
 * replay --jobs N: the capture judged by N worker threads, the summary
 * theirs summed. When they cannot be exact (the flows reach the conntrack
 * table's limit, or a fragmented ICMP error; run/sharded.ts says why),
 * the capture is replayed again on this thread; standard input cannot be
 * read twice, so that is an error there.
 */
async function runReplaySharded(args: ReplayArgs, path: string, jobs: number): Promise<number> {
  const rules = loadRuleSet(args.rules);
  const { ruleset, warnings: ruleWarnings } = rules;
  const progress = captureProgress(args.capture, args.progress, args.format !== 'none');
  const paint = useColor(args.color) ? ANSI_PAINT : NO_PAINT;
  const out = new LineWriter();
  checkSinks(args);
  const { accepted, dropped } = openSinks(args);
  let headerDone = false;
  /**
   * A written capture that failed (a full disk): write() is called from the
   * workers' message events, where a throw would escape everything, so the
   * error waits here; wait() hands it to the reader, which stops, and the
   * end of the replay checks it too.
   */
  let writeFailure: unknown = null;
  const lines = args.format === 'none' && !accepted && !dropped ? undefined : {
    report: { format: args.format, time: args.time, color: paint === ANSI_PAINT, accepted: accepted !== null, dropped: dropped !== null },
    write: (bytes: Uint8Array, start: number, end: number, rec: CaptureRecord | null, to: 'accepted' | 'dropped' | null) => {
      if (writeFailure !== null) return;
      if (rec !== null) {
        try {
          (to === 'accepted' ? accepted : dropped)!.add(rec);
        } catch (err) {
          writeFailure = err;
          return;
        }
      }
      if (args.format === 'none' || out.closed) return;
      if (!headerDone && args.format === 'text') out.line(paint.dim(REPLAY_HEADER));
      headerDone = true;
      out.lineBytes(bytes, start, end);
    },
    wait: () => (writeFailure !== null ? Promise.reject(writeFailure) : (out.pending() ?? accepted?.pending() ?? dropped?.pending() ?? null)),
  };
  let o;
  try {
    o = await replaySharded({ rules: ruleset, path, jobs, onRecord: progress === null ? undefined : (rec) => progress.tick(rec.fileOffset), lines });
    if (writeFailure !== null) throw writeFailure;
  } catch (err) {
    abortSinks(args, accepted, dropped);
    throw err;
  } finally {
    progress?.clear();
  }
  if (o.kind === 'inexact') {
    const why = `replay --jobs ${jobs}: stopped after packet ${o.packets}: ${o.reason}`;
    if (path === '-') {
      for (const w of ruleWarnings) args.log.warn(formatDiagnostic(w));
      abortSinks(args, accepted, dropped);
      await out.flush();
      const hint = o.cause === 'limit' ? ' (or raise conntrack.max in the rule file, if the kernel you model has a larger nf_conntrack_max)' : '';
      const toFiles = [accepted, dropped].some((sink) => sink !== null && sink.path !== '-');
      const written = o.packetsWritten > 0 ? ` (the output of the first ${o.packetsWritten} packets was written${toFiles ? ', except to the files --write-* names' : ''})` : '';
      throw new UserError(`${why}. Standard input cannot be read again: replay it with --jobs 1${hint}${written}`);
    }
    args.log.warn(`${why}; replaying it again on one thread${o.packetsWritten > 0 ? `, from the packet after the ${o.packetsWritten} whose output is written` : ''}`);
    return runReplay(args, path, { out, accepted, dropped, skip: o.packetsWritten, rules });
  }
  for (const w of ruleWarnings) args.log.warn(formatDiagnostic(w));
  args.log.info({ packetsByThread: o.summary.packetsByShard }, `judged on ${jobs} threads`);
  // (As with one thread: no summary when the capture broke off before its first packet.)
  if (args.summary && (o.kind === 'done' || o.summary.stats.packets > 0)) {
    const summary = summaryLines({ ...o.summary, ruleIds: ruleset.rules.map((r) => r.id) }, o.summary.capture, args.format === 'jsonl' ? NO_PAINT : paint);
    if (o.kind === 'capture-error') summary.push(unreadableFrom(o.error, o.summary.stats.packets));
    writeSummary(args, out, summary);
  }
  if (o.kind === 'capture-error') {
    abortSinks(args, accepted, dropped);
    await out.flush();
    reportCaptureEnd(args, o.summary.capture, o.summary.stats.undecodable, inputName(args.capture));
    reportClock(o.summary.clock, inputName(args.capture));
    throw o.error;
  }
  await finish(args, out, accepted, dropped, o.summary.firstLinkType);
  reportCaptureEnd(args, o.summary.capture, o.summary.stats.undecodable, inputName(args.capture));
  reportClock(o.summary.clock, inputName(args.capture));
  return ExitCode.OK;
}
