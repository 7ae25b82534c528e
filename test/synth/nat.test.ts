/**
 * NAT on the firewall in scenarios (snat:, masquerade:, dnat:): the capture
 * is what the firewall receives, so each direction carries its own
 * addresses. Every expectation below is worked out by hand from the
 * scenario text (frames read with the independent parser in helpers.ts,
 * which also checks each checksum against the addresses the packet
 * carries); the home-router fixture is read by tshark too.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { generate, loadScenario, parseScenario, writeSynth, type SynthOutput } from '../../src/synth/index.js';
import { CHECK_CHECKSUMS, CHECKSUM_STATUS_FIELDS } from '../support/tshark.js';
import { expertInfos, hasTshark, parseFrame, removeTmpFiles, tmpFile, tshark, type Frame } from './helpers.js';

afterAll(removeTmpFiles);

const SYN = 0x02;
const ACK = 0x10;
const u32 = (n: number) => n >>> 0;

function gen(text: string): SynthOutput {
  return generate(parseScenario(text, 'nat.yaml'));
}

function frames(out: SynthOutput, flow?: string): Frame[] {
  return out.packets.filter((p) => flow === undefined || p.flow === flow).map((p) => parseFrame(p.data));
}

/** "src:sport > dst:dport" of a frame (ICMP echo: the id as both ports). */
function tuple(f: Frame): string {
  if (f.proto === 1 || f.proto === 58) return `${f.src} > ${f.dst} id ${f.icmpRest >>> 16}`;
  return `${f.src}:${f.sport} > ${f.dst}:${f.dport}`;
}

const HOSTS = `
start: 2026-01-01T00:00:00Z
rtt: 10ms
hosts:
  alice: [192.168.1.10, "fd00:1::10"]
  bob: 192.168.1.11
  router: [203.0.113.1, "2001:db8:1::1"]
  server: [198.51.100.10, "2001:db8:100::10"]
  visitor: 198.51.100.20
steps:
`;

describe('masquerade: the server answers the firewall', () => {
  const out = gen(`${HOSTS}
  - listen: server:80
  - connect: alice:40000 -> server:80
    masquerade: router
    as: a1
  - send: { conn: a1, bytes: 100 }
  - send: { conn: a1, from: server, bytes: 2000 }
  - close: { conn: a1, from: server }
`);
  const f = frames(out);

  it('the client sends from its own socket; the server to 203.0.113.1, the port kept', () => {
    const fromClient = f.filter((x) => x.src === '192.168.1.10');
    const fromServer = f.filter((x) => x.src === '198.51.100.10');
    expect(fromClient.length + fromServer.length).toBe(f.length);
    // SYN, ACK, data, one ACK for both segments, FIN/ACK | SYN/ACK, ACK, 2 segments, FIN, the last ACK
    expect(fromClient.length).toBe(5);
    expect(fromServer.length).toBe(6);
    for (const x of fromClient) expect(tuple(x)).toBe('192.168.1.10:40000 > 198.51.100.10:80');
    for (const x of fromServer) expect(tuple(x)).toBe('198.51.100.10:80 > 203.0.113.1:40000');
  });

  it('checksums are right for the addresses each packet carries', () => {
    for (const x of f) expect([x.ipHeaderOk, x.l4ChecksumOk]).toEqual([true, true]);
  });

  it('sequence numbers run on across the translation, as on one connection', () => {
    const isnC = f[0].seq;
    const isnS = f[1].seq;
    expect(f[0].flags).toBe(SYN);
    expect(f[1]).toMatchObject({ flags: SYN | ACK, ack: u32(isnC + 1) });
    expect(f[2]).toMatchObject({ flags: ACK, seq: u32(isnC + 1), ack: u32(isnS + 1) });
    expect(f[3]).toMatchObject({ seq: u32(isnC + 1), payloadLen: 100 });
    expect(f[4]).toMatchObject({ src: '198.51.100.10', ack: u32(isnC + 101) });
    // 2000 bytes from the server: 1448 + 552 from isnS + 1, then the FIN at isnS + 2001
    const data = f.filter((x) => x.src === '198.51.100.10' && x.payloadLen > 0);
    expect(data.map((x) => [u32(x.seq - isnS), x.payloadLen])).toEqual([
      [1, 1448],
      [1449, 552],
    ]);
    const fins = f.filter((x) => x.flags & 0x01);
    expect(fins.map((x) => [x.src, x.seq])).toEqual([
      ['198.51.100.10', u32(isnS + 2001)],
      ['192.168.1.10', u32(isnC + 101)],
    ]);
    expect(f.at(-1)).toMatchObject({ src: '198.51.100.10', seq: u32(isnS + 2002), ack: u32(isnC + 102) });
  });

  it('the step says who the server saw, and the connection record the reply direction', () => {
    expect(out.steps[1].summary).toBe(
      'connect alice 192.168.1.10:40000 -> server 198.51.100.10:80 (masqueraded as router 203.0.113.1:40000): handshake',
    );
    const c = out.conns.get('a1')!;
    expect([c.client, c.server]).toEqual([
      { host: 'alice', addr: '192.168.1.10', port: 40000 },
      { host: 'server', addr: '198.51.100.10', port: 80 },
    ]);
    expect(c.reply).toEqual({
      src: { host: 'server', addr: '198.51.100.10', port: 80 },
      dst: { host: 'router', addr: '203.0.113.1', port: 40000 },
    });
  });
});

