import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { originPlace } from '../../../src/rules/firewall.js';
import { loadRuleFiles, NO_HOST } from '../../../src/rules/import/load-rules.js';

const dir = mkdtempSync(join(tmpdir(), 'fwemu-origin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const HOST = { ...NO_HOST, iface: ['eth0=192.0.2.1/24'] };

function places(name: string, text: string): { place: string; at: string }[] {
  const f = join(dir, name);
  writeFileSync(f, text);
  const r = loadRuleFiles([f], HOST, { lenient: false });
  const rules = r.ruleset.firewall?.chains.flatMap((c) => c.rules) ?? [];
  return rules.map((x) => {
    const o = x.origin;
    if (!o) throw new Error('no origin');
    const line = text.split('\n')[o.line - 1];
    return { place: originPlace(o), at: line.slice(o.col - 1, o.col + 5) };
  });
}

describe('where an imported rule is named', () => {
  it('by its line in nft text, one rule a line', () => {
    const nft =
      'table inet f {\n  chain input {\n    type filter hook input priority 0; policy drop;\n    tcp dport 22 accept\n    ct state vmap { established : accept, invalid : drop }\n  }\n}\n';
    // The verdict map's two rules share one origin: still one rule of the file on line 5.
    expect(places('a.nft', nft).map((p) => p.place)).toEqual(['4', '5', '5']);
  });

  it('by line and column in nft JSON, which nft prints on one line', () => {
    const rule = (port: number) =>
      `{"rule":{"family":"inet","table":"f","chain":"input","expr":[{"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":${port}}},{"accept":null}]}}`;
    const json = `{"nftables":[{"table":{"family":"inet","name":"f"}},{"chain":{"family":"inet","table":"f","name":"input","type":"filter","hook":"input","prio":0,"policy":"drop"}},${rule(22)},${rule(80)}]}`;
    const p = places('a.json', json);
    expect(p.map((x) => x.place)).toEqual([expect.stringMatching(/^1:\d+$/), expect.stringMatching(/^1:\d+$/)]);
    expect(p[0].place).not.toBe(p[1].place);
    // Each column is where that rule's object starts in the file.
    for (const x of p) expect(x.at.startsWith('{')).toBe(true);
    expect(Number(p[0].place.slice(2))).toBeLessThan(json.indexOf(rule(80)) + 1);
    expect(Number(p[1].place.slice(2))).toBeGreaterThanOrEqual(json.indexOf(rule(80)) + 1);
  });
});
