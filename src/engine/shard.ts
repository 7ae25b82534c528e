/**
 * Which shard judges a packet, when a replay is spread over worker threads
 * (replay --jobs): every packet that can touch a conntrack entry must go to
 * the shard that holds it, and both directions of a flow to the same one.
 *
 * The key is the unordered IP address pair: conntrack keys flows by
 * addresses, protocol and ports, but fragments after the first carry no
 * ports, and their datagram must be reassembled in one place. An ICMP or
 * ICMPv6 error is judged against the flow it quotes (RELATED), so it goes
 * by the quoted packet's pair.
 */
import { LinkType } from '../capture/types.js';
import { decodePacket } from '../packet/decode.js';
import * as ethernet from '../packet/ethernet.js';
import * as icmp from '../packet/icmp.js';
import * as ipv4 from '../packet/ipv4.js';
import * as ipv6 from '../packet/ipv6.js';
import { IpProto, isIcmpError, type DecodedPacket } from '../packet/types.js';

/** Shard of an address pair given as two 32-bit folds: the same for (a, b) and (b, a). */
export function pairShard(a: number, b: number, shards: number): number {
  a >>>= 0;
  b >>>= 0;
  let h = (Math.imul(a ^ b, 0x9e3779b1) + Math.imul(a < b ? a : b, 0x85ebca6b)) | 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  // (h / 2^32) * shards, rounded down: a multiplication, where % would divide.
  return ((h >>> 0) * shards * 2.3283064365386963e-10) | 0;
}

/** Outcome of shardOfDecoded() and peekShard() for a packet that makes a sharded replay inexact (see below). */
export const NOT_SHARDABLE = -1;

/**
 * The shard of a decoded packet (0 when it has no IP addresses), or NOT_SHARDABLE for the first fragment
 * of an ICMP/ICMPv6 error: its datagram is reassembled where its fragments
 * go (by the outer pair), but judged against the flow it quotes, whose
 * pair may belong to another shard.
 */
export function shardOfDecoded(p: DecodedPacket, shards: number): number {
  // By its pair even when the rest did not decode: a first fragment too
  // short for its transport header still goes to the defragmenter, with
  // the other fragments of its datagram.
  if (p.ipVersion === 0) return 0;
  const outer = pairShard(p.src0 ^ p.src1 ^ p.src2 ^ p.src3, p.dst0 ^ p.dst1 ^ p.dst2 ^ p.dst3, shards);
  const icmp = (p.proto === IpProto.ICMP && p.ipVersion === 4) || (p.proto === IpProto.ICMPV6 && p.ipVersion === 6);
  if (!icmp || !isIcmpError(p.ipVersion, p.icmpType)) return outer;
  if (!p.innerValid) return p.isFragment ? NOT_SHARDABLE : outer;
  const inner = pairShard(
    p.innerSrc0 ^ p.innerSrc1 ^ p.innerSrc2 ^ p.innerSrc3,
    p.innerDst0 ^ p.innerDst1 ^ p.innerDst2 ^ p.innerDst3,
    shards,
  );
  return p.isFragment && inner !== outer ? NOT_SHARDABLE : inner;
}

/**
 * Picks each packet's shard: straight from the bytes for the common case
 * (peekShard()), by decoding the packet otherwise.
 */
export class ShardPicker {
  constructor(
    readonly shards: number,
    private readonly pkt: DecodedPacket,
  ) {}

  pick(buf: Uint8Array, off: number, caplen: number, linkType: number, direction: number, len: number): number {
    const fast = linkType === LinkType.ETHERNET ? peekShard(buf, off, caplen, this.shards) : NOT_SHARDABLE;
    if (fast !== NOT_SHARDABLE) return fast;
    return shardOfDecoded(decodePacket(buf, off, caplen, linkType, direction, this.pkt, len), this.shards);
  }
}

/**
 * The shard of an untagged Ethernet frame at b[o, o + caplen) carrying
 * IPv4, or IPv6 with no extension header, with its addresses captured:
 * what shardOfDecoded() would say, without decoding. NOT_SHARDABLE for
 * anything else, and for ICMP errors (they go by the packet they quote):
 * decode those.
 */
export function peekShard(b: Uint8Array, o: number, caplen: number, shards: number): number {
  if (o + caplen > b.length) return NOT_SHARDABLE;
  const et = ethernet.etherType(b, o);
  const ip = o + ethernet.HEADER_LEN;
  if (et === ethernet.EtherType.IPV4) {
    if (caplen < ethernet.HEADER_LEN + ipv4.field.DST_ADDR + 4 || ipv4.version(b, ip) !== 4) return NOT_SHARDABLE;
    if (b[ip + ipv4.field.PROTOCOL] === IpProto.ICMP && ipv4.isFirstFragment(b, ip)) {
      // (A later fragment has no ICMP header: it goes by its pair, as decoded.)
      const ihl = ipv4.headerLen(b, ip);
      const l4 = ip + ihl;
      if (ihl < ipv4.HEADER_LEN || caplen < l4 - o + 1 || isIcmpError(4, b[l4 + icmp.field.TYPE])) return NOT_SHARDABLE;
    }
    return pairShard(word(b, ip + ipv4.field.SRC_ADDR), word(b, ip + ipv4.field.DST_ADDR), shards);
  }
  if (et === ethernet.EtherType.IPV6) {
    const next = b[ip + ipv6.field.NXT_HDR];
    const l4 = ip + ipv6.HEADER_LEN;
    // Only a transport header next: extension headers take the decoder, and so do ICMPv6 errors.
    if (caplen < l4 - o + 1 || ipv6.version(b, ip) !== 6) return NOT_SHARDABLE;
    if (
      !(
        next === IpProto.TCP ||
        next === IpProto.UDP ||
        (next === IpProto.ICMPV6 && !isIcmpError(6, b[l4 + icmp.field.TYPE]))
      )
    ) {
      return NOT_SHARDABLE;
    }
    return pairShard(addrFold(b, ip + ipv6.field.SRC_ADDR), addrFold(b, ip + ipv6.field.DST_ADDR), shards);
  }
  return NOT_SHARDABLE;
}

function word(b: Uint8Array, i: number): number {
  return (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3];
}

/** An IPv6 address folded to 32 bits, as shardOfDecoded() folds src0..src3. */
function addrFold(b: Uint8Array, i: number): number {
  return word(b, i) ^ word(b, i + 4) ^ word(b, i + 8) ^ word(b, i + 12);
}
