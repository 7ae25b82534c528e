// Timestamp extremes (issue 14): captures whose packets are stamped at 0,
// 2^31, 2^32 - 1, 2^32, 2^33, 2^53, 2^64 units, around the last time fwemu
// judges (LATEST_TIMESTAMP_SEC), with huge or negative pcapng if_tsoffset,
// odd if_tsresol (1 s, 10^-19 s, 2^-127 s, ...) and clocks that jump ahead or
// step back. Registered in scripts/fuzz-lib.mjs as the kind 'clock'.
//
// The invariant: no exception but a positioned CaptureError (replayChecked's
// checks, which also run the report code on every packet); when the capture
// is read, every time is one fwemu can judge, shows in every --time format,
// and writes to pcap/pcapng or is refused with a UserError only where the
// format cannot hold it; the clock watch's counts hold together.

import { PassThrough } from 'node:stream';
import { CaptureParser } from '../dist/capture/parser.js';
import { LATEST_TIMESTAMP_SEC } from '../dist/capture/timestamp.js';
import { PcapngWriter, PcapWriter, PCAP_LATEST_SEC } from '../dist/capture/write.js';
import { CLOCK_JUMPS_LISTED, SMALL_STEP } from '../dist/engine/clock.js';
import { replay } from '../dist/engine/replay.js';
import { UserError } from '../dist/base/errors.js';
import { clockSummary, clockWarningLines } from '../dist/report/replay-text.js';
import { formatTime } from '../dist/report/time.js';
import { caseRng, Finding, replayChecked, thrownText } from './fuzz-lib.mjs';

const TWO64 = 1n << 64n;
const L = BigInt(LATEST_TIMESTAMP_SEC);
const SECONDS_AT = [
  0n,
  1n,
  1_767_225_600n,
  (1n << 31n) - 1n,
  1n << 31n,
  (1n << 32n) - 1n,
  1n << 32n,
  L - 432_000n,
  L - 1n,
  L,
  L + 1n,
  1n << 33n,
  (1n << 53n) - 1n,
  1n << 53n,
  1n << 62n,
];
const OFFSETS = [
  0n,
  0n,
  0n,
  1n << 31n,
  -(1n << 31n),
  -1_767_225_600n,
  L - 1_767_225_600n,
  1n << 53n,
  -(1n << 53n),
  1n << 62n,
  -(1n << 63n),
  (1n << 63n) - 1n,
];
const RESOLUTIONS = [6, 6, 9, 0, 1, 3, 12, 19, 127, 0x80, 0x80 | 10, 0x80 | 30, 0x80 | 32, 0x80 | 64, 0x80 | 127, 255];

