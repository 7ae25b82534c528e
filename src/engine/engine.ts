import type { CaptureRecord } from '../capture/types.js';
import { ConntrackTable } from '../conntrack/table.js';
import { CtState } from '../conntrack/types.js';
import type { CtEvent } from '../conntrack/entry.js';
import { loneFragmentUdpLengthFault } from '../packet/udp.js';
import { isMartian, notForwardedScope, Scope } from '../packet/scope.js';
import type { DecodedPacket } from '../packet/types.js';
import { IpProto, PacketKind } from '../packet/types.js';
import { compileRuleSet, type CompiledRuleSet } from '../rules/compile.js';
import { chainFor, firstMatch } from '../rules/match.js';
import type { Action, Chain, Rule, RuleSet } from '../rules/types.js';
import { CHAINS } from '../rules/spec.js';
import { Cause, CAUSE_WORDS, EntryOf, linkEntry, newPacketResult, type PacketResult, type Verdict } from './result.js';
import { FirewallJudge } from './fw-judge.js';
import { compileFirewall, firewallRules } from '../rules/fw-compile.js';
import { Defragmenter, DefragStatus, type DefragSettings, type HeldFragment } from './defrag.js';

/** A result for a packet the engine held (an IP fragment), released later: with its own copy of the record. */
export interface ReleasedResult {
  result: PacketResult;
  rec: CaptureRecord;
  fragment: HeldFragment;
}

/** The reassembly sysctls of a rule set (`ipv4:`, and `conntrack:`'s frag6_*); a RuleSet built by hand may lack them. */
function defragSettings(rs: RuleSet): Partial<DefragSettings> {
  const ct = rs.conntrack as Partial<RuleSet['conntrack']> | undefined;
  const out: Partial<DefragSettings> = { ...rs.ipv4 };
  if (ct?.frag6_high_thresh !== undefined) out.frag6_high_thresh = ct.frag6_high_thresh;
  if (ct?.frag6_low_thresh !== undefined) out.frag6_low_thresh = ct.frag6_low_thresh;
  if (ct?.frag6_timeout !== undefined) out.frag6_timeout = ct.frag6_timeout;
  return out;
}

/** Counters for the summary at the end of a replay. */
export interface EngineStats {
  packets: number;
  verdicts: Record<Verdict, number>;
  /** Packets by how they were decided (Cause names in lower case). */
  byCause: Record<string, number>;
  /** Packets decided by each rule, by rule index (0-based, file order). */
  ruleHits: number[];
  /** Packets decided by each chain's policy (input, output, forward; the firewall model: its base chains by name). */
  policyHits: Record<string, number>;
  undecodable: number;
  nonIp: number;
  /** Flows that entered the conntrack table. */
  flows: number;
  /** Firewall model: the rules with `counter`, what they counted (packets and bytes that matched them). */
  counters?: { id: string; packets: number; bytes: number }[];
}

const VERDICTS: readonly Verdict[] = ['accept', 'drop', 'reject', 'skip'];

/** Index of a verdict in VERDICTS (comparisons of interned strings: no property lookup). */
function verdictIndex(v: Verdict): number {
  return v === 'accept' ? 0 : v === 'drop' ? 1 : v === 'reject' ? 2 : 3;
}

/** Index of a chain in CHAINS (rules/spec.ts). */
function chainIndex(c: Chain): number {
  return c === 'input' ? 0 : c === 'output' ? 1 : 2;
}

/**
 * The firewall: for each decoded packet, what nftables with the usual
 * stateful preamble would do:
 *
 *   ct state established,related accept
 *   ct state invalid drop
 *   <the rule file's rules, first match wins>
 *   policy <policy>
 *
 * Connection tracking runs before the filter (as nf_conntrack_in does at
 * PREROUTING/OUTPUT) and a new entry is confirmed only if the packet is
 * accepted, so a dropped first packet leaves nothing in the table.
 */
