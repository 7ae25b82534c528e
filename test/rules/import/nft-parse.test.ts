/**
 * The nft text reader's syntax: commands applied as nft -f applies them,
 * define and include, older syntax, and hostile input, which must always
 * give a positioned diagnostic and never an exception. What nft itself
 * does with each form was measured with nft 1.0.6 (`nft -f` then
 * `nft list ruleset` in a private network namespace) and is said where
 * the test relies on it.
 */
import { describe, expect, it } from 'vitest';
import { lex } from '../../../src/rules/import/nft/lexer.js';
import { parseNft } from '../../../src/rules/import/nft/parser.js';
import { chain, errors, read, readOk, rules, show } from './nft-helpers.js';

describe('lexer', () => {
  it('positions tokens by line and column; comments, continuations and ; separate', () => {
    const { tokens, diagnostics } = lex('table ip t { # c\n  chain c \\\n { accept; }\n}', 'f.nft');
    expect(diagnostics).toEqual([]);
    const shown = tokens.map((t) => `${t.kind}:${t.text}@${t.line}:${t.col}`);
    expect(shown.slice(0, 5)).toEqual(['word:table@1:1', 'word:ip@1:7', 'word:t@1:10', 'punct:{@1:12', 'nl:\n@1:17']);
    // the continuation joins line 2 and 3: no newline token between "c" and "{"
    expect(shown).toContain('word:c@2:9');
    expect(shown).toContain('punct:{@3:2');
    expect(shown[shown.indexOf('word:c@2:9') + 1]).toBe('punct:{@3:2');
  });

  it('keeps addresses, prefixes and IPv6 with brackets in one word', () => {
    const w = lex('10.0.0.0/8 fe80::/10 [2001:db8::1]:80 1024-65535 eth* 10/second', 'f').tokens;
    expect(w.filter((t) => t.kind === 'word').map((t) => t.text)).toEqual([
      '10.0.0.0/8',
      'fe80::/10',
      '[2001:db8::1]:80',
      '1024-65535',
      'eth*',
      '10/second',
    ]);
  });

  it('an unterminated string is an error at its opening quote', () => {
    const d = lex('table ip t {\n  comment "open\n}', 'f.nft').diagnostics;
    expect(d.map(show)).toEqual([
      'f.nft:2:11: nft.syntax: a string opened here is not closed on its line (nft strings end with " on the same line)',
    ]);
  });

  it('NUL bytes and control characters are named, not passed on', () => {
    const d = lex('table\u0000ip', 'f').diagnostics;
    expect(d.map(show)).toEqual(['f:1:6: nft.syntax: unexpected character U+0000']);
  });

  it('stops after 10 errors however many bad characters follow', () => {
    const d = lex('\u0001'.repeat(100_000), 'f').diagnostics;
    expect(d.length).toBe(10);
  });

  it('a 1 MB word is refused with its position', () => {
    const d = lex(`table ip ${'a'.repeat(1 << 20)}`, 'f').diagnostics;
    expect(d.map(show)).toEqual(['f:1:10: nft.too-big: a word longer than 4096 characters']);
  });
});

describe('commands and blocks', () => {
  it('applies flush ruleset, delete table, add and insert rule in order', () => {
    const r = readOk(
      [
        'table ip old { chain c { type filter hook input priority 0; }; }',
        'flush ruleset',
        'table inet t { chain input { type filter hook input priority 0; }; }',
        'table ip gone { }',
        'delete table ip gone',
        'add rule inet t input tcp dport 22 accept',
        'insert rule inet t input iifname "lo" accept',
        'add chain inet t user',
        'add rule inet t user udp dport 53 drop',
      ].join('\n'),
    );
    expect(r.firewall.chains.map((c) => c.name)).toEqual(['input', 'user']);
    expect(chain(r, 'input').rules.map((x) => x.origin?.text)).toEqual(['iifname "lo" accept', 'tcp dport 22 accept']);
  });

  it('add element joins a set declared earlier; the rule sees every element', () => {
    const r = readOk(
      'table ip t {\n set s { type ipv4_addr; }\n chain input { type filter hook input priority 0; ip saddr @s drop; }\n}\nadd element ip t s { 10.0.0.1, 10.0.0.2 }\n',
    );
    expect(r.firewall.sets.map((s) => [s.name, s.addrs?.cidrs.map((c) => c.text)])).toEqual([
      ['s', ['10.0.0.1', '10.0.0.2']],
    ]);
  });

  it('a rule for a chain that does not exist is an error naming it (nft: No such file or directory)', () => {
    expect(errors('table ip t { }\nadd rule ip t input accept').map(show)).toEqual([
      'rules.nft:2:15: nft.unknown-chain: chain input does not exist in table ip t',
    ]);
  });

  it('delete table of a table that does not exist is an error, as in nft (sets_and_maps.nft fails the same way)', () => {
    expect(errors('delete table filter').map((d) => d.code)).toEqual(['nft.unknown-table']);
    expect(errors('destroy table filter')).toEqual([]);
  });

  it('reads objects, flowtables, table flags and comments as nft list ruleset prints them', () => {
    const p = parseNft(
      `table inet t {
  comment "x"
  flowtable ft { hook ingress priority filter; devices = { eth0, eth1 }; }
  counter c1 { packets 0 bytes 0 }
  quota q { over 25 mbytes used 0 bytes }
  ct helper ftp-std { type "ftp" protocol tcp; l3proto inet; }
  limit lim { rate 400/minute burst 5 packets }
  chain input { type filter hook input priority filter; policy accept; flow add @ft; }
}`,
      'f',
      { lenient: false },
    );
    expect(p.diagnostics).toEqual([]);
    const t = p.ruleset.tables[0];
    expect(t.comment).toBe('x');
    expect(t.flowtables.map((f) => f.name)).toEqual(['ft']);
    expect(t.objects.map((o) => `${o.kind} ${o.name}`)).toEqual([
      'counter c1',
      'quota q',
      'ct helper ftp-std',
      'limit lim',
    ]);
  });
});

