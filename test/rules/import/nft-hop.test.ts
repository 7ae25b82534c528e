/**
 * `ip ttl` / `ip6 hoplimit` read as nft_cmp and nft_range judge the header
 * byte: each comparison's range worked out by hand (`< 5` is 0-4, `gt 250`
 * is 251-255), sets as one rule per element, and the family each implies.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FwRule } from '../../../src/rules/firewall.js';
import { readNftJson } from '../../../src/rules/import/json/index.js';
import { errors, read, rules } from './nft-helpers.js';

const hop = (r: FwRule) => [r.hopLimit?.lo, r.hopLimit?.hi, r.hopLimit?.neg, r.family];

describe('ip ttl / ip6 hoplimit', () => {
  it('reads ==, !=, the relational operators (symbols and words) and ranges', () => {
    const rs = rules(
      [
        'ip6 hoplimit 255 accept',
        'ip ttl != 1 accept',
        'ip ttl < 5 accept',
        'ip ttl lt 5 accept',
        'ip ttl <= 5 accept',
        'ip6 hoplimit gt 250 accept',
        'ip ttl >= 250 accept',
        'ip ttl 1-10 accept',
        'ip ttl != 1-10 accept',
        'ip ttl > 0 ip ttl < 11 accept',
      ].join('\n'),
    );
    expect(rs.map(hop)).toEqual([
      [255, 255, false, 6],
      [1, 1, true, 4],
      [0, 4, false, 4],
      [0, 4, false, 4],
      [0, 5, false, 4],
      [251, 255, false, 6],
      [250, 255, false, 4],
      [1, 10, false, 4],
      [1, 10, true, 4],
      [1, 10, false, 4],
    ]);
  });
  it("reads Alpine's neighbour discovery rule: the ICMPv6 types with hop limit 255", () => {
    const rs = rules(
      'ip6 nexthdr icmpv6 icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept',
    );
    expect(rs.map((r) => [r.icmp?.types, ...hop(r)])).toEqual([[[135, 136], 255, 255, false, 6]]);
  });
  it('a set of values or ranges is one rule per element', () => {
    const rs = rules('ip ttl { 1, 64-128 } drop');
    expect(rs.map(hop)).toEqual([
      [1, 1, false, 4],
      [64, 128, false, 4],
    ]);
  });
  it('ip6 hoplimit in an ip table matches nothing; the rule is dropped as nft would never run it', () => {
    const r = read(
      'table ip t {\n chain c {\n  type filter hook input priority 0;\n  ip6 hoplimit 255 accept\n }\n}\n',
    );
    expect(r.firewall.chains[0].rules.map(hop)).toEqual([]);
  });
  it('refuses a value above 255 at its position', () => {
    const e = errors('table inet t {\n chain c {\n  type filter hook input priority 0;\n  ip ttl 300 accept\n }\n}\n');
    expect(e.map((d) => `${d.line}:${d.col} ${d.message}`)).toEqual([
      '4:10 `ip ttl 300`: 300 is out of range (a TTL / hop limit is 0-255)',
    ]);
  });
  it('nft -j list ruleset goes through the same builder (ip ttl < 5, ip6 hoplimit 1 of kinds.json)', () => {
    const text = readFileSync(join(import.meta.dirname, 'data/json/kinds.json'), 'utf8');
    const r = readNftJson(text, 'kinds.json', { lenient: true });
    const hops = r.firewall.chains.flatMap((c) => c.rules).filter((x) => x.hopLimit);
    expect(hops.map(hop)).toEqual([
      [0, 4, false, 4],
      [1, 1, false, 6],
    ]);
  });
});
