/**
 * One shard of a replay spread over worker threads (replay --jobs, see
 * sharded.ts): an engine of its own, fed the records of its address pairs
 * in capture order, read from the reader's shared chunks. With per-packet
 * lines, it writes each packet's line as one thread would, and says what
 * it held and released, so that the reader can put the lines in order.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { LinkType, type CaptureRecord } from '../capture/types.js';
import { decodePacket, newDecodedPacket } from '../packet/decode.js';
import type { DecodedPacket } from '../packet/types.js';
import { ByteText } from '../report/bytes.js';
import { writeReplayJsonLine } from '../report/json-line.js';
import { ANSI_PAINT, NO_PAINT } from '../report/replay-text.js';
import { writeReplayLine } from '../report/text-line.js';
import type { RuleSet } from '../rules/types.js';
import { decodeHeld } from './defrag.js';
import { Engine, type ReleasedResult } from './engine.js';
import type { PacketResult } from './result.js';
import {
  D_CAPLEN, D_DIR, D_IF, D_LEN, D_LINK, D_N, D_NSEC, D_OFF, D_OWN_NSEC, D_OWN_SEC, D_SEC, DESC, E_END, E_JUDGED, E_KIND, E_N, EV, HELD,
  IN_SPILL, LINE, RELEASED, withRoom, type FromShard, type ShardLines, type ShardReport, type ToShard,
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

  event(kind: number, n: number, judged: number): void {
    this.events = withRoom(this.events, (this.count + 1) * EV);
    const i = this.count++ * EV;
    const e = this.events;
    e[i + E_KIND] = kind;
    e[i + E_N] = n;
    e[i + E_JUDGED] = judged;
    e[i + E_END] = this.out.pos;
  }

  /** What was written, handed over (the next batch starts afresh: the reader keeps these until it has written them). */
  take(): ShardLines {
    const lines = { bytes: this.out.buf.subarray(0, this.out.pos), events: this.events.subarray(0, this.count * EV), count: this.count };
    this.out = new ByteText(Math.max(64 * 1024, this.out.pos + (this.out.pos >> 2)));
    this.events = new Float64Array(Math.max(4096, this.count + (this.count >> 2)) * EV);
    this.count = 0;
    return lines;
  }
}

function runShard(ruleset: RuleSet, report: ShardReport | null): void {
  const port = parentPort!;
  const engine = new Engine(ruleset);
  const pkt = newDecodedPacket();
  const heldPkt = newDecodedPacket();
  const empty = new Uint8Array(0);
  const rec: CaptureRecord = {
    n: 0, tsSec: 0, tsNsec: 0, linkType: 0, ifIndex: 0, ifName: '', direction: 0, caplen: 0, len: 0, buf: empty, off: 0, fileOffset: 0,
  };
  const log = report === null ? null : new LineLog();
  const paint = report?.color ? ANSI_PAINT : NO_PAINT;
  const base = { sec: 0, nsec: 0 };
  let ifNames: string[] = [];

  const line = (r: PacketResult, p: DecodedPacket, record: CaptureRecord): void => {
    const o = log!.out;
    if (report!.format === 'jsonl') writeReplayJsonLine(o, r, p, record, engine);
    else writeReplayLine(o, r, p, engine, report!.time, base, paint);
  };

  /** Lines of held fragments decided now, as InOrder.released() would write them later. */
  const released = (list: ReleasedResult[], judged: number): void => {
    let datagram: DecodedPacket | null = null;
    for (const x of list) {
      const r = x.result;
      if (r.datagram !== null) {
        // (The engine's own datagram is reused: one copy for the list, as InOrder makes.)
        const bytes = engine.defrag!.datagramBytes;
        r.datagram = datagram ??= decodePacket(bytes, 0, bytes.length, LinkType.RAW, 0, newDecodedPacket());
      }
      line(r, decodeHeld(x.fragment, heldPkt), x.rec);
      log!.event(RELEASED, r.n, judged);
    }
  };

  const judge = (chunk: Uint8Array, spill: Uint8Array, list: Float64Array, count: number): void => {
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
      // The replay's clock, which other shards' packets may have moved: the
      // engine takes the later of it and the packet's own time, as one
      // engine that had seen them all would.
      const clock = list[i + D_SEC] + list[i + D_NSEC] * 1e-9;
      if (clock > engine.now) engine.now = clock;
      decodePacket(rec.buf, rec.off, rec.caplen, rec.linkType, rec.direction, pkt, rec.len);
      if (log === null) {
        engine.process(rec, pkt);
        if (engine.hasReleased) engine.takeReleased();
        continue;
      }
      const ifName = list[i + D_IF];
      rec.ifName = ifName >= 0 ? ifNames[ifName] : '';
      // What replay() does with each record, with lines for InOrder's calls.
      const result = engine.process(rec, pkt);
      if (result === null) log.event(HELD, rec.n, rec.n);
      if (engine.hasReleased) released(engine.takeReleased(), rec.n);
      if (result !== null) {
        line(result, pkt, rec);
        log.event(LINE, rec.n, rec.n);
      }
    }
    rec.buf = empty;
  };

  port.on('message', (m: ToShard) => {
    if (m.type === 'batch') {
      base.sec = m.baseSec;
      base.nsec = m.baseNsec;
      ifNames = m.ifNames;
      judge(new Uint8Array(m.chunk), new Uint8Array(m.spill), m.list, m.count);
      const lines = log === null ? null : log.take();
      const done: FromShard = { type: 'done', round: m.round, chunk: m.chunkId, spill: m.spillId, list: m.list, flows: engine.flowsEntered, lines };
      const transfer = [m.list.buffer as ArrayBuffer];
      if (lines !== null) transfer.push(lines.bytes.buffer as ArrayBuffer, lines.events.buffer as ArrayBuffer);
      port.postMessage(done, transfer);
      return;
    }
    // The end: what the single-threaded engine would have at the end of the capture.
    engine.flushFragments();
    const rest = engine.takeReleased();
    let lines: ShardLines | null = null;
    if (log !== null) {
      released(rest, Infinity);
      lines = log.take();
    }
    const t = m.clockSec + m.clockNsec * 1e-9;
    if (t > engine.now) engine.now = t;
    const ct = engine.ct;
    if (ct !== null) ct.expire(engine.now);
    const out: FromShard = {
      type: 'stats',
      stats: engine.stats,
      conntrack: ct === null ? null : { live: ct.size, earlyDrop: ct.stats.earlyDrop, tableFull: ct.stats.tableFull },
      lines,
    };
    port.postMessage(out);
  });
}

if (!isMainThread && (workerData as Partial<ShardData> | null)?.fwemuShard) {
  const data = workerData as ShardData;
  runShard(data.fwemuShard, data.report ?? null);
}
