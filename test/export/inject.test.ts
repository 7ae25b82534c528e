/**
 * `fwemu export` with hostile strings: a rule file whose name, description,
 * rule comments, rule ids and file name carry line breaks, NUL, ESC, quotes,
 * `;`, `}`, `#`, U+2028, NEL, lone surrogates or 20 KB of text must export
 * a ruleset that does exactly what the rule file says, and nothing else:
 * no string may leave its comment to become a command (`flush ruleset`, a
 * drop-all chain, a `*filter` block).
 *
 * Checked twice: by the line structure of the text (no tools needed), and
 * by the real tools in a throwaway network namespace (never outside one):
 * a sentinel table is made first, the export is checked (`nft -c -f`,
 * `iptables-restore --test`) and loaded, and what the kernel then holds
 * (`nft -j list ruleset`, `iptables-save`) must be the sentinel plus
 * exactly the tables, chains and rules of the rule file, counted by hand.
 *
 * The real-tool tests need nft (nftables), iptables, ip (iproute2) and root;
 * without them they are skipped, except under CI=true, where they fail with
 * the reason.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportIptables } from '../../src/export/iptables.js';
import { exportNft } from '../../src/export/nft.js';
import { safeJson } from '../../src/base/text-escape.js';
import { fwemuIn } from '../cli/run.js';
import { ruleSetWithIds } from '../rules/helpers.js';
import { namespaces, run, toolsMissing, toolTest } from './netns.js';

/** Strings meant to leave a comment, each trying another way out. */
const HOSTILE: [what: string, text: string][] = [
  [
    'newline, then nft commands',
    'x\nflush ruleset\ntable inet evil { chain c { type filter hook forward priority -1; policy drop; } }\n#',
  ],
  [
    'CR LF, then an iptables block',
    'x\r\nCOMMIT\n*filter\n:FORWARD DROP [0:0]\n-A FORWARD -j DROP\nCOMMIT\n*raw\n:PREROUTING DROP [0:0]\nCOMMIT\n#',
  ],
  ['NUL', 'nul\u0000flush ruleset'],
  ['terminal controls', 'esc\u001b[2J\u001b]0;owned\u0007bel\u0008\u007f'],
  ['quotes and syntax', 'q" ; } # \\" \\\\ { accept; } "\''],
  ['Unicode line breaks and C1', 'ls\u2028flush ruleset\u2029ps\u0085nel\u009b2J'],
  ['lone surrogates', 'lone \ud800 and \udfff end'],
  ['bidi override', 'abc\u202edcba\u2066'],
  // iptables-restore reads lines in 10240-byte pieces: a long line's rest is read as a line of its own.
  ['20 KB with a command at byte 10239', `${'a'.repeat(10237)}-A FORWARD -j DROP ${'b'.repeat(10000)}\nflush ruleset`],
];

/**
 * Rule ids a rule file accepts that are hard on an export: quotes,
 * backslashes, nft and iptables syntax, a lone surrogate, and two 64-unit
 * ids that begin alike and are longer than nft keeps (192 bytes).
 */
const HARD_IDS = [
  'dq"id',
  "sq'id",
  'semi;colon',
  'brace}{',
  'hash#id',
  'back\\slash\\',
  'lone\ud800id',
  `${'€'.repeat(63)}a`,
  `${'€'.repeat(63)}b`,
];

/** Ids a rule file refuses (controls, space), set in code: the export must still hold them. */
const CODE_IDS = ['nl\nflush ruleset', 'cr\r#', 'nul\u0000x', 'esc\u001b[2J', 'nel\u0085x', 'ls\u2028x', 'sp ace'];

/** A YAML double-quoted scalar (JSON is YAML; safeJson also escapes NEL and U+2028, line breaks to YAML 1.1). */
const yq = (s: string): string => safeJson(s);

/** A rule file: gateway model, one tcp rule per id (ports 1000, 1001, ...), every free-text field `text`. */
function ruleFile(text: string, withName: boolean): string {
  const rules = HARD_IDS.map(
    (id, i) => `  - id: ${yq(id)}\n    proto: tcp\n    dport: ${1000 + i}\n    comment: ${yq(text)}\n`,
  ).join('');
  return `${withName ? `name: ${yq(text)}\n` : ''}description: ${yq(text)}\nrules:\n${rules}`;
}

