/**
 * Hand-assembly of capture files for tests, byte by byte, independent of
 * src/capture: every field is written explicitly in the chosen byte order.
 */

import type { CaptureRecord } from '../../src/capture/types.js';

export class Bytes {
  private readonly out: number[] = [];
  constructor(readonly le = true) {}

  get length(): number {
    return this.out.length;
  }

  u8(v: number): this {
    this.out.push(v & 0xff);
    return this;
  }

  u16(v: number): this {
    return this.le ? this.u8(v).u8(v >>> 8) : this.u8(v >>> 8).u8(v);
  }

  u32(v: number): this {
    const b = [v >>> 24, v >>> 16, v >>> 8, v].map((x) => x & 0xff);
    if (this.le) b.reverse();
    for (const x of b) this.u8(x);
    return this;
  }

  /** A 64-bit value as high/low 32-bit halves, in this byte order. */
  u64(v: bigint): this {
    const hi = Number((v >> 32n) & 0xffffffffn);
    const lo = Number(v & 0xffffffffn);
    return this.le ? this.u32(lo).u32(hi) : this.u32(hi).u32(lo);
  }

  raw(bytes: ArrayLike<number>): this {
    for (let i = 0; i < bytes.length; i++) this.u8(bytes[i]);
    return this;
  }

  zeros(n: number): this {
    for (let i = 0; i < n; i++) this.u8(0);
    return this;
  }

  pad4(): this {
    while (this.out.length % 4 !== 0) this.u8(0);
    return this;
  }

  build(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Packet bytes whose content says which packet they are. */
export function payload(n: number, length: number): Uint8Array {
  const p = new Uint8Array(length);
  for (let i = 0; i < length; i++) p[i] = (n * 31 + i) & 0xff;
  return p;
}

// ---- pcap ------------------------------------------------------------------

export function pcapHeader(opts: {
  le: boolean;
  nanos: boolean;
  snaplen: number;
  linkTypeField: number;
  major?: number;
}): Uint8Array {
  const b = new Bytes(opts.le);
  b.u32(opts.nanos ? 0xa1b23c4d : 0xa1b2c3d4)
    .u16(opts.major ?? 2)
    .u16(4)
    .u32(0)
    .u32(0)
    .u32(opts.snaplen)
    .u32(opts.linkTypeField);
  return b.build();
}

export function pcapRecord(
  le: boolean,
  sec: number,
  frac: number,
  data: Uint8Array,
  origLen: number,
  caplenField = data.length,
): Uint8Array {
  return new Bytes(le).u32(sec).u32(frac).u32(caplenField).u32(origLen).raw(data).build();
}

// ---- pcapng ----------------------------------------------------------------

export interface Option {
  code: number;
  value: Uint8Array;
}

export function opt(code: number, value: ArrayLike<number> | string): Option {
  return { code, value: typeof value === 'string' ? new TextEncoder().encode(value) : Uint8Array.from(value) };
}

/** Bytes of a number in a byte order, for option values. */
export function numBytes(le: boolean, bits: 8 | 32 | 64, v: bigint): number[] {
  const out: number[] = [];
  for (let i = 0; i < bits / 8; i++) out.push(Number((v >> BigInt(8 * i)) & 0xffn));
  return le ? out : out.reverse();
}

function options(b: Bytes, opts: Option[] | undefined): void {
  if (!opts || opts.length === 0) return;
  for (const o of opts) b.u16(o.code).u16(o.value.length).raw(o.value).pad4();
  b.u16(0).u16(0);
}

/** A block: type, length, body, trailing length; `lengthOverride`/`trailerOverride` corrupt it on purpose. */
export function block(
  le: boolean,
  type: number,
  body: Uint8Array,
  over: { length?: number; trailer?: number } = {},
): Uint8Array {
  const length = 12 + body.length;
  return new Bytes(le)
    .u32(type)
    .u32(over.length ?? length)
    .raw(body)
    .u32(over.trailer ?? length)
    .build();
}

export function shb(le: boolean, opts?: Option[], major = 1): Uint8Array {
  const b = new Bytes(le).u32(0x1a2b3c4d).u16(major).u16(0).u64(0xffffffffffffffffn);
  options(b, opts);
  return block(le, 0x0a0d0d0a, b.build());
}

export function idb(le: boolean, linkType: number, snaplen: number, opts?: Option[]): Uint8Array {
  const b = new Bytes(le).u16(linkType).u16(0).u32(snaplen);
  options(b, opts);
  return block(le, 1, b.build());
}

export function epb(
  le: boolean,
  ifId: number,
  ts: bigint,
  data: Uint8Array,
  origLen: number,
  opts?: Option[],
  caplenField = data.length,
): Uint8Array {
  const b = new Bytes(le)
    .u32(ifId)
    .u32(Number(ts >> 32n))
    .u32(Number(ts & 0xffffffffn))
    .u32(caplenField)
    .u32(origLen)
    .raw(data)
    .pad4();
  options(b, opts);
  return block(le, 6, b.build());
}

/** Obsolete Packet Block (type 2). */
export function pb(
  le: boolean,
  ifId: number,
  ts: bigint,
  data: Uint8Array,
  origLen: number,
  opts?: Option[],
): Uint8Array {
  const b = new Bytes(le)
    .u16(ifId)
    .u16(0)
    .u32(Number(ts >> 32n))
    .u32(Number(ts & 0xffffffffn))
    .u32(data.length)
    .u32(origLen)
    .raw(data)
    .pad4();
  options(b, opts);
  return block(le, 2, b.build());
}

export function spb(le: boolean, origLen: number, data: Uint8Array): Uint8Array {
  return block(le, 3, new Bytes(le).u32(origLen).raw(data).pad4().build());
}

// ---- collecting what the parser hands out -----------------------------------

export interface PlainRecord {
  n: number;
  tsSec: number;
  tsNsec: number;
  linkType: number;
  ifIndex: number;
  ifName: string;
  direction: number;
  caplen: number;
  len: number;
  fileOffset: number;
  data: string;
}

/** Copies what must be copied: the record object and its bytes are reused. */
export function plain(rec: CaptureRecord): PlainRecord {
  return {
    n: rec.n,
    tsSec: rec.tsSec,
    tsNsec: rec.tsNsec,
    linkType: rec.linkType,
    ifIndex: rec.ifIndex,
    ifName: rec.ifName,
    direction: rec.direction,
    caplen: rec.caplen,
    len: rec.len,
    fileOffset: rec.fileOffset,
    data: Buffer.from(rec.buf.subarray(rec.off, rec.off + rec.caplen)).toString('hex'),
  };
}

export function hex(data: Uint8Array): string {
  return Buffer.from(data).toString('hex');
}

// ---- running the parser ----------------------------------------------------

import { CaptureParser } from '../../src/capture/parser.js';
import type { CaptureSummary } from '../../src/capture/types.js';

/** Feeds `buf` to a fresh parser in chunks of `chunkSize` bytes (each chunk a fresh copy, so stale views would show). */
export function parseChunked(
  buf: Uint8Array,
  chunkSize = buf.length,
  name = 'test.cap',
): { records: PlainRecord[]; summary: CaptureSummary } {
  const records: PlainRecord[] = [];
  const parser = new CaptureParser(name, (rec) => records.push(plain(rec)));
  const step = Math.max(1, chunkSize);
  for (let at = 0; at < buf.length; at += step) parser.push(buf.slice(at, at + step));
  return { records, summary: parser.end() };
}
