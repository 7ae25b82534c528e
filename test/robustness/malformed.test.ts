/**
 * Every capture in fixtures/malformed/ through the CLI (`replay` and `dump`): each either stops with exit 2 and one line naming the
 * file, the byte offset and what is wrong (after showing every packet before
 * the damage), or replays with exit 0, every packet numbered 1..N without a
 * gap, a "skip ... undecodable: <why>" line for each packet the decoder
 * cannot read, the count in the summary, and each capture warning on stderr
 * with its byte offset. Never a stack trace.
 *
 * The commands run in this process (test/cli/run.ts: fwemuIn), so both
 * run on every file in either tier; reading from a real standard input is
 * spawned.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureError } from '../../src/capture/types.js';
import { replay } from '../../src/engine/replay.js';
import { fwemu, fwemuIn, type Run, STACK } from '../cli/run.js';
import { CORPUS, type Fatal, type Readable } from './corpus.js';

const DIR = 'fixtures/malformed';
const RULES = 'rules/web-server.yaml';

/** Files the tests write; removed when the file's tests are done. */
const tmp = mkdtempSync(join(tmpdir(), 'fwemu-malformed-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The CLI, in this process (no process of its own matters here). */
const run = fwemuIn;

interface Runs {
  text: Run;
  dump: Run;
}

const files = Object.keys(CORPUS).sort();
/** The replay and the dump of a file of the corpus (one after the other: they share this process). */
async function runsFor(file: string): Promise<Runs> {
  const path = `${DIR}/${file}`;
  const text = await run(['replay', '-r', RULES, path]);
  return { text, dump: await run(['dump', path]) };
}

const PACKET_LINE = /^\s+(\d+)\s/;

function packetLines(stdout: string): string[] {
  return stdout.split('\n').filter((l) => PACKET_LINE.test(l));
}

function numbers(lines: string[]): number[] {
  return lines.map((l) => Number(PACKET_LINE.exec(l)![1]));
}

const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** stderr's lines without the capture clock's warnings (engine/clock.ts: a packet stamped earlier than the one before, or far ahead). */
function notClock(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter(
      (l) =>
        l !== '' &&
        !/: packet \d+ \(byte \d+\): (stamped .* earlier than packet|the capture clock jumps)|more clock steps? of the same kinds|earlier than the packet before/.test(
          l,
        ),
    );
}

describe('fixtures/malformed through the CLI', () => {
  it('covers every file in the directory, and the directory is what make.mjs makes', async () => {
    const present = readdirSync(DIR)
      .filter((f) => /\.pcap(ng)?$/.test(f))
      .sort();
    expect(present).toEqual(files);
    const make = await import('../../fixtures/malformed/make.mjs');
    expect(make.CASES.map((c) => c.file).sort()).toEqual(files);
    for (const c of make.CASES) {
      expect(
        Buffer.from(c.bytes()).equals(readFileSync(join(DIR, c.file))),
        `${c.file} differs from what make.mjs makes; run node fixtures/malformed/make.mjs`,
      ).toBe(true);
    }
    expect(readFileSync(join(DIR, 'README.md'), 'utf8')).toBe(make.readme());
  });

  for (const file of files) {
    const want = CORPUS[file];
    const path = `${DIR}/${file}`;

    if (want.exit === 2) {
      it(`${file}: exit 2, "${path}: at byte ${want.offset}: ...", after the ${want.before} packets before the damage`, async () => {
        const { text, dump } = await runsFor(file);
        const line = `fwemu: ${path}: at byte ${want.offset}: ${want.detail}`;
        for (const r of [text, dump]) {
          expect(r.code, r.stderr).toBe(2);
          expect(r.stderr).not.toMatch(STACK);
          expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(line);
        }
        // Every packet before the damage is shown, numbered from 1, with its summary.
        expect(numbers(packetLines(text.stdout))).toEqual(oneTo(want.before));
        expect(numbers(packetLines(dump.stdout))).toEqual(oneTo(want.before));
        if (want.before > 0) {
          expect(text.stdout).toContain(`\n${want.before} packets: `);
          expect(text.stdout).toContain(
            `capture unreadable from byte ${want.offset}: only the ${want.before} packets before it were replayed`,
          );
        } else {
          expect(text.stdout).toBe('');
          expect(text.stderr.trimEnd()).toBe(line);
        }
      });
      continue;
    }

    it(`${file}: exit 0, packets 1..${want.packets}, undecodable ones listed and counted`, async () => {
      const { text, dump } = await runsFor(file);
      for (const r of [text, dump]) {
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).not.toMatch(STACK);
      }
      const lines = packetLines(text.stdout);
      expect(numbers(lines)).toEqual(oneTo(want.packets));
      expect(numbers(packetLines(dump.stdout))).toEqual(oneTo(want.packets));
      const rows = lines.map((l) => {
        const m = / (ACCEPT|DROP|REJECT|SKIP) +(.*)$/.exec(l)!;
        return { n: Number(PACKET_LINE.exec(l)![1]), verdict: m[1].toLowerCase(), reason: m[2] };
      });

      // Summary: verdicts add up to the packets, undecodable counted.
      const m = /^(\d+) packets: (\d+) accepted, (\d+) dropped, (\d+) rejected, (\d+) skipped/m.exec(text.stdout);
      expect(m, text.stdout).not.toBeNull();
      const [total, ...verdicts] = m!.slice(1).map(Number);
      expect(total).toBe(want.packets);
      expect(verdicts.reduce((a, b) => a + b, 0)).toBe(want.packets);
      const undecodableRows = rows.filter((r) => r.reason.startsWith('skipped: undecodable: '));
      const counted = /undecodable packets: (\d+) \(listed as "skip \.\.\. undecodable"\)/.exec(text.stdout);
      expect(counted ? Number(counted[1]) : 0).toBe(undecodableRows.length);
      for (const r of undecodableRows) expect(r.verdict).toBe('skip');

      if (want.undecodable !== 'unpinned') {
        const expected = Object.entries(want.undecodable).map(([n, why]) => [Number(n), why]);
        expect(undecodableRows.map((r) => [r.n, r.reason.slice('skipped: undecodable: '.length)])).toEqual(expected);
      }

      // stderr: each capture warning with its offset, then the undecodable count; nothing else.
      const expectedStderr = [
        ...(want.warnings ?? []).map((w) => `fwemu: warning: ${path}: ${w}`),
        ...(undecodableRows.length
          ? [
              `fwemu: warning: ${path}: ${undecodableRows.length} of ${want.packets} packets could not be decoded (listed as "undecodable")`,
            ]
          : []),
      ];
      // (The clock's warnings, engine/clock.ts, are test/cli/clock.test.ts's; dump judges nothing and has none.)
      expect(notClock(text.stderr)).toEqual(expectedStderr);
      expect(dump.stderr.split('\n').filter(Boolean)).toEqual(expectedStderr);
      // A cut-off capture also says so in the summary.
      if (want.warnings?.some((w) => w.includes('capture cut off')))
        expect(text.stdout).toMatch(/^ {2}capture cut off: capture cut off at byte \d+/m);
    });
  }

  it('a capture cut off mid-record on stdin: every complete packet, then where it stopped, named <stdin>', () => {
    const r = fwemu(['replay', '-r', RULES, '-'], { input: readFileSync(`${DIR}/cut-in-record-data.pcap`) });
    expect(r.code).toBe(0);
    expect(numbers(packetLines(r.stdout))).toEqual([1, 2, 3]);
    expect(r.stderr.trim()).toBe(
      'fwemu: warning: <stdin>: at byte 234: capture cut off at byte 270 inside record 4 (header says 74 bytes, 20 present); every complete packet before it (3) was read',
    );
  });

  it('--format none still prints the partial summary before the error', async () => {
    const r = await fwemuIn(['replay', '-r', RULES, '--format', 'none', `${DIR}/trailer-mismatch.pcapng`]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^2 packets: 2 accepted/);
    expect(r.stdout).toContain('capture unreadable from byte 244');
  });

  it('--write-accepted after a capture error: the run failed, so the file is not written (an existing one is left as it was)', async () => {
    const out = join(tmp, 'acc.pcap');
    const r = await fwemuIn([
      'replay',
      '-r',
      RULES,
      '--format',
      'none',
      '--write-accepted',
      out,
      `${DIR}/block-over-16m.pcapng`,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--write-accepted ${out}: not written (the run failed`);
    expect(existsSync(out)).toBe(false);
    writeFileSync(out, 'an earlier result');
    expect(
      (
        await fwemuIn([
          'replay',
          '-r',
          RULES,
          '--format',
          'none',
          '--write-accepted',
          out,
          `${DIR}/block-over-16m.pcapng`,
        ])
      ).code,
    ).toBe(2);
    expect(readFileSync(out, 'utf8')).toBe('an earlier result');
    expect(readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('more than ten capture warnings: ten shown, the rest counted, all with -v', async () => {
    const base = readFileSync(`${DIR}/caplen-over-snaplen.pcap`);
    // The same file with a snaplen of 4: every record exceeds it.
    const file = Buffer.from(base);
    file.writeUInt32LE(4, 16);
    const path = join(tmp, 'snap4.pcap');
    const records = file.subarray(24);
    writeFileSync(path, Buffer.concat([file, records, records, records]));
    const r = await fwemuIn(['replay', '-r', RULES, '--format', 'none', path]);
    expect(r.code).toBe(0);
    const warn = notClock(r.stderr); // (the copies of the records step the clock back)
    expect(warn).toHaveLength(11);
    expect(warn[10]).toBe(`fwemu: warning: ${path}: 10 more capture warnings not shown (-v lists them)`);
    const v = await fwemuIn(['replay', '-v', '-r', RULES, '--format', 'none', path]);
    expect(notClock(v.stderr).filter((l) => l.startsWith('fwemu: warning:'))).toHaveLength(20);
  });
});

describe('a capture error after warnings: what was read before it is reported truthfully', () => {
  // A pcapng file may hold several sections one after the other, so two
  // files of the corpus, each broken in one way, make one capture broken in
  // its middle: epb-snaplen-exceeded.pcapng (5 packets, a warning about
  // record 4) followed by trailer-mismatch.pcapng (2 packets, then a block
  // that ends reading). What to expect follows from their CORPUS entries.
  const FIRST = 'epb-snaplen-exceeded.pcapng';
  const SECOND = 'trailer-mismatch.pcapng';
  const first = CORPUS[FIRST] as Readable;
  const second = CORPUS[SECOND] as Fatal;
  const firstBytes = readFileSync(`${DIR}/${FIRST}`);
  const path = join(tmp, 'warning-then-corrupt.pcapng');
  const packets = first.packets + second.before; // 5 + 2
  const offset = firstBytes.length + second.offset; // the second section starts where the first file ends
  const warning = `fwemu: warning: ${path}: ${first.warnings![0]}`;
  const error = `fwemu: ${path}: at byte ${offset}: ${second.detail}`;

  beforeAll(() => writeFileSync(path, Buffer.concat([firstBytes, readFileSync(`${DIR}/${SECOND}`)])));

  it('replay: the packets before the damage and their summary; on stderr the earlier warning, then the error; exit 2', async () => {
    const r = await fwemuIn(['replay', '-r', RULES, path]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).not.toMatch(STACK);
    // (The second section starts 4 ms before the first one ends: a clock warning, not this test's.)
    expect(notClock(r.stderr)).toEqual([warning, error]);
    expect(numbers(packetLines(r.stdout))).toEqual(oneTo(packets));
    expect(r.stdout).toContain(`\n${packets} packets: `);
    expect(r.stdout).toContain(
      `capture unreadable from byte ${offset}: only the ${packets} packets before it were replayed`,
    );
  });

  it('dump: the same warning before the error', async () => {
    const r = await fwemuIn(['dump', path]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.split('\n').filter(Boolean)).toEqual([warning, error]);
    expect(numbers(packetLines(r.stdout))).toEqual(oneTo(packets));
  });

  it('conntrack and sockets: the same warning before the error', async () => {
    for (const args of [
      ['conntrack', '-r', RULES, path],
      ['conntrack', '-E', '-r', RULES, path],
      ['sockets', path],
    ]) {
      const r = await fwemuIn(args);
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(2);
      expect(r.stderr).not.toMatch(STACK);
      expect(notClock(r.stderr), args.join(' ')).toEqual([warning, error]);
    }
  });

  it('replay -v logs the capture as pcapng, with the packets read before the error', async () => {
    const r = await fwemuIn(['replay', '-v', '-r', RULES, '--format', 'none', path]);
    expect(r.code, r.stderr).toBe(2);
    const logs = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const read = logs.filter((l) => l.msg === 'capture read');
    expect(read).toHaveLength(1);
    expect(read[0]).toMatchObject({ format: 'pcapng', packets });
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe(error);
  });

  it("replay(): the CaptureError's partial summary has the real format, the records and the warnings before the error", async () => {
    let seen = 0;
    const err = await replay({ rules: RULES, source: path, onPacket: () => void seen++ }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CaptureError);
    const e = err as CaptureError;
    expect([e.file, e.offset, e.detail]).toEqual([path, offset, second.detail]);
    expect(seen).toBe(packets);
    expect(e.partial).toBeDefined();
    const p = e.partial!;
    expect([p.format, p.records, p.truncated]).toEqual(['pcapng', packets, false]);
    expect(p.warnings.map((w) => `at byte ${w.offset}: ${w.message}`)).toEqual(first.warnings);
  });
});

describe('stopping early (conntrack --at N): what was read up to packet N is reported truthfully', () => {
  // epb-snaplen-exceeded.pcapng: 5 packets, a warning about record 4 (its CORPUS entry).
  const FILE = 'epb-snaplen-exceeded.pcapng';
  const want = CORPUS[FILE] as Readable;
  const path = `${DIR}/${FILE}`;

  it('conntrack --at 4 prints the warning about record 4, and -v logs the capture as pcapng with 4 packets', async () => {
    const r = await fwemuIn(['conntrack', '-v', '-r', RULES, '--at', '4', path]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('fwemu: warning:'))).toEqual([
      `fwemu: warning: ${path}: ${want.warnings![0]}`,
    ]);
    const read = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === 'capture read');
    expect(read).toHaveLength(1);
    expect(read[0]).toMatchObject({ format: 'pcapng', packets: 4 });
  });

  it('replay({ stopAfter: 4 }): summary.capture has the real format, 4 records and that warning', async () => {
    const s = await replay({ rules: RULES, source: path, stopAfter: 4 });
    expect(s.stats.packets).toBe(4);
    expect([s.capture.format, s.capture.records, s.capture.truncated]).toEqual(['pcapng', 4, false]);
    expect(s.capture.warnings.map((w) => `at byte ${w.offset}: ${w.message}`)).toEqual(want.warnings);
  });
});
