/**
 * Fast packet forging for the benchmark captures.
 *
 * buildPacket() (src/packet/encode.ts) is the project's frame builder; at
 * ~15 us a packet it would take minutes to make the benchmark captures. So
 * each packet shape (IP version x protocol x TCP options) is built once with
 * buildPacket() as a template, and packets are made by copying the template
 * and patching addresses, ports, sequence numbers, lengths and checksums.
 * Every VERIFY_EVERY-th packet is also built with buildPacket() from the same
 * spec and must be byte-for-byte equal, so the fast path cannot drift from
 * the builder.
 */
import { buildPacket } from '../dist/packet/encode.js';
import { onesSum, finishChecksum } from '../dist/packet/checksum.js';

const VERIFY_EVERY = Number(process.env.BENCH_VERIFY_EVERY) || 4999;
const MAX_PAYLOAD = 1460;
const ETH = 14;

export const TCP_SYN_OPTS = { mss: 1460, sackPermitted: true, wscale: 7 };

export function ip4(w) {
  return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
}

export function ip6(words) {
  const parts = [];
  for (const w of words) parts.push(((w >>> 16) & 0xffff).toString(16), (w & 0xffff).toString(16));
  return parts.join(':');
}

function flagBits(f) {
  // The subset of encode.ts parseTcpFlags letters the generators use.
  let b = 0;
  for (const c of f) {
    b |= c === 'F' ? 1 : c === 'S' ? 2 : c === 'R' ? 4 : c === 'P' ? 8 : c === 'A' || c === '.' ? 16 : 0;
  }
  return b;
}

export class Forge {
  constructor() {
    this.out = new Uint8Array(ETH + 60 + 60 + MAX_PAYLOAD);
    this.templates = new Map();
    this.count = 0;
    this.verified = 0;
    // Ones-complement sums of the builder's payload pattern ("ABC...") by length.
    const pattern = buildPacket({
      link: 'raw',
      ip: { src: '1.1.1.1', dst: '2.2.2.2' },
      udp: { sport: 1, dport: 2, payload: MAX_PAYLOAD },
    }).subarray(28);
    this.paySum = new Float64Array(MAX_PAYLOAD + 1);
    for (let n = 0; n <= MAX_PAYLOAD; n++) this.paySum[n] = onesSum(pattern, 0, n);
  }

  template(key, spec) {
    let t = this.templates.get(key);
    if (t === undefined) {
      t = buildPacket(spec);
      this.templates.set(key, t);
    }
    return t;
  }

  /** Writes the common IP part; returns the L4 offset. `a` holds src/dst as numbers (v4) or 4-word arrays (v6). */
  ipHeader(v6, src, dst, _proto, l4len, id, tmpl, ttl) {
    const o = this.out;
    if (!v6) {
      o.set(tmpl.subarray(0, ETH + 20), 0);
      const tot = 20 + l4len;
      o[16] = tot >>> 8;
      o[17] = tot & 255;
      o[18] = (id >>> 8) & 255;
      o[19] = id & 255;
      o[22] = ttl;
      o[24] = 0;
      o[25] = 0;
      w32(o, 26, src);
      w32(o, 30, dst);
      const c = finishChecksum(onesSum(o, ETH, 20));
      o[24] = c >>> 8;
      o[25] = c & 255;
      return ETH + 20;
    }
    o.set(tmpl.subarray(0, ETH + 40), 0);
    o[18] = l4len >>> 8;
    o[19] = l4len & 255;
    o[21] = ttl;
    for (let i = 0; i < 4; i++) {
      w32(o, 22 + 4 * i, src[i]);
      w32(o, 38 + 4 * i, dst[i]);
    }
    return ETH + 40;
  }

  pseudo(v6, src, dst, proto, len) {
    let s = proto + len;
    if (!v6) return s + (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff);
    for (let i = 0; i < 4; i++) s += (src[i] >>> 16) + (src[i] & 0xffff) + (dst[i] >>> 16) + (dst[i] & 0xffff);
    return s;
  }

  /**
   * TCP segment. p: { v6, src, dst, sport, dport, seq, ack, flags ('S', 'SA', 'A', 'PA', 'FA', 'R', 'RA'), win, len, id, ttl }.
   * SYNs carry TCP_SYN_OPTS. Returns the frame length (bytes in this.out).
   */
  tcp(p) {
    const syn = p.flags.includes('S');
    const key = `tcp${p.v6 ? 6 : 4}${syn ? 's' : ''}`;
    const spec = this.tcpSpec(p, syn);
    const tmpl = this.template(key, { ...spec, ip: { ...spec.ip, id: 0 }, tcp: { ...spec.tcp, payload: MAX_PAYLOAD } });
    const hl = syn ? 32 : 20;
    const l4len = hl + p.len;
    const l4 = this.ipHeader(p.v6, p.src, p.dst, 6, l4len, p.id ?? 0, tmpl, p.ttl ?? 64);
    const o = this.out;
    o.set(tmpl.subarray(l4, l4 + l4len), l4);
    w16(o, l4, p.sport);
    w16(o, l4 + 2, p.dport);
    w32(o, l4 + 4, p.seq >>> 0);
    w32(o, l4 + 8, p.ack >>> 0);
    o[l4 + 13] = flagBits(p.flags);
    w16(o, l4 + 14, p.win);
    o[l4 + 16] = 0;
    o[l4 + 17] = 0;
    const c = finishChecksum(onesSum(o, l4, hl, this.pseudo(p.v6, p.src, p.dst, 6, l4len)) + this.paySum[p.len]);
    w16(o, l4 + 16, c);
    return this.done(l4 + l4len, spec);
  }

