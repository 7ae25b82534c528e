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
  /** ESTAB, CLOSED (FIN both ways), RESET, SYN-SENT (no answer), REFUSED (SYN answered by RST). */
  state: string;
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

interface Flow {
  client: string;
  server: string;
  clientAddr: string;
  serverAddr: string;
  first: number;
  last: number;
  synAck: boolean;
  established: boolean;
  finFromClient: boolean;
  finFromServer: boolean;
  reset: boolean;
}

/** Collects TCP connections packet by packet (a report: clarity over speed). */
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
    finFromClient: false,
    finFromServer: false,
    reset: false,
  };
}

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
    } else if (syn && !ack && fromClient && (flow.reset || (flow.finFromClient && flow.finFromServer))) {
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
    if (f & TcpFlag.FIN) {
      if (fromClient) flow.finFromClient = true;
      else flow.finFromServer = true;
    }
    if (f & TcpFlag.RST) flow.reset = true;
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
      const state = fl.reset
        ? fl.established
          ? 'RESET'
          : fl.synAck
            ? 'RESET'
            : 'REFUSED'
        : !fl.synAck
          ? 'SYN-SENT'
          : fl.finFromClient && fl.finFromServer
            ? 'CLOSED'
            : fl.finFromClient || fl.finFromServer
              ? 'CLOSING'
              : 'ESTAB';
      if (fl.synAck && state !== 'REFUSED')
        host(fl.serverAddr).conns.push({
          local: fl.server,
          peer: fl.client,
          role: 'accepted',
          state,
          first: fl.first,
          last: fl.last,
        });
      host(fl.clientAddr).conns.push({
        local: fl.client,
        peer: fl.server,
        role: 'connected',
        state,
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
    lines.push(`  ${'State'.padEnd(9)} ${'Local Address:Port'.padEnd(26)} ${'Peer Address:Port'.padEnd(26)} socket`);
    for (const l of h.listening) lines.push(`  ${'LISTEN'.padEnd(9)} ${l.padEnd(26)} ${'*:*'.padEnd(26)} listening`);
    for (const c of h.conns) {
      const what = c.role === 'accepted' ? `accepted from the listener on ${c.local}` : 'connect()';
      lines.push(
        `  ${c.state.padEnd(9)} ${c.local.padEnd(26)} ${c.peer.padEnd(26)} ${what}, packets ${c.first}-${c.last}`,
      );
    }
    lines.push('');
  }
  return lines;
}
