#!/usr/bin/env node
/**
 * Does sharding the replay over worker threads pay on this machine? A
 * measurement, not a feature: fwemu itself replays on one thread.
 *
 *   node bench/shard.mjs FILE [--workers N] [--inline] [--runs R]
 *
 * Single-threaded: read, decode and Engine.process every packet (what
 * `replay --format none` does, minus start-up and the summary). Sharded:
 * the main thread reads and decodes each packet far enough to pick its
 * shard, a symmetric hash of the address pair (the inner pair for ICMP
 * errors, so an error meets the flow it is about; IP fragments share their
 * datagram's pair), and copies the record into that shard's batch; each
 * worker decodes and judges its packets with an engine of its own. The
 * dispatcher reads the shard key straight from the bytes of untagged
 * Ethernet TCP/UDP frames and decodes only the others. With
 * --inline the main thread also judges shard 0 itself instead of only
 * dispatching. Batches go by postMessage with their buffers transferred and
 * recycled; the reader waits while a shard has 8 batches queued.
 *
 * The verdict counts of both ways are compared (they must be equal for a
 * capture whose flows never share a conntrack limit), then the wall-clock
 * times and their ratio are printed, with how long each worker was busy and
 * how long the reader waited for them. Shards are independent conntrack
 * tables: nf_conntrack_max and early drop would be per shard, and results
 * arrive per shard, not in capture order; what a real integration would
 * have to solve is in bench/README.md.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { readCapture } from '../dist/capture/read.js';
import { decodePacket, newDecodedPacket } from '../dist/packet/decode.js';
import { Engine } from '../dist/engine/engine.js';
import { loadRuleSet } from '../dist/rules/load.js';
import { PacketKind } from '../dist/packet/types.js';

const RULES = fileURLToPath(new URL('./rules.yaml', import.meta.url));
const BATCH = 256 * 1024;
const HEADER = 24; // n, tsSec, tsNsec, caplen, len (u32 each), linkType (u16), direction (u8), pad
const MAX_QUEUED = 8;
const bufferCopy = Buffer.prototype.copy;

function verdictCounts(engine) {
  const s = engine.stats;
  return { packets: s.packets, ...s.verdicts, flows: s.flows };
}

if (!isMainThread) {
  // A shard: decode and judge the records of each batch, hand the buffer back.
  const engine = new Engine(loadRuleSet(workerData.rules).ruleset);
  const p = newDecodedPacket();
  const rec = { n: 0, tsSec: 0, tsNsec: 0, caplen: 0, len: 0, linkType: 0, direction: 0, buf: null, off: 0, ifIndex: 0, ifName: '', fileOffset: 0 };
  let busy = 0;
  parentPort.on('message', (msg) => {
    if (msg.end) {
      engine.flushFragments();
      engine.takeReleased();
      parentPort.postMessage({ stats: verdictCounts(engine), busy });
      return;
    }
    const t0 = performance.now();
    const buf = new Uint8Array(msg.buf, 0, msg.used);
    const dv = new DataView(msg.buf);
    for (let off = 0; off < msg.used;) {
      rec.n = dv.getUint32(off, true);
      rec.tsSec = dv.getUint32(off + 4, true);
      rec.tsNsec = dv.getUint32(off + 8, true);
      rec.caplen = dv.getUint32(off + 12, true);
      rec.len = dv.getUint32(off + 16, true);
      rec.linkType = dv.getUint16(off + 20, true);
      rec.direction = buf[off + 22];
      rec.buf = buf;
      rec.off = off + HEADER;
      decodePacket(buf, rec.off, rec.caplen, rec.linkType, rec.direction, p, rec.len);
      engine.process(rec, p);
      if (engine.hasReleased) engine.takeReleased();
      off += HEADER + ((rec.caplen + 3) & ~3);
    }
    busy += performance.now() - t0;
    parentPort.postMessage({ back: msg.buf }, [msg.buf]);
  });
} else {
  await main();
}

function parseArgs(argv) {
  const o = { file: null, workers: 2, inline: false, runs: 3 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--workers') o.workers = Number(argv[++i]);
    else if (argv[i] === '--runs') o.runs = Number(argv[++i]);
    else if (argv[i] === '--inline') o.inline = true;
    else o.file = argv[i];
  }
  if (!o.file) throw new Error('usage: node bench/shard.mjs FILE [--workers N] [--inline] [--runs R]');
  return o;
}

/** Symmetric: the same for both directions of a flow. */
function shardOf(p, shards) {
  if (p.kind !== PacketKind.IP) return 0;
  let a, b;
  if (p.innerValid && (p.proto === 1 || p.proto === 58)) {
    a = p.innerSrc0 ^ p.innerSrc1 ^ p.innerSrc2 ^ p.innerSrc3;
    b = p.innerDst0 ^ p.innerDst1 ^ p.innerDst2 ^ p.innerDst3;
  } else {
    a = p.src0 ^ p.src1 ^ p.src2 ^ p.src3;
    b = p.dst0 ^ p.dst1 ^ p.dst2 ^ p.dst3;
  }
  let h = Math.imul((a ^ b) >>> 0, 0x9e3779b1) + Math.imul(Math.min(a >>> 0, b >>> 0), 0x85ebca6b);
  h ^= h >>> 15;
  return (h >>> 0) % shards;
}

