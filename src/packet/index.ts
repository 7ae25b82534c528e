/** Packet decoding (hot path), description (cold) and frame building (tests, synthetic traffic). */
export * from './types.js';
export { newDecodedPacket, decodePacket, etherTypeName, DecodeNote } from './decode.js';
export { describePacket, protoName, tcpFlagsString, icmpTypeName, formatAddr, parseAddr, type ParsedAddr } from './describe.js';
export {
  buildPacket,
  buildIpPacket,
  buildFrame,
  buildArp,
  buildFragments,
  fragmentIp,
  encodeTcpOptions,
  parseTcpFlags,
  parseMac,
  onesSum,
  finishChecksum,
  internetChecksum,
  LINK_TYPE_OF,
  DEFAULT_SRC_MAC,
  DEFAULT_DST_MAC,
  type LinkKind,
  type FrameOptions,
  type IpSpec,
  type Ipv6ExtSpec,
  type TcpSpec,
  type TcpFlags,
  type TcpOptionsSpec,
  type UdpSpec,
  type IcmpSpec,
  type PacketSpec,
  type ArpSpec,
} from './encode.js';
