import { readCapture } from '../capture/read.js';
import type { CaptureRecord, CaptureSummary } from '../capture/types.js';
import type { CtEvent } from '../conntrack/entry.js';
import { decodePacket, newDecodedPacket } from '../packet/decode.js';
import type { DecodedPacket } from '../packet/types.js';
import { loadRuleSet } from '../rules/load.js';
import type { Diagnostic, RuleSet } from '../rules/types.js';
import { Engine, type EngineStats } from './engine.js';
import { decodeHeld } from './defrag.js';
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
   * Called once for every packet. All four arguments are reused for the
   * next call: copy what you keep.
   *
   * Order: capture order, except IP fragments. With a stateful rule set
   * fragments are reassembled before conntrack, as Linux does (nf_defrag):
   * a fragment's result is delivered when its datagram completes, right
   * before the result of the packet that completed it, and all of them
   * share the datagram's verdict (`result.fragOf` names the completing
   * packet, `result.datagram` is the reassembled packet that was judged).
   * Fragments of a datagram that never completes are delivered as dropped
   * when their reassembly timer runs out (30 s IPv4, 60 s IPv6, on the
   * capture's clock: just before the first packet past the deadline) or
   * at the end of the replay. So `result.n` is not always increasing; a
   * consumer that needs capture order sorts by it (jsonl: by `n`). For held
   * fragments `record` is a copy and `packet` is the fragment re-decoded.
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
  const heldPkt = newDecodedPacket();
  const onPacket = opts.onPacket;
  const stopAfter = opts.stopAfter ?? Infinity;
  let stopped = false;

  /** Results of held fragments, when their datagram is decided. */
  const deliverReleased = () => {
    for (const x of engine.takeReleased()) {
      if (onPacket) onPacket(x.result, decodeHeld(x.fragment, heldPkt), x.rec, engine);
    }
  };

  const onRecord = (rec: CaptureRecord) => {
    if (stopped) return;
    decodePacket(rec.buf, rec.off, rec.caplen, rec.linkType, rec.direction, pkt, rec.len);
    const result = engine.process(rec, pkt);
    if (engine.hasReleased) deliverReleased();
    if (onPacket && result !== null) onPacket(result, pkt, rec, engine);
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
  // Fragments whose datagram never completed.
  engine.flushFragments();
  if (engine.hasReleased) deliverReleased();
  return { capture, stats: engine.stats, engine, ruleWarnings };
}
