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
import { useColor, type CommandContext, type CommonOptions } from './common.js';

/** Files the demo uses, relative to the package root (not the caller's directory). */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** A path the user can type: relative when the file is below the current directory, else absolute. */
const at = (p: string) => {
  const rel = relative(process.cwd(), ROOT + p);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? ROOT + p : rel;
};

export function demoCommand(y: Argv<CommonOptions>, ctx: CommandContext) {
  return y.command<CommonOptions>(
    'demo',
    'The tour (npm start): three connections to one server port, and why the replies get through',
    (a) =>
      a.epilog(
        'Replays fixtures/scenarios/seed.yaml (a synthesized scenario) through rules/web-server.yaml. The same story on real captured traffic: fixtures/seed-three-clients.pcap.',
      ),
    async (args) => {
      ctx.exitCode = await run(args, ctx.io);
    },
  );
}

export async function run(args: CommonOptions, io: Io): Promise<number> {
  const paint: Paint = useColor(args.color, io.stdout) ? ANSI_PAINT : NO_PAINT;
  const out = new LineWriter(io.stdout);
  const scenarioPath = at('fixtures/scenarios/seed.yaml');
  const { source: capture, synth } = packetSource(scenarioPath);
  const { ruleset } = loadRuleSet(at('rules/web-server.yaml'));
  const h = (s: string) => {
    out.line('');
    out.line(paint.bold(s));
  };

  out.line(paint.bold('fwemu demo: one server port, three connections, one allow rule'));
  out.line(`The server 10.2.0.1 listens on tcp/8080. Alice (10.1.0.2) connects twice, Bob (10.1.0.3) once.`);
  out.line(`The firewall (${ruleset.file}) has a single rule: accept tcp to destination port 8080; policy drop.`);
  out.line(`The server's replies go FROM port 8080 TO the clients' random ports. What lets them through?`);
  out.line(
    paint.dim(
      `Legend: ct = the conntrack state nft sees (new: first packet of a flow; established: part of a tracked flow).`,
    ),
  );

  h(`1. Every packet of the scenario ${scenarioPath}, its verdict and the reason`);
  out.line(paint.dim(REPLAY_HEADER));
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
      out.line(replayLine(r, p, engine, 'relative', base, paint));
    },
  });
  out.line(
    `=> ${replies} packets from port 8080 to a client; ${repliesViaConntrack} accepted because they belong to a tracked connection (no rule allows them);`,
  );
  out.line(`   the last one, to port 33333, belongs to no connection and is dropped by the policy.`);

  h('2. The conntrack table afterwards (as `conntrack -L` prints it)');
  const engine = stateful.engine;
  const entries = engine.ct!.entries(engine.now);
  for (const e of entries) out.line(formatConntrackEntry(e, engine.now));
  out.line(
    `=> ${entries.length} entries. All share dst=10.2.0.1 dport=8080; they differ in the client's address and port,`,
  );
  out.line(
    `   the 4-tuple (plus protocol) that also tells the server's sockets apart: each accept() returns a socket for one tuple.`,
  );

  h('3. The sockets on each host (what `ss -tan` would show), rebuilt from the handshakes');
  const obs = new SocketObserver();
  await replay({
    rules: ruleset,
    source: packetSource(scenarioPath).source,
    onPacket: (_r, p, rec) => obs.add(p, rec.n),
  });
  const names = new Map<string, string>();
  for (const hd of synth!.scenario.hosts) for (const a of hd.addrs) names.set(a, hd.name);
  for (const l of formatSockets(obs.hosts(names))) out.line(l);
  out.line(
    '=> one listening socket on 10.2.0.1:8080 and three accepted sockets on the same local port: the kernel tells them',
  );
  out.line('   apart by the peer address and port, exactly as the conntrack entries are told apart.');

  h('4. The same traffic through a stateless filter (stateful: false)');
  let dropped = 0;
  let first: string | null = null;
  await replay({
    rules: { ...ruleset, stateful: false },
    source: packetSource(scenarioPath).source,
    onPacket: (r, p, _rec, eng) => {
      if (p.sport === 8080 && r.verdict !== 'accept') {
        dropped++;
        first ??= replayLine(r, p, eng, 'relative', base, paint);
      }
    },
  });
  if (first) out.line(first);
  out.line(
    `=> without connection tracking, ${dropped} of the ${replies} replies are dropped: nothing says they answer an allowed request,`,
  );
  out.line(`   and "allow tcp dport 8080" says nothing about packets whose destination port is a client's.`);
  out.line(`   That is why firewalls keep state.`);
  out.line('');
  out.line(
    paint.dim(
      `Next: the same on real traffic: fwemu replay -r ${at('rules/web-server.yaml')} ${at('fixtures/seed-three-clients.pcap')}`,
    ),
  );
  out.line(
    paint.dim(
      `      and fwemu --help for every command. The kernel agrees packet for packet: npm run test:kernel (root).`,
    ),
  );
  await out.flush();
  return ExitCode.OK;
}
