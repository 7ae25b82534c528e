import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadRuleSet, parseRuleSet } from '../../src/rules/load.js';
import { CONNTRACK_DEFAULTS } from '../../src/rules/spec.js';
import { RuleFileError } from '../../src/rules/types.js';
import { formatDiagnostic } from '../../src/base/diag.js';
import { F, codes, errorLines, errors, ok, y } from './helpers.js';

/** The single error of a file, formatted. */
function only(text: string): string {
  const e = errorLines(text);
  expect(e).toHaveLength(1);
  return e[0];
}

describe('defaults', () => {
  it('fills every default of a minimal file', () => {
    const { ruleset: rs, warnings } = ok('rules:\n  - proto: tcp\n    dport: 8080\n');
    expect(warnings).toEqual([]);
    expect(rs.name).toBe('t'); // from rules/t.yaml
    expect(rs.description).toBeNull();
    expect(rs.file).toBe(F);
    expect(rs.model).toBe('gateway');
    expect(rs.policy).toBe('drop');
    expect(rs.outputPolicy).toBe('accept');
    expect(rs.hostAddrs).toBeNull();
    expect(rs.stateful).toBe(true);
    expect(rs.conntrack).toEqual(CONNTRACK_DEFAULTS);
    const r = rs.rules[0];
    expect(r).toMatchObject({
      id: 'rule-1',
      idGiven: false,
      index: 1,
      action: 'accept',
      proto: 'tcp',
      sport: null,
      dport: [{ lo: 8080, hi: 8080 }],
      src: null,
      dst: null,
      icmp: null,
      comment: null,
      chain: 'forward',
      pos: { file: F, line: 2, col: 5 },
    });
  });

  it('conntrack defaults are the kernel values from the issue (plus tcp_ignore_invalid_rst)', () => {
    expect(CONNTRACK_DEFAULTS).toEqual({
      tcp_loose: true,
      tcp_be_liberal: false,
      tcp_max_retrans: 3,
      tcp_ignore_invalid_rst: false,
      max: 262144,
      tcp_timeout_syn_sent: 120,
      tcp_timeout_syn_recv: 60,
      tcp_timeout_established: 432000,
      tcp_timeout_fin_wait: 120,
      tcp_timeout_close_wait: 60,
      tcp_timeout_last_ack: 30,
      tcp_timeout_time_wait: 120,
      tcp_timeout_close: 10,
      tcp_timeout_unacknowledged: 300,
      tcp_timeout_max_retrans: 300,
      udp_timeout: 30,
      udp_timeout_stream: 120,
      icmp_timeout: 30,
      icmpv6_timeout: 30,
      generic_timeout: 600,
      // net.netfilter.nf_conntrack_frag6_* on a fresh namespace (Linux 6.18)
      frag6_high_thresh: 4194304,
      frag6_low_thresh: 3145728,
      frag6_timeout: 60,
    });
  });

  it('reads every top-level key', () => {
    const { ruleset: rs } = ok(y`
      name: box
      description: a box
      policy: reject
      output_policy: drop
      host: 10.1.0.2
      stateful: false
      rules: []
    `);
    expect(rs).toMatchObject({
      name: 'box',
      description: 'a box',
      policy: 'reject',
      outputPolicy: 'drop',
      stateful: false,
      model: 'host',
    });
    expect(rs.hostAddrs!.map((c) => c.text)).toEqual(['10.1.0.2']);
    expect(rs.rules).toEqual([]);
  });

  it('overrides conntrack settings; switches take 0/1 or false/true and become booleans', () => {
    const { ruleset: rs } = ok(y`
      conntrack:
        tcp_loose: false
        tcp_be_liberal: 1
        tcp_ignore_invalid_rst: true
        max: 0
        udp_timeout: 45
      rules: []
    `);
    expect(rs.conntrack).toEqual({
      ...CONNTRACK_DEFAULTS,
      tcp_loose: false,
      tcp_be_liberal: true,
      tcp_ignore_invalid_rst: true,
      max: 0,
      udp_timeout: 45,
    });
  });

  it('numbers ids from 1 when absent and keeps given ids', () => {
    const { ruleset: rs } = ok('rules:\n  - proto: tcp\n  - id: b\n  - id: 7\n  - {}\n');
    expect(rs.rules.map((r) => [r.id, r.idGiven, r.index])).toEqual([
      ['rule-1', false, 1],
      ['b', true, 2],
      ['7', true, 3],
      ['rule-4', false, 4],
    ]);
  });

  it('records the position of each rule item', () => {
    const { ruleset: rs } = ok('# c\nrules:\n  - id: a\n  -   id: b\n  - {id: c}\n');
    expect(rs.rules.map((r) => [r.pos.line, r.pos.col])).toEqual([
      [3, 5],
      [4, 7],
      [5, 5],
    ]);
  });
});

