/**
 * NAT's shared vocabulary (nat.ts has the API and its documentation): the
 * manip types, range flags and the range itself, as uapi nf_nat.h.
 */
import { IpProto } from '../packet/types.js';

/** enum nf_nat_manip_type. */
export const NatManip = { SRC: 0, DST: 1 } as const;
export type NatManipValue = (typeof NatManip)[keyof typeof NatManip];

/** NF_NAT_RANGE_* flags the rules can set (uapi nf_nat.h values). */
export const NatFlag = {
  /** nft `random` (NF_NAT_RANGE_PROTO_RANDOM). */
  RANDOM: 1 << 2,
  /** nft `persistent`: the address depends on the source only. */
  PERSISTENT: 1 << 3,
  /** nft `fully-random` (NF_NAT_RANGE_PROTO_RANDOM_FULLY). */
  FULLY_RANDOM: 1 << 4,
} as const;
export const RANDOM_ALL = NatFlag.RANDOM | NatFlag.FULLY_RANDOM;

/** struct nf_nat_range2, as the rules give it. */
export interface NatRange {
  /**
   * First and last address, four network-order words each as CtTuple's
   * (IPv4: word 0, the rest 0). null: the address is not mapped
   * (NF_NAT_RANGE_MAP_IPS unset).
   */
  addr: { readonly lo: readonly number[]; readonly hi: readonly number[] } | null;
  /** Ports (ICMP: echo ids), inclusive (NF_NAT_RANGE_PROTO_SPECIFIED); null: none given. */
  ports: { readonly lo: number; readonly hi: number } | null;
  /** NatFlag bits (0 for none; natFlags() makes them from nft's words). */
  flags: number;
}

/** NatFlag bits of nft's flag words (`random`, `fully-random`, `persistent`; others are ignored). */
export function natFlags(words: readonly string[]): number {
  let f = 0;
  for (const w of words) {
    if (w === 'random') f |= NatFlag.RANDOM;
    else if (w === 'fully-random') f |= NatFlag.FULLY_RANDOM;
    else if (w === 'persistent') f |= NatFlag.PERSISTENT;
  }
  return f;
}

/** What natIcmpError did. */
export const NatIcmp = { UNCHANGED: 0, CHANGED: 1, DROP: 2 } as const;
export type NatIcmpValue = (typeof NatIcmp)[keyof typeof NatIcmp];

/** IPPROTO_DCCP, IPPROTO_GRE (the decoder has no names for them). */
export const IPPROTO_DCCP = 33;
export const IPPROTO_GRE = 47;

/** Protocols nf_nat rewrites ports of (nf_nat_proto.c: TCP, UDP, UDP-Lite, SCTP, DCCP). */
export function isNatPortProto(proto: number): boolean {
  return (
    proto === IpProto.TCP ||
    proto === IpProto.UDP ||
    proto === IpProto.UDPLITE ||
    proto === IpProto.SCTP ||
    proto === IPPROTO_DCCP
  );
}
