/**
 * The udp step: a datagram on a new or named flow, and its reply; DNS
 * ports carry well-formed DNS messages.
 */
import type { Side, UdpStep } from '../types.js';
import type { Emitter } from './emitter.js';
import { noPacketsYet, type Flow } from './flow.js';
import { DNS_PORTS, dnsMessage, filler } from './payload.js';
import { keptPortOn, natText, natView } from './nat.js';
import { epText, plural } from './summary-text.js';

export function udp(g: Emitter, s: UdpStep): string {
  let f: Flow;
  let nat = '';
  if (s.conn !== null) f = g.flowByName(s.conn);
  else {
    const cport = s.client!.port ?? g.ephemeral(s.client!.addr, false, keptPortOn(s.nat));
    const v = natView(s.client!, cport, s.server!, s.server!.port, s.nat);
    nat = natText(s.nat, v, false);
    f = g.register({
      name: s.name,
      proto: 'udp',
      client: g.newEnd(s.client!, cport, v.clientDst),
      server: g.newEnd(v.real, v.real.port, v.serverDst),
      rtt: s.rtt ?? g.sc.options.rtt,
      tcp: null,
      state: 'open',
      ...noPacketsYet(),
      step: s.index,
      dnsId: g.rng.u16(),
    });
  }
  const X = s.from === 'client' ? f.client : f.server;
  const Y = s.from === 'client' ? f.server : f.client;
  const other: Side = s.from === 'client' ? 'server' : 'client';
  const t0 = g.begin();
  const dns = DNS_PORTS.has(X.ep.port!) || DNS_PORTS.has(Y.ep.port!);
  // DNS ports get DNS-shaped payloads: the client asks, the server answers.
  const body = (n: number, fromServer: boolean) => (dns ? dnsMessage(n, f.dnsId, fromServer) : null) ?? filler(0, n);
  const payload = s.data ?? body(s.bytes, s.from === 'server');
  g.emit(
    t0,
    X,
    Y,
    { udp: { sport: X.ep.port!, dport: Y.dst.port!, payload } },
    { df: true, id: g.nextId(X), flowLabel: X.flowLabel },
    f,
    s.from,
  );
  if (s.reply !== null) {
    const reply = body(s.reply, s.from === 'client');
    g.emit(
      t0 + g.half(f),
      Y,
      X,
      { udp: { sport: Y.ep.port!, dport: X.dst.port!, payload: reply } },
      { df: true, id: g.nextId(Y), flowLabel: Y.flowLabel },
      f,
      other,
    );
  }
  const head = s.conn !== null ? `udp ${f.name} from the ${s.from}` : `udp ${epText(X.ep)} -> ${epText(Y.dst)}${nat}`;
  return `${head}: ${plural(payload.length, 'byte')}${s.reply !== null ? `, reply ${plural(s.reply, 'byte')}` : ''}`;
}
