/**
 * The text values of firewall rules, parsed on their own: expected values
 * written by hand from nft's meaning (tcp flag bits from the TCP header,
 * the kernel's default burst of 5, nft's reject and NAT syntax).
 */
import { describe, expect, it } from 'vitest';
import { parseAddrElement, parseAddrRange } from '../../src/rules/addr-range.js';
import { parseLimit, parseNatTarget, parsePortNat, parseRejectWith, parseTcpFlags } from '../../src/rules/fw-values.js';

function ok<T>(p: { ok: true; value: T } | { ok: false; error: string }): T {
  if (!p.ok) throw new Error(p.error);
  return p.value;
}
function err(p: { ok: boolean; error?: string }): string {
  expect(p.ok).toBe(false);
  return p.error!;
}

describe('tcp_flags', () => {
  it('one flag: that bit set, the others any (mask = value)', () => {
    expect(ok(parseTcpFlags('syn'))).toEqual({ mask: 0x02, value: 0x02, text: 'syn / syn' });
  });
  it('a comma list: all of them set', () => {
    expect(ok(parseTcpFlags('syn,ack'))).toEqual({ mask: 0x12, value: 0x12, text: 'syn,ack / syn,ack' });
  });
  it('value / mask, written in header bit order whatever the input order', () => {
    expect(ok(parseTcpFlags('syn / syn,ack,rst,fin'))).toEqual({
      mask: 0x17,
      value: 0x02,
      text: 'syn / fin,syn,rst,ack',
    });
    expect(ok(parseTcpFlags('ack / cwr,ecn,urg,ack,psh'))).toEqual({
      mask: 0xf8,
      value: 0x10,
      text: 'ack / psh,ack,urg,ecn,cwr',
    });
    // nft's names are lower case: nft -f says "Could not parse TCP flag" for SYN
    expect(err(parseTcpFlags('SYN'))).toBe(
      '"SYN" is not a TCP flag; nft writes syn (fin, syn, rst, psh, ack, urg, ecn, cwr)',
    );
  });
  it('refuses unknown names, a value outside the mask, and stray separators', () => {
    expect(err(parseTcpFlags('sin'))).toMatch(/"sin" is not a TCP flag \(fin, syn, rst, psh, ack, urg, ecn, cwr\)/);
    expect(err(parseTcpFlags('syn / ack'))).toMatch(/^syn must be set but is not among the flags looked at/);
    expect(err(parseTcpFlags('syn,,ack'))).toMatch(/empty flag name/);
    expect(err(parseTcpFlags('syn / ack / rst'))).toMatch(/more than one "\/"/);
  });
});

describe('limit', () => {
  it('N/unit with the kernel default burst of 5 packets', () => {
    expect(ok(parseLimit('10/minute'))).toEqual({
      rate: 10,
      unit: 'minute',
      burst: 5,
      over: false,
      text: '10/minute burst 5 packets',
    });
  });
  it('burst, over, and the words "limit rate" of nft', () => {
    expect(ok(parseLimit('over 100/second burst 20 packets'))).toEqual({
      rate: 100,
      unit: 'second',
      burst: 20,
      over: true,
      text: 'over 100/second burst 20 packets',
    });
    expect(ok(parseLimit('limit rate 3/hour burst 1'))).toMatchObject({ rate: 3, unit: 'hour', burst: 1 });
    expect(ok(parseLimit('1/week')).unit).toBe('week');
    expect(ok(parseLimit('1/day')).unit).toBe('day');
  });
  it('names the unit meant, and refuses byte rates and a zero rate', () => {
    expect(err(parseLimit('10/minutes'))).toBe('"minutes" is not a unit; write minute');
    expect(err(parseLimit('10/sec'))).toBe('"sec" is not a unit; write second');
    expect(err(parseLimit('10 mbytes/second'))).toMatch(/byte rates are not modelled/);
    expect(err(parseLimit('0/second'))).toMatch(/rate 0 must be 1-/);
    expect(err(parseLimit('1/second burst 0 packets'))).toMatch(
      /burst 0 must be 1-4294967295 \(nft: "packet limit burst must be > 0"\)/,
    );
    expect(err(parseLimit('ten/second'))).toMatch(/is not a limit/);
  });
});

