import type { Writable } from 'node:stream';

/**
 * The streams a command writes to: given to it, so that a test can run it
 * in-process and read what it wrote. (Standard input is still read where
 * "-" is named, by the capture and rule-file readers.)
 */
export interface Io {
  /** Results: packet lines, tables, captures. */
  stdout: Writable & { isTTY?: boolean };
  /** Diagnostics, warnings, progress. */
  stderr: { write(s: string): unknown; isTTY?: boolean; columns?: number };
}

/** The process's own streams: what bin/fwemu.js runs with. */
export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr };
}
