/**
 * Reading the small YAML inputs (rule files, scenarios, policy tests): size
 * checked before reading, so a huge or wrong file is refused at once, and
 * every failure is a Diagnostic with a position, like any other input error.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Diagnostic } from './rules/types.js';

export function diag(file: string, line: number, col: number, message: string, severity: Diagnostic['severity'] = 'error'): Diagnostic {
  return { file, line, col, message, severity };
}

/** In file order (stable for problems at the same place). */
export function sortDiags(ds: Diagnostic[]): Diagnostic[] {
  return ds
    .map((d, i) => ({ d, i }))
    .sort((a, b) => a.d.line - b.d.line || a.d.col - b.d.col || a.i - b.i)
    .map((x) => x.d);
}

export function tooBig(file: string, size: number, kind: string, maxBytes: number): Diagnostic {
  return diag(file, 1, 1, `file is ${size} bytes; ${kind} files are limited to ${maxBytes} bytes (${maxBytes % (1 << 20) === 0 ? `${maxBytes >> 20} MiB` : `${Math.round(maxBytes / 1024)} KiB`})`);
}

/** The file's text, or the one diagnostic that says why it cannot be had. */
export function readInputFile(path: string, maxBytes: number, kind: string): { text: string } | { error: Diagnostic } {
  try {
    const size = statSync(path).size;
    if (size > maxBytes) return { error: tooBig(path, size, kind, maxBytes) };
    return { text: readFileSync(path, 'utf8') };
  } catch (e) {
    return { error: diag(path, 1, 1, `cannot read ${kind} file: ${(e as Error).message}`) };
  }
}
