/**
 * `fwemu export` (nftables): rule comments.
 *
 * nft refuses a comment over 128 bytes ("comment too long, 128 characters
 * maximum allowed"; nftables compares strlen() with libnftnl's
 * NFTNL_UDATA_COMMENT_MAXLEN, so bytes of UTF-8, not characters). A rule
 * file accepts ids of up to 64 UTF-16 units, up to 192 bytes, so the export
 * must cut them. nft reads every byte between the double quotes as it is
 * (a backslash escapes nothing, a double quote cannot be written at all),
 * so the bytes it counts are the bytes between the quotes in the file.
 *
 * Every expected comment below is worked out by hand: é is 2 bytes, € 3,
 * 😀 4 (two UTF-16 units), `\` and `"` 1 (a `"` is written `'`). A comment
 * that is not the id itself (cut, or a `"` changed) keeps 119 bytes and ends
 * in `~` and 8 hex digits of a hash of the id (comment-cases.ts hashed()), so
 * that ids which begin alike, or differ only in `"` and `'`, stay apart.
 *
 * The real-tool tests need `nft` (Debian package nftables), `ip` (iproute2)
 * and root; without them they are skipped, except under CI=true, where they
 * fail with the reason.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cutUtf8 } from '../../src/export/comment.js';
import { exportNft } from '../../src/export/nft.js';
import type { RuleSet } from '../../src/rules/types.js';
import { ok, ruleSetWithIds } from '../rules/helpers.js';
import { acrossTheLimit, hashed } from './comment-cases.js';
import { namespaces, run, toolsMissing, toolTest } from './netns.js';

// ---------------------------------------------------------------- rule sets and their hand-cut comments

/**
 * Ids a rule file accepts (at most 64 UTF-16 units), each with the comment
 * nft must get. A 64-unit id reaches 128 bytes only with 3-byte characters
 * (64 😀 units are 32 characters, exactly 128 bytes), so the cuts are € ones.
 */
const FILE_IDS: [id: string, comment: string][] = [
  // 119 bytes are kept of a cut id, before "~" and 8 hex digits (hashed()).
  ['€'.repeat(43), hashed('€'.repeat(39), '€'.repeat(43))], // the reported case: 129 bytes; a 40th € would be bytes 118-120
  ['a' + '€'.repeat(43), hashed('a' + '€'.repeat(39), 'a' + '€'.repeat(43))], // 130 bytes: 118 kept
  ['ab' + '€'.repeat(43), hashed('ab' + '€'.repeat(39), 'ab' + '€'.repeat(43))], // 131 bytes: the 39th € ends exactly at byte 119
  ['€'.repeat(64), hashed('€'.repeat(39), '€'.repeat(64))], // 192 bytes, the longest id a rule file can give
  ['é'.repeat(64), 'é'.repeat(64)], // exactly 128 bytes: kept whole
  ['😀'.repeat(32), '😀'.repeat(32)], // 64 UTF-16 units, exactly 128 bytes: kept whole
  ['€'.repeat(42) + 'a"', hashed('€'.repeat(39), '€'.repeat(42) + 'a"')], // 128 bytes, but the quote changes it: hashed, so cut
  ['€'.repeat(42) + 'ab"', hashed('€'.repeat(39), '€'.repeat(42) + 'ab"')],
  ['"' + '€'.repeat(43), hashed("'" + '€'.repeat(39), '"' + '€'.repeat(43))], // 130 bytes, a quote first
  ['\\'.repeat(64), '\\'.repeat(64)], // 64 bytes as nft counts them (escaped, it would store 128 backslashes)
  ['odd"id\\with\'quotes#', hashed("odd'id\\with'quotes#", 'odd"id\\with\'quotes#')], // changed (" is ') : a hash tells it from odd'id...
  ["odd'id\\with'quotes#", "odd'id\\with'quotes#"], // the id that would have had the same comment: itself
];

/** A rule file (YAML text) with one tcp/22 rule per FILE_IDS entry. */
function fileRuleSet(): RuleSet {
  const yamlQuote = (s: string): string => `'${s.replaceAll("'", "''")}'`;
  return ok(`rules:\n${FILE_IDS.map(([id]) => `  - id: ${yamlQuote(id)}\n    proto: tcp\n    dport: 22\n`).join('')}`)
    .ruleset;
}

