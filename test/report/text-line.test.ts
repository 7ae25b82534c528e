/**
 * The text lines replay writes as bytes (report/text-line.ts) must be what
 * replayLine() (report/replay-text.ts, built from strings) returns, byte for
 * byte: on every packet of every fixture (malformed ones too) and scenario,
 * under every example rule file, in every time format, with and without
 * colour.
 */
import { describe, expect, it } from 'vitest';
import { CaptureError } from '../../src/capture/types.js';
import { packetSource } from '../../src/run/inputs.js';
import { replay } from '../../src/engine/replay.js';
import { ByteText } from '../../src/report/bytes.js';
import { ANSI_PAINT, NO_PAINT, replayLine } from '../../src/report/replay-text.js';
import { writeReplayLine } from '../../src/report/text-line.js';
import type { TimeFormat } from '../../src/report/time.js';
import { expectedPackets, inputs, ruleFiles } from './inputs.js';

describe('text lines written as bytes', () => {
  it('equal replayLine() on every fixture and scenario, in every time format, with and without colour', async () => {
    const o = new ByteText(64);
    const seen = { packets: 0, ipv6: 0, wide: 0 };
    for (const input of inputs) {
      for (const rules of ruleFiles) {
        const base = { sec: -1, nsec: 0 };
        try {
          await replay({
            rules,
            source: packetSource(input).source,
            onPacket: (r, p, _rec, engine) => {
              if (base.sec < 0) {
                base.sec = r.tsSec;
                base.nsec = r.tsNsec;
              }
              seen.packets++;
              if (p.ipVersion === 6) seen.ipv6++;
              for (const time of ['relative', 'epoch', 'iso'] as TimeFormat[]) {
                for (const paint of [NO_PAINT, ANSI_PAINT]) {
                  writeReplayLine(o, r, p, engine, time, base, paint);
                  expect(o.take(), `${input} packet ${r.n} (${time})`).toBe(replayLine(r, p, engine, time, base, paint));
                }
              }
              if (p.ipVersion === 6) {
                // Endpoints wider than their column: the longest IPv6 texts there are.
                const saved = [p.src0, p.src1, p.src2, p.src3, p.dst0, p.dst1, p.dst2, p.dst3];
                p.src0 = p.dst0 = 0x2001_0db8; p.src1 = p.dst1 = 0x1234_5678; p.src2 = p.dst2 = 0x9abc_def0; p.src3 = 0x1234_5678; p.dst3 = 0x8765_4321;
                const line = replayLine(r, p, engine, 'relative', base, NO_PAINT);
                const [src, , dst] = line.slice(20).split(' ');
                if (src.length + 3 + dst.length > 44) seen.wide++;
                writeReplayLine(o, r, p, engine, 'relative', base, NO_PAINT);
                expect(o.take(), `${input} packet ${r.n} wide`).toBe(line);
                [p.src0, p.src1, p.src2, p.src3, p.dst0, p.dst1, p.dst2, p.dst3] = saved;
              }
              // Columns overflowed: a packet number of 7 digits, a time of 12 characters.
              const n = r.n;
              r.n += 1_234_000;
              const longAgo = { sec: base.sec - 12345, nsec: base.nsec };
              writeReplayLine(o, r, p, engine, 'relative', longAgo, NO_PAINT);
              expect(o.take(), `${input} packet ${n} overflowing`).toBe(replayLine(r, p, engine, 'relative', longAgo, NO_PAINT));
              r.n = n;
              // A packet earlier than the first (captures are not always in time order).
              const later = { sec: r.tsSec, nsec: r.tsNsec + 1 };
              writeReplayLine(o, r, p, engine, 'relative', later, NO_PAINT);
              expect(o.take(), `${input} packet ${n} before the first`).toBe(replayLine(r, p, engine, 'relative', later, NO_PAINT));
            },
          });
        } catch (err) {
          // Malformed captures end in their error after their readable packets (json-line.test checks which).
          if (!(err instanceof CaptureError)) throw err;
        }
      }
    }
    expect(seen.packets).toBe(await expectedPackets());
    // The fixtures have IPv6, and endpoints wider than their column.
    expect(seen.ipv6).toBeGreaterThan(50);
    expect(seen.wide).toBeGreaterThan(0);
  });
});
