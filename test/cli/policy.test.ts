import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fwemuIn, has, ROOT, STACK } from './run.js';

const tmp = mkdtempSync(join(tmpdir(), 'fwemu-policy-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const SEED = 'fixtures/scenarios/seed.yaml';

describe('fwemu test', () => {
  it("runs the project's own policy tests, all passing", async () => {
    const r = await fwemuIn(['test', 'fixtures/']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const passes = r.stdout.split('\n').filter((l) => l.startsWith('PASS '));
    expect(passes.length).toBeGreaterThanOrEqual(5);
    expect(r.stdout).toMatch(/policy tests: \d+ passed, 0 failed/);
  });

  it('fails loudly when an expectation is broken on purpose: exit 1, its line:col, the first differing packet', async () => {
    const text = readFileSync(join(ROOT, SEED), 'utf8')
      .replace('rules: ../../rules/web-server.yaml', `rules: ${join(ROOT, 'rules/web-server.yaml')}`)
      .replace(
        '{ step: stray, verdict: drop, ct: new, reason: policy }',
        '{ step: stray, verdict: accept, ct: new, reason: policy }',
      );
    const broken = join(tmp, 'seed-broken.yaml');
    writeFileSync(broken, text);
    const line = text.split('\n').findIndex((l) => l.includes('step: stray, verdict: accept')) + 1;
    const r = await fwemuIn(['test', broken]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAIL /m);
    expect(r.stdout).toContain(`seed-broken.yaml:${line}:5: { step: stray, verdict: accept, ct: new, reason: policy }`);
    expect(r.stdout).toMatch(
      /packet 43: verdict drop, expected accept \(dropped: no rule accepts new tcp to port 33333; policy drop\)/,
    );
    expect(r.stdout).toMatch(/1 policy tests: 0 passed, 1 failed/);
  });

  it('a wrong conntrack count names both numbers and shows the table', async () => {
    const text = readFileSync(join(ROOT, 'fixtures/seed-three-clients.expect.yaml'), 'utf8')
      .replace('rules: ../rules/web-server.yaml', `rules: ${join(ROOT, 'rules/web-server.yaml')}`)
      .replace('conntrack: { count: 3,', 'conntrack: { count: 2,');
    const dir = mkdtempSync(join(tmp, 'cap-'));
    writeFileSync(join(dir, 'seed.expect.yaml'), text);
    writeFileSync(join(dir, 'seed.pcap'), readFileSync(join(ROOT, 'fixtures/seed-three-clients.pcap')));
    const r = await fwemuIn(['test', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /3 entries at the end, expected 2 \(tcp 10\.1\.0\.2:47518 -> 10\.2\.0\.1:8080 TIME_WAIT; /,
    );
  });

  it('a malformed expectation: file:line:col with a suggestion, exit 2, no stack trace', async () => {
    const f = join(tmp, 'typo.expect.yaml');
    writeFileSync(
      f,
      `rules: ${join(ROOT, 'rules/web-server.yaml')}\ncapture: ${join(ROOT, 'fixtures/http-curl.pcap')}\nexpect:\n  - { packet: 1, verdcit: accept }\n`,
    );
    const r = await fwemuIn(['test', f]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(
      /typo\.expect\.yaml:4:18: unknown key "verdcit" in an expectation; did you mean "verdict"\?/,
    );
    expect(r.stdout + r.stderr).not.toMatch(STACK);
  });
});

describe('fwemu synth', () => {
  it('writes the same bytes to a file and to a pipe, and lists the steps on stderr', async () => {
    const out = join(tmp, 'seed.pcap');
    const a = await fwemuIn(['synth', SEED, '-o', out]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stderr).toMatch(/connect alice 10\.1\.0\.2:\d+ -> server 10\.2\.0\.1:8080: handshake \(packets 1-3\)/);
    const piped = spawnSync(process.execPath, ['bin/fwemu.js', 'synth', '-q', SEED], { cwd: ROOT });
    expect(piped.status).toBe(0);
    expect(Buffer.compare(piped.stdout, readFileSync(out))).toBe(0);
  });

  it.skipIf(!has('tshark'))('tshark reads it without a warning or a malformed mark', async () => {
    const out = join(tmp, 'seed-check.pcapng');
    expect((await fwemuIn(['synth', '-q', SEED, '-o', out])).code).toBe(0);
    const r = spawnSync(
      'tshark',
      ['-r', out, '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-z', 'expert,warn', '-q'],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(0);
    expect(r.stdout).not.toMatch(/Warning|Error|Malformed/);
  });

  it('an unknown step type: positioned error with a suggestion, exit 2', async () => {
    const f = join(tmp, 'bad-scenario.yaml');
    writeFileSync(f, 'hosts:\n  a: 10.1.0.2\n  b: 10.2.0.1\nsteps:\n  - listen: b:80\n  - conect: a -> b:80\n');
    const r = await fwemuIn(['synth', f, '-o', join(tmp, 'x.pcap')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad-scenario\.yaml:6:5: .*"conect".*did you mean "connect"/);
    expect(r.stderr).not.toMatch(STACK);
  });
});

describe('fwemu sockets', () => {
  it.skipIf(!has('tshark'))(
    'real capture: one listener, one accepted socket per client tuple, as tshark sees the SYN/ACKs',
    async () => {
      const cap = 'fixtures/seed-three-clients.pcap';
      const ts = spawnSync(
        'tshark',
        ['-r', cap, '-Y', 'tcp.flags.syn==1 && tcp.flags.ack==1', '-T', 'fields', '-e', 'ip.dst', '-e', 'tcp.dstport'],
        { cwd: ROOT, encoding: 'utf8' },
      );
      const peers = ts.stdout
        .trim()
        .split('\n')
        .map((l) => l.replace('\t', ':'))
        .sort();
      expect(peers).toHaveLength(3);
      const r = await fwemuIn(['sockets', '--format', 'json', cap]);
      expect(r.code, r.stderr).toBe(0);
      const hosts = JSON.parse(r.stdout);
      const server = hosts.find((h: { addr: string }) => h.addr === '10.2.0.1');
      expect(server.listening).toEqual(['10.2.0.1:8080']);
      const accepted = server.conns.filter((c: { role: string }) => c.role === 'accepted');
      expect(accepted.map((c: { local: string }) => c.local)).toEqual([
        '10.2.0.1:8080',
        '10.2.0.1:8080',
        '10.2.0.1:8080',
      ]);
      expect(accepted.map((c: { peer: string }) => c.peer).sort()).toEqual(peers);
    },
  );
});

describe('npm start (fwemu demo)', () => {
  it('tells the whole story: verdicts, the conntrack table, the sockets, the stateless contrast', async () => {
    const r = await fwemuIn(['demo']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1\. Every packet/);
    expect(r.stdout).toMatch(
      /=> 22 packets from port 8080 to a client; 21 accepted because they belong to a tracked connection/,
    );
    expect(
      r.stdout.match(/^tcp {6}6 \d+ TIME_WAIT src=10\.1\.0\.\d dst=10\.2\.0\.1 .* dport=8080 .*\[ASSURED\]/gm),
    ).toHaveLength(3);
    expect(r.stdout.match(/accepted from the listener on 10\.2\.0\.1:8080/g)).toHaveLength(3);
    expect(r.stdout).toMatch(/without connection tracking, 22 of the 22 replies are dropped/);
    expect(r.stdout).not.toMatch(/\x1b\[/);
  });
});
