/**
 * Walking a base chain of the firewall model, as nft_do_chain does: rules in
 * order, the first terminal verdict ends the walk; jump pushes a return
 * point, goto does not, return (or the end of a user chain) pops one, and
 * the end of the base chain gives its policy. Allocation-free: the stack
 * and the outcome are reused.
 */
import type { DecodedPacket } from '../packet/types.js';
import { addrIn, inRanges } from './match.js';
import {
  type CompiledAddrMatch,
  type CompiledChain,
  type CompiledFib,
  type CompiledFirewall,
  type CompiledFwRule,
  CT_STATE_BIT,
  Neg,
  Verdict,
} from './fw-compile.js';
import { LO_IF, NO_IF, type RouteTable } from './route.js';

/** WalkContext.hook values. */
export const HookNo = { PREROUTING: 0, INPUT: 1, FORWARD: 2, OUTPUT: 3, POSTROUTING: 4 } as const;

/** What the walk needs to know beyond the packet's own headers. */
export interface WalkContext {
  /** Interface indices (RouteTable); -1: none (iif of the firewall's own packets, oif before routing). */
  iif: number;
  oif: number;
  /** nft ct state bit of the packet (CtState); 0 when tracking is off. */
  ctState: number;
  /** IPS_* bits of its entry; 0 without one. */
  ctStatus: number;
  /** Has the packet a conntrack entry (`ct status` reads nothing without one: nft_ct_get_eval breaks)? */
  ct: boolean;
  /** skb->mark: 0 when the packet arrives or is sent, changed by `meta mark set`, kept through its hooks. */
  mark: number;
  /** The hook being walked (HookNo). */
  hook: number;
  /** What the forward path took off the TTL / hop limit before this hook: 1 in forward and after, else 0. */
  ttlTaken: number;
  /** PKTTYPE_BIT of the packet. */
  pktType: number;
  /** Capture time in ns since the first packet (limit buckets). */
  nowNs: number;
  /** Packet length (counters). */
  len: number;
}

export function newWalkContext(): WalkContext {
  return {
    iif: -1,
    oif: -1,
    ctState: 0,
    ctStatus: 0,
    ct: false,
    mark: 0,
    hook: 0,
    ttlTaken: 0,
    pktType: 1,
    nowNs: 0,
    len: 0,
  };
}

/** The outcome of one base chain: a terminal verdict (ACCEPT, DROP, REJECT), by a rule or the policy. */
export interface WalkOutcome {
  verdict: number;
  /** The rule that decided, or null when the base chain's policy did. */
  rule: CompiledFwRule | null;
  /** The chain the deciding rule is in (the base chain for a policy). */
  chain: CompiledChain | null;
}

export function newWalkOutcome(): WalkOutcome {
  return { verdict: Verdict.ACCEPT, rule: null, chain: null };
}

/** In one of the prefixes (match.ts), or of the ranges. */
function addrMatches(a: CompiledAddrMatch, v: number, w0: number, w1: number, w2: number, w3: number): boolean {
  if (addrIn(a, v, w0, w1, w2, w3)) return true;
  if (v === 4) {
    const r = a.r4;
    const u = w0 >>> 0;
    for (let i = 0; i < r.length; i += 2) if (u >= r[i] && u <= r[i + 1]) return true;
    return false;
  }
  const r = a.r6;
  for (let i = 0; i < r.length; i += 8)
    if (cmp6(w0, w1, w2, w3, r, i) >= 0 && cmp6(w0, w1, w2, w3, r, i + 4) <= 0) return true;
  return false;
}

/** Compare an address with the 4 words at r[i..i+3], unsigned: -1, 0, 1. */
function cmp6(w0: number, w1: number, w2: number, w3: number, r: Uint32Array, i: number): number {
  for (let k = 0; k < 4; k++) {
    const a = (k === 0 ? w0 : k === 1 ? w1 : k === 2 ? w2 : w3) >>> 0;
    if (a < r[i + k]) return -1;
    if (a > r[i + k]) return 1;
  }
  return 0;
}

/**
 * The limit statement as a match (nft_limit_eval): refill by the time
 * passed, capped at the bucket size; a packet that finds `cost` tokens takes
 * them (no `over`: it matches). The bucket starts full, as one loaded long
 * before the capture began.
 */
function limitMatches(b: NonNullable<CompiledFwRule['limit']>, now: number): boolean {
  let tokens = b.last < 0 ? b.max : b.tokens + (now - b.last);
  if (tokens > b.max) tokens = b.max;
  b.last = now;
  const delta = tokens - b.cost;
  if (delta >= 0) {
    b.tokens = delta;
    return !b.over;
  }
  b.tokens = tokens;
  return b.over;
}

/**
 * Does the rule's every condition hold? (The limit, last, is evaluated only
 * when the rest holds, as nft's expressions in order.) A rule with
 * negation, a mark or fib takes fwRuleMatchesFull; this short test stays
 * small enough for the walk to keep it inline.
 */
