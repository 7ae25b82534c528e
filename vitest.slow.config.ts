import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The slow tier (npm run test:slow): the test files that have tiers (they
// import test/support/tier.ts), run again over the whole sweep: every fuzz
// case, the whole random corpus, every fixture against tshark, the big flood.
const root = fileURLToPath(new URL('.', import.meta.url));
const tiered = readdirSync(`${root}test`, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.test.ts') && !f.startsWith('kernel/'))
  .filter((f) => /from '(\.\.\/)+support\/tier\.js'/.test(readFileSync(`${root}test/${f}`, 'utf8')))
  .map((f) => `test/${f}`)
  .sort();

export default defineConfig({
  test: {
    root,
    include: tiered,
    env: { FWEMU_TIER: 'slow' },
    // A net for a hung test, not a speed requirement (see vitest.config.ts).
    testTimeout: 900_000,
    pool: 'forks',
    // The built CLI (dist/: fwemuIn with --jobs, the fuzz scripts) loads as
    // bin/fwemu.js loads it, natively: not transformed again for every test file.
    server: { deps: { external: [/\/dist\//] } },
  },
});
