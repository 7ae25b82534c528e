/**
 * pcap and pcapng writers. Records are packed into one large buffer and
 * handed to the output a buffer at a time; write() itself never blocks
 * and, for a file path, memory stays at one buffer however much is written.
 *
 * A path is written with synchronous writes on a file descriptor, to a
 * temporary file beside it that close() renames into place (abort() removes
 * it, and so does the end of the process): the file is complete once close()
 * resolves, a disk error surfaces at the write() that hit it, and a failed
 * or interrupted run leaves the path as it was (src/base/output-file.ts). A
 * Writable (process.stdout) gets each full buffer as a chunk;
 * when it asks us to wait (write() returned false), pending() returns a
 * promise a producer can await (readCapture's `beforeRead`).
 */

import type { Writable } from 'node:stream';
import { UserError } from '../base/errors.js';
import { describeIoError, ioExitCode, OutputFile } from '../base/output-file.js';
import {
  HDR_LINKTYPE,
  HDR_SIGFIGS,
  HDR_SNAPLEN,
  HDR_THISZONE,
  HDR_VERSION_MAJOR,
  HDR_VERSION_MINOR,
  MAGIC_PCAP_NS,
  MAGIC_PCAP_US,
  MAX_CAPLEN,
  PCAP_GLOBAL_HEADER,
  PCAP_RECORD_HEADER,
  REC_CAPLEN,
  REC_LEN,
  REC_TS_FRAC,
  REC_TS_SEC,
} from './pcap.js';
import {
  BLK_LENGTH,
  BLK_TYPE,
  BLOCK_EPB,
  BLOCK_IDB,
  BLOCK_SHB,
  BYTE_ORDER_MAGIC,
  EPB_CAPLEN,
  EPB_DATA,
  EPB_INTERFACE_ID,
  EPB_LEN,
  EPB_TS_HIGH,
  EPB_TS_LOW,
  IDB_LINKTYPE,
  IDB_OPTIONS,
  IDB_RESERVED,
  IDB_SNAPLEN,
  OPT_CODE,
  OPT_END,
  OPT_IF_NAME,
  OPT_IF_TSRESOL,
  OPT_LENGTH,
  OPT_PACKET_FLAGS,
  OPT_VALUE,
  SHB_BYTE_ORDER,
  SHB_OPTIONS,
  SHB_SECTION_LENGTH,
  SHB_VERSION_MAJOR,
  SHB_VERSION_MINOR,
} from './pcapng.js';
import { nanosToHiLo, utcString } from './timestamp.js';
import { Direction } from './types.js';
import type { DirectionValue } from './types.js';

export const DEFAULT_SNAPLEN = MAX_CAPLEN;
const DEFAULT_BUFFER_SIZE = 1024 * 1024;
const MAX_U32 = 0xffff_ffff;

