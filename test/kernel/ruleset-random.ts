/**
 * Random sessions over a corpus ruleset's topology (its host file): hosts
 * drawn from the networks behind each interface and from the Internet
 * behind the default route, the firewall's own addresses, and ports the
 * ruleset names (plus a few it does not), in both families where the
 * topology has them. Unlike fw-random.ts, which writes its own rule files
 * and so knows their NAT, nothing here predicts what a real ruleset
 * translates: replies are addressed to the flow as sent, so a translated
 * flow's replies test that both sides drop (or take) the same packets that
 * belong to no connection. Every source port and echo id is unique in a
 * capture, so no two flows clash by accident.
 *
 * Everything is a function of the seed.
 */
import { echo, ether, TCP, tcp, udp, writePcapng } from './pcapwriter.js';
import { Prng } from './random.js';
import type { HostFile } from './ruleset-corpus.js';
import { parseCidr, type Cidr } from './topology.js';

const INTERNET = { 4: parseCidr('198.51.100.0/24'), 6: parseCidr('2001:db8:ff00::/64') };
const OTHER_PORTS = [21, 23, 25, 53, 123, 139, 445, 3306, 5000, 8443, 9999];

function text(v: 4 | 6, b: Uint8Array): string {
  if (v === 4) return [...b].join('.');
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((b[i] << 8) | b[i + 1]).toString(16));
  return g.join(':');
}

/** A host address inside `c` (host part neither all zeros nor all ones), not one of `own`. */
function hostIn(rng: Prng, c: Cidr, own: Set<string>): string | null {
  const len = c.v === 4 ? 4 : 16;
  const k = Math.min(len * 8 - c.bits, 16);
  if (k < 2) return null;
  for (let tries = 0; tries < 20; tries++) {
    const n = rng.int(1, 2 ** k - 2);
    const b = c.bytes.slice(0, len);
    for (let bit = c.bits; bit < len * 8; bit++) b[bit >> 3] &= ~(0x80 >> (bit % 8));
    for (let j = 0; j < k; j++) if ((n >> j) & 1) b[(len * 8 - 1 - j) >> 3] |= 0x80 >> ((len * 8 - 1 - j) % 8);
    const t = text(c.v, b);
    if (!own.has(t)) return t;
  }
  return null;
}

interface Place {
  kind: 'own' | 'net' | 'internet';
  /** The interface its packets come in by (null: the firewall itself). */
  leg: string | null;
  addrs: { 4: string[]; 6: string[] };
}

export interface RandomTraffic {
  packets: number;
  sessions: string[];
}

