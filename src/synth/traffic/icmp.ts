/**
 * The ICMP steps: ping (echo requests as Linux ping sends them, and their
 * replies) and unreachable (an ICMP or ICMPv6 error quoting a flow's
 * packet, as a router or the receiving host sends it).
 */
import type { PingStep, Side, UnreachableStep } from '../types.js';
import type { Emitter } from './emitter.js';
import { noPacketsYet, type End } from './flow.js';
import { natText, natView } from './nat.js';
import { epText, plural } from './summary-text.js';

export function unreachable(g: Emitter, s: UnreachableStep): string {
  const f = g.flowByName(s.about);
  // Too big: the latest of the flow's largest packets (if it is over the MTU); else its last packet.
  const tooBig =
    (s.code === 'packet-too-big' || s.code === 'frag-needed') &&
    s.side === null &&
    f.biggest !== null &&
    f.biggest.ip.length > s.mtu;
  const quote = tooBig ? f.biggest!.ip : s.side ? f.lastBySide[s.side] : f.lastIp;
  const senderSide: Side = tooBig ? f.biggest!.side : (s.side ?? f.lastSide);
  if (!quote) throw new Error(`internal: ${s.about} has no packet from the ${senderSide} to quote`);
  const orig = senderSide === 'client' ? f.client : f.server;
  const recv = senderSide === 'client' ? f.server : f.client;
  const v6 = orig.ep.version === 6;
  const fromEnd: End = s.from ? g.newEnd(s.from, null) : recv;
  let type: number;
  let code = 0;
  let mtu: number | undefined;
  const c = s.code;
  if (!v6) {
    const codes: Record<string, number> = {
      net: 0,
      host: 1,
      protocol: 2,
      port: 3,
      'frag-needed': 4,
      'packet-too-big': 4,
      'net-prohibited': 9,
      'host-prohibited': 10,
      admin: 13,
    };
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
    const codes: Record<string, number> = {
      net: 0,
      admin: 1,
      'net-prohibited': 1,
      'host-prohibited': 1,
      host: 3,
      port: 4,
    };
    type = 1;
    code = codes[c];
  }
  const icmp = { type, code, mtu, quote, quoteLen: v6 ? undefined : Math.min(quote.length, 576 - 20 - 8) };
  const t = g.begin();
  g.emit(
    t,
    fromEnd,
    orig,
    v6 ? { icmpv6: icmp } : { icmp },
    { df: false, id: g.rng.u16(), tos: v6 ? 0 : 0xc0, flowLabel: 0 },
    null,
    null,
  );
  const name = v6
    ? `ICMPv6 ${type === 1 ? 'destination unreachable' : type === 2 ? 'packet too big' : 'time exceeded'}`
    : `ICMP ${type === 3 ? 'destination unreachable' : 'time exceeded'}`;
  return `unreachable about ${f.name}: ${name} (${c}) from ${epText({ ...fromEnd.ep, port: null })} to ${epText({ ...orig.ep, port: null })}`;
}

export function ping(g: Emitter, s: PingStep): string {
  const v6 = s.client.version === 6;
  const v = natView(s.client, null, s.server, null, s.nat);
  const f = g.register({
    name: s.name,
    proto: v6 ? 'icmpv6' : 'icmp',
    client: g.newEnd(s.client, null),
    server: g.newEnd(v.real, null, v.serverDst),
    rtt: s.rtt ?? g.sc.options.rtt,
    tcp: null,
    state: 'open',
    ...noPacketsYet(),
    step: s.index,
    dnsId: 0,
  });
  const ident = s.ident ?? g.rng.u16();
  // The echo id is the ping's port: source NAT keeps it unless it says which the server sees.
  f.client.ep.port = ident;
  f.client.dst = { ...v.clientDst, port: v.clientDst.port ?? ident };
  const seen = { ...v, clientDst: f.client.dst };
  const h = g.half(f);
  const t0 = g.begin();
  for (let i = 0; i < s.count; i++) {
    const t = t0 + i * s.interval;
    const data = pingData(g, t, s.bytes);
    const req = { type: v6 ? 128 : 8, code: 0, id: ident, seq: i + 1, payload: data };
    g.emit(
      t,
      f.client,
      f.server,
      v6 ? { icmpv6: req } : { icmp: req },
      { df: true, id: g.nextId(f.client), flowLabel: f.client.flowLabel },
      f,
      'client',
    );
    if (s.reply) {
      const rep = { ...req, type: v6 ? 129 : 0, id: f.client.dst.port ?? ident };
      g.emit(
        t + h,
        f.server,
        f.client,
        v6 ? { icmpv6: rep } : { icmp: rep },
        { df: false, id: g.nextId(f.server), flowLabel: f.server.flowLabel },
        f,
        'server',
      );
    }
  }
  return `ping ${epText({ ...s.client, port: null })} -> ${epText({ ...s.server, port: null })}${natText(s.nat, seen, true)}: ${plural(s.count, 'echo request')}${s.reply ? ', answered' : ', unanswered'}`;
}

/** Echo data as Linux ping sends it: a struct timeval (when it fits), then bytes counting up. */
function pingData(g: Emitter, t: number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = i & 0xff;
  if (n >= 16) {
    const total = g.sc.start.usec + t;
    const sec = g.sc.start.sec + Math.floor(total / 1e6);
    const usec = total % 1e6;
    const v = new DataView(b.buffer);
    v.setBigUint64(0, BigInt(sec), true);
    v.setBigUint64(8, BigInt(usec), true);
  }
  return b;
}
