/**
 * Timestamps the clock cannot judge (issue 14): pcapng if_tsoffset and
 * if_tsresol can stamp a packet anywhere in 2^64 s, where a double no longer
 * adds a timeout to a time (at 2^53 s, ts + 30 == ts). Such records are
 * refused with their position; everything from 1970 to LATEST_TIMESTAMP_SEC
 * is read exactly. Files are assembled byte by byte (bytes.ts).
 */
import { describe, expect, it } from 'vitest';
import { CaptureError } from '../../src/capture/types.js';
import { LATEST_TIMESTAMP_SEC, utcString } from '../../src/capture/timestamp.js';
import { CONNTRACK_MAX_VALUE } from '../../src/rules/spec.js';
import { concat, epb, idb, numBytes, opt, parseChunked, payload, pcapHeader, pcapRecord, shb } from './bytes.js';

const OPT_TSRESOL = 9;
const OPT_TSOFFSET = 14;
const SECONDS = [0]; // if_tsresol 10^0: one unit per second

function failure(file: Uint8Array): CaptureError {
  try {
    parseChunked(file);
  } catch (err) {
    if (err instanceof CaptureError) return err;
    throw err;
  }
  throw new Error('the capture was read without an error');
}

/** A section, one interface with these options, then EPBs with these unit counts. */
function pcapng(le: boolean, ifOpts: ReturnType<typeof opt>[], units: bigint[]): Uint8Array {
  return concat(shb(le), idb(le, 101, 0, ifOpts), ...units.map((u, i) => epb(le, 0, u, payload(i + 1, 20), 20)));
}

describe('timestamps the clock cannot judge', () => {
  it('sets the limit where a double still adds any settable timeout to the microsecond', () => {
    // Every timeout a rule file can set is below 2^31 s; the latest time plus any of them stays below 2^33 s ...
    expect(CONNTRACK_MAX_VALUE).toBeLessThan(2 ** 31);
    expect(LATEST_TIMESTAMP_SEC + CONNTRACK_MAX_VALUE).toBeLessThan(2 ** 33);
    // ... where a double still resolves 2^-20 s (< 1 us, conntrack's TIME_EPS): a microsecond added shows.
    const top = 2 ** 33 - 2 ** -20;
    expect(top + 1e-6).toBeGreaterThan(top);
    expect(top + 1e-6 - top).toBeLessThan(1e-6 + 2 ** -20);
    // ... while at 2^53 s adding 1 s is lost: what made every flow expire at its next packet.
    expect(2 ** 53 + 1).toBe(2 ** 53);
    expect(utcString(LATEST_TIMESTAMP_SEC)).toBe(
      new Date(LATEST_TIMESTAMP_SEC * 1000).toISOString().replace('.000', ''),
    );
  });

  for (const le of [true, false]) {
    const order = le ? 'little-endian' : 'big-endian';

    it(`refuses a timestamp at 2^53 s (if_tsresol 1 s), naming the record and its block's offset (${order})`, () => {
      const file = pcapng(le, [opt(OPT_TSRESOL, SECONDS)], [1_700_000_000n, 1n << 53n]);
      const err = failure(file);
      const secondEpb = file.length - epb(le, 0, 0n, payload(2, 20), 20).length;
      expect(err.offset).toBe(secondEpb);
      expect(err.file).toBe('test.cap');
      expect(err.detail).toMatch(
        /^enhanced packet block \(record 2\) is stamped about 9\.007e\+15 s since 1970 \(interface 0: if_tsresol 1 s\), too late to judge/,
      );
      expect(err.partial?.records ?? 1).toBe(1);
    });

    it(`refuses an if_tsoffset that puts packets past the limit, and one before 1970 (${order})`, () => {
      const late = failure(pcapng(le, [opt(OPT_TSOFFSET, numBytes(le, 64, 1n << 62n))], [1_000_000n]));
      expect(late.detail).toMatch(
        /record 1\) is stamped about 4\.612e\+18 s since 1970 \(interface 0: if_tsoffset 4\.612e\+18 s\), too late/,
      );
      const early = failure(
        pcapng(le, [opt(OPT_TSOFFSET, numBytes(le, 64, (1n << 64n) - 2_000_000_000n))], [1_700_000_000_000_000n]),
      );
      expect(early.detail).toMatch(
        /record 1\) is stamped -300000000 s since 1970 \(1960-06-29T\d\d:\d\d:\d\dZ\) .*before 1970/,
      );
    });

    it(`refuses huge parts that would cancel to a plausible time, rather than trust their rounded sum (${order})`, () => {
      // 2^62 + 5 s with if_tsoffset -2^62 s is 5 s exactly, but neither part is exact as a double.
      const file = pcapng(
        le,
        [opt(OPT_TSRESOL, SECONDS), opt(OPT_TSOFFSET, numBytes(le, 64, (1n << 64n) - (1n << 62n)))],
        [(1n << 62n) + 5n],
      );
      expect(failure(file).detail).toMatch(/record 1\) is stamped about .* too late to judge/);
    });

    it(`reads the last second it judges exactly, and refuses the next (${order})`, () => {
      const L = BigInt(LATEST_TIMESTAMP_SEC);
      const { records } = parseChunked(pcapng(le, [opt(OPT_TSRESOL, [9])], [L * 1_000_000_000n + 999_999_999n]));
      expect([records[0].tsSec, records[0].tsNsec]).toEqual([LATEST_TIMESTAMP_SEC, 999_999_999]);
      expect(failure(pcapng(le, [opt(OPT_TSRESOL, SECONDS)], [L + 1n])).detail).toMatch(
        /record 1\) is stamped 6442450945 s since 1970 \(2174-02-25T09:42:25Z\)/,
      );
      // The same instant through if_tsoffset.
      const viaOffset = pcapng(le, [opt(OPT_TSOFFSET, numBytes(le, 64, L - 1_700_000_000n))], [1_700_000_001_000_000n]);
      expect(failure(viaOffset).detail).toMatch(/record 1\) is stamped 6442450945 s/);
    });
  }

  it('reads odd resolutions down to 2^-127 s and 10^-19 s', () => {
    const max = (1n << 64n) - 1n;
    const binary = parseChunked(pcapng(true, [opt(OPT_TSRESOL, [0x80 | 127])], [max])).records[0];
    expect([binary.tsSec, binary.tsNsec]).toEqual([0, 0]);
    const decimal = parseChunked(pcapng(true, [opt(OPT_TSRESOL, [19])], [max])).records[0];
    // 18446744073709551615 * 10^-19 s = 1.8446744073709551615 s.
    expect([decimal.tsSec, decimal.tsNsec]).toEqual([1, 844_674_407]);
  });

  it('reads every pcap timestamp: 0 and 2^32 - 1 s, nanosecond files included', () => {
    for (const nanos of [false, true]) {
      const file = concat(
        pcapHeader({ le: true, nanos, snaplen: 65535, linkTypeField: 101 }),
        pcapRecord(true, 0, 0, payload(1, 20), 20),
        pcapRecord(true, 0xffff_ffff, nanos ? 999_999_999 : 999_999, payload(2, 20), 20),
        pcapRecord(true, 0xffff_ffff, nanos ? 2_000_000_000 : 2_000_000, payload(3, 20), 20),
      );
      const { records } = parseChunked(file);
      // (A sub-second field of 2 s is carried into the seconds: past 2^32 - 1, still judged.)
      expect(records.map((r) => [r.tsSec, r.tsNsec])).toEqual([
        [0, 0],
        [4_294_967_295, nanos ? 999_999_999 : 999_999_000],
        [4_294_967_297, 0],
      ]);
    }
  });
});
