/** `hop_limit:` values: the ranges each comparison stands for (worked out by hand), the words written back, errors. */
import { describe, expect, it } from 'vitest';
import { hopWords, parseHopLimit } from '../../src/rules/fw-hop-values.js';
import { parseRuleSet } from '../../src/rules/load.js';
import { errors } from './helpers.js';

const range = (t: string) => {
  const p = parseHopLimit(t, 6);
  if (!p.ok) throw new Error(p.error);
  return { lo: p.value.lo, hi: p.value.hi, neg: p.value.neg, text: p.value.text };
};

describe('parseHopLimit', () => {
  it('reads values, comparisons (symbols and nft words) and ranges', () => {
    expect(range('255')).toEqual({ lo: 255, hi: 255, neg: false, text: 'ip6 hoplimit 255' });
    expect(range('== 1')).toMatchObject({ lo: 1, hi: 1, neg: false });
    expect(range('!= 1')).toMatchObject({ lo: 1, hi: 1, neg: true, text: 'ip6 hoplimit != 1' });
    expect(range('< 5')).toMatchObject({ lo: 0, hi: 4, neg: false, text: 'ip6 hoplimit < 5' });
    expect(range('lt 5')).toMatchObject({ lo: 0, hi: 4 });
    expect(range('<= 5')).toMatchObject({ lo: 0, hi: 5 });
    expect(range('> 250')).toMatchObject({ lo: 251, hi: 255, text: 'ip6 hoplimit > 250' });
    expect(range('>= 250')).toMatchObject({ lo: 250, hi: 255 });
    expect(range('1-10')).toMatchObject({ lo: 1, hi: 10, neg: false });
    expect(range('!= 1-10')).toMatchObject({ lo: 1, hi: 10, neg: true });
    // No TTL is below 0 or above 255: the empty range.
    expect(range('< 0')).toMatchObject({ lo: 1, hi: 0, neg: false });
    expect(range('> 255')).toMatchObject({ lo: 1, hi: 0, neg: false });
  });
  it('names the field of the family', () => {
    expect(parseHopLimit('64', 4)).toMatchObject({ ok: true, value: { text: 'ip ttl 64' } });
    expect(parseHopLimit('64', null)).toMatchObject({ ok: true, value: { text: 'ip ttl / ip6 hoplimit 64' } });
  });
  it('refuses what is not one', () => {
    expect(parseHopLimit('256', 4)).toMatchObject({ ok: false, error: '256 is not 0-255 (the field is one byte)' });
    expect(parseHopLimit('< 1-5', 4)).toMatchObject({ ok: false });
    expect(parseHopLimit('10-1', 4)).toMatchObject({ ok: false, error: expect.stringContaining('empty') });
    expect(parseHopLimit('ten', 4)).toMatchObject({ ok: false });
  });
  it('writes each range back in words it reads to the same range', () => {
    for (const [lo, hi, neg] of [
      [255, 255, false],
      [1, 1, true],
      [0, 4, false],
      [251, 255, false],
      [10, 20, false],
      [10, 20, true],
      [1, 0, false],
    ] as const) {
      const w = hopWords(lo, hi, neg);
      expect(range(w), w).toMatchObject({ lo, hi, neg });
    }
  });
});

describe('hop_limit: in a rule file', () => {
  const file = (rule: string) => `
interfaces:
  lan0: { addresses: [192.168.1.1/24] }
chains:
  input:
    hook: input
    rules:
      - ${rule}
`;
  it('is read onto the rule with the family the rule has', () => {
    const { ruleset } = parseRuleSet(file('{ family: ipv4, hop_limit: "< 2", action: drop }'), 'fw.yaml');
    expect(ruleset.firewall!.chains[0].rules[0].hopLimit).toEqual({ lo: 0, hi: 1, neg: false, text: 'ip ttl < 2' });
  });
  it('a bad value is an error naming the rule, the position and what it takes', () => {
    const d = errors(file('{ hop_limit: 300, action: drop }'));
    expect(d.map((x) => `${x.line}:${x.col} ${x.code}`)).toEqual(['8:22 rules.bad-hop-limit']);
    expect(d[0].message).toMatch(/^rule input-1: hop_limit: 300 is not 0-255 .*; give a TTL \/ hop limit 0-255/);
  });
});
