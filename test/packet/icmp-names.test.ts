/**
 * fwemu's ICMP and ICMPv6 names are nft's: the tables in
 * src/packet/icmp-names.ts must be what the installed nft lists with
 * `nft describe`, name for name, number for number, in nft's order (which
 * decides the name nft prints for 132, and so the one fwemu prints).
 * Without nft the comparison is skipped, except under CI=true, where it fails.
 */
import { describe, expect } from 'vitest';
import {
  ICMP_CODES,
  ICMP_TYPES,
  ICMPV6_CODES,
  ICMPV6_TYPES,
  icmpCodeName,
  icmpText,
  icmpTypeName,
  icmpWords,
} from '../../src/packet/icmp-names.js';
import { run, toolTest } from '../export/netns.js';

/** The symbolic constants of `nft describe WHAT`, as [name, number] in nft's order. */
function described(what: string): [string, number][] {
  const r = run('nft', ['describe', ...what.split(' ')]);
  if (r.code !== 0) throw new Error(`nft describe ${what}: exit ${r.code}: ${r.stderr.trim()}`);
  const body = r.stdout.split('pre-defined symbolic constants')[1];
  if (body === undefined) throw new Error(`nft describe ${what} lists no symbolic constants:\n${r.stdout}`);
  return [...body.matchAll(/^\s+([a-z0-9-]+)\s+(\d+)\s*$/gm)].map((m) => [m[1], Number(m[2])]);
}

const probe = run('nft', ['describe', 'icmp', 'type']);
const why =
  probe.code === 0
    ? null
    : `\`nft describe icmp type\` failed (${probe.stderr.trim().split('\n').pop() || `exit ${probe.code}`}); install the Debian package nftables`;

describe('ICMP names are nft describe', () => {
  const cases: [string, Readonly<Record<string, number>>, 4 | 6, 'type' | 'code'][] = [
    ['icmp type', ICMP_TYPES, 4, 'type'],
    ['icmpv6 type', ICMPV6_TYPES, 6, 'type'],
    ['icmp code', ICMP_CODES, 4, 'code'],
    ['icmpv6 code', ICMPV6_CODES, 6, 'code'],
  ];
  for (const [what, table, v, kind] of cases) {
    toolTest('nft', why, `\`nft describe ${what}\`: every name and number, in nft's order`, () => {
      const nft = described(what);
      expect(nft.length).toBeGreaterThan(5); // the parse found the list
      expect(Object.entries(table)).toEqual(nft);
      // And the name each number is shown by is nft's first for it.
      const first = new Map<number, string>();
      for (const [name, n] of nft) if (!first.has(n)) first.set(n, name);
      for (let n = 0; n < 256; n++)
        expect(kind === 'type' ? icmpTypeName(v, n) : icmpCodeName(v, n), `${what} ${n}`).toBe(first.get(n) ?? null);
    });
  }

  for (const [v, proto, unreach] of [
    [4, 'icmp', 3],
    [6, 'icmpv6', 1],
  ] as const) {
    toolTest(
      'nft',
      why,
      `${proto}: every type and code is shown in nft's first names, codes under destination-unreachable only`,
      () => {
        const first = (what: string) => {
          const m = new Map<number, string>();
          for (const [name, n] of described(what)) if (!m.has(n)) m.set(n, name);
          return m;
        };
        const types = first(`${proto} type`);
        const codes = first(`${proto} code`);
        for (let t = 0; t < 256; t++)
          for (const c of [0, 1, 2, 3, 4, 5, 6, 9, 13, 200, 255]) {
            const code = t === unreach && codes.has(c) ? ` ${codes.get(c)}` : c === 0 ? '' : ` code ${c}`;
            const want = `${types.get(t) ?? `type ${t}`}${code}`;
            const got = icmpText(v, t, c);
            if (got !== want) expect(got, `${proto} ${t}/${c}`).toBe(want);
            const words = icmpWords(v, t, c);
            if (words !== `${proto} ${want}`) expect(words, `${proto} ${t}/${c}`).toBe(`${proto} ${want}`);
          }
      },
    );
  }
});
