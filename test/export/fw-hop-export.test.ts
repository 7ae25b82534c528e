/**
 * A TTL range that reaches neither 0 nor 255 in iptables: two -m ttl
 * matches, both required (iptables-restore takes them; iptables-nft lists
 * `ip ttl gt 9 ip ttl lt 21`, checked with iptables v1.8.9). The kernel
 * test test/kernel/fw-hop.test.ts loads it and compares verdicts.
 */
import { describe, expect, it } from 'vitest';
import { iptablesRestoreFile } from '../../src/export/iptables.js';
import { ok } from '../rules/helpers.js';

describe('hop_limit ranges in iptables', () => {
  const rules = (hop: string, fam: 4 | 6) =>
    iptablesRestoreFile(
      ok(
        `chains:\n  f:\n    hook: forward\n    rules:\n      - { id: r, family: ipv${fam}, hop_limit: "${hop}", action: drop }\n`,
      ).ruleset,
      fam,
    )
      .split('\n')
      .filter((l) => l.startsWith('-A'));
  it('10-20 is > 9 and < 21', () => {
    expect(rules('10-20', 4)).toEqual([
      '-A FORWARD -m ttl --ttl-gt 9 -m ttl --ttl-lt 21 -m comment --comment "r" -j DROP',
    ]);
    expect(rules('10-20', 6)).toEqual(['-A FORWARD -m hl --hl-gt 9 -m hl --hl-lt 21 -m comment --comment "r" -j DROP']);
  });
  it('!= 10-20 has no one-rule form: an error naming the rule', () => {
    expect(() => rules('!= 10-20', 4)).toThrow(/rule "r" .* outside 10-20 has no one-rule form in iptables/);
  });
});
