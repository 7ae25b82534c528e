/**
 * Fragments held across megabytes of capture (issue 14): the reader reads
 * 1 MiB chunks into two buffers used in turn, so bytes kept past their
 * record (a held fragment, the results waiting behind it, the records of
 * --write-*) are overwritten after about 2 MiB unless they are copies.
 *
 * The same datagrams are replayed with 5 MiB of other traffic between their
 * fragments and without it, on one thread and on two: the lines of the
 * fragment packets and of the packets around them, and the written
 * captures, must be the same bytes in all four runs (packet numbers mapped
 * from one capture to the other). The filler is non-IP frames (skipped, so
 * never written), and the expected verdicts follow from the rule file alone:
 * independent of how fwemu keeps its bytes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildFrame, buildIpPacket, fragmentIp, type PacketSpec } from '../../src/packet/encode.js';
import { fwemuIn } from '../cli/run.js';
import { writePcap, type Frame } from '../kernel/pcapwriter.js';

const dir = mkdtempSync(join(tmpdir(), 'fwemu-held-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const RULES = `
policy: drop
rules:
  - id: dns
    proto: udp
    dport: 53
`;

const eth4 = (ip: Uint8Array) => buildFrame(0x0800, ip);
const eth6 = (ip: Uint8Array) => buildFrame(0x86dd, ip);

/** Non-IP frames (a local experimental ethertype) of 1514 bytes, each distinct, `bytes` of capture in all. */
function filler(bytes: number, seed: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i * 1530 < bytes; i++) {
    const body = new Uint8Array(1500);
    for (let j = 0; j < body.length; j++) body[j] = (i * 31 + j * 7 + seed) & 0xff;
    out.push(buildFrame(0x88b5, body));
  }
  return out;
}

interface Labelled {
  data: Uint8Array;
  /** A datagram's fragment or a packet around them (compared); null for filler. */
  label: string | null;
}

/** The capture: fragments of four datagrams with `gap` bytes of filler between their fragments. */
function capture(gap: number): Labelled[] {
  const a = fragmentIp(
    buildIpPacket({
      ip: { src: '10.1.0.2', dst: '10.2.0.1', id: 0x1111 },
      udp: { sport: 40000, dport: 53, payload: 2000 },
    } as PacketSpec),
    800,
  );
  const b = fragmentIp(
    buildIpPacket({
      ip: { src: 'fd00:1::2', dst: 'fd00:2::1' },
      udp: { sport: 40001, dport: 53, payload: 2000 },
    } as PacketSpec),
    800,
    0x2222,
  );
  // To a port no rule accepts: its fragments are dropped, and written to --write-dropped.
  const c = fragmentIp(
    buildIpPacket({
      ip: { src: '10.1.0.3', dst: '10.2.0.1', id: 0x3333 },
      udp: { sport: 40002, dport: 9999, payload: 1500 },
    } as PacketSpec),
    800,
  );
  // Never completed: dropped at the end of the capture, holding back every line after it until then.
  const d = fragmentIp(
    buildIpPacket({
      ip: { src: '10.1.0.4', dst: '10.2.0.1', id: 0x4444 },
      udp: { sport: 40003, dport: 53, payload: 1500 },
    } as PacketSpec),
    800,
  );
  // The answer to datagram A: established only if A was judged from its own bytes.
  const replyA = buildIpPacket({
    ip: { src: '10.2.0.1', dst: '10.1.0.2' },
    udp: { sport: 53, dport: 40000, payload: 40 },
  } as PacketSpec);
  const replyB = buildIpPacket({
    ip: { src: 'fd00:2::1', dst: 'fd00:1::2' },
    udp: { sport: 53, dport: 40001, payload: 40 },
  } as PacketSpec);
  const plain = buildIpPacket({
    ip: { src: '10.1.0.5', dst: '10.2.0.1' },
    udp: { sport: 40004, dport: 53, payload: 10 },
  } as PacketSpec);
  const out: Labelled[] = [];
  const put = (label: string, data: Uint8Array) => out.push({ label, data });
  const fill = (seed: number) => {
    for (const f of filler(gap, seed)) out.push({ label: null, data: f });
  };
  put('A1', eth4(a[0]));
  put('B1', eth6(b[0]));
  put('C1', eth4(c[0]));
  put('D1', eth4(d[0]));
  put('P1', eth4(plain));
  fill(1);
  put('A2', eth4(a[1]));
  put('B2', eth6(b[1]));
  fill(2);
  put('A3', eth4(a[2]));
  put('B3', eth6(b[2]));
  put('C2', eth4(c[1]));
  fill(3);
  put('RA', eth4(replyA));
  put('RB', eth6(replyB));
  put('P2', eth4(plain));
  return out;
}