describe('snat with a port, dnat, both', () => {
  it('snat: ADDR:PORT: the server answers that port', () => {
    const f = frames(
      gen(`${HOSTS}
  - listen: server:80
  - connect: bob:40000 -> server:80
    snat: 203.0.113.1:40001
`),
    );
    expect(f.map(tuple)).toEqual([
      '192.168.1.11:40000 > 198.51.100.10:80',
      '198.51.100.10:80 > 203.0.113.1:40001',
      '192.168.1.11:40000 > 198.51.100.10:80',
    ]);
  });

  it('dnat: the client addresses the public endpoint; the inside server answers from its own', () => {
    const out = gen(`${HOSTS}
  - listen: alice:80
  - connect: visitor:50000 -> router:8080
    dnat: alice:80
    as: fwd
  - send: { conn: fwd, from: server, bytes: 10 }
  - packet: { conn: fwd, from: server, flags: A }
`);
    const f = frames(out);
    expect(f.map(tuple)).toEqual([
      '198.51.100.20:50000 > 203.0.113.1:8080', // SYN
      '192.168.1.10:80 > 198.51.100.20:50000', // SYN/ACK
      '198.51.100.20:50000 > 203.0.113.1:8080', // ACK
      '192.168.1.10:80 > 198.51.100.20:50000', // data
      '198.51.100.20:50000 > 203.0.113.1:8080', // its ACK
      '192.168.1.10:80 > 198.51.100.20:50000', // the hand-made packet on the flow
    ]);
    for (const x of f) expect(x.l4ChecksumOk).toBe(true);
    // answered (alice listens on 80: the real server decides, not the public endpoint)
    expect(f[1].flags).toBe(SYN | ACK);
    expect(out.steps[1].summary).toBe(
      'connect visitor 198.51.100.20:50000 -> router 203.0.113.1:8080 (forwarded to alice 192.168.1.10:80): handshake',
    );
    expect(out.conns.get('fwd')!.reply).toEqual({
      src: { host: 'alice', addr: '192.168.1.10', port: 80 },
      dst: { host: 'visitor', addr: '198.51.100.20', port: 50000 },
    });
  });

  it('dnat without a port keeps the public one; nothing listening there: refused from the real server', () => {
    const f = frames(
      gen(`${HOSTS}
  - connect: visitor:50000 -> router:8080
    dnat: alice
`),
    );
    expect(f.map(tuple)).toEqual(['198.51.100.20:50000 > 203.0.113.1:8080', '192.168.1.10:8080 > 198.51.100.20:50000']);
    expect(f[1].flags).toBe(0x14); // RST/ACK
  });

  it('snat and dnat together (a hairpin): both ends see the firewall', () => {
    const f = frames(
      gen(`${HOSTS}
  - listen: alice:80
  - connect: bob:40000 -> router:8080
    dnat: alice:80
    snat: router
`),
    );
    expect(f.map(tuple)).toEqual([
      '192.168.1.11:40000 > 203.0.113.1:8080',
      '192.168.1.10:80 > 203.0.113.1:40000',
      '192.168.1.11:40000 > 203.0.113.1:8080',
    ]);
  });

  it('IPv6 (NAT66): the same, with the flow family taken from a host with both', () => {
    const f = frames(
      gen(`${HOSTS}
  - listen: server:443
  - connect: { from: "[fd00:1::10]:40000", to: server:443, family: 6, masquerade: router }
`),
    );
    expect(f.map(tuple)).toEqual([
      'fd00:1::10:40000 > 2001:db8:100::10:443',
      '2001:db8:100::10:443 > 2001:db8:1::1:40000',
      'fd00:1::10:40000 > 2001:db8:100::10:443',
    ]);
    for (const x of f) expect(x.l4ChecksumOk).toBe(true);
  });

  it('without NAT nothing changes: the same scenario gives the same bytes as before the keys existed', () => {
    const plain = `${HOSTS}
  - listen: server:80
  - connect: alice -> server:80
    as: a
  - send: { conn: a, bytes: 10 }
`;
    const f = frames(gen(plain));
    expect(f.map(tuple)).toEqual([
      `192.168.1.10:${f[0].sport} > 198.51.100.10:80`,
      `198.51.100.10:80 > 192.168.1.10:${f[0].sport}`,
      `192.168.1.10:${f[0].sport} > 198.51.100.10:80`,
      `192.168.1.10:${f[0].sport} > 198.51.100.10:80`,
      `198.51.100.10:80 > 192.168.1.10:${f[0].sport}`,
    ]);
    expect(gen(plain).conns.get('a')!.reply).toBeNull();
  });
});

