/**
 * The replay command's session: the rule file and the capture opened, the
 * packet lines, the written captures (--write-accepted, --write-dropped) and
 * the summary, on one thread or spread over worker threads (sharded.ts),
 * and what a failure leaves behind.
 */
import { CaptureError, type CaptureRecord } from '../capture/types.js';
import type { Engine } from '../engine/engine.js';
import { ClockWatch } from '../engine/clock.js';
import { replay, type PacketSource } from '../engine/replay.js';
import { ExitCode, UserError } from '../base/errors.js';
import { LineWriter } from '../report/output.js';
import { PcapSink } from '../report/pcap-sink.js';
import { writeReplayJsonLine } from '../report/json-line.js';
import {
  ANSI_PAINT,
  engineFacts,
  NO_PAINT,
  REPLAY_HEADER,
  summaryLines,
  type Paint,
  type SummaryFacts,
} from '../report/replay-text.js';
import { FitLayout, wrapText } from '../report/fit-line.js';
import type { CaptureSummary } from '../capture/types.js';
import { writeReplayLine } from '../report/text-line.js';
import type { TimeFormat } from '../report/time.js';
import type { LoadResult } from '../rules/load.js';
import { loadRulesOf, type RuleArgs } from './rule-args.js';
import { firewallRules } from '../rules/fw-compile.js';
import { rewriteLeaving } from '../packet/nat-rewrite.js';
import type { DecodedPacket } from '../packet/types.js';
import type { Firewall } from '../rules/firewall.js';
import { visible, visibleLines } from '../base/text-escape.js';
import { checkOutputs, type NamedFile } from '../base/output-file.js';
import { flushing, isLiveInput, isScenarioPath } from './inputs.js';
import type { Io } from './io.js';
import { CaptureSession, type SessionOptions } from './session.js';
import { replaySharded } from './sharded.js';

/** What a replay is asked to do (the replay command's options). */
export interface ReplaySessionOptions extends SessionOptions, RuleArgs {
  capture: string;
  format: 'text' | 'jsonl' | 'none';
  time: TimeFormat;
  'write-accepted'?: string;
  'write-dropped'?: string;
  summary: boolean;
  progress?: boolean;
  /** -l / --no-line-buffered as given (undefined: decided by the input and stdout; run/inputs.ts flushing()). */
  'line-buffered'?: boolean;
  /** Colours in the packet lines and the summary. */
  paint: Paint;
  /** The text lines fitted to this many columns (report/fit-line.ts); 0: the wide line, the same for every reader. */
  width: number;
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
export async function runReplay(
  args: ReplaySessionOptions,
  io: Io,
  source: PacketSource,
  resume?: Resume,
): Promise<number> {
  const out = resume?.out ?? new LineWriter(io.stdout);
  const flush = flushing(args['line-buffered'], args.capture, io.stdout);
  out.perLine = flush === 'line';
  const paint = args.paint;
  const fit = textLayout(args);
  if (!resume) checkSinks(args, io);
  const base = { sec: -1, nsec: 0 };
  let firstLinkType = 1;
  let skip = resume?.skip ?? 0;
  let headerDone = skip > 0;
  /** The engine, once a packet has been replayed: what a capture error leaves to summarize. */
  let engineSeen: Engine | null = null;
  // Loaded here rather than by replay(), so that its warnings are printed after a capture error too.
  // (A resumed replay reuses the rules already read: standard input cannot be read twice.)
  const { ruleset, warnings: ruleWarnings } = resume?.rules ?? loadRulesOf(args, io.stdin);
  const { accepted, dropped } = resume ?? openSinks(args, io);
  const session = new CaptureSession(
    io,
    args,
    args.capture,
    { asked: args.progress, perPacketOutput: args.format !== 'none' },
    ruleWarnings,
  );
  // Ours, so that what it saw is known after a capture error too.
  const clock = ClockWatch.forRuleSet(ruleset);

  const summary = await session.read(
    () =>
      replay({
        rules: ruleset,
        source,
        stdin: io.stdin,
        clock,
        beforeRead: () => out.pending() ?? accepted?.pending() ?? dropped?.pending() ?? null,
        afterChunk: flush === 'chunk' ? () => out.flushBuffered() : undefined,
        onRecord: session.onRecord,
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
          // (NAT: the packet as it leaves the firewall.)
          if (accepted && r.verdict === 'accept')
            accepted.add(r.egress === null ? rec : leavingRecord(rec, p, r.egress));
          if (dropped && (r.verdict === 'drop' || r.verdict === 'reject')) dropped.add(rec);
          if (args.format === 'none' || out.closed) return;
          if (args.format === 'jsonl') {
            writeReplayJsonLine(out, r, p, rec, engine);
            out.endLine();
            return;
          }
          if (!headerDone) {
            out.line(fit ? fit.header(paint) : paint.dim(REPLAY_HEADER));
            headerDone = true;
          }
          if (fit) fit.write(out, r, p, engine, args.time, base, paint);
          else writeReplayLine(out, r, p, engine, args.time, base, paint);
          out.endLine();
        },
      }),
    async (err) => {
      // A capture unreadable from some point on: every packet before it has
      // been judged; show those lines, their summary and the warnings raised
      // before the error (what the reader had read is the error's `partial`),
      // then let main() report the error (exit 2). The run failed: the files
      // named by --write-* are left as they were.
      abortSinks(io, accepted, dropped);
      if (err instanceof CaptureError) {
        const engine = engineSeen as Engine | null; // (set in a callback, which TypeScript does not follow)
        const capture = err.partial;
        if (engine !== null && capture !== undefined && args.summary) {
          const facts = engineFacts(engine, clock?.result ?? null);
          writeSummary(args, io, out, facts, capture, unreadableFrom(err, engine.stats.packets));
        }
        await out.flush();
        session.warnRules();
        if (capture !== undefined) session.captureEnd(capture, engine?.stats.undecodable ?? 0);
        session.clock(clock?.result ?? null);
      } else {
        await out.flush();
      }
    },
  );