/** Writes `sessions` random sessions over the host's topology to `path` (pcap); returns what it wrote. */
export function randomTraffic(
  seed: number,
  host: HostFile,
  ports: number[],
  sessions: number,
  path: string,
): RandomTraffic {
  const rng = new Prng(seed);
  const own = new Set<string>();
  const places: Place[] = [];
  const ownPlace: Place = { kind: 'own', leg: null, addrs: { 4: [], 6: [] } };
  let defaultLeg: string | null = null;
  for (const [name, i] of Object.entries(host.interfaces)) {
    const addrs = [i.addresses ?? []].flat();
    for (const a of addrs) {
      const c = parseCidr(a);
      const t = a.split('/')[0];
      own.add(text(c.v, c.bytes));
      ownPlace.addrs[c.v].push(t);
    }
    if (i.default) defaultLeg = name;
  }
  places.push(ownPlace);
  for (const [name, i] of Object.entries(host.interfaces)) {
    const nets = [...[i.addresses ?? []].flat(), ...[i.networks ?? []].flat()].map(parseCidr);
    const p: Place = { kind: 'net', leg: name, addrs: { 4: [], 6: [] } };
    for (const n of nets)
      for (let k = 0; k < 3; k++) {
        const h = hostIn(rng, n, own);
        if (h) p.addrs[n.v].push(h);
      }
    if (p.addrs[4].length + p.addrs[6].length > 0) places.push(p);
  }
  if (defaultLeg !== null) {
    const p: Place = { kind: 'internet', leg: defaultLeg, addrs: { 4: [], 6: [] } };
    for (let k = 0; k < 4; k++) {
      p.addrs[4].push(hostIn(rng, INTERNET[4], own)!);
      p.addrs[6].push(hostIn(rng, INTERNET[6], own)!);
    }
    places.push(p);
  }
  const aim = [...ports, ...OTHER_PORTS];
  const legs = Object.keys(host.interfaces);
  const frames: NamedFrame[] = [];
  const made: string[] = [];
  let nextPort = 30000;
  let nextId = 7000;
  let seq = rng.u32();
  let t = 1_700_000_000;
  /** The interface the capture names for the packet: none (the harness and fwemu route by address) unless spoofed. */
  let via: string | null = null;
  const push = (ip: Uint8Array, leg: string | null = null) =>
    frames.push({ data: ether(ip), ts: (t += 0.0005), ifName: leg });
  for (let s = 0; s < sessions * 10 && made.length < sessions; s++) {
    const from = rng.pick(places);
    const to = rng.pick(places);
    if (from === to && from.kind !== 'net') continue;
    const fam: 4 | 6 = rng.chance(0.35) ? 6 : 4;
    if (from.addrs[fam].length === 0 || to.addrs[fam].length === 0) continue;
    const src = rng.pick(from.addrs[fam]);
    const dst = rng.pick(to.addrs[fam]);
    if (src === dst) continue;
    const kind = rng.weighted([
      [5, 'tcp'],
      [2, 'tcp-syn'],
      [3, 'udp'],
      [2, 'echo'],
    ] as const);
    // Now and then the client's packets come in by another interface than its address is behind
    // (a spoofed source, or asymmetric routing): what iifname rules and reverse-path filters see.
    via = null;
    if (from.leg !== null && legs.length > 1 && rng.chance(0.15)) via = rng.pick(legs.filter((l) => l !== from.leg));
    const out = (ip: Uint8Array) => push(ip, via);
    const sport = (nextPort += 7);
    const dport = rng.pick(aim);
    const a = (seq = (seq * 1103515245 + 12345) >>> 0);
    const b = (a ^ 0x5bd1e995) >>> 0;
    if (kind === 'tcp' || kind === 'tcp-syn') {
      const c = { src, dst, sport, dport };
      const r = { src: dst, dst: src, sport: dport, dport: sport };
      out(tcp({ ...c, seq: a, ack: 0, flags: TCP.SYN }));
      if (kind === 'tcp') {
        push(tcp({ ...r, seq: b, ack: a + 1, flags: TCP.SYN | TCP.ACK }));
        out(tcp({ ...c, seq: a + 1, ack: b + 1, flags: TCP.ACK }));
        out(tcp({ ...c, seq: a + 1, ack: b + 1, flags: TCP.PSH | TCP.ACK, payload: 'q'.repeat(rng.int(1, 200)) }));
        out(tcp({ ...c, seq: a + 1, ack: b + 1, flags: TCP.RST }));
      }
    } else if (kind === 'udp') {
      out(udp({ src, dst, sport, dport, payload: 'request' }));
      if (rng.chance(0.8)) push(udp({ src: dst, dst: src, sport: dport, dport: sport, payload: 'answer' }));
    } else {
      const id = ++nextId;
      out(echo({ src, dst, id, seq: 1 }));
      if (rng.chance(0.8)) push(echo({ src: dst, dst: src, id, seq: 1, reply: true }));
    }
    made.push(
      `${kind} IPv${fam} ${src}:${kind === 'echo' ? nextId : sport} -> ${dst}:${kind === 'echo' ? '' : dport}${via ? ` in by ${via}` : ''}`,
    );
  }
  writeNamedPcapng(path, frames, legs);
  return { packets: frames.length, sessions: made };
}

interface NamedFrame {
  data: Uint8Array;
  ts: number;
  /** The interface the capture names (an IDB with if_name), or null (an IDB without a name). */
  ifName: string | null;
}

/**
 * pcapng with one unnamed Ethernet interface and one per leg (if_name), each
 * packet on the one its frame names: a capture taken on the firewall's
 * interfaces, where the spoofed packets show by which one they came in.
 */
function writeNamedPcapng(path: string, frames: readonly NamedFrame[], legs: readonly string[]): void {
  const indexed = frames.map((f) => ({ ...f, ifIndex: f.ifName === null ? 0 : 1 + legs.indexOf(f.ifName) }));
  writePcapng(path, indexed, 1, [null, ...legs]);
}
