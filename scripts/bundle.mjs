#!/usr/bin/env node
/**
 * Part of `npm run build`, after tsc: bundles the compiled CLI
 * (dist/cli/main.js with yargs and yaml) into one file,
 * dist/cli/main.bundle.mjs, which bin/fwemu.js loads, and the worker of
 * replay --jobs into dist/run/shard-worker.bundle.mjs.
 *
 * Why: Node's ESM loader resolves, reads and links each module on its own,
 * and the CLI pulls in ~150 of them (ours, yargs', yaml's). That was ~0.4 s
 * of every command's start-up on this project's machine, ~0.15 s as one
 * file. The bundle sits beside main.js so that paths made from
 * import.meta.url (the demo's fixtures, package.json) resolve the same.
 *
 * pino stays outside (it is loaded with require() on the first log line
 * that prints, see src/cli/log.ts), and so does everything in node:*.
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
/** @type {import('esbuild').BuildOptions} */
const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // CommonJS code inside the bundle (some of yargs' helpers) calls require() for Node's own modules.
  banner: {
    js: "import { createRequire as __fwemuRequire } from 'node:module'; const require = __fwemuRequire(import.meta.url);",
  },
  legalComments: 'none',
  logLevel: 'warning',
};
await build({ ...common, entryPoints: ['dist/cli/main.js'], outfile: 'dist/cli/main.bundle.mjs' });
// The worker of replay --jobs (src/run/sharded.ts starts this one when it runs from the bundle).
await build({ ...common, entryPoints: ['dist/run/shard-worker.js'], outfile: 'dist/run/shard-worker.bundle.mjs' });
