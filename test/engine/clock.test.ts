/**
 * The capture clock (issue 14): kernel semantics kept (the clock is the
 * capture's and never goes back), jumps and backward steps counted, and the
 * arithmetic exact to the microsecond up to the last time fwemu judges.
 */
import { describe, expect, it } from 'vitest';
import { scratch } from '../support/scratch.js';
import { LATEST_TIMESTAMP_SEC } from '../../src/capture/timestamp.js';
import type { CaptureRecord } from '../../src/capture/types.js';
import { CLOCK_JUMPS_LISTED, ClockWatch, largestTimeout } from '../../src/engine/clock.js';
import { replay } from '../../src/engine/replay.js';
import { DEFAULT_CONNTRACK_SETTINGS } from '../../src/conntrack/types.js';
import { DNS_RULES, pcapngOf, pcapOf, type At } from './clock-captures.js';

/** How far after its deadline the last answer comes (with -3 us its verdict turns, and both tests fail: checked). */
const SHIFT = 3_000;

const { file } = scratch('fwemu-clock-');

const rules = file('dns.yaml', DNS_RULES);

function rec(n: number, sec: number, nsec = 0): CaptureRecord {
  return {
    n,
    tsSec: sec,
    tsNsec: nsec,
    linkType: 101,
    ifIndex: 0,
    ifName: '',
    direction: 0,
    caplen: 0,
    len: 0,
    buf: new Uint8Array(0),
    off: 0,
    fileOffset: 1000 + n,
  };
}

async function verdicts(path: string): Promise<string[]> {
  const out: string[] = [];
  await replay({ rules, source: path, onPacket: (r) => out.push(`${r.ct ?? '-'} ${r.verdict}`) });
  return out;
}

describe('ClockWatch', () => {
  it('takes the largest timeout in force from the rule set', () => {
    expect(largestTimeout(DEFAULT_CONNTRACK_SETTINGS)).toEqual({ seconds: 432000, name: 'tcp_timeout_established' });
    expect(largestTimeout({ ...DEFAULT_CONNTRACK_SETTINGS, udp_timeout_stream: 900_000 })).toEqual({
      seconds: 900000,
      name: 'udp_timeout_stream',
    });
    // The settable fragment timers count too: conntrack's frag6_timeout, and ipv4: ipfrag_time.
    expect(largestTimeout({ ...DEFAULT_CONNTRACK_SETTINGS, frag6_timeout: 500_000 })).toEqual({
      seconds: 500000,
      name: 'frag6_timeout',
    });
    expect(largestTimeout(DEFAULT_CONNTRACK_SETTINGS, 600_000)).toEqual({ seconds: 600000, name: 'ipfrag_time' });
    // With every settable timeout lowered, the fixed ones remain: SCTP ESTABLISHED's 210 s (kernel default).
    const low = Object.fromEntries(
      Object.entries(DEFAULT_CONNTRACK_SETTINGS).map(([k, v]) => [k, k.includes('timeout') ? 5 : v]),
    );
    expect(largestTimeout(low as typeof DEFAULT_CONNTRACK_SETTINGS)).toEqual({
      seconds: 210,
      name: 'sctp_timeout_established',
    });
  });

  it('counts forward jumps past the largest timeout from the latest time, not from the packet before', () => {
    const w = new ClockWatch(DEFAULT_CONNTRACK_SETTINGS);
    const base = 1_700_000_000;
    // A nanosecond short of 432000 s is no jump (an entry made at the clock is still alive); 432000 s is (it is dead at its deadline).
    for (const [n, sec, nsec] of [
      [1, base, 0],
      [2, base + 431_999, 999_999_999],
      [3, base + 863_999, 999_999_999],
      [4, base + 10, 0],
      [5, base + 864_000, 0],
    ] as const) {
      w.observe(rec(n, sec, nsec));
    }
    const s = w.result;
    expect(s.forward).toBe(1);
    expect(s.listed.filter((j) => j.kind === 'forward').map((j) => [j.n, j.seconds, j.fromSec])).toEqual([
      [3, 432_000, base + 431_999],
    ]);
    // Packet 4 stepped back; packet 5 is 1 ns after the clock, not 863 990 s after packet 4.
    expect(s.backward).toBe(1);
    expect(s.largestBackward).toBeCloseTo(863_989.999999999, 6);
  });

  it('lists the first few steps of each kind, counts the rest and the small ones apart', () => {
    const w = new ClockWatch(DEFAULT_CONNTRACK_SETTINGS);
    let n = 0;
    let t = 1_700_000_000;
    for (let i = 0; i < 1000; i++) {
      // A microsecond back after each packet (merged capture), and every 100th two seconds back.
      w.observe(rec(++n, t, 500_000));
      w.observe(rec(++n, t, 499_000));
      if (i % 100 === 0) w.observe(rec(++n, t - 2));
      t += 1;
    }
    for (let i = 0; i < 8; i++) w.observe(rec(++n, (t += 500_000)));
    const s = w.result;
    expect([s.backward, s.smallBackward, s.forward]).toEqual([1010, 1000, 8]);
    expect(s.largestSmallBackward).toBeCloseTo(1e-6, 12);
    expect(s.largestBackward).toBeCloseTo(2.000499, 9); // from t + 499 us
    expect(s.listed.filter((j) => j.kind === 'backward')).toHaveLength(CLOCK_JUMPS_LISTED);
    expect(s.listed.filter((j) => j.kind === 'forward')).toHaveLength(CLOCK_JUMPS_LISTED);
    expect(s.listed.every((j) => j.kind === 'forward' || j.seconds >= 1e-3)).toBe(true);
  });
});

