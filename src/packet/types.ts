/**
 * The contract between the decoder and the stages after it (rules, conntrack,
 * engine, reports).
 *
 * `decodePacket()` fills ONE reused DecodedPacket per packet; it never throws
 * and never allocates on the success path. Addresses are kept as four 32-bit
 * words (IPv4 uses word 0 only, the rest 0) so that tuple hashing and rule
 * matching work on numbers. Everything friendlier (strings, objects) is built
 * on cold paths by `describePacket()`.
 */

/** What the decoder made of the frame. */
export const PacketKind = {
  /** An IPv4/IPv6 packet whose headers were all read (transport may be absent for non-first fragments). */
  IP: 1,
  /** A frame that is not IP (ARP, LLDP, ...): recognised, never filtered by an IP firewall. */
  NON_IP: 2,
  /** Headers could not be read; `error` says why. */
  MALFORMED: 3,
} as const;
export type PacketKindValue = (typeof PacketKind)[keyof typeof PacketKind];

/** IP protocol numbers used across fwemu. */
export const IpProto = {
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  ICMPV6: 58,
  /** SCTP (RFC 9260): ports, a verification tag, then chunks. */
  SCTP: 132,
  /** UDP-Lite (RFC 3828): UDP's ports, a checksum coverage where UDP has its length. */
  UDPLITE: 136,
  // IPv6 extension headers (the kernel's NEXTHDR_*): numbers from the same registry.
  HOPOPTS: 0,
  ROUTING: 43,
  FRAGMENT: 44,
  AUTH: 51,
  /** No next header: nothing follows. */
  NONE: 59,
  DSTOPTS: 60,
} as const;

/**
 * The constant strings DecodedPacket.note holds (no allocation on the decode
 * path); stages after the decoder compare against them.
 */
export const DecodeNote = {
  UDP_LENGTH_MISMATCH: 'UDP length field disagrees with the IP payload length; used the IP length',
  UDP_LENGTH_SHORT: 'UDP length field is shorter than the IP payload; trailing bytes ignored',
  VLAN_TAGS_BEYOND_TWO: 'more than two VLAN tags; only the outer two are recorded',
  // UDP-Lite faults conntrack calls INVALID (udplite_error), in its words.
  UDPLITE_SHORT: 'UDP-Lite: short packet (less than the 8-byte header)',
  UDPLITE_COVERAGE: 'UDP-Lite: invalid checksum coverage (below 8 or beyond the packet)',
  UDPLITE_NO_CHECKSUM: 'UDP-Lite: checksum missing (UDP-Lite mandates one)',
  SCTP_SHORT: 'SCTP: short packet (less than the 12-byte common header)',
} as const;

/** The protocols whose conntrack tuple carries ports (nf_ct_port tuples): TCP, UDP, UDP-Lite, SCTP. */
export function isPortProto(proto: number): boolean {
  return proto === IpProto.TCP || proto === IpProto.UDP || proto === IpProto.UDPLITE || proto === IpProto.SCTP;
}

/** TCP flag bits, as in the TCP header's flags byte (plus NS is ignored). */
export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

/** ICMP/ICMPv6 error types whose payload quotes the offending packet. */
export const IcmpError = {
  V4_DEST_UNREACH: 3,
  V4_SOURCE_QUENCH: 4,
  V4_REDIRECT: 5,
  V4_TIME_EXCEEDED: 11,
  V4_PARAMETER_PROBLEM: 12,
  V6_DEST_UNREACH: 1,
  V6_PACKET_TOO_BIG: 2,
  V6_TIME_EXCEEDED: 3,
  V6_PARAMETER_PROBLEM: 4,
} as const;

/** An ICMP (IPv4) or ICMPv6 error type: one that quotes the offending packet. */
export function isIcmpError(ipVersion: number, type: number): boolean {
  if (ipVersion === 4) {
    return (
      type === IcmpError.V4_DEST_UNREACH ||
      type === IcmpError.V4_SOURCE_QUENCH ||
      type === IcmpError.V4_REDIRECT ||
      type === IcmpError.V4_TIME_EXCEEDED ||
      type === IcmpError.V4_PARAMETER_PROBLEM
    );
  }
  return type >= IcmpError.V6_DEST_UNREACH && type <= IcmpError.V6_PARAMETER_PROBLEM;
}

