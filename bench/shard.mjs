#!/usr/bin/env node
/**
 * Does sharding the replay over worker threads pay on this machine? A
 * measurement, not a feature: fwemu itself replays on one thread.
 *
 *   node bench/shard.mjs FILE.pcap [--workers N] [--inline] [--runs R]
 *
 * Single-threaded: read, decode and Engine.process every packet (what
 * `replay --format none` does, minus start-up and the summary).
 *
 * Sharded: the main thread reads the capture (classic pcap only) in 4 MiB
 * chunks of shared memory, finds the records and picks each one's shard, a
 * symmetric hash of its address pair (the inner pair for ICMP errors, so an
 * error meets the flow it is about; IP fragments share their datagram's
 * pair), read straight from the bytes of untagged Ethernet TCP/UDP frames
 * and by decoding the others. Each worker gets the chunk (not a copy) with
 * the list of its records, decodes and judges them with an engine of its
 * own, and says when it is done with the chunk; a chunk is reused once every
 * shard is done with it. With --inline the main thread judges one shard
 * itself besides reading.
 *
 * The verdict counts of both ways are compared (equal for a capture whose
 * flows never meet a conntrack limit), then the wall-clock times, their
 * ratio, how long each worker was busy and how long the reader waited for
 * free chunks are printed. Shards are independent conntrack tables:
 * nf_conntrack_max and early drop would be per shard, and results arrive
 * per shard, not in capture order (see bench/README.md).
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { openSync, readSync, closeSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { readCapture } from '../dist/capture/read.js';
import { decodePacket, newDecodedPacket } from '../dist/packet/decode.js';
import { Engine } from '../dist/engine/engine.js';
import { loadRuleSet } from '../dist/rules/load.js';
import { PacketKind } from '../dist/packet/types.js';

const RULES = fileURLToPath(new URL('./rules.yaml', import.meta.url));
const CHUNK = 4 << 20;
const POOL = 6;

function verdictCounts(engine) {
  const s = engine.stats;
  return { packets: s.packets, ...s.verdicts, flows: s.flows };
}

/** Judges the records listed (pairs of record offset, packet number) in a chunk of a little-endian pcap. */
function makeJudge(linkType, nanos) {
  const engine = new Engine(loadRuleSet(RULES).ruleset);
  const p = newDecodedPacket();
  const rec = { n: 0, tsSec: 0, tsNsec: 0, caplen: 0, len: 0, linkType, direction: 0, buf: null, off: 0, ifIndex: 0, ifName: '', fileOffset: 0 };
  const judge = (u8, dv, list, count) => {
    for (let i = 0; i < count; i += 2) {
      const o = list[i];
      rec.n = list[i + 1];
      rec.tsSec = dv.getUint32(o, true);
      rec.tsNsec = nanos ? dv.getUint32(o + 4, true) : dv.getUint32(o + 4, true) * 1000;
      rec.caplen = dv.getUint32(o + 8, true);
      rec.len = dv.getUint32(o + 12, true);
      rec.buf = u8;
      rec.off = o + 16;
      decodePacket(u8, rec.off, rec.caplen, linkType, 0, p, rec.len);
      engine.process(rec, p);
      if (engine.hasReleased) engine.takeReleased();
    }
  };
  const finish = () => {
    engine.flushFragments();
    engine.takeReleased();
    return verdictCounts(engine);
  };
  return { judge, finish };
}

