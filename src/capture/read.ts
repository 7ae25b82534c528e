/**
 * Reading a capture from a file or stdin, streaming: memory use does not
 * depend on the capture's size.
 */

import { read as fdRead } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { isatty } from 'node:tty';
import { IS_A_DIRECTORY, InputFileError, unreadable } from '../base/input-file.js';
import { stopRequested, whenStopped } from '../base/interrupt.js';
import { CaptureParser } from './parser.js';
import { CaptureError, StopReading } from './types.js';
import type { CaptureRecord, CaptureSummary } from './types.js';

export const DEFAULT_CHUNK_SIZE = 1024 * 1024;

export interface ReadCaptureOptions {
  /** Bytes per read from a file (default 1 MiB). */
  chunkSize?: number;
  /**
   * Called before each read; when it returns a promise, reading waits for it.
   * Lets a slow consumer (output piped to a pager) hold the producer back.
   */
  beforeRead?: () => Promise<void> | null | undefined | void;
  /**
   * Called once the records of a chunk of input have been delivered, before
   * waiting for more: a consumer of live input (a pipe from tcpdump) writes
   * out what it made of them there, instead of when its buffer fills.
   */
  afterChunk?: () => void;
  /**
   * Supplies the buffer for each read from a file or descriptor, instead of
   * two buffers used in turn (chunkSize is ignored): for a consumer that
   * keeps records where they lie after onRecord returns (the sharded replay
   * hands them to other threads). `lastFilled` is how many bytes the
   * previous buffer taken got (0 at the first call), so that the next one
   * may start where it ended. A buffer taken is read into at once, and
   * parsed after the next one has been taken.
   */
  takeChunk?: (lastFilled: number) => Buffer;
  /**
   * What '-' stands for instead of file descriptor 0: a stream, or bytes
   * (read as a pipe hands them out). For tests and in-process runs.
   */
  stdin?: (AsyncIterable<Uint8Array | string> & { isTTY?: boolean }) | Uint8Array;
}

/**
 * Streams the capture at `path` ('-' for stdin) through `onRecord`.
 * Throws CaptureError when the file cannot be opened or read, or is not a
 * usable capture; the records before the problem have been delivered by then,
 * and the error's `partial` says what was read (format, records, warnings).
 */
export async function readCapture(
  path: string,
  onRecord: (rec: CaptureRecord) => void,
  opts: ReadCaptureOptions = {},
): Promise<CaptureSummary> {
  if (path === '') {
    throw new CaptureError('(empty path)', 0, "cannot open capture: the path is empty (use '-' for standard input)");
  }
  const parser = new CaptureParser(path === '-' ? '<stdin>' : path, onRecord);
  try {
    if (path !== '-') {
      await pumpFile(parser, path, opts);
    } else if (opts.stdin) {
      await pumpStream(parser, opts.stdin instanceof Uint8Array ? pipeChunks(opts.stdin) : opts.stdin, opts);
    } else {
      if (isatty(0)) throw new CaptureError('<stdin>', 0, STDIN_TTY);
      // File descriptor 0 read like a file: large reads, no stream machinery
      // (process.stdin hands out 64 KiB chunks). A descriptor left non-blocking
      // by whoever made it (EAGAIN) is read as a stream from where this stopped.
      if (await pumpReads(parser, readFd(0, '<stdin>'), opts)) await pumpStream(parser, process.stdin, opts);
    }
    return parser.end();
  } catch (err) {
    throw withWhatWasRead(parser, err);
  }
}

/** A CaptureError or StopReading leaving `parser`, with what it had read as their `partial`. */
function withWhatWasRead(parser: CaptureParser, err: unknown): unknown {
  if (err instanceof CaptureError) err.partial ??= parser.readSoFar(err.offset);
  else if (err instanceof StopReading) err.partial ??= parser.readSoFar();
  return err;
}

const STDIN_TTY = 'standard input is a terminal; pipe a capture into it (tcpdump -w - ...) or give a file path';

/** The whole capture is already in memory (tests, small inputs). */
export function readCaptureBuffer(
  buf: Uint8Array,
  name: string,
  onRecord: (rec: CaptureRecord) => void,
): CaptureSummary {
  const parser = new CaptureParser(name, onRecord);
  try {
    parser.push(buf);
    return parser.end();
  } catch (err) {
    throw withWhatWasRead(parser, err);
  }
}

