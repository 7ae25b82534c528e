/**
 * One shard of a replay spread over worker threads (replay --jobs, see
 * sharded.ts): an engine of its own, fed the records of its address pairs
 * in capture order, read from the reader's shared chunks, and judged by the
 * loop every replay runs (engine/judge.ts). With per-packet
 * output, it writes each packet's line as one thread would, and a copy of
 * its record if it goes to --write-accepted/--write-dropped, and says what
 * it held and released, so that the reader can put them in order.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { type CaptureRecord, newCaptureRecord } from '../capture/types.js';
import { decodePacket, newDecodedPacket } from '../packet/decode.js';
import type { DecodedPacket } from '../packet/types.js';
import { ByteText } from '../report/bytes.js';
import { writeReplayJsonLine } from '../report/json-line.js';
import { ANSI_PAINT, NO_PAINT } from '../report/replay-text.js';
import { writeReplayLine } from '../report/text-line.js';
import { FitLayout } from '../report/fit-line.js';
import type { RuleSet } from '../rules/types.js';
import { Engine } from '../engine/engine.js';
import { Judge, type JudgedOutput } from '../engine/judge.js';
import type { PacketResult } from '../engine/result.js';
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
  E_DIR,
  E_END,
  E_IF,
  E_JUDGED,
  E_KIND,
  E_LEN,
  E_LINE_END,
  E_LINK,
  E_N,
  E_NSEC,
  E_RECORD,
  E_SEC,
  EV,
  HELD,
  IN_SPILL,
  LINE,
  NO_RECORD,
  RELEASED,
  TO_ACCEPTED,
  TO_DROPPED,
  withRoom,
  type FromShard,
  type ShardLines,
  type ShardReport,
  type ToShard,
} from './shard-protocol.js';

interface ShardData {
  fwemuShard: RuleSet;
  report: ShardReport | null;
}

/** A batch's lines as they are written: the bytes, and an event for each. */
class LineLog {
  out = new ByteText(256 * 1024);
  events: Float64Array = new Float64Array(4096 * EV);
  count = 0;

  /** An event; for a packet's output, its line ends at `lineEnd`, and the record after it goes to `to`. */
  event(
    kind: number,
    n: number,
    judged: number,
    lineEnd = this.out.pos,
    to = NO_RECORD,
    rec: CaptureRecord | null = null,
  ): void {
    this.events = withRoom(this.events, (this.count + 1) * EV);
    const i = this.count++ * EV;
    const e = this.events;
    e[i + E_KIND] = kind;
    e[i + E_N] = n;
    e[i + E_JUDGED] = judged;
    e[i + E_LINE_END] = lineEnd;
    e[i + E_END] = this.out.pos;
    e[i + E_RECORD] = to;
    if (rec !== null) {
      e[i + E_SEC] = rec.tsSec;
      e[i + E_NSEC] = rec.tsNsec;
      e[i + E_LEN] = rec.len;
      e[i + E_LINK] = rec.linkType;
      e[i + E_DIR] = rec.direction;
      e[i + E_IF] = rec.ifIndex;
    }
  }

  /** What was written, handed over (the next batch starts afresh: the reader keeps these until it has written them). */
  take(): ShardLines {
    const lines = {
      bytes: this.out.buf.subarray(0, this.out.pos),
      events: this.events.subarray(0, this.count * EV),
      count: this.count,
    };
    this.out = new ByteText(Math.max(64 * 1024, this.out.pos + (this.out.pos >> 2)));
    this.events = new Float64Array(Math.max(4096, this.count + (this.count >> 2)) * EV);
    this.count = 0;
    return lines;
  }
}

