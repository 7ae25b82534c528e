/**
 * One shard of a replay spread over worker threads (replay --jobs, see
 * sharded.ts): an engine of its own, fed the records of its address pairs
 * in capture order, read from the reader's shared chunks.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { CaptureRecord } from '../capture/types.js';
import { decodePacket, newDecodedPacket } from '../packet/decode.js';
import type { RuleSet } from '../rules/types.js';
import { Engine } from './engine.js';
import { D_CAPLEN, D_DIR, D_LEN, D_LINK, D_N, D_OFF, D_SEC, D_NSEC, DESC, IN_SPILL, type FromShard, type ToShard } from './shard-protocol.js';

function runShard(ruleset: RuleSet): void {
  const port = parentPort!;
  const engine = new Engine(ruleset);
  const pkt = newDecodedPacket();
  const empty = new Uint8Array(0);
  const rec: CaptureRecord = {
    n: 0, tsSec: 0, tsNsec: 0, linkType: 0, ifIndex: 0, ifName: '', direction: 0, caplen: 0, len: 0, buf: empty, off: 0, fileOffset: 0,
  };

  const judge = (chunk: Uint8Array, spill: Uint8Array, list: Float64Array, count: number): void => {
    for (let i = 0; i < count * DESC; i += DESC) {
      const dir = list[i + D_DIR];
      rec.buf = dir & IN_SPILL ? spill : chunk;
      rec.off = list[i + D_OFF];
      rec.n = list[i + D_N];
      rec.tsSec = list[i + D_SEC];
      rec.tsNsec = list[i + D_NSEC];
      rec.caplen = list[i + D_CAPLEN];
      rec.len = list[i + D_LEN];
      rec.linkType = list[i + D_LINK];
      rec.direction = (dir & 3) as CaptureRecord['direction'];
      decodePacket(rec.buf, rec.off, rec.caplen, rec.linkType, rec.direction, pkt, rec.len);
      engine.process(rec, pkt);
      if (engine.hasReleased) engine.takeReleased();
    }
    rec.buf = empty;
  };

  port.on('message', (m: ToShard) => {
    if (m.type === 'batch') {
      judge(new Uint8Array(m.chunk), new Uint8Array(m.spill), m.list, m.count);
      const done: FromShard = { type: 'done', chunk: m.chunkId, spill: m.spillId, list: m.list, flows: engine.flowsEntered };
      port.postMessage(done, [m.list.buffer as ArrayBuffer]);
      return;
    }
    // The end: what the single-threaded engine would have at the end of the capture.
    engine.flushFragments();
    engine.takeReleased();
    const t = m.clockSec + m.clockNsec * 1e-9;
    if (t > engine.now) engine.now = t;
    const ct = engine.ct;
    if (ct !== null) ct.expire(engine.now);
    const out: FromShard = {
      type: 'stats',
      stats: engine.stats,
      conntrack: ct === null ? null : { live: ct.size, earlyDrop: ct.stats.earlyDrop, tableFull: ct.stats.tableFull },
    };
    port.postMessage(out);
  });
}

if (!isMainThread && (workerData as { fwemuShard?: RuleSet } | null)?.fwemuShard) {
  runShard((workerData as { fwemuShard: RuleSet }).fwemuShard);
}
