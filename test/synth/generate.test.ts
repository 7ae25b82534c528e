/**
 * The generator: sequence/acknowledgment arithmetic checked by hand on a
 * small connection (frames read with an independent parser), options and
 * windows as Linux sends them, timing, determinism, and the step/connection
 * bookkeeping `fwemu test` relies on.
 */
import { describe, expect, it } from 'vitest';
import { LinkType } from '../../src/capture/types.js';
import { generate, packetsFor, parseScenario, STEP_GAP_US, type SynthOutput } from '../../src/synth/index.js';
import { parseFrame, tcpOpt, tsOption, type Frame } from './helpers.js';

const SYN = 0x02;
const ACK = 0x10;
const FIN = 0x01;
const RST = 0x04;
const PSH = 0x08;

function gen(text: string): SynthOutput {
  return generate(parseScenario(text, 'g.yaml'));
}

function frames(out: SynthOutput): Frame[] {
  return out.packets.map((p) => parseFrame(p.data, out.linkType === LinkType.RAW ? 'raw' : 'ethernet'));
}

/** Microseconds since the first packet. */
function times(out: SynthOutput): number[] {
  const t0 = out.packets[0].tsSec * 1e6 + out.packets[0].tsNsec / 1000;
  return out.packets.map((p) => p.tsSec * 1e6 + p.tsNsec / 1000 - t0);
}

const u32 = (n: number) => n >>> 0;

const SMALL = `
start: 2026-01-01T00:00:00Z
seed: 5
rtt: 10ms
hosts:
  server: 10.2.0.1
  alice: 10.1.0.2
steps:
  - listen: server:8080
  - connect: alice -> server:8080
    as: a1
  - send: { conn: a1, bytes: 100 }
  - send: { conn: a1, from: server, bytes: 3000 }
  - close: a1
`;

