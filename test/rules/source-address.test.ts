/**
 * masqueradeSource against the kernel's choices worked out by hand from
 * inet_select_addr and ipv6_dev_get_saddr (addrconf.c: scope, egress
 * interface, label from the default ip6addrlbl table, longest matching
 * prefix). test/kernel/fw-masq-source.test.ts checks them in the kernel.
 */
import { describe, expect, it } from 'vitest';
import { parseCidr } from '../../src/rules/cidr.js';
import { type IfAddrs, masqueradeSource } from '../../src/rules/source-address.js';
import type { Cidr } from '../../src/rules/types.js';

function c(text: string): Cidr {
  const p = parseCidr(text);
  if (!p.ok) throw new Error(p.error);
  return p.cidr;
}
const ifa = (text: string) => ({ addr: c(text.split('/')[0]), net: c(text) });
const LO: IfAddrs = [ifa('127.0.0.1/8'), ifa('::1/128')];
const words = (a: string) => c(a).words;
const src = (addrs: IfAddrs[], oif: number, dst: string) => {
  const r = masqueradeSource(addrs, oif, dst.includes(':') ? 6 : 4, words(dst));
  return r === null ? null : r.text;
};

describe('IPv6 (ipv6_dev_get_saddr)', () => {
  // lo, lan0, dmz0, wan0 (no IPv6 address)
  const addrs: IfAddrs[] = [
    LO,
    [ifa('192.168.1.1/24'), ifa('fd00:1::1/64')],
    [ifa('2001:db8:7::1/64')],
    [ifa('203.0.113.1/24')],
  ];
  it('the egress interface has none: another interface’s address of global scope, never ::1', () => {
    // 2001:db8::/32 is label 1 (::/0) as the dmz address; the ULA is label 5.
    expect(src(addrs, 3, '2001:db8:5::10')).toBe('2001:db8:7::1');
    // fe00:: is label 1 too, and shares 6 leading bits with fd00:: and none with 2001::: the label decides first.
    expect(src(addrs, 3, 'fe00::10')).toBe('2001:db8:7::1');
    // fd99::/16 is label 5 (fc00::/7): the ULA shares it.
    expect(src(addrs, 3, 'fd99::10')).toBe('fd00:1::1');
    // 2a00:: is label 1: neither matches; the longer common prefix wins (0010 of 2001 against 2a00: 4 bits, fd00: 0).
    expect(src(addrs, 3, '2a00::10')).toBe('2001:db8:7::1');
  });
  it('the egress interface is preferred over another of the same scope and label', () => {
    const two: IfAddrs[] = [LO, [ifa('2001:db8:1::1/64')], [ifa('2001:db8:2::1/64')]];
    expect(src(two, 2, '2001:db8:5::10')).toBe('2001:db8:2::1');
    expect(src(two, 1, '2001:db8:5::10')).toBe('2001:db8:1::1');
  });
  it('a link-local or multicast destination takes the egress interface’s addresses only', () => {
    expect(src(addrs, 3, 'fe80::10')).toBeNull();
    expect(src(addrs, 3, 'ff02::1')).toBeNull();
    expect(src(addrs, 1, 'fe80::10')).toBe('fd00:1::1');
  });
});

describe('IPv4 (inet_select_addr)', () => {
  it('the egress interface’s address (the one whose network holds the destination first)', () => {
    const addrs: IfAddrs[] = [LO, [ifa('10.0.0.1/24'), ifa('10.0.1.1/24')]];
    expect(src(addrs, 1, '10.0.1.9')).toBe('10.0.1.1');
    expect(src(addrs, 1, '198.51.100.1')).toBe('10.0.0.1');
  });
  it('none there: the first universe-scope address in device order, not 127.0.0.1', () => {
    const addrs: IfAddrs[] = [LO, [ifa('fd00:1::1/64')], [ifa('192.168.1.1/24')], [ifa('172.16.0.1/24')]];
    expect(src(addrs, 1, '198.51.100.1')).toBe('192.168.1.1');
    expect(src([LO, []], 1, '198.51.100.1')).toBeNull();
  });
});
