/**
 * NAT per packet (nf_nat_proto.c): rewriting a packet's tuple from its
 * entry's tuples (nf_nat_packet, nf_nat_manip_pkt), an ICMP error and its
 * quoted packet (nf_nat_icmp_reply_translation), and the tuple layout the
 * rewriting works on, filled from a decoded packet. No allocation.
 */
import { IpProto, isPortProto, type DecodedPacket } from '../packet/types.js';
import { H_STATUS, invertTuple, S16, type CtStore, type CtTuple } from './entry.js';
import { isNatPortProto, NatIcmp, NatManip, type NatIcmpValue } from './nat-types.js';
import { CT_NAT_DONE_MASK, CT_NAT_MASK, CtStatus } from './types.js';

/**
 * nf_nat_packet(): rewrite packet tuple `t` of direction `dir` of record
 * `slot` at a hook of `manip`, when the entry has that manip's NAT bit
 * (swapped for replies). `tmp` is scratch. True when it rewrote.
 */
export function natPacketAt(st: CtStore, slot: number, dir: number, manip: number, t: CtTuple, tmp: CtTuple): boolean {
  let bit = manip === NatManip.SRC ? CtStatus.SRC_NAT : CtStatus.DST_NAT;
  if (dir === 1) bit ^= CT_NAT_MASK;
  if (!(st.u16[slot * S16 + H_STATUS] & bit)) return false;
  // The packet becomes invert(other direction's tuple): its src is other.dst, its dst other.src.
  manipTuple(t, st.loadTuple(slot, 1 - dir, tmp), manip, true);
  return true;
}

/** The tuple a packet of direction `dir` leaves with after every NAT hook: invert(tuple[!dir]). */
export function natTargetAt(st: CtStore, slot: number, dir: number, out: CtTuple, tmp: CtTuple): CtTuple {
  invertTuple(st.loadTuple(slot, 1 - dir, tmp), out);
  return out;
}

/**
 * nf_nat_icmp_reply_translation() / nf_nat_icmpv6_reply_translation() for
 * an error travelling in direction `dir` of record `slot`.
 */
export function natIcmpErrorAt(
  st: CtStore,
  slot: number,
  dir: number,
  manip: number,
  icmpType: number,
  outer: CtTuple,
  inner: CtTuple,
  tmp: CtTuple,
): NatIcmpValue {
  const status = st.u16[slot * S16 + H_STATUS];
  const redirect = outer.l3 === 6 ? icmpType === 137 : icmpType === 5;
  if (redirect && ((status & CT_NAT_DONE_MASK) !== CT_NAT_DONE_MASK || status & CT_NAT_MASK)) return NatIcmp.DROP;
  let bit = manip === NatManip.SRC ? CtStatus.SRC_NAT : CtStatus.DST_NAT;
  if (dir === 1) bit ^= CT_NAT_MASK;
  if (!(status & bit)) return NatIcmp.UNCHANGED;
  const other = st.loadTuple(slot, 1 - dir, tmp);
  // The quoted packet travelled in direction !dir: it is restored to that tuple, with the other manip.
  manipTuple(inner, other, manip === NatManip.SRC ? NatManip.DST : NatManip.SRC, false);
  // The error itself: as the reply to an incoming packet.
  if (manip === NatManip.SRC) {
    outer.src0 = other.dst0;
    outer.src1 = other.dst1;
    outer.src2 = other.dst2;
    outer.src3 = other.dst3;
  } else {
    outer.dst0 = other.src0;
    outer.dst1 = other.src1;
    outer.dst2 = other.src2;
    outer.dst3 = other.src3;
  }
  return NatIcmp.CHANGED;
}

function manipTuple(t: CtTuple, tg: CtTuple, manip: number, inverted: boolean): void {
  const proto = t.proto;
  const icmp = proto === IpProto.ICMP || proto === IpProto.ICMPV6;
  const ports = isNatPortProto(proto);
  if (manip === NatManip.SRC) {
    if (inverted) {
      t.src0 = tg.dst0;
      t.src1 = tg.dst1;
      t.src2 = tg.dst2;
      t.src3 = tg.dst3;
      if (ports) t.sport = tg.dport;
    } else {
      t.src0 = tg.src0;
      t.src1 = tg.src1;
      t.src2 = tg.src2;
      t.src3 = tg.src3;
      if (ports) t.sport = tg.sport;
    }
  } else if (inverted) {
    t.dst0 = tg.src0;
    t.dst1 = tg.src1;
    t.dst2 = tg.src2;
    t.dst3 = tg.src3;
    if (ports) t.dport = tg.sport;
  } else {
    t.dst0 = tg.dst0;
    t.dst1 = tg.dst1;
    t.dst2 = tg.dst2;
    t.dst3 = tg.dst3;
    if (ports) t.dport = tg.dport;
  }
  // icmp_manip_pkt: the echo id is src.u.icmp.id of the target, kept by inversion.
  if (icmp && isIcmpQuery(proto, t.dport >>> 8)) t.sport = tg.sport;
}

/** ICMP types whose header carries an id icmp_manip_pkt/icmpv6_manip_pkt rewrite. */
function isIcmpQuery(proto: number, type: number): boolean {
  if (proto === IpProto.ICMPV6) return type === 128 || type === 129;
  return type === 0 || type === 8 || (type >= 13 && type <= 18);
}

/** The packet's own tuple in CtTuple layout, as conntrack keys it (ports; ICMP: id, type << 8 | code). */
export function natPacketTuple(p: DecodedPacket, out: CtTuple): CtTuple {
  out.l3 = p.ipVersion;
  out.proto = p.proto;
  out.src0 = p.src0 >>> 0;
  out.src1 = p.src1 >>> 0;
  out.src2 = p.src2 >>> 0;
  out.src3 = p.src3 >>> 0;
  out.dst0 = p.dst0 >>> 0;
  out.dst1 = p.dst1 >>> 0;
  out.dst2 = p.dst2 >>> 0;
  out.dst3 = p.dst3 >>> 0;
  if (isPortProto(p.proto)) {
    out.sport = p.sport;
    out.dport = p.dport;
  } else if (p.proto === IpProto.ICMP || p.proto === IpProto.ICMPV6) {
    out.sport = p.icmpId;
    out.dport = (p.icmpType << 8) | p.icmpCode;
  } else {
    out.sport = 0;
    out.dport = 0;
  }
  return out;
}

/** An ICMP error's quoted packet in CtTuple layout (the inner code is not decoded: 0). */
export function natQuotedTuple(p: DecodedPacket, out: CtTuple): CtTuple {
  out.l3 = p.innerIpVersion;
  out.proto = p.innerProto;
  out.src0 = p.innerSrc0 >>> 0;
  out.src1 = p.innerSrc1 >>> 0;
  out.src2 = p.innerSrc2 >>> 0;
  out.src3 = p.innerSrc3 >>> 0;
  out.dst0 = p.innerDst0 >>> 0;
  out.dst1 = p.innerDst1 >>> 0;
  out.dst2 = p.innerDst2 >>> 0;
  out.dst3 = p.innerDst3 >>> 0;
  if (isPortProto(p.innerProto)) {
    out.sport = p.innerSport;
    out.dport = p.innerDport;
  } else if (p.innerProto === IpProto.ICMP || p.innerProto === IpProto.ICMPV6) {
    out.sport = p.innerSport;
    out.dport = p.innerDport << 8;
  } else {
    out.sport = 0;
    out.dport = 0;
  }
  return out;
}
