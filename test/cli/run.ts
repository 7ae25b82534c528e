import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

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
 * A command line run in this process, through the same main() that
 * bin/fwemu.js runs, with streams of its own: no process to start (the
 * spawning fwemu() above is for what needs a real process: a real pipe or
 * terminal on standard input, signals, the process's own stdout errors).
 * "-" reads `input` (empty when not given), as a pipe would hand it out;
 * `bytes` is what was written to standard output. yargs' own --help and
 * --version output is spawned. With --jobs, main() is the built one
 * (dist/): its worker threads load the built worker module, as they do
 * under bin/fwemu.js.
 */
export async function fwemuIn(
  args: string[],
  opts: { input?: Buffer | string } = {},
): Promise<Run & { bytes: Buffer }> {
  if (args.some((a) => a === '-h' || a === '--help' || a === '--version')) {
    const r = fwemu(args, opts);
    return { ...r, bytes: Buffer.from(r.stdout) };
  }
  const jobs = args.some((a) => a === '-j' || a.startsWith('--jobs') || /^-j\d/.test(a));
  const out: Buffer[] = [];
  let stderr = '';
  const stdout = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      out.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      done();
    },
  });
  // (Loaded here: the other tests that import this file spawn the CLI and need none of it.)
  const { main } = (await import(
    jobs ? /* @vite-ignore */ BUILT_MAIN : '../../src/cli/main.js'
  )) as typeof import('../../src/cli/main.js');
  const code = await main(args, {
    stdout,
    stderr: { write: (s: string) => (stderr += s) },
    stdin: Buffer.from(opts.input ?? ''),
  });
  const bytes = Buffer.concat(out);
  return { code, stdout: bytes.toString('utf8'), stderr, bytes };
}

/** The built CLI's main module (npm test compiles before vitest runs). */
const BUILT_MAIN = new URL('../../dist/cli/main.js', import.meta.url).href;