export class Engine {
  readonly compiled: CompiledRuleSet;
  readonly ct: ConntrackTable | null;
  /** Reused for every packet: copy what you keep. */
  readonly result: PacketResult = newPacketResult();
  /** Capture time (seconds) of the latest packet seen. */
  now = 0;
  private readonly hostForwards: boolean;
  private readonly ruleById: Map<string, Rule>;
  /** The firewall model's path (rules with interfaces or chains), or null for the simple model. */
  readonly fw: FirewallJudge | null;
  /** IP reassembly in front of conntrack (stateful rule sets, as nf_defrag comes with nf_conntrack); null when stateless. */
  readonly defrag: Defragmenter | null;
  private released: ReleasedResult[] = [];
  // Counters behind `stats`, as numbers indexed by code: the per-packet path
  // touches no string-keyed property.
  private packets = 0;
  private undecodable = 0;
  private nonIp = 0;
  private flows = 0;
  private readonly verdictCount = new Float64Array(VERDICTS.length);
  /** By Cause value (1-based). */
  private readonly causeCount = new Float64Array(CAUSE_WORDS.length + 1);
  private readonly policyCount = new Float64Array(CHAINS.length);
  private readonly ruleHits: number[];
  /** Ids of the rules stats.ruleHits counts, in its order (the firewall model's: every chain's, in file order). */
  readonly ruleIds: readonly string[];
  /** Firewall model: packets decided by each chain's policy, by chain index. */
  private readonly fwPolicyCount: Float64Array;
  /** The last rule openingRule() found, by id (ids come from one table, so === compares pointers). */
  private lastOpenedId: string | null = null;
  private lastOpened: Rule | null = null;

  constructor(
    readonly ruleset: RuleSet,
    onEvent?: (ev: CtEvent) => void,
  ) {
    this.compiled = compileRuleSet(ruleset);
    this.ct = ruleset.stateful ? new ConntrackTable(ruleset.conntrack) : null;
    this.defrag = ruleset.stateful ? new Defragmenter(defragSettings(ruleset)) : null;
    if (this.ct && onEvent) this.ct.onEvent = onEvent;
    this.fw = ruleset.firewall
      ? new FirewallJudge(compileFirewall(ruleset.firewall, ruleset.hostAddrs ?? []), this.ct)
      : null;
    this.hostForwards = this.compiled.chains.forward.length > 0;
    this.ruleById = new Map(ruleset.rules.map((rule) => [rule.id, rule]));
    this.ruleIds = ruleset.firewall ? firewallRules(ruleset.firewall).map((r) => r.id) : ruleset.rules.map((r) => r.id);
    this.ruleHits = new Array<number>(this.ruleIds.length).fill(0);
    this.fwPolicyCount = new Float64Array(ruleset.firewall?.chains.length ?? 0);
  }

  /** Firewall model: policy hits by base chain name, every base chain listed. */
  private fwPolicyHits(): Record<string, number> {
    const out: Record<string, number> = {};
    this.ruleset.firewall!.chains.forEach((c, i) => {
      if (c.hook !== null) out[c.name] = this.fwPolicyCount[i];
    });
    return out;
  }

  /** Flows that entered the conntrack table so far (stats.flows, without the rest). */
  get flowsEntered(): number {
    return this.flows;
  }

  /** The counters so far (a new object each time). */
  get stats(): EngineStats {
    const byCause: Record<string, number> = {};
    CAUSE_WORDS.forEach((word, i) => {
      byCause[word] = this.causeCount[i + 1];
    });
    return {
      packets: this.packets,
      verdicts: {
        accept: this.verdictCount[0],
        drop: this.verdictCount[1],
        reject: this.verdictCount[2],
        skip: this.verdictCount[3],
      },
      byCause,
      ruleHits: [...this.ruleHits],
      policyHits:
        this.fw !== null
          ? this.fwPolicyHits()
          : { input: this.policyCount[0], output: this.policyCount[1], forward: this.policyCount[2] },
      undecodable: this.undecodable,
      nonIp: this.nonIp,
      flows: this.flows,
      ...(this.fw !== null ? { counters: this.fw.counters() } : {}),
    };
  }

