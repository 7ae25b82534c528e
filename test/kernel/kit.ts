/**
 * `kernelTest` is vitest's `it` for tests that need the kernel oracle: skipped
 * when the machine cannot run it, except under CI=true, where each such test
 * fails with the one-line reason instead (so CI cannot go green by skipping).
 */
import { it } from 'vitest';
import { kernelAvailable } from './harness.js';

const avail = kernelAvailable();
const mustRun = process.env.CI === 'true';

export function kernelTest(name: string, fn: () => Promise<void> | void, timeout?: number): void {
  it.skipIf(!avail.ok && !mustRun)(
    name,
    async () => {
      if (!avail.ok) throw new Error(`kernel oracle unavailable: ${avail.why}`);
      await fn();
    },
    timeout,
  );
}
