import { PerformanceObserver } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { compileRuleSet, type CompiledRuleSet } from '../../src/rules/compile.js';
import { describeRule, formatRuleSet, ruleRef } from '../../src/rules/describe.js';
import { chainFor, firstMatch, isFromHost, isToHost, matchRule } from '../../src/rules/match.js';
import { ok, pkt, y } from './helpers.js';

const TCP = 6;
const UDP = 17;
const ICMP = 1;
const ICMPV6 = 58;

function compile(text: string): CompiledRuleSet {
  return compileRuleSet(ok(text).ruleset);
}

/** Compiles a one-rule file (gateway model) and returns a matcher. */
function rule(body: string): (p: ReturnType<typeof pkt>) => boolean {
  const rs = compile(`rules:\n  - ${body.trim().split('\n').join('\n    ')}\n`);
  return (p) => matchRule(rs.rules[0], p);
}

describe('matchRule: proto and ports', () => {
  it('matches proto and a single dport', () => {
    const m = rule('proto: tcp\ndport: 8080');
    expect(m(pkt({ proto: TCP, dport: 8080 }))).toBe(true);
    expect(m(pkt({ proto: TCP, dport: 8081 }))).toBe(false);
    expect(m(pkt({ proto: UDP, dport: 8080 }))).toBe(false);
    expect(m(pkt({ proto: TCP, dport: 8080, src: 'fd00:1::5', dst: 'fd00:2::1' }))).toBe(true);
  });

  it('matches ranges and lists at their edges', () => {
    const m = rule('proto: udp\ndport: [53, "8000-8099", 0, 65535]');
    for (const p of [0, 53, 8000, 8050, 8099, 65535]) expect(m(pkt({ proto: UDP, dport: p }))).toBe(true);
    for (const p of [1, 52, 54, 7999, 8100, 65534]) expect(m(pkt({ proto: UDP, dport: p }))).toBe(false);
  });

  it('matches sport', () => {
    const m = rule('proto: udp\nsport: 1000-1999\ndport: 53');
    expect(m(pkt({ proto: UDP, sport: 1500, dport: 53 }))).toBe(true);
    expect(m(pkt({ proto: UDP, sport: 2000, dport: 53 }))).toBe(false);
  });

  it('port rules never match non-first fragments', () => {
    const m = rule('proto: tcp\ndport: 0-65535');
    expect(m(pkt({ proto: TCP, sport: 0, dport: 0, l4Off: -1 }))).toBe(false);
    const any = rule('proto: tcp');
    expect(any(pkt({ proto: TCP, sport: 0, dport: 0, l4Off: -1 }))).toBe(true);
  });

  it('proto any (default) matches every IP packet', () => {
    const m = rule('id: all');
    expect(m(pkt({ proto: TCP }))).toBe(true);
    expect(m(pkt({ proto: UDP }))).toBe(true);
    expect(m(pkt({ proto: ICMP, icmpType: 8 }))).toBe(true);
    expect(m(pkt({ proto: 47, src: 'fd00::1', dst: 'fd00::2' }))).toBe(true);
    const notIp = pkt({ proto: TCP });
    notIp.ipVersion = 0;
    expect(m(notIp)).toBe(false);
  });
});