export function fwRuleMatches(r: CompiledFwRule, p: DecodedPacket, cx: WalkContext, routes: RouteTable): boolean {
  if (!r.plain) return fwRuleMatchesFull(r, p, cx, routes);
  const v = p.ipVersion;
  if (v === 4) {
    if (!r.v4) return false;
  } else if (v === 6) {
    if (!r.v6) return false;
  } else return false;
  if (r.proto >= 0 && p.proto !== r.proto) return false;
  if (r.iif !== null && (cx.iif < 0 || r.iif[cx.iif] !== 1)) return false;
  if (r.oif !== null && (cx.oif < 0 || r.oif[cx.oif] !== 1)) return false;
  if (r.ctState !== 0 && (r.ctState & cx.ctState) === 0) return false;
  if (r.ctStatus !== 0 && (r.ctStatus & cx.ctStatus) === 0) return false;
  if (r.pktType !== 0 && (r.pktType & cx.pktType) === 0) return false;
  if (r.src !== null && !addrMatches(r.src, v, p.src0, p.src1, p.src2, p.src3)) return false;
  if (r.dst !== null && !addrMatches(r.dst, v, p.dst0, p.dst1, p.dst2, p.dst3)) return false;
  if (r.sport !== null && (p.l4Off < 0 || !inRanges(r.sport, p.sport))) return false;
  if (r.dport !== null && (p.l4Off < 0 || !inRanges(r.dport, p.dport))) return false;
  const types = r.icmpTypes;
  if (types !== null) {
    if (p.l4Off < 0 || types[p.icmpType] !== 1) return false;
    const codes = r.icmpCodes;
    if (codes !== null && codes[p.icmpCode] !== 1) return false;
  }
  if (r.tcpMask !== 0 && (p.l4Off < 0 || (p.tcpFlags & r.tcpMask) !== r.tcpValue)) return false;
  if (r.limit !== null && !limitMatches(r.limit, cx.nowNs)) return false;
  return true;
}

/**
 * The rule's conditions when it uses negation, a mark or fib: each value
 * test compared with its Neg bit. What a negated condition implies (its
 * IP family, its protocol, a transport header present) still holds, as
 * nft's payload dependencies are not negated; `ct status` without a
 * conntrack entry never matches, negated or not (nft_ct_get_eval breaks).
 */
export function fwRuleMatchesFull(r: CompiledFwRule, p: DecodedPacket, cx: WalkContext, routes: RouteTable): boolean {
  const v = p.ipVersion;
  if (v === 4) {
    if (!r.v4) return false;
  } else if (v === 6) {
    if (!r.v6) return false;
  } else return false;
  const neg = r.neg;
  if (r.proto >= 0 && (p.proto === r.proto) === ((neg & Neg.PROTO) !== 0)) return false;
  if (r.iif !== null && (cx.iif >= 0 && r.iif[cx.iif] === 1) === ((neg & Neg.IIF) !== 0)) return false;
  if (r.oif !== null && (cx.oif >= 0 && r.oif[cx.oif] === 1) === ((neg & Neg.OIF) !== 0)) return false;
  if (r.ctState !== 0 && ((r.ctState & cx.ctState) !== 0) === ((neg & Neg.CT_STATE) !== 0)) return false;
  if (r.ctStatus !== 0 && (!cx.ct || ((r.ctStatus & cx.ctStatus) !== 0) === ((neg & Neg.CT_STATUS) !== 0)))
    return false;
  if (r.pktType !== 0 && ((r.pktType & cx.pktType) !== 0) === ((neg & Neg.PKTTYPE) !== 0)) return false;
  if (r.hasMark && ((cx.mark & r.markMask) >>> 0 === r.markValue) === ((neg & Neg.MARK) !== 0)) return false;
  if (r.src !== null && addrMatches(r.src, v, p.src0, p.src1, p.src2, p.src3) === ((neg & Neg.SRC) !== 0)) return false;
  if (r.dst !== null && addrMatches(r.dst, v, p.dst0, p.dst1, p.dst2, p.dst3) === ((neg & Neg.DST) !== 0)) return false;
  if (r.sport !== null && (p.l4Off < 0 || inRanges(r.sport, p.sport) === ((neg & Neg.SPORT) !== 0))) return false;
  if (r.dport !== null && (p.l4Off < 0 || inRanges(r.dport, p.dport) === ((neg & Neg.DPORT) !== 0))) return false;
  const types = r.icmpTypes;
  if (types !== null) {
    if (p.l4Off < 0) return false;
    const codes = r.icmpCodes;
    const m = types[p.icmpType] === 1 && (codes === null || codes[p.icmpCode] === 1);
    if (m === ((neg & Neg.ICMP) !== 0)) return false;
  }
  if (r.tcpMask !== 0 && (p.l4Off < 0 || ((p.tcpFlags & r.tcpMask) === r.tcpValue) === ((neg & Neg.TCP_FLAGS) !== 0)))
    return false;
  if (r.hopLo >= 0) {
    // As the header is at this hook: less what ip_forward / ip6_forward took off before forward.
    const hl = p.ttl - cx.ttlTaken;
    if ((hl >= r.hopLo && hl <= r.hopHi) === r.hopNeg) return false;
  }
  const fib = r.fib;
  if (fib !== null)
    for (let i = 0; i < fib.length; i++) if (fibHolds(fib[i], p, cx, routes) === fib[i].neg) return false;
  if (r.limit !== null && !limitMatches(r.limit, cx.nowNs)) return false;
  return true;
}

