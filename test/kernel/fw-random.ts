/**
 * Randomized corpus for the firewall model (interfaces, chains, sets, NAT)
 * against the kernel: seeded random rule files and seeded random sessions
 * between the roles a small gateway has (LAN hosts, WAN servers and
 * clients, a DMZ, the router itself), built directly as packets and
 * interleaved into one capture per batch (fw-random.test.ts compares them
 * with compareFirewall).
 *
 *   const corpus = buildFwCorpus({ seed: 1234, batches: 4, sessionsPerBatch: 70, dir });
 *
 * Replies are addressed as the far end sees the flow: to the masquerade or
 * SNAT address with the port kept, from the DNAT or redirect target. To know
 * those, the generator evaluates its own NAT rules (the few conditions it
 * draws them from) on each session's first packet (predict(), in
 * fw-random-rules.ts with the rule files). That only addresses packets;
 * what happens to them is the kernel's to say. A
 * flow whose new port the kernel would pick at random (a NAT port range the
 * source port is outside of, two LAN hosts with the same source port to one
 * server) gets its first packets only, to servers no other session talks to,
 * so that the random port cannot clash with anything later.
 *
 * Every source port and ICMP id in a batch is unique (so no flow clashes with
 * another by accident). A batch spans well under 2 s of capture time and a
 * session's packets lie close together (a window of a dozen sessions under
 * way at once), so they are less than 2 s apart on the capture's clock and
 * on the kernel's while it replays: no UDP stream turns ASSURED on one side
 * only, and no entry times out on either.
 *
 * Everything is a function of the seed: FWEMU_SEED=<n> replays a run.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { echo, ether, icmp6, ipPacket, TCP, tcp, udp, writePcap } from './pcapwriter.js';
import {
  CLASH_SERVERS,
  DMZ_HOSTS,
  type Fam,
  famOf,
  addrNum,
  firstAddr,
  type Flow,
  type Host,
  isOwn,
  type L4,
  LAN_HOSTS,
  legOf,
  NAT_PORTS,
  predict,
  randomFwRules,
  REMAP_SERVER,
  type RuleFile,
  TCP_OUT,
  UDP_OUT,
  WAN_CLIENTS,
  WAN_HOP,
  WAN_SERVERS,
} from './fw-random-rules.js';
import { Prng } from './random.js';

// ----------------------------------------------------------------- sessions

export const FW_SESSION_KINDS = [
  'tcp',
  'tcp-refused',
  'tcp-rst',
  'tcp-midstream',
  'udp',
  'echo',
  'icmp-error',
  'synack-noflow',
  'clash',
] as const;
export type FwSessionKind = (typeof FW_SESSION_KINDS)[number];

export const FW_ROLES = [
  'lan-wan',
  'wan-fwd',
  'lan-router',
  'wan-router',
  'router-out',
  'lan-dmz',
  'dmz-lan',
  'dmz-wan',
] as const;
export type FwRole = (typeof FW_ROLES)[number];

export interface FwSession {
  id: string;
  kind: FwSessionKind;
  role: FwRole;
  family: Fam;
  /** The NAT the generator expects ('none', 'masq', 'dnat', 'redirect+...'; 'remap': the kernel picks the port). */
  nat: string;
  /** kind x NAT: the class figures are given per. */
  cls: string;
  summary: string;
  /** The first packet's tuple, as sent. */
  flow: Flow;
  /** The same as the far end sees it (after NAT), when the generator could tell. */
  out?: Flow;
  /** Packet numbers (1-based) in the batch's capture. */
  packets: number[];
  ip: Uint8Array[];
}

interface BatchState {
  rng: Prng;
  rf: RuleFile;
  nextPort: number;
  nextNatPort: number;
  nextId: number;
  nextSeq: number;
  nextClash: number;
}

function ipOf(h: Host, fam: Fam): string {
  return fam === 4 ? h.v4 : h.v6;
}

/** The packet a flow's far end gets (or sends back), as bytes. */
function pkt(f: Flow, rev: boolean, flags: number, seq: number, ack: number, payload = ''): Uint8Array {
  const src = rev ? f.dst : f.src;
  const dst = rev ? f.src : f.dst;
  const sport = rev ? f.dport : f.sport;
  const dport = rev ? f.sport : f.dport;
  if (f.proto === 'tcp') return tcp({ src, dst, sport, dport, seq, ack, flags, payload });
  if (f.proto === 'udp') return udp({ src, dst, sport, dport, payload });
  return echo({ src, dst, id: f.sport, seq, reply: rev });
}

