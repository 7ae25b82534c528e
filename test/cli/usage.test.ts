/**
 * Usage errors are the user's, not fwemu's: an option given without its
 * value, or an alias, must give exit 2 and a sentence naming the option,
 * never exit 70 ("internal error") or a run on an empty file name.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { scratch } from '../support/scratch.js';
import { fwemuIn, ROOT, STACK } from './run.js';

const CAP = 'fixtures/seed-three-clients.pcap';
const RULES = 'rules/web-server.yaml';

describe('an option without its value', () => {
  it.each([
    [['export', RULES, '--split'], '--split needs a value'],
    [['replay', CAP, '-r'], '-r needs a value'],
    [['replay', CAP, '--rules'], '--rules needs a value'],
    [['conntrack', CAP, '-r'], '-r needs a value'],
    [['replay', CAP, '-r', RULES, '--write-dropped'], '--write-dropped needs a value'],
    [['replay', CAP, '-r', RULES, '--write-accepted'], '--write-accepted needs a value'],
    [['synth', 'fixtures/scenarios/seed.yaml', '-o'], '-o needs a value'],
  ])('fwemu %j: exit 2, "%s"', async (args, message) => {
    const r = await fwemuIn(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toBe(`fwemu: ${message}\nRun with --help for usage.\n`);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stdout).toBe('');
  });
});

describe('-f is --format on every command that has one', () => {
  it.each([
    [['dump', CAP, '-f', 'jsonl'], /^\{"n":1,/],
    [['export', '-f', 'iptables', RULES], /^\*filter$/m],
    [['replay', CAP, '-r', RULES, '-f', 'jsonl'], /^\{"n":1,/],
    [['conntrack', CAP, '-r', RULES, '-f', 'json'], /^\[/],
    [['sockets', CAP, '-f', 'json'], /^\[/],
  ])('fwemu %j', async (args, first) => {
    const r = await fwemuIn(args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(first);
  });
});

describe('help', () => {
  it('check --help does not show a default of [] for its rule files (given there, or with -r)', async () => {
    const r = await fwemuIn(['check', '--help']);
    expect(r.code).toBe(0);
    const block = r.stdout.slice(r.stdout.indexOf('Positionals:'), r.stdout.indexOf('Options:'));
    expect(block).toMatch(/^\s+rules\s/m);
    expect(block).not.toMatch(/default/);
  });
});

describe('rule-file warnings', () => {
  const tmp = scratch('fwemu-usage-');
  const shadow = tmp.file(
    'shadow.yaml',
    'policy: drop\nrules:\n  - { id: a, proto: tcp, dport: 8080 }\n  - { id: b, proto: tcp, dport: 8080 }\n',
  );
  const line = `${shadow}:4:5: warning: rule b is shadowed by rule a (${shadow}:3:5), which matches every packet it would\n`;
  it.each([[['export', shadow]], [['replay', CAP, '-r', shadow, '-f', 'none']], [['conntrack', CAP, '-r', shadow]]])(
    'fwemu %j: one text line, as check prints it, not a JSON log record',
    async (args) => {
      const r = await fwemuIn(args);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr.startsWith(line), r.stderr).toBe(true);
      expect(r.stderr).not.toContain('"level"');
    },
  );
});

describe('check DIR', () => {
  it('checks every rule file below the directory, and no scenario or policy test', async () => {
    const r = await fwemuIn(['check', 'rules']);
    expect(r.code, r.stderr).toBe(0);
    const checked = [...r.stdout.matchAll(/^\S+ \((rules\/[^)]+\.yaml)\):/gm)].map((m) => m[1]);
    expect(checked).toEqual([
      'rules/dns-resolver.yaml',
      'rules/home-router.yaml',
      'rules/web-server.yaml',
      'rules/workstation.yaml',
    ]);
  });

  it('says so when a directory holds no rule file (exit 2)', async () => {
    const r = await fwemuIn(['check', 'fixtures/scenarios']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'fwemu: no rule files found under fixtures/scenarios (looked for *.yaml with a rules:, chains:, interfaces: or ruleset: key)\n',
    );
  });
});

describe('an option the command does not know', () => {
  it.each([
    [['replay', CAP, '--rule', RULES], 'unknown option --rule; did you mean --rules?'],
    [['replay', CAP, '-r', RULES, '--formt', 'text'], 'unknown option --formt; did you mean --format?'],
    [['--colour', 'never', 'dump', CAP], 'unknown option --colour; did you mean --color?'],
    [['dump', CAP, '--time-format', 'epoch'], 'unknown option --time-format'],
  ])('fwemu %j: exit 2, "%s"', async (args, message) => {
    const r = await fwemuIn(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`fwemu: ${message}\nRun with --help for usage.\n`);
  });

  it('--no-X of a known --X is known', async () => {
    const r = await fwemuIn(['replay', CAP, '-r', RULES, '--no-summary', '-f', 'none']);
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('help examples', () => {
  const COMMANDS = ['replay', 'conntrack', 'dump', 'export', 'import', 'check', 'synth', 'sockets', 'test'];
  // The help of every command as an 80-column terminal gets it, in one process.
  const helps = (() => {
    const script = `process.stdout.columns = 80;
const { main } = await import(${JSON.stringify(`${ROOT}/dist/cli/main.js`)});
for (const c of ${JSON.stringify(COMMANDS)}) { await main([c, '--help']); console.log('\\u0000'); }`;
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).stdout;
    return new Map(out.split('\u0000\n').map((h, i) => [COMMANDS[i], h]));
  })();

  it.each(COMMANDS)(
    'fwemu %s --help: each example is a comment and a whole command line, within 80 columns',
    (command) => {
      const help = helps.get(command) ?? '';
      const start = help.indexOf('\nExamples:\n');
      expect(start, help).toBeGreaterThan(0);
      const lines = help.slice(start + '\nExamples:\n'.length).split('\n');
      const block = lines.slice(0, lines.indexOf(''));
      expect(block.length % 2, block.join('\n')).toBe(0);
      for (let i = 0; i < block.length; i += 2) {
        expect(block[i]).toMatch(/^ {2}# \S/);
        expect(block[i + 1]).toMatch(/^ {2}(fwemu|tcpdump) /);
        expect(block[i + 1].length, block[i + 1]).toBeLessThanOrEqual(80);
      }
    },
  );
});

describe("tcpdump's -r habit: a capture and a rule file swapped", () => {
  it('a capture after -r is named as one, not parsed as YAML (exit 2)', async () => {
    const r = await fwemuIn(['replay', '-r', CAP, CAP]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `${CAP}: 1 error in rule file\n${CAP}:1:1: this is a pcap capture, not a rule file: rule files go after -r, captures last (fwemu replay -r RULES.yaml CAPTURE)\n`,
    );
  });

  it('so is a pcapng capture, and one too big for a rule file', async () => {
    const tmp = scratch('fwemu-swap-');
    const ng = tmp.file('x.pcapng', Buffer.from([0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0]));
    const big = tmp.file('big.pcap', Buffer.concat([Buffer.from([0xd4, 0xc3, 0xb2, 0xa1]), Buffer.alloc(2 << 20)]));
    for (const [f, what] of [
      [ng, 'a pcapng capture'],
      [big, 'a pcap capture'],
    ]) {
      const r = await fwemuIn(['conntrack', '-r', f, CAP]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${f}:1:1: this is ${what}, not a rule file`);
    }
  });

  it('a rule file where the capture goes is named as one, not read as a broken scenario (exit 2)', async () => {
    const r = await fwemuIn(['replay', '-r', RULES, 'rules/dns-resolver.yaml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^rules\/dns-resolver\.yaml:\d+:1: this is a rule file \(rules:, and no hosts: or steps:\)/,
    );
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });
});