  session.warnRules();
  if (args.summary) writeSummary(args, io, out, engineFacts(summary.engine, summary.clock), summary.capture);
  await finish(io, out, accepted, dropped, firstLinkType);
  session.captureEnd(summary.capture, summary.stats.undecodable);
  session.clock(summary.clock);
  return ExitCode.OK;
}

/** The summary's last line when the capture broke off (main() then reports the error itself). */
function unreadableFrom(err: CaptureError, packets: number): string {
  return `  capture unreadable from byte ${err.offset}: only the ${packets} packets before it were replayed (the error follows)`;
}

/** The layout of fitted text lines, or null for the wide ones. */
function textLayout(args: ReplaySessionOptions): FitLayout | null {
  return args.width > 0 && args.format === 'text' ? new FitLayout(args.width, args.time) : null;
}

/**
 * The summary goes to stdout after the packet lines (wrapped between words
 * when the lines are fitted to a width), or to stderr when stdout carries
 * JSON lines or a capture. Its first line is bold where colours are on.
 */
function writeSummary(
  args: ReplaySessionOptions,
  io: Io,
  out: LineWriter,
  facts: SummaryFacts,
  capture: CaptureSummary,
  last?: string,
): void {
  const lines = summaryLines(facts, capture, NO_PAINT);
  if (last !== undefined) lines.push(last);
  const bold = (l: string) => (args.format === 'jsonl' ? l : args.paint.bold(l));
  if (args.format === 'jsonl' || captureOnStdout(args)) {
    lines[0] = bold(lines[0]);
    io.stderr.write(lines.join('\n') + '\n');
    return;
  }
  if (args.format === 'text') out.line('');
  lines.forEach((l, i) => {
    for (const piece of args.width > 0 ? wrapText(l, args.width) : [l]) out.line(i === 0 ? bold(piece) : piece);
  });
}

function captureOnStdout(args: ReplaySessionOptions): boolean {
  return args['write-accepted'] === '-' || args['write-dropped'] === '-';
}

/**
 * Before anything is read or written: "-" (standard output) only where it
 * carries nothing else, and no output that is an input (the capture, the
 * rule file) or another output (stdout included, when it is a file).
 */
function checkSinks(args: ReplaySessionOptions, io: Io): void {
  const options = [
    ['--write-accepted', args['write-accepted']],
    ['--write-dropped', args['write-dropped']],
  ] as const;
  for (const [option, path] of options) {
    if (path === '')
      throw new UserError(`replay: ${option} needs a file name (or -, standard output, with --format none)`);
    if (path !== '-') continue;
    if (args.format !== 'none') {
      throw new UserError(
        `replay: ${option} -: standard output carries the packet lines; add --format none to write the capture there (the summary then goes to stderr), or name a file`,
      );
    }
    if (io.stdout.isTTY)
      throw new UserError(
        `replay: refusing to write a binary capture to the terminal (${option} -): name a file, or pipe the output`,
      );
  }
  if (args['write-accepted'] === '-' && args['write-dropped'] === '-') {
    throw new UserError(
      'replay: --write-accepted - and --write-dropped -: standard output can carry one capture; name a file for the other',
    );
  }
  const outputs: NamedFile[] = [];
  for (const [option, path] of options) if (path !== undefined) outputs.push({ role: option, path });
  // The lines and the summary: refused when they would land in an input, or in a written capture.
  if (!captureOnStdout(args)) outputs.push({ role: 'the results', path: '-' });
  checkOutputs(
    [
      { role: isScenarioPath(args.capture) ? 'the scenario' : 'the capture', path: args.capture },
      ...args.rules.map((path) => ({ role: 'the rule file', path })),
    ],
    outputs,
  );
}

