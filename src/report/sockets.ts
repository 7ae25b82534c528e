import { formatAddr } from '../packet/addr.js';
import { visible } from '../base/text-escape.js';
import { IpProto, TcpFlag, type DecodedPacket } from '../packet/types.js';
import { endpoint } from './packet-text.js';

/**
 * The sockets view: what `ss -tan` would show on each host, rebuilt from the
 * TCP packets of a capture. A SYN/ACK from host:port means a listening socket
 * there; each completed handshake is one accepted socket on the server side
 * (same local address and port as the listener, its own peer address and
 * port) and one connected socket on the client side. That is the answer to
 * "how are sockets on the same port told apart": by the 4-tuple.
 */

export interface SocketConn {
  local: string;
  peer: string;
  /** accepted (server side of a handshake) or connected (client side). */
  role: 'accepted' | 'connected';
  /**
   * The state `ss -tan` would show for this socket after the last packet,
   * as the packets tell it (RFC 793's state machine; ss's names): SYN-SENT,
   * SYN-RECV, ESTAB, FIN-WAIT-1, FIN-WAIT-2, CLOSING, TIME-WAIT, CLOSE-WAIT,
   * LAST-ACK, or UNCONN (closed: the socket is gone).
   */
  state: string;
  /** How the connection ended or stalled (`reset by the server`, `refused` ...), or null while it is open. */
  story: string | null;
  /** Packet numbers of the first SYN and of the last packet seen. */
  first: number;
  last: number;
}

export interface HostSockets {
  addr: string;
  name: string | null;
  listening: string[];
  conns: SocketConn[];
}

/** What the packets of one side of a connection showed. */
interface Side {
  /** It sent a FIN; `finEnd` is the sequence number that acknowledges it. */
  fin: boolean;
  finEnd: number;
  /** The other side acknowledged that FIN. */
  finAcked: boolean;
  /** Packet number of its FIN (0: none), to tell which side closed first. */
  finAt: number;
  /** It sent an RST. */
  reset: boolean;
}

interface Flow {
  client: string;
  server: string;
  clientAddr: string;
  serverAddr: string;
  first: number;
  last: number;
  synAck: boolean;
  established: boolean;
  c: Side;
  s: Side;
}

const newSide = (): Side => ({ fin: false, finEnd: 0, finAcked: false, finAt: 0, reset: false });

/** A connection whose SYN (packet n) went from `client` to `server`. */
function newFlow(client: string, server: string, clientAddr: string, serverAddr: string, n: number): Flow {
  return {
    client,
    server,
    clientAddr,
    serverAddr,
    first: n,
    last: n,
    synAck: false,
    established: false,
    c: newSide(),
    s: newSide(),
  };
}

/** ss's state of a side that sent the first FIN (the active closer), given the other side. */
function activeCloser(me: Side, other: Side): string {
  if (!other.fin) return me.finAcked ? 'FIN-WAIT-2' : 'FIN-WAIT-1';
  return me.finAcked ? 'TIME-WAIT' : 'CLOSING';
}

/** ss's state of a side that received the first FIN (the passive closer). */
function passiveCloser(me: Side): string {
  if (!me.fin) return 'CLOSE-WAIT';
  return me.finAcked ? 'UNCONN' : 'LAST-ACK';
}

/** Each side's ss state, and the story, of a connection after its last packet. */
function endStates(fl: Flow): { client: string; server: string; story: string | null } {
  if (fl.c.reset || fl.s.reset) {
    if (!fl.synAck) return { client: 'UNCONN', server: 'UNCONN', story: 'refused' };
    return { client: 'UNCONN', server: 'UNCONN', story: `reset by the ${fl.c.reset ? 'client' : 'server'}` };
  }
  if (!fl.synAck) return { client: 'SYN-SENT', server: 'UNCONN', story: 'no answer' };
  if (!fl.established) return { client: 'ESTAB', server: 'SYN-RECV', story: 'handshake open' };
  if (!fl.c.fin && !fl.s.fin) return { client: 'ESTAB', server: 'ESTAB', story: null };
  const clientFirst = fl.c.fin && (!fl.s.fin || fl.c.finAt <= fl.s.finAt);
  const story = `closed by the ${clientFirst ? 'client' : 'server'}`;
  return clientFirst
    ? { client: activeCloser(fl.c, fl.s), server: passiveCloser(fl.s), story }
    : { client: passiveCloser(fl.c), server: activeCloser(fl.s, fl.c), story };
}

/** Collects TCP connections packet by packet (a report: clarity over speed). */

export class SocketObserver {
  private readonly flows = new Map<string, Flow>();
  private readonly listening = new Map<string, Set<string>>();

