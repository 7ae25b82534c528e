/**
 * A TTL range that reaches neither 0 nor 255 in iptables: two -m ttl
 * matches, both required (iptables-restore takes them; iptables-nft lists
 * `ip ttl gt 9 ip ttl lt 21`, checked with iptables v1.8.9). The kernel
 * test test/kernel/fw-hop.test.ts loads it and compares verdicts.
 */
import { describe, expect, it } from 'vitest';
import { firewallYaml } from '../../src/export/fwemu-yaml.js';
import { iptablesRestoreFile } from '../../src/export/iptables.js';
import { readNft } from '../../src/rules/import/nft/index.js';
import { parseRuleSet } from '../../src/rules/load.js';
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

describe('fwemu import writes hop_limit: that loads back to the same condition', () => {
  it('ip6 hoplimit 255, ip ttl < 5, ip ttl != 1-10', () => {
    const nft =
      'table inet t {\n chain input {\n  type filter hook input priority 0; policy drop;\n' +
      '  icmpv6 type nd-neighbor-solicit ip6 hoplimit 255 accept\n  ip ttl < 5 drop\n  ip ttl != 1-10 accept\n }\n}\n';
    const imported = readNft(nft, 'fw.nft', { lenient: false });
    const base = ok('chains:\n  input:\n    hook: input\n').ruleset;
    const yaml = firewallYaml({ ...base, firewall: imported.firewall }, null);
    expect(yaml).toContain('hop_limit: 255');
    expect(yaml).toContain('hop_limit: "< 5"');
    expect(yaml).toContain('hop_limit: "!= 1-10"');
    const back = parseRuleSet(yaml, 'import.yaml').ruleset.firewall!.chains[0].rules;
    expect(back.map((r) => [r.family, r.hopLimit?.lo, r.hopLimit?.hi, r.hopLimit?.neg])).toEqual([
      [6, 255, 255, false],
      [4, 0, 4, false],
      [4, 1, 10, true],
    ]);
  });
});
