/** Scenario files: what parses to what, and positioned errors for what does not. */
import { describe, expect, it } from 'vitest';
import { loadScenario, parseScenario, ScenarioError, type Scenario } from '../../src/synth/index.js';
import { parseDuration } from '../../src/base/yaml-reader.js';
import { InputFileError } from '../../src/base/input-file.js';

/** Parses; on failure returns the diagnostics as "line:col: message". */
function errors(text: string): string[] {
  try {
    parseScenario(text, 's.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    const err = e as ScenarioError;
    for (const d of err.diagnostics) {
      expect(d.file).toBe('s.yaml');
      expect(d.severity).toBe('error');
    }
    expect(err.message).toBe(err.diagnostics.map((d) => `${d.file}:${d.line}:${d.col}: ${d.message}`).join('\n'));
    return err.diagnostics.map((d) => `${d.line}:${d.col}: ${d.message}`);
  }
  throw new Error('expected the scenario to be rejected');
}

const HOSTS = `hosts:
  server: [10.2.0.1, fd00:2::1]
  alice: [10.1.0.2, fd00:1::2]
  bob: 10.1.0.3
`;

function parse(steps: string, top = ''): Scenario {
  return parseScenario(`${top}${HOSTS}steps:\n${steps}`, 's.yaml');
}

describe('parseDuration', () => {
  it('reads units and combinations, in microseconds', () => {
    expect(parseDuration('250us')).toBe(250);
    expect(parseDuration('500ms')).toBe(500_000);
    expect(parseDuration('30s')).toBe(30_000_000);
    expect(parseDuration('2m')).toBe(120_000_000);
    expect(parseDuration('1h')).toBe(3_600_000_000);
    expect(parseDuration('1m30s')).toBe(90_000_000);
    expect(parseDuration('1.5s')).toBe(1_500_000);
  });
  it('rejects what is not a duration', () => {
    for (const s of ['30', '30 s', 's', '1.5us', '-1s', '10sec', '']) expect(parseDuration(s), s).toBeNull();
  });
});

describe('the issue example', () => {
  const text = `scenario: three clients, one server port
start: 2026-01-01T00:00:00Z
hosts:
  server: 10.2.0.1
  alice: 10.1.0.2
  bob: 10.1.0.3
steps:
  - listen: server:8080
  - connect: alice -> server:8080     # ephemeral port chosen and shown, or fixed with alice:51514
    as: a1
  - connect: alice -> server:8080
    as: a2
  - connect: bob -> server:8080
    as: b1
  - send: { conn: a1, from: client, bytes: 120 }
  - send: { conn: a1, from: server, bytes: 4000 }   # segmented by MSS, acked
  - close: a1                                        # FIN handshake
  - reset: a2
  - wait: 30s
  - packet: { from: server, to: 10.1.0.9, proto: tcp, sport: 8080, dport: 33333, flags: PA }
  - udp: { from: alice:5353, to: server:53, bytes: 40, reply: true }
  - udp: { from: bob:40001, to: server:5000, bytes: 20 }
    as: u2
  - unreachable: { about: u2, code: port }        # ICMP error from the server, RELATED to u2
  - ping: { from: alice, to: server }
expect:
  - { step: a1, verdict: accept }
  - anything the runner wants
rules: ../rules/web-server.yaml
`;

  it('parses every step', () => {
    const s = parseScenario(text, 'issue.yaml');
    expect(s.title).toBe('three clients, one server port');
    expect(s.start).toEqual({ sec: 1767225600, usec: 0 });
    expect(s.steps.map((x) => x.kind)).toEqual([
      'listen',
      'connect',
      'connect',
      'connect',
      'send',
      'send',
      'close',
      'reset',
      'wait',
      'packet',
      'udp',
      'udp',
      'unreachable',
      'ping',
    ]);
    expect(s.steps.map((x) => x.name)).toEqual([
      null,
      'a1',
      'a2',
      'b1',
      null,
      null,
      null,
      null,
      null,
      null,
      null,
      'u2',
      null,
      null,
    ]);
    const c = s.steps[1];
    expect(c.kind === 'connect' && c).toMatchObject({
      client: { host: 'alice', addr: '10.1.0.2', version: 4, port: null },
      server: { host: 'server', addr: '10.2.0.1', version: 4, port: 8080 },
      answer: 'accept',
      pos: { file: 'issue.yaml', line: 9, col: 5 },
    });
    const p = s.steps[9];
    expect(p.kind === 'packet' && p).toMatchObject({
      proto: 'tcp',
      sport: 8080,
      dport: 33333,
      flags: 0x18,
      dst: { host: null, addr: '10.1.0.9' },
    });
    const u = s.steps[10];
    expect(u.kind === 'udp' && u.reply).toBe(40);
    expect(s.steps[8].kind === 'wait' && s.steps[8].duration).toBe(30_000_000);
    expect([...s.flows.keys()]).toEqual(['a1', 'a2', 'b1', 'u2']);
    expect(s.flows.get('u2')).toMatchObject({ proto: 'udp', step: 12 });
  });

  it('keeps expect: as it is, with positions', () => {
    const s = parseScenario(text, 'issue.yaml');
    expect(s.expect!.map((e) => e.value)).toEqual([{ step: 'a1', verdict: 'accept' }, 'anything the runner wants']);
    expect(s.expect![0].pos).toEqual({ file: 'issue.yaml', line: 27, col: 5 });
    expect(s.lineCounter.linePos(s.expect![1].node.range![0])).toEqual({ line: 28, col: 5 });
    expect(s.rules).toMatchObject({ value: '../rules/web-server.yaml', pos: { line: 29, col: 8 } });
  });
});

describe('defaults and options', () => {
  it('has Linux-like defaults', () => {
    const s = parse('  - wait: 1s\n');
    expect(s.options).toEqual({
      rtt: 10_000,
      mtu: 1500,
      mss: null,
      window: null,
      wscale: 7,
      timestamps: true,
      sack: true,
      ttl: 64,
      link: 'ethernet',
      seed: 1,
    });
    expect(s.title).toBe('s');
    expect(s.expect).toBeNull();
    expect(s.rules).toBeNull();
  });
  it('reads top-level options', () => {
    const s = parse(
      '  - wait: 1s\n',
      'rtt: 80ms\nmtu: 9000\nwscale: false\nwindow: 29200\ntimestamps: false\nsack: false\nttl: 128\nlink: raw\nseed: demo\nstart: 2026-03-01T12:00:00.250+01:00\n',
    );
    expect(s.options).toMatchObject({
      rtt: 80_000,
      mtu: 9000,
      wscale: null,
      window: 29200,
      timestamps: false,
      sack: false,
      ttl: 128,
      link: 'raw',
    });
    expect(s.options.seed).not.toBe(1);
    expect(s.start).toEqual({ sec: Date.parse('2026-03-01T11:00:00Z') / 1000, usec: 250_000 });
  });
  it('picks the address family: family:, a literal address, or the first one both ends have', () => {
    const s = parse(
      '  - connect: alice -> server:80\n' +
        '  - connect: alice -> server:80\n    family: 6\n' +
        '  - connect: alice -> [fd00:2::1]:80\n' +
        '  - connect: "[fd00:1::2]:4000 -> server:80"\n' +
        '  - ping: bob -> server\n',
    );
    const eps = s.steps.map((x) =>
      x.kind === 'connect' || x.kind === 'ping'
        ? `${x.client.addr}:${x.client.port} ${x.server.addr}:${x.server.port}`
        : '',
    );
    expect(eps).toEqual([
      '10.1.0.2:null 10.2.0.1:80',
      'fd00:1::2:null fd00:2::1:80',
      'fd00:1::2:null fd00:2::1:80',
      'fd00:1::2:4000 fd00:2::1:80',
      '10.1.0.3:null 10.2.0.1:null',
    ]);
    const c = s.steps[3];
    expect(c.kind === 'connect' && c.client.host).toBe('alice'); // a literal address of a host is that host
  });
  it('connect answers: listening -> accept, else reset; answer: none', () => {
    const s = parse(
      '  - listen: server:80\n  - connect: alice -> server:80\n  - connect: alice -> server:81\n  - connect: alice -> server:82\n    answer: none\n    retries: 3\n',
    );
    expect(s.steps.slice(1).map((x) => x.kind === 'connect' && [x.answer, x.retries])).toEqual([
      ['accept', 0],
      ['reset', 0],
      ['none', 3],
    ]);
  });
  it('takes parameters next to the step type or inside its mapping', () => {
    const a = parse(
      '  - listen: server:80\n  - connect: alice -> server:80\n    as: a1\n  - close: a1\n    from: server\n    as: c\n',
    );
    const b = parse(
      '  - listen: server:80\n  - connect: { from: alice, to: server:80 }\n    as: a1\n  - close: { conn: a1, from: server }\n    as: c\n',
    );
    const strip = (s: Scenario) => s.steps.map(({ pos: _pos, ...rest }) => rest);
    expect(strip(a)).toEqual(strip(b));
    expect(a.steps[2]).toMatchObject({ kind: 'close', conn: 'a1', from: 'server', half: false, name: 'c' });
  });
  it('tolerates quotes around an endpoint inside "a -> b"', () => {
    const s = parse('  - connect: alice -> "[fd00:2::1]:80"\n');
    expect(s.steps[0]).toMatchObject({ client: { addr: 'fd00:1::2' }, server: { addr: 'fd00:2::1', port: 80 } });
  });
});

describe('positioned errors', () => {
  it('unknown step type, with a suggestion', () => {
    expect(errors(`${HOSTS}steps:\n  - listen: server:80\n  - conect: alice -> server:80\n`)).toEqual([
      '7:5: unknown step type "conect"; did you mean "connect"? (allowed: listen, connect, send, close, reset, wait, packet, retransmit, udp, unreachable, ping)',
    ]);
  });
  it('a reference to an undefined connection (with a suggestion), or one defined later', () => {
    expect(
      errors(
        `${HOSTS}steps:\n  - connect: alice -> server:80\n    as: a1\n  - send: { conn: a2, bytes: 5 }\n  - close: c9\n  - connect: bob -> server:80\n    as: c9\n`,
      ),
    ).toEqual([
      '8:19: unknown connection "a2"; did you mean "a1"? (named so far: a1)',
      '9:12: c9 is used before it is defined: the connect step that names it comes later (line 10); steps run in order',
    ]);
  });
  it("an ICMP type in other words than nft's: the nft name it meant", () => {
    const e = errors(
      `${HOSTS}steps:\n  - packet: { from: alice, to: server, proto: icmp, type: echo request }\n  - packet: { from: alice, to: server, family: 6, proto: icmpv6, type: Neighbour Solicitation }\n`,
    );
    expect(e).toHaveLength(2);
    expect(e[0]).toMatch(
      /^6:59: type "echo request" is not allowed; did you mean "echo-request"\? \(allowed: echo-reply, /,
    );
    expect(e[1]).toMatch(
      /^7:72: type "Neighbour Solicitation" is not allowed; did you mean "nd-neighbor-solicit"\? \(allowed: destination-unreachable, /,
    );
  });
  it('an undefined host, pointing at the name inside the endpoint', () => {
    expect(errors(`${HOSTS}steps:\n  - connect: alice -> sever:8080\n`)).toEqual([
      '6:23: unknown host "sever"; did you mean "server"? (hosts: server, alice, bob; or give an address like 10.1.0.9)',
    ]);
  });
  it('bad durations', () => {
    expect(
      errors(
        `rtt: 10\n${HOSTS}steps:\n  - wait: 30 s\n  - wait: 5\n  - ping: { from: alice, to: server, interval: soon }\n`,
      ),
    ).toEqual([
      '1:6: rtt 10 has no unit; write 10s or 10ms; a duration is a number with a unit, like 250us, 500ms, 30s, 2m, 1h or 1m30s',
      '7:11: bad duration "30 s" for wait; a duration is a number with a unit, like 250us, 500ms, 30s, 2m, 1h or 1m30s',
      '8:11: wait 5 has no unit; write 5s or 5ms; a duration is a number with a unit, like 250us, 500ms, 30s, 2m, 1h or 1m30s',
      '9:48: bad duration "soon" for interval; a duration is a number with a unit, like 250us, 500ms, 30s, 2m, 1h or 1m30s',
    ]);
  });
  it('bad ports', () => {
    expect(
      errors(
        `${HOSTS}steps:\n  - listen: server:70000\n  - connect: alice:http -> server:80\n  - connect: alice -> server\n  - udp: { from: alice, to: server:0 }\n`,
      ),
    ).toEqual([
      '6:20: port 70000 is out of range; a port is a whole number 1-65535',
      '7:20: port "http" is not a number (service names are not supported); a port is a whole number 1-65535',
      '8:23: to "server" needs a port, like server:8080',
      '9:36: port 0 is out of range; a port is a whole number 1-65535',
    ]);
  });
  it('collects every error of the file, in order', () => {
    const e = errors(
      `sede: 3\nhosts:\n  a: 10.0.0.300\n  b: [10.0.0.2, 10.0.0.2]\nsteps:\n  - wait: 1s\n    as: w\n  - wait: 2s\n    as: w\n  - send: { conn: w, bytes: 1 }\n  - packet: { from: b, to: 10.0.0.9, proto: udp, seq: +3 }\n`,
    );
    expect(e).toEqual([
      '1:1: unknown top-level key "sede"; did you mean "seed"? (allowed: scenario, description, start, seed, link, rtt, mtu, mss, window, wscale, timestamps, sack, ttl, hosts, steps, expect, rules)',
      '3:6: host a: "10.0.0.300" is not an IPv4 or IPv6 address; write it like 10.1.0.2 or fd00:1::2',
      '4:17: host b lists 10.0.0.2 twice; give each address once',
      '9:9: name "w" is already used by the wait step at line 6; names must be unique',
      "10:19: w names a wait step (line 6), not a connection or flow; conn refers to a connect, udp or ping step's as: name",
      '11:28: a udp packet needs a destination port: to: host:port or dport:',
      '11:50: seq applies to TCP packets (sequence number) and ICMP echo (sequence)',
    ]);
  });
  it('connection state: send after close, close twice, send from a side that closed', () => {
    expect(
      errors(
        `${HOSTS}steps:\n  - listen: server:80\n  - connect: alice -> server:80\n    as: a\n  - close: { conn: a, from: server, half: true }\n  - send: { conn: a, from: server, bytes: 1 }\n  - close: a\n  - close: a\n  - connect: alice -> server:81\n    as: r\n  - send: { conn: r, bytes: 1 }\n`,
      ),
    ).toEqual([
      '10:19: the server of a has already closed its side (sent its FIN); it cannot send any more',
      '12:12: connection a is already closed (line 11)',
      '15:19: connection r was refused at line 13 (nothing listens on server:81; add "- listen: server:81" before the connect)',
    ]);
  });
  it('an ICMP error can only quote a packet that side has sent', () => {
    expect(
      errors(
        `${HOSTS}steps:\n  - udp: alice -> server:9\n    as: u\n  - unreachable: { about: u, side: server }\n  - udp: { conn: u, from: server, bytes: 3 }\n  - unreachable: { about: u, side: server }\n`,
      ),
    ).toEqual(['8:36: the server of u has sent nothing yet, so there is no packet of it to quote']);
  });
  it('family mismatches', () => {
    expect(errors(`${HOSTS}steps:\n  - ping: bob -> server\n    family: 6\n  - ping: bob -> fd00:2::1\n`)).toEqual([
      '7:13: family 6: bob (10.1.0.3) has no IPv6 address',
      '8:18: bob (10.1.0.3) and fd00:2::1 share no address family; both ends must be IPv4 or both IPv6',
    ]);
  });
  it('YAML syntax errors, with hints', () => {
    expect(errors('hosts:\n  s: fd00::1\nsteps:\n  - listen: [fd00::1]:8080\n')[0]).toMatch(
      /^4:22: YAML syntax error: .*; quote an endpoint that starts with "\[": "\[fd00::1\]:8080"$/,
    );
    expect(errors('steps:\n  - wait: 1s\n---\nsteps: []\n')).toEqual([
      '3:1: a scenario file holds one YAML document; remove the "---" line',
    ]);
    expect(errors('')).toEqual(['1:1: the file is empty; a scenario is a mapping with at least hosts: and steps:']);
  });
  it('step shape problems', () => {
    expect(
      errors(
        `${HOSTS}steps:\n  - connect\n  - send: { conn: x, bytes: 1 }\n    close: x\n  - close: { conn: x, as: y }\n  - {}\n  - send: a1\n`,
      ),
    ).toEqual([
      '6:5: step #1 must be a mapping like "- connect: alice -> server:8080", not the string "connect" (write "connect: ..." with a colon)',
      '8:5: step #2 has two step types, send and close; give each its own "- " item',
      '9:20: unknown connection "x" (no connection has been named with as: yet)',
      '9:23: as: names the step; put it next to "close:", not inside it',
      '10:5: step #4 has no step type; start it with one of: listen, connect, send, close, reset, wait, packet, retransmit, udp, unreachable, ping',
      '11:11: send takes a mapping of parameters, like send: { conn: a1, from: client, bytes: 120 }; not the string "a1"',
    ]);
  });
  it('gives each problem a code from the tables, whatever its wording', () => {
    const codes = (text: string) => {
      try {
        parseScenario(text, 's.yaml');
      } catch (e) {
        return (e as ScenarioError).diagnostics.map((d) => `${d.line}:${d.col} ${d.code}`);
      }
      throw new Error('expected the scenario to be rejected');
    };
    expect(codes(`${HOSTS}steps:\n  - connect: alice -> carol:80\n`)).toEqual(['6:23 scenario.unknown-host']);
    expect(codes(`${HOSTS}steps:\n  - close: a1\n`)).toEqual(['6:12 scenario.unknown-flow']);
    expect(codes(`${HOSTS}steps:\n  - wait: 30\n`)).toEqual(['6:11 value.bad-duration']);
    expect(codes(`${HOSTS}steps:\n  - conect: alice -> server:80\n`)).toEqual(['6:5 scenario.unknown-step-type']);
  });
  it('loadScenario names a missing file as every input does, with no position', () => {
    expect(() => loadScenario('/nonexistent/x.yaml')).toThrow(
      new InputFileError('/nonexistent/x.yaml', 'scenario file', 'no such file'),
    );
    expect(() => loadScenario('/nonexistent/x.yaml')).toThrow(
      '/nonexistent/x.yaml: cannot read scenario file: no such file',
    );
  });
});