describe('UDP, ping and ICMP errors', () => {
  it('udp: the reply and later datagrams of the flow go to the address the server saw', () => {
    const out = gen(`${HOSTS}
  - udp: { from: alice:5000, to: server:53, bytes: 30, reply: 50, masquerade: router }
    as: q
  - udp: { conn: q, from: server, bytes: 20 }
  - udp: { conn: q, bytes: 20 }
  - packet: { conn: q, from: server, bytes: 5 }
`);
    const f = frames(out);
    expect(f.map(tuple)).toEqual([
      '192.168.1.10:5000 > 198.51.100.10:53',
      '198.51.100.10:53 > 203.0.113.1:5000',
      '198.51.100.10:53 > 203.0.113.1:5000',
      '192.168.1.10:5000 > 198.51.100.10:53',
      '198.51.100.10:53 > 203.0.113.1:5000',
    ]);
    for (const x of f) expect(x.l4ChecksumOk).toBe(true);
    expect(out.steps[0].summary).toBe(
      'udp alice 192.168.1.10:5000 -> server 198.51.100.10:53 (masqueraded as router 203.0.113.1:5000): 30 bytes, reply 50 bytes',
    );
  });

  it('ping: replies to the firewall with the echo id kept, or the one snat: gives', () => {
    const kept = frames(
      gen(`${HOSTS}
  - ping: { from: alice, to: server, ident: 4660, count: 2, masquerade: router }
`),
    );
    expect(kept.map(tuple)).toEqual([
      '192.168.1.10 > 198.51.100.10 id 4660',
      '198.51.100.10 > 203.0.113.1 id 4660',
      '192.168.1.10 > 198.51.100.10 id 4660',
      '198.51.100.10 > 203.0.113.1 id 4660',
    ]);
    const out = gen(`${HOSTS}
  - ping: { from: alice, to: server, ident: 4660, snat: "203.0.113.1:7" }
`);
    const moved = frames(out);
    expect(moved.map(tuple)).toEqual(['192.168.1.10 > 198.51.100.10 id 4660', '198.51.100.10 > 203.0.113.1 id 7']);
    for (const x of [...kept, ...moved]) expect(x.l4ChecksumOk).toBe(true);
    expect(out.steps[0].summary).toBe(
      'ping alice 192.168.1.10 -> server 198.51.100.10 (snat to router 203.0.113.1, echo id 7): 1 echo request, answered',
    );
  });

  it('ping through a dnat: requests to the public address, replies from the inside host', () => {
    const out = gen(`${HOSTS}
  - ping: { from: visitor, to: router, ident: 9, dnat: alice }
    as: p
`);
    expect(frames(out).map(tuple)).toEqual(['198.51.100.20 > 203.0.113.1 id 9', '192.168.1.10 > 198.51.100.20 id 9']);
    expect(out.conns.get('p')!.reply).toEqual({
      src: { host: 'alice', addr: '192.168.1.10', port: null },
      dst: { host: 'visitor', addr: '198.51.100.20', port: 9 }, // the echo id the replies carry
    });
  });

  it('an ICMP error quotes the packet as its receiver got it, and goes where that one came from', () => {
    const out = gen(`${HOSTS}
  - udp: { from: alice:5000, to: server:5001, bytes: 20, masquerade: router }
    as: u
  - unreachable: u
  - listen: alice:80
  - connect: visitor:50000 -> router:8080
    dnat: alice:80
    as: fwd
  - unreachable: { about: fwd, side: server, code: host, from: visitor }
`);
    const f = frames(out);
    // From the server to the address it saw, quoting 203.0.113.1:5000 > server:5001 (checksum recomputed).
    const e1 = f[1];
    expect([e1.src, e1.dst, e1.icmpType, e1.icmpCode, e1.l4ChecksumOk]).toEqual([
      '198.51.100.10',
      '203.0.113.1',
      3,
      3,
      true,
    ]);
    const q1 = parseFrame(e1.quoted!, 'raw');
    expect(tuple(q1)).toBe('203.0.113.1:5000 > 198.51.100.10:5001');
    expect([q1.ipHeaderOk, q1.l4ChecksumOk, q1.payloadLen]).toEqual([true, true, 20]);
    // The port forward's SYN/ACK, as visitor got it (from 203.0.113.1:8080): visitor's error goes there.
    const e2 = f.at(-1)!;
    expect([e2.src, e2.dst, e2.icmpType, e2.icmpCode]).toEqual(['198.51.100.20', '203.0.113.1', 3, 1]);
    const q2 = parseFrame(e2.quoted!, 'raw');
    expect(tuple(q2)).toBe('203.0.113.1:8080 > 198.51.100.20:50000');
    expect(q2.flags).toBe(SYN | ACK);
    // The quoted SYN/ACK is the captured one with only its source rewritten.
    const synAck = f.find((x) => x.src === '192.168.1.10' && x.flags === (SYN | ACK))!;
    expect([q2.seq, q2.ack, q2.window, q2.l4ChecksumOk]).toEqual([synAck.seq, synAck.ack, synAck.window, true]);
  });

  it('an ephemeral port kept by source NAT is free on the firewall address too', () => {
    // 150 masqueraded SYNs from each of two hosts: drawn only per host, some
    // ports would be drawn twice (about 3 expected), giving two flows one
    // reply tuple.
    const steps = Array.from(
      { length: 300 },
      (_, i) => `  - connect: { from: ${i % 2 ? 'bob' : 'alice'}, to: server:80, answer: none, masquerade: router }\n`,
    ).join('');
    const f = frames(gen(`${HOSTS}${steps}`));
    expect(f).toHaveLength(300);
    expect(new Set(f.map((x) => x.sport)).size).toBe(300);
  });
});