describe('ports', () => {
  const ports = (v: string) => ok(`rules:\n  - proto: tcp\n    dport: ${v}\n`).ruleset.rules[0].dport;

  it('takes a port, a range and lists of both, sorted and merged', () => {
    expect(ports('8080')).toEqual([{ lo: 8080, hi: 8080 }]);
    expect(ports('"8080"')).toEqual([{ lo: 8080, hi: 8080 }]);
    expect(ports('8000-8099')).toEqual([{ lo: 8000, hi: 8099 }]);
    expect(ports('"8000 - 8099"')).toEqual([{ lo: 8000, hi: 8099 }]);
    expect(ports('[443, 80, 8000-8099, 8050-8200, 81, 0, 65535]')).toEqual([
      { lo: 0, hi: 0 },
      { lo: 80, hi: 81 },
      { lo: 443, hi: 443 },
      { lo: 8000, hi: 8200 },
      { lo: 65535, hi: 65535 },
    ]);
    expect(ports('0-65535')).toEqual([{ lo: 0, hi: 65535 }]);
  });

  it('sport works like dport, with udp too', () => {
    const r = ok('rules:\n  - proto: udp\n    sport: [53, 5353]\n').ruleset.rules[0];
    expect(r.sport).toEqual([
      { lo: 53, hi: 53 },
      { lo: 5353, hi: 5353 },
    ]);
    expect(r.dport).toBeNull();
  });

  it('reports an out-of-range port with its position (the issue example)', () => {
    const text = y`
      name: web
      policy: drop
      rules:
        - id: web
          proto: tcp
          dport: 70000
    `;
    expect(only(text)).toBe(
      'rules/t.yaml:6:12: dport 70000 is out of range; a port is 0-65535, a range "8000-8099", or a list of both',
    );
  });

  it('reports every bad element of a port list', () => {
    const e = errorLines(
      'rules:\n  - proto: tcp\n    dport: [80, "9000-8000", "22:23", http, "1-70000", 1.5, [1], -1]\n',
    );
    expect(e).toEqual([
      'rules/t.yaml:3:17: dport range "9000-8000" is backwards; write "8000-9000"',
      'rules/t.yaml:3:30: dport "22:23" is not a port (ranges use "-", not ":"); a port is 0-65535, a range "8000-8099", or a list of both',
      'rules/t.yaml:3:39: dport "http" is not a port (service names are not supported; use the number); a port is 0-65535, a range "8000-8099", or a list of both',
      'rules/t.yaml:3:45: dport range "1-70000" is out of range; a port is 0-65535, a range "8000-8099", or a list of both',
      'rules/t.yaml:3:56: dport 1.5 is not a whole number; a port is 0-65535, a range "8000-8099", or a list of both',
      'rules/t.yaml:3:61: dport must be a port, not a list; a port is 0-65535, a range "8000-8099", or a list of both',
      'rules/t.yaml:3:66: dport -1 is out of range; a port is 0-65535, a range "8000-8099", or a list of both',
    ]);
  });

  it('rejects an empty list, null and a mapping', () => {
    expect(only('rules:\n  - proto: tcp\n    sport: []\n')).toBe(
      'rules/t.yaml:3:12: rule #1: sport is an empty list; leave sport out to match any port; a port is 0-65535, a range "8000-8099", or a list of both',
    );
    expect(only('rules:\n  - proto: tcp\n    dport:\n')).toMatch(
      /^rules\/t\.yaml:3:5: rule #1: dport must be a port, not nothing \(null\)/,
    );
    expect(only('rules:\n  - proto: tcp\n    dport: {a: 1}\n')).toMatch(
      /^rules\/t\.yaml:3:12: rule #1: dport must be a port, not a mapping/,
    );
  });

  it('ports need proto tcp or udp, and the message explains why', () => {
    const e = errorLines('rules:\n  - dport: 80\n  - proto: icmp\n    sport: 1\n  - proto: any\n    dport: 1\n');
    expect(e).toEqual([
      'rules/t.yaml:2:5: rule #1: dport needs proto tcp or udp; rule #1 has no proto (so any protocol), and only TCP and UDP have ports (use two rules to allow both tcp and udp)',
      'rules/t.yaml:4:5: rule #2: sport needs proto tcp or udp; rule #2 has proto icmp, and only TCP and UDP have ports (use two rules to allow both tcp and udp)',
      'rules/t.yaml:6:5: rule #3: dport needs proto tcp or udp; rule #3 has proto any, and only TCP and UDP have ports (use two rules to allow both tcp and udp)',
    ]);
  });
});