if (!isMainThread) {
  const { judge, finish } = makeJudge(workerData.linkType, workerData.nanos);
  const views = new Map();
  let busy = 0;
  parentPort.on('message', (m) => {
    if (m.end) {
      parentPort.postMessage({ stats: finish(), busy });
      return;
    }
    const t0 = performance.now();
    let v = views.get(m.chunk);
    if (v === undefined) views.set(m.chunk, (v = { u8: new Uint8Array(m.sab), dv: new DataView(m.sab) }));
    judge(v.u8, v.dv, m.list, m.count);
    busy += performance.now() - t0;
    parentPort.postMessage({ done: m.chunk, list: m.list }, [m.list.buffer]);
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
  if (!o.file) throw new Error('usage: node bench/shard.mjs FILE.pcap [--workers N] [--inline] [--runs R]');
  return o;
}

function mixHash(a, d, shards) {
  let h = Math.imul((a ^ d) >>> 0, 0x9e3779b1) + Math.imul(Math.min(a >>> 0, d >>> 0), 0x85ebca6b);
  h ^= h >>> 15;
  return (h >>> 0) % shards;
}

/** The shard of a decoded packet (symmetric: the same for both directions of a flow). */
function shardOf(p, shards) {
  if (p.kind !== PacketKind.IP) return 0;
  if (p.innerValid && (p.proto === 1 || p.proto === 58)) {
    return mixHash(p.innerSrc0 ^ p.innerSrc1 ^ p.innerSrc2 ^ p.innerSrc3, p.innerDst0 ^ p.innerDst1 ^ p.innerDst2 ^ p.innerDst3, shards);
  }
  return mixHash(p.src0 ^ p.src1 ^ p.src2 ^ p.src3, p.dst0 ^ p.dst1 ^ p.dst2 ^ p.dst3, shards);
}

/** shardOf() straight from the bytes of an untagged Ethernet TCP/UDP frame at b[o..]; -1 for anything else. */
function peekShard(b, o, caplen, shards) {
  if (caplen < 54) return -1;
  const et = (b[o + 12] << 8) | b[o + 13];
  if (et === 0x0800) {
    const proto = b[o + 23];
    if ((proto !== 6 && proto !== 17) || (b[o + 14] >> 4) !== 4) return -1;
    const a = (b[o + 26] << 24) | (b[o + 27] << 16) | (b[o + 28] << 8) | b[o + 29];
    const d = (b[o + 30] << 24) | (b[o + 31] << 16) | (b[o + 32] << 8) | b[o + 33];
    return mixHash(a, d, shards);
  }
  if (et === 0x86dd) {
    const next = b[o + 20];
    if ((next !== 6 && next !== 17) || caplen < 74) return -1;
    let a = 0;
    let d = 0;
    for (let i = 0; i < 16; i += 4) {
      a ^= (b[o + 22 + i] << 24) | (b[o + 23 + i] << 16) | (b[o + 24 + i] << 8) | b[o + 25 + i];
      d ^= (b[o + 38 + i] << 24) | (b[o + 39 + i] << 16) | (b[o + 40 + i] << 8) | b[o + 41 + i];
    }
    return mixHash(a, d, shards);
  }
  return -1;
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

function pcapHeader(file) {
  const fd = openSync(file, 'r');
  const h = Buffer.alloc(24);
  readSync(fd, h, 0, 24, 0);
  closeSync(fd);
  const magic = h.readUInt32LE(0);
  if (magic !== 0xa1b2c3d4 && magic !== 0xa1b23c4d) throw new Error(`${file}: only little-endian classic pcap is supported here`);
  return { nanos: magic === 0xa1b23c4d, linkType: h.readUInt32LE(20) & 0xffff };
}

async function sharded(file, nWorkers, inline) {
  const { nanos, linkType } = pcapHeader(file);
  const shards = nWorkers + (inline ? 1 : 0);
  const workers = [];
  for (let i = 0; i < nWorkers; i++) workers.push(new Worker(fileURLToPath(import.meta.url), { workerData: { linkType, nanos } }));
  const local = inline ? makeJudge(linkType, nanos) : null;
  const chunks = [];
  for (let i = 0; i < POOL; i++) {
    const sab = new SharedArrayBuffer(CHUNK);
    chunks.push({ id: i, sab, u8: new Uint8Array(sab), dv: new DataView(sab), pending: 0 });
  }
  const free = [...chunks];
  let wake = null;
  const lists = Array.from({ length: shards }, () => []); // recycled Int32Array lists per shard
  const busy = new Array(nWorkers).fill(0);
  const results = new Array(nWorkers).fill(null);
  let finished = null;
  workers.forEach((w, k) => w.on('message', (m) => {
    if (m.done !== undefined) {
      lists[k].push(m.list);
      const c = chunks[m.done];
      if (--c.pending === 0) {
        free.push(c);
        if (wake) { const f = wake; wake = null; f(); }
      }
    } else if (m.stats) {
      results[k] = m.stats;
      busy[k] = m.busy;
      if (results.every((r) => r !== null)) finished();
    }
  }));
  // Workers are started before the clock: their start-up is Node's, not the replay's.
  await new Promise((r) => setTimeout(r, 300));

  const p = newDecodedPacket();
  const fd = openSync(file, 'r');
  let pos = 24;
  let carry = null; // the start of a record the previous chunk cut off
  let n = 0;
  let waited = 0;
  const t0 = performance.now();
  for (;;) {
    if (free.length === 0) {
      const w0 = performance.now();
      await new Promise((r) => { wake = r; });
      waited += performance.now() - w0;
    }
    const c = free.pop();
    let filled = 0;
    if (carry) {
      c.u8.set(carry);
      filled = carry.length;
    }
    const got = readSync(fd, c.u8, filled, CHUNK - filled, pos);
    pos += got;
    filled += got;
    if (filled === 0 || (got === 0 && carry && carry.length === filled)) { free.push(c); break; }
    // This chunk's records, per shard: (offset, packet number) pairs.
    const per = Array.from({ length: shards }, (_, k) => ({ list: lists[k].pop() ?? new Int32Array(65536), count: 0 }));
    let o = 0;
    while (o + 16 <= filled) {
      const caplen = c.dv.getUint32(o + 8, true);
      if (o + 16 + caplen > filled) break;
      n++;
      let k = linkType === 1 ? peekShard(c.u8, o + 16, caplen, shards) : -1;
      if (k < 0) {
        decodePacket(c.u8, o + 16, caplen, linkType, 0, p, c.dv.getUint32(o + 12, true));
        k = shardOf(p, shards);
      }
      const s = per[k];
      if (s.count + 2 > s.list.length) {
        const grown = new Int32Array(s.list.length * 2);
        grown.set(s.list);
        s.list = grown;
      }
      s.list[s.count++] = o;
      s.list[s.count++] = n;
      o += 16 + caplen;
    }
    carry = o < filled ? c.u8.slice(o, filled) : null;
    c.pending = nWorkers;
    for (let k = 0; k < nWorkers; k++) {
      const s = per[k];
      workers[k].postMessage({ chunk: c.id, sab: c.sab, list: s.list, count: s.count }, [s.list.buffer]);
    }
    if (local) {
      const s = per[nWorkers];
      local.judge(c.u8, c.dv, s.list, s.count);
      lists[nWorkers].push(s.list);
    }
    if (got === 0) break;
  }
  closeSync(fd);
  const done = new Promise((r) => { finished = r; });
  for (const w of workers) w.postMessage({ end: true });
  await done;
  const sec = (performance.now() - t0) / 1000;
  const stats = [...results];
  if (local) stats.push(local.finish());
  for (const w of workers) await w.terminate();
  const sum = {};
  for (const s of stats) for (const [k, v] of Object.entries(s)) sum[k] = (sum[k] ?? 0) + v;
  return { sec, stats: sum, perShard: stats.map((s) => s.packets), busy, waited: waited / 1000 };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const one = [];
  const many = [];
  let a;
  let b;
  for (let r = 0; r < o.runs; r++) {
    a = await single(o.file);
    one.push(a.sec);
    b = await sharded(o.file, o.workers, o.inline);
    many.push(b.sec);
  }
  const same = JSON.stringify(a.stats) === JSON.stringify(b.stats);
  const n = a.stats.packets;
  const label = `${o.workers} worker${o.workers === 1 ? '' : 's'}${o.inline ? ' + the main thread' : ''}`;
  console.log(`${o.file}: ${n} packets, ${o.runs} runs, machine with ${cpus().length} cores`);
  console.log(`  one thread:  ${median(one).toFixed(3)} s  ${(n / median(one) / 1e3).toFixed(0)} kpps  (runs ${one.map((x) => x.toFixed(2)).join(' ')})`);
  console.log(`  ${label}: ${median(many).toFixed(3)} s  ${(n / median(many) / 1e3).toFixed(0)} kpps  (runs ${many.map((x) => x.toFixed(2)).join(' ')})`);
  console.log(`    packets per shard ${b.perShard.join(' ')}; last run: workers busy ${b.busy.map((x) => (x / 1000).toFixed(2)).join(', ')} s, reader waited ${b.waited.toFixed(2)} s`);
  console.log(`  speed-up ${(median(one) / median(many)).toFixed(2)}x; verdict counts ${same ? 'equal' : `DIFFER: ${JSON.stringify(a.stats)} vs ${JSON.stringify(b.stats)}`}`);
  if (!same) process.exitCode = 1;
}
