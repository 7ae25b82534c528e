/**
 * The generator's shared state and its one way out: the scenario, the
 * random generator, addresses (MACs, ephemeral ports), the timeline, the
 * flows by name, and emit(), which queues each packet with its flow until
 * flush() puts a step's packets in time order and numbers them.
 */
import { LinkType } from '../../capture/types.js';
import { buildFrame, buildIpPacket, type IpSpec } from '../../packet/encode.js';
import { Rng } from '../rng.js';
import type { Endpoint, ListenRecord, Scenario, Side, Step, SynthPacket } from '../types.js';
import { ScenarioError } from '../types.js';
import type { End, Flow } from './flow.js';

type L4 = Pick<Parameters<typeof buildIpPacket>[0], 'tcp' | 'udp' | 'icmp' | 'icmpv6' | 'payload'>;

/** Whether NAT on the firewall rewrites a packet from `from` to `to`. */
function translated(from: End, to: Pick<End, 'ep' | 'dst'>): boolean {
  return (
    from.dst.addr !== from.ep.addr ||
    from.dst.port !== from.ep.port ||
    to.dst.addr !== to.ep.addr ||
    to.dst.port !== to.ep.port
  );
}

/**
 * The transport header as the firewall's NAT rewrites it: the sender as its
 * peer sees it, the receiver's real socket. An echo id is a port: the
 * request's id is its sender's, the reply's its receiver's.
 */
function receivedL4(l4: L4, from: End, to: Pick<End, 'ep' | 'dst'>): L4 {
  if (l4.tcp) return { ...l4, tcp: { ...l4.tcp, sport: from.dst.port!, dport: to.ep.port! } };
  if (l4.udp) return { ...l4, udp: { ...l4.udp, sport: from.dst.port!, dport: to.ep.port! } };
  const echo = l4.icmp ?? l4.icmpv6;
  if (echo === undefined || echo.id === undefined) return l4;
  const request = echo.type === 8 || echo.type === 128;
  const id = (request ? from.dst.port : to.ep.port) ?? echo.id;
  return l4.icmp ? { ...l4, icmp: { ...echo, id } } : { ...l4, icmpv6: { ...echo, id } };
}

/** Time between one step's last packet and the next step's first (microseconds). */
export const STEP_GAP_US = 100;
const EPHEMERAL_LO = 32768;
const EPHEMERAL_HI = 60999;

interface Pending {
  t: number;
  ord: number;
  frame: Uint8Array;
  /** The packet as its receiver gets it (translated by the firewall's NAT; else as captured). */
  ip: Uint8Array;
  flow: Flow | null;
  side: Side | null;
}

export class Emitter {
  readonly rng: Rng;
  readonly linkType: number;
  readonly packets: SynthPacket[] = [];
  readonly flows = new Map<string, Flow>();
  readonly listening: ListenRecord[] = [];
  private readonly macs = new Map<string, string>();
  private readonly usedPorts = new Map<string, Set<number>>();
  private nextMac = 1;
  /** Time of the last packet so far (us from start), or -1 before the first. */
  private lastT = -1;
  pendingWait = 0;
  private pending: Pending[] = [];
  private ord = 0;
  step!: Step;
  /** Frames generated so far (sent and pending), and their bytes: bounded by MAX_SCENARIO_*. */
  private frameCount = 0;
  private frameBytes = 0;

