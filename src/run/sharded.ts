/**
 * A replay spread over worker threads (replay --jobs N).
 *
 * This thread reads the capture into chunks of shared memory (chunk-pool.ts) and picks each
 * record's shard by its address pair (engine/shard.ts); each worker judges its
 * records, in capture order, with an engine of its own, reading them where
 * they lie. The summary is the sum of the shards'. Per-packet lines are
 * written by the shards as they judge, and put in one thread's order here
 * (shard-lines.ts).
 *
 * The sum is exactly what one engine would count, because nothing ties
 * flows of different address pairs together, with three provisos:
 * - the clock: each record carries the replay's clock (the latest timestamp
 *   of all packets so far), not only its shard's;
 * - the table limit: early drop, on a full table, picks an entry among all
 *   flows. While fewer than nf_conntrack_max flows have entered in all, no
 *   table can be full; the shards report their flows as they go, and the
 *   replay stops, as `inexact`, when their sum reaches the limit;
 * - the first fragment of an ICMP error, whose datagram is reassembled by
 *   its outer pair but judged against the flow it quotes: `inexact` too;
 * - the reassembly memory limit (ipfrag_high_thresh, frag6_high_thresh):
 *   one budget for all datagrams. Each shard reports the most it held
 *   while judging a batch; while the sum over shards (a bound on what one
 *   engine would hold) stays within the limit, no fragment is refused by
 *   either, and the replay stops as `inexact` once it does not.
 * Only the timing of lazy expiry differs (entries are removed when their
 * hash chain is next walked), which no summary figure shows.
 */
import { Worker } from 'node:worker_threads';
import { readCapture } from '../capture/read.js';
import {
  CaptureError,
  type CaptureRecord,
  type CaptureSummary,
  newCaptureRecord,
  StopReading,
} from '../capture/types.js';
import { newDecodedPacket } from '../packet/decode.js';
import type { RuleSet } from '../rules/types.js';
import { ClockWatch, type ClockStats } from '../engine/clock.js';
import type { EngineStats } from '../engine/engine.js';
import { DEFAULT_DEFRAG_SETTINGS } from '../engine/defrag.js';
import { MAX_WAITING } from '../engine/held-order.js';
import { NOT_SHARDABLE, ShardPicker } from '../engine/shard.js';
import { LineOrder, playEvents, playRound, writeOutput, type WriteOutput } from './shard-lines.js';
import { sumConntrack, sumStats } from './shard-sum.js';
import { ChunkPool, type Chunk } from './chunk-pool.js';
import {
  D_CAPLEN,
  D_DIR,
  D_IF,
  D_LEN,
  D_LINK,
  D_N,
  D_NSEC,
  D_OFF,
  D_OWN_NSEC,
  D_OWN_SEC,
  D_SEC,
  DESC,
  IN_SPILL,
  withRoom,
  type FromShard,
  type ShardConntrack,
  type ShardLines,
  type ShardReport,
  type ToShard,
} from './shard-protocol.js';

/** Records read before they are posted to the workers (or at the end of a chunk, whichever comes first). */
const POST_RECORDS = 4096;
/** Batches a worker may have waiting before the reader waits for it. */
const WAITING_PER_WORKER = 4;
/** Records a batch list has room for at first (it grows). */
const LIST_START = 4096;
/** The chunk of a batch that has none (all its records are in the spill chunk, or none are). */
const EMPTY = new SharedArrayBuffer(0);

