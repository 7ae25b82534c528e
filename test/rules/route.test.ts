/** The firewall model's routing table (rules/route.ts), against routes worked out by hand. */
import { describe, expect, it } from 'vitest';
import { parseCidr } from '../../src/rules/cidr.js';
import type { FwInterface } from '../../src/rules/firewall.js';
import { ifNameMatches, LO_IF, NO_IF, RouteTable } from '../../src/rules/route.js';
import type { Cidr } from '../../src/rules/types.js';
import { parseAddr } from '../../src/packet/describe.js';

function cidr(text: string, keepHost = false): Cidr {
  const r = parseCidr(text);
  if (!r.ok) throw new Error(r.error);
  if (!keepHost) return r.cidr;
  const a = parseAddr(text.split('/')[0])!;
  return { ...r.cidr, words: [...a.words] as [number, number, number, number], prefix: a.version === 4 ? 32 : 128 };
}

function iface(name: string, addrs: string[], networks: string[] = [], def = false): FwInterface {
  return {
    name,
    addresses: addrs.map((a) => ({ addr: cidr(a, true), net: cidr(a) })),
    networks: networks.map((n) => cidr(n)),
    defaultRoute: def,
    pos: { file: 't', line: 1, col: 1 },
  };
}

const w = (text: string): [number, number, number, number] => {
  const a = parseAddr(text)!;
  return [...a.words] as [number, number, number, number];
};
const look = (t: RouteTable, text: string) => {
  const a = parseAddr(text)!;
  return t.names[t.lookup(a.version, ...(w(text) as [number, number, number, number]))] ?? null;
};

describe('RouteTable', () => {
  const t = new RouteTable([
    iface('lan0', ['192.168.1.1/24', 'fd00:1::1/64']),
    iface('dmz0', ['192.168.2.1/24'], ['192.168.0.0/16', '10.0.0.0/8']),
    iface('wan0', ['203.0.113.1/24'], [], true),
  ]);

  it('lo is interface 0; declared interfaces follow in file order', () => {
    expect(t.names).toEqual(['lo', 'lan0', 'dmz0', 'wan0']);
    expect(LO_IF).toBe(0);
  });

  it('the longest prefix wins: a connected /24 over a routed /16, the /16 over the default', () => {
    expect(look(t, '192.168.1.77')).toBe('lan0');
    expect(look(t, '192.168.2.9')).toBe('dmz0');
    expect(look(t, '192.168.9.9')).toBe('dmz0');
    expect(look(t, '10.200.0.1')).toBe('dmz0');
    expect(look(t, '198.51.100.10')).toBe('wan0');
    expect(look(t, 'fd00:1::55')).toBe('lan0');
    expect(look(t, '2001:db8::1')).toBe('wan0');
    expect(look(t, '127.0.0.5')).toBe('lo');
  });

  it('without a default route an address outside every network has no route', () => {
    const n = new RouteTable([iface('a', ['10.0.0.1/24'])]);
    expect(n.lookup(4, w('8.8.8.8')[0], 0, 0, 0)).toBe(NO_IF);
    expect(n.lookup(6, ...w('2001:db8::1'))).toBe(NO_IF);
  });

  it('own addresses: each interface address, all of 127.0.0.0/8 and ::1; not the networks', () => {
    expect(t.isOwn(4, w('192.168.1.1')[0], 0, 0, 0)).toBe(true);
    expect(t.isOwn(4, w('203.0.113.1')[0], 0, 0, 0)).toBe(true);
    expect(t.isOwn(4, w('127.3.4.5')[0], 0, 0, 0)).toBe(true);
    expect(t.isOwn(4, w('192.168.1.2')[0], 0, 0, 0)).toBe(false);
    expect(t.isOwn(6, ...w('fd00:1::1'))).toBe(true);
    expect(t.isOwn(6, ...w('::1'))).toBe(true);
    expect(t.isOwn(6, ...w('fd00:1::2'))).toBe(false);
  });

  it('directed broadcast of each connected IPv4 network', () => {
    expect(t.isDirectedBroadcast(w('192.168.1.255')[0])).toBe(true);
    expect(t.isDirectedBroadcast(w('203.0.113.255')[0])).toBe(true);
    expect(t.isDirectedBroadcast(w('192.168.255.255')[0])).toBe(false); // a routed network's, not ours
  });

  it('masquerade address: the one whose network holds the destination, else the first of the family', () => {
    const two = new RouteTable([iface('wan0', ['203.0.113.1/24', '198.51.100.1/24'], [], true)]);
    expect(two.sourceAddress(1, 4, w('198.51.100.10'))?.words[0]).toBe(w('198.51.100.1')[0]);
    expect(two.sourceAddress(1, 4, w('8.8.8.8'))?.words[0]).toBe(w('203.0.113.1')[0]);
    expect(two.sourceAddress(1, 6, w('2001:db8::1'))).toBeNull();
  });
});

describe('interface name patterns', () => {
  it('a trailing * matches any suffix (nft iifname "eth*"), otherwise the whole name', () => {
    expect(ifNameMatches('eth*', 'eth0')).toBe(true);
    expect(ifNameMatches('eth*', 'eth')).toBe(true);
    expect(ifNameMatches('eth*', 'veth0')).toBe(false);
    expect(ifNameMatches('eth0', 'eth0')).toBe(true);
    expect(ifNameMatches('eth0', 'eth00')).toBe(false);
  });
});