describe('addresses', () => {
  it('parses single addresses, CIDRs and mixed v4/v6 lists', () => {
    const r = ok('rules:\n  - src: 10.1.0.0/16\n    dst: [10.2.0.1, fd00:2::1, "fd00:1::/64", ::ffff:10.0.0.1]\n')
      .ruleset.rules[0];
    expect(r.src!.map((c) => c.text)).toEqual(['10.1.0.0/16']);
    expect(r.dst!.map((c) => [c.version, c.prefix, c.text])).toEqual([
      [4, 32, '10.2.0.1'],
      [6, 128, 'fd00:2::1'],
      [6, 64, 'fd00:1::/64'],
      [6, 128, '::ffff:10.0.0.1'],
    ]);
  });

  it('reports bad CIDRs, each at its own position', () => {
    const e = errorLines(
      'rules:\n  - src: 10.1.0.0/33\n    dst: [fd00::/129, 10.1.0.256, "1:2:3", fd00::1::2, 10.01.0.0, 10.1.0.0/x, 5, abc]\n',
    );
    expect(e).toEqual([
      'rules/t.yaml:2:10: bad address in rule #1: src: 10.1.0.0/33: prefix length 33 exceeds 32 for IPv4',
      'rules/t.yaml:3:11: bad address in rule #1: dst: fd00::/129: prefix length 129 exceeds 128 for IPv6',
      'rules/t.yaml:3:23: bad address in rule #1: dst: 10.1.0.256: 256 is not an IPv4 address byte (0-255)',
      'rules/t.yaml:3:35: bad address in rule #1: dst: 1:2:3: an IPv6 address has 8 groups (or uses "::"), found 3',
      'rules/t.yaml:3:44: bad address in rule #1: dst: fd00::1::2: "::" may appear only once in an IPv6 address',
      'rules/t.yaml:3:56: bad address in rule #1: dst: 10.01.0.0: "01" has a leading zero (ambiguous: some tools read it as octal); write 1',
      'rules/t.yaml:3:67: bad address in rule #1: dst: 10.1.0.0/x: prefix length "x" is not a number (0-32 for IPv4)',
      'rules/t.yaml:3:79: rule #1: dst must be an address or CIDR like 10.1.0.0/16 or fd00:1::/64, or a list of them, not the number 5',
      'rules/t.yaml:3:82: bad address in rule #1: dst: abc: not an IPv4 or IPv6 address (like 10.1.0.0/16 or fd00:1::/64)',
    ]);
  });

  it('rejects an empty address list', () => {
    expect(only('rules:\n  - src: []\n')).toMatch(
      /^rules\/t\.yaml:2:10: rule #1: src is an empty list; leave src out to match any address/,
    );
  });

  it('explains unquoted IPv6 addresses ending in ":"', () => {
    expect(only('rules:\n  - src:\n      - fd00::\n')).toBe(
      'rules/t.yaml:3:9: rule #1: src: fd00:: must be quoted: YAML reads a plain value ending in ":" as a mapping key; write "fd00::"',
    );
    expect(only('rules:\n  - src: fd00::\n')).toMatch(
      /^rules\/t\.yaml:2:10: YAML syntax error: .*; an IPv6 address ending in ":" must be quoted \("fd00::"\)$/,
    );
    expect(ok('rules:\n  - src: "fd00::"\n').ruleset.rules[0].src![0].text).toBe('fd00::');
  });

  it('warns when an address has bits set beyond its prefix', () => {
    const { ruleset, warnings } = ok('rules:\n  - src: 10.1.2.3/16\n');
    expect(ruleset.rules[0].src![0].text).toBe('10.1.0.0/16');
    expect(warnings.map(formatDiagnostic)).toEqual([
      'rules/t.yaml:2:10: warning: rule #1: src 10.1.2.3/16 has bits set after the /16 prefix; it means 10.1.0.0/16',
    ]);
  });

  it('explains that merge keys are not supported', () => {
    expect(errorLines('rules:\n  - &base {proto: tcp}\n  - <<: *base\n')).toEqual([
      'rules/t.yaml:3:5: YAML merge keys (<<) are not supported in rule files; write the keys out, or share values with &anchor / *alias',
    ]);
  });

  it('supports anchors and aliases for shared address lists', () => {
    const { ruleset } = ok(
      'rules:\n  - proto: udp\n    src: &c [10.1.0.0/16, fd00:1::/64]\n  - proto: tcp\n    src: *c\n',
    );
    expect(ruleset.rules[1].src!.map((c) => c.text)).toEqual(['10.1.0.0/16', 'fd00:1::/64']);
  });
});

