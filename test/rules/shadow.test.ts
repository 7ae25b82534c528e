import { describe, expect, it } from 'vitest';
import { ruleRef } from '../../src/rules/describe.js';
import { analyzeRules, MAX_SHADOW_COMPARISONS, ruleCovers, ruleFamilies } from '../../src/rules/shadow.js';
import { formatDiagnostic } from '../../src/base/diag.js';
import type { Rule, RuleSet } from '../../src/rules/types.js';
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
    expect(w).toEqual([
      'rules/t.yaml:5:5: warning: rule b is shadowed by rule a (rules/t.yaml:2:5), which matches every packet it would',
    ]);
  });

  it('positive cases', () => {
    // proto any with no conditions covers everything after it
    expect(shadow('  - id: all\n  - id: x\n    proto: udp\n    dport: 53\n')).toHaveLength(1);
    // proto any covers a more specific proto
    expect(shadow('  - id: a\n    src: 10.0.0.0/8\n  - id: b\n    proto: icmp\n    src: 10.1.0.0/16\n')).toHaveLength(
      1,
    );
    // port list contained in merged ranges (adjacent ranges merge: 80-89 + 90-99)
    expect(
      shadow('  - id: a\n    proto: tcp\n    dport: [80-89, 90-99]\n  - id: b\n    proto: tcp\n    dport: [85, 95]\n'),
    ).toHaveLength(1);
    // address contained: /16 inside /8, v6 /64 inside /48
    expect(
      shadow('  - id: a\n    src: [10.0.0.0/8, "fd00:1::/48"]\n  - id: b\n    src: [10.1.0.0/16, "fd00:1:0:5::/64"]\n'),
    ).toHaveLength(1);
    // same icmp type, any code covers a specific code
    expect(
      shadow(
        '  - id: a\n    proto: icmp\n    type: 3\n  - id: b\n    proto: icmp\n    type: destination-unreachable\n    code: 3\n',
      ),
    ).toHaveLength(1);
    // a type list covers a rule with a subset of its types, in any order; codes likewise
    expect(
      shadow(
        '  - id: a\n    proto: icmp\n    type: [8, 0, 13]\n  - id: b\n    proto: icmp\n    type: [echo-reply, 8]\n',
      ),
    ).toHaveLength(1);
    expect(
      shadow(
        '  - id: a\n    proto: icmp\n    type: [3, 11]\n    code: [0, 3]\n  - id: b\n    proto: icmp\n    type: 11\n    code: [3]\n',
      ),
    ).toHaveLength(1);
    // identical rules
    expect(shadow('  - id: a\n    proto: udp\n    sport: 53\n  - id: b\n    proto: udp\n    sport: 53\n')).toHaveLength(
      1,
    );
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
      // a type list does not cover a rule with a type outside it, nor a code list one with a code outside it
      '  - proto: icmp\n    type: [8, 0]\n  - proto: icmp\n    type: [0, 13]\n',
      '  - proto: icmp\n    type: 3\n    code: [3, 4]\n  - proto: icmp\n    type: 3\n    code: [4, 13]\n',
      '  - proto: icmp\n    type: 3\n    code: [3, 4]\n  - proto: icmp\n    type: [3]\n',
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
    expect(w).toEqual([
      'rules/t.yaml:7:5: warning: rule in2 is shadowed by rule in (rules/t.yaml:5:5), which matches every packet it would',
    ]);
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
    expect(
      warnings(
        'rules:\n  - id: d\n    proto: icmp\n    src: fd00::/64\n  - id: x\n    proto: icmp\n    src: fd00::/64\n',
      ),
    ).toHaveLength(2);
    expect(
      warnings('rules:\n  - id: d\n    proto: icmp\n    src: fd00::/64\n  - id: x\n    proto: icmp\n'),
    ).toHaveLength(1);
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
    expect(ruleRef(rule)).toBe('rule #1 (rules/t.yaml:7)'); // the first rule of the file
  });
});