describe('reject_with', () => {
  it("takes nft's words, normalised", () => {
    expect(ok(parseRejectWith('tcp reset'))).toEqual({ text: 'tcp reset', kind: 'tcp' });
    expect(ok(parseRejectWith('icmpx  port-unreachable'))).toEqual({ text: 'icmpx port-unreachable', kind: 'icmpx' });
    expect(ok(parseRejectWith('icmp type host-prohibited'))).toEqual({ text: 'icmp host-prohibited', kind: 'icmp' });
    expect(ok(parseRejectWith('icmpv6 admin-prohibited'))).toEqual({ text: 'icmpv6 admin-prohibited', kind: 'icmpv6' });
    // every code nft describe lists (icmp_code, icmpv6_code, icmpx_code) loads with nft -f
    for (const w of [
      'icmp net-unreachable',
      'icmp host-unreachable',
      'icmp prot-unreachable',
      'icmp port-unreachable',
      'icmp net-prohibited',
      'icmp host-prohibited',
      'icmp admin-prohibited',
      'icmp frag-needed',
      'icmpv6 no-route',
      'icmpv6 admin-prohibited',
      'icmpv6 addr-unreachable',
      'icmpv6 port-unreachable',
      'icmpv6 policy-fail',
      'icmpv6 reject-route',
      'icmpx port-unreachable',
      'icmpx admin-prohibited',
      'icmpx no-route',
      'icmpx host-unreachable',
    ])
      expect(ok(parseRejectWith(w)).text).toBe(w);
  });
  it('refuses codes of another family and other words', () => {
    expect(err(parseRejectWith('icmpv6 host-prohibited'))).toMatch(/"host-prohibited" is not an icmpv6 reject code/);
    expect(err(parseRejectWith('icmpx net-unreachable'))).toMatch(/not an icmpx reject code/);
    expect(err(parseRejectWith('port-unreachable'))).toMatch(/is not a reject type; write "tcp reset"/);
    // nft's spellings only (measured: nft -f refuses "reject with icmp6 no-route", a syntax error)
    expect(err(parseRejectWith('icmp6 no-route'))).toMatch(
      /^"icmp6 no-route" is not a reject type; nft writes icmpv6, not icmp6;/,
    );
    expect(err(parseRejectWith('tcp-reset'))).toBe('"tcp-reset" is not nft\'s spelling; write "tcp reset"');
    expect(err(parseRejectWith('ICMP host-prohibited'))).toMatch(/is not a reject type/);
  });
});

