/**
 * ByteText writes report text as UTF-8 bytes in place; LineWriter batches
 * lines into writes. What they write is checked against what JavaScript's
 * own String(), JSON.stringify() and Buffer.from() make of the same values.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ByteText } from '../../src/report/bytes.js';
import { LineWriter } from '../../src/report/output.js';
import { safeJson } from '../../src/base/text-escape.js';

function written(f: (o: ByteText) => void, size = 16): string {
  const o = new ByteText(size);
  f(o);
  return o.take();
}

describe('ByteText', () => {
  it('writes numbers as String() does: digit by digit for unsigned 32-bit integers, through JSON.stringify otherwise', () => {
    const numbers = [
      0,
      7,
      9,
      10,
      99,
      100,
      65535,
      999999999,
      1e9,
      4294967295,
      4294967296,
      2 ** 53,
      -1,
      -0,
      0.5,
      1e21,
      12345678901,
    ];
    for (const n of numbers) {
      expect(
        written((o) => {
          o.room(64);
          o.int(n);
        }),
        String(n),
      ).toBe(JSON.stringify(n));
    }
    expect(
      written((o) => {
        o.room(64);
        o.int(NaN);
      }),
    ).toBe('null');
  });

  it('writes fractions with zeros in front, as padStart(width, "0") does, and knows how wide a number is', () => {
    for (const n of [0, 1, 10, 999, 123456, 123456789, 999999999, 500000000]) {
      expect(
        written((o) => {
          o.room(16);
          o.zeroPadded(n, 9);
        }),
      ).toBe(String(n).padStart(9, '0'));
      if (n < 1e6)
        expect(
          written((o) => {
            o.room(16);
            o.zeroPadded(n, 6);
          }),
        ).toBe(String(n).padStart(6, '0'));
      expect(ByteText.intWidth(n)).toBe(String(n).length);
    }
    expect(ByteText.intWidth(4294967296)).toBe(10);
    expect(ByteText.intWidth(-12)).toBe(3);
    expect(
      written((o) => {
        o.room(16);
        o.spaces(3);
        o.spaces(-2);
        o.ascii('x');
      }),
    ).toBe('   x');
  });

  it('writes IPv4 words as dotted quads, the high byte first', () => {
    expect(
      written((o) => {
        o.room(16);
        o.ipv4(0x0a16_1ba1);
      }),
    ).toBe('10.22.27.161');
    expect(
      written((o) => {
        o.room(16);
        o.ipv4(0xffff_ffff);
      }),
    ).toBe('255.255.255.255');
    expect(
      written((o) => {
        o.room(16);
        o.ipv4(0);
      }),
    ).toBe('0.0.0.0');
  });

  it('writes JSON strings as safeJson (JSON.stringify, terminal controls escaped) does, UTF-8 encoded as Buffer.from does, growing past its size', () => {
    const strings = [
      '',
      'plain',
      'say "hi"',
      'back\\slash',
      'tab\there',
      '\u0000\u001f\u007f',
      '\u0085\u009b\u00a0',
      'é\u0080',
      '\u202e\u2069',
      'é ü 中文 🙂',
      '\ud800 lone',
      'end \udfff',
      'pair then lone \ud83d\ude42\ud83d',
      '\u2028\u2029',
      'x'.repeat(5000),
      `${'é'.repeat(3000)}"`,
    ];
    for (const s of strings) {
      const o = new ByteText(8);
      o.ascii('[');
      o.jsonString(s);
      o.room(1);
      o.ascii(']');
      const bytes = Buffer.from(o.buf.subarray(0, o.pos));
      expect(bytes.equals(Buffer.from(`[${safeJson(s)}]`, 'utf8')), JSON.stringify(s).slice(0, 40)).toBe(true);
    }
  });

  it('keeps what it has written when it grows', () => {
    const o = new ByteText(4);
    for (let i = 0; i < 1000; i++) {
      o.room(12);
      o.int(i);
      o.byte(0x20);
    }
    expect(o.take()).toBe(Array.from({ length: 1000 }, (_, i) => `${i} `).join(''));
  });
});

/** A Writable that keeps what is written, and can be told to stop taking more. */
function sink(): { stream: Writable; chunks: Buffer[]; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk);
      done();
    },
  });
  return { stream, chunks, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('LineWriter', () => {
  it('keeps string lines and lines built in place in their order, across batches', async () => {
    const { stream, chunks, text } = sink();
    const out = new LineWriter(stream, 100);
    const want: string[] = [];
    for (let i = 0; i < 500; i++) {
      if (i % 3 === 0) {
        out.line(`line ${i} ✓`);
        want.push(`line ${i} ✓`);
      } else {
        out.room(64);
        out.ascii('{"n":');
        out.int(i);
        out.ascii('}');
        out.endLine();
        want.push(`{"n":${i}}`);
      }
    }
    await out.flush();
    expect(text()).toBe(want.map((l) => `${l}\n`).join(''));
    // Batched: each write holds ~100 bytes of whole lines, not one line each.
    expect(chunks.length).toBeGreaterThan(40);
    expect(chunks.length).toBeLessThan(want.length / 5);
  });

  it('does not change a batch once it has handed it to the stream', async () => {
    const held: Buffer[] = [];
    // A stream that holds every chunk unwritten until the end, as a slow pipe would.
    const stream = new Writable({
      highWaterMark: 1 << 30,
      write(chunk: Buffer, _enc, done) {
        held.push(chunk);
        setImmediate(done);
      },
    });
    const out = new LineWriter(stream, 64);
    for (let i = 0; i < 200; i++) out.line(`${i}`.padStart(20, '.'));
    await out.flush();
    await new Promise((r) => stream.end(r));
    expect(held.length).toBeGreaterThan(40);
    expect(Buffer.concat(held).toString()).toBe(
      Array.from({ length: 200 }, (_, i) => `${`${i}`.padStart(20, '.')}\n`).join(''),
    );
  });

  it('stops quietly when its reader goes away (EPIPE)', async () => {
    const stream = new Writable({
      write(_chunk, _enc, done) {
        done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const out = new LineWriter(stream, 8);
    out.line('first line, long enough to be written');
    await new Promise((r) => setImmediate(r));
    expect(out.closed).toBe(true);
    out.line('dropped');
    await out.flush();
  });
});
