/**
 * loadRuleFiles, the loading entry of every command, with a fake reader
 * standing in for the nft and iptables readers (fake-reader.ts).
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiagnosticsError } from '../../../src/base/errors.js';
import type { FwInterface } from '../../../src/rules/firewall.js';
import { loadRuleFiles, NO_HOST } from '../../../src/rules/import/load-rules.js';
import { setReader } from '../../../src/rules/import/readers.js';
import { fakeReader } from './fake-reader.js';

const dir = mkdtempSync(join(tmpdir(), 'fwemu-load-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
}

let undo: (() => void)[] = [];
beforeEach(() => {
  undo = [setReader('nft', fakeReader('nft')), setReader('iptables-save', fakeReader('iptables-save'))];
});
afterEach(() => {
  for (const u of undo) u();
});

function ifs(list: FwInterface[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (const i of list)
    o[i.name] = [
      ...i.addresses.map((a) => `${a.addr.text}~${a.net.text}`),
      ...i.networks.map((n) => `net ${n.text}`),
      ...(i.defaultRoute ? ['default'] : []),
    ].join(' ');
  return o;
}

function errorsOf(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    if (!(e instanceof DiagnosticsError)) throw e;
    return e.diagnostics.map((d) => `${d.file.replace(dir, '.')}:${d.line}:${d.col} ${d.code} ${d.message}`);
  }
  throw new Error('loaded without errors');
}

const NFT =
  'table inet filter {\nchain input input 0 inet filter iif lan0\nchain fwd forward 0 inet filter iif eth*\n}\n';

describe('loadRuleFiles', () => {
  it('an imported ruleset without a host: lo and the interfaces it names, one warning naming the flags', () => {
    const f = file('a.nft', NFT);
    const r = loadRuleFiles([f], NO_HOST, { lenient: false });
    const fw = r.ruleset.firewall;
    if (!fw) throw new Error('no firewall');
    expect(ifs(fw.interfaces)).toEqual({ lo: '127.0.0.1~127.0.0.0/8 ::1~::1', lan0: '' });
    expect(fw.chains.map((c) => c.name)).toEqual(['input', 'fwd']);
    expect(r.warnings.map((w) => `${w.line}:${w.col} ${w.code}`)).toEqual(['1:1 import.no-host']);
    expect(r.warnings[0].message).toMatch(
      /every packet is taken as forwarded.*--ip-addr FILE --ip-route FILE.*--iface NAME=ADDR\/PREFIX.*--route PREFIX@NAME/,
    );
    expect(r.files).toEqual([{ file: f, kind: 'nft' }]);
    expect(r.ruleset.name).toBe('a');
  });

  it('a host file naming only its ruleset describes no address: the same warning', () => {
    file('only.nft', NFT);
    const h = file('only.host.yaml', 'ruleset: only.nft\n');
    const r = loadRuleFiles([h], { ...NO_HOST, iface: ['dmz0='] }, { lenient: false });
    expect(r.warnings.map((w) => w.code)).toEqual(['import.no-host']);
  });

  it('flags describe the host: no warning; undescribed names still exist', () => {
    const f = file('a.nft', NFT);
    const r = loadRuleFiles(
      [f],
      { ...NO_HOST, iface: ['wan0=203.0.113.2/24'], route: ['default@wan0', '10.8.0.0/16@lan0'] },
      { lenient: false },
    );
    expect(ifs(r.ruleset.firewall?.interfaces ?? [])).toEqual({
      lo: '127.0.0.1~127.0.0.0/8 ::1~::1',
      wan0: '203.0.113.2~203.0.113.0/24 default',
      lan0: 'net 10.8.0.0/16',
    });
    expect(r.warnings).toEqual([]);
  });

  it('--ip-addr and --ip-route files', () => {
    const f = file('a.nft', NFT);
    const r = loadRuleFiles(
      [f],
      { ...NO_HOST, ipAddr: ['test/fixtures/host/addr.json'], ipRoute: ['test/fixtures/host/route.json'] },
      { lenient: false },
    );
    const got = ifs(r.ruleset.firewall?.interfaces ?? []);
    expect(Object.keys(got)).toEqual(['lo', 'lan0', 'wan0', 'dmz0', 'ptp0']);
    expect(got.wan0).toMatch(/^203\.0\.113\.2~203\.0\.113\.0\/24 .* default$/);
    // The blackhole route is named as left out.
    expect(r.warnings.map((w) => w.code)).toEqual(['host.skipped-route']);
  });

  it('two dumps: same chain names become qualified, with their jumps and ids; ignored kept per file', () => {
    const v4 = file(
      'rules.v4',
      '*filter\nchain INPUT input 0 ip filter jump LOG_DROP ignored counter\nchain LOG_DROP - 0 ip filter\n',
    );
    const v6 = file(
      'rules.v6',
      '*filter\nchain INPUT input 0 ip6 filter jump LOG_DROP\nchain LOG_DROP - 0 ip6 filter\nchain ONLY6 - 0 ip6 filter ignored log\n',
    );
    const r = loadRuleFiles([v4, v6], { ...NO_HOST, iface: ['eth0=10.0.0.1/24'] }, { lenient: false });
    const chains = r.ruleset.firewall?.chains ?? [];
    expect(chains.map((c) => `${c.name} ${c.rules[0].id} ${c.rules[0].chain} ${c.rules[0].target}`)).toEqual([
      'ip/filter/INPUT ip/filter/INPUT-1 ip/filter/INPUT ip/filter/LOG_DROP',
      'ip/filter/LOG_DROP ip/filter/LOG_DROP-1 ip/filter/LOG_DROP null',
      'ip6/filter/INPUT ip6/filter/INPUT-1 ip6/filter/INPUT ip6/filter/LOG_DROP',
      'ip6/filter/LOG_DROP ip6/filter/LOG_DROP-1 ip6/filter/LOG_DROP null',
      'ONLY6 ONLY6-1 ONLY6 null',
    ]);
    expect(r.ignored.map((i) => `${i.pos.file.replace(dir, '.')}:${i.pos.line} ${i.text}`)).toEqual([
      './rules.v4:2 counter',
      './rules.v6:4 log',
    ]);
  });

  it('a host file names its rulesets relative to itself and describes the host', () => {
    file('etc/v4/rules.v4', '*filter\nchain INPUT input 0 ip filter iif lan0\n');
    const h = file(
      'etc/fw.host.yaml',
      'ruleset: [v4/rules.v4]\ninterfaces:\n  lan0: { addresses: 192.168.1.1/24 }\n  wan0: { addresses: 203.0.113.2/24, default: true }\n',
    );
    const r = loadRuleFiles([h], NO_HOST, { lenient: false });
    expect(ifs(r.ruleset.firewall?.interfaces ?? [])).toEqual({
      lo: '127.0.0.1~127.0.0.0/8 ::1~::1',
      lan0: '192.168.1.1~192.168.1.0/24',
      wan0: '203.0.113.2~203.0.113.0/24 default',
    });
    expect(r.files.map((x) => `${x.file.replace(dir, '.')} ${x.kind}`)).toEqual([
      './etc/fw.host.yaml host',
      './etc/v4/rules.v4 iptables-save',
    ]);
    expect(r.warnings).toEqual([]);
  });

  it('reader errors are thrown together, positioned; --lenient passes to the reader', () => {
    const f = file('bad.nft', 'chain a input 0 inet filter error queue\nchain b input 0 inet filter error recent\n');
    expect(errorsOf(() => loadRuleFiles([f], NO_HOST, { lenient: false }))).toEqual([
      './bad.nft:1:5 nft.unsupported queue is not supported',
      './bad.nft:2:5 nft.unsupported recent is not supported',
    ]);
    const r = loadRuleFiles([f], { ...NO_HOST, iface: ['x=10.0.0.1/8'] }, { lenient: true });
    expect(r.warnings.map((w) => w.code)).toEqual(['nft.unsupported', 'nft.unsupported']);
  });

  it('a format without a reader, a file of no format, a missing ruleset of a host file', () => {
    const j = file('r.json', '{"nftables": []}');
    const x = file('x.txt', 'Chain INPUT (policy ACCEPT)\n');
    const h = file('h.host.yaml', 'ruleset:\n  - missing.nft\n');
    expect(errorsOf(() => loadRuleFiles([j, x, h], NO_HOST, { lenient: false }))).toEqual([
      expect.stringMatching(/^\.\/x\.txt:1:1 import\.unknown-format this is the output of `iptables -L`/),
      expect.stringMatching(
        /^\.\/h\.host\.yaml:2:5 host\.bad-ruleset .*missing\.nft: cannot read rule file: no such file/,
      ),
      // (found when the readers run, after every file was read)
    ]);
    // (A build without a reader for the format: as before the readers were wired.)
    undo.push(setReader('nft-json', null));
    expect(errorsOf(() => loadRuleFiles([j], NO_HOST, { lenient: false }))).toEqual([
      './r.json:1:1 import.no-reader this is nftables JSON (nft -j list ruleset), which this build of fwemu cannot read yet',
    ]);
  });

  it("fwemu's YAML is given alone", () => {
    const y = file('fw.yaml', 'interfaces:\n  lan0: { addresses: 10.0.0.1/24 }\nrules: []\n');
    const f = file('a.nft', NFT);
    expect(errorsOf(() => loadRuleFiles([y, f], NO_HOST, { lenient: false }))).toEqual([
      expect.stringMatching(
        /^\.\/fw\.yaml:1:1 import\.mixed-yaml fwemu's own YAML rule file holds the whole ruleset and is given alone; .*a\.nft was given with it/,
      ),
    ]);
  });

  it('YAML without host flags loads as loadRuleSet does', () => {
    const r = loadRuleFiles(['rules/web-server.yaml'], NO_HOST, { lenient: false });
    expect(r.ruleset.name).toBe('web-server');
    expect(r.files).toEqual([{ file: 'rules/web-server.yaml', kind: 'yaml' }]);
  });

  it("host flags with fwemu's YAML: the same as declaring the interfaces; a conflict is an error", () => {
    const y = file('fw.yaml', 'interfaces:\n  lan0: { addresses: 10.0.0.1/24 }\n  dmz0:\nrules: []\n');
    const r = loadRuleFiles(
      [y],
      { ...NO_HOST, iface: ['dmz0=10.5.0.1/24', 'wan0=203.0.113.2/24'], route: ['default@wan0'] },
      { lenient: false },
    );
    expect(ifs(r.ruleset.firewall?.interfaces ?? [])).toEqual({
      lo: '127.0.0.1~127.0.0.0/8 ::1~::1',
      lan0: '10.0.0.1~10.0.0.0/24',
      dmz0: '10.5.0.1~10.5.0.0/24',
      wan0: '203.0.113.2~203.0.113.0/24 default',
    });
    // The loader's warnings about interfaces the file does not declare go when the flags declare them.
    const rules = file(
      'fw2.yaml',
      'chains:\n  input: { hook: input, rules: [{ iif: lan0 }, { iif: "eth*" }, { iif: dmz0 }] }\n',
    );
    const unknown = (r: { warnings: { code: string; message: string }[] }) =>
      r.warnings
        .filter((w) => w.code === 'rules.unknown-interface')
        .map((w) => w.message.replace(/ of this firewall.*/, ''));
    expect(unknown(loadRuleFiles([rules], NO_HOST, { lenient: false }))).toEqual([
      'rule input-1: iif: interface "lan0" is not one',
      'rule input-2: iif: "eth*" matches no interface',
      'rule input-3: iif: interface "dmz0" is not one',
    ]);
    expect(
      unknown(loadRuleFiles([rules], { ...NO_HOST, iface: ['lan0=10.0.0.1/24', 'eth0='] }, { lenient: false })),
    ).toEqual(['rule input-3: iif: interface "dmz0" is not one']);
    expect(errorsOf(() => loadRuleFiles([y], { ...NO_HOST, iface: ['lan0=10.9.0.1/24'] }, { lenient: false }))).toEqual(
      [
        `<command line>:1:1 host.twice interface lan0 is described here and in the rule file (${y}:2:3); describe it in one place: the rule file's interfaces:, or the host description`,
      ],
    );
    expect(
      errorsOf(() =>
        loadRuleFiles(['rules/web-server.yaml'], { ...NO_HOST, iface: ['lan0=10.9.0.1/24'] }, { lenient: false }),
      ),
    ).toEqual([expect.stringMatching(/^rules\/web-server\.yaml:1:1 host\.simple-model .*is a simple rule file/)]);
  });

  it('bad flags are positioned errors naming the flag', () => {
    const f = file('a.nft', NFT);
    expect(
      errorsOf(() => loadRuleFiles([f], { ...NO_HOST, iface: ['lan0=10.0.0.1/24', 'wan0'] }, { lenient: false })),
    ).toEqual([
      expect.stringMatching(/^<command line>:1:2 host\.bad-iface --iface "wan0": write --iface NAME=ADDR\/PREFIX/),
    ]);
  });

  it('a ruleset may be larger than a YAML rule file (1 MiB), from a file or a pipe', () => {
    const big = `*filter\nchain INPUT input 0 ip filter\n${'# padding padding padding padding\n'.repeat(40000)}`;
    expect(big.length).toBeGreaterThan(1 << 20);
    const f = file('big.v4', big);
    expect(loadRuleFiles([f], NO_HOST, { lenient: false }).ruleset.firewall?.chains.length).toBe(1);
    const viaStdin = loadRuleFiles(['-'], NO_HOST, { lenient: false, stdin: Buffer.from(big) });
    expect(viaStdin.ruleset.firewall?.chains.length).toBe(1);
    // A FIFO: read as it arrives, its size unknown until the end.
    const fifo = join(dir, 'big.fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', `cat '${f}' > '${fifo}'`]);
    expect(loadRuleFiles([fifo], NO_HOST, { lenient: false }).ruleset.firewall?.chains.length).toBe(1);
    writer.kill();
    const json = file('big.json', `{"nftables": [${'{"metainfo": {"json_schema_version": 1}},'.repeat(220000)}{}]}`);
    expect(errorsOf(() => loadRuleFiles([json], NO_HOST, { lenient: false }))).toEqual([
      expect.stringMatching(
        /^\.\/big\.json:1:1 file\.too-big file is \d+ bytes; nftables JSON files are limited to 8388608 bytes \(8 MiB\)$/,
      ),
    ]);
    const yaml = file('big.yaml', `rules: []\n${'# padding padding padding padding\n'.repeat(40000)}`);
    expect(errorsOf(() => loadRuleFiles([yaml], NO_HOST, { lenient: false }))).toEqual([
      expect.stringMatching(
        /^\.\/big\.yaml:1:1 file\.too-big file is \d+ bytes; rule files are limited to 1048576 bytes \(1 MiB\)$/,
      ),
    ]);
  });
});