describe('NAT targets', () => {
  it('an address, with a port, a range, and port ranges', () => {
    expect(ok(parseNatTarget('dnat', '192.168.1.10:8080', []))).toEqual({
      kind: 'dnat',
      addr: { version: 4, lo: [0xc0a8010a, 0, 0, 0], hi: [0xc0a8010a, 0, 0, 0], text: '192.168.1.10' },
      ports: { lo: 8080, hi: 8080 },
      flags: [],
      text: 'dnat ip to 192.168.1.10:8080',
    });
    expect(ok(parseNatTarget('snat', '203.0.113.1-203.0.113.5', []))).toMatchObject({
      addr: { lo: [0xcb007101, 0, 0, 0], hi: [0xcb007105, 0, 0, 0], text: '203.0.113.1-203.0.113.5' },
      ports: null,
      text: 'snat ip to 203.0.113.1-203.0.113.5',
    });
    expect(ok(parseNatTarget('snat', '203.0.113.1:40000-40100', ['random', 'persistent']))).toMatchObject({
      ports: { lo: 40000, hi: 40100 },
      flags: ['random', 'persistent'],
      text: 'snat ip to 203.0.113.1:40000-40100 random,persistent',
    });
  });
  it('IPv6: bracketed with a port, bare without', () => {
    expect(ok(parseNatTarget('dnat', '[2001:db8::1]:80', []))).toEqual({
      kind: 'dnat',
      addr: { version: 6, lo: [0x20010db8, 0, 0, 1], hi: [0x20010db8, 0, 0, 1], text: '2001:db8::1' },
      ports: { lo: 80, hi: 80 },
      flags: [],
      text: 'dnat ip6 to [2001:db8::1]:80',
    });
    expect(ok(parseNatTarget('snat', '2001:db8::1-2001:db8::9', [])).text).toBe('snat ip6 to 2001:db8::1-2001:db8::9');
    expect(ok(parseNatTarget('snat', '[2001:db8::1]', [])).ports).toBeNull();
  });
  it('refuses backwards ranges, mixed versions, port 0, bracketed IPv4 and no address', () => {
    expect(err(parseNatTarget('snat', '10.0.0.9-10.0.0.1', []))).toMatch(/backwards/);
    expect(err(parseNatTarget('snat', '10.0.0.1-fd00::1', []))).toMatch(/different IP versions/);
    expect(err(parseNatTarget('dnat', '10.0.0.1:0', []))).toMatch(/port 0 is out of range \(1-65535\)/);
    expect(err(parseNatTarget('dnat', '10.0.0.1:90-80', []))).toMatch(/backwards; write 80-90/);
    expect(err(parseNatTarget('dnat', '[10.0.0.1]:80', []))).toMatch(/brackets are for IPv6/);
    expect(err(parseNatTarget('dnat', ':8080', []))).toMatch(/dnat needs an address/);
    expect(err(parseNatTarget('dnat', '10.0.0.0/24', []))).toMatch(/not a number|prefix|not an IPv4/);
  });
  it('masquerade and redirect: no address, ports optional', () => {
    expect(ok(parsePortNat('masquerade', null, []))).toEqual({
      kind: 'masquerade',
      addr: null,
      ports: null,
      flags: [],
      text: 'masquerade',
    });
    expect(ok(parsePortNat('masquerade', '40000-40100', ['fully-random'])).text).toBe(
      'masquerade to :40000-40100 fully-random',
    );
    expect(ok(parsePortNat('redirect', '8080', []))).toMatchObject({
      ports: { lo: 8080, hi: 8080 },
      text: 'redirect to :8080',
    });
    expect(err(parsePortNat('redirect', '70000', []))).toMatch(/out of range/);
  });
});

describe('address elements', () => {
  it('a range keeps its ends; a CIDR its prefix', () => {
    expect(parseAddrRange('10.0.0.10-10.0.0.20')).toEqual({
      ok: true,
      range: { version: 4, lo: [0x0a00000a, 0, 0, 0], hi: [0x0a000014, 0, 0, 0], text: '10.0.0.10-10.0.0.20' },
    });
    expect(parseAddrElement(' fd00::1 - fd00::ff ')).toMatchObject({
      ok: true,
      cidr: null,
      range: { version: 6, lo: [0xfd000000, 0, 0, 1], hi: [0xfd000000, 0, 0, 0xff], text: 'fd00::1-fd00::ff' },
    });
    expect(parseAddrElement('10.1.2.3/16')).toMatchObject({
      ok: true,
      range: null,
      hostBits: true,
      cidr: { text: '10.1.0.0/16' },
    });
  });
  it('refuses prefixes inside a range and backwards ranges', () => {
    expect(parseAddrElement('10.0.0.0/24-10.0.1.0')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/without a \/prefix/),
    });
    expect(parseAddrElement('10.0.0.20-10.0.0.10')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/backwards/),
    });
    expect(parseAddrElement('10.0.0.1-fd00::1')).toMatchObject({
      ok: false,
      error: expect.stringMatching(/different IP versions/),
    });
  });
});
