/**
 * replay --jobs N: the summary and the per-packet lines (text, jsonl) of a
 * capture judged on N worker threads must be those of one thread, byte for
 * byte (and one thread's are what the kernel suites check). The captures
 * here are made so that sharding has something to get wrong: flows spread
 * over every thread, records split between reads, a clock that only other
 * threads' packets move, ICMP errors whose flow lives on another thread, a
 * table limit, fragments held back, pcapng interfaces.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pairShard } from '../../src/engine/shard.js';
import { ether, fragment, ipPacket, TCP, tcp, udp, writePcap, writePcapng, type Frame } from '../kernel/pcapwriter.js';
import { buildCorpus, corpusSeed } from '../kernel/random.js';
import { SLOW, tier } from '../support/tier.js';
import { fwemu, fwemuIn, STACK, type Run } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'fwemu-jobs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const RULES = `name: jobs
policy: drop
rules:
  - id: web
    proto: tcp
    dport: 80
  - id: dns
    proto: udp
    dport: 53
`;

function file(name: string, text: string | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const rulesPath = file('jobs.rules.yaml', RULES);

/**
 * The CLI in this process; where `input` is given, a process of its own
 * reading it from a real pipe (the 64 KiB pieces a pipe hands out, and a
 * standard input that cannot be read twice, are part of what is tested).
 */
async function cli(args: string[], opts: { input?: Buffer } = {}): Promise<Run> {
  return opts.input === undefined ? fwemuIn(args) : fwemu(args, opts);
}

function replay(rules: string, capture: string, jobs: number, extra: string[] = [], input?: Buffer): Promise<Run> {
  return cli(['replay', '-f', 'none', '-r', rules, ...(jobs > 1 ? ['-j', String(jobs)] : []), ...extra, capture], {
    input,
  });
}

/**
 * replay -f jsonl and -f text of `capture` on `jobs` threads: the same
 * output and exit code as one thread. Returns the runs on `jobs` threads;
 * `opts.ones` receives one thread's (jsonl, then text).
 */
async function sameLines(
  rules: string,
  capture: string,
  jobs: number,
  opts: { input?: Buffer; extra?: string[]; ones?: Run[] } = {},
): Promise<Run[]> {
  const runs: Run[] = [];
  for (const format of ['jsonl', 'text']) {
    const args = ['replay', '-f', format, '-r', rules, ...(opts.extra ?? [])];
    const one = await cli([...args, capture], { input: opts.input });
    const many = await cli([...args, '-j', String(jobs), capture], { input: opts.input });
    expect(one.stdout.split('\n').length).toBeGreaterThan(2);
    expect(many.code, many.stderr).toBe(one.code);
    if (many.stdout !== one.stdout)
      expect(firstDifference(many.stdout, one.stdout), `${format}, ${jobs} threads`).toBe('');
    runs.push(many);
    opts.ones?.push(one);
  }
  return runs;
}

/** Bytes of a capture with no packets, as replay writes it (pcap: the file header; pcapng: the section header block). */
const EMPTY_CAPTURE: Record<string, number> = { pcap: 24, pcapng: 44 };

/**
 * replay --write-accepted and --write-dropped (as pcap and as pcapng) of
 * `capture` on `jobs` threads: the same files, byte for byte, as one
 * thread's. Returns the runs on `jobs` threads. The fast tier writes the
 * one format `fast` names (the callers spread both formats over the
 * cases, and the pcapng-interfaces case writes both); the slow tier both.
 */