describe('home-router.yaml, checked by hand', () => {
  const out = generate(loadScenario('fixtures/scenarios/home-router.yaml'));
  /** Each packet of a flow as "tuple" strings, by direction (the client's first). */
  const byDir = (flow: string, clientAddr: string) => {
    const f = frames(out, flow);
    return {
      client: [...new Set(f.filter((x) => x.src === clientAddr).map(tuple))],
      server: [...new Set(f.filter((x) => x.src !== clientAddr).map(tuple))],
    };
  };

  it('each flow carries the addresses the router receives', () => {
    const dnsPort = frames(out, 'dns')[0].sport;
    expect(byDir('dns', '192.168.1.10')).toEqual({
      client: [`192.168.1.10:${dnsPort} > 198.51.100.53:53`],
      server: [`198.51.100.53:53 > 203.0.113.1:${dnsPort}`],
    });
    expect(byDir('a1', '192.168.1.10')).toEqual({
      client: ['192.168.1.10:40000 > 198.51.100.10:80'],
      server: ['198.51.100.10:80 > 203.0.113.1:40000'],
    });
    expect(byDir('b1', '192.168.1.11')).toEqual({
      client: ['192.168.1.11:40000 > 198.51.100.10:443'],
      server: ['198.51.100.10:443 > 203.0.113.1:40000'],
    });
    expect(byDir('b2', '192.168.1.11')).toEqual({
      client: ['192.168.1.11:40000 > 198.51.100.10:80'],
      server: ['198.51.100.10:80 > 203.0.113.1:40001'],
    });
    const id = frames(out, 'p1')[0].icmpRest >>> 16;
    expect(byDir('p1', '192.168.1.11')).toEqual({
      client: [`192.168.1.11 > 198.51.100.10 id ${id}`],
      server: [`198.51.100.10 > 203.0.113.1 id ${id}`],
    });
    const vport = frames(out, 'fwd')[0].sport;
    expect(byDir('fwd', '198.51.100.20')).toEqual({
      client: [`198.51.100.20:${vport} > 203.0.113.1:8080`],
      server: [`192.168.1.10:80 > 198.51.100.20:${vport}`],
    });
    const sshPort = frames(out, 'ssh')[0].sport;
    expect(byDir('ssh', '198.51.100.20')).toEqual({
      client: [`198.51.100.20:${sshPort} > 203.0.113.1:22`],
      server: [],
    });
    const v6port = frames(out, 'a6')[0].sport;
    expect(byDir('a6', 'fd00:1::10')).toEqual({
      client: [`fd00:1::10:${v6port} > 2001:db8:100::10:443`],
      server: [`2001:db8:100::10:443 > fd00:1::10:${v6port}`],
    });
    // every packet belongs to one of these flows
    expect(out.packets.every((p) => p.flow !== null)).toBe(true);
  });
});

