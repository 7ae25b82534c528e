/**
 * Reading a capture from a file or stdin, streaming: memory use does not
 * depend on the capture's size.
 */

import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { CaptureParser } from './parser.js';
import { CaptureError } from './types.js';
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
  /** The stream '-' stands for (default process.stdin); for tests. */
  stdin?: AsyncIterable<Uint8Array | string> & { isTTY?: boolean };
}

/**
 * Streams the capture at `path` ('-' for stdin) through `onRecord`.
 * Throws CaptureError when the file cannot be opened or read, or is not a
 * usable capture; the records before the problem have been delivered by then.
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
  if (path === '-') {
    await pumpStream(parser, opts.stdin ?? process.stdin, opts);
  } else {
    await pumpFile(parser, path, opts);
  }
  return parser.end();
}

/** The whole capture is already in memory (tests, small inputs). */
export function readCaptureBuffer(buf: Uint8Array, name: string, onRecord: (rec: CaptureRecord) => void): CaptureSummary {
  const parser = new CaptureParser(name, onRecord);
  parser.push(buf);
  return parser.end();
}

async function pumpFile(parser: CaptureParser, path: string, opts: ReadCaptureOptions): Promise<void> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`chunkSize must be a positive integer, not ${chunkSize}`);
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new CaptureError(path, 0, `cannot open capture: ${describeIoError(err)}`);
  }
  try {
    // Two buffers: the next read fills one while the parser works through the other.
    let current = Buffer.allocUnsafe(chunkSize);
    let next = Buffer.allocUnsafe(chunkSize);
    let offset = 0;
    let filled = await readAt(fh, current, path, offset);
    while (filled > 0) {
      offset += filled;
      const wait = opts.beforeRead?.();
      if (wait) await wait;
      const nextRead = readAt(fh, next, path, offset);
      // A rejected read must not go unhandled while the parser (or the consumer) throws.
      nextRead.catch(() => {});
      parser.push(filled === chunkSize ? current : current.subarray(0, filled));
      filled = await nextRead;
      const done = current;
      current = next;
      next = done;
    }
  } finally {
    await fh.close();
  }
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

async function pumpStream(
  parser: CaptureParser,
  input: AsyncIterable<Uint8Array | string> & { isTTY?: boolean },
  opts: ReadCaptureOptions,
): Promise<void> {
  if (input.isTTY) {
    throw new CaptureError('<stdin>', 0, 'standard input is a terminal; pipe a capture into it (tcpdump -w - ...) or give a file path');
  }
  for await (const chunk of input) {
    if (typeof chunk === 'string') {
      throw new CaptureError('<stdin>', 0, 'standard input was set to text mode; a capture must be read as bytes');
    }
    parser.push(chunk);
    const wait = opts.beforeRead?.();
    if (wait) await wait;
  }
}

function describeIoError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT': return 'no such file';
    case 'EACCES':
    case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'it is a directory, not a file';
    case 'ENOTDIR': return 'a component of the path is not a directory';
    case 'EMFILE':
    case 'ENFILE': return 'too many open files';
    case 'EIO': return 'input/output error';
    default: return err instanceof Error ? err.message : String(err);
  }
}
