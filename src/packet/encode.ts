/**
 * Frame builders (cold path): complete, valid frames with correct checksums,
 * for tests and the synthetic traffic generator. Invalid specs throw
 * (RangeError/TypeError); the `*Override` fields exist to build deliberately
 * broken packets.
 */

import { LinkType } from '../base/link.js';
import { parseAddr } from './addr.js';
import { IpProto, TcpFlag } from './types.js';

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

export type TcpFlags = number | string;

export interface TcpOptionsSpec {
  mss?: number;
  wscale?: number;
  sackPermitted?: boolean;
  timestamps?: [number, number];
  sack?: Array<[number, number]>;
}

export interface TcpSpec {
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  /** Bits (TcpFlag) or letters: F S R P A(.) U E C/W, e.g. "S", "SA", "PA", "FA", "R", "RA", "A". Default "A" when ack is given, else "S". */
  flags?: TcpFlags;
  window?: number;
  urgent?: number;
  options?: TcpOptionsSpec;
  /** Raw option bytes instead of `options` (padded with EOL to a multiple of 4). */
  rawOptions?: Uint8Array | number[];
  /** Payload bytes, or a length (filled with a byte pattern). */
  payload?: number | Uint8Array;
  dataOffsetOverride?: number;
  checksumOverride?: number;
}

export interface UdpSpec {
  sport: number;
  dport: number;
  payload?: number | Uint8Array;
  /** IPv4 only: false leaves the checksum 0 (none). Default true. */
  checksum?: boolean;
  lengthOverride?: number;
  checksumOverride?: number;
}

export interface IcmpSpec {
  type: number;
  code?: number;
  /** Echo identifier and sequence (bytes 4..7). */
  id?: number;
  seq?: number;
  /** v4 dest-unreachable/frag-needed next-hop MTU, v6 packet-too-big MTU (bytes 4..7). */
  mtu?: number;
  /** Bytes 4..7 as one uint32; overrides id/seq/mtu. */
  rest?: number;
  /** Data after the 8-byte header (ignored when quote is given). */
  payload?: number | Uint8Array;
  /**
   * An original IP packet (no link header; buildPacket with link 'raw') to
   * quote in an error. Default amount: IPv4 its header + 8 bytes; IPv6 as much
   * as fits in 1280 bytes. `quoteLen` overrides.
   */
  quote?: Uint8Array;
  quoteLen?: number;
  checksumOverride?: number;
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
// Checksums

/** One's-complement 16-bit sum of buf[off, off+len) added to acc (unfolded, fits a double). */
export function onesSum(buf: Uint8Array, off: number, len: number, acc = 0): number {
  let s = acc;
  const end = off + len;
  let i = off;
  for (; i + 1 < end; i += 2) s += (buf[i] << 8) | buf[i + 1];
  if (i < end) s += buf[i] << 8;
  return s;
}

/** Fold a sum to 16 bits and complement it: the value to store in a checksum field. */
export function finishChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** RFC 1071 Internet checksum of buf[off, off+len). */
export function internetChecksum(buf: Uint8Array, off = 0, len = buf.length - off): number {
  return finishChecksum(onesSum(buf, off, len));
}

function addrBytes(words: readonly number[], version: 4 | 6): Uint8Array {
  const n = version === 4 ? 1 : 4;
  const b = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) writeU32(b, i * 4, words[i]);
  return b;
}

/** Sum of the TCP/UDP/ICMPv6 pseudo-header. */
function pseudoSum(src: Uint8Array, dst: Uint8Array, proto: number, len: number): number {
  let s = onesSum(src, 0, src.length) + onesSum(dst, 0, dst.length);
  s += proto + (len >>> 16) + (len & 0xffff);
  return s;
}

// ---------------------------------------------------------------------------
// Small helpers

function writeU16(b: Uint8Array, i: number, v: number): void {
  b[i] = (v >>> 8) & 0xff;
  b[i + 1] = v & 0xff;
}

