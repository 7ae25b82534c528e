/**
 * Reading the small YAML inputs (rule files, scenarios, policy tests): the
 * size limit is enforced while reading, so a huge or wrong file is refused
 * at once — including files whose size stat() cannot tell (/dev/zero, a
 * FIFO, a process substitution, standard input), which would otherwise be
 * read forever. What is wrong with the content (too big, a capture) is a
 * Diagnostic with a position, like any other input error; a file that
 * cannot be read at all is an InputFileError, in the words every kind of
 * input uses.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { diag, type Diagnostic } from './diag.js';
import { UserError } from './errors.js';
import { describeIoError } from './output-file.js';
import { visible } from './text-escape.js';

/** The path that stands for standard input, and the name messages give it. */
export const STDIN_PATH = '-';
export const STDIN_NAME = '<stdin>';

/** How a path is named in messages: '<stdin>' for '-'. */
export function inputDisplayName(path: string): string {
  return path === STDIN_PATH ? STDIN_NAME : path;
}

/**
 * An input that cannot be read at all: "FILE: cannot read KIND: WHY", one
 * line, with no position (there is none before a byte is read), in the
 * same words for every kind of input (rule file, scenario file, policy
 * test file, capture file) and every command. Exit 2 (bad input).
 */
export class InputFileError extends UserError {
  constructor(
    readonly file: string,
    readonly kind: string,
    readonly why: string,
  ) {
    super(`${visible(file)}: cannot read ${kind}: ${why}`);
    this.name = 'InputFileError';
  }
}

/** Why: a directory where a file is wanted (the commands that take directories named). */
export const IS_A_DIRECTORY = 'it is a directory (give a file; fwemu check and fwemu test take directories)';

/** Why an open, stat or read of an input failed, in the words InputFileError gives. */
export function whyUnreadable(err: unknown): string {
  switch ((err as NodeJS.ErrnoException | undefined)?.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return IS_A_DIRECTORY;
    default:
      // permission denied, a part of the path is not a directory, too many levels of symbolic links, ...
      return describeIoError(err);
  }
}

/** The error for an input (`file` as messages name it) whose open, stat or read failed with `err`. */
export function unreadable(file: string, kind: string, err: unknown): InputFileError {
  return new InputFileError(file, kind, whyUnreadable(err));
}

function limitText(maxBytes: number): string {
  return `${maxBytes} bytes (${maxBytes % (1 << 20) === 0 ? `${maxBytes >> 20} MiB` : `${Math.round(maxBytes / 1024)} KiB`})`;
}

/** `size` is the exact size when known (a regular file), or null when reading stopped at the limit. */
export function tooBig(file: string, size: number | null, kind: string, maxBytes: number): Diagnostic {
  const what =
    size === null ? `file is larger than ${maxBytes} bytes (reading stopped there)` : `file is ${size} bytes`;
  return diag(file, 1, 1, `${what}; ${kind} files are limited to ${limitText(maxBytes)}`, 'file.too-big');
}

/** Read in pieces of this size: a small file costs one small read, a large one stops just past the limit. */
const CHUNK = 64 * 1024;

/**
 * Reads at most `maxBytes + 1` bytes of `fd`: one byte past the limit is
 * how a file too big is told from one exactly at it, whatever stat() says.
 * Its bytes are null when the limit (`larger`'s, when the head allows it) is exceeded.
 */
function readAtMost(fd: number, maxBytes: number, larger?: LargerLimit): { bytes: Buffer | null; limit: number } {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    // Past the limit: a larger one holds when the first bytes say so (read once, not again).
    if (total > maxBytes && larger !== undefined && larger.maxBytes > maxBytes) {
      const head = Buffer.concat(chunks, total).subarray(0, maxBytes).toString('utf8');
      if (!larger.when(head)) return { bytes: null, limit: maxBytes };
      maxBytes = larger.maxBytes;
    }
    const want = Math.min(CHUNK, maxBytes + 1 - total);
    const buf = Buffer.allocUnsafe(want);
    let n: number;
    try {
      n = readSync(fd, buf, 0, want, null);
    } catch (e) {
      // Standard input may be non-blocking (a terminal, some pipes): wait for data rather than fail.
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        continue;
      }
      throw e;
    }
    if (n === 0) break;
    chunks.push(n === want ? buf : buf.subarray(0, n));
    total += n;
    if (total > maxBytes && (larger === undefined || larger.maxBytes <= maxBytes))
      return { bytes: null, limit: maxBytes };
  }
  if (total > maxBytes) return { bytes: null, limit: maxBytes };
  return { bytes: Buffer.concat(chunks, total), limit: maxBytes };
}

