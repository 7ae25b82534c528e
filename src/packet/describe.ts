/**
 * Cold-path views of a DecodedPacket: strings and plain objects for reports,
 * JSON output and error messages.
 */

import { Direction } from '../base/link.js';
import { formatAddr } from './addr.js';
import { icmpText } from './icmp-names.js';
import { DecodeNote, IpProto, isPortProto, PacketKind, TcpFlag, type DecodedPacket, type PacketInfo } from './types.js';

export { formatAddr, parseAddr, type ParsedAddr } from './addr.js';

/** The names nft, tcpdump and conntrack-tools share for the protocols fwemu decodes; null for others. */
export function knownProtoName(n: number): string | null {
  switch (n) {
    case IpProto.TCP:
      return 'tcp';
    case IpProto.UDP:
      return 'udp';
    case IpProto.ICMP:
      return 'icmp';
    case IpProto.ICMPV6:
      return 'icmpv6';
    case IpProto.UDPLITE:
      return 'udplite';
    case IpProto.SCTP:
      return 'sctp';
    default:
      return null;
  }
}

/** "tcp", "udp", "icmp", "icmpv6", "udplite", "sctp", or "ip proto N". */
export function protoName(n: number): string {
  return knownProtoName(n) ?? `ip proto ${n}`;
}

/**
 * TCP flags as tcpdump prints them inside "Flags [...]": letters in the order
 * of tcpdump's print-tcp.c table - F S R P, "." for ACK, then U E W - and
 * "none" when no flag is set. E.g. "S", "S.", ".", "P.", "F.", "FP.", "R.".
 */
export function tcpFlagsString(flags: number): string {
  return FLAGS_TEXT[flags & 0xff];
}

/** tcpFlagsString() of every flags byte, made once: the reports ask for it on every TCP packet. */
const FLAGS_TEXT: readonly string[] = Array.from({ length: 256 }, (_, flags) => flagsText(flags));

function flagsText(flags: number): string {
  let s = '';
  if (flags & TcpFlag.FIN) s += 'F';
  if (flags & TcpFlag.SYN) s += 'S';
  if (flags & TcpFlag.RST) s += 'R';
  if (flags & TcpFlag.PSH) s += 'P';
  if (flags & TcpFlag.ACK) s += '.';
  if (flags & TcpFlag.URG) s += 'U';
  if (flags & TcpFlag.ECE) s += 'E';
  if (flags & TcpFlag.CWR) s += 'W';
  return s === '' ? 'none' : s;
}

/** An echo request or reply (ICMP 8/0, ICMPv6 128/129): it carries an id and a sequence number. */
export function isEcho(ipVersion: number, type: number): boolean {
  return ipVersion === 4 ? type === 8 || type === 0 : type === 128 || type === 129;
}

/** The packet's ports are known and shown (TCP, UDP, and UDP-Lite or SCTP with their whole header). */
export function hasPorts(p: DecodedPacket): boolean {
  if (p.kind !== PacketKind.IP || p.l4Off < 0) return false;
  return (
    p.proto === IpProto.TCP ||
    p.proto === IpProto.UDP ||
    (p.proto === IpProto.UDPLITE && p.note !== DecodeNote.UDPLITE_SHORT) ||
    (p.proto === IpProto.SCTP && p.note !== DecodeNote.SCTP_SHORT)
  );
}

/** Plain-object view of a decoded packet (cold path; allocates). */
export function describePacket(p: DecodedPacket): PacketInfo {
  const info: PacketInfo = {
    kind: p.kind === PacketKind.IP ? 'ip' : p.kind === PacketKind.NON_IP ? 'non-ip' : 'malformed',
  };
  if (p.kind === PacketKind.MALFORMED) info.error = p.error;
  if (p.note !== '') info.note = p.note;
  if (p.l2Name !== '') info.l2 = p.l2Name;
  if (p.vlanOuter !== -1) info.vlan = p.vlanInner !== -1 ? [p.vlanOuter, p.vlanInner] : [p.vlanOuter];
  if (p.direction === Direction.INBOUND) info.direction = 'in';
  else if (p.direction === Direction.OUTBOUND) info.direction = 'out';

  // Addresses are known as soon as the fixed IP header was read, even for malformed packets.
  if (p.ipVersion === 4 || p.ipVersion === 6) {
    info.ipVersion = p.ipVersion;
    info.src = formatAddr(p.ipVersion, p.src0, p.src1, p.src2, p.src3);
    info.dst = formatAddr(p.ipVersion, p.dst0, p.dst1, p.dst2, p.dst3);
    if (p.isFragment) info.fragment = { offset: p.fragOffset, more: p.moreFragments, id: p.ipId };
    if (p.kind !== PacketKind.IP) return info;
    info.proto = protoName(p.proto);
    info.protoNumber = p.proto;
    if (p.ipVersion === 4 || p.isFragment) info.ipId = p.ipId;
    info.ttl = p.ttl;
    info.ipLen = p.ipTotalLen;
    if (p.snapTruncated) info.truncated = true;
  } else {
    return info;
  }

  if (p.l4Off < 0) return info;
  if (p.proto === IpProto.TCP) {
    info.sport = p.sport;
    info.dport = p.dport;
    info.tcp = { flags: tcpFlagsString(p.tcpFlags), seq: p.seq, ack: p.ack, win: p.window, len: p.payloadLen };
    const o: NonNullable<NonNullable<PacketInfo['tcp']>['options']> = {};
    if (p.mss !== -1) o.mss = p.mss;
    if (p.wscale !== -1) o.wscale = p.wscale;
    if (p.sackPermitted) o.sackOk = true;
    if (p.hasTimestamp) o.ts = [p.tsVal, p.tsEcr];
    if (Object.keys(o).length > 0) info.tcp.options = o;
  } else if (p.proto === IpProto.UDP) {
    info.sport = p.sport;
    info.dport = p.dport;
    info.udp = { len: p.payloadLen };
  } else if ((p.proto === IpProto.UDPLITE || p.proto === IpProto.SCTP) && hasPorts(p)) {
    info.sport = p.sport;
    info.dport = p.dport;
  } else if (p.icmpType !== -1) {
    const icmp: NonNullable<PacketInfo['icmp']> = {
      type: p.icmpType,
      code: p.icmpCode,
      name: icmpText(p.ipVersion, p.icmpType, p.icmpCode),
    };
    if (isEcho(p.ipVersion, p.icmpType)) {
      icmp.id = p.icmpId;
      icmp.seq = p.icmpSeq;
    }
    if (p.innerValid) {
      const inner: NonNullable<typeof icmp.inner> = {
        src: formatAddr(p.innerIpVersion, p.innerSrc0, p.innerSrc1, p.innerSrc2, p.innerSrc3),
        dst: formatAddr(p.innerIpVersion, p.innerDst0, p.innerDst1, p.innerDst2, p.innerDst3),
        proto: protoName(p.innerProto),
      };
      if (isPortProto(p.innerProto)) {
        inner.sport = p.innerSport;
        inner.dport = p.innerDport;
      }
      icmp.inner = inner;
    }
    info.icmp = icmp;
  }
  return info;
}
