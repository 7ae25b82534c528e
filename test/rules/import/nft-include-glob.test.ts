import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRuleFiles, NO_HOST } from '../../../src/rules/import/load-rules.js';

const dir = mkdtempSync(join(tmpdir(), 'fwemu-nft-glob-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'rules.d'));
writeFileSync(join(dir, 'rules.d', 'b.nft'), 'add rule inet f input tcp dport 80 accept\n');
writeFileSync(join(dir, 'rules.d', 'a.nft'), 'add rule inet f input tcp dport 22 accept\n');
writeFileSync(join(dir, 'rules.d', 'notes.txt'), 'not nft at all {\n');
const main = (inc: string) =>
  `table inet f {\n  chain input { type filter hook input priority 0; policy drop; }\n}\ninclude "${inc}"\n`;

describe('nft include with wildcards', () => {
  it('reads every file the wildcard matches, in name order, as nft does', () => {
    const f = join(dir, 'main.nft');
    writeFileSync(f, main('rules.d/*.nft'));
    const r = loadRuleFiles([f], { ...NO_HOST, iface: ['eth0=192.0.2.1/24'] }, { lenient: false });
    const rules = r.ruleset.firewall?.chains.find((c) => c.name === 'input')?.rules ?? [];
    expect(rules.map((x) => x.origin?.file.replace(`${dir}/`, ''))).toEqual(['rules.d/a.nft', 'rules.d/b.nft']);
    expect(rules.map((x) => x.dport?.ranges[0].lo)).toEqual([22, 80]);
  });

  it('a wildcard matching nothing is no error, but says the rules there are missing', () => {
    const f = join(dir, 'none.nft');
    writeFileSync(f, main('/nonexistent-fwemu-dir/*.nft'));
    const r = loadRuleFiles([f], { ...NO_HOST, iface: ['eth0=192.0.2.1/24'] }, { lenient: false });
    expect(r.warnings.map((w) => `${w.line}:${w.col} ${w.message}`)).toContainEqual(
      expect.stringMatching(/^4:9 include "\/nonexistent-fwemu-dir\/\*\.nft": matches no file here/),
    );
  });
});
