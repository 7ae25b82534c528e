import { availableParallelism } from 'node:os';
import type { Argv } from 'yargs';
import { UserError } from '../base/errors.js';
import { ANSI_PAINT, NO_PAINT } from '../report/replay-text.js';
import { packetSource } from '../run/inputs.js';
import type { Io } from '../run/io.js';
import { runReplay, runReplaySharded, type ReplaySessionOptions } from '../run/replay.js';
import { readsStdin } from '../run/rule-args.js';
import {
  CAPTURE_ARG,
  HOST_OPTIONS,
  type CommandContext,
  type CommonOptions,
  example,
  LINE_BUFFERED_OPTION,
  lineWidth,
  RULES_OPTION,
  useColor,
  WIDTH_OPTIONS,
} from './common.js';

interface ReplayArgs extends CommonOptions, Omit<ReplaySessionOptions, 'paint' | 'width'> {
  width?: number;
  wide?: boolean;
  /** A whole number, or 'auto' (yargs gives what was typed). */
  jobs: string | number;
}

export function replayCommand(y: Argv<CommonOptions>, ctx: CommandContext) {
  return y.command<ReplayArgs>(
    'replay <capture>',
    'Judge every packet of a capture: verdict, conntrack state, and the reason',
    (a) =>
      a
        .positional('capture', CAPTURE_ARG)
        .option('rules', { ...RULES_OPTION, describe: `${RULES_OPTION.describe}; see rules/ for examples` })
        .options(HOST_OPTIONS)
        .option('format', {
          alias: 'f',
          choices: ['text', 'jsonl', 'none'] as const,
          default: 'text' as const,
          describe:
            'text: aligned columns; jsonl: one JSON object per packet (fields n, verdict, ct, rule, flow, reason, ...); none: summary only',
        })
        .option('time', {
          choices: ['relative', 'epoch', 'iso'] as const,
          default: 'relative' as const,
          describe: 'timestamps in text output',
        })
        .option('width', WIDTH_OPTIONS.width)
        .option('wide', WIDTH_OPTIONS.wide)
        .option('write-accepted', {
          type: 'string',
          requiresArg: true,
          describe:
            'write the accepted packets to this capture (.pcapng keeps interfaces; otherwise pcap), replaced only once the replay succeeded; - for stdout (pcap) with --format none',
        })
        .option('write-dropped', {
          type: 'string',
          requiresArg: true,
          describe: 'write the dropped and rejected packets to this capture (as --write-accepted)',
        })
        .option('summary', {
          type: 'boolean',
          default: true,
          describe: 'print the summary (stdout for text/none, stderr for jsonl); --no-summary to omit',
        })
        .option('line-buffered', LINE_BUFFERED_OPTION)
        .option('progress', {
          type: 'boolean',
          describe:
            'a progress line on stderr: packets, % of the file, rate, time left (default: when stderr is a terminal and the results go to a file, or there are none); --no-progress to omit',
        })
        .option('jobs', {
          alias: 'j',
          type: 'string',
          default: '1',
          describe:
            'judge on N worker threads (auto: one per core), each holding the flows of some address pairs; the lines, the written captures and the summary are the same as with one thread. ' +
            'It pays on large captures of many hosts, up to about one thread per core; when the conntrack table could fill up, the capture is replayed again on one thread. ' +
            'From a live capture (a pipe, FIFO or terminal) each line comes out as soon as its packet is judged, in order',
        })
        .example(
          example(
            '$0 replay -r rules/web-server.yaml fixtures/seed-three-clients.pcap',
            'why each packet passes or not',
          ),
          '',
        )
        .example(
          example(
            '$0 replay -r fw.nft --ip-addr addr.json --ip-route route.json cap.pcap',
            'the ruleset the firewall runs, with its ip -j addr and ip -j route',
          ),
          '',
        )
        .example(
          example(
            '$0 replay -r rules.v4 -r rules.v6 --iface eth0=192.168.1.1/24 cap.pcap',
            'iptables-save and ip6tables-save dumps; the address typed in',
          ),
          '',
        )
        .example(
          example(
            `$0 replay -r my.yaml -f jsonl cap.pcap | jq -c 'select(.verdict=="drop")'`,
            'only the drops, as JSON',
          ),
          '',
        )
        .example(example('tcpdump -U -w - -i eth0 | $0 replay -r my.yaml -', 'judge live traffic'), '')
        .example(
          example(
            '$0 replay -r my.yaml cap.pcap --width $COLUMNS --color always | less -R',
            'page through lines fitted to this terminal (a pipe gets wide lines)',
          ),
          '',
        )
        .example(
          example(
            '$0 replay -r my.yaml -f jsonl -j auto big.pcap > big.jsonl',
            'a large capture judged on one thread per core',
          ),
          '',
        ),
    async (args) => {
      ctx.exitCode = await run(args, ctx.io);
    },
  );
}

export async function run(args: ReplayArgs, io: Io): Promise<number> {
  if (readsStdin(args) && args.capture === '-')
    throw new UserError(
      'replay: the rule file and the capture cannot both be - (standard input): give one of them as a file',
    );
  const jobs = checkJobs(args, io);
  const { source } = packetSource(args.capture);
  const opts: ReplaySessionOptions = {
    ...args,
    paint: useColor(args.color, io.stdout) ? ANSI_PAINT : NO_PAINT,
    width: lineWidth('replay', args, io.stdout),
  };
  if (jobs > 1 && typeof source === 'string') return runReplaySharded(opts, io, source, jobs);
  return runReplay(opts, io, source);
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
function checkJobs(args: ReplayArgs, io: Io): number {
  const given = String(args.jobs).trim();
  const cores = availableParallelism();
  if (given === 'auto') return Math.min(256, cores);
  const j = /^\d+$/.test(given) ? Number(given) : NaN;
  if (!(j >= 1 && j <= 256)) {
    throw new UserError(
      `replay: --jobs must be a whole number from 1 to 256, or auto, not ${given === '' ? 'nothing' : given}`,
    );
  }
  const cap = Math.min(256, JOBS_PER_CORE * cores);
  if (j > cap) {
    io.stderr.write(
      `fwemu: warning: replay --jobs ${j}: using ${cap} threads, ${JOBS_PER_CORE} per core (${cores} ${cores === 1 ? 'core' : 'cores'} here): ` +
        `more threads only take more memory, each keeping its own flows and buffers, and finish no sooner\n`,
    );
    return cap;
  }
  return j;
}
