/**
 * The firewall model's path of a packet (rules/firewall.ts), as the kernel
 * takes it through its hooks:
 *
 *   from outside:  prerouting -> routing -> input                (to an own address)
 *                                        -> forward -> postrouting (to anyone else)
 *   sent by it:    output -> postrouting
 *
 * Connection tracking runs at priority -200 of prerouting/output
 * (nf_conntrack_in): chains below it (raw) run first and read ct state
 * invalid, and a packet they untrack (notrack) is never tracked; a new
 * entry is confirmed only when every chain on the way accepted the packet.
 * Base chains of a hook run in increasing priority: accept goes on to the
 * next, drop or reject ends the packet; a chain of an ip (ip6) table is
 * skipped by the other family. The packet's mark starts at 0 and lives
 * through all its hooks. Chains of type nat see only a flow's first packet.
 */
import { Direction, type CaptureRecord } from '../capture/types.js';
import type { ConntrackTable } from '../conntrack/table.js';
import type { CtResult } from '../conntrack/result.js';
import { CtTuple, invertTuple } from '../conntrack/entry.js';
import {
  natApply,
  natFlags,
  NatIcmp,
  natIcmpError,
  natInitialized,
  NatManip,
  type NatManipValue,
  natNullBinding,
  natPacketTuple,
  natQuotedTuple,
  type NatRange,
  natSetup,
} from '../conntrack/nat.js';
import { CT_NAT_MASK, CtState } from '../conntrack/types.js';
import {
  isMartian,
  isGroupDestination,
  notForwardedScope,
  Scope,
  isAllNodes,
  isAllRouters,
  isSolicitedNode,
} from '../packet/scope.js';
import { IpProto, isPortProto, type DecodedPacket } from '../packet/types.js';
import { newDecodedPacket } from '../packet/decode.js';
import {
  type CompiledChain,
  type CompiledFirewall,
  type CompiledFwRule,
  PKTTYPE_BIT,
  Verdict,
} from '../rules/fw-compile.js';
import {
  ChainWalker,
  HookNo,
  newWalkContext,
  newWalkOutcome,
  type WalkContext,
  type WalkOutcome,
} from '../rules/fw-walk.js';
import { NO_IF } from '../rules/route.js';
import type { FwRule, Hook, NatStatement } from '../rules/firewall.js';
import type { Cidr } from '../rules/types.js';
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
  /** The `flat` index of the nat rule that translated the flow's first packet here, or -1. */
  natRule: number;
}

/** Judges packets through a compiled firewall; one per engine (its scratch objects are reused). */
export class FirewallJudge {
  private readonly walker: ChainWalker;
  private readonly cx: WalkContext = newWalkContext();
  private readonly out: WalkOutcome = newWalkOutcome();
  private readonly decision: FwDecision = {
    verdict: 'accept',
    cause: Cause.POLICY,
    rule: -1,
    policyChain: -1,
    natRule: -1,
  };
  /** The compiled rule behind r.fwRule (the one to credit). */
  private decider: CompiledFwRule | null = null;
  private policyOf: CompiledChain | null = null;
  /** The packet's conntrack result (null when stateless). */
  private c: CtResult | null = null;
  /** The packet as the chains see it: the captured one, or xp once NAT rewrote it. */
  private cur: DecodedPacket = newDecodedPacket();
  private readonly xp: DecodedPacket = newDecodedPacket();
  private readonly tuple = new CtTuple();
  private readonly outer = new CtTuple();
  private readonly inner = new CtTuple();
  /** The nat rule that translated this flow's first packet. */
  private natRule: FwRule | null = null;
  /** Capture time (seconds) of the first packet: limit buckets count from it. */
  private t0 = -1;
  /** Flows confirmed (for the engine's stats). */
  flows = 0;
  /** How many of prerouting's and output's base chains run before conntrack (CompiledFirewall.raw). */
  private readonly rawPre: number;
  private readonly rawOut: number;

  constructor(
    readonly fw: CompiledFirewall,
    private readonly ct: ConntrackTable | null,
  ) {
    this.walker = new ChainWalker(fw);
    this.rawPre = fw.raw.prerouting;
    this.rawOut = fw.raw.output;
  }

