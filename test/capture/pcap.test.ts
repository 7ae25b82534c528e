import { describe, expect, it } from 'vitest';
import { CaptureParser } from '../../src/capture/parser.js';
import { readCaptureBuffer } from '../../src/capture/read.js';
import type { CaptureRecord } from '../../src/capture/types.js';
import { concat, hex, parseChunked, payload, pcapHeader, pcapRecord } from './bytes.js';
import type { PlainRecord } from './bytes.js';

interface Sample {
  sec: number;
  frac: number;
  data: Uint8Array;
  origLen: number;
}

const samples: Sample[] = [
  { sec: 1_700_000_000, frac: 1, data: payload(1, 60), origLen: 60 },
  { sec: 1_700_000_001, frac: 999_999, data: payload(2, 96), origLen: 1514 },
  { sec: 4_294_967_295, frac: 500_000, data: payload(3, 1), origLen: 1 },
  { sec: 0, frac: 0, data: payload(4, 0), origLen: 0 },
];

function build(le: boolean, nanos: boolean, linkTypeField: number): { file: Uint8Array; expected: PlainRecord[] } {
  const parts = [pcapHeader({ le, nanos, snaplen: 65_535, linkTypeField })];
  const expected: PlainRecord[] = [];
  let offset = 24;
  samples.forEach((s, i) => {
    const frac = nanos ? s.frac * 1000 + 7 : s.frac;
    const rec = pcapRecord(le, s.sec, frac, s.data, s.origLen);
    expected.push({
      n: i + 1,
      tsSec: s.sec,
      tsNsec: nanos ? frac : frac * 1000,
      linkType: linkTypeField & 0xffff,
      ifIndex: 0,
      ifName: '',
      direction: 0,
      caplen: s.data.length,
      len: s.origLen,
      fileOffset: offset,
      data: hex(s.data),
    });
    offset += rec.length;
    parts.push(rec);
  });
  return { file: concat(...parts), expected };
}

describe('pcap', () => {
  for (const le of [true, false]) {
    for (const nanos of [false, true]) {
      it(`reads ${le ? 'little' : 'big'}-endian ${nanos ? 'nanosecond' : 'microsecond'} files field by field`, () => {
        const { file, expected } = build(le, nanos, 1);
        const { records, summary } = parseChunked(file);
        expect(records).toEqual(expected);
        expect(summary).toEqual({ format: 'pcap', records: 4, bytesRead: file.length, warnings: [], truncated: false });
      });
    }
  }

  it('takes the link type from the low 16 bits, ignoring the FCS-length bits above', () => {
    // FCS length 4 (in 16-bit units: 2) with the "FCS length present" flag, on LINKTYPE_LINUX_SLL.
    const { file } = build(true, false, (2 << 28) | 0x0400_0000 | 113);
    const { records } = parseChunked(file);
    expect(records.map((r) => r.linkType)).toEqual([113, 113, 113, 113]);
  });

  it('passes unknown link types through', () => {
    const { records } = parseChunked(build(false, true, 0xbeef).file);
    expect(records[0].linkType).toBe(0xbeef);
  });

  it('hands out one reused record object, viewing the input chunk when the record fits in it', () => {
    const { file } = build(true, false, 1);
    const seen = new Set<CaptureRecord>();
    const bufs: Uint8Array[] = [];
    const summary = readCaptureBuffer(file, 'x', (rec) => {
      seen.add(rec);
      bufs.push(rec.buf);
    });
    expect(summary.records).toBe(4);
    expect(seen.size).toBe(1);
    expect(bufs.every((b) => b === file)).toBe(true);
  });

  it('accepts any snaplen, including 0 and values above the packets', () => {
    for (const snaplen of [0, 1, 65_535, 0xffff_ffff]) {
      const file = concat(
        pcapHeader({ le: true, nanos: false, snaplen, linkTypeField: 1 }),
        pcapRecord(true, 5, 6, payload(1, 1), 1),
      );
      const { records, summary } = parseChunked(file);
      expect(records).toHaveLength(1);
      expect(summary.warnings).toEqual([]);
    }
  });

  it('warns about, and repairs, an original length below the captured length', () => {
    const file = concat(
      pcapHeader({ le: true, nanos: false, snaplen: 0, linkTypeField: 1 }),
      pcapRecord(true, 5, 6, payload(1, 40), 20),
    );
    const { records, summary } = parseChunked(file);
    expect(records[0].len).toBe(40);
    expect(summary.warnings).toEqual([
      { offset: 24, n: 1, message: expect.stringContaining('original length 20, less than its 40 captured bytes') },
    ]);
  });

  it('carries a sub-second field of a second or more into the seconds, with a warning', () => {
    const file = concat(
      pcapHeader({ le: true, nanos: false, snaplen: 0, linkTypeField: 1 }),
      pcapRecord(true, 10, 2_500_000, payload(1, 4), 4),
    );
    const { records, summary } = parseChunked(file);
    expect([records[0].tsSec, records[0].tsNsec]).toEqual([12, 500_000_000]);
    expect(summary.warnings[0].message).toContain('sub-second');
  });

  it('delivers records as they arrive, before the input ends', () => {
    const { file } = build(true, false, 1);
    const got: number[] = [];
    const parser = new CaptureParser('live', (rec) => got.push(rec.n));
    parser.push(file.subarray(0, 24 + 16 + 60 + 5));
    expect(got).toEqual([1]);
    parser.push(file.subarray(24 + 16 + 60 + 5));
    expect(got).toEqual([1, 2, 3, 4]);
    expect(parser.end().records).toBe(4);
  });
});