describe('host model', () => {
  it('defaults rule chains to input, and allows output and forward', () => {
    const { ruleset: rs } = ok(y`
      host: [10.1.0.2, fd00:1::2]
      rules:
        - proto: tcp
        - proto: udp
          chain: output
        - proto: icmp
          chain: forward
        - proto: icmpv6
          chain: input
    `);
    expect(rs.model).toBe('host');
    expect(rs.hostAddrs!.map((c) => c.text)).toEqual(['10.1.0.2', 'fd00:1::2']);
    expect(rs.rules.map((r) => r.chain)).toEqual(['input', 'output', 'forward', 'input']);
    expect(rs.outputPolicy).toBe('accept');
  });

  it('gateway model: chain defaults to forward, input/output are errors', () => {
    expect(ok('rules:\n  - chain: forward\n').ruleset.rules[0].chain).toBe('forward');
    expect(only('rules:\n  - id: x\n    chain: input\n')).toBe(
      "rules/t.yaml:3:12: rule x: chain input exists only in the host model: add host: (the firewall host's own addresses) at the top level; without host:, every packet crosses the firewall on the forward chain",
    );
    expect(only('output_policy: drop\nrules: []\n')).toMatch(
      /^rules\/t\.yaml:1:1: output_policy applies only in the host model: add host:/,
    );
  });

  it('host takes addresses, not networks', () => {
    expect(only('host: [10.1.0.0/16, 10.1.0.2, fd00::2/128]\nrules: []\n')).toBe(
      "rules/t.yaml:1:8: host 10.1.0.0/16: host takes the firewall host's own addresses, not networks (like 10.1.0.2 or fd00:1::2)",
    );
    expect(codes('host: []\nrules: []\n')).toEqual(['1:7 rules.empty-address-list']);
    expect(only('host: 3\nrules: []\n')).toMatch(
      /^rules\/t\.yaml:1:7: host must be an address or a list of addresses .*, not the number 3$/,
    );
  });
});