describe("replay: the clock is the capture's", () => {
  const T = 1_767_225_600; // 2026-01-01
  it('a year-ahead packet expires the flow (as the kernel would) and the replay says so', async () => {
    const path = file(
      'jump.pcap',
      pcapOf([
        { dir: 'q', sec: T },
        { dir: 'a', sec: T, nsec: 10_000_000 },
        { dir: 'a', sec: T + 365 * 86400 },
      ]),
    );
    const s = await replay({ rules, source: path });
    expect(s.clock).toMatchObject({ forward: 1, backward: 0, limit: 432000, limitName: 'tcp_timeout_established' });
    expect(s.clock!.listed[0]).toMatchObject({
      kind: 'forward',
      n: 3,
      offset: 24 + 2 * 44,
      seconds: 365 * 86400 - 0.01,
    });
    expect(await verdicts(path)).toEqual(['new accept', 'established accept', 'new drop']);
  });

  it('no watch without connection tracking (nothing depends on the clock)', async () => {
    const stateless = file('stateless.yaml', 'name: s\nstateful: false\npolicy: accept\nrules: []\n');
    const path = file(
      'jump2.pcap',
      pcapOf([
        { dir: 'q', sec: T },
        { dir: 'a', sec: T + 365 * 86400 },
        { dir: 'a', sec: T },
      ]),
    );
    expect((await replay({ rules: stateless, source: path })).clock).toBeNull();
  });

  /**
   * UDP (kernel defaults): an answer makes the entry ESTABLISHED with
   * udp_timeout 30 s; an answer 3 us before that runs out still finds it,
   * one 3 us after does not. The same at 2026 and at the last time fwemu
   * judges (2174, where a double resolves 2^-20 s): there the clock still adds.
   */
  function onTheEdge(t: number): At[] {
    const answered = t + 1; // entry deadline: t + 1 + 30
    return [
      { dir: 'q', sec: t },
      { dir: 'a', sec: answered },
      { dir: 'a', sec: answered + 29, nsec: 999_997_000 }, // 3 us early: established; older than 2 s now: stream, 120 s
      { dir: 'a', sec: answered + 29 + 120, nsec: 999_997_000 - 3_000 }, // 3 us before the stream deadline
      { dir: 'a', sec: answered + 29 + 240, nsec: 999_997_000 - 3_000 + SHIFT }, // 3 us after the next one: expired
    ];
  }
  const expected = ['new accept', 'established accept', 'established accept', 'established accept', 'new drop'];

  it('judges to the microsecond in 2026', async () => {
    expect(await verdicts(file('edge-2026.pcap', pcapOf(onTheEdge(T))))).toEqual(expected);
    expect(await verdicts(file('edge-2026.pcapng', pcapngOf(onTheEdge(T), BigInt(T - 100))))).toEqual(expected);
  });

  it('judges the same to the microsecond at the last time fwemu accepts (pcapng if_tsoffset)', async () => {
    const t = LATEST_TIMESTAMP_SEC - 300;
    expect(await verdicts(file('edge-late.pcapng', pcapngOf(onTheEdge(t), BigInt(t - 100))))).toEqual(expected);
  });
});
