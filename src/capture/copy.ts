/**
 * The one way to keep packet bytes past the record they came with.
 *
 * A reader reuses its buffers (two 1 MiB chunks that take turns, a carry
 * for records that straddle them), so anything kept after onRecord returns
 * (a held IP fragment, a result waiting behind one, a record queued for a
 * written capture) must own its bytes. `subarray()` and Node's
 * `Buffer.prototype.slice()` both return views that the next read
 * overwrites; these functions always copy, whatever kind of array they get.
 */
import type { CaptureRecord } from './types.js';

/** A copy of buf[start, end) in memory of its own (end is clipped to the buffer). */
export function copyBytes(buf: Uint8Array, start = 0, end = buf.length): Uint8Array {
  const stop = Math.min(end, buf.length);
  const out = new Uint8Array(Math.max(0, stop - start));
  out.set(buf.subarray(start, stop));
  return out;
}

/** The record with a copy of its packet bytes (buf[0, caplen)); the other fields as they are now. */
export function copyRecord(rec: CaptureRecord): CaptureRecord {
  return { ...rec, buf: copyBytes(rec.buf, rec.off, rec.off + rec.caplen), off: 0 };
}