/**
 * The shard straight from the bytes of an untagged Ethernet frame carrying
 * TCP or UDP over IPv4 or IPv6 (no full decode on the dispatching thread);
 * -1 for anything else (decoded, then shardOf()). Same hash as shardOf().
 */
function peekShard(rec, shards) {
  if (rec.linkType !== 1 || rec.caplen < 54) return -1;
  const b = rec.buf, o = rec.off;
  const et = (b[o + 12] << 8) | b[o + 13];
  let a, d;
  if (et === 0x0800) {
    const proto = b[o + 23];
    if ((proto !== 6 && proto !== 17) || (b[o + 14] >> 4) !== 4) return -1;
    a = ((b[o + 26] << 24) | (b[o + 27] << 16) | (b[o + 28] << 8) | b[o + 29]) >>> 0;
    d = ((b[o + 30] << 24) | (b[o + 31] << 16) | (b[o + 32] << 8) | b[o + 33]) >>> 0;
  } else if (et === 0x86dd) {
    const next = b[o + 20];
    if ((next !== 6 && next !== 17) || rec.caplen < 74) return -1;
    a = 0; d = 0;
    for (let i = 0; i < 16; i += 4) {
      a ^= (b[o + 22 + i] << 24) | (b[o + 23 + i] << 16) | (b[o + 24 + i] << 8) | b[o + 25 + i];
      d ^= (b[o + 38 + i] << 24) | (b[o + 39 + i] << 16) | (b[o + 40 + i] << 8) | b[o + 41 + i];
    }
    a >>>= 0; d >>>= 0;
  } else {
    return -1;
  }
  let h = Math.imul((a ^ d) >>> 0, 0x9e3779b1) + Math.imul(Math.min(a, d), 0x85ebca6b);
  h ^= h >>> 15;
  return (h >>> 0) % shards;
}

async function single(file) {
  const engine = new Engine(loadRuleSet(RULES).ruleset);
  const p = newDecodedPacket();
  const t0 = performance.now();
  await readCapture(file, (rec) => {
    decodePacket(rec.buf, rec.off, rec.caplen, rec.linkType, rec.direction, p, rec.len);
    engine.process(rec, p);
    if (engine.hasReleased) engine.takeReleased();
  });
  engine.flushFragments();
  engine.takeReleased();
  return { sec: (performance.now() - t0) / 1000, stats: verdictCounts(engine) };
}

