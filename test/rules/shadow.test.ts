import { describe, expect, it } from 'vitest';
import { ruleRef } from '../../src/rules/describe.js';
import { formatDiagnostic } from '../../src/rules/types.js';
import { ok, y } from './helpers.js';

function warnings(text: string): string[] {
  return ok(text).warnings.map(formatDiagnostic);
}

/** Warnings for a file whose rules are given as YAML list items. */
function shadow(rules: string): string[] {
  return warnings(`rules:\n${rules}`).filter((w) => w.includes('shadowed'));
}

describe('shadowed rules', () => {
  it('reports a rule fully covered by an earlier one, with both positions', () => {
    const w = warnings(y`
      rules:
        - id: a
          proto: tcp
          dport: 8000-8099
        - id: b
          proto: tcp
          dport: 8080
          action: reject
    `);
    expect(w).toEqual(['rules/t.yaml:5:5: warning: rule b is shadowed by rule a (rules/t.yaml:2:5), which matches every packet it would']);
  });

  it('positive cases', () => {
    // proto any with no conditions covers everything after it
    expect(shadow('  - id: all\n  - id: x\n    proto: udp\n    dport: 53\n')).toHaveLength(1);
    // proto any covers a more specific proto
    expect(shadow('  - id: a\n    src: 10.0.0.0/8\n  - id: b\n    proto: icmp\n    src: 10.1.0.0/16\n')).toHaveLength(1);
    // port list contained in merged ranges (adjacent ranges merge: 80-89 + 90-99)
    expect(shadow('  - id: a\n    proto: tcp\n    dport: [80-89, 90-99]\n  - id: b\n    proto: tcp\n    dport: [85, 95]\n')).toHaveLength(1);
    // address contained: /16 inside /8, v6 /64 inside /48
    expect(shadow('  - id: a\n    src: [10.0.0.0/8, "fd00:1::/48"]\n  - id: b\n    src: [10.1.0.0/16, "fd00:1:0:5::/64"]\n')).toHaveLength(1);
    // same icmp type, any code covers a specific code
    expect(shadow('  - id: a\n    proto: icmp\n    type: 3\n  - id: b\n    proto: icmp\n    type: destination-unreachable\n    code: 3\n')).toHaveLength(1);
    // identical rules
    expect(shadow('  - id: a\n    proto: udp\n    sport: 53\n  - id: b\n    proto: udp\n    sport: 53\n')).toHaveLength(1);
    // proto icmp only matches IPv4, so 0.0.0.0/0 covers it
    expect(shadow('  - id: a\n    src: 0.0.0.0/0\n  - id: b\n    proto: icmp\n')).toHaveLength(1);
  });

  it('names the earliest covering rule', () => {
    expect(shadow('  - id: a\n    proto: tcp\n  - id: b\n  - id: c\n    proto: tcp\n    dport: 1\n')).toEqual([
      'rules/t.yaml:5:5: warning: rule c is shadowed by rule a (rules/t.yaml:2:5), which matches every packet it would',
    ]);
  });

  it('unnamed rules are called #N', () => {
    expect(shadow('  - proto: tcp\n  - proto: tcp\n    dport: 22\n')).toEqual([
      'rules/t.yaml:3:5: warning: rule #2 is shadowed by rule #1 (rules/t.yaml:2:5), which matches every packet it would',
    ]);
  });

  it('negative cases: partial overlaps are not reported', () => {
    const none = [
      // different proto
      '  - proto: tcp\n    dport: 53\n  - proto: udp\n    dport: 53\n',
      // later rule is broader
      '  - proto: tcp\n    dport: 8080\n  - proto: tcp\n    dport: 8000-8099\n',
      // overlapping ranges
      '  - proto: tcp\n    dport: 1-100\n  - proto: tcp\n    dport: 50-150\n',
      // earlier has ports, later has none
      '  - proto: tcp\n    dport: 1-65535\n  - proto: tcp\n',
      // v4-only earlier rule does not cover a rule that also matches IPv6
      '  - src: 0.0.0.0/0\n  - proto: tcp\n',
      // address not contained
      '  - src: 10.1.0.0/16\n  - src: 10.0.0.0/8\n',
      // one of several addresses not contained
      '  - src: 10.1.0.0/16\n  - src: [10.1.2.0/24, 10.2.0.0/24]\n',
      // union of two earlier rules covers it: conservative, not reported
      '  - proto: tcp\n    dport: 80\n  - proto: tcp\n    dport: 443\n  - proto: tcp\n    dport: [80, 443]\n',
      // different icmp type / code
      '  - proto: icmp\n    type: 8\n  - proto: icmp\n    type: 0\n',
      '  - proto: icmp\n    type: 3\n    code: 1\n  - proto: icmp\n    type: 3\n',
      // earlier icmp-typed rule doesn't cover plain icmp
      '  - proto: icmp\n    type: 8\n  - proto: icmp\n',
      // dst restricts the earlier rule
      '  - proto: udp\n    dst: 10.2.0.1\n  - proto: udp\n    dport: 53\n',
    ];
    for (const r of none) expect(shadow(r), r).toEqual([]);
  });

  it('only compares rules of the same chain', () => {
    const w = warnings(y`
      host: 10.1.0.2
      rules:
        - id: out
          chain: output
        - id: in
          proto: tcp
        - id: in2
          proto: tcp
          dport: 22
    `);
    expect(w).toEqual(['rules/t.yaml:7:5: warning: rule in2 is shadowed by rule in (rules/t.yaml:5:5), which matches every packet it would']);
  });
});

