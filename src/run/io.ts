import type { Writable } from 'node:stream';

/**
 * The streams a command writes to, and what it reads where "-" is named:
 * given to it, so that a test can run it in-process, with standard input
 * of its own, and read what it wrote.
 */
export interface Io {
  /** Results: packet lines, tables, captures. */
  stdout: Writable & { isTTY?: boolean; columns?: number };
  /** Diagnostics, warnings, progress. */
  stderr: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  /**
   * What standard input holds, for "-" (a rule file, scenario, policy test
   * or capture). Absent: the process's own, file descriptor 0, read as it
   * arrives. A test gives the bytes, which are read as from a pipe.
   */
  stdin?: Uint8Array;
}

/** The process's own streams: what bin/fwemu.js runs with. */
export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr };
}
