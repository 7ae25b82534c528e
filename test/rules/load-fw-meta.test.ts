/**
 * Issue 18's rule keys in YAML (not:, mark:, mark_set:, fib:, notrack:) and
 * the chain's family:, read into the model and refused with positions.
 * Expected values by hand: xt_MARK's --set-xmark (mark = (mark & ~mask) ^
 * value), nft's fib words and nft_fib_validate's hooks.
 */
import { describe, expect, it } from 'vitest';
import { codes, errors, ok } from './helpers.js';
import { fw, inForward, one, rule } from './fw-helpers.js';
import { parseFib, parseMark, parseMarkSet } from '../../src/rules/fw-meta-values.js';

const only = (r: string) => rule(fw(inForward(r)), 'forward', 1);

describe('not:', () => {
  it('negates the conditions under it, read as the rule reads its own', () => {
    const r = only('{ proto: tcp, not: { src: 10.0.0.0/8, dport: [22, 23], iif: lo }, action: drop }');
    expect(r.not).toEqual(['src', 'dport', 'iif']);
    expect(r.src?.cidrs.map((c) => c.text)).toEqual(['10.0.0.0/8']);
    expect(r.dport?.ranges).toEqual([{ lo: 22, hi: 23 }]);
    // the address still implies IPv4
    expect(r.family).toBe(4);
  });

  it('a negated icmp protocol implies no family', () => {
    expect(only('{ not: { proto: icmp } }').family).toBeNull();
  });

  it('a rule without new keys has none of the new fields', () => {
    const r = only('{ proto: tcp }');
    for (const k of ['not', 'mark', 'markSet', 'fib', 'notrack']) expect(r).not.toHaveProperty(k);
  });

  it('refuses a key in both places, an unknown key, a non-mapping, and negations that cannot hold', () => {
    expect(one(inForward('{ src: 10.0.0.1, not: { src: 10.0.0.2 } }')).at).toBe('5:33 rules.bad-not');
    const u = one(inForward('{ not: { limit: "1/second" } }'));
    expect(u.message).toMatch(/"limit" cannot be negated under not: \(conditions that can: iif, oif/);
    expect(one(inForward('{ not: [src] }')).at).toBe('5:16 rules.bad-not');
    expect(one(inForward('{ dport: 22, not: { proto: tcp } }')).message).toMatch(
      /proto under not: leaves no protocol for dport/,
    );
    expect(codes(inForward('{ proto: icmp, type: 3, not: { code: 1 } }'))).toEqual(['5:40 rules.bad-not']);
    expect(codes(inForward('{ not: {} }'))).toEqual(['5:16 rules.bad-not']);
  });
});

describe('mark: and mark_set:', () => {
  it('mark: value and mask; the mask defaults to all bits', () => {
    expect(only('{ mark: "0x4000/0xff00" }').mark).toEqual({
      value: 0x4000,
      mask: 0xff00,
      text: 'meta mark & 0x0000ff00 == 0x00004000',
    });
    expect(only('{ mark: 16 }').mark).toMatchObject({ value: 16, mask: 0xffffffff, text: 'meta mark 0x00000010' });
    expect(only('{ not: { mark: 0 } }').not).toEqual(['mark']);
  });

  it('mark_set: is --set-xmark: and = ~mask, xor = value; without action it continues', () => {
    const r = only('{ mark_set: "0x4000/0xff00" }');
    expect(r.markSet).toEqual({
      and: 0xffff00ff,
      xor: 0x4000,
      text: 'meta mark set meta mark & 0xffff00ff ^ 0x00004000',
    });
    expect(r.action).toBe('continue');
    expect(only('{ mark_set: "0x1" }').markSet).toMatchObject({ and: 0, xor: 1, text: 'meta mark set 0x00000001' });
    expect(only('{ mark_set: 1, action: accept }').action).toBe('accept');
  });

  it('refuses what is not a 32-bit value/mask, and a value outside its mask', () => {
    expect(codes(inForward('{ mark: "0x1/0x2/0x3" }'))).toEqual(['5:17 rules.bad-mark']);
    expect(codes(inForward('{ mark: 0x100000000 }'))).toEqual(['5:17 rules.bad-mark']);
    expect(one(inForward('{ mark: "0x100/0xff" }')).message).toBe(
      'rule forward-1: mark: 0x00000100 has bits outside the mask 0x000000ff, so (mark & mask) never equals it and no packet matches; give a mark, or mark/mask ("0x4000", "0x4000/0xff00", 16384): a 32-bit number, decimal or 0x hexadecimal',
    );
    expect(codes(inForward('{ mark_set: [1] }'))).toEqual(['5:21 rules.bad-mark']);
    expect(parseMark('-1').ok).toBe(false);
    expect(parseMarkSet('0xffffffff/0').ok).toBe(true);
  });
});

describe('fib:', () => {
  it("reads nft's fib words", () => {
    expect(parseFib('fib daddr type local')).toEqual({
      ok: true,
      value: { addr: 'daddr', dev: null, result: 'type', types: ['local'], neg: false, text: 'fib daddr type local' },
    });
    expect(parseFib('daddr . iif type != { local,broadcast }')).toMatchObject({
      ok: true,
      value: {
        dev: 'iif',
        types: ['local', 'broadcast'],
        neg: true,
        text: 'fib daddr . iif type != { local, broadcast }',
      },
    });
    expect(parseFib('saddr . iif oif missing')).toMatchObject({
      ok: true,
      value: { addr: 'saddr', dev: 'iif', result: 'oif-missing', neg: false },
    });
    expect(parseFib('saddr . iif oif exists')).toMatchObject({ ok: true, value: { neg: true } });
    expect(parseFib('daddr type locale')).toMatchObject({ ok: false, error: /"locale" is not a route type/ });
    expect(parseFib('saddr . iif . oif oif missing').ok).toBe(false);
  });

  it('one or a list in a rule; all must hold', () => {
    expect(only('{ fib: ["saddr . iif oif missing", "daddr type != local"] }').fib?.map((f) => f.text)).toEqual([
      'fib saddr . iif oif missing',
      'fib daddr type != local',
    ]);
  });

  it('refuses bad words, and a lookup on a hook where the kernel refuses it, also through a jump', () => {
    expect(codes(inForward('{ fib: "daddr kind local" }'))).toEqual(['5:16 rules.bad-fib']);
    const e = errors(`chains:
  out:
    hook: output
    rules:
      - { fib: "saddr . iif oif missing" }
      - { jump: u }
  u:
    rules:
      - { fib: "daddr . oif type local" }
      - { fib: "daddr . iif type local" }
`);
    expect(e.map((d) => `${d.line}:${d.col} ${d.code}`)).toEqual([
      '5:16 rules.fib-wrong-hook',
      '10:16 rules.fib-wrong-hook',
    ]);
    expect(e[1].message).toBe(
      'rule u-2: fib daddr . iif type local in chain u (entered from base chain out) on the output hook; the kernel takes it only on prerouting, input, forward (nft: "Operation not supported")',
    );
  });
});

describe('notrack: and a chain family:', () => {
  it('notrack: true in a raw chain; family: ip / ip6 / inet', () => {
    const f = fw(`chains:
  raw:
    hook: prerouting
    priority: raw
    family: ip6
    rules:
      - { proto: udp, dport: 53, notrack: true }
  v4:
    hook: input
    family: ip
  both:
    hook: input
    family: inet
`);
    expect(f.chains.map((c) => [c.priority, c.family])).toEqual([
      [-300, 6],
      [0, 4],
      [0, null],
    ]);
    expect(f.chains[0].rules[0]).toMatchObject({ notrack: true, action: 'continue' });
  });

  it('refuses a family other than ip, ip6, inet, and a rule of the other family', () => {
    expect(one('chains:\n  a: { hook: input, family: ipv4 }\n').message).toBe(
      'chain a: family "ipv4" is not allowed; did you mean "ip"? (allowed: ip, ip6, inet)',
    );
    const e = one('chains:\n  a:\n    hook: input\n    family: ip\n    rules:\n      - { src: "fd00::1" }\n');
    expect(e.at).toBe('6:9 rules.family-clash');
    expect(e.message).toMatch(/^rule a-1 matches IPv6 packets only, and chain a is of family ip/);
    expect(codes(inForward('{ notrack: maybe }'))).toEqual(['5:20 value.not-bool']);
  });
});

describe('hop_limit:', () => {
  it('a number, range or comparison, written for the rule family', () => {
    expect(only('{ family: ipv6, proto: icmpv6, hop_limit: 255 }').hopLimit).toEqual({
      lo: 255,
      hi: 255,
      neg: false,
      text: 'ip6 hoplimit 255',
    });
    expect(only('{ src: 10.0.0.0/8, hop_limit: "< 5" }').hopLimit).toEqual({
      lo: 0,
      hi: 4,
      neg: false,
      text: 'ip ttl 0-4',
    });
    expect(only('{ family: ipv4, hop_limit: "!= 1" }').hopLimit).toMatchObject({
      lo: 1,
      hi: 1,
      neg: true,
      text: 'ip ttl != 1',
    });
    expect(only('{ family: ipv4, hop_limit: ">= 64" }').hopLimit).toMatchObject({ lo: 64, hi: 255 });
    expect(only('{ family: ipv4, hop_limit: "2-4" }').hopLimit).toMatchObject({ lo: 2, hi: 4, neg: false });
  });

  it('refuses a bad value, an empty comparison, and a rule of no one family', () => {
    expect(codes(inForward('{ family: ipv4, hop_limit: 256 }'))).toEqual(['5:36 rules.bad-hop-limit']);
    expect(one(inForward('{ family: ipv4, hop_limit: "< 0" }')).message).toMatch(
      /no value is < 0, so no packet matches/,
    );
    expect(one(inForward('{ hop_limit: 1 }')).message).toMatch(/hop_limit needs the rule's IP family/);
    expect(codes(inForward('{ family: ipv4, hop_limit: "> 1-4" }'))).toEqual(['5:36 rules.bad-hop-limit']);
  });
});

describe('warnings a negation changes', () => {
  it('iif in output never matches; negated, it always does: no warning', () => {
    const text = (r: string) => `chains:\n  out:\n    hook: output\n    rules:\n      - ${r}\n`;
    expect(ok(text('{ iif: lan0 }')).warnings.map((d) => d.code)).toContain('rules.never-matches');
    expect(ok(text('{ not: { iif: lan0 } }')).warnings.map((d) => d.code)).not.toContain('rules.never-matches');
  });
});