async function sharded(file, nWorkers, inline) {
  const shards = nWorkers + (inline ? 1 : 0);
  const workers = [];
  for (let i = 0; i < nWorkers; i++) workers.push(new Worker(fileURLToPath(import.meta.url), { workerData: { rules: RULES } }));
  const local = inline ? new Engine(loadRuleSet(RULES).ruleset) : null;
  const state = workers.map((w) => {
    const buf = new ArrayBuffer(BATCH);
    const s = { w, free: [], queued: 0, buf, u8: new Uint8Array(buf), dv: new DataView(buf), used: 0, wake: null, stats: null, done: null };
    w.on('message', (m) => {
      if (m.back) {
        s.free.push(m.back);
        s.queued--;
        if (s.wake) { const f = s.wake; s.wake = null; f(); }
      } else if (m.stats) { s.busy = m.busy; s.done(m.stats); }
    });
    return s;
  });
  const send = (s) => {
    s.w.postMessage({ buf: s.buf, used: s.used }, [s.buf]);
    s.queued++;
    s.buf = s.free.pop() ?? new ArrayBuffer(BATCH);
    s.u8 = new Uint8Array(s.buf);
    s.dv = new DataView(s.buf);
    s.used = 0;
  };
  // Workers are started before the clock: their start-up is Node's, not the replay's.
  await new Promise((r) => setTimeout(r, 300));
  const p = newDecodedPacket();
  let waited = 0;
  const t0 = performance.now();
  await readCapture(file, (rec) => {
    let k = peekShard(rec, shards);
    if (k < 0) {
      decodePacket(rec.buf, rec.off, rec.caplen, rec.linkType, rec.direction, p, rec.len);
      k = shardOf(p, shards);
    }
    if (inline && k === nWorkers) {
      decodePacket(rec.buf, rec.off, rec.caplen, rec.linkType, rec.direction, p, rec.len);
      local.process(rec, p);
      if (local.hasReleased) local.takeReleased();
      return;
    }
    const s = state[k];
    const need = HEADER + ((rec.caplen + 3) & ~3);
    if (s.used + need > BATCH) send(s);
    const u8 = s.u8;
    const dv = s.dv;
    const o = s.used;
    dv.setUint32(o, rec.n, true);
    dv.setUint32(o + 4, rec.tsSec, true);
    dv.setUint32(o + 8, rec.tsNsec, true);
    dv.setUint32(o + 12, rec.caplen, true);
    dv.setUint32(o + 16, rec.len, true);
    dv.setUint16(o + 20, rec.linkType, true);
    u8[o + 22] = rec.direction;
    // (Buffer.copy: no subarray object per packet.)
    bufferCopy.call(rec.buf, u8, o + HEADER, rec.off, rec.off + rec.caplen);
    s.used += need;
  }, {
    beforeRead: () => {
      const busy = state.filter((s) => s.queued >= MAX_QUEUED);
      if (busy.length === 0) return null;
      const w0 = performance.now();
      return Promise.all(busy.map((s) => new Promise((r) => { s.wake = r; }))).then(() => { waited += performance.now() - w0; });
    },
  });
  for (const s of state) if (s.used > 0) send(s);
  const stats = await Promise.all(state.map((s) => new Promise((r) => { s.done = r; s.w.postMessage({ end: true }); })));
  const sec = (performance.now() - t0) / 1000;
  process.stderr.write(`  (worker busy ${state.map((x) => (x.busy / 1000).toFixed(2)).join(', ')} s; reader waited ${(waited / 1000).toFixed(2)} s of ${sec.toFixed(2)} s)\n`);
  if (local) { local.flushFragments(); local.takeReleased(); stats.push(verdictCounts(local)); }
  for (const w of workers) await w.terminate();
  const sum = {};
  for (const s of stats) for (const [k, v] of Object.entries(s)) sum[k] = (sum[k] ?? 0) + v;
  return { sec, stats: sum, perShard: stats.map((s) => s.packets) };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const one = [], many = [];
  let a, b;
  for (let r = 0; r < o.runs; r++) {
    a = await single(o.file);
    one.push(a.sec);
    b = await sharded(o.file, o.workers, o.inline);
    many.push(b.sec);
  }
  const same = JSON.stringify(a.stats) === JSON.stringify(b.stats);
  const n = a.stats.packets;
  const label = `${o.workers} worker${o.workers === 1 ? '' : 's'}${o.inline ? ' + the main thread' : ''}`;
  console.log(`${o.file}: ${n} packets, ${o.runs} runs, machine with ${(await import('node:os')).cpus().length} cores`);
  console.log(`  one thread:  ${median(one).toFixed(3)} s  ${(n / median(one) / 1e3).toFixed(0)} kpps  (runs ${one.map((x) => x.toFixed(2)).join(' ')})`);
  console.log(`  ${label}: ${median(many).toFixed(3)} s  ${(n / median(many) / 1e3).toFixed(0)} kpps  (runs ${many.map((x) => x.toFixed(2)).join(' ')}; packets per shard ${b.perShard.join(' ')})`);
  console.log(`  speed-up ${(median(one) / median(many)).toFixed(2)}x; verdict counts ${same ? 'equal' : `DIFFER: ${JSON.stringify(a.stats)} vs ${JSON.stringify(b.stats)}`}`);
  if (!same) process.exitCode = 1;
}
