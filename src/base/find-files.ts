/**
 * Command lines that take files also take directories (`fwemu test DIR`,
 * `fwemu check DIR`): a directory stands for the files below it that the
 * command can use.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { STDIN_PATH, unreadable } from './input-file.js';

/** Directories a search never enters. */
const SKIP_DIRS = new Set(['node_modules', '.git', 'dist', 'coverage']);

/**
 * `paths` with each directory replaced by the regular files below it that
 * `wanted` accepts (names sorted, subdirectories searched in turn), each
 * file once. A file named on the command line is kept whatever it is; '-'
 * passes through. A path that cannot be had (no such file, a part of it
 * not a directory) is an InputFileError naming it as a `kind`.
 */
export function expandPaths(paths: readonly string[], wanted: (file: string) => boolean, kind: string): string[] {
  const found: string[] = [];
  const walk = (p: string) => {
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(p);
    } catch (err) {
      throw unreadable(p, kind, err);
    }
    if (!st.isDirectory()) {
      found.push(p);
      return;
    }
    for (const name of readdirSync(p).sort()) {
      if (SKIP_DIRS.has(name)) continue;
      const child = join(p, name);
      const cst = statSync(child, { throwIfNoEntry: false }); // (a link to nowhere found on the way is left out)
      if (cst?.isDirectory()) walk(child);
      // Only regular files: opening a FIFO found on the way would wait for a writer forever.
      else if (cst?.isFile() && wanted(child)) found.push(child);
    }
  };
  for (const p of paths) {
    if (p === STDIN_PATH) found.push(p);
    else walk(p);
  }
  return [...new Set(found)];
}
