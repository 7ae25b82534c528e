/**
 * Scenario -> packets. A small, deterministic model of two Linux TCP/IP
 * stacks talking through the capture point (the firewall), which sits in
 * the middle of the path: an answer to a packet is seen rtt/2 after it.
 *
 * What is modelled, Linux-like:
 * - TCP: random ISNs; SYN options MSS, SACK-permitted, timestamps, window
 *   scale in Linux's order; SYN window = the largest multiple of the MSS up
 *   to 65535 (64240 for IPv4), SYN/ACK the same for MSS minus the timestamp
 *   option (65160); afterwards windows scaled by the sender's shift and
 *   growing as data arrives (receive-buffer autotuning); TSval = a per-
 *   connection random offset + milliseconds, TSecr = the peer's latest TSval;
 *   data segmented by MSS minus options, sent within min(cwnd, receive
 *   window) with an initial cwnd of 10 segments growing in slow start, the
 *   receiver acking every second segment (and the last one), a delayed ACK
 *   after 40 ms when the sender stalls; PSH on the last segment of a send.
 * - IPv4: DF on TCP, UDP and echo requests; IP ids counting up per socket
 *   from a random start (0 on SYN/ACKs from a listener and on RSTs for a
 *   closed port, as Linux sends them); ICMP errors with TOS 0xc0 quoting up
 *   to 576 bytes. IPv6: a random flow label per socket; ICMPv6 errors
 *   quoting up to 1280 bytes.
 * - Ephemeral ports from 32768-60999 (even ones for TCP connect, as Linux
 *   prefers), never reused within a scenario.
 * Every random choice comes from one generator seeded by `seed:`, so the
 * same scenario always gives the same bytes.
 */
import { LinkType } from '../capture/types.js';
import { buildFrame, buildIpPacket, type IpSpec } from '../packet/encode.js';
import type { TcpOptionsSpec } from '../packet/tcp.js';
import { TcpFlag } from '../packet/types.js';
import { tcpFlagsString } from '../packet/describe.js';
import { Rng } from './rng.js';
import type {
  ConnRecord,
  ConnectStep,
  Endpoint,
  ListenRecord,
  PacketStep,
  PingStep,
  Scenario,
  Side,
  Step,
  StepRecord,
  SynthOutput,
  SynthPacket,
  TcpParams,
  UdpStep,
  UnreachableStep,
} from './types.js';
import { ScenarioError } from './types.js';

/**
 * What one scenario may generate. A scenario file is at most 1 MiB, but each
 * step may send up to 64 MiB, so without a bound on the whole a small file
 * could ask for terabytes. These are far beyond what a test needs, and keep
 * the generator (which holds every frame) well within memory.
 */
export const MAX_SCENARIO_PACKETS = 1_000_000;
export const MAX_SCENARIO_FRAME_BYTES = 256 * 1024 * 1024;

/** Time between one step's last packet and the next step's first (microseconds). */
export const STEP_GAP_US = 100;
/** Linux's minimum delayed-ACK timeout (microseconds). */
const DELACK_US = 40_000;
/** Linux's minimum retransmission timeout (microseconds), added to the RTT. */
const RTO_MIN_US = 200_000;
/** Initial RTO for a SYN (1 s). */
const SYN_RTO_US = 1_000_000;
/** Initial congestion window, segments (RFC 6928, Linux default). */
const INIT_CWND = 10;
/** Autotuned receive windows stop growing here (half of tcp_rmem's 6 MiB maximum). */
const MAX_AUTO_WINDOW = 3 * 1024 * 1024;
const EPHEMERAL_LO = 32768;
const EPHEMERAL_HI = 60999;
const TS_OPT_LEN = 12;

const F = TcpFlag;

/** Microseconds a frame occupies a 1 Gbit/s link (with preamble and inter-frame gap). */
function wireUs(frameLen: number): number {
  return Math.max(1, Math.ceil(((frameLen + 24) * 8) / 1000));
}

function u32(n: number): number {
  return n >>> 0;
}

/** Filler payload: lowercase letters, continuing across segments of one stream. */
function filler(offset: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = 0x61 + ((offset + i) % 26);
  return b;
}

/** UDP ports whose payload is made a well-formed DNS message (so dissectors see DNS, not garbage). */
const DNS_PORTS = new Set([53, 5353]);

/**
 * A DNS query (or a response without answers) of exactly n bytes: the
 * question's name is made as long as needed. Null when n is too small.
 */
function dnsMessage(n: number, id: number, response: boolean): Uint8Array | null {
  const nameLen = n - 16; // header 12, QTYPE + QCLASS 4
  if (nameLen < 1) return null;
  const b = new Uint8Array(n);
  const v = new DataView(b.buffer);
  v.setUint16(0, id);
  v.setUint16(2, response ? 0x8180 : 0x0100);
  v.setUint16(4, 1);
  let p = 12;
  let remaining = nameLen - 1; // bytes of labels before the root label
  let k = 0;
  while (remaining > 0) {
    let c = Math.min(64, remaining);
    if (remaining - c === 1) c = remaining - 2;
    if (c < 2) return null;
    b[p++] = c - 1;
    for (let i = 1; i < c; i++) b[p++] = 0x61 + (k++ % 26);
    remaining -= c;
  }
  b[p++] = 0;
  v.setUint16(p, 1); // A
  v.setUint16(p + 2, 1); // IN
  return b;
}

