/**
 * Frame builders (cold path): complete, valid frames with correct checksums,
 * for tests and the synthetic traffic generator. Invalid specs throw
 * (RangeError/TypeError); the `*Override` fields exist to build deliberately
 * broken packets. The dispatcher: each protocol's file builds its own header.
 */

import { LinkType } from '../base/link.js';
import { parseAddr } from './addr.js';
import * as arp from './arp.js';
import { check, concat, payloadBytes, toBytes, writeU32 } from './bytes.js';
import * as ethernet from './ethernet.js';
import { buildIcmp, type IcmpSpec } from './icmp.js';
import { buildIpv4, fragmentIpv4 } from './ipv4.js';
import { buildExtHeader, buildFragHeader, buildIpv6, checkFragOffset, fragmentIpv6 } from './ipv6.js';
import * as sll from './sll.js';
import { buildTcp, type TcpSpec } from './tcp.js';
import { buildUdp, type UdpSpec } from './udp.js';
import { IpProto } from './types.js';

// ---------------------------------------------------------------------------
// Specs

/** Link layers the builders can produce. */
export type LinkKind = 'ethernet' | 'raw' | 'ipv4' | 'ipv6' | 'sll' | 'sll2' | 'null' | 'loop';

/** LINKTYPE_* value for each LinkKind (for pcap headers). */
export const LINK_TYPE_OF: Readonly<Record<LinkKind, number>> = {
  ethernet: LinkType.ETHERNET,
  raw: LinkType.RAW,
  ipv4: LinkType.IPV4,
  ipv6: LinkType.IPV6,
  sll: LinkType.LINUX_SLL,
  sll2: LinkType.LINUX_SLL2,
  null: LinkType.NULL,
  loop: LinkType.LOOP,
};

export const DEFAULT_SRC_MAC = '02:00:00:00:00:01';
export const DEFAULT_DST_MAC = '02:00:00:00:00:02';

export interface FrameOptions {
  /** Default 'ethernet'. */
  link?: LinkKind;
  /** Ethernet source/destination (also the SLL/SLL2 address); defaults DEFAULT_SRC_MAC / DEFAULT_DST_MAC. */
  srcMac?: string;
  dstMac?: string;
  /** VLAN ids, outermost first (Ethernet, SLL, SLL2). */
  vlan?: number[];
  /** TPID per tag; default 0x8100 for a single tag, 0x88a8 outer + 0x8100 for the rest when stacked. */
  vlanTpids?: number[];
  /** 802.1p priority for all tags (default 0). */
  vlanPcp?: number;
  /** SLL/SLL2 packet type: 0 to us (default), 1 broadcast, 2 multicast, 3 other host, 4 outgoing. */
  sllPacketType?: number;
  /** SLL2 interface index (default 1). */
  sllIfIndex?: number;
  /** 'null' link: byte order of the writer's host (default 'le'). */
  nullByteOrder?: 'le' | 'be';
  /** 'null'/'loop' link: AF value for IPv6 (24 BSD, 28 FreeBSD, 30 macOS; default 30). */
  loopAf6?: number;
  /** Pad Ethernet frames to the 60-byte minimum (as received frames are). Default false. */
  pad?: boolean;
}

export interface IpSpec {
  /** 4 or 6; default: the version of `src`. */
  version?: 4 | 6;
  src: string;
  dst: string;
  /** TTL / hop limit (default 64). */
  ttl?: number;
  /** IPv4 identification (default 0); IPv6: fragment header identification. */
  id?: number;
  /** IPv4 DF flag (default false). */
  df?: boolean;
  /** IPv4 TOS / IPv6 traffic class (default 0). */
  tos?: number;
  /** IPv6 flow label (default 0). */
  flowLabel?: number;
  /**
   * Mark the packet as a fragment: `offset` in bytes (multiple of 8) and MF.
   * The transport section (or `payload`) becomes the fragment's data as is;
   * use buildFragments() to split a real datagram. IPv6: adds a fragment header.
   */
  frag?: { offset: number; more?: boolean };
  /** IPv4 options, raw (padded with EOL to a multiple of 4). */
  options?: Uint8Array | number[];
  /** IPv6 extension headers before the transport (and before a fragment header), in order. */
  extHeaders?: Ipv6ExtSpec[];
  /** Protocol number for a bare `payload` (default 59 for IPv6, 255 for IPv4); with a transport section it overrides the header's protocol field. */
  proto?: number;
  /** Overrides for broken packets. */
  totalLengthOverride?: number;
  headerLengthOverride?: number;
  checksumOverride?: number;
  versionOverride?: number;
}

