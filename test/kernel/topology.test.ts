/**
 * The oracle's pure parts for the firewall model (no kernel needed): which
 * leg a packet enters by, the routes built for the legs, and conntrack
 * lines taken apart.
 */
import { describe, expect, it } from 'vitest';
import type { Firewall } from '../../src/rules/firewall.js';
import { parseConntrack } from './conntrack.js';
import { kernelInterfaces } from './firewall-topology.js';
import { buildLegs, legBatch, parseIp, routeLeg } from './topology.js';

const HOME = {
  lan0: { addresses: ['192.168.1.1/24', 'fd00:1::1/64'], networks: ['192.168.2.0/24'] },
  dmz0: { addresses: '172.16.0.1/24', networks: ['10.50.0.0/16', '10.50.7.0/24'] },
  wan0: { addresses: ['203.0.113.1/24'], default: true },
};

describe('kernel oracle topology', () => {
  const legs = buildLegs(HOME);
  const leg = (a: string) => {
    const ip = parseIp(a);
    return legs[routeLeg(legs, ip.v, ip.bytes)].name;
  };

  it('sends a packet in by the leg whose networks hold its source, longest prefix first', () => {
    expect(leg('192.168.1.77')).toBe('lan0');
    expect(leg('192.168.2.5')).toBe('lan0'); // a routed network
    expect(leg('fd00:1::10')).toBe('lan0');
    expect(leg('10.50.7.9')).toBe('dmz0');
    expect(leg('203.0.113.99')).toBe('wan0');
    expect(leg('8.8.8.8')).toBe('wan0'); // the default leg
    expect(leg('2001:db8::1')).toBe('wan0');
    // Without a default leg, the first.
    const noDefault = buildLegs({ a0: { addresses: ['10.0.0.1/8'] }, b0: { addresses: ['172.16.0.1/12'] } });
    const ip = parseIp('8.8.8.8');
    expect(noDefault[routeLeg(noDefault, 4, ip.bytes)].name).toBe('a0');
    expect(legBatch(noDefault)).toContain('route replace blackhole 0.0.0.0/0');
  });

  it('routes every network via the leg, from the leg address in it, and the defaults out of the default leg', () => {
    const batch = legBatch(legs);
    expect(batch).toContain('addr add 192.168.1.1/24 dev lan0 noprefixroute');
    expect(batch).toContain('addr add fd00:1::1/64 dev lan0 noprefixroute nodad');
    expect(batch).toContain(`route replace 192.168.1.0/24 via ${legs[0].hop4} dev lan0 onlink src 192.168.1.1`);
    expect(batch).toContain(`route replace 192.168.2.0/24 via ${legs[0].hop4} dev lan0 onlink`);
    expect(batch).toContain(`route replace fd00:1:0:0:0:0:0:0/64 via ${legs[0].hop6} dev lan0 src fd00:1::1`);
    expect(batch).toContain(`route replace 0.0.0.0/0 via ${legs[2].hop4} dev wan0 onlink`);
    expect(batch).toContain(`route replace ::/0 via ${legs[2].hop6} dev wan0`);
  });

  it('refuses bad descriptions with the interface and the problem', () => {
    expect(() => buildLegs({})).toThrow(/at least one interface/);
    expect(() => buildLegs({ 'a-very-long-name0': {} })).toThrow(/bad interface name "a-very-long-name0"/);
    expect(() => buildLegs({ lo: {} })).toThrow(/bad interface name "lo"/);
    expect(() => buildLegs({ a: { addresses: '10.0.0.1' } })).toThrow(/a: address 10.0.0.1 needs a prefix/);
    expect(() => buildLegs({ a: { default: true }, b: { default: true } })).toThrow(/more than one default \(a, b\)/);
  });
});

