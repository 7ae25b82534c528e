/**
 * Issue 14, from the command line: clock jumps reported (one thread and
 * --jobs alike), timestamps the clock or a format cannot hold refused with
 * exit 2 and a reason, never exit 70; dates and packet numbers as typed.
 * Captures are assembled byte by byte (test/engine/clock-captures.ts).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratch } from '../support/scratch.js';
import { DNS_RULES, pcapngOf, pcapOf, pcapOffset, STATELESS_RULES, type At } from '../engine/clock-captures.js';
import { fwemuIn, STACK, type Run } from './run.js';

const { dir, file } = scratch('fwemu-clock-cli-');

const rules = file('dns.yaml', DNS_RULES);
const stateless = file('stateless.yaml', STATELESS_RULES);
const acceptAll = file('all.yaml', 'name: all\npolicy: accept\nrules: []\n');
const T = 1_767_225_600; // 2026-01-01T00:00:00Z
const YEAR = 365 * 86_400;

/** A user's error: exit 2, one message, no stack trace, no "internal error". */
function userError(r: Run): string {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stderr).not.toMatch(STACK);
  expect(r.stderr).not.toContain('internal error');
  return r.stderr;
}

const warnings = (r: Run) => r.stderr.split('\n').filter((l) => l.startsWith('fwemu: warning:'));

describe('clock jumps', () => {
  const jump = file(
    'jump.pcap',
    pcapOf([
      { dir: 'q', sec: T },
      { dir: 'a', sec: T, nsec: 10_000_000 },
      { dir: 'a', sec: T + YEAR },
      { dir: 'q', sec: T + 1 },
    ]),
  );

  it("warns with the packet, its byte offset and the size of the jump; the summary counts; verdicts stay the kernel's", async () => {
    const r = await fwemuIn(['replay', '-r', rules, jump]);
    expect(r.code, r.stderr).toBe(0);
    expect(warnings(r)).toEqual([
      `fwemu: warning: ${jump}: packet 3 (byte ${pcapOffset(3)}): the capture clock jumps forward 31535999.990000 s (365.0 days), at least the largest timeout in force (tcp_timeout_established 432000 s): every conntrack entry and held fragment expires, as in the kernel with this clock`,
      `fwemu: warning: ${jump}: packet 4 (byte ${pcapOffset(4)}): stamped 31535999.000000 s (365.0 days) earlier than packet 3; the clock does not go back: it is judged at the latest time seen`,
    ]);
    expect(r.stdout).toContain(
      '  clock: 1 forward jump of the largest timeout or more (tcp_timeout_established 432000 s), the largest 31535999.990000 s (365.0 days); 1 backward step, the largest 31535999.000000 s (365.0 days)\n',
    );
    // The answer after the jump finds no flow: new, and no rule lets it in.
    expect(r.stdout).toMatch(/^\s+3 .* new\s+DROP /m);
  });

  it('says so with jsonl (summary on stderr) and in conntrack', async () => {
    const j = await fwemuIn(['replay', '-r', rules, '-f', 'jsonl', jump]);
    expect(j.stderr).toContain('  clock: 1 forward jump');
    expect(warnings(j)).toHaveLength(2);
    const c = await fwemuIn(['conntrack', '-r', rules, jump]);
    expect(c.code).toBe(0);
    expect(warnings(c).map((l) => l.replace(/:.*?: packet/, ': packet').slice(0, 40))).toEqual(
      warnings(j).map((l) => l.replace(/:.*?: packet/, ': packet').slice(0, 40)),
    );
  });

  it('stays quiet within the largest timeout, and without connection tracking', async () => {
    const calm = file(
      'calm.pcap',
      pcapOf([
        { dir: 'q', sec: T },
        { dir: 'a', sec: T + 431_999, nsec: 999_999_999 },
      ]),
    );
    const r = await fwemuIn(['replay', '-r', rules, calm]);
    expect(warnings(r)).toEqual([]);
    expect(r.stdout).not.toContain('clock:');
    const s = await fwemuIn(['replay', '-r', stateless, jump]);
    expect(warnings(s)).toEqual([]);
    expect(s.stdout).not.toContain('clock:');
  });

  // A capture merged from interfaces: every other packet a microsecond back, and now and then 2 s back.
  const merged: At[] = [];
  for (let i = 0, t = T; i < 3000; i++, t++) {
    merged.push({ dir: i % 2 ? 'a' : 'q', sec: t, nsec: 500_000 }, { dir: 'a', sec: t, nsec: 499_000 });
    if (i % 300 === 0) merged.push({ dir: 'q', sec: t - 2 });
  }
  const mergedPath = file('merged.pcap', pcapOf(merged));

  it('warns about a capture whose sub-second field (2500000 us, carried into the seconds) puts a packet ahead', async () => {
    // Bytes of fixtures/malformed/subsecond-overflow.pcap: records at 0.001, 2.5 (0x2625a0 us) and 0.003 s
    // past 1767225600; record 3 starts at 24 + 2 * (16 + 54) = 164.
    const path = 'fixtures/malformed/subsecond-overflow.pcap';
    const r = await fwemuIn(['replay', '-r', 'rules/web-server.yaml', '-f', 'none', path]);
    expect(warnings(r)).toContain(
      `fwemu: warning: ${path}: packet 3 (byte 164): stamped 2.497000 s earlier than packet 2; the clock does not go back: it is judged at the latest time seen`,
    );
  });

  it('does not flood: five listed, the rest counted, microsecond steps on one line', async () => {
    const r = await fwemuIn(['replay', '-r', rules, '-f', 'none', mergedPath]);
    const w = warnings(r);
    expect(w).toHaveLength(7);
    expect(w[0]).toBe(
      `fwemu: warning: ${mergedPath}: packet 3 (byte ${pcapOffset(3)}): stamped 2.000499 s earlier than packet 2; the clock does not go back: it is judged at the latest time seen`,
    );
    expect(w[5]).toContain('5 more clock steps of the same kinds not listed');
    expect(w[6]).toContain('3000 packets are stamped up to 0.000001 s earlier than the packet before');
    expect(r.stdout).toContain('  clock: 3010 backward steps, the largest 2.000499 s, 3000 of them under 1 ms\n');
  });

  it("--jobs gives one thread's warnings and summary, byte for byte", async () => {
    for (const capture of [jump, mergedPath]) {
      for (const format of ['text', 'jsonl']) {
        const one = await fwemuIn(['replay', '-r', rules, '-f', format, capture]);
        const two = await fwemuIn(['replay', '-r', rules, '-f', format, '-j', '2', capture]);
        expect(two.code).toBe(0);
        expect(two.stdout).toBe(one.stdout);
        expect(two.stderr).toBe(one.stderr);
        expect(one.stderr).toContain('clock');
      }
    }
  });

  it('fwemu test reports a jump in a scenario', async () => {
    const scenario = file(
      'wait.yaml',
      `scenario: a week away
start: 2026-01-01T00:00:00Z
rules: ${rules}
hosts:
  c: 192.0.2.1
  s: 192.0.2.53
steps:
  - udp: c -> s:53
  - wait: 6d
  - udp: c -> s:53
expect:
  - packet: 1
    verdict: accept
`,
    );
    const r = await fwemuIn(['test', scenario]);
    expect(r.stderr).toMatch(
      /wait\.yaml: packet 2 \(byte \d+\): the capture clock jumps forward 518400\.\d+ s \(6\.0 days\)/,
    );
  });
});