  add(p: DecodedPacket, n: number): void {
    if (p.ipVersion === 0 || p.proto !== IpProto.TCP || p.l4Off < 0) return;
    const src = formatAddr(p.ipVersion, p.src0, p.src1, p.src2, p.src3);
    const dst = formatAddr(p.ipVersion, p.dst0, p.dst1, p.dst2, p.dst3);
    const a = endpoint(src, p.sport);
    const b = endpoint(dst, p.dport);
    const f = p.tcpFlags;
    const syn = (f & TcpFlag.SYN) !== 0;
    const ack = (f & TcpFlag.ACK) !== 0;
    let flow = this.flows.get(`${a} ${b}`);
    let fromClient = true;
    if (!flow) {
      flow = this.flows.get(`${b} ${a}`);
      fromClient = false;
    }
    if (!flow) {
      if (!syn || ack) return; // only a SYN starts a connection we can place
      flow = newFlow(a, b, src, dst, n);
      this.flows.set(`${a} ${b}`, flow);
    } else if (syn && !ack && fromClient && (flow.c.reset || flow.s.reset || (flow.c.fin && flow.s.fin))) {
      // The tuple is reused by a new connection: keep the old one under its first packet.
      this.flows.set(`${a} ${b} #${flow.first}`, flow);
      flow = newFlow(a, b, src, dst, n);
      this.flows.set(`${a} ${b}`, flow);
    }
    flow.last = n;
    if (!fromClient && syn && ack) {
      flow.synAck = true;
      let set = this.listening.get(src);
      if (!set) this.listening.set(src, (set = new Set()));
      set.add(a);
    }
    if (fromClient && ack && !syn && flow.synAck) flow.established = true;
    const me = fromClient ? flow.c : flow.s;
    const other = fromClient ? flow.s : flow.c;
    // An ACK at or past the other side's FIN acknowledges it (sequence numbers wrap).
    if (ack && other.fin && ((p.ack - other.finEnd) | 0) >= 0) other.finAcked = true;
    if (f & TcpFlag.FIN && !me.fin) {
      me.fin = true;
      me.finAt = n;
      me.finEnd = (p.seq + p.payloadLen + (syn ? 2 : 1)) >>> 0;
    }
    if (f & TcpFlag.RST) me.reset = true;
  }

  /** Per host address, sorted: listening sockets first, then connections in order of their SYN. */
  hosts(names: Map<string, string> = new Map()): HostSockets[] {
    const hosts = new Map<string, HostSockets>();
    const host = (addr: string) => {
      let h = hosts.get(addr);
      if (!h) hosts.set(addr, (h = { addr, name: names.get(addr) ?? null, listening: [], conns: [] }));
      return h;
    };
    for (const [addr, set] of this.listening) for (const l of [...set].sort()) host(addr).listening.push(l);
    const flows = [...this.flows.values()].sort((x, y) => x.first - y.first);
    for (const fl of flows) {
      const { client, server, story } = endStates(fl);
      // A refused SYN made no socket on the server side.
      if (fl.synAck)
        host(fl.serverAddr).conns.push({
          local: fl.server,
          peer: fl.client,
          role: 'accepted',
          state: server,
          story,
          first: fl.first,
          last: fl.last,
        });
      host(fl.clientAddr).conns.push({
        local: fl.client,
        peer: fl.server,
        role: 'connected',
        state: client,
        story,
        first: fl.first,
        last: fl.last,
      });
    }
    return [...hosts.values()].sort((x, y) => y.listening.length - x.listening.length || x.addr.localeCompare(y.addr));
  }
}

/** ss-like text: one block per host. */
export function formatSockets(hosts: HostSockets[]): string[] {
  const lines: string[] = [];
  for (const h of hosts) {
    lines.push(`host ${h.addr}${h.name ? ` (${visible(h.name)})` : ''}`); // a scenario's host name: made visible
    lines.push(
      `  ${'State'.padEnd(10)} ${'Local Address:Port'.padEnd(26)} ${'Peer Address:Port'.padEnd(26)} ${'how it went'.padEnd(22)} socket`,
    );
    for (const l of h.listening) {
      lines.push(`  ${'LISTEN'.padEnd(10)} ${l.padEnd(26)} ${'*:*'.padEnd(26)} ${''.padEnd(22)} listening`);
    }
    for (const c of h.conns) {
      const what = c.role === 'accepted' ? `accepted from the listener on ${c.local}` : 'connect()';
      lines.push(
        `  ${c.state.padEnd(10)} ${c.local.padEnd(26)} ${c.peer.padEnd(26)} ${(c.story ?? 'open').padEnd(22)} ${what}, packets ${c.first}-${c.last}`,
      );
    }
    lines.push('');
  }
  return lines;
}