  tcpSpec(p, syn) {
    return {
      link: 'ethernet',
      ip: {
        src: p.v6 ? ip6(p.src) : ip4(p.src),
        dst: p.v6 ? ip6(p.dst) : ip4(p.dst),
        id: p.v6 ? undefined : (p.id ?? 0),
        ttl: p.ttl ?? 64,
      },
      tcp: {
        sport: p.sport,
        dport: p.dport,
        seq: p.seq >>> 0,
        ack: p.ack >>> 0,
        flags: p.flags,
        window: p.win,
        ...(syn ? { options: TCP_SYN_OPTS } : {}),
        payload: p.len,
      },
    };
  }

  /** UDP datagram. p: { v6, src, dst, sport, dport, len, id, ttl }. */
  udp(p) {
    const key = `udp${p.v6 ? 6 : 4}`;
    const spec = {
      link: 'ethernet',
      ip: {
        src: p.v6 ? ip6(p.src) : ip4(p.src),
        dst: p.v6 ? ip6(p.dst) : ip4(p.dst),
        id: p.v6 ? undefined : (p.id ?? 0),
        ttl: p.ttl ?? 64,
      },
      udp: { sport: p.sport, dport: p.dport, payload: p.len },
    };
    const tmpl = this.template(key, { ...spec, ip: { ...spec.ip, id: 0 }, udp: { ...spec.udp, payload: MAX_PAYLOAD } });
    const l4len = 8 + p.len;
    const l4 = this.ipHeader(p.v6, p.src, p.dst, 17, l4len, p.id ?? 0, tmpl, p.ttl ?? 64);
    const o = this.out;
    o.set(tmpl.subarray(l4, l4 + l4len), l4);
    w16(o, l4, p.sport);
    w16(o, l4 + 2, p.dport);
    w16(o, l4 + 4, l4len);
    o[l4 + 6] = 0;
    o[l4 + 7] = 0;
    let c = finishChecksum(onesSum(o, l4, 8, this.pseudo(p.v6, p.src, p.dst, 17, l4len)) + this.paySum[p.len]);
    if (c === 0) c = 0xffff;
    w16(o, l4 + 6, c);
    return this.done(l4 + l4len, spec);
  }

  /** ICMP / ICMPv6 echo. p: { v6, src, dst, type, id, seq, len, ipId, ttl }. */
  echo(p) {
    const key = `echo${p.v6 ? 6 : 4}`;
    const icmp = { type: p.type, code: 0, id: p.id, seq: p.seq, payload: p.len };
    const spec = {
      link: 'ethernet',
      ip: {
        src: p.v6 ? ip6(p.src) : ip4(p.src),
        dst: p.v6 ? ip6(p.dst) : ip4(p.dst),
        id: p.v6 ? undefined : (p.ipId ?? 0),
        ttl: p.ttl ?? 64,
      },
      ...(p.v6 ? { icmpv6: icmp } : { icmp }),
    };
    const tmplIcmp = { ...icmp, payload: MAX_PAYLOAD };
    const tmpl = this.template(key, {
      ...spec,
      ip: { ...spec.ip, id: 0 },
      ...(p.v6 ? { icmpv6: tmplIcmp } : { icmp: tmplIcmp }),
    });
    const l4len = 8 + p.len;
    const proto = p.v6 ? 58 : 1;
    const l4 = this.ipHeader(p.v6, p.src, p.dst, proto, l4len, p.ipId ?? 0, tmpl, p.ttl ?? 64);
    const o = this.out;
    o.set(tmpl.subarray(l4, l4 + l4len), l4);
    o[l4] = p.type;
    o[l4 + 1] = 0;
    o[l4 + 2] = 0;
    o[l4 + 3] = 0;
    w16(o, l4 + 4, p.id);
    w16(o, l4 + 6, p.seq);
    const base = p.v6 ? this.pseudo(true, p.src, p.dst, 58, l4len) : 0;
    w16(o, l4 + 2, finishChecksum(onesSum(o, l4, 8, base) + this.paySum[p.len]));
    return this.done(l4 + l4len, spec);
  }

  /** Any packet straight from buildPacket (rare kinds: ICMP errors). */
  build(spec) {
    const b = buildPacket(spec);
    this.out.set(b, 0);
    this.count++;
    return b.length;
  }

  done(len, spec) {
    if (++this.count % VERIFY_EVERY === 0) {
      const ref = buildPacket(spec);
      const got = this.out.subarray(0, len);
      if (ref.length !== len || ref.some((b, i) => b !== got[i])) {
        throw new Error(`forged packet differs from buildPacket(${JSON.stringify(spec)})`);
      }
      this.verified++;
    }
    return len;
  }
}

function w16(o, at, v) {
  o[at] = (v >>> 8) & 255;
  o[at + 1] = v & 255;
}

function w32(o, at, v) {
  o[at] = v >>> 24;
  o[at + 1] = (v >>> 16) & 255;
  o[at + 2] = (v >>> 8) & 255;
  o[at + 3] = v & 255;
}
