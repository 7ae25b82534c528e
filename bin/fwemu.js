#!/usr/bin/env node
// Thin launcher: the CLI lives in the compiled TypeScript (npm install runs the build).
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// npm run build also bundles the CLI into one file, which starts ~0.25 s
// sooner than the ~150 modules it is made of (scripts/bundle.mjs says why).
// A bundle older than any compiled module is stale (tsc, or tsc --watch,
// ran after it): then the modules themselves are loaded, so the launcher
// never runs old code. (Looking costs ~150 stat calls.) The walk is by hand,
// on plain paths: readdirSync's recursive mode (path.relative per entry) and
// a URL per file cost ~65 M instructions over dist/'s ~460 entries, more
// than the modules the bundle spares; this walk costs ~9 M.
const dist = fileURLToPath(new URL('../dist/', import.meta.url));
/** @param {string} path */
const mtime = (path) => statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? -1;
const bundle = mtime(`${dist}cli/main.bundle.mjs`);
let modules = mtime(`${dist}cli/main.js`);
/** @param {string} dir a directory below dist/, ending in a separator */
const newestModule = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) newestModule(`${dir}${e.name}/`);
    else if (e.name.endsWith('.js')) modules = Math.max(modules, mtime(dir + e.name));
  }
};
if (bundle >= 0 && modules >= 0) newestModule(dist);
if (modules < 0 && bundle < 0) {
  process.stderr.write('fwemu: not built yet: run npm install (or npm run build) in the fwemu directory\n');
  process.exit(70);
}
// (A tie goes to the modules: on file systems that keep times to the second, tsc may have run in the bundle's second.)
const { main } = await import(bundle > modules ? '../dist/cli/main.bundle.mjs' : '../dist/cli/main.js');

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    // Last resort only: every expected failure is turned into a message inside main().
    process.stderr.write(`fwemu: internal error: ${err?.message ? err.message : err}\n`);
    process.exitCode = 70;
  },
);