/**
 * The capture file; and which packet numbers are the labelled packets. The
 * labelled packets are 10 ms apart, at the same times with or without the
 * filler, which comes 1 us apart after the packet before it.
 */
function write(name: string, packets: Labelled[]): Capture {
  const frames: Frame[] = [];
  let k = 0;
  let j = 0;
  for (const p of packets) {
    if (p.label !== null) {
      k++;
      j = 0;
    }
    frames.push({ data: p.data, ts: 1_700_000_000 + k * 0.01 + j++ * 1e-6 });
  }
  const path = join(dir, name);
  writePcap(path, frames);
  const numbers = new Map<number, string>();
  packets.forEach((p, i) => {
    if (p.label !== null) numbers.set(i + 1, p.label);
  });
  return { path, numbers, total: packets.length };
}

interface Capture {
  path: string;
  numbers: Map<number, string>;
  total: number;
}

interface Outcome {
  /** Lines of the labelled packets, their packet numbers replaced by labels, in output order. */
  lines: string[];
  accepted: Buffer;
  dropped: Buffer;
}

/** The packet numbers in a line (its own, fragOf, "packet N" in reasons) replaced by the labels of the packets they name. */
function relabel(line: string, numbers: Map<number, string>): string {
  return line.replace(/(?<=^\s*|"n":|"fragOf":|packet )\d+\b/g, (m) => {
    const n = Number(m);
    return numbers.has(n) ? `<${numbers.get(n)}>` : m;
  });
}

