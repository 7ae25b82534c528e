/**
 * Randomized corpus for the kernel comparison: seeded random sessions
 * (TCP, UDP, ICMP; IPv4 and IPv6; well-behaved and odd) and seeded random
 * gateway-model rule files, written as scenario YAML and synthesized to
 * pcap, so that fwemu and the kernel get exactly the same bytes.
 *
 * Many sessions are interleaved into one capture (a "batch"): the kernel
 * harness pays its namespace setup once per batch, and the conntrack table
 * holds many flows at once, as a real one does.
 *
 *   const corpus = await buildCorpus({ seed: 1234, batches: 6, sessionsPerBatch: 90, dir });
 *   for (const b of corpus) await compareWithKernel(b.capturePath, b.rulesPath);
 *
 * Everything is a function of the seed: FWEMU_SEED=<n> replays a run.
 *
 * Every third batch uses the host model: the client-side hosts are the
 * firewall host itself (host: all their addresses), client-initiated rules
 * go to the output chain, server-initiated ones to the input chain (the
 * harness makes the kernel namespace own those addresses, see hostAddrs).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { generate, parseScenario, writeSynth } from '../../src/synth/index.js';
import { fragmentIp } from '../../src/packet/encode.js';

// ------------------------------------------------------------------ random

/** A small seeded generator (mulberry32): the corpus depends on nothing else. */
export class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + (this.u32() % (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.u32() / 2 ** 32 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.u32() % xs.length];
  }
  /** Pick by weight: [[weight, value], ...]. */
  weighted<T>(xs: readonly (readonly [number, T])[]): T {
    const total = xs.reduce((a, [w]) => a + w, 0);
    let r = (this.u32() / 2 ** 32) * total;
    for (const [w, v] of xs) {
      if ((r -= w) < 0) return v;
    }
    return xs[xs.length - 1][1];
  }
}

/** The run's seed: FWEMU_SEED if set, else one from the clock. */
export function corpusSeed(): number {
  const env = process.env.FWEMU_SEED;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
      throw new Error(`FWEMU_SEED must be an integer 0-4294967295, not ${env}`);
    return n;
  }
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}

// ------------------------------------------------------------------- hosts

/**
 * Client-side hosts live in the harness's default client nets
 * (10.1.0.0/16, fd00:1::/64); server-side ones elsewhere. Sessions may go
 * either way (a server-side host may open a connection to a client-side one).
 */
const CLIENTS = [1, 2, 3, 4, 5, 6].map((i) => ({
  name: `c${i}`,
  v4: `10.1.${i % 3}.${10 + i}`,
  v6: `fd00:1::${(10 + i).toString(16)}`,
}));
const SERVERS = [1, 2, 3, 4, 5, 6].map((i) => ({
  name: `s${i}`,
  v4: `10.${2 + (i % 2)}.${i}.1`,
  v6: `fd00:${2 + (i % 2)}::${i}`,
}));
const ROUTER = { name: 'router', v4: '10.0.0.254', v6: 'fd00::fe' };

/** Server ports sessions use, and that random rules draw from. */
const TCP_PORTS = [22, 25, 80, 443, 993, 3306, 5432, 8000, 8080, 8443, 9000, 9090];
const UDP_PORTS = [53, 123, 161, 500, 514, 1194, 4500, 5000, 5353, 9999];

// ------------------------------------------------------------------ rules