describe('timestamps the clock cannot judge: exit 2 with the position', () => {
  it('refuses a pcapng stamped at 2^53 s (if_tsoffset), naming file, record and byte', async () => {
    const late = file(
      'late.pcapng',
      pcapngOf(
        [
          { dir: 'q', sec: T },
          { dir: 'a', sec: T + 1 },
        ],
        BigInt(2 ** 53),
      ),
    );
    for (const args of [
      ['replay', '-r', rules, late],
      ['replay', '-r', rules, '-j', '2', late],
      ['conntrack', '-r', rules, late],
      ['dump', late],
    ]) {
      const msg = userError(await fwemuIn(args));
      expect(msg).toMatch(
        new RegExp(`${late}: at byte \\d+: enhanced packet block \\(record 1\\) is stamped .*too late to judge`),
      );
    }
  });

  it('--time iso on times Date cannot show (after year 275760): the capture is refused, not a RangeError', async () => {
    const far = file('far.pcapng', pcapngOf([{ dir: 'q', sec: 1e13 }], BigInt(1e13)));
    for (const cmd of [['replay', '-r', acceptAll], ['dump']]) {
      expect(userError(await fwemuIn([...cmd, '--time', 'iso', far]))).toMatch(
        /record 1\) is stamped 10000000000000 s since 1970 \(\+318857-05-20T17:46:40Z\)/,
      );
    }
  });
});