describe('matchRule: icmp', () => {
  it('names and numbers are the same rule', () => {
    const byName = rule('proto: icmp\ntype: echo-request');
    const byNum = rule('proto: icmp\ntype: 8');
    for (const m of [byName, byNum]) {
      expect(m(pkt({ proto: ICMP, icmpType: 8 }))).toBe(true);
      expect(m(pkt({ proto: ICMP, icmpType: 0 }))).toBe(false);
      expect(m(pkt({ proto: ICMPV6, icmpType: 8, src: 'fd00::1', dst: 'fd00::2' }))).toBe(false);
    }
  });

  it('icmpv6 names map to icmpv6 numbers', () => {
    const m = rule('proto: icmpv6\ntype: echo-request');
    expect(m(pkt({ proto: ICMPV6, icmpType: 128, src: 'fd00:1::5', dst: 'fd00:2::1' }))).toBe(true);
    expect(m(pkt({ proto: ICMPV6, icmpType: 8, src: 'fd00:1::5', dst: 'fd00:2::1' }))).toBe(false);
    const ns = rule('proto: icmpv6\ntype: nd-neighbor-solicit');
    expect(ns(pkt({ proto: ICMPV6, icmpType: 135, src: 'fe80::1', dst: 'ff02::1:ff00:1' }))).toBe(true);
  });

  it('matches code when given, any code otherwise', () => {
    const m = rule('proto: icmp\ntype: destination-unreachable\ncode: port-unreachable');
    expect(m(pkt({ proto: ICMP, icmpType: 3, icmpCode: 3 }))).toBe(true);
    expect(m(pkt({ proto: ICMP, icmpType: 3, icmpCode: 4 }))).toBe(false);
    const any = rule('proto: icmp\ntype: destination-unreachable');
    expect(any(pkt({ proto: ICMP, icmpType: 3, icmpCode: 13 }))).toBe(true);
  });

  it('a type list matches each member and nothing else, every type tried; a code list likewise', () => {
    const m = rule('proto: icmp\ntype: [echo-request, 0, 255]\ncode: [0, 7]');
    for (let t = 0; t < 256; t++)
      for (const c of [0, 1, 7, 255])
        expect(m(pkt({ proto: ICMP, icmpType: t, icmpCode: c })), `${t}/${c}`).toBe(
          [8, 0, 255].includes(t) && (c === 0 || c === 7),
        );
  });

  it('a type list never matches a packet whose ICMP header was not read (type -1)', () => {
    const m = rule('proto: icmp\ntype: [0, 8]');
    expect(m(pkt({ proto: ICMP }))).toBe(false); // l4Off set, icmpType -1
    expect(m(pkt({ proto: ICMP, icmpType: 8, l4Off: -1 }))).toBe(false); // a later fragment
  });

  it('proto icmp alone matches every ICMP type', () => {
    const m = rule('proto: icmp');
    expect(m(pkt({ proto: ICMP, icmpType: 0 }))).toBe(true);
    expect(m(pkt({ proto: ICMP, icmpType: 11, icmpCode: 1 }))).toBe(true);
  });
});

