/**
 * A ruleset and nft's own reading of it give one model. Each file is
 * loaded with the installed nft into a throwaway network namespace and
 * listed back (`nft list ruleset`): the listing is nft's reading, with
 * defines expanded, service and ICMP names resolved, intervals merged,
 * priorities named and old syntax rewritten. fwemu must read the file and
 * the listing alike. Skipped without nft and root (failing under CI=true).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect } from 'vitest';
import type { FwChain } from '../../../src/rules/firewall.js';
import { readNft } from '../../../src/rules/import/nft/index.js';
import type { ImportResult } from '../../../src/rules/import/types.js';
import { namespaces, run, toolsMissing, toolTest } from '../../export/netns.js';
import { sample } from '../../support/tier.js';
import { canonical, show } from './nft-helpers.js';

const DATA = join(dirname(fileURLToPath(import.meta.url)), 'data', 'nft');
const EXAMPLES = '/usr/share/doc/nftables/examples';
const tmp = mkdtempSync(join(tmpdir(), 'fwemu-nft-import-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const withNamespace = namespaces('fwemu-nft-imp-');
const missing = toolsMissing(
  [
    ['nft', 'nftables'],
    ['ip', 'iproute2'],
  ],
  'nft',
  () => withNamespace(() => undefined),
);

/** Interfaces the files match with `iif`/`oif` (by index: nft wants them to exist). */
const LINKS = ['eth0', 'eth1', 'eth2', 'eth3', 'bond0', 'bond1'];

/** `nft list ruleset` after `nft -f path`, or null with nft's reason when this kernel refuses the file. */
function listed(path: string): { text: string } | { refused: string } {
  return withNamespace((ns) => {
    for (const [i, l] of LINKS.entries())
      run('ip', ['-n', ns, 'link', 'add', l, 'type', 'veth', 'peer', 'name', `p${i}`]);
    // nft reads "./x" from its working directory and "x" from its include path; fwemu beside the including file
    const load = run('ip', [
      'netns',
      'exec',
      ns,
      'sh',
      '-c',
      'cd "$1" && exec nft -I "$1" -f "$2"',
      'sh',
      dirname(path),
      path,
    ]);
    if (load.code !== 0) return { refused: load.stderr.trim().split('\n')[0] };
    const list = run('ip', ['netns', 'exec', ns, 'nft', 'list', 'ruleset']);
    expect(list.code, list.stderr).toBe(0);
    return { text: list.stdout };
  });
}

function grouped(c: FwChain): unknown {
  const groups = new Map<string, unknown[]>();
  for (const r of c.rules) {
    const k = r.id.replace(/\.[0-9]+$/, '');
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return { chain: canonical({ ...c, rules: [] }), rules: [...groups.values()].map(canonical) };
}

function sameModel(a: ImportResult, b: ImportResult): void {
  expect(b.firewall.chains.map((c) => c.name)).toEqual(a.firewall.chains.map((c) => c.name));
  for (let i = 0; i < a.firewall.chains.length; i++)
    expect(grouped(b.firewall.chains[i])).toEqual(grouped(a.firewall.chains[i]));
  expect(canonical(b.firewall.sets)).toEqual(canonical(a.firewall.sets));
  expect(b.ignored.length).toBe(a.ignored.length);
}

const readInclude = (p: string) => {
  try {
    return { text: readFileSync(p, 'utf8') };
  } catch (e) {
    return { error: (e as Error).message };
  }
};

/** The ruleset corpus (issue 18), where this checkout has it: real files, which this kernel may refuse (missing modules). */
const CORPUS = join(dirname(fileURLToPath(import.meta.url)), '../../../fixtures/rulesets');
const corpus = existsSync(CORPUS)
  ? readdirSync(CORPUS)
      .filter((f) => f.endsWith('.nft'))
      .sort()
      .map((f) => join(CORPUS, f))
  : [];

// The fast tier lists a spread sample of the corpus and of Debian's examples (each nft run
// in a namespace costs ~0.4 s); npm run test:slow lists every file.
const files = [
  ...sample(corpus, 2),
  ...readdirSync(DATA)
    .filter((f) => f.endsWith('.nft') && !f.endsWith('.listed.nft'))
    .map((f) => join(DATA, f)),
  ...(existsSync(EXAMPLES)
    ? sample(
        readdirSync(EXAMPLES)
          .filter((f) => f.endsWith('.nft'))
          .sort()
          .map((f) => join(EXAMPLES, f)),
        3,
      )
    : []),
];

/** Files this kernel or nft refuses, and why (kept out of the comparison). */
const REFUSED: Readonly<Record<string, RegExp>> = {
  'load_balancing.nft': /Operation not supported|Interface does not exist/,
  'secmark.nft': /No such file or directory/,
  'sets_and_maps.nft': /No such file or directory/,
};

describe('nft list ruleset of a file reads as the file', () => {
  for (const path of files) {
    const name = path.split('/').pop() ?? path;
    toolTest('nft', missing, name, () => {
      const l = listed(path);
      if ('refused' in l) {
        // a corpus file may need modules this kernel lacks (ct helpers); the others are named above
        if (!corpus.includes(path)) expect(l.refused).toMatch(REFUSED[name] ?? /^$/);
        return;
      }
      const listFile = join(tmp, `${name}.listed`);
      writeFileSync(listFile, l.text);
      const opts = { lenient: true, readInclude };
      const a = readNft(readFileSync(path, 'utf8'), path, opts);
      const b = readNft(l.text, listFile, opts);
      expect(a.diagnostics.filter((d) => d.severity === 'error').map(show)).toEqual([]);
      expect(b.diagnostics.filter((d) => d.severity === 'error').map(show)).toEqual([]);
      sameModel(a, b);
    });
  }
});