export interface ShardedOptions {
  rules: RuleSet;
  /** A capture file, or '-' for standard input. */
  path: string;
  /** What '-' reads instead of the process's standard input. */
  stdin?: Uint8Array;
  /** Worker threads (2 or more). */
  jobs: number;
  /** Called for every record as it is read (progress). */
  onRecord?: (rec: CaptureRecord) => void;
  /**
   * Per-packet output (lines, records to write): what the shards write, and
   * where it goes. `wait` is awaited between reads (a slow reader of the
   * output holds the replay back).
   */
  lines?: {
    report: ShardReport;
    write: WriteOutput;
    wait?: () => Promise<void> | null;
    /** After the lines of some packets were written (a place to flush them, for live output). */
    written?: () => void;
  };
  /**
   * The capture is live (a pipe from tcpdump): what each read brings is
   * posted to the shards as soon as it is parsed, not when enough has
   * gathered or the next read came, so that every packet's line can come
   * out before the next packet arrives.
   */
  live?: boolean;
}

/** What the single-threaded replay's summary is made of. */
export interface ShardedSummary {
  capture: CaptureSummary;
  stats: EngineStats;
  conntrack: ShardConntrack | null;
  /** Packets each thread judged: how evenly the address pairs spread. */
  packetsByShard: number[];
  /** The first packet's link type (1, Ethernet, when there is none): what an empty capture written by --write-* gets. */
  firstLinkType: number;
  /** The capture clock's jumps and steps back, watched here as the records are read, in order: as one thread's replay(). */
  clock: ClockStats | null;
}

export type ShardedOutcome =
  | { kind: 'done'; summary: ShardedSummary }
  /** The capture broke off: the summary is of the packets before the damage. */
  | { kind: 'capture-error'; error: CaptureError; summary: ShardedSummary }
  /**
   * Sharded results would differ from one engine's (why), found after
   * `packets` packets were read: replay on one thread. The output (lines,
   * written records) of the first `packetsWritten` packets is out already,
   * and it is one thread's.
   */
  | { kind: 'inexact'; cause: InexactCause; reason: string; packets: number; packetsWritten: number };

/** Why a sharded replay would not be exact: the table limit, a fragmented ICMP error, or lines held back too long. */
export type InexactCause = 'limit' | 'icmp-fragment' | 'order' | 'fragment-memory';

/** One shard's records of the current chunk. */
interface Batch {
  list: Float64Array;
  count: number;
  /** Lists back from the worker, to use again (a new one for every batch made the C heap grow by hundreds of MB). */
  spare: Float64Array[];
}

export async function replaySharded(opts: ShardedOptions): Promise<ShardedOutcome> {
  const r = new ShardedReplay(opts);
  try {
    return await r.run();
  } finally {
    await r.close();
  }
}

class ShardedReplay {
  private readonly jobs: number;
  private readonly workers: Worker[] = [];
  private readonly pool = new ChunkPool();
  /** Records read and not yet posted. */
  private unposted = 0;
  private readonly batches: Batch[] = [];
  /** The chunk the records not yet posted lie in (those not in the spill chunk). */
  private current: Chunk | null = null;
  /** The buffer the last record was delivered in, and what it is: the parser hands out one per read (or its own, for a record split between reads). */
  private lastBuf: Uint8Array | null = null;
  private lastChunk: Chunk | null = null;
  private lastBase = 0;
  /** The records not yet posted include some in the pool's spill chunk. */
  private spilled = false;
  /** Batches posted and not yet judged. */
  private outstanding = 0;
  private readonly flowsByShard: number[];
  /** Reassembly memory each shard held at the end of its last batch (IPv4, IPv6). */
  private readonly fragByShard: number[][];
  /** high_thresh for IPv4 and IPv6 (Infinity when stateless: nothing is reassembled). */
  private readonly fragLimit: [number, number];
  private readonly picker: ShardPicker;
  private clockSec = 0;
  private clockNsec = 0;
  private clock = -Infinity;
  private readonly clockWatch: ClockWatch | null;
  private records = 0;
  /** Why the replay cannot be exact ('' while it can), in words and as a cause. */
  private inexact = '';
  private inexactCause: InexactCause = 'limit';
  private failure: Error | null = null;
  private wake: (() => void) | null = null;
  private readonly results: ({
    stats: EngineStats;
    conntrack: ShardConntrack | null;
    lines: ShardLines | null;
  } | null)[];
  private readonly limit: number;
  /** Per-packet lines: the order they are written in, or null for none. */
  private readonly order: LineOrder | null;
  /** The first packet's timestamp (-1 before it): text's times are relative to it. */
  private baseSec = -1;
  private baseNsec = 0;
  private firstLinkType = 1;
  /**
   * The pcapng interface names records have named, by a number of their
   * own (a capture's interface numbers start again in each section).
   */
  private readonly ifNames: string[] = [];
  private readonly ifIds = new Map<string, number>();
  private lastIfName = '';
  private lastIfId = -1;
  /** Batches are posted in rounds (one batch per shard that has records), numbered from 0. */
  private round = 0;
  /**
   * The rounds not all back yet: how many batches each still waits for, and
   * of those back, the lines and the shard's flows (pairs: shard, flows).
   */
  private readonly rounds = new Map<
    number,
    { waiting: number; lines: ShardLines[]; flows: number[]; frag: number[] }
  >();
  /** The oldest round not all back yet. */
  private nextRound = 0;

