/**
 * What a command that reads a capture says around it, on stderr: the
 * progress line while it is read, the rule file's warnings, the capture's
 * own warnings and clock jumps at its end (or before its error, which
 * main() then reports). Every command that reads packets goes through it.
 */
import type { Logger } from 'pino';
import { formatDiagnostic, type Diagnostic } from '../base/diag.js';
import { visible, visibleLines } from '../base/text-escape.js';
import { CaptureError, type CaptureRecord, type CaptureSummary } from '../capture/types.js';
import type { ClockStats } from '../engine/clock.js';
import { clockWarningLines } from '../report/replay-text.js';
import { inputName } from './inputs.js';
import type { Io } from './io.js';
import { captureProgress, type Progress } from './progress.js';
import { stopGracefully } from '../base/interrupt.js';

/** Capture warnings printed in full; the rest are counted (and listed with -v). */
export const WARNINGS_SHOWN = 10;

/** The options of a command that the session reads. */
export interface SessionOptions {
  verbose: number;
  log: Logger;
}

/**
 * A rule file's warnings (shadowed rules, ...): what every command that
 * loads rules says of them, as `fwemu check` does, one `file:line:col:
 * warning: ...` line each (logs, pino's JSON, are for -v and -vv).
 */
export function warnRules(stderr: Io['stderr'], warnings: readonly Diagnostic[]): void {
  for (const w of warnings) stderr.write(`${visibleLines(formatDiagnostic(w))}\n`);
}

export class CaptureSession {
  /** The capture as messages name it. */
  readonly name: string;
  private readonly progress: Progress | null;
  /** Counts records for the progress line (undefined without one). */
  readonly onRecord: ((rec: CaptureRecord) => void) | undefined;

  /**
   * @param capture the CAPTURE argument ('-' for stdin, or a scenario)
   * @param progress --progress as given, and whether packet lines go to stdout (null: no progress line)
   */
  constructor(
    readonly io: Io,
    private readonly opts: SessionOptions,
    capture: string,
    progress: { asked: boolean | undefined; perPacketOutput: boolean } | null = null,
    private readonly ruleWarnings: readonly Diagnostic[] = [],
  ) {
    this.name = inputName(capture);
    // A signal now stops the reading and lets the command finish (cli/main.ts).
    stopGracefully(true);
    const p = progress === null ? null : captureProgress(io, capture, progress.asked, progress.perPacketOutput);
    this.progress = p;
    this.onRecord = p === null ? undefined : (rec) => p.tick(rec.fileOffset);
  }

  /**
   * Runs the reading of the capture: the progress line is erased when it
   * ends, either way; on an error, `failed` reports what was done before it
   * (lines, summary, warnings), then the error goes on to main().
   */
  async read<T>(body: () => Promise<T>, failed: (err: unknown) => Promise<void> | void): Promise<T> {
    let result: T;
    try {
      result = await body();
    } catch (err) {
      this.progress?.clear();
      await failed(err);
      throw err;
    }
    this.progress?.clear();
    return result;
  }

  /** The rule file's warnings (shadowed rules, ...). */
  warnRules(): void {
    warnRules(this.io.stderr, this.ruleWarnings);
  }

  /**
   * What the reader noticed goes to stderr, where it cannot corrupt piped
   * results but a person still sees it: a capture cut off mid-record, records
   * larger than the snaplen, packets the decoder could not read. One plain
   * line each, naming the input and the byte offset.
   */
  captureEnd(summary: CaptureSummary, undecodable: number): void {
    const out = this.io.stderr;
    const cut = summary.truncated ? summary.warnings[summary.warnings.length - 1] : undefined;
    const others = cut ? summary.warnings.slice(0, -1) : summary.warnings;
    const verbose = (this.opts.verbose ?? 0) > 0;
    const name = visible(this.name); // a file name: made visible, as the warnings (which may quote the capture) are
    let shown = 0;
    for (const w of others) {
      if (!verbose && shown >= WARNINGS_SHOWN) break;
      out.write(`fwemu: warning: ${name}: at byte ${w.offset}: ${visible(w.message)}\n`);
      shown++;
    }
    if (shown < others.length) {
      out.write(`fwemu: warning: ${name}: ${others.length - shown} more capture warnings not shown (-v lists them)\n`);
    }
    if (summary.truncated) {
      out.write(
        `fwemu: warning: ${name}: ${cut ? `at byte ${cut.offset}: ${visible(cut.message)}` : 'capture ends inside a record'}; ` +
          `every complete packet before it (${summary.records}) was read\n`,
      );
    }
    if (undecodable > 0) {
      out.write(
        `fwemu: warning: ${name}: ${undecodable} of ${summary.records} packets could not be decoded (listed as "undecodable")\n`,
      );
    }
    this.opts.log.info({ format: summary.format, packets: summary.records, bytes: summary.bytesRead }, 'capture read');
  }

  /** The capture clock's jumps and backward steps (engine/clock.ts), with the capture's warnings. */
  clock(clock: ClockStats | null): void {
    for (const l of clockWarningLines(clock, this.name)) this.io.stderr.write(l + '\n');
  }

  /** After a capture error, before main() reports it: the warnings the reader raised up to the error (its `partial`). */
  captureBeforeError(err: unknown, undecodable: number): void {
    if (err instanceof CaptureError && err.partial !== undefined) this.captureEnd(err.partial, undecodable);
  }
}