describe('define', () => {
  it('substitutes values, sets and sets of sets (nft flattens them)', () => {
    const r = readOk(`define IF = "eth0"
define A = { 10.0.0.1, 10.0.0.2 }
define B = { $A, 192.168.0.0/16 }
define P = { ssh, 8000-8099 }
table inet t {
 chain input { type filter hook input priority 0;
  iifname $IF ip saddr $B tcp dport $P accept
 }
}`);
    const [x] = chain(r, 'input').rules;
    expect(x.iif).toEqual(['eth0']);
    expect(x.src?.cidrs.map((c) => c.text)).toEqual(['10.0.0.1', '10.0.0.2', '192.168.0.0/16']);
    expect(x.dport?.ranges).toEqual([
      { lo: 22, hi: 22 },
      { lo: 8000, hi: 8099 },
    ]);
  });

  it('$name:port in a NAT target: the name ends at the colon, as in nft (nft -c accepts this file)', () => {
    const r = readOk(
      'define srv = 10.0.0.5\ntable ip nat { chain p { type nat hook prerouting priority dstnat; tcp dport 2222 dnat to $srv:22; }; }',
    );
    expect(chain(r, 'p').rules[0].nat?.text).toBe('dnat ip to 10.0.0.5:22');
  });

  it('a define inside a block is not seen after it (nft scopes defines to their block)', () => {
    const e = errors('table ip a {\n define X = 1\n}\ntable ip b { chain c { tcp dport $X accept; }; }');
    expect(e.map(show)).toEqual([
      'rules.nft:4:34: nft.undefined-variable: $X is not defined (a define must come before its use)',
    ]);
  });

  it('an undefined variable is an error at its $', () => {
    expect(errors('table ip t { chain c { iifname $WAN accept; }; }').map(show)).toEqual([
      'rules.nft:1:32: nft.undefined-variable: $WAN is not defined (a define must come before its use)',
    ]);
  });
});

describe('include', () => {
  const files: Record<string, string> = {
    '/etc/nftables.conf': 'include "rules/filter.nft"\n',
    '/etc/rules/filter.nft':
      'include "./defs.nft"\ntable inet t { chain input { type filter hook input priority 0; iifname $LAN accept; }; }\n',
    '/etc/rules/defs.nft': 'define LAN = "lan0"\n',
    '/loop/a.nft': 'include "b.nft"\n',
    '/loop/b.nft': 'include "a.nft"\n',
  };
  const readInclude = (p: string) => (p in files ? { text: files[p] } : { error: 'no such file' });

  it('reads files relative to the including file; positions name the included file', () => {
    const r = read(files['/etc/nftables.conf'], { readInclude }, '/etc/nftables.conf');
    expect(r.diagnostics).toEqual([]);
    const [x] = chain(r, 'input').rules;
    expect(x.iif).toEqual(['lan0']);
    expect(x.origin).toEqual({ file: '/etc/rules/filter.nft', line: 2, col: 65, text: 'iifname $LAN accept' });
  });

  it('an include loop is an error, not a hang', () => {
    const r = read(files['/loop/a.nft'], { readInclude }, '/loop/a.nft');
    expect(r.diagnostics.map(show)).toEqual([
      '/loop/b.nft:1:9: nft.include-loop: include "a.nft": /loop/a.nft is already being read (an include loop)',
    ]);
  });

  it('includes nested deeper than 16 are refused', () => {
    const deep = (p: string) => {
      const n = Number(/([0-9]+)/.exec(p)?.[1] ?? 0);
      return { text: `include "f${n + 1}.nft"\n` };
    };
    const r = read('include "f1.nft"', { readInclude: deep }, '/d/f0.nft');
    expect(r.diagnostics.map((d) => d.code)).toEqual(['nft.include-depth']);
  });

  it('a missing file and includes without a reader are errors naming the file', () => {
    expect(read('include "nope.nft"', { readInclude }, '/etc/x.nft').diagnostics.map(show)).toEqual([
      '/etc/x.nft:1:9: nft.include: include "nope.nft": no such file',
    ]);
    expect(read('include "nope.nft"').diagnostics.map((d) => d.code)).toEqual(['nft.include']);
  });
});