/** Longer ids, set in code on a loaded RuleSet, across the 128-byte boundary. */
const CODE_IDS: [id: string, comment: string][] = [
  ...acrossTheLimit(128),
  ['é'.repeat(65), hashed('é'.repeat(59), 'é'.repeat(65))], // 130 bytes: 118 kept
  ['😀'.repeat(40), hashed('😀'.repeat(29), '😀'.repeat(40))], // 160 bytes: 116 kept
  ['a'.repeat(127) + '\\x', hashed('a'.repeat(119), 'a'.repeat(127) + '\\x')],
  ['a'.repeat(118) + '\\' + 'x'.repeat(20), hashed('a'.repeat(118) + '\\', 'a'.repeat(118) + '\\' + 'x'.repeat(20))], // the backslash is byte 119 and one byte to nft: kept
  ['a'.repeat(118) + '"' + 'x'.repeat(20), hashed('a'.repeat(118) + "'", 'a'.repeat(118) + '"' + 'x'.repeat(20))], // the quote is byte 119: kept, as '
  ['a'.repeat(119) + '"', hashed('a'.repeat(119), 'a'.repeat(119) + '"')], // the quote would be byte 120
  ['\\'.repeat(100), '\\'.repeat(100)], // 100 bytes as nft counts them (escaped, 200)
];

const codeRuleSet = (): RuleSet => ruleSetWithIds(CODE_IDS.map(([id]) => id));

/** The comments of an nft ruleset text, read as nft reads a quoted string: every byte up to the next `"`. */
function comments(text: string): string[] {
  return text.split('\n').flatMap((line) => {
    const m = / comment "([^"]*)"$/.exec(line);
    return m && m[1] !== 'policy reject' ? [m[1]] : [];
  });
}

describe('export (nft): rule comments fit in 128 bytes', () => {
  it('cutUtf8 keeps whole characters up to the limit (hand-worked)', () => {
    expect(cutUtf8('abc', 3)).toBe('abc');
    expect(cutUtf8('abcd', 3)).toBe('abc');
    expect(cutUtf8('aé', 2)).toBe('a'); // é would be bytes 2-3
    expect(cutUtf8('a😀', 4)).toBe('a'); // 😀 would be bytes 2-5: not half a surrogate pair
    expect(cutUtf8('a😀', 5)).toBe('a😀');
    expect(cutUtf8('€€', 5)).toBe('€');
    expect(cutUtf8('é', 0)).toBe('');
  });

  it('ids from a rule file: the comments are the hand-cut ones, at most 128 bytes, whole characters', () => {
    const got = comments(exportNft(fileRuleSet()));
    expect(got).toEqual(FILE_IDS.map(([, c]) => c));
    for (const c of got) {
      expect(Buffer.byteLength(c, 'utf8')).toBeLessThanOrEqual(128);
      expect(Buffer.from(c, 'utf8').toString('utf8')).toBe(c); // no U+FFFD, no lone surrogate
    }
  });

  it('longer ids set in code: the same, across the 128-byte boundary with 1- to 4-byte characters', () => {
    const got = comments(exportNft(codeRuleSet()));
    expect(got).toEqual(CODE_IDS.map(([, c]) => c));
    for (const c of got) expect(Buffer.byteLength(c, 'utf8')).toBeLessThanOrEqual(128);
  });

  it('an id in two nft rules (IPv4 and IPv6 addresses) gets the same cut comment in both', () => {
    const rs = ok(`rules:\n  - id: ${'€'.repeat(43)}\n    src: [10.1.0.0/16, "fd00:1::/64"]\n`).ruleset;
    const c = hashed('€'.repeat(39), '€'.repeat(43));
    expect(comments(exportNft(rs))).toEqual([c, c]);
  });
});

// ---------------------------------------------------------------- the real nft

const tmp = mkdtempSync(join(tmpdir(), 'fwemu-nft-'));
let fileCount = 0;
const withNamespace = namespaces('fwemu-nft-test-');

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const missing = toolsMissing(
  [
    ['nft', 'nftables'],
    ['ip', 'iproute2'],
  ],
  'nft',
  () => withNamespace(() => undefined),
);

/** `nft ARGS -f FILE` in namespace ns, FILE holding text. */
function nftFile(ns: string, args: string[], text: string): { code: number; stdout: string; stderr: string } {
  const file = join(tmp, `${fileCount++}.nft`);
  writeFileSync(file, text);
  return run('ip', ['netns', 'exec', ns, 'nft', ...args, '-f', file]);
}

/** A one-rule ruleset whose comment is written exactly as given, between double quotes. */
const withComment = (raw: string): string =>
  `table inet t {\n  chain c {\n    type filter hook forward priority filter; policy accept;\n    tcp dport 22 accept comment "${raw}"\n  }\n}\n`;

