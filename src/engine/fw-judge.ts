/**
 * The firewall model's path of a packet (rules/firewall.ts), as the kernel
 * takes it through its hooks:
 *
 *   from outside:  prerouting -> routing -> input                (to an own address)
 *                                        -> forward -> postrouting (to anyone else)
 *   sent by it:    output -> postrouting
 *
 * Connection tracking runs first (nf_conntrack_in at priority -200 of
 * prerouting/output); a new entry is confirmed only when every chain on
 * the way accepted the packet. Base chains of a hook run in increasing
 * priority: accept goes on to the next, drop or reject ends the packet.
 * Chains of type nat see only a flow's first packet (engine/fw-nat.ts).
 */
import { Direction, type CaptureRecord } from '../capture/types.js';
import type { ConntrackTable } from '../conntrack/table.js';
import { CtState } from '../conntrack/types.js';
import {
  isMartian,
  isGroupDestination,
  notForwardedScope,
  Scope,
  isAllNodes,
  isAllRouters,
  isSolicitedNode,
} from '../packet/scope.js';
import type { DecodedPacket } from '../packet/types.js';
import {
  type CompiledChain,
  type CompiledFirewall,
  type CompiledFwRule,
  PKTTYPE_BIT,
  Verdict,
} from '../rules/fw-compile.js';
import { ChainWalker, newWalkContext, newWalkOutcome, type WalkContext, type WalkOutcome } from '../rules/fw-walk.js';
import { NO_IF } from '../rules/route.js';
import type { Hook } from '../rules/firewall.js';
import {
  Cause,
  EntryOf,
  linkEntry,
  type CauseValue,
  type PacketResult,
  type Verdict as VerdictWord,
} from './result.js';

/** How a packet's walk ended, for the engine to finish the result with. */
export interface FwDecision {
  verdict: VerdictWord;
  cause: CauseValue;
  /** The deciding rule's `flat` index, or -1 when a policy decided. */
  rule: number;
  /** With a policy: the base chain's index in the firewall's chains; -1 otherwise. */
  policyChain: number;
}

/** Judges packets through a compiled firewall; one per engine (its scratch objects are reused). */
export class FirewallJudge {
  private readonly walker: ChainWalker;
  private readonly cx: WalkContext = newWalkContext();
  private readonly out: WalkOutcome = newWalkOutcome();
  private readonly decision: FwDecision = { verdict: 'accept', cause: Cause.POLICY, rule: -1, policyChain: -1 };
  /** The compiled rule behind r.fwRule (the one to credit). */
  private decider: CompiledFwRule | null = null;
  private policyOf: CompiledChain | null = null;
  /** Capture time (seconds) of the first packet: limit buckets count from it. */
  private t0 = -1;
  /** Flows confirmed (for the engine's stats). */
  flows = 0;

  constructor(
    readonly fw: CompiledFirewall,
    private readonly ct: ConntrackTable | null,
  ) {
    this.walker = new ChainWalker(fw);
  }

  /** The interface name of an index (null for none). */
  ifName(i: number): string | null {
    return i < 0 ? null : this.fw.routes.names[i];
  }

