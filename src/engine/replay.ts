import { copyRecord } from '../capture/copy.js';
import { readCapture } from '../capture/read.js';
import { CaptureError, StopReading, type CaptureRecord, type CaptureSummary } from '../capture/types.js';
import { CtEntry, type CtEvent } from '../conntrack/entry.js';
import { decodePacket, newDecodedPacket } from '../packet/decode.js';
import type { DecodedPacket } from '../packet/types.js';
import { loadRuleSet } from '../rules/load.js';
import type { Diagnostic } from '../base/diag.js';
import type { RuleSet } from '../rules/types.js';
import { ClockWatch, type ClockStats } from './clock.js';
import { Engine, type EngineStats } from './engine.js';
import { TimeOrder } from './time-order.js';
import { Judge, ownDatagram, type JudgedOutput } from './judge.js';
import { HeldOrder, MAX_WAITING } from './held-order.js';
import type { PacketResult } from './result.js';

/**
 * Where packets come from: a capture file ('-' for stdin) or any function
 * that pushes records (the synthetic scenario generator is one). A function
 * that lets a StopReading thrown by onRecord through (stopAfter) should set
 * its `partial` to what it had handed on, as readCapture() and synthSource() do.
 */
export type PacketSource =
  | string
  | ((onRecord: (rec: CaptureRecord) => void, beforeRead?: () => Promise<void> | null) => Promise<CaptureSummary>);

/** Every record of a packet source, in order, to onRecord; what was read. `stdin`: what '-' reads, when not fd 0. */
export function readSource(
  source: PacketSource,
  onRecord: (rec: CaptureRecord) => void,
  opts: { beforeRead?: () => Promise<void> | null; afterChunk?: () => void; stdin?: Uint8Array } = {},
): Promise<CaptureSummary> {
  // (A synthesized source is made whole at once: nothing to wait for, nothing live.)
  return typeof source === 'string'
    ? readCapture(source, onRecord, { beforeRead: opts.beforeRead, afterChunk: opts.afterChunk, stdin: opts.stdin })
    : source(onRecord, opts.beforeRead);
}

export interface ReplayOptions {
  /** A loaded rule set, or the path of a rule file. */
  rules: RuleSet | string;
  source: PacketSource;
  /** What '-' (as the rule file or the capture) reads instead of the process's standard input. */
  stdin?: Uint8Array;
  /**
   * Called once for every packet. All four arguments are reused for the
   * next call: copy what you keep.
   *
   * Order: always capture order (1, 2, 3, ...). With a stateful rule set IP
   * fragments are reassembled before conntrack, as Linux does (nf_defrag):
   * a fragment's verdict is known only when its datagram completes (all
   * fragments share the datagram's verdict; `result.fragOf` names the
   * completing packet, `result.datagram` is the reassembled packet that was
   * judged) or dies (dropped when its reassembly timer runs out, 30 s IPv4,
   * 60 s IPv6 on the capture's clock, or at the end of the replay). Until
   * then the results of the packets after it wait, copied, and are
   * delivered in order once it is decided; their conntrack entry is a
   * snapshot taken when they were judged. To keep memory bounded, at most
   * MAX_WAITING results wait: past that the oldest held fragment stops
   * holding the others back, and its result comes when it is decided, out
   * of order (only a datagram missing a fragment, in heavy traffic, does
   * that).
   */
  onPacket?: (result: PacketResult, packet: DecodedPacket, record: CaptureRecord, engine: Engine) => void;
  /** conntrack -E style events (NEW, UPDATE, DESTROY). */
  onEvent?: (ev: CtEvent) => void;
  /** Stop after this packet number (the table is then as it was right after it). */
  stopAfter?: number;
  /** Awaited between input reads: lets a slow output consumer hold the replay back. */
  beforeRead?: () => Promise<void> | null;
  /** Called once a chunk of input has been judged, before waiting for more (readCapture's afterChunk). */
  afterChunk?: () => void;
  /**
   * Called for every record as it is read, before it is judged (progress
   * counters): unlike onPacket, it costs no reordering of held fragments.
   */
  onRecord?: (record: CaptureRecord) => void;
  /**
   * Watches the clock (a new one by default; none for a stateless rule set):
   * given by a caller that wants what it saw after a capture error too.
   */
  clock?: ClockWatch | null;
}

export interface ReplaySummary {
  capture: CaptureSummary;
  stats: EngineStats;
  /** The engine after the last packet: its conntrack table, compiled rules, clock. */
  engine: Engine;
  /** Warnings from loading the rule file (shadowed rules, ...). */
  ruleWarnings: Diagnostic[];
  /** The capture clock's jumps and backward steps (engine/clock.ts); null when the rule set is stateless. */
  clock: ClockStats | null;
}

/**
 * Replays a packet source through a rule set: the library's entry point,
 * and what every fwemu command that judges packets is built on.
 */