  /** The rules with `counter` and what they counted so far. */
  counters(): { id: string; packets: number; bytes: number }[] {
    const out: { id: string; packets: number; bytes: number }[] = [];
    for (const c of this.fw.chains)
      for (const r of c.rules) if (r.rule.counter) out.push({ id: r.rule.id, packets: r.packets, bytes: r.bytes });
    return out;
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
    // (nft counters count the IP packet, skb->len at the IP layer, not the frame.)
    cx.len = p.ipTotalLen > 0 ? p.ipTotalLen : rec.len;
    cx.ctState = 0;
    cx.ctStatus = 0;
    cx.ct = false;
    cx.mark = 0;
    cx.pktType = pktTypeOf(p, rec, this);
    this.decider = null;
    this.policyOf = null;
    d.natRule = -1;
    if (p.direction === Direction.OUTBOUND) {
      r.oif = rec.ifName !== '' ? rec.ifName : null;
      return this.end(d, 'skip', Cause.OUTGOING);
    }
    const v = p.ipVersion;
    const local = routes.isOwn(v, p.src0, p.src1, p.src2, p.src3);
    // Ingress: the capture's interface when it names one of ours, else the route back to the source.
    const capturedOn = rec.ifName !== '' ? routes.indexOf(rec.ifName) : NO_IF;
    if (capturedOn !== NO_IF && this.leaving(p, capturedOn, local)) {
      r.oif = rec.ifName;
      return this.end(d, 'skip', Cause.OUTGOING);
    }
    let iif = NO_IF;
    if (!local) {
      iif = capturedOn;
      if (iif === NO_IF) iif = routes.lookup(v, p.src0, p.src1, p.src2, p.src3);
    }
    cx.iif = iif;
    cx.oif = NO_IF;
    cx.ttlTaken = 0;
    r.iif = this.ifName(iif);
    r.oif = null;

    const toSelf = !local && this.receives(p);
    if (!local && !toSelf) {
      if (notForwardedScope(p) !== Scope.NONE) return this.end(d, 'drop', Cause.NOT_ROUTED);
    } else if (toSelf && isMartian(p)) return this.end(d, 'drop', Cause.NOT_ROUTED);

    this.c = null;
    this.cur = p;
    this.natRule = null;
    r.egress = null;
    r.natRule = null;
    const ct = this.ct;
    if ((local ? this.rawOut : this.rawPre) > 0) {
      const first: Hook = local ? 'output' : 'prerouting';
      // Chains before conntrack (raw): `ct state` reads invalid there (nft_ct_get_eval with no conntrack yet).
      if (ct !== null) cx.ctState = CtState.INVALID;
      if (local) cx.oif = routes.lookup(v, p.dst0, p.dst1, p.dst2, p.dst3);
      if (!this.rawHook(first, r, d)) return d;
    }

    // Connection tracking (prerouting or output, priority -200); not for a packet a raw chain untracked.
    let c = null;
    if (cx.ctState === CtState.UNTRACKED) {
      if (ct !== null) r.ct = 'untracked';
    } else if (ct !== null) {
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
      cx.ct = c.state !== CtState.INVALID && c.state !== CtState.UNTRACKED;
      if (c.state === CtState.INVALID) {
        linkEntry(r, c, EntryOf.ABOUT);
        r.detail = c.reason;
      } else linkEntry(r, c, c.state === CtState.RELATED ? EntryOf.RELATED : EntryOf.ENTRY);
    }

    this.c = c;
    if (local) {
      cx.oif = routes.lookup(v, p.dst0, p.dst1, p.dst2, p.dst3);
      r.oif = this.ifName(cx.oif);
      if (!this.hook('output', r, d)) return d;
      // Rerouted when the output hook's DNAT changed the destination (ip_route_me_harder).
      if (this.cur !== p) {
        const q = this.cur;
        cx.oif = routes.lookup(v, q.dst0, q.dst1, q.dst2, q.dst3);
        r.oif = this.ifName(cx.oif);
      }
    } else {
      if (!this.hook('prerouting', r, d)) return d;
      // Routing sees the destination DNAT (or redirect) gave it.
      const q = this.cur;
      // (The same answer as before prerouting unless DNAT moved the destination.)
      if (q === p ? toSelf : this.receives(q)) {
        if (!this.hook('input', r, d)) return d;
        return this.accepted(r, c, d);
      }
      if (q !== p && notForwardedScope(q) !== Scope.NONE) return this.end(d, 'drop', Cause.NOT_ROUTED);
      cx.oif = routes.lookup(v, q.dst0, q.dst1, q.dst2, q.dst3);
      r.oif = this.ifName(cx.oif);
      if (cx.oif === NO_IF) return this.end(d, 'drop', Cause.NOT_ROUTED);
      if (p.ttl <= 1) return this.end(d, 'drop', Cause.TTL_EXPIRED);
      // ip_forward's ip_decrease_ttl (ip6_forward's hop_limit--), before NF_INET_FORWARD.
      cx.ttlTaken = 1;
      if (!this.hook('forward', r, d)) return d;
    }
    if (!this.hook('postrouting', r, d)) return d;
    return this.accepted(r, c, d);
  }

