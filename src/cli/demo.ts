import { fileURLToPath } from 'node:url';
import { isAbsolute, relative } from 'node:path';
import type { Argv } from 'yargs';
import { replay } from '../engine/replay.js';
import type { PacketResult } from '../engine/result.js';
import { ExitCode } from '../base/errors.js';
import { formatConntrackEntry } from '../report/conntrack-list.js';
import { LineWriter } from '../report/output.js';
import { ANSI_PAINT, NO_PAINT, REPLAY_HEADER, type Paint } from '../report/replay-text.js';
import { replayLine } from '../report/text-line.js';
import { loadRuleSet } from '../rules/load.js';
import { formatSockets, SocketObserver } from '../report/sockets.js';
import { packetSource } from '../run/inputs.js';
import type { Io } from '../run/io.js';
import { FitLayout, wrapText } from '../report/fit-line.js';
import { lineWidth, useColor, WIDTH_OPTIONS, type CommandContext, type CommonOptions } from './common.js';

interface DemoArgs extends CommonOptions {
  width?: number;
  wide?: boolean;
}

/** Files the demo uses, relative to the package root (not the caller's directory). */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** A path the user can type: relative when the file is below the current directory, else absolute. */
const at = (p: string) => {
  const rel = relative(process.cwd(), ROOT + p);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? ROOT + p : rel;
};

export function demoCommand(y: Argv<CommonOptions>, ctx: CommandContext) {
  return y.command<DemoArgs>(
    'demo',
    'The tour (npm start): three connections to one server port, and why the replies get through',
    (a) =>
      a
        .option('width', WIDTH_OPTIONS.width)
        .option('wide', WIDTH_OPTIONS.wide)
        .epilog(
          'Replays fixtures/scenarios/seed.yaml (a synthesized scenario) through rules/web-server.yaml. The same story on real captured traffic: fixtures/seed-three-clients.pcap.',
        ),
    async (args) => {
      ctx.exitCode = await run(args, ctx.io);
    },
  );
}

