import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Kernel-oracle tests: need root, network namespaces, nft, conntrack, python3.
// Run with `vitest run --config test/kernel/vitest.config.ts` (npm run test:kernel).
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/kernel/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