function epText(e: { host: string | null; addr: string; version: 4 | 6; port: number | null }): string {
  const a = e.version === 6 && e.port !== null ? `[${e.addr}]` : e.addr;
  const where = e.port === null ? a : `${a}:${e.port}`;
  return e.host !== null ? `${e.host} ${where}` : where;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function formatDuration(us: number): string {
  if (us % 3_600_000_000 === 0 && us > 0) return `${us / 3_600_000_000}h`;
  if (us % 60_000_000 === 0 && us > 0) return `${us / 60_000_000}m`;
  if (us % 1_000_000 === 0) return `${us / 1_000_000}s`;
  if (us % 1000 === 0) return `${us / 1000}ms`;
  return `${us}us`;
}

// ---------------------------------------------------------------------------
// Generator state

/** One end of a flow: a socket. */
interface End {
  ep: Endpoint & { port: number | null };
  mac: string;
  ipId: number;
  flowLabel: number;
}

interface TcpEnd extends End {
  isn: number;
  sndNxt: number;
  rcvNxt: number;
  tsOffset: number;
  tsRecent: number;
  /** Window-scale shift this end offered (null: none). */
  ws: number | null;
  /** MSS this end announced. */
  mss: number;
  /** Receive window in bytes, and how far autotuning may grow it (= rcvWnd when fixed). */
  rcvWnd: number;
  maxWnd: number;
  cwnd: number;
  /** Filler offset of the byte stream this end sends. */
  streamOff: number;
  /** The last segment that took sequence space (SYN, data, FIN), for retransmit. */
  last: { seq: number; flags: number; payload: Uint8Array } | null;
  finSent: boolean;
}

interface Flow {
  name: string | null;
  proto: 'tcp' | 'udp' | 'icmp' | 'icmpv6';
  client: End;
  server: End;
  rtt: number;
  /** TCP only. */
  tcp: { ts: boolean; sack: boolean; wsOk: boolean; client: TcpEnd; server: TcpEnd } | null;
  state: string;
  packets: number[];
  /** IP bytes (no link header) of its last packet, and of the last one each side sent. */
  lastIp: Uint8Array | null;
  lastSide: Side;
  lastBySide: { client: Uint8Array | null; server: Uint8Array | null };
  /** The latest of its largest packets (what a packet-too-big error quotes). */
  biggest: { ip: Uint8Array; side: Side } | null;
  step: number;
  /** DNS transaction id for DNS-port UDP flows. */
  dnsId: number;
}

interface Pending {
  t: number;
  ord: number;
  frame: Uint8Array;
  ip: Uint8Array;
  flow: Flow | null;
  side: Side | null;
}

/** Turns a checked scenario into packets. Deterministic: the same scenario gives the same bytes. */
/** Bounds on what generate() may produce (defaults MAX_SCENARIO_PACKETS, MAX_SCENARIO_FRAME_BYTES); tests lower them. */
export interface GenerateLimits {
  packets?: number;
  frameBytes?: number;
}

export function generate(scenario: Scenario, limits: GenerateLimits = {}): SynthOutput {
  return new Generator(scenario, limits.packets ?? MAX_SCENARIO_PACKETS, limits.frameBytes ?? MAX_SCENARIO_FRAME_BYTES).run();
}

class Generator {
  private readonly rng: Rng;
  private readonly linkType: number;
  private readonly packets: SynthPacket[] = [];
  private readonly records: StepRecord[] = [];
  private readonly flows = new Map<string, Flow>();
  private readonly listening: ListenRecord[] = [];
  private readonly macs = new Map<string, string>();
  private readonly usedPorts = new Map<string, Set<number>>();
  private nextMac = 1;
  /** Time of the last packet so far (us from start), or -1 before the first. */
  private lastT = -1;
  private pendingWait = 0;
  private pending: Pending[] = [];
  private ord = 0;
  private step!: Step;
  /** Frames generated so far (sent and pending), and their bytes: bounded by MAX_SCENARIO_*. */
  private frameCount = 0;
  private frameBytes = 0;

  constructor(
    private readonly sc: Scenario,
    private readonly maxPackets: number,
    private readonly maxFrameBytes: number,
  ) {
    this.rng = new Rng(sc.options.seed);
    this.linkType = sc.options.link === 'raw' ? LinkType.RAW : LinkType.ETHERNET;
    for (const h of sc.hosts) {
      const mac = this.macFor();
      for (const a of h.addrs) this.macs.set(a, mac);
    }
    this.reserveFixedPorts();
  }

  run(): SynthOutput {
    for (const step of this.sc.steps) {
      this.step = step;
      const summary = this.runStep(step);
      const numbers = this.flush();
      this.records.push({ index: step.index, name: step.name, kind: step.kind, pos: step.pos, packets: numbers, summary });
    }
    const conns = new Map<string, ConnRecord>();
    for (const [name, f] of this.flows) {
      conns.set(name, {
        name,
        proto: f.proto,
        client: { host: f.client.ep.host, addr: f.client.ep.addr, port: f.client.ep.port },
        server: { host: f.server.ep.host, addr: f.server.ep.addr, port: f.server.ep.port },
        packets: f.packets,
        step: f.step,
        state: f.state,
      });
    }
    return { scenario: this.sc, linkType: this.linkType, packets: this.packets, steps: this.records, conns, listening: this.listening };
  }

  // --- infrastructure ----------------------------------------------------------

  /** The next locally administered MAC: 02:00:00:00:00:01, :02, ... (hosts in file order, then other addresses as met). */
  private macFor(): string {
    const i = this.nextMac++;
    return `02:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
  }

  private mac(addr: string): string {
    let m = this.macs.get(addr);
    if (m === undefined) {
      m = this.macFor();
      this.macs.set(addr, m);
    }
    return m;
  }

  private ports(addr: string): Set<number> {
    let s = this.usedPorts.get(addr);
    if (!s) {
      s = new Set();
      this.usedPorts.set(addr, s);
    }
    return s;
  }

  /** Ports written in the scenario are never handed out as ephemeral ones. */
  private reserveFixedPorts(): void {
    const add = (e: Endpoint | null, port: number | null = e?.port ?? null) => {
      if (e && port !== null) this.ports(e.addr).add(port);
    };
    for (const s of this.sc.steps) {
      if (s.kind === 'listen') s.sockets.forEach((e) => add(e));
      else if (s.kind === 'connect' || s.kind === 'ping') {
        add(s.client);
        add(s.server);
      } else if (s.kind === 'udp') {
        add(s.client);
        add(s.server);
      } else if (s.kind === 'packet') {
        add(s.src, s.sport);
        add(s.dst, s.dport);
      }
    }
  }

  private ephemeral(addr: string, even: boolean): number {
    const used = this.ports(addr);
    const span = EPHEMERAL_HI - EPHEMERAL_LO + 1;
    let p = EPHEMERAL_LO + (this.rng.u32() % span);
    if (even) p &= ~1;
    for (let i = 0; i < span; i++) {
      if (p >= EPHEMERAL_LO && p <= EPHEMERAL_HI && !used.has(p)) {
        used.add(p);
        return p;
      }
      p += even ? 2 : 1;
      if (p > EPHEMERAL_HI) p = EPHEMERAL_LO;
    }
    throw new Error(`no free ephemeral port left on ${addr}`);
  }

  /** When this step's first packet goes out. */
  private begin(): number {
    const t = this.lastT < 0 ? this.pendingWait : this.lastT + (this.pendingWait > 0 ? this.pendingWait : STEP_GAP_US);
    this.pendingWait = 0;
    return t;
  }

  private rttOf(f: Flow | null): number {
    return this.step.rtt ?? f?.rtt ?? this.sc.options.rtt;
  }

  private half(f: Flow | null): number {
    return Math.max(1, Math.round(this.rttOf(f) / 2));
  }

  private newEnd(ep: Endpoint, port: number | null): End {
    return {
      ep: { ...ep, port },
      mac: this.mac(ep.addr),
      ipId: this.rng.u16(),
      flowLabel: (this.rng.u32() & 0xfffff) || 1,
    };
  }

  /** Queues one IP packet seen at time t; returns its IP bytes. */
  private emit(
    t: number,
    from: End,
    to: End | { ep: Endpoint; mac: string },
    l4: Pick<Parameters<typeof buildIpPacket>[0], 'tcp' | 'udp' | 'icmp' | 'icmpv6' | 'payload'>,
    ip: Partial<IpSpec>,
    flow: Flow | null,
    side: Side | null,
  ): Uint8Array {
    const v6 = from.ep.version === 6;
    const spec: IpSpec = { src: from.ep.addr, dst: to.ep.addr, ttl: this.sc.options.ttl, ...ip };
    if (v6) {
      spec.id = undefined;
      spec.df = undefined;
    }
    const bytes = buildIpPacket({ ip: spec, ...l4 });
    const frame =
      this.linkType === LinkType.RAW ? bytes : buildFrame(v6 ? 0x86dd : 0x0800, bytes, { link: 'ethernet', srcMac: from.mac, dstMac: to.mac });
    this.pending.push({ t, ord: this.ord++, frame, ip: bytes, flow, side });
    this.frameCount++;
    this.frameBytes += frame.length;
    if (this.frameCount > this.maxPackets || this.frameBytes > this.maxFrameBytes) this.tooMuchTraffic();
    return bytes;
  }

  /** Cold: the scenario asks for more traffic than any test needs (or memory holds). */
  private tooMuchTraffic(): never {
    const { pos, index, kind } = this.step;
    const mib = (n: number) => `${Math.round(n / (1024 * 1024))} MiB`;
    throw new ScenarioError(pos.file, [
      {
        ...pos,
        severity: 'error',
        message:
          `step #${index} (${kind}) takes the scenario past what one scenario may generate ` +
          `(${this.maxPackets} packets, ${mib(this.maxFrameBytes)} of frames; ${this.frameCount} packets, ${mib(this.frameBytes)} so far); ` +
          'send less, or use a capture for bulk traffic',
      },
    ]);
  }

  private nextId(e: End): number {
    const id = e.ipId;
    e.ipId = (e.ipId + 1) & 0xffff;
    return id;
  }

  /** Sorts this step's packets by time, numbers them, and records them with their flows. */
  private flush(): number[] {
    const ps = this.pending.sort((a, b) => a.t - b.t || a.ord - b.ord);
    this.pending = [];
    const numbers: number[] = [];
    const { sec, usec } = this.sc.start;
    for (const p of ps) {
      const n = this.packets.length + 1;
      const total = usec + p.t;
      this.packets.push({
        tsSec: sec + Math.floor(total / 1e6),
        tsNsec: (total % 1e6) * 1000,
        data: p.frame,
        linkType: this.linkType,
        step: this.step.index,
        flow: p.flow?.name ?? null,
      });
      numbers.push(n);
      if (p.flow && p.side) {
        p.flow.packets.push(n);
        p.flow.lastIp = p.ip;
        p.flow.lastSide = p.side;
        p.flow.lastBySide[p.side] = p.ip;
        if (p.ip.length >= (p.flow.biggest?.ip.length ?? 0)) p.flow.biggest = { ip: p.ip, side: p.side };
      }
      this.lastT = p.t;
    }
    return numbers;
  }

  private flowByName(name: string): Flow {
    const f = this.flows.get(name);
    if (!f) throw new Error(`internal: flow ${name} unknown (the scenario checker should have caught this)`);
    return f;
  }

  private register(f: Flow): Flow {
    if (f.name !== null) this.flows.set(f.name, f);
    return f;
  }

  // --- steps ------------------------------------------------------------------------

  private runStep(s: Step): string {
    switch (s.kind) {
      case 'listen':
        for (const e of s.sockets) this.listening.push({ host: e.host, addr: e.addr, port: e.port!, step: s.index });
        return `listen ${s.sockets.map((e) => epText(e)).join(', ')}`;
      case 'wait':
        this.pendingWait += s.duration;
        return `wait ${formatDuration(s.duration)}`;
      case 'connect':
        return this.connect(s);
      case 'send': {
        const f = this.flowByName(s.conn);
        const { S, R } = this.sides(f, s.from);
        const n = this.sendData(f, S, R, this.begin(), s.data, s.bytes);
        return `send ${s.conn}: ${s.from} -> ${s.from === 'client' ? 'server' : 'client'}, ${plural(s.bytes, 'byte')} in ${plural(n, 'segment')}`;
      }
      case 'close':
        return this.close(this.flowByName(s.conn), s.from, s.half);
      case 'reset':
        return this.reset(this.flowByName(s.conn), s.from);
      case 'retransmit':
        return this.retransmit(this.flowByName(s.conn), s.from, s.ack);
      case 'packet':
        return this.rawPacket(s);
      case 'udp':
        return this.udp(s);
      case 'unreachable':
        return this.unreachable(s);
      case 'ping':
        return this.ping(s);
    }
  }

  private sides(f: Flow, from: Side): { S: TcpEnd; R: TcpEnd } {
    const t = f.tcp!;
    return from === 'client' ? { S: t.client, R: t.server } : { S: t.server, R: t.client };
  }

  // --- TCP --------------------------------------------------------------------------

  private mssFor(version: 4 | 6, p: TcpParams): number {
    return p.mss ?? this.sc.options.mtu - (version === 6 ? 60 : 40);
  }

  private newTcpEnd(ep: Endpoint, port: number, p: TcpParams, synAck: boolean): TcpEnd {
    const e = this.newEnd(ep, port);
    const mss = this.mssFor(ep.version, p);
    // Linux: the SYN's window is the largest multiple of the MSS that fits 65535
    // (the SYN/ACK's uses the MSS less the timestamp option).
    const unit = synAck && p.timestamps ? mss - TS_OPT_LEN : mss;
    const auto = Math.max(unit, Math.floor(65535 / unit) * unit);
    const rcvWnd = p.window ?? auto;
    const cap = p.wscale === null ? 65535 : 65535 * 2 ** p.wscale;
    const maxWnd = Math.min(cap, p.window ?? Math.max(MAX_AUTO_WINDOW, rcvWnd));
    const isn = this.rng.u32();
    return {
      ...e,
      isn,
      sndNxt: isn,
      rcvNxt: 0,
      tsOffset: this.rng.u32(),
      tsRecent: 0,
      ws: p.wscale,
      mss,
      rcvWnd: Math.min(rcvWnd, cap),
      maxWnd,
      cwnd: 0,
      streamOff: 0,
      last: null,
      finSent: false,
    };
  }

  private tsval(e: TcpEnd, t: number): number {
    return u32(e.tsOffset + Math.floor(t / 1000));
  }

  /** The window field `e` puts in a segment. */
  private windowField(f: Flow, e: TcpEnd, syn: boolean): number {
    if (syn) return Math.min(e.rcvWnd, 65535);
    if (f.tcp!.wsOk) return Math.min(65535, Math.ceil(e.rcvWnd / 2 ** e.ws!));
    return Math.min(65535, e.rcvWnd);
  }

  /** The receive window `e` last advertised, in bytes. */
  private windowBytes(f: Flow, e: TcpEnd): number {
    return this.windowField(f, e, false) * (f.tcp!.wsOk ? 2 ** e.ws! : 1);
  }

  private side(f: Flow, e: End): Side {
    return e === f.client ? 'client' : 'server';
  }

  /** Queues a TCP segment from S to R. Options: SYN ones on SYNs, else timestamps (and SACK blocks). */
  private seg(
    f: Flow,
    S: TcpEnd,
    R: TcpEnd,
    t: number,
    o: {
      flags: number;
      seq?: number;
      ack?: number;
      payload?: Uint8Array;
      tsecr?: number;
      ipId?: number;
      window?: number;
      noOptions?: boolean;
      options?: TcpOptionsSpec;
      sack?: Array<[number, number]>;
      flowLabel?: number;
      /** IP header overrides (raw packets). */
      ip?: Partial<IpSpec>;
    },
  ): number {
    const tc = f.tcp!;
    const syn = (o.flags & F.SYN) !== 0;
    const tsv = this.tsval(S, t);
    let options: TcpOptionsSpec | undefined = o.options;
    if (!options && !o.noOptions) {
      options = {};
      const tsecr = o.tsecr ?? ((o.flags & F.ACK) !== 0 ? S.tsRecent : 0);
      if (syn) {
        options.mss = S.mss;
        if (tc.sack) options.sackPermitted = true;
        if (tc.ts) options.timestamps = [tsv, tsecr];
        if (S.ws !== null) options.wscale = S.ws;
      } else {
        if (tc.ts) options.timestamps = [tsv, tsecr];
        if (o.sack && tc.sack) options.sack = o.sack;
      }
    }
    if (tc.ts && options?.timestamps) R.tsRecent = options.timestamps[0];
    const hasAck = (o.flags & F.ACK) !== 0;
    this.emit(
      t,
      S,
      R,
      {
        tcp: {
          sport: S.ep.port!,
          dport: R.ep.port!,
          seq: u32(o.seq ?? S.sndNxt),
          ack: u32(o.ack ?? (hasAck ? S.rcvNxt : 0)),
          flags: o.flags,
          window: o.window ?? this.windowField(f, S, syn),
          options,
          payload: o.payload,
        },
      },
      { df: true, id: o.ipId ?? this.nextId(S), flowLabel: o.flowLabel ?? S.flowLabel, ...o.ip },
      f,
      this.side(f, S),
    );
    return tsv;
  }

  private connect(s: ConnectStep): string {
    const client = s.client;
    const cport = client.port ?? this.ephemeral(client.addr, true);
    const sport = s.server.port!;
    const c = this.newTcpEnd(client, cport, s.tcp, false);
    const sv = this.newTcpEnd(s.server, sport, s.tcp, !s.simultaneous);
    const f = this.register({
      name: s.name,
      proto: 'tcp',
      client: c,
      server: sv,
      rtt: s.rtt ?? this.sc.options.rtt,
      tcp: { ts: s.tcp.timestamps, sack: s.tcp.sack, wsOk: s.tcp.wscale !== null, client: c, server: sv },
      state: 'syn-sent',
      packets: [],
      lastIp: null,
      lastSide: 'client',
      lastBySide: { client: null, server: null },
      biggest: null,
      step: s.index,
      dnsId: 0,
    });
    const cw = Math.max(c.mss - (s.tcp.timestamps ? TS_OPT_LEN : 0), 1);
    c.cwnd = INIT_CWND * cw;
    sv.cwnd = INIT_CWND * cw;
    const h = this.half(f);
    const t0 = this.begin();
    const title = `connect ${epText(c.ep)} -> ${epText(sv.ep)}`;

    // SYN
    this.seg(f, c, sv, t0, { flags: F.SYN, seq: c.isn, ack: 0 });
    c.last = { seq: c.isn, flags: F.SYN, payload: new Uint8Array(0) };
    c.sndNxt = u32(c.isn + 1);

    if (s.simultaneous) {
      const t1 = t0 + 1;
      this.seg(f, sv, c, t1, { flags: F.SYN, seq: sv.isn, ack: 0, tsecr: 0 });
      sv.last = { seq: sv.isn, flags: F.SYN, payload: new Uint8Array(0) };
      sv.sndNxt = u32(sv.isn + 1);
      sv.rcvNxt = u32(c.isn + 1);
      c.rcvNxt = u32(sv.isn + 1);
      // Each end answers the other's SYN with a SYN/ACK (same ISN), then ACKs the peer's SYN/ACK.
      this.seg(f, sv, c, t0 + h, { flags: F.SYN | F.ACK, seq: sv.isn, ack: sv.rcvNxt });
      this.seg(f, c, sv, t1 + h, { flags: F.SYN | F.ACK, seq: c.isn, ack: c.rcvNxt });
      this.seg(f, c, sv, t0 + 2 * h, { flags: F.ACK });
      this.seg(f, sv, c, t1 + 2 * h, { flags: F.ACK });
      f.state = 'established';
      return `${title}: simultaneous open (both send SYN)`;
    }

    if (s.answer === 'reset') {
      // A closed port: Linux answers RST/ACK, seq 0, ack ISN+1, window 0, no options, IP id 0.
      this.seg(f, sv, c, t0 + h, { flags: F.RST | F.ACK, seq: 0, ack: u32(c.isn + 1), window: 0, noOptions: true, ipId: 0, flowLabel: 0 });
      f.state = 'refused';
      return `${title}: refused (RST/ACK; nothing listens there)`;
    }

    if (s.answer === 'none') {
      let t = t0;
      let rto = SYN_RTO_US;
      for (let i = 0; i < s.retries; i++) {
        t += rto;
        rto *= 2;
        this.seg(f, c, sv, t, { flags: F.SYN, seq: c.isn, ack: 0 });
      }
      return `${title}: SYN unanswered${s.retries > 0 ? ` (${plural(s.retries, 'retransmission')})` : ''}`;
    }

    // SYN/ACK from the listener (IP id 0), then the client's ACK.
    sv.rcvNxt = u32(c.isn + 1);
    this.seg(f, sv, c, t0 + h, { flags: F.SYN | F.ACK, seq: sv.isn, ack: sv.rcvNxt, ipId: 0 });
    sv.last = { seq: sv.isn, flags: F.SYN | F.ACK, payload: new Uint8Array(0) };
    sv.sndNxt = u32(sv.isn + 1);
    c.rcvNxt = u32(sv.isn + 1);
    this.seg(f, c, sv, t0 + 2 * h, { flags: F.ACK });
    f.state = 'established';
    return `${title}: handshake`;
  }

  /** Sends `total` bytes from S to R; returns the number of data segments. */
  private sendData(f: Flow, S: TcpEnd, R: TcpEnd, t0: number, data: Uint8Array | null, total: number): number {
    const tc = f.tcp!;
    const h = this.half(f);
    const segMax = Math.max(1, Math.min(S.mss, R.mss) - (tc.ts ? TS_OPT_LEN : 0));
    const startSeq = S.sndNxt;
    let sent = 0;
    let acked = 0;
    let rwnd = this.windowBytes(f, R);
    let lastTx = -Infinity;
    let lastLen = 0;
    let lastAckT = -Infinity;
    let unacked = 0;
    let segments = 0;
    // TSecr: the sender echoes the latest ACK it has received; the receiver
    // echoes the first segment since its previous ACK (RFC 7323, as Linux).
    let senderEcho = S.tsRecent;
    let receiverEcho = 0;
    const queue: { time: number; ackedTo: number; rwnd: number; tsval: number }[] = [];

    const ackNow = (at: number) => {
      const when = Math.max(at, lastAckT + 1);
      const tsval = this.seg(f, R, S, when, { flags: F.ACK, ack: u32(startSeq + sent), tsecr: receiverEcho });
      R.rcvNxt = u32(startSeq + sent);
      lastAckT = when;
      unacked = 0;
      queue.push({ time: when + h, ackedTo: sent, rwnd: this.windowBytes(f, R), tsval });
    };

    const trySend = (now: number) => {
      while (sent < total) {
        const inflight = sent - acked;
        // Never fill the receiver's window exactly (strictly inside it), nor exceed cwnd.
        const room = Math.min(S.cwnd, rwnd - 1) - inflight;
        let len = Math.min(segMax, total - sent);
        if (room < len) {
          if (inflight > 0 || room < 1) break;
          len = room;
        }
        const tx = Math.max(now, lastTx + wireUs(lastLen));
        const payload = data ? data.subarray(sent, sent + len) : filler(S.streamOff, len);
        const last = sent + len === total;
        const flags = last ? F.PSH | F.ACK : F.ACK;
        const seq = S.sndNxt;
        const tsval = this.seg(f, S, R, tx, { flags, seq, payload, tsecr: senderEcho });
        if (unacked === 0) receiverEcho = tsval;
        S.last = { seq, flags, payload };
        S.sndNxt = u32(S.sndNxt + len);
        S.streamOff += len;
        sent += len;
        segments++;
        lastTx = tx;
        lastLen = 14 + (S.ep.version === 6 ? 40 : 20) + 20 + (tc.ts ? TS_OPT_LEN : 0) + len;
        if (R.rcvWnd < R.maxWnd) R.rcvWnd = Math.min(R.maxWnd, R.rcvWnd + len);
        unacked++;
        if (unacked >= 2 || last) ackNow(tx + h);
      }
    };

    trySend(t0);
    for (;;) {
      const ev = queue.shift();
      if (ev === undefined) {
        if (sent >= total) break;
        // Stalled with a single unacknowledged segment: the delayed-ACK timer fires.
        if (unacked > 0) {
          ackNow(lastTx + DELACK_US);
          continue;
        }
        throw new Error('internal: TCP send stalled');
      }
      S.cwnd += ev.ackedTo - acked;
      acked = ev.ackedTo;
      rwnd = ev.rwnd;
      senderEcho = ev.tsval;
      trySend(ev.time);
    }
    return segments;
  }

  private close(f: Flow, from: Side, half: boolean): string {
    const { S: X, R: Y } = this.sides(f, from);
    const h = this.half(f);
    const t0 = this.begin();
    const fin = X.sndNxt;
    this.seg(f, X, Y, t0, { flags: F.FIN | F.ACK });
    X.last = { seq: fin, flags: F.FIN | F.ACK, payload: new Uint8Array(0) };
    X.sndNxt = u32(fin + 1);
    X.finSent = true;
    Y.rcvNxt = u32(fin + 1);
    const other = from === 'client' ? 'server' : 'client';
    if (Y.finSent || half) {
      this.seg(f, Y, X, t0 + h, { flags: F.ACK });
      f.state = Y.finSent ? 'closed' : 'half-closed';
      return `close ${f.name} from the ${from}: FIN, ACK${Y.finSent ? ' (both sides closed)' : ` (half close; the ${other} may still send)`}`;
    }
    const yfin = Y.sndNxt;
    this.seg(f, Y, X, t0 + h, { flags: F.FIN | F.ACK });
    Y.last = { seq: yfin, flags: F.FIN | F.ACK, payload: new Uint8Array(0) };
    Y.sndNxt = u32(yfin + 1);
    Y.finSent = true;
    X.rcvNxt = u32(yfin + 1);
    this.seg(f, X, Y, t0 + 2 * h, { flags: F.ACK });
    f.state = 'closed';
    return `close ${f.name} from the ${from}: FIN, FIN/ACK, ACK`;
  }

  private reset(f: Flow, from: Side): string {
    const { S: X, R: Y } = this.sides(f, from);
    this.seg(f, X, Y, this.begin(), { flags: F.RST | F.ACK });
    f.state = 'reset';
    return `reset ${f.name} from the ${from}: RST/ACK`;
  }

  private retransmit(f: Flow, from: Side, answer: boolean): string {
    const { S: X, R: Y } = this.sides(f, from);
    const last = X.last!;
    const syn = (last.flags & F.SYN) !== 0;
    const t = this.begin() + (syn ? SYN_RTO_US : RTO_MIN_US + this.rttOf(f));
    this.seg(f, X, Y, t, { flags: last.flags, seq: last.seq, ack: (last.flags & F.ACK) !== 0 ? X.rcvNxt : 0, payload: last.payload });
    const what =
      last.payload.length > 0
        ? `${plural(last.payload.length, 'byte')} at seq ${last.seq}`
        : (last.flags & F.SYN) !== 0
          ? (last.flags & F.ACK) !== 0 ? 'SYN/ACK' : 'SYN'
          : 'FIN';
    const peerUp = f.state !== 'refused' && f.state !== 'syn-sent';
    if (answer && peerUp) {
      const len = last.payload.length;
      const sack: Array<[number, number]> | undefined = len > 0 ? [[last.seq, u32(last.seq + len)]] : undefined;
      this.seg(f, Y, X, t + this.half(f), { flags: F.ACK, sack });
      return `retransmit ${f.name} from the ${from}: ${what}, duplicate ACK${sack && f.tcp!.sack ? ' with D-SACK' : ''}`;
    }
    return `retransmit ${f.name} from the ${from}: ${what}`;
  }

  // --- raw packets --------------------------------------------------------------------

  private rawPacket(s: PacketStep): string {
    const t = this.begin();
    const ipExtra = (e: End): Partial<IpSpec> => ({
      ttl: s.ttl ?? this.sc.options.ttl,
      id: s.ipId ?? this.nextId(e),
      df: s.df ?? (s.proto === 'tcp' || s.proto === 'udp'),
    });
    const payload = s.data ?? (s.bytes > 0 ? filler(0, s.bytes) : undefined);
    if (s.conn !== null) {
      const f = this.flowByName(s.conn);
      if (f.tcp) {
        const { S, R } = this.sides(f, s.from);
        const flags = s.flags ?? (s.bytes > 0 ? F.PSH | F.ACK : F.ACK);
        const seq = s.seq === null ? S.sndNxt : s.seq.relative ? u32(S.sndNxt + s.seq.value) : s.seq.value;
        const hasAck = (flags & F.ACK) !== 0;
        const ack = s.ack === null ? (hasAck ? S.rcvNxt : 0) : s.ack.relative ? u32(S.rcvNxt + s.ack.value) : s.ack.value;
        const tsRecentBefore = R.tsRecent;
        this.seg(f, S, R, t, {
          flags,
          seq,
          ack,
          payload,
          window: s.window ?? undefined,
          options: s.options ?? undefined,
          ip: ipExtra(S),
        });
        R.tsRecent = tsRecentBefore; // an odd packet does not move the connection on
        return `packet on ${f.name} from the ${s.from}: TCP [${tcpFlagsString(flags)}] seq ${seq} ack ${ack}${payload ? `, ${plural(payload.length, 'byte')}` : ''}`;
      }
      const X = s.from === 'client' ? f.client : f.server;
      const Y = s.from === 'client' ? f.server : f.client;
      this.emit(t, X, Y, { udp: { sport: X.ep.port!, dport: Y.ep.port!, payload: payload ?? new Uint8Array(0) } }, ipExtra(X), f, s.from);
      return `packet on ${f.name} from the ${s.from}: UDP${payload ? `, ${plural(payload.length, 'byte')}` : ''}`;
    }
    const src = s.src!;
    const dst = s.dst!;
    const sport = s.sport ?? (s.proto === 'tcp' || s.proto === 'udp' ? this.ephemeral(src.addr, false) : null);
    const a = this.newEnd(src, sport);
    const b = { ep: { ...dst, port: s.dport }, mac: this.mac(dst.addr) };
    const ip = ipExtra(a);
    const title = `packet ${epText(a.ep)} -> ${epText(b.ep)}`;
    if (s.proto === 'tcp') {
      const flags = s.flags ?? F.SYN;
      const seq = s.seq?.value ?? this.rng.u32();
      const ack = s.ack?.value ?? ((flags & F.ACK) !== 0 ? this.rng.u32() : 0);
      this.emit(
        t,
        a,
        b,
        {
          tcp: {
            sport: sport!,
            dport: s.dport!,
            seq,
            ack,
            flags,
            window: s.window ?? 64240,
            options: s.options ?? undefined,
            payload,
          },
        },
        ip,
        null,
        null,
      );
      return `${title}: TCP [${tcpFlagsString(flags)}] seq ${seq}${(flags & F.ACK) !== 0 ? ` ack ${ack}` : ''}${payload ? `, ${plural(payload.length, 'byte')}` : ''}`;
    }
    if (s.proto === 'udp') {
      this.emit(t, a, b, { udp: { sport: sport!, dport: s.dport!, payload: payload ?? new Uint8Array(0) } }, ip, null, null);
      return `${title}: UDP, ${plural(payload?.length ?? 0, 'byte')}`;
    }
    if (s.proto === 'icmp' || s.proto === 'icmpv6') {
      const icmp = { type: s.icmpType!, code: s.icmpCode ?? 0, id: s.ident ?? this.rng.u16(), seq: s.icmpSeq ?? 1, payload };
      this.emit(t, a, b, s.proto === 'icmp' ? { icmp } : { icmpv6: icmp }, ip, null, null);
      return `${title}: ${s.proto.toUpperCase()} type ${icmp.type} code ${icmp.code}`;
    }
    this.emit(t, a, b, { payload: payload ?? new Uint8Array(0) }, { ...ip, proto: s.proto }, null, null);
    return `${title}: IP protocol ${s.proto}, ${plural(payload?.length ?? 0, 'byte')}`;
  }

  // --- UDP, ICMP ---------------------------------------------------------------------------

  private udp(s: UdpStep): string {
    let f: Flow;
    if (s.conn !== null) f = this.flowByName(s.conn);
    else {
      const cport = s.client!.port ?? this.ephemeral(s.client!.addr, false);
      f = this.register({
        name: s.name,
        proto: 'udp',
        client: this.newEnd(s.client!, cport),
        server: this.newEnd(s.server!, s.server!.port),
        rtt: s.rtt ?? this.sc.options.rtt,
        tcp: null,
        state: 'open',
        packets: [],
        lastIp: null,
        lastSide: 'client',
        lastBySide: { client: null, server: null },
        biggest: null,
        step: s.index,
        dnsId: this.rng.u16(),
      });
    }
    const X = s.from === 'client' ? f.client : f.server;
    const Y = s.from === 'client' ? f.server : f.client;
    const other: Side = s.from === 'client' ? 'server' : 'client';
    const t0 = this.begin();
    const dns = DNS_PORTS.has(X.ep.port!) || DNS_PORTS.has(Y.ep.port!);
    // DNS ports get DNS-shaped payloads: the client asks, the server answers.
    const body = (n: number, fromServer: boolean) => (dns ? dnsMessage(n, f.dnsId, fromServer) : null) ?? filler(0, n);
    const payload = s.data ?? body(s.bytes, s.from === 'server');
    this.emit(t0, X, Y, { udp: { sport: X.ep.port!, dport: Y.ep.port!, payload } }, { df: true, id: this.nextId(X), flowLabel: X.flowLabel }, f, s.from);
    if (s.reply !== null) {
      const reply = body(s.reply, s.from === 'client');
      this.emit(t0 + this.half(f), Y, X, { udp: { sport: Y.ep.port!, dport: X.ep.port!, payload: reply } }, { df: true, id: this.nextId(Y), flowLabel: Y.flowLabel }, f, other);
    }
    const head = s.conn !== null ? `udp ${f.name} from the ${s.from}` : `udp ${epText(X.ep)} -> ${epText(Y.ep)}`;
    return `${head}: ${plural(payload.length, 'byte')}${s.reply !== null ? `, reply ${plural(s.reply, 'byte')}` : ''}`;
  }

  private unreachable(s: UnreachableStep): string {
    const f = this.flowByName(s.about);
    // Too big: the latest of the flow's largest packets (if it is over the MTU); else its last packet.
    const tooBig = (s.code === 'packet-too-big' || s.code === 'frag-needed') && s.side === null && f.biggest !== null && f.biggest.ip.length > s.mtu;
    const quote = tooBig ? f.biggest!.ip : s.side ? f.lastBySide[s.side] : f.lastIp;
    const senderSide: Side = tooBig ? f.biggest!.side : s.side ?? f.lastSide;
    if (!quote) throw new Error(`internal: ${s.about} has no packet from the ${senderSide} to quote`);
    const orig = senderSide === 'client' ? f.client : f.server;
    const recv = senderSide === 'client' ? f.server : f.client;
    const v6 = orig.ep.version === 6;
    const fromEnd: End = s.from ? this.newEnd(s.from, null) : recv;
    let type: number;
    let code = 0;
    let mtu: number | undefined;
    const c = s.code;
    if (!v6) {
      const codes: Record<string, number> = { net: 0, host: 1, protocol: 2, port: 3, 'frag-needed': 4, 'packet-too-big': 4, 'net-prohibited': 9, 'host-prohibited': 10, admin: 13 };
      if (c === 'time-exceeded') type = 11;
      else {
        type = 3;
        code = codes[c];
        if (code === 4) mtu = s.mtu;
      }
    } else if (c === 'time-exceeded') type = 3;
    else if (c === 'packet-too-big' || c === 'frag-needed') {
      type = 2;
      mtu = s.mtu;
    } else {
      const codes: Record<string, number> = { net: 0, admin: 1, 'net-prohibited': 1, 'host-prohibited': 1, host: 3, port: 4 };
      type = 1;
      code = codes[c];
    }
    const icmp = { type, code, mtu, quote, quoteLen: v6 ? undefined : Math.min(quote.length, 576 - 20 - 8) };
    const t = this.begin();
    this.emit(t, fromEnd, orig, v6 ? { icmpv6: icmp } : { icmp }, { df: false, id: this.rng.u16(), tos: v6 ? 0 : 0xc0, flowLabel: 0 }, null, null);
    const name = v6 ? `ICMPv6 ${type === 1 ? 'destination unreachable' : type === 2 ? 'packet too big' : 'time exceeded'}` : `ICMP ${type === 3 ? 'destination unreachable' : 'time exceeded'}`;
    return `unreachable about ${f.name}: ${name} (${c}) from ${epText({ ...fromEnd.ep, port: null })} to ${epText({ ...orig.ep, port: null })}`;
  }

  private ping(s: PingStep): string {
    const v6 = s.client.version === 6;
    const f = this.register({
      name: s.name,
      proto: v6 ? 'icmpv6' : 'icmp',
      client: this.newEnd(s.client, null),
      server: this.newEnd(s.server, null),
      rtt: s.rtt ?? this.sc.options.rtt,
      tcp: null,
      state: 'open',
      packets: [],
      lastIp: null,
      lastSide: 'client',
      lastBySide: { client: null, server: null },
      biggest: null,
      step: s.index,
      dnsId: 0,
    });
    const ident = s.ident ?? this.rng.u16();
    const h = this.half(f);
    const t0 = this.begin();
    for (let i = 0; i < s.count; i++) {
      const t = t0 + i * s.interval;
      const data = this.pingData(t, s.bytes);
      const req = { type: v6 ? 128 : 8, code: 0, id: ident, seq: i + 1, payload: data };
      this.emit(t, f.client, f.server, v6 ? { icmpv6: req } : { icmp: req }, { df: true, id: this.nextId(f.client), flowLabel: f.client.flowLabel }, f, 'client');
      if (s.reply) {
        const rep = { ...req, type: v6 ? 129 : 0 };
        this.emit(t + h, f.server, f.client, v6 ? { icmpv6: rep } : { icmp: rep }, { df: false, id: this.nextId(f.server), flowLabel: f.server.flowLabel }, f, 'server');
      }
    }
    return `ping ${epText({ ...s.client, port: null })} -> ${epText({ ...s.server, port: null })}: ${plural(s.count, 'echo request')}${s.reply ? ', answered' : ', unanswered'}`;
  }

  /** Echo data as Linux ping sends it: a struct timeval (when it fits), then bytes counting up. */
  private pingData(t: number, n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = i & 0xff;
    if (n >= 16) {
      const total = this.sc.start.usec + t;
      const sec = this.sc.start.sec + Math.floor(total / 1e6);
      const usec = total % 1e6;
      const v = new DataView(b.buffer);
      v.setBigUint64(0, BigInt(sec), true);
      v.setBigUint64(8, BigInt(usec), true);
    }
    return b;
  }
}

/**
 * Packet numbers for a name or step: a connection/flow name gives every
 * packet of that flow, another `as:` name or a 1-based step index the
 * packets that step produced. Null when nothing has that name or index.
 */
export function packetsFor(out: SynthOutput, ref: string | number): number[] | null {
  if (typeof ref === 'number') return out.steps[ref - 1]?.packets ?? null;
  const c = out.conns.get(ref);
  if (c) return c.packets;
  const s = out.steps.find((r) => r.name === ref);
  return s ? s.packets : null;
}