function ipChecksum(p) {
  let s = 0;
  for (let i = 0; i < 20; i += 2) s += (p[i] << 8) | p[i + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** Raw IPv4 UDP, 192.0.2.1:40000 <-> 192.0.2.53:53 (which way: `answer`). */
function udp(answer, id) {
  const a = [192, 0, 2, 1];
  const b = [192, 0, 2, 53];
  const p = new Uint8Array(28);
  p.set([0x45, 0, 0, 28, id >> 8, id & 0xff, 0, 0, 64, 17, 0, 0, ...(answer ? b : a), ...(answer ? a : b)]);
  const c = ipChecksum(p);
  p[10] = c >> 8;
  p[11] = c & 0xff;
  p.set(answer ? [0, 53, 0x9c, 0x40, 0, 8, 0, 0] : [0x9c, 0x40, 0, 53, 0, 8, 0, 0], 20);
  return p;
}

class Out {
  constructor() {
    this.b = [];
  }
  u16(v) {
    this.b.push(v & 0xff, (v >>> 8) & 0xff);
    return this;
  }
  u32(v) {
    for (let i = 0; i < 4; i++) this.b.push((v >>> (8 * i)) & 0xff);
    return this;
  }
  u64(v) {
    const x = ((v % TWO64) + TWO64) % TWO64;
    return this.u32(Number(x & 0xffffffffn)).u32(Number(x >> 32n));
  }
  raw(bytes) {
    for (const x of bytes) this.b.push(x);
    return this;
  }
  pad() {
    while (this.b.length % 4) this.b.push(0);
    return this;
  }
  block(type, body) {
    return this.u32(type)
      .u32(12 + body.length)
      .raw(body)
      .u32(12 + body.length);
  }
  bytes() {
    return Uint8Array.from(this.b);
  }
}

/** A time in units of `res` (if_tsresol), from seconds and a fraction; wraps into 64 bits as a writer would. */
function unitsOf(sec, nsec, res) {
  const binary = (res & 0x80) !== 0;
  const e = BigInt(res & 0x7f);
  const per = binary ? 1n << e : 10n ** e;
  return (((sec * per + (nsec * per) / 1_000_000_000n) % TWO64) + TWO64) % TWO64;
}

/** The stamps of a case: extremes, neighbours, jumps and steps back. */
function stamps(rng) {
  const n = rng.range(2, 12);
  let sec = rng.pick(SECONDS_AT);
  let nsec = BigInt(rng.int(1_000_000_000));
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push([sec, nsec]);
    switch (rng.int(7)) {
      case 0:
        sec += BigInt(rng.range(1, 3));
        break;
      case 1:
        sec -= BigInt(rng.range(1, 3));
        break; // back, seconds
      case 2:
        nsec -= BigInt(rng.range(1, 999));
        break; // back, under a microsecond
      case 3:
        sec += rng.pick([432_000n, 432_001n, 31_536_000n, 1n << 32n]);
        break; // jumps
      case 4:
        sec = rng.pick(SECONDS_AT);
        break;
      default:
        nsec += BigInt(rng.range(1, 5_000_000));
    }
    if (nsec < 0n) {
      nsec += 1_000_000_000n;
      sec -= 1n;
    }
    if (nsec >= 1_000_000_000n) {
      nsec -= 1_000_000_000n;
      sec += 1n;
    }
  }
  return out;
}

/** One clock case: the capture (pcap, or pcapng with chosen if_tsoffset/if_tsresol) and its description. */
export function clockCapture(seed, i) {
  const rng = caseRng(seed, 'clock', i);
  const times = stamps(rng);
  const o = new Out();
  if (rng.chance(0.3)) {
    const nanos = rng.chance(0.5);
    o.u32(nanos ? 0xa1b23c4d : 0xa1b2c3d4)
      .u16(2)
      .u16(4)
      .u32(0)
      .u32(0)
      .u32(65535)
      .u32(101);
    times.forEach(([sec, nsec], k) => {
      // pcap holds 32-bit seconds: the seconds wrap, as a writer that ignored the range would.
      o.u32(Number(((sec % (1n << 32n)) + (1n << 32n)) % (1n << 32n)))
        .u32(Number(nanos ? nsec : nsec / 1000n))
        .u32(28)
        .u32(28)
        .raw(udp(k % 2 === 1, k + 1));
    });
    return {
      bytes: o.bytes(),
      desc: `clock #${i}: pcap ${nanos ? 'ns' : 'us'}, ${times.length} packets from ${times[0][0]} s`,
    };
  }
  const res = rng.pick(RESOLUTIONS);
  const offset = rng.pick(OFFSETS);
  o.block(0x0a0d0d0a, new Out().u32(0x1a2b3c4d).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff).bytes());
  const idb = new Out()
    .u16(101)
    .u16(0)
    .u32(0)
    .u16(9)
    .u16(1)
    .raw([res])
    .pad()
    .u16(14)
    .u16(8)
    .u64(offset)
    .u16(0)
    .u16(0)
    .bytes();
  o.block(1, idb);
  times.forEach(([sec, nsec], k) => {
    const u = unitsOf(sec - offset, nsec, res);
    const body = new Out()
      .u32(0)
      .u32(Number(u >> 32n))
      .u32(Number(u & 0xffffffffn))
      .u32(28)
      .u32(28)
      .raw(udp(k % 2 === 1, k + 1))
      .bytes();
    o.block(6, body);
  });
  return {
    bytes: o.bytes(),
    desc: `clock #${i}: pcapng if_tsresol ${res}, if_tsoffset ${offset}, ${times.length} packets from ${times[0][0]} s`,
  };
}

function check(cond, msg) {
  if (!cond) throw new Finding(msg);
}

