/**
 * Hostile and broken YAML inputs (rule files, scenarios, policy tests)
 * through the CLI: each is refused with file:line:col and what is wrong
 * (with "did you mean" for typos), exit 2 (`fwemu check`: 1, "the answer is
 * no"), quickly, and never with a stack trace or exit 70.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generate, parseScenario, ScenarioError } from '../../src/synth/index.js';
import { fwemuIn, ROOT, STACK } from '../cli/run.js';

const dir = mkdtempSync(join(tmpdir(), 'fwemu-yaml-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

function file(name: string, text: string | Buffer): string {
  const p = join(dir, `${counter++}-${name}`);
  writeFileSync(p, text);
  return p;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI in this process (fwemuIn): these inputs need no process of their own. */
async function fwemu(args: string[]): Promise<Run> {
  return fwemuIn(args);
}

/** A refusal: the exit code, no stack trace, and each expected line in the output. */
function refused(r: Run, code: number, ...lines: string[]): void {
  expect(r.code, r.stdout + r.stderr).toBe(code);
  expect(r.stderr + r.stdout).not.toMatch(STACK);
  expect(r.stderr + r.stdout).not.toMatch(/internal error/);
  for (const l of lines) expect(r.stderr + r.stdout).toContain(l);
}

const BOMB = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
  'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
  'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
  'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
  'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
  'g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
].join('\n');
const DEEP = '['.repeat(100_000) + ']'.repeat(100_000);
const CAPTURE = 'fixtures/http-curl.pcap';