/** At most the first `maxBytes` bytes of a file, as text (for a look at its head); null when it cannot be read. */
export function readHead(path: string, maxBytes: number): string | null {
  let fd = -1;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.allocUnsafe(maxBytes);
    let total = 0;
    for (let n = 1; n > 0 && total < maxBytes; total += n) n = readSync(fd, buf, total, maxBytes - total, null);
    return buf.toString('utf8', 0, total);
  } catch {
    return null;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** What a file's first bytes say it is, when it is a capture (pcap, pcapng) or compressed; else null. */
export function binaryKind(head: Uint8Array): string | null {
  if (head.length < 4) return null;
  const le = (head[0] | (head[1] << 8) | (head[2] << 16) | (head[3] << 24)) >>> 0;
  if (le === 0xa1b2c3d4 || le === 0xd4c3b2a1 || le === 0xa1b23c4d || le === 0x4d3cb2a1) return 'a pcap capture';
  if (le === 0x0a0d0d0a) return 'a pcapng capture';
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip-compressed data';
  return null;
}

/** The error for a capture given where a YAML file was expected: the usual slip is tcpdump's -r habit. */
function notYaml(name: string, what: string, kind: string): { error: Diagnostic } {
  return {
    error: diag(
      name,
      1,
      1,
      `this is ${what}, not a ${kind} file: rule files go after -r, captures last (fwemu replay -r RULES.yaml CAPTURE)`,
      'file.is-capture',
    ),
  };
}

/**
 * A larger size limit for the files whose first `maxBytes` (the smaller
 * limit's) say they are of a kind allowed more: fwemu's YAML rule files are
 * small, while an iptables-save dump of a large cluster runs to megabytes.
 */
export interface LargerLimit {
  maxBytes: number;
  /** Whether the head allows the larger limit. */
  when: (head: string) => boolean;
}

/**
 * The file's text ('-' reads standard input, or `stdinBytes` when given;
 * messages name it '<stdin>'), or the one diagnostic that says why its
 * content cannot be had. Throws InputFileError when it cannot be read.
 */
export function readInputFile(
  path: string,
  maxBytes: number,
  kind: string,
  stdinBytes?: Uint8Array,
  larger?: LargerLimit,
): { text: string } | { error: Diagnostic } {
  const name = inputDisplayName(path);
  const stdin = path === STDIN_PATH;
  if (stdin && stdinBytes !== undefined) {
    // Given bytes stand for a pipe: no size to refuse it by up front, so over the limit is "reading stopped there".
    const given = binaryKind(stdinBytes);
    if (given !== null) return notYaml(name, given, kind);
    const limit =
      stdinBytes.length > maxBytes && larger?.when(Buffer.from(stdinBytes.subarray(0, maxBytes)).toString('utf8'))
        ? larger.maxBytes
        : maxBytes;
    if (stdinBytes.length > limit) return { error: tooBig(name, null, kind, limit) };
    return { text: Buffer.from(stdinBytes.buffer, stdinBytes.byteOffset, stdinBytes.length).toString('utf8') };
  }
  let fd = -1;
  try {
    fd = stdin ? 0 : openSync(path, 'r');
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new InputFileError(name, `${kind} file`, IS_A_DIRECTORY);
    if (st.isFile()) {
      // Its first bytes first: a capture over the size limit is still named as one.
      const head = Buffer.alloc(4);
      const what = binaryKind(head.subarray(0, readSync(fd, head, 0, 4, 0)));
      if (what !== null) return notYaml(name, what, kind);
      // A regular file's size is known: refuse it at once, with the size.
      if (st.size > maxBytes) {
        const head = Buffer.alloc(maxBytes);
        const limit =
          larger?.when(head.subarray(0, readSync(fd, head, 0, maxBytes, 0)).toString('utf8')) === true
            ? larger.maxBytes
            : maxBytes;
        if (st.size > limit) return { error: tooBig(name, st.size, kind, limit) };
      }
    }
    const { bytes, limit } = readAtMost(fd, maxBytes, larger);
    if (bytes === null) return { error: tooBig(name, null, kind, limit) };
    if (!st.isFile()) {
      const what = binaryKind(bytes);
      if (what !== null) return notYaml(name, what, kind);
    }
    return { text: bytes.toString('utf8') };
  } catch (e) {
    if (e instanceof InputFileError) throw e;
    throw unreadable(name, `${kind} file`, e);
  } finally {
    if (fd > 0) closeSync(fd);
  }
}
