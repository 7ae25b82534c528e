import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, fwemu, ROOT } from './run.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * bin/fwemu.js in a directory of its own, beside stand-in builds: each
 * stand-in's main() says which one it is, so the test sees what the
 * launcher loaded.
 */
function launcherWith(builds: { modules?: number; bundle?: number; otherModule?: number }): string {
  const dir = mkdtempSync(join(tmpdir(), 'fwemu-launcher-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'dist', 'cli'), { recursive: true });
  copyFileSync(BIN, join(dir, 'bin', 'fwemu.js'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  const stub = (name: string, file: string, mtime: number) => {
    const path = join(dir, 'dist', 'cli', file);
    writeFileSync(path, `export async function main() { process.stdout.write('${name}\\n'); return 0; }\n`);
    utimesSync(path, mtime, mtime);
  };
  if (builds.modules !== undefined) stub('modules', 'main.js', builds.modules);
  if (builds.bundle !== undefined) stub('bundle', 'main.bundle.mjs', builds.bundle);
  if (builds.otherModule !== undefined) {
    // Another compiled module, as tsc --watch rewrites only the modules that changed.
    mkdirSync(join(dir, 'dist', 'packet'));
    const path = join(dir, 'dist', 'packet', 'decode.js');
    writeFileSync(path, 'export {};\n');
    utimesSync(path, builds.otherModule, builds.otherModule);
  }
  return join(dir, 'bin', 'fwemu.js');
}

function launch(bin: string) {
  const r = spawnSync(process.execPath, [bin], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bin/fwemu.js', () => {
  const t = 1_700_000_000;
  it('loads the bundle when it is newer than the compiled modules', () => {
    expect(launch(launcherWith({ modules: t, bundle: t + 10 })).stdout).toBe('bundle\n');
    expect(launch(launcherWith({ bundle: t })).stdout).toBe('bundle\n');
  });

  it('loads the modules when the bundle is older than any of them (tsc was run alone) or missing', () => {
    expect(launch(launcherWith({ modules: t + 10, bundle: t })).stdout).toBe('modules\n');
    expect(launch(launcherWith({ modules: t, bundle: t })).stdout).toBe('modules\n'); // a tie: maybe the same second
    expect(launch(launcherWith({ modules: t, bundle: t + 10, otherModule: t + 20 })).stdout).toBe('modules\n');
    expect(launch(launcherWith({ modules: t, bundle: t + 10, otherModule: t + 5 })).stdout).toBe('bundle\n');
    expect(launch(launcherWith({ modules: t })).stdout).toBe('modules\n');
  });

  it('says how to build when there is nothing to load', () => {
    const r = launch(launcherWith({}));
    expect(r.code).toBe(70);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('fwemu: not built yet: run npm install (or npm run build) in the fwemu directory\n');
  });

  it('--version is the version in package.json, from any directory (the bundle has no package.json beside it)', () => {
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect(fwemu(['--version']).stdout).toBe(`${version}\n`);
    const elsewhere = spawnSync(process.execPath, [BIN, '--version'], { cwd: tmpdir(), encoding: 'utf8' });
    expect(elsewhere.stdout).toBe(`${version}\n`);
  });
});
