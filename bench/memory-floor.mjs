#!/usr/bin/env node
/**
 * What waiting for memory alone costs a packet at capture (a)'s table size,
 * with no fwemu code at all: a lookup is two dependent loads, the hash
 * bucket and then the entry's record (fwemu's layout: 168-byte records, a
 * bucket array twice the entries), at a random one of 100k live flows.
 *
 *   node bench/memory-floor.mjs [ENTRIES] [LIVE]     (default 183000 100000)
 *
 * "dependent": each lookup waits for the one before, as in a replay, where
 * a packet's ~1 us of other work keeps the CPU from reaching the next
 * packet's loads early. "overlapped": the lookups are independent, so the
 * CPU has several in flight: what batching lookups could win at best.
 */
const entries = Number(process.argv[2] ?? 183_000);
const live = Math.min(entries, Number(process.argv[3] ?? 100_000));
const N = 2_000_000;
const STRIDE = 168;
const W = STRIDE / 8;
let size = 1024;
while (size < entries * 2) size *= 2;
const mask = size - 1;
const records = new Float64Array(entries * W);
const buckets = new Int32Array(size).fill(-1);
const keys = new Uint32Array(entries);
for (let i = 0; i < entries; i++) {
  keys[i] = (Math.random() * 2 ** 32) >>> 0;
  buckets[keys[i] & mask] = i;
  records[i * W] = 1;
}
const order = new Uint32Array(N);
for (let i = 0; i < N; i++) order[i] = keys[(Math.random() * live) | 0];

function dependent() {
  let sum = 0;
  let dep = 0;
  for (let i = 0; i < N; i++) {
    const b = buckets[(order[i] ^ dep) & mask];
    if (b >= 0) {
      const v = records[b * W] + records[b * W + 17];
      sum += v;
      dep = (v * 0) | 0; // 0, but only once the record has arrived
    }
  }
  return sum;
}

function overlapped() {
  let sum = 0;
  for (let i = 0; i < N; i++) {
    const b = buckets[order[i] & mask];
    if (b >= 0) sum += records[b * W] + records[b * W + 17];
  }
  return sum;
}

/** @type {[string, () => number][]} */
const variants = [
  ['dependent', dependent],
  ['overlapped', overlapped],
];
for (const [name, f] of variants) {
  const times = [];
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    f();
    times.push(((performance.now() - t) * 1e6) / N);
  }
  times.sort((a, b) => a - b);
  console.log(
    `${name.padEnd(10)} ${times[0].toFixed(0)} ns per lookup (fastest of 5; median ${times[2].toFixed(0)}), ${entries} entries, ${live} live, ${(records.byteLength / 2 ** 20).toFixed(0)} MiB of records`,
  );
}
