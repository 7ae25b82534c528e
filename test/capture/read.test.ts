import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { readCapture, readCaptureBuffer } from '../../src/capture/read.js';
import { CaptureError } from '../../src/capture/types.js';
import { InputFileError } from '../../src/base/input-file.js';
import { concat, payload, pcapHeader, pcapRecord, plain } from './bytes.js';
import type { PlainRecord } from './bytes.js';
import { multiSectionPcapng } from './samples.js';

const dir = mkdtempSync(join(tmpdir(), 'fwemu-capture-read-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bigPcap(): Uint8Array {
  const parts = [pcapHeader({ le: true, nanos: false, snaplen: 262_144, linkTypeField: 1 })];
  for (let i = 0; i < 500; i++) parts.push(pcapRecord(true, 1_700_000_000 + i, i, payload(i, (i * 7919) % 9000), 9000));
  return concat(...parts);
}

const files: Record<string, Uint8Array> = {
  'big.pcap': bigPcap(),
  'multi.pcapng': multiSectionPcapng().file,
  'cut.pcap': bigPcap().subarray(0, 100_000),
};
/** Tiny chunks mean one read per few bytes: only for the small files. */
const chunkSizes: Record<string, (number | undefined)[]> = {
  'big.pcap': [undefined, 4096, 65_536],
  'multi.pcapng': [undefined, 7, 4096, 65_536],
  'cut.pcap': [undefined, 13, 4096, 65_536],
};
for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);

function fromBuffer(bytes: Uint8Array) {
  const records: PlainRecord[] = [];
  const summary = readCaptureBuffer(bytes, 'mem', (rec) => records.push(plain(rec)));
  return { records, summary };
}

describe('readCapture', () => {
  for (const [name, bytes] of Object.entries(files)) {
    it(`reads ${name} from a file like readCaptureBuffer does, whatever the chunk size`, async () => {
      const expected = fromBuffer(bytes);
      expect(expected.records.length).toBeGreaterThan(5);
      for (const chunkSize of chunkSizes[name]) {
        const records: PlainRecord[] = [];
        const summary = await readCapture(join(dir, name), (rec) => records.push(plain(rec)), { chunkSize });
        expect(records, `chunkSize ${chunkSize}`).toEqual(expected.records);
        expect(summary, `chunkSize ${chunkSize}`).toEqual(expected.summary);
      }
    });
  }

  it("reads '-' from standard input", async () => {
    const bytes = files['multi.pcapng'];
    const chunks: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; at += 1000) chunks.push(bytes.slice(at, at + 1000));
    const records: PlainRecord[] = [];
    const summary = await readCapture('-', (rec) => records.push(plain(rec)), { stdin: Readable.from(chunks) });
    const expected = fromBuffer(bytes);
    expect(records).toEqual(expected.records);
    expect(summary).toEqual(expected.summary);
  });

  it('refuses to read a capture from a terminal', async () => {
    const tty = Object.assign(Readable.from([]), { isTTY: true });
    await expect(readCapture('-', () => {}, { stdin: tty })).rejects.toThrow('standard input is a terminal');
  });

  it('reads from a pipe given as a path', async () => {
    const fifo = join(dir, 'fifo');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      return; // no mkfifo here: nothing to prove
    }
    const writer = spawn('sh', ['-c', `cat "${join(dir, 'big.pcap')}" > "${fifo}"`]);
    const writerDone = new Promise((resolve) => writer.on('exit', resolve));
    let count = 0;
    const summary = await readCapture(fifo, () => count++, { chunkSize: 10_000 });
    await writerDone;
    expect(count).toBe(500);
    expect(summary.truncated).toBe(false);
  });

  it('waits for beforeRead before each read', async () => {
    let calls = 0;
    let delivered = 0;
    let deliveredAtLastCall = -1;
    const summary = await readCapture(join(dir, 'big.pcap'), () => delivered++, {
      chunkSize: 100_000,
      beforeRead: () => {
        calls++;
        expect(delivered).toBeGreaterThan(deliveredAtLastCall);
        deliveredAtLastCall = delivered;
        return new Promise((resolve) => setTimeout(resolve, 1));
      },
    });
    expect(summary.records).toBe(500);
    expect(calls).toBe(Math.ceil(files['big.pcap'].length / 100_000));
  });

  it('names a missing file plainly', async () => {
    const path = join(dir, 'nope.pcap');
    const err = await readCapture(path, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputFileError);
    expect((err as Error).message).toBe(`${path}: cannot read capture file: no such file`);
  });

  it('says so when the path is empty', async () => {
    await expect(readCapture('', () => {})).rejects.toThrow("the path is empty (use '-' for standard input)");
  });

  it('names a directory plainly', async () => {
    const sub = join(dir, 'adir');
    mkdirSync(sub);
    await expect(readCapture(sub, () => {})).rejects.toThrow(`${sub}: cannot read capture file: it is a directory`);
  });

  it('reports a fatal problem with the offset in the whole file, not in the chunk', async () => {
    const good = files['big.pcap'].subarray(0, 200_000);
    // Find where record boundaries fall, then corrupt the caplen of the record after the first 100 KB.
    const offsets: number[] = [];
    readCaptureBuffer(files['big.pcap'], 'x', (rec) => offsets.push(rec.fileOffset));
    const victim = offsets.find((o) => o > 100_000)!;
    const bad = Uint8Array.from(good);
    new DataView(bad.buffer).setUint32(victim + 8, 0x7fff_ffff, true);
    writeFileSync(join(dir, 'bad.pcap'), bad);
    const err = await readCapture(join(dir, 'bad.pcap'), () => {}, { chunkSize: 4096 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CaptureError);
    expect((err as CaptureError).offset).toBe(victim);
  });
});