describe('rule files', () => {
  const replayWith = (rules: string) => fwemu(['replay', '-r', rules, '--format', 'none', CAPTURE]);

  it('a YAML syntax error: its line and column', async () => {
    const f = file('syntax.yaml', 'policy: drop\nrules:\n  - { id: a, proto: tcp, dport: [80, 81 }\n');
    refused(
      await replayWith(f),
      2,
      `${f}:3:41: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]`,
    );
    refused(await fwemu(['check', f]), 1, `${f}:3:41: YAML syntax error`);
  });

  it('duplicate keys: both positions', async () => {
    const f = file(
      'dup.yaml',
      'policy: drop\npolicy: accept\nrules:\n  - id: a\n    proto: tcp\n    dport: 80\n    dport: 81\n',
    );
    refused(
      await replayWith(f),
      2,
      `${f}:2:1: duplicate key "policy" (first given at ${f}:1:1); each key may appear once`,
      `${f}:7:5: duplicate key "dport" (first given at ${f}:6:5); each key may appear once`,
    );
  });

  it('an alias bomb ("billion laughs"): refused at its first alias, at once', async () => {
    const f = file('bomb.yaml', `policy: drop\n${BOMB}\nrules:\n  - { id: web, proto: tcp, dport: 8080 }\n`);
    const r = await replayWith(f);
    // (Refused at the alias, not after expanding: an expansion would never end, and the test would hang.)
    refused(r, 2, `${f}:3:8: too many YAML alias expansions`);
  });

  it('a file over 1 MiB: refused before parsing, with its size', async () => {
    const text = 'policy: drop\nrules:\n' + '  - { proto: tcp, dport: 8080 }\n'.repeat(40_000);
    expect(text.length).toBe(20 + 32 * 40_000);
    const f = file('huge.yaml', text);
    refused(await replayWith(f), 2, `${f}:1:1: file is 1280020 bytes; rule files are limited to 1048576 bytes (1 MiB)`);
  });

  it('nesting 100000 deep: a positioned error, not a crash', async () => {
    const f = file('deep.yaml', `policy: drop\nrules: ${DEEP}\n`);
    refused(await replayWith(f), 2, `${f}:2:`);
  });

  it('wrong types and unknown keys, with a suggestion', async () => {
    const f = file(
      'typo.yaml',
      'policy: drop\nrules:\n  - id: a\n    proto: tcp\n    dprot: 80\n  - id: b\n    proto: tpc\n    dport: [a]\n',
    );
    refused(
      await replayWith(f),
      2,
      `${f}:5:5: unknown key "dprot" in rule a; did you mean "dport"?`,
      `${f}:7:12: rule b: proto "tpc" is not allowed; did you mean "tcp"?`,
      `${f}:8:13: dport "a" is not a port`,
    );
  });

  it('fwemu check: a shadowed rule is a warning naming both rules and positions (exit 0)', async () => {
    const f = file(
      'shadow.yaml',
      'policy: drop\nrules:\n  - id: all-web\n    proto: tcp\n    dport: 8000-8999\n  - id: web\n    proto: tcp\n    dport: 8080\n',
    );
    const r = await fwemu(['check', f]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain(
      `${f}:6:5: warning: rule web is shadowed by rule all-web (${f}:3:5), which matches every packet it would`,
    );
  });

  it('not YAML at all (a capture), a directory, an empty file, a missing file', async () => {
    const bin = file('binary.yaml', readFileSync(join(ROOT, CAPTURE)));
    refused(await replayWith(bin), 2, `${bin}:`);
    const d = join(dir, 'a-directory.yaml');
    mkdirSync(d);
    refused(await replayWith(d), 2, `${d}: cannot read rule file: it is a directory`);
    const empty = file('empty.yaml', '');
    refused(await replayWith(empty), 2, `${empty}:1:1: the file is empty`);
    refused(
      await replayWith(join(dir, 'missing.yaml')),
      2,
      `${join(dir, 'missing.yaml')}: cannot read rule file: no such file`,
    );
  });
});

describe('scenarios', () => {
  const HEAD = 'scenario: t\nhosts:\n  server: 10.2.0.1\n  alice: 10.1.0.2\n';
  const synth = (f: string) => fwemu(['synth', f, '-o', join(dir, `out-${counter++}.pcap`)]);

  it('a YAML syntax error, duplicate keys, a typo: positioned, with suggestions', async () => {
    const syntax = file('s-syntax.yaml', `${HEAD}steps:\n  - listen: [server:80\n`);
    // The flow sequence opened on line 6 is still open where the file ends (7:1).
    refused(
      await synth(syntax),
      2,
      `${syntax}:7:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]`,
    );
    const dup = file(
      's-dup.yaml',
      `${HEAD}steps:\n  - listen: server:80\n  - connect: alice -> server:80\n    as: c\n    as: d\n`,
    );
    refused(await synth(dup), 2, `${dup}:9:5: duplicate key "as" (first given at line 8); each key may appear once`);
    const typo = file(
      's-typo.yaml',
      `${HEAD}steps:\n  - listen: server:80\n  - conect: alice -> server:80\n  - send: { conn: c, byts: 10 }\n`,
    );
    refused(
      await synth(typo),
      2,
      `${typo}:7:5: unknown step type "conect"; did you mean "connect"?`,
      `${typo}:8:22: send has no parameter "byts"; did you mean "bytes"?`,
    );
  });

  it('an alias bomb, a file over 1 MiB, nesting 100000 deep', async () => {
    const bomb = file('s-bomb.yaml', `${HEAD}${BOMB}\nsteps:\n  - listen: server:80\n`);
    refused(await synth(bomb), 2, `${bomb}:6:8: too many YAML alias expansions`);
    const huge = file('s-huge.yaml', `${HEAD}steps:\n${'  - listen: server:80\n'.repeat(60_000)}`);
    refused(
      await synth(huge),
      2,
      `${huge}:1:1: file is 1320063 bytes; scenario files are limited to 1048576 bytes (1 MiB)`,
    );
    const deep = file('s-deep.yaml', `${HEAD}steps: ${DEEP}\n`);
    refused(await synth(deep), 2, `${deep}:5:`);
  });

  it('a step type given a mapping without its main parameter (listen: {} used to crash, wait: {} to vanish)', async () => {
    const f = file('s-empty-steps.yaml', `${HEAD}steps:\n  - listen: {}\n  - wait: {}\n`);
    refused(
      await synth(f),
      2,
      `${f}:6:5: listen needs on:; like listen: server:8080`,
      `${f}:7:5: wait needs for:; like wait: 30s`,
    );
  });

  it('more traffic than a scenario may generate: refused at the step that goes over', () => {
    const text = `${HEAD}steps:\n  - listen: server:80\n  - connect: alice -> server:80\n    as: c\n  - send: { conn: c, bytes: 10000 }\n  - send: { conn: c, bytes: 100000 }\n`;
    const sc = parseScenario(text, 'big.yaml');
    let err: unknown;
    try {
      generate(sc, { packets: 50 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScenarioError);
    const d = (err as ScenarioError).diagnostics;
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ file: 'big.yaml', line: 10, col: 5, code: 'scenario.too-much-traffic' });
    expect(d[0].message).toMatch(
      /^step #4 \(send\) takes the scenario past what one scenario may generate \(50 packets, /,
    );
  });
});

describe('policy tests', () => {
  const expectFile = (name: string, text: string) => {
    const f = file(name, text);
    writeFileSync(f.replace(/\.expect\.yaml$/, '.pcap'), readFileSync(join(ROOT, CAPTURE)));
    return f;
  };
  const RULES = `rules: ${join(ROOT, 'rules/web-server.yaml')}\n`;

  it('an expectation typo, an unknown top-level key, rules: given a mapping or a list of lists', async () => {
    const typo = expectFile('typo.expect.yaml', `${RULES}expect:\n  - { packet: 1, verdikt: accept }\n`);
    refused(
      await fwemu(['test', typo]),
      2,
      `${typo}:3:18: unknown key "verdikt" in an expectation; did you mean "verdict"?`,
    );
    const top = expectFile('top.expect.yaml', `${RULES}expects:\n  - { packet: 1, verdict: accept }\n`);
    refused(
      await fwemu(['test', top]),
      2,
      `${top}:2:1: unknown key "expects"; did you mean "expect"? (allowed: rules, capture, expect)`,
    );
    // (A list of paths is the files of one ruleset: rules: [rules.v4, rules.v6].)
    const map = expectFile('map.expect.yaml', 'rules: { a: b }\nexpect:\n  - { packet: 1, verdict: accept }\n');
    refused(
      await fwemu(['test', map]),
      2,
      `${map}:1:8: rules: takes the path of a rule file, ruleset or host file (relative to this file), or a list of them, not a mapping`,
    );
    const list = expectFile('list.expect.yaml', 'rules: [a, [b]]\nexpect:\n  - { packet: 1, verdict: accept }\n');
    refused(
      await fwemu(['test', list]),
      2,
      `${list}:1:12: rules: takes the path of a rule file, ruleset or host file (relative to this file), or a list of them, not a list`,
    );
  });

  it('values of the wrong kind are named, not printed as "undefined"', async () => {
    const f = expectFile(
      'kinds.expect.yaml',
      `${RULES}expect:\n  - { packet: [[1]], ct: [new] }\n  - { conntrack: { count: {} } }\n`,
    );
    const r = await fwemu(['test', f]);
    refused(
      r,
      2,
      `${f}:3:16: packet a list: a packet number`,
      `${f}:3:26: ct must be one of new, established, related, invalid, untracked, none; not a list`,
      `${f}:4:27: count a mapping: a whole number`,
    );
    expect(r.stdout + r.stderr).not.toMatch(/undefined/);
  });

  it('an alias bomb and duplicate keys', async () => {
    const bomb = expectFile('bomb.expect.yaml', `${RULES}${BOMB}\nexpect:\n  - { packet: 1, verdict: accept }\n`);
    refused(await fwemu(['test', bomb]), 2, `${bomb}:3:8: too many YAML alias expansions`);
    const dup = expectFile('dup.expect.yaml', `${RULES}${RULES}expect:\n  - { packet: 1, verdict: accept }\n`);
    refused(await fwemu(['test', dup]), 2, `${dup}:2:1:`, 'Map keys must be unique');
  });
});
