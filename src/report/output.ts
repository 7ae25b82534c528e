import type { Writable } from 'node:stream';
import { ExitCode, UserError } from '../base/errors.js';
import { describeIoError } from '../base/output-file.js';
import { ByteText } from './bytes.js';

/**
 * Buffered line output for results (stdout).
 *
 * Writing each line straight to a pipe costs a syscall per packet; batching
 * into ~64 KiB writes keeps report cost small next to the replay itself.
 * Lines are given as strings (`line()`), or built in place as bytes (the
 * ByteText methods, then `endLine()`), which the per-packet jsonl lines
 * are. `pending()` exposes back-pressure so a producer can pause reading
 * input while a slow consumer (a pager, `| less`) catches up, which keeps
 * memory bounded however large the capture.
 */
export class LineWriter extends ByteText {
  private waiting: Promise<void> | null = null;
  /** Set when the output can take no more: the reader went away (EPIPE), or it failed. Stop producing. */
  closed = false;
  /** Why the output failed, other than its reader going away. */
  private error: NodeJS.ErrnoException | null = null;
  /** Write each line as soon as it ends (-l), not in batches. */
  perLine = false;

  constructor(
    private readonly out: Writable = process.stdout,
    private readonly flushAt = 64 * 1024,
  ) {
    // Room for the batch and one more line of any usual size.
    super(flushAt + 16 * 1024);
    out.on('error', (err: NodeJS.ErrnoException) => {
      // Either way nothing more can be written. The reader going away is
      // not an error; any other (a full disk) is reported by flush() (for
      // stdout, main() reports it first and exits).
      this.closed = true;
      if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') this.error ??= err;
    });
  }

  /**
   * Lines given as strings wait here, joined and encoded once per batch
   * (cheaper than once per line); they go into the buffer before any byte
   * is written in place (every line built in place starts with `room()`).
   */
  private parts: string[] = [];
  private partsSize = 0;

  line(s: string): void {
    if (this.closed) return;
    this.parts.push(s, '\n');
    this.partsSize += s.length + 1;
    if (this.perLine || this.pos + this.partsSize >= this.flushAt) this.flushSome();
  }

  override room(n: number): void {
    if (this.partsSize > 0) this.takeParts();
    super.room(n);
  }

  private takeParts(): void {
    const s = this.parts.join('');
    this.parts = [];
    this.partsSize = 0;
    this.text(s);
  }

  /** A line already encoded (bytes[start, end), without its newline). */
  lineBytes(bytes: Uint8Array, start: number, end: number): void {
    if (this.closed) return;
    this.room(end - start);
    this.buf.set(bytes.subarray(start, end), this.pos);
    this.pos += end - start;
    this.endLine();
  }

  /** Ends the line built in place since the last one. */
  endLine(): void {
    this.room(1);
    this.buf[this.pos++] = 0x0a;
    if (this.perLine || this.pos >= this.flushAt) this.flushSome();
  }

  private flushSome(): void {
    if (this.partsSize > 0) this.takeParts();
    // The stream may hold on to the chunk until it is written. A full batch
    // is handed over and the next lines go into a new buffer; the few lines
    // of live output (a packet or a chunk at a time) are copied out instead,
    // so that each write does not cost a whole new buffer.
    let chunk: Uint8Array;
    if (this.pos < 4096) {
      chunk = Buffer.from(this.buf.subarray(0, this.pos));
    } else {
      chunk = this.buf.subarray(0, this.pos);
      this.buf = Buffer.allocUnsafe(this.buf.length);
    }
    this.pos = 0;
    if (this.closed) return;
    if (!this.out.write(chunk) && !this.waiting) {
      this.waiting = new Promise((resolve) => {
        const done = () => {
          this.out.off('drain', done);
          this.out.off('close', done);
          this.waiting = null;
          resolve();
        };
        this.out.on('drain', done);
        this.out.on('close', done);
      });
    }
  }

  /**
   * Writes out what is buffered now, without waiting (live input: the
   * lines of the packets just read, before the reader waits for more).
   */
  flushBuffered(): void {
    if (this.pos > 0 || this.partsSize > 0) this.flushSome();
  }

  /** Resolves when the destination can take more; await it between input chunks. */
  pending(): Promise<void> | null {
    return this.waiting;
  }

  /** Writes what is buffered; rejects (exit 74) when the output failed. */
  async flush(): Promise<void> {
    this.flushBuffered();
    if (this.waiting) await this.waiting;
    if (this.error) {
      const name = this.out === process.stdout ? 'standard output' : 'the output';
      throw new UserError(`cannot write results to ${name}: ${describeIoError(this.error)}`, ExitCode.IO_ERROR);
    }
  }
}