/** The captures --write-* name, opened (each replaces its file only at close()). */
function openSinks(args: ReplaySessionOptions, io: Io): { accepted: PcapSink | null; dropped: PcapSink | null } {
  const accepted = args['write-accepted'] !== undefined ? new PcapSink(args['write-accepted'], io.stdout) : null;
  try {
    return {
      accepted,
      dropped: args['write-dropped'] !== undefined ? new PcapSink(args['write-dropped'], io.stdout) : null,
    };
  } catch (err) {
    accepted?.abort();
    throw err;
  }
}

/** The replay succeeded: its lines out, then each written capture put in place. */
async function finish(
  io: Io,
  out: LineWriter,
  accepted: PcapSink | null,
  dropped: PcapSink | null,
  firstLinkType: number,
): Promise<void> {
  try {
    await out.flush();
    for (const sink of [accepted, dropped]) {
      if (!sink) continue;
      await sink.close(firstLinkType);
      if (sink.skippedLinkType) {
        io.stderr.write(
          `fwemu: warning: ${sink.skippedLinkType} packets not written to ${visible(sink.name)}: their link type differs from the file's (use a .pcapng name to keep them all)\n`,
        );
      }
    }
  } catch (err) {
    // (a capture already closed is in place; abort() leaves it so)
    abortSinks(io, accepted, dropped);
    throw err;
  }
}

/** The run failed: every file --write-* names is left as it was, and stderr says so. */
function abortSinks(io: Io, accepted: PcapSink | null, dropped: PcapSink | null): void {
  for (const [option, sink] of [
    ['--write-accepted', accepted],
    ['--write-dropped', dropped],
  ] as const) {
    if (!sink) continue;
    const undoable = sink.undoable;
    sink.abort();
    if (undoable)
      io.stderr.write(
        `fwemu: ${option} ${visible(sink.path)}: not written (the run failed; a file of that name is left as it was)\n`,
      );
  }
}

/** A record whose frame is rewritten as NAT leaves it (a copy: --write-accepted keeps nothing of the reader's buffer). */
function leavingRecord(rec: CaptureRecord, p: DecodedPacket, e: DecodedPacket): CaptureRecord {
  const buf = rewriteLeaving(rec.buf, rec.off, rec.caplen, p, e);
  return { ...rec, buf, off: 0, caplen: buf.length };
}

/** Why a firewall cannot be judged in shards of flows (state that flows share), or null. */
function crossFlowState(fw: Firewall): string | null {
  const rules = firewallRules(fw);
  // (Every firewall-model file: a capture taken on several interfaces is judged in time order across them.)
  if (fw.interfaces.length > 0 || fw.chains.length > 0)
    return 'the firewall model judges a capture taken on several interfaces in time order across them';
  if (rules.some((r) => r.limit !== null)) return 'a limit counts packets of every flow together';
  if (rules.some((r) => r.nat !== null) || fw.chains.some((c) => c.type === 'nat'))
    return 'NAT picks ports among every flow';
  return null;
}

/**
 * replay --jobs N: the capture judged by N worker threads, the summary
 * theirs summed. When they cannot be exact (the flows reach the conntrack
 * table's limit, or a fragmented ICMP error; run/sharded.ts says why),
 * the capture is replayed again on this thread; standard input cannot be
 * read twice, so that is an error there.
 */
