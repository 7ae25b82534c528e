/**
 * UDP-Lite (nf_conntrack_udplite_packet, udplite_error), without the kernel:
 * the expected outcomes are what Linux 6.18 did with the same packets
 * (test/kernel/udplite.test.ts replays them through it).
 */
import { describe, expect, it } from 'vitest';
import { replay } from '../../src/engine/replay.js';
import { formatConntrackEntry } from '../../src/report/conntrack-list.js';
import { generate, loadScenario, synthSource } from '../../src/synth/index.js';

const SCENARIO = 'test/kernel/udplite/scenario.yaml';
const RULES = 'test/kernel/udplite/rules.yaml';

describe('UDP-Lite', () => {
  it('is tracked with ports, assured on the packet after a reply, and INVALID on a bad header', async () => {
    const seen: string[] = [];
    const { engine } = await replay({
      rules: RULES,
      source: synthSource(generate(loadScenario(SCENARIO))),
      onPacket: (r) => seen.push(`${r.n} ${r.verdict} ${r.ct}${r.ct === 'invalid' ? ` ${r.detail}` : ''}`),
    });
    expect(seen).toEqual([
      '1 accept new',
      '2 accept established',
      '3 accept established',
      '4 accept new', // same addresses, other source port: its own entry
      '5 drop new',
      '6 drop invalid UDP-Lite: invalid checksum coverage (below 8 or beyond the packet) (udplite_error)',
      '7 drop invalid UDP-Lite: invalid checksum coverage (below 8 or beyond the packet) (udplite_error)',
      '8 drop invalid UDP-Lite: checksum missing (UDP-Lite mandates one) (udplite_error)',
      '9 drop invalid UDP-Lite: short packet (less than the 8-byte header) (udplite_error)',
    ]);
    // As `conntrack -L` printed them (seconds left on the capture clock).
    expect(engine.ct!.entries(engine.now).map((e) => formatConntrackEntry(e, engine.now))).toEqual([
      'udplite  136 119 src=10.1.0.2 dst=10.2.0.1 sport=24930 dport=25444 src=10.2.0.1 dst=10.1.0.2 sport=25444 dport=24930 [ASSURED] mark=0 use=1',
      'udplite  136 29 src=10.1.0.2 dst=10.2.0.1 sport=25958 dport=25444 [UNREPLIED] src=10.2.0.1 dst=10.1.0.2 sport=25444 dport=25958 mark=0 use=1',
    ]);
  });
});