export interface DecodedPacket {
  kind: PacketKindValue;
  /** Why the packet is MALFORMED, e.g. "IPv4 total length 1500 exceeds captured 60 bytes"; '' otherwise. */
  error: string;
  /** Name of the non-IP protocol for NON_IP frames ("ARP", "LLDP", "ethertype 0x88b5"); '' otherwise. */
  l2Name: string;
  /**
   * A non-fatal oddity noticed while decoding (a constant string from
   * DecodeNote above, e.g. a UDP length that disagrees with the IP
   * length); '' otherwise. The packet is still usable.
   */
  note: string;

  // --- link layer ---------------------------------------------------------
  /** EtherType (or SLL protocol) that carried the payload; 0 when the link has none (raw IP). */
  etherType: number;
  /** 802.1Q VLAN ids, outermost first; -1 when absent. */
  vlanOuter: number;
  vlanInner: number;
  /** Direction from SLL/SLL2 packet type or pcapng EPB flags (see base/link.ts Direction). */
  direction: number;
  /** Offset of the Ethernet header's MACs in the record buffer, or -1 (no MACs on this link type). */
  macOff: number;
  /** Interface index from a Linux SLL2 header; -1 for other link types. */
  linkIfIndex: number;

  // --- network layer ------------------------------------------------------
  /** 4 or 6 for IP packets, 0 otherwise. */
  ipVersion: number;
  /** Source/destination address words, network order as unsigned 32-bit numbers. IPv4: word 0 only. */
  src0: number;
  src1: number;
  src2: number;
  src3: number;
  dst0: number;
  dst1: number;
  dst2: number;
  dst3: number;
  /** Offset of the IP header in the record buffer. */
  ipOff: number;
  /** IPv4 header length / IPv6 fixed header plus extension headers, in bytes. */
  ipHeaderLen: number;
  /** IPv4 total length / IPv6 40 + payload length: the IP packet size claimed by the header. */
  ipTotalLen: number;
  /** IPv4 identification, or the IPv6 fragment header identification; 0 when none. */
  ipId: number;
  /** IPv4 TTL / IPv6 hop limit. */
  ttl: number;
  /** IPv4 DF flag. */
  dontFragment: boolean;
  /** True when this is a fragment (MF set or non-zero offset; IPv6 fragment header present). */
  isFragment: boolean;
  /** Fragment offset in bytes (0 for first fragments and unfragmented packets). */
  fragOffset: number;
  moreFragments: boolean;
  /** Transport protocol (after IPv6 extension headers); 0 when unknown. */
  proto: number;
  /** Offset of the transport header in the record buffer; -1 when absent (non-first fragment). */
  l4Off: number;
  /** Bytes from l4Off to the end of the IP packet, limited to what was captured. */
  l4Len: number;
  /** True when the capture cut the packet (caplen < IP total length) but all headers were present. */
  snapTruncated: boolean;

  // --- transport: TCP/UDP -------------------------------------------------
  /** TCP/UDP ports; 0 for other protocols. */
  sport: number;
  dport: number;
  /** TCP sequence and acknowledgment numbers, as unsigned 32-bit values. */
  seq: number;
  ack: number;
  /** TCP flags byte (TcpFlag bits). */
  tcpFlags: number;
  /** TCP window field, unscaled. */
  window: number;
  /** TCP header length in bytes (data offset * 4). */
  tcpHeaderLen: number;
  /**
   * TCP/UDP payload length as claimed by the IP header (not limited by caplen).
   * UDP: UDP length - 8 when consistent with the IP length, else IP payload - 8
   * (see `note`); for a first fragment, this fragment's share. ICMP/ICMPv6:
   * bytes after the 8-byte ICMP header.
   */
  payloadLen: number;
  /** TCP options: window scale shift as sent (-1 absent; not clamped to 14), MSS (-1 absent), SACK-permitted, timestamps. */
  wscale: number;
  mss: number;
  sackPermitted: boolean;
  /**
   * -1 when the segment carries no SACK blocks. Otherwise what netfilter's
   * tcp_sack() computes: starting from `ack`, the latest right edge that is
   * after() it (so it equals `ack` when no block goes beyond ack); netfilter
   * uses it in place of ack.
   */
  sackMaxRight: number;
  hasTimestamp: boolean;
  tsVal: number;
  tsEcr: number;