describe('older syntax found in the wild', () => {
  it('reads type/hook/priority and policy without semicolons, and priority names with offsets', () => {
    const r = readOk(`table ip nat {
 chain pre {
  type nat hook prerouting priority dstnat + 5
  policy drop
 }
 chain post { type nat hook postrouting priority srcnat - 1 policy accept; }
 chain m { type filter hook forward priority mangle; }
}`);
    // nft 1.0.6 lists these as "priority dstnat + 5; policy drop;" (-95) and "srcnat - 1" (99)
    expect(r.firewall.chains.map((c) => [c.name, c.priority, c.policy])).toEqual([
      ['pre', -95, 'drop'],
      ['post', 99, 'accept'],
      ['m', -150, 'accept'],
    ]);
  });

  it('dnat without to, and the address:port word', () => {
    const [a, b] = rules(' tcp dport 80 dnat 10.0.0.2\n tcp dport 81 dnat 10.0.0.3:8080', 'ip').map((x) => x.nat?.text);
    expect([a, b]).toEqual(['dnat ip to 10.0.0.2', 'dnat ip to 10.0.0.3:8080']);
  });

  it('"mangle-5" as one word is refused, as nft refuses it', () => {
    expect(errors('table ip t { chain c { type filter hook input priority mangle-5; }; }').map((d) => d.code)).toEqual([
      'nft.bad-chain',
    ]);
  });
});

describe('hostile input never throws', () => {
  it('braces nested 100000 deep', () => {
    const r = read(`define X = ${'{'.repeat(100_000)}`);
    expect(r.diagnostics.map((d) => d.code)).toEqual(['nft.too-big']);
  });

  it('huge numbers are positioned errors', () => {
    expect(errors(`table ip t { chain c { tcp dport ${'9'.repeat(30)} accept; }; }`).map((d) => d.code)).toEqual([
      'nft.bad-value',
    ]);
    expect(errors('table ip t { chain c { meta mark 0x1ffffffff accept; }; }').map((d) => d.code)).toEqual([
      'nft.bad-value',
    ]);
    expect(
      errors(`table ip t { chain c { type filter hook input priority ${'9'.repeat(20)}; }; }`).map((d) => d.code),
    ).toEqual(['nft.bad-chain']);
  });

  it('random bytes and random token soup give diagnostics, never an exception', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const words = [
      'table',
      'inet',
      'ip',
      't',
      'chain',
      'c',
      '{',
      '}',
      ';',
      '\n',
      'type',
      'filter',
      'hook',
      'input',
      'priority',
      '0',
      'tcp',
      'dport',
      '22',
      'accept',
      '$x',
      '@s',
      'define',
      'x',
      '=',
      'vmap',
      ':',
      '.',
      ',',
      '"',
      'map',
      'dnat',
      'to',
      '1.2.3.4',
      'ct',
      'state',
      'set',
      'include',
      '(',
      ')',
      '|',
      '&',
      '!=',
    ];
    for (let i = 0; i < 400; i++) {
      const n = 1 + rnd(60);
      const text =
        i % 2 === 0
          ? Array.from({ length: n }, () => words[rnd(words.length)]).join(' ')
          : String.fromCharCode(...Array.from({ length: n }, () => rnd(256)));
      const r = read(text, { lenient: i % 4 < 2, readInclude: () => ({ text }) });
      for (const d of r.diagnostics) {
        expect(d.line).toBeGreaterThan(0);
        expect(d.col).toBeGreaterThan(0);
      }
    }
  });
});

describe('bounds on what one statement or ruleset may cost', () => {
  it('at most 1024 includes in all (each splices its tokens in)', () => {
    const r = read('include "e.nft"\n'.repeat(2000), { readInclude: () => ({ text: '' }) }, '/x/main.nft');
    expect(r.diagnostics.map(show)).toEqual(['/x/main.nft:1025:9: nft.too-big: more than 1024 includes in all']);
  });

  it('a chain of 100000 | operators is refused, not walked recursively', () => {
    const r = read(`table ip t { chain c { tcp flags ${Array(100_000).fill('syn').join(' | ')} accept; }; }`);
    expect(r.diagnostics.map((d) => d.code)).toEqual(['nft.too-big']);
    const m = read(`table ip t { chain c { meta mark set ${Array(100_000).fill('1').join(' or ')}; }; }`);
    expect(m.diagnostics.map((d) => d.code)).toEqual(['nft.too-big']);
  });
});
