import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { globFiles } from '../../src/base/glob.js';

const dir = mkdtempSync(join(tmpdir(), 'fwemu-glob-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
for (const f of ['b.nft', 'a.nft', '.hidden.nft', 'c.conf', 'x1.nft', 'x2.nft', 'sub/d.nft', 'sub2/e.nft']) {
  mkdirSync(join(dir, f, '..'), { recursive: true });
  writeFileSync(join(dir, f), '');
}
mkdirSync(join(dir, 'dir.nft'));

/** What bash's glob (nullglob; files only) names: the independent answer. */
function bash(pattern: string): string[] {
  const out = execFileSync(
    'bash',
    ['-c', `shopt -s nullglob; for f in ${pattern}; do [ -f "$f" ] && echo "$f"; done`],
    {
      encoding: 'utf8',
    },
  );
  return out.split('\n').filter((l) => l !== '');
}

describe('globFiles', () => {
  for (const p of ['*.nft', 'x?.nft', '[ab].nft', '[!a]*.nft', 'sub*/*.nft', 'none-*.nft', 'a.nft', '*'])
    it(`${p} names what bash names`, () => {
      expect(globFiles(join(dir, p))).toEqual(bash(join(dir, p)));
    });
});