async function pumpFile(parser: CaptureParser, path: string, opts: ReadCaptureOptions): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw unreadable(path, 'capture file', err);
  }
  try {
    // A directory opens, and fails only at the first read: named as every input names one.
    const st = await fh.stat();
    if (st.isDirectory()) throw new InputFileError(path, 'capture file', IS_A_DIRECTORY);
    await pumpReads(parser, (buf, offset) => readAt(fh, buf, path, offset), opts);
  } finally {
    await fh.close();
  }
}

/** A read into buf: the bytes read (0 at the end), or AGAIN when a non-blocking descriptor has nothing yet. */
type ReadInto = (buf: Buffer, offset: number) => Promise<number>;
const AGAIN = -1;

/**
 * Reads through `read` until the end, in chunkSize pieces, into the parser.
 * Returns false at the end of the input, true when `read` answered AGAIN
 * (the caller goes on another way from there).
 */
async function pumpReads(parser: CaptureParser, read: ReadInto, opts: ReadCaptureOptions): Promise<boolean> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1)
    throw new RangeError(`chunkSize must be a positive integer, not ${chunkSize}`);
  const take = opts.takeChunk;
  // Two buffers used in turn (unless takeChunk supplies each one): the next
  // read fills one while the parser works through the other.
  let current: Buffer = take ? take(0) : Buffer.allocUnsafe(chunkSize);
  let spare: Buffer | null = take ? null : Buffer.allocUnsafe(chunkSize);
  let offset = 0;
  let filled = await read(current, offset);
  while (filled > 0) {
    offset += filled;
    const wait = opts.beforeRead?.();
    if (wait) await wait;
    const into = take ? take(filled) : spare!;
    const nextRead = read(into, offset);
    // A rejected read must not go unhandled while the parser (or the consumer) throws.
    nextRead.catch(() => {});
    parser.push(filled === current.length ? current : current.subarray(0, filled));
    opts.afterChunk?.();
    // A stop (SIGINT) ends the input here, even while a pipe's writer is silent.
    if (stopRequested() !== null) return false;
    filled = await Promise.race([nextRead, whenStopped().then(() => 0)]);
    if (spare !== null) spare = current;
    current = into;
  }
  return filled === AGAIN;
}

async function readAt(fh: FileHandle, buf: Buffer, path: string, offset: number): Promise<number> {
  try {
    // Position null reads on from the current position, which also works for pipes (/dev/fd/N).
    const { bytesRead } = await fh.read(buf, 0, buf.length, null);
    return bytesRead;
  } catch (err) {
    throw new CaptureError(path, offset, `cannot read capture: ${describeIoError(err)}`);
  }
}

/** Reads from an open descriptor at its current position (pipes included). */
function readFd(fd: number, name: string): ReadInto {
  return (into, offset) =>
    new Promise((resolve, reject) => {
      fdRead(fd, into, 0, into.length, null, (err, bytesRead) => {
        if (!err) resolve(bytesRead);
        else if (err.code === 'EAGAIN') resolve(AGAIN);
        else reject(new CaptureError(name, offset, `cannot read capture: ${describeIoError(err)}`));
      });
    });
}

/** Bytes in the pieces a pipe delivers (64 KiB): subarrays, never reused. */
async function* pipeChunks(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += 64 * 1024) yield bytes.subarray(at, at + 64 * 1024);
}

async function pumpStream(
  parser: CaptureParser,
  input: AsyncIterable<Uint8Array | string> & { isTTY?: boolean },
  opts: ReadCaptureOptions,
): Promise<void> {
  if (input.isTTY) {
    throw new CaptureError('<stdin>', 0, STDIN_TTY);
  }
  const chunks = input[Symbol.asyncIterator]();
  for (;;) {
    const next = await Promise.race([chunks.next(), whenStopped().then(() => null)]);
    if (next === null || next.done) return;
    const chunk = next.value;
    if (typeof chunk === 'string') {
      throw new CaptureError('<stdin>', 0, 'standard input was set to text mode; a capture must be read as bytes');
    }
    parser.push(chunk);
    opts.afterChunk?.();
    const wait = opts.beforeRead?.();
    if (wait) await wait;
  }
}

function describeIoError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory, not a file';
    case 'ENOTDIR':
      return 'a component of the path is not a directory';
    case 'EMFILE':
    case 'ENFILE':
      return 'too many open files';
    case 'EIO':
      return 'input/output error';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}
