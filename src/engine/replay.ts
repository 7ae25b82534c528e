import { readCapture } from '../capture/read.js';
import type { CaptureRecord, CaptureSummary } from '../capture/types.js';
import type { CtEvent } from '../conntrack/entry.js';
import { decodePacket, newDecodedPacket } from '../packet/decode.js';
import type { DecodedPacket } from '../packet/types.js';
import { loadRuleSet } from '../rules/load.js';
import type { Diagnostic, RuleSet } from '../rules/types.js';
import { Engine, type EngineStats } from './engine.js';
import type { PacketResult } from './result.js';

/**
 * Where packets come from: a capture file ('-' for stdin) or any function
 * that pushes records (the synthetic scenario generator is one).
 */
export type PacketSource = string | ((onRecord: (rec: CaptureRecord) => void, beforeRead?: () => Promise<void> | null) => Promise<CaptureSummary>);

export interface ReplayOptions {
  /** A loaded rule set, or the path of a rule file. */
  rules: RuleSet | string;
  source: PacketSource;
  /**
   * Called for every packet, in capture order. All three arguments are
   * reused for the next packet: copy what you keep.
   */
  onPacket?: (result: PacketResult, packet: DecodedPacket, record: CaptureRecord, engine: Engine) => void;
  /** conntrack -E style events (NEW, UPDATE, DESTROY). */
  onEvent?: (ev: CtEvent) => void;
  /** Stop after this packet number (the table is then as it was right after it). */
  stopAfter?: number;
  /** Awaited between input reads: lets a slow output consumer hold the replay back. */
  beforeRead?: () => Promise<void> | null;
}

export interface ReplaySummary {
  capture: CaptureSummary;
  stats: EngineStats;
  /** The engine after the last packet: its conntrack table, compiled rules, clock. */
  engine: Engine;
  /** Warnings from loading the rule file (shadowed rules, ...). */
  ruleWarnings: Diagnostic[];
}

/** Thrown inside the record callback to end a replay early (stopAfter); never escapes replay(). */
class StopReplay {}

/**
 * Replays a packet source through a rule set: the library's entry point,
 * and what every fwemu command that judges packets is built on.
 */
export async function replay(opts: ReplayOptions): Promise<ReplaySummary> {
  let ruleset: RuleSet;
  let ruleWarnings: Diagnostic[] = [];
  if (typeof opts.rules === 'string') {
    const loaded = loadRuleSet(opts.rules);
    ruleset = loaded.ruleset;
    ruleWarnings = loaded.warnings;
  } else {
    ruleset = opts.rules;
  }
  const engine = new Engine(ruleset, opts.onEvent);
  const pkt = newDecodedPacket();
  const onPacket = opts.onPacket;
  const stopAfter = opts.stopAfter ?? Infinity;
  let stopped = false;

  const onRecord = (rec: CaptureRecord) => {
    if (stopped) return;
    decodePacket(rec.buf, rec.off, rec.caplen, rec.linkType, rec.direction, pkt);
    const result = engine.process(rec, pkt);
    if (onPacket) onPacket(result, pkt, rec, engine);
    if (rec.n >= stopAfter) {
      stopped = true;
      throw new StopReplay();
    }
  };

  let capture: CaptureSummary;
  const src = opts.source;
  try {
    capture =
      typeof src === 'string'
        ? await readCapture(src, onRecord, { beforeRead: opts.beforeRead })
        : await src(onRecord, opts.beforeRead);
  } catch (err) {
    if (!(err instanceof StopReplay)) throw err;
    capture = { format: 'pcap', records: engine.stats.packets, bytesRead: 0, warnings: [], truncated: false };
  }
  return { capture, stats: engine.stats, engine, ruleWarnings };
}
