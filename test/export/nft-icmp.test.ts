/**
 * `type:` and `code:` lists exported to nftables: each list is an anonymous
 * set (`icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert }`). The text
 * is checked against hand-written lines; the real nft must accept it
 * (`nft -c -f`), load it, and list back the same sets, in its own words.
 * The real-tool tests need `nft`, `ip` and root; without them they are
 * skipped, except under CI=true, where they fail with the reason.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportNft } from '../../src/export/nft.js';
import { ok, y } from '../rules/helpers.js';
import { namespaces, run, toolsMissing, toolTest } from './netns.js';

const RULES = y`
  stateful: false
  policy: drop
  rules:
    - id: nd
      proto: icmpv6
      type: [nd-neighbor-solicit, nd-neighbor-advert]
    - id: ping
      proto: icmp
      type: [echo-request, 0]
    - id: errors
      proto: icmp
      type: [destination-unreachable, time-exceeded]
      code: [port-unreachable, 4, 0]
    - id: unreach6
      proto: icmpv6
      type: destination-unreachable
      code: [port-unreachable, 2]
      src: "fd00::/8"
    - id: one
      proto: icmpv6
      type: [packet-too-big]
    - id: numbers
      proto: icmpv6
      type: [200, 201]
`;

/** The rule lines, hand-written: names where nft has them; codes by name only under destination-unreachable alone. */
const LINES = [
  'icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept comment "nd"',
  'icmp type { echo-request, echo-reply } accept comment "ping"',
  'icmp type { destination-unreachable, time-exceeded } icmp code { 3, 4, 0 } accept comment "errors"',
  'ip6 saddr fd00::/8 icmpv6 type destination-unreachable icmpv6 code { port-unreachable, 2 } accept comment "unreach6"',
  'icmpv6 type packet-too-big accept comment "one"',
  'icmpv6 type { 200, 201 } accept comment "numbers"',
];

/**
 * What the kernel holds, as `nft -j list ruleset` gives it back: per rule
 * comment, each ICMP match as "proto field" and its values, sorted (a set has
 * no order). Hand-written: nft prints names for every value its table names.
 */
const LISTED: Record<string, Record<string, (string | number)[]>> = {
  nd: { 'icmpv6 type': ['nd-neighbor-advert', 'nd-neighbor-solicit'] },
  ping: { 'icmp type': ['echo-reply', 'echo-request'] },
  errors: {
    'icmp type': ['destination-unreachable', 'time-exceeded'],
    'icmp code': ['frag-needed', 'net-unreachable', 'port-unreachable'],
  },
  unreach6: { 'icmpv6 type': ['destination-unreachable'], 'icmpv6 code': [2, 'port-unreachable'] },
  one: { 'icmpv6 type': ['packet-too-big'] },
  numbers: { 'icmpv6 type': [200, 201] },
};

describe('export (nft): ICMP type and code lists', () => {
  it('are anonymous sets, in nft names', () => {
    const text = exportNft(ok(RULES).ruleset);
    const rules = text.split('\n').filter((l) => / comment "/.test(l) && !l.includes('policy reject'));
    expect(rules.map((l) => l.trim())).toEqual(LINES);
  });
});

// ---------------------------------------------------------------- the real nft

const tmp = mkdtempSync(join(tmpdir(), 'fwemu-nft-icmp-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const withNamespace = namespaces('fwemu-nft-icmp-');
const missing = toolsMissing(
  [
    ['nft', 'nftables'],
    ['ip', 'iproute2'],
  ],
  'nft',
  () => withNamespace(() => undefined),
);

type Json = Record<string, unknown>;

/** comment -> "proto field" -> values, of the rules `nft -j list ruleset` shows. */
function listed(ns: string): Record<string, Record<string, (string | number)[]>> {
  const r = run('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'ruleset']);
  expect(r.code, r.stderr).toBe(0);
  const out: Record<string, Record<string, (string | number)[]>> = {};
  for (const item of (JSON.parse(r.stdout) as { nftables: Json[] }).nftables) {
    const rule = item.rule as { comment?: string; expr: Json[] } | undefined;
    if (rule?.comment === undefined) continue;
    const m: Record<string, (string | number)[]> = {};
    for (const e of rule.expr) {
      const match = e.match as { left: { payload?: { protocol: string; field: string } }; right: unknown } | undefined;
      const p = match?.left.payload;
      if (match === undefined || p === undefined || !p.protocol.startsWith('icmp')) continue;
      const right = match.right as string | number | { set: (string | number)[] };
      const values = typeof right === 'object' ? right.set : [right];
      m[`${p.protocol} ${p.field}`] = [...values].sort((a, b) => String(a).localeCompare(String(b)));
    }
    out[rule.comment] = m;
  }
  return out;
}

describe('export (nft): ICMP lists in the real nft', () => {
  toolTest('nft', missing, 'nft -c -f accepts the export, and nft -f loads the sets it lists back', () => {
    const file = join(tmp, 'icmp.nft');
    writeFileSync(file, exportNft(ok(RULES).ruleset));
    withNamespace((ns) => {
      const check = run('ip', ['netns', 'exec', ns, 'nft', '-c', '-f', file]);
      expect(check.code, `nft -c -f: ${check.stderr}`).toBe(0);
      const load = run('ip', ['netns', 'exec', ns, 'nft', '-f', file]);
      expect(load.code, `nft -f: ${load.stderr}`).toBe(0);
      expect(listed(ns)).toEqual(LISTED);
    });
  });
});