/** A random rule file (YAML text); hostModel: the client-side hosts are the firewall host. */
export function randomRules(rng: Prng, name: string, hostModel = false): string {
  const lines: string[] = [`name: ${name}`];
  const policy = rng.weighted([
    [4, 'drop'],
    [3, 'reject'],
    [2, 'accept'],
  ] as const);
  lines.push(`policy: ${policy}`);
  if (hostModel) {
    lines.push(`host: [${CLIENTS.flatMap((h) => [h.v4, h.v6]).join(', ')}]`);
    lines.push(
      `output_policy: ${rng.weighted([
        [4, 'accept'],
        [2, 'drop'],
        [1, 'reject'],
      ] as const)}`,
    );
  }
  /** Client-initiated traffic: the output chain when the clients are the host. */
  const outChain = hostModel ? ['    chain: output'] : [];
  const ct: string[] = [];
  if (rng.chance(0.15)) ct.push('  tcp_be_liberal: true');
  if (rng.chance(0.15)) ct.push('  tcp_loose: false');
  if (ct.length) lines.push('conntrack:', ...ct);
  lines.push('rules:');
  const portSpec = (pool: readonly number[]): string => {
    const k = rng.int(0, 3);
    if (k === 0) return String(rng.pick(pool));
    if (k === 1) {
      const a = rng.pick(pool);
      return `"${a}-${a + rng.int(1, 600)}"`;
    }
    const items = new Set<string>();
    for (let i = rng.int(2, 4); i > 0; i--) {
      if (rng.chance(0.3)) {
        const a = rng.pick(pool);
        items.add(`"${a}-${a + rng.int(1, 100)}"`);
      } else items.add(String(rng.pick(pool)));
    }
    return `[${[...items].join(', ')}]`;
  };
  const cidrs = (side: 'client' | 'server'): string => {
    const hosts = side === 'client' ? CLIENTS : SERVERS;
    const items = new Set<string>();
    for (let i = rng.int(1, 3); i > 0; i--) {
      const h = rng.pick(hosts);
      const v6 = rng.chance(0.4);
      const wide = rng.chance(0.4);
      if (v6)
        items.add(wide ? (side === 'client' ? 'fd00:1::/64' : `${h.v6.replace(/::.*/, '::')}/64`) : `${h.v6}/128`);
      else
        items.add(
          wide
            ? `${h.v4.split('.').slice(0, 2).join('.')}.0.0/16`
            : rng.chance(0.5)
              ? `${h.v4}/32`
              : `${h.v4.split('.').slice(0, 3).join('.')}.0/24`,
        );
    }
    return items.size === 1 ? [...items][0] : `[${[...items].join(', ')}]`;
  };
  // Broad accepts for most of the ports sessions use (so that most flows get
  // in and their tracking is exercised), narrower rules of every kind, in a
  // random order: a narrow reject before a broad accept shadows part of it.
  const some = (pool: readonly number[]) => {
    const keep = pool.filter(() => rng.chance(0.7));
    return keep.length ? `[${keep.join(', ')}]` : String(pool[0]);
  };
  const rules: string[][] = [];
  if (rng.chance(0.85)) rules.push(['    proto: tcp', `    dport: ${some(TCP_PORTS)}`, ...outChain]);
  if (rng.chance(0.75)) rules.push(['    proto: udp', `    dport: ${some(UDP_PORTS)}`, ...outChain]);
  if (rng.chance(0.6)) rules.push(['    proto: icmp', '    type: echo-request', ...outChain]);
  if (rng.chance(0.6)) rules.push(['    proto: icmpv6', '    type: echo-request', ...outChain]);
  const n = rng.int(2, 7);
  for (let i = 0; i < n; i++) {
    const kind = rng.weighted([
      [5, 'tcp'],
      [3, 'udp'],
      [1, 'icmp'],
      [1, 'icmpv6'],
      [1, 'any'],
    ] as const);
    const r: string[] = [`    proto: ${kind}`];
    if (kind === 'tcp' || kind === 'udp') {
      const pool = kind === 'tcp' ? TCP_PORTS : UDP_PORTS;
      if (rng.chance(0.85)) r.push(`    dport: ${portSpec(pool)}`);
      if (rng.chance(0.1)) r.push(`    sport: "32768-60999"`);
    } else if (kind === 'icmp' || kind === 'icmpv6') {
      if (rng.chance(0.8)) r.push('    type: echo-request');
    }
    const fam = kind === 'icmp' ? 4 : kind === 'icmpv6' ? 6 : 0;
    const addr = (side: 'client' | 'server') => {
      // icmp rules take IPv4 addresses only, icmpv6 IPv6 only.
      if (fam === 4) return side === 'client' ? '10.1.0.0/16' : '10.0.0.0/8';
      if (fam === 6) return side === 'client' ? 'fd00:1::/64' : 'fd00::/16';
      return cidrs(side);
    };
    const dir = rng.chance(0.8) ? 'out' : 'in'; // out: client side to server side
    if (rng.chance(kind === 'any' ? 0.9 : 0.35)) r.push(`    src: ${addr(dir === 'out' ? 'client' : 'server')}`);
    if (rng.chance(0.3)) r.push(`    dst: ${addr(dir === 'out' ? 'server' : 'client')}`);
    const action = rng.weighted([
      [4, 'accept'],
      [3, 'reject'],
      [2, 'drop'],
    ] as const);
    if (action !== 'accept') r.push(`    action: ${action}`);
    if (hostModel && dir === 'out') r.push(...outChain);
    rules.splice(rng.int(0, rules.length), 0, r);
  }
  rules.forEach((r, i) => lines.push(`  - id: r${i + 1}`, ...r));
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------- sessions

export const SESSION_KINDS = [
  'tcp-normal',
  'tcp-rst',
  'tcp-half-open',
  'tcp-abandoned',
  'tcp-half-close',
  'tcp-retransmit',
  'tcp-oow-data',
  'tcp-oow-ack',
  'tcp-oow-rst',
  'tcp-keepalive',
  'tcp-wscale',
  'tcp-simultaneous',
  'tcp-pickup',
  'tcp-reuse',
  'tcp-closed-port',
  'tcp-icmp-error',
  'udp-reply',
  'udp-noreply',
  'udp-icmp-error',
  'icmp-echo',
  'icmp-unrelated',
  'icmp-odd',
  'tcp-chaos',
  'tcp-fuzz',
  'generic-proto',
  'ttl-expiry',
  'ip-fragments',
] as const;
export type SessionKind = (typeof SESSION_KINDS)[number];

const KIND_WEIGHTS: readonly (readonly [number, SessionKind])[] = [
  [8, 'tcp-normal'],
  [5, 'tcp-rst'],
  [3, 'tcp-half-open'],
  [3, 'tcp-abandoned'],
  [3, 'tcp-half-close'],
  [4, 'tcp-retransmit'],
  [3, 'tcp-oow-data'],
  [3, 'tcp-oow-ack'],
  [2, 'tcp-oow-rst'],
  [2, 'tcp-keepalive'],
  [4, 'tcp-wscale'],
  [3, 'tcp-simultaneous'],
  [4, 'tcp-pickup'],
  [4, 'tcp-reuse'],
  [3, 'tcp-closed-port'],
  [4, 'tcp-icmp-error'],
  [5, 'udp-reply'],
  [3, 'udp-noreply'],
  [4, 'udp-icmp-error'],
  [5, 'icmp-echo'],
  [3, 'icmp-unrelated'],
  [3, 'icmp-odd'],
  [8, 'tcp-chaos'],
  [8, 'tcp-fuzz'],
  [2, 'generic-proto'],
  [2, 'ttl-expiry'],
  [8, 'ip-fragments'],
];

export interface SessionInfo {
  /** s<batch>_<k>: also the prefix of its flows' names. */
  id: string;
  kind: SessionKind;
  family: 4 | 6;
  /** "c3 -> s5:443" */
  summary: string;
  /** 1-based packet numbers in the batch's capture. */
  packets: number[];
}

type StepObj = Record<string, unknown>;

interface SessionPlan {
  info: SessionInfo;
  steps: StepObj[];
  /** Packets to send as IP fragments: a step of this plan, and which of its packets. */
  frags: FragSpec[];
}

/** How to cut one generated packet into IP fragments. */
export interface FragSpec {
  step: StepObj;
  /** Index of the packet among the step's packets. */
  which: number;
  /** Data bytes per fragment (a multiple of 8). */
  unit: number;
  pattern: FragPattern;
}

export const FRAG_PATTERNS = [
  'in-order',
  'reverse',
  'shuffle',
  'duplicate',
  'missing',
  'overlap',
  'atomic',
  'odd-size',
] as const;
export type FragPattern = (typeof FRAG_PATTERNS)[number];

interface BatchState {
  rng: Prng;
  /** Client ports written into the scenario (kept out of the ephemeral range, never reused across sessions). */
  nextFixedPort: number;
}

function planSession(st: BatchState, id: string, kind: SessionKind): SessionPlan {
  const rng = st.rng;
  const family: 4 | 6 = rng.chance(0.5) ? 4 : 6;
  const reverse = rng.chance(0.15); // opened from the server side
  const c = reverse ? rng.pick(SERVERS) : rng.pick(CLIENTS);
  const s = reverse ? rng.pick(CLIENTS) : rng.pick(SERVERS);
  const fam = family === 6 ? { family: 6 } : {};
  const addr = (h: { v4: string; v6: string }) => (family === 4 ? h.v4 : `[${h.v6}]`);
  const steps: StepObj[] = [];
  const frags: FragSpec[] = [];
  const conn = `${id}`;
  const side = () => (rng.chance(0.5) ? 'client' : 'server');
  const bytes = () =>
    rng.weighted([
      [3, rng.int(1, 200)],
      [3, rng.int(200, 3000)],
      [2, rng.int(3000, 40000)],
    ] as const);
  const sends = (n: number) => {
    for (let i = 0; i < n; i++) steps.push({ send: { conn, from: side(), bytes: bytes() } });
  };
  const tcpPort = rng.pick(TCP_PORTS);
  const udpPort = rng.pick(UDP_PORTS);
  const connect = (extra: StepObj = {}, from: string = c.name) =>
    steps.push({ connect: `${from} -> ${s.name}:${tcpPort}`, ...fam, ...extra, as: conn });
  let summary = `${c.name} -> ${s.name}:${tcpPort}`;

  switch (kind) {
    case 'tcp-normal':
      connect();
      sends(rng.int(1, 4));
      if (rng.chance(0.7)) steps.push({ close: { conn, from: side() } });
      else {
        const a = side();
        steps.push({ close: { conn, from: a, half: true } });
        steps.push({ close: { conn, from: a === 'client' ? 'server' : 'client' } });
      }
      break;
    case 'tcp-rst':
      connect();
      sends(rng.int(0, 3));
      steps.push({ reset: { conn, from: side() } });
      if (rng.chance(0.3)) steps.push({ packet: { conn, from: side(), bytes: rng.int(0, 50) } }); // a straggler after the RST
      break;
    case 'tcp-half-open':
      connect({ answer: 'none', ...(rng.chance(0.3) ? { retries: 1 } : {}) });
      break;
    case 'tcp-abandoned':
      connect();
      sends(rng.int(1, 3));
      break;
    case 'tcp-half-close': {
      connect();
      sends(rng.int(0, 2));
      const a = side();
      const b = a === 'client' ? 'server' : 'client';
      steps.push({ close: { conn, from: a, half: true } });
      steps.push({ send: { conn, from: b, bytes: bytes() } });
      if (rng.chance(0.6)) steps.push({ close: { conn, from: b } });
      break;
    }
    case 'tcp-retransmit':
      connect();
      sends(rng.int(1, 3));
      for (let i = rng.int(1, 2); i > 0; i--) steps.push({ retransmit: { conn, from: side(), ack: rng.chance(0.7) } });
      if (rng.chance(0.5)) steps.push({ close: { conn, from: side() } });
      break;
    case 'tcp-oow-data': {
      connect();
      sends(rng.int(1, 2));
      const off = rng.pick([100_000_000, -100_000_000, 3_000_000, 70_000, -300_000]);
      steps.push({
        packet: { conn, from: side(), flags: 'PA', seq: off > 0 ? `+${off}` : `${off}`, bytes: rng.int(1, 500) },
      });
      sends(1);
      if (rng.chance(0.5)) steps.push({ close: { conn, from: side() } });
      break;
    }
    case 'tcp-oow-ack': {
      connect();
      sends(rng.int(1, 2));
      const off = rng.pick([100_000_000, -100_000_000, 1_000_000, 5000, -70_000]);
      steps.push({
        packet: {
          conn,
          from: side(),
          flags: rng.pick(['A', 'PA']),
          ack: off > 0 ? `+${off}` : `${off}`,
          bytes: rng.int(0, 100),
        },
      });
      sends(1);
      break;
    }
    case 'tcp-oow-rst': {
      connect();
      sends(rng.int(0, 2));
      const off = rng.pick([100_000_000, -100_000_000, 1, -1, 10]);
      steps.push({ packet: { conn, from: side(), flags: rng.pick(['R', 'RA']), seq: off > 0 ? `+${off}` : `${off}` } });
      sends(1);
      if (rng.chance(0.5)) steps.push({ reset: { conn, from: side() } });
      break;
    }
    case 'tcp-keepalive':
      connect();
      sends(rng.int(1, 2));
      steps.push({ packet: { conn, from: side(), seq: -1, bytes: rng.chance(0.5) ? 1 : 0 } });
      sends(1);
      break;
    case 'tcp-wscale': {
      const ws = rng.weighted<number | false>([
        [1, false],
        [1, 0],
        [2, rng.int(1, 6)],
        [2, rng.int(7, 14)],
      ]);
      const extra: StepObj = { wscale: ws };
      if (rng.chance(0.3)) extra.timestamps = false;
      if (rng.chance(0.3)) extra.sack = false;
      if (rng.chance(0.3)) extra.mss = rng.pick([536, 1000, 1400]);
      if (rng.chance(0.3)) extra.window = rng.pick([4096, 29200, 65535, ...(ws === false ? [] : [262144, 1048576])]);
      connect(extra);
      steps.push({ send: { conn, from: 'server', bytes: rng.int(50_000, 300_000) } });
      sends(rng.int(0, 2));
      steps.push({ close: { conn, from: side() } });
      summary += ` wscale ${ws}`;
      break;
    }
    case 'tcp-simultaneous': {
      const port = st.nextFixedPort++;
      steps.push({ connect: `${c.name}:${port} -> ${s.name}:${tcpPort}`, ...fam, simultaneous: true, as: conn });
      sends(rng.int(0, 2));
      if (rng.chance(0.7)) steps.push({ close: { conn, from: side() } });
      summary = `${c.name}:${port} -> ${s.name}:${tcpPort}`;
      break;
    }
    case 'tcp-pickup': {
      // No handshake in the capture: the flow is already running.
      const cport = st.nextFixedPort++;
      let a = rng.u32();
      let b = rng.u32();
      const from = `${addr(c)}:${cport}`;
      const to = `${addr(s)}:${tcpPort}`;
      const serverFirst = rng.chance(0.3);
      const n = rng.int(2, 6);
      for (let i = 0; i < n; i++) {
        const cl = (i % 2 === 0) !== serverFirst;
        const len = rng.chance(0.6) ? rng.int(1, 1400) : 0;
        const last = i === n - 1;
        const flags = last && rng.chance(0.3) ? rng.pick(['FA', 'R', 'RA']) : len > 0 ? 'PA' : 'A';
        const seq = cl ? a : b;
        const ack = cl ? b : a;
        steps.push({
          packet: {
            from: cl ? from : to,
            to: cl ? to : from,
            proto: 'tcp',
            flags,
            seq,
            ack,
            ...(len > 0 ? { bytes: len } : {}),
          },
        });
        if (cl) a = (a + len) >>> 0;
        else b = (b + len) >>> 0;
      }
      summary = `${from} -> ${to} (mid-stream${serverFirst ? ', server first' : ''})`;
      break;
    }
    case 'tcp-reuse': {
      const port = st.nextFixedPort++;
      const from = `${c.name}:${port}`;
      steps.push({ connect: `${from} -> ${s.name}:${tcpPort}`, ...fam, as: conn });
      sends(rng.int(0, 2));
      const how = rng.weighted([
        [3, 'close'],
        [1, 'reset'],
      ] as const);
      if (how === 'close') steps.push({ close: { conn, from: side() } });
      else steps.push({ reset: { conn, from: side() } });
      if (rng.chance(0.5)) steps.push({ wait: { for: `${rng.int(1, 400)}ms` } });
      steps.push({ connect: `${from} -> ${s.name}:${tcpPort}`, ...fam, as: `${conn}b` });
      if (rng.chance(0.7)) steps.push({ send: { conn: `${conn}b`, from: side(), bytes: bytes() } });
      if (rng.chance(0.5)) steps.push({ close: { conn: `${conn}b`, from: side() } });
      summary = `${from} -> ${s.name}:${tcpPort} twice (after ${how})`;
      break;
    }
    case 'tcp-closed-port':
      connect({ answer: 'reset' });
      break;
    case 'tcp-icmp-error': {
      connect(rng.chance(0.3) ? { answer: 'none' } : {});
      const answered = !(steps[0] as { answer?: string }).answer;
      if (answered) sends(rng.int(1, 2));
      const code = rng.pick(['net', 'host', 'port', 'admin', 'packet-too-big', 'time-exceeded'] as const);
      const u: StepObj = { about: conn, code };
      if (rng.chance(0.6)) u.from = 'router';
      if (answered && rng.chance(0.4)) u.side = side();
      if (code === 'packet-too-big') u.mtu = family === 4 ? rng.pick([576, 1280, 1400]) : rng.pick([1280, 1400]);
      steps.push({ unreachable: u });
      if (answered && rng.chance(0.5)) sends(1);
      summary += ` + ICMP ${code}`;
      break;
    }
    case 'udp-reply': {
      steps.push({
        udp: { from: c.name, to: `${s.name}:${udpPort}`, bytes: rng.int(1, 1200), reply: rng.int(1, 1400) },
        ...fam,
        as: conn,
      });
      for (let i = rng.int(0, 3); i > 0; i--)
        steps.push({
          udp: { conn, from: side(), bytes: rng.int(1, 1200), ...(rng.chance(0.5) ? { reply: rng.int(1, 500) } : {}) },
        });
      summary = `${c.name} -> ${s.name}:${udpPort} udp`;
      break;
    }
    case 'udp-noreply': {
      steps.push({ udp: { from: c.name, to: `${s.name}:${udpPort}`, bytes: rng.int(1, 1200) }, ...fam, as: conn });
      for (let i = rng.int(0, 2); i > 0; i--) steps.push({ udp: { conn, from: 'client', bytes: rng.int(1, 1200) } });
      summary = `${c.name} -> ${s.name}:${udpPort} udp, no reply`;
      break;
    }
    case 'udp-icmp-error': {
      const reply = rng.chance(0.3);
      steps.push({
        udp: {
          from: c.name,
          to: `${s.name}:${udpPort}`,
          bytes: rng.int(1, 1200),
          ...(reply ? { reply: rng.int(1, 300) } : {}),
        },
        ...fam,
        as: conn,
      });
      const code = rng.pick(['port', 'port', 'host', 'admin', 'time-exceeded', 'packet-too-big'] as const);
      const u: StepObj = { about: conn, code };
      if (code !== 'port' || rng.chance(0.3)) u.from = 'router';
      if (reply && rng.chance(0.5)) u.side = side();
      if (code === 'packet-too-big') u.mtu = 1280;
      steps.push({ unreachable: u });
      summary = `${c.name} -> ${s.name}:${udpPort} udp + ICMP ${code}`;
      break;
    }
    case 'icmp-echo': {
      const reply = rng.chance(0.75);
      steps.push({
        ping: {
          from: c.name,
          to: s.name,
          count: rng.int(1, 3),
          interval: `${rng.int(1, 200)}ms`,
          reply,
          bytes: rng.int(8, 1000),
        },
        ...fam,
        as: conn,
      });
      summary = `ping ${c.name} -> ${s.name}${reply ? '' : ' unanswered'}`;
      break;
    }
    case 'icmp-unrelated': {
      // An ICMP error about nothing conntrack knows: either quoting a flow
      // that never existed for the firewall, or quoting garbage.
      const proto = family === 4 ? 'icmp' : 'icmpv6';
      if (rng.chance(0.5)) {
        const type = family === 4 ? rng.pick([3, 11, 12]) : rng.pick([1, 2, 3, 4]);
        steps.push({
          packet: {
            from: rng.chance(0.5) ? ROUTER.name : s.name,
            to: c.name,
            proto,
            type,
            code: rng.int(0, 4),
            bytes: rng.int(0, 80),
          },
          ...fam,
        });
        summary = `${proto} error type ${type} quoting garbage`;
      } else {
        // An error quoting a UDP datagram between two other hosts, none of it seen.
        const other = rng.pick(CLIENTS.filter((h) => h !== c));
        steps.push({ udp: { from: other.name, to: `${s.name}:${udpPort}`, bytes: 10 }, ...fam, as: `${conn}x` });
        steps.push({ unreachable: { about: `${conn}x`, code: 'port' } });
        summary = `udp ${other.name} -> ${s.name}:${udpPort} + port unreachable`;
      }
      break;
    }
    case 'icmp-odd': {
      const proto = family === 4 ? 'icmp' : 'icmpv6';
      const what = rng.int(0, 3);
      if (what === 0) {
        // An echo reply nobody asked for.
        steps.push({
          packet: { from: s.name, to: c.name, proto, type: 'echo-reply', ident: rng.int(0, 65535), bytes: 16 },
          ...fam,
        });
        summary = `${proto} echo reply without request`;
      } else if (what === 1) {
        // An error about a ping.
        steps.push({ ping: { from: c.name, to: s.name, count: 1, reply: rng.chance(0.5) }, ...fam, as: conn });
        steps.push({
          unreachable: {
            about: conn,
            code: rng.pick(['host', 'admin', 'time-exceeded'] as const),
            from: 'router',
            side: 'client',
          },
        });
        summary = `ping ${c.name} -> ${s.name} + ICMP error about it`;
      } else if (what === 2) {
        // Other query types (timestamp, information; IPv6 node information) and a reply to them.
        const type = family === 4 ? rng.pick([13, 15, 17]) : rng.pick([139]);
        const ident = rng.int(0, 65535);
        steps.push({ packet: { from: c.name, to: s.name, proto, type, ident, bytes: 12 }, ...fam });
        if (rng.chance(0.7))
          steps.push({ packet: { from: s.name, to: c.name, proto, type: type + 1, ident, bytes: 12 }, ...fam });
        summary = `${proto} query type ${type}`;
      } else {
        // Types conntrack does not track, or bad ones.
        const type = family === 4 ? rng.pick([5, 9, 10, 19, 40, 200]) : rng.pick([100, 138, 200, 255]);
        steps.push({
          packet: {
            from: rng.chance(0.5) ? c.name : s.name,
            to: rng.chance(0.5) ? s.name : c.name,
            proto,
            type,
            code: rng.int(0, 3),
            bytes: rng.int(0, 40),
          },
          ...fam,
        });
        summary = `${proto} type ${type}`;
      }
      break;
    }
    case 'tcp-chaos': {
      // A connection with odd segments injected at random moments.
      const silent = rng.chance(0.15);
      connect(silent ? { answer: 'none' } : {});
      const odd = () => {
        const flags = rng.weighted([
          [3, 'S'],
          [3, 'SA'],
          [3, 'F'],
          [4, 'FA'],
          [4, 'R'],
          [4, 'RA'],
          [3, 'A'],
          [3, 'PA'],
          [1, ''],
          [1, 'SF'],
          [1, 'SR'],
          [1, 'FPU'],
          [1, 'U'],
        ] as const);
        const off = () =>
          rng.weighted([
            [6, 0],
            [2, 1],
            [2, -1],
            [2, rng.int(2, 3000)],
            [2, -rng.int(2, 3000)],
            [1, 70_000],
            [1, -70_000],
            [1, 1_000_000_000],
          ] as const);
        const pk: StepObj = { conn, from: side(), flags: flags === '' ? 0 : flags };
        const so = off();
        if (so !== 0 || rng.chance(0.2)) pk.seq = so >= 0 ? `+${so}` : `${so}`;
        const ao = off();
        if (ao !== 0 && /A/.test(flags)) pk.ack = ao >= 0 ? `+${ao}` : `${ao}`;
        if (rng.chance(0.3)) pk.bytes = rng.int(1, 300);
        if (rng.chance(0.15)) pk.window = rng.pick([0, 1, 65535]);
        steps.push({ packet: pk });
      };
      for (let i = rng.int(1, 3); i > 0; i--) odd();
      if (!silent) {
        sends(rng.int(0, 2));
        if (rng.chance(0.4)) odd();
        const end = rng.weighted([
          [3, 'close'],
          [1, 'half'],
          [2, 'reset'],
          [2, 'none'],
        ] as const);
        if (end === 'close') steps.push({ close: { conn, from: side() } });
        else if (end === 'half') steps.push({ close: { conn, from: side(), half: true } });
        else if (end === 'reset') steps.push({ reset: { conn, from: side() } });
        for (let i = rng.int(0, 2); i > 0; i--) odd();
      }
      summary += ' (odd segments injected)';
      break;
    }
    case 'tcp-fuzz': {
      // A hand-made exchange: every segment written out, with plausible
      // sequence numbers that are sometimes off, and odd flags now and then.
      const cport = st.nextFixedPort++;
      const from = `${addr(c)}:${cport}`;
      const to = `${addr(s)}:${tcpPort}`;
      const next = { c: rng.u32(), s: rng.u32() };
      const n = rng.int(3, 9);
      // Opening moves (flags, sender), then random segments.
      type Move = readonly [string, 'c' | 's'];
      const script: readonly Move[] = rng.weighted<readonly Move[]>([
        [
          3,
          [
            ['S', 'c'],
            ['SA', 's'],
            ['A', 'c'],
          ],
        ],
        [
          1,
          [
            ['S', 'c'],
            ['S', 'c'],
            ['SA', 's'],
            ['A', 'c'],
          ],
        ],
        [
          1,
          [
            ['S', 'c'],
            ['SA', 's'],
            ['SA', 's'],
            ['A', 'c'],
          ],
        ],
        [
          1,
          [
            ['S', 'c'],
            ['RA', 's'],
          ],
        ],
        [
          1,
          [
            ['S', 'c'],
            ['A', 's'],
          ],
        ],
        [1, [['SA', 's']]],
        [
          1,
          [
            ['S', 'c'],
            ['SA', 's'],
            ['R', 'c'],
          ],
        ],
        [
          1,
          [
            ['S', 'c'],
            ['S', 's'],
            ['SA', 'c'],
            ['SA', 's'],
          ],
        ],
        [
          1,
          [
            ['S', 'c'],
            ['SA', 's'],
            ['A', 'c'],
            ['S', 'c'],
          ],
        ],
      ]);
      for (let i = 0; i < n; i++) {
        let flags: string;
        let cl: boolean;
        if (i < script.length) {
          flags = script[i][0];
          cl = script[i][1] === 'c';
        } else {
          flags = rng.weighted([
            [6, 'A'],
            [6, 'PA'],
            [3, 'FA'],
            [2, 'R'],
            [2, 'RA'],
            [1, 'S'],
            [1, 'SA'],
            [1, 'F'],
          ] as const);
          cl = rng.chance(0.5);
        }
        const me = cl ? 'c' : 's';
        const peer = cl ? 's' : 'c';
        const len = /S/.test(flags) ? 0 : rng.chance(0.5) ? rng.int(1, 1000) : 0;
        const jitter = () =>
          rng.weighted([
            [10, 0],
            [1, 1],
            [1, -1],
            [1, rng.int(2, 100_000)],
            [1, -rng.int(2, 100_000)],
          ] as const);
        const seq = (next[me] + jitter()) >>> 0;
        const ack = (next[peer] + jitter()) >>> 0;
        const pk: StepObj = {
          from: cl ? from : to,
          to: cl ? to : from,
          proto: 'tcp',
          flags,
          seq,
          ...(/A/.test(flags) ? { ack } : {}),
        };
        if (len) pk.bytes = len;
        if (/S/.test(flags)) {
          const o: StepObj = {};
          if (rng.chance(0.8)) o.mss = rng.pick([536, 1220, 1460]);
          if (rng.chance(0.6)) o.wscale = rng.int(0, 14);
          if (rng.chance(0.6)) o.sack_perm = true;
          if (Object.keys(o).length) pk.options = o;
          pk.window = rng.pick([1024, 29200, 64240, 65535]);
        } else
          pk.window = rng.weighted([
            [6, rng.int(500, 65535)],
            [1, 0],
          ] as const);
        steps.push({ packet: pk });
        if (seq === next[me]) next[me] = (next[me] + len + (/[SF]/.test(flags) ? 1 : 0)) >>> 0;
      }
      summary = `${from} -> ${to} (hand-made segments)`;
      break;
    }
    case 'generic-proto': {
      const proto = rng.pick([47, 132, 136, 33, 99, 253]);
      for (let i = rng.int(1, 4); i > 0; i--) {
        const back = i % 2 === 0;
        steps.push({
          packet: { from: back ? s.name : c.name, to: back ? c.name : s.name, proto, bytes: rng.int(4, 100) },
          ...fam,
        });
      }
      summary = `IP protocol ${proto} ${c.name} <-> ${s.name}`;
      break;
    }
    case 'ip-fragments': {
      // One packet of the session is sent as IP fragments (the kernel
      // reassembles before conntrack; the datagram's verdict is every
      // fragment's), in order or not, with duplicates, a missing piece, an
      // overlap, or odd sizes.
      const pattern: FragPattern =
        family === 6
          ? rng.pick(FRAG_PATTERNS)
          : rng.pick(FRAG_PATTERNS.filter((x) => x !== 'atomic' && x !== 'odd-size'));
      const carrier = rng.weighted([
        [3, 'udp'],
        [2, 'ping'],
        [2, 'tcp-data'],
        [2, 'tcp-syn'],
      ] as const);
      const unit =
        pattern === 'atomic' ? 4096 : carrier === 'tcp-syn' && rng.chance(0.5) ? 8 : rng.pick([8, 16, 256, 512, 1024]);
      if (carrier === 'udp') {
        const st: StepObj = {
          udp: {
            from: c.name,
            to: `${s.name}:${udpPort}`,
            bytes: rng.int(100, 4000),
            ...(rng.chance(0.6) ? { reply: rng.int(10, 300) } : {}),
          },
          ...fam,
          as: conn,
        };
        steps.push(st);
        frags.push({ step: st, which: 0, unit, pattern });
        if (rng.chance(0.5)) steps.push({ udp: { conn, from: 'client', bytes: rng.int(10, 200) } });
      } else if (carrier === 'ping') {
        const st: StepObj = {
          ping: { from: c.name, to: s.name, count: 1, bytes: rng.int(100, 3000) },
          ...fam,
          as: conn,
        };
        steps.push(st);
        frags.push({ step: st, which: 0, unit, pattern });
      } else if (carrier === 'tcp-data') {
        connect();
        const st: StepObj = { send: { conn, from: side(), bytes: rng.int(100, 1200) } };
        steps.push(st);
        frags.push({ step: st, which: 0, unit, pattern });
        sends(1);
        if (rng.chance(0.5)) steps.push({ close: { conn, from: side() } });
      } else {
        // A SYN, as the first packet of its connection (the first fragment
        // may be too short for the whole TCP header).
        const st: StepObj = { connect: `${c.name} -> ${s.name}:${tcpPort}`, ...fam, as: conn };
        steps.push(st);
        frags.push({ step: st, which: 0, unit, pattern });
        sends(rng.int(0, 1));
      }
      summary = `${carrier} ${c.name} -> ${s.name}, IP fragments of ${unit} bytes, ${pattern}`;
      break;
    }
    case 'ttl-expiry': {
      connect();
      steps.push({ packet: { conn, from: side(), ttl: rng.pick([0, 1, 2]), bytes: rng.int(1, 100) } });
      sends(1);
      steps.push({
        packet: {
          from: c.name,
          to: `${s.name}:${rng.pick(TCP_PORTS)}`,
          proto: 'tcp',
          flags: 'S',
          ttl: rng.pick([1, 2]),
        },
        ...fam,
      });
      summary += ' + TTL 0-2 packets';
      break;
    }
  }
  return { info: { id, kind, family, summary, packets: [] }, steps, frags };
}

// ------------------------------------------------------------------ batches

export interface CorpusBatch {
  index: number;
  name: string;
  seed: number;
  scenarioPath: string;
  capturePath: string;
  rulesPath: string;
  rulesText: string;
  sessions: SessionInfo[];
  /** Session id of each packet (index = packet number - 1). */
  packetSession: string[];
  packets: number;
  /** Capture duration, seconds. */
  duration: number;
}

export interface CorpusOptions {
  seed: number;
  batches: number;
  sessionsPerBatch: number;
  /** Where the scenario, capture and rule files go. */
  dir: string;
  /** Sessions in flight at once (interleaved steps). Default 6. */
  concurrency?: number;
}

/** Builds the corpus: per batch a rule file, a scenario and its pcap. */
export async function buildCorpus(opts: CorpusOptions): Promise<CorpusBatch[]> {
  const out: CorpusBatch[] = [];
  for (let b = 0; b < opts.batches; b++) out.push(await buildBatch(opts, b));
  return out;
}

async function buildBatch(opts: CorpusOptions, index: number): Promise<CorpusBatch> {
  const seed = (opts.seed + Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  const rng = new Prng(seed);
  const name = `random-${opts.seed}-${index + 1}`;
  const rulesText = randomRules(rng, name, index % 3 === 2);
  const rulesPath = join(opts.dir, `${name}.rules.yaml`);
  writeFileSync(rulesPath, rulesText);

  const st: BatchState = { rng, nextFixedPort: 20000 };
  const plans: SessionPlan[] = [];
  for (let k = 1; k <= opts.sessionsPerBatch; k++)
    plans.push(planSession(st, `b${index + 1}s${k}`, rng.weighted(KIND_WEIGHTS)));

  // Interleave: keep `concurrency` sessions in flight, take the next step of a random one.
  const conc = opts.concurrency ?? 6;
  const steps: StepObj[] = [];
  const stepSession: string[] = [];
  const active: { plan: SessionPlan; next: number }[] = [];
  let queued = 0;
  while (active.length > 0 || queued < plans.length) {
    while (active.length < conc && queued < plans.length) active.push({ plan: plans[queued++], next: 0 });
    const i = rng.int(0, active.length - 1);
    const a = active[i];
    steps.push(a.plan.steps[a.next]);
    stepSession.push(a.plan.info.id);
    if (++a.next >= a.plan.steps.length) active.splice(i, 1);
    if (rng.chance(0.05)) {
      steps.push({ wait: { for: `${rng.int(1, 300)}ms` } });
      stepSession.push('');
    }
  }
  const hosts: Record<string, string[]> = {};
  for (const h of [...CLIENTS, ...SERVERS, ROUTER]) hosts[h.name] = [h.v4, h.v6];
  const listens = [...new Set([...SERVERS, ...CLIENTS].flatMap((h) => TCP_PORTS.map((p) => `${h.name}:${p}`)))].map(
    (l) => ({ listen: l }),
  );
  const doc = {
    scenario: `randomized corpus, seed ${opts.seed}, batch ${index + 1}`,
    seed: seed % 1_000_000,
    rtt: `${rng.int(1, 20)}ms`,
    hosts,
    steps: [...listens, ...steps],
  };
  const scenarioText = stringify(doc, { lineWidth: 0 });
  const scenarioPath = join(opts.dir, `${name}.yaml`);
  writeFileSync(scenarioPath, scenarioText);
  const sc = parseScenario(scenarioText, scenarioPath);
  const synth = generate(sc);

  // Cut the chosen packets into fragments; number every packet anew.
  const fragOf = new Map<StepObj, FragSpec[]>();
  for (const p of plans) for (const f of p.frags) fragOf.set(f.step, [...(fragOf.get(f.step) ?? []), f]);
  const packets: typeof synth.packets = [];
  const packetSession: string[] = [];
  const sessions = new Map(plans.map((p) => [p.info.id, p.info]));
  const stepObjs = [...listens, ...steps];
  synth.steps.forEach((rec, i) => {
    const sid = i < listens.length ? '' : stepSession[i - listens.length];
    const specs = fragOf.get(stepObjs[i]) ?? [];
    rec.packets.forEach((n, k) => {
      const orig = synth.packets[n - 1];
      const spec = specs.find((f) => f.which === k);
      const pieces = spec ? fragmentFrame(orig.data, synth.linkType, spec, rng) : [orig.data];
      for (const data of pieces) {
        packets.push({ ...orig, data });
        packetSession.push(sid);
        if (sid) sessions.get(sid)!.packets.push(packets.length);
      }
    });
  });
  const capturePath = join(opts.dir, `${name}.pcap`);
  await writeSynth({ ...synth, packets }, capturePath);

  const first = packets[0];
  const last = packets[packets.length - 1];
  const duration = first && last ? last.tsSec + last.tsNsec / 1e9 - (first.tsSec + first.tsNsec / 1e9) : 0;
  return {
    index,
    name,
    seed,
    scenarioPath,
    capturePath,
    rulesPath,
    rulesText,
    sessions: [...sessions.values()],
    packetSession,
    packets: packets.length,
    duration,
  };
}

/** The frames that carry `frame`'s IP packet as fragments, in the spec's order and with its oddities. */
function fragmentFrame(frame: Uint8Array, linkType: number, spec: FragSpec, rng: Prng): Uint8Array[] {
  const hl = linkType === 1 ? 14 : 0;
  const link = frame.subarray(0, hl);
  const ip = frame.slice(hl);
  const v6 = ip[0] >> 4 === 6;
  if (!v6) {
    // No DF on a datagram that is fragmented anyway (the kernel would keep
    // DF on the refragmented copies only if every fragment had it).
    ip[6] &= ~0x40;
  }
  const id = v6 ? rng.u32() : undefined;
  // At most 48 fragments a datagram (the harness remembers 1024 unanswered packets; a datagram of hundreds of fragments is slow to replay).
  const data = ip.length - (v6 ? 40 : (ip[0] & 15) * 4);
  const unit = Math.max(spec.unit, Math.ceil(data / 48 / 8) * 8);
  spec = { ...spec, unit };
  let pieces = fragmentIp(ip, unit, id);
  if (pieces.length < 2 && spec.pattern !== 'atomic')
    pieces = fragmentIp(ip, Math.max(8, Math.floor((ip.length - (v6 ? 40 : 20)) / 16) * 8), id);
  switch (spec.pattern) {
    case 'in-order':
    case 'atomic':
      break;
    case 'reverse':
      pieces.reverse();
      break;
    case 'shuffle':
      for (let i = pieces.length - 1; i > 0; i--) {
        const j = rng.int(0, i);
        [pieces[i], pieces[j]] = [pieces[j], pieces[i]];
      }
      break;
    case 'duplicate': {
      const k = rng.int(0, pieces.length - 1);
      pieces.splice(rng.int(k + 1, pieces.length), 0, pieces[k].slice());
      break;
    }
    case 'missing':
      pieces.splice(rng.int(0, pieces.length - 1), 1);
      break;
    case 'overlap': {
      // A fragment cut at other boundaries, overlapping the regular ones.
      const other = fragmentIp(ip, spec.unit + 8, id);
      if (other.length > 1) pieces.splice(rng.int(0, pieces.length), 0, other[1]);
      break;
    }
    case 'odd-size': {
      // IPv6: a non-last fragment whose length is not a multiple of 8.
      if (pieces.length > 1) {
        const k = rng.int(0, pieces.length - 2);
        const cut = rng.int(1, 7);
        const p = pieces[k].slice(0, pieces[k].length - cut);
        const plen = ((p[4] << 8) | p[5]) - cut;
        p[4] = plen >> 8;
        p[5] = plen & 0xff;
        pieces[k] = p;
      }
      break;
    }
  }
  return pieces.map((p) => {
    const f = new Uint8Array(hl + p.length);
    f.set(link);
    f.set(p, hl);
    return f;
  });
}
