/**
 * What the stream machinery (parser.ts) and the two format readers
 * (pcap.ts, pcapng.ts) share: where in the input the unit being read
 * starts, the one reused record and its consumer, the record count, the
 * warnings, and the errors that name the input. Plus the byte readers
 * both formats use, in either byte order.
 */

import { CaptureError, newCaptureRecord } from './types.js';
import type { CaptureRecord, CaptureWarning } from './types.js';

/** A corrupt file can flag every record; keep the list bounded and count the rest. */
const MAX_WARNINGS = 1000;

export const EMPTY = new Uint8Array(0);

export class ParseState {
  /** Absolute input offset of the first byte not yet consumed (= start of the unit in progress). */
  pos = 0;
  totalBytes = 0;
  records = 0;
  readonly warnings: CaptureWarning[] = [];
  suppressedWarnings = 0;
  /** Handed to every onRecord call, refilled for each packet: nothing is allocated per record. */
  readonly record: CaptureRecord = newCaptureRecord();

  constructor(
    readonly name: string,
    readonly onRecord: (rec: CaptureRecord) => void,
  ) {}

  warn(offset: number, n: number | undefined, message: string): void {
    if (this.warnings.length >= MAX_WARNINGS) {
      this.suppressedWarnings++;
      return;
    }
    this.warnings.push(n === undefined ? { offset, message } : { offset, n, message });
  }

  fail(offset: number, detail: string): CaptureError {
    return new CaptureError(this.name, offset, detail);
  }
}

export function u16(buf: Uint8Array, off: number, le: boolean): number {
  return le ? buf[off] | (buf[off + 1] << 8) : (buf[off] << 8) | buf[off + 1];
}

export function u32(buf: Uint8Array, off: number, le: boolean): number {
  return le
    ? (buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16) | (buf[off + 3] << 24)) >>> 0
    : ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
}

export function hex32(v: number): string {
  return '0x' + v.toString(16).padStart(8, '0');
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
