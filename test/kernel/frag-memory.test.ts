/**
 * Reassembly memory limits against the kernel: net.ipv4.ipfrag_high_thresh
 * and net.netfilter.nf_conntrack_frag6_high_thresh, set small.
 *
 * The capture: first fragments of datagrams that never complete (held,
 * costing memory), of several sizes, each followed by a probe datagram of
 * two small fragments. Linux (since 4.17) refuses every fragment while the
 * memory held is over high_thresh (inet_frag_find), so the first probe whose
 * second fragment finds the budget exceeded is dropped, and so is everything
 * after it. Each budget is run twice: at exactly the memory fwemu's model
 * (src/engine/defrag.ts: queue sizes and fragTruesize) says is held when a
 * probe's second fragment arrives, where that probe still passes, and one
 * byte less, where it is dropped: the kernel's verdicts must agree to the
 * byte, packet by packet.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { fragTruesize, FRAG6_QUEUE_SIZE, IPQ_SIZE } from '../../src/engine/defrag.js';
import { replay } from '../../src/engine/replay.js';
import { exportNft, conntrackSysctls } from '../../src/export/nft.js';
import { explain } from '../../src/report/reason.js';
import { loadRuleSet } from '../../src/rules/load.js';
import { runKernel } from './harness.js';
import { kernelTest } from './kit.js';
import { ether, fragment, udp, writePcap } from './pcapwriter.js';

const dir = mkdtempSync(join(tmpdir(), 'fwemu-fragmem-'));
afterAll(() => {
  if (!process.env.FWEMU_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
});

/** Data bytes of the held first fragments, in turn: frames from 58 to 1462 bytes, across the truesize steps. */
const SIZES = [24, 264, 400, 1000, 152, 1400];
const ROUNDS = 18;

function capture(v: 4 | 6): { frames: Uint8Array[]; ipLens: { held: number[]; probe: number } } {
  const src = v === 6 ? 'fd00:1::2' : '10.1.0.2';
  const dst = v === 6 ? 'fd00:2::1' : '10.2.0.1';
  const frames: Uint8Array[] = [];
  const held: number[] = [];
  let probe = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const s = SIZES[i % SIZES.length];
    const a = fragment(udp({ src, dst, sport: 1000 + i, dport: 53, payload: 'a'.repeat(2 * s) }), s, 0x1000 + i)[0];
    held.push(a.length);
    frames.push(ether(a));
    const p = fragment(udp({ src, dst, sport: 3000 + i, dport: 53, payload: 'p'.repeat(40) }), 24, 0x2000 + i);
    probe = p[0].length;
    frames.push(ether(p[0]), ether(p[1]));
  }
  return { frames, ipLens: { held, probe } };
}

/** What the model says is held when probe k's second fragment arrives: k + 1 held first fragments, and the probe's first. */
function memoryAtProbe(v: 4 | 6, ipLens: { held: number[]; probe: number }, k: number): number {
  const q = v === 4 ? IPQ_SIZE : FRAG6_QUEUE_SIZE;
  let mem = q + fragTruesize(ipLens.probe);
  for (let i = 0; i <= k; i++) mem += q + fragTruesize(ipLens.held[i]);
  return mem;
}

async function compare(v: 4 | 6, high: number): Promise<{ fwemu: string[]; kernel: string[]; reasons: string[] }> {
  const { frames } = capture(v);
  const tag = `${v}-${high}`;
  const path = join(dir, `frag-${tag}.pcap`);
  writePcap(
    path,
    frames.map((data, i) => ({ data, ts: 1_700_000_000 + i * 0.001 })),
  );
  const settings =
    v === 4
      ? `ipv4:\n  ipfrag_low_thresh: 0\n  ipfrag_high_thresh: ${high}\n`
      : `conntrack:\n  frag6_low_thresh: 0\n  frag6_high_thresh: ${high}\n`;
  const rulesPath = join(dir, `rules-${tag}.yaml`);
  writeFileSync(rulesPath, `policy: drop\n${settings}rules:\n  - id: dns\n    proto: udp\n    dport: 53\n`);
  const { ruleset } = loadRuleSet(rulesPath);
  const fwemu: string[] = [];
  const reasons: string[] = [];
  await replay({
    rules: ruleset,
    source: path,
    onPacket: (r, p, _rec, engine) => {
      fwemu[r.n - 1] = r.verdict;
      reasons[r.n - 1] = explain(r, p, engine.compiled);
    },
  });
  const sysctls: Record<string, number> = { ...conntrackSysctls(ruleset) };
  delete sysctls.nf_conntrack_max; // global, not settable per namespace
  sysctls['net.ipv4.ipfrag_low_thresh'] = ruleset.ipv4.ipfrag_low_thresh;
  sysctls['net.ipv4.ipfrag_high_thresh'] = ruleset.ipv4.ipfrag_high_thresh;
  const k = await runKernel({ capture: path, nftRuleset: exportNft(ruleset), sysctls });
  return { fwemu, kernel: k.verdicts, reasons };
}

describe('reassembly memory limits, against the kernel', () => {
  for (const v of [4, 6] as const) {
    const name = v === 4 ? 'net.ipv4.ipfrag_high_thresh' : 'net.netfilter.nf_conntrack_frag6_high_thresh';
    kernelTest(
      `IPv${v}: ${name} at the byte where a probe still passes, and one byte less`,
      async () => {
        const { ipLens } = capture(v);
        const k = 9; // the 10th probe: nine held fragments of every size before it
        const exact = memoryAtProbe(v, ipLens, k);
        for (const [high, firstDropped] of [
          [exact, k + 1],
          [exact - 1, k],
        ] as const) {
          const r = await compare(v, high);
          // Probes (packets 3i+2, 3i+3) pass up to firstDropped; everything else is dropped.
          const expected = r.fwemu.map((_, n) => (n % 3 !== 0 && Math.floor(n / 3) < firstDropped ? 'accept' : 'drop'));
          expect(r.fwemu, `fwemu, ${name} ${high}\n${r.reasons.map((x, i) => `${i + 1}: ${x}`).join('\n')}`).toEqual(
            expected,
          );
          expect(r.kernel, `kernel, ${name} ${high}`).toEqual(r.fwemu);
          // The first refused fragment says why.
          expect(r.reasons[3 * firstDropped + 2]).toContain(name);
        }
      },
      120_000,
    );
  }
});