export async function replay(opts: ReplayOptions): Promise<ReplaySummary> {
  let ruleset: RuleSet;
  let ruleWarnings: Diagnostic[] = [];
  if (typeof opts.rules === 'string') {
    const loaded = loadRuleSet(opts.rules, opts.stdin);
    ruleset = loaded.ruleset;
    ruleWarnings = loaded.warnings;
  } else {
    ruleset = opts.rules;
  }
  const engine = new Engine(ruleset, opts.onEvent);
  const clock = opts.clock !== undefined ? opts.clock : ClockWatch.forRuleSet(ruleset);
  const onPacket = opts.onPacket;
  const stopAfter = opts.stopAfter ?? Infinity;
  let stopped = false;
  const inOrder = onPacket ? new InOrder(onPacket, engine) : null;
  const judge = new Judge(engine, inOrder);

  const judgeOne = (rec: CaptureRecord) => {
    if (clock !== null) clock.observe(rec);
    judge.judge(rec);
  };
  // The firewall model: a capture taken on several of its interfaces is judged in time order.
  // Results still go out in capture order: a record waiting to be judged holds back the ones after it.
  const order = ruleset.firewall
    ? new TimeOrder(judgeOne, inOrder !== null ? (n) => inOrder.holdRecord(n) : null)
    : null;
  const seen = opts.onRecord;
  const onRecord = (rec: CaptureRecord) => {
    if (stopped) return;
    if (seen !== undefined) seen(rec);
    if (order !== null) order.push(rec);
    else judgeOne(rec);
    if (rec.n >= stopAfter) {
      // Caught below, with what the source had read (never escapes replay()).
      stopped = true;
      throw new StopReading();
    }
  };

  let capture: CaptureSummary;
  const src = opts.source;
  try {
    capture = await readSource(src, onRecord, {
      beforeRead: opts.beforeRead,
      afterChunk: opts.afterChunk,
      stdin: opts.stdin,
    });
  } catch (err) {
    if (!(err instanceof StopReading)) {
      // A damaged capture: everything read before the damage is still
      // delivered; the error's `partial` says what was read (readCapture()).
      if (err instanceof CaptureError) {
        order?.flush();
        judge.finish();
      }
      throw err;
    }
    // (A source that does not say what it had read: only the packet count is known.)
    capture = err.partial ?? {
      format: 'pcap',
      records: engine.stats.packets,
      bytesRead: 0,
      warnings: [],
      truncated: false,
    };
  }
  order?.flush();
  judge.finish();
  return { capture, stats: engine.stats, engine, ruleWarnings, clock: clock?.result ?? null };
}

type OnPacket = NonNullable<ReplayOptions['onPacket']>;

interface Waiting {
  n: number;
  result: PacketResult;
  rec: CaptureRecord;
  /** The decoded packet, or null to decode it again from `rec` at delivery. */
  pkt: DecodedPacket | null;
}

export { MAX_WAITING };

/**
 * Delivers results in capture order although held fragments are decided
 * later than the packets after them (HeldOrder's rules; past MAX_WAITING
 * waiting results the oldest held fragment lets the others go). Nothing is
 * copied while no fragment is held: the usual path hands the engine's
 * reused objects straight through.
 */
class InOrder implements JudgedOutput {
  private readonly pkt = newDecodedPacket();
  private readonly order: HeldOrder<Waiting>;
  /** Records held by the time order, not judged yet. */
  private readonly timeHeld = new Set<number>();

  constructor(
    private readonly onPacket: OnPacket,
    private readonly engine: Engine,
  ) {
    this.order = new HeldOrder<Waiting>((w) => {
      const { result, rec } = w;
      // (Decoded again from its record's copy when it goes out, into the reused packet: no allocation per fragment.)
      const pkt = w.pkt ?? decodePacket(rec.buf, 0, rec.caplen, rec.linkType, rec.direction, this.pkt, rec.len);
      this.onPacket(result, pkt, rec, this.engine);
    });
  }

  hold(n: number): void {
    // (A record the time order held is held here already, in its place.)
    if (this.timeHeld.delete(n)) return;
    this.order.hold(n);
  }

  /** Record `n` waits to be judged in time order (TimeOrder): the results after it wait for it. */
  holdRecord(n: number): void {
    this.timeHeld.add(n);
    this.order.hold(n);
  }

  /** A held fragment decided (its record is a copy already; the entry is snapshotted, as it is delivered later). */
  released(result: PacketResult, rec: CaptureRecord): void {
    result.entry = snapshotEntry(result.entry);
    this.order.decide({ n: result.n, result, rec, pkt: null });
  }

  releasedEnd(): void {
    this.order.drain();
  }

  /** A result decided now (the engine's reused objects). */
  deliver(result: PacketResult, pkt: DecodedPacket, rec: CaptureRecord): void {
    if (this.timeHeld.delete(result.n)) {
      // Judged later than the records after it (time order): into its place.
      this.order.decide(this.waiting(result, rec));
      this.order.drain();
      return;
    }
    if (this.order.idle) {
      this.onPacket(result, pkt, rec, this.engine);
      return;
    }
    this.order.wait(this.waiting(result, rec));
    if (this.order.waitingCount > MAX_WAITING) this.order.letGoOldest();
    this.order.drain();
  }

  /** A result and its record, copied to wait for their turn. */
  private waiting(result: PacketResult, rec: CaptureRecord): Waiting {
    const r: PacketResult = { ...result };
    r.entry = snapshotEntry(r.entry);
    if (r.datagram !== null) r.datagram = ownDatagram(this.engine);
    if (r.egress !== null) r.egress = { ...r.egress };
    return { n: r.n, result: r, rec: copyRecord(rec), pkt: null };
  }
}

function snapshotEntry(e: unknown): unknown {
  return e instanceof CtEntry ? e.snapshot() : e;
}
