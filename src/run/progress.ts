import { fstatSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { visible } from '../base/text-escape.js';
import { inputName, isScenarioPath } from './inputs.js';
import type { Io } from './io.js';

/**
 * A progress line on stderr for long replays: packets so far, how far into
 * the file, the rate and the time left. It is redrawn in place ("\r", erase
 * to end of line) at most four times a second, appears only after the first
 * second (short runs print nothing), and is erased before anything else is
 * written to the terminal.
 *
 * Cheap enough for the hot path: tick() counts, and reads the clock once
 * every 65536 packets.
 */
export class Progress {
  private packets = 0;
  private readonly started: number;
  private nextDraw: number;
  private drawn = false;

  /**
   * @param label what is being done, e.g. "replaying cap.pcap"
   * @param totalBytes the input's size, or 0 when unknown (stdin, a scenario)
   */
  constructor(
    private readonly label: string,
    private readonly totalBytes: number,
    private readonly out: { write(s: string): unknown; columns?: number } = process.stderr,
    /** Milliseconds (performance.now, or a test's own clock). */
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.started = clock();
    this.nextDraw = this.started + 1000;
  }

  /** One packet done; `offset` is how far into the input it was. */
  tick(offset: number): void {
    if ((++this.packets & 0xffff) !== 0) return;
    const now = this.clock();
    if (now < this.nextDraw) return;
    this.nextDraw = now + 250;
    // Kept to one row: a wrapped line could not be redrawn in place.
    const width = (this.out.columns ?? 80) - 1;
    const text = progressText(this.label, this.packets, offset, this.totalBytes, (now - this.started) / 1000);
    this.out.write(`\r${text.length > width ? text.slice(0, width) : text}\x1b[K`);
    this.drawn = true;
  }

  /** Erase the line (call before printing anything else to the terminal, and at the end). */
  clear(): void {
    if (!this.drawn) return;
    this.out.write('\r\x1b[K');
    this.drawn = false;
  }
}

/**
 * The progress line of a command replaying its CAPTURE argument, or null
 * when wantProgress() says no.
 */
export function captureProgress(
  io: Io,
  path: string,
  asked: boolean | undefined,
  perPacketOutput: boolean,
): Progress | null {
  // (Where stdout is not the process's, it is no file: a test's.)
  if (
    !wantProgress(asked, perPacketOutput, Boolean(io.stderr.isTTY), io.stdout === process.stdout && stdoutGoesToFile())
  )
    return null;
  return new Progress(
    `replaying ${visible(basename(inputName(path)))}`,
    isScenarioPath(path) ? 0 : inputSize(path),
    io.stderr,
  );
}

/**
 * Whether a run shows progress: asked for (true/false), or by default only
 * when stderr is a terminal and the per-packet results, if any, go to a
 * file (or /dev/null), so the line never lands among them: not when they
 * go to the terminal, nor into a pipe (| less, | jq) whose reader may be
 * drawing on the same screen.
 */
export function wantProgress(
  asked: boolean | undefined,
  perPacketOutput: boolean,
  stderrIsTerminal = Boolean(process.stderr.isTTY),
  stdoutIsFile = stdoutGoesToFile(),
): boolean {
  if (asked !== undefined) return asked;
  return stderrIsTerminal && (!perPacketOutput || stdoutIsFile);
}

/** stdout is a regular file, or a character device that is not a terminal (/dev/null). */
function stdoutGoesToFile(): boolean {
  try {
    const st = fstatSync(1);
    return st.isFile() || (st.isCharacterDevice() && !process.stdout.isTTY);
  } catch {
    return false;
  }
}

/** The size of the capture file at `path`, 0 when it has none (stdin, a scenario, a pipe). */
export function inputSize(path: string): number {
  if (path === '-') return 0;
  try {
    const st = statSync(path, { throwIfNoEntry: false });
    return st?.isFile() ? st.size : 0;
  } catch {
    return 0; // (unreadable: the capture reader says so, in its words)
  }
}

/** "replaying x.pcap: 1.23M packets (45% of 990 MB), 412k/s, ~3 s left": short enough for one row. */
export function progressText(label: string, packets: number, offset: number, total: number, seconds: number): string {
  const rate = seconds > 0 ? packets / seconds : 0;
  let s = `${label}: ${count(packets)} packets`;
  if (total > 0) {
    const done = Math.min(1, offset / total);
    s += ` (${Math.floor(done * 100)}% of ${megabytes(total)})`;
    if (done > 0) s += `, ${count(rate)}/s, ~${duration((seconds / done) * (1 - done))} left`;
  } else {
    s += `, ${count(rate)}/s`;
  }
  return s;
}

function count(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)}k`;
  return String(Math.round(n));
}

function megabytes(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : `${Math.max(1, Math.round(bytes / 1e6))} MB`;
}

function duration(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}
