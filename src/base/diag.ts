/**
 * Positioned diagnostics, shared by every reader of user files (rule files,
 * scenarios, expectations, the input-file reader): they live below all of
 * them, so that none imports another to report a problem.
 */
import { visible } from './text-escape.js';

/** A place in a user's file (rule file, scenario): 1-based line and column. */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

/** A problem found in a user's file (rule file, scenario). line/col are 1-based. */
export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  message: string;
  severity: 'error' | 'warning';
}

/**
 * Formats "file:line:col: message", one line: the file name and the
 * message (which may quote the file's text) made visible (text-escape.ts),
 * so neither can break the line or drive a terminal.
 */
export function formatDiagnostic(d: Diagnostic): string {
  return `${visible(d.file)}:${d.line}:${d.col}: ${d.severity === 'warning' ? 'warning: ' : ''}${visible(d.message)}`;
}

/** Formats "file:line" (the file name made visible). */
export function formatPos(pos: SourcePos): string {
  return `${visible(pos.file)}:${pos.line}`;
}

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
