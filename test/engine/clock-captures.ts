/**
 * Captures for the clock tests, assembled byte by byte (raw IPv4, UDP, no
 * fwemu code): a client 192.0.2.1:40000 asking 192.0.2.53:53, and the
 * server's answers, at chosen times.
 */
import { concat, epb, idb, numBytes, opt, pcapHeader, pcapRecord, shb } from '../capture/bytes.js';

export const LINKTYPE_RAW = 101;

/** A rule set that lets clients reach port 53 over UDP; the answers pass only as ESTABLISHED. */
export const DNS_RULES = `name: clock
policy: drop
rules:
  - id: dns
    proto: udp
    dport: 53
`;

/** The same without connection tracking: nothing depends on the clock. */
export const STATELESS_RULES = `name: stateless
stateful: false
policy: accept
rules: []
`;

function ip(a: number[], b: number[], sport: number, dport: number, id: number): Uint8Array {
  const p = new Uint8Array(28);
  p.set([0x45, 0, 0, 28, id >> 8, id & 0xff, 0, 0, 64, 17, 0, 0, ...a, ...b]);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (p[i] << 8) | p[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  p[10] = (~sum >> 8) & 0xff;
  p[11] = ~sum & 0xff;
  p.set([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, 0, 8, 0, 0], 20);
  return p;
}

const CLIENT = [192, 0, 2, 1];
const SERVER = [192, 0, 2, 53];

export type Dir = 'q' | 'a';

/** A query (client to server) or an answer. */
export function udpPacket(dir: Dir, id: number): Uint8Array {
  return dir === 'q' ? ip(CLIENT, SERVER, 40000, 53, id) : ip(SERVER, CLIENT, 53, 40000, id);
}

export interface At {
  dir: Dir;
  sec: number;
  /** nanoseconds */
  nsec?: number;
}

/** pcap with nanosecond timestamps; every record is 16 + 28 bytes after the 24-byte header. */
export function pcapOf(packets: At[]): Uint8Array {
  return concat(
    pcapHeader({ le: true, nanos: true, snaplen: 65535, linkTypeField: LINKTYPE_RAW }),
    ...packets.map((p, i) => pcapRecord(true, p.sec, p.nsec ?? 0, udpPacket(p.dir, i + 1), 28)),
  );
}

/** Byte offset of record n (1-based) in pcapOf(). */
export function pcapOffset(n: number): number {
  return 24 + (n - 1) * (16 + 28);
}

/** pcapng, nanosecond units counted from `offsetSec` (if_tsoffset), which may be far from 1970. */
export function pcapngOf(packets: At[], offsetSec: bigint): Uint8Array {
  const base = offsetSec;
  return concat(
    shb(true),
    idb(true, LINKTYPE_RAW, 0, [opt(9, [9]), opt(14, numBytes(true, 64, base < 0n ? (1n << 64n) + base : base))]),
    ...packets.map((p, i) => {
      const units = (BigInt(p.sec) - base) * 1_000_000_000n + BigInt(p.nsec ?? 0);
      return epb(true, 0, units, udpPacket(p.dir, i + 1), 28);
    }),
  );
}