function checkRange(what: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${what} must be an integer from 0 to ${max}, not ${value}`);
  }
}

/** The last second a pcap record can hold: its seconds field is an unsigned 32-bit number. */
export const PCAP_LATEST_SEC = MAX_U32;
/** The last second this pcapng writer can hold (nanosToHiLo()'s range; nanosecond units). */
export const PCAPNG_LATEST_SEC = 2 ** 33 - 1;

/**
 * A timestamp a capture format cannot hold: the user's condition (a capture
 * or scenario stamped after 2106 written as pcap), not a bug, so a
 * UserError; a time that is not a whole number of seconds and nanoseconds
 * is a bug of the caller (RangeError).
 */
function checkTimestamp(
  target: string,
  format: 'pcap' | 'pcapng',
  record: number,
  tsSec: number,
  tsNsec: number,
  latest: number,
): void {
  if (!Number.isInteger(tsSec) || !Number.isInteger(tsNsec) || tsNsec < 0 || tsNsec > 999_999_999) {
    throw new RangeError(`timestamp must be whole seconds and nanoseconds 0-999999999, not ${tsSec} s ${tsNsec} ns`);
  }
  if (tsSec >= 0 && tsSec <= latest) return;
  const when = `${tsSec}.${String(tsNsec).padStart(9, '0')} s (${utcString(tsSec)})`;
  const range = `a ${format} file holds times from 1970-01-01T00:00:00Z to ${utcString(latest)}`;
  const hint =
    tsSec < 0
      ? 'no capture format fwemu writes holds a time before 1970'
      : format === 'pcap'
        ? 'its seconds are a 32-bit number; give the file a .pcapng name (pcapng holds later times)'
        : 'fwemu does not judge packets that late anyway';
  throw new UserError(
    `cannot write to ${target}: packet ${record} written to it is stamped ${when}, but ${range}: ${hint}`,
  );
}

/** Owns the output buffer and where full buffers go. */
abstract class BufferedCaptureWriter {
  protected buf: Buffer;
  protected view: DataView;
  protected used = 0;
  private readonly file: OutputFile | null = null;
  private readonly stream: Writable | null = null;
  protected readonly targetName: string;
  /** Packet records written so far (for messages). */
  protected records = 0;
  private streamError: unknown = null;
  private waiting: Promise<void> | null = null;
  private lastWrite: Promise<void> | null = null;
  private closed = false;

  /** A path, an output file already open (src/base/output-file.ts), or a stream. */
  constructor(target: string | OutputFile | Writable, bufferSize: number) {
    checkRange('bufferSize', bufferSize, 1 << 30);
    this.buf = Buffer.allocUnsafe(bufferSize);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    if (typeof target === 'string' || target instanceof OutputFile) {
      this.file = typeof target === 'string' ? new OutputFile(target) : target;
      this.targetName = this.file.path;
    } else {
      this.targetName = target === process.stdout ? '<stdout>' : 'output stream';
      this.stream = target;
      target.on('error', (err) => {
        this.streamError = err;
      });
    }
  }

  /** Resolves when the output stream has drained after asking us to wait; null when there is no need to wait. */
  pending(): Promise<void> | null {
    return this.waiting;
  }

  /**
   * Flushes everything and puts the file in place, or ends the stream
   * (except stdout/stderr, which stay open). When that fails, the file is
   * left as it was.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      this.flush();
    } catch (err) {
      this.abort();
      throw err;
    }
    this.closed = true;
    if (this.file !== null) {
      this.file.commit();
      return;
    }
    const stream = this.stream!;
    if (stream === process.stdout || stream === process.stderr) {
      if (this.lastWrite) await this.lastWrite;
    } else {
      await new Promise<void>((resolve, reject) => {
        stream.end((err?: Error | null) => (err ? reject(this.writeError(err)) : resolve()));
      });
    }
    if (this.streamError) throw this.writeError(this.streamError);
  }

  /**
   * Gives up: a file is left as it was before (its temporary file removed);
   * what a stream was given is out already.
   */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    this.file?.abort();
  }

  /** Makes room for `size` more bytes and returns where they go. */
  protected reserve(size: number): number {
    if (this.closed) throw new Error('capture writer used after close()');
    if (this.used + size > this.buf.length) {
      this.flush();
      if (size > this.buf.length) {
        this.buf = Buffer.allocUnsafe(size);
        this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
      }
    }
    const at = this.used;
    this.used += size;
    return at;
  }

  private flush(): void {
    if (this.used === 0) return;
    if (this.streamError) throw this.writeError(this.streamError);
    if (this.file !== null) {
      this.file.write(this.buf, 0, this.used);
      this.used = 0;
      return;
    }
    // The stream keeps the chunk until it is written, so it gets this buffer and we start a new one.
    const chunk = this.buf.subarray(0, this.used);
    this.buf = Buffer.allocUnsafe(this.buf.length);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.used = 0;
    const stream = this.stream!;
    this.lastWrite = new Promise<void>((resolve) => {
      const ok = stream.write(chunk, (err) => {
        if (err) this.streamError = err;
        resolve();
      });
      if (!ok && !this.waiting) {
        this.waiting = new Promise<void>((drained) => {
          const done = () => {
            stream.off('drain', done);
            stream.off('close', done);
            this.waiting = null;
            drained();
          };
          stream.on('drain', done);
          stream.on('close', done);
        });
      }
    });
  }

  private writeError(err: unknown): UserError {
    return new UserError(`cannot write capture to ${this.targetName}: ${describeIoError(err)}`, ioExitCode(err));
  }

  protected copyPacket(at: number, data: Uint8Array, off: number, caplen: number): void {
    if (off < 0 || off + caplen > data.length) {
      throw new RangeError(`packet bytes [${off}, ${off + caplen}) lie outside the ${data.length}-byte buffer`);
    }
    this.buf.set(data.subarray(off, off + caplen), at);
  }
}

export interface PcapWriterOptions {
  /** LINKTYPE_* of every packet in the file. */
  linkType: number;
  /** Longer packets are cut to this many bytes (their original length is kept). Default 262144. */
  snaplen?: number;
  /** Nanosecond timestamps (magic a1b23c4d) instead of microseconds. Default false. */
  nanosecond?: boolean;
  /** Bytes collected before each write to the output. Default 1 MiB. */
  bufferSize?: number;
}

/** Classic little-endian pcap: one link type for the whole file. */
export class PcapWriter extends BufferedCaptureWriter {
  readonly linkType: number;
  readonly snaplen: number;
  readonly nanosecond: boolean;

  constructor(target: string | OutputFile | Writable, opts: PcapWriterOptions) {
    super(target, opts.bufferSize ?? DEFAULT_BUFFER_SIZE);
    this.linkType = opts.linkType;
    this.snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
    this.nanosecond = opts.nanosecond ?? false;
    checkRange('linkType', this.linkType, 0xffff);
    checkRange('snaplen', this.snaplen, MAX_U32);
    const at = this.reserve(PCAP_GLOBAL_HEADER);
    const v = this.view;
    v.setUint32(at, this.nanosecond ? MAGIC_PCAP_NS : MAGIC_PCAP_US, true);
    v.setUint16(at + HDR_VERSION_MAJOR, 2, true);
    v.setUint16(at + HDR_VERSION_MINOR, 4, true);
    v.setInt32(at + HDR_THISZONE, 0, true);
    v.setUint32(at + HDR_SIGFIGS, 0, true);
    v.setUint32(at + HDR_SNAPLEN, this.snaplen, true);
    v.setUint32(at + HDR_LINKTYPE, this.linkType, true);
  }

  /** Appends one packet, data[off, off + caplen), cut to the snaplen. tsNsec is rounded down to microseconds unless `nanosecond`. */
  write(tsSec: number, tsNsec: number, data: Uint8Array, off: number, caplen: number, origLen: number): void {
    checkTimestamp(this.targetName, 'pcap', ++this.records, tsSec, tsNsec, PCAP_LATEST_SEC);
    const stored = Math.min(caplen, this.snaplen);
    const at = this.reserve(PCAP_RECORD_HEADER + stored);
    const v = this.view;
    v.setUint32(at + REC_TS_SEC, tsSec, true);
    v.setUint32(at + REC_TS_FRAC, this.nanosecond ? tsNsec : Math.floor(tsNsec / 1000), true);
    v.setUint32(at + REC_CAPLEN, stored, true);
    v.setUint32(at + REC_LEN, Math.max(origLen, caplen), true);
    this.copyPacket(at + PCAP_RECORD_HEADER, data, off, stored);
  }
}

export interface PcapngWriterOptions {
  /** shb_userappl written into the section header. Default "fwemu". */
  application?: string;
  /** Bytes collected before each write to the output. Default 1 MiB. */
  bufferSize?: number;
}

const OPT_SHB_USERAPPL = 4;
const TS_NANOSECONDS = 9;

const utf8 = new TextEncoder();

function padded(n: number): number {
  return (n + 3) & ~3;
}

/** pcapng, one section, little-endian; every interface uses nanosecond timestamps. */
export class PcapngWriter extends BufferedCaptureWriter {
  private readonly snaplens: number[] = [];
  private readonly timestamp = { hi: 0, lo: 0 };

  constructor(target: string | OutputFile | Writable, opts: PcapngWriterOptions = {}) {
    super(target, opts.bufferSize ?? DEFAULT_BUFFER_SIZE);
    const application = utf8.encode(opts.application ?? 'fwemu');
    const length = 28 + 4 + padded(application.length) + 4;
    const at = this.reserve(length);
    const v = this.view;
    v.setUint32(at + BLK_TYPE, BLOCK_SHB, true);
    v.setUint32(at + BLK_LENGTH, length, true);
    v.setUint32(at + SHB_BYTE_ORDER, BYTE_ORDER_MAGIC, true);
    v.setUint16(at + SHB_VERSION_MAJOR, 1, true);
    v.setUint16(at + SHB_VERSION_MINOR, 0, true);
    // Section length -1 (64 bits): unknown, as for any streamed capture.
    v.setInt32(at + SHB_SECTION_LENGTH, -1, true);
    v.setInt32(at + SHB_SECTION_LENGTH + 4, -1, true);
    let p = this.writeOption(at + SHB_OPTIONS, OPT_SHB_USERAPPL, application);
    p = this.writeOption(p, OPT_END, null);
    v.setUint32(p, length, true);
  }

  /** Describes an interface (IDB) and returns its index, the `ifIndex` for write(). */
  addInterface(linkType: number, name?: string, snaplen: number = DEFAULT_SNAPLEN): number {
    checkRange('linkType', linkType, 0xffff);
    checkRange('snaplen', snaplen, MAX_U32);
    const nameBytes = name ? utf8.encode(name) : null;
    const length = 16 + (nameBytes ? 4 + padded(nameBytes.length) : 0) + 8 + 4 + 4;
    const at = this.reserve(length);
    const v = this.view;
    v.setUint32(at + BLK_TYPE, BLOCK_IDB, true);
    v.setUint32(at + BLK_LENGTH, length, true);
    v.setUint16(at + IDB_LINKTYPE, linkType, true);
    v.setUint16(at + IDB_RESERVED, 0, true);
    v.setUint32(at + IDB_SNAPLEN, snaplen, true);
    let p = at + IDB_OPTIONS;
    if (nameBytes) p = this.writeOption(p, OPT_IF_NAME, nameBytes);
    // if_tsresol: one byte (9: nanoseconds), written as a 32-bit value to keep the padding zero.
    v.setUint16(p + OPT_CODE, OPT_IF_TSRESOL, true);
    v.setUint16(p + OPT_LENGTH, 1, true);
    v.setUint32(p + OPT_VALUE, TS_NANOSECONDS, true);
    p = this.writeOption(p + OPT_VALUE + 4, OPT_END, null);
    v.setUint32(p, length, true);
    this.snaplens.push(snaplen);
    return this.snaplens.length - 1;
  }

  /** Appends one packet (EPB) seen on interface `ifIndex`, data[off, off + caplen), cut to that interface's snaplen. */
  write(
    ifIndex: number,
    tsSec: number,
    tsNsec: number,
    data: Uint8Array,
    off: number,
    caplen: number,
    origLen: number,
    direction: DirectionValue = Direction.UNKNOWN,
  ): void {
    const snaplen = this.snaplens[ifIndex];
    if (snaplen === undefined) {
      throw new RangeError(`interface ${ifIndex} has not been added (${this.snaplens.length} interfaces so far)`);
    }
    checkTimestamp(this.targetName, 'pcapng', ++this.records, tsSec, tsNsec, PCAPNG_LATEST_SEC);
    const stored = snaplen === 0 ? caplen : Math.min(caplen, snaplen);
    const flagsLength = direction === Direction.UNKNOWN ? 0 : 8 + 4;
    const length = 32 + padded(stored) + flagsLength;
    const at = this.reserve(length);
    const v = this.view;
    nanosToHiLo(tsSec, tsNsec, this.timestamp);
    v.setUint32(at + BLK_TYPE, BLOCK_EPB, true);
    v.setUint32(at + BLK_LENGTH, length, true);
    v.setUint32(at + EPB_INTERFACE_ID, ifIndex, true);
    v.setUint32(at + EPB_TS_HIGH, this.timestamp.hi, true);
    v.setUint32(at + EPB_TS_LOW, this.timestamp.lo, true);
    v.setUint32(at + EPB_CAPLEN, stored, true);
    v.setUint32(at + EPB_LEN, Math.max(origLen, caplen), true);
    this.copyPacket(at + EPB_DATA, data, off, stored);
    let p = at + EPB_DATA + padded(stored);
    this.buf.fill(0, at + EPB_DATA + stored, p);
    if (flagsLength !== 0) {
      v.setUint16(p + OPT_CODE, OPT_PACKET_FLAGS, true);
      v.setUint16(p + OPT_LENGTH, 4, true);
      v.setUint32(p + OPT_VALUE, direction, true);
      // opt_endofopt: code 0, length 0.
      v.setUint32(p + OPT_VALUE + 4, OPT_END, true);
      p += 12;
    }
    v.setUint32(p, length, true);
  }

  /** Writes an option (code, length, value zero-padded to 4 bytes) and returns the offset after it. */
  private writeOption(at: number, code: number, value: Uint8Array | null): number {
    const length = value ? value.length : 0;
    if (length > 0xffff)
      throw new RangeError(`pcapng option ${code} is ${length} bytes; an option holds at most 65535`);
    this.view.setUint16(at + OPT_CODE, code, true);
    this.view.setUint16(at + OPT_LENGTH, length, true);
    if (value) this.buf.set(value, at + OPT_VALUE);
    const end = at + OPT_VALUE + padded(length);
    this.buf.fill(0, at + OPT_VALUE + length, end);
    return end;
  }
}