export interface Ipv6ExtSpec {
  /** 0 hop-by-hop, 43 routing, 60 destination options, 51 AH. */
  type: 0 | 43 | 60 | 51;
  /** Bytes after the 2-byte (next header, length) prefix; padded with zeros (PadN-free) to the unit size. Default: 6 zero bytes (one PadN option for 0/60). */
  data?: Uint8Array | number[];
}

export interface PacketSpec extends FrameOptions {
  ip: IpSpec;
  /** At most one of these; none → `payload` with ip.proto. */
  tcp?: TcpSpec;
  udp?: UdpSpec;
  icmp?: IcmpSpec;
  icmpv6?: IcmpSpec;
  /** Raw transport bytes when no transport section is given. */
  payload?: number | Uint8Array;
}

export interface ArpSpec extends FrameOptions {
  /** 'request' (1), 'reply' (2) or a number. */
  op: 'request' | 'reply' | number;
  senderMac?: string;
  senderIp: string;
  targetMac?: string;
  targetIp: string;
}

// ---------------------------------------------------------------------------
// Small helpers

function addrBytes(words: readonly number[], version: 4 | 6): Uint8Array {
  const n = version === 4 ? 1 : 4;
  const b = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) writeU32(b, i * 4, words[i]);
  return b;
}

/** Parse "aa:bb:cc:dd:ee:ff" (or with '-') into 6 bytes. */
export function parseMac(s: string): Uint8Array {
  const parts = s.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new RangeError(`invalid MAC address "${s}"`);
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

function addr(s: string, what: string): { version: 4 | 6; words: number[] } {
  const a = parseAddr(s);
  if (a === null) throw new RangeError(`invalid ${what} address "${s}"`);
  return a;
}

// ---------------------------------------------------------------------------
// IP

interface IpParts {
  version: 4 | 6;
  src: Uint8Array;
  dst: Uint8Array;
}

function ipParts(ip: IpSpec): IpParts {
  const s = addr(ip.src, 'source');
  const d = addr(ip.dst, 'destination');
  const version = ip.version ?? s.version;
  check(s.version === version && d.version === version, `addresses ${ip.src} and ${ip.dst} are not both IPv${version}`);
  return { version, src: addrBytes(s.words, version), dst: addrBytes(d.words, version) };
}

/** Wrap transport bytes in an IPv4/IPv6 header per `ip`. */
function wrapIp(ip: IpSpec, parts: IpParts, proto: number, l4: Uint8Array): Uint8Array {
  if (parts.version === 4) return buildIpv4(ip, parts.src, parts.dst, proto, l4);
  // IPv6: fixed header, extension headers, optional fragment header, transport.
  const exts = ip.extHeaders ?? [];
  const chain: number[] = exts.map((e) => e.type);
  if (ip.frag) chain.push(IpProto.FRAGMENT);
  const headers: Uint8Array[] = [];
  for (let i = 0; i < chain.length; i++) {
    const next = i + 1 < chain.length ? chain[i + 1] : proto;
    if (chain[i] === IpProto.FRAGMENT) {
      checkFragOffset(ip.frag!.offset);
      headers.push(buildFragHeader(next, ip.frag!.offset, !!ip.frag!.more, ip.id ?? 0));
    } else {
      const data = exts[i].data === undefined ? Uint8Array.from([1, 4, 0, 0, 0, 0]) : toBytes(exts[i].data!);
      headers.push(buildExtHeader(next, exts[i].type, data));
    }
  }
  return buildIpv6(ip, parts.src, parts.dst, chain.length > 0 ? chain[0] : proto, concat([...headers, l4]));
}

/** The IP packet (no link header) described by spec. */
export function buildIpPacket(spec: Omit<PacketSpec, keyof FrameOptions>): Uint8Array {
  return buildIp(spec).bytes;
}

function buildIp(spec: Omit<PacketSpec, keyof FrameOptions>): { version: 4 | 6; bytes: Uint8Array } {
  const parts = ipParts(spec.ip);
  const sections = [spec.tcp, spec.udp, spec.icmp, spec.icmpv6].filter((x) => x !== undefined).length;
  check(sections <= 1, 'give at most one of tcp, udp, icmp, icmpv6');
  let proto: number;
  let l4: Uint8Array;
  if (spec.tcp) {
    proto = IpProto.TCP;
    l4 = buildTcp(spec.tcp, parts.src, parts.dst);
  } else if (spec.udp) {
    proto = IpProto.UDP;
    l4 = buildUdp(spec.udp, parts.src, parts.dst, parts.version);
  } else if (spec.icmp) {
    check(parts.version === 4, 'icmp needs IPv4 (use icmpv6)');
    proto = IpProto.ICMP;
    l4 = buildIcmp(spec.icmp, 4, parts.src, parts.dst);
  } else if (spec.icmpv6) {
    check(parts.version === 6, 'icmpv6 needs IPv6 (use icmp)');
    proto = IpProto.ICMPV6;
    l4 = buildIcmp(spec.icmpv6, 6, parts.src, parts.dst);
  } else {
    proto = spec.ip.proto ?? (parts.version === 6 ? IpProto.NONE : 255);
    l4 = payloadBytes(spec.payload);
  }
  if (spec.ip.proto !== undefined) proto = spec.ip.proto;
  return { version: parts.version, bytes: wrapIp(spec.ip, parts, proto, l4) };
}

// ---------------------------------------------------------------------------
// Link layer

/**
 * Put `payload` (of the given ethertype) into a frame of link `opts.link`.
 * 'raw'/'ipv4'/'ipv6'/'null'/'loop' links carry IP only.
 */
export function buildFrame(etherType: number, payload: Uint8Array, opts: FrameOptions = {}): Uint8Array {
  const link = opts.link ?? 'ethernet';
  const isIp = etherType === ethernet.EtherType.IPV4 || etherType === ethernet.EtherType.IPV6;
  const vlans = opts.vlan ?? [];
  const tags: Uint8Array[] = [];
  let innerType = etherType;
  // Build tags innermost-last: each tag is TCI + the ethertype that follows it.
  for (let i = vlans.length - 1; i >= 0; i--) {
    const tpid =
      opts.vlanTpids?.[i] ?? (vlans.length > 1 && i === 0 ? ethernet.EtherType.QINQ : ethernet.EtherType.VLAN);
    check(vlans[i] >= 0 && vlans[i] <= ethernet.VLAN_ID_MASK, `VLAN id ${vlans[i]} out of range`);
    tags.unshift(ethernet.buildVlanTag(opts.vlanPcp ?? 0, vlans[i], innerType));
    innerType = tpid;
  }
  const outerType = innerType;
  switch (link) {
    case 'ethernet': {
      const h = ethernet.buildEthernetHeader(
        parseMac(opts.dstMac ?? DEFAULT_DST_MAC),
        parseMac(opts.srcMac ?? DEFAULT_SRC_MAC),
        outerType,
      );
      let f = concat([h, ...tags, payload]);
      if (opts.pad && f.length < ethernet.MIN_FRAME_LEN) {
        const p = new Uint8Array(ethernet.MIN_FRAME_LEN);
        p.set(f);
        f = p;
      }
      return f;
    }
    case 'sll': {
      const h = sll.buildSllHeader(
        opts.sllPacketType ?? sll.PacketType.HOST,
        parseMac(opts.srcMac ?? DEFAULT_SRC_MAC),
        outerType,
      );
      return concat([h, ...tags, payload]);
    }
    case 'sll2': {
      const h = sll.buildSll2Header(
        opts.sllPacketType ?? sll.PacketType.HOST,
        opts.sllIfIndex ?? 1,
        parseMac(opts.srcMac ?? DEFAULT_SRC_MAC),
        outerType,
      );
      return concat([h, ...tags, payload]);
    }
    case 'raw':
    case 'ipv4':
    case 'ipv6':
    case 'null':
    case 'loop': {
      check(isIp, `link '${link}' carries only IP, not ethertype 0x${etherType.toString(16)}`);
      check(vlans.length === 0, `link '${link}' has no VLAN tags`);
      if (link === 'ipv4') check(etherType === ethernet.EtherType.IPV4, "link 'ipv4' carries only IPv4");
      if (link === 'ipv6') check(etherType === ethernet.EtherType.IPV6, "link 'ipv6' carries only IPv6");
      if (link !== 'null' && link !== 'loop') return payload;
      const af = etherType === ethernet.EtherType.IPV4 ? sll.Af.INET : (opts.loopAf6 ?? sll.Af.INET6_DARWIN);
      return concat([sll.buildLoopbackHeader(af, link === 'loop' || opts.nullByteOrder === 'be'), payload]);
    }
    default:
      throw new RangeError(`unknown link '${String(link)}'`);
  }
}

function etherTypeOf(version: number): number {
  return version === 6 ? ethernet.EtherType.IPV6 : ethernet.EtherType.IPV4;
}

/** A complete frame: link header (+ VLAN tags), IP header(s), transport with correct checksums. */
export function buildPacket(spec: PacketSpec): Uint8Array {
  const { version, bytes } = buildIp(spec);
  return buildFrame(etherTypeOf(version), bytes, spec);
}

// ---------------------------------------------------------------------------
// Fragmentation

/**
 * Split an IP packet (no link header) into fragments carrying at most
 * `maxData` bytes of fragmentable payload each (rounded down to a multiple
 * of 8). IPv4: options without the copy bit go in the first fragment only.
 * IPv6: the hop-by-hop/routing headers (and destination options before a
 * routing header) stay unfragmentable; a fragment header with `id` is added.
 */
export function fragmentIp(ipPkt: Uint8Array, maxData: number, id?: number): Uint8Array[] {
  const unit = Math.floor(maxData / 8) * 8;
  check(unit >= 8, `fragment size ${maxData} below 8`);
  const version = ipPkt[0] >> 4;
  if (version === 4) return fragmentIpv4(ipPkt, unit, id);
  check(version === 6, `not an IP packet (version ${version})`);
  return fragmentIpv6(ipPkt, unit, id);
}

/** buildPacket's datagram split by fragmentIp, each fragment framed per spec. id defaults to spec.ip.id. */
export function buildFragments(spec: PacketSpec, maxData: number): Uint8Array[] {
  const ipPkt = buildIpPacket({ ...spec, ip: { ...spec.ip, frag: undefined } });
  const version = ipPkt[0] >> 4;
  return fragmentIp(ipPkt, maxData, spec.ip.id).map((f) => buildFrame(etherTypeOf(version), f, spec));
}

// ---------------------------------------------------------------------------
// ARP

/** An Ethernet/IPv4 ARP frame (ethertype 0x0806). Defaults: sender = srcMac, target MAC zero, broadcast dst for requests. */
export function buildArp(spec: ArpSpec): Uint8Array {
  const op = spec.op === 'request' ? arp.Op.REQUEST : spec.op === 'reply' ? arp.Op.REPLY : spec.op;
  const senderMac = spec.senderMac ?? spec.srcMac ?? DEFAULT_SRC_MAC;
  const sIp = addr(spec.senderIp, 'sender');
  const tIp = addr(spec.targetIp, 'target');
  check(sIp.version === 4 && tIp.version === 4, 'ARP needs IPv4 addresses');
  const a = arp.buildArpPacket(
    op,
    parseMac(senderMac),
    sIp.words[0],
    parseMac(spec.targetMac ?? '00:00:00:00:00:00'),
    tIp.words[0],
  );
  const dstMac = spec.dstMac ?? (op === arp.Op.REQUEST ? 'ff:ff:ff:ff:ff:ff' : (spec.targetMac ?? DEFAULT_DST_MAC));
  return buildFrame(ethernet.EtherType.ARP, a, { ...spec, srcMac: senderMac, dstMac });
}