async function run(cap: Capture, format: 'jsonl' | 'text', jobs: number, tag: string): Promise<Outcome> {
  const rules = join(dir, 'rules.yaml');
  writeFileSync(rules, RULES);
  // pcap for one of the two written captures and pcapng for the other, swapped between the formats.
  const [accExt, dropExt] = format === 'jsonl' ? ['pcap', 'pcapng'] : ['pcapng', 'pcap'];
  const accepted = join(dir, `${tag}-acc.${accExt}`);
  const dropped = join(dir, `${tag}-drop.${dropExt}`);
  const r = await fwemuIn([
    'replay',
    '-r',
    rules,
    '-f',
    format,
    '--time',
    'epoch',
    '--no-summary',
    '--jobs',
    String(jobs),
    '--write-accepted',
    accepted,
    '--write-dropped',
    dropped,
    cap.path,
  ]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  let all = r.stdout.split('\n').filter((l) => l !== '');
  if (format === 'text') all = all.slice(1); // the column heads
  expect(all.length).toBe(cap.total);
  // A line's first number is its packet's.
  const lines = all
    .filter((l) => cap.numbers.has(Number(/\d+/.exec(l)![0])))
    .map((l) => relabel(l, cap.numbers).trimStart()); // (text pads the number to its width)
  return { lines, accepted: readFileSync(accepted), dropped: readFileSync(dropped) };
}

describe('fragments held across megabytes of capture (issue 14)', () => {
  const gap = 5 * 1024 * 1024;
  const long = capture(gap);
  const short = capture(0);
  const withFiller = write('long.pcap', long);
  const without = write('short.pcap', short);

  for (const format of ['jsonl', 'text'] as const) {
    it(`${format}: lines and written captures are the same bytes with 5 MiB between fragments or none, on one thread or two`, async () => {
      const ref = await run(without, format, 1, `${format}-short-1`);
      // What the rule file says, whoever computes it: A, B and the plain packets
      // accepted (the replies as established), C dropped by the policy, D
      // dropped when the capture ends incomplete.
      expect(ref.lines.length).toBe(13);
      if (format === 'jsonl') {
        const byLabel = new Map(
          ref.lines.map((l) => [
            /"n":<(\w+)>/.exec(l)![1],
            JSON.parse(l.replace(/<\w+>/g, '0')) as Record<string, unknown>,
          ]),
        );
        for (const l of ['A1', 'A2', 'A3', 'B1', 'B2', 'B3', 'P1', 'P2', 'RA', 'RB'])
          expect(byLabel.get(l)!.verdict, l).toBe('accept');
        for (const l of ['C1', 'C2', 'D1']) expect(byLabel.get(l)!.verdict, l).toBe('drop');
        expect(byLabel.get('RA')!.ct).toBe('established');
        expect(byLabel.get('RB')!.ct).toBe('established');
      }
      for (const [cap, jobs] of [
        [withFiller, 1],
        [withFiller, 2],
        [without, 2],
      ] as const) {
        const got = await run(cap, format, jobs, `${format}-${cap === withFiller ? 'long' : 'short'}-${jobs}`);
        const what = `${cap === withFiller ? '5 MiB between fragments' : 'no filler'}, --jobs ${jobs}`;
        expect(got.lines, what).toEqual(ref.lines);
        expect(got.accepted.equals(ref.accepted), `${what}: accepted capture`).toBe(true);
        expect(got.dropped.equals(ref.dropped), `${what}: dropped capture`).toBe(true);
      }
    }, 60_000);
  }
});

describe('the reassembly memory limit with --jobs (one budget for all threads)', () => {
  it("fragments of many address pairs over ipfrag_high_thresh: --jobs 2 gives one thread's lines and says it replayed on one thread", async () => {
    // 60 datagrams from 60 sources (spread over the threads), their first
    // fragments first (1032 bytes each held: struct ipq and the skb), then the
    // rest: with a 30000-byte budget, 30 are held (29 * 1032 = 29928 <= 30000
    // before the 30th) and 30 refused; every later fragment finds the budget
    // over (30960 bytes) and is refused too, so nothing completes.
    const firsts: Labelled[] = [];
    const seconds: Labelled[] = [];
    for (let i = 0; i < 60; i++) {
      const f = fragmentIp(
        buildIpPacket({
          ip: { src: `10.1.${i}.2`, dst: '10.2.0.1', id: 0x100 + i },
          udp: { sport: 40000, dport: 53, payload: 64 },
        } as PacketSpec),
        24,
      );
      firsts.push({ label: `F${i}`, data: eth4(f[0]) });
      seconds.push({ label: `S${i}`, data: eth4(f[1]) }, { label: `T${i}`, data: eth4(f[2]) });
    }
    const cap = write('budget.pcap', [...firsts, ...seconds]);
    const rules = join(dir, 'budget.yaml');
    writeFileSync(rules, `${RULES}ipv4:\n  ipfrag_low_thresh: 0\n  ipfrag_high_thresh: 30000\n`);
    const one = await fwemuIn(['replay', '-r', rules, '-f', 'jsonl', '--no-summary', cap.path]);
    const two = await fwemuIn(['replay', '-r', rules, '-f', 'jsonl', '--no-summary', '--jobs', '2', cap.path]);
    expect(one.code).toBe(0);
    expect(two.code).toBe(0);
    const verdicts = one.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { verdict: string }).verdict);
    expect(verdicts.filter((v) => v === 'accept').length).toBe(0); // every datagram's later fragments come when the budget is full
    expect(one.stdout).toMatch(/ipfrag_high_thresh 30000/);
    expect(two.stdout).toBe(one.stdout);
    expect(two.stderr).toMatch(/over net\.ipv4\.ipfrag_high_thresh .*replaying it again on one thread/);
  }, 60_000);
});