describe('a small connection, checked by hand', () => {
  const out = gen(SMALL);
  const f = frames(out);
  const c = f[0];
  const isnC = c.seq;
  const isnS = f[1].seq;

  it('has the expected packets, in order', () => {
    // SYN, SYN/ACK, ACK | data, ACK | 3 data segments, 2 ACKs (every 2nd and the last) | FIN, FIN/ACK, ACK
    expect(f.map((x) => x.flags)).toEqual([
      SYN,
      SYN | ACK,
      ACK,
      PSH | ACK,
      ACK,
      ACK,
      ACK,
      PSH | ACK,
      ACK,
      ACK,
      FIN | ACK,
      FIN | ACK,
      ACK,
    ]);
    expect(out.packets).toHaveLength(13);
    for (const x of f) {
      expect(x.ipHeaderOk).toBe(true);
      expect(x.l4ChecksumOk).toBe(true);
    }
  });

  it('handshake: SYN seq=ISN, SYN/ACK ack=ISN+1, ACK completes', () => {
    expect([c.src, c.sport, c.dst, c.dport]).toEqual(['10.1.0.2', c.sport, '10.2.0.1', 8080]);
    expect(c.sport).toBeGreaterThanOrEqual(32768);
    expect(c.sport).toBeLessThanOrEqual(60999);
    expect(c.sport % 2).toBe(0); // Linux connect() prefers even ports
    expect(c.ack).toBe(0);
    expect(f[1]).toMatchObject({ src: '10.2.0.1', sport: 8080, dport: c.sport, ack: u32(isnC + 1) });
    expect(f[2]).toMatchObject({ seq: u32(isnC + 1), ack: u32(isnS + 1) });
  });

  it('data: seq advances by the payload length, ACKs acknowledge it', () => {
    expect(f[3]).toMatchObject({ seq: u32(isnC + 1), ack: u32(isnS + 1), payloadLen: 100 });
    expect(f[4]).toMatchObject({ src: '10.2.0.1', seq: u32(isnS + 1), ack: u32(isnC + 101), payloadLen: 0 });
    // MSS 1460 less 12 bytes of timestamp option = 1448 per segment
    expect(f.slice(5, 8).map((x) => [u32(x.seq - isnS), x.payloadLen, x.ack])).toEqual([
      [1, 1448, u32(isnC + 101)],
      [1449, 1448, u32(isnC + 101)],
      [2897, 104, u32(isnC + 101)],
    ]);
    expect(f[8]).toMatchObject({ src: '10.1.0.2', seq: u32(isnC + 101), ack: u32(isnS + 2897) });
    expect(f[9]).toMatchObject({ src: '10.1.0.2', seq: u32(isnC + 101), ack: u32(isnS + 3001) });
  });

  it('close: each FIN takes one sequence number', () => {
    expect(f[10]).toMatchObject({ src: '10.1.0.2', seq: u32(isnC + 101), ack: u32(isnS + 3001) });
    expect(f[11]).toMatchObject({ src: '10.2.0.1', seq: u32(isnS + 3001), ack: u32(isnC + 102) });
    expect(f[12]).toMatchObject({ src: '10.1.0.2', seq: u32(isnC + 102), ack: u32(isnS + 3002) });
  });

  it('SYN options in Linux order: MSS, SACK-permitted, timestamps, NOP, window scale', () => {
    expect(c.optionKinds).toEqual([2, 4, 8, 1, 3]);
    expect(tcpOpt(c, 2)).toEqual([0x05, 0xb4]); // 1460
    expect(tcpOpt(c, 3)).toEqual([7]);
    expect(tsOption(c)![1]).toBe(0);
    expect(f[1].optionKinds).toEqual([2, 4, 8, 1, 3]);
    expect(tsOption(f[1])![1]).toBe(tsOption(c)![0]); // SYN/ACK echoes the SYN's TSval
    for (const x of f.slice(2)) expect(x.optionKinds).toEqual([1, 1, 8]); // NOP NOP TS
  });

  it('windows: unscaled in SYN (64240) and SYN/ACK (65160), then scaled by 2^7', () => {
    expect(c.window).toBe(64240);
    expect(f[1].window).toBe(65160);
    expect(f[2].window).toBe(Math.ceil(64240 / 128));
    // the receiving side's window grows as data arrives, never shrinks
    const clientWins = f.filter((x) => x.src === '10.1.0.2' && !(x.flags & SYN)).map((x) => x.window);
    for (let i = 1; i < clientWins.length; i++) expect(clientWins[i]).toBeGreaterThanOrEqual(clientWins[i - 1]);
    expect(clientWins.at(-1)).toBeGreaterThan(clientWins[0]);
  });

  it('timestamps: TSval never goes back, per side; every ACK-bearing segment echoes the peer', () => {
    for (const src of ['10.1.0.2', '10.2.0.1']) {
      const ts = f.filter((x) => x.src === src).map((x) => tsOption(x)![0]);
      for (let i = 1; i < ts.length; i++) expect(u32(ts[i] - ts[i - 1])).toBeLessThan(1000);
    }
    const peerVals = (src: string) => new Set(f.filter((x) => x.src === src).map((x) => tsOption(x)![0]));
    for (const x of f.slice(1))
      expect(peerVals(x.src === '10.1.0.2' ? '10.2.0.1' : '10.1.0.2').has(tsOption(x)![1])).toBe(true);
  });

  it('IP: DF set, ids counting up per sender, 0 on the SYN/ACK; TTL 64', () => {
    for (const x of f) expect([x.df, x.ttl]).toEqual([true, 64]);
    expect(f[1].ipId).toBe(0);
    for (const src of ['10.1.0.2', '10.2.0.1']) {
      const ids = f.filter((x) => x.src === src && !(x.flags & SYN)).map((x) => x.ipId);
      for (let i = 1; i < ids.length; i++) expect(ids[i]).toBe((ids[i - 1] + 1) & 0xffff);
    }
  });

  it('timing: answers come rtt/2 later; a step starts just after the previous one', () => {
    const t = times(out);
    expect(t.slice(0, 3)).toEqual([0, 5000, 10000]);
    expect(t[3]).toBe(10000 + STEP_GAP_US);
    expect(t[4] - t[3]).toBe(5000);
    expect(out.packets[0]).toMatchObject({ tsSec: 1767225600, tsNsec: 0 });
    for (let i = 1; i < t.length; i++) expect(t[i]).toBeGreaterThanOrEqual(t[i - 1]);
  });

  it('Ethernet: a fixed MAC per host', () => {
    expect(out.linkType).toBe(LinkType.ETHERNET);
    const macOf = new Map<string, string>();
    for (const x of f) {
      if (macOf.has(x.src)) expect(x.srcMac).toBe(macOf.get(x.src));
      macOf.set(x.src, x.srcMac!);
    }
    expect(macOf.get('10.2.0.1')).toBe('02:00:00:00:00:01'); // hosts in file order
    expect(macOf.get('10.1.0.2')).toBe('02:00:00:00:00:02');
    expect(f[0].dstMac).toBe('02:00:00:00:00:01');
  });

  it('records packet numbers per step and per connection', () => {
    expect(out.steps.map((s) => s.packets)).toEqual([[], [1, 2, 3], [4, 5], [6, 7, 8, 9, 10], [11, 12, 13]]);
    expect(out.steps[1]).toMatchObject({
      index: 2,
      name: 'a1',
      kind: 'connect',
      pos: { file: 'g.yaml', line: 10, col: 5 },
    });
    expect(out.steps[1].summary).toBe(`connect alice 10.1.0.2:${c.sport} -> server 10.2.0.1:8080: handshake`);
    expect(out.conns.get('a1')).toEqual({
      name: 'a1',
      proto: 'tcp',
      client: { host: 'alice', addr: '10.1.0.2', port: c.sport },
      server: { host: 'server', addr: '10.2.0.1', port: 8080 },
      packets: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
      step: 2,
      state: 'closed',
      reply: null, // no NAT: the server's packets go from server to client
    });
    expect(packetsFor(out, 'a1')).toHaveLength(13);
    expect(packetsFor(out, 3)).toEqual([4, 5]);
    expect(packetsFor(out, 'nope')).toBeNull();
    expect(out.listening).toEqual([{ host: 'server', addr: '10.2.0.1', port: 8080, step: 1 }]);
    expect(out.packets.map((p) => p.step)).toEqual([2, 2, 2, 3, 3, 4, 4, 4, 4, 4, 5, 5, 5]);
    expect(out.packets.every((p) => p.flow === 'a1')).toBe(true);
  });
});

