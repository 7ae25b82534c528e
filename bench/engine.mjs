#!/usr/bin/env node
/**
 * The engine's own cost per packet, without file I/O, start-up or reports:
 *
 *   node bench/engine.mjs FILE [ROUNDS]
 *
 * The capture is read into memory once (keep it to a few hundred MB: cut a
 * slice with `editcap -r FILE SLICE 1-500000`). Each round then times, over
 * every packet, decodePacket() alone and decodePacket() + Engine.process()
 * with a fresh engine; the difference of the fastest rounds is the engine
 * (conntrack and rules). The fastest of several rounds is the steadiest
 * figure on a shared machine. For comparing two versions of the code, not
 * for the figures in README (npm run bench makes those).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readCaptureBuffer } from '../dist/capture/read.js';
import { decodePacket, newDecodedPacket } from '../dist/packet/decode.js';
import { Engine } from '../dist/engine/engine.js';
import { loadRuleSet } from '../dist/rules/load.js';

const file = process.argv[2];
const rounds = Number(process.argv[3] ?? 5);
if (!file) {
  process.stderr.write('usage: node bench/engine.mjs FILE [ROUNDS]\n');
  process.exit(2);
}
const rules = loadRuleSet(fileURLToPath(new URL('./rules.yaml', import.meta.url))).ruleset;
const bytes = new Uint8Array(readFileSync(file));

// Where each record is in memory, and its header fields.
const recs = [];
readCaptureBuffer(bytes, file, (r) => {
  recs.push({
    n: r.n,
    tsSec: r.tsSec,
    tsNsec: r.tsNsec,
    caplen: r.caplen,
    len: r.len,
    linkType: r.linkType,
    direction: r.direction,
    buf: r.buf,
    off: r.off,
    ifIndex: 0,
    ifName: '',
    fileOffset: 0,
  });
});
const n = recs.length;
const p = newDecodedPacket();

function decodeOnly() {
  for (let i = 0; i < n; i++) {
    const r = recs[i];
    decodePacket(r.buf, r.off, r.caplen, r.linkType, r.direction, p, r.len);
  }
}

function decodeAndJudge() {
  const engine = new Engine(rules);
  for (let i = 0; i < n; i++) {
    const r = recs[i];
    decodePacket(r.buf, r.off, r.caplen, r.linkType, r.direction, p, r.len);
    engine.process(r, p);
    if (engine.hasReleased) engine.takeReleased();
  }
}

const d = [];
const e = [];
for (let k = 0; k < rounds; k++) {
  let t = performance.now();
  decodeOnly();
  d.push(((performance.now() - t) * 1e6) / n);
  t = performance.now();
  decodeAndJudge();
  e.push(((performance.now() - t) * 1e6) / n);
}
const min = (xs) => Math.min(...xs);
const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(`${file}: ${n} packets, ${rounds} rounds (ns per packet, fastest / median)`);
console.log(`  decode           ${min(d).toFixed(0)} / ${med(d).toFixed(0)}`);
console.log(`  decode + engine  ${min(e).toFixed(0)} / ${med(e).toFixed(0)}`);
console.log(`  engine           ${(min(e) - min(d)).toFixed(0)}`);
