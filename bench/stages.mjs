#!/usr/bin/env node
/**
 * Where a replay's time goes, stage by stage, in one process (no start-up):
 *   read     readCapture() with a no-op record callback (file I/O + pcap parsing)
 *   decode   + decodePacket() of every record
 *   engine   + Engine.process() (conntrack and rules): what replay --format none does
 * Each stage is run RUNS times (default 3); the median is printed, with the
 * difference to the previous stage. Times are CPU time (user + system) of
 * this process unless BENCH_CLOCK=wall. Usage: node bench/stages.mjs FILE [RUNS]
 */
import { readCapture } from '../dist/capture/read.js';
import { decodePacket, newDecodedPacket } from '../dist/packet/decode.js';
import { Engine } from '../dist/engine/engine.js';
import { loadRuleSet } from '../dist/rules/load.js';
import { fileURLToPath } from 'node:url';

const file = process.argv[2];
const runs = Number(process.argv[3] ?? 3);
/** BENCH_CLOCK=wall for wall-clock time; default CPU time (user + system), steadier on a busy machine. */
const cpu = process.env.BENCH_CLOCK !== 'wall';
const rules = loadRuleSet(fileURLToPath(new URL('./rules.yaml', import.meta.url))).ruleset;
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function stage(name, makeOnRecord) {
  const times = [];
  let packets = 0;
  for (let i = 0; i < runs; i++) {
    const onRecord = makeOnRecord();
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const s = await readCapture(file, onRecord);
    const c = process.cpuUsage(c0);
    times.push(cpu ? (c.user + c.system) / 1000 : performance.now() - t0);
    packets = s.records;
    globalThis.gc?.();
  }
  return { name, ms: median(times), packets };
}

const out = [];
out.push(await stage('read', () => () => {}));
out.push(
  await stage('decode', () => {
    const p = newDecodedPacket();
    return (rec) => {
      decodePacket(rec.buf, rec.off, rec.caplen, rec.linkType, rec.direction, p);
    };
  }),
);
out.push(
  await stage('engine', () => {
    const p = newDecodedPacket();
    const engine = new Engine(rules);
    return (rec) => {
      decodePacket(rec.buf, rec.off, rec.caplen, rec.linkType, rec.direction, p);
      engine.process(rec, p);
    };
  }),
);
let prev = 0;
for (const s of out) {
  console.log(
    `${s.name.padEnd(7)} ${s.ms.toFixed(0).padStart(6)} ms  ${(s.packets / s.ms / 1000).toFixed(2)} Mpps  (+${(s.ms - prev).toFixed(0)} ms, ${(((s.ms - prev) * 1e6) / s.packets).toFixed(0)} ns/packet)`,
  );
  prev = s.ms;
}
