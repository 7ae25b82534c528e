/**
 * The shard of a packet (replay --jobs): read straight from the bytes where
 * that is safe (peekShard), by decoding otherwise. Both ways must agree, or the two
 * directions of a flow, or the fragments of a datagram, could be judged by
 * different threads.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCaptureBuffer } from '../../src/capture/index.js';
import { LinkType } from '../../src/capture/types.js';
import { NOT_SHARDABLE, pairShard, peekShard, shardOfDecoded } from '../../src/engine/shard.js';
import { decodePacket, newDecodedPacket } from '../../src/packet/decode.js';
import { buildCorpus, corpusSeed } from '../kernel/random.js';

const dir = mkdtempSync(join(tmpdir(), 'fwemu-shard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function captures(): string[] {
  const top = readdirSync('fixtures')
    .filter((f) => /\.pcap(ng)?$/.test(f))
    .map((f) => join('fixtures', f));
  const malformed = readdirSync('fixtures/malformed')
    .filter((f) => /\.pcap(ng)?$/.test(f))
    .map((f) => join('fixtures/malformed', f));
  return [...top, ...malformed];
}

/**
 * For every packet of `file`, for 2, 3 and 5 shards: where peekShard()
 * answers from the bytes, does it say what the decoded packet says?
 */
function disagreements(file: string): { peeked: number; packets: number; bad: string[] } {
  const pkt = newDecodedPacket();
  let peeked = 0;
  let packets = 0;
  const bad: string[] = [];
  try {
    readCaptureBuffer(readFileSync(file), file, (rec) => {
      packets++;
      const p = decodePacket(rec.buf, rec.off, rec.caplen, rec.linkType, rec.direction, pkt, rec.len);
      if (rec.linkType !== LinkType.ETHERNET) return;
      for (const n of [2, 3, 5]) {
        const fast = peekShard(rec.buf, rec.off, rec.caplen, n);
        if (fast === NOT_SHARDABLE) continue;
        peeked++;
        const decoded = shardOfDecoded(p, n);
        // (A packet without IP addresses touches no state: any thread will do.)
        if (fast !== decoded && p.ipVersion !== 0)
          bad.push(`${file} packet ${rec.n}, ${n} shards: from the bytes ${fast}, decoded ${decoded}`);
      }
    });
  } catch {
    // A damaged capture: the packets before the damage were checked.
  }
  return { peeked, packets, bad };
}

describe('shard of a packet', () => {
  it('is the same for both orders of an address pair, and within range', () => {
    let x = 12345;
    const bad: string[] = [];
    for (let i = 0; i < 20000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const a = x;
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const b = i % 7 === 0 ? a : x;
      for (const n of [1, 2, 3, 7, 64]) {
        const s = pairShard(a, b, n);
        if (pairShard(b, a, n) !== s || !Number.isInteger(s) || s < 0 || s >= n)
          bad.push(`${a} ${b} ${n}: ${s}, ${pairShard(b, a, n)}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('spreads address pairs evenly', () => {
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 40000; i++) counts[pairShard(0x0a000000 + i, 0x0ac80001, 4)]++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(500);
  });

  it('read from the bytes agrees with the decoded packet, over every fixture (damaged ones too)', () => {
    let peeked = 0;
    let packets = 0;
    for (const file of captures()) {
      const r = disagreements(file);
      expect(r.bad).toEqual([]);
      peeked += r.peeked;
      packets += r.packets;
    }
    // Most packets are answered from the bytes (3 shard counts each).
    expect(peeked).toBeGreaterThan(packets);
  });

  it('read from the bytes agrees with the decoded packet, over a random corpus', async () => {
    const seed = corpusSeed();
    const corpus = await buildCorpus({ seed, batches: 3, sessionsPerBatch: 60, dir });
    let peeked = 0;
    let packets = 0;
    for (const b of corpus) {
      const r = disagreements(b.capturePath);
      expect(r.bad, `seed ${seed}`).toEqual([]);
      peeked += r.peeked;
      packets += r.packets;
    }
    expect(peeked).toBeGreaterThan(packets);
  });
});
