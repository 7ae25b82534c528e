/**
 * What each capture in fixtures/malformed/ must do (made by make.mjs):
 * stop with one positioned error (exit 2) or replay (exit 0). Shared by
 * malformed.test.ts, which runs them through the CLI, and
 * test/report/json-line.test.ts, which accepts a capture error only where
 * this says there is one.
 */

/** Exit 2: what the one error line says, and how many packets were replayed before it. */
export interface Fatal {
  exit: 2;
  offset: number;
  detail: string;
  before: number;
}

/** Exit 0: the packet count, the undecodable packets (number → decoder's reason) and the stderr warnings. */
export interface Readable {
  exit: 0;
  packets: number;
  /** 'unpinned': fragments, whose handling is being changed (defragmentation); only the bookkeeping is checked. */
  undecodable: Record<number, string> | 'unpinned';
  /** stderr lines after "fwemu: warning: FILE: ", in order. */
  warnings?: string[];
}

export type Outcome = Fatal | Readable;

const fatal = (offset: number, detail: string, before = 0): Fatal => ({ exit: 2, offset, detail, before });
const MAGIC_EXPECTED = 'expected a1b2c3d4 or a1b23c4d (pcap) or 0a0d0d0a (pcapng)';
const SHORT =
  'the frame was captured whole (74 bytes), so the packet is short on the wire (the kernel drops it before netfilter)';

