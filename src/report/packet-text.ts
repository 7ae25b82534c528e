import type { PacketInfo } from '../packet/types.js';

/**
 * One packet in words, split into the columns every text report shares:
 * the endpoints ("10.1.0.2:51514 > 10.2.0.1:8080"), the protocol, and the
 * protocol details (TCP flags/seq/ack/len, ICMP type, ...).
 */
export interface PacketText {
  endpoints: string;
  proto: string;
  detail: string;
}

/** "10.1.0.2:80" or "[fd00::1]:80"; bare address when there is no port. */
export function endpoint(addr: string | undefined, port: number | undefined): string {
  if (addr === undefined) return '?';
  if (port === undefined) return addr;
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

function tcpDetail(info: PacketInfo): string {
  const t = info.tcp!;
  let s = `[${t.flags}] seq ${t.seq}`;
  if (t.flags.includes('.')) s += ` ack ${t.ack}`;
  s += ` win ${t.win} len ${t.len}`;
  const o = t.options;
  if (o) {
    const parts: string[] = [];
    if (o.mss !== undefined) parts.push(`mss ${o.mss}`);
    if (o.sackOk) parts.push('sackOK');
    if (o.ts) parts.push(`TS ${o.ts[0]}:${o.ts[1]}`);
    if (o.wscale !== undefined) parts.push(`wscale ${o.wscale}`);
    if (parts.length) s += ` <${parts.join(',')}>`;
  }
  return s;
}

function icmpDetail(info: PacketInfo): string {
  const i = info.icmp!;
  let s = i.name;
  if (i.id !== undefined) s += ` id ${i.id} seq ${i.seq ?? 0}`;
  if (i.inner) {
    const q = i.inner;
    s += `, quoting ${q.proto} ${endpoint(q.src, q.sport)} > ${endpoint(q.dst, q.dport)}`;
  }
  return s;
}

export function packetText(info: PacketInfo): PacketText {
  if (info.kind === 'malformed') {
    if (info.fragment) {
      // Unreadable alone, but the firewall judges fragments after reassembly (replay shows how).
      const f = info.fragment;
      return {
        endpoints: `${info.src} > ${info.dst ?? '?'}`,
        proto: info.proto ?? '?',
        detail: `fragment, unreadable on its own: ${info.error} (frag id ${f.id} off ${f.offset}${f.more ? ' +' : ''})`,
      };
    }
    return {
      endpoints: info.src ? `${info.src} > ${info.dst ?? '?'}` : '-',
      proto: info.proto ?? '?',
      detail: `undecodable: ${info.error}`,
    };
  }
  if (info.kind === 'non-ip') {
    return {
      endpoints: '-',
      proto: (info.l2 ?? 'non-ip').toLowerCase(),
      detail: 'not IP: never seen by the IP filter',
    };
  }
  const endpoints = `${endpoint(info.src, info.sport)} > ${endpoint(info.dst, info.dport)}`;
  let detail = '';
  if (info.tcp) detail = tcpDetail(info);
  else if (info.udp) detail = `len ${info.udp.len}`;
  else if (info.icmp) detail = icmpDetail(info);
  else if (info.ipLen !== undefined) detail = `ip len ${info.ipLen}`;
  if (info.fragment) {
    const f = info.fragment;
    detail += `${detail ? ' ' : ''}(frag id ${f.id} off ${f.offset}${f.more ? ' +' : ''})`;
  }
  if (info.truncated) detail += ' (cut by snaplen)';
  return { endpoints, proto: info.proto ?? '?', detail };
}