async function sameWritten(
  rules: string,
  capture: string,
  jobs: number,
  fast: 'pcap' | 'pcapng' | 'both',
  opts: { input?: Buffer } = {},
): Promise<Run[]> {
  const runs: Run[] = [];
  for (const ext of SLOW || fast === 'both' ? ['pcap', 'pcapng'] : [fast]) {
    const files = (tag: string) => [
      '--write-accepted',
      join(dir, `w-${tag}-acc.${ext}`),
      '--write-dropped',
      join(dir, `w-${tag}-drop.${ext}`),
    ];
    // (No file of an earlier call may stand in for one a run failed to write.)
    for (const tag of ['one', 'many'])
      for (const side of ['acc', 'drop']) rmSync(join(dir, `w-${tag}-${side}.${ext}`), { force: true });
    const one = await cli(['replay', '-f', 'none', '-r', rules, ...files('one'), capture], { input: opts.input });
    const many = await cli(['replay', '-f', 'none', '-r', rules, '-j', String(jobs), ...files('many'), capture], {
      input: opts.input,
    });
    expect(many.code, many.stderr).toBe(one.code);
    expect(many.stdout).toBe(one.stdout);
    let packetBytes = 0;
    for (const side of ['acc', 'drop']) {
      const want = readFileSync(join(dir, `w-one-${side}.${ext}`));
      const got = readFileSync(join(dir, `w-many-${side}.${ext}`));
      expect(got.equals(want), `${side}.${ext}: ${got.length} bytes against one thread's ${want.length}`).toBe(true);
      packetBytes += want.length - EMPTY_CAPTURE[ext];
    }
    // Packets were written, not just two empty files.
    expect(packetBytes).toBeGreaterThan(0);
    runs.push(many);
  }
  return runs;
}

/** The first line where two outputs differ (a readable failure for outputs of thousands of lines). */
function firstDifference(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i]) return `line ${i + 1}:\n  ${x[i] ?? '(none)'}\nwhere one thread wrote\n  ${y[i] ?? '(none)'}`;
  }
  return '';
}

/** Packets each thread judged, from the info line of replay -v --jobs N. */
function packetsByThread(r: Run): number[] {
  const line = r.stderr.split('\n').find((l) => l.includes('"packetsByThread"'));
  if (line === undefined) throw new Error(`no packetsByThread log line in:\n${r.stderr}`);
  return (JSON.parse(line) as { packetsByThread: number[] }).packetsByThread;
}

/**
 * One thread's summary of `capture` (it must contain each of `expected`,
 * worked out by hand), and two threads give the same, sharded (not
 * replayed again), with `spread` packets on each.
 */
async function sameOnTwoThreads(
  capture: string,
  expected: string[],
  spread: number[],
  written: 'pcap' | 'pcapng',
): Promise<void> {
  const one = await replay(rulesPath, capture, 1);
  for (const e of expected) expect(one.stdout).toContain(e);
  const two = await replay(rulesPath, capture, 2, ['-v']);
  expect(two.stdout).toBe(one.stdout);
  expect(two.stderr).not.toContain('again on one thread');
  expect(packetsByThread(two)).toEqual(spread);
  for (const r of await sameLines(rulesPath, capture, 2)) expect(r.stderr).not.toContain('again on one thread');
  for (const r of await sameWritten(rulesPath, capture, 2, written))
    expect(r.stderr).not.toContain('again on one thread');
}

