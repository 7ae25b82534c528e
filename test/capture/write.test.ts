import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { readCaptureBuffer } from '../../src/capture/read.js';
import { Direction, LinkType } from '../../src/capture/types.js';
import type { DirectionValue } from '../../src/capture/types.js';
import { PcapWriter, PcapngWriter } from '../../src/capture/write.js';
import { UserError } from '../../src/base/errors.js';
import { hex, plain } from './bytes.js';

const dir = mkdtempSync(join(tmpdir(), 'fwemu-capture-write-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hasTshark = spawnSync('tshark', ['--version']).status === 0;
const hasCapinfos = spawnSync('capinfos', ['-h']).status === 0;

/** A well-formed IPv4/UDP packet (valid header checksum, ports no dissector claims), so tshark has nothing to complain about. */
function ipv4Udp(n: number, payloadLength: number): Uint8Array {
  const total = 20 + 8 + payloadLength;
  const p = new Uint8Array(total);
  p.set([0x45, 0, total >> 8, total & 0xff, 0, n & 0xff, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2]);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (p[i] << 8) | p[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  p[10] = (~sum >> 8) & 0xff;
  p[11] = ~sum & 0xff;
  p.set([0x9c, 0x40, 0x9c, 0x41, (8 + payloadLength) >> 8, (8 + payloadLength) & 0xff, 0, 0], 20);
  for (let i = 0; i < payloadLength; i++) p[28 + i] = (n + i) & 0xff;
  return p;
}

function ethernet(n: number, payloadLength: number): Uint8Array {
  const ip = ipv4Udp(n, payloadLength);
  const f = new Uint8Array(14 + ip.length);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00]);
  f.set(ip, 14);
  return f;
}

interface Written {
  sec: number;
  nsec: number;
  data: Uint8Array;
  ifIndex?: number;
  direction?: DirectionValue;
}

const packets: Written[] = [
  { sec: 1_700_000_000, nsec: 0, data: ethernet(1, 10) },
  { sec: 1_700_000_000, nsec: 999_999_999, data: ethernet(2, 200) },
  { sec: 1_700_000_001, nsec: 123_456_789, data: ethernet(3, 1000) },
  { sec: 4_000_000_000, nsec: 1, data: ethernet(4, 0) },
];

function epoch(sec: number, nsec: number): string {
  return `${sec}.${String(nsec).padStart(9, '0')}`;
}

function tsharkFields(file: string, fields: string[]): string[][] {
  const out = execFileSync('tshark', ['-r', file, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return out
    .replace(/\n$/, '')
    .split('\n')
    .map((line) => line.split('\t'));
}

/** tshark's full dissection must show no malformed packet and no expert warning or error; stderr must be clean. */
function expectTsharkClean(file: string): void {
  const run = spawnSync('tshark', ['-r', file, '-V'], { encoding: 'utf8' });
  expect(run.status).toBe(0);
  expect(run.stdout.split('\n').filter((l) => /malformed|Expert Info \((Warning|Error)/i.test(l))).toEqual([]);
  expect(run.stderr.split('\n').filter((l) => l.trim() !== '' && !l.includes('Running as user "root"'))).toEqual([]);
}

describe('PcapWriter', () => {
  for (const nanosecond of [false, true]) {
    const file = join(dir, nanosecond ? 'ns.pcap' : 'us.pcap');
    const snaplen = 96;
    const write = async () => {
      const w = new PcapWriter(file, { linkType: LinkType.ETHERNET, nanosecond, snaplen, bufferSize: 200 });
      for (const p of packets) w.write(p.sec, p.nsec, p.data, 0, p.data.length, p.data.length);
      await w.close();
    };
    const expectedNsec = (nsec: number) => (nanosecond ? nsec : Math.floor(nsec / 1000) * 1000);

    it(`writes ${nanosecond ? 'nanosecond' : 'microsecond'} pcap that our reader reads back`, async () => {
      await write();
      const back = [] as ReturnType<typeof plain>[];
      const summary = readCaptureBuffer(readFileSync(file), file, (r) => back.push(plain(r)));
      expect(summary.warnings).toEqual([]);
      expect(back.map((r) => [r.tsSec, r.tsNsec, r.caplen, r.len, r.linkType, r.data])).toEqual(
        packets.map((p) => [
          p.sec,
          expectedNsec(p.nsec),
          Math.min(p.data.length, snaplen),
          p.data.length,
          1,
          hex(p.data.subarray(0, snaplen)),
        ]),
      );
    });

    it.skipIf(!hasTshark)(
      `writes ${nanosecond ? 'nanosecond' : 'microsecond'} pcap that tshark reads the same, without complaint`,
      async () => {
        await write();
        expect(tsharkFields(file, ['frame.number', 'frame.time_epoch', 'frame.len', 'frame.cap_len'])).toEqual(
          packets.map((p, i) => [
            String(i + 1),
            epoch(p.sec, expectedNsec(p.nsec)),
            String(p.data.length),
            String(Math.min(p.data.length, snaplen)),
          ]),
        );
        expectTsharkClean(file);
        if (hasCapinfos) {
          const info = execFileSync('capinfos', [file], { encoding: 'utf8' });
          expect(info).toMatch(/Number of packets:\s+4\b/);
          expect(info).toContain(nanosecond ? 'nanosecond pcap' : 'Wireshark/tcpdump/... - pcap');
        }
      },
    );
  }

  it('writes the same bytes to a stream as to a file', async () => {
    const file = join(dir, 'stream-check.pcap');
    const toFile = new PcapWriter(file, { linkType: 1, bufferSize: 64 });
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    const toStream = new PcapWriter(sink, { linkType: 1, bufferSize: 64 });
    for (const p of packets) {
      toFile.write(p.sec, p.nsec, p.data, 0, p.data.length, p.data.length);
      toStream.write(p.sec, p.nsec, p.data, 0, p.data.length, p.data.length);
    }
    await toFile.close();
    await toStream.close();
    expect(chunks.length).toBeGreaterThan(2);
    expect(hex(Buffer.concat(chunks))).toBe(hex(readFileSync(file)));
  });

  it('asks the producer to wait while the stream is full, and resumes when it drains', async () => {
    const sink = new PassThrough({ highWaterMark: 16 });
    const w = new PcapWriter(sink, { linkType: 1, bufferSize: 100 });
    expect(w.pending()).toBeNull();
    const p = packets[2];
    w.write(p.sec, p.nsec, p.data, 0, p.data.length, p.data.length);
    const wait = w.pending();
    expect(wait).toBeInstanceOf(Promise);
    let total = 0;
    sink.on('data', (c: Buffer) => (total += c.length));
    await wait;
    expect(w.pending()).toBeNull();
    await w.close();
    expect(total).toBe(24 + 16 + p.data.length);
  });

  it('writes data from an offset and keeps the original length', () => {
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    const w = new PcapWriter(sink, { linkType: LinkType.RAW });
    const frame = ethernet(9, 20);
    w.write(1, 2000, frame, 14, frame.length - 14, 1500);
    return w.close().then(() => {
      const back = [] as ReturnType<typeof plain>[];
      readCaptureBuffer(Buffer.concat(chunks), 'x', (r) => back.push(plain(r)));
      expect(back).toEqual([
        {
          n: 1,
          tsSec: 1,
          tsNsec: 2000,
          linkType: 101,
          ifIndex: 0,
          ifName: '',
          direction: 0,
          caplen: frame.length - 14,
          len: 1500,
          fileOffset: 24,
          data: hex(frame.subarray(14)),
        },
      ]);
    });
  });

  it('says why it cannot create a file', () => {
    expect(() => new PcapWriter(join(dir, 'no', 'such', 'dir.pcap'), { linkType: 1 })).toThrow(UserError);
    expect(() => new PcapWriter(join(dir, 'no', 'such', 'dir.pcap'), { linkType: 1 })).toThrow('no such directory');
  });

  it('rejects values pcap cannot hold', () => {
    const w = new PcapWriter(new PassThrough(), { linkType: 1 });
    // A time past 2106 or before 1970 is the user's (exit 2, a hint), not a bug.
    expect(() => w.write(2 ** 32, 0, new Uint8Array(1), 0, 1, 1)).toThrow(UserError);
    expect(() => w.write(2 ** 32, 0, new Uint8Array(1), 0, 1, 1)).toThrow(/2106-02-07T06:28:16Z.*\.pcapng name/);
    expect(() => w.write(-1, 0, new Uint8Array(1), 0, 1, 1)).toThrow(/before 1970/);
    expect(() => w.write(1, 1e9, new Uint8Array(1), 0, 1, 1)).toThrow(RangeError);
    expect(() => w.write(1, 0, new Uint8Array(1), 0, 2, 2)).toThrow('outside the 1-byte buffer');
  });
});

describe('PcapngWriter', () => {
  const file = join(dir, 'out.pcapng');
  const written: Written[] = [
    { ...packets[0], ifIndex: 0, direction: Direction.INBOUND },
    { sec: 1_700_000_000, nsec: 5, data: ipv4Udp(5, 33), ifIndex: 1, direction: Direction.OUTBOUND },
    { ...packets[1], ifIndex: 0 },
    { ...packets[2], ifIndex: 0, direction: Direction.OUTBOUND },
    // Past 2^32 s (the high half of the 64-bit count), within what the reader judges (LATEST_TIMESTAMP_SEC).
    { sec: 6_000_000_000, nsec: 999_999_999, data: ipv4Udp(6, 1), ifIndex: 1 },
    { ...packets[3], ifIndex: 2 },
  ];
  const snaplens = [262_144, 65_535, 50];
  const write = async () => {
    const w = new PcapngWriter(file, { bufferSize: 100 });
    expect(w.addInterface(LinkType.ETHERNET, 'eth0')).toBe(0);
    expect(w.addInterface(LinkType.RAW, 'tun0', 65_535)).toBe(1);
    expect(w.addInterface(LinkType.ETHERNET, undefined, 50)).toBe(2);
    for (const p of written) w.write(p.ifIndex!, p.sec, p.nsec, p.data, 0, p.data.length, p.data.length, p.direction);
    await w.close();
  };
  const caplen = (p: Written) => Math.min(p.data.length, snaplens[p.ifIndex!]);

  it('writes pcapng that our reader reads back, interfaces and directions included', async () => {
    await write();
    const back = [] as ReturnType<typeof plain>[];
    const summary = readCaptureBuffer(readFileSync(file), file, (r) => back.push(plain(r)));
    expect(summary.warnings).toEqual([]);
    expect(
      back.map((r) => [r.ifIndex, r.ifName, r.linkType, r.tsSec, r.tsNsec, r.caplen, r.len, r.direction, r.data]),
    ).toEqual(
      written.map((p) => [
        p.ifIndex,
        ['eth0', 'tun0', ''][p.ifIndex!],
        [1, 101, 1][p.ifIndex!],
        p.sec,
        p.nsec,
        caplen(p),
        p.data.length,
        p.direction ?? 0,
        hex(p.data.subarray(0, caplen(p))),
      ]),
    );
  });

  it.skipIf(!hasTshark)('writes pcapng that tshark reads the same, without complaint', async () => {
    await write();
    // tshark calls an interface without if_name "unknown".
    const flags = (d: DirectionValue | undefined) => (d ? `0x0000000${d}` : '');
    expect(
      tsharkFields(file, [
        'frame.number',
        'frame.time_epoch',
        'frame.len',
        'frame.cap_len',
        'frame.interface_id',
        'frame.interface_name',
        'frame.packet_flags_direction',
      ]),
    ).toEqual(
      written.map((p, i) => [
        String(i + 1),
        epoch(p.sec, p.nsec),
        String(p.data.length),
        String(caplen(p)),
        String(p.ifIndex),
        ['eth0', 'tun0', 'unknown'][p.ifIndex!],
        flags(p.direction),
      ]),
    );
    expectTsharkClean(file);
    if (hasCapinfos) {
      const info = execFileSync('capinfos', [file], { encoding: 'utf8' });
      expect(info).toMatch(/Number of packets:\s+6\b/);
      expect(info).toMatch(/Capture application:\s+fwemu/);
      expect(info).toMatch(/Number of interfaces in file:\s+3\b/);
    }
  });

  it('refuses a packet for an interface not added', () => {
    const w = new PcapngWriter(new PassThrough());
    expect(() => w.write(0, 1, 0, new Uint8Array(1), 0, 1, 1)).toThrow('interface 0 has not been added');
  });
});
