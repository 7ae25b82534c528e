// A SYN flood from spoofed sources against the web server of
// rules/web-server.yaml, streamed into replay() as a PacketSource (no file),
// with real connections woven through it. Used by
// test/robustness/flood.test.ts (small tables, in CI) and by
// `node scripts/fuzz.mjs --flood 2000000` (the default 262144-entry table).
//
// Two phases, each checked:
//   1. the flood: every spoofed SYN is accepted by rule `web` and enters the
//      table unassured (SYN_SENT); once the table is full each new one evicts
//      the oldest unassured entry (early drop), so no new flow is refused,
//      the table never holds more than `max` entries, and the real
//      connections - established before the flood, or opened during it -
//      keep passing;
//   2. a table full of ASSURED entries (real connections only, when
//      `assuredFill` is set): nothing can be evicted, so each new flow is
//      dropped ("nf_conntrack: table full, dropping packet") while the
//      established ones still pass.

import { buildPacket } from '../dist/packet/encode.js';
import { replay } from '../dist/engine/replay.js';
import { Cause, causeName } from '../dist/engine/result.js';
import { parseRuleSet } from '../dist/rules/load.js';
import { engineFacts, NO_PAINT, summaryLines } from '../dist/report/replay-text.js';
import { explain } from '../dist/report/reason.js';

const SERVER = '10.2.0.1';
const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z