describe('determinism', () => {
  it('the same scenario gives the same bytes; another seed other ISNs and ports', () => {
    const a = gen(SMALL);
    const b = gen(SMALL);
    expect(b.packets.map((p) => Buffer.from(p.data).toString('hex'))).toEqual(
      a.packets.map((p) => Buffer.from(p.data).toString('hex')),
    );
    expect(b.packets.map((p) => [p.tsSec, p.tsNsec])).toEqual(a.packets.map((p) => [p.tsSec, p.tsNsec]));
    const c = gen(SMALL.replace('seed: 5', 'seed: 6'));
    const [fa, fc] = [frames(a)[0], frames(c)[0]];
    expect(fc.seq).not.toBe(fa.seq);
    expect(fc.sport).not.toBe(fa.sport);
  });
});

describe('Linux-like details', () => {
  it('IPv6: MSS 1440, SYN window 64800, SYN/ACK 64260, random flow labels per socket', () => {
    const f = frames(gen('hosts:\n  s: fd00:2::1\n  c: fd00:1::2\nsteps:\n  - listen: s:80\n  - connect: c -> s:80\n'));
    expect(f[0]).toMatchObject({ version: 6, src: 'fd00:1::2', dst: 'fd00:2::1', window: 64800 });
    expect(tcpOpt(f[0], 2)).toEqual([0x05, 0xa0]);
    expect(f[1].window).toBe(64260);
    expect(f[0].flowLabel).not.toBe(0);
    expect(f[2].flowLabel).toBe(f[0].flowLabel);
    expect(f[1].flowLabel).not.toBe(f[0].flowLabel);
    for (const x of f) expect(x.l4ChecksumOk).toBe(true);
  });

  it('a SYN to a closed port: RST/ACK with seq 0, ack ISN+1, window 0, no options', () => {
    const out = gen('hosts:\n  s: 10.2.0.1\n  c: 10.1.0.2\nsteps:\n  - connect: c -> s:22\n    as: x\n');
    const f = frames(out);
    expect(f).toHaveLength(2);
    expect(f[1]).toMatchObject({
      flags: RST | ACK,
      seq: 0,
      ack: u32(f[0].seq + 1),
      window: 0,
      optionKinds: [],
      ipId: 0,
    });
    expect(out.conns.get('x')!.state).toBe('refused');
  });

  it('options off: no timestamps, no SACK, no window scaling; a fixed window', () => {
    const f = frames(
      gen(
        'timestamps: false\nsack: false\nwscale: false\nwindow: 29200\nhosts:\n  s: 10.2.0.1\n  c: 10.1.0.2\nsteps:\n  - listen: s:80\n  - connect: c -> s:80\n    as: a\n  - send: { conn: a, bytes: 3000 }\n',
      ),
    );
    expect(f[0].optionKinds).toEqual([2]);
    expect(f[0].window).toBe(29200);
    expect(f[2].window).toBe(29200);
    expect(f[2].optionKinds).toEqual([]);
    expect(f.filter((x) => x.payloadLen > 0).map((x) => x.payloadLen)).toEqual([1460, 1460, 80]);
    expect(f.at(-1)!.window).toBe(29200);
  });

  it('bulk data: slow start from 10 segments, never beyond the advertised window, everything acked', () => {
    const out = gen(
      'hosts:\n  s: 10.2.0.1\n  c: 10.1.0.2\nsteps:\n  - listen: s:80\n  - connect: c -> s:80\n    as: a\n  - send: { conn: a, from: server, bytes: 1000000 }\n',
    );
    const f = frames(out);
    const isnS = f[1].seq;
    let highestAck = u32(isnS + 1);
    let rightEdge = 0;
    let firstFlight = 0;
    let sawAck = false;
    for (const x of f.slice(3)) {
      if (x.src === '10.1.0.2') {
        highestAck = x.ack;
        rightEdge = u32(x.ack - isnS) + x.window * 128;
        sawAck = true;
      } else {
        if (!sawAck) firstFlight++;
        const end = u32(x.seq - isnS) + x.payloadLen;
        expect(end).toBeLessThan(Math.max(rightEdge, 65160 + 1));
      }
    }
    expect(firstFlight).toBe(10);
    expect(highestAck).toBe(u32(isnS + 1 + 1000000));
    // PSH only on the last segment
    const data = f.filter((x) => x.payloadLen > 0);
    expect(data.filter((x) => x.flags & PSH)).toEqual([data.at(-1)]);
  });

  it('DNS ports carry DNS-shaped payloads of the asked size; the reply answers the same id', () => {
    const f = frames(
      gen('hosts:\n  s: 10.2.0.1\n  c: 10.1.0.2\nsteps:\n  - udp: { from: c, to: s:53, bytes: 40, reply: 100 }\n'),
    );
    expect(f.map((x) => x.payloadLen)).toEqual([40, 100]);
    const id = (x: Frame) => (x.payload[0] << 8) | x.payload[1];
    expect(id(f[1])).toBe(id(f[0]));
    expect(f[0].payload[2] & 0x80).toBe(0); // query
    expect(f[1].payload[2] & 0x80).toBe(0x80); // response
    expect([f[1].sport, f[1].dport]).toEqual([53, f[0].sport]);
  });

  it("ICMP errors quote the flow's last packet, from its receiver (or a router)", () => {
    const out = gen(
      'hosts:\n  s: 10.2.0.1\n  c: 10.1.0.2\n  r: 10.0.0.254\nsteps:\n  - udp: { from: c:40001, to: s:5000, bytes: 20 }\n    as: u\n  - unreachable: u\n  - unreachable: { about: u, code: host, from: r }\n',
    );
    const f = frames(out);
    const udpIp = out.packets[0].data.subarray(14);
    expect(f[1]).toMatchObject({
      proto: 1,
      src: '10.2.0.1',
      dst: '10.1.0.2',
      icmpType: 3,
      icmpCode: 3,
      tos: 0xc0,
      df: false,
    });
    expect(Buffer.from(f[1].quoted!).equals(Buffer.from(udpIp))).toBe(true);
    expect(f[2]).toMatchObject({ src: '10.0.0.254', dst: '10.1.0.2', icmpType: 3, icmpCode: 1 });
    expect(out.conns.get('u')!.packets).toEqual([1]); // errors are not the flow's own packets
    expect(out.steps[1].packets).toEqual([2]);
  });

  it('ping: echo requests with Linux-style data, replies rtt/2 later, seq counting from 1', () => {
    const out = gen(
      'rtt: 4ms\nhosts:\n  s: 10.2.0.1\n  c: 10.1.0.2\nsteps:\n  - ping: { from: c, to: s, count: 3, interval: 500ms }\n    as: p\n',
    );
    const f = frames(out);
    expect(f.map((x) => [x.icmpType, x.icmpRest & 0xffff, x.payloadLen])).toEqual([
      [8, 1, 56],
      [0, 1, 56],
      [8, 2, 56],
      [0, 2, 56],
      [8, 3, 56],
      [0, 3, 56],
    ]);
    expect(times(out)).toEqual([0, 2000, 500000, 502000, 1000000, 1002000]);
    expect(f[0].payload[16]).toBe(0x10);
    const sec = Number(Buffer.from(f[2].payload.subarray(0, 8)).readBigUInt64LE());
    expect(sec).toBe(out.packets[2].tsSec);
    expect(out.conns.get('p')).toMatchObject({ proto: 'icmp', client: { port: null }, packets: [1, 2, 3, 4, 5, 6] });
  });

  it('raw packets on a connection: seq relative to it, and the connection does not move on', () => {
    const out = gen(
      'hosts:\n  s: 10.2.0.1\n  c: 10.1.0.2\nsteps:\n  - listen: s:80\n  - connect: c -> s:80\n    as: a\n  - packet: { conn: a, from: server, flags: PA, seq: +100000, bytes: 10 }\n  - packet: { conn: a, seq: -1, ack: 5, flags: A, window: 0, ttl: 3 }\n  - send: { conn: a, bytes: 1 }\n',
    );
    const f = frames(out);
    expect(f[3]).toMatchObject({
      src: '10.2.0.1',
      seq: u32(f[1].seq + 1 + 100000),
      ack: u32(f[0].seq + 1),
      flags: PSH | ACK,
      payloadLen: 10,
    });
    expect(f[4]).toMatchObject({ src: '10.1.0.2', seq: f[0].seq, ack: 5, window: 0, ttl: 3 });
    expect(f[5]).toMatchObject({ seq: u32(f[0].seq + 1), ack: u32(f[1].seq + 1), payloadLen: 1 });
    expect(out.conns.get('a')!.packets).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('retransmit: the same segment after the RTO, then a duplicate ACK with a D-SACK block', () => {
    const out = gen(
      'hosts:\n  s: 10.2.0.1\n  c: 10.1.0.2\nsteps:\n  - listen: s:80\n  - connect: c -> s:80\n    as: a\n  - send: { conn: a, bytes: 300 }\n  - retransmit: a\n',
    );
    const f = frames(out);
    const t = times(out);
    expect(f[5]).toMatchObject({ seq: f[3].seq, payloadLen: 300, flags: f[3].flags });
    expect(Buffer.from(f[5].payload).equals(Buffer.from(f[3].payload))).toBe(true);
    expect(t[5] - t[4]).toBe(STEP_GAP_US + 200_000 + 10_000);
    expect(f[6]).toMatchObject({ src: '10.2.0.1', ack: f[4].ack });
    const sack = tcpOpt(f[6], 5)!;
    const edge = (i: number) => ((sack[i] << 24) | (sack[i + 1] << 16) | (sack[i + 2] << 8) | sack[i + 3]) >>> 0;
    expect([edge(0), edge(4)]).toEqual([f[3].seq, u32(f[3].seq + 300)]);
  });

  it('simultaneous open: two SYNs, two SYN/ACKs with the same ISNs, two ACKs', () => {
    const f = frames(
      gen('hosts:\n  s: 10.2.0.1\n  c: 10.1.0.2\nsteps:\n  - connect: c:5000 -> s:6000\n    simultaneous: true\n'),
    );
    expect(f.map((x) => [x.src, x.flags])).toEqual([
      ['10.1.0.2', SYN],
      ['10.2.0.1', SYN],
      ['10.2.0.1', SYN | ACK],
      ['10.1.0.2', SYN | ACK],
      ['10.1.0.2', ACK],
      ['10.2.0.1', ACK],
    ]);
    expect(f[2]).toMatchObject({ seq: f[1].seq, ack: u32(f[0].seq + 1) });
    expect(f[3]).toMatchObject({ seq: f[0].seq, ack: u32(f[1].seq + 1) });
  });

  it('an unanswered SYN is retransmitted after 1 s, then 2 s more', () => {
    const out = gen(
      'hosts:\n  s: 10.2.0.1\n  c: 10.1.0.2\nsteps:\n  - connect: c -> s:443\n    answer: none\n    retries: 2\n    as: x\n',
    );
    expect(times(out)).toEqual([0, 1_000_000, 3_000_000]);
    const f = frames(out);
    expect(new Set(f.map((x) => x.seq)).size).toBe(1);
    expect(out.conns.get('x')!.state).toBe('syn-sent');
  });

  it('rtt: per connection on connect, per step elsewhere; any step can be named', () => {
    const out = gen(
      'rtt: 10ms\nhosts:\n  s: 10.2.0.1\n  c: 10.1.0.2\nsteps:\n  - listen: s:80\n  - connect: c -> s:80\n    rtt: 80ms\n    as: a\n  - send: { conn: a, bytes: 10 }\n    as: req\n  - send: { conn: a, from: server, bytes: 10, rtt: 2ms }\n  - udp: c -> s:53\n',
    );
    const t = times(out);
    expect(t.slice(0, 3)).toEqual([0, 40_000, 80_000]);
    expect(t[4] - t[3]).toBe(40_000); // the connection's RTT
    expect(t[6] - t[5]).toBe(1_000); // this step's RTT
    expect(packetsFor(out, 'req')).toEqual([4, 5]);
    expect(out.steps[2].name).toBe('req');
  });

  it('waits and raw link', () => {
    const out = gen(
      'link: raw\nhosts:\n  s: 10.2.0.1\n  c: 10.1.0.2\nsteps:\n  - udp: c -> s:9\n  - wait: 2m\n  - wait: 500ms\n  - udp: c -> s:9\n',
    );
    expect(out.linkType).toBe(LinkType.RAW);
    expect(times(out)).toEqual([0, 120_500_000]);
    expect(out.packets[0].data[0] >> 4).toBe(4);
    expect(frames(out)[1].sport).not.toBe(frames(out)[0].sport); // a new socket, a new ephemeral port
  });
});