  /**
   * Judge one packet. Returns its result, or null for an IP fragment held
   * until its datagram is complete (stateful rule sets only). Results for
   * packets held earlier that this packet released (their datagram
   * completed, timed out or was discarded) wait in takeReleased().
   */
  process(rec: CaptureRecord, pkt: DecodedPacket): PacketResult | null {
    const t = rec.tsSec + rec.tsNsec * 1e-9;
    if (t > this.now) this.now = t;
    this.packets++;
    const df = this.defrag;
    if (df !== null) {
      if (this.now >= df.nextDeadline) this.expireFragments();
      if (pkt.isFragment && pkt.ipVersion !== 0) return this.fragment(rec, pkt, df);
    }
    return this.judge(rec, pkt);
  }

  /** Results of held packets released so far (in packet order); the list is emptied. */
  takeReleased(): ReleasedResult[] {
    const out = this.released;
    this.released = [];
    if (out.length > 1) out.sort((a, b) => a.result.n - b.result.n);
    return out;
  }

  /** Results are waiting in takeReleased(). */
  get hasReleased(): boolean {
    return this.released.length > 0;
  }

  /** The capture is over: every fragment still held is dropped (its datagram never completed). */
  flushFragments(): void {
    if (this.defrag === null) return;
    for (const q of this.defrag.flush()) this.releaseDrops(q.frags, q.reason);
  }

  private expireFragments(): void {
    for (const q of this.defrag!.expire(this.now)) this.releaseDrops(q.frags, q.reason);
  }

  /** A fragment: hand it to the defragmenter, judge the datagram when it completes. */
  private fragment(rec: CaptureRecord, pkt: DecodedPacket, df: Defragmenter): PacketResult | null {
    const st = df.add(rec, pkt, this.now);
    if (st === DefragStatus.HELD) return null;
    if (df.released.length > 0 && st !== DefragStatus.COMPLETE) this.releaseDrops(df.released, df.releasedReason);
    if (st === DefragStatus.PASS) {
      // Not reassembled: conntrack gets the lone fragment.
      let why = '';
      if (pkt.kind === PacketKind.MALFORMED) {
        // A first IPv6 fragment without its whole transport header.
        why = `${df.reason} (${pkt.error})`;
      } else if (pkt.proto === IpProto.UDP && pkt.fragOffset === 0) {
        // udp_error on the fragment alone: its UDP length field (normally the
        // whole datagram's) must lie within it; if it does, a plain UDP packet.
        const len = loneFragmentUdpLengthFault(rec.buf, pkt);
        if (len >= 0) {
          why = `${df.reason}; as a lone fragment its UDP length field (${len}) ${len < 8 ? 'is below 8' : 'exceeds the packet'}: truncated/malformed (udp_error)`;
        }
      }
      if (why !== '') return this.invalidFragment(rec, pkt, why);
      return this.judge(rec, pkt);
    }
    if (st === DefragStatus.DROP) {
      const r = this.reset(rec);
      r.detail = df.reason;
      return this.finish(r, 'drop', Cause.FRAGMENT);
    }
    // COMPLETE: the datagram goes through conntrack and the rules as one packet.
    const d = df.datagram;
    const r = this.judge(rec, d);
    r.fragOf = rec.n;
    r.datagram = d;
    for (const f of df.released) {
      const c: PacketResult = { ...r, n: f.rec.n, tsSec: f.rec.tsSec, tsNsec: f.rec.tsNsec };
      this.count(c);
      this.released.push({ result: c, rec: f.rec, fragment: f });
    }
    return r;
  }