const tmp = mkdtempSync(join(tmpdir(), 'fwemu-inject-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let dirs = 0;

/** The rule file for `text`, under a file name made of it too (a file name holds no NUL or /, and 255 bytes at most). */
function writeRuleFile(text: string, withName: boolean): string {
  const dir = join(tmp, String(dirs++));
  mkdirSync(dir);
  const base = `${text.replace(/[\u0000/]/g, '_').slice(0, 120)}.yaml`;
  const file = join(dir, base);
  writeFileSync(file, ruleFile(text, withName));
  return file;
}

/** The characters no export may hold: C0 but \n, DEL, C1, U+2028/2029. */
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/;

/** The lines of an nft export, each as what it is; anything else is unexpected. */
const NFT_LINE: RegExp[] = [
  /^$/,
  /^#/,
  /^table inet fwemu( \{)?$/,
  /^delete table inet fwemu$/,
  /^  chain forward \{$/,
  /^    type filter hook forward priority filter; policy drop;$/,
  /^    ct state (established,related accept|invalid drop)$/,
  /^    tcp dport \d+ accept comment "[^"\n]*"$/,
  /^  \}$/,
  /^\}$/,
];

/** The lines of an iptables export (one family or both). */
const IPT_LINE: RegExp[] = [
  /^$/,
  /^#/,
  /^\*filter$/,
  /^:(INPUT|OUTPUT) ACCEPT \[0:0\]$/,
  /^:FORWARD DROP \[0:0\]$/,
  /^-A FORWARD -m conntrack --ctstate (ESTABLISHED,RELATED -j ACCEPT|INVALID -j DROP)$/,
  /^-A FORWARD -p tcp --dport \d+ -m comment --comment "([^"\\]|\\.)*" -j ACCEPT$/,
  /^COMMIT$/,
];

function checkStructure(text: string, patterns: RegExp[], ruleLine: RegExp, rules: number, what: string): void {
  expect(CONTROL.test(text), `${what}: a control character`).toBe(false);
  const lines = text.split('\n');
  for (const line of lines)
    expect(
      patterns.some((p) => p.test(line)),
      `${what}: unexpected line ${JSON.stringify(line.slice(0, 200))}`,
    ).toBe(true);
  expect(
    lines.filter((l) => ruleLine.test(l)),
    `${what}: rule lines`,
  ).toHaveLength(rules);
  // iptables-restore reads at most 10239 bytes of a line.
  for (const line of lines) expect(Buffer.byteLength(line), what).toBeLessThan(10239);
}

const N = HARD_IDS.length;

describe('export: hostile strings stay in their comments (text)', () => {
  it.each(HOSTILE)(
    '%s: in the name, description, comments and file name (fwemu export, both formats)',
    async (_what, text) => {
      for (const withName of [true, false]) {
        const file = writeRuleFile(text, withName);
        const nft = await fwemuIn(['export', file]);
        expect(nft.code, nft.stderr).toBe(0);
        checkStructure(nft.stdout, NFT_LINE, /^    tcp dport/, N, 'nft');
        expect(CONTROL.test(nft.stderr), 'stderr').toBe(false);
        const ipt = await fwemuIn(['export', '--format', 'iptables', file]);
        expect(ipt.code, ipt.stderr).toBe(0);
        checkStructure(ipt.stdout, IPT_LINE, /^-A FORWARD -p tcp/, 2 * N, 'iptables');
      }
    },
  );

  it('ids a rule file refuses, set in code (newline, CR, NUL, ESC, NEL, U+2028, space), stay in their comments', () => {
    const rs = ruleSetWithIds(CODE_IDS);
    rs.rules.forEach((r, i) => {
      r.sport = null;
      r.dport = [{ lo: 2000 + i, hi: 2000 + i }];
    });
    checkStructure(exportNft(rs), NFT_LINE, /^    tcp dport/, CODE_IDS.length, 'nft');
    checkStructure(exportIptables(rs), IPT_LINE, /^-A FORWARD -p tcp/, 2 * CODE_IDS.length, 'iptables');
  });

  it('the two long ids that begin alike get different comments, and export warns naming both', async () => {
    const file = writeRuleFile('plain', true);
    for (const format of ['nft', 'iptables']) {
      const r = await fwemuIn(['export', '--format', format, file]);
      expect(r.code).toBe(0);
      // nft takes every byte up to the next " ; iptables-restore lets a backslash escape one.
      const re = format === 'nft' ? /comment "([^"]*)"/g : /comment "((?:[^"\\]|\\.)*)"/g;
      const comments = [...r.stdout.matchAll(re)].map((m) => m[1]);
      expect(new Set(comments).size, format).toBe(N); // one distinct comment per rule (iptables: the same in both families)
      if (format === 'nft') {
        const warn = r.stderr.split('\n').filter((l) => l.startsWith('fwemu: warning: rule ids'));
        expect(warn, r.stderr).toHaveLength(1);
        expect(warn[0]).toContain(HARD_IDS[7]);
        expect(warn[0]).toContain(HARD_IDS[8]);
      }
    }
  });

  it('--table must be a plain name: anything else is refused with exit 2', async () => {
    const file = writeRuleFile('plain', true);
    for (const table of ['a b', 'x { }', 'x\nflush ruleset', '1abc', '']) {
      const r = await fwemuIn(['export', '--table', table, file]);
      expect(r.code, table).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^fwemu: --table: the nft table name/);
      expect(CONTROL.test(r.stderr)).toBe(false);
    }
    expect((await fwemuIn(['export', '--table', 'my_fw-1', file])).code).toBe(0);
  });
});

