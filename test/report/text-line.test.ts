/**
 * The text line of replay is written by one byte writer (report/text-line.ts)
 * that lays out its columns by counting bytes. Here the same line is stated
 * the plain way, with padStart()/padEnd() on strings (the column layout as
 * the README shows it), and the writer must agree byte for byte: on every
 * packet of every fixture (malformed ones too) and scenario, under every
 * example rule file, in every time format, with and without colour, and
 * with columns overflowed.
 */
import { describe, expect, it } from 'vitest';
import { CaptureError } from '../../src/capture/types.js';
import { packetSource } from '../../src/run/inputs.js';
import type { Engine } from '../../src/engine/engine.js';
import { replay } from '../../src/engine/replay.js';
import type { PacketResult } from '../../src/engine/result.js';
import { formatAddr } from '../../src/packet/addr.js';
import { icmpText } from '../../src/packet/icmp-names.js';
import { describePacket, hasPorts, protoName, tcpFlagsString } from '../../src/packet/describe.js';
import { IpProto, PacketKind, type DecodedPacket } from '../../src/packet/types.js';
import { ByteText } from '../../src/report/bytes.js';
import { endpoint, packetText } from '../../src/report/packet-text.js';
import { explain } from '../../src/report/reason.js';
import { ANSI_PAINT, NO_PAINT, type Paint } from '../../src/report/replay-text.js';
import { replayLine, writeReplayLine } from '../../src/report/text-line.js';
import { formatTime, type TimeFormat } from '../../src/report/time.js';
import { expectedPackets, inputs, ruleSets } from './inputs.js';

/** The line from strings: #(6 right) time(10 right) endpoints(44) proto(12) ct(11) verdict(7) reason. */
function layout(
  r: PacketResult,
  p: DecodedPacket,
  engine: Engine,
  time: TimeFormat,
  base: { sec: number; nsec: number },
  paint: Paint,
): string {
  let endpoints: string;
  let proto = '';
  if (p.proto === IpProto.TCP && p.l4Off >= 0)
    proto = `tcp ${tcpFlagsString(p.tcpFlags)}${p.payloadLen ? ` +${p.payloadLen}` : ''}`;
  else if ((p.proto === IpProto.ICMP || p.proto === IpProto.ICMPV6) && p.icmpType >= 0)
    proto = `${p.proto === IpProto.ICMP ? 'icmp' : 'icmpv6'} ${icmpText(p.ipVersion, p.icmpType, p.icmpCode)}`;
  if (p.kind === PacketKind.IP) {
    const src = formatAddr(p.ipVersion, p.src0, p.src1, p.src2, p.src3);
    const dst = formatAddr(p.ipVersion, p.dst0, p.dst1, p.dst2, p.dst3);
    endpoints = hasPorts(p) ? `${endpoint(src, p.sport)} > ${endpoint(dst, p.dport)}` : `${src} > ${dst}`;
    if (proto === '') proto = protoName(p.proto);
  } else {
    const t = packetText(describePacket(p));
    endpoints = t.endpoints;
    if (proto === '') proto = t.proto;
  }
  // NAT: the packet as it leaves, before the reason ("=> 203.0.113.1:40000 > 198.51.100.10:80  ").
  let leaves = '';
  const e = r.egress;
  if (e !== null) {
    const s = formatAddr(e.ipVersion, e.src0, e.src1, e.src2, e.src3);
    const d = formatAddr(e.ipVersion, e.dst0, e.dst1, e.dst2, e.dst3);
    const id =
      (e.proto === IpProto.ICMP || e.proto === IpProto.ICMPV6) && e.icmpId !== p.icmpId ? ` id ${e.icmpId}` : '';
    leaves = `=> ${hasPorts(e) ? `${endpoint(s, e.sport)} > ${endpoint(d, e.dport)}` : `${s} > ${d}`}${id}  `;
  }
  return (
    `${String(r.n).padStart(6)}  ${formatTime(time, r.tsSec, r.tsNsec, base.sec, base.nsec).padStart(10)}  ` +
    // A proto wider than its 12 columns is made up for in the ct column's padding, as far as it goes.
    `${endpoints.padEnd(44)} ${`${proto.padEnd(12)} ${r.ct ?? '-'}`.padEnd(24)} ${paint.verdict(r.verdict, r.verdict.toUpperCase().padEnd(7))} ${leaves}${explain(r, p, engine.compiled)}`
  );
}

