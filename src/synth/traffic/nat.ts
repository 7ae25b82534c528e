/**
 * Where NAT on the firewall puts a new flow's ends. The capture is what the
 * firewall receives: the client's packets go to the endpoint the client
 * addresses (a port forward's public one); the server's come from its real
 * socket and go to the client as the server sees it (source NAT).
 */
import type { Endpoint, StepNat } from '../types.js';
import { epText } from './summary-text.js';

export interface NatView {
  /** The server's real socket (with its port). */
  real: Endpoint;
  /** What the client addresses: the step's server. */
  serverDst: Endpoint;
  /** The client as the server sees it. */
  clientDst: Endpoint;
}

export function natView(
  client: Endpoint,
  cport: number | null,
  server: Endpoint,
  sport: number | null,
  nat: StepNat | null,
): NatView {
  const d = nat?.dnat;
  const s = nat?.source?.to;
  return {
    real: d ? { ...d, port: d.port ?? sport } : { ...server, port: sport },
    serverDst: { ...server, port: sport },
    clientDst: s ? { ...s, port: s.port ?? cport } : { ...client, port: cport },
  };
}

/**
 * The address a new client socket's port must also be free on: the one a
 * source NAT that keeps the port shows it as (else none).
 */
export function keptPortOn(nat: StepNat | null): string | null {
  const s = nat?.source?.to;
  return s && s.port === null ? s.addr : null;
}

/** " (masqueraded as 203.0.113.1:40000; forwarded to alice 192.168.1.10:80)" for a step's summary, or "". */
export function natText(nat: StepNat | null, v: NatView, icmp: boolean): string {
  if (nat === null) return '';
  const ep = (e: Endpoint) => epText(icmp ? { ...e, port: null } : e);
  const parts: string[] = [];
  if (nat.source) {
    const id = icmp && nat.source.to.port !== null ? `, echo id ${nat.source.to.port}` : '';
    parts.push(`${nat.source.how === 'masquerade' ? 'masqueraded as' : 'snat to'} ${ep(v.clientDst)}${id}`);
  }
  if (nat.dnat) parts.push(`forwarded to ${ep(v.real)}`);
  return ` (${parts.join('; ')})`;
}
