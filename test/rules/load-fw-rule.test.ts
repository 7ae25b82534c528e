/**
 * The keys of a firewall-model rule, one by one, and their errors (code,
 * line:col, the words that matter). Expected values by hand: nft's
 * meaning of each key (tcp flag bits, ct state words, default burst 5).
 */
import { describe, expect, it } from 'vitest';
import { errors, ok, y } from './helpers.js';
import { fw, inForward, one, rule, set } from './fw-helpers.js';

/** The rule of a one-rule forward chain. */
function only(r: string, extra = ''): ReturnType<typeof set> {
  return set(rule(fw(extra + inForward(r)), 'forward', 1));
}

describe('conditions', () => {
  it('an empty rule accepts everything: proto any, both families, action accept', () => {
    const r = rule(fw(inForward('{}')), 'forward', 1);
    expect(r).toEqual({
      id: 'forward-1',
      idGiven: false,
      index: 1,
      chain: 'forward',
      comment: null,
      pos: { file: 'rules/t.yaml', line: 5, col: 9 },
      proto: 'any',
      family: null,
      iif: null,
      oif: null,
      src: null,
      dst: null,
      sport: null,
      dport: null,
      icmp: null,
      tcpFlags: null,
      ctState: null,
      ctStatus: null,
      pktType: null,
      limit: null,
      counter: false,
      log: null,
      nat: null,
      action: 'accept',
      rejectWith: null,
      target: null,
    });
  });

  it('id and comment as in the simple model', () => {
    const r = rule(fw(inForward('{ id: web, comment: "the web server" }')), 'forward', 1);
    expect(r).toMatchObject({ id: 'web', idGiven: true, comment: 'the web server' });
    expect(rule(fw(inForward('{ id: 42 }')), 'forward', 1).id).toBe('42');
  });

  it("proto and family; other tools' words are pointed to, not taken (as in the simple model)", () => {
    expect(only('{ proto: icmpv6 }')).toMatchObject({ proto: 'icmpv6', family: 6 });
    expect(one(inForward('{ proto: ipv6-icmp }')).message).toBe(
      'rule forward-1: proto "ipv6-icmp" is not allowed; did you mean "icmpv6"? (allowed: tcp, udp, icmp, icmpv6, any)',
    );
    expect(one(inForward('{ family: ip6 }')).message).toMatch(/family "ip6" is not allowed; did you mean "ipv6"\?/);
    expect(only('{ proto: icmp }')).toMatchObject({ proto: 'icmp', family: 4 });
    expect(only('{ proto: udp, family: ipv6 }')).toEqual({ proto: 'udp', family: 6, action: 'accept' });
    expect(only('{ family: ipv4 }')).toMatchObject({ family: 4 });
    expect(one(inForward('{ family: ipv5 }')).at).toBe('5:19 value.not-allowed');
  });

  it('iif and oif: a name or a list, trailing * as wildcard, repeats once', () => {
    const ifs = 'interfaces:\n  lan0: {}\n  lan1: {}\n  wan0: {}\n';
    expect(only('{ iif: lan0, oif: [wan0, "lan*", wan0] }', ifs)).toMatchObject({
      iif: ['lan0'],
      oif: ['wan0', 'lan*'],
    });
    expect(only('{ iif: lo }')).toMatchObject({ iif: ['lo'] }); // lo is always there: no warning
    expect(ok(inForward('{ iif: lo }')).warnings).toEqual([]);
  });

  it('iif/oif naming no interface of the firewall is a warning, not an error', () => {
    const { warnings } = ok(`interfaces:\n  lan0: {}\n${inForward('{ iif: lan1, oif: "ppp*" }')}`);
    expect(warnings.map((w) => `${w.line}:${w.col} ${w.code}`)).toEqual([
      '7:16 rules.unknown-interface',
      '7:27 rules.unknown-interface',
    ]);
    expect(warnings[0].message).toBe(
      'rule forward-1: iif: interface "lan1" is not one of this firewall (lo, lan0), which are all its packets cross, so the condition never holds in fwemu (fine if the rule file also serves a machine that has it); did you mean "lan0"?',
    );
    expect(warnings[1].message).toMatch(
      /^rule forward-1: oif: "ppp\*" matches no interface of this firewall \(lo, lan0\), which are all its packets cross/,
    );
  });

  it('interface names in rules: at most 15 bytes, nft characters, * only at the end', () => {
    const e = errors(inForward('{ iif: [abcdefghijklmnop, "a*b", "", "eth\\"0"] }', '{ oif: [] }', '{ iif: {a: 1} }'));
    expect(e.map((d) => `${d.line}:${d.col} ${d.code}`)).toEqual([
      '5:17 rules.bad-interface-name',
      '5:35 rules.bad-interface-name',
      '5:42 rules.bad-interface-name',
      '5:46 rules.bad-interface-name',
      '6:16 rules.empty-list',
      '7:16 rules.bad-interface',
    ]);
    expect(e[0].message).toMatch(/interface name "abcdefghijklmnop" is 16 bytes long/);
    expect(e[1].message).toMatch(/"a\*b" contains "\*" \("\*" only at the end, as nft's wildcard\)/);
    expect(e[2].message).toMatch(/interface name "" is empty/);
    expect(e[3].message).toMatch(/contains "\\""/);
  });

  it('src and dst: addresses, networks, ranges, mixed families, and @sets', () => {
    const sets =
      'sets:\n  admins: [192.168.1.10, 192.168.1.20-192.168.1.30]\n  v6: { type: ipv6_addr, elements: ["fd00::/8"] }\n';
    const r = only('{ src: [10.0.0.1, 10.1.0.0/16, 10.2.0.5-10.2.0.9, "fd00::1"], dst: "@admins" }', sets);
    expect(r).toEqual({
      proto: 'any',
      family: 4, // the set is IPv4: the rule can only match IPv4
      src: {
        cidrs: [
          { version: 4, words: [0x0a000001, 0, 0, 0], prefix: 32, text: '10.0.0.1' },
          { version: 4, words: [0x0a010000, 0, 0, 0], prefix: 16, text: '10.1.0.0/16' },
          { version: 6, words: [0xfd000000, 0, 0, 1], prefix: 128, text: 'fd00::1' },
        ],
        ranges: [{ version: 4, lo: [0x0a020005, 0, 0, 0], hi: [0x0a020009, 0, 0, 0], text: '10.2.0.5-10.2.0.9' }],
        set: null,
      },
      dst: {
        cidrs: [{ version: 4, words: [0xc0a8010a, 0, 0, 0], prefix: 32, text: '192.168.1.10' }],
        ranges: [
          { version: 4, lo: [0xc0a80114, 0, 0, 0], hi: [0xc0a8011e, 0, 0, 0], text: '192.168.1.20-192.168.1.30' },
        ],
        set: 'admins',
      },
      action: 'accept',
    });
    expect(rule(fw(inForward('{ src: [10.0.0.1, "fd00::1"] }')), 'forward', 1).family).toBeNull();
    expect(only('{ dst: "@v6" }', sets).family).toBe(6);
  });

  it('src and dst errors: unknown set, port set, @set in a list, bad and empty', () => {
    const sets = 'sets:\n  web: [80]\n  admins: [10.0.0.1]\n';
    const e = errors(
      sets +
        inForward(
          '{ src: "@admin" }',
          '{ src: "@web" }',
          '{ dst: ["@admins", 10.0.0.2] }',
          '{ src: 10.0.0.9-10.0.0.1 }',
          '{ dst: [] }',
          '{ src: {a: b} }',
        ),
    );
    expect(e.map((d) => `${d.line}:${d.col} ${d.code}`)).toEqual([
      '8:16 rules.unknown-set',
      '9:16 rules.set-kind-mismatch',
      '10:17 rules.set-in-list',
      '11:16 rules.bad-address',
      '12:16 rules.empty-address-list',
      '13:16 rules.bad-address',
    ]);
    expect(e[0].message).toBe(
      'rule forward-1: src: no set named "admin" under sets:; did you mean "admins"? (sets: web, admins)',
    );
    expect(e[1].message).toBe(
      'rule forward-2: src: set web holds ports (inet_service); src takes a set of addresses (ipv4_addr or ipv6_addr)',
    );
    expect(e[2].message).toMatch(
      /^rule forward-3: dst: a set \(@admins\) must be the whole value, not one item of a list/,
    );
    expect(e[3].message).toMatch(
      /^bad address in rule forward-4: src: 10\.0\.0\.9-10\.0\.0\.1: the range is backwards/,
    );
  });

  it('sport and dport: ports, ranges, lists and @sets of ports', () => {
    const sets = 'sets:\n  web: [80, 443]\n';
    expect(only('{ proto: tcp, sport: "1024-65535", dport: "@web" }', sets)).toEqual({
      proto: 'tcp',
      sport: { ranges: [{ lo: 1024, hi: 65535 }], set: null },
      dport: {
        ranges: [
          { lo: 80, hi: 80 },
          { lo: 443, hi: 443 },
        ],
        set: 'web',
      },
      action: 'accept',
    });
    expect(only('{ proto: udp, dport: [53, 5353] }').dport).toEqual({
      ranges: [
        { lo: 53, hi: 53 },
        { lo: 5353, hi: 5353 },
      ],
      set: null,
    });
  });

  it('port errors: no proto, an address set, a set in a list, out of range', () => {
    const sets = 'sets:\n  web: [80]\n  hosts: [10.0.0.1]\n';
    const e = errors(
      sets +
        inForward(
          '{ dport: 22 }',
          '{ proto: tcp, dport: "@hosts" }',
          '{ proto: tcp, dport: ["@web", 22] }',
          '{ proto: udp, sport: 70000 }',
          '{ proto: icmp, dport: "@web" }',
        ),
    );
    expect(e.map((d) => `${d.line}:${d.col} ${d.code}`)).toEqual([
      '8:11 rules.port-needs-tcp-udp',
      '9:30 rules.set-kind-mismatch',
      '10:31 rules.set-in-list',
      '11:30 rules.port-out-of-range',
      '12:24 rules.port-needs-tcp-udp',
    ]);
    expect(e[0].message).toMatch(
      /^rule forward-1: dport needs proto tcp or udp; rule forward-1 has no proto \(so any protocol\)/,
    );
    expect(e[1].message).toBe(
      'rule forward-2: dport: set hosts holds addresses (ipv4_addr); dport takes a set of ports (inet_service)',
    );
    expect(e[4].message).toMatch(/rule forward-5 has proto icmp/);
  });

  it('type and code: the ICMP reader of the simple model', () => {
    expect(only('{ proto: icmp, type: [echo-request, 0], code: 0 }').icmp).toEqual({ types: [8, 0], codes: [0] });
    expect(only('{ proto: icmpv6, type: nd-neighbor-solicit }').icmp).toEqual({ types: [135], codes: null });
    expect(one(inForward('{ proto: tcp, type: 8 }')).at).toBe('5:23 rules.icmp-needs-icmp-proto');
    expect(one(inForward('{ proto: icmp, type: nd-neighbor-solicit }')).at).toBe('5:30 rules.icmp-wrong-family');
  });

  it('tcp_flags: a flag, all of a list, value / mask; needs proto tcp', () => {
    expect(only('{ proto: tcp, tcp_flags: syn }').tcpFlags).toEqual({ mask: 0x02, value: 0x02, text: 'syn / syn' });
    expect(only('{ proto: tcp, tcp_flags: [syn, ack] }').tcpFlags).toEqual({
      mask: 0x12,
      value: 0x12,
      text: 'syn,ack / syn,ack',
    });
    expect(only('{ proto: tcp, tcp_flags: "syn / syn,ack,rst,fin" }').tcpFlags).toEqual({
      mask: 0x17,
      value: 0x02,
      text: 'syn / fin,syn,rst,ack',
    });
    const e = errors(
      inForward(
        '{ tcp_flags: syn }',
        '{ proto: udp, tcp_flags: syn }',
        '{ proto: tcp, tcp_flags: sny }',
        '{ proto: tcp, tcp_flags: 2 }',
      ),
    );
    expect(e.map((d) => `${d.line}:${d.col} ${d.code}`)).toEqual([
      '5:11 rules.tcp-flags-needs-tcp',
      '6:23 rules.tcp-flags-needs-tcp',
      '7:34 rules.bad-tcp-flags',
      '8:34 rules.bad-tcp-flags',
    ]);
    expect(e[0].message).toBe(
      'rule forward-1: tcp_flags needs proto tcp; rule forward-1 has no proto (so any protocol)',
    );
    expect(e[2].message).toMatch(/"sny" is not a TCP flag/);
  });

  it('ct_state, ct_status and pkttype: one word or a list; unicast is nft host', () => {
    expect(only('{ ct_state: [established, related, established], ct_status: dnat, pkttype: unicast }')).toEqual({
      proto: 'any',
      ctState: ['established', 'related'],
      ctStatus: ['dnat'],
      pktType: ['host'],
      action: 'accept',
    });
    expect(
      only(
        '{ ct_state: [new, invalid, untracked], ct_status: [snat, seen-reply, assured, confirmed, expected, dying], pkttype: [broadcast, multicast, other, host] }',
      ),
    ).toMatchObject({
      ctState: ['new', 'invalid', 'untracked'],
      ctStatus: ['snat', 'seen-reply', 'assured', 'confirmed', 'expected', 'dying'],
      pktType: ['broadcast', 'multicast', 'other', 'host'],
    });
    const e = errors(inForward('{ ct_state: establised }', '{ ct_status: [] }', '{ pkttype: 5 }'));
    expect(e.map((d) => `${d.line}:${d.col} ${d.code}`)).toEqual([
      '5:21 value.not-allowed',
      '6:22 rules.empty-list',
      '7:20 value.not-allowed',
    ]);
    expect(e[0].message).toBe(
      'rule forward-1: ct_state "establised" is not allowed; did you mean "established"? (allowed: new, established, related, invalid, untracked)',
    );
  });

  it('limit: rate, unit, burst (default 5), over', () => {
    expect(only('{ limit: "10/minute" }').limit).toEqual({
      rate: 10,
      unit: 'minute',
      burst: 5,
      over: false,
      text: '10/minute burst 5 packets',
    });
    expect(only('{ limit: "over 2/second burst 1 packets", action: drop }').limit).toMatchObject({
      rate: 2,
      burst: 1,
      over: true,
    });
    const e = one(inForward('{ limit: "10/minutes" }'));
    expect(e.at).toBe('5:18 rules.bad-limit');
    expect(e.message).toMatch(
      /^rule forward-1: limit: "minutes" is not a unit; write minute; give a rate like "10\/minute"/,
    );
    expect(one(inForward('{ limit: 10 }')).at).toBe('5:18 rules.bad-limit');
  });
});

describe('statements and verdicts', () => {
  it('counter and log (true, a prefix, or prefix and level)', () => {
    expect(only('{ counter: true, log: true, action: continue }')).toEqual({
      proto: 'any',
      counter: true,
      log: { prefix: null, level: null },
      action: 'continue',
    });
    expect(only('{ log: "ssh: " }').log).toEqual({ prefix: 'ssh: ', level: null });
    expect(only('{ log: { prefix: "in ", level: warn } }').log).toEqual({ prefix: 'in ', level: 'warn' });
    expect(one(inForward('{ log: { level: warning } }')).message).toMatch(
      /log level "warning" is not allowed; did you mean "warn"\?/,
    );
    expect(only('{ log: false, counter: false }')).toEqual({ proto: 'any', action: 'accept' });
    const e = errors(
      inForward(`{ log: "${'x'.repeat(128)}" }`, '{ log: { level: loud } }', '{ log: [a] }', '{ counter: 1 }'),
    );
    expect(e.map((d) => `${d.line}:${d.col} ${d.code}`)).toEqual([
      '5:16 rules.bad-log',
      '6:25 value.not-allowed',
      '7:16 rules.bad-log',
      '8:20 value.not-bool',
    ]);
    expect(e[0].message).toBe('rule forward-1: the log prefix is 128 bytes long; the kernel takes at most 127');
  });

  it("every action; other firewalls' words are pointed to", () => {
    for (const a of ['accept', 'drop', 'reject', 'return', 'continue']) expect(only(`{ action: ${a} }`).action).toBe(a);
    expect(one(inForward('{ action: deny }')).message).toBe(
      'rule forward-1: action "deny" is not allowed; did you mean "drop"? (allowed: accept, drop, reject, jump, goto, return, continue)',
    );
    expect(one(inForward('{ action: allow }')).message).toMatch(/did you mean "accept"\?/);
    expect(one(inForward('{ action: all }')).message).toMatch(
      /^rule forward-1: action "all" is not allowed \(allowed:/,
    ); // a proto word: no suggestion
  });

  it('jump:, goto: and action: jump with to:', () => {
    const f = fw(
      inForward('{ jump: a }', '{ goto: a }', '{ action: goto, to: a }', '{ action: jump, to: a, proto: tcp }') +
        '  a: {}\n',
    );
    expect([1, 2, 3, 4].map((i) => [rule(f, 'forward', i).action, rule(f, 'forward', i).target])).toEqual([
      ['jump', 'a'],
      ['goto', 'a'],
      ['goto', 'a'],
      ['jump', 'a'],
    ]);
  });

  it('jump errors: both, conflicting action, to: without jump, jump without target, bad names', () => {
    const e = errors(
      inForward(
        '{ jump: a, goto: a }',
        '{ jump: a, action: drop }',
        '{ to: a }',
        '{ action: jump }',
        '{ jump: a, to: a }',
        '{ jump: [a] }',
        '{ goto: "9a" }',
      ) + '  a: {}\n',
    );
    expect(e.map((d) => `${d.line}:${d.col} ${d.code}`)).toEqual([
      '5:20 rules.bad-jump',
      '6:28 rules.bad-jump',
      '7:11 rules.bad-jump',
      '8:19 rules.bad-jump',
      '9:20 rules.bad-jump',
      '10:17 rules.bad-jump',
      '11:17 rules.bad-chain-name',
    ]);
    expect(e[0].message).toMatch(/^rule forward-1 has both jump: and goto:/);
    expect(e[1].message).toBe('rule forward-2 has jump: and action: drop; leave action out (jump: is the verdict)');
    expect(e[2].message).toBe(
      "rule forward-3: to: names the chain of action: jump or goto, and this rule's action is accept",
    );
    expect(e[3].message).toBe('rule forward-4: action: jump needs the chain to enter: write jump: NAME (or to: NAME)');
  });

  it('reject_with: nft words, only with action reject, fitting the rule', () => {
    expect(only('{ proto: tcp, action: reject, reject_with: "tcp reset" }').rejectWith).toBe('tcp reset');
    // icmpx answers either family: the rule keeps both
    expect(
      rule(fw(inForward('{ action: reject, reject_with: "icmpx admin-prohibited" }')), 'forward', 1),
    ).toMatchObject({
      rejectWith: 'icmpx admin-prohibited',
      family: null,
    });
    expect(only('{ action: reject, reject_with: "icmp type host-prohibited" }')).toMatchObject({
      rejectWith: 'icmp host-prohibited',
      family: 4,
    });
    expect(only('{ action: reject, reject_with: "icmpv6 no-route" }').family).toBe(6);
    const e = errors(
      inForward(
        '{ reject_with: "tcp reset" }',
        '{ action: reject, reject_with: "tcp reset" }',
        '{ action: reject, reject_with: "icmp no-route" }',
        '{ action: reject, reject_with: 5 }',
      ),
    );
    expect(e.map((d) => `${d.line}:${d.col} ${d.code}`)).toEqual([
      '5:11 rules.bad-reject-with',
      '6:40 rules.bad-reject-with',
      '7:40 rules.bad-reject-with',
      '8:40 rules.bad-reject-with',
    ]);
    expect(e[0].message).toBe("rule forward-1: reject_with needs action: reject (this rule's action is accept)");
    expect(e[1].message).toMatch(/^rule forward-2: reject_with tcp reset needs proto tcp/);
    expect(e[2].message).toMatch(/"no-route" is not an icmp reject code \(net-unreachable, host-unreachable/);
  });
});

describe('NAT statements', () => {
  const nat = (hook: string, r: string) =>
    `chains:\n  c:\n    hook: ${hook}\n    type: nat\n    rules:\n      - ${r}\n`;

  it('dnat and redirect at prerouting and output; snat and masquerade at postrouting and input', () => {
    const get = (hook: string, r: string) => set(rule(fw(nat(hook, r)), 'c', 1));
    expect(get('prerouting', '{ iif: lo, proto: tcp, dport: 80, dnat: "192.168.1.10:8080" }')).toMatchObject({
      family: 4,
      action: 'accept',
      nat: {
        kind: 'dnat',
        addr: { version: 4, lo: [0xc0a8010a, 0, 0, 0], hi: [0xc0a8010a, 0, 0, 0], text: '192.168.1.10' },
        ports: { lo: 8080, hi: 8080 },
        flags: [],
        text: 'dnat ip to 192.168.1.10:8080',
      },
    });
    expect(get('output', '{ proto: tcp, redirect: 8080 }').nat).toMatchObject({
      kind: 'redirect',
      ports: { lo: 8080, hi: 8080 },
      text: 'redirect to :8080',
    });
    expect(get('prerouting', '{ redirect: true }').nat).toMatchObject({
      kind: 'redirect',
      ports: null,
      text: 'redirect',
    });
    expect(get('postrouting', '{ masquerade: true, nat_flags: [random, persistent] }').nat).toEqual({
      kind: 'masquerade',
      addr: null,
      ports: null,
      flags: ['random', 'persistent'],
      text: 'masquerade random,persistent',
    });
    expect(get('postrouting', '{ proto: udp, masquerade: "40000-40100" }').nat).toMatchObject({
      ports: { lo: 40000, hi: 40100 },
    });
    expect(get('input', '{ snat: "[2001:db8::1]", action: accept }')).toMatchObject({
      family: 6,
      nat: { kind: 'snat', text: 'snat ip6 to 2001:db8::1' },
    });
    expect(get('postrouting', '{ masquerade: false }')).toEqual({ proto: 'any', action: 'accept' });
  });

  it('NAT only in nat chains, and only on its hooks', () => {
    const a = one(inForward('{ masquerade: true }'));
    expect(a.at).toBe('5:11 rules.nat-outside-nat-chain');
    expect(a.message).toBe(
      'rule forward-1: masquerade in chain forward, a filter chain; NAT statements belong in chains of type: nat',
    );
    const b = one(nat('prerouting', '{ snat: 10.0.0.1 }'));
    expect(b.at).toBe('6:11 rules.nat-wrong-hook');
    expect(b.message).toBe(
      'rule c-1: snat in chain c on the prerouting hook; the kernel runs snat only on postrouting and input',
    );
    expect(one(nat('postrouting', '{ dnat: 10.0.0.1 }')).at).toBe('6:11 rules.nat-wrong-hook');
    expect(one(nat('input', '{ redirect: true }')).at).toBe('6:11 rules.nat-wrong-hook');
    expect(one(nat('output', '{ masquerade: true }')).at).toBe('6:11 rules.nat-wrong-hook');
    // Measured with nft -f: masquerade on input is refused (EOPNOTSUPP), snat on input is not.
    expect(one(nat('input', '{ masquerade: true }')).message).toBe(
      'rule c-1: masquerade in chain c on the input hook; the kernel runs masquerade only on postrouting',
    );
    expect(rule(fw(nat('input', '{ snat: 10.0.0.1 }')), 'c', 1).nat!.kind).toBe('snat');
  });

  it('NAT needs connection tracking: not with stateful: false', () => {
    const e = one(`stateful: false\n${nat('postrouting', '{ masquerade: true }')}`);
    expect(e.at).toBe('7:11 rules.nat-needs-conntrack');
    expect(e.message).toBe(
      "rule c-1: masquerade needs connection tracking, and the file says stateful: false; NAT is decided on a flow's first packet and kept in its conntrack entry",
    );
  });

  it('in a user chain, NAT is checked against every base chain that reaches it', () => {
    const text = y`
      chains:
        post: { hook: postrouting, type: nat, rules: [{ jump: masq }] }
        fwd: { hook: forward, rules: [{ goto: mid }] }
        mid: { rules: [{ jump: masq }] }
        masq:
          rules:
            - { masquerade: true }
        unused: { rules: [{ dnat: 10.0.0.1 }] }
    `;
    const e = one(text);
    expect(e.at).toBe('7:11 rules.nat-outside-nat-chain');
    expect(e.message).toBe(
      'rule masq-1: masquerade in chain masq (entered from base chain fwd), a filter chain; NAT statements belong in chains of type: nat',
    );
  });

  it('NAT errors: bad targets, ports without tcp/udp, two statements, a verdict besides, flags alone', () => {
    const e = errors(
      y`
      chains:
        c:
          hook: prerouting
          type: nat
          rules:
            - { dnat: "10.0.0.1:80" }
            - { dnat: 5 }
            - { dnat: "10.0.0.1-10.0.0.0" }
            - { proto: tcp, dnat: 10.0.0.1, redirect: true }
            - { dnat: 10.0.0.1, action: drop }
            - { nat_flags: [random] }
            - { redirect: "eighty" }
            - { redirect: [1] }
            - { dnat: 10.0.0.1, nat_flags: [sometimes] }
    `,
    );
    expect(e.map((d) => `${d.line}:${d.col} ${d.code}`)).toEqual([
      '6:17 rules.nat-port-needs-tcp-udp',
      '7:17 rules.bad-nat',
      '8:17 rules.bad-nat',
      '9:39 rules.nat-with-verdict',
      '10:11 rules.nat-with-verdict',
      '11:11 rules.bad-nat',
      '12:21 rules.bad-nat',
      '13:21 rules.bad-nat',
      '14:39 value.not-allowed',
    ]);
    expect(e[0].message).toMatch(/^rule c-1: dnat to a port needs proto tcp or udp/);
    expect(e[3].message).toBe('rule c-4 has two NAT statements (dnat and redirect); a rule translates once');
    expect(e[4].message).toMatch(
      /^rule c-5: a NAT statement is the rule's verdict \(accept, once translated\); it cannot be combined with action: drop$/,
    );
    expect(e[5].message).toBe(
      'rule c-6: nat_flags needs a NAT statement (snat, dnat, masquerade or redirect) in the rule',
    );
  });
});

describe('IP family clashes', () => {
  it('names the two things that need different families', () => {
    const sets = 'sets:\n  v4: [10.0.0.0/8]\n';
    const e = errors(
      `${sets}chains:\n  c:\n    hook: postrouting\n    type: nat\n    rules:\n      - { src: "@v4", snat: "2001:db8::1" }\n      - { family: ipv6, dst: 10.0.0.1 }\n      - { proto: icmpv6, src: 10.0.0.1 }\n      - { src: "fd00::1", dst: 10.0.0.1 }\n`,
    );
    expect(e.map((d) => `${d.line}:${d.col} ${d.code}`)).toEqual([
      '8:29 rules.family-clash',
      '9:30 rules.family-clash',
      '10:31 rules.family-clash',
      '11:32 rules.family-clash',
    ]);
    expect(e[0].message).toBe(
      'rule c-1: snat 2001:db8::1 needs IPv6, and src @v4 needs IPv4; no packet is both (split the rule into one per IP family)',
    );
    expect(e[1].message).toMatch(/^rule c-2: dst needs IPv4, and family ipv6 needs IPv6;/);
    expect(e[2].message).toMatch(/^rule c-3: src needs IPv4, and proto icmpv6 needs IPv6;/);
    expect(e[3].message).toMatch(/^rule c-4: dst needs IPv4, and src needs IPv6;/);
  });
});

describe('warnings', () => {
  it('addresses of the other IP family in a list never match', () => {
    const { warnings } = ok(
      inForward(
        '{ proto: icmp, src: [10.0.0.1, "fd00::1", "fd00::5-fd00::9"] }',
        '{ src: [10.0.0.1, "fd00::1"], dst: 10.9.0.0/16 }',
      ),
    );
    expect(warnings.map((w) => `${w.line}:${w.col} ${w.code} ${w.message}`)).toEqual([
      '5:29 rules.never-matches rule forward-1: src fd00::1, fd00::5-fd00::9 never match: the rule matches IPv4 packets only (proto icmp)',
      '6:16 rules.never-matches rule forward-2: src fd00::1 never matches: the rule matches IPv4 packets only (dst)',
    ]);
    expect(ok(inForward('{ src: [10.0.0.1, "fd00::1"] }')).warnings).toEqual([]);
  });

  it('iif on output and oif before routing never match', () => {
    const { warnings } = ok(
      y`
      chains:
        out: { hook: output, rules: [{ iif: lo }] }
        pre: { hook: prerouting, rules: [{ oif: lo }] }
        in: { hook: input, rules: [{ oif: lo, iif: lo }] }
        fwd: { hook: forward, rules: [{ oif: lo, iif: lo }] }
    `,
    );
    expect(warnings.map((w) => `${w.line}:${w.col} ${w.code} ${w.message}`)).toEqual([
      '2:32 rules.never-matches rule out-1: iif in chain out (hook output) never matches: packets the firewall sends have no input interface',
      '3:36 rules.never-matches rule pre-1: oif in chain pre (hook prerouting) never matches: the output interface is chosen by routing, after this hook',
      '4:30 rules.never-matches rule in-1: oif in chain in (hook input) never matches: the output interface is chosen by routing, after this hook',
    ]);
  });
});

describe('hostile strings', () => {
  it('quotes and control characters in comments and log prefixes are kept as written', () => {
    const r = rule(
      fw(inForward('{ id: "a\\"b\'c", comment: "x\\u001b[2J\\"; drop", log: "pre\\nfix\\u0000" }')),
      'forward',
      1,
    );
    expect(r.id).toBe('a"b\'c');
    expect(r.comment).toBe('x\u001b[2J"; drop');
    expect(r.log).toEqual({ prefix: 'pre\nfix\u0000', level: null });
  });

  it('ids follow the simple model: no spaces, no control characters', () => {
    expect(one(inForward('{ id: "a b" }')).at).toBe('5:15 rules.bad-id');
    const e = one(inForward('{ id: "a\\u001bb" }'));
    expect(e.at).toBe('5:15 rules.bad-id');
    expect(e.message).toMatch(/contains the control character U\+001B/);
  });
});

describe('rule shape', () => {
  it('a rule must be a mapping, and unknown keys say where they belong', () => {
    const e = errors(inForward('5', '{ dprot: 22 }', '{ chain: input }', '{ policy: drop }'));
    expect(e.map((d) => `${d.line}:${d.col} ${d.code}`)).toEqual([
      '5:9 rules.rule-not-mapping',
      '6:11 yaml.unknown-key',
      '7:11 yaml.unknown-key',
      '8:11 yaml.unknown-key',
    ]);
    expect(e[1].message).toMatch(
      /^unknown key "dprot" in rule forward-2; did you mean "dport"\? \(allowed: id, comment, proto, family,/,
    );
    expect(e[2].message).toMatch(/a rule belongs to the chain it is listed under \(forward\)/);
    expect(e[3].message).toMatch(/policy is a key of the chain, not of a rule/);
  });
});