describe('icmp', () => {
  const icmp = (proto: string, type: string, code?: string) =>
    ok(`rules:\n  - proto: ${proto}\n    type: ${type}\n${code ? `    code: ${code}\n` : ''}`).ruleset.rules[0].icmp;

  it('takes nftables names or numbers, per protocol', () => {
    expect(icmp('icmp', 'echo-request')).toEqual({ types: [8], codes: null });
    expect(icmp('icmp', '8')).toEqual({ types: [8], codes: null });
    expect(icmp('icmp', 'echo-reply')!.types).toEqual([0]);
    expect(icmp('icmp', 'destination-unreachable')!.types).toEqual([3]);
    expect(icmp('icmp', 'time-exceeded')!.types).toEqual([11]);
    expect(icmp('icmpv6', 'echo-request')!.types).toEqual([128]);
    expect(icmp('icmpv6', 'echo-reply')!.types).toEqual([129]);
    expect(icmp('icmpv6', 'packet-too-big')!.types).toEqual([2]);
    expect(icmp('icmpv6', 'nd-neighbor-solicit')!.types).toEqual([135]);
    expect(icmp('icmpv6', 'destination-unreachable')!.types).toEqual([1]);
    expect(icmp('icmp', '200')).toEqual({ types: [200], codes: null });
    expect(icmp('icmp', '"42"')!.types).toEqual([42]);
  });

  it('takes a list, as an nft set: names and numbers mixed, in order, repeats (and synonyms) once', () => {
    expect(icmp('icmp', '[echo-request, echo-reply]')).toEqual({ types: [8, 0], codes: null });
    expect(icmp('icmpv6', '[nd-neighbor-solicit, 136, "137"]')!.types).toEqual([135, 136, 137]);
    expect(icmp('icmpv6', '[mld-listener-done, mld-listener-reduction, 132]')!.types).toEqual([132]);
    expect(icmp('icmp', '[echo-request]')!.types).toEqual([8]);
    expect(icmp('icmp', '[3, 11]', '[port-unreachable, 4]')).toEqual({ types: [3, 11], codes: [3, 4] });
  });

  it('warns, at the repeat, when a list names one type twice (a slip for another member, often)', () => {
    const w = ok(
      'rules:\n  - proto: icmpv6\n    type: [echo-request, mld-listener-done, 128, mld-listener-reduction]\n',
    ).warnings.map(formatDiagnostic);
    expect(w).toEqual([
      'rules/t.yaml:3:45: warning: rule #1: type lists echo-request (128) more than once; it matches once',
      'rules/t.yaml:3:50: warning: rule #1: type lists mld-listener-done (132) more than once; it matches once',
    ]);
  });

  it('takes codes as names or numbers', () => {
    expect(icmp('icmp', 'destination-unreachable', 'port-unreachable')).toEqual({ types: [3], codes: [3] });
    expect(icmp('icmp', 'destination-unreachable', 'frag-needed')!.codes).toEqual([4]);
    expect(icmp('icmpv6', 'destination-unreachable', 'port-unreachable')!.codes).toEqual([4]);
    expect(icmp('icmp', '3', '13')!.codes).toEqual([13]);
    expect(icmp('icmp', '3', '0')!.codes).toEqual([0]);
  });

  it('reports bad types and codes', () => {
    const e = errorLines(y`
      rules:
        - proto: icmp
          type: packet-too-big
        - proto: icmpv6
          type: echo-requst
        - proto: tcp
          type: 3
        - proto: icmp
          code: 3
        - proto: icmp
          type: 300
        - type: 8
        - proto: icmp
          type: 3
          code: no-route
        - proto: icmp
          type: {a: 1}
    `);
    expect(e[0]).toBe(
      'rules/t.yaml:3:11: rule #1: type "packet-too-big" is an icmpv6 type name, and this rule has proto icmp; use proto: icmpv6, or the icmp type number',
    );
    expect(e[1]).toMatch(
      /^rules\/t\.yaml:5:11: rule #2: type "echo-requst" is not an icmpv6 type name; did you mean "echo-request"\? \(allowed: a number 0-255, an icmpv6 type name \(destination-unreachable, packet-too-big, /,
    );
    expect(e[2]).toBe('rules/t.yaml:7:5: rule #3: type needs proto icmp or icmpv6; rule #3 has proto tcp');
    expect(e[3]).toMatch(/^rules\/t\.yaml:9:5: rule #4: code needs a type; /);
    expect(e[4]).toMatch(
      /^rules\/t\.yaml:11:11: rule #5: type 300 is out of range; a number 0-255, an icmp type name \(echo-reply, /,
    );
    expect(e[5]).toBe(
      'rules/t.yaml:12:5: rule #6: type needs proto icmp or icmpv6; rule #6 has no proto (so any protocol)',
    );
    expect(e[6]).toMatch(
      /^rules\/t\.yaml:15:11: rule #7: code "no-route" is an icmpv6 code name, and this rule has proto icmp/,
    );
    expect(e[7]).toMatch(
      /^rules\/t\.yaml:17:11: rule #8: type must be a number 0-255, an icmp type name \(.*\), or a list of them, not a mapping$/,
    );
    expect(e).toHaveLength(8);
  });

  it("says which nft name was meant by dump's old words, tcpdump's and ip6tables', each at its own line:col", () => {
    const e = errorLines(y`
      rules:
        - proto: icmpv6
          type: neighbor solicitation
        - proto: icmpv6
          type: [echo-request, Neighbour-Advertisement, 300]
        - proto: icmp
          type: destination unreachable
          code: [port-unreachable, fragmentation needed]
        - proto: icmp
          type: port-unreachable
        - proto: icmpv6
          type: []
        - proto: icmpv6
          type: [[135]]
    `);
    expect(e[0]).toMatch(
      /^rules\/t\.yaml:3:11: rule #1: type "neighbor solicitation" is not an icmpv6 type name; did you mean "nd-neighbor-solicit"\? \(allowed: /,
    );
    // Each bad element of a list at its own position; the good ones pass.
    expect(e[1]).toMatch(
      /^rules\/t\.yaml:5:26: rule #2: type "Neighbour-Advertisement" is not an icmpv6 type name; did you mean "nd-neighbor-advert"\? /,
    );
    expect(e[2]).toMatch(/^rules\/t\.yaml:5:51: rule #2: type 300 is out of range; /);
    expect(e[3]).toMatch(
      /^rules\/t\.yaml:7:11: rule #3: type "destination unreachable" is not an icmp type name; did you mean "destination-unreachable"\? /,
    );
    expect(e[4]).toMatch(
      /^rules\/t\.yaml:8:30: rule #3: code "fragmentation needed" is not an icmp code name; did you mean "frag-needed"\? /,
    );
    expect(e[5]).toMatch(
      /^rules\/t\.yaml:10:11: rule #4: type "port-unreachable" is not an icmp type name; "port-unreachable" is an icmp code name \(write type: destination-unreachable, code: port-unreachable\) \(allowed: /,
    );
    expect(e[6]).toMatch(/^rules\/t\.yaml:12:11: rule #5: type is an empty list; leave type out to match any type, /);
    expect(e[7]).toMatch(/^rules\/t\.yaml:14:12: rule #6: type must be .*, not a list$/);
    expect(e).toHaveLength(8);
    for (const line of e) expect(line).not.toMatch(/\n/); // one paragraph each
  });
});

describe('validation errors', () => {
  it('suggests the closest rule key for a typo, listing the allowed keys', () => {
    expect(only('rules:\n  - id: web\n    proto: tcp\n    dprot: 80\n')).toBe(
      'rules/t.yaml:4:5: unknown key "dprot" in rule web; did you mean "dport"? (allowed: id, comment, chain, action, proto, sport, dport, src, dst, type, code)',
    );
    expect(codes('rules:\n  - protocol: tcp\n')).toEqual(['2:5 yaml.unknown-key']);
    expect(only('rules:\n  - policy: drop\n')).toMatch(
      /unknown key "policy" in rule #1; "policy" is a top-level key, not a rule key/,
    );
  });

  it('suggests the closest top-level key and spots rule keys at the top level', () => {
    const e = errorLines('polcy: drop\nrule: []\ndport: 80\n');
    expect(e).toEqual([
      'rules/t.yaml:1:1: unknown top-level key "polcy"; did you mean "policy"? (allowed: name, description, policy, output_policy, host, stateful, conntrack, ipv4, rules, interfaces, sets, chains)',
      'rules/t.yaml:1:1: missing rules: list; add rules: with a list of allow rules (rules: [] leaves every new flow to the policy)',
      'rules/t.yaml:2:1: unknown top-level key "rule"; did you mean "rules"? (allowed: name, description, policy, output_policy, host, stateful, conntrack, ipv4, rules, interfaces, sets, chains)',
      'rules/t.yaml:3:1: unknown top-level key "dport"; "dport" belongs in a rule under rules: (allowed: name, description, policy, output_policy, host, stateful, conntrack, ipv4, rules, interfaces, sets, chains)',
    ]);
  });

  it('reports wrong types and enum values, collecting all of them', () => {
    const e = errorLines(y`
      name: [x]
      policy: dorp
      stateful: no
      conntrack:
        tcp_loose: 2
        nf_conntrack_tcp_be_liberal: 1
        udp_timeout: -1
        icmp_timeout: abc
        tcp_timeout_establishd: 5
      rules:
        - id: x
          action: allow
          proto: TCP
          comment: [a]
    `);
    expect(e).toEqual([
      'rules/t.yaml:1:7: name must be text, not a list',
      'rules/t.yaml:2:9: policy "dorp" is not allowed; did you mean "drop"? (allowed: accept, drop, reject)',
      'rules/t.yaml:3:11: stateful must be true or false, not the string "no" (YAML 1.2 reads yes/no/on/off as strings)',
      'rules/t.yaml:5:14: conntrack tcp_loose must be 0 or 1 (or false/true), not the number 2',
      'rules/t.yaml:6:3: conntrack setting "nf_conntrack_tcp_be_liberal": leave out the "nf_conntrack_" prefix; write tcp_be_liberal',
      'rules/t.yaml:7:16: conntrack udp_timeout -1 is out of range; it is a whole number 0-2147483647 (seconds)',
      'rules/t.yaml:8:17: conntrack icmp_timeout must be a whole number of seconds, not the string "abc"',
      expect.stringMatching(
        /^rules\/t\.yaml:9:3: unknown conntrack setting "tcp_timeout_establishd"; did you mean "tcp_timeout_established"\? \(allowed: tcp_loose, /,
      ),
      'rules/t.yaml:12:13: rule x: action "allow" is not allowed; did you mean "accept"? (allowed: accept, drop, reject)',
      'rules/t.yaml:13:12: rule x: proto "TCP" is not allowed; did you mean "tcp"? (allowed: tcp, udp, icmp, icmpv6, any)',
      'rules/t.yaml:14:14: rule x: comment must be text, not a list',
    ]);
  });

  it('conntrack must be a mapping', () => {
    expect(only('conntrack: 5\nrules: []\n')).toBe(
      'rules/t.yaml:1:12: conntrack must be a mapping of settings (like tcp_loose: 0), not the number 5',
    );
  });

  it('reports duplicate ids with both positions', () => {
    const e = errorLines(
      'rules:\n  - id: a\n    proto: tcp\n  - id: a\n    proto: udp\n  - proto: icmp\n  - id: rule-3\n',
    );
    expect(e).toEqual([
      'rules/t.yaml:4:9: duplicate rule id "a": also used by the rule at rules/t.yaml:2:5; ids must be unique',
      'rules/t.yaml:7:9: duplicate rule id "rule-3": also used by the rule at rules/t.yaml:6:5 (rule #3 has no id and gets the default id rule-3); ids must be unique',
    ]);
  });

  it('reports bad ids', () => {
    expect(errorLines('rules:\n  - id: my rule\n  - id: [x]\n')).toEqual([
      'rules/t.yaml:2:9: rule id "my rule" must be 1-64 characters without spaces (it appears in reports as "rule my rule"); use e.g. "my-rule"',
      'rules/t.yaml:3:9: rule #2: id must be a name like "web", not a list',
    ]);
    expect(errorLines('rules:\n  - id: "web\\0"\n  - id: "a\\x7fb"\n')).toEqual([
      'rules/t.yaml:2:9: rule id "web\\u0000" contains the control character U+0000; ids appear in reports and in exported nft and iptables comments, so use printable characters',
      'rules/t.yaml:3:9: rule id "a\\u007fb" contains the control character U+007F; ids appear in reports and in exported nft and iptables comments, so use printable characters',
    ]);
  });

  it('reports duplicate keys with both positions', () => {
    expect(only('rules:\n  - id: x\n    proto: tcp\n    proto: udp\n')).toBe(
      'rules/t.yaml:4:5: duplicate key "proto" (first given at rules/t.yaml:3:5); each key may appear once',
    );
    expect(only('policy: drop\nrules: []\npolicy: accept\n')).toBe(
      'rules/t.yaml:3:1: duplicate key "policy" (first given at rules/t.yaml:1:1); each key may appear once',
    );
  });

  it('reports a missing, null or non-list rules', () => {
    expect(only('name: x\n')).toBe(
      'rules/t.yaml:1:1: missing rules: list; add rules: with a list of allow rules (rules: [] leaves every new flow to the policy)',
    );
    expect(only('rules:\n')).toBe(
      'rules/t.yaml:1:1: rules must be a list of rules (each item starting with "- "), not nothing (null); write rules: [] for no rules',
    );
    expect(codes('rules: {a: 1}\n')).toEqual(['1:8 rules.rules-not-list']);
    expect(errorLines('rules:\n  - tcp 80\n  -\n')).toEqual([
      'rules/t.yaml:2:5: rule #1 must be a mapping (id:, proto:, dport:, ...), not the string "tcp 80"',
      'rules/t.yaml:3:4: rule #2 must be a mapping (id:, proto:, dport:, ...), not nothing (null)',
    ]);
  });

  it('reports an empty file and a non-mapping top level', () => {
    expect(only('')).toBe('rules/t.yaml:1:1: the file is empty; a rule file is a mapping with at least a rules: list');
    expect(codes('# just a comment\n')).toEqual(['1:1 rules.empty-file']);
    expect(only('- a\n- b\n')).toBe(
      'rules/t.yaml:1:1: the top level must be a mapping (name:, policy:, rules:, ...), not a list',
    );
  });

  it('reports YAML syntax errors with the parser position', () => {
    expect(only('rules:\n  - id: x\n    dport: [1\n')).toMatch(
      /^rules\/t\.yaml:4:1: YAML syntax error: Flow sequence .* end with a \]$/,
    );
    expect(only('rules:\n\t- id: x\n')).toMatch(
      /^rules\/t\.yaml:2:1: YAML syntax error: .*Tabs.*; YAML indentation must use spaces, not tabs$/,
    );
    expect(codes('rules:\n  - id: "x\n').map((c) => c.split(' ')[1])).toEqual(['yaml.syntax']);
    expect(only('rules: []\n---\nrules: []\n')).toBe(
      'rules/t.yaml:2:1: a rule file holds one YAML document; remove the "---" line and merge or split the files',
    );
  });

  it('rejects alias bombs', () => {
    const bomb =
      'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nrules: []\n';
    // Refused at its first alias (2:8), not after expanding it; no time bound (machine speed).
    expect(codes(bomb)).toEqual(['2:8 yaml.alias-bomb']);
  });

  it('rejects files over 1 MiB without parsing them', () => {
    const big = 'rules: []\n' + '#'.repeat(1024 * 1024);
    expect(only(big)).toMatch(
      /^rules\/t\.yaml:1:1: file is \d+ bytes; rule files are limited to 1048576 bytes \(1 MiB\)$/,
    );
    const dir = mkdtempSync(join(tmpdir(), 'fwemu-rules-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const p = join(dir, 'big.yaml');
    writeFileSync(p, big);
    expect(() => loadRuleSet(p)).toThrow(/limited to 1048576 bytes/);
  });

  it('RuleFileError carries every diagnostic, and a readable message', () => {
    try {
      parseRuleSet('policy: dorp\nrules:\n  - dport: 1\n', F);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(RuleFileError);
      const err = e as RuleFileError;
      expect(err.diagnostics.map((d) => [d.line, d.col, d.severity])).toEqual([
        [1, 9, 'error'],
        [3, 5, 'error'],
      ]);
      expect(err.message).toMatch(/^rules\/t\.yaml: 2 errors in rule file\nrules\/t\.yaml:1:9: policy "dorp"/);
    }
  });

  it('keeps warnings on the error too', () => {
    const d = (() => {
      try {
        parseRuleSet('rules:\n  - src: 10.1.0.1/8\n  - x: 1\n', F);
      } catch (e) {
        return e as RuleFileError;
      }
      throw new Error('expected error');
    })();
    expect(d.diagnostics).toHaveLength(1);
    expect(d.warnings.map((w) => w.line)).toEqual([2]);
  });

  it('handles a BOM and CRLF line endings, positions included', () => {
    expect(ok('\uFEFFrules:\r\n  - proto: tcp\r\n    dport: 80\r\n').ruleset.rules[0].pos).toEqual({
      file: F,
      line: 2,
      col: 5,
    });
    expect(only('rules:\r\n  - proto: tcp\r\n    dport: 80000\r\n')).toMatch(
      /^rules\/t\.yaml:3:12: dport 80000 is out of range/,
    );
  });

  it('loadRuleSet reports an unreadable file', () => {
    expect(() => loadRuleSet('/nonexistent/x.yaml')).toThrow(
      '/nonexistent/x.yaml: cannot read rule file: no such file',
    );
  });
});

describe('errors() helper sanity', () => {
  it('every diagnostic has 1-based positions', () => {
    for (const d of errors('rules:\n  - dport: x\n')) {
      expect(d.line).toBeGreaterThanOrEqual(1);
      expect(d.col).toBeGreaterThanOrEqual(1);
      expect(d.file).toBe(F);
    }
  });
});
