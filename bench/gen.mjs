/**
 * The benchmark captures, made with the project's own builders (see
 * forge.mjs) and PcapWriter, from fixed seeds: the same bytes on every run.
 * Written to bench/out/ (git-ignored) with a manifest; remade only when the
 * parameters or GEN_VERSION change.
 *
 *   a  churn:  2M TCP packets, 100k concurrent HTTPS-like flows, each with a
 *              handshake, a request, a response of 1-8 segments acked every
 *              second segment, and a FIN close (some RST), replaced as they end.
 *   b  open:   1M flows held open: SYN, SYN/ACK, ACK, a request and a
 *              response each; never closed (5M packets).
 *   c  mixed:  1M packets: TCP over IPv4 and IPv6, SSH attempts the rules drop,
 *              DNS (v4/v6) with some port-unreachable answers (RELATED),
 *              QUIC-like UDP streams, ICMP and ICMPv6 echo.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PcapWriter } from '../dist/capture/write.js';
import { Rng } from '../dist/synth/rng.js';
import { Forge, ip4 } from './forge.mjs';

export const GEN_VERSION = 3;
const START = 1_767_225_600; // 2026-01-01T00:00:00Z

export const CAPTURES = {
  a: { file: 'a-churn.pcap', params: { packets: 2_000_000, concurrent: 100_000, seed: 1 }, make: genChurn },
  b: { file: 'b-open.pcap', params: { flows: 1_000_000, seed: 2 }, make: genOpen },
  bSmall: { file: 'b-open-small.pcap', params: { flows: 1_000, seed: 2 }, make: genOpen },
  c: { file: 'c-mixed.pcap', params: { packets: 1_000_000, concurrent: 20_000, seed: 3 }, make: genMixed },
};

/** Makes (or reuses) a capture; returns its manifest: { path, packets, flows, bytes, ... }. */
/** @param {(line: string) => void} [log] */
export async function ensureCapture(dir, id, log = () => {}) {
  const c = CAPTURES[id];
  mkdirSync(dir, { recursive: true });
  const path = join(dir, c.file);
  const manifestPath = `${path}.json`;
  const want = JSON.stringify({ v: GEN_VERSION, params: c.params });
  if (existsSync(path) && existsSync(manifestPath)) {
    const m = JSON.parse(readFileSync(manifestPath, 'utf8'));
    if (JSON.stringify({ v: m.v, params: m.params }) === want) return { ...m, path };
  }
  log(`generating ${c.file} (${JSON.stringify(c.params)}) ...`);
  const t0 = performance.now();
  const tmp = `${path}.tmp`;
  const w = new Out(tmp);
  const info = c.make(w, c.params);
  await w.close();
  renameSync(tmp, path);
  const m = {
    v: GEN_VERSION,
    params: c.params,
    packets: w.packets,
    bytes: w.bytes,
    ...info,
    verified: w.forge.verified,
  };
  writeFileSync(manifestPath, JSON.stringify(m, null, 2) + '\n');
  log(
    `  ${w.packets} packets, ${(w.bytes / 1e6).toFixed(0)} MB, ${((performance.now() - t0) / 1000).toFixed(1)} s (${w.forge.verified} packets checked against buildPacket)`,
  );
  return { ...m, path };
}

/** PcapWriter plus the capture clock. */
class Out {
  constructor(path) {
    this.w = new PcapWriter(path, { linkType: 1, bufferSize: 4 << 20 });
    this.forge = new Forge();
    this.usec = 0;
    this.packets = 0;
    this.bytes = 24;
  }
  /** Writes the forged packet of `len` bytes, `gapUs` after the previous one. */
  put(len, gapUs) {
    this.usec += gapUs;
    const sec = START + Math.floor(this.usec / 1e6);
    this.w.write(sec, (this.usec % 1e6) * 1000, this.forge.out, 0, len, len);
    this.packets++;
    this.bytes += 16 + len;
  }
  close() {
    return this.w.close();
  }
}

// ---------------------------------------------------------------------------
// TCP conversation (a, c)

/**
 * One HTTPS-like TCP connection as a generator: each next() writes one packet.
 * Linux-like: SYN with MSS/SACK/wscale, a request, a response acked every
 * second segment, then a FIN close from either side, or (3%) an RST.
 */
