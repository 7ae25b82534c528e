import { describe, expect, it } from 'vitest';
import { CaptureParser } from '../../src/capture/parser.js';
import { CaptureError } from '../../src/capture/types.js';
import { Bytes, block, concat, epb, idb, parseChunked, payload, pcapHeader, pcapRecord, shb } from './bytes.js';

/** Parses whole and byte by byte; both must fail the same way. */
function failure(file: Uint8Array): CaptureError {
  const errors = [file.length || 1, 1].map((size) => {
    try {
      parseChunked(file, size, 'bad.cap');
    } catch (err) {
      return err;
    }
    throw new Error(`no error with chunk size ${size}`);
  });
  expect(errors[0]).toBeInstanceOf(CaptureError);
  expect(errors[1]).toEqual(errors[0]);
  const err = errors[0] as CaptureError;
  expect(err.file).toBe('bad.cap');
  expect(err.message).toBe(`bad.cap: at byte ${err.offset}: ${err.detail}`);
  return err;
}

const pcapLe = (snaplen = 65_535) => pcapHeader({ le: true, nanos: false, snaplen, linkTypeField: 1 });

describe('fatal problems', () => {
  it('rejects a wrong magic number', () => {
    const err = failure(new Bytes().u32(0xdeadbeef).zeros(40).build());
    expect(err.offset).toBe(0);
    expect(err.detail).toContain('not a pcap or pcapng file: magic number 0xdeadbeef');
  });

  it('says when a file looks gzip-compressed', () => {
    expect(failure(Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0])).detail).toContain('gzip');
  });

  it('rejects an empty file', () => {
    expect(failure(new Uint8Array(0)).detail).toContain('file is empty');
  });

  it('rejects a truncated pcap global header', () => {
    const err = failure(pcapLe().subarray(0, 10));
    expect(err.offset).toBe(0);
    expect(err.detail).toBe('file is 10 bytes, shorter than the 24-byte pcap global header');
  });

  it('rejects a file too short for any magic number', () => {
    expect(failure(Uint8Array.from([0xd4, 0xc3])).detail).toContain('file is 2 bytes, too short');
  });

  it('rejects a truncated section header block', () => {
    const err = failure(shb(true).subarray(0, 20));
    expect(err.offset).toBe(0);
    expect(err.detail).toContain('file is 20 bytes, shorter than the 28-byte pcapng section header block');
  });

  it('rejects a pcap record claiming more than 256 KiB, at that record', () => {
    const first = pcapRecord(true, 1, 2, payload(1, 10), 10);
    const bogus = new Bytes(true).u32(1).u32(2).u32(300_000).u32(300_000).zeros(64).build();
    const err = failure(concat(pcapLe(), first, bogus));
    expect(err.offset).toBe(24 + first.length);
    expect(err.detail).toBe(
      'packet record 2 claims 300000 captured bytes, more than the 262144 a record may hold; the file is corrupt from here',
    );
  });

  it('rejects a pcapng block length that is not a multiple of 4', () => {
    const good = concat(shb(true), idb(true, 1, 0));
    const err = failure(concat(good, block(true, 6, new Uint8Array(24), { length: 13 })));
    expect(err.offset).toBe(good.length);
    expect(err.detail).toContain('pcapng block length 13 is not a multiple of 4');
  });

  it('rejects a pcapng block length below 12', () => {
    const err = failure(concat(shb(true), block(true, 1, new Uint8Array(8), { length: 8 })));
    expect(err.offset).toBe(28);
    expect(err.detail).toContain('pcapng block length 8 is less than the 12-byte minimum');
  });

  it('rejects a packet block too short for its fixed fields', () => {
    const err = failure(concat(shb(true), idb(true, 1, 0), block(true, 6, new Uint8Array(8))));
    expect(err.offset).toBe(48);
    expect(err.detail).toContain('enhanced packet block length 20 is less than the 32 bytes');
  });

  it('rejects a block whose length disagrees with its trailing copy', () => {
    const good = concat(shb(true), idb(true, 1, 0), epb(true, 0, 1n, payload(1, 8), 8));
    const err = failure(concat(good, block(true, 6, new Uint8Array(28), { trailer: 60 })));
    expect(err.offset).toBe(good.length);
    expect(err.detail).toContain('pcapng block length 40 disagrees with the copy at the end of the block (60)');
  });

  it('checks the trailing length of a block streamed past without buffering', () => {
    const good = concat(shb(true), idb(true, 1, 0));
    const big = block(true, 4, new Uint8Array(100_000), { trailer: 99 });
    const err = failure(concat(good, big, epb(true, 0, 1n, payload(1, 8), 8)));
    expect(err.offset).toBe(good.length);
    expect(err.detail).toContain(
      'pcapng block length 100012 disagrees with the copy at the end of the block (99) (name resolution block)',
    );
  });

  it('rejects an enhanced packet block for an interface never described', () => {
    const good = concat(shb(true), idb(true, 1, 0), idb(true, 1, 0));
    const err = failure(concat(good, epb(true, 2, 1n, payload(1, 8), 8)));
    expect(err.offset).toBe(good.length);
    expect(err.detail).toContain(
      '(record 1) refers to interface 2, but this section has described only 2 interfaces (0..1)',
    );
  });

  it('forgets interfaces at a new section', () => {
    const good = concat(shb(true), idb(true, 1, 0), epb(true, 0, 1n, payload(1, 8), 8), shb(true));
    const err = failure(concat(good, epb(true, 0, 1n, payload(1, 8), 8)));
    expect(err.offset).toBe(good.length);
    expect(err.detail).toContain('(record 2) refers to interface 0, but this section has described no interfaces');
  });

  it('rejects a simple packet block before any interface', () => {
    expect(failure(concat(shb(true), block(true, 3, new Bytes(true).u32(4).zeros(4).build()))).detail).toContain(
      'simple packet block (record 1) refers to interface 0',
    );
  });

  it('rejects an enhanced packet block whose caplen exceeds the block', () => {
    const good = concat(shb(true), idb(true, 1, 0));
    const err = failure(concat(good, epb(true, 0, 1n, payload(1, 8), 8, undefined, 400)));
    expect(err.offset).toBe(good.length);
    expect(err.detail).toContain('claims 400 captured bytes but the block has room for 8');
  });

  it('rejects a section header with a bad byte-order magic or version', () => {
    const bom = shb(true);
    bom.set([1, 2, 3, 4], 8);
    expect(failure(bom).detail).toContain('byte-order magic 0x04030201');
    expect(failure(shb(true, undefined, 2)).detail).toContain('pcapng section version 2.0 is not supported');
  });

  it('keeps failing after a fatal error', () => {
    const parser = new CaptureParser('x', () => {});
    expect(() => parser.push(Uint8Array.from([1, 2, 3, 4]))).toThrow(CaptureError);
    expect(() => parser.push(new Uint8Array(8))).toThrow('magic number');
    expect(() => parser.end()).toThrow('magic number');
  });
});