  /**
   * A lone fragment that conntrack calls INVALID where judge() cannot see it
   * (a MALFORMED one would be skipped as undecodable): judge()'s steps, with
   * that answer for conntrack's.
   */
  private invalidFragment(rec: CaptureRecord, pkt: DecodedPacket, why: string): PacketResult {
    const r = this.reset(rec);
    if (this.fw !== null) {
      // (Firewall model: no rule sees it; as the usual `ct state invalid drop` would.)
      r.ct = 'invalid';
      r.detail = why;
      return this.finish(r, 'drop', Cause.INVALID);
    }
    const chain = this.chainOf(r, pkt);
    if (chain === null) return r;
    r.ct = 'invalid';
    // Marked at PREROUTING, but ip6_forward drops hop limit <= 1 before the forward chain.
    if (chain === 'forward' && pkt.ttl <= 1) return this.finish(r, 'drop', Cause.TTL_EXPIRED);
    r.detail = why;
    return this.finish(r, 'drop', Cause.INVALID);
  }

  /** Held fragments dropped without a datagram. */
  private releaseDrops(frags: HeldFragment[], reason: string): void {
    for (const f of frags) {
      const c = newPacketResult();
      c.n = f.rec.n;
      c.tsSec = f.rec.tsSec;
      c.tsNsec = f.rec.tsNsec;
      c.detail = reason;
      c.verdict = 'drop';
      c.cause = Cause.FRAGMENT;
      this.count(c);
      this.released.push({ result: c, rec: f.rec, fragment: f });
    }
  }

  /** Statistics for a result made outside finish() (a copy for a released fragment). */
  private count(r: PacketResult): void {
    this.verdictCount[verdictIndex(r.verdict)]++;
    this.causeCount[r.cause]++;
    if (r.cause === Cause.RULE && r.rule !== null) {
      const i = this.ruleset.rules.indexOf(r.rule);
      if (i >= 0) this.ruleHits[i]++;
    } else if (r.cause === Cause.POLICY && r.chain !== null) this.policyCount[chainIndex(r.chain as Chain)]++;
  }

  private reset(rec: CaptureRecord): PacketResult {
    const r = this.result;
    r.n = rec.n;
    r.tsSec = rec.tsSec;
    r.tsNsec = rec.tsNsec;
    r.ct = null;
    r.chain = null;
    r.rule = null;
    r.fwRule = null;
    r.iif = null;
    r.oif = null;
    r.egress = null;
    r.natRule = null;
    r.entry = null;
    r.reply = false;
    r.detail = '';
    r.fragOf = 0;
    r.datagram = null;
    return r;
  }