/** An ICMP(v6) error from `from` to the flow's source as the far end sees it, quoting its packet as seen there. */
function icmpError(rng: Prng, out: Flow, from: string, kind: 'unreach' | 'ttl', to = out.src): Uint8Array {
  const quoted =
    out.proto === 'tcp'
      ? tcp({ src: out.src, dst: out.dst, sport: out.sport, dport: out.dport, seq: 1, flags: TCP.SYN, ttl: 63 })
      : out.proto === 'udp'
        ? udp({ src: out.src, dst: out.dst, sport: out.sport, dport: out.dport, payload: 'quoted', ttl: 63 })
        : echo({ src: out.src, dst: out.dst, id: out.sport, seq: 1, ttl: 63 });
  // Port unreachable from the far end of a TCP/UDP flow; else host (address) unreachable.
  const port = from === out.dst && out.proto !== 'icmp';
  if (out.fam === 6) {
    const type = kind === 'ttl' ? 3 : 1;
    const code = kind === 'ttl' ? 0 : port ? 4 : 3;
    return icmp6({ src: from, dst: to, type, code, body: [0, 0, 0, 0, ...quoted] });
  }
  const q = rng.chance(0.5) ? quoted.subarray(0, 28) : quoted; // the IPv4 minimum (header + 8 bytes) or all
  const l4 = new Uint8Array(8 + q.length);
  l4[0] = kind === 'ttl' ? 11 : 3;
  l4[1] = kind === 'ttl' ? 0 : port ? 3 : 1;
  l4.set(q, 8);
  const p = ipPacket({ src: from, dst: to }, 1, l4, null);
  let sum = 0;
  for (let i = 20; i < p.length; i += 2) sum += (p[i] << 8) | (p[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  p[22] = c >> 8;
  p[23] = c & 0xff;
  return p;
}

/** Pick the two ends of a session for a role; null when the batch has nothing for it. */
function ends(st: BatchState, role: FwRole, fam: Fam, proto: L4): { src: string; dst: string; dport: number } | null {
  const { rng, rf } = st;
  const t = rf.topology;
  const port = (tcpPorts: number[], udpPorts: number[]) => (proto === 'tcp' ? rng.pick(tcpPorts) : rng.pick(udpPorts));
  switch (role) {
    case 'lan-wan': {
      // Now and then a port a redirect takes (to the router itself).
      const redir = rf.nat.filter(
        (r) => r.kind === 'redirect' && r.proto === proto && (!r.dst || famOf(r.dst[0]) === fam),
      );
      if (redir.length > 0 && rng.chance(0.3)) {
        const r = rng.pick(redir);
        return {
          src: ipOf(rng.pick(LAN_HOSTS), fam),
          dst: r.dst ? r.dst[0] : ipOf(rng.pick(WAN_SERVERS), fam),
          dport: r.dport![0],
        };
      }
      return {
        src: ipOf(rng.pick(LAN_HOSTS), fam),
        dst: ipOf(rng.pick(WAN_SERVERS), fam),
        dport: port([...TCP_OUT, 3128], UDP_OUT),
      };
    }
    case 'wan-fwd': {
      const fw = rf.nat.filter((r) => r.kind === 'dnat' && r.proto === proto && famOf(r.addr!) === fam);
      if (fw.length === 0) return null;
      const r = rng.pick(fw);
      return {
        src: ipOf(rng.pick(WAN_CLIENTS), fam),
        dst: r.dst ? r.dst[0] : firstAddr(t.wan, fam),
        dport: rng.pick(r.dport!),
      };
    }
    case 'lan-router':
      return {
        src: ipOf(rng.pick(LAN_HOSTS), fam),
        dst: rng.chance(0.8) ? firstAddr(t.lan, fam) : firstAddr(t.wan, fam),
        dport: port([22, 53, 80, 8080], [53, 67, 123]),
      };
    case 'wan-router':
      return {
        src: ipOf(rng.pick(WAN_CLIENTS), fam),
        dst: rng.pick(fam === 4 ? t.wan.v4 : t.wan.v6),
        dport: port([22, 80, 443], [500, 53, 4500]),
      };
    case 'router-out': {
      const own = rf.nat.filter((r) => r.hook === 'out' && r.proto === proto && fam === 4);
      if (own.length > 0 && rng.chance(0.4)) {
        const r = rng.pick(own);
        return { src: firstAddr(t.wan, fam), dst: r.dst![0], dport: r.dport![0] };
      }
      if (rng.chance(0.25))
        return { src: firstAddr(t.lan, fam), dst: ipOf(rng.pick(LAN_HOSTS), fam), dport: port([22, 80], [514, 53]) };
      return {
        src: firstAddr(t.wan, fam),
        dst: ipOf(rng.pick(WAN_SERVERS), fam),
        dport: port([80, 443, 25], [53, 123]),
      };
    }
    case 'lan-dmz':
      if (!t.dmz) return null;
      return {
        src: ipOf(rng.pick(LAN_HOSTS), fam),
        dst: ipOf(rng.pick(DMZ_HOSTS), fam),
        dport: port([22, 80, 443, 5432], [53, 514]),
      };
    case 'dmz-wan':
      if (!t.dmz) return null;
      return {
        src: ipOf(rng.pick(DMZ_HOSTS), fam),
        dst: ipOf(rng.pick(WAN_SERVERS), fam),
        dport: port(TCP_OUT, UDP_OUT),
      };
    case 'dmz-lan':
      if (!t.dmz) return null;
      return { src: ipOf(rng.pick(DMZ_HOSTS), fam), dst: ipOf(rng.pick(LAN_HOSTS), fam), dport: port([22, 445], [53]) };
  }
}

/** A fresh source port: inside the NAT port range when the flow would be translated by one, unless `outside`. */
function sourcePort(st: BatchState, f: Flow, outside: boolean): number {
  const r = st.rf.nat.find((x) => x.hook === 'post' && x.ports);
  const pr = predict(st.rf.topology, st.rf.nat, st.rf.sets, { ...f, sport: NAT_PORTS[1] });
  const ranged = r !== undefined && pr.nat.includes('-ports');
  if (ranged && !outside) {
    st.nextNatPort += 3;
    return st.nextNatPort;
  }
  st.nextPort += 3;
  return st.nextPort;
}

/** One random session: its packets in order, or null when the batch cannot have it (no DMZ, no port forward). */
function makeSession(st: BatchState, id: string, kind: FwSessionKind, role: FwRole): FwSession | null {
  const { rng } = st;
  const fam: Fam = rng.chance(0.3) ? 6 : 4;
  const proto: L4 =
    kind === 'udp'
      ? 'udp'
      : kind === 'echo'
        ? 'icmp'
        : kind === 'icmp-error'
          ? rng.pick(['udp', 'udp', 'tcp', 'icmp'] as const)
          : kind === 'clash'
            ? rng.pick(['tcp', 'udp'] as const)
            : 'tcp';
  const e = ends(st, role, fam, proto);
  if (e === null) return null;
  const ip: Uint8Array[] = [];
  const flow: Flow = { fam, proto, src: e.src, dst: e.dst, sport: 0, dport: e.dport };
  if (proto === 'icmp') flow.sport = flow.dport = ++st.nextId;
  else flow.sport = sourcePort(st, flow, false);

  if (kind === 'clash') {
    // Two LAN hosts, one source port, one server: the second needs a new port, the kernel's is random.
    if (role !== 'lan-wan' || fam !== 4) return null;
    const a = rng.pick(LAN_HOSTS);
    const b = LAN_HOSTS.find((h) => h !== a)!;
    const server = CLASH_SERVERS[st.nextClash++ % CLASH_SERVERS.length].v4;
    const f1 = { ...flow, src: a.v4, dst: server };
    const p = predict(st.rf.topology, st.rf.nat, st.rf.sets, f1);
    if (!p.nat.startsWith('masq') && !p.nat.startsWith('snat')) return null;
    if (p.nat.includes('range')) return null; // two sources may hash to two addresses: no clash then
    const f2 = { ...f1, src: b.v4 };
    const first = (f: Flow) => (proto === 'tcp' ? pkt(f, false, TCP.SYN, 1000, 0) : pkt(f, false, 0, 0, 0, 'query'));
    ip.push(first(f1), first(f2));
    return done(
      f1,
      id,
      kind,
      role,
      fam,
      p.nat,
      `${a.v4} and ${b.v4} :${flow.sport} -> ${server}:${flow.dport}/${proto}`,
      ip,
    );
  }

  let pr = predict(st.rf.topology, st.rf.nat, st.rf.sets, flow);
  // Now and then a source port outside a NAT port range: the kernel moves it at random; first packet only.
  if (pr.nat.includes('-ports') && proto !== 'icmp' && rng.chance(0.15) && role === 'lan-wan') {
    flow.dst = ipOf(REMAP_SERVER, fam);
    flow.sport = sourcePort(st, flow, true);
    pr = predict(st.rf.topology, st.rf.nat, st.rf.sets, flow);
    if (pr.predictable) return null;
    ip.push(proto === 'tcp' ? pkt(flow, false, TCP.SYN, 1000, 0) : pkt(flow, false, 0, 0, 0, 'query'));
    return done(
      flow,
      id,
      kind,
      role,
      fam,
      `${pr.nat} moved`,
      `${flow.src}:${flow.sport} -> ${flow.dst}:${flow.dport}/${proto} (port outside the NAT range)`,
      ip,
    );
  }
  if (!pr.predictable) return null;
  const o = pr.out;
  const a = (st.nextSeq = (st.nextSeq * 1103515245 + 12345) >>> 0);
  const b = (a ^ 0x5bd1e995) >>> 0;
  const data = () => 'x'.repeat(rng.int(1, 300));

  switch (kind) {
    case 'tcp': {
      const n1 = rng.int(1, 400);
      const n2 = rng.int(1, 900);
      ip.push(pkt(flow, false, TCP.SYN, a, 0));
      ip.push(pkt(o, true, TCP.SYN | TCP.ACK, b, a + 1));
      ip.push(pkt(flow, false, TCP.ACK, a + 1, b + 1));
      ip.push(pkt(flow, false, TCP.PSH | TCP.ACK, a + 1, b + 1, 'q'.repeat(n1)));
      ip.push(pkt(o, true, TCP.PSH | TCP.ACK, b + 1, a + 1 + n1, 'r'.repeat(n2)));
      ip.push(pkt(flow, false, TCP.ACK, a + 1 + n1, b + 1 + n2));
      if (rng.chance(0.7)) {
        const clientFirst = rng.chance(0.6);
        if (clientFirst) {
          ip.push(pkt(flow, false, TCP.FIN | TCP.ACK, a + 1 + n1, b + 1 + n2));
          ip.push(pkt(o, true, TCP.FIN | TCP.ACK, b + 1 + n2, a + 2 + n1));
          ip.push(pkt(flow, false, TCP.ACK, a + 2 + n1, b + 2 + n2));
        } else {
          ip.push(pkt(o, true, TCP.FIN | TCP.ACK, b + 1 + n2, a + 1 + n1));
          ip.push(pkt(flow, false, TCP.FIN | TCP.ACK, a + 1 + n1, b + 2 + n2));
          ip.push(pkt(o, true, TCP.ACK, b + 2 + n2, a + 2 + n1));
        }
      }
      break;
    }
    case 'tcp-refused':
      ip.push(pkt(flow, false, TCP.SYN, a, 0));
      ip.push(pkt(o, true, TCP.RST | TCP.ACK, 0, a + 1));
      if (rng.chance(0.3)) ip.push(pkt(flow, false, TCP.SYN, a, 0)); // a retry after the refusal
      break;
    case 'tcp-rst': {
      // The far end resets an established connection with a RST in window.
      ip.push(pkt(flow, false, TCP.SYN, a, 0));
      ip.push(pkt(o, true, TCP.SYN | TCP.ACK, b, a + 1));
      ip.push(pkt(flow, false, TCP.ACK, a + 1, b + 1));
      const n = rng.int(1, 200);
      ip.push(pkt(flow, false, TCP.PSH | TCP.ACK, a + 1, b + 1, 'd'.repeat(n)));
      ip.push(pkt(o, true, TCP.RST, b + 1 + rng.int(0, 100), 0));
      if (rng.chance(0.4)) ip.push(pkt(flow, false, TCP.PSH | TCP.ACK, a + 1 + n, b + 1, data())); // a straggler
      break;
    }
    case 'tcp-midstream': {
      // No handshake seen (conntrack picks it up in the middle; nf_conntrack_tcp_loose).
      const n = rng.int(1, 300);
      ip.push(pkt(flow, false, TCP.PSH | TCP.ACK, a, b, 'm'.repeat(n)));
      ip.push(pkt(o, true, TCP.ACK, b, a + n));
      ip.push(pkt(flow, false, TCP.PSH | TCP.ACK, a + n, b, data()));
      break;
    }
    case 'udp': {
      const rounds = rng.int(1, 3);
      for (let i = 0; i < rounds; i++) {
        ip.push(pkt(flow, false, 0, 0, 0, `req${i}`));
        if (rng.chance(0.85)) ip.push(pkt(o, true, 0, 0, 0, `answer${i}`));
      }
      break;
    }
    case 'echo': {
      const rounds = rng.int(1, 3);
      for (let i = 1; i <= rounds; i++) {
        ip.push(pkt(flow, false, 0, i, 0));
        if (rng.chance(0.85)) ip.push(pkt(o, true, 0, i, 0));
      }
      break;
    }
    case 'icmp-error': {
      // The far end (or a router before it) answers the first packet with an ICMP error.
      const first = () => (proto === 'tcp' ? pkt(flow, false, TCP.SYN, a, 0) : pkt(flow, false, 0, 1, 0, 'probe'));
      ip.push(first());
      if (proto === 'udp' && rng.chance(0.35)) {
        // Or the near end refuses the answer: its error quotes the answer as it got it (translated back).
        ip.push(pkt(o, true, 0, 0, 0, 'late answer'));
        const answer = { ...flow, src: flow.dst, dst: flow.src, sport: flow.dport, dport: flow.sport };
        ip.push(icmpError(rng, answer, flow.src, 'unreach', flow.dst));
        break;
      }
      const hop = legOf(st.rf.topology, o.dst).leg === 'wan' && !isOwn(st.rf.topology, o.dst) && rng.chance(0.4);
      ip.push(icmpError(rng, o, hop ? ipOf(WAN_HOP, fam) : o.dst, hop && rng.chance(0.5) ? 'ttl' : 'unreach'));
      if (rng.chance(0.3)) ip.push(first()); // tried again
      break;
    }
    case 'synack-noflow': {
      // A SYN/ACK (or a lone ACK) that belongs to no flow, from the far end of a flow never opened.
      ip.push(pkt(o, true, rng.chance(0.7) ? TCP.SYN | TCP.ACK : TCP.ACK, b, a));
      break;
    }
  }
  const arrow = `${flow.src}:${flow.sport} -> ${flow.dst}:${flow.dport}/${proto}`;
  const seen = o.src !== flow.src || o.dst !== flow.dst || o.sport !== flow.sport || o.dport !== flow.dport;
  const session = done(
    flow,
    id,
    kind,
    role,
    fam,
    pr.nat,
    seen ? `${arrow}, seen as ${o.src}:${o.sport} -> ${o.dst}:${o.dport}` : arrow,
    ip,
  );
  session.out = o;
  return session;
}

function done(
  flow: Flow,
  id: string,
  kind: FwSessionKind,
  role: FwRole,
  family: Fam,
  nat: string,
  summary: string,
  ip: Uint8Array[],
): FwSession {
  return {
    id,
    kind,
    role,
    family,
    nat,
    cls: `${kind} x ${nat}`,
    summary: `${role}: ${summary}`,
    flow,
    packets: [],
    ip,
  };
}

// ------------------------------------------------------------------- corpus

export interface FwCorpusBatch {
  name: string;
  rulesPath: string;
  rulesYaml: string;
  capturePath: string;
  sessions: FwSession[];
  /** Session id of each packet (index = packet number - 1). */
  packetSession: string[];
  duration: number;
}

export interface FwCorpusOptions {
  seed: number;
  batches: number;
  sessionsPerBatch: number;
  dir: string;
}

const KIND_WEIGHTS: readonly (readonly [number, FwSessionKind])[] = [
  [6, 'tcp'],
  [2, 'tcp-refused'],
  [2, 'tcp-rst'],
  [1, 'tcp-midstream'],
  [5, 'udp'],
  [3, 'echo'],
  [3, 'icmp-error'],
  [1, 'synack-noflow'],
  [1, 'clash'],
];
const ROLE_WEIGHTS: readonly (readonly [number, FwRole])[] = [
  [8, 'lan-wan'],
  [3, 'wan-fwd'],
  [2, 'lan-router'],
  [2, 'wan-router'],
  [2, 'router-out'],
  [2, 'lan-dmz'],
  [1, 'dmz-lan'],
  [1, 'dmz-wan'],
];

/** Packets apart in the capture (s): a batch of ~500 packets spans half a second. */
const GAP = 0.001;
/** Sessions under way at once while interleaving. */
const WINDOW = 12;

export function buildFwCorpus(o: FwCorpusOptions): FwCorpusBatch[] {
  const out: FwCorpusBatch[] = [];
  for (let b = 0; b < o.batches; b++) {
    const rng = new Prng((o.seed ^ Math.imul(b + 1, 0x9e3779b1)) >>> 0);
    const name = `fw-random-${o.seed}-${b + 1}`;
    const rf = randomFwRules(rng, name);
    const st: BatchState = {
      rng,
      rf,
      nextPort: 20000,
      nextNatPort: NAT_PORTS[0] + 500,
      nextId: 1000,
      nextSeq: rng.u32(),
      nextClash: 0,
    };
    const sessions: FwSession[] = [];
    for (let tries = 0; sessions.length < o.sessionsPerBatch && tries < o.sessionsPerBatch * 10; tries++) {
      const s = makeSession(st, `s${sessions.length + 1}`, rng.weighted(KIND_WEIGHTS), rng.weighted(ROLE_WEIGHTS));
      if (s) sessions.push(s);
    }
    // Interleave: a window of sessions under way, each keeping its own order.
    const frames: { data: Uint8Array; ts: number }[] = [];
    const packetSession: string[] = [];
    const cursor = new Map<FwSession, number>();
    let next = 0;
    const active: FwSession[] = [];
    while (next < sessions.length || active.length > 0) {
      while (active.length < WINDOW && next < sessions.length) {
        active.push(sessions[next]);
        cursor.set(sessions[next++], 0);
      }
      const k = rng.int(0, active.length - 1);
      const s = active[k];
      const i = cursor.get(s)!;
      frames.push({ data: ether(s.ip[i]), ts: 1_700_000_000 + frames.length * GAP });
      packetSession.push(s.id);
      s.packets.push(frames.length);
      if (i + 1 >= s.ip.length) active.splice(k, 1);
      else cursor.set(s, i + 1);
    }
    const rulesPath = join(o.dir, `${name}.yaml`);
    const capturePath = join(o.dir, `${name}.pcap`);
    writeFileSync(rulesPath, rf.yaml);
    writePcap(capturePath, frames, 1);
    out.push({
      name,
      rulesPath,
      rulesYaml: rf.yaml,
      capturePath,
      sessions,
      packetSession,
      duration: frames.length * GAP,
    });
  }
  return out;
}

/** The original tuple of a conntrack line (or key) as "proto src sport dst dport" (ICMP: the id for both ports). */
export function entryTuple(line: string): string | null {
  const m = /^(\w+)\s.*?src=(\S+) dst=(\S+) (?:sport=(\d+) dport=(\d+)|type=\d+ code=\d+ id=(\d+))/.exec(line.trim());
  if (!m) return null;
  const proto = m[1] === 'ipv6-icmp' || m[1] === 'icmpv6' ? 'icmp' : m[1];
  return tupleKey(proto, m[2], m[3], Number(m[4] ?? m[6]), Number(m[5] ?? m[6]));
}

export function tupleKey(proto: string, src: string, dst: string, sport: number, dport: number): string {
  const n = (a: string) => `${famOf(a)}/${addrNum(a).toString(16)}`;
  return `${proto} ${n(src)} ${sport} ${n(dst)} ${dport}`;
}

/** Every packet's own tuple -> its session, for finding the session of a conntrack entry. */
export function tupleIndex(batch: FwCorpusBatch): Map<string, FwSession> {
  const m = new Map<string, FwSession>();
  for (const s of batch.sessions)
    for (const p of s.ip) {
      const v6 = p[0] >> 4 === 6;
      const proto = v6 ? p[6] : p[9];
      const off = v6 ? 40 : (p[0] & 15) * 4;
      const hex = (b: Uint8Array) =>
        v6
          ? Array.from({ length: 8 }, (_, i) => ((b[2 * i] << 8) | b[2 * i + 1]).toString(16)).join(':')
          : Array.from(b).join('.');
      const src = hex(v6 ? p.subarray(8, 24) : p.subarray(12, 16));
      const dst = hex(v6 ? p.subarray(24, 40) : p.subarray(16, 20));
      const word = (i: number) => (p[off + i] << 8) | p[off + i + 1];
      let key: string;
      if (proto === 6 || proto === 17) key = tupleKey(proto === 6 ? 'tcp' : 'udp', src, dst, word(0), word(2));
      else if ((proto === 1 && (p[off] === 8 || p[off] === 0)) || (proto === 58 && (p[off] === 128 || p[off] === 129)))
        key = tupleKey('icmp', src, dst, word(4), word(4));
      else continue;
      if (!m.has(key)) m.set(key, s);
    }
  return m;
}