  judge(r: PacketResult, rec: CaptureRecord, p: DecodedPacket, now: number): FwDecision {
    const routes = this.fw.routes;
    const cx = this.cx;
    const d = this.decision;
    if (this.t0 < 0) this.t0 = now;
    cx.nowNs = (now - this.t0) * 1e9;
    cx.len = rec.len;
    cx.ctState = 0;
    cx.ctStatus = 0;
    cx.pktType = pktTypeOf(p, rec, this);
    this.decider = null;
    this.policyOf = null;
    if (p.direction === Direction.OUTBOUND) {
      r.oif = rec.ifName !== '' ? rec.ifName : null;
      return this.end(d, 'skip', Cause.OUTGOING);
    }
    const v = p.ipVersion;
    const local = routes.isOwn(v, p.src0, p.src1, p.src2, p.src3);
    // Ingress: the capture's interface when it names one of ours, else the route back to the source.
    let iif = NO_IF;
    if (!local) {
      iif = rec.ifName !== '' ? routes.indexOf(rec.ifName) : NO_IF;
      if (iif === NO_IF) iif = routes.lookup(v, p.src0, p.src1, p.src2, p.src3);
    }
    cx.iif = iif;
    cx.oif = NO_IF;
    r.iif = this.ifName(iif);
    r.oif = null;

    const toSelf = !local && this.receives(p);
    if (!local && !toSelf) {
      if (notForwardedScope(p) !== Scope.NONE) return this.end(d, 'drop', Cause.NOT_ROUTED);
    } else if (toSelf && isMartian(p)) return this.end(d, 'drop', Cause.NOT_ROUTED);

    // Connection tracking (prerouting or output, priority -200).
    const ct = this.ct;
    let c = null;
    if (ct !== null) {
      ct.advanceClock(now);
      c = ct.track(p, rec.n);
      r.ct = c.stateName;
      r.reply = c.reply;
      if (c.drop) {
        r.detail = c.reason;
        return this.end(d, 'drop', Cause.TABLE_FULL);
      }
      cx.ctState = c.state;
      cx.ctStatus = ct.statusOf(c);
      if (c.state === CtState.INVALID) {
        linkEntry(r, c, EntryOf.ABOUT);
        r.detail = c.reason;
      } else linkEntry(r, c, c.state === CtState.RELATED ? EntryOf.RELATED : EntryOf.ENTRY);
    }

    let chainOut: Hook;
    if (local) {
      cx.oif = routes.lookup(v, p.dst0, p.dst1, p.dst2, p.dst3);
      r.oif = this.ifName(cx.oif);
      if (!this.hook('output', p, r, d)) return d;
      chainOut = 'postrouting';
    } else {
      if (!this.hook('prerouting', p, r, d)) return d;
      if (toSelf) {
        if (!this.hook('input', p, r, d)) return d;
        return this.accepted(r, c, d);
      }
      cx.oif = routes.lookup(v, p.dst0, p.dst1, p.dst2, p.dst3);
      r.oif = this.ifName(cx.oif);
      if (cx.oif === NO_IF) return this.end(d, 'drop', Cause.NOT_ROUTED);
      if (p.ttl <= 1) return this.end(d, 'drop', Cause.TTL_EXPIRED);
      if (!this.hook('forward', p, r, d)) return d;
      chainOut = 'postrouting';
    }
    if (!this.hook(chainOut, p, r, d)) return d;
    return this.accepted(r, c, d);
  }

  /** Does the firewall itself receive this packet (an own address, a group it is in, a directed broadcast)? */
  private receives(p: DecodedPacket): boolean {
    const routes = this.fw.routes;
    const v = p.ipVersion;
    if (routes.isOwn(v, p.dst0, p.dst1, p.dst2, p.dst3)) return true;
    if (!isGroupDestination(p)) return v === 4 && routes.isDirectedBroadcast(p.dst0);
    if (v === 4) return (p.dst0 | 0) === -1 || isAllNodes(p);
    // A router joins all-nodes, all-routers and the solicited-node group of each own address.
    return isAllNodes(p) || isAllRouters(p) || isSolicitedNode(p);
  }

  /**
   * Walk the base chains of one hook. Returns false when one dropped or
   * rejected the packet (`d` then says so), true when all accepted.
   */
  private hook(hook: Hook, p: DecodedPacket, r: PacketResult, d: FwDecision): boolean {
    const chains = this.fw.hooks[hook];
    const isNew = this.cx.ctState === CtState.NEW;
    for (let i = 0; i < chains.length; i++) {
      const ch = chains[i];
      // A nat chain sees only the first packet of a flow.
      if (ch.chain.type === 'nat' && !isNew) continue;
      const o = this.walker.walk(ch, p, this.cx, this.out);
      this.note(r, o, ch);
      if (o.verdict !== Verdict.ACCEPT) {
        this.end(d, o.verdict === Verdict.REJECT ? 'reject' : 'drop', this.causeOf(o, r));
        return false;
      }
    }
    return true;
  }

