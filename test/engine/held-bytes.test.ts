/**
 * Bytes kept past their record are copies (issue 14). The records here lie
 * in a Node Buffer that is overwritten as soon as each one has been handed
 * on, as the capture reader reuses its chunks: Buffer.prototype.slice() of
 * it would be a view, and see the overwrite.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { copyBytes, copyRecord } from '../../src/capture/copy.js';
import { readCapture, readCaptureBuffer } from '../../src/capture/read.js';
import { Direction, LinkType, type CaptureRecord, type CaptureSummary } from '../../src/capture/types.js';
import { Defragmenter, DefragStatus } from '../../src/engine/defrag.js';
import { replay } from '../../src/engine/replay.js';
import { decodePacket, newDecodedPacket } from '../../src/packet/decode.js';
import { buildIpPacket, fragmentIp, type PacketSpec } from '../../src/packet/encode.js';
import { parseRuleSet } from '../../src/rules/load.js';
import { writePcap } from '../kernel/pcapwriter.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A record of `ip` at offset 16 of a shared Buffer (a reader's chunk). */
function recordIn(chunk: Buffer, ip: Uint8Array, n: number): CaptureRecord {
  chunk.fill(0);
  chunk.set(ip, 16);
  return {
    n,
    tsSec: 1_700_000_000,
    tsNsec: n * 1000,
    linkType: LinkType.RAW,
    ifIndex: 0,
    ifName: '',
    direction: Direction.UNKNOWN,
    caplen: ip.length,
    len: ip.length,
    buf: chunk,
    off: 16,
    fileOffset: 0,
  };
}

describe('copyBytes / copyRecord', () => {
  it('copy out of a Buffer (whose slice() is a view)', () => {
    const b = Buffer.from([1, 2, 3, 4, 5]);
    const c = copyBytes(b, 1, 4);
    const chunk = Buffer.alloc(64);
    const r = copyRecord(recordIn(chunk, new Uint8Array([9, 8, 7]), 1));
    // Both sources overwritten, as the reader's chunks are: a view would see it.
    b.fill(0);
    chunk.fill(0);
    expect([...c]).toEqual([2, 3, 4]);
    expect([...r.buf]).toEqual([9, 8, 7]);
    expect(r.off).toBe(0);
  });
});

describe('held fragments keep their own bytes', () => {
  it('Defragmenter: the buffer overwritten after add(), the held fragments (records and IP packets) are unchanged', () => {
    const datagram = buildIpPacket({
      ip: { src: '10.1.0.2', dst: '10.2.0.1', id: 7 },
      udp: { sport: 1000, dport: 53, payload: 600 },
    } as PacketSpec);
    const frags = fragmentIp(datagram, 200);
    const chunk = Buffer.alloc(2048);
    const df = new Defragmenter();
    const pkt = newDecodedPacket();
    for (let i = 0; i < frags.length; i++) {
      const rec = recordIn(chunk, frags[i], i + 1);
      decodePacket(rec.buf, rec.off, rec.caplen, rec.linkType, rec.direction, pkt, rec.len);
      const st = df.add(rec, pkt, 0);
      chunk.fill(0xee);
      if (i < frags.length - 1) {
        expect(st).toBe(DefragStatus.HELD);
        continue;
      }
      expect(st).toBe(DefragStatus.COMPLETE);
      expect(hex(df.datagramBytes)).toBe(hex(datagram));
      expect(df.released.map((f) => hex(f.rec.buf.subarray(0, f.rec.caplen)))).toEqual(frags.slice(0, -1).map(hex));
      expect(df.released.map((f) => hex(f.ip))).toEqual(frags.slice(0, -1).map(hex));
    }
  });

  it('replay(): the records of held fragments and of the packets waiting behind them are delivered with their own bytes', async () => {
    const { ruleset } = parseRuleSet('policy: drop\nrules:\n  - id: dns\n    proto: udp\n    dport: 53\n', 'test.yaml');
    const frags = fragmentIp(
      buildIpPacket({
        ip: { src: '10.1.0.2', dst: '10.2.0.1', id: 7 },
        udp: { sport: 1000, dport: 53, payload: 600 },
      } as PacketSpec),
      200,
    );
    const other = buildIpPacket({
      ip: { src: '10.1.0.3', dst: '10.2.0.1' },
      udp: { sport: 1001, dport: 53, payload: 20 },
    } as PacketSpec);
    const reply = buildIpPacket({
      ip: { src: '10.2.0.1', dst: '10.1.0.2' },
      udp: { sport: 53, dport: 1000, payload: 20 },
    } as PacketSpec);
    const packets = [frags[0], other, frags[1], other, frags[2], frags[3], reply];
    const chunk = Buffer.alloc(2048);
    const source = async (onRecord: (rec: CaptureRecord) => void): Promise<CaptureSummary> => {
      packets.forEach((ip, i) => {
        onRecord(recordIn(chunk, ip, i + 1));
        chunk.fill(0xee);
      });
      return { format: 'pcap', records: packets.length, bytesRead: 0, warnings: [], truncated: false };
    };
    const seen: { n: number; bytes: string; verdict: string; ct: string | null }[] = [];
    await replay({
      rules: ruleset,
      source,
      onPacket: (r, _p, rec) =>
        seen.push({
          n: r.n,
          bytes: hex(rec.buf.subarray(rec.off, rec.off + rec.caplen)),
          verdict: r.verdict,
          ct: r.ct,
        }),
    });
    expect(seen.map((s) => s.n)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(seen.map((s) => s.bytes)).toEqual(packets.map(hex));
    expect(seen.every((s) => s.verdict === 'accept')).toBe(true);
    expect(seen[6].ct).toBe('established');
  });
});

describe('capture readers hand out plain Uint8Arrays (whose slice() copies), never Buffers', () => {
  const ip = buildIpPacket({
    ip: { src: '10.1.0.2', dst: '10.2.0.1' },
    udp: { sport: 1, dport: 2, payload: 10 },
  } as PacketSpec);
  it('from a file, from a stream, from a Buffer in memory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fwemu-plain-'));
    try {
      const path = join(dir, 'x.pcap');
      writePcap(
        path,
        [
          { data: ip, ts: 1 },
          { data: ip, ts: 2 },
        ],
        LinkType.RAW,
      );
      const protos: unknown[] = [];
      const look = (rec: CaptureRecord) => protos.push(Object.getPrototypeOf(rec.buf));
      await readCapture(path, look, { chunkSize: 40 }); // records straddle chunks: the carry too
      await readCapture(path, look);
      const file = readFileSync(path);
      await readCapture('-', look, {
        stdin: (async function* () {
          yield file.subarray(0, 50);
          yield file.subarray(50);
        })(),
      });
      readCaptureBuffer(file, 'x.pcap', look);
      expect(protos.length).toBe(8);
      expect(protos.every((p) => p === Uint8Array.prototype)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