describe.skipIf(!hasTshark)('tshark on home-router.yaml', () => {
  it('checksums good, nothing malformed, no warning but the ping replies it cannot pair', async () => {
    const out = generate(loadScenario('fixtures/scenarios/home-router.yaml'));
    const file = tmpFile('home-router.pcap');
    await writeSynth(out, file);
    const bad = (rows: ReturnType<typeof expertInfos>) =>
      rows.filter((r) => r.severity === 'error' || r.severity === 'warn');
    expect(bad(expertInfos(file))).toEqual([]);
    // Two passes pair echo requests with replies by their addresses: a
    // masqueraded ping's replies go to 203.0.113.1, not to the requester,
    // so tshark (seeing only what the router receives) finds none. Each
    // request is flagged; nothing else is.
    expect(bad(expertInfos(file, ['-2']))).toEqual([
      { severity: 'warn', count: 2, group: 'Sequence', protocol: 'ICMP', summary: 'No response seen to ICMP request' },
    ]);
    const rows = tshark([
      '-r',
      file,
      ...CHECK_CHECKSUMS,
      '-T',
      'fields',
      '-E',
      'occurrence=f',
      '-e',
      'tcp.analysis.flags',
      ...CHECKSUM_STATUS_FIELDS,
    ])
      .replace(/\n$/, '')
      .split('\n');
    expect(rows).toHaveLength(out.packets.length);
    const ssh = out.steps.find((s) => s.name === 'ssh')!.packets;
    rows.forEach((row, i) => {
      const [flags, ...status] = row.split('\t');
      // only the SSH SYN's two retransmissions
      expect(flags !== '', `packet ${i + 1}: ${row}`).toBe(ssh.slice(1).includes(i + 1));
      for (const v of status.filter((x) => x !== '')) expect(v).toBe('1');
    });
  });
});
