import { describe, expect, it } from 'vitest';
import { cidrContains, parseCidr, wordMask } from '../../src/rules/cidr.js';
import { formatAddr } from '../../src/packet/addr.js';
import type { Cidr } from '../../src/rules/types.js';

function c(s: string): Cidr {
  const r = parseCidr(s);
  if (!r.ok) throw new Error(r.error);
  return r.cidr;
}

function err(s: string): string {
  const r = parseCidr(s);
  if (r.ok) throw new Error(`expected ${s} to fail`);
  return r.error;
}

describe('parseCidr', () => {
  it('parses IPv4 addresses and prefixes into word 0', () => {
    expect(c('10.1.0.0/16')).toEqual({ version: 4, words: [0x0a010000, 0, 0, 0], prefix: 16, text: '10.1.0.0/16' });
    expect(c('255.255.255.255')).toEqual({
      version: 4,
      words: [0xffffffff, 0, 0, 0],
      prefix: 32,
      text: '255.255.255.255',
    });
    expect(c('0.0.0.0/0').text).toBe('0.0.0.0/0');
    expect(c('10.2.0.1/32').text).toBe('10.2.0.1');
  });

  it('parses IPv6 with ::, in every position, and an embedded IPv4 tail', () => {
    expect(c('fd00:1::/64').words).toEqual([0xfd000001, 0, 0, 0]);
    expect(c('fd00:2::1').words).toEqual([0xfd000002, 0, 0, 1]);
    expect(c('::').words).toEqual([0, 0, 0, 0]);
    expect(c('::1').words).toEqual([0, 0, 0, 1]);
    expect(c('1::').words).toEqual([0x00010000, 0, 0, 0]);
    expect(c('1:2:3:4:5:6:7:8').words).toEqual([0x00010002, 0x00030004, 0x00050006, 0x00070008]);
    expect(c('1:2:3:4:5:6::8').words).toEqual([0x00010002, 0x00030004, 0x00050006, 0x00000008]);
    expect(c('::ffff:10.2.0.1').words).toEqual([0, 0, 0xffff, 0x0a020001]);
    expect(c('64:ff9b::192.0.2.33').words).toEqual([0x0064ff9b, 0, 0, 0xc0000221]);
    expect(c('1:2:3:4:5:6:1.2.3.4').words).toEqual([0x00010002, 0x00030004, 0x00050006, 0x01020304]);
    expect(c('FD00:ABCD::1').text).toBe('fd00:abcd::1');
  });

  it('clears host bits and formats canonically (RFC 5952)', () => {
    const r = parseCidr('10.1.2.3/16');
    expect(r.ok && r.hostBits).toBe(true);
    expect(r.ok && r.cidr.text).toBe('10.1.0.0/16');
    const r6 = parseCidr('fd00:1::5/64');
    expect(r6.ok && r6.cidr.text).toBe('fd00:1::/64');
    expect(parseCidr('10.1.0.0/16').ok && (parseCidr('10.1.0.0/16') as { hostBits: boolean }).hostBits).toBe(false);
    expect(formatAddr(6, 0x20010db8, 0, 0x00010000, 0x00000001)).toBe('2001:db8::1:0:0:1');
    expect(formatAddr(6, 0x20010db8, 0x00000001, 0x00000001, 0x00010001)).toBe('2001:db8:0:1:0:1:1:1');
    expect(formatAddr(6, 0, 0, 0, 0)).toBe('::');
  });

  it('explains bad input', () => {
    expect(err('10.1.0.0/33')).toBe('10.1.0.0/33: prefix length 33 exceeds 32 for IPv4');
    expect(err('fd00::/129')).toBe('fd00::/129: prefix length 129 exceeds 128 for IPv6');
    expect(err('10.1.0')).toMatch(/four dot-separated numbers/);
    expect(err('10.1.0.256')).toMatch(/256 is not an IPv4 address byte/);
    expect(err('1::2::3')).toMatch(/"::" may appear only once/);
    expect(err('1:2:3:4:5:6:7:8:9')).toMatch(/8 groups/);
    expect(err('1:2:3:4:5:6:7::8')).toMatch(/too many groups/);
    expect(err('12345::')).toMatch(/"12345" is not an IPv6 group/);
    expect(err('fe80::1%eth0')).toMatch(/zone indexes/);
    expect(err('10.0.0.0/-1')).toMatch(/is not a number/);
    expect(err('host.example')).toMatch(/not an IPv4 or IPv6 address/);
    expect(err('')).toBe('empty address');
  });
});

describe('wordMask / cidrContains', () => {
  it('builds word masks for prefixes not on word boundaries', () => {
    expect([0, 1, 2, 3].map((i) => wordMask(0, i))).toEqual([0, 0, 0, 0]);
    expect([0, 1, 2, 3].map((i) => wordMask(1, i))).toEqual([0x80000000, 0, 0, 0]);
    expect([0, 1, 2, 3].map((i) => wordMask(33, i))).toEqual([0xffffffff, 0x80000000, 0, 0]);
    expect([0, 1, 2, 3].map((i) => wordMask(64, i))).toEqual([0xffffffff, 0xffffffff, 0, 0]);
    expect([0, 1, 2, 3].map((i) => wordMask(127, i))).toEqual([0xffffffff, 0xffffffff, 0xffffffff, 0xfffffffe]);
    expect([0, 1, 2, 3].map((i) => wordMask(128, i))).toEqual([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]);
  });

  it('contains', () => {
    expect(cidrContains(c('10.0.0.0/8'), c('10.1.0.0/16'))).toBe(true);
    expect(cidrContains(c('10.1.0.0/16'), c('10.0.0.0/8'))).toBe(false);
    expect(cidrContains(c('10.1.0.0/16'), c('10.2.0.0/24'))).toBe(false);
    expect(cidrContains(c('0.0.0.0/0'), c('::/0'))).toBe(false);
    expect(cidrContains(c('fd00::/8'), c('fd00:1::/64'))).toBe(true);
    expect(cidrContains(c('fd00:1::/64'), c('fd00:1::1'))).toBe(true);
    expect(cidrContains(c('fd00:1::/64'), c('fd00:2::1'))).toBe(false);
  });
});
