/**
 * UDP-Lite against the kernel: flows tracked with ports like UDP (a second
 * flow between the same addresses gets its own entry), ASSURED on the
 * second packet after a reply, and udplite_error's INVALID cases (checksum
 * coverage below 8 or beyond the packet, no checksum, a short header).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, onTestFinished } from 'vitest';
import { generate, loadScenario, writeSynth } from '../../src/synth/index.js';
import { compareWithKernel, formatAgreement } from './conformance.js';
import { kernelTest } from './kit.js';

const SCENARIO = 'test/kernel/udplite/scenario.yaml';
const RULES = 'test/kernel/udplite/rules.yaml';

describe('UDP-Lite against the kernel', () => {
  kernelTest('ports, replies, ASSURED and the INVALID cases agree packet by packet and entry by entry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fwemu-udplite-'));
    onTestFinished(() => {
      if (!process.env.FWEMU_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
    });
    const capture = join(dir, 'udplite.pcap');
    await writeSynth(generate(loadScenario(SCENARIO)), capture);
    const a = await compareWithKernel(capture, RULES);
    const report = formatAgreement(`${SCENARIO} + ${RULES}`, a);
    console.log(
      `${report}\n  kernel: ${a.kernelConntrack.join('\n          ')}\n  fwemu:  ${a.fwemuConntrack.join('\n          ')}`,
    );
    expect(a.packets).toBe(9);
    expect(a.entries).toBe(2);
    expect(a.disagreements, report).toEqual([]);
    expect(a.entryDiffs, report).toEqual([]);
  });
});
