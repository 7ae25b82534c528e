/**
 * Hand-built captures with the records each must yield, shared by the
 * pcapng and chunking tests.
 */

import { Bytes, block, concat, epb, hex, idb, numBytes, opt, payload, pb, shb, spb } from './bytes.js';
import type { PlainRecord } from './bytes.js';

const IF_NAME = 2;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;
const EPB_FLAGS = 2;
const OPT_COMMENT = 1;

/** floor(ts / units) and the remainder in whole nanoseconds, by BigInt: the reference the parser must match. */
export function split(ts: bigint, unitsPerSecond: bigint): [number, number] {
  return [Number(ts / unitsPerSecond), Number(((ts % unitsPerSecond) * 1_000_000_000n) / unitsPerSecond)];
}

export function multiSectionPcapng(): { file: Uint8Array; expected: PlainRecord[] } {
  const parts: Uint8Array[] = [];
  const expected: PlainRecord[] = [];
  let offset = 0;
  const add = (bytes: Uint8Array, rec?: Omit<PlainRecord, 'n' | 'fileOffset'>) => {
    if (rec) expected.push({ n: expected.length + 1, fileOffset: offset, ...rec });
    parts.push(bytes);
    offset += bytes.length;
  };
  const pkt = (
    ifIndex: number,
    linkType: number,
    ifName: string,
    data: Uint8Array,
    len: number,
    ts: [number, number],
    direction = 0,
  ) => ({
    tsSec: ts[0],
    tsNsec: ts[1],
    linkType,
    ifIndex,
    ifName,
    direction,
    caplen: data.length,
    len,
    data: hex(data),
  });

  // ---- section 1: little-endian ----
  let le = true;
  add(shb(le, [opt(4, 'handmade')]));
  add(idb(le, 1, 64, [opt(IF_NAME, 'eth0')])); // 0: default resolution, microseconds
  add(idb(le, 113, 128, [opt(IF_NAME, 'any\0'), opt(IF_TSRESOL, [9])])); // 1: nanoseconds
  add(idb(le, 101, 0, [opt(IF_TSRESOL, [0x80 | 20])])); // 2: 2^-20 s units, no name
  add(
    idb(le, 228, 65_535, [
      opt(IF_NAME, 'tun0'),
      opt(IF_TSRESOL, [3]),
      opt(IF_TSOFFSET, numBytes(le, 64, 1_600_000_000n)),
    ]),
  ); // 3: ms, offset

  const usTs = 1_700_000_000_123_456n;
  let data = payload(1, 60);
  add(
    epb(le, 0, usTs, data, 60, [opt(EPB_FLAGS, numBytes(le, 32, 1n))]),
    pkt(0, 1, 'eth0', data, 60, split(usTs, 1_000_000n), 1),
  );

  add(block(le, 0xbad, new Bytes(le).u32(32473).raw(payload(9, 16)).build())); // a custom block, small

  const nsTs = 1_700_000_001_987_654_321n; // > 2^53: needs exact 64-bit arithmetic
  data = payload(2, 100);
  add(
    epb(le, 1, nsTs, data, 1500, [opt(OPT_COMMENT, 'first a comment'), opt(EPB_FLAGS, numBytes(le, 32, 0x0100_0002n))]),
    pkt(1, 113, 'any', data, 1500, split(nsTs, 1_000_000_000n), 2),
  );

  // A name resolution block too big to buffer: streamed past.
  add(block(le, 4, new Bytes(le).zeros(70_000).build()));

  const binTs = (1_700_000_002n << 20n) + 777_777n;
  data = payload(3, 20);
  add(epb(le, 2, binTs, data, 20), pkt(2, 101, '', data, 20, split(binTs, 1n << 20n)));

  // Simple packet blocks use interface 0 (snaplen 64): caplen = min(len, snaplen, room).
  data = payload(4, 64);
  add(spb(le, 1000, data), pkt(0, 1, 'eth0', data, 1000, [0, 0]));
  data = payload(5, 30);
  add(spb(le, 30, data), pkt(0, 1, 'eth0', data, 30, [0, 0]));

  // The obsolete Packet Block, with pack_flags "inbound", on the millisecond interface with if_tsoffset.
  data = payload(6, 40);
  add(
    pb(le, 3, 123_456n, data, 40, [opt(EPB_FLAGS, numBytes(le, 32, 1n))]),
    pkt(3, 228, 'tun0', data, 40, [1_600_000_123, 456_000_000], 1),
  );

  // Both direction bits set means nothing known.
  data = payload(7, 8);
  add(epb(le, 0, 5n, data, 8, [opt(EPB_FLAGS, numBytes(le, 32, 3n))]), pkt(0, 1, 'eth0', data, 8, [0, 5000]));

  // ---- section 2: big-endian, interfaces start over ----
  le = false;
  add(shb(le));
  add(idb(le, 228, 0, [opt(IF_TSRESOL, [6])]));
  data = payload(8, 28);
  const ts2 = 1_700_000_100_000_001n;
  add(
    epb(le, 0, ts2, data, 28, [opt(EPB_FLAGS, numBytes(le, 32, 2n))]),
    pkt(0, 228, '', data, 28, split(ts2, 1_000_000n), 2),
  );
  data = payload(9, 3);
  add(epb(le, 0, ts2 + 1n, data, 3), pkt(0, 228, '', data, 3, split(ts2 + 1n, 1_000_000n)));

  return { file: concat(...parts), expected };
}
