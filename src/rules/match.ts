/**
 * Rule matching: the per-packet hot path. No allocation, no strings built;
 * everything compares numbers from the reused DecodedPacket against the
 * typed arrays built by compile.ts.
 */
import {
  isAllNodes,
  isAllRouters,
  isBroadcastDestination,
  isGroupDestination,
  isSolicitedNode,
} from '../packet/scope.js';
import type { DecodedPacket } from '../packet/types.js';
import type { CompiledAddrs, CompiledRule, CompiledRuleSet } from './compile.js';
import type { Chain } from './types.js';

/** Is `port` in the sorted, merged [lo, hi] pairs? (Shared with the firewall model's walk.) */
export function inRanges(r: Int32Array, port: number): boolean {
  for (let i = 0; i < r.length; i += 2) {
    if (port < r[i]) return false; // sorted: no later range can contain it
    if (port <= r[i + 1]) return true;
  }
  return false;
}

/** Is the address in one of the prefixes? (Shared with the firewall model's walk.) */
export function addrIn(a: CompiledAddrs, version: number, w0: number, w1: number, w2: number, w3: number): boolean {
  if (version === 4) {
    const t = a.v4;
    for (let i = 0; i < t.length; i += 2) if ((w0 & t[i + 1]) === t[i]) return true;
    return false;
  }
  const t = a.v6;
  for (let i = 0; i < t.length; i += 8) {
    if (
      (w0 & t[i + 4]) === t[i] &&
      (w1 & t[i + 5]) === t[i + 1] &&
      (w2 & t[i + 6]) === t[i + 2] &&
      (w3 & t[i + 7]) === t[i + 3]
    )
      return true;
  }
  return false;
}

/**
 * Does the rule match this packet? Only IPv4/IPv6 packets can match. Port
 * and ICMP conditions never match a packet without a transport header
 * (a non-first fragment, l4Off < 0).
 */
export function matchRule(r: CompiledRule, p: DecodedPacket): boolean {
  if (r.proto >= 0 && p.proto !== r.proto) return false;
  const v = p.ipVersion;
  if (v === 4) {
    if (!r.v4) return false;
  } else if (v === 6) {
    if (!r.v6) return false;
  } else return false;
  if (r.sport !== null && (p.l4Off < 0 || !inRanges(r.sport, p.sport))) return false;
  if (r.dport !== null && (p.l4Off < 0 || !inRanges(r.dport, p.dport))) return false;
  const types = r.icmpTypes;
  if (types !== null) {
    // (!== 1: a packet without an ICMP header has type -1, which indexes nothing)
    if (p.l4Off < 0 || types[p.icmpType] !== 1) return false;
    const codes = r.icmpCodes;
    if (codes !== null && codes[p.icmpCode] !== 1) return false;
  }
  if (r.src !== null && !addrIn(r.src, v, p.src0, p.src1, p.src2, p.src3)) return false;
  if (r.dst !== null && !addrIn(r.dst, v, p.dst0, p.dst1, p.dst2, p.dst3)) return false;
  return true;
}

/** The first rule of `chain` that matches the packet, or null (then the chain's policy decides). */
export function firstMatch(rs: CompiledRuleSet, chain: Chain, p: DecodedPacket): CompiledRule | null {
  const list = rs.chains[chain];
  for (let i = 0; i < list.length; i++) {
    const r = list[i];
    if (matchRule(r, p)) return r;
  }
  return null;
}

function isHost(rs: CompiledRuleSet, version: number, w0: number, w1: number, w2: number, w3: number): boolean {
  if (version === 4) {
    const t = rs.host4;
    for (let i = 0; i < t.length; i++) if ((w0 | 0) === t[i]) return true;
    return false;
  }
  if (version !== 6) return false;
  const t = rs.host6;
  for (let i = 0; i < t.length; i += 4)
    if ((w0 | 0) === t[i] && (w1 | 0) === t[i + 1] && (w2 | 0) === t[i + 2] && (w3 | 0) === t[i + 3]) return true;
  return false;
}

/** True when the packet's destination is one of the host's addresses (host model). */
export function isToHost(rs: CompiledRuleSet, p: DecodedPacket): boolean {
  return isHost(rs, p.ipVersion, p.dst0, p.dst1, p.dst2, p.dst3);
}

/** True when the packet's source is one of the host's addresses (host model). */
export function isFromHost(rs: CompiledRuleSet, p: DecodedPacket): boolean {
  return isHost(rs, p.ipVersion, p.src0, p.src1, p.src2, p.src3);
}

/**
 * Host model: the packet goes to a group (multicast, broadcast) that this
 * host's stack receives: every host joins IPv4 224.0.0.1 and IPv6 ff02::1
 * and takes 255.255.255.255; each IPv6 address joins its solicited-node
 * group (neighbour solicitations arrive there); a host that forwards also
 * joins ff02::2 (router solicitations). Other groups are joined by
 * programs (mDNS, DHCPv6 relays, ...), which the rule file does not say.
 */
export function receivesGroup(rs: CompiledRuleSet, p: DecodedPacket): boolean {
  if (!isGroupDestination(p)) return false;
  if (p.ipVersion === 4) return isBroadcastDestination(p) || isAllNodes(p);
  if (isAllNodes(p)) return true;
  if (isAllRouters(p)) return rs.chains.forward.length > 0;
  if (!isSolicitedNode(p)) return false;
  const low = p.dst3 & 0xffffff;
  const t = rs.host6;
  for (let i = 3; i < t.length; i += 4) if ((t[i] & 0xffffff) === low) return true;
  return false;
}

/**
 * Which chain filters this packet. Gateway model: always forward. Host
 * model: from the host -> output (a packet the host sends to itself counts
 * as output), to the host or to a group it receives -> input, neither ->
 * forward.
 */
export function chainFor(rs: CompiledRuleSet, p: DecodedPacket): Chain {
  if (rs.model === 'gateway') return 'forward';
  if (isFromHost(rs, p)) return 'output';
  if (isToHost(rs, p) || receivesGroup(rs, p)) return 'input';
  return 'forward';
}
