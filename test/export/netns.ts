import { spawnSync } from 'node:child_process';
import { afterAll, it } from 'vitest';

/** A command's exit code and output (a spawn failure reads as exit -1 with its message on stderr). */
export function run(cmd: string, args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', timeout: 30_000 });
  return {
    code: r.status ?? -1,
    stdout: r.stdout ?? '',
    stderr: (r.error ? `${r.error.message}\n` : '') + (r.stderr ?? ''),
  };
}

/**
 * Throwaway network namespaces for a test file (named `prefix` + pid + a
 * count): withNamespace() makes one, runs `fn` in its name and deletes it;
 * any left by a failing test are deleted after the file's tests, and any
 * left by a run that was killed (its pid gone) before the first is made.
 */
export function namespaces(prefix: string): <T>(fn: (ns: string) => T) => T {
  let count = 0;
  let swept = false;
  const made = new Set<string>();
  afterAll(() => {
    for (const ns of made) run('ip', ['netns', 'del', ns]);
  });
  return <T>(fn: (ns: string) => T): T => {
    if (!swept) {
      swept = true;
      sweepStale(prefix);
    }
    const ns = `${prefix}${process.pid}-${count++}`;
    const r = run('ip', ['netns', 'add', ns]);
    if (r.code !== 0) throw new Error(`ip netns add ${ns} failed: ${r.stderr.trim()}`);
    made.add(ns);
    try {
      return fn(ns);
    } finally {
      run('ip', ['netns', 'del', ns]);
      made.delete(ns);
    }
  };
}

/** Deletes namespaces named `prefix` + pid + count whose process no longer runs. */
function sweepStale(prefix: string): void {
  for (const line of run('ip', ['netns', 'list']).stdout.split('\n')) {
    const name = line.split(' ')[0];
    const m = name.startsWith(prefix) ? /^(\d+)-\d+$/.exec(name.slice(prefix.length)) : null;
    if (m === null || alive(Number(m[1]))) continue;
    run('ip', ['netns', 'del', name]);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Why these tools cannot be used here, or null when they can: each
 * [command, Debian package] must answer --version (ip: -V), we must be root
 * (`rootFor` names what needs it), and `probe` (making a namespace, say)
 * must not throw.
 */
export function toolsMissing(tools: [cmd: string, pkg: string][], rootFor: string, probe?: () => void): string | null {
  if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
  for (const [t, pkg] of tools) {
    const r = run(t, t === 'ip' ? ['-V'] : ['--version']);
    if (r.code !== 0)
      return `\`${t}\` is not usable (${r.stderr.trim().split('\n').pop() || `exit ${r.code}`}); install the Debian package ${pkg}`;
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return `${rootFor} needs root`;
  if (probe !== undefined) {
    try {
      probe();
    } catch (e) {
      return `cannot create a network namespace: ${(e as Error).message}`;
    }
  }
  return null;
}

/** `it`, skipped when `why` says the tools cannot run, but failing with the reason under CI=true. */
export function toolTest(tool: string, why: string | null, name: string, fn: () => void | Promise<void>): void {
  it.skipIf(why !== null && process.env.CI !== 'true')(name, async () => {
    if (why !== null) throw new Error(`${tool} test cannot run (CI=true does not skip it): ${why}`);
    await fn();
  });
}