// ---------------------------------------------------------------- the real tools, in a namespace

const withNamespace = namespaces('fwemu-inject-test-');
const nftMissing = toolsMissing(
  [
    ['nft', 'nftables'],
    ['ip', 'iproute2'],
  ],
  'nft',
  () => withNamespace(() => undefined),
);
const iptMissing = toolsMissing(
  [
    ['iptables-restore', 'iptables'],
    ['ip6tables-restore', 'iptables'],
    ['iptables-save', 'iptables'],
    ['ip6tables-save', 'iptables'],
    ['ip', 'iproute2'],
  ],
  'iptables-restore',
  () => withNamespace(() => undefined),
);

const inNs = (ns: string, cmd: string, args: string[], input?: string) =>
  run('ip', ['netns', 'exec', ns, cmd, ...args], input);

interface NftItem {
  table?: { family: string; name: string };
  chain?: { family: string; table: string; name: string; policy?: string };
  rule?: { family: string; table: string; chain: string; comment?: string };
}

/** Checks, then loads `text` with nft in a fresh namespace holding a sentinel table; returns what the kernel then holds. */
function loadNft(text: string): NftItem[] {
  return withNamespace((ns) => {
    const sentinel = inNs(ns, 'nft', [
      'add table ip sentinel; add chain ip sentinel keep; add rule ip sentinel keep counter',
    ]);
    expect(sentinel.code, sentinel.stderr).toBe(0);
    const file = join(tmp, `${dirs++}.nft`);
    writeFileSync(file, text);
    const check = inNs(ns, 'nft', ['-c', '-f', file]);
    expect(check.code, `nft -c -f: ${check.stderr}`).toBe(0);
    const load = inNs(ns, 'nft', ['-f', file]);
    expect(load.code, `nft -f: ${load.stderr}`).toBe(0);
    const list = inNs(ns, 'nft', ['-j', 'list', 'ruleset']);
    expect(list.code, list.stderr).toBe(0);
    return (JSON.parse(list.stdout) as { nftables: NftItem[] }).nftables;
  });
}

/** The kernel holds the sentinel and one inet fwemu table with one forward chain of 2 + `rules` rules, nothing else. */
function expectNftHolds(items: NftItem[], rules: number): string[] {
  const tables = items.flatMap((i) => (i.table ? [`${i.table.family} ${i.table.name}`] : []));
  expect(tables.sort()).toEqual(['inet fwemu', 'ip sentinel']);
  const chains = items.flatMap((i) =>
    i.chain ? [`${i.chain.family} ${i.chain.table} ${i.chain.name} ${i.chain.policy ?? '-'}`] : [],
  );
  expect(chains.sort()).toEqual(['inet fwemu forward drop', 'ip sentinel keep -']);
  const fw = items.flatMap((i) => (i.rule && i.rule.table === 'fwemu' ? [i.rule] : []));
  expect(fw).toHaveLength(2 + rules);
  expect(items.filter((i) => i.rule && i.rule.table === 'sentinel')).toHaveLength(1);
  const comments = fw.flatMap((r) => (r.comment === undefined ? [] : [r.comment]));
  expect(comments).toHaveLength(rules);
  expect(new Set(comments).size, 'one comment per rule').toBe(rules);
  for (const c of comments) expect(CONTROL.test(c), JSON.stringify(c)).toBe(false);
  return comments;
}

/** iptables-save's tables: name -> { chains: name -> policy, rules: -A lines }. */
function saved(text: string): Map<string, { chains: Map<string, string>; rules: string[] }> {
  const out = new Map<string, { chains: Map<string, string>; rules: string[] }>();
  let cur: { chains: Map<string, string>; rules: string[] } | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) out.set(line.slice(1), (cur = { chains: new Map(), rules: [] }));
    else if (line.startsWith(':') && cur) cur.chains.set(line.slice(1).split(' ')[0], line.split(' ')[1]);
    else if (line.startsWith('-A ') && cur) cur.rules.push(line);
  }
  return out;
}

