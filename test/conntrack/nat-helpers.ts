/**
 * Driving a conntrack table through NAT hooks as the kernel does for a
 * forwarded packet: prerouting (conntrack, then DST NAT), postrouting (SRC
 * NAT, then confirm). Tuples are written "a:p > b:q" (ICMP: "a > b id=N").
 */
import { formatAddr, parseAddr } from '../../src/packet/addr.js';
import { IpProto, type DecodedPacket } from '../../src/packet/types.js';
import {
  CtTuple,
  NatManip,
  natApply,
  natInitialized,
  natIcmpError,
  natNullBinding,
  natPacketTuple,
  natQuotedTuple,
  natSetup,
  type CtResult,
  type NatRange,
} from '../../src/conntrack/index.js';
import type { Driver } from './helpers.js';

export function words(a: string): [number, number, number, number] {
  const p = parseAddr(a);
  if (!p) throw new Error(`bad address ${a}`);
  return p.words;
}

/** A NatRange: "203.0.113.1", "203.0.113.1-203.0.113.5", optional ports "40000-40100". */
export function range(addr: string | null, ports?: string, flags = 0): NatRange {
  let a: NatRange['addr'] = null;
  if (addr !== null) {
    const [lo, hi] = addr.includes('-') ? addr.split('-') : [addr, addr];
    a = { lo: words(lo), hi: words(hi) };
  }
  let p: NatRange['ports'] = null;
  if (ports !== undefined) {
    const [lo, hi] = ports.split('-').map(Number);
    p = { lo, hi: hi ?? lo };
  }
  return { addr: a, ports: p, flags };
}

export function text(t: CtTuple): string {
  const s = formatAddr(t.l3, t.src0, t.src1, t.src2, t.src3);
  const d = formatAddr(t.l3, t.dst0, t.dst1, t.dst2, t.dst3);
  const br = (x: string): string => (t.l3 === 6 ? `[${x}]` : x);
  if (t.proto === IpProto.ICMP || t.proto === IpProto.ICMPV6) return `${s} > ${d} id=${t.sport}`;
  if (t.proto === IpProto.TCP || t.proto === IpProto.UDP) return `${br(s)}:${t.sport} > ${br(d)}:${t.dport}`;
  return `${s} > ${d}`;
}

/** The packet's tuple in CtTuple layout (ICMP: sport = id, dport = type << 8 | code). */
export function packetTuple(p: DecodedPacket, out = new CtTuple()): CtTuple {
  return natPacketTuple(p, out);
}

export interface Hop {
  r: CtResult;
  state: string;
  reply: boolean;
  /** After prerouting's DST manip (what routing sees). */
  routed: string;
  /** As it leaves (after postrouting's SRC manip). */
  out: string;
  setup: boolean;
}

/** A nat rule for a new flow: dnat at prerouting, snat (masquerade) at postrouting; null: the null binding. */
export interface Rules {
  dnat?: NatRange;
  snat?: NatRange;
}

/**
 * Forward one packet: conntrack, prerouting NAT (DST), postrouting NAT
 * (SRC), confirm when the NAT setup worked.
 */
export function forward(d: Driver, p: DecodedPacket, rules: Rules = {}, dt = 0): Hop {
  d.now += dt;
  const r = d.ct.process(p, d.now, ++d.n);
  const t = packetTuple(p);
  // The kernel's nat hooks consult the rules for ct state new only while the manip is not yet
  // decided (nf_nat_inet_fn: IP_CT_NEW && !nf_nat_initialized): a retransmitted SYN skips them.
  const isNew = r.stateName === 'new';
  if (isNew && !natInitialized(r, NatManip.DST)) {
    if (rules.dnat) natSetup(r, NatManip.DST, rules.dnat);
    else natNullBinding(r, NatManip.DST);
  }
  natApply(r, NatManip.DST, t);
  const routed = text(t);
  let ok = true;
  const srcNew = isNew && !natInitialized(r, NatManip.SRC);
  if (srcNew) ok = rules.snat ? natSetup(r, NatManip.SRC, rules.snat) : natNullBinding(r, NatManip.SRC);
  natApply(r, NatManip.SRC, t);
  const inserted = d.ct.confirm(r);
  if (srcNew && ok !== inserted) throw new Error(`natSetup said ${ok}, confirm ${inserted}`);
  return { r, state: r.stateName, reply: r.reply, routed, out: text(t), setup: ok };
}

/** An ICMP error's quoted packet as a tuple (CtTuple layout). */
export function innerTuple(p: DecodedPacket, out = new CtTuple()): CtTuple {
  return natQuotedTuple(p, out);
}

export interface ErrorHop {
  state: string;
  reply: boolean;
  /** NatIcmp results at prerouting (DST) and postrouting (SRC). */
  pre: number;
  post: number;
  /** The error as it leaves: "outer src > outer dst | inner tuple". */
  out: string;
}

/** Forward an ICMP error through both NAT hooks (nf_nat_icmp_reply_translation at each). */
export function forwardError(d: Driver, p: DecodedPacket): ErrorHop {
  const r = d.ct.process(p, d.now, ++d.n);
  const outer = packetTuple(p);
  const inner = innerTuple(p);
  const pre = natIcmpError(r, NatManip.DST, p.icmpType, outer, inner);
  const post = natIcmpError(r, NatManip.SRC, p.icmpType, outer, inner);
  d.ct.confirm(r);
  const o = `${formatAddr(outer.l3, outer.src0, outer.src1, outer.src2, outer.src3)} > ${formatAddr(outer.l3, outer.dst0, outer.dst1, outer.dst2, outer.dst3)}`;
  return { state: r.stateName, reply: r.reply, pre, post, out: `${o} | ${text(inner)}` };
}
