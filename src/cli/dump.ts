import type { Argv } from 'yargs';
import { readSource } from '../engine/replay.js';
import type { CaptureRecord } from '../capture/types.js';
import { Direction } from '../capture/types.js';
import { decodePacket, newDecodedPacket, describePacket } from '../packet/index.js';
import { PacketKind } from '../packet/types.js';
import { writeDumpJsonLine } from '../report/json-line.js';
import { LineWriter } from '../report/output.js';
import { visible } from '../base/text-escape.js';
import { packetText } from '../report/packet-text.js';
import { formatTime, type TimeFormat } from '../report/time.js';
import { ExitCode } from '../base/errors.js';
import { flushing, packetSource } from '../run/inputs.js';
import type { Io } from '../run/io.js';
import { CaptureSession } from '../run/session.js';
import { fitDumpLine, MIN_WIDTH } from '../report/fit-line.js';
import {
  CAPTURE_ARG,
  type CommandContext,
  type CommonOptions,
  example,
  LINE_BUFFERED_OPTION,
  lineWidth,
  WIDTH_OPTIONS,
} from './common.js';

interface DumpArgs extends CommonOptions {
  capture: string;
  format: 'text' | 'jsonl';
  time: TimeFormat;
  'line-buffered'?: boolean;
  width?: number;
  wide?: boolean;
}

export function dumpCommand(y: Argv<CommonOptions>, ctx: CommandContext) {
  return y.command<DumpArgs>(
    'dump <capture>',
    'List every packet of a capture, one line each, as fwemu decodes it',
    (a) =>
      a
        .positional('capture', CAPTURE_ARG)
        .option('format', {
          alias: 'f',
          choices: ['text', 'jsonl'] as const,
          default: 'text' as const,
          describe: 'text columns, or one JSON object per line',
        })
        .option('time', {
          choices: ['relative', 'epoch', 'iso'] as const,
          default: 'relative' as const,
          describe: 'timestamps: seconds since the first packet, Unix epoch, or ISO 8601 UTC',
        })
        .option('line-buffered', LINE_BUFFERED_OPTION)
        .option('width', {
          ...WIDTH_OPTIONS.width,
          describe:
            `fit the text lines to N columns (${MIN_WIDTH} or more): the endpoint column narrows, and the details ` +
            '(flags, sequence numbers, ICMP type, ...) go under the line when they do not fit on it, wrapped between words; ' +
            'no address, port or word is cut. Default: the width of the terminal (or $COLUMNS) when stdout is a terminal; ' +
            'otherwise 0, the wide format: one line per packet, the same bytes for every pipe and file, for scripts to read',
        })
        .option('wide', WIDTH_OPTIONS.wide)
        .example(example('$0 dump fixtures/http-curl.pcap', 'a tcpdump-like listing'), '')
        .example(example('tcpdump -U -w - -i eth0 | $0 dump -', 'decode a live capture as it arrives'), '')
        .example(example('$0 dump --format jsonl cap.pcapng | jq \'select(.proto=="tcp")\'', 'machine-readable'), ''),
    async (args) => {
      ctx.exitCode = await run(args, ctx.io);
    },
  );
}

export async function run(args: DumpArgs, io: Io): Promise<number> {
  const out = new LineWriter(io.stdout);
  const flush = flushing(args['line-buffered'], args.capture, io.stdout);
  out.perLine = flush === 'line';
  const session = new CaptureSession(io, args, args.capture);
  const pkt = newDecodedPacket();
  let baseSec = -1;
  let baseNsec = 0;
  let undecodable = 0;
  const json = args.format === 'jsonl';
  const width = json ? 0 : lineWidth('dump', args, io.stdout);

  const onRecord = (rec: CaptureRecord) => {
    if (out.closed) return;
    decodePacket(rec.buf, rec.off, rec.caplen, rec.linkType, rec.direction, pkt, rec.len);
    // A fragment unreadable alone is reassembled by replay, not skipped: not counted.
    if (pkt.kind === PacketKind.MALFORMED && !pkt.isFragment) undecodable++;
    if (baseSec < 0) {
      baseSec = rec.tsSec;
      baseNsec = rec.tsNsec;
    }
    if (json) {
      writeDumpJsonLine(out, rec, pkt);
      out.endLine();
      return;
    }
    const dir = pkt.direction === Direction.INBOUND ? 'in' : pkt.direction === Direction.OUTBOUND ? 'out' : undefined;
    const info = describePacket(pkt);
    const t = packetText(info);
    // The interface name comes from the capture (pcapng if_name): made visible, so it cannot drive the terminal or break the line.
    const where = [visible(rec.ifName), dir].filter(Boolean).join(' ');
    if (width > 0) {
      const time = formatTime(args.time, rec.tsSec, rec.tsNsec, baseSec, baseNsec);
      out.line(fitDumpLine(width, { n: String(rec.n), time, where, ...t }));
      return;
    }
    out.line(
      `${String(rec.n).padStart(6)}  ${formatTime(args.time, rec.tsSec, rec.tsNsec, baseSec, baseNsec).padStart(args.time === 'relative' ? 12 : 0)}  ` +
        `${where ? where.padEnd(9) + ' ' : ''}${t.endpoints.padEnd(44)} ${t.proto.padEnd(6)} ${t.detail}`,
    );
  };

  const summary = await session.read(
    () =>
      readSource(packetSource(args.capture).source, onRecord, {
        beforeRead: () => out.pending(),
        afterChunk: flush === 'chunk' ? () => out.flushBuffered() : undefined,
        stdin: io.stdin,
      }),
    async (err) => {
      // The capture turned unreadable part way: the packets before it are
      // listed, and the warnings raised before the error reported, before main() reports it.
      await out.flush();
      session.captureBeforeError(err, undecodable);
    },
  );
  await out.flush();
  session.captureEnd(summary, undecodable);
  return ExitCode.OK;
}
