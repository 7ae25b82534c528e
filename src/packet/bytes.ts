/**
 * Byte access shared by the protocol files. The readers never throw: past
 * the end of the array a byte reads as undefined, which the shifts turn
 * into 0 (callers check bounds before they trust a value). Small enough for
 * the JIT to inline.
 */

export function u16(b: Uint8Array, i: number): number {
  return (b[i] << 8) | b[i + 1];
}

export function u32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

/** A little-endian 32-bit word (the loopback header of a little-endian writer). */
export function u32le(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

// ---------------------------------------------------------------------------
// Building (cold path: frames for tests and synthetic traffic)

export function writeU16(b: Uint8Array, i: number, v: number): void {
  b[i] = (v >>> 8) & 0xff;
  b[i + 1] = v & 0xff;
}

export function writeU32(b: Uint8Array, i: number, v: number): void {
  b[i] = (v >>> 24) & 0xff;
  b[i + 1] = (v >>> 16) & 0xff;
  b[i + 2] = (v >>> 8) & 0xff;
  b[i + 3] = v & 0xff;
}

export function writeU32le(b: Uint8Array, i: number, v: number): void {
  b[i] = v & 0xff;
  b[i + 1] = (v >>> 8) & 0xff;
  b[i + 2] = (v >>> 16) & 0xff;
  b[i + 3] = (v >>> 24) & 0xff;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Payload bytes, or for a number that many bytes of "ABC...". */
export function payloadBytes(p: number | Uint8Array | undefined): Uint8Array {
  if (p === undefined) return new Uint8Array(0);
  if (typeof p === 'number') {
    const b = new Uint8Array(p);
    for (let i = 0; i < p; i++) b[i] = (0x41 + (i % 26)) & 0xff;
    return b;
  }
  return p;
}

export function toBytes(a: Uint8Array | number[]): Uint8Array {
  return a instanceof Uint8Array ? a : Uint8Array.from(a);
}

/** Zero-padded (EOL-padded, for option lists) to a multiple of 4. */
export function padTo4(a: Uint8Array): Uint8Array {
  if (a.length % 4 === 0) return a;
  const b = new Uint8Array(a.length + (4 - (a.length % 4)));
  b.set(a);
  return b;
}

/** A builder's spec check: throws RangeError(msg) unless cond. */
export function check(cond: boolean, msg: string): void {
  if (!cond) throw new RangeError(msg);
}
