/**
 * The firewall model's file level: interfaces, sets, chains, rules: beside
 * interfaces:, and the checks over the whole file. Expected values are
 * written by hand (addresses as words: 192.168.1.1 = 0xc0a80101).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CHAIN_KEYS, FW_RULE_KEYS, INTERFACE_KEYS } from '../../src/rules/spec.js';
import { codes, errorLines, errors, ok, y } from './helpers.js';
import { chain, fw, inForward, one, rule, set } from './fw-helpers.js';

const lo = {
  name: 'lo',
  addresses: [
    {
      addr: { version: 4, words: [0x7f000001, 0, 0, 0], prefix: 32, text: '127.0.0.1' },
      net: { version: 4, words: [0x7f000000, 0, 0, 0], prefix: 8, text: '127.0.0.0/8' },
    },
    {
      addr: { version: 6, words: [0, 0, 0, 1], prefix: 128, text: '::1' },
      net: { version: 6, words: [0, 0, 0, 1], prefix: 128, text: '::1' },
    },
  ],
  networks: [],
  defaultRoute: false,
};

describe('which model', () => {
  it('a file without interfaces: and chains: is the simple model, firewall absent', () => {
    const { ruleset } = ok('rules:\n  - { proto: tcp, dport: 80 }\n');
    expect(ruleset.firewall ?? null).toBeNull();
    expect(ruleset.rules).toHaveLength(1);
  });

  it('interfaces: or chains: make it a firewall: rules [] and the gateway model unless host:', () => {
    const a = ok('interfaces: {}\nrules: []\n').ruleset;
    expect(a.rules).toEqual([]);
    expect(a.model).toBe('gateway');
    expect(a.firewall!.interfaces.map((i) => i.name)).toEqual(['lo']);
    const b = ok('chains: {}\n').ruleset;
    expect(b.firewall).toEqual({ interfaces: [expect.objectContaining(lo)], sets: [], chains: [] });
    const c = ok('host: 10.1.0.2\ninterfaces: {}\nrules: []\n').ruleset;
    expect(c.model).toBe('host');
    expect(c.hostAddrs!.map((x) => x.text)).toEqual(['10.1.0.2']);
  });

  it('sets: alone needs the firewall model', () => {
    const e = one('sets:\n  a: [10.0.0.1]\nrules: []\n');
    expect(e.at).toBe('1:1 rules.needs-firewall');
    expect(e.message).toMatch(/^sets: needs the firewall model: add interfaces: .* or chains:/);
  });

  it('a firewall rule key in a simple rule says what it needs', () => {
    const e = one('rules:\n  - { iif: eth0 }\n');
    expect(e.at).toBe('2:7 yaml.unknown-key');
    expect(e.message).toMatch(
      /unknown key "iif" in rule #1; "iif" needs the firewall model: add interfaces: \(or chains:\)/,
    );
  });

  it('chains: with rules:, policy: or output_policy: is an error naming both keys', () => {
    const e = errorLines('chains: {}\nrules: []\npolicy: drop\nhost: 10.0.0.1\noutput_policy: drop\n');
    expect(e).toEqual([
      'rules/t.yaml:2:1: rules: and chains: (rules/t.yaml:1:1) do not go together: with chains:, every rule belongs to a chain; move the rules into the chains',
      'rules/t.yaml:3:1: policy: and chains: (rules/t.yaml:1:1) do not go together: with chains:, each base chain has its own policy:; move it there',
      'rules/t.yaml:5:1: output_policy: and chains: (rules/t.yaml:1:1) do not go together: with chains:, each base chain has its own policy:; move it there',
    ]);
    expect(errors('chains: {}\nrules: []\n').map((d) => d.code)).toEqual(['rules.chains-with-simple-keys']);
  });
});

describe('interfaces', () => {
  it('reads addresses with their connected networks, further networks and the default route; lo first', () => {
    const f = fw(y`
      interfaces:
        lan0:
          addresses: [192.168.1.1/24, "fd00:1::1/64"]
          networks: [192.168.2.0/24]
        wan0:
          addresses: 203.0.113.1/24
          default: true
      chains: {}
    `);
    expect(f.interfaces).toEqual([
      { ...lo, pos: { file: 'rules/t.yaml', line: 1, col: 1 } },
      {
        name: 'lan0',
        addresses: [
          {
            addr: { version: 4, words: [0xc0a80101, 0, 0, 0], prefix: 32, text: '192.168.1.1' },
            net: { version: 4, words: [0xc0a80100, 0, 0, 0], prefix: 24, text: '192.168.1.0/24' },
          },
          {
            addr: { version: 6, words: [0xfd000001, 0, 0, 1], prefix: 128, text: 'fd00:1::1' },
            net: { version: 6, words: [0xfd000001, 0, 0, 0], prefix: 64, text: 'fd00:1::/64' },
          },
        ],
        networks: [{ version: 4, words: [0xc0a80200, 0, 0, 0], prefix: 24, text: '192.168.2.0/24' }],
        defaultRoute: false,
        pos: { file: 'rules/t.yaml', line: 2, col: 3 },
      },
      {
        name: 'wan0',
        addresses: [
          {
            addr: { version: 4, words: [0xcb007101, 0, 0, 0], prefix: 32, text: '203.0.113.1' },
            net: { version: 4, words: [0xcb007100, 0, 0, 0], prefix: 24, text: '203.0.113.0/24' },
          },
        ],
        networks: [],
        defaultRoute: true,
        pos: { file: 'rules/t.yaml', line: 5, col: 3 },
      },
    ]);
  });

  it('an interface with nothing after it has no addresses; a declared lo adds to 127.0.0.1/8 and ::1', () => {
    const f = fw('interfaces:\n  br0:\n  lo: { addresses: [10.255.0.1/32, 127.0.0.1/8] }\nchains: {}\n');
    expect(f.interfaces.map((i) => [i.name, i.addresses.map((a) => `${a.addr.text} ${a.net.text}`)])).toEqual([
      ['lo', ['127.0.0.1 127.0.0.0/8', '::1 ::1', '10.255.0.1 10.255.0.1']],
      ['br0', []],
    ]);
    expect(f.interfaces[0].pos.line).toBe(3);
  });

  it('names: at most 15 bytes, letters digits _ . -; not "." or ".."', () => {
    expect(fw('interfaces:\n  abcdefghijklmno: {}\nchains: {}\n').interfaces[1].name).toBe('abcdefghijklmno');
    const e = errors(
      'interfaces:\n  abcdefghijklmnop: {}\n  "eth 0": {}\n  "eth*": {}\n  "..": {}\n  "é12345678": {}\n  "eth\\u001b": {}\nchains: {}\n',
    );
    expect(e.map((d) => `${d.line}:${d.col} ${d.code}`)).toEqual([
      '2:3 rules.bad-interface-name',
      '3:3 rules.bad-interface-name',
      '4:3 rules.bad-interface-name',
      '5:3 rules.bad-interface-name',
      '6:3 rules.bad-interface-name',
      '7:3 rules.bad-interface-name',
    ]);
    expect(e[0].message).toBe(
      'interface name "abcdefghijklmnop" is 16 bytes long; Linux interface names hold at most 15 (IFNAMSIZ 16 less the NUL)',
    );
    expect(e[1].message).toMatch(/"eth 0" contains " "; interface names here are letters, digits/);
    expect(e[2].message).toMatch(/contains "\*" \(a wildcard "\*" belongs in a rule's iif\/oif/);
    expect(e[3].message).toMatch(/"\.\." is refused|are refused/);
    expect(e[4].message).toMatch(/contains "é"/);
    expect(e[5].message).toMatch(/contains "\\u001b"/); // the control character shown escaped
  });

  it('refuses a second default route, and routes out of lo', () => {
    const e = errorLines(y`
      interfaces:
        a: { default: true }
        b: { default: true }
        lo: { default: true, networks: 10.0.0.0/8 }
      chains: {}
    `);
    expect(e).toEqual([
      'rules/t.yaml:3:8: default: true on b and on a (rules/t.yaml:2:8); one interface carries the default route (several default routes are not modelled)',
      'rules/t.yaml:4:9: lo cannot carry the default route; put default: true on the interface towards the upstream router',
      'rules/t.yaml:4:24: lo takes no networks: packets are never routed out of the loopback interface',
    ]);
    expect(codes('interfaces:\n  lo: { default: true }\nchains: {}\n')).toEqual(['2:9 rules.lo-route']);
    expect(codes('interfaces:\n  a: { default: true }\n  b: { default: true }\nchains: {}\n')).toEqual([
      '3:8 rules.two-default-routes',
    ]);
  });

  it('reports shapes, keys and addresses', () => {
    expect(codes('interfaces: [eth0]\nchains: {}\n')).toEqual(['1:13 rules.interfaces-not-mapping']);
    const e = one('interfaces:\n  eth0: 10.0.0.1/8\nchains: {}\n');
    expect(e.at).toBe('2:9 rules.interfaces-not-mapping');
    expect(e.message).toBe(
      'interface eth0 must be a mapping (addresses:, networks:, default:), not the string "10.0.0.1/8"; write eth0: { addresses: 10.0.0.1/8 }',
    );
    expect(one('interfaces:\n  eth0: { adresses: 10.0.0.1/8 }\nchains: {}\n').message).toBe(
      'unknown key "adresses" in interface eth0; did you mean "addresses"? (allowed: addresses, networks, default)',
    );
    expect(
      codes('interfaces:\n  eth0: { addresses: [10.0.0.1/33, 10.0.0.300/8], networks: [] }\nchains: {}\n'),
    ).toEqual(['2:23 rules.bad-address', '2:36 rules.bad-address', '2:61 rules.empty-address-list']);
    expect(codes('interfaces:\n  eth0: { default: yes }\nchains: {}\n')).toEqual(['2:20 value.not-bool']);
  });

  it('warns about an address without a prefix, and host bits in networks', () => {
    const { warnings } = ok('interfaces:\n  eth0: { addresses: 10.0.0.1, networks: 10.9.0.1/16 }\nchains: {}\n');
    expect(warnings.map((w) => `${w.line}:${w.col} ${w.code}`)).toEqual([
      '2:22 rules.address-without-prefix',
      '2:42 rules.host-bits-set',
    ]);
    expect(warnings[0].message).toMatch(
      /10\.0\.0\.1 has no prefix, so the only address directly connected through eth0 is itself .* like 10\.0\.0\.1\/24, or write 10\.0\.0\.1\/32/,
    );
    expect(warnings[1].message).toMatch(/it means 10\.9\.0\.0\/16/);
  });
});

describe('sets', () => {
  it('infers the kind of a list; takes { type, elements }, also empty', () => {
    const f = fw(y`
      sets:
        admins: [192.168.1.10, 192.168.1.20-192.168.1.30]
        web: [443, 80, "8000-8099", 8100]
        v6nets: { type: ipv6_addr, elements: ["fd00::/8"] }
        none: { type: inet_service, elements: [] }
        one: 10.0.0.0/8
      chains: {}
    `);
    expect(f.sets).toEqual([
      {
        name: 'admins',
        kind: 'ipv4_addr',
        addrs: {
          cidrs: [{ version: 4, words: [0xc0a8010a, 0, 0, 0], prefix: 32, text: '192.168.1.10' }],
          ranges: [
            { version: 4, lo: [0xc0a80114, 0, 0, 0], hi: [0xc0a8011e, 0, 0, 0], text: '192.168.1.20-192.168.1.30' },
          ],
          set: 'admins',
        },
        ports: null,
        pos: { file: 'rules/t.yaml', line: 2, col: 3 },
      },
      {
        name: 'web',
        kind: 'inet_service',
        addrs: null,
        // sorted and merged: 8000-8099 and 8100 are adjacent
        ports: {
          ranges: [
            { lo: 80, hi: 80 },
            { lo: 443, hi: 443 },
            { lo: 8000, hi: 8100 },
          ],
          set: 'web',
        },
        pos: { file: 'rules/t.yaml', line: 3, col: 3 },
      },
      {
        name: 'v6nets',
        kind: 'ipv6_addr',
        addrs: {
          cidrs: [{ version: 6, words: [0xfd000000, 0, 0, 0], prefix: 8, text: 'fd00::/8' }],
          ranges: [],
          set: 'v6nets',
        },
        ports: null,
        pos: { file: 'rules/t.yaml', line: 4, col: 3 },
      },
      { name: 'none', kind: 'inet_service', addrs: null, ports: { ranges: [], set: 'none' }, pos: expect.anything() },
      {
        name: 'one',
        kind: 'ipv4_addr',
        addrs: expect.objectContaining({ set: 'one' }),
        ports: null,
        pos: expect.anything(),
      },
    ]);
  });

  it('refuses mixed kinds, an untyped empty set, elements of another type and bad names', () => {
    const e = errors(y`
      sets:
        mixed: [10.0.0.1, "fd00::1"]
        mp: [80, 10.0.0.1]
        empty: []
        typed: { type: ipv4_addr, elements: ["fd00::1"] }
        svc: { type: inet_service, elements: [10.0.0.1] }
        "9bad": [1]
        notype: { elements: [1] }
        badport: [70000]
        badaddr: [10.0.0.256]
      chains: {}
    `);
    expect(e.map((d) => `${d.line}:${d.col} ${d.code}`)).toEqual([
      '2:21 rules.set-mixed-kinds',
      '3:8 rules.set-mixed-kinds',
      '4:10 rules.empty-set',
      '5:40 rules.bad-set-element',
      '6:41 rules.bad-set-element',
      '7:3 rules.bad-set-name',
      '8:11 rules.sets-not-mapping',
      '9:13 rules.port-out-of-range',
      '10:13 rules.bad-address',
    ]);
    expect(e[0].message).toBe(
      'set mixed mixes IPv4 and IPv6 addresses; an nft set holds one type (ipv4_addr or ipv6_addr): make two sets',
    );
    expect(e[1].message).toMatch(/set mp mixes ports \(the number 80\) and addresses \(the string "10\.0\.0\.1"\)/);
    expect(e[2].message).toMatch(
      /set empty is empty, so its kind cannot be told; write empty: \{ type: ipv4_addr, elements: \[\] \}/,
    );
    expect(e[3].message).toBe('set typed is of type ipv4_addr, and the string "fd00::1" is an IPv6 address');
    expect(e[4].message).toBe('set svc is of type inet_service (ports), and the string "10.0.0.1" is not a port');
    expect(e[5].message).toMatch(/set name "9bad" must start with a letter or "_"/);
    expect(e[6].message).toMatch(/set notype written as a mapping needs type: \(ipv4_addr, ipv6_addr, inet_service\)/);
  });

  it('sets must be a mapping', () => {
    expect(codes('sets: [1]\nchains: {}\n')).toEqual(['1:7 rules.sets-not-mapping']);
  });
});

describe('chains', () => {
  it('reads hook, type, priority and policy; defaults by type and hook', () => {
    const f = fw(y`
      chains:
        pre: { hook: prerouting, type: nat }
        out: { hook: output, type: nat }
        post: { hook: postrouting, type: nat }
        in: { hook: input, type: nat }
        fwd: { hook: forward, policy: drop }
        mangle: { hook: prerouting, priority: "mangle + 5" }
        early: { hook: input, priority: -200 }
        late: { hook: postrouting, priority: "srcnat-10" }
        num: { hook: forward, priority: "42" }
        user: {}
        user2:
    `);
    expect(f.chains.map((c) => [c.name, c.hook, c.type, c.priority, c.policy, c.rules.length, c.pos.line])).toEqual([
      ['pre', 'prerouting', 'nat', -100, 'accept', 0, 2],
      ['out', 'output', 'nat', -100, 'accept', 0, 3],
      ['post', 'postrouting', 'nat', 100, 'accept', 0, 4],
      ['in', 'input', 'nat', 100, 'accept', 0, 5],
      ['fwd', 'forward', 'filter', 0, 'drop', 0, 6],
      ['mangle', 'prerouting', 'filter', -145, 'accept', 0, 7],
      ['early', 'input', 'filter', -200, 'accept', 0, 8],
      ['late', 'postrouting', 'filter', 90, 'accept', 0, 9],
      ['num', 'forward', 'filter', 42, 'accept', 0, 10],
      ['user', null, 'filter', 0, 'accept', 0, 11],
      ['user2', null, 'filter', 0, 'accept', 0, 12],
    ]);
  });

  it('dstnat and srcnat only on their hooks, as nft (measured: "invalid priority expression value in this context")', () => {
    const e = errors(
      'chains:\n  a: { hook: output, type: nat, priority: dstnat }\n  b: { hook: input, priority: "srcnat - 5" }\n',
    );
    expect(e.map((d) => `${d.line}:${d.col} ${d.code} ${d.message}`)).toEqual([
      '2:43 rules.bad-priority chain a: nft takes the priority name dstnat only on the prerouting hook, not on output; write the number: priority: -100',
      '3:31 rules.bad-priority chain b: nft takes the priority name srcnat only on the postrouting hook, not on input; write the number: priority: 95',
    ]);
    // the defaults are numbers, so a nat chain on output or input needs no name
    expect(
      fw('chains:\n  a: { hook: output, type: nat }\n  b: { hook: input, type: nat }\n').chains.map((c) => c.priority),
    ).toEqual([-100, 100]);
  });

  it('takes filter chains before conntrack (raw); refuses nat chains there, as the kernel (EOPNOTSUPP)', () => {
    expect(fw('chains:\n  r: { hook: prerouting, priority: raw }\n').chains[0].priority).toBe(-300);
    const e = one('chains:\n  r: { hook: prerouting, type: nat, priority: raw }\n');
    expect(e.at).toBe('2:47 rules.priority-before-conntrack');
    expect(e.message).toBe(
      'chain r: a nat chain at priority -300 would run before connection tracking (-200), which NAT needs; the kernel refuses it (EOPNOTSUPP): give a priority above -200',
    );
    expect(codes('chains:\n  r: { hook: output, type: nat, priority: -200 }\n')).toEqual([
      '2:43 rules.priority-before-conntrack',
    ]);
    expect(codes('chains:\n  r: { hook: output, type: nat, priority: "filter - 201" }\n')).toEqual([
      '2:43 rules.priority-before-conntrack',
    ]);
  });

  it('reports bad priorities, hooks, types and policies', () => {
    const e = errors(y`
      chains:
        a: { hook: input, priority: fliter }
        b: { hook: input, priority: [1] }
        c: { hook: inptu }
        d: { hook: input, type: route }
        e: { hook: input, policy: reject }
        f: { hook: input, policy: maybe }
        g: { hook: forward, type: nat }
        h: { type: nat, priority: 0, policy: drop }
        i: { hook: input, rules: 5 }
        j: { hook: input, dport: 22 }
        k: 5
        "1k": {}
    `);
    expect(e.map((d) => `${d.line}:${d.col} ${d.code}`)).toEqual([
      '2:31 rules.bad-priority',
      '3:31 rules.bad-priority',
      '4:14 value.not-allowed',
      '5:27 value.not-allowed',
      '6:29 rules.bad-firewall-policy',
      '7:29 value.not-allowed',
      '8:29 rules.nat-chain-hook',
      '9:8 rules.base-chain-key',
      '9:19 rules.base-chain-key',
      '9:32 rules.base-chain-key',
      '10:28 rules.rules-not-list',
      '11:21 yaml.unknown-key',
      '12:6 rules.chains-not-mapping',
      '13:3 rules.bad-chain-name',
    ]);
    const m = e.map((d) => d.message);
    expect(m[0]).toMatch(
      /^chain a: priority "fliter" is not an nft priority name; did you mean "filter"\? \(allowed: a whole number, or an nft priority name \(raw -300, mangle -150, dstnat -100, filter 0, security 50, srcnat 100\)/,
    );
    expect(m[2]).toBe(
      'chain c: hook "inptu" is not allowed; did you mean "input"? (allowed: prerouting, input, forward, output, postrouting)',
    );
    expect(m[3]).toMatch(/chain d: type "route" is not allowed; did you mean "filter"\? \(allowed: filter, nat\)/);
    expect(m[4]).toBe(
      "chain e: policy reject: an nft chain's policy is accept or drop; write policy: drop and end the chain with a rule { action: reject }",
    );
    expect(m[6]).toMatch(/^chain g: nft has no nat chains on the forward hook/);
    expect(m[7]).toMatch(
      /^chain h has type: but no hook:; type belongs to base chains .* a chain without hook: is a user chain, entered only by jump or goto$/,
    );
    expect(m[11]).toMatch(
      /unknown key "dport" in chain j; "dport" belongs in a rule under rules: \(allowed: hook, type, priority, policy, family, rules\)/,
    );
  });

  it('chain and set names: words nft reads unquoted, up to 255 characters', () => {
    const f = fw(
      `sets:\n  lan/v4.x-y: [10.0.0.1]\nchains:\n  _a/b.c-d: { rules: [{ src: "@lan/v4.x-y" }] }\n  ${'c'.repeat(255)}: {}\n`,
    );
    expect(f.chains.map((c) => c.name.length)).toEqual([8, 255]);
    expect(f.chains[0].rules[0].src!.set).toBe('lan/v4.x-y');
    const e = one(`chains:\n  ${'c'.repeat(256)}: {}\n`);
    expect(e.at).toBe('2:3 rules.bad-chain-name');
    expect(e.message).toMatch(/is 256 characters long; nft takes at most 255$/);
  });

  it('chains: must be a mapping', () => {
    expect(codes('chains: [a]\n')).toEqual(['1:9 rules.chains-not-mapping']);
  });
});

describe('rules: beside interfaces:', () => {
  const text = y`
    interfaces:
      eth0: { addresses: 10.1.0.1/16 }
      eth1: { addresses: 10.2.0.1/16, default: true }
    policy: drop
    rules:
      - { id: web, proto: tcp, dport: 8080, iif: eth0 }
      - { proto: icmp, type: echo-request, chain: input }
      - { id: out, chain: output, oif: eth1, action: drop }
  `;

  it('builds input, forward and output, each opened by the stateful preamble; rules go to forward unless chain: says', () => {
    const f = fw(text);
    expect(
      f.chains.map((c) => [c.name, c.hook, c.type, c.priority, c.policy, c.rules.map((r) => `${r.index} ${r.id}`)]),
    ).toEqual([
      ['input', 'input', 'filter', 0, 'drop', ['1 established', '2 invalid', '3 rule-2']],
      ['forward', 'forward', 'filter', 0, 'drop', ['1 established', '2 invalid', '3 web']],
      ['output', 'output', 'filter', 0, 'accept', ['1 established', '2 invalid', '3 out']],
    ]);
    expect(set(rule(f, 'forward', 1))).toEqual({ proto: 'any', ctState: ['established', 'related'], action: 'accept' });
    expect(set(rule(f, 'forward', 2))).toEqual({ proto: 'any', ctState: ['invalid'], action: 'drop' });
    expect(rule(f, 'forward', 1).pos.line).toBe(5); // the rules: key
    expect(rule(f, 'forward', 3)).toMatchObject({
      chain: 'forward',
      index: 3,
      idGiven: true,
      pos: { line: 6, col: 5 },
    });
    expect(rule(f, 'input', 3)).toMatchObject({ id: 'rule-2', idGiven: false, chain: 'input' });
  });

  it('host: makes input the default chain; policy and output_policy give the policies; stateful: false drops the preamble', () => {
    const f = fw(
      'host: 10.1.0.1\ninterfaces: {}\nstateful: false\npolicy: accept\noutput_policy: drop\nrules:\n  - { proto: tcp }\n',
    );
    expect(f.chains.map((c) => [c.name, c.policy, c.rules.map((r) => r.id)])).toEqual([
      ['input', 'accept', ['rule-1']],
      ['forward', 'accept', []],
      ['output', 'drop', []],
    ]);
  });

  it('refuses a reject policy, the preamble ids, NAT and a missing rules:', () => {
    const e = errorLines(y`
      interfaces: {}
      policy: reject
      rules:
        - { id: established }
        - { masquerade: true }
    `);
    expect(e).toEqual([
      "rules/t.yaml:2:9: policy: reject: with interfaces:, the chains are nft's, whose policy is accept or drop; write policy: drop and end the rules with { action: reject }",
      'rules/t.yaml:4:11: rule id "established" is taken: the stateful preamble that opens each chain (ct_state established,related accept) has it; choose another id',
      'rules/t.yaml:5:7: rule rule-2: masquerade in chain forward, a filter chain; NAT statements belong in chains of type: nat (rules: beside interfaces: are all in filter chains; write chains: for NAT)',
    ]);
    expect(codes('interfaces: {}\n')).toEqual(['1:1 rules.missing-rules']);
    expect(codes('interfaces: {}\nrules: 5\n')).toEqual(['2:8 rules.rules-not-list']);
    expect(codes('interfaces: {}\nrules:\n  - { chain: prerouting }\n')).toEqual(['3:14 value.not-allowed']);
  });
});

describe('YAML', () => {
  it('an unquoted IPv6 address ending in ":" is named, wherever addresses go', () => {
    const e = errors(
      'interfaces:\n  e: { networks: [fd00::] }\nsets:\n  s: [fd00::]\nchains:\n  c: { rules: [{ dst: [fd00::] }] }\n',
    );
    expect(e.map((d) => `${d.line}:${d.col} ${d.code} ${d.message}`)).toEqual([
      '2:19 rules.unquoted-ipv6 interface e: networks: fd00:: must be quoted: YAML reads a plain value ending in ":" as a mapping key; write "fd00::"',
      '4:7 rules.unquoted-ipv6 set s: fd00:: must be quoted: YAML reads a plain value ending in ":" as a mapping key; write "fd00::"',
      '6:24 rules.unquoted-ipv6 rule c-1: dst: fd00:: must be quoted: YAML reads a plain value ending in ":" as a mapping key; write "fd00::"',
    ]);
  });

  it('an unquoted @set gets a hint, as an unquoted IPv6 address does', () => {
    expect(errorLines('sets: { a: [10.0.0.1] }\nchains:\n  c: { rules: [{ src: @a }] }\n')).toEqual([
      'rules/t.yaml:3:23: YAML syntax error: Plain value cannot start with reserved character @; a set name starting with "@" must be quoted: src: "@admins"',
    ]);
  });
});

describe('whole-file checks', () => {
  it('duplicate ids across chains, with both positions and why', () => {
    const e = errorLines(y`
      chains:
        a:
          rules:
            - { id: x }
            - { proto: tcp }
        b:
          rules:
            - { id: x }
            - { id: a-2 }
    `);
    expect(e).toEqual([
      'rules/t.yaml:8:15: duplicate rule id "x": also used by the rule at rules/t.yaml:4:9; ids must be unique in the file',
      'rules/t.yaml:9:15: duplicate rule id "a-2": also used by the rule at rules/t.yaml:5:9 (that rule has no id and gets the default id a-2); ids must be unique in the file',
    ]);
  });

  it('jump and goto: to user chains that exist', () => {
    const e = errors(
      inForward('{ jump: ssh_inn }', '{ goto: forward }', '{ action: jump, to: nowhere }') + '  ssh_in: {}\n',
    );
    expect(e.map((d) => `${d.line}:${d.col} ${d.code}`)).toEqual([
      '5:17 rules.unknown-chain',
      '6:17 rules.jump-to-base-chain',
      '7:29 rules.unknown-chain',
    ]);
    expect(e[0].message).toBe(
      'rule forward-1: jump "ssh_inn": there is no chain "ssh_inn" under chains:; did you mean "ssh_in"? (user chains: ssh_in)',
    );
    expect(e[1].message).toBe(
      'rule forward-2: goto forward: forward is a base chain (hook: forward); jump and goto enter user chains (chains without hook:), as in nft',
    );
  });

  it('a loop a base chain reaches is an error; the kernel says "Too many links"', () => {
    // Measured: nft -f of `chain a { jump b } chain b { goto c } chain c { jump a }` and a base chain
    // jumping to a: "Could not process rule: Too many links"; without the base chain it loads.
    const e = errors(y`
      chains:
        in:
          hook: input
          rules:
            - { jump: a }
        a:
          rules:
            - { jump: b }
        b:
          rules:
            - { goto: c }
        c:
          rules:
            - { jump: a }
    `);
    expect(e.map((d) => `${d.line}:${d.col} ${d.code}`)).toEqual(['14:17 rules.jump-loop']);
    expect(e[0].message).toBe(
      'jump a closes a loop: a -> b -> c -> a; the kernel refuses a ruleset whose chains loop ("Too many links", EMLINK)',
    );
  });

  it('a loop no base chain reaches is a warning (the kernel takes it)', () => {
    const { warnings } = ok('chains:\n  self:\n    rules:\n      - { jump: self }\n');
    expect(warnings.map((w) => `${w.line}:${w.col} ${w.code} ${w.severity}`)).toEqual(['4:17 rules.jump-loop warning']);
    expect(warnings[0].message).toMatch(
      /^jump self closes a loop: self -> self; no base chain reaches it, so the kernel takes the ruleset/,
    );
  });

  it('15 jumps deep from a base chain is the most the kernel follows', () => {
    // Measured with nft -f: base -> a1 -> ... -> a15 loads; one more chain, by jump or goto: "Too many links".
    const deep = (n: number, kind = 'jump') =>
      `chains:\n  base: { hook: input, rules: [{ ${kind}: a1 }] }\n${Array.from({ length: n }, (_, i) =>
        i + 1 < n ? `  a${i + 1}: { rules: [{ ${kind}: a${i + 2} }] }\n` : `  a${i + 1}: {}\n`,
      ).join('')}`;
    expect(fw(deep(15)).chains).toHaveLength(16);
    const e = one(deep(16, 'goto'));
    expect(e.at).toBe('17:26 rules.jump-too-deep');
    expect(e.message).toBe(
      'goto a16: chain a16 is 16 jumps deep (base -> a1 -> a2 -> a3 -> a4 -> a5 -> a6 -> a7 -> a8 -> a9 -> a10 -> a11 -> a12 -> a13 -> a14 -> a15 -> a16); the kernel follows at most 15 ("Too many links", EMLINK)',
    );
  });

  it('a chain reached twice without a cycle is no loop', () => {
    const f = fw(
      'chains:\n  in: { hook: input, rules: [{ jump: a }, { jump: b }] }\n  a: { rules: [{ jump: b }] }\n  b: {}\n',
    );
    expect(chain(f, 'in').rules.map((r) => r.target)).toEqual(['a', 'b']);
  });
});

describe('rules/README.md, "The firewall model"', () => {
  const readme = readFileSync(new URL('../../rules/README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## The firewall model'));
  const blocks = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]);

  /** The backticked keys in the first column of the table under `### title`. */
  const tableKeys = (title: string): string[] => {
    const from = section.indexOf(`### ${title}\n`);
    expect(from, title).toBeGreaterThan(0);
    const end = section.indexOf('\n### ', from + 4);
    const rows = section.slice(from, end < 0 ? undefined : end).match(/^\| [^|]+\|/gm) ?? [];
    return rows.flatMap((row) => [...row.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]));
  };

  it('documents every key: interfaces, chains, rules (chain: in its own section)', () => {
    expect(tableKeys('interfaces').sort()).toEqual([...INTERFACE_KEYS].sort());
    expect(tableKeys('chains').sort()).toEqual([...CHAIN_KEYS].sort());
    expect(tableKeys('A rule').sort()).toEqual(FW_RULE_KEYS.filter((k) => k !== 'chain').sort());
    expect(section).toMatch(/followed by the file's rules in their `chain:`/);
  });

  it('has examples, and each loads (a fragment with chains: {} added)', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    for (const b of blocks) {
      const text = /^(rules|chains):/m.test(b) ? b : `${b}chains: {}\n`;
      expect(() => ok(text), b).not.toThrow();
    }
  });
});