export async function runReplaySharded(
  args: ReplaySessionOptions,
  io: Io,
  path: string,
  jobs: number,
): Promise<number> {
  const rules = loadRulesOf(args, io.stdin);
  const { ruleset, warnings: ruleWarnings } = rules;
  const shared = ruleset.firewall ? crossFlowState(ruleset.firewall) : null;
  if (shared !== null) {
    // Threads each judge a share of the flows: state that several flows share would be split between them.
    args.log.info(`replay --jobs ${jobs}: judged on one thread, because ${shared}`);
    return runReplay(args, io, path);
  }
  const session = new CaptureSession(
    io,
    args,
    args.capture,
    { asked: args.progress, perPacketOutput: args.format !== 'none' },
    ruleWarnings,
  );
  const paint = args.paint;
  const fit = textLayout(args);
  const out = new LineWriter(io.stdout);
  // Live input and terminals see each packet's line as soon as the threads have judged it, in order.
  const flush = flushing(args['line-buffered'], args.capture, io.stdout);
  out.perLine = flush === 'line';
  checkSinks(args, io);
  const { accepted, dropped } = openSinks(args, io);
  let headerDone = false;
  /**
   * A written capture that failed (a full disk): write() is called from the
   * workers' message events, where a throw would escape everything, so the
   * error waits here; wait() hands it to the reader, which stops, and the
   * end of the replay checks it too.
   */
  let writeFailure: unknown = null;
  const lines =
    args.format === 'none' && !accepted && !dropped
      ? undefined
      : {
          report: {
            format: args.format,
            time: args.time,
            color: paint === ANSI_PAINT,
            width: args.width,
            accepted: accepted !== null,
            dropped: dropped !== null,
          },
          write: (
            bytes: Uint8Array,
            start: number,
            end: number,
            rec: CaptureRecord | null,
            to: 'accepted' | 'dropped' | null,
          ) => {
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
            if (!headerDone && args.format === 'text') out.line(fit ? fit.header(paint) : paint.dim(REPLAY_HEADER));
            headerDone = true;
            out.lineBytes(bytes, start, end);
          },
          wait: () =>
            writeFailure !== null
              ? Promise.reject(writeFailure)
              : (out.pending() ?? accepted?.pending() ?? dropped?.pending() ?? null),
          written: flush === 'chunk' ? () => out.flushBuffered() : undefined,
        };
  const o = await session.read(
    async () => {
      const o = await replaySharded({
        rules: ruleset,
        path,
        stdin: io.stdin,
        jobs,
        onRecord: session.onRecord,
        lines,
        live: flush !== 'batch' && isLiveInput(path, io.stdin),
      });
      if (writeFailure !== null) throw writeFailure;
      return o;
    },
    () => abortSinks(io, accepted, dropped),
  );
  if (o.kind === 'inexact') {
    const why = `replay --jobs ${jobs}: stopped after packet ${o.packets}: ${o.reason}`;
    if (path === '-') {
      session.warnRules();
      abortSinks(io, accepted, dropped);
      await out.flush();
      const hint =
        o.cause === 'limit'
          ? ' (or raise conntrack.max in the rule file, if the kernel you model has a larger nf_conntrack_max)'
          : '';
      const toFiles = [accepted, dropped].some((sink) => sink !== null && sink.path !== '-');
      const written =
        o.packetsWritten > 0
          ? ` (the output of the first ${o.packetsWritten} packets was written${toFiles ? ', except to the files --write-* names' : ''})`
          : '';
      throw new UserError(`${why}. Standard input cannot be read again: replay it with --jobs 1${hint}${written}`);
    }
    io.stderr.write(
      `fwemu: warning: ${visibleLines(`${why}; replaying it again on one thread${o.packetsWritten > 0 ? `, from the packet after the ${o.packetsWritten} whose output is written` : ''}`)}\n`,
    );
    return runReplay(args, io, path, { out, accepted, dropped, skip: o.packetsWritten, rules });
  }
  session.warnRules();
  args.log.info({ packetsByThread: o.summary.packetsByShard }, `judged on ${jobs} threads`);
  // (As with one thread: no summary when the capture broke off before its first packet.)
  if (args.summary && (o.kind === 'done' || o.summary.stats.packets > 0)) {
    writeSummary(
      args,
      io,
      out,
      {
        ...o.summary,
        ruleIds: ruleset.firewall ? firewallRules(ruleset.firewall).map((r) => r.id) : ruleset.rules.map((r) => r.id),
      },
      o.summary.capture,
      o.kind === 'capture-error' ? unreadableFrom(o.error, o.summary.stats.packets) : undefined,
    );
  }
  if (o.kind === 'capture-error') {
    abortSinks(io, accepted, dropped);
    await out.flush();
    session.captureEnd(o.summary.capture, o.summary.stats.undecodable);
    session.clock(o.summary.clock);
    throw o.error;
  }
  await finish(io, out, accepted, dropped, o.summary.firstLinkType);
  session.captureEnd(o.summary.capture, o.summary.stats.undecodable);
  session.clock(o.summary.clock);
  return ExitCode.OK;
}
