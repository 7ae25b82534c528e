/**
 * How a protocol decoder gives up on a packet: MALFORMED with a message.
 * The message is built only on failure (the success path allocates nothing),
 * from header numbers resolved to names here.
 */

import { IpProto, PacketKind, type DecodedPacket } from './types.js';

export function malformed(p: DecodedPacket, error: string): DecodedPacket {
  p.kind = PacketKind.MALFORMED;
  p.error = error;
  return p;
}

/**
 * Check that `n` bytes at `pos` lie within the IP packet and the capture.
 * On failure mark `out` MALFORMED with a message naming the header `what`
 * (an IP protocol / extension header number, resolved to a name only here).
 */
export function need(out: DecodedPacket, n: number, pos: number, ipEnd: number, capEnd: number, what: number): boolean {
  if (pos + n <= ipEnd && pos + n <= capEnd) return true;
  const name = headerName(what);
  if (pos + n > ipEnd) {
    const has = ipEnd - pos;
    malformed(out, `${name} needs ${n} bytes but the IP packet has only ${has < 0 ? 0 : has} left`);
  } else if (out.ipVersion === 4) {
    malformed(
      out,
      `IPv4 total length ${out.ipTotalLen} exceeds captured ${capEnd - out.ipOff} bytes (${name} incomplete)`,
    );
  } else {
    malformed(
      out,
      `IPv6 payload length ${out.ipTotalLen - 40} exceeds captured ${capEnd - out.ipOff - 40} bytes (${name} incomplete)`,
    );
  }
  return false;
}

function headerName(what: number): string {
  switch (what) {
    case IpProto.TCP:
      return 'TCP header';
    case IpProto.UDP:
      return 'UDP header';
    case IpProto.UDPLITE:
      return 'UDP-Lite header';
    case IpProto.SCTP:
      return 'SCTP common header';
    case IpProto.ICMP:
      return 'ICMP header';
    case IpProto.ICMPV6:
      return 'ICMPv6 header';
    case IpProto.HOPOPTS:
      return 'IPv6 hop-by-hop options header';
    case IpProto.ROUTING:
      return 'IPv6 routing header';
    case IpProto.FRAGMENT:
      return 'IPv6 fragment header';
    case IpProto.DSTOPTS:
      return 'IPv6 destination options header';
    case IpProto.AUTH:
      return 'IPv6 authentication header';
    default:
      return `IPv6 extension header ${what}`;
  }
}
