/**
 * Whole rulesets. data/nft/rich.nft is a ruleset written for this test
 * (defines, sets, vmaps, concatenations, NAT maps, old syntax);
 * data/nft/rich.listed.nft is what nft 1.0.6 printed after loading it
 * (`nft -f rich.nft; nft list ruleset` in a private network namespace):
 * nft's own reading of the file, with defines expanded, service names
 * resolved and priorities named. Both must give one model. Debian's
 * nftables examples (/usr/share/doc/nftables/examples, where installed)
 * must import, or fail only on what fwemu does not model, named here.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { FwChain } from '../../../src/rules/firewall.js';
import { readNft } from '../../../src/rules/import/nft/index.js';
import { canonical, show } from './nft-helpers.js';

const DATA = join(dirname(fileURLToPath(import.meta.url)), 'data', 'nft');
const EXAMPLES = '/usr/share/doc/nftables/examples';

/** A chain's rules grouped by the nft rule they came from, each group in any order. */
function chainMeaning(c: FwChain): unknown {
  const groups = new Map<string, unknown[]>();
  for (const r of c.rules) {
    const k = r.id.replace(/\.[0-9]+$/, '');
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return { ...(canonical({ ...c, rules: [] }) as object), rules: [...groups.values()].map(canonical) };
}

describe('a ruleset and nft list ruleset of it', () => {
  const readFile = (name: string) => readNft(readFileSync(join(DATA, name), 'utf8'), name, { lenient: false });
  const src = readFile('rich.nft');
  const listed = readFile('rich.listed.nft');

  it('both import without errors', () => {
    expect(src.diagnostics.map(show)).toEqual([]);
    expect(listed.diagnostics.map(show)).toEqual([]);
  });

  it('give the same chains and rules, element by element', () => {
    expect(src.firewall.chains.map((c) => c.name)).toEqual(listed.firewall.chains.map((c) => c.name));
    for (let i = 0; i < src.firewall.chains.length; i++)
      expect(chainMeaning(src.firewall.chains[i])).toEqual(chainMeaning(listed.firewall.chains[i]));
    expect(canonical(src.firewall.sets)).toEqual(canonical(listed.firewall.sets));
    expect([...src.interfaceNames].sort()).toEqual([...listed.interfaceNames].sort());
  });

  it('every rule names the line it came from, as written', () => {
    const input = src.firewall.chains.find((c) => c.name === 'input')!;
    const lines = readFileSync(join(DATA, 'rich.nft'), 'utf8').split('\n');
    for (const r of input.rules) {
      expect(r.origin?.file).toBe('rich.nft');
      expect(lines[r.origin!.line - 1].replace(/\s+/g, ' ').trim()).toBe(r.origin?.text);
    }
  });
});

/** Examples that fail, and why: each a construct fwemu does not model, or a file nft itself refuses. */
const EXPECTED_FAILURES: Readonly<Record<string, string[]>> = {
  // numgen / jhash load balancing, rewriting ip daddr, and a netdev table that forwards with fwd
  'load_balancing.nft': ['nft.unsupported'],
  // SELinux secmark labels set from maps
  'secmark.nft': ['nft.unsupported'],
  // `delete table filter` before the table exists: nft 1.0.6 refuses it too ("No such file or directory")
  'sets_and_maps.nft': ['nft.unknown-table'],
};

describe.skipIf(!existsSync(EXAMPLES))("Debian's nftables examples", () => {
  const files = existsSync(EXAMPLES) ? readdirSync(EXAMPLES).filter((f) => f.endsWith('.nft')) : [];
  const readInclude = (p: string) => {
    try {
      return { text: readFileSync(p, 'utf8') };
    } catch (e) {
      return { error: String(e) };
    }
  };
  it.each(files)('%s', (f) => {
    const path = join(EXAMPLES, f);
    const r = readNft(readFileSync(path, 'utf8'), path, { lenient: false, readInclude });
    const codes = [...new Set(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.code))];
    expect(codes).toEqual(EXPECTED_FAILURES[f] ?? []);
    if (codes.length > 0) {
      // with --lenient an unsupported construct no longer stops the import
      const l = readNft(readFileSync(path, 'utf8'), path, { lenient: true, readInclude });
      const left = l.diagnostics.filter((d) => d.severity === 'error').map((d) => d.code);
      expect(left).toEqual(codes.filter((c) => c !== 'nft.unsupported'));
    }
  });
});
