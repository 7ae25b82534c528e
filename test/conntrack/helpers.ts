/**
 * Hand-built DecodedPacket objects for conntrack tests.
 *
 *   tcp('10.1.0.2:51514 > 10.2.0.1:8080', 'S', { seq: 1000, win: 64240, wscale: 7 })
 *   tcp('[fd01::2]:40000 > [fd02::2]:443', 'S.', { seq: 5000, ack: 1001 })
 *   udp('10.1.0.2:40000 > 10.2.0.1:53', { len: 20 })
 *   icmp('10.1.0.2 > 10.2.0.1', { type: 8, id: 77 })
 *   icmpError('10.9.9.9 > 10.1.0.2', { type: 3, code: 3 }, { proto: 'udp', flow: '10.1.0.2:40000 > 10.2.0.1:53' })
 *
 * Flags are tcpdump letters: S SYN, F FIN, R RST, P PSH, U URG, E ECE,
 * W CWR, '.' ACK.
 */
import { parseAddr } from '../../src/packet/addr.js';
import { newDecodedPacket } from '../../src/packet/decode.js';
import { ConntrackTable, type CtEntry, type ConntrackSettings } from '../../src/conntrack/index.js';
import { IpProto, PacketKind, TcpFlag, type DecodedPacket } from '../../src/packet/types.js';

/** An IPv4 packet with a 20-byte transport header at 20; every other field absent, as the decoder starts it. */
export function blank(): DecodedPacket {
  return Object.assign(newDecodedPacket(), {
    kind: PacketKind.IP,
    etherType: 0x0800,
    direction: 0,
    ipVersion: 4,
    ipOff: 0,
    ipHeaderLen: 20,
    ipTotalLen: 40,
    ttl: 64,
    dontFragment: true,
    l4Off: 20,
    l4Len: 20,
  });
}

function addr(s: string): { version: 4 | 6; words: [number, number, number, number] } {
  const a = parseAddr(s);
  if (!a) throw new Error(`bad address ${s}`);
  return a;
}

/** "a:p" / "[v6]:p" / "a" (no port) */
function endpoint(s: string): { version: 4 | 6; words: [number, number, number, number]; port: number } {
  s = s.trim();
  let host = s;
  let port = 0;
  const m6 = /^\[(.+)\](?::(\d+))?$/.exec(s);
  if (m6) {
    host = m6[1];
    port = m6[2] ? Number(m6[2]) : 0;
  } else if (!s.includes('::') && s.split(':').length === 2) {
    [host, port] = [s.split(':')[0], Number(s.split(':')[1])];
  }
  return { ...addr(host), port };
}

function setFlow(p: DecodedPacket, flow: string): void {
  const [a, b] = flow.split('>').map(endpoint);
  p.ipVersion = a.version;
  p.etherType = a.version === 4 ? 0x0800 : 0x86dd;
  [p.src0, p.src1, p.src2, p.src3] = a.words;
  [p.dst0, p.dst1, p.dst2, p.dst3] = b.words;
  p.sport = a.port;
  p.dport = b.port;
}

export function flagBits(f: string): number {
  let b = 0;
  for (const c of f) {
    switch (c) {
      case 'S':
        b |= TcpFlag.SYN;
        break;
      case 'F':
        b |= TcpFlag.FIN;
        break;
      case 'R':
        b |= TcpFlag.RST;
        break;
      case 'P':
        b |= TcpFlag.PSH;
        break;
      case 'U':
        b |= TcpFlag.URG;
        break;
      case 'E':
        b |= TcpFlag.ECE;
        break;
      case 'W':
        b |= TcpFlag.CWR;
        break;
      case '.':
        b |= TcpFlag.ACK;
        break;
      default:
        throw new Error(`bad flag ${c}`);
    }
  }
  return b;
}

export interface TcpOpts {
  seq?: number;
  ack?: number;
  win?: number;
  /** payload bytes */
  len?: number;
  wscale?: number;
  sackPerm?: boolean;
  /** highest SACK right edge (as the decoder computes it) */
  sack?: number;
}

export function tcp(flow: string, flags: string, o: TcpOpts = {}): DecodedPacket {
  const p = blank();
  setFlow(p, flow);
  p.proto = IpProto.TCP;
  p.tcpFlags = flagBits(flags);
  p.seq = (o.seq ?? 0) >>> 0;
  p.ack = (o.ack ?? 0) >>> 0;
  p.window = o.win ?? 65535;
  p.payloadLen = o.len ?? 0;
  p.wscale = o.wscale ?? -1;
  p.sackPermitted = o.sackPerm ?? false;
  p.sackMaxRight = o.sack ?? -1;
  const opts = p.wscale >= 0 || p.sackPermitted || p.sackMaxRight >= 0;
  p.tcpHeaderLen = opts ? 40 : 20;
  p.ipHeaderLen = p.ipVersion === 4 ? 20 : 40;
  p.ipTotalLen = p.ipHeaderLen + p.tcpHeaderLen + p.payloadLen;
  return p;
}