export const CORPUS: Record<string, Outcome> = {
  // pcap container
  'bad-magic.pcap': fatal(0, `not a pcap or pcapng file: magic number 0xdeadbeef; ${MAGIC_EXPECTED}`),
  'gzipped.pcap': fatal(
    0,
    `not a pcap or pcapng file: magic number 0x00088b1f (it looks gzip-compressed; decompress it first); ${MAGIC_EXPECTED}`,
  ),
  'empty.pcap': fatal(0, 'file is empty; a pcap or pcapng capture starts with a 24-byte or 28-byte header'),
  'short-magic.pcap': fatal(0, 'file is 2 bytes, too short to be a pcap or pcapng capture'),
  'truncated-global-header.pcap': fatal(0, 'file is 10 bytes, shorter than the 24-byte pcap global header'),
  'kuznetzov.pcap': fatal(
    0,
    'file uses the modified ("Kuznetzov") pcap format, which is not supported; convert it with editcap -F pcap',
  ),
  'cut-in-record-header.pcap': {
    exit: 0,
    packets: 5,
    undecodable: {},
    warnings: [
      'at byte 394: capture cut off at byte 404 inside the header of record 6 (10 of 16 bytes present); every complete packet before it (5) was read',
    ],
  },
  'cut-in-record-data.pcap': {
    exit: 0,
    packets: 3,
    undecodable: {},
    warnings: [
      'at byte 234: capture cut off at byte 270 inside record 4 (header says 74 bytes, 20 present); every complete packet before it (3) was read',
    ],
  },
  'caplen-over-snaplen.pcap': {
    exit: 0,
    packets: 5,
    undecodable: {},
    warnings: ["at byte 234: record 4 has 74 captured bytes, more than the file's snaplen 64; delivered as is"],
  },
  'caplen-over-256k.pcap': fatal(
    164,
    'packet record 3 claims 300000 captured bytes, more than the 262144 a record may hold; the file is corrupt from here',
    2,
  ),
  'zero-length-records.pcap': {
    exit: 0,
    packets: 5,
    undecodable: {
      2: 'Ethernet header truncated: captured 0 of 14 bytes',
      4: 'Ethernet header truncated: captured 0 of 14 bytes',
    },
  },
  'origlen-below-caplen.pcap': {
    exit: 0,
    packets: 3,
    undecodable: {},
    warnings: ['at byte 94: record 2 has original length 10, less than its 54 captured bytes; using 54'],
  },
  'subsecond-overflow.pcap': {
    exit: 0,
    packets: 3,
    undecodable: {},
    warnings: [
      'at byte 94: record 2 has a sub-second timestamp field of 2500000, a second or more; carried into the seconds',
    ],
  },
  'unknown-linktype.pcap': {
    exit: 0,
    packets: 5,
    undecodable: Object.fromEntries([1, 2, 3, 4, 5].map((n) => [n, 'unsupported link type 147'])),
  },
  // packets
  'ethernet-truncated.pcap': {
    exit: 0,
    packets: 3,
    undecodable: { 2: 'Ethernet header truncated: captured 10 of 14 bytes' },
  },
  'ipv4-ihl-below-20.pcap': {
    exit: 0,
    packets: 3,
    undecodable: { 2: 'IPv4 header length 16 below the 20-byte minimum' },
  },
  'ipv4-total-length-below-header.pcap': {
    exit: 0,
    packets: 3,
    undecodable: { 2: 'IPv4 total length 12 below header length 20' },
  },
  'ipv4-total-length-beyond-data.pcap': {
    exit: 0,
    packets: 5,
    undecodable: { 4: `IPv4 total length 1500 exceeds the 60 bytes present; ${SHORT}` },
  },
  'ipv4-version-5.pcap': { exit: 0, packets: 3, undecodable: { 2: 'IPv4 packet with IP version 5' } },
  'ipv6-payload-length-beyond-data.pcap': {
    exit: 0,
    packets: 3,
    undecodable: { 1: `IPv6 payload length 1000 exceeds the 20 bytes present; ${SHORT}` },
  },
  'ipv6-truncated-header.pcap': {
    exit: 0,
    packets: 2,
    undecodable: { 1: 'IPv6 header truncated: captured 30 of 40 bytes' },
  },
  'tcp-data-offset-below-5.pcap': {
    exit: 0,
    packets: 5,
    undecodable: { 3: 'TCP data offset 3 below the minimum of 5' },
  },
  'tcp-data-offset-beyond-packet.pcap': {
    exit: 0,
    packets: 5,
    undecodable: { 3: 'TCP data offset 15 (60 bytes) exceeds the 20-byte IP payload' },
  },
  'tcp-header-truncated.pcap': {
    exit: 0,
    packets: 3,
    undecodable: { 2: 'TCP header needs 20 bytes but the IP packet has only 10 left' },
  },
  'icmp-truncated-quotes.pcap': {
    exit: 0,
    packets: 6,
    undecodable: { 6: 'ICMP header needs 8 bytes but the IP packet has only 4 left' },
  },
  // Fragments are judged after reassembly (engine/defrag.ts): none is undecodable, even a first fragment unreadable alone.
  'fragments.pcap': { exit: 0, packets: 7, undecodable: {} },
  // pcapng container
  'block-length-not-multiple-of-4.pcapng': fatal(
    244,
    'pcapng block length 93 is not a multiple of 4 (enhanced packet block)',
    2,
  ),
  'block-length-below-12.pcapng': fatal(
    28,
    'pcapng block length 8 is less than the 12-byte minimum (interface description block)',
  ),
  'trailer-mismatch.pcapng': fatal(
    244,
    'pcapng block length 88 disagrees with the copy at the end of the block (200) (enhanced packet block); the file is corrupt from here',
    2,
  ),
  'epb-unknown-interface.pcapng': fatal(
    244,
    'enhanced packet block (record 3) refers to interface 3, but this section has described only 1 interface (0..0)',
    2,
  ),
  'epb-caplen-beyond-block.pcapng': fatal(
    156,
    'enhanced packet block (record 2) claims 400 captured bytes but the block has room for 56; the file is corrupt from here',
    1,
  ),
  'block-over-16m.pcapng': fatal(
    332,
    'pcapng enhanced packet block claims 20000000 bytes, more than the 16777216 a block may hold; the file is corrupt from here',
    3,
  ),
  'bad-byte-order-magic.pcapng': fatal(
    0,
    'pcapng section header block has byte-order magic 0x04030201, expected 1a2b3c4d in either byte order',
  ),
  'section-version-2.pcapng': fatal(0, 'pcapng section version 2.0 is not supported (only 1.x is)'),
  'truncated-section-header.pcapng': fatal(
    0,
    'file is 20 bytes, shorter than the 28-byte pcapng section header block it starts with',
  ),
  'cut-in-block.pcapng': {
    exit: 0,
    packets: 4,
    undecodable: {},
    warnings: [
      'at byte 440: capture cut off at byte 480 inside record 5 (enhanced packet block) starting at byte 440 (block length says 88 bytes, 40 present); every complete packet before it (4) was read',
    ],
  },
  'spb-before-interface.pcapng': fatal(
    28,
    'simple packet block (record 1) refers to interface 0, but this section has described no interfaces',
  ),
  'unknown-linktype-interface.pcapng': {
    exit: 0,
    packets: 5,
    undecodable: { 2: 'unsupported link type 147', 4: 'unsupported link type 147' },
  },
  'idb-option-overrun.pcapng': {
    exit: 0,
    packets: 5,
    undecodable: {},
    warnings: [
      'at byte 28: interface description block option 2 runs past the end of the block; rest of its options ignored',
    ],
  },
  'epb-snaplen-exceeded.pcapng': {
    exit: 0,
    packets: 5,
    undecodable: {},
    warnings: ["at byte 324: record 4 has 74 captured bytes, more than interface 0's snaplen 60; delivered as is"],
  },
};
