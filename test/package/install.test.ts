/**
 * What `npm pack` ships, and (slow tier) that the packed tarball installed
 * into a fresh prefix gives a working `fwemu` command: the demo runs from
 * the installed copy and names paths a user can type.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratch } from '../support/scratch.js';
import { SLOW } from '../support/tier.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

/** npm pack's list of the files it would ship (dist/ comes from npm test's build). */
function packedFiles(): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const [entry] = JSON.parse(out) as { files: { path: string }[] }[];
  return entry.files.map((f) => f.path);
}

describe('npm pack', () => {
  it('ships the command, its build, the rule examples, the schema, the demo inputs, README and LICENSE, and nothing else', () => {
    const files = packedFiles();
    for (const f of [
      'bin/fwemu.js',
      'dist/cli/main.js',
      'dist/cli/main.bundle.mjs',
      'dist/index.js',
      'dist/index.d.ts',
      'rules/web-server.yaml',
      'schema/fwemu-rules.schema.json',
      'fixtures/scenarios/seed.yaml',
      'fixtures/seed-three-clients.pcap',
      'LICENSE',
      'README.md',
      'package.json',
    ]) {
      expect(files, f).toContain(f);
    }
    const stray = files.filter((f) => /^(test|bench|src|scripts|\.ci)\//.test(f) || f.endsWith('.map'));
    expect(stray).toEqual([]);
    // npm adds every README it meets; no other fixture goes along.
    expect(files.filter((f) => f.startsWith('fixtures/')).sort()).toEqual([
      'fixtures/README.md',
      'fixtures/scenarios/seed.yaml',
      'fixtures/seed-three-clients.pcap',
    ]);
  });

  it('promises the Node versions its dependencies need (yargs 18: ^20.19 || ^22.12 || >=23)', () => {
    const engines = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } })
      .engines.node;
    const yargs = JSON.parse(readFileSync(join(ROOT, 'node_modules/yargs/package.json'), 'utf8')) as {
      engines: { node: string };
    };
    expect(engines).toBe(yargs.engines.node);
  });
});

describe.skipIf(!SLOW)('the packed tarball installed into a fresh prefix', () => {
  it('gives a fwemu command whose demo runs and names files that exist', () => {
    const tmp = scratch('fwemu-pack-');
    execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp.dir], { cwd: ROOT, stdio: 'ignore' });
    const tgz = join(tmp.dir, `${pkg.name}-${pkg.version}.tgz`);
    const prefix = join(tmp.dir, 'prefix');
    execFileSync(
      'npm',
      ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tgz],
      { cwd: tmp.dir, stdio: 'ignore' },
    );
    const bin = join(prefix, 'bin', 'fwemu');
    expect(spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim()).toBe(pkg.version);
    const demo = spawnSync(bin, ['demo', '--color', 'never'], { cwd: tmp.dir, encoding: 'utf8' });
    expect(demo.status, demo.stderr).toBe(0);
    const next = demo.stdout.split('\n').find((l) => l.startsWith('Next:')) ?? '';
    const m = / -r (\S+) (\S+)$/.exec(next);
    expect(m, next).not.toBeNull();
    for (const p of [m![1], m![2]]) {
      expect(existsSync(join(tmp.dir, p)) || existsSync(p), p).toBe(true);
      expect(p.startsWith('..'), `${p} climbs out of the current directory`).toBe(false);
    }
    // From a directory beside the package the paths are absolute, not ../prefix/...
    const beside = join(tmp.dir, 'beside');
    mkdirSync(beside);
    const elsewhere = spawnSync(bin, ['demo', '--color', 'never'], { cwd: beside, encoding: 'utf8' });
    expect(elsewhere.stdout).toContain(`-r ${join(prefix, 'lib/node_modules/fwemu/rules/web-server.yaml')}`);
  });
});
