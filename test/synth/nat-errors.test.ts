/**
 * snat:, masquerade: and dnat: that cannot be used: each a positioned
 * diagnostic with its code (line:col counted by hand in the texts below).
 */
import { describe, expect, it } from 'vitest';
import { parseScenario, ScenarioError } from '../../src/synth/index.js';
import { SCENARIO_CODES } from '../../src/synth/scenario/codes.js';

const HOSTS = `hosts:
  alice: [192.168.1.10, "fd00:1::10"]
  bob: 192.168.1.11
  router: 203.0.113.1
  server: [198.51.100.10, "2001:db8:100::10"]
steps:
  - listen: server:80
`;
/** Line of the first step after HOSTS. */
const L = 8;

/** The diagnostics of HOSTS + steps as "line:col code: message". */
function errors(steps: string): string[] {
  try {
    parseScenario(HOSTS + steps, 's.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return (e as ScenarioError).diagnostics.map((d) => {
      expect(d.code in SCENARIO_CODES, d.code).toBe(true);
      return `${d.line}:${d.col} ${d.code}: ${d.message}`;
    });
  }
  throw new Error('expected the scenario to be rejected');
}

describe('NAT values', () => {
  it('an address that is none', () => {
    expect(errors('  - connect: alice -> server:80\n    snat: 203.0.113.300\n')).toEqual([
      `${L + 1}:11 scenario.bad-endpoint: "203.0.113.300" in snat is not an IPv4 address; each of its four numbers is 0-255, like 10.1.0.2`,
    ]);
    expect(errors('  - connect: alice -> server:80\n    snat: carol\n')).toEqual([
      `${L + 1}:11 scenario.unknown-host: unknown host "carol" (hosts: alice, bob, router, server; or give an address like 10.1.0.9)`,
    ]);
    expect(errors('  - connect: alice -> server:80\n    dnat: [1, 2]\n')).toEqual([
      `${L + 1}:11 scenario.bad-value: dnat must be the real server behind the public endpoint, like 192.168.1.10:80 or a host (alice:80), not a list`,
    ]);
    // the port inside a quoted value: column of the 0 (quote at 11, address from 12)
    expect(errors('  - connect: alice -> server:80\n    snat: "203.0.113.1:0"\n')).toEqual([
      `${L + 1}:24 scenario.bad-port: port 0 is out of range; a port is a whole number 1-65535`,
    ]);
  });

  it('masquerade: true (a rule file says that; a scenario has no interfaces)', () => {
    expect(errors('  - connect: alice -> server:80\n    masquerade: true\n')).toEqual([
      `${L + 1}:17 scenario.bad-nat: masquerade needs the address the firewall masquerades to (its address on the way to the server), like masquerade: 203.0.113.1; a scenario has no interfaces to take it from`,
    ]);
  });

  it('snat and masquerade together', () => {
    expect(errors('  - connect: alice -> server:80\n    snat: router\n    masquerade: router\n')).toEqual([
      `${L + 2}:5 scenario.bad-nat: snat and masquerade both say which address the server sees the client as; give one (masquerade is snat to the address of the way out)`,
    ]);
  });

  it('the other address family than the flow', () => {
    // alice and server have both families; family: 6 picks IPv6, the snat address is IPv4 (col 61)
    expect(errors('  - connect: { from: alice, to: server:80, family: 6, snat: 203.0.113.1 }\n')).toEqual([
      `${L}:61 scenario.nat-family: snat: 203.0.113.1 is an IPv4 address, and the connection fd00:1::10 -> [2001:db8:100::10]:80 is IPv6; NAT keeps the address family`,
    ]);
    expect(errors('  - connect: alice -> server:80\n    dnat: "[fd00:1::10]:80"\n')).toEqual([
      `${L + 1}:12 scenario.nat-family: dnat: fd00:1::10 is an IPv6 address, and the connection 192.168.1.10 -> 198.51.100.10:80 is IPv4; NAT keeps the address family`,
    ]);
    expect(errors('  - ping: { from: alice, to: server, family: 6, masquerade: router }\n')).toEqual([
      `${L}:61 scenario.nat-family: masquerade: host router has no IPv6 address, and the flow fd00:1::10 -> 2001:db8:100::10 is IPv6; NAT keeps the address family`,
    ]);
  });

  it('a ping: no port to forward to', () => {
    expect(errors('  - ping: alice -> server\n    dnat: "bob:7"\n')).toEqual([
      `${L + 1}:16 scenario.bad-port: dnat takes no port (":7"); give just the host or address`,
    ]);
  });
});