  /** Conntrack and the rules, for a packet (or a reassembled datagram). */
  private judge(rec: CaptureRecord, pkt: DecodedPacket): PacketResult {
    const r = this.reset(rec);

    if (pkt.kind === PacketKind.NON_IP) {
      this.nonIp++;
      return this.finish(r, 'skip', Cause.NON_IP);
    }
    if (pkt.kind === PacketKind.MALFORMED) {
      this.undecodable++;
      r.detail = pkt.error;
      return this.finish(r, 'skip', Cause.UNDECODABLE);
    }

    const fw = this.fw;
    if (fw !== null) {
      const d = fw.judge(r, rec, pkt, this.now);
      this.flows = fw.flows;
      if (d.rule >= 0) this.ruleHits[d.rule]++;
      if (d.natRule >= 0 && d.natRule !== d.rule) this.ruleHits[d.natRule]++;
      else if (d.policyChain >= 0) this.fwPolicyCount[d.policyChain]++;
      return this.finish(r, d.verdict, d.cause);
    }

    const chain = this.chainOf(r, pkt);
    if (chain === null) return r;

    const ct = this.ct;
    if (ct === null) {
      if (chain === 'forward' && pkt.ttl <= 1) return this.finish(r, 'drop', Cause.TTL_EXPIRED);
      return this.filter(r, chain, pkt);
    }

    ct.advanceClock(this.now);
    const c = ct.track(pkt, rec.n);
    r.ct = c.stateName;
    r.reply = c.reply;
    if (c.drop) {
      r.detail = c.reason;
      return this.finish(r, 'drop', Cause.TABLE_FULL);
    }
    if (chain === 'forward' && pkt.ttl <= 1) {
      // conntrack saw it at PREROUTING (its changes to a known entry stand),
      // but it is never forwarded, so a new entry is never confirmed.
      linkEntry(r, c, EntryOf.ENTRY);
      return this.finish(r, 'drop', Cause.TTL_EXPIRED);
    }
    switch (c.state) {
      case CtState.ESTABLISHED:
        linkEntry(r, c, EntryOf.ENTRY);
        r.rule = this.openingRule(ct.openedRuleId(c));
        ct.confirm(c);
        return this.finish(r, 'accept', Cause.ESTABLISHED);
      case CtState.RELATED:
        linkEntry(r, c, EntryOf.RELATED);
        r.rule = this.openingRule(ct.openedRuleId(c));
        ct.confirm(c);
        return this.finish(r, 'accept', Cause.RELATED);
      case CtState.INVALID:
        linkEntry(r, c, EntryOf.ABOUT);
        r.detail = c.reason;
        return this.finish(r, 'drop', Cause.INVALID);
      default: {
        // NEW (or UNTRACKED, e.g. ICMPv6 neighbour discovery): the rules decide.
        linkEntry(r, c, EntryOf.ENTRY);
        this.filter(r, chain, pkt);
        // (confirm() does nothing without an entry.)
        if (r.verdict === 'accept' && ct.confirm(c)) {
          this.flows++;
          const rule = r.rule as Rule | null; // set by filter()
          ct.setOpenedBy(c, rec.n, rule ? rule.id : null); // entry.openedBy, without making the entry object
        }
        return r;
      }
    }
  }

  /**
   * The chain `pkt` goes through, set on `r`; or null, `r` finished, when
   * no chain sees it: the host model's host does not receive it (traffic
   * of others, and no forward rules; a group it has not joined), or the
   * kernel's routing keeps it away (packet/scope.ts).
   */
  private chainOf(r: PacketResult, pkt: DecodedPacket): Chain | null {
    const chain = chainFor(this.compiled, pkt);
    if (chain === 'forward') {
      if (this.compiled.model === 'host' && !this.hostForwards) {
        this.finish(r, 'skip', Cause.NOT_HOST);
        return null;
      }
      if (notForwardedScope(pkt) !== Scope.NONE) {
        this.finish(r, 'drop', Cause.NOT_ROUTED);
        return null;
      }
    } else if (chain === 'input' && isMartian(pkt)) {
      this.finish(r, 'drop', Cause.NOT_ROUTED);
      return null;
    }
    r.chain = chain;
    return chain;
  }

  /** The rule table decides (a new flow, or every packet when stateless). */
  private filter(r: PacketResult, chain: Chain, pkt: DecodedPacket): PacketResult {
    const hit = firstMatch(this.compiled, chain, pkt);
    if (hit !== null) {
      r.rule = hit.rule;
      this.ruleHits[hit.index - 1]++;
      return this.finish(r, hit.action, Cause.RULE);
    }
    this.policyCount[chainIndex(chain)]++;
    return this.finish(r, this.compiled.policy[chain] as Action, Cause.POLICY);
  }

  private openingRule(id: string | null): Rule | null {
    if (!id) return null;
    if (id !== this.lastOpenedId) {
      this.lastOpened = this.ruleById.get(id) ?? null;
      this.lastOpenedId = id;
    }
    return this.lastOpened;
  }

  private finish(r: PacketResult, verdict: Verdict, cause: (typeof Cause)[keyof typeof Cause]): PacketResult {
    r.verdict = verdict;
    r.cause = cause;
    this.verdictCount[verdictIndex(verdict)]++;
    this.causeCount[cause]++;
    return r;
  }
}
