/**
 * The randomized corpus against the kernel: seeded random sessions and rule
 * files (random.ts), a few captures of many interleaved sessions each,
 * compared packet by packet and entry by entry. The seed is printed; set
 * FWEMU_SEED to replay a run. FWEMU_RANDOM_BATCHES and
 * FWEMU_RANDOM_SESSIONS (per batch) change the size (default 6 x 90).
 *
 * Every disagreement is printed with the session it belongs to; the test
 * fails on any that is not a known difference (known.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { kernelAvailable } from './harness.js';
import { kernelTest } from './kit.js';
import { compareWithKernel, formatAgreement, type Agreement } from './conformance.js';
import { classify, KNOWN_DIFFERENCES } from './known.js';
import { buildCorpus, corpusSeed, type CorpusBatch } from './random.js';

const seed = corpusSeed();
const BATCHES = Number(process.env.FWEMU_RANDOM_BATCHES || 6);
const SESSIONS = Number(process.env.FWEMU_RANDOM_SESSIONS || 90);
const dir = mkdtempSync(join(tmpdir(), 'fwemu-random-'));
let corpus: CorpusBatch[] = [];

const totals = {
  sessions: 0,
  packets: 0,
  packetsAgree: 0,
  entries: 0,
  entriesAgree: 0,
  known: new Map<string, number>(),
};

describe(`randomized corpus against the kernel (seed ${seed}; FWEMU_SEED=${seed} replays it)`, () => {
  beforeAll(async () => {
    console.log(`random corpus: seed ${seed}, ${BATCHES} batches x ${SESSIONS} sessions, files in ${dir}`);
    if (kernelAvailable().ok || process.env.CI === 'true')
      corpus = await buildCorpus({ seed, batches: BATCHES, sessionsPerBatch: SESSIONS, dir });
  });

  afterAll(() => {
    if (totals.packets === 0) return;
    const known = [...totals.known].map(([id, n]) => `${id} ${n}`).join(', ');
    console.log(
      `random corpus, seed ${seed}: ${totals.sessions} sessions, agree ${totals.packetsAgree}/${totals.packets} packets, ` +
        `${totals.entriesAgree}/${totals.entries} conntrack entries${known ? `; known differences: ${known}` : ''}`,
    );
    if (!process.env.FWEMU_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
  });

  for (let b = 0; b < BATCHES; b++) {
    kernelTest(
      `batch ${b + 1}`,
      async () => {
        const batch = corpus[b];
        const a = await compareWithKernel(batch.capturePath, batch.rulesPath);
        const c = classify(a);
        totals.sessions += batch.sessions.length;
        totals.packets += a.packets;
        totals.packetsAgree += a.packetsAgree;
        totals.entries += a.entries;
        totals.entriesAgree += a.entriesAgree;
        for (const [id, k] of c.known) totals.known.set(id, (totals.known.get(id) ?? 0) + k.packets + k.entries);
        const report = describeBatch(batch, a);
        console.log(report);
        const hint = `\n(replay: FWEMU_SEED=${seed} FWEMU_KEEP_TMP=1 npm run test:kernel; batch files ${batch.scenarioPath}, ${batch.rulesPath})`;
        expect(
          c.packets.map((d) => d.packet),
          report + hint,
        ).toEqual([]);
        expect(c.entries, report + hint).toEqual([]);
      },
      120_000,
    );
  }
});

/** The agreement line, every disagreement with its session, and the known classes that claimed some. */
function describeBatch(batch: CorpusBatch, a: Agreement): string {
  const lines = [
    formatAgreement(`${batch.name} (${batch.sessions.length} sessions, ${batch.duration.toFixed(1)} s of capture)`, a),
  ];
  const seen = new Set<string>();
  for (const d of a.disagreements) {
    const sid = batch.packetSession[d.packet - 1];
    if (!sid || seen.has(sid)) continue;
    seen.add(sid);
    const s = batch.sessions.find((x) => x.id === sid);
    if (s) lines.push(`  session ${s.id}: ${s.kind}, IPv${s.family}, ${s.summary}; packets ${s.packets.join(',')}`);
  }
  const c = classify(a);
  for (const [id, k] of c.known) {
    const why = KNOWN_DIFFERENCES.find((x) => x.id === id)?.why ?? '';
    lines.push(`  known difference ${id} (${k.packets} packets, ${k.entries} entries): ${why}`);
  }
  for (const n of a.clockNotes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}
