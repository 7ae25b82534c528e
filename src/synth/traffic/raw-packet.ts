/**
 * The packet step: one hand-made packet, either on a known flow (TCP
 * numbers relative to the connection, which it does not move on) or
 * between any two addresses with any IP protocol.
 */
import type { IpSpec } from '../../packet/encode.js';
import { tcpFlagsString } from '../../packet/describe.js';
import { icmpText } from '../../packet/icmp-names.js';
import { TcpFlag } from '../../packet/types.js';
import type { PacketStep } from '../types.js';
import type { Emitter } from './emitter.js';
import type { End } from './flow.js';
import { filler } from './payload.js';
import { epText, plural } from './summary-text.js';
import { seg, sides, u32 } from './tcp-segment.js';

const F = TcpFlag;

export function rawPacket(g: Emitter, s: PacketStep): string {
  const t = g.begin();
  const ipExtra = (e: End): Partial<IpSpec> => ({
    ttl: s.ttl ?? g.sc.options.ttl,
    id: s.ipId ?? g.nextId(e),
    df: s.df ?? (s.proto === 'tcp' || s.proto === 'udp'),
  });
  const payload = s.data ?? (s.bytes > 0 ? filler(0, s.bytes) : undefined);
  if (s.conn !== null) {
    const f = g.flowByName(s.conn);
    if (f.tcp) {
      const { S, R } = sides(f, s.from);
      const flags = s.flags ?? (s.bytes > 0 ? F.PSH | F.ACK : F.ACK);
      const seq = s.seq === null ? S.sndNxt : s.seq.relative ? u32(S.sndNxt + s.seq.value) : s.seq.value;
      const hasAck = (flags & F.ACK) !== 0;
      const ack = s.ack === null ? (hasAck ? S.rcvNxt : 0) : s.ack.relative ? u32(S.rcvNxt + s.ack.value) : s.ack.value;
      const tsRecentBefore = R.tsRecent;
      seg(g, f, S, R, t, {
        flags,
        seq,
        ack,
        payload,
        window: s.window ?? undefined,
        options: s.options ?? undefined,
        ip: ipExtra(S),
      });
      R.tsRecent = tsRecentBefore; // an odd packet does not move the connection on
      return `packet on ${f.name} from the ${s.from}: TCP [${tcpFlagsString(flags)}] seq ${seq} ack ${ack}${payload ? `, ${plural(payload.length, 'byte')}` : ''}`;
    }
    const X = s.from === 'client' ? f.client : f.server;
    const Y = s.from === 'client' ? f.server : f.client;
    g.emit(
      t,
      X,
      Y,
      { udp: { sport: X.ep.port!, dport: Y.dst.port!, payload: payload ?? new Uint8Array(0) } },
      ipExtra(X),
      f,
      s.from,
    );
    return `packet on ${f.name} from the ${s.from}: UDP${payload ? `, ${plural(payload.length, 'byte')}` : ''}`;
  }
  const src = s.src!;
  const dst = s.dst!;
  const sport = s.sport ?? (s.proto === 'tcp' || s.proto === 'udp' ? g.ephemeral(src.addr, false) : null);
  const a = g.newEnd(src, sport);
  const b = { ep: { ...dst, port: s.dport }, dst: { ...dst, port: s.dport }, mac: g.mac(dst.addr) };
  const ip = ipExtra(a);
  const title = `packet ${epText(a.ep)} -> ${epText(b.ep)}`;
  if (s.proto === 'tcp') {
    const flags = s.flags ?? F.SYN;
    const seq = s.seq?.value ?? g.rng.u32();
    const ack = s.ack?.value ?? ((flags & F.ACK) !== 0 ? g.rng.u32() : 0);
    g.emit(
      t,
      a,
      b,
      {
        tcp: {
          sport: sport!,
          dport: s.dport!,
          seq,
          ack,
          flags,
          window: s.window ?? 64240,
          options: s.options ?? undefined,
          payload,
        },
      },
      ip,
      null,
      null,
    );
    return `${title}: TCP [${tcpFlagsString(flags)}] seq ${seq}${(flags & F.ACK) !== 0 ? ` ack ${ack}` : ''}${payload ? `, ${plural(payload.length, 'byte')}` : ''}`;
  }
  if (s.proto === 'udp') {
    g.emit(t, a, b, { udp: { sport: sport!, dport: s.dport!, payload: payload ?? new Uint8Array(0) } }, ip, null, null);
    return `${title}: UDP, ${plural(payload?.length ?? 0, 'byte')}`;
  }
  if (s.proto === 'icmp' || s.proto === 'icmpv6') {
    const icmp = { type: s.icmpType!, code: s.icmpCode ?? 0, id: s.ident ?? g.rng.u16(), seq: s.icmpSeq ?? 1, payload };
    g.emit(t, a, b, s.proto === 'icmp' ? { icmp } : { icmpv6: icmp }, ip, null, null);
    return `${title}: ${s.proto} ${icmpText(s.proto === 'icmp' ? 4 : 6, icmp.type, icmp.code)}`;
  }
  g.emit(t, a, b, { payload: payload ?? new Uint8Array(0) }, { ...ip, proto: s.proto }, null, null);
  return `${title}: IP protocol ${s.proto}, ${plural(payload?.length ?? 0, 'byte')}`;
}
