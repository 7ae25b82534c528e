import { describe, expect, it } from 'vitest';
import { CaptureParser } from '../../src/capture/parser.js';
import { concat, epb, parseChunked, payload, pcapHeader, pcapRecord, shb, idb } from './bytes.js';
import { multiSectionPcapng } from './samples.js';

const CHUNK_SIZES = [1, 3, 7, 64, 4096];

function pcapWithBigRecords(): Uint8Array {
  const parts = [pcapHeader({ le: false, nanos: true, snaplen: 262_144, linkTypeField: 1 })];
  for (let i = 0; i < 20; i++) parts.push(pcapRecord(false, 1000 + i, i * 1000, payload(i, (i * 997) % 3000), 3000));
  return concat(...parts);
}

const captures: Record<string, Uint8Array> = {
  pcap: pcapWithBigRecords(),
  pcapng: multiSectionPcapng().file,
  'pcap cut off mid-record': pcapWithBigRecords().subarray(0, 5000),
  'pcap cut off mid-header': pcapWithBigRecords().subarray(0, 24 + 16 + 0 + 8),
  'pcapng cut off mid-block': multiSectionPcapng().file.subarray(0, multiSectionPcapng().file.length - 10),
  'pcapng cut off inside a streamed block': multiSectionPcapng().file.subarray(0, 1000),
  'pcapng with a packet block larger than 64 KiB': concat(
    shb(true),
    idb(true, 1, 0),
    epb(true, 0, 1n, payload(1, 200_000), 200_000),
  ),
};

describe('chunked input', () => {
  for (const [name, file] of Object.entries(captures)) {
    it(`yields identical records and summary for ${name} in chunks of ${CHUNK_SIZES.join(', ')} bytes and whole`, () => {
      const whole = parseChunked(file);
      expect(whole.records.length).toBeGreaterThan(0);
      for (const size of CHUNK_SIZES) {
        const chunked = parseChunked(file, size);
        expect(chunked.records, `chunk size ${size}`).toEqual(whole.records);
        expect(chunked.summary, `chunk size ${size}`).toEqual(whole.summary);
      }
    });
  }

  it('copes with empty chunks', () => {
    const file = captures.pcap;
    const records: number[] = [];
    const parser = new CaptureParser('x', (r) => records.push(r.n));
    for (let at = 0; at < file.length; at += 100) {
      parser.push(new Uint8Array(0));
      parser.push(file.subarray(at, at + 100));
    }
    expect(parser.end().records).toBe(20);
    expect(records).toHaveLength(20);
  });
});