describe('recoverable problems', () => {
  it('delivers every complete record of a pcap cut off mid-record and reports where', () => {
    const r1 = pcapRecord(true, 1, 0, payload(1, 100), 100);
    const r2 = pcapRecord(true, 2, 0, payload(2, 200), 200);
    const r3 = pcapRecord(true, 3, 0, payload(3, 1514), 1514);
    const file = concat(pcapLe(), r1, r2, r3).subarray(0, 24 + r1.length + r2.length + 16 + 600);
    const { records, summary } = parseChunked(file);
    expect(records.map((r) => r.n)).toEqual([1, 2]);
    expect(summary.truncated).toBe(true);
    expect(summary.records).toBe(2);
    expect(summary.bytesRead).toBe(file.length);
    expect(summary.warnings).toEqual([
      {
        offset: 24 + r1.length + r2.length,
        n: 3,
        message: `capture cut off at byte ${file.length} inside record 3 (header says 1514 bytes, 600 present)`,
      },
    ]);
  });

  it('reports a cut inside a record header', () => {
    const file = concat(pcapLe(), pcapRecord(true, 1, 0, payload(1, 4), 4), new Uint8Array(10));
    const { summary } = parseChunked(file, 7);
    expect(summary.truncated).toBe(true);
    expect(summary.warnings[0].message).toBe(
      `capture cut off at byte ${file.length} inside the header of record 2 (10 of 16 bytes present)`,
    );
  });

  it('reports a pcapng file cut off inside a packet block and inside a streamed block', () => {
    const head = concat(shb(true), idb(true, 1, 0), epb(true, 0, 1n, payload(1, 8), 8));
    const cutEpb = concat(head, epb(true, 0, 2n, payload(2, 100), 100).subarray(0, 50));
    let { records, summary } = parseChunked(cutEpb);
    expect(records).toHaveLength(1);
    expect(summary.truncated).toBe(true);
    expect(summary.warnings[0]).toEqual({
      offset: head.length,
      n: 2,
      message: `capture cut off at byte ${cutEpb.length} inside record 2 (enhanced packet block) starting at byte ${head.length} (block length says 132 bytes, 50 present)`,
    });

    const cutBig = concat(head, block(true, 5, new Uint8Array(80_000)).subarray(0, 30_000));
    ({ records, summary } = parseChunked(cutBig, 4096));
    expect(records).toHaveLength(1);
    expect(summary.truncated).toBe(true);
    expect(summary.warnings[0].offset).toBe(head.length);
    expect(summary.warnings[0].message).toBe(
      `capture cut off at byte ${cutBig.length} inside an interface statistics block starting at byte ${head.length} (block length says 80012 bytes, 30000 present)`,
    );

    // Body streamed past completely, trailing length missing.
    const noTrailer = concat(head, block(true, 5, new Uint8Array(80_000))).subarray(0, head.length + 80_008);
    expect(parseChunked(noTrailer, 1000).summary.truncated).toBe(true);
  });

  it('delivers a record whose caplen exceeds the snaplen, with a warning', () => {
    const big = payload(2, 1600);
    const file = concat(pcapLe(1500), pcapRecord(true, 1, 0, payload(1, 10), 10), pcapRecord(true, 2, 0, big, 1600));
    const { records, summary } = parseChunked(file);
    expect(records).toHaveLength(2);
    expect(records[1].caplen).toBe(1600);
    expect(summary.truncated).toBe(false);
    expect(summary.warnings).toEqual([
      {
        offset: 24 + 26,
        n: 2,
        message: "record 2 has 1600 captured bytes, more than the file's snaplen 1500; delivered as is",
      },
    ]);
  });

  it('does the same for a pcapng interface snaplen', () => {
    const head = concat(shb(true), idb(true, 1, 64));
    const { records, summary } = parseChunked(concat(head, epb(true, 0, 1n, payload(1, 100), 100)));
    expect(records[0].caplen).toBe(100);
    expect(summary.warnings).toEqual([
      {
        offset: head.length,
        n: 1,
        message: "record 1 has 100 captured bytes, more than interface 0's snaplen 64; delivered as is",
      },
    ]);
  });

  it('bounds the warning list', () => {
    const parts = [pcapLe(4)];
    for (let i = 0; i < 1100; i++) parts.push(pcapRecord(true, i, 0, payload(i, 8), 8));
    const { records, summary } = parseChunked(concat(...parts));
    expect(records).toHaveLength(1100);
    expect(summary.warnings).toHaveLength(1001);
    expect(summary.warnings[1000].message).toBe('100 further warnings not listed');
  });

  it('lists the cut-off last, even past the warning limit', () => {
    const parts = [pcapLe(4)];
    for (let i = 0; i < 1100; i++) parts.push(pcapRecord(true, i, 0, payload(i, 8), 8));
    const file = concat(...parts, pcapRecord(true, 0, 0, payload(0, 8), 8).subarray(0, 20));
    const { summary } = parseChunked(file);
    expect(summary.truncated).toBe(true);
    expect(summary.warnings).toHaveLength(1002);
    expect(summary.warnings[1001]).toEqual({
      offset: file.length - 20,
      n: 1101,
      message: `capture cut off at byte ${file.length} inside record 1101 (header says 8 bytes, 4 present)`,
    });
  });

  it('warns about a pcap version other than 2', () => {
    const file = concat(
      pcapHeader({ le: true, nanos: false, snaplen: 0, linkTypeField: 1, major: 3 }),
      pcapRecord(true, 1, 0, payload(1, 4), 4),
    );
    const { records, summary } = parseChunked(file);
    expect(records).toHaveLength(1);
    expect(summary.warnings[0].message).toContain('pcap version 3.4');
  });
});
