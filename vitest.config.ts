import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/kernel/**'],
    // A net for a hung test, not a speed requirement: the CLI suites start hundreds of
    // processes, and a busy 2-core machine ran some past a minute.
    testTimeout: 300_000,
    pool: 'forks',
  },
});