describe('conntrack lines taken apart', () => {
  it('splits a masqueraded TCP entry into its tuples', () => {
    const e = parseConntrack(
      'tcp      6 431999 ESTABLISHED src=192.168.1.10 dst=198.51.100.10 sport=40000 dport=80 src=198.51.100.10 dst=203.0.113.1 sport=80 dport=40000 [ASSURED] mark=0 use=1',
    );
    expect(e).toMatchObject({
      proto: 'tcp',
      protonum: 6,
      timeout: 431999,
      state: 'ESTABLISHED',
      orig: { src: '192.168.1.10', dst: '198.51.100.10', sport: 40000, dport: 80 },
      reply: { src: '198.51.100.10', dst: '203.0.113.1', sport: 80, dport: 40000 },
      flags: ['ASSURED'],
      mark: 0,
    });
  });

  it('reads ICMP ids, UNREPLIED between the tuples, and conntrack -E events', () => {
    expect(
      parseConntrack(
        'icmp     1 29 src=192.168.1.11 dst=198.51.100.10 type=8 code=0 id=777 [UNREPLIED] src=198.51.100.10 dst=203.0.113.1 type=0 code=0 id=4204 mark=0 use=1',
      ),
    ).toMatchObject({
      orig: { type: 8, code: 0, id: 777 },
      reply: { src: '198.51.100.10', dst: '203.0.113.1', type: 0, code: 0, id: 4204 },
      flags: ['UNREPLIED'],
    });
    expect(
      parseConntrack(
        '    [NEW] udp      17 30 src=192.168.1.10 dst=198.51.100.10 sport=33000 dport=53 [UNREPLIED] src=198.51.100.10 dst=203.0.113.1 sport=53 dport=33000',
      ),
    ).toMatchObject({ event: 'NEW', proto: 'udp', timeout: 30, reply: { dport: 33000 } });
    expect(
      parseConntrack(
        ' [DESTROY] tcp      6 src=10.1.0.2 dst=10.2.0.1 sport=1 dport=2 src=10.2.0.1 dst=10.1.0.2 sport=2 dport=1',
      ),
    ).toMatchObject({ event: 'DESTROY', proto: 'tcp', orig: { sport: 1 } });
    const destroy = parseConntrack(
      ' [DESTROY] tcp      6 src=10.1.0.2 dst=10.2.0.1 sport=1 dport=2 src=10.2.0.1 dst=10.1.0.2 sport=2 dport=1',
    );
    expect([destroy?.timeout, destroy?.state]).toEqual([undefined, undefined]);
    expect(parseConntrack('conntrack v1.4.7 (conntrack-tools): 1 flow entries have been shown.')).toBeNull();
  });
});

describe("a rule file's interfaces as the oracle's", () => {
  it('gives addresses with their prefix, networks, the default leg, and leaves lo out', () => {
    const pos = { file: 'x.yaml', line: 1, col: 1 };
    const cidr = (text: string, version: 4 | 6, prefix: number) => ({
      version,
      words: [0, 0, 0, 0] as [number, number, number, number],
      prefix,
      text,
    });
    const fw = {
      interfaces: [
        {
          name: 'lan0',
          addresses: [
            { addr: cidr('192.168.1.1', 4, 32), net: cidr('192.168.1.0/24', 4, 24) },
            { addr: cidr('fd00:1::1', 6, 128), net: cidr('fd00:1::/64', 6, 64) },
          ],
          networks: [cidr('192.168.2.0/24', 4, 24), cidr('10.9.9.9', 4, 32)],
          defaultRoute: false,
          pos,
        },
        {
          name: 'wan0',
          addresses: [{ addr: cidr('203.0.113.1', 4, 32), net: cidr('203.0.113.0/24', 4, 24) }],
          networks: [],
          defaultRoute: true,
          pos,
        },
        {
          name: 'lo',
          addresses: [{ addr: cidr('127.0.0.1', 4, 32), net: cidr('127.0.0.0/8', 4, 8) }],
          networks: [],
          defaultRoute: false,
          pos,
        },
      ],
      sets: [],
      chains: [],
    } as unknown as Firewall;
    const k = kernelInterfaces(fw);
    expect(k).toEqual({
      lan0: { addresses: ['192.168.1.1/24', 'fd00:1::1/64'], networks: ['192.168.2.0/24', '10.9.9.9/32'] },
      wan0: { addresses: ['203.0.113.1/24'], networks: [], default: true },
    });
    expect(buildLegs(k).map((l) => l.name)).toEqual(['lan0', 'wan0']);
  });
});
