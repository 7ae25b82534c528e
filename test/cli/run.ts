import { spawnSync } from 'node:child_process';
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
    ? spawnSync('bash', ['-o', 'pipefail', '-c', opts.shell.replaceAll('FWEMU', `node ${BIN}`)], { cwd: ROOT, encoding: 'utf8', maxBuffer: MAX_OUTPUT })
    : spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, input: opts.input, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, maxBuffer: MAX_OUTPUT });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** No stack trace in what a user sees. */
export const STACK = /^\s+at .+:\d+:\d+\)?$/m;
