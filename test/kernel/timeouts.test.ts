/**
 * Timeouts against the kernel: a scenario whose flows go idle past their
 * conntrack timeouts (lowered in timeouts/rules.yaml: udp 2 s, udp stream
 * 4 s, icmp 2 s, tcp syn_sent 2 s, established 3 s), replayed through the
 * kernel in real time (~10 s) with the same sysctls. A packet after its
 * entry ran out must meet the same fate in both (a late SYN/ACK or echo
 * reply INVALID, a resumed connection picked up as new, a late UDP answer
 * dropped by the policy), and so must a packet just before.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, onTestFinished } from 'vitest';
import { generate, loadScenario, writeSynth } from '../../src/synth/index.js';
import { replay } from '../../src/engine/replay.js';
import { compareWithKernel, formatAgreement } from './conformance.js';
import { kernelTest } from './kit.js';

const SCENARIO = 'test/kernel/timeouts/scenario.yaml';
const RULES = 'test/kernel/timeouts/rules.yaml';

describe('conntrack timeouts against the kernel, in real time', () => {
  kernelTest(
    'entries run out at the same packets in fwemu (capture clock) and the kernel (wall clock)',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'fwemu-timeouts-'));
      onTestFinished(() => {
        if (!process.env.FWEMU_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
      });
      const capture = join(dir, 'timeouts.pcap');
      await writeSynth(generate(loadScenario(SCENARIO)), capture);

      // The scenario does what it is for: some packets meet expired entries.
      const late: string[] = [];
      let synSeq = -1;
      let synAckAck = -2;
      await replay({
        rules: RULES,
        source: capture,
        onPacket: (r, p) => {
          if (r.n === 6) synSeq = p.seq;
          if (r.n === 12) synAckAck = p.ack;
          if (r.n >= 12 && r.n <= 17) late.push(`${r.n} ${r.verdict} ${r.ct}`);
        },
      });
      // The late SYN/ACK is a proper answer to the SYN: only the expiry makes it INVALID.
      expect(synAckAck).toBe((synSeq + 1) >>> 0);
      expect(late).toEqual([
        '12 drop invalid',
        '13 drop invalid',
        '14 accept new',
        '15 accept new',
        '16 accept established',
        '17 drop new',
      ]);

      const a = await compareWithKernel(capture, RULES, { realTime: true });
      const report = formatAgreement(`${SCENARIO} + ${RULES} (real time)`, a);
      console.log(
        `${report}\n  kernel: ${a.kernelConntrack.join('\n          ')}\n  fwemu:  ${a.fwemuConntrack.join('\n          ')}`,
      );
      expect(a.packets).toBe(24);
      expect(a.entries).toBe(2);
      expect(a.disagreements, report).toEqual([]);
      expect(a.entryDiffs, report).toEqual([]);
    },
    60_000,
  );
});