export function udp(flow: string, o: { len?: number } = {}): DecodedPacket {
  const p = blank();
  setFlow(p, flow);
  p.proto = IpProto.UDP;
  p.payloadLen = o.len ?? 0;
  p.ipHeaderLen = p.ipVersion === 4 ? 20 : 40;
  p.ipTotalLen = p.ipHeaderLen + 8 + p.payloadLen;
  return p;
}

export function icmp(flow: string, o: { type: number; code?: number; id?: number; seq?: number }): DecodedPacket {
  const p = blank();
  setFlow(p, flow);
  p.proto = p.ipVersion === 4 ? IpProto.ICMP : IpProto.ICMPV6;
  p.icmpType = o.type;
  p.icmpCode = o.code ?? 0;
  p.icmpId = o.id ?? 0;
  p.icmpSeq = o.seq ?? 0;
  p.ipHeaderLen = p.ipVersion === 4 ? 20 : 40;
  p.ipTotalLen = p.ipHeaderLen + 64;
  return p;
}

export function generic(flow: string, proto: number): DecodedPacket {
  const p = blank();
  setFlow(p, flow);
  p.proto = proto;
  p.ipTotalLen = 100;
  return p;
}

/**
 * An ICMP/ICMPv6 error quoting a packet of `inner.flow` (as that packet was
 * sent). inner.proto: 'tcp' | 'udp' | 'icmp' (for icmp, flow ports are
 * ignored and id/type given apart).
 */
export function icmpError(
  flow: string,
  o: { type: number; code?: number },
  inner: { proto: 'tcp' | 'udp' | 'icmp' | number; flow: string; id?: number; type?: number },
): DecodedPacket {
  const p = icmp(flow, { type: o.type, code: o.code ?? 0 });
  const [a, b] = inner.flow.split('>').map(endpoint);
  p.innerValid = true;
  p.innerIpVersion = a.version;
  [p.innerSrc0, p.innerSrc1, p.innerSrc2, p.innerSrc3] = a.words;
  [p.innerDst0, p.innerDst1, p.innerDst2, p.innerDst3] = b.words;
  if (inner.proto === 'tcp' || inner.proto === 'udp') {
    p.innerProto = inner.proto === 'tcp' ? IpProto.TCP : IpProto.UDP;
    p.innerSport = a.port;
    p.innerDport = b.port;
  } else if (inner.proto === 'icmp') {
    p.innerProto = a.version === 4 ? IpProto.ICMP : IpProto.ICMPV6;
    p.innerSport = inner.id ?? 0;
    p.innerDport = inner.type ?? (a.version === 4 ? 8 : 128);
  } else {
    p.innerProto = inner.proto;
  }
  return p;
}

// ---------------------------------------------------------------------------
// Driving a table

export interface Outcome {
  state: string;
  code: number;
  reason: string;
  reply: boolean;
  entry: CtEntry | null;
  about: CtEntry | null;
  related: CtEntry | null;
  drop: boolean;
}

/**
 * A table plus a capture clock and a packet counter; `send` runs a packet
 * through process() and, as an accepting filter would, confirm().
 */
export class Driver {
  readonly ct: ConntrackTable;
  now = 1000;
  n = 0;
  constructor(settings: Partial<ConntrackSettings> = {}) {
    this.ct = new ConntrackTable(settings);
  }
  /** Process at the current time (advanced by `dt` first) and confirm. */
  send(p: DecodedPacket, dt = 0, accept = true): Outcome {
    this.now += dt;
    const r = this.ct.process(p, this.now, ++this.n);
    const o: Outcome = {
      state: r.stateName,
      code: r.code,
      reason: r.reason,
      reply: r.reply,
      entry: r.entry,
      about: r.about,
      related: r.related,
      drop: r.drop,
    };
    if (accept) this.ct.confirm(r);
    return o;
  }
  /** The only live entry (throws unless exactly one). */
  only(): CtEntry {
    const list = this.ct.entries(this.now);
    if (list.length !== 1) throw new Error(`expected one entry, have ${list.length}`);
    return list[0];
  }
  tcpState(): string {
    return this.only().tcpStateName;
  }
  /** Seconds until the entry's deadline (rounded to the microsecond against float noise). */
  left(e: CtEntry = this.only()): number {
    return Math.round((e.deadline - this.now) * 1e6) / 1e6;
  }
}
