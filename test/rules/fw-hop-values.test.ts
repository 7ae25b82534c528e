/** The importers' TTL / hop-limit comparisons as ranges (worked out by hand from nft_cmp / xt_ttl), and their words. */
import { describe, expect, it } from 'vitest';
import { hopRange, hopWords } from '../../src/rules/fw-hop-values.js';
import { parseHopLimit } from '../../src/rules/fw-meta-values.js';

describe('hopRange', () => {
  it('gives the TTLs each comparison holds for', () => {
    expect(hopRange('==', 255)).toEqual({ lo: 255, hi: 255, neg: false });
    expect(hopRange('!=', 1)).toEqual({ lo: 1, hi: 1, neg: true });
    expect(hopRange('<', 5)).toEqual({ lo: 0, hi: 4, neg: false });
    expect(hopRange('<=', 5)).toEqual({ lo: 0, hi: 5, neg: false });
    expect(hopRange('>', 250)).toEqual({ lo: 251, hi: 255, neg: false });
    expect(hopRange('>=', 250)).toEqual({ lo: 250, hi: 255, neg: false });
    // No TTL is below 0 or above 255: the empty range.
    expect(hopRange('<', 0)).toEqual({ lo: 1, hi: 0, neg: false });
    expect(hopRange('>', 255)).toEqual({ lo: 1, hi: 0, neg: false });
  });
});

describe('hopWords', () => {
  it('writes a range in the shortest of nft’s forms', () => {
    expect(hopWords(255, 255, false)).toBe('255');
    expect(hopWords(1, 1, true)).toBe('!= 1');
    expect(hopWords(0, 4, false)).toBe('< 5');
    expect(hopWords(251, 255, false)).toBe('> 250');
    expect(hopWords(10, 20, false)).toBe('10-20');
    expect(hopWords(10, 20, true)).toBe('!= 10-20');
    expect(hopWords(1, 0, false)).toBe('< 0');
  });
  it('writes what hop_limit: reads back to the same range (fwemu import, then load)', () => {
    for (const [lo, hi, neg] of [
      [255, 255, false],
      [1, 1, true],
      [0, 4, false],
      [251, 255, false],
      [10, 20, false],
      [10, 20, true],
    ] as const)
      expect(parseHopLimit(hopWords(lo, hi, neg)), hopWords(lo, hi, neg)).toEqual({ ok: true, value: { lo, hi, neg } });
  });
});
