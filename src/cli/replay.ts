import type { Argv } from 'yargs';
import { CaptureError } from '../capture/types.js';
import type { Engine } from '../engine/engine.js';
import { replay, type PacketSource, type ReplaySummary } from '../engine/replay.js';
import { ExitCode } from '../errors.js';
import { LineWriter } from '../report/output.js';
import { PcapSink } from '../report/pcap-sink.js';
import { replayJsonLine } from '../report/json-line.js';
import { ANSI_PAINT, NO_PAINT, REPLAY_HEADER, replayLine, summaryLines } from '../report/replay-text.js';
import type { TimeFormat } from '../report/time.js';
import { loadRuleSet } from '../rules/load.js';
import { formatDiagnostic } from '../rules/types.js';
import { inputName, outcome, packetSource, reportCaptureEnd, useColor, type CommonOptions } from './common.js';
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
}

export function replayCommand(y: Argv<CommonOptions>) {
  return y.command<ReplayArgs>(
    'replay <capture>',
    'Judge every packet of a capture: verdict, conntrack state, and the reason',
    (a) =>
      a
        .positional('capture', { type: 'string', demandOption: true, describe: 'pcap or pcapng file, - for stdin, or a scenario (.yaml) to synthesize' })
        .option('rules', { alias: 'r', type: 'string', demandOption: true, describe: 'rule file (YAML); see rules/ for examples' })
        .option('format', {
          alias: 'f',
          choices: ['text', 'jsonl', 'none'] as const,
          default: 'text' as const,
          describe: 'text: aligned columns; jsonl: one JSON object per packet (fields n, verdict, ct, rule, flow, reason, ...); none: summary only',
        })
        .option('time', { choices: ['relative', 'epoch', 'iso'] as const, default: 'relative' as const, describe: 'timestamps in text output' })
        .option('write-accepted', { type: 'string', describe: 'write the accepted packets to this capture (.pcapng keeps interfaces; otherwise pcap)' })
        .option('write-dropped', { type: 'string', describe: 'write the dropped and rejected packets to this capture' })
        .option('summary', { type: 'boolean', default: true, describe: 'print the summary (stdout for text/none, stderr for jsonl); --no-summary to omit' })
        .option('progress', {
          type: 'boolean',
          describe: 'a progress line on stderr: packets, % of the file, rate, time left (default: when stderr is a terminal and the results go to a file, or there are none); --no-progress to omit',
        })
        .example('$0 replay -r rules/web-server.yaml fixtures/seed-three-clients.pcap', 'why each packet passes or not')
        .example('$0 replay -r rules/web-server.yaml -f jsonl cap.pcap | jq -c "select(.verdict==\\"drop\\")"', 'only the drops, as JSON')
        .example('tcpdump -U -w - -i eth0 | $0 replay -r my.yaml -', 'judge live traffic'),
    async (args) => {
      outcome.exitCode = await runReplay(args, packetSource(args.capture).source);
    },
  );
}

export async function runReplay(args: ReplayArgs, source: PacketSource): Promise<number> {
  const out = new LineWriter();
  const paint = useColor(args.color) ? ANSI_PAINT : NO_PAINT;
  const accepted = args['write-accepted'] ? new PcapSink(args['write-accepted']) : null;
  const dropped = args['write-dropped'] ? new PcapSink(args['write-dropped']) : null;
  const base = { sec: -1, nsec: 0 };
  let firstLinkType = 1;
  let headerDone = false;
  /** The engine, once a packet has been replayed: what a capture error leaves to summarize. */
  let engineSeen: Engine | null = null;
  // Loaded here rather than by replay(), so that its warnings are printed after a capture error too.
  const { ruleset, warnings: ruleWarnings } = loadRuleSet(args.rules);
  const progress = captureProgress(args.capture, args.progress, args.format !== 'none');

  let summary: ReplaySummary;
  try {
    summary = await replay({
      rules: ruleset,
      source,
      beforeRead: () => out.pending(),
      onRecord: progress === null ? undefined : (rec) => progress.tick(rec.fileOffset),
      onPacket: (r, p, rec, engine) => {
        if (base.sec < 0) {
          base.sec = rec.tsSec;
          base.nsec = rec.tsNsec;
          firstLinkType = rec.linkType;
          engineSeen = engine;
        }
        if (accepted && r.verdict === 'accept') accepted.add(rec);
        if (dropped && (r.verdict === 'drop' || r.verdict === 'reject')) dropped.add(rec);
        if (args.format === 'none' || out.closed) return;
        if (args.format === 'jsonl') {
          out.line(replayJsonLine(r, p, rec, engine));
          return;
        }
        if (!headerDone) {
          out.line(paint.dim(REPLAY_HEADER));
          headerDone = true;
        }
        out.line(replayLine(r, p, engine, args.time, base, paint));
      },
    });
  } catch (err) {
    progress?.clear();
    // A capture unreadable from some point on: every packet before it has
    // been judged; show those lines, their summary, the written files and
    // the warnings raised before the error (what the reader had read is the
    // error's `partial`), then let main() report the error (exit 2).
    if (err instanceof CaptureError) {
      const engine = engineSeen as Engine | null; // (set in a callback, which TypeScript does not follow)
      const capture = err.partial;
      if (engine !== null && capture !== undefined && args.summary) {
        const lines = summaryLines(engine, capture, args.format === 'jsonl' ? NO_PAINT : paint);
        lines.push(`  capture unreadable from byte ${err.offset}: only the ${engine.stats.packets} packets before it were replayed (the error follows)`);
        writeSummary(args, out, lines);
      }
      await out.flush();
      if (engine !== null) await closeSinks(accepted, dropped, firstLinkType);
      for (const w of ruleWarnings) args.log.warn(formatDiagnostic(w));
      if (capture !== undefined) reportCaptureEnd(args, capture, engine?.stats.undecodable ?? 0, inputName(args.capture));
    } else {
      await out.flush();
    }
    throw err;
  }

  progress?.clear();
  for (const w of ruleWarnings) args.log.warn(formatDiagnostic(w));
  if (args.summary) writeSummary(args, out, summaryLines(summary.engine, summary.capture, args.format === 'jsonl' ? NO_PAINT : paint));
  await out.flush();
  await closeSinks(accepted, dropped, firstLinkType);
  reportCaptureEnd(args, summary.capture, summary.stats.undecodable, inputName(args.capture));
  return ExitCode.OK;
}

/** The summary goes to stdout after the packet lines, or to stderr when stdout carries JSON lines. */
function writeSummary(args: ReplayArgs, out: LineWriter, lines: string[]): void {
  if (args.format === 'jsonl') process.stderr.write(lines.join('\n') + '\n');
  else {
    if (args.format === 'text') out.line('');
    for (const l of lines) out.line(l);
  }
}

async function closeSinks(accepted: PcapSink | null, dropped: PcapSink | null, firstLinkType: number): Promise<void> {
  for (const sink of [accepted, dropped]) {
    if (!sink) continue;
    await sink.close(firstLinkType);
    if (sink.skippedLinkType) {
      process.stderr.write(`fwemu: warning: ${sink.skippedLinkType} packets not written to ${sink.path}: their link type differs from the file's (use a .pcapng name to keep them all)\n`);
    }
  }
}
