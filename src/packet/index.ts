/** Packet decoding (hot path), description (cold) and frame building (tests, synthetic traffic). */
export * from './types.js';
export { newDecodedPacket, decodePacket } from './decode.js';
export { etherTypeName } from './ethernet.js';
export {
  describePacket,
  protoName,
  tcpFlagsString,
  formatAddr,
  parseAddr,
  type ParsedAddr,
} from './describe.js';
export {
  ICMP_TYPES,
  ICMPV6_TYPES,
  ICMP_CODES,
  ICMPV6_CODES,
  icmpNames,
  icmpTypeName,
  icmpCodeName,
  icmpCodeNameOf,
  icmpText,
  icmpWords,
} from './icmp-names.js';
export { onesSum, finishChecksum, internetChecksum } from './checksum.js';
export { encodeTcpOptions, parseTcpFlags, type TcpSpec, type TcpFlags, type TcpOptionsSpec } from './tcp.js';
export type { UdpSpec } from './udp.js';
export type { IcmpSpec } from './icmp.js';
export {
  buildPacket,
  buildIpPacket,
  buildFrame,
  buildArp,
  buildFragments,
  fragmentIp,
  parseMac,
  LINK_TYPE_OF,
  DEFAULT_SRC_MAC,
  DEFAULT_DST_MAC,
  type LinkKind,
  type FrameOptions,
  type IpSpec,
  type Ipv6ExtSpec,
  type PacketSpec,
  type ArpSpec,
} from './encode.js';