function* tcpConversation(out, rng, f) {
  const F = out.forge;
  const c = { v6: f.v6, src: f.cip, dst: f.sip, sport: f.cport, dport: f.sport, id: rng.u16() };
  const s = { v6: f.v6, src: f.sip, dst: f.cip, sport: f.sport, dport: f.cport, id: rng.u16() };
  let cseq = rng.u32();
  let sseq = rng.u32();
  const gap = f.gap;
  const tcp = (side, flags, seq, ack, win, len) => {
    side.id = (side.id + 1) & 0xffff;
    return out.put(F.tcp({ ...side, seq, ack, flags, win, len }), gap);
  };
  tcp(c, 'S', cseq, 0, 64240, 0);
  yield;
  tcp(s, 'SA', sseq, cseq + 1, 65160, 0);
  yield;
  cseq++;
  sseq++;
  tcp(c, 'A', cseq, sseq, 502, 0);
  yield;
  const q = rng.int(80, 700);
  tcp(c, 'PA', cseq, sseq, 502, q);
  yield;
  cseq += q;
  const k = rng.int(1, 8);
  for (let j = 0; j < k; j++) {
    const last = j === k - 1;
    const len = last ? rng.int(40, 1448) : 1448;
    tcp(s, last ? 'PA' : 'A', sseq, cseq, 509, len);
    yield;
    sseq += len;
    if (j % 2 === 1 || last) {
      tcp(c, 'A', cseq, sseq, 501, 0);
      yield;
    }
  }
  const r = rng.u32() % 100;
  if (r < 3) {
    tcp(c, 'RA', cseq, sseq, 0, 0);
    return;
  }
  const [a, b] = r < 70 ? [s, c] : [c, s];
  let aseq = a === c ? cseq : sseq;
  let bseq = a === c ? sseq : cseq;
  tcp(a, 'FA', aseq, bseq, 501, 0);
  yield;
  aseq++;
  tcp(b, 'A', bseq, aseq, 501, 0);
  yield;
  tcp(b, 'FA', bseq, aseq, 501, 0);
  yield;
  bseq++;
  tcp(a, 'A', aseq, bseq, 501, 0);
}

// ---------------------------------------------------------------------------
// a: churn

function genChurn(out, { packets, concurrent, seed }) {
  const rng = new Rng(seed);
  const slots = new Array(concurrent);
  const live = new Set();
  let flows = 0;
  const start = (i) => {
    let cip, cport, sip, key;
    do {
      cip = (0x0a000000 | (rng.u32() & 0x7fffff)) >>> 0;
      cport = rng.int(32768, 60999);
      sip = (0x0ac80000 | rng.int(1, 500)) >>> 0;
      key = `${cip}:${cport}:${sip}`;
    } while (live.has(key));
    live.add(key);
    flows++;
    const f = { v6: false, cip, cport, sip, sport: 443, gap: 10 };
    slots[i] = { key, it: tcpConversation(out, rng, f) };
  };
  for (let i = 0; i < concurrent; i++) start(i);
  while (out.packets < packets) {
    const i = rng.u32() % concurrent;
    const sl = slots[i];
    if (sl.it.next().done) {
      live.delete(sl.key);
      start(i);
    }
  }
  return { flows, concurrent };
}

// ---------------------------------------------------------------------------
// b: flows held open

function genOpen(out, { flows, seed }) {
  const rng = new Rng(seed);
  const F = out.forge;
  const cip = new Uint32Array(flows);
  const cport = new Uint16Array(flows);
  const sip = new Uint32Array(flows);
  const cisn = new Uint32Array(flows);
  const sisn = new Uint32Array(flows);
  const qlen = new Uint16Array(flows);
  for (let i = 0; i < flows; i++) {
    // Unique tuples: 16 ports per client address.
    cip[i] = (0x0a000000 + (i >>> 4) + 1) >>> 0;
    cport[i] = 20000 + (i & 15) * 2000 + rng.int(0, 1999);
    sip[i] = (0x0ac80000 | (((i * 7) & 0xff) << 8) | 1) >>> 0;
    cisn[i] = rng.u32();
    sisn[i] = rng.u32();
    qlen[i] = rng.int(60, 400);
  }
  const lag = Math.min(1000, Math.max(1, flows >> 3));
  const pkt = (i, stage) => {
    const c = { v6: false, src: cip[i], dst: sip[i], sport: cport[i], dport: 443, id: (i + stage) & 0xffff };
    const s = { v6: false, src: sip[i], dst: cip[i], sport: 443, dport: cport[i], id: (i + stage) & 0xffff };
    const cs = cisn[i],
      ss = sisn[i];
    switch (stage) {
      case 0:
        return F.tcp({ ...c, flags: 'S', seq: cs, ack: 0, win: 64240, len: 0 });
      case 1:
        return F.tcp({ ...s, flags: 'SA', seq: ss, ack: cs + 1, win: 65160, len: 0 });
      case 2:
        return F.tcp({ ...c, flags: 'A', seq: cs + 1, ack: ss + 1, win: 502, len: 0 });
      case 3:
        return F.tcp({ ...c, flags: 'PA', seq: cs + 1, ack: ss + 1, win: 502, len: qlen[i] });
      default:
        return F.tcp({ ...s, flags: 'PA', seq: ss + 1, ack: cs + 1 + qlen[i], win: 509, len: 200 });
    }
  };
  for (let t = 0; t < flows + 4 * lag; t++) {
    for (let stage = 0; stage < 5; stage++) {
      const i = t - stage * lag;
      if (i >= 0 && i < flows) out.put(pkt(i, stage), 2);
    }
  }
  return { flows };
}

// ---------------------------------------------------------------------------
// c: mixed

