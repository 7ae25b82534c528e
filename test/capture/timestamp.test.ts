import { describe, expect, it } from 'vitest';
import { TimestampConverter, nanosToHiLo, tsResolutionFromOption } from '../../src/capture/timestamp.js';

/** Deterministic pseudo-random 64-bit values (xorshift), so failures reproduce. */
function* values(count: number): Generator<bigint> {
  let x = 0x2545f4914f6cdd1dn;
  const mask = (1n << 64n) - 1n;
  yield 0n;
  yield mask;
  yield 1_700_000_000_123_456_789n;
  for (let i = 0; i < count; i++) {
    x ^= (x << 13n) & mask;
    x ^= x >> 7n;
    x ^= (x << 17n) & mask;
    // Vary the magnitude so small and huge values are both covered.
    yield x >> BigInt(i % 64);
  }
}

describe('TimestampConverter', () => {
  const clock = new TimestampConverter();
  const options = [
    ...Array(20).keys(),
    ...[0, 1, 9, 10, 20, 30, 31, 32, 33, 40, 50, 63, 64, 70, 127].map((e) => 0x80 | e),
  ];
  for (const option of options) {
    it(`agrees with BigInt arithmetic for if_tsresol 0x${option.toString(16)}`, () => {
      const res = tsResolutionFromOption(option);
      const units = res.binary ? 1n << BigInt(res.exponent) : 10n ** BigInt(res.exponent);
      for (const ts of values(300)) {
        clock.convert(Number(ts >> 32n), Number(ts & 0xffffffffn), res);
        const sec = ts / units;
        const nsec = Number(((ts % units) * 1_000_000_000n) / units);
        expect(clock.nsec, `ts ${ts}`).toBe(nsec);
        // Seconds beyond 2^53 cannot be exact in a number; they never occur in real captures.
        if (sec < 1n << 53n) expect(clock.sec, `ts ${ts}`).toBe(Number(sec));
      }
    });
  }

  // convert() takes a shortcut for 10^4..10^9 units per second: a quotient
  // estimated in floating point, then corrected by one either way. Values
  // right next to whole seconds are where an estimate goes wrong.
  for (const exponent of [4, 5, 6, 7, 8, 9]) {
    it(`is exact next to whole seconds at 10^-${exponent} s units`, () => {
      const units = 10n ** BigInt(exponent);
      const res = tsResolutionFromOption(exponent);
      const seconds = [
        0n,
        1n,
        1_048_575n,
        1_700_000_000n,
        2_147_483_647n,
        2_147_483_648n,
        4_294_967_294n,
        4_294_967_295n,
        4_294_967_296n,
      ];
      for (const v of values(200)) seconds.push(v >> 32n);
      for (const sec of seconds) {
        for (const delta of [-2n, -1n, 0n, 1n, 2n, units / 2n]) {
          const ts = sec * units + delta;
          if (ts < 0n || ts >= 1n << 64n) continue;
          clock.convert(Number(ts >> 32n), Number(ts & 0xffffffffn), res);
          expect([clock.sec, clock.nsec], `ts ${ts}`).toEqual([
            Number(ts / units),
            Number(ts % units) * 10 ** (9 - exponent),
          ]);
        }
      }
    });
  }
});

describe('nanosToHiLo', () => {
  it('splits sec * 1e9 + nsec exactly into 32-bit halves', () => {
    const out = { hi: 0, lo: 0 };
    const cases: [number, number][] = [
      [0, 0],
      [1, 0],
      [0, 999_999_999],
      [1_700_000_000, 123_456_789],
      [4_294_967_295, 999_999_999],
      [2 ** 33 - 1, 999_999_999],
      [65_535, 1],
      [65_536, 0],
    ];
    for (let i = 0; i < 1000; i++) cases.push([Math.floor(Math.random() * 2 ** 33), Math.floor(Math.random() * 1e9)]);
    for (const [sec, nsec] of cases) {
      nanosToHiLo(sec, nsec, out);
      const total = BigInt(sec) * 1_000_000_000n + BigInt(nsec);
      expect([out.hi, out.lo], `${sec}.${nsec}`).toEqual([Number(total >> 32n), Number(total & 0xffffffffn)]);
    }
  });
});
