import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The built CLI (npm test compiles before vitest runs). */
export const BIN = fileURLToPath(new URL('../../bin/fwemu.js', import.meta.url));
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Output kept of a run (spawnSync's default, 1 MiB, would cut the lines of larger captures short). */
const MAX_OUTPUT = 256 * 1024 * 1024;

export function fwemu(args: string[], opts: { input?: Buffer | string; shell?: string } = {}): Run {
  const r = opts.shell
    ? spawnSync('bash', ['-o', 'pipefail', '-c', opts.shell.replaceAll('FWEMU', `node ${BIN}`)], {
        cwd: ROOT,
        encoding: 'utf8',
        maxBuffer: MAX_OUTPUT,
      })
    : spawnSync(process.execPath, [BIN, ...args], {
        cwd: ROOT,
        input: opts.input,
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1' },
        maxBuffer: MAX_OUTPUT,
      });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** No stack trace in what a user sees. */
export const STACK = /^\s+at .+:\d+:\d+\)?$/m;

/**
 * A command line run in this process, through the main() that bin/fwemu.js
 * runs (the built CLI, chosen as the launcher chooses it: the bundle unless
 * a compiled module is newer), with streams of its own: no process to start.
 * The spawning fwemu() above is for what needs a real process: a real pipe
 * or terminal on standard input, signals, the process's own stdout errors.
 * "-" reads `input` (empty when not given), as a pipe would hand it out;
 * `bytes` is what was written to standard output; `tty` makes standard
 * output a terminal of that many columns. yargs' own --help and
 * --version output is spawned. --jobs starts real worker threads, which
 * load the built worker module, as under bin/fwemu.js.
 */
export async function fwemuIn(
  args: string[],
  opts: { input?: Buffer | string; tty?: number } = {},
): Promise<Run & { bytes: Buffer }> {
  if (args.some((a) => a === '-h' || a === '--help' || a === '--version')) {
    const r = fwemu(args, opts);
    return { ...r, bytes: Buffer.from(r.stdout) };
  }
  const out: Buffer[] = [];
  let stderr = '';
  const stdout = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      out.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      done();
    },
  });
  // A terminal of `tty` columns, as a command sees one: isTTY, and the width Node reads from it.
  if (opts.tty !== undefined) Object.assign(stdout, { isTTY: true, columns: opts.tty });
  const { main } = await builtMain();
  const code = await main(args, {
    stdout,
    stderr: { write: (s: string) => (stderr += s) },
    stdin: Buffer.from(opts.input ?? ''),
  });
  const bytes = Buffer.concat(out);
  return { code, stdout: bytes.toString('utf8'), stderr, bytes };
}

let built: Promise<typeof import('../../src/cli/main.js')> | undefined;

/**
 * The built CLI's main module, loaded natively (vitest.config.ts leaves
 * dist/ to Node): the bundle, unless a compiled module is newer, as
 * bin/fwemu.js decides. (npm test compiles before vitest runs.)
 */
function builtMain(): Promise<typeof import('../../src/cli/main.js')> {
  const dist = join(ROOT, 'dist');
  const mtime = (name: string) => statSync(join(dist, name), { throwIfNoEntry: false })?.mtimeMs ?? -1;
  if (built === undefined) {
    const bundle = mtime('cli/main.bundle.mjs');
    let modules = mtime('cli/main.js');
    for (const name of readdirSync(dist, { recursive: true, encoding: 'utf8' }))
      if (name.endsWith('.js')) modules = Math.max(modules, mtime(name));
    if (bundle < 0 && modules < 0) throw new Error('fwemu is not built: run npm run build');
    const file = bundle > modules ? 'cli/main.bundle.mjs' : 'cli/main.js';
    built = import(/* @vite-ignore */ pathToFileURL(join(dist, file)).href);
  }
  return built;
}
