import type { Diagnostic } from './diag.js';

/**
 * Process exit codes. Kept in one place because README documents them and
 * scripts (policy tests in users' CI) depend on them.
 */
export const ExitCode = {
  OK: 0,
  /** The answer is "no": `check` found errors, a policy `test` failed. */
  FAILED: 1,
  /** Bad input: wrong arguments, unreadable capture, invalid rule or scenario file. */
  BAD_INPUT: 2,
  /** A bug in fwemu (an exception nobody expected). */
  INTERNAL: 70,
  /**
   * Results could not be written: standard output or an output file failed
   * (no space left on device, an I/O error). sysexits' EX_IOERR.
   */
  IO_ERROR: 74,
} as const;

/**
 * An error meant for the user: its message is already a complete, positioned
 * sentence (file, line:column or byte offset, what is wrong, what is allowed),
 * printed as is, without a stack trace.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.BAD_INPUT,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/**
 * A user's file with problems, each a positioned Diagnostic (rule files,
 * scenarios, policy tests). The message is every diagnostic, one a line,
 * already starting with "file:line:col:", so it is printed as it is
 * (no "fwemu:" before it); programs read `diagnostics` (and their codes).
 */
export class DiagnosticsError extends UserError {
  constructor(
    message: string,
    readonly file: string,
    readonly diagnostics: readonly Diagnostic[],
  ) {
    super(message, ExitCode.BAD_INPUT);
    this.name = 'DiagnosticsError';
  }
}
