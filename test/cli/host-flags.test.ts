/**
 * The host description with fwemu's own YAML: rules/home-router.yaml with
 * its interfaces: taken out must judge the capture made for it exactly as
 * the original when the interfaces come back by --iface/--route, by a host
 * file naming it, or by a policy test whose rules: names that host file;
 * and differently without them (then fwemu knows none of the router's
 * addresses). The original file is the independent truth.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fwemuIn } from './run.js';

const CAP = 'fixtures/home-router.pcapng';
const ORIGINAL = 'rules/home-router.yaml';
const dir = mkdtempSync(join(tmpdir(), 'fwemu-host-flags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const text = readFileSync(ORIGINAL, 'utf8');
const bare = text.replace(/^interfaces:\n(?:[ #].*\n|\n)*?(?=^\S)/m, '');
const FW = join(dir, 'fw.yaml');
writeFileSync(FW, bare);
const HOST = join(dir, 'router.host.yaml');
writeFileSync(
  HOST,
  'ruleset: fw.yaml\ninterfaces:\n  lan0: { addresses: [192.168.1.1/24, "fd00:1::1/64"] }\n  wan0: { addresses: 203.0.113.1/24 }\nroutes: [default@wan0]\n',
);
const FLAGS = [
  '--iface',
  'lan0=192.168.1.1/24,fd00:1::1/64',
  '--iface',
  'wan0=203.0.113.1/24',
  '--route',
  'default@wan0',
];

/** Each packet's verdict, conntrack state, rule and chain. */
async function verdicts(args: string[]): Promise<string[]> {
  const r = await fwemuIn(['replay', '-f', 'jsonl', ...args, CAP]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => {
      const j = JSON.parse(l) as { n: number; verdict: string; ct: string; rule: string; chain: string };
      return `${j.n} ${j.verdict} ${j.ct} ${j.rule} ${j.chain}`;
    });
}

describe('host description with fwemu YAML', () => {
  it('the interfaces: section was taken out', () => {
    expect(bare).not.toMatch(/^interfaces:/m);
    expect(bare).toMatch(/^chains:/m);
  });

  it('--iface/--route and a host file judge as the original; nothing judges otherwise', async () => {
    const want = await verdicts(['-r', ORIGINAL]);
    expect(want.length).toBe(63);
    expect(await verdicts(['-r', FW, ...FLAGS])).toEqual(want);
    expect(await verdicts(['-r', HOST])).toEqual(want);
    expect(await verdicts(['-r', FW])).not.toEqual(want);
  });

  it('a flag describing an interface the file describes is an error naming both', async () => {
    const r = await fwemuIn(['replay', '-r', ORIGINAL, '--iface', 'lan0=10.0.0.1/24', CAP]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^<command line>:1:1: interface lan0 is described here and in the rule file \(rules\/home-router\.yaml:\d+:3\)/m,
    );
  });

  it('a policy test whose rules: is a list naming the host file', async () => {
    const want = (await verdicts(['-r', ORIGINAL])).slice(0, 12).map((l) => l.split(' '));
    const expectations = want.map(([n, v]) => `  - { packet: ${n}, verdict: ${v} }`).join('\n');
    const test = (rules: string) => {
      const f = join(dir, `t-${rules.replace(/\W/g, '')}.expect.yaml`);
      writeFileSync(f, `rules: ${rules}\ncapture: ${resolve(CAP)}\nexpect:\n${expectations}\n`);
      return f;
    };
    const pass = await fwemuIn(['test', test('[router.host.yaml]')]);
    expect(pass.code, pass.stdout).toBe(0);
    expect(pass.stdout).toMatch(/^PASS /m);
    const fail = await fwemuIn(['test', test('fw.yaml')]);
    expect(fail.code, fail.stdout).toBe(1);
    const flags = await fwemuIn(['test', ...FLAGS, test('fw.yaml')]);
    expect(flags.code, flags.stdout).toBe(0);
  });
});
