/**
 * What the generator keeps per flow: its two sockets (ends) and, for TCP,
 * each end's sequence, window and timestamp state.
 */
import type { Endpoint, Side } from '../types.js';

/** One end of a flow: a socket. */
export interface End {
  /** The socket: the source of what this end sends. A ping client's port is its echo id. */
  ep: Endpoint & { port: number | null };
  /**
   * The destination of what the other end sends here: the socket itself,
   * unless NAT on the firewall hides it (the client as a source-NATed
   * server sees it; the public endpoint of a port-forwarded server).
   */
  dst: Endpoint;
  mac: string;
  ipId: number;
  flowLabel: number;
}

export interface TcpEnd extends End {
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

export interface Flow {
  name: string | null;
  proto: 'tcp' | 'udp' | 'icmp' | 'icmpv6';
  client: End;
  server: End;
  rtt: number;
  /** TCP only. */
  tcp: { ts: boolean; sack: boolean; wsOk: boolean; client: TcpEnd; server: TcpEnd } | null;
  state: string;
  packets: number[];
  /**
   * IP bytes (no link header) of its last packet, and of the last one each
   * side sent, as the receiver got them (past the firewall's NAT): what an
   * ICMP error about the flow quotes.
   */
  lastIp: Uint8Array | null;
  lastSide: Side;
  lastBySide: { client: Uint8Array | null; server: Uint8Array | null };
  /** The latest of its largest packets (what a packet-too-big error quotes). */
  biggest: { ip: Uint8Array; side: Side } | null;
  step: number;
  /** DNS transaction id for DNS-port UDP flows. */
  dnsId: number;
}

/** A new flow's packet history: none yet (Emitter.flush() records each packet). */
export function noPacketsYet(): Pick<Flow, 'packets' | 'lastIp' | 'lastSide' | 'lastBySide' | 'biggest'> {
  return { packets: [], lastIp: null, lastSide: 'client', lastBySide: { client: null, server: null }, biggest: null };
}