function ipChecksum(b, off, len) {
  let s = 0;
  for (let i = 0; i < len; i += 2) s += (b[off + i] << 8) | b[off + i + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/**
 * A spoofed SYN template (Ethernet, IPv4, TCP with MSS), patched in place
 * for each source: address 100.64.0.0 + i (100.64.0.0/10 holds 4 million),
 * port, sequence number, IP id; checksums recomputed.
 */
class SynForge {
  constructor() {
    this.frame = buildPacket({
      ip: { src: '100.64.0.1', dst: SERVER, ttl: 63 },
      tcp: { sport: 1024, dport: 8080, seq: 1, flags: 'S', window: 64240, options: { mss: 1460 } },
    });
    this.ip = 14;
    this.tcp = 34;
    this.tcpLen = this.frame.length - this.tcp;
  }
  make(i) {
    const f = this.frame;
    const src = (0x64400000 + i) >>> 0; // 100.64.0.0 + i
    f[this.ip + 12] = src >>> 24;
    f[this.ip + 13] = (src >>> 16) & 0xff;
    f[this.ip + 14] = (src >>> 8) & 0xff;
    f[this.ip + 15] = src & 0xff;
    f[this.ip + 4] = (i >>> 8) & 0xff;
    f[this.ip + 5] = i & 0xff;
    f[this.ip + 10] = 0;
    f[this.ip + 11] = 0;
    const ck = ipChecksum(f, this.ip, 20);
    f[this.ip + 10] = ck >>> 8;
    f[this.ip + 11] = ck & 0xff;
    const sport = 1024 + (i % 64000);
    f[this.tcp] = sport >>> 8;
    f[this.tcp + 1] = sport & 0xff;
    const seq = Math.imul(i, 2654435761) >>> 0;
    f[this.tcp + 4] = seq >>> 24;
    f[this.tcp + 5] = (seq >>> 16) & 0xff;
    f[this.tcp + 6] = (seq >>> 8) & 0xff;
    f[this.tcp + 7] = seq & 0xff;
    // TCP checksum over the pseudo-header and the segment.
    f[this.tcp + 16] = 0;
    f[this.tcp + 17] = 0;
    let s = 0;
    for (let k = 0; k < 8; k += 2) s += (f[this.ip + 12 + k] << 8) | f[this.ip + 13 + k];
    s += 6 + this.tcpLen;
    for (let k = 0; k < this.tcpLen; k += 2)
      s += (f[this.tcp + k] << 8) | (k + 1 < this.tcpLen ? f[this.tcp + k + 1] : 0);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    const tk = ~s & 0xffff;
    f[this.tcp + 16] = tk >>> 8;
    f[this.tcp + 17] = tk & 0xff;
    return f;
  }
}

/** One real connection: a client address and port, and where each side's sequence is. */
class Conn {
  constructor(k) {
    this.client = `10.1.${(k >> 8) & 0xff}.${k & 0xff || 1}`;
    this.cport = 40000 + (k % 20000);
    this.cseq = 1000 + k * 7919;
    this.sseq = 500000 + k * 104729;
    this.label = `real ${this.client}:${this.cport}`;
  }
  pkt(fromClient, flags, payload = 0) {
    const [src, dst, sport, dport] = fromClient
      ? [this.client, SERVER, this.cport, 8080]
      : [SERVER, this.client, 8080, this.cport];
    const seq = fromClient ? this.cseq : this.sseq;
    const ack = fromClient ? this.sseq : this.cseq;
    const f = buildPacket({
      ip: { src, dst, ttl: 63 },
      tcp: { sport, dport, seq, ack: flags === 'S' ? undefined : ack, flags, window: 64240, payload },
    });
    const adv = payload + (flags.includes('S') || flags.includes('F') ? 1 : 0);
    if (fromClient) this.cseq = (this.cseq + adv) >>> 0;
    else this.sseq = (this.sseq + adv) >>> 0;
    return f;
  }
  /** SYN, SYN/ACK, ACK: the entry is ASSURED after the third. */
  handshake() {
    return [this.pkt(true, 'S'), this.pkt(false, 'SA'), this.pkt(true, 'A')];
  }
  /** 100 bytes of request and the server's ACK. */
  exchange() {
    return [this.pkt(true, 'PA', 100), this.pkt(false, 'A')];
  }
}

/**
 * @typedef {{ packets: number, flood: number, floodAccepted: number, floodDropped: number, real: number, realAccepted: number,
 *   maxTable: number, earlyDrop: number, tableFull: number, phase2NewDropped: number, phase2Established: number,
 *   tableFullReason: string | null, max: number, seconds: number, heapGrowthMiB: number, summary: string[] }} FloodFigures
 */

/**
 * Runs the flood. Options: sources (spoofed SYNs), max (conntrack max;
 * undefined: the default), early (connections established before the flood),
 * late (opened during it), gap (flood packets between two real packets),
 * fillTable (phase 2: fill the rest of the table with ASSURED connections,
 * then send `newAfterFull` new SYNs).
 * Returns figures and `ok` with the list of `problems`.
 * @param {{ sources?: number, max?: number, early?: number, late?: number, gap?: number, fillTable?: boolean, newAfterFull?: number }} [options]
 * @returns {Promise<FloodFigures & { ok: boolean, problems: string[] }>}
 */
export async function synFlood({
  sources = 2_000_000,
  max,
  early = 16,
  late = 16,
  gap = 200,
  fillTable = false,
  newAfterFull = 1000,
} = {}) {
  const rulesText = `policy: drop\n${max === undefined ? '' : `conntrack: { max: ${max} }\n`}rules:\n  - { id: web, proto: tcp, dport: 8080 }\n`;
  const { ruleset } = parseRuleSet(rulesText, 'flood-rules.yaml');
  // Phase 2 fills what the real connections leave of the table with ASSURED ones.
  const assuredFill = fillTable ? ruleset.conntrack.max - (early + late + 1) : 0;
  if (!fillTable) newAfterFull = 0;
  const forge = new SynForge();
  /** Packet number → what it is, for the real ones: every one of them must be accepted. */
  const real = new Map();
  const phase2New = new Set();
  /** @type {string[]} */
  const problems = [];
  /** @type {Omit<FloodFigures, 'max' | 'seconds' | 'heapGrowthMiB' | 'summary'> & Partial<FloodFigures>} */
  const fig = {
    packets: 0,
    flood: 0,
    floodAccepted: 0,
    floodDropped: 0,
    real: 0,
    realAccepted: 0,
    maxTable: 0,
    earlyDrop: 0,
    tableFull: 0,
    phase2NewDropped: 0,
    phase2Established: 0,
    tableFullReason: null,
  };
  /** @type {import('../dist/engine/engine.js').Engine | null} */
  let engineRef = null;

  /** @type {import('../dist/engine/replay.js').PacketSource} */
  const source = async (onRecord, beforeRead) => {
    /** @type {import('../dist/capture/types.js').CaptureRecord} */
    const rec = {
      n: 0,
      tsSec: T0,
      tsNsec: 0,
      linkType: 1,
      ifIndex: 0,
      ifName: '',
      direction: 0,
      caplen: 0,
      len: 0,
      buf: new Uint8Array(0),
      off: 0,
      fileOffset: 0,
    };
    let n = 0;
    let usec = 0;
    const push = (frame, what) => {
      n++;
      usec += 5; // 200,000 packets per second
      rec.n = n;
      rec.tsSec = T0 + Math.floor(usec / 1e6);
      rec.tsNsec = (usec % 1e6) * 1000;
      rec.buf = frame;
      rec.off = 0;
      rec.caplen = rec.len = frame.length;
      rec.fileOffset = n;
      if (what) real.set(n, what);
      onRecord(rec);
    };
    const earlyConns = Array.from({ length: early }, (_, k) => new Conn(k + 1));
    const lateConns = Array.from({ length: late }, (_, k) => new Conn(early + k + 1));
    for (const c of earlyConns) for (const f of [...c.handshake(), ...c.exchange()]) push(f, c.label);

    // Real packets to weave into the flood, in order: data on the early
    // connections, and the late ones' handshakes and data.
    const queue = [];
    const rounds = Math.max(1, Math.floor(sources / gap / Math.max(1, early + late) / 2));
    for (let r = 0; r < rounds; r++) {
      for (const c of earlyConns) queue.push(() => c.exchange());
      if (r < late) {
        const c = lateConns[r];
        queue.push(() => c.handshake());
      }
      for (const c of lateConns.slice(0, Math.min(r, late))) queue.push(() => c.exchange());
    }
    let pending = [];
    let qi = 0;
    for (let i = 0; i < sources; i++) {
      push(forge.make(i), null);
      if (i % gap === gap - 1) {
        if (pending.length === 0 && qi < queue.length) pending = queue[qi++]();
        const f = pending.shift();
        if (f) push(f, 'real');
      }
      if ((i & 0xffff) === 0xffff && beforeRead) {
        const w = beforeRead();
        if (w) await w;
      }
    }
    for (const f of pending) push(f, 'real');
    // After the flood: every real connection still talks, and a new one opens.
    for (const c of [...earlyConns, ...lateConns]) for (const f of c.exchange()) push(f, c.label);
    const after = new Conn(early + late + 1);
    for (const f of [...after.handshake(), ...after.exchange()]) push(f, 'new after the flood');

    if (assuredFill > 0) {
      // Phase 2: ASSURED connections until the table is full, then new SYNs.
      const fill = Array.from({ length: assuredFill }, (_, k) => new Conn(early + late + 2 + k));
      for (const c of fill) for (const f of c.handshake()) push(f, 'fill');
      for (let i = 0; i < newAfterFull; i++) {
        phase2New.add(n + 1);
        push(forge.make(sources + i), null);
      }
      for (const c of earlyConns) for (const f of c.exchange()) push(f, 'established, table full');
    }
    return { format: 'pcap', records: n, bytesRead: 0, warnings: [], truncated: false };
  };

  const started = Date.now();
  const heapBefore = process.memoryUsage().heapUsed;
  let heapPeak = heapBefore;
  const summary = await replay({
    rules: ruleset,
    source,
    onPacket: (r, p, _rec, engine) => {
      engineRef = engine;
      fig.packets++;
      const size = /** @type {NonNullable<typeof engine.ct>} */ (engine.ct).size;
      if (size > fig.maxTable) fig.maxTable = size;
      if ((r.n & 0x3ffff) === 0) heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
      const what = real.get(r.n);
      if (what !== undefined) {
        real.delete(r.n);
        fig.real++;
        if (r.verdict === 'accept') fig.realAccepted++;
        else if (problems.length < 20)
          problems.push(`packet ${r.n} (${what}): ${r.verdict} ${causeName(r.cause)} ${r.detail}`);
        if (what === 'established, table full' && r.verdict === 'accept') fig.phase2Established++;
        return;
      }
      if (phase2New.has(r.n)) {
        if (r.verdict === 'drop' && r.cause === Cause.TABLE_FULL) {
          fig.phase2NewDropped++;
          fig.tableFullReason ??= explain(r, p, engine.compiled);
        } else if (problems.length < 20)
          problems.push(`packet ${r.n} (new flow, table full of ASSURED entries): ${r.verdict} ${causeName(r.cause)}`);
        return;
      }
      fig.flood++;
      if (r.verdict === 'accept') fig.floodAccepted++;
      else fig.floodDropped++;
    },
  });
  heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  const ct = /** @type {NonNullable<typeof summary.engine.ct>} */ (summary.engine.ct);
  fig.earlyDrop = ct.stats.earlyDrop;
  fig.tableFull = ct.stats.tableFull;
  fig.max = ct.settings.max;
  fig.seconds = (Date.now() - started) / 1000;
  fig.heapGrowthMiB = Math.round((heapPeak - heapBefore) / 1048576);
  fig.summary = summaryLines(engineFacts(summary.engine), summary.capture, NO_PAINT);

  if (fig.maxTable > fig.max) problems.push(`the table held ${fig.maxTable} entries, more than max ${fig.max}`);
  if (fig.real !== fig.realAccepted)
    problems.push(`${fig.real - fig.realAccepted} of ${fig.real} real packets not accepted`);
  if (fig.floodDropped !== 0)
    problems.push(
      `${fig.floodDropped} flood SYNs dropped during phase 1: early drop should always find an unassured victim`,
    );
  const expectedEarly = Math.max(0, sources + early + late + 1 - fig.max);
  if (sources + early + late > fig.max && fig.earlyDrop < expectedEarly)
    problems.push(`${fig.earlyDrop} early drops, expected at least ${expectedEarly}`);
  if (fillTable && fig.phase2NewDropped !== newAfterFull)
    problems.push(
      `${fig.phase2NewDropped} of ${newAfterFull} new flows dropped with the table full of ASSURED entries`,
    );
  if (fig.tableFull !== newAfterFull) problems.push(`tableFull counter ${fig.tableFull}`);
  if (
    (fig.earlyDrop || fig.tableFull) &&
    !fig.summary.some((l) => l.includes(`table full: ${fig.earlyDrop} early drops, ${fig.tableFull} new flows dropped`))
  ) {
    problems.push('the summary does not report the table-full figures');
  }
  void engineRef;
  // Every optional figure has been set above.
  return /** @type {FloodFigures & { ok: boolean, problems: string[] }} */ ({
    ok: problems.length === 0,
    problems,
    ...fig,
  });
}
