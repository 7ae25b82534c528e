#!/usr/bin/env node
// Thin launcher: the CLI lives in the compiled TypeScript (npm install runs the build).
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    // Last resort only: every expected failure is turned into a message inside main().
    process.stderr.write(`fwemu: internal error: ${err && err.message ? err.message : err}\n`);
    process.exitCode = 70;
  },
);