/** Writes one record to pcap and pcapng: only a UserError, and only where the format cannot hold the time. */
function checkWriters(rec) {
  /** @type {[typeof PcapWriter | typeof PcapngWriter, number][]} */
  const writers = [
    [PcapWriter, PCAP_LATEST_SEC],
    [PcapngWriter, 2 ** 33 - 1],
  ];
  for (const [Writer, latest] of writers) {
    const w =
      Writer === PcapWriter
        ? new PcapWriter(new PassThrough(), { linkType: 101, nanosecond: true })
        : new PcapngWriter(new PassThrough());
    try {
      if (w instanceof PcapWriter) w.write(rec.tsSec, rec.tsNsec, rec.buf, rec.off, rec.caplen, rec.len);
      else w.write(w.addInterface(101), rec.tsSec, rec.tsNsec, rec.buf, rec.off, rec.caplen, rec.len);
      check(rec.tsSec <= latest, `${Writer.name} wrote a time past ${latest}: ${rec.tsSec}`);
    } catch (err) {
      if (err instanceof Finding) throw err;
      check(err instanceof UserError, `${Writer.name} threw ${err?.name}: ${err?.message}`);
      check(rec.tsSec > latest, `${Writer.name} refused ${rec.tsSec} s, which it can hold: ${err.message}`);
      check(
        /\.pcapng name|before 1970|that late/.test(err.message),
        `${Writer.name}'s refusal gives no way out: ${err.message}`,
      );
    }
  }
}

/** Runs a clock case: { ok, desc, outcome } or { ok: false, desc, error }. */
export async function clockCase(seed, i, ruleSets) {
  const { bytes, desc } = clockCapture(seed, i);
  const rules = ruleSets[caseRng(seed, 'clock-rules', i).int(ruleSets.length)];
  const name = `clock-${i}.cap`;
  const base = 'clock';
  try {
    const trace = await replayChecked(bytes, name, rules, [bytes.length]);
    const outcome = trace.at(-1);
    if (outcome.startsWith('ok ')) {
      const first = { sec: -1, nsec: 0 };
      const summary = await replay({
        rules,
        source: async (onRecord) => {
          const p = new CaptureParser(name, onRecord);
          p.push(bytes);
          return p.end();
        },
        onRecord: (rec) => {
          check(
            Number.isInteger(rec.tsSec) && rec.tsSec >= 0 && rec.tsSec <= LATEST_TIMESTAMP_SEC,
            `record ${rec.n} stamped ${rec.tsSec} s, outside what fwemu judges`,
          );
          if (first.sec < 0) Object.assign(first, { sec: rec.tsSec, nsec: rec.tsNsec });
          for (const f of /** @type {const} */ (['relative', 'epoch', 'iso'])) {
            const t = formatTime(f, rec.tsSec, rec.tsNsec, first.sec, first.nsec);
            check(!/NaN|undefined|Infinity/.test(t), `--time ${f} of record ${rec.n}: ${t}`);
          }
          checkWriters(rec);
        },
      });
      const c = summary.clock;
      if (c !== null) {
        check(
          c.smallBackward <= c.backward && c.largestSmallBackward < SMALL_STEP,
          `small steps ${c.smallBackward} of ${c.backward}, largest ${c.largestSmallBackward}`,
        );
        check(
          c.listed.filter((j) => j.kind === 'forward').length === Math.min(c.forward, CLOCK_JUMPS_LISTED),
          'forward jumps listed',
        );
        check(
          c.listed.every(
            (j) => j.seconds > 0 && (j.kind === 'backward' ? j.seconds >= SMALL_STEP : j.seconds >= c.limit),
          ),
          'a listed step of the wrong size',
        );
        for (const l of [clockSummary(c), ...clockWarningLines(c, name)])
          check(!/NaN|undefined|Infinity/.test(l), `clock text: ${l}`);
      }
    } else {
      check(outcome.startsWith(`error ${name}: at byte `), `not a positioned error: ${outcome}`);
    }
    return { ok: true, desc, base, bytes, outcome };
  } catch (err) {
    return { ok: false, desc, base, bytes, error: thrownText(err) };
  }
}