/** The rule comments of what the kernel holds, as `nft -j list ruleset` gives them. */
function listedComments(ns: string): string[] {
  const r = run('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'ruleset']);
  expect(r.code, r.stderr).toBe(0);
  const items = (JSON.parse(r.stdout) as { nftables: { rule?: { comment?: string } }[] }).nftables;
  return items.flatMap((i) =>
    i.rule?.comment !== undefined && i.rule.comment !== 'policy reject' ? [i.rule.comment] : [],
  );
}

describe('export (nft): the real nft', () => {
  toolTest(
    'nft',
    missing,
    'the limit: nft -c accepts 128 bytes of comment and refuses 129, counting bytes, and a backslash is one of them',
    () => {
      withNamespace((ns) => {
        const accepted = [
          'a'.repeat(128),
          '€'.repeat(42) + 'ab',
          'é'.repeat(64),
          '😀'.repeat(32),
          'a'.repeat(127) + '\\',
        ];
        for (const c of accepted) {
          const r = nftFile(ns, ['-c'], withComment(c));
          expect(r.code, `${Buffer.byteLength(c)} bytes: ${r.stderr}`).toBe(0);
        }
        // 43 € are 43 characters but 129 bytes; "\\" is two bytes to nft, not an escaped one.
        const refused = [
          'a'.repeat(129),
          '€'.repeat(43),
          'é'.repeat(64) + 'a',
          'a'.repeat(125) + '😀',
          'a'.repeat(127) + '\\\\',
        ];
        for (const c of refused) {
          const r = nftFile(ns, ['-c'], withComment(c));
          expect(r.code, `${Buffer.byteLength(c)} bytes`).not.toBe(0);
          expect(r.stderr).toMatch(/comment.*(too long|128)/i); // nft 1.0.6 says "comment too long, 128 characters maximum allowed"
        }
        // And a double quote cannot be escaped: this is a syntax error, which is why the export writes '.
        const quote = nftFile(ns, ['-c'], withComment('a\\"b'));
        expect(quote.code).not.toBe(0);
        expect(quote.stderr).toMatch(/syntax error/);
      });
    },
  );

  toolTest(
    'nft',
    missing,
    'nft -c -f accepts the export of a rule file with long multi-byte ids, quotes and backslashes',
    () => {
      withNamespace((ns) => {
        for (const [name, rs] of [
          ['rule file', fileRuleSet()],
          ['ids set in code', codeRuleSet()],
        ] as const) {
          const text = exportNft(rs);
          const r = nftFile(ns, ['-c'], text);
          expect(r.code, `${name}: nft -c -f: ${r.stderr}`).toBe(0);
        }
      });
    },
  );

  toolTest('nft', missing, 'loaded with nft -f, the kernel holds exactly the hand-cut comments', () => {
    for (const [rs, ids] of [
      [fileRuleSet(), FILE_IDS],
      [codeRuleSet(), CODE_IDS],
    ] as const) {
      withNamespace((ns) => {
        const r = nftFile(ns, [], exportNft(rs));
        expect(r.code, r.stderr).toBe(0);
        expect(listedComments(ns)).toEqual(ids.map(([, c]) => c));
      });
    }
  });
});

describe('export: the kernel settings a policy assumes', () => {
  // Each pair moved both ways from the defaults (3 MiB low, 4 MiB high): one order of the two writes fails in the kernel.
  const CASES = [
    { low: 0, high: 65536 },
    { low: 8388608, high: 16777216 },
  ];
  const text = (c: { low: number; high: number }) =>
    `policy: drop\nrules:\n  - { id: web, proto: tcp, dport: 80 }\nconntrack:\n  tcp_loose: 0\n  frag6_low_thresh: ${c.low}\n  frag6_high_thresh: ${c.high}\nipv4:\n  ipfrag_low_thresh: ${c.low}\n  ipfrag_high_thresh: ${c.high}\n  ipfrag_time: 45\n`;
  const sysctlLines = (out: string) =>
    out
      .split('\n')
      .filter((l) => l.startsWith('#   sysctl -w '))
      .map((l) => l.slice('#   sysctl -w '.length));

  it('names every changed sysctl by its full name, conntrack and net.ipv4 alike', () => {
    const lines = sysctlLines(exportNft(ok(text(CASES[0])).ruleset));
    expect(new Set(lines)).toEqual(
      new Set([
        'net.netfilter.nf_conntrack_tcp_loose=0',
        'net.netfilter.nf_conntrack_frag6_low_thresh=0',
        'net.netfilter.nf_conntrack_frag6_high_thresh=65536',
        'net.ipv4.ipfrag_low_thresh=0',
        'net.ipv4.ipfrag_high_thresh=65536',
        'net.ipv4.ipfrag_time=45',
      ]),
    );
  });

  toolTest(
    'sysctl',
    missing,
    'applied in the order written, in a fresh namespace, the kernel takes every one and holds the values',
    () => {
      for (const c of CASES) {
        withNamespace((ns) => {
          // The export itself loaded first: nf_conntrack's sysctls appear in a namespace once conntrack is in use there.
          const exported = exportNft(ok(text(c)).ruleset);
          const loaded = nftFile(ns, [], exported);
          expect(loaded.code, loaded.stderr).toBe(0);
          const lines = sysctlLines(exported);
          for (const l of lines) {
            const r = run('ip', ['netns', 'exec', ns, 'sysctl', '-w', l]);
            expect(r.code, `sysctl -w ${l}: ${r.stderr}`).toBe(0);
          }
          for (const l of lines) {
            const [k, v] = l.split('=');
            expect(run('ip', ['netns', 'exec', ns, 'sysctl', '-n', k]).stdout.trim(), k).toBe(v);
          }
        });
      }
    },
  );
});
