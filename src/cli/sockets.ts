import type { Argv } from 'yargs';
import type { CaptureRecord } from '../capture/types.js';
import { readSource } from '../engine/replay.js';
import { ExitCode } from '../base/errors.js';
import { decodePacket, newDecodedPacket } from '../packet/decode.js';
import { LineWriter } from '../report/output.js';
import { safeJson } from '../base/text-escape.js';
import { formatSockets, SocketObserver } from '../report/sockets.js';
import { packetSource } from '../run/inputs.js';
import type { Io } from '../run/io.js';
import { CaptureSession } from '../run/session.js';
import { type CommandContext, type CommonOptions, example } from './common.js';

interface SocketsArgs extends CommonOptions {
  capture: string;
  format: 'text' | 'json';
}

export function socketsCommand(y: Argv<CommonOptions>, ctx: CommandContext) {
  return y.command<SocketsArgs>(
    'sockets <capture>',
    'Per host and port: the listening socket and every TCP connection with its 4-tuple (like ss -tan)',
    (a) =>
      a
        .positional('capture', {
          type: 'string',
          demandOption: true,
          describe: 'pcap or pcapng file, - for stdin, or a scenario (.yaml)',
        })
        .option('format', { alias: 'f', choices: ['text', 'json'] as const, default: 'text' as const })
        .example(
          example(
            '$0 sockets fixtures/scenarios/seed.yaml',
            'three sockets on 10.2.0.1:8080, one per client address and port',
          ),
          '',
        )
        .epilog(
          'Built from the TCP handshakes in the traffic: a SYN/ACK from an address and port shows a listener there; each completed handshake is one accepted socket. No rule file is needed.',
        ),
    async (args) => {
      ctx.exitCode = await run(args, ctx.io);
    },
  );
}

export async function run(args: SocketsArgs, io: Io): Promise<number> {
  const session = new CaptureSession(io, args, args.capture);
  const { source, synth } = packetSource(args.capture);
  const obs = new SocketObserver();
  const pkt = newDecodedPacket();
  const onRecord = (rec: CaptureRecord) => {
    decodePacket(rec.buf, rec.off, rec.caplen, rec.linkType, rec.direction, pkt, rec.len);
    obs.add(pkt, rec.n);
  };
  // (On an error: the warnings raised before the capture turned unreadable, then main() reports it.)
  const summary = await session.read(
    () => readSource(source, onRecord, { stdin: io.stdin }),
    (err) => session.captureBeforeError(err, 0),
  );
  const names = new Map<string, string>();
  for (const h of synth?.scenario.hosts ?? []) for (const a of h.addrs) names.set(a, h.name);
  const hosts = obs.hosts(names);
  const out = new LineWriter(io.stdout);
  if (args.format === 'json') out.line(safeJson(hosts, 2));
  else for (const l of formatSockets(hosts)) out.line(l);
  await out.flush();
  session.captureEnd(summary, 0);
  return ExitCode.OK;
}