function v6addr(prefix, n) {
  return [prefix >>> 0, 0x0000_0001, 0, n >>> 0];
}

function* dnsExchange(out, rng, f) {
  const F = out.forge;
  const id = rng.u16();
  out.put(F.udp({ v6: f.v6, src: f.cip, dst: f.sip, sport: f.cport, dport: 53, len: rng.int(28, 60), id }), f.gap);
  const q = f.unreachable ? F.out.slice(14, 14 + (f.v6 ? 48 : 28)) : null;
  yield;
  if (q !== null) {
    // The resolver is down: its host answers port unreachable, quoting the query (RELATED).
    const spec = f.v6
      ? { link: 'ethernet', ip: { src: fmt6(f.sip), dst: fmt6(f.cip) }, icmpv6: { type: 1, code: 4, quote: q } }
      : {
          link: 'ethernet',
          ip: { src: ip4(f.sip), dst: ip4(f.cip), id: rng.u16() },
          icmp: { type: 3, code: 3, quote: q },
        };
    out.put(F.build(spec), f.gap);
    return;
  }
  out.put(
    F.udp({ v6: f.v6, src: f.sip, dst: f.cip, sport: 53, dport: f.cport, len: rng.int(60, 300), id: rng.u16() }),
    f.gap,
  );
}

function fmt6(w) {
  const parts = [];
  for (const x of w) parts.push(((x >>> 16) & 0xffff).toString(16), (x & 0xffff).toString(16));
  return parts.join(':');
}

function* quicStream(out, rng, f) {
  const F = out.forge;
  const n = rng.int(10, 40);
  for (let i = 0; i < n; i++) {
    const up = i % 3 === 0;
    out.put(
      F.udp(
        up
          ? { v6: f.v6, src: f.cip, dst: f.sip, sport: f.cport, dport: 443, len: rng.int(30, 1200), id: rng.u16() }
          : { v6: f.v6, src: f.sip, dst: f.cip, sport: 443, dport: f.cport, len: rng.int(200, 1350), id: rng.u16() },
      ),
      f.gap,
    );
    yield;
  }
}

function* pings(out, rng, f) {
  const F = out.forge;
  const id = rng.u16();
  const n = rng.int(1, 5);
  for (let i = 1; i <= n; i++) {
    out.put(
      F.echo({ v6: f.v6, src: f.cip, dst: f.sip, type: f.v6 ? 128 : 8, id, seq: i, len: 56, ipId: rng.u16() }),
      f.gap,
    );
    yield;
    out.put(
      F.echo({ v6: f.v6, src: f.sip, dst: f.cip, type: f.v6 ? 129 : 0, id, seq: i, len: 56, ipId: rng.u16() }),
      f.gap,
    );
    yield;
  }
}

function* sshAttempt(out, rng, f) {
  // No rule allows port 22: the SYN and its two retransmissions are dropped.
  const F = out.forge;
  const seq = rng.u32();
  for (let i = 0; i < 3; i++) {
    out.put(
      F.tcp({
        v6: f.v6,
        src: f.cip,
        dst: f.sip,
        sport: f.cport,
        dport: 22,
        seq,
        ack: 0,
        flags: 'S',
        win: 64240,
        len: 0,
        id: rng.u16(),
      }),
      f.gap,
    );
    yield;
  }
}

function genMixed(out, { packets, concurrent, seed }) {
  const rng = new Rng(seed);
  const slots = new Array(concurrent);
  const kinds = {};
  const start = (i) => {
    const r = rng.u32() % 100;
    const v6 = rng.u32() % 100 < 35;
    const cip = v6 ? v6addr(0xfd000001, rng.u32()) : (0x0a000000 | (rng.u32() & 0x7fffff)) >>> 0;
    const sip = v6 ? v6addr(0xfd00c800, rng.int(1, 200)) : (0x0ac80000 | rng.int(1, 200)) >>> 0;
    const f = { v6, cip, sip, cport: rng.int(32768, 60999), sport: 443, gap: 10, unreachable: false };
    let kind, it;
    if (r < 50) {
      kind = 'tcp';
      it = tcpConversation(out, rng, f);
    } else if (r < 54) {
      kind = 'ssh-dropped';
      it = sshAttempt(out, rng, f);
    } else if (r < 74) {
      kind = 'dns';
      f.unreachable = rng.u32() % 20 === 0;
      it = dnsExchange(out, rng, f);
    } else if (r < 86) {
      kind = 'quic';
      it = quicStream(out, rng, f);
    } else {
      kind = 'ping';
      it = pings(out, rng, f);
    }
    const k = `${kind}${v6 ? '6' : '4'}`;
    kinds[k] = (kinds[k] ?? 0) + 1;
    slots[i] = it;
  };
  for (let i = 0; i < concurrent; i++) start(i);
  while (out.packets < packets) {
    const i = rng.u32() % concurrent;
    if (slots[i].next().done) start(i);
  }
  return { flowsByKind: kinds, concurrent };
}