describe('the shadow check at scale', () => {
  /** The first earlier rule of the chain that covers each rule, by comparing every pair (the definition). */
  function bruteForce(rs: RuleSet): string[] {
    const out: string[] = [];
    const live: Rule[] = [];
    for (const r of rs.rules) {
      const f = ruleFamilies(r);
      if (!f.v4 && !f.v6) continue;
      const by = live.find((a) => a.chain === r.chain && ruleCovers(a, r));
      if (by) out.push(`${r.id}<${by.id}`);
      live.push(r);
    }
    return out;
  }
  const shadowPairs = (rs: RuleSet): string[] =>
    analyzeRules(rs)
      .map((d) => /^rule (\S+) is shadowed by rule (\S+) /.exec(d.message))
      .filter((m) => m !== null)
      .map((m) => `${m![1]}<${m![2]}`);

  it('the indexed check finds exactly the pairs the definition gives (random rule sets)', () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)];
    const addrs = [
      '10.0.0.0/8',
      '10.1.0.0/16',
      '10.1.2.0/24',
      '10.1.2.3',
      '10.2.0.0/16',
      '0.0.0.0/0',
      'fd00::/8',
      'fd00:1::/32',
      'fd00:1::5',
      '::/0',
      '192.168.0.0/16',
    ];
    const ports = ['22', '80', '443', '80-90', '1-1024', '[22, 80]', '[80-89, 90-99]', '8080'];
    let total = 0;
    for (let round = 0; round < 40; round++) {
      const lines = ['host: [10.9.9.9, "fd00::9"]', 'rules:'];
      const n = 10 + rnd(60);
      for (let i = 0; i < n; i++) {
        const parts = [`id: r${i}`, `chain: ${pick(['input', 'forward', 'output'])}`];
        const proto = pick(['any', 'tcp', 'tcp', 'udp', 'icmp', 'icmpv6']);
        if (proto !== 'any') parts.push(`proto: ${proto}`);
        if ((proto === 'tcp' || proto === 'udp') && rnd(3) > 0) parts.push(`dport: ${pick(ports)}`);
        if ((proto === 'tcp' || proto === 'udp') && rnd(4) === 0) parts.push(`sport: ${pick(ports)}`);
        if (proto === 'icmp' && rnd(2) === 0) parts.push(`type: ${pick(['3', '8', '0'])}`);
        if (rnd(2) === 0)
          parts.push(
            `src: ${rnd(3) === 0 ? `[${pick(addrs)}, ${pick(addrs)}]` : pick(addrs)}`.replace(
              /(fd00[^,\]]*|::\/0)/g,
              '"$1"',
            ),
          );
        if (rnd(2) === 0) parts.push(`dst: ${pick(addrs)}`.replace(/(fd00[^,\]]*|::\/0)/g, '"$1"'));
        lines.push(`  - { ${parts.join(', ')} }`);
      }
      const rs = ok(lines.join('\n') + '\n').ruleset;
      const want = bruteForce(rs);
      total += want.length;
      expect(shadowPairs(rs), lines.join('\n')).toEqual(want);
    }
    expect(total).toBeGreaterThan(100); // the random sets do shadow a lot
  });

  it('rules differing in port or address cost a few comparisons each, not one per earlier rule', () => {
    const n = 5000;
    const files = {
      dports: Array.from({ length: n }, (_, i) => `  - { proto: tcp, dport: ${i + 1} }`),
      srcs: Array.from({ length: n }, (_, i) => `  - { proto: tcp, dport: 22, src: 10.${i >> 8}.${i & 255}.1 }`),
      dsts: Array.from({ length: n }, (_, i) => `  - { proto: udp, dst: "fd00::${i.toString(16)}" }`),
    };
    for (const [what, rules] of Object.entries(files)) {
      const rs = ok(`rules:\n${rules.join('\n')}\n`).ruleset;
      const stats = { comparisons: 0 };
      expect(analyzeRules(rs, stats).filter((d) => d.message.includes('shadowed'))).toEqual([]);
      // Comparing each rule with every earlier one would be n(n-1)/2 = 12.5 million.
      expect(stats.comparisons, what).toBeLessThanOrEqual(2 * n);
    }
  });

  it('a file that defeats the indexes stops being checked after MAX_SHADOW_COMPARISONS, with a warning', () => {
    // Overlapping wide ranges: every earlier rule is a candidate, none covers.
    const n = Math.ceil(Math.sqrt(2 * MAX_SHADOW_COMPARISONS)) + 200;
    const rules = Array.from(
      { length: n },
      (_, i) => `  - { proto: tcp, dport: ${1 + (i % 60000)}-${2 + (i % 60000)} }`,
    );
    const rs = ok(`rules:\n${rules.join('\n')}\n`).ruleset;
    const stats = { comparisons: 0 };
    const w = analyzeRules(rs, stats);
    expect(stats.comparisons).toBeLessThanOrEqual(MAX_SHADOW_COMPARISONS + n);
    const stop = w.filter((d) => d.message.includes('check for shadowed rules stopped'));
    expect(stop).toHaveLength(1);
    expect(stop[0].message).toMatch(
      new RegExp(
        `^the check for shadowed rules stopped after rule #\\d+: it compared \\d+ pairs of rules \\(the limit is ${MAX_SHADOW_COMPARISONS}\\); rules after this one are not checked for shadowing$`,
      ),
    );
  });
});
