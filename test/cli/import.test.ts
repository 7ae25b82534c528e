/**
 * `fwemu import` and `fwemu check`'s list of what was left out, run
 * in-process (each command's run(args, io)) with a fake reader standing in
 * for the nft and iptables readers (test/rules/import/fake-reader.ts),
 * which are tested on their own.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run as check } from '../../src/cli/check.js';
import { run as importRun } from '../../src/cli/import.js';
import { makeLogger } from '../../src/cli/log.js';
import { loadRuleFiles, NO_HOST } from '../../src/rules/import/load-rules.js';
import { setReader } from '../../src/rules/import/readers.js';
import { parseRuleSet } from '../../src/rules/load.js';
import type { Firewall } from '../../src/rules/firewall.js';
import { fakeReader } from '../rules/import/fake-reader.js';
import { fwemuIn } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'fwemu-import-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

let undo: (() => void)[] = [];
beforeEach(() => {
  undo = [setReader('nft', fakeReader('nft')), setReader('iptables-save', fakeReader('iptables-save'))];
});
afterEach(() => {
  for (const u of undo) u();
});

async function inProcess(
  cmd: (args: never, io: never) => Promise<number>,
  args: Record<string, unknown>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: new Writable({
      write(c: Buffer | string, _e, done) {
        stdout += c.toString();
        done();
      },
    }),
    stderr: { write: (s: string) => (stderr += s) },
  };
  const all = { verbose: 0, color: 'never', log: makeLogger(0, undefined, io.stderr), lenient: false, ...args };
  const code = await (cmd as unknown as (a: unknown, i: unknown) => Promise<number>)(all, io);
  return { code, stdout, stderr };
}

const RULESET = `*filter
chain INPUT input 0 inet filter iif lan0 ignored counter
chain FORWARD forward 0 inet filter jump CHECKS
chain CHECKS - 0 inet filter drop
chain SLOW - 0 inet filter inert
`;

/** The model with what YAML keeps only in comments left out (see test/export/fwemu-yaml.test.ts). */
function comparable(fw: Firewall): unknown {
  return {
    interfaces: fw.interfaces.map(({ pos: _p, ...i }) => i),
    sets: fw.sets,
    chains: fw.chains.map(({ pos: _p, origin: _o, table: _t, ...c }) => ({
      ...c,
      family: c.family ?? null,
      rules: c.rules
        .filter((r) => !r.inert)
        .map(({ pos: _p, origin: _o, ignored: _i, inert: _n, idGiven: _g, index: _x, ...r }) => r),
    })),
  };
}

describe('fwemu import', () => {
  it('prints YAML that loads back into the imported model, each rule after its origin', async () => {
    const f = file('rules.v4', RULESET);
    const host = { iface: ['lan0=192.168.1.1/24', 'wan0=203.0.113.2/24'], route: ['default@wan0'] };
    const r = await inProcess(importRun, { files: [f], ...host });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const imported = loadRuleFiles([f], { ...NO_HOST, ...host }, { lenient: false }).ruleset.firewall as Firewall;
    const back = parseRuleSet(r.stdout, 'import.yaml').ruleset.firewall as Firewall;
    expect(comparable(back)).toEqual(comparable(imported));
    expect(r.stdout).toContain(
      `      # ${f}:2: chain INPUT input 0 inet filter iif lan0 ignored counter\n      - { iif: lan0, action: accept }\n`,
    );
    expect(r.stdout).toContain(`# ignored: ${f}:2 \`counter\` - counts packets; the verdict is unchanged\n`);
    expect(r.stdout).toContain('# left out (--lenient): the rule never matches (-m recent is not modelled)\n');
    expect(r.stdout.split('\n')[0]).toBe(`# fwemu import of ${f} (an iptables-save dump)`);
  });

  it('without a host description: the YAML still loads, and the warning names the flags', async () => {
    const f = file('a.nft', 'chain input input 0 inet filter iif lan0\n');
    const r = await inProcess(importRun, { files: [f] });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^.*a\.nft:1:1: warning: no host description: .*--ip-addr FILE --ip-route FILE/);
    expect(parseRuleSet(r.stdout, 'x.yaml').ruleset.firewall?.interfaces.map((i) => i.name)).toEqual(['lo', 'lan0']);
  });

  it('says when the YAML is larger than fwemu reads from a YAML file', async () => {
    const lines = Array.from({ length: 9000 }, (_, i) => `chain c${i} input 0 inet filter iif lan0 ignored counter`);
    const f = file('big.nft', `${lines.join('\n')}\n`);
    const r = await inProcess(importRun, { files: [f], iface: ['lan0=10.0.0.1/24'] });
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(1 << 20);
    expect(r.stderr).toBe(
      `fwemu: warning: the YAML is ${Buffer.byteLength(r.stdout)} bytes, more than fwemu reads from a YAML rule file (1048576); to judge traffic, give the ruleset itself: fwemu replay -r ${f} ...\n`,
    );
  });

  it("refuses fwemu's own YAML", async () => {
    await expect(inProcess(importRun, { files: ['rules/home-router.yaml'] })).rejects.toThrow(
      /rules\/home-router\.yaml is fwemu's own YAML already/,
    );
  });
});

describe('fwemu check: what was left out', () => {
  it('lists the ignored constructs with their meaning, and the inert rules', async () => {
    const f = file('rules.v4', RULESET);
    const r = await inProcess(check, { rules: [f], iface: ['lan0=192.168.1.1/24'] });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n').filter((l) => /^(ignored|inert): /.test(l));
    expect(lines).toEqual([
      `ignored: ${f}:2 \`counter\` - counts packets; the verdict is unchanged`,
      `inert: ${f}:5 \`chain SLOW - 0 inet filter inert\` - the rule never matches (-m recent is not modelled)`,
    ]);
  });

  it('-r files are checked together; an error in one fails the check (exit 1) with its position', async () => {
    const v4 = file('r.v4', '*filter\nchain INPUT input 0 ip filter\n');
    const v6 = file('r.v6', '*filter\nchain INPUT input 0 ip6 filter error queue\n');
    const r = await inProcess(check, { rules: [], ruleset: [v4, v6] });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${v6}:2:5: queue is not supported`);
    const ok = await inProcess(check, { rules: [], ruleset: [v4, v6], lenient: true });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`${v6}:2:5: warning: queue is not supported`);
  });
});

describe('fwemu check -r, through the command line parser', () => {
  it('checks the -r files together, with no positional file', async () => {
    const r = await fwemuIn(['check', '-r', 'fixtures/rulesets/arch-simple-safe.nft']);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code).toBe(0);
    // The ruleset's own input chain, named from the file the kernel reads.
    expect(r.stdout).toMatch(/chain input \(table inet filter, filter, hook input, priority 0\)/);
  });
});

describe('fwemu check: a log statement of a real nftables rule', () => {
  it('is listed as ignored with what that means, and the rule still judges', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fwemu-check-log-'));
    try {
      const f = join(dir, 'fw.nft');
      writeFileSync(
        f,
        'table inet f {\n  chain input {\n    type filter hook input priority 0; policy drop;\n    tcp dport 22 log prefix "ssh: " accept\n  }\n}\n',
      );
      const r = await fwemuIn(['check', '-r', f, '--iface', 'eth0=192.0.2.1/24']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(
        `ignored: ${f}:4 \`log prefix "ssh: "\` - logs the packet to the kernel log, which fwemu does not write; the verdict is unchanged`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
