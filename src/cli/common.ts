import type { Logger } from 'pino';
import { CaptureError, type CaptureSummary } from '../capture/types.js';
import type { ClockStats } from '../engine/clock.js';
import type { PacketSource } from '../engine/replay.js';
import { clockWarningLines } from '../report/replay-text.js';
import { generate, loadScenario, synthSource, type SynthOutput } from '../synth/index.js';
import { visible } from '../base/text-escape.js';

/** Options every command takes (set up in main.ts). */
export interface CommonOptions {
  verbose: number;
  color: 'auto' | 'always' | 'never';
  /** Filled in by main's middleware. */
  log: Logger;
}

/** yargs handlers cannot return a value, so a command leaves its exit code here for main(). */
export const outcome = { exitCode: 0 };

export function useColor(opt: CommonOptions['color'], stream: NodeJS.WriteStream = process.stdout): boolean {
  if (opt === 'always') return true;
  if (opt === 'never') return false;
  return Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}

/** Capture warnings printed in full; the rest are counted (and listed with -v). */
export const WARNINGS_SHOWN = 10;

/**
 * What the reader noticed goes to stderr, where it cannot corrupt piped
 * results but a person still sees it: a capture cut off mid-record, records
 * larger than the snaplen, packets the decoder could not read. One plain
 * line each, naming the input and the byte offset.
 */
export function reportCaptureEnd(opts: CommonOptions, summary: CaptureSummary, undecodable: number, name: string): void {
  const cut = summary.truncated ? summary.warnings[summary.warnings.length - 1] : undefined;
  const others = cut ? summary.warnings.slice(0, -1) : summary.warnings;
  const verbose = (opts.verbose ?? 0) > 0;
  name = visible(name); // a file name: made visible, as the warnings (which may quote the capture) are
  let shown = 0;
  for (const w of others) {
    if (!verbose && shown >= WARNINGS_SHOWN) break;
    process.stderr.write(`fwemu: warning: ${name}: at byte ${w.offset}: ${visible(w.message)}\n`);
    shown++;
  }
  if (shown < others.length) {
    process.stderr.write(`fwemu: warning: ${name}: ${others.length - shown} more capture warnings not shown (-v lists them)\n`);
  }
  if (summary.truncated) {
    process.stderr.write(
      `fwemu: warning: ${name}: ${cut ? `at byte ${cut.offset}: ${visible(cut.message)}` : 'capture ends inside a record'}; ` +
        `every complete packet before it (${summary.records}) was read\n`,
    );
  }
  if (undecodable > 0) {
    process.stderr.write(`fwemu: warning: ${name}: ${undecodable} of ${summary.records} packets could not be decoded (listed as "undecodable")\n`);
  }
  opts.log.info({ format: summary.format, packets: summary.records, bytes: summary.bytesRead }, 'capture read');
}

/** The capture clock's jumps and backward steps (engine/clock.ts), on stderr with the capture's warnings. */
export function reportClock(clock: ClockStats | null, name: string): void {
  for (const l of clockWarningLines(clock, name)) process.stderr.write(l + '\n');
}

/**
 * After a capture error, before main() reports it: the warnings the reader
 * raised up to the error (its `partial`), as reportCaptureEnd() prints them.
 */
export function reportCaptureBeforeError(opts: CommonOptions, err: unknown, undecodable: number, captureArg: string): void {
  if (err instanceof CaptureError && err.partial !== undefined) reportCaptureEnd(opts, err.partial, undecodable, inputName(captureArg));
}

/**
 * yargs turns a lone "-" positional into "", but "-" is how users say "read
 * the capture from stdin" (or "write to stdout"). main() swaps "-" for this
 * marker before yargs parses, and its middleware turns every argument that
 * holds it back into "-" before a command runs: commands see "-", never the
 * marker (stdinPath() is kept for callers that were handed one anyway).
 */
export const STDIN_MARKER = '\u0000stdin';

export function stdinPath(value: string): string {
  return value === STDIN_MARKER ? '-' : value;
}

/** The CAPTURE argument as messages name it ('<stdin>' for '-', as the capture reader does). */
export function inputName(value: string): string {
  const path = stdinPath(value);
  return path === '-' ? '<stdin>' : path;
}

/** A scenario file (YAML) rather than a capture: its packets are synthesized. */
export function isScenarioPath(path: string): boolean {
  return /\.ya?ml$/i.test(path);
}

/**
 * What a command's CAPTURE argument stands for: a capture file, stdin ("-"),
 * or a scenario (*.yaml) whose packets are generated on the fly.
 */
export function packetSource(arg: string): { source: PacketSource; synth: SynthOutput | null } {
  const path = stdinPath(arg);
  if (!isScenarioPath(path)) return { source: path, synth: null };
  const synth = generate(loadScenario(path));
  return { source: synthSource(synth), synth };
}
