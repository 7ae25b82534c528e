/**
 * Turn a lab scenario step (lab/scenarios/*.json, the format record.py sends
 * through the kernel) into the DecodedPacket fwemu's conntrack sees.
 */
import type { DecodedPacket } from '../../src/packet/types.js';
import { generic, icmp, icmpError, tcp, udp } from './helpers.js';

export interface Step {
  side: 'a' | 'c';
  v6?: boolean;
  proto?: 'tcp' | 'udp' | 'icmp' | 'icmperr' | 'ip';
  /** proto 'ip': the IP protocol number */
  ipproto?: number;
  flags?: string;
  seq?: number;
  ack?: number;
  win?: number;
  len?: number;
  wscale?: number;
  sackPerm?: boolean;
  sack?: [number, number];
  sport?: number;
  dport?: number;
  type?: number;
  code?: number;
  id?: number;
  inner_side?: 'a' | 'c';
  inner_proto?: 'tcp' | 'udp' | 'icmp';
  outer_dst?: string;
  sleep?: number;
}

export interface Scenario {
  sysctl?: Record<string, number>;
  steps: Step[];
}

export interface Recording {
  kernel: string;
  steps: { i: number; t: number; tList: number; state: string; list: string[] }[];
  /** `conntrack -E` lines of the whole run. */
  events: string[];
}

/** Settings equivalent to the scenario's sysctls (net.netfilter.nf_conntrack_*). */
export function scenarioSettings(s: Scenario): Record<string, number | boolean> {
  const out: Record<string, number | boolean> = {};
  for (const [k, v] of Object.entries(s.sysctl ?? {})) {
    const name = k.replace(/^nf_conntrack_/, '');
    out[name] = ['tcp_loose', 'tcp_be_liberal', 'tcp_ignore_invalid_rst'].includes(name) ? v !== 0 : v;
  }
  return out;
}

export function stepPacket(s: Step): DecodedPacket {
  const v6 = s.v6 ?? false;
  const A = v6 ? 'fd01::2' : '10.1.0.2';
  const C = v6 ? 'fd02::2' : '10.2.0.2';
  const br = (h: string): string => (v6 ? `[${h}]` : h);
  const proto = s.proto ?? 'tcp';
  if (proto === 'tcp' || proto === 'udp') {
    const sp = s.sport ?? 40000;
    const dp = s.dport ?? (proto === 'udp' ? 53 : 8080);
    const flow = s.side === 'a' ? `${br(A)}:${sp} > ${br(C)}:${dp}` : `${br(C)}:${dp} > ${br(A)}:${sp}`;
    if (proto === 'udp') return udp(flow, { len: s.len ?? 0 });
    let sackRight: number | undefined;
    if (s.sack) {
      // as the decoder computes it: the right edge if it is after ack, else ack
      const right = s.sack[1] >>> 0;
      const ack = (s.ack ?? 0) >>> 0;
      sackRight = ((ack - right) | 0) < 0 ? right : ack;
    }
    return tcp(flow, s.flags ?? '', {
      seq: s.seq ?? 0,
      ack: s.ack ?? 0,
      win: s.win ?? 65535,
      len: s.len ?? 0,
      wscale: s.wscale,
      sackPerm: s.sackPerm,
      sack: sackRight,
    });
  }
  let outer = s.side === 'a' ? `${A} > ${C}` : `${C} > ${A}`;
  if (proto === 'ip') return generic(outer, s.ipproto!);
  if (proto === 'icmp') return icmp(outer, { type: s.type!, code: s.code ?? 0, id: s.id ?? 0 });
  if (s.outer_dst) outer = `${outer.split('>')[0]}> ${s.outer_dst}`;
  const ip = s.inner_proto ?? 'udp';
  if (ip === 'icmp') {
    const iflow = s.inner_side === 'a' ? `${A} > ${C}` : `${C} > ${A}`;
    return icmpError(
      outer,
      { type: s.type!, code: s.code ?? (v6 ? 4 : 3) },
      { proto: 'icmp', flow: iflow, id: s.id ?? 0 },
    );
  }
  const isp = s.sport ?? 40000;
  const idp = s.dport ?? (ip === 'udp' ? 53 : 8080);
  const iflow = s.inner_side === 'a' ? `${br(A)}:${isp} > ${br(C)}:${idp}` : `${br(C)}:${idp} > ${br(A)}:${isp}`;
  return icmpError(outer, { type: s.type!, code: s.code ?? (v6 ? 4 : 3) }, { proto: ip, flow: iflow });
}
