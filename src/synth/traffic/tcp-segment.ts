/**
 * One TCP segment as a Linux end sends it: the end's initial state (ISN,
 * MSS, window, timestamp offset), the window field it advertises, and
 * seg(), which picks the options and queues the segment.
 */
import type { IpSpec } from '../../packet/encode.js';
import type { TcpOptionsSpec } from '../../packet/tcp.js';
import { TcpFlag } from '../../packet/types.js';
import type { Endpoint, Side, TcpParams } from '../types.js';
import type { Emitter } from './emitter.js';
import type { End, Flow, TcpEnd } from './flow.js';

/** Autotuned receive windows stop growing here (half of tcp_rmem's 6 MiB maximum). */
const MAX_AUTO_WINDOW = 3 * 1024 * 1024;
export const TS_OPT_LEN = 12;

const F = TcpFlag;

export function u32(n: number): number {
  return n >>> 0;
}

/** The sending (S) and receiving (R) ends of a TCP flow for a segment from `from`. */
export function sides(f: Flow, from: Side): { S: TcpEnd; R: TcpEnd } {
  const t = f.tcp!;
  return from === 'client' ? { S: t.client, R: t.server } : { S: t.server, R: t.client };
}

function mssFor(g: Emitter, version: 4 | 6, p: TcpParams): number {
  return p.mss ?? g.sc.options.mtu - (version === 6 ? 60 : 40);
}

export function newTcpEnd(
  g: Emitter,
  ep: Endpoint,
  port: number,
  p: TcpParams,
  synAck: boolean,
  dst: End['dst'] | null = null,
): TcpEnd {
  const e = g.newEnd(ep, port, dst);
  const mss = mssFor(g, ep.version, p);
  // Linux: the SYN's window is the largest multiple of the MSS that fits 65535
  // (the SYN/ACK's uses the MSS less the timestamp option).
  const unit = synAck && p.timestamps ? mss - TS_OPT_LEN : mss;
  const auto = Math.max(unit, Math.floor(65535 / unit) * unit);
  const rcvWnd = p.window ?? auto;
  const cap = p.wscale === null ? 65535 : 65535 * 2 ** p.wscale;
  const maxWnd = Math.min(cap, p.window ?? Math.max(MAX_AUTO_WINDOW, rcvWnd));
  const isn = g.rng.u32();
  return {
    ...e,
    isn,
    sndNxt: isn,
    rcvNxt: 0,
    tsOffset: g.rng.u32(),
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

function tsval(e: TcpEnd, t: number): number {
  return u32(e.tsOffset + Math.floor(t / 1000));
}

/** The window field `e` puts in a segment. */
function windowField(f: Flow, e: TcpEnd, syn: boolean): number {
  if (syn) return Math.min(e.rcvWnd, 65535);
  if (f.tcp!.wsOk) return Math.min(65535, Math.ceil(e.rcvWnd / 2 ** e.ws!));
  return Math.min(65535, e.rcvWnd);
}

/** The receive window `e` last advertised, in bytes. */
export function windowBytes(f: Flow, e: TcpEnd): number {
  return windowField(f, e, false) * (f.tcp!.wsOk ? 2 ** e.ws! : 1);
}

function side(f: Flow, e: End): Side {
  return e === f.client ? 'client' : 'server';
}

/** Queues a TCP segment from S to R. Options: SYN ones on SYNs, else timestamps (and SACK blocks). */
export function seg(
  g: Emitter,
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
  const tsv = tsval(S, t);
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
  g.emit(
    t,
    S,
    R,
    {
      tcp: {
        sport: S.ep.port!,
        dport: R.dst.port!,
        seq: u32(o.seq ?? S.sndNxt),
        ack: u32(o.ack ?? (hasAck ? S.rcvNxt : 0)),
        flags: o.flags,
        window: o.window ?? windowField(f, S, syn),
        options,
        payload: o.payload,
      },
    },
    { df: true, id: o.ipId ?? g.nextId(S), flowLabel: o.flowLabel ?? S.flowLabel, ...o.ip },
    f,
    side(f, S),
  );
  return tsv;
}
