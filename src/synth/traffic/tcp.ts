/**
 * The TCP steps: connect (handshake, refused, unanswered, simultaneous
 * open), send (segmented by MSS, paced by cwnd and the receiver's window,
 * acked every second segment or after the delayed-ACK timeout), close,
 * reset and retransmit.
 */
import { TcpFlag } from '../../packet/types.js';
import type { ConnectStep, Side } from '../types.js';
import type { Emitter } from './emitter.js';
import { noPacketsYet, type Flow, type TcpEnd } from './flow.js';
import { filler } from './payload.js';
import { keptPortOn, natText, natView } from './nat.js';
import { epText, plural } from './summary-text.js';
import { newTcpEnd, seg, sides, TS_OPT_LEN, u32, windowBytes } from './tcp-segment.js';

/** Linux's minimum delayed-ACK timeout (microseconds). */
const DELACK_US = 40_000;
/** Linux's minimum retransmission timeout (microseconds), added to the RTT. */
const RTO_MIN_US = 200_000;
/** Initial RTO for a SYN (1 s). */
const SYN_RTO_US = 1_000_000;
/** Initial congestion window, segments (RFC 6928, Linux default). */
const INIT_CWND = 10;

const F = TcpFlag;

/** Microseconds a frame occupies a 1 Gbit/s link (with preamble and inter-frame gap). */
function wireUs(frameLen: number): number {
  return Math.max(1, Math.ceil(((frameLen + 24) * 8) / 1000));
}

export function connect(g: Emitter, s: ConnectStep): string {
  const client = s.client;
  const cport = client.port ?? g.ephemeral(client.addr, true, keptPortOn(s.nat));
  const v = natView(client, cport, s.server, s.server.port!, s.nat);
  const c = newTcpEnd(g, client, cport, s.tcp, false, v.clientDst);
  const sv = newTcpEnd(g, v.real, v.real.port!, s.tcp, !s.simultaneous, v.serverDst);
  const f = g.register({
    name: s.name,
    proto: 'tcp',
    client: c,
    server: sv,
    rtt: s.rtt ?? g.sc.options.rtt,
    tcp: { ts: s.tcp.timestamps, sack: s.tcp.sack, wsOk: s.tcp.wscale !== null, client: c, server: sv },
    state: 'syn-sent',
    ...noPacketsYet(),
    step: s.index,
    dnsId: 0,
  });
  const cw = Math.max(c.mss - (s.tcp.timestamps ? TS_OPT_LEN : 0), 1);
  c.cwnd = INIT_CWND * cw;
  sv.cwnd = INIT_CWND * cw;
  const h = g.half(f);
  const t0 = g.begin();
  const title = `connect ${epText(c.ep)} -> ${epText(sv.dst)}${natText(s.nat, v, false)}`;

  // SYN
  seg(g, f, c, sv, t0, { flags: F.SYN, seq: c.isn, ack: 0 });
  c.last = { seq: c.isn, flags: F.SYN, payload: new Uint8Array(0) };
  c.sndNxt = u32(c.isn + 1);

  if (s.simultaneous) {
    const t1 = t0 + 1;
    seg(g, f, sv, c, t1, { flags: F.SYN, seq: sv.isn, ack: 0, tsecr: 0 });
    sv.last = { seq: sv.isn, flags: F.SYN, payload: new Uint8Array(0) };
    sv.sndNxt = u32(sv.isn + 1);
    sv.rcvNxt = u32(c.isn + 1);
    c.rcvNxt = u32(sv.isn + 1);
    // Each end answers the other's SYN with a SYN/ACK (same ISN), then ACKs the peer's SYN/ACK.
    seg(g, f, sv, c, t0 + h, { flags: F.SYN | F.ACK, seq: sv.isn, ack: sv.rcvNxt });
    seg(g, f, c, sv, t1 + h, { flags: F.SYN | F.ACK, seq: c.isn, ack: c.rcvNxt });
    seg(g, f, c, sv, t0 + 2 * h, { flags: F.ACK });
    seg(g, f, sv, c, t1 + 2 * h, { flags: F.ACK });
    f.state = 'established';
    return `${title}: simultaneous open (both send SYN)`;
  }

  if (s.answer === 'reset') {
    // A closed port: Linux answers RST/ACK, seq 0, ack ISN+1, window 0, no options, IP id 0.
    seg(g, f, sv, c, t0 + h, {
      flags: F.RST | F.ACK,
      seq: 0,
      ack: u32(c.isn + 1),
      window: 0,
      noOptions: true,
      ipId: 0,
      flowLabel: 0,
    });
    f.state = 'refused';
    return `${title}: refused (RST/ACK; nothing listens there)`;
  }

  if (s.answer === 'none') {
    let t = t0;
    let rto = SYN_RTO_US;
    for (let i = 0; i < s.retries; i++) {
      t += rto;
      rto *= 2;
      seg(g, f, c, sv, t, { flags: F.SYN, seq: c.isn, ack: 0 });
    }
    return `${title}: SYN unanswered${s.retries > 0 ? ` (${plural(s.retries, 'retransmission')})` : ''}`;
  }

  // SYN/ACK from the listener (IP id 0), then the client's ACK.
  sv.rcvNxt = u32(c.isn + 1);
  seg(g, f, sv, c, t0 + h, { flags: F.SYN | F.ACK, seq: sv.isn, ack: sv.rcvNxt, ipId: 0 });
  sv.last = { seq: sv.isn, flags: F.SYN | F.ACK, payload: new Uint8Array(0) };
  sv.sndNxt = u32(sv.isn + 1);
  c.rcvNxt = u32(sv.isn + 1);
  seg(g, f, c, sv, t0 + 2 * h, { flags: F.ACK });
  f.state = 'established';
  return `${title}: handshake`;
}