/** An IPv4 address as the 32-bit number the shard hash folds. */
function v4(a: string): number {
  return a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

/** The first address in 10.9.0.1, 10.9.0.2, ... whose pair with `peer` lands on thread `want` of `of`. */
function addrOnShard(peer: string, want: number, of: number, prefix = '10.9.0.'): string {
  for (let i = 1; i < 255; i++) {
    const a = `${prefix}${i}`;
    if (pairShard(v4(a), v4(peer), of) === want) return a;
  }
  throw new Error('no address found');
}

function icmpChecksum(b: Uint8Array): void {
  let acc = 0;
  for (let i = 0; i < b.length; i += 2) acc += (b[i] << 8) | (b[i + 1] ?? 0);
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  const c = ~acc & 0xffff;
  b[2] = c >> 8;
  b[3] = c & 0xff;
}

/** ICMP port unreachable from `router` to the sender of `quoted` (an IPv4 packet), padded to `size` bytes of quote. */
function portUnreachable(router: string, to: string, quoted: Uint8Array, size = 0): Uint8Array {
  const quote = new Uint8Array(Math.max(size, quoted.length));
  quote.set(quoted);
  const l4 = new Uint8Array(8 + quote.length);
  l4[0] = 3;
  l4[1] = 3;
  l4.set(quote, 8);
  icmpChecksum(l4);
  return ipPacket({ src: router, dst: to }, 1, l4, null);
}

describe('replay --jobs: the same summary as one thread', () => {
  it('over a capture of many flows that spans several chunks, as pcap, pcapng and from a pipe', async () => {
    // 2400 HTTP flows between 600 clients and 4 servers, interleaved, ~5.5 MB:
    // records fall across the 2 MiB chunks, and a pipe delivers 64 KiB at a time.
    const frames: Frame[] = [];
    let t = 1_700_000_000;
    const payload = 'x'.repeat(1000);
    const flows = Array.from({ length: 2400 }, (_, i) => ({
      c: `10.1.${(i % 600) >> 8}.${((i % 600) & 255) + 1}`,
      s: `10.2.0.${(i % 4) + 1}`,
      p: 20000 + i,
    }));
    for (let step = 0; step < 5; step++) {
      for (const f of flows) {
        t += 0.0001;
        const c2s = { src: f.c, dst: f.s, sport: f.p, dport: 80 };
        const s2c = { src: f.s, dst: f.c, sport: 80, dport: f.p };
        const pkt = [
          () => tcp({ ...c2s, seq: 1000, flags: TCP.SYN }),
          () => tcp({ ...s2c, seq: 5000, ack: 1001, flags: TCP.SYN | TCP.ACK }),
          () => tcp({ ...c2s, seq: 1001, ack: 5001, flags: TCP.ACK }),
          () => tcp({ ...c2s, seq: 1001, ack: 5001, flags: TCP.PSH | TCP.ACK, payload }),
          () => tcp({ ...s2c, seq: 5001, ack: 1001 + payload.length, flags: TCP.PSH | TCP.ACK, payload }),
        ][step];
        frames.push({ data: ether(pkt()), ts: t });
      }
    }
    const pcap = join(dir, 'many.pcap');
    const pcapng = join(dir, 'many.pcapng');
    writePcap(pcap, frames);
    writePcapng(pcapng, frames);
    expect(readFileSync(pcap).length).toBeGreaterThan(2 * 2 * 1024 * 1024);

    const one = await replay(rulesPath, pcap, 1);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain('12000 packets: 12000 accepted');
    expect(one.stdout).toContain('flows: 2400 entered the conntrack table, 2400 still in it at the end');
    // (The fast tier reads a file and a pipe, one of each format; the slow one all four.)
    const inputs = [
      [pcap, undefined],
      [pcapng, undefined],
      ['-', readFileSync(pcap)],
      ['-', readFileSync(pcapng)],
    ] as const;
    for (const [capture, input] of SLOW ? inputs : [inputs[0], inputs[3]]) {
      const three = await replay(rulesPath, capture, 3, ['-v'], input);
      expect(three.code, three.stderr).toBe(0);
      expect(three.stdout).toBe(one.stdout);
      const spread = packetsByThread(three);
      expect(spread).toHaveLength(3);
      expect(spread.reduce((a, b) => a + b, 0)).toBe(12000);
      for (const n of spread) expect(n).toBeGreaterThan(1000);
    }
    // Lines and written captures across chunks: in the fast tier, the table-limit
    // and MAX_WAITING cases below (9 MB and 17000 packets) and held-fragments.test.
    if (SLOW) {
      await sameLines(rulesPath, pcap, 3);
      await sameWritten(rulesPath, pcapng, 3, 'both');
      await sameLines(rulesPath, pcapng, 2);
      await sameLines(rulesPath, '-', 3, { input: readFileSync(pcap) });
    }
  });

  it('keeps the clock of all threads: a flow whose own packets run backwards in time times out as on one thread', async () => {
    // Flow A (thread 0) moves the clock to t=1000; flow B (thread 1) then
    // sends a SYN stamped t=10. The kernel, and one engine, keep the clock
    // at 1000, so B's entry is made at 1000 and its SYN_SENT timeout (120
    // s) lasts until 1120: the SYN/ACK at 1100 belongs to it. A thread
    // that saw only B's packets would put the entry at 10, find it expired
    // at 1100, and drop that SYN/ACK as the invalid start of a connection.
    const server = '10.2.0.1';
    const a = addrOnShard(server, 0, 2);
    const b = addrOnShard(server, 1, 2);
    const capture = join(dir, 'clock.pcap');
    writePcap(capture, [
      { data: ether(tcp({ src: a, dst: server, sport: 1111, dport: 80, seq: 1, flags: TCP.SYN })), ts: 1000 },
      { data: ether(tcp({ src: b, dst: server, sport: 2222, dport: 80, seq: 1, flags: TCP.SYN })), ts: 10 },
      {
        data: ether(tcp({ src: server, dst: b, sport: 80, dport: 2222, seq: 9, ack: 2, flags: TCP.SYN | TCP.ACK })),
        ts: 1100,
      },
    ]);
    await sameOnTwoThreads(
      capture,
      ['3 packets: 3 accepted, 0 dropped', 'decided by: established 1, rule 2'],
      [1, 2],
      'pcapng',
    );
  });

  it('judges an ICMP error with the flow it quotes, on whichever thread holds that flow', async () => {
    // The error comes from a router: its own address pair (router, client)
    // lands on the other thread than the flow (client, server) it is about.
    const server = '10.2.0.53';
    const client = addrOnShard(server, 0, 2, '10.1.0.');
    let router = '';
    for (let i = 1; i < 255 && router === ''; i++)
      if (pairShard(v4(`10.8.0.${i}`), v4(client), 2) === 1) router = `10.8.0.${i}`;
    const query = udp({ src: client, dst: server, sport: 3333, dport: 53, payload: 'query' });
    const capture = join(dir, 'related.pcap');
    writePcap(capture, [
      { data: ether(query), ts: 1 },
      { data: ether(portUnreachable(router, client, query)), ts: 2 },
    ]);
    await sameOnTwoThreads(capture, ['2 packets: 2 accepted', 'decided by: related 1, rule 1'], [2, 0], 'pcap');

    // Fragmented, the error is reassembled where its fragments go (by the
    // router's pair) but must be judged with the flow: that cannot be
    // split, so the capture is replayed again on one thread.
    const fragmented = join(dir, 'related-fragments.pcap');
    const [f1, f2] = fragment(portUnreachable(router, client, query, 600), 304);
    writePcap(fragmented, [
      { data: ether(query), ts: 1 },
      { data: ether(f1), ts: 2 },
      { data: ether(f2), ts: 2.001 },
    ]);
    const oneF = await replay(rulesPath, fragmented, 1);
    expect(oneF.stdout).toContain('3 packets: 3 accepted');
    expect(oneF.stdout).toContain('related 2');
    const twoF = await replay(rulesPath, fragmented, 2);
    expect(twoF.code).toBe(0);
    expect(twoF.stdout).toBe(oneF.stdout);
    expect(twoF.stderr).toContain('packet 2 is the first fragment of an ICMP error');
    expect(twoF.stderr).toContain('replaying it again on one thread');
    for (const r of [
      ...(await sameLines(rulesPath, fragmented, 2)),
      ...(await sameWritten(rulesPath, fragmented, 2, 'pcapng')),
    ])
      expect(r.stderr).toContain('replaying it again on one thread');
  });

  it('sends every fragment of a datagram to one thread, even a first fragment too short to decode', async () => {
    // An IPv6 TCP SYN cut into 8-byte fragments: the first holds 8 of the
    // 20 bytes of the TCP header, so the decoder calls it malformed; it
    // still goes to the defragmenter with the others, which passes it on
    // alone (INVALID for conntrack) and drops the rest at the end, as the
    // kernel does (test/kernel/lone-fragments.test.ts).
    const fold6 = (a: string) => {
      const w = a.split(':').map((x) => parseInt(x, 16));
      return (((w[0] << 16) | w[1]) ^ ((w[2] << 16) | w[3]) ^ ((w[4] << 16) | w[5]) ^ ((w[6] << 16) | w[7])) >>> 0;
    };
    const server = 'fd00:0:0:0:0:0:0:80';
    let client = '';
    for (let i = 1; i < 100 && client === ''; i++) {
      const a = `fd00:0:0:0:0:0:1:${i.toString(16)}`;
      if (pairShard(fold6(a), fold6(server), 2) === 1) client = a;
    }
    const syn = tcp({
      src: client,
      dst: server,
      sport: 5555,
      dport: 80,
      seq: 1,
      flags: TCP.SYN,
      payload: 'x'.repeat(24),
    });
    const capture = join(dir, 'short-first-fragment.pcap');
    writePcap(
      capture,
      fragment(syn, 8, 0x77).map((f, i) => ({ data: ether(f, 0x86dd), ts: 1 + i / 1000 })),
    );
    await sameOnTwoThreads(
      capture,
      ['6 packets: 0 accepted, 6 dropped', 'decided by: invalid 1, fragment 5'],
      [0, 6],
      'pcap',
    );
  });

  it('replays on one thread when the flows could fill the table (early drop picks among all flows); from stdin that is an error', async () => {
    const limited = file('limited.rules.yaml', RULES.replace('policy: drop\n', 'policy: drop\nconntrack:\n  max: 4\n'));
    const frames: Frame[] = [];
    for (let i = 0; i < 12; i++) {
      frames.push({
        data: ether(
          tcp({ src: `10.1.0.${i + 1}`, dst: '10.2.0.1', sport: 4000 + i, dport: 80, seq: 1, flags: TCP.SYN }),
        ),
        ts: 1 + i,
      });
    }
    const capture = join(dir, 'limit.pcap');
    writePcap(capture, frames);
    const one = await replay(limited, capture, 1);
    expect(one.stdout).toContain('table full');
    const two = await replay(limited, capture, 2);
    expect(two.code).toBe(0);
    expect(two.stdout).toBe(one.stdout);
    expect(two.stderr).toMatch(/flows have entered the conntrack table, and its limit \(conntrack\.max\) is 4/);
    expect(two.stderr).toContain('replaying it again on one thread');
    for (const r of await sameLines(limited, capture, 2))
      expect(r.stderr).toContain('replaying it again on one thread');

    const piped = await replay(limited, '-', 2, [], readFileSync(capture));
    expect(piped.code).toBe(2);
    expect(piped.stdout).toBe('');
    expect(piped.stderr).toContain('Standard input cannot be read again: replay it with --jobs 1');
    expect(piped.stderr).not.toMatch(STACK);
  });

  it('over a random corpus (TCP, UDP, ICMP, IPv4 and IPv6, fragments, odd packets) with random rule files', async () => {
    const seed = corpusSeed();
    const corpus = await buildCorpus({
      seed,
      batches: tier(2, 4),
      sessionsPerBatch: tier(30, 60),
      dir,
      concurrency: 12,
    });
    let sharded = 0;
    for (const b of corpus) {
      const one = await replay(b.rulesPath, b.capturePath, 1);
      const three = await replay(b.rulesPath, b.capturePath, 3, ['-v']);
      expect(three.code, `seed ${seed}, ${b.name}`).toBe(one.code);
      expect(three.stdout, `seed ${seed}, ${b.name}`).toBe(one.stdout);
      await sameLines(b.rulesPath, b.capturePath, 3);
      await sameWritten(b.rulesPath, b.capturePath, 2, b === corpus[0] ? 'pcap' : 'pcapng');
      if (!three.stderr.includes('again on one thread')) {
        sharded++;
        expect(packetsByThread(three).filter((n) => n > 0).length, `seed ${seed}, ${b.name}`).toBeGreaterThan(1);
      }
    }
    // (Only a fragmented ICMP error sends a batch back to one thread.)
    expect(sharded, `seed ${seed}`).toBeGreaterThanOrEqual(tier(1, 2));
  });
});

describe('replay --jobs: the same lines and written captures as one thread', () => {
  it('keeps the lines written before the flows reached the table limit, and one thread goes on from the next line', async () => {
    // 40 DNS flows exchange 1000-byte queries and answers for 9000 packets
    // (~9 MB, so the lines of several rounds of batches are written), then
    // 100 new flows fill the table (max 60).
    const limited = file(
      'limited-late.rules.yaml',
      RULES.replace('policy: drop\n', 'policy: drop\nconntrack:\n  max: 60\n'),
    );
    const frames: Frame[] = [];
    const payload = 'q'.repeat(1000);
    let t = 1000;
    for (let i = 0; i < 9000; i++) {
      const c = `10.1.0.${(i % 40) + 1}`;
      const q = { src: c, dst: '10.2.0.53', sport: 5000 + (i % 40), dport: 53, payload };
      const a = { src: '10.2.0.53', dst: c, sport: 53, dport: 5000 + (i % 40), payload };
      frames.push({ data: ether(udp(Math.floor(i / 40) % 2 === 0 ? q : a)), ts: (t += 0.001) });
    }
    for (let i = 0; i < 100; i++) {
      frames.push({
        data: ether(
          tcp({ src: `10.3.0.${i + 1}`, dst: '10.2.0.1', sport: 4000 + i, dport: 80, seq: 1, flags: TCP.SYN }),
        ),
        ts: (t += 0.001),
      });
    }
    const capture = join(dir, 'limit-late.pcap');
    writePcap(capture, frames);
    expect((await replay(limited, capture, 1)).stdout).toContain('table full');
    const ones: Run[] = [];
    for (const r of [
      ...(await sameLines(limited, capture, 2, { ones })),
      ...(await sameWritten(limited, capture, 2, 'pcapng')),
    ]) {
      const written = /replaying it again on one thread, from the packet after the (\d+) whose output is written/.exec(
        r.stderr,
      );
      expect(written, r.stderr).not.toBeNull();
      expect(Number(written![1])).toBeGreaterThan(2000);
      expect(Number(written![1])).toBeLessThan(9100);
    }

    // From standard input, which cannot be read again: an error, after those lines.
    const one = ones[0]; // one thread's jsonl
    const piped = await cli(['replay', '-f', 'jsonl', '-j', '2', '-r', limited, '-'], {
      input: readFileSync(capture),
    });
    expect(piped.code).toBe(2);
    expect(piped.stderr).toContain('Standard input cannot be read again: replay it with --jobs 1');
    expect(piped.stderr).not.toMatch(STACK);
    const lines = Number(/the output of the first (\d+) packets was written/.exec(piped.stderr)?.[1]);
    expect(lines).toBeGreaterThan(2000);
    expect(piped.stdout).toBe(
      one.stdout
        .split('\n')
        .slice(0, lines)
        .map((l) => `${l}\n`)
        .join(''),
    );
  });

  it('lets no line wait behind a held fragment longer than one thread lets it (MAX_WAITING), and one thread goes on from there', async () => {
    // The first fragment of a datagram that never completes, then 17000
    // packets of another flow: one thread holds their lines behind the
    // fragment's until 16384 wait, then lets the fragment's line come at
    // the end, out of order. The threads cannot tell when one thread would
    // have done that, so they stop writing before it.
    const [first] = fragment(
      udp({ src: '10.1.0.9', dst: '10.2.0.53', sport: 6000, dport: 53, payload: 'z'.repeat(400) }),
      200,
    );
    const frames: Frame[] = [{ data: ether(first), ts: 1 }];
    for (let i = 0; i < 17000; i++) {
      const q = i % 2 === 0;
      frames.push({
        data: ether(
          udp({
            src: q ? '10.1.0.7' : '10.2.0.53',
            dst: q ? '10.2.0.53' : '10.1.0.7',
            sport: q ? 7000 : 53,
            dport: q ? 53 : 7000,
            payload: 'a',
          }),
        ),
        ts: 1 + i * 1e-4,
      });
    }
    const capture = join(dir, 'held-long.pcap');
    writePcap(capture, frames);
    const ones: Run[] = [];
    for (const r of [
      ...(await sameLines(rulesPath, capture, 2, { ones })),
      ...(await sameWritten(rulesPath, capture, 2, 'pcap')),
    ]) {
      expect(r.stderr).toContain('lines waited behind IP fragments held for reassembly');
      expect(r.stderr).toContain('replaying it again on one thread');
    }
    // (One thread wrote the fragment's line last.)
    expect(ones[0].stdout.trimEnd().split('\n').at(-1)).toMatch(/^\{"n":1,/);
  });

  it('names pcapng interfaces as one thread does, across sections that number them afresh, and paints text the same', async () => {
    await sameLines('rules/web-server.yaml', 'fixtures/crafted-multi.pcapng', 2);
    await sameWritten('rules/web-server.yaml', 'fixtures/crafted-multi.pcapng', 2, 'both');
    await sameLines('rules/web-server.yaml', 'fixtures/seed-three-clients.pcap', 2, {
      extra: ['--color', 'always', '--time', 'epoch'],
    });
  });
});

describe('replay --jobs: values it does not take', () => {
  const capture = 'fixtures/seed-three-clients.pcap';
  it.each([
    [['-j', '0'], '--jobs must be a whole number from 1 to 256, or auto, not 0'],
    [['-j', '2.5'], '--jobs must be a whole number from 1 to 256, or auto, not 2.5'],
    [['-j', '300'], '--jobs must be a whole number from 1 to 256, or auto, not 300'],
    [['-j', 'many'], '--jobs must be a whole number from 1 to 256, or auto, not many'],
    [['-j', '-1'], '--jobs must be a whole number from 1 to 256, or auto, not -1'],
  ])('%j', async (args, message) => {
    const r = await cli(['replay', '-r', 'rules/web-server.yaml', ...args, capture]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stdout).toBe('');
  });

  it('takes auto: one thread per core', async () => {
    const cores = availableParallelism();
    const r = await cli([
      'replay',
      '-f',
      'none',
      '-v',
      '-j',
      'auto',
      '-r',
      'rules/web-server.yaml',
      'fixtures/seed-three-clients.pcap',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      (await cli(['replay', '-f', 'none', '-r', 'rules/web-server.yaml', 'fixtures/seed-three-clients.pcap'])).stdout,
    );
    if (cores > 1) expect(packetsByThread(r)).toHaveLength(Math.min(cores, 256));
    else expect(r.stderr).not.toContain('packetsByThread');
  });

  it('is ignored for a scenario, which is generated and judged on one thread', async () => {
    const scenario = 'fixtures/scenarios/seed.yaml';
    const one = await cli(['replay', '-f', 'none', '-r', 'rules/web-server.yaml', scenario]);
    const two = await cli(['replay', '-f', 'none', '-j', '2', '-r', 'rules/web-server.yaml', scenario]);
    expect(one.code).toBe(0);
    expect(two.code).toBe(0);
    expect(two.stdout).toBe(one.stdout);
  });
});