function runShard(ruleset: RuleSet, report: ShardReport | null): void {
  const port = parentPort!;
  const engine = new Engine(ruleset);
  const heldPkt = newDecodedPacket();
  const empty = new Uint8Array(0);
  const rec = newCaptureRecord();
  const log = report === null ? null : new LineLog();
  const paint = report?.color ? ANSI_PAINT : NO_PAINT;
  const fit =
    report !== null && report.format === 'text' && report.width > 0 ? new FitLayout(report.width, report.time) : null;
  const base = { sec: 0, nsec: 0 };
  let ifNames: string[] = [];
  /** The packet being judged (Infinity at the end): the events' order among the shards. */
  let judged = 0;

  /** A packet's output, as one thread's onPacket writes it: its line, and its record if that goes to a capture. */
  const output = (kind: number, r: PacketResult, p: DecodedPacket, record: CaptureRecord): void => {
    const o = log!.out;
    if (report!.format === 'jsonl') writeReplayJsonLine(o, r, p, record, engine);
    else if (fit !== null) fit.write(o, r, p, engine, report!.time, base, paint);
    else if (report!.format === 'text') writeReplayLine(o, r, p, engine, report!.time, base, paint);
    const lineEnd = o.pos;
    const to =
      r.verdict === 'accept'
        ? report!.accepted
          ? TO_ACCEPTED
          : NO_RECORD
        : r.verdict === 'skip' || !report!.dropped
          ? NO_RECORD
          : TO_DROPPED;
    if (to !== NO_RECORD) {
      const bytes = record.buf.subarray(record.off, record.off + record.caplen);
      o.room(bytes.length);
      o.buf.set(bytes, o.pos);
      o.pos += bytes.length;
    }
    log!.event(kind, r.n, judged, lineEnd, to, to === NO_RECORD ? null : record);
  };

  /**
   * The judging loop's results, written at once: the shards cannot order
   * them among themselves, so each says what it held and released, and the
   * reader plays that through InOrder's rules (shard-lines.ts).
   */
  const toLog: JudgedOutput = {
    hold: (n) => log!.event(HELD, n, judged),
    released: (r, record) =>
      output(
        RELEASED,
        r,
        decodePacket(record.buf, 0, record.caplen, record.linkType, record.direction, heldPkt, record.len),
        record,
      ),
    releasedEnd: () => {},
    deliver: (r, p, record) => output(LINE, r, p, record),
  };
  const judge = new Judge(engine, log === null ? null : toLog);

  const judgeBatch = (chunk: Uint8Array, spill: Uint8Array, list: Float64Array, count: number): void => {
    for (let i = 0; i < count * DESC; i += DESC) {
      const dir = list[i + D_DIR];
      rec.buf = dir & IN_SPILL ? spill : chunk;
      rec.off = list[i + D_OFF];
      rec.n = list[i + D_N];
      rec.tsSec = list[i + D_OWN_SEC];
      rec.tsNsec = list[i + D_OWN_NSEC];
      rec.caplen = list[i + D_CAPLEN];
      rec.len = list[i + D_LEN];
      rec.linkType = list[i + D_LINK];
      rec.direction = (dir & 3) as CaptureRecord['direction'];
      // (ifIndex holds the reader's number for the name, which the copy of a held fragment's record keeps.)
      const ifName = list[i + D_IF];
      rec.ifIndex = ifName;
      rec.ifName = ifName >= 0 ? ifNames[ifName] : '';
      // The replay's clock, which other shards' packets may have moved: the
      // engine takes the later of it and the packet's own time, as one
      // engine that had seen them all would.
      const clock = list[i + D_SEC] + list[i + D_NSEC] * 1e-9;
      if (clock > engine.now) engine.now = clock;
      judged = rec.n;
      judge.judge(rec);
    }
    rec.buf = empty;
  };

  port.on('message', (m: ToShard) => {
    if (m.type === 'batch') {
      base.sec = m.baseSec;
      base.nsec = m.baseNsec;
      ifNames = m.ifNames;
      judgeBatch(new Uint8Array(m.chunk), new Uint8Array(m.spill), m.list, m.count);
      const lines = log === null ? null : log.take();
      const df = engine.defrag;
      const frag: [number, number, number, number] =
        df === null ? [0, 0, 0, 0] : [df.peak4, df.peak6, df.mem4, df.mem6];
      df?.resetPeaks();
      const done: FromShard = {
        type: 'done',
        round: m.round,
        chunk: m.chunkId,
        spill: m.spillId,
        list: m.list,
        flows: engine.flowsEntered,
        frag,
        lines,
      };
      const transfer = [m.list.buffer as ArrayBuffer];
      if (lines !== null) transfer.push(lines.bytes.buffer as ArrayBuffer, lines.events.buffer as ArrayBuffer);
      port.postMessage(done, transfer);
      return;
    }
    // The end: what the single-threaded engine would have at the end of the capture.
    judged = Infinity;
    judge.finish();
    const rest = log === null ? null : log.take();
    const t = m.clockSec + m.clockNsec * 1e-9;
    if (t > engine.now) engine.now = t;
    const ct = engine.ct;
    if (ct !== null) ct.expire(engine.now);
    const out: FromShard = {
      type: 'stats',
      stats: engine.stats,
      conntrack: ct === null ? null : { live: ct.size, earlyDrop: ct.stats.earlyDrop, tableFull: ct.stats.tableFull },
      lines: rest,
    };
    port.postMessage(out);
  });
}

if (!isMainThread && (workerData as Partial<ShardData> | null)?.fwemuShard) {
  const data = workerData as ShardData;
  runShard(data.fwemuShard, data.report ?? null);
}
