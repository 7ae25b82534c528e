import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/kernel/**'],
    // A net for a hung test, not a speed requirement: the CLI suites start hundreds of
    // processes, and a busy 2-core machine ran some past a minute.
    testTimeout: 300_000,
    // The same net for beforeAll/afterAll (tshark runs there): 10 s was a speed requirement.
    hookTimeout: 300_000,
    // One module graph per worker process rather than a fresh process per
    // file: starting one and loading vitest, the transform and the imports
    // again for each of ~70 files cost ~40 s of CPU, a fifth of the suite.
    // The tests keep no state between files (no module mocks, no fake
    // timers, no global stubs; spies are restored). Processes, not threads:
    // with every worker in one big process each of the suite's hundreds of
    // spawns (fwemu, tshark, ip, nft) costs more (the whole suite: 152.8 s
    // of CPU on threads, 138.3 s on forks).
    pool: 'forks',
    isolate: false,
    // Both cores (vitest's default leaves one free): the suite is mostly
    // processes and worker threads waiting on each other, not one hot loop.
    maxWorkers: 2,
    // The built CLI (dist/: fwemuIn with --jobs, the fuzz scripts) loads as
    // bin/fwemu.js loads it, natively: not transformed again for every test file.
    server: { deps: { external: [/\/dist\//] } },
  },
});
