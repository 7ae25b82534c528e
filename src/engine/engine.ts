import type { CaptureRecord } from '../capture/types.js';
import { ConntrackTable } from '../conntrack/table.js';
import { CtState } from '../conntrack/types.js';
import type { CtEntry, CtEvent } from '../conntrack/entry.js';
import type { DecodedPacket } from '../packet/types.js';
import { PacketKind } from '../packet/types.js';
import { compileRuleSet, type CompiledRuleSet } from '../rules/compile.js';
import { chainFor, firstMatch } from '../rules/match.js';
import type { Action, Chain, Rule, RuleSet } from '../rules/types.js';
import { Cause, CAUSE_WORDS, causeName, newPacketResult, type PacketResult, type Verdict } from './result.js';

/** Counters for the summary at the end of a replay. */
export interface EngineStats {
  packets: number;
  verdicts: Record<Verdict, number>;
  /** Packets by how they were decided (Cause names in lower case). */
  byCause: Record<string, number>;
  /** Packets decided by each rule, by rule index (0-based, file order). */
  ruleHits: number[];
  /** Packets decided by each chain's policy. */
  policyHits: Record<Chain, number>;
  undecodable: number;
  nonIp: number;
  /** Flows that entered the conntrack table. */
  flows: number;
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
  readonly stats: EngineStats;
  /** Reused for every packet: copy what you keep. */
  readonly result: PacketResult = newPacketResult();
  /** Capture time (seconds) of the latest packet seen. */
  now = 0;
  private readonly hostForwards: boolean;
  private readonly ruleById: Map<string, Rule>;

  constructor(
    readonly ruleset: RuleSet,
    onEvent?: (ev: CtEvent) => void,
  ) {
    this.compiled = compileRuleSet(ruleset);
    this.ct = ruleset.stateful ? new ConntrackTable(ruleset.conntrack) : null;
    if (this.ct && onEvent) this.ct.onEvent = onEvent;
    this.hostForwards = this.compiled.chains.forward.length > 0;
    this.ruleById = new Map(ruleset.rules.map((rule) => [rule.id, rule]));
    this.stats = {
      packets: 0,
      verdicts: { accept: 0, drop: 0, reject: 0, skip: 0 },
      byCause: Object.fromEntries(CAUSE_WORDS.map((n) => [n, 0])),
      ruleHits: new Array(ruleset.rules.length).fill(0),
      policyHits: { input: 0, output: 0, forward: 0 },
      undecodable: 0,
      nonIp: 0,
      flows: 0,
    };
  }

  process(rec: CaptureRecord, pkt: DecodedPacket): PacketResult {
    const r = this.result;
    r.n = rec.n;
    r.tsSec = rec.tsSec;
    r.tsNsec = rec.tsNsec;
    r.ct = null;
    r.chain = null;
    r.rule = null;
    r.entry = null;
    r.reply = false;
    r.detail = '';
    const t = rec.tsSec + rec.tsNsec * 1e-9;
    if (t > this.now) this.now = t;
    this.stats.packets++;

    if (pkt.kind === PacketKind.NON_IP) {
      this.stats.nonIp++;
      return this.finish(r, 'skip', Cause.NON_IP);
    }
    if (pkt.kind === PacketKind.MALFORMED) {
      this.stats.undecodable++;
      r.detail = pkt.error;
      return this.finish(r, 'skip', Cause.UNDECODABLE);
    }

    const chain = chainFor(this.compiled, pkt);
    if (this.compiled.model === 'host' && chain === 'forward' && !this.hostForwards) {
      return this.finish(r, 'skip', Cause.NOT_HOST);
    }
    r.chain = chain;

    const ct = this.ct;
    if (ct === null) {
      if (chain === 'forward' && pkt.ttl <= 1) return this.finish(r, 'drop', Cause.TTL_EXPIRED);
      return this.filter(r, chain, pkt);
    }

    const c = ct.process(pkt, this.now, rec.n);
    r.ct = c.stateName;
    r.reply = c.reply;
    if (c.drop) {
      r.detail = c.reason;
      return this.finish(r, 'drop', Cause.TABLE_FULL);
    }
    if (chain === 'forward' && pkt.ttl <= 1) {
      // conntrack saw it at PREROUTING (its changes to a known entry stand),
      // but it is never forwarded, so a new entry is never confirmed.
      r.entry = c.entry;
      return this.finish(r, 'drop', Cause.TTL_EXPIRED);
    }
    switch (c.state) {
      case CtState.ESTABLISHED:
        r.entry = c.entry;
        r.rule = this.openingRule(c.entry);
        ct.confirm(c);
        return this.finish(r, 'accept', Cause.ESTABLISHED);
      case CtState.RELATED:
        r.entry = c.related;
        r.rule = this.openingRule(c.related);
        ct.confirm(c);
        return this.finish(r, 'accept', Cause.RELATED);
      case CtState.INVALID:
        r.entry = c.about;
        r.detail = c.reason;
        return this.finish(r, 'drop', Cause.INVALID);
      default: {
        // NEW (or UNTRACKED, e.g. ICMPv6 neighbour discovery): the rules decide.
        r.entry = c.entry;
        this.filter(r, chain, pkt);
        if (r.verdict === 'accept' && c.entry !== null) {
          const entry = c.entry;
          if (ct.confirm(c)) {
            this.stats.flows++;
            const rule = r.rule as Rule | null; // set by filter()
            entry.openedBy = { packet: rec.n, ruleId: rule ? rule.id : null };
          }
        }
        return r;
      }
    }
  }

  /** The rule table decides (a new flow, or every packet when stateless). */
  private filter(r: PacketResult, chain: Chain, pkt: DecodedPacket): PacketResult {
    const hit = firstMatch(this.compiled, chain, pkt);
    if (hit !== null) {
      r.rule = hit.rule;
      this.stats.ruleHits[hit.index - 1]++;
      return this.finish(r, hit.action, Cause.RULE);
    }
    this.stats.policyHits[chain]++;
    return this.finish(r, this.compiled.policy[chain] as Action, Cause.POLICY);
  }

  private openingRule(entry: CtEntry | null): Rule | null {
    const id = entry?.openedBy?.ruleId;
    if (!id) return null;
    return this.ruleById.get(id) ?? null;
  }

  private finish(r: PacketResult, verdict: Verdict, cause: (typeof Cause)[keyof typeof Cause]): PacketResult {
    r.verdict = verdict;
    r.cause = cause;
    this.stats.verdicts[verdict]++;
    this.stats.byCause[causeName(cause)]++;
    return r;
  }
}
