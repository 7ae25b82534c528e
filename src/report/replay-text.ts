import type { CaptureRecord, CaptureSummary } from '../capture/types.js';
import { CLOCK_JUMPS_LISTED, SMALL_STEP, unlistedSteps, type ClockJump, type ClockStats } from '../engine/clock.js';
import type { Engine, EngineStats } from '../engine/engine.js';
import { peekEntry, type PacketResult } from '../engine/result.js';
import { describePacket } from '../packet/describe.js';
import { IpProto, isPortProto, type DecodedPacket } from '../packet/types.js';
import { explain } from './reason.js';
import { epochString } from './time.js';
import { formatAddr } from '../packet/addr.js';
import type { CtEntry, CtTuple } from '../conntrack/entry.js';
import type { RuleOrigin } from '../rules/firewall.js';
import { ctProtoName } from './conntrack-list.js';
import { visible } from '../base/text-escape.js';

/** ANSI colours, used only when the output is a terminal (see cli/common useColor). */
export interface Paint {
  verdict(v: string, text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

export const NO_PAINT: Paint = { verdict: (_v, t) => t, dim: (t) => t, bold: (t) => t };

export const ANSI_PAINT: Paint = {
  verdict: (v, t) => `\x1b[${v === 'accept' ? '32' : v === 'drop' ? '31' : v === 'reject' ? '35' : '2'}m${t}\x1b[0m`,
  dim: (t) => `\x1b[2m${t}\x1b[0m`,
  bold: (t) => `\x1b[1m${t}\x1b[0m`,
};

export const REPLAY_HEADER = `${'#'.padStart(6)}  ${'time'.padStart(10)}  ${'source > destination'.padEnd(44)} ${'proto'.padEnd(12)} ${'ct'.padEnd(11)} ${'verdict'.padEnd(7)} reason`;

/** The JSON object of one packet for --format jsonl: what replayJsonLine() (json-line.ts) writes, and the reference the tests and the fuzzer hold it to. */
export function replayJson(
  r: PacketResult,
  p: DecodedPacket,
  rec: CaptureRecord,
  engine: Engine,
): Record<string, unknown> {
  const info = describePacket(p);
  const entry = peekEntry(r) as CtEntry | null;
  return {
    n: r.n,
    ts: epochString(r.tsSec, r.tsNsec),
    verdict: r.verdict,
    ct: r.ct,
    rule: r.rule?.id ?? r.fwRule?.id ?? null,
    flow: entry ? tupleJson(entry.orig) : null,
    reason: explain(r, p, engine.compiled),
    chain: r.chain,
    ...(engine.fw !== null ? { iif: r.iif, oif: r.oif } : {}),
    ...(engine.fw !== null && r.egress !== null ? { egress: egressJson(r.egress) } : {}),
    ...(engine.fw !== null && r.natRule !== null ? { nat: r.natRule.id } : {}),
    ...(engine.fw !== null && r.fwRule?.origin ? { origin: originJson(r.fwRule.origin) } : {}),
    ...(r.fragOf > 0 ? { fragOf: r.fragOf } : {}),
    ...(rec.ifName ? { if: rec.ifName } : {}),
    packet: info,
  };
}

/** Where an imported rule was written (jsonl's origin). */
function originJson(o: RuleOrigin): Record<string, unknown> {
  return { file: o.file, line: o.line, col: o.col, text: o.text };
}

/** The addresses and ports a NATed packet leaves with (jsonl's egress). */
function egressJson(e: DecodedPacket): Record<string, unknown> {
  const out: Record<string, unknown> = {
    src: formatAddr(e.ipVersion, e.src0, e.src1, e.src2, e.src3),
    dst: formatAddr(e.ipVersion, e.dst0, e.dst1, e.dst2, e.dst3),
  };
  if (isPortProto(e.proto)) {
    out.sport = e.sport;
    out.dport = e.dport;
  } else if (e.proto === IpProto.ICMP || e.proto === IpProto.ICMPV6) out.id = e.icmpId;
  return out;
}

export function tupleJson(t: CtTuple): Record<string, unknown> {
  const base: Record<string, unknown> = {
    proto: ctProtoName(t.proto),
    src: formatAddr(t.l3, t.src0, t.src1, t.src2, t.src3),
    dst: formatAddr(t.l3, t.dst0, t.dst1, t.dst2, t.dst3),
  };
  if (isPortProto(t.proto)) {
    base.sport = t.sport;
    base.dport = t.dport;
  } else if (t.proto === IpProto.ICMP || t.proto === IpProto.ICMPV6) {
    base.id = t.sport;
  }
  return base;
}

/** The end-of-replay summary, as lines of text. */
/** What the summary is made of: one engine's figures, or a sharded replay's sums. */
export interface SummaryFacts {
  stats: EngineStats;
  /** Rule ids in file order (stats.ruleHits's order). */
  ruleIds: readonly string[];
  /** The conntrack table at the end (expired against the replay's final clock); null when stateless. */
  conntrack: { live: number; earlyDrop: number; tableFull: number } | null;
  /** The capture clock's jumps and backward steps; null or absent when not watched (stateless). */
  clock?: ClockStats | null;
}

/** An engine's summary figures (its table is expired against its clock first). */
export function engineFacts(engine: Engine, clock: ClockStats | null = null): SummaryFacts {
  const ct = engine.ct;
  if (ct !== null) ct.expire(engine.now); // what entries(now).length counts, without making every entry an object
  return {
    stats: engine.stats,
    ruleIds: engine.ruleIds,
    conntrack: ct === null ? null : { live: ct.size, earlyDrop: ct.stats.earlyDrop, tableFull: ct.stats.tableFull },
    clock,
  };
}

export function summaryLines(facts: SummaryFacts, capture: CaptureSummary, paint: Paint): string[] {
  const s = facts.stats;
  const v = s.verdicts;
  const lines: string[] = [];
  lines.push(
    paint.bold(
      `${s.packets} packets: ${v.accept} accepted, ${v.drop} dropped, ${v.reject} rejected, ${v.skip} skipped (not seen by the IP filter)`,
    ),
  );
  const causes = Object.entries(s.byCause)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`);
  if (causes.length) lines.push(`  decided by: ${causes.join(', ')}`);
  const ct = facts.conntrack;
  if (ct !== null) {
    let l = `  flows: ${s.flows} entered the conntrack table, ${ct.live} still in it at the end`;
    if (ct.earlyDrop || ct.tableFull)
      l += `; table full: ${ct.earlyDrop} early drops, ${ct.tableFull} new flows dropped`;
    lines.push(l);
  } else {
    lines.push('  connection tracking off (stateful: false)');
  }
  // Ids set by a library caller may hold anything; a loaded file's cannot hold controls, but bidi marks they may.
  const hits = facts.ruleIds.map((id, i) => `${visible(id)} ${s.ruleHits[i]}`);
  if (hits.length) lines.push(`  rule hits: ${hits.join(', ')}`);
  const pol = Object.entries(s.policyHits)
    .filter(([, n]) => n > 0)
    .map(([c, n]) => `${c} ${n}`);
  if (pol.length) lines.push(`  policy hits: ${pol.join(', ')}`);
  if (s.undecodable) lines.push(`  undecodable packets: ${s.undecodable} (listed as "skip ... undecodable")`);
  if (s.nonIp) lines.push(`  non-IP frames: ${s.nonIp}`);
  if (s.counters?.length)
    lines.push(
      `  counters: ${s.counters.map((c) => `${visible(c.id)} ${c.packets} packets ${c.bytes} bytes`).join(', ')}`,
    );
  const clock = facts.clock ? clockSummary(facts.clock) : '';
  if (clock !== '') lines.push(`  clock: ${clock}`);
  if (capture.truncated)
    lines.push(
      `  capture cut off: ${capture.warnings[capture.warnings.length - 1]?.message ?? 'ends inside a record'}`,
    );
  return lines;
}

/** Seconds with microseconds, and a rough size in larger units past two minutes: "31536000.000000 s (365.0 days)". */
export function stepText(seconds: number): string {
  const exact = `${seconds.toFixed(6)} s`;
  if (seconds >= 2 * 86_400) return `${exact} (${(seconds / 86_400).toFixed(1)} days)`;
  if (seconds >= 2 * 3600) return `${exact} (${(seconds / 3600).toFixed(1)} hours)`;
  if (seconds >= 120) return `${exact} (${(seconds / 60).toFixed(1)} minutes)`;
  return exact;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** The summary's clock figures ('' when the clock neither jumped nor stepped back). */
export function clockSummary(c: ClockStats): string {
  const parts: string[] = [];
  if (c.forward > 0) {
    parts.push(
      `${plural(c.forward, 'forward jump', 'forward jumps')} of the largest timeout or more (${c.limitName} ${c.limit} s), the largest ${stepText(c.largestForward)}`,
    );
  }
  if (c.backward > 0) {
    const small = c.smallBackward > 0 ? `, ${c.smallBackward} of them under ${SMALL_STEP * 1000} ms` : '';
    parts.push(
      `${plural(c.backward, 'backward step', 'backward steps')}, the largest ${stepText(c.largestBackward)}${small}`,
    );
  }
  return parts.join('; ');
}

/**
 * Warnings (stderr) about the clock: a line for each of the first few
 * forward jumps and backward steps of SMALL_STEP or more, one line for the
 * rest, one for the small backward steps (engine/clock.ts says why).
 */
export function clockWarningLines(c: ClockStats | null, name: string): string[] {
  if (c === null) return [];
  const lines = c.listed.map((j) => `fwemu: warning: ${name}: ${clockJumpText(j, c)}`);
  const rest = unlistedSteps(c);
  if (rest > 0) {
    lines.push(
      `fwemu: warning: ${name}: ${rest} more clock ${rest === 1 ? 'step' : 'steps'} of the same kinds not listed (the first ${CLOCK_JUMPS_LISTED} of each kind are; the summary counts them all)`,
    );
  }
  if (c.smallBackward > 0) {
    lines.push(
      `fwemu: warning: ${name}: ${plural(c.smallBackward, 'packet is', 'packets are')} stamped up to ${stepText(c.largestSmallBackward)} earlier than the packet before ` +
        `(usual in a capture merged from several interfaces); the clock does not go back: each is judged at the latest time seen`,
    );
  }
  return lines;
}

function clockJumpText(j: ClockJump, c: ClockStats): string {
  const at = `packet ${j.n} (byte ${j.offset})`;
  if (j.kind === 'forward') {
    return (
      `${at}: the capture clock jumps forward ${stepText(j.seconds)}, at least the largest timeout in force (${c.limitName} ${c.limit} s): ` +
      'every conntrack entry and held fragment expires, as in the kernel with this clock'
    );
  }
  return `${at}: stamped ${stepText(j.seconds)} earlier than packet ${j.n - 1}; the clock does not go back: it is judged at the latest time seen`;
}
