/**
 * ICMP and ICMPv6 connection tracking (nf_conntrack_proto_icmp.c and
 * nf_conntrack_proto_icmpv6.c): queries and their replies are tracked by
 * id and type; errors are sorted out before any lookup and, when they
 * quote a packet, related to that packet's entry (the lookup itself is the
 * table's: ConntrackTable.inetError).
 *
 * Deliberate differences from the kernel:
 * - ICMPv6 redirects are never related (the decoder does not read the
 *   redirected header they carry); the kernel relates a well-formed one.
 * - The code of a quoted inner ICMP echo is taken as 0 (the decoder does not
 *   report it); ICMP timestamp/info/address ids are taken from icmpId.
 */
import { icmpWords } from '../packet/icmp-names.js';
import { IpProto, isIcmpError, isPortProto, type DecodedPacket } from '../packet/types.js';
import { B_PROTO, F_DEADLINE, S32, S64, STRIDE, W_PORTS, type CtTuple } from './entry.js';
import { CtVerdict, type CtPacketCtx, type CtVerdictValue } from './l4proto.js';

/** Types that may create an entry (valid_new in nf_conntrack_icmp_packet). */
const ICMP_VALID_NEW = new Uint8Array(256);
ICMP_VALID_NEW[8] = 1;
ICMP_VALID_NEW[13] = 1;
ICMP_VALID_NEW[15] = 1;
ICMP_VALID_NEW[17] = 1;
/** NR_ICMP_TYPES */
const NR_ICMP_TYPES = 18;
const ICMP6_VALID_NEW = new Uint8Array(256);
ICMP6_VALID_NEW[128] = 1;
ICMP6_VALID_NEW[139] = 1;
/** noct_valid_new: neighbour discovery and MLD are never tracked. */
const ICMP6_NOCT = new Uint8Array(256);
for (const t of [130, 131, 132, 133, 134, 135, 136, 143, 151, 152]) ICMP6_NOCT[t] = 1;

const NOTE_ICMP = 'ICMP query/reply';

/** What icmpError() makes of an ICMP packet before any lookup. */
export const IcmpKind = {
  /** A query or reply: track it as usual. */
  QUERY: 0,
  /** An error: relate it to the entry of the packet it quotes (nf_conntrack_inet_error). */
  ERROR: 1,
  /** Never tracked (ICMPv6 neighbour discovery, MLD). */
  UNTRACKED: 2,
  /** INVALID (CtCode.INVALID_PACKET): the wrong IP version, or an unknown type. */
  MALFORMED: 3,
  /** INVALID (CtCode.INVALID_ICMP_ERROR): an error that relates to nothing. */
  UNRELATED: 4,
} as const;

/**
 * nf_conntrack_icmpv4_error() / nf_conntrack_icmpv6_error() up to the
 * lookup of the quoted packet: its IcmpKind, with the reason in c.note
 * for UNTRACKED, MALFORMED and UNRELATED.
 */
export function icmpError(c: CtPacketCtx, p: DecodedPacket): number {
  const proto = p.proto;
  if ((proto === IpProto.ICMP) !== (p.ipVersion === 4) || p.icmpType < 0) {
    c.note = `${proto === IpProto.ICMP ? 'ICMP over IPv6' : 'ICMPv6 over IPv4'} is not tracked (nf_conntrack_icmp${proto === IpProto.ICMP ? '' : 'v6'}_packet)`;
    return IcmpKind.MALFORMED;
  }
  const type = p.icmpType;
  if (p.ipVersion === 4) {
    if (type > NR_ICMP_TYPES) {
      c.note = `invalid icmp type ${type} (above ${NR_ICMP_TYPES}, nf_conntrack_icmpv4_error)`;
      return IcmpKind.MALFORMED;
    }
    if (!isIcmpError(4, type)) return IcmpKind.QUERY;
  } else {
    if (ICMP6_NOCT[type]) {
      c.note = `${icmpWords(6, type, p.icmpCode)} (neighbour discovery / MLD) is never tracked (nf_conntrack_icmpv6_error)`;
      return IcmpKind.UNTRACKED;
    }
    if (type === 137) {
      c.note = 'icmpv6 nd-redirect: fwemu does not read the redirected header, so it is not related to any connection';
      return IcmpKind.UNRELATED;
    }
    if (type >= 128) return IcmpKind.QUERY;
  }
  return IcmpKind.ERROR;
}

/**
 * nf_conntrack_inet_error(), its first half: the tuple of the packet an
 * ICMP error quotes, into `q`. False (c.note says why) when the error
 * quotes no readable packet of its own IP version.
 */
export function icmpQuotedTuple(c: CtPacketCtx, p: DecodedPacket, q: CtTuple): boolean {
  if (!p.innerValid || p.innerIpVersion !== p.ipVersion) {
    c.note = `${icmpWords(p.ipVersion, p.icmpType, p.icmpCode)}, an error, quotes no readable packet, so it relates to no connection`;
    return false;
  }
  q.l3 = p.innerIpVersion;
  q.proto = p.innerProto;
  q.src0 = p.innerSrc0 >>> 0;
  q.src1 = p.innerSrc1 >>> 0;
  q.src2 = p.innerSrc2 >>> 0;
  q.src3 = p.innerSrc3 >>> 0;
  q.dst0 = p.innerDst0 >>> 0;
  q.dst1 = p.innerDst1 >>> 0;
  q.dst2 = p.innerDst2 >>> 0;
  q.dst3 = p.innerDst3 >>> 0;
  if (isPortProto(q.proto)) {
    q.sport = p.innerSport;
    q.dport = p.innerDport;
  } else if (q.proto === IpProto.ICMP || q.proto === IpProto.ICMPV6) {
    q.sport = p.innerSport;
    q.dport = p.innerDport << 8; // inner code taken as 0
  } else {
    q.sport = 0;
    q.dport = 0;
  }
  return true;
}

/** nf_conntrack_icmp_packet() / nf_conntrack_icmpv6_packet() */
export function icmpPacket(
  c: CtPacketCtx,
  slot: number,
  _dir: number,
  isNew: boolean,
  _p: DecodedPacket,
): CtVerdictValue {
  const st = c.st;
  const type = (st.u32[slot * S32 + W_PORTS] >>> 8) & 0xff;
  if (st.u8[slot * STRIDE + B_PROTO] === IpProto.ICMP) {
    if (!ICMP_VALID_NEW[type]) {
      c.note = `${icmpWords(4, type, 0)} cannot create a connection: no matching request was seen (nf_conntrack_icmp_packet)`;
      return CtVerdict.INVALID;
    }
    st.f64[slot * S64 + F_DEADLINE] = c.now + c.settings.icmp_timeout;
  } else {
    if (isNew && !ICMP6_VALID_NEW[type]) {
      c.note = `${icmpWords(6, type, 0)} cannot create a connection: no matching request was seen (nf_conntrack_icmpv6_packet)`;
      return CtVerdict.INVALID;
    }
    st.f64[slot * S64 + F_DEADLINE] = c.now + c.settings.icmpv6_timeout;
  }
  c.note = NOTE_ICMP;
  return CtVerdict.ACCEPT;
}