  constructor(private readonly opts: ShardedOptions) {
    this.jobs = opts.jobs;
    this.picker = new ShardPicker(this.jobs, newDecodedPacket());
    this.flowsByShard = new Array<number>(this.jobs).fill(0);
    this.fragByShard = Array.from({ length: this.jobs }, () => [0, 0]);
    const r = opts.rules;
    this.fragLimit = r.stateful
      ? [
          r.ipv4?.ipfrag_high_thresh ?? DEFAULT_DEFRAG_SETTINGS.ipfrag_high_thresh,
          r.conntrack.frag6_high_thresh ?? DEFAULT_DEFRAG_SETTINGS.frag6_high_thresh,
        ]
      : [Infinity, Infinity];
    this.results = new Array(this.jobs).fill(null);
    this.limit = opts.rules.stateful ? opts.rules.conntrack.max : 0;
    this.clockWatch = ClockWatch.forRuleSet(opts.rules);
    const write = opts.lines?.write;
    this.order = write ? new LineOrder((o) => writeOutput(o, write, this.ifNames, this.rec)) : null;
    this.pool.prepare(4);
    const url = new URL(
      import.meta.url.endsWith('.bundle.mjs') ? '../run/shard-worker.bundle.mjs' : '../run/shard-worker.js',
      import.meta.url,
    );
    for (let k = 0; k < this.jobs; k++) {
      this.batches.push({ list: new Float64Array(LIST_START * DESC), count: 0, spare: [] });
      const w = new Worker(url, { workerData: { fwemuShard: opts.rules, report: opts.lines?.report ?? null } });
      w.on('message', (m: FromShard) => this.onMessage(k, m));
      w.on('error', (err: unknown) => this.fail(err instanceof Error ? err : new Error(String(err))));
      w.on('exit', (code) => {
        if (this.results[k] === null)
          this.fail(new Error(`shard worker ${k + 1} stopped (exit code ${code}) before it finished`));
      });
      this.workers.push(w);
    }
  }

  async run(): Promise<ShardedOutcome> {
    let capture: CaptureSummary;
    try {
      capture = await readCapture(this.opts.path, (rec) => this.onRecord(rec), {
        takeChunk: (lastFilled) => this.pool.take(lastFilled),
        beforeRead: () => this.beforeRead(),
        // Live: a read's records go to the shards as soon as they are parsed, not with the next read.
        afterChunk: this.opts.live ? () => this.unposted > 0 && this.flush() : undefined,
        stdin: this.opts.stdin,
      });
    } catch (err) {
      if (err instanceof StopReading && this.inexact !== '') return this.inexactOutcome();
      if (err instanceof CaptureError && this.failure === null) {
        const summary = await this.finish(
          err.partial ?? { format: 'pcap', records: this.records, bytesRead: 0, warnings: [], truncated: false },
        );
        if (this.inexact !== '') return this.inexactOutcome();
        return { kind: 'capture-error', error: err, summary };
      }
      throw this.failure ?? err;
    }
    const summary = await this.finish(capture);
    if (this.inexact !== '') return this.inexactOutcome();
    return { kind: 'done', summary };
  }