describe('rules that can never match', () => {
  it('icmp with IPv6-only addresses, icmpv6 with IPv4-only addresses', () => {
    expect(warnings('rules:\n  - id: d\n    proto: icmp\n    src: fd00::/64\n')).toEqual([
      'rules/t.yaml:2:5: warning: rule d can never match: proto icmp is ICMP for IPv4, but its addresses are IPv6 only; use proto icmpv6',
    ]);
    expect(warnings('rules:\n  - id: d\n    proto: icmpv6\n    dst: 10.2.0.1\n')).toEqual([
      'rules/t.yaml:2:5: warning: rule d can never match: proto icmpv6 is ICMP for IPv6, but its addresses are IPv4 only; use proto icmp',
    ]);
  });

  it('src and dst of different IP versions', () => {
    expect(warnings('rules:\n  - id: e\n    src: 10.0.0.0/8\n    dst: fd00::1\n')).toEqual([
      "rules/t.yaml:2:5: warning: rule e can never match: its src addresses are IPv4 only and its dst addresses IPv6 only, but a packet's source and destination are of the same IP version",
    ]);
  });

  it('addresses of a family the rule cannot match', () => {
    expect(warnings('rules:\n  - id: f\n    proto: icmp\n    src: [10.0.0.0/8, fd00::/64]\n')).toEqual([
      'rules/t.yaml:2:5: warning: rule f: fd00::/64 can never match, because proto icmp matches IPv4 packets only',
    ]);
    expect(warnings('rules:\n  - src: [10.0.0.0/8, fd00::/8]\n    dst: 10.1.0.1\n')).toEqual([
      'rules/t.yaml:2:5: warning: rule #1: fd00::/8 can never match, because its dst has IPv4 addresses only',
    ]);
  });

  it('a never-matching rule is not also reported as shadowed, nor used to shadow', () => {
    expect(warnings('rules:\n  - id: d\n    proto: icmp\n    src: fd00::/64\n  - id: x\n    proto: icmp\n    src: fd00::/64\n')).toHaveLength(2);
    expect(warnings('rules:\n  - id: d\n    proto: icmp\n    src: fd00::/64\n  - id: x\n    proto: icmp\n')).toHaveLength(1);
  });

  it('conntrack settings with stateful: false', () => {
    expect(warnings('stateful: false\nconntrack:\n  tcp_loose: 0\nrules: []\n')).toEqual([
      'rules/t.yaml:2:1: warning: conntrack settings have no effect with stateful: false',
    ]);
  });
});

describe('ruleRef', () => {
  it('names the rule and where it is, and follows a rule changed after its first use (its text is kept)', () => {
    const rule = ok('rules:\n  - id: web\n    proto: tcp\n    dport: 80\n').ruleset.rules[0];
    expect(ruleRef(rule)).toBe('rule web (rules/t.yaml:2)');
    expect(ruleRef(rule)).toBe('rule web (rules/t.yaml:2)');
    rule.id = 'www';
    expect(ruleRef(rule)).toBe('rule www (rules/t.yaml:2)');
    rule.pos = { ...rule.pos, line: 7 };
    expect(ruleRef(rule)).toBe('rule www (rules/t.yaml:7)');
    rule.idGiven = false;
    expect(ruleRef(rule)).toBe("rule #1 (rules/t.yaml:7)"); // the first rule of the file
  });
});