describe('errors that said "internal error"', () => {
  const late = file(
    'late-2106.pcapng',
    pcapngOf(
      [
        { dir: 'q', sec: 2 ** 32 - 2 },
        { dir: 'a', sec: 2 ** 32 + 100 },
      ],
      BigInt(2 ** 32 - 10),
    ),
  );

  it('--write-accepted x.pcap past 2106: suggests .pcapng; .pcapng works', async () => {
    for (const jobs of [[], ['-j', '2']]) {
      const out = join(dir, `w${jobs.length}.pcap`);
      const msg = userError(
        await fwemuIn(['replay', '-r', acceptAll, '-f', 'none', ...jobs, '--write-accepted', out, late]),
      );
      expect(msg).toContain(
        `cannot write to ${out}: packet 2 written to it is stamped 4294967396.000000000 s (2106-02-07T06:29:56Z), but a pcap file holds times from 1970-01-01T00:00:00Z to 2106-02-07T06:28:15Z`,
      );
      expect(msg).toContain('.pcapng name');
    }
    const ok = await fwemuIn([
      'replay',
      '-r',
      acceptAll,
      '-f',
      'none',
      '--write-accepted',
      join(dir, 'w.pcapng'),
      late,
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    const back = await fwemuIn(['dump', '--time', 'epoch', join(dir, 'w.pcapng')]);
    expect(back.stdout).toContain('4294967396.000000000');
  });

  it('--time iso shows times after 2106 (and 2038)', async () => {
    const r = await fwemuIn(['replay', '-r', acceptAll, '--time', 'iso', late]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('2106-02-07T06:28:14.000000000Z');
    expect(r.stdout).toContain('2106-02-07T06:29:56.000000000Z');
  });

  const scenario = (start: string, steps = '  - udp: c -> s:53\n') =>
    file(
      `s-${start.replace(/[^0-9a-z]/gi, '_')}.yaml`,
      `scenario: x\nstart: ${start}\nhosts:\n  c: 192.0.2.1\n  s: 192.0.2.53\nsteps:\n${steps}`,
    );

  it('synth -o x.pcap of a scenario running past 2106: suggests .pcapng; pcapng and replaying the scenario work', async () => {
    const s = scenario('2106-02-07T06:28:14Z', '  - udp: c -> s:53\n  - wait: 5s\n  - udp: c -> s:53\n');
    const msg = userError(await fwemuIn(['synth', s, '-o', join(dir, 'late.pcap')]));
    expect(msg).toMatch(/packet 2 written to it is stamped 4294967299\.\d+ s \(2106-02-07T06:28:19Z\).*\.pcapng name/);
    expect((await fwemuIn(['synth', s, '-o', join(dir, 'late.pcapng')])).code).toBe(0);
    expect((await fwemuIn(['replay', '-r', rules, s])).code).toBe(0);
    // A start in 2107 is a date like any other (it said "not a date and time").
    expect((await fwemuIn(['synth', scenario('2107-01-01T00:00:00Z'), '-o', join(dir, '2107.pcapng')])).code).toBe(0);
  });

  it('refuses impossible start dates at their position instead of rolling them over', async () => {
    const cases: [string, RegExp][] = [
      ['2026-02-30', /February 2026 has 28 days, so there is no day 30/],
      ['2026-02-30T00:00:00Z', /February 2026 has 28 days/],
      ['2100-02-29T00:00:00Z', /February 2100 has 28 days/],
      ['2026-04-31T00:00:00Z', /April 2026 has 30 days/],
      ['2026-13-01T00:00:00Z', /no month 13/],
      ['2026-01-01T24:00:00Z', /no hour 24/],
      ['2026-01-01T00:60:00Z', /no minute 60/],
      ['2026-01-01T00:00:60Z', /leap second/],
      ['2026-01-01T00:00:00+24:00', /time zone \+24:00/],
      ['1969-12-31T23:59:59Z', /before 1970/],
      ['-1', /before 1970/],
      ['2200-01-01T00:00:00Z', /after 2174-01-26T09:42:24Z/],
    ];
    for (const [start, why] of cases) {
      const path = scenario(start);
      const msg = userError(await fwemuIn(['synth', path, '-o', join(dir, 'x.pcapng')]));
      expect(msg, start).toMatch(new RegExp(`^${path.replace(/[.]/g, '\\.')}:2:8: start `));
      expect(msg, start).toMatch(why);
    }
    // Leap day and offsets: the instant Date computes for a valid date.
    const ok = await fwemuIn(['replay', '-r', rules, '--time', 'iso', scenario('2024-02-29T10:00:00.25+05:30')]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(
      new Date('2024-02-29T10:00:00.250+05:30').toISOString().replace('.250Z', '.250000000Z'),
    );
  });

  it('conntrack --at names what was typed', async () => {
    const jump = file(
      'at.pcap',
      pcapOf([
        { dir: 'q', sec: T },
        { dir: 'a', sec: T + 1 },
      ]),
    );
    for (const typed of ['abc', '0', '-1', '1.5', '1e3', '0x10', ' ', '99999999999999999999']) {
      const msg = userError(await fwemuIn(['conntrack', '-r', rules, '--at', typed, jump]));
      expect(msg).toContain(
        `--at takes a packet number, a whole number from 1 (the first packet) up, not ${typed.trim() === '' ? 'nothing' : `"${typed}"`}`,
      );
      expect(msg).not.toContain('NaN');
    }
    expect((await fwemuIn(['conntrack', '-r', rules, '--at', '2', jump])).code).toBe(0);
    expect(userError(await fwemuIn(['conntrack', '-r', rules, '--at', '3', jump]))).toContain(
      `--at 3: ${jump} has only 2 packets`,
    );
  });
});