  private inexactOutcome(): ShardedOutcome {
    return {
      kind: 'inexact',
      cause: this.inexactCause,
      reason: this.inexact,
      packets: this.records,
      packetsWritten: this.order?.written ?? 0,
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private onRecord(rec: CaptureRecord): void {
    if (this.inexact !== '') throw new StopReading();
    this.records++;
    this.unposted++;
    this.opts.onRecord?.(rec);
    this.clockWatch?.observe(rec);
    const t = rec.tsSec + rec.tsNsec * 1e-9;
    // The engine's clock: the latest timestamp so far, compared as Engine.process() does.
    if (t > this.clock) {
      this.clock = t;
      this.clockSec = rec.tsSec;
      this.clockNsec = rec.tsNsec;
    }
    if (this.baseSec < 0) {
      this.baseSec = rec.tsSec;
      this.baseNsec = rec.tsNsec;
      this.firstLinkType = rec.linkType;
    }
    const ifId = this.order !== null && rec.ifName !== '' ? this.ifId(rec.ifName) : -1;
    const k = this.picker.pick(rec.buf, rec.off, rec.caplen, rec.linkType, rec.direction, rec.len);
    if (k === NOT_SHARDABLE) {
      this.inexactCause = 'icmp-fragment';
      this.inexact = `packet ${rec.n} is the first fragment of an ICMP error: its datagram is reassembled where its fragments go but judged with the flow it quotes, which may be another thread's`;
      throw new StopReading();
    }
    let off: number;
    let dir: number = rec.direction;
    if (rec.buf !== this.lastBuf) {
      this.lastBuf = rec.buf;
      this.lastChunk = this.pool.chunkOf(rec.buf.buffer);
      this.lastBase = rec.buf.byteOffset;
    }
    const chunk = this.lastChunk;
    if (chunk !== null) {
      if (chunk !== this.current) this.enter(chunk);
      off = this.lastBase + rec.off;
    } else {
      // Full: what was copied goes to the workers before a new spill chunk takes over.
      off = this.pool.toSpill(rec.buf, rec.off, rec.caplen, () => this.spilled && this.flush());
      this.spilled = true;
      dir |= IN_SPILL;
    }
    const b = this.batches[k];
    b.list = withRoom(b.list, (b.count + 1) * DESC);
    const i = b.count++ * DESC;
    const l = b.list;
    l[i + D_OFF] = off;
    l[i + D_N] = rec.n;
    l[i + D_SEC] = this.clockSec;
    l[i + D_NSEC] = this.clockNsec;
    l[i + D_CAPLEN] = rec.caplen;
    l[i + D_LEN] = rec.len;
    l[i + D_LINK] = rec.linkType;
    l[i + D_DIR] = dir;
    l[i + D_OWN_SEC] = rec.tsSec;
    l[i + D_OWN_NSEC] = rec.tsNsec;
    l[i + D_IF] = ifId;
  }

  /** The number for an interface name (only output names them; most records repeat the last one's). */
  private ifId(name: string): number {
    if (name === this.lastIfName) return this.lastIfId;
    let id = this.ifIds.get(name);
    if (id === undefined) {
      id = this.ifNames.push(name) - 1;
      this.ifIds.set(name, id);
    }
    this.lastIfName = name;
    this.lastIfId = id;
    return id;
  }

  /** Records from another chunk begin: those of the last one are posted first. */
  private enter(c: Chunk): void {
    if (this.current !== null) this.flush();
    this.current = c;
  }

  /** Posts every shard's records so far. */
  private flush(): void {
    const chunk = this.current;
    const spill = this.spilled ? this.pool.spill : null;
    let posted = 0;
    for (let k = 0; k < this.jobs; k++) {
      const b = this.batches[k];
      if (b.count === 0) continue;
      const m: ToShard = {
        type: 'batch',
        round: this.round,
        chunkId: chunk === null ? -1 : chunk.id,
        chunk: chunk === null ? EMPTY : chunk.sab,
        spillId: spill === null ? -1 : spill.id,
        spill: spill === null ? EMPTY : spill.sab,
        list: b.list,
        count: b.count,
        baseSec: this.baseSec,
        baseNsec: this.baseNsec,
        ifNames: this.ifNames,
      };
      posted++;
      this.workers[k].postMessage(m, [b.list.buffer as ArrayBuffer]);
      if (chunk !== null) chunk.refs++;
      if (spill !== null) spill.refs++;
      this.outstanding++;
      b.list = b.spare.pop() ?? new Float64Array(Math.max(LIST_START, b.count) * DESC);
      b.count = 0;
    }
    if (posted > 0) this.rounds.set(this.round++, { waiting: posted, lines: [], flows: [], frag: [] });
    this.current = null;
    this.spilled = false;
    this.unposted = 0;
  }

  /**
   * Before each read: post what was read when enough has gathered or it
   * lies in an older chunk (every chunk but the newest has been parsed by
   * now), let go of the older chunks, and wait while the workers have too
   * many batches waiting (which also bounds the chunks in use).
   */
  private async beforeRead(): Promise<void> {
    if (this.unposted >= POST_RECORDS || (this.current !== null && this.current !== this.pool.newest)) this.flush();
    // Unposted records can only be in the newest chunk (or the spill chunk) now.
    this.pool.letGo(false);
    while (this.failure === null && this.inexact === '' && this.outstanding > WAITING_PER_WORKER * this.jobs) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
    const output = this.opts.lines?.wait?.();
    if (output) await output;
    if (this.failure !== null) throw this.failure;
    if (this.inexact !== '') throw new StopReading();
  }

  private poke(): void {
    const w = this.wake;
    if (w !== null) {
      this.wake = null;
      w();
    }
  }

  private onMessage(k: number, m: FromShard): void {
    try {
      this.handle(k, m);
    } catch (err) {
      // Writing the output can fail here (a record pcap cannot stamp, a full
      // disk): an event handler's throw would escape as an uncaught exception.
      this.fail(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private handle(k: number, m: FromShard): void {
    if (m.type === 'done') {
      this.batches[k].spare.push(m.list);
      this.outstanding--;
      if (m.chunk >= 0) this.pool.drop(this.pool.byId(m.chunk));
      if (m.spill >= 0) this.pool.drop(this.pool.byId(m.spill));
      this.batchBack(m.round, k, m.flows, m.frag, m.lines);
      this.poke();
    } else {
      this.results[k] = { stats: m.stats, conntrack: m.conntrack, lines: m.lines };
      this.poke();
    }
  }

  /** The record of a packet output that goes to a written capture (reused). */
  private readonly rec = newCaptureRecord();

  /** A shard's flows so far: the replay cannot be exact once all shards' reach the table's limit. */
  private countFlows(k: number, flows: number): void {
    this.flowsByShard[k] = flows;
    if (this.limit === 0 || this.inexact !== '') return;
    let sum = 0;
    for (const f of this.flowsByShard) sum += f;
    if (sum >= this.limit) {
      this.inexact = `${sum} flows have entered the conntrack table, and its limit (conntrack.max) is ${this.limit}: a full table early-drops among all flows, which threads that each hold some of them cannot do`;
    }
  }

  /**
   * One round's reassembly memory (entries: shard, peak v4, peak v6, now v4,
   * now v6): the shards in the round at their peak, the others at what they
   * held after their last batch. Over high_thresh, one engine might have
   * refused a fragment that a shard took.
   */
  private countFragMemory(frag: number[]): void {
    if (this.inexact !== '' || this.fragLimit[0] === Infinity) return;
    const peak = this.fragByShard.map((x) => [...x]);
    for (let i = 0; i < frag.length; i += 5) {
      const k = frag[i];
      peak[k] = [frag[i + 1], frag[i + 2]];
      this.fragByShard[k] = [frag[i + 3], frag[i + 4]];
    }
    for (let v = 0; v < 2; v++) {
      let sum = 0;
      for (const p of peak) sum += p[v];
      if (sum > this.fragLimit[v]) {
        const name =
          v === 0
            ? 'net.ipv4.ipfrag_high_thresh (ipv4: ipfrag_high_thresh)'
            : 'net.netfilter.nf_conntrack_frag6_high_thresh (conntrack: frag6_high_thresh)';
        this.inexactCause = 'fragment-memory';
        this.inexact = `the threads held up to ${sum} bytes of IPv${v === 0 ? 4 : 6} fragments for reassembly, over ${name} ${this.fragLimit[v]}: one budget for all datagrams, which threads that each hold some of them cannot share`;
        return;
      }
    }
  }

  /**
   * A shard's batch judged: once every batch of the oldest rounds is back,
   * their flows are counted and their lines written, unless the replay
   * cannot be exact any more. Counting round by round keeps what was
   * written exact however late a shard reports: every batch before it was
   * judged while nothing made the shards differ from one engine.
   */
  private batchBack(
    round: number,
    k: number,
    flows: number,
    frag: [number, number, number, number],
    lines: ShardLines | null,
  ): void {
    const r = this.rounds.get(round)!;
    if (lines !== null) r.lines.push(lines);
    r.flows.push(k, flows);
    r.frag.push(k, frag[0], frag[1], frag[2], frag[3]);
    r.waiting--;
    let played = false;
    for (
      let next = this.rounds.get(this.nextRound);
      next !== undefined && next.waiting === 0;
      next = this.rounds.get(this.nextRound)
    ) {
      this.rounds.delete(this.nextRound);
      this.nextRound++;
      for (let i = 0; i < next.flows.length; i += 2) this.countFlows(next.flows[i], next.flows[i + 1]);
      this.countFragMemory(next.frag);
      if (this.inexact === '' && this.order !== null) {
        this.playLines(next.lines);
        played = true;
      }
    }
    if (played) this.opts.lines?.written?.();
  }

  /** Writes one round's lines; one thread may have let a fragment's line out of order where they overflow. */
  private playLines(all: ShardLines[]): void {
    if (!playRound(this.order!, all)) {
      this.inexactCause = 'order';
      this.inexact = `more than ${MAX_WAITING} packets' lines waited behind IP fragments held for reassembly: one thread would have let the oldest fragment's line come out of order, at a point the threads cannot tell`;
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.poke();
  }

  /** Posts the rest, ends every shard, and sums their figures. */
  private async finish(capture: CaptureSummary): Promise<ShardedSummary> {
    this.flush();
    this.pool.letGo(true);
    this.pool.dropSpill();
    const end: ToShard = { type: 'end', clockSec: this.clockSec, clockNsec: this.clockNsec };
    for (const w of this.workers) w.postMessage(end);
    while (this.failure === null && this.results.some((r) => r === null)) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
    if (this.failure !== null) throw this.failure;
    const results = this.results as {
      stats: EngineStats;
      conntrack: ShardConntrack | null;
      lines: ShardLines | null;
    }[];
    if (this.order !== null && this.inexact === '') {
      // The fragments still held at the end are dropped, and every line waiting is written.
      for (const r of results) playEvents(this.order, r.lines!, 0, Infinity);
    }
    return {
      capture,
      stats: sumStats(results.map((r) => r.stats)),
      conntrack: sumConntrack(results.map((r) => r.conntrack)),
      packetsByShard: results.map((r) => r.stats.packets),
      firstLinkType: this.firstLinkType,
      clock: this.clockWatch?.result ?? null,
    };
  }
}
