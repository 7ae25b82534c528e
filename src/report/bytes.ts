/**
 * Report text built as UTF-8 bytes in place, for the per-packet lines.
 *
 * A jsonl line made by concatenating strings is a rope of ~40 pieces that
 * V8 must flatten and then encode to UTF-8 before it can be written; that,
 * and the garbage it leaves, cost more than judging the packet. Writing the
 * pieces straight into one buffer (constants byte by byte, integers digit
 * by digit) skips all three. Only whole strings that come from elsewhere
 * (reason sentences, rule ids, IPv6 texts) are still strings, encoded here
 * by a loop that also does JSON's escaping.
 */

import { isJsonRawUnsafe, safeJson } from '../base/text-escape.js';

/**
 * Room every writer leaves for fixed text: a line's writer makes this much
 * at its start, and each string written (text(), jsonString()) makes it
 * again after itself, so that the constants, numbers and addresses between
 * two strings (a few hundred bytes at most) need no room() of their own.
 */
export const SLACK = 2048;

/** A growable byte buffer; `pos` is where the next byte goes. */
export class ByteText {
  buf: Buffer;
  pos = 0;

  constructor(size = 4096) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Make room for `n` more bytes. */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  /**
   * Text known to be ASCII and to need no escaping (constants, names from
   * fixed tables). The caller has made room (`room()`, or the SLACK the
   * last string left), as for `byte()`, `int()`, `zeroPadded()`, `spaces()`
   * and `ipv4()`.
   */
  ascii(s: string): void {
    const b = this.buf;
    let i = this.pos;
    for (let k = 0; k < s.length; k++) b[i++] = s.charCodeAt(k);
    this.pos = i;
  }

  byte(c: number): void {
    this.buf[this.pos++] = c;
  }

  /** A number as JSON.stringify and String() write it. Fast for the unsigned 32-bit integers packets are made of. */
  int(n: number): void {
    if (!(n >= 0 && n <= 0xffffffff && n === Math.floor(n))) {
      this.ascii(JSON.stringify(n) ?? 'null');
      return;
    }
    this.digits(n, ByteText.intWidth(n));
  }

  /** How many characters int(n) writes. */
  static intWidth(n: number): number {
    if (!(n >= 0 && n <= 0xffffffff && n === Math.floor(n))) return (JSON.stringify(n) ?? 'null').length;
    return n < 10
      ? 1
      : n < 100
        ? 2
        : n < 1000
          ? 3
          : n < 1e4
            ? 4
            : n < 1e5
              ? 5
              : n < 1e6
                ? 6
                : n < 1e7
                  ? 7
                  : n < 1e8
                    ? 8
                    : n < 1e9
                      ? 9
                      : 10;
  }

  /**
   * An integer 0 <= n < 10 ** width as exactly `width` digits, zeros in
   * front ("000012345"): the fractions of timestamps.
   */
  zeroPadded(n: number, width: number): void {
    if (!(n >= 0 && n < 10 ** width && n === Math.floor(n))) {
      this.ascii(String(n).padStart(width, '0'));
      return;
    }
    this.digits(n, width);
  }

  /** `count` spaces (none if it is not positive): padding for text columns. */
  spaces(count: number): void {
    const b = this.buf;
    let i = this.pos;
    for (let k = 0; k < count; k++) b[i++] = 0x20;
    this.pos = i;
  }

  private digits(n: number, count: number): void {
    const b = this.buf;
    const end = this.pos + count;
    for (let i = end - 1; i >= this.pos; i--) {
      const q = Math.floor(n / 10);
      b[i] = 48 + n - q * 10;
      n = q;
    }
    this.pos = end;
  }

  /** An IPv4 address word (network order) as a dotted quad. */
  ipv4(w: number): void {
    this.int(w >>> 24);
    this.byte(0x2e);
    this.int((w >>> 16) & 0xff);
    this.byte(0x2e);
    this.int((w >>> 8) & 0xff);
    this.byte(0x2e);
    this.int(w & 0xff);
  }

  /** Any string, as UTF-8 (what Buffer.from(s) makes of it). */
  text(s: string): void {
    this.room(s.length * 3 + SLACK);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /**
   * A JSON string literal, byte for byte what safeJson(s) writes (that is
   * JSON.stringify(s), with DEL, C1 controls, U+2028/2029 and bidi controls
   * escaped too, so a JSON line cannot drive a terminal): encoded here when
   * it needs no escapes (the usual case), else by safeJson() itself.
   */
  jsonString(s: string): void {
    this.room(s.length * 3 + 2 + SLACK);
    const b = this.buf;
    const start = this.pos;
    let i = start;
    b[i++] = 0x22;
    for (let k = 0; k < s.length; k++) {
      const c = s.charCodeAt(k);
      if (c < 0x80) {
        if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0x7f) {
          this.escaped(s, start);
          return;
        }
        b[i++] = c;
      } else if (c < 0x800) {
        if (c <= 0x9f || c === 0x061c) {
          this.escaped(s, start);
          return;
        } // C1 controls

        b[i++] = 0xc0 | (c >> 6);
        b[i++] = 0x80 | (c & 0x3f);
      } else if (c < 0xd800 || c > 0xdfff) {
        if (c >= 0x200e && c <= 0x2069 && isJsonRawUnsafe(c)) {
          this.escaped(s, start);
          return;
        }
        b[i++] = 0xe0 | (c >> 12);
        b[i++] = 0x80 | ((c >> 6) & 0x3f);
        b[i++] = 0x80 | (c & 0x3f);
      } else {
        // Surrogates: a pair is one 4-byte character (its room is the 6 bytes
        // of its two units); JSON.stringify escapes a lone one.
        const d = k + 1 < s.length ? s.charCodeAt(k + 1) : 0;
        if (c > 0xdbff || d < 0xdc00 || d > 0xdfff) {
          this.escaped(s, start);
          return;
        }
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        b[i++] = 0xf0 | (cp >> 18);
        b[i++] = 0x80 | ((cp >> 12) & 0x3f);
        b[i++] = 0x80 | ((cp >> 6) & 0x3f);
        b[i++] = 0x80 | (cp & 0x3f);
        k++;
      }
    }
    b[i++] = 0x22;
    this.pos = i;
  }

  private escaped(s: string, start: number): void {
    this.pos = start;
    this.text(safeJson(s));
  }

  /** The bytes so far as a string (tests and other cold paths), and start again. */
  take(): string {
    const s = this.buf.toString('utf8', 0, this.pos);
    this.pos = 0;
    return s;
  }
}