/** One fib condition (nft_fib4_eval/_type, nft_fib6_eval/_type), answered from the routes. */
function fibHolds(f: CompiledFib, p: DecodedPacket, cx: WalkContext, routes: RouteTable): boolean {
  const v = p.ipVersion;
  const d = f.daddr;
  const w0 = d ? p.dst0 : p.src0;
  const w1 = d ? p.dst1 : p.src1;
  const w2 = d ? p.dst2 : p.src2;
  const w3 = d ? p.dst3 : p.src3;
  const dev = f.dev === 1 ? cx.iif : f.dev === 2 ? cx.oif : NO_IF;
  if (f.type) return (f.types & (1 << routes.addrType(v, w0, w1, w2, w3, dev))) !== 0;
  // `oif missing` holds when no route is found; `f.types` is unused.
  if (cx.hook === HookNo.PREROUTING) {
    // Looped-back packets, and (IPv4) DHCP-like 0.0.0.0 -> broadcast / 224.0.0.0/24, (IPv6) ICMPv6 from ::
    // to a link-local destination are taken as arriving where they should.
    if (cx.iif === LO_IF) return false;
    if (v === 4) {
      if (p.src0 >>> 24 === 0 && ((p.dst0 | 0) === -1 || p.dst0 >>> 8 === 0xe00000)) return false;
    } else if (
      p.proto === 58 &&
      (p.src0 | p.src1 | p.src2 | p.src3) === 0 &&
      (p.dst0 >>> 22 === 0x3fa || ((p.dst0 >>> 16) & 0xff0f) === 0xff02)
    )
      return false;
  } else if (v === 4 && p.src0 >>> 24 === 0 && ((p.dst0 | 0) === -1 || p.dst0 >>> 8 === 0xe00000)) return false;
  // (A device the packet has not, e.g. iif in output, restricts nothing: nft_in() is NULL.)
  return !routes.routeLeavesBy(v, w0, w1, w2, w3, dev);
}

const UNTRACKED = CT_STATE_BIT.untracked;

/** The statements of a matched rule before its verdict: meta mark set, notrack. */
function runStatements(r: CompiledFwRule, cx: WalkContext): void {
  if (r.setsMark) cx.mark = ((cx.mark & r.markAnd) ^ r.markXor) >>> 0;
  // nft_notrack_eval: a packet with no conntrack entry (before conntrack, or found invalid) becomes untracked.
  if (r.notrack && !cx.ct) cx.ctState = UNTRACKED;
}

/** nft's jump stack depth (NFT_JUMP_STACK_SIZE). */
const STACK = 16;

/** Walks base chains; one per engine (its stack is reused). */
export class ChainWalker {
  private readonly stackChain = new Int32Array(STACK);
  private readonly stackRule = new Int32Array(STACK);

  private readonly routes: RouteTable;

  constructor(private readonly fw: CompiledFirewall) {
    this.routes = fw.routes;
  }

  /** Walk `base` for the packet; the outcome is written to `out`. */
  walk(base: CompiledChain, p: DecodedPacket, cx: WalkContext, out: WalkOutcome): WalkOutcome {
    const chains = this.fw.chains;
    let chain = base;
    let i = 0;
    let sp = 0;
    for (;;) {
      const rules = chain.rules;
      if (i >= rules.length) {
        // The end of a user chain returns (an implicit return); of the base chain, its policy.
        if (sp > 0) {
          sp--;
          chain = chains[this.stackChain[sp]];
          i = this.stackRule[sp];
          continue;
        }
        out.verdict = base.policy;
        out.rule = null;
        out.chain = base;
        return out;
      }
      const r = rules[i++];
      if (!fwRuleMatches(r, p, cx, this.routes)) continue;
      r.packets++;
      r.bytes += cx.len;
      if (r.statements) runStatements(r, cx);
      switch (r.verdict) {
        case Verdict.CONTINUE:
          continue;
        case Verdict.JUMP:
          if (sp < STACK) {
            this.stackChain[sp] = chain.index;
            this.stackRule[sp] = i;
            sp++;
          }
          chain = chains[r.target];
          i = 0;
          continue;
        case Verdict.GOTO:
          chain = chains[r.target];
          i = 0;
          continue;
        case Verdict.RETURN:
          if (sp > 0) {
            sp--;
            chain = chains[this.stackChain[sp]];
            i = this.stackRule[sp];
            continue;
          }
          out.verdict = base.policy;
          out.rule = null;
          out.chain = base;
          return out;
        default:
          out.verdict = r.verdict;
          out.rule = r;
          out.chain = chain;
          return out;
      }
    }
  }
}