describe('NAT on a step that opens no flow', () => {
  it('send, close, packet, listen: the flow keeps what it was opened with', () => {
    expect(
      errors('  - connect: alice -> server:80\n    as: a1\n  - send: { conn: a1, bytes: 10, snat: router }\n'),
    ).toEqual([
      `${L + 2}:34 scenario.parameter-not-applicable: snat applies only to a step that opens a flow (connect, udp, ping); send works on a flow, which keeps the NAT of the step that opened it`,
    ]);
    expect(errors('  - connect: alice -> server:80\n    as: a1\n  - close: a1\n    dnat: alice:80\n')).toEqual([
      `${L + 3}:5 scenario.parameter-not-applicable: dnat applies only to a step that opens a flow (connect, udp, ping); close works on a flow, which keeps the NAT of the step that opened it`,
    ]);
    expect(errors('  - packet: { from: alice, to: server:80, masquerade: router }\n')).toEqual([
      `${L}:43 scenario.parameter-not-applicable: masquerade applies only to a step that opens a flow (connect, udp, ping); a packet step is written as the firewall receives it: give it the addresses and ports it has there`,
    ]);
    expect(errors('  - listen: alice:80\n    dnat: router:8080\n')).toEqual([
      `${L + 1}:5 scenario.parameter-not-applicable: dnat applies only to a step that opens a flow (connect, udp, ping); listen opens no flow`,
    ]);
  });

  it('udp with conn: continues a flow', () => {
    expect(errors('  - udp: alice -> server:53\n    as: u\n  - udp: { conn: u, snat: router }\n')).toEqual([
      `${L + 2}:21 scenario.parameter-not-applicable: udp with conn: continues u, which keeps the NAT of the step that started it (line ${L}); give snat: there`,
    ]);
  });
});

describe('reply tuples', () => {
  const A1 = '  - connect: alice:40000 -> server:80\n    masquerade: router\n    as: a1\n';
  it('two open connections the server would see as one: the second needs its own port', () => {
    expect(errors(`${A1}  - connect: bob:40000 -> server:80\n    masquerade: router\n`)).toEqual([
      `${L + 3}:14 scenario.tuple-in-use: server 198.51.100.10:80 would see this connection coming from router 203.0.113.1:40000, as it sees connection a1 (line ${L}), which is still open; no two connections share a reply tuple: the kernel gives the second one another port, so say which: snat: 203.0.113.1:PORT`,
    ]);
    // also when the clash is with the router's own socket, no NAT on the second
    expect(errors(`${A1}  - connect: router:40000 -> server:80\n`)[0]).toMatch(
      new RegExp(
        `^${L + 3}:14 scenario.tuple-in-use: server 198.51.100.10:80 would see this connection coming from router 203.0.113.1:40000, as it sees connection a1`,
      ),
    );
  });

  it('no clash: another server port, another port given, or the first closed', () => {
    const ok = (steps: string) => expect(() => parseScenario(HOSTS + steps, 's.yaml')).not.toThrow();
    ok(`${A1}  - listen: server:443\n  - connect: bob:40000 -> server:443\n    masquerade: router\n`);
    ok(`${A1}  - connect: bob:40000 -> server:80\n    snat: router:40001\n`);
    ok(`${A1}  - close: a1\n  - connect: bob:40000 -> server:80\n    masquerade: router\n`);
  });
});