function writeU32(b: Uint8Array, i: number, v: number): void {
  b[i] = (v >>> 24) & 0xff;
  b[i + 1] = (v >>> 16) & 0xff;
  b[i + 2] = (v >>> 8) & 0xff;
  b[i + 3] = v & 0xff;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function payloadBytes(p: number | Uint8Array | undefined): Uint8Array {
  if (p === undefined) return new Uint8Array(0);
  if (typeof p === 'number') {
    const b = new Uint8Array(p);
    for (let i = 0; i < p; i++) b[i] = (0x41 + (i % 26)) & 0xff; // "ABC..."
    return b;
  }
  return p;
}

function toBytes(a: Uint8Array | number[]): Uint8Array {
  return a instanceof Uint8Array ? a : Uint8Array.from(a);
}

function check(cond: boolean, msg: string): void {
  if (!cond) throw new RangeError(msg);
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
// TCP

/** TCP flags from bits or letters (F S R P A . U E C W). */
export function parseTcpFlags(f: TcpFlags): number {
  if (typeof f === 'number') {
    check(Number.isInteger(f) && f >= 0 && f <= 0xff, `TCP flags ${f} out of range`);
    return f;
  }
  let bits = 0;
  for (const c of f.toUpperCase()) {
    switch (c) {
      case 'F': bits |= TcpFlag.FIN; break;
      case 'S': bits |= TcpFlag.SYN; break;
      case 'R': bits |= TcpFlag.RST; break;
      case 'P': bits |= TcpFlag.PSH; break;
      case 'A': case '.': bits |= TcpFlag.ACK; break;
      case 'U': bits |= TcpFlag.URG; break;
      case 'E': bits |= TcpFlag.ECE; break;
      case 'C': case 'W': bits |= TcpFlag.CWR; break;
      default: throw new RangeError(`unknown TCP flag letter "${c}" in "${f}"`);
    }
  }
  return bits;
}

/** Option bytes in the order Linux sends them (MSS, SACK-perm+TS, NOP+WS, SACK), EOL-padded to 4. */
export function encodeTcpOptions(o: TcpOptionsSpec): Uint8Array {
  const b: number[] = [];
  if (o.mss !== undefined) b.push(2, 4, (o.mss >>> 8) & 0xff, o.mss & 0xff);
  const ts = o.timestamps;
  const pushTs = () => {
    if (!ts) return;
    b.push(8, 10);
    for (const v of ts) b.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  };
  if (o.sackPermitted && ts) {
    b.push(4, 2);
    pushTs();
  } else if (ts) {
    b.push(1, 1);
    pushTs();
  } else if (o.sackPermitted) {
    b.push(1, 1, 4, 2);
  }
  if (o.wscale !== undefined) b.push(1, 3, 3, o.wscale & 0xff);
  if (o.sack && o.sack.length > 0) {
    b.push(1, 1, 5, 2 + 8 * o.sack.length);
    for (const [l, r] of o.sack) {
      for (const v of [l, r]) b.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
    }
  }
  while (b.length % 4 !== 0) b.push(0);
  check(b.length <= 40, `TCP options need ${b.length} bytes, more than 40`);
  return Uint8Array.from(b);
}

function padTo4(a: Uint8Array): Uint8Array {
  if (a.length % 4 === 0) return a;
  const b = new Uint8Array(a.length + (4 - (a.length % 4)));
  b.set(a);
  return b;
}

function buildTcp(t: TcpSpec, src: Uint8Array, dst: Uint8Array): Uint8Array {
  const opts = t.rawOptions ? padTo4(toBytes(t.rawOptions)) : t.options ? encodeTcpOptions(t.options) : new Uint8Array(0);
  check(opts.length <= 40, `TCP options of ${opts.length} bytes exceed 40`);
  const payload = payloadBytes(t.payload);
  const hl = 20 + opts.length;
  const seg = new Uint8Array(hl + payload.length);
  writeU16(seg, 0, t.sport);
  writeU16(seg, 2, t.dport);
  writeU32(seg, 4, t.seq ?? 0);
  writeU32(seg, 8, t.ack ?? 0);
  const doff = t.dataOffsetOverride ?? hl / 4;
  seg[12] = (doff & 0x0f) << 4;
  seg[13] = parseTcpFlags(t.flags ?? (t.ack !== undefined ? 'A' : 'S'));
  writeU16(seg, 14, t.window ?? 65535);
  writeU16(seg, 18, t.urgent ?? 0);
  seg.set(opts, 20);
  seg.set(payload, hl);
  const sum = t.checksumOverride ?? finishChecksum(onesSum(seg, 0, seg.length, pseudoSum(src, dst, IpProto.TCP, seg.length)));
  writeU16(seg, 16, sum);
  return seg;
}

// ---------------------------------------------------------------------------
// UDP

function buildUdp(u: UdpSpec, src: Uint8Array, dst: Uint8Array, version: 4 | 6): Uint8Array {
  const payload = payloadBytes(u.payload);
  const dg = new Uint8Array(8 + payload.length);
  writeU16(dg, 0, u.sport);
  writeU16(dg, 2, u.dport);
  writeU16(dg, 4, u.lengthOverride ?? dg.length);
  dg.set(payload, 8);
  let sum = 0;
  if (u.checksumOverride !== undefined) sum = u.checksumOverride;
  else if (u.checksum !== false || version === 6) {
    sum = finishChecksum(onesSum(dg, 0, dg.length, pseudoSum(src, dst, IpProto.UDP, dg.length)));
    if (sum === 0) sum = 0xffff;
  }
  writeU16(dg, 6, sum);
  return dg;
}

// ---------------------------------------------------------------------------
// ICMP / ICMPv6

function buildIcmp(c: IcmpSpec, version: 4 | 6, src: Uint8Array, dst: Uint8Array): Uint8Array {
  let body: Uint8Array;
  if (c.quote) {
    let n: number;
    if (c.quoteLen !== undefined) n = c.quoteLen;
    else if (version === 4) n = c.quote.length >= 1 ? (c.quote[0] & 0x0f) * 4 + 8 : 0;
    else n = 1280 - 40 - 8;
    body = c.quote.slice(0, Math.min(n, c.quote.length));
  } else {
    body = payloadBytes(c.payload);
  }
  const msg = new Uint8Array(8 + body.length);
  msg[0] = c.type;
  msg[1] = c.code ?? 0;
  let rest = 0;
  if (c.rest !== undefined) rest = c.rest;
  else if (c.mtu !== undefined) rest = version === 4 ? c.mtu & 0xffff : c.mtu;
  else if (c.id !== undefined || c.seq !== undefined) rest = (((c.id ?? 0) & 0xffff) << 16) | ((c.seq ?? 0) & 0xffff);
  writeU32(msg, 4, rest >>> 0);
  msg.set(body, 8);
  let sum: number;
  if (c.checksumOverride !== undefined) sum = c.checksumOverride;
  else if (version === 4) sum = internetChecksum(msg);
  else sum = finishChecksum(onesSum(msg, 0, msg.length, pseudoSum(src, dst, IpProto.ICMPV6, msg.length)));
  writeU16(msg, 2, sum);
  return msg;
}

// ---------------------------------------------------------------------------
// IP

function buildIpv6Ext(nextHeader: number, e: Ipv6ExtSpec): Uint8Array {
  const data = e.data === undefined ? Uint8Array.from([1, 4, 0, 0, 0, 0]) : toBytes(e.data);
  if (e.type === 51) {
    // AH: length in 4-byte units minus 2; total a multiple of 8 for IPv6.
    let total = 2 + data.length;
    total = Math.max(12, Math.ceil(total / 8) * 8);
    const h = new Uint8Array(total);
    h[0] = nextHeader;
    h[1] = total / 4 - 2;
    h.set(data, 2);
    return h;
  }
  const total = Math.max(8, Math.ceil((2 + data.length) / 8) * 8);
  const h = new Uint8Array(total);
  h[0] = nextHeader;
  h[1] = total / 8 - 1;
  h.set(data, 2);
  return h;
}

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
  if (parts.version === 4) {
    const opts = ip.options ? padTo4(toBytes(ip.options)) : new Uint8Array(0);
    check(opts.length <= 40, `IPv4 options of ${opts.length} bytes exceed 40`);
    const hl = 20 + opts.length;
    const h = new Uint8Array(hl);
    h[0] = ((ip.versionOverride ?? 4) << 4) | ((ip.headerLengthOverride ?? hl) / 4);
    h[1] = ip.tos ?? 0;
    writeU16(h, 2, ip.totalLengthOverride ?? hl + l4.length);
    writeU16(h, 4, ip.id ?? 0);
    let ff = ip.df ? 0x4000 : 0;
    if (ip.frag) {
      check(ip.frag.offset % 8 === 0 && ip.frag.offset >= 0 && ip.frag.offset / 8 <= 0x1fff, `bad fragment offset ${ip.frag.offset}`);
      ff |= ip.frag.offset / 8;
      if (ip.frag.more) ff |= 0x2000;
    }
    writeU16(h, 6, ff);
    h[8] = ip.ttl ?? 64;
    h[9] = proto;
    h.set(parts.src, 12);
    h.set(parts.dst, 16);
    h.set(opts, 20);
    writeU16(h, 10, ip.checksumOverride ?? internetChecksum(h));
    return concat([h, l4]);
  }
  // IPv6: fixed header, extension headers, optional fragment header, transport.
  const exts = ip.extHeaders ?? [];
  const chain: number[] = exts.map((e) => e.type);
  if (ip.frag) chain.push(44);
  const headers: Uint8Array[] = [];
  for (let i = 0; i < chain.length; i++) {
    const next = i + 1 < chain.length ? chain[i + 1] : proto;
    if (chain[i] === 44) {
      const f = new Uint8Array(8);
      f[0] = next;
      check(ip.frag!.offset % 8 === 0 && ip.frag!.offset >= 0 && ip.frag!.offset <= 0xfff8, `bad fragment offset ${ip.frag!.offset}`);
      writeU16(f, 2, ip.frag!.offset | (ip.frag!.more ? 1 : 0));
      writeU32(f, 4, ip.id ?? 0);
      headers.push(f);
    } else {
      headers.push(buildIpv6Ext(next, exts[i]));
    }
  }
  const rest = concat([...headers, l4]);
  const h = new Uint8Array(40);
  const tc = ip.tos ?? 0;
  const flow = ip.flowLabel ?? 0;
  writeU32(h, 0, (((ip.versionOverride ?? 6) << 28) | (tc << 20) | (flow & 0xfffff)) >>> 0);
  writeU16(h, 4, ip.totalLengthOverride !== undefined ? ip.totalLengthOverride - 40 : rest.length);
  h[6] = chain.length > 0 ? chain[0] : proto;
  h[7] = ip.ttl ?? 64;
  h.set(parts.src, 8);
  h.set(parts.dst, 24);
  return concat([h, rest]);
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
    proto = spec.ip.proto ?? (parts.version === 6 ? 59 : 255);
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
  const isIp = etherType === 0x0800 || etherType === 0x86dd;
  const vlans = opts.vlan ?? [];
  const tags: Uint8Array[] = [];
  let innerType = etherType;
  // Build tags innermost-last: each tag is TCI + the ethertype that follows it.
  for (let i = vlans.length - 1; i >= 0; i--) {
    const tpid = opts.vlanTpids?.[i] ?? (vlans.length > 1 && i === 0 ? 0x88a8 : 0x8100);
    const t = new Uint8Array(4);
    check(vlans[i] >= 0 && vlans[i] <= 0xfff, `VLAN id ${vlans[i]} out of range`);
    writeU16(t, 0, (((opts.vlanPcp ?? 0) & 7) << 13) | vlans[i]);
    writeU16(t, 2, innerType);
    tags.unshift(t);
    innerType = tpid;
  }
  const outerType = innerType;
  switch (link) {
    case 'ethernet': {
      const h = new Uint8Array(14);
      h.set(parseMac(opts.dstMac ?? DEFAULT_DST_MAC), 0);
      h.set(parseMac(opts.srcMac ?? DEFAULT_SRC_MAC), 6);
      writeU16(h, 12, outerType);
      let f = concat([h, ...tags, payload]);
      if (opts.pad && f.length < 60) {
        const p = new Uint8Array(60);
        p.set(f);
        f = p;
      }
      return f;
    }
    case 'sll': {
      const h = new Uint8Array(16);
      writeU16(h, 0, opts.sllPacketType ?? 0);
      writeU16(h, 2, 1); // ARPHRD_ETHER
      writeU16(h, 4, 6);
      h.set(parseMac(opts.srcMac ?? DEFAULT_SRC_MAC), 6);
      writeU16(h, 14, outerType);
      return concat([h, ...tags, payload]);
    }
    case 'sll2': {
      const h = new Uint8Array(20);
      writeU16(h, 0, outerType);
      writeU32(h, 4, opts.sllIfIndex ?? 1);
      writeU16(h, 8, 1); // ARPHRD_ETHER
      h[10] = opts.sllPacketType ?? 0;
      h[11] = 6;
      h.set(parseMac(opts.srcMac ?? DEFAULT_SRC_MAC), 12);
      return concat([h, ...tags, payload]);
    }
    case 'raw':
    case 'ipv4':
    case 'ipv6':
    case 'null':
    case 'loop': {
      check(isIp, `link '${link}' carries only IP, not ethertype 0x${etherType.toString(16)}`);
      check(vlans.length === 0, `link '${link}' has no VLAN tags`);
      if (link === 'ipv4') check(etherType === 0x0800, "link 'ipv4' carries only IPv4");
      if (link === 'ipv6') check(etherType === 0x86dd, "link 'ipv6' carries only IPv6");
      if (link !== 'null' && link !== 'loop') return payload;
      const af = etherType === 0x0800 ? 2 : opts.loopAf6 ?? 30;
      const h = new Uint8Array(4);
      if (link === 'loop' || opts.nullByteOrder === 'be') writeU32(h, 0, af);
      else { h[0] = af & 0xff; h[1] = (af >>> 8) & 0xff; h[2] = (af >>> 16) & 0xff; h[3] = af >>> 24; }
      return concat([h, payload]);
    }
    default:
      throw new RangeError(`unknown link '${String(link)}'`);
  }
}

/** A complete frame: link header (+ VLAN tags), IP header(s), transport with correct checksums. */
export function buildPacket(spec: PacketSpec): Uint8Array {
  const { version, bytes } = buildIp(spec);
  return buildFrame(version === 6 ? 0x86dd : 0x0800, bytes, spec);
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
  const out: Uint8Array[] = [];
  if (version === 4) {
    const ihl = (ipPkt[0] & 0x0f) * 4;
    const total = (ipPkt[2] << 8) | ipPkt[3];
    const data = ipPkt.subarray(ihl, total);
    const firstHdr = ipPkt.slice(0, ihl);
    // Options with the copied flag only, for the later fragments.
    const copied: number[] = [];
    for (let i = 20; i < ihl; ) {
      const k = ipPkt[i];
      if (k === 0) break;
      if (k === 1) { i++; continue; }
      const l = ipPkt[i + 1];
      if (l < 2 || i + l > ihl) break;
      if (k & 0x80) for (let j = 0; j < l; j++) copied.push(ipPkt[i + j]);
      i += l;
    }
    const laterHdr = new Uint8Array(padTo4(Uint8Array.from(copied)).length + 20);
    laterHdr.set(ipPkt.subarray(0, 20));
    laterHdr.set(padTo4(Uint8Array.from(copied)), 20);
    laterHdr[0] = 0x40 | (laterHdr.length / 4);
    const baseFF = ((ipPkt[6] << 8) | ipPkt[7]);
    const baseOff = (baseFF & 0x1fff) * 8;
    const baseMore = (baseFF & 0x2000) !== 0;
    if (id !== undefined) { firstHdr[4] = (id >> 8) & 0xff; firstHdr[5] = id & 0xff; laterHdr[4] = firstHdr[4]; laterHdr[5] = firstHdr[5]; }
    for (let o = 0; o < data.length; o += unit) {
      const chunk = data.subarray(o, Math.min(o + unit, data.length));
      const h = (o === 0 ? firstHdr : laterHdr).slice();
      const more = o + unit < data.length || baseMore;
      writeU16(h, 2, h.length + chunk.length);
      writeU16(h, 6, (baseFF & 0x4000) | (more ? 0x2000 : 0) | ((baseOff + o) / 8));
      writeU16(h, 10, 0);
      writeU16(h, 10, internetChecksum(h));
      out.push(concat([h, chunk]));
    }
    return out;
  }
  check(version === 6, `not an IP packet (version ${version})`);
  const payloadLen = (ipPkt[4] << 8) | ipPkt[5];
  const end = 40 + payloadLen;
  // The unfragmentable part ends after the last hop-by-hop or routing header.
  let type = ipPkt[6];
  let pos = 40;
  let unfragEnd = 40;
  let nhFieldAt = 6; // the "next header" byte that will point at the fragment header
  while ((type === 0 || type === 43 || type === 60) && pos + 2 <= end) {
    const hlen = (ipPkt[pos + 1] + 1) * 8;
    if (type === 0 || type === 43) {
      unfragEnd = pos + hlen;
      nhFieldAt = pos;
    }
    type = ipPkt[pos];
    pos += hlen;
  }
  const nhAtUnfragEnd = ipPkt[nhFieldAt];
  const unfrag = ipPkt.slice(0, unfragEnd);
  unfrag[nhFieldAt] = 44;
  const data = ipPkt.subarray(unfragEnd, end);
  for (let o = 0; o < data.length; o += unit) {
    const chunk = data.subarray(o, Math.min(o + unit, data.length));
    const f = new Uint8Array(8);
    f[0] = nhAtUnfragEnd;
    writeU16(f, 2, o | (o + unit < data.length ? 1 : 0));
    writeU32(f, 4, id ?? 0);
    const h = unfrag.slice();
    writeU16(h, 4, unfrag.length - 40 + 8 + chunk.length);
    out.push(concat([h, f, chunk]));
  }
  return out;
}

/** buildPacket's datagram split by fragmentIp, each fragment framed per spec. id defaults to spec.ip.id. */
export function buildFragments(spec: PacketSpec, maxData: number): Uint8Array[] {
  const ipPkt = buildIpPacket({ ...spec, ip: { ...spec.ip, frag: undefined } });
  const v6 = ipPkt[0] >> 4 === 6;
  return fragmentIp(ipPkt, maxData, spec.ip.id).map((f) => buildFrame(v6 ? 0x86dd : 0x0800, f, spec));
}

// ---------------------------------------------------------------------------
// ARP

/** An Ethernet/IPv4 ARP frame (ethertype 0x0806). Defaults: sender = srcMac, target MAC zero, broadcast dst for requests. */
export function buildArp(spec: ArpSpec): Uint8Array {
  const op = spec.op === 'request' ? 1 : spec.op === 'reply' ? 2 : spec.op;
  const senderMac = spec.senderMac ?? spec.srcMac ?? DEFAULT_SRC_MAC;
  const sIp = addr(spec.senderIp, 'sender');
  const tIp = addr(spec.targetIp, 'target');
  check(sIp.version === 4 && tIp.version === 4, 'ARP needs IPv4 addresses');
  const a = new Uint8Array(28);
  writeU16(a, 0, 1); // hardware: Ethernet
  writeU16(a, 2, 0x0800);
  a[4] = 6;
  a[5] = 4;
  writeU16(a, 6, op);
  a.set(parseMac(senderMac), 8);
  writeU32(a, 14, sIp.words[0]);
  a.set(parseMac(spec.targetMac ?? '00:00:00:00:00:00'), 18);
  writeU32(a, 24, tIp.words[0]);
  const dstMac = spec.dstMac ?? (op === 1 ? 'ff:ff:ff:ff:ff:ff' : spec.targetMac ?? DEFAULT_DST_MAC);
  return buildFrame(0x0806, a, { ...spec, srcMac: senderMac, dstMac });
}
