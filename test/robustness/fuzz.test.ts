/**
 * A bounded, seeded fuzz run (the engine is scripts/fuzz-lib.mjs; a longer
 * run is `node scripts/fuzz.mjs --iterations N --seed S`).
 *
 * Captures from fixtures/, mutated (bit flips, truncations, length fields,
 * duplicated, deleted, swapped and foreign blocks, header bytes), are read in
 * two different chunkings and replayed through the example rule files, a
 * stateless one and a three-entry table: nothing but a positioned
 * CaptureError may escape, packets are numbered 1..N, the summary adds up,
 * and both chunkings give the same result. Rule files, scenarios and policy
 * tests, mutated as text, are rejected with positioned errors or, when
 * accepted, compile, export, generate and replay.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module without types, shared with scripts/fuzz.mjs
import { captureCase, fuzz, loadRuleSets, loadSeeds } from '../../scripts/fuzz-lib.mjs';

const SEED = 'ci-2026';

interface Result {
  ok: boolean;
  desc: string;
  error?: string;
}

function report(findings: { kind: string; res: Result }[]): string {
  return findings
    .slice(0, 5)
    .map((f) => `${f.kind}: ${f.res.desc}\n  ${f.res.error}\n  reproduce: node scripts/fuzz.mjs --seed ${SEED} --kinds ${f.kind} --case ${/#(\d+)/.exec(f.res.desc)?.[1]}`)
    .join('\n');
}

describe('fuzzing', () => {
  it('mutated captures: only positioned CaptureErrors, packets 1..N, summaries that add up, chunking makes no difference', async () => {
    const findings: { kind: string; res: Result }[] = [];
    const stats = await fuzz({ seed: SEED, iterations: 3000, kinds: ['capture'], onFinding: (kind: string, res: Result) => findings.push({ kind, res }) });
    expect(findings, report(findings)).toEqual([]);
    expect(stats.capture.runs).toBe(3000);
    // Both outcomes are exercised: readable captures and fatal damage.
    expect(stats.capture.outcomes.ok).toBeGreaterThan(1000);
    expect(stats.capture.outcomes.CaptureError).toBeGreaterThan(300);
  });

  it('mutated rule files, scenarios and policy tests: positioned errors or working inputs, nothing else', async () => {
    const findings: { kind: string; res: Result }[] = [];
    const stats = await fuzz({
      seed: SEED,
      iterations: 0,
      yamlIterations: 400,
      kinds: ['rules', 'scenario', 'policy'],
      onFinding: (kind: string, res: Result) => findings.push({ kind, res }),
    });
    expect(findings, report(findings)).toEqual([]);
    expect(stats.rules.runs).toBe(400);
    expect(stats.scenario.runs).toBe(400);
    expect(stats.policy.runs).toBe(100);
    for (const kind of ['rules', 'scenario']) {
      expect(stats[kind].outcomes.rejected, kind).toBeGreaterThan(100);
      expect(stats[kind].outcomes.accepted, kind).toBeGreaterThan(20);
    }
  });

  it('a case is reproducible from its seed and number', async () => {
    const seeds = loadSeeds();
    const rules = loadRuleSets();
    const a = await captureCase(SEED, 17, seeds, rules);
    const b = await captureCase(SEED, 17, seeds, rules);
    expect(a).toEqual(b);
  });
});