const SAVE = { 4: 'iptables-save', 6: 'ip6tables-save' } as const;
const RESTORE = { 4: 'iptables-restore', 6: 'ip6tables-restore' } as const;

/** The IPv4 and IPv6 parts of the iptables export, split at its marker lines. */
function iptParts(text: string): Record<4 | 6, string> {
  const v6 = text.indexOf('# --- ip6tables-restore (IPv6) ---\n');
  expect(v6).toBeGreaterThan(0);
  return { 4: text.slice(0, v6), 6: text.slice(v6) };
}

/**
 * Checks and loads both parts in a fresh namespace whose raw table holds a
 * sentinel chain, then: the sentinel is still there, filter has exactly its
 * three built-in chains with the rule file's policies, and FORWARD exactly
 * 2 + `rules` rules (INPUT and OUTPUT none).
 */
function expectIptablesHolds(text: string, rules: number): void {
  const p = iptParts(text);
  withNamespace((ns) => {
    for (const fam of [4, 6] as const) {
      const tool = fam === 4 ? 'iptables' : 'ip6tables';
      expect(inNs(ns, tool, ['-t', 'raw', '-N', 'SENTINEL']).code).toBe(0);
      const test = inNs(ns, RESTORE[fam], ['--test'], p[fam]);
      expect(test.code, `${RESTORE[fam]} --test: ${test.stderr}`).toBe(0);
      const load = inNs(ns, RESTORE[fam], [], p[fam]);
      expect(load.code, `${RESTORE[fam]}: ${load.stderr}`).toBe(0);
      const s = inNs(ns, SAVE[fam], []);
      expect(s.code, s.stderr).toBe(0);
      const tables = saved(s.stdout);
      expect([...tables.keys()].sort(), s.stdout).toEqual(['filter', 'raw']);
      expect(tables.get('raw')!.chains.has('SENTINEL'), 'the sentinel chain').toBe(true);
      expect(tables.get('raw')!.chains.get('PREROUTING')).toBe('ACCEPT');
      const filter = tables.get('filter')!;
      expect(Object.fromEntries(filter.chains)).toEqual({ INPUT: 'ACCEPT', FORWARD: 'DROP', OUTPUT: 'ACCEPT' });
      expect(filter.rules.filter((l) => l.startsWith('-A FORWARD '))).toHaveLength(2 + rules);
      expect(filter.rules).toHaveLength(2 + rules);
      for (const l of filter.rules) expect(CONTROL.test(l), l).toBe(false);
    }
  });
}

describe('export: hostile strings stay in their comments (the real tools, in a namespace)', () => {
  for (const [what, text] of HOSTILE) {
    toolTest('nft', nftMissing, `nft: ${what}`, async () => {
      const file = writeRuleFile(text, true);
      const r = await fwemuIn(['export', file]);
      expect(r.code, r.stderr).toBe(0);
      const comments = expectNftHolds(loadNft(r.stdout), N);
      // The ids a comment can hold as they are, it holds as they are.
      for (const id of ['semi;colon', 'brace}{', 'hash#id', 'back\\slash\\', "sq'id"]) expect(comments).toContain(id);
    });
    toolTest('iptables', iptMissing, `iptables: ${what}`, async () => {
      const file = writeRuleFile(text, true);
      const r = await fwemuIn(['export', '--format', 'iptables', file]);
      expect(r.code, r.stderr).toBe(0);
      expectIptablesHolds(r.stdout, N);
    });
  }

  toolTest('nft', nftMissing, 'nft: ids with controls set in code, and both long ids that begin alike', () => {
    const rs = ruleSetWithIds([...CODE_IDS, ...HARD_IDS]);
    rs.rules.forEach((r, i) => (r.dport = [{ lo: 2000 + i, hi: 2000 + i }]));
    expectNftHolds(loadNft(exportNft(rs)), rs.rules.length);
  });

  toolTest(
    'iptables',
    iptMissing,
    'iptables: ids with controls set in code, and both long ids that begin alike',
    () => {
      const rs = ruleSetWithIds([...CODE_IDS, ...HARD_IDS]);
      rs.rules.forEach((r, i) => (r.dport = [{ lo: 2000 + i, hi: 2000 + i }]));
      expectIptablesHolds(exportIptables(rs), rs.rules.length);
    },
  );
});