export async function run(args: DemoArgs, io: Io): Promise<number> {
  const paint: Paint = useColor(args.color, io.stdout) ? ANSI_PAINT : NO_PAINT;
  const width = lineWidth('demo', args, io.stdout);
  const fit = width > 0 ? new FitLayout(width, 'relative') : null;
  const lines = new LineWriter(io.stdout);
  /**
   * A line of the tour, wrapped between words on a terminal (each piece in
   * the line's style): prose under itself, a numbered heading or a "=>"
   * conclusion under its text, a table row under its first column.
   */
  const out = {
    line(text: string, style: (s: string) => string = (s) => s, hang = /^(=> |\d\. )/.test(text) ? 3 : 0): void {
      for (const piece of width > 0 ? wrapText(text, width, hang) : [text]) lines.line(style(piece));
    },
    /** Lines broken by hand for the wide output: one paragraph, wrapped anew, on a terminal. */
    para(parts: string[], style: (s: string) => string = (s) => s): void {
      if (width === 0) for (const part of parts) lines.line(style(part));
      else {
        const hang = parts[1].length - parts[1].trimStart().length;
        out.line(parts.map((t, i) => (i === 0 ? t : t.trimStart())).join(' '), style, hang);
      }
    },
    flush: () => lines.flush(),
  };
  const scenarioPath = at('fixtures/scenarios/seed.yaml');
  const { source: capture, synth } = packetSource(scenarioPath);
  const { ruleset } = loadRuleSet(at('rules/web-server.yaml'));
  const h = (s: string) => {
    out.line('');
    out.line(s, paint.bold);
  };

  out.line('fwemu demo: one server port, three connections, one allow rule', paint.bold);
  out.line(`The server 10.2.0.1 listens on tcp/8080. Alice (10.1.0.2) connects twice, Bob (10.1.0.3) once.`);
  out.line(`The firewall (${ruleset.file}) has a single rule: accept tcp to destination port 8080; policy drop.`);
  out.line(`The server's replies go FROM port 8080 TO the clients' random ports. What lets them through?`);
  out.line(
    `Legend: ct = the conntrack state nft sees (new: first packet of a flow; established: part of a tracked flow).`,
    paint.dim,
  );

  h(`1. Every packet of the scenario ${scenarioPath}, its verdict and the reason`);
  lines.line(fit ? fit.header(paint) : paint.dim(REPLAY_HEADER));
  const base = { sec: -1, nsec: 0 };
  let replies = 0;
  let repliesViaConntrack = 0;
  const stateful = await replay({
    rules: ruleset,
    source: capture,
    onPacket: (r: PacketResult, p, rec, engine) => {
      if (base.sec < 0) {
        base.sec = rec.tsSec;
        base.nsec = rec.tsNsec;
      }
      if (p.sport === 8080) {
        replies++;
        if (r.verdict === 'accept' && r.ct === 'established') repliesViaConntrack++;
      }
      lines.line(
        fit ? fit.text(r, p, engine, 'relative', base, paint) : replayLine(r, p, engine, 'relative', base, paint),
      );
    },
  });
  out.para([
    `=> ${replies} packets from port 8080 to a client; ${repliesViaConntrack} accepted because they belong to a tracked connection (no rule allows them);`,
    `   the last one, to port 33333, belongs to no connection and is dropped by the policy.`,
  ]);

  h('2. The conntrack table afterwards (as `conntrack -L` prints it)');
  const engine = stateful.engine;
  const entries = engine.ct!.entries(engine.now);
  for (const e of entries) out.line(formatConntrackEntry(e, engine.now), undefined, 2);
  out.para([
    `=> ${entries.length} entries. All share dst=10.2.0.1 dport=8080; they differ in the client's address and port,`,
    `   the 4-tuple (plus protocol) that also tells the server's sockets apart: each accept() returns a socket for one tuple.`,
  ]);

  h('3. The sockets on each host (what `ss -tan` would show), rebuilt from the handshakes');
  const obs = new SocketObserver();
  await replay({
    rules: ruleset,
    source: packetSource(scenarioPath).source,
    onPacket: (_r, p, rec) => obs.add(p, rec.n),
  });
  const names = new Map<string, string>();
  for (const hd of synth!.scenario.hosts) for (const a of hd.addrs) names.set(a, hd.name);
  // (A table: its rows as `fwemu sockets` prints them, whatever the width.)
  for (const l of formatSockets(obs.hosts(names))) lines.line(l);
  out.para([
    '=> one listening socket on 10.2.0.1:8080 and three accepted sockets on the same local port: the kernel tells them',
    '   apart by the peer address and port, exactly as the conntrack entries are told apart.',
  ]);

  h('4. The same traffic through a stateless filter (stateful: false)');
  let dropped = 0;
  let first: string | null = null;
  await replay({
    rules: { ...ruleset, stateful: false },
    source: packetSource(scenarioPath).source,
    onPacket: (r, p, _rec, eng) => {
      if (p.sport === 8080 && r.verdict !== 'accept') {
        dropped++;
        first ??= fit ? fit.text(r, p, eng, 'relative', base, paint) : replayLine(r, p, eng, 'relative', base, paint);
      }
    },
  });
  if (first) lines.line(first);
  out.para([
    `=> without connection tracking, ${dropped} of the ${replies} replies are dropped: nothing says they answer an allowed request,`,
    `   and "allow tcp dport 8080" says nothing about packets whose destination port is a client's.`,
    `   That is why firewalls keep state.`,
  ]);
  out.line('');
  out.para(
    [
      `Next: the same on real traffic: fwemu replay -r ${at('rules/web-server.yaml')} ${at('fixtures/seed-three-clients.pcap')}`,
      `      and fwemu --help for every command. The kernel agrees packet for packet: npm run test:kernel (root).`,
    ],
    paint.dim,
  );
  await out.flush();
  return ExitCode.OK;
}