/** Sends `total` bytes from S to R; returns the number of data segments. */
export function sendData(
  g: Emitter,
  f: Flow,
  S: TcpEnd,
  R: TcpEnd,
  t0: number,
  data: Uint8Array | null,
  total: number,
): number {
  const tc = f.tcp!;
  const h = g.half(f);
  const segMax = Math.max(1, Math.min(S.mss, R.mss) - (tc.ts ? TS_OPT_LEN : 0));
  const startSeq = S.sndNxt;
  let sent = 0;
  let acked = 0;
  let rwnd = windowBytes(f, R);
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
    const tsval = seg(g, f, R, S, when, { flags: F.ACK, ack: u32(startSeq + sent), tsecr: receiverEcho });
    R.rcvNxt = u32(startSeq + sent);
    lastAckT = when;
    unacked = 0;
    queue.push({ time: when + h, ackedTo: sent, rwnd: windowBytes(f, R), tsval });
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
      const tsval = seg(g, f, S, R, tx, { flags, seq, payload, tsecr: senderEcho });
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

export function close(g: Emitter, f: Flow, from: Side, half: boolean): string {
  const { S: X, R: Y } = sides(f, from);
  const h = g.half(f);
  const t0 = g.begin();
  const fin = X.sndNxt;
  seg(g, f, X, Y, t0, { flags: F.FIN | F.ACK });
  X.last = { seq: fin, flags: F.FIN | F.ACK, payload: new Uint8Array(0) };
  X.sndNxt = u32(fin + 1);
  X.finSent = true;
  Y.rcvNxt = u32(fin + 1);
  const other = from === 'client' ? 'server' : 'client';
  if (Y.finSent || half) {
    seg(g, f, Y, X, t0 + h, { flags: F.ACK });
    f.state = Y.finSent ? 'closed' : 'half-closed';
    return `close ${f.name} from the ${from}: FIN, ACK${Y.finSent ? ' (both sides closed)' : ` (half close; the ${other} may still send)`}`;
  }
  const yfin = Y.sndNxt;
  seg(g, f, Y, X, t0 + h, { flags: F.FIN | F.ACK });
  Y.last = { seq: yfin, flags: F.FIN | F.ACK, payload: new Uint8Array(0) };
  Y.sndNxt = u32(yfin + 1);
  Y.finSent = true;
  X.rcvNxt = u32(yfin + 1);
  seg(g, f, X, Y, t0 + 2 * h, { flags: F.ACK });
  f.state = 'closed';
  return `close ${f.name} from the ${from}: FIN, FIN/ACK, ACK`;
}

export function reset(g: Emitter, f: Flow, from: Side): string {
  const { S: X, R: Y } = sides(f, from);
  seg(g, f, X, Y, g.begin(), { flags: F.RST | F.ACK });
  f.state = 'reset';
  return `reset ${f.name} from the ${from}: RST/ACK`;
}

export function retransmit(g: Emitter, f: Flow, from: Side, answer: boolean): string {
  const { S: X, R: Y } = sides(f, from);
  const last = X.last!;
  const syn = (last.flags & F.SYN) !== 0;
  const t = g.begin() + (syn ? SYN_RTO_US : RTO_MIN_US + g.rttOf(f));
  seg(g, f, X, Y, t, {
    flags: last.flags,
    seq: last.seq,
    ack: (last.flags & F.ACK) !== 0 ? X.rcvNxt : 0,
    payload: last.payload,
  });
  const what =
    last.payload.length > 0
      ? `${plural(last.payload.length, 'byte')} at seq ${last.seq}`
      : (last.flags & F.SYN) !== 0
        ? (last.flags & F.ACK) !== 0
          ? 'SYN/ACK'
          : 'SYN'
        : 'FIN';
  const peerUp = f.state !== 'refused' && f.state !== 'syn-sent';
  if (answer && peerUp) {
    const len = last.payload.length;
    const sack: Array<[number, number]> | undefined = len > 0 ? [[last.seq, u32(last.seq + len)]] : undefined;
    seg(g, f, Y, X, t + g.half(f), { flags: F.ACK, sack });
    return `retransmit ${f.name} from the ${from}: ${what}, duplicate ACK${sack && f.tcp!.sack ? ' with D-SACK' : ''}`;
  }
  return `retransmit ${f.name} from the ${from}: ${what}`;
}