/** expect(got).toBe(want), with expect() called only on a difference: it runs ~10 times a packet here. */
function same(got: string, want: string, what: string): void {
  if (got !== want) expect(got, what).toBe(want);
}

describe('the replay text line', () => {
  it('has the columns padStart/padEnd give, on every fixture and scenario, in every time format, with and without colour', async () => {
    const o = new ByteText(64);
    const seen = { packets: 0, ipv6: 0, wide: 0, nonIp: 0 };
    for (const input of inputs) {
      // (Loaded, and a scenario generated, once for all rule files.)
      const { source } = packetSource(input);
      for (const rules of ruleSets) {
        const base = { sec: -1, nsec: 0 };
        try {
          await replay({
            rules,
            source,
            onPacket: (r, p, _rec, engine) => {
              if (base.sec < 0) {
                base.sec = r.tsSec;
                base.nsec = r.tsNsec;
              }
              seen.packets++;
              if (p.ipVersion === 6) seen.ipv6++;
              if (p.kind !== PacketKind.IP) seen.nonIp++;
              for (const time of ['relative', 'epoch', 'iso'] as TimeFormat[]) {
                for (const paint of [NO_PAINT, ANSI_PAINT]) {
                  writeReplayLine(o, r, p, engine, time, base, paint);
                  same(o.take(), layout(r, p, engine, time, base, paint), `${input} packet ${r.n} (${time})`);
                }
              }
              // Colour wraps the verdict column only, in the terminal's SGR codes.
              const plain = replayLine(r, p, engine, 'relative', base, NO_PAINT);
              const colour = { accept: '32', drop: '31', reject: '35', skip: '2' }[r.verdict];
              const v = r.verdict.toUpperCase().padEnd(7);
              same(
                replayLine(r, p, engine, 'relative', base, ANSI_PAINT),
                plain.replace(` ${v} `, ` \x1b[${colour}m${v}\x1b[0m `),
                `${input} packet ${r.n} coloured`,
              );
              if (p.ipVersion === 6) {
                // Endpoints wider than their column: the longest IPv6 texts there are.
                const saved = [p.src0, p.src1, p.src2, p.src3, p.dst0, p.dst1, p.dst2, p.dst3];
                p.src0 = p.dst0 = 0x2001_0db8;
                p.src1 = p.dst1 = 0x1234_5678;
                p.src2 = p.dst2 = 0x9abc_def0;
                p.src3 = 0x1234_5678;
                p.dst3 = 0x8765_4321;
                const line = layout(r, p, engine, 'relative', base, NO_PAINT);
                const [src, , dst] = line.slice(20).split(' ');
                if (src.length + 3 + dst.length > 44) seen.wide++;
                writeReplayLine(o, r, p, engine, 'relative', base, NO_PAINT);
                same(o.take(), line, `${input} packet ${r.n} wide`);
                [p.src0, p.src1, p.src2, p.src3, p.dst0, p.dst1, p.dst2, p.dst3] = saved;
              }
              // Columns overflowed: a packet number of 7 digits, a time of 12 characters.
              const n = r.n;
              r.n += 1_234_000;
              const longAgo = { sec: base.sec - 12345, nsec: base.nsec };
              writeReplayLine(o, r, p, engine, 'relative', longAgo, NO_PAINT);
              same(o.take(), layout(r, p, engine, 'relative', longAgo, NO_PAINT), `${input} packet ${n} overflowing`);
              r.n = n;
              // A packet earlier than the first (captures are not always in time order).
              const later = { sec: r.tsSec, nsec: r.tsNsec + 1 };
              writeReplayLine(o, r, p, engine, 'relative', later, NO_PAINT);
              same(
                o.take(),
                layout(r, p, engine, 'relative', later, NO_PAINT),
                `${input} packet ${n} before the first`,
              );
            },
          });
        } catch (err) {
          // Malformed captures end in their error after their readable packets (json-line.test checks which).
          if (!(err instanceof CaptureError)) throw err;
        }
      }
    }
    expect(seen.packets).toBe(await expectedPackets());
    // The fixtures have IPv6, frames that are not IP packets, and endpoints wider than their column.
    expect(seen.ipv6).toBeGreaterThan(50);
    expect(seen.nonIp).toBeGreaterThan(0);
    expect(seen.wide).toBeGreaterThan(0);
  });
});