  /** Remember who decided: the latest chain and rule (the reports name the one that ended the walk, or the last that accepted). */
  private note(r: PacketResult, o: WalkOutcome, base: CompiledChain): void {
    const rule: CompiledFwRule | null = o.rule;
    if (rule !== null) {
      r.fwRule = rule.rule;
      r.chain = rule.rule.chain;
      this.decider = rule;
      this.policyOf = null;
    } else if (o.verdict !== Verdict.ACCEPT || r.fwRule === null) {
      // A policy accept after an explicit accept elsewhere does not hide the rule.
      r.fwRule = null;
      r.chain = base.chain.name;
      this.decider = null;
      this.policyOf = base;
    }
  }

  private causeOf(o: WalkOutcome, r: PacketResult): CauseValue {
    if (o.rule === null) return Cause.POLICY;
    if (o.verdict === Verdict.ACCEPT && o.rule.ctState !== 0) {
      if (r.ct === 'established') return Cause.ESTABLISHED;
      if (r.ct === 'related') return Cause.RELATED;
    }
    if (o.verdict !== Verdict.ACCEPT && r.ct === 'invalid' && o.rule.ctState !== 0) return Cause.INVALID;
    return Cause.RULE;
  }

  private accepted(r: PacketResult, c: ReturnType<ConntrackTable['track']> | null, d: FwDecision): FwDecision {
    let cause: CauseValue = Cause.POLICY;
    if (r.fwRule !== null) {
      const ct = r.fwRule.ctState;
      if (ct !== null && r.ct === 'established' && ct.includes('established')) cause = Cause.ESTABLISHED;
      else if (ct !== null && r.ct === 'related' && ct.includes('related')) cause = Cause.RELATED;
      else cause = Cause.RULE;
    }
    const ct = this.ct;
    if (c !== null && ct?.confirm(c)) {
      this.flows++;
      ct!.setOpenedBy(c, r.n, r.fwRule !== null ? r.fwRule.id : null);
    }
    return this.end(d, 'accept', cause);
  }

  private end(d: FwDecision, verdict: VerdictWord, cause: CauseValue): FwDecision {
    d.verdict = verdict;
    d.cause = cause;
    d.rule = cause === Cause.POLICY || this.decider === null ? -1 : this.decider.flat;
    d.policyChain = cause === Cause.POLICY && this.policyOf !== null ? this.policyOf.index : -1;
    return d;
  }
}

/** meta pkttype: from the Ethernet destination when the link has one, else from the IP destination. */
function pktTypeOf(p: DecodedPacket, rec: CaptureRecord, j: FirewallJudge): number {
  if (p.macOff >= 0) {
    const b = rec.buf;
    const o = p.macOff;
    if (o + 6 <= rec.off + rec.caplen) {
      if ((b[o] & b[o + 1] & b[o + 2] & b[o + 3] & b[o + 4] & b[o + 5]) === 0xff) return PKTTYPE_BIT.broadcast;
      if (b[o] & 1) return PKTTYPE_BIT.multicast;
      return PKTTYPE_BIT.host;
    }
  }
  if (p.ipVersion === 4) {
    if ((p.dst0 | 0) === -1 || j.fw.routes.isDirectedBroadcast(p.dst0)) return PKTTYPE_BIT.broadcast;
    if (p.dst0 >>> 28 === 0xe) return PKTTYPE_BIT.multicast;
  } else if (p.dst0 >>> 24 === 0xff) return PKTTYPE_BIT.multicast;
  return PKTTYPE_BIT.host;
}
