/**
 * A SYN flood from spoofed sources (scripts/fuzz-flood.mjs), streamed into
 * replay() without a file, with real connections woven through it.
 *
 * In CI the table is smaller than the kernel's default so the run stays
 * short: 262144 spoofed sources against nf_conntrack_max 32768 (8 to 1, as
 * 2 million against the default 262144). The full size runs with
 * `node scripts/fuzz.mjs --iterations 0 --flood 2000000` (about a minute).
 *
 * What is modelled (src/conntrack/table.ts, early_drop): a full table evicts
 * its oldest non-ASSURED entry for each new flow (the kernel evicts an
 * unassured entry from the buckets near the new one); when every entry is
 * ASSURED nothing can be evicted and the new flow's packet is dropped
 * ("nf_conntrack: table full, dropping packet").
 */
import { describe, expect, it } from 'vitest';
import { synFlood } from '../../scripts/fuzz-flood.mjs';
import { tier } from '../support/tier.js';

// The fast tier (npm test) floods an eighth of that, 32768 sources against 4096, with
// a real packet every 25 flood SYNs instead of 200: the same 20 rounds of real traffic.
const SOURCES = tier(32_768, 262_144);
const MAX = tier(4096, 32_768);
const GAP = tier(25, 200);

describe('SYN flood against a bounded conntrack table', () => {
  it('early drops keep the table at its maximum, established and new real connections pass, then a table full of ASSURED entries drops new flows', async () => {
    const r = await synFlood({
      sources: SOURCES,
      max: MAX,
      early: 16,
      late: 16,
      gap: GAP,
      fillTable: true,
      newAfterFull: 1000,
    });
    expect(r.problems).toEqual([]);
    expect(r.maxTable).toBe(MAX);
    // Phase 1: every spoofed SYN accepted, each beyond the table's room evicting an unassured one.
    expect(r.floodAccepted).toBe(SOURCES);
    expect(r.floodDropped).toBe(0);
    // Every flood entry is evicted in the end: by later flood SYNs, then by the ASSURED fill.
    expect(r.earlyDrop).toBe(SOURCES);
    // Every real packet accepted. They are: 16 early connections' handshake and
    // exchange (80); woven into the flood, 20 rounds of 16 exchanges, 16 late
    // handshakes and the late exchanges (640 + 48 + 368); after it, 32
    // exchanges and a new connection (64 + 5); the ASSURED fill of the table,
    // MAX - 33 handshakes (3 packets each); 16 exchanges on the full table (32).
    expect(r.real).toBe(80 + 640 + 48 + 368 + 64 + 5 + 3 * (MAX - 33) + 32);
    expect(r.realAccepted).toBe(r.real);
    // Phase 2: nothing left to evict.
    expect(r.tableFull).toBe(1000);
    expect(r.phase2NewDropped).toBe(1000);
    expect(r.phase2Established).toBe(32);
    expect(r.tableFullReason).toMatch(/table full/);
    expect(r.summary.join('\n')).toContain(`table full: ${SOURCES} early drops, 1000 new flows dropped`);
    // Memory follows the table, not the flood.
    expect(r.heapGrowthMiB).toBeLessThan(150);
  });
});