  /**
   * A packet captured on one of the firewall's interfaces without a
   * direction: did the firewall send it out there? Yes when it is from the
   * firewall's own address, or when the route back to its source leaves by
   * another interface (what rp_filter calls a spoofed source: a forwarded
   * packet's copy on its way out). Link-local and unroutable sources are
   * taken as arriving.
   */
  private leaving(p: DecodedPacket, on: number, local: boolean): boolean {
    if (local) return this.translatedCopy(p);
    if (
      p.ipVersion === 6
        ? p.src0 >>> 22 === 0x3fa || (p.src0 | p.src1 | p.src2 | p.src3) === 0
        : p.src0 >>> 16 === 0xa9fe
    )
      return false;
    const back = this.fw.routes.lookup(p.ipVersion, p.src0, p.src1, p.src2, p.src3);
    return back !== NO_IF && back !== on;
  }

  /**
   * A packet from the firewall's own address, captured on one of its
   * interfaces: a copy of a forwarded packet that NAT gave that address
   * (its inverse is a translated entry's reply tuple: the packet it came
   * from was judged), or one the firewall sent itself (judged, through
   * output: its conntrack entry sees it, as the kernel's did).
   */
  private translatedCopy(p: DecodedPacket): boolean {
    const ct = this.ct;
    if (ct === null) return true;
    const t = this.tuple;
    natPacketTuple(p, t);
    if (ct.lookup(t) !== null) return false;
    if (!invertTuple(t, this.outer)) return false;
    const e = ct.lookup(this.outer);
    return e !== null && (e.status & CT_NAT_MASK) !== 0;
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
   * Walk the base chains of one hook, with the NAT point at its place among
   * them (NAT_PRIORITY). Returns false when one dropped or rejected the
   * packet (`d` then says so), true when all accepted.
   */
  private hook(hook: Hook, r: PacketResult, d: FwDecision): boolean {
    const chains = this.fw.hooks[hook];
    const natAt = this.fw.hasNat && this.c !== null ? NAT_PRIORITY[hook] : Number.POSITIVE_INFINITY;
    const v = this.cur.ipVersion;
    this.cx.hook = hookNo(hook);
    let natDone = false;
    // (The raw chains of prerouting and output ran before conntrack.)
    const from = hook === 'prerouting' ? this.rawPre : hook === 'output' ? this.rawOut : 0;
    for (let i = from; i < chains.length; i++) {
      const ch = chains[i];
      if (!natDone && ch.chain.priority >= natAt) {
        natDone = true;
        if (!this.natPoint(hook, r, d)) return false;
      }
      // Nat chains are walked at the NAT point, for a flow's first packet only.
      if (ch.chain.type === 'nat') continue;
      // A chain of an ip (ip6) table never sees an IPv6 (IPv4) packet.
      if (ch.family !== 0 && ch.family !== v) continue;
      if (!this.walkBase(ch, r, d)) return false;
    }
    if (!natDone && natAt !== Number.POSITIVE_INFINITY) return this.natPoint(hook, r, d);
    return true;
  }

  /** Walk one filter base chain; false when it dropped or rejected the packet (`d` says so). */
  private walkBase(ch: CompiledChain, r: PacketResult, d: FwDecision): boolean {
    const o = this.walker.walk(ch, this.cur, this.cx, this.out);
    this.note(r, o, ch);
    if (this.cx.ctState === CtState.UNTRACKED && this.ct !== null) r.ct = 'untracked';
    if (o.verdict !== Verdict.ACCEPT) {
      if (o.verdict === Verdict.REJECT) this.rejected(o);
      this.end(d, o.verdict === Verdict.REJECT ? 'reject' : 'drop', this.causeOf(o, r));
      return false;
    }
    return true;
  }

  /** The base chains of a hook that run before conntrack (priority below -200); as hook(), without NAT. */
  private rawHook(hook: Hook, r: PacketResult, d: FwDecision): boolean {
    const chains = this.fw.hooks[hook];
    const v = this.cur.ipVersion;
    this.cx.hook = hookNo(hook);
    const n = hook === 'prerouting' ? this.rawPre : this.rawOut;
    for (let i = 0; i < n; i++) {
      const ch = chains[i];
      if (ch.family !== 0 && ch.family !== v) continue;
      if (!this.walkBase(ch, r, d)) return false;
    }
    return true;
  }

  /**
   * The NAT hook (nf_nat_inet_fn): for a flow's first packet, the nat
   * chains decide its translation (or the null binding keeps it, with a
   * port moved on a clash); then every packet of a translated flow is
   * rewritten. False when the packet is dropped here.
   */
  private natPoint(hook: Hook, r: PacketResult, d: FwDecision): boolean {
    const c = this.c!;
    const manip = hook === 'prerouting' || hook === 'output' ? NatManip.DST : NatManip.SRC;
    if (c.state === CtState.NEW && !natInitialized(c, manip)) {
      const chains = this.fw.hooks[hook];
      for (let i = 0; i < chains.length && !natInitialized(c, manip); i++) {
        const ch = chains[i];
        if (ch.chain.type !== 'nat') continue;
        if (ch.family !== 0 && ch.family !== this.cur.ipVersion) continue;
        const o = this.walker.walk(ch, this.cur, this.cx, this.out);
        if (o.verdict !== Verdict.ACCEPT) {
          this.note(r, o, ch);
          this.end(d, o.verdict === Verdict.REJECT ? 'reject' : 'drop', this.causeOf(o, r));
          return false;
        }
        const nat = o.rule?.rule.nat ?? null;
        if (nat === null) continue;
        const range = this.rangeOf(nat, hook);
        // (A DST manip whose tuple is taken stands: the SRC manip at postrouting may still move the port.)
        if (range === null || (!natSetup(c, manip, range) && manip === NatManip.SRC)) {
          this.note(r, o, ch);
          r.detail =
            range === null
              ? // (masquerade takes another interface's address when the egress has none: source-address.ts)
                `${nat.kind}: ${nat.kind === 'masquerade' ? 'no interface has an' : 'the interface has no'} ${this.cur.ipVersion === 6 ? 'IPv6' : 'IPv4'} address to translate to`
              : `${nat.kind}: no free ${isPortProto(this.cur.proto) ? 'port' : 'tuple'} left in the range (the kernel fails to insert the entry)`;
          this.end(d, 'drop', Cause.NAT_FAILED);
          return false;
        }
        this.natRule = o.rule!.rule;
        r.natRule = this.natRule;
        d.natRule = o.rule!.flat;
      }
      if (!natInitialized(c, manip) && !natNullBinding(c, manip) && manip === NatManip.SRC) {
        r.detail = 'no free port for the flow as it is (null binding): the kernel fails to insert the entry';
        this.end(d, 'drop', Cause.NAT_FAILED);
        return false;
      }
      this.cx.ctStatus = this.ct!.statusOf(c);
    }
    if (c.state === CtState.INVALID || c.state === CtState.UNTRACKED) return true;
    this.translate(c, manip, r);
    return true;
  }

  /** The NAT range of a rule's statement at this hook; null when there is no address to take (masquerade, redirect). */
  private rangeOf(nat: NatStatement, hook: Hook): NatRange | null {
    const q = this.cur;
    const v = q.ipVersion as 4 | 6;
    const ports = nat.ports !== null ? { lo: nat.ports.lo, hi: nat.ports.hi } : null;
    const flags = natFlags(nat.flags);
    if (nat.kind === 'snat' || nat.kind === 'dnat') {
      return { addr: nat.addr !== null ? { lo: nat.addr.lo, hi: nat.addr.hi } : null, ports, flags };
    }
    let a: Cidr | null;
    if (nat.kind === 'masquerade') {
      a = this.fw.routes.sourceAddress(this.cx.oif, v, [q.dst0 >>> 0, q.dst1 >>> 0, q.dst2 >>> 0, q.dst3 >>> 0]);
    } else if (hook === 'output') {
      // nf_nat_redirect: a locally generated packet goes to the loopback address.
      a = v === 4 ? LOOPBACK4 : LOOPBACK6;
    } else {
      a = this.fw.routes.firstAddress(this.cx.iif, v);
    }
    if (a === null) return null;
    return { addr: { lo: a.words, hi: a.words }, ports, flags };
  }

  /** Rewrite the packet as NAT says at this hook (nf_nat_packet; ICMP errors: their quoted packet too). */
  private translate(c: CtResult, manip: NatManipValue, r: PacketResult): void {
    const q = this.cur;
    const t = this.tuple;
    const icmpError = c.state === CtState.RELATED && q.innerValid;
    if (!icmpError) natPacketTuple(q, t);
    const changed = icmpError ? this.translateIcmpError(c, manip, q) : natApply(c, manip, t);
    if (!changed) return;
    const x = this.own();
    if (icmpError) {
      setAddresses(x, this.outer);
      const i = this.inner;
      x.innerSrc0 = i.src0 | 0;
      x.innerSrc1 = i.src1 | 0;
      x.innerSrc2 = i.src2 | 0;
      x.innerSrc3 = i.src3 | 0;
      x.innerDst0 = i.dst0 | 0;
      x.innerDst1 = i.dst1 | 0;
      x.innerDst2 = i.dst2 | 0;
      x.innerDst3 = i.dst3 | 0;
      if (isPortProto(x.innerProto)) {
        x.innerSport = i.sport;
        x.innerDport = i.dport;
      } else if (x.innerProto === IpProto.ICMP || x.innerProto === IpProto.ICMPV6) x.innerSport = i.sport;
    } else {
      setAddresses(x, t);
      if (isPortProto(x.proto)) {
        x.sport = t.sport;
        x.dport = t.dport;
      } else if (x.proto === IpProto.ICMP || x.proto === IpProto.ICMPV6) x.icmpId = t.sport;
    }
    r.egress = x;
  }

  private translateIcmpError(c: CtResult, manip: NatManipValue, q: DecodedPacket): boolean {
    const o = this.outer;
    natPacketTuple(q, o);
    const i = natQuotedTuple(q, this.inner);
    return natIcmpError(c, manip, q.icmpType, o, i) === NatIcmp.CHANGED;
  }

  /** The packet as translated so far: a copy of the captured one made on the first change (the report still shows what was captured). */
  private own(): DecodedPacket {
    if (this.cur === this.xp) return this.xp;
    Object.assign(this.xp, this.cur);
    this.cur = this.xp;
    return this.xp;
  }

  /** A reject: a TCP reset sent for a packet of a confirmed TCP flow closes it (nf_send_reset -> nf_ct_set_closing). */
  private rejected(o: WalkOutcome): void {
    const c = this.c;
    if (c === null || this.ct === null || this.cur.proto !== IpProto.TCP) return;
    if (o.rule?.rule.rejectWith === 'tcp reset') this.ct.setClosing(c);
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
    } else if (c?.drop) {
      // __nf_conntrack_confirm: NAT left a reply tuple another entry holds (insert_failed).
      r.detail =
        'its translated reply tuple is held by another flow: the kernel fails to insert the entry (insert_failed) and drops the packet';
      return this.end(d, 'drop', Cause.NAT_FAILED);
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

/** WalkContext.hook of a hook (compares of interned strings, not a keyed load). */
function hookNo(h: Hook): number {
  if (h === 'prerouting') return HookNo.PREROUTING;
  if (h === 'forward') return HookNo.FORWARD;
  if (h === 'input') return HookNo.INPUT;
  if (h === 'postrouting') return HookNo.POSTROUTING;
  return HookNo.OUTPUT;
}

/** Where the NAT hook sits among a hook's base chains (NF_IP_PRI_NAT_DST / _SRC). */
const NAT_PRIORITY: Readonly<Record<Hook, number>> = {
  prerouting: -100,
  output: -100,
  input: 100,
  postrouting: 100,
  forward: Number.POSITIVE_INFINITY,
};

const LOOPBACK4: Cidr = { version: 4, words: [0x7f000001, 0, 0, 0], prefix: 32, text: '127.0.0.1' };
const LOOPBACK6: Cidr = { version: 6, words: [0, 0, 0, 1], prefix: 128, text: '::1' };

/** The packet's addresses from a tuple (DecodedPacket keeps int32 words, CtTuple uint32). */
function setAddresses(x: DecodedPacket, t: CtTuple): void {
  x.src0 = t.src0 | 0;
  x.src1 = t.src1 | 0;
  x.src2 = t.src2 | 0;
  x.src3 = t.src3 | 0;
  x.dst0 = t.dst0 | 0;
  x.dst1 = t.dst1 | 0;
  x.dst2 = t.dst2 | 0;
  x.dst3 = t.dst3 | 0;
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
