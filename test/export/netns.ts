import { spawnSync } from 'node:child_process';
import { afterAll } from 'vitest';

/** A command's exit code and output (a spawn failure reads as exit -1 with its message on stderr). */
export function run(cmd: string, args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: (r.error ? `${r.error.message}\n` : '') + (r.stderr ?? '') };
}

/**
 * Throwaway network namespaces for a test file (named `prefix` + pid + a
 * count): withNamespace() makes one, runs `fn` in its name and deletes it;
 * any left by a failing test are deleted after the file's tests.
 */
export function namespaces(prefix: string): <T>(fn: (ns: string) => T) => T {
  let count = 0;
  const made = new Set<string>();
  afterAll(() => {
    for (const ns of made) run('ip', ['netns', 'del', ns]);
  });
  return <T>(fn: (ns: string) => T): T => {
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
