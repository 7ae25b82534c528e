/** What the report tests replay: every fixture (malformed ones too) and scenario, under every example rule file. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureError } from '../../src/capture/types.js';
import { packetSource } from '../../src/run/inputs.js';
import { readSource } from '../../src/engine/replay.js';
import { loadRuleSet } from '../../src/rules/load.js';

export const inputs = [
  ...readdirSync('fixtures')
    .filter((f) => /\.pcap(ng)?$/.test(f))
    .map((f) => join('fixtures', f)),
  ...readdirSync('fixtures/malformed')
    .filter((f) => /\.pcap(ng)?$/.test(f))
    .map((f) => join('fixtures/malformed', f)),
  ...readdirSync('fixtures/scenarios')
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join('fixtures/scenarios', f)),
];

export const ruleFiles = readdirSync('rules')
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => join('rules', f));

/** The example rule files, loaded once (replay() takes a loaded rule set as it takes a path). */
export const ruleSets = ruleFiles.map((f) => loadRuleSet(f).ruleset);

/**
 * How many packets a replay of `input` must deliver: the records its reader
 * (or the scenario generator) hands out, counted without the engine, up to
 * a capture error. The report tests compare their totals with this rather
 * than with a pinned number, so adding a fixture changes nothing.
 */
export async function recordCount(input: string): Promise<number> {
  let n = 0;
  try {
    await readSource(packetSource(input).source, () => {
      n++;
    });
  } catch (err) {
    if (!(err instanceof CaptureError)) throw err;
  }
  return n;
}

/** Packets all report tests see: every input's records, once per rule file. */
export async function expectedPackets(): Promise<number> {
  let total = 0;
  for (const input of inputs) total += await recordCount(input);
  return total * ruleFiles.length;
}