  // --- ICMP / ICMPv6 ------------------------------------------------------
  /** ICMP type and code; -1 when not ICMP. */
  icmpType: number;
  icmpCode: number;
  /**
   * Identifier and sequence (bytes 4-7 of the ICMP header) of the query
   * types conntrack tracks (ICMP echo, timestamp, information, address
   * mask; ICMPv6 echo and node information), as it keys them; 0 otherwise.
   */
  icmpId: number;
  icmpSeq: number;
  /**
   * For ICMP errors: the quoted original packet (its IP header, IPv6 extension
   * headers, and first 8 transport bytes). innerValid is false when it is
   * missing, of the other IP version, or cut short; the inner* fields may then
   * be partly filled and must not be relied on.
   */
  innerValid: boolean;
  innerIpVersion: number;
  innerSrc0: number;
  innerSrc1: number;
  innerSrc2: number;
  innerSrc3: number;
  innerDst0: number;
  innerDst1: number;
  innerDst2: number;
  innerDst3: number;
  innerProto: number;
  /** Inner TCP/UDP ports; for inner ICMP/ICMPv6: type in innerDport, and for echo the id in innerSport (else 0). */
  innerSport: number;
  innerDport: number;
  /** Inner TCP sequence number (first 8 transport bytes include it). */
  innerSeq: number;

  // --- SCTP ---------------------------------------------------------------
  /**
   * What conntrack reads of an SCTP packet (nf_conntrack_proto_sctp), so it
   * needs no access to the bytes: the verification tag; the chunks as
   * for_each_sctp_chunk walks them (type, flags, and for INIT / INIT_ACK the
   * initiate tag, -1 when the chunk is too short to hold the INIT header),
   * the first SCTP_MAX_CHUNKS of them in order and the set of all chunk
   * types seen (a 256-bit map); and whether do_basic_checks() fails (no
   * chunk, a zero-length chunk, INIT / INIT_ACK / SHUTDOWN_COMPLETE not
   * alone, COOKIE_ECHO / COOKIE_ACK not first). Only meaningful when proto
   * is SCTP and the 12-byte common header is there.
   */
  sctpVtag: number;
  sctpChunks: number;
  sctpBad: boolean;
  sctpTypes: Uint8Array;
  sctpFlags: Uint8Array;
  sctpInitTag: Float64Array;
  sctpMap: Uint32Array;
}

/** Chunks of one SCTP packet recorded in order (DecodedPacket.sctpTypes); later ones only count in sctpMap. */
export const SCTP_MAX_CHUNKS = 32;

/** Human/JSON-friendly view of a decoded packet, for reports and errors (cold path). */
export interface PacketInfo {
  kind: 'ip' | 'non-ip' | 'malformed';
  error?: string;
  /** DecodedPacket.note, when set: a non-fatal oddity. */
  note?: string;
  l2?: string;
  vlan?: number[];
  direction?: 'in' | 'out';
  ipVersion?: 4 | 6;
  src?: string;
  dst?: string;
  proto?: string; // "tcp" | "udp" | "icmp" | "icmpv6" | "ip proto N"
  protoNumber?: number;
  ipId?: number;
  ttl?: number;
  ipLen?: number;
  fragment?: { offset: number; more: boolean; id: number };
  sport?: number;
  dport?: number;
  tcp?: {
    flags: string; // tcpdump style: "S", "S.", ".", "P.", "F.", "R", "R."
    seq: number;
    ack: number;
    win: number;
    len: number;
    options?: { mss?: number; wscale?: number; sackOk?: boolean; ts?: [number, number] };
  };
  udp?: { len: number };
  icmp?: {
    type: number;
    code: number;
    name: string; // in nft's words (icmp-names.ts icmpText): "echo-request", "destination-unreachable port-unreachable", "type 42"
    id?: number;
    seq?: number;
    inner?: { src: string; dst: string; proto: string; sport?: number; dport?: number };
  };
  truncated?: boolean;
}