  constructor(
    readonly sc: Scenario,
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

  private macFor(): string {
    const i = this.nextMac++;
    return `02:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
  }

  mac(addr: string): string {
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
      else if (s.kind === 'connect' || s.kind === 'ping' || s.kind === 'udp') {
        add(s.client);
        add(s.server);
        if (s.kind !== 'ping' && s.nat !== null) {
          // The far end's view of a translated flow: those ports are taken there too.
          if (s.nat.source) add(s.nat.source.to, s.nat.source.to.port ?? s.client?.port ?? null);
          if (s.nat.dnat) add(s.nat.dnat, s.nat.dnat.port ?? s.server?.port ?? null);
        }
      } else if (s.kind === 'packet') {
        add(s.src, s.sport);
        add(s.dst, s.dport);
      }
    }
  }

  /**
   * A port free on `addr` (and on `seenAs`, the address a source-NATed
   * client is seen as, which keeps the port: two flows never share a reply
   * tuple), taken on both.
   */
  ephemeral(addr: string, even: boolean, seenAs: string | null = null): number {
    const used = this.ports(addr);
    const alsoUsed = seenAs === null || seenAs === addr ? null : this.ports(seenAs);
    const span = EPHEMERAL_HI - EPHEMERAL_LO + 1;
    let p = EPHEMERAL_LO + (this.rng.u32() % span);
    if (even) p &= ~1;
    for (let i = 0; i < span; i++) {
      if (p >= EPHEMERAL_LO && p <= EPHEMERAL_HI && !used.has(p) && !alsoUsed?.has(p)) {
        used.add(p);
        alsoUsed?.add(p);
        return p;
      }
      p += even ? 2 : 1;
      if (p > EPHEMERAL_HI) p = EPHEMERAL_LO;
    }
    throw new Error(`no free ephemeral port left on ${addr}`);
  }

  /** When this step's first packet goes out. */
  begin(): number {
    const t = this.lastT < 0 ? this.pendingWait : this.lastT + (this.pendingWait > 0 ? this.pendingWait : STEP_GAP_US);
    this.pendingWait = 0;
    return t;
  }

  rttOf(f: Flow | null): number {
    return this.step.rtt ?? f?.rtt ?? this.sc.options.rtt;
  }

  half(f: Flow | null): number {
    return Math.max(1, Math.round(this.rttOf(f) / 2));
  }

  /** An end on `ep` with `port`; `dst` is what the other end addresses it as, when NAT hides it. */
  newEnd(ep: Endpoint, port: number | null, dst: End['dst'] | null = null): End {
    return {
      ep: { ...ep, port },
      dst: dst ?? { ...ep, port },
      mac: this.mac(ep.addr),
      ipId: this.rng.u16(),
      flowLabel: this.rng.u32() & 0xfffff || 1,
    };
  }

  /**
   * Queues one IP packet seen at time t, from `from`'s socket to what it
   * addresses `to` as; returns its IP bytes.
   */
  emit(
    t: number,
    from: End,
    to: Pick<End, 'ep' | 'dst' | 'mac'>,
    l4: L4,
    ip: Partial<IpSpec>,
    flow: Flow | null,
    side: Side | null,
  ): Uint8Array {
    const v6 = from.ep.version === 6;
    const spec: IpSpec = { src: from.ep.addr, dst: to.dst.addr, ttl: this.sc.options.ttl, ...ip };
    if (v6) {
      spec.id = undefined;
      spec.df = undefined;
    }
    const bytes = buildIpPacket({ ip: spec, ...l4 });
    const frame =
      this.linkType === LinkType.RAW
        ? bytes
        : buildFrame(v6 ? 0x86dd : 0x0800, bytes, { link: 'ethernet', srcMac: from.mac, dstMac: to.mac });
    // A translated flow's packet reaches its receiver as the firewall rewrites it: kept for ICMP errors to quote.
    const received =
      flow !== null && translated(from, to)
        ? buildIpPacket({ ip: { ...spec, src: from.dst.addr, dst: to.ep.addr }, ...receivedL4(l4, from, to) })
        : bytes;
    this.pending.push({ t, ord: this.ord++, frame, ip: received, flow, side });
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
        code: 'scenario.too-much-traffic',
        message:
          `step #${index} (${kind}) takes the scenario past what one scenario may generate ` +
          `(${this.maxPackets} packets, ${mib(this.maxFrameBytes)} of frames; ${this.frameCount} packets, ${mib(this.frameBytes)} so far); ` +
          'send less, or use a capture for bulk traffic',
      },
    ]);
  }

  nextId(e: End): number {
    const id = e.ipId;
    e.ipId = (e.ipId + 1) & 0xffff;
    return id;
  }

  /** Sorts this step's packets by time, numbers them, and records them with their flows. */
  flush(): number[] {
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

  flowByName(name: string): Flow {
    const f = this.flows.get(name);
    if (!f) throw new Error(`internal: flow ${name} unknown (the scenario checker should have caught this)`);
    return f;
  }

  register(f: Flow): Flow {
    if (f.name !== null) this.flows.set(f.name, f);
    return f;
  }
}
