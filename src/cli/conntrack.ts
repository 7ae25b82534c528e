import type { Argv } from 'yargs';
import type { CtEvent } from '../conntrack/entry.js';
import { ClockWatch } from '../engine/clock.js';
import { replay } from '../engine/replay.js';
import { flushing, inputName, packetSource } from '../run/inputs.js';
import type { Io } from '../run/io.js';
import { CaptureSession } from '../run/session.js';
import { ExitCode, UserError } from '../base/errors.js';
import { entryToJson, formatConntrackEntry, formatConntrackEvent } from '../report/conntrack-list.js';
import { LineWriter } from '../report/output.js';
import { safeJson, visible } from '../base/text-escape.js';
import { loadRulesOf, readsStdin, type RuleArgs } from '../run/rule-args.js';
import {
  CAPTURE_ARG,
  HOST_OPTIONS,
  type CommandContext,
  type CommonOptions,
  example,
  LINE_BUFFERED_OPTION,
  RULES_OPTION,
} from './common.js';

interface ConntrackArgs extends CommonOptions, RuleArgs {
  capture: string;
  /** As typed (yargs would turn "abc" into NaN): checked by packetNumber(). */
  at?: string;
  format: 'text' | 'json';
  events: boolean;
  progress?: boolean;
  'line-buffered'?: boolean;
}

export function conntrackCommand(y: Argv<CommonOptions>, ctx: CommandContext) {
  return y.command<ConntrackArgs>(
    'conntrack <capture>',
    'Show the connection-tracking table after a replay, as `conntrack -L` prints it (or its events, as `conntrack -E`)',
    (a) =>
      a
        .positional('capture', CAPTURE_ARG)
        .option('rules', RULES_OPTION)
        .options(HOST_OPTIONS)
        .option('at', {
          type: 'string',
          describe: 'show the table right after packet N (default: after the last packet)',
        })
        .option('format', {
          alias: 'f',
          choices: ['text', 'json'] as const,
          default: 'text' as const,
          describe: 'conntrack -L lines, or a JSON array of entries',
        })
        .option('events', {
          alias: 'E',
          type: 'boolean',
          default: false,
          describe: 'print the change log instead ([NEW], [UPDATE], [DESTROY]), each with the packet that caused it',
        })
        .option('line-buffered', LINE_BUFFERED_OPTION)
        .option('progress', {
          type: 'boolean',
          describe:
            'a progress line on stderr while the capture is replayed (default: when stderr is a terminal and the output goes to a file, or there is none); --no-progress to omit',
        })
        .example(
          example(
            '$0 conntrack -r rules/web-server.yaml fixtures/seed-three-clients.pcap',
            'the table at the end of the capture',
          ),
          '',
        )
        .example(
          example(
            '$0 conntrack -r rules/web-server.yaml --at 3 fixtures/http-curl.pcap',
            'the table right after the handshake',
          ),
          '',
        )
        .example(
          example(
            '$0 conntrack -r fw.nft --ip-addr a.json --ip-route r.json cap.pcap',
            "the table of the firewall's own ruleset and addresses",
          ),
          '',
        )
        .example(
          example(
            '$0 conntrack -E -r rules/web-server.yaml fixtures/http-curl.pcap',
            'how each entry was born, changed and died',
          ),
          '',
        )
        .epilog('Seconds left are counted on the capture clock: the time of the last packet replayed.'),
    async (args) => {
      ctx.exitCode = await run(args, ctx.io);
    },
  );
}

export async function run(args: ConntrackArgs, io: Io): Promise<number> {
  const at = args.at === undefined ? undefined : packetNumber('--at', args.at);
  const out = new LineWriter(io.stdout);
  // Events stream as packets are judged (-E); the table is one block at the end either way.
  const flush = args.events ? flushing(args['line-buffered'], args.capture, io.stdout) : 'batch';
  out.perLine = flush === 'line';
  const onEvent = args.events
    ? (ev: CtEvent) => {
        if (args.format === 'json')
          out.line(
            safeJson({
              packet: ev.packet,
              type: ev.type,
              cause: ev.cause ?? null,
              entry: entryToJson(ev.entry, ev.time),
            }),
          );
        else out.line(`${formatConntrackEvent(ev)}  # packet ${ev.packet}${ev.cause ? ` (${ev.cause})` : ''}`);
      }
    : undefined;
  if (readsStdin(args) && args.capture === '-')
    throw new UserError(
      'conntrack: the rule file and the capture cannot both be - (standard input): give one of them as a file',
    );
  // Loaded here rather than by replay(), so that its warnings are printed after a capture error too.
  const { ruleset, warnings } = loadRulesOf(args, io.stdin);
  const session = new CaptureSession(
    io,
    args,
    args.capture,
    { asked: args.progress, perPacketOutput: args.events },
    warnings,
  );
  const clock = ClockWatch.forRuleSet(ruleset);
  const summary = await session.read(
    () =>
      replay({
        rules: ruleset,
        source: packetSource(args.capture).source,
        stdin: io.stdin,
        stopAfter: at,
        clock,
        onEvent,
        beforeRead: () => out.pending(),
        afterChunk: flush === 'chunk' ? () => out.flushBuffered() : undefined,
        onRecord: session.onRecord,
      }),
    async (err) => {
      await out.flush(); // the events of the packets before a capture error
      // and the warnings raised before it; then main() reports the error.
      session.warnRules();
      session.captureBeforeError(err, 0);
      session.clock(clock?.result ?? null);
    },
  );
  session.warnRules();
  const { engine } = summary;
  if (at !== undefined && summary.stats.packets < at) {
    throw new UserError(`--at ${at}: ${visible(inputName(args.capture))} has only ${summary.stats.packets} packets`);
  }
  if (!engine.ct) {
    throw new UserError(
      `${visible(inputName(args.rules[0]))}: the rule file says "stateful: false", so there is no connection-tracking table to show`,
      ExitCode.FAILED,
    );
  }
  if (!args.events) {
    const entries = engine.ct.entries(engine.now);
    if (args.format === 'json')
      out.line(
        safeJson(
          entries.map((e) => entryToJson(e, engine.now)),
          2,
        ),
      );
    else for (const e of entries) out.line(formatConntrackEntry(e, engine.now));
  }
  await out.flush();
  if (!args.events && args.format === 'text') {
    // conntrack -L prints its count on stderr too, which keeps stdout pure.
    io.stderr.write(
      `fwemu: ${engine.ct.entries(engine.now).length} flow entries have been shown (capture time of packet ${summary.stats.packets}).\n`,
    );
  }
  session.captureEnd(summary.capture, summary.stats.undecodable);
  session.clock(summary.clock);
  return ExitCode.OK;
}

/**
 * A packet number given on the command line, as typed: digits only (no
 * sign, fraction, exponent or hex, which Number() would take), from 1 up.
 */
export function packetNumber(option: string, typed: string | number): number {
  const text = String(typed).trim();
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= Number.MAX_SAFE_INTEGER)) {
    const shown = text === '' ? 'nothing' : JSON.stringify(String(typed));
    throw new UserError(`${option} takes a packet number, a whole number from 1 (the first packet) up, not ${shown}`);
  }
  return n;
}