describe('matchRule: addresses', () => {
  it('matches IPv4 CIDRs, lists and single addresses', () => {
    const m = rule('src: [10.1.0.0/16, 192.168.1.7]\ndst: 10.2.0.1');
    expect(m(pkt({ src: '10.1.255.255', dst: '10.2.0.1' }))).toBe(true);
    expect(m(pkt({ src: '192.168.1.7', dst: '10.2.0.1' }))).toBe(true);
    expect(m(pkt({ src: '192.168.1.8', dst: '10.2.0.1' }))).toBe(false);
    expect(m(pkt({ src: '10.2.0.0', dst: '10.2.0.1' }))).toBe(false);
    expect(m(pkt({ src: '10.1.0.1', dst: '10.2.0.2' }))).toBe(false);
  });

  it('handles addresses with the top bit set (unsigned words)', () => {
    const m = rule('src: 200.0.0.0/8\ndst: 255.255.255.255');
    expect(m(pkt({ src: '200.1.2.3', dst: '255.255.255.255' }))).toBe(true);
    expect(m(pkt({ src: '201.1.2.3', dst: '255.255.255.255' }))).toBe(false);
    const h = rule('src: 128.0.0.0/1');
    expect(h(pkt({ src: '255.0.0.1' }))).toBe(true);
    expect(h(pkt({ src: '127.255.255.255' }))).toBe(false);
  });

  it('IPv4 /0, /1, /31, /32', () => {
    expect(rule('src: 0.0.0.0/0')(pkt({ src: '1.2.3.4' }))).toBe(true);
    const m31 = rule('src: 10.0.0.2/31');
    expect(m31(pkt({ src: '10.0.0.2' }))).toBe(true);
    expect(m31(pkt({ src: '10.0.0.3' }))).toBe(true);
    expect(m31(pkt({ src: '10.0.0.4' }))).toBe(false);
    expect(m31(pkt({ src: '10.0.0.1' }))).toBe(false);
    const m32 = rule('src: 10.0.0.2/32');
    expect(m32(pkt({ src: '10.0.0.2' }))).toBe(true);
    expect(m32(pkt({ src: '10.0.0.3' }))).toBe(false);
  });

  it('IPv6 prefixes not on word boundaries: /0 /1 /31 /33 /64 /127 /128', () => {
    const cases: [string, string[], string[]][] = [
      ['::/0', ['::', 'ffff::1', 'fd00::1'], []],
      ['8000::/1', ['8000::', 'ffff:ffff::'], ['7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '::1']],
      ['2001:db8::/31', ['2001:db8::1', '2001:db9:ffff::1'], ['2001:dba::', '2001:db7:ffff::']],
      ['2001:db8:0:0::/33', ['2001:db8::1', '2001:db8:7fff::1'], ['2001:db8:8000::', '2001:db9::']],
      ['fd00:1::/64', ['fd00:1::1', 'fd00:1::ffff:ffff:ffff:ffff'], ['fd00:1:0:1::', 'fd00:2::1']],
      ['fd00::2/127', ['fd00::2', 'fd00::3'], ['fd00::1', 'fd00::4']],
      ['fd00:2::1/128', ['fd00:2::1'], ['fd00:2::', 'fd00:2::2', 'fd00:2:0:0:1::1']],
    ];
    for (const [cidr, yes, no] of cases) {
      const m = rule(`src: "${cidr}"`);
      for (const a of yes) expect(m(pkt({ src: a, dst: 'fd00:2::1' })), `${a} in ${cidr}`).toBe(true);
      for (const a of no) expect(m(pkt({ src: a, dst: 'fd00:2::1' })), `${a} not in ${cidr}`).toBe(false);
    }
  });

  it('a rule with only IPv4 addresses does not match IPv6 packets, and vice versa', () => {
    const v4 = rule('src: 0.0.0.0/0');
    expect(v4(pkt({ src: '::', dst: '::1' }))).toBe(false);
    const v6 = rule('dst: "::/0"');
    expect(v6(pkt({ src: '10.0.0.1', dst: '10.0.0.2' }))).toBe(false);
    // IPv4 word 0 equal to an IPv6 prefix's word 0 must not confuse the matcher
    const tricky = rule('src: "a01:0::/16"');
    expect(tricky(pkt({ src: '10.1.0.1' }))).toBe(false);
  });

  it('mixed lists check each family against its own entries', () => {
    const m = rule('src: [10.1.0.0/16, fd00:1::/64]');
    expect(m(pkt({ src: '10.1.0.9' }))).toBe(true);
    expect(m(pkt({ src: '10.9.0.9' }))).toBe(false);
    expect(m(pkt({ src: 'fd00:1::9', dst: 'fd00:2::1' }))).toBe(true);
    expect(m(pkt({ src: 'fd00:9::9', dst: 'fd00:2::1' }))).toBe(false);
  });

  it('src v4-only with dst mixed: IPv6 packets never match', () => {
    const m = rule('src: 10.1.0.0/16\ndst: [10.2.0.1, fd00:2::1]');
    expect(m(pkt({ src: '10.1.0.9', dst: '10.2.0.1' }))).toBe(true);
    expect(m(pkt({ src: 'fd00:1::9', dst: 'fd00:2::1' }))).toBe(false);
  });
});

describe('firstMatch', () => {
  const rs = compile(y`
    rules:
      - id: no-telnet
        proto: tcp
        dport: 23
        action: reject
      - id: web
        proto: tcp
        dport: [80, 443, 8000-8099]
      - id: dns
        proto: udp
        dport: 53
        src: 10.1.0.0/16
  `);

  it('returns the first matching rule in order, or null', () => {
    expect(firstMatch(rs, 'forward', pkt({ proto: TCP, dport: 23 }))!.id).toBe('no-telnet');
    expect(firstMatch(rs, 'forward', pkt({ proto: TCP, dport: 23 }))!.action).toBe('reject');
    expect(firstMatch(rs, 'forward', pkt({ proto: TCP, dport: 8042 }))!.id).toBe('web');
    expect(firstMatch(rs, 'forward', pkt({ proto: UDP, dport: 53, src: '10.1.3.3' }))!.id).toBe('dns');
    expect(firstMatch(rs, 'forward', pkt({ proto: UDP, dport: 53, src: '10.3.3.3' }))).toBeNull();
    expect(firstMatch(rs, 'input', pkt({ proto: TCP, dport: 23 }))).toBeNull();
  });

  it('exposes the loaded rule for messages', () => {
    const r = firstMatch(rs, 'forward', pkt({ proto: TCP, dport: 443 }))!;
    expect(r.rule.pos).toEqual({ file: 'rules/t.yaml', line: 6, col: 5 });
    expect(ruleRef(r)).toBe('rule web (rules/t.yaml:6)');
  });

  it('does not allocate per call (no garbage collections over millions of calls)', async () => {
    const p = pkt({ proto: TCP, dport: 53, src: '10.3.3.3' });
    for (let i = 0; i < 1e5; i++) firstMatch(rs, 'forward', p); // warm up / optimise
    let gcs = 0;
    const obs = new PerformanceObserver((list) => {
      gcs += list.getEntries().length;
    });
    obs.observe({ entryTypes: ['gc'] });
    let hits = 0;
    for (let i = 0; i < 3e6; i++) {
      p.dport = i & 0xffff;
      p.src0 = (p.src0 + 1) | 0;
      if (firstMatch(rs, 'forward', p) !== null) hits++;
    }
    await new Promise((r) => setTimeout(r, 50));
    obs.disconnect();
    expect(hits).toBeGreaterThan(0);
    // allocating even one small object per call would trigger dozens of scavenges here
    expect(gcs).toBeLessThanOrEqual(2);
  });
});

describe('host model chains', () => {
  const rs = compile(y`
    host: [10.1.0.2, fd00:1::2]
    output_policy: drop
    policy: reject
    rules:
      - id: ssh
        proto: tcp
        dport: 22
      - id: out-web
        chain: output
        proto: tcp
        dport: 443
      - id: fwd
        chain: forward
  `);

  it('puts rules in their chains and sets per-chain policies', () => {
    expect(rs.chains.input.map((r) => r.id)).toEqual(['ssh']);
    expect(rs.chains.output.map((r) => r.id)).toEqual(['out-web']);
    expect(rs.chains.forward.map((r) => r.id)).toEqual(['fwd']);
    expect(rs.policy).toEqual({ input: 'reject', forward: 'reject', output: 'drop' });
  });

  it('chainFor picks input for packets to the host, output for packets from it', () => {
    const inbound = pkt({ src: '10.1.0.9', dst: '10.1.0.2', proto: TCP, dport: 22 });
    const outbound = pkt({ src: '10.1.0.2', dst: '10.2.0.1', proto: TCP, dport: 443 });
    const inbound6 = pkt({ src: 'fd00:1::9', dst: 'fd00:1::2', proto: TCP, dport: 22 });
    const other = pkt({ src: '10.1.0.9', dst: '10.2.0.1' });
    expect(chainFor(rs, inbound)).toBe('input');
    expect(chainFor(rs, outbound)).toBe('output');
    expect(chainFor(rs, inbound6)).toBe('input');
    expect(chainFor(rs, pkt({ src: 'fd00:1::2', dst: 'fd00:2::1' }))).toBe('output');
    expect(chainFor(rs, other)).toBe('forward');
    expect(isToHost(rs, inbound)).toBe(true);
    expect(isFromHost(rs, inbound)).toBe(false);
    expect(firstMatch(rs, chainFor(rs, inbound), inbound)!.id).toBe('ssh');
    expect(firstMatch(rs, chainFor(rs, outbound), outbound)!.id).toBe('out-web');
  });

  it('gateway model: every packet is forward', () => {
    const gw = compile('rules: []\n');
    expect(chainFor(gw, pkt({ src: '10.1.0.2', dst: '10.2.0.1' }))).toBe('forward');
    expect(gw.policy).toEqual({ input: 'drop', forward: 'drop', output: 'accept' });
  });
});

describe('describeRule / formatRuleSet', () => {
  it('renders one line per rule', () => {
    const rs = ok(y`
      rules:
        - proto: tcp
          dport: 8080
          src: 10.1.0.0/16
        - proto: udp
          sport: [53, 1000-2000]
          dst: [10.2.0.1, fd00:2::1]
          action: drop
        - proto: icmp
          type: destination-unreachable
          code: 3
        - proto: icmpv6
          type: 200
        - action: reject
    `).ruleset;
    expect(rs.rules.map(describeRule)).toEqual([
      'tcp dport 8080 src 10.1.0.0/16 accept',
      'udp sport {53, 1000-2000} dst {10.2.0.1, fd00:2::1} drop',
      'icmp type destination-unreachable code port-unreachable accept',
      'icmpv6 type 200 accept',
      'any reject',
    ]);
    expect(ruleRef(rs.rules[4])).toBe('rule #5 (rules/t.yaml:14)');
  });

  it('formats a check listing with chains, policies, changed conntrack settings and warnings', () => {
    const { ruleset, warnings } = ok(y`
      name: ws
      host: 10.1.0.2
      conntrack: {tcp_loose: 0}
      rules:
        - id: a
          proto: tcp
        - id: b
          proto: tcp
          dport: 22
    `);
    const text = formatRuleSet(ruleset, warnings);
    expect(text).toContain('ws (rules/t.yaml)');
    expect(text).toContain('model: host 10.1.0.2');
    expect(text).toContain('tcp_loose 0 (default 1)');
    expect(text).toContain('chain input (packets to the host), policy drop:');
    expect(text).toMatch(/ {4} {2}1 {2}a {2}tcp accept {2}\(rules\/t\.yaml:5\)/);
    expect(text).toContain('chain output (packets from the host), policy accept:');
    expect(text).toContain('1 warning:');
    expect(text).toContain(
      'rules/t.yaml:7:5: warning: rule b is shadowed by rule a (rules/t.yaml:5:5), which matches every packet it would',
    );
  });
});
