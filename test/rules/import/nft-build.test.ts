/**
 * What nft rules mean in the firewall model. The expected meanings come
 * from nft 1.0.6 and the kernel, measured in a private network namespace
 * with `nft --debug=netlink list ruleset` (the bytecode the kernel runs),
 * quoted where a test relies on it; ports and ICMP numbers are the
 * protocols' own.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { NFT_CODES } from '../../../src/rules/import/nft/codes.js';
import { chain, errors, meaning, read, readOk, rules, show } from './nft-helpers.js';

describe('reject', () => {
  it("defaults to the family's port-unreachable (bytecode: inet `reject type 2 code 1`, ip `reject type 0 code 3`)", () => {
    expect(rules(' reject', 'inet')[0].rejectWith).toBe('icmpx port-unreachable');
    expect(rules(' tcp dport 22 reject', 'inet')[0].rejectWith).toBe('icmpx port-unreachable');
    expect(rules(' reject', 'ip')[0].rejectWith).toBe('icmp port-unreachable');
    expect(rules(' reject', 'ip6')[0].rejectWith).toBe('icmpv6 port-unreachable');
  });

  it('with tcp reset nft adds `meta l4proto tcp`; with icmp it adds `meta nfproto ipv4`', () => {
    const [a, b] = rules(' reject with tcp reset\n reject with icmp type host-unreachable');
    expect(meaning(a)).toEqual({ proto: 'tcp', action: 'reject', rejectWith: 'tcp reset' });
    expect(meaning(b)).toEqual({ proto: 'any', family: 4, action: 'reject', rejectWith: 'icmp host-unreachable' });
  });
});

describe('matches', () => {
  it('ip saddr in an inet table implies IPv4; != negates the value only', () => {
    const [x] = rules(' ip saddr != 10.0.0.0/8 tcp dport ssh drop');
    expect(x.family).toBe(4);
    expect(x.not).toEqual(['src']);
    expect(x.src?.cidrs.map((c) => c.text)).toEqual(['10.0.0.0/8']);
    expect(x.proto).toBe('tcp');
    expect(x.dport?.ranges).toEqual([{ lo: 22, hi: 22 }]);
  });

  it('service names mean what /etc/services says; an unknown name is a positioned error', () => {
    expect(rules(' tcp dport { https, domain, 8000-8099 } accept')[0].dport?.ranges).toEqual([
      { lo: 443, hi: 443 },
      { lo: 53, hi: 53 },
      { lo: 8000, hi: 8099 },
    ]);
    expect(errors('table ip t { chain c { tcp dport sshh accept; }; }').map(show)).toEqual([
      'rules.nft:1:34: nft.bad-value: `tcp dport sshh`: "sshh" is not a port number or a service name of /etc/services',
    ]);
  });

  it('tcp flags: a bare list is "any of these set" (bytecode: `& 0x12`, `cmp neq 0`), so one model rule per flag', () => {
    const xs = rules(' tcp flags syn,ack accept');
    expect(xs.map((x) => [x.id, x.tcpFlags?.mask, x.tcpFlags?.value])).toEqual([
      ['input-1.1', 0x02, 0x02],
      ['input-1.2', 0x10, 0x10],
    ]);
  });

  it('tcp flags: ==, != and sets compare the whole byte; & and / give a mask', () => {
    const [eq, ne, set1, set2, amp, slash] = rules(
      ' tcp flags == syn accept\n tcp flags != syn accept\n tcp flags { syn, ack } accept\n tcp flags & (fin|syn|rst|ack) == syn accept\n tcp flags syn / fin,syn,rst,ack accept',
    );
    expect(eq.tcpFlags).toMatchObject({ mask: 0xff, value: 0x02 });
    expect([ne.tcpFlags?.mask, ne.tcpFlags?.value, ne.not]).toEqual([0xff, 0x02, ['tcpFlags']]);
    expect([set1.tcpFlags?.value, set2.tcpFlags?.value]).toEqual([0x02, 0x10]);
    expect(amp.tcpFlags).toMatchObject({ mask: 0x17, value: 0x02 });
    expect(slash.tcpFlags).toMatchObject({ mask: 0x17, value: 0x02, text: 'syn / fin,syn,rst,ack' });
  });

  it('tcp flags: outside braces a comma list is one value (bytecode `== syn,ack`: `cmp eq 0x12`)', () => {
    const [eq, ne, slash] = rules(
      ' tcp flags == syn,ack accept\n tcp flags != syn,ack accept\n tcp flags syn,rst / syn,rst drop',
    );
    expect([eq.tcpFlags?.mask, eq.tcpFlags?.value, eq.not]).toEqual([0xff, 0x12, undefined]);
    expect([ne.tcpFlags?.mask, ne.tcpFlags?.value, ne.not]).toEqual([0xff, 0x12, ['tcpFlags']]);
    expect([slash.id, slash.tcpFlags?.mask, slash.tcpFlags?.value]).toEqual(['input-3', 0x06, 0x06]);
  });

  it('a bare comma list is refused where nft refuses it (not a flag type: "Basetype ... is not bitmask")', () => {
    expect(errors('table ip t { chain c { tcp dport 22,80 accept; }; }').map(show)).toEqual([
      'rules.nft:1:34: nft.bad-value: `tcp dport 22,80`: tcp dport takes a comma list only in braces (nft refuses "22,80" here); write { 22, 80 }',
    ]);
    expect(rules(' ct status dnat,snat accept')[0].ctStatus).toEqual(['dnat', 'snat']);
  });

  it('th dport without a protocol: tcp and udp (the model has no other protocol with ports)', () => {
    expect(rules(' th dport 53 accept').map((x) => x.proto)).toEqual(['tcp', 'udp']);
    expect(rules(' meta l4proto { tcp, udp } th dport 53 accept').map((x) => [x.id, x.proto])).toEqual([
      ['input-1.1', 'tcp'],
      ['input-1.2', 'udp'],
    ]);
  });

  it('interfaces: names, wildcards, sets; every name reported', () => {
    const r = readOk(
      'table inet t { chain input { type filter hook input priority 0; iifname { "lan0", "wg*" } oifname != "wan0" accept; }; }',
    );
    const [x] = chain(r, 'input').rules;
    expect([x.iif, x.oif, x.not]).toEqual([['lan0', 'wg*'], ['wan0'], ['oif']]);
    expect(r.interfaceNames).toEqual(['lan0', 'wg*', 'wan0']);
  });

  it('ct state, ct status, pkttype, nfproto, mark and fib', () => {
    const xs = rules(
      [
        ' ct state != established,related drop',
        ' ct status dnat accept',
        ' meta pkttype { broadcast, multicast } drop',
        ' meta nfproto ipv6 accept',
        ' meta mark and 0xff00 == 0x100 accept',
        ' fib daddr type != local drop',
        ' fib saddr . iif oif missing drop',
      ].join('\n'),
    );
    expect(meaning(xs[0])).toEqual({
      proto: 'any',
      ctState: ['established', 'related'],
      not: ['ctState'],
      action: 'drop',
    });
    expect(xs[1].ctStatus).toEqual(['dnat']);
    expect(xs[2].pktType).toEqual(['broadcast', 'multicast']);
    expect(xs[3].family).toBe(6);
    expect(xs[4].mark).toMatchObject({ value: 0x100, mask: 0xff00 });
    expect(xs[5].fib).toEqual([
      { addr: 'daddr', dev: null, result: 'type', types: ['local'], neg: true, text: 'fib daddr type != local' },
    ]);
    expect(xs[6].fib).toEqual([
      { addr: 'saddr', dev: 'iif', result: 'oif-missing', types: [], neg: false, text: 'fib saddr . iif oif missing' },
    ]);
  });

  it('meta ipsec missing holds for every packet (fwemu models no IPsec); meta ipsec exists is not modelled', () => {
    const xs = rules(
      ' fib saddr . mark . iif oif 0 meta ipsec missing drop\n meta ipsec != exists tcp dport 22 accept',
    );
    expect(meaning(xs[0])).toMatchObject({ proto: 'any', action: 'drop' });
    expect(xs[0].fib).toHaveLength(1);
    expect(xs[0].inert ?? null).toBeNull();
    expect(meaning(xs[1])).toMatchObject({ action: 'accept' });
    expect(xs[1].inert ?? null).toBeNull();
    const text = 'table inet t { chain input { type filter hook input priority 0;\n  meta ipsec exists accept\n }\n}';
    expect(errors(text).map(show)).toEqual([
      'rules.nft:2:3: nft.unsupported: `meta ipsec exists`: meta ipsec is not modelled (--lenient makes the rule never match)',
    ]);
  });

  it('two negated conditions on one field join as "neither"; a protocol that conflicts drops the element', () => {
    const [x] = rules(' ip daddr != 10.0.0.0/8 ip daddr != 192.168.0.0/16 drop');
    expect(x.dst?.cidrs.map((c) => c.text)).toEqual(['10.0.0.0/8', '192.168.0.0/16']);
    expect(x.not).toEqual(['dst']);
    expect(rules(' meta l4proto { tcp, udp } tcp dport 22 accept').map((r) => r.proto)).toEqual(['tcp']);
  });
});

describe('expansion: verdict maps and concatenations', () => {
  it('ct state vmap gives one rule per element, ids CHAIN-N.K, one origin', () => {
    const xs = rules(' ct state vmap { established : accept, related : accept, invalid : drop }');
    expect(xs.map((x) => [x.id, x.ctState, x.action])).toEqual([
      ['input-1.1', ['established'], 'accept'],
      ['input-1.2', ['related'], 'accept'],
      ['input-1.3', ['invalid'], 'drop'],
    ]);
    expect(new Set(xs.map((x) => x.origin?.text))).toEqual(
      new Set(['ct state vmap { established : accept, related : accept, invalid : drop }']),
    );
  });

  it('iifname vmap with jump and goto to user chains', () => {
    const r = readOk(`table inet t {
 chain forward { type filter hook forward priority 0; policy drop;
  iifname vmap { "lan0" : jump from_lan, "wan0" : goto from_wan }
 }
 chain from_lan { accept; }
 chain from_wan { return; }
}`);
    expect(chain(r, 'forward').rules.map((x) => [x.iif, x.action, x.target])).toEqual([
      [['lan0'], 'jump', 'from_lan'],
      [['wan0'], 'goto', 'from_wan'],
    ]);
  });

  it('concatenated sets: one rule per element, each part an equality', () => {
    const xs = rules(
      ' ip saddr . tcp dport { 10.0.0.5 . 22, 10.0.0.6 . 2222 } accept\n icmpv6 type . icmpv6 code { destination-unreachable . no-route, packet-too-big . 0 } accept',
    );
    expect(xs.map((x) => [x.id, x.src?.cidrs[0]?.text ?? null, x.dport?.ranges ?? null, x.icmp])).toEqual([
      ['input-1.1', '10.0.0.5', [{ lo: 22, hi: 22 }], null],
      ['input-1.2', '10.0.0.6', [{ lo: 2222, hi: 2222 }], null],
      ['input-2.1', null, null, { types: [1], codes: [0] }],
      ['input-2.2', null, null, { types: [2], codes: [0] }],
    ]);
  });

  it('a limit in a rule that expands is refused (each model rule would get its own bucket)', () => {
    const e = errors(
      'table ip t { chain c { tcp dport { 22, 80 } meta l4proto { tcp, udp } limit rate 1/second accept; }; }',
    );
    expect(e.map((d) => d.code)).toEqual(['nft.unsupported']);
  });
});

describe('NAT', () => {
  it('dnat through a map: one rule per key; dnat ip to in inet', () => {
    const r = readOk(`table inet nat {
 chain pre { type nat hook prerouting priority dstnat;
  iifname "wan0" dnat ip to tcp dport map { 80 : 10.0.0.2, 443 : 10.0.0.3 . 8443 }
 }
}`);
    expect(
      chain(r, 'pre').rules.map((x) => [x.id, x.family, x.proto, x.dport?.ranges[0].lo, x.nat?.text, x.action]),
    ).toEqual([
      ['pre-1.1', 4, 'tcp', 80, 'dnat ip to 10.0.0.2', 'accept'],
      ['pre-1.2', 4, 'tcp', 443, 'dnat ip to 10.0.0.3:8443', 'accept'],
    ]);
  });

  it('snat ranges, masquerade with ports and flags, redirect', () => {
    const r = readOk(`table ip nat {
 chain post { type nat hook postrouting priority srcnat;
  oifname "wan0" ip saddr 10.0.0.0/8 snat to 203.0.113.1-203.0.113.5
  oifname "wan1" meta l4proto tcp masquerade to :40000-40100 random,persistent
 }
 chain pre { type nat hook prerouting priority dstnat; tcp dport 80 redirect to :3128; }
}`);
    expect(chain(r, 'post').rules.map((x) => x.nat?.text)).toEqual([
      'snat ip to 203.0.113.1-203.0.113.5',
      'masquerade to :40000-40100 random,persistent',
    ]);
    expect(chain(r, 'pre').rules[0].nat).toMatchObject({ kind: 'redirect', ports: { lo: 3128, hi: 3128 } });
  });

  it('a prefix as NAT target is its range of addresses (no netmap); nft list prints it glued to the port', () => {
    const [x] = rules(' tcp dport 80 dnat ip to 192.168.1.30/31:6000-6010', 'ip');
    expect(x.nat).toMatchObject({ addr: { text: '192.168.1.30-192.168.1.31' }, ports: { lo: 6000, hi: 6010 } });
  });

  it('nft list forms of address and port maps: "}:tcp dport map" and "ADDR:numgen ..."', () => {
    const r = read(
      `table ip nat {
 chain p { type nat hook prerouting priority dstnat;
  dnat to tcp dport map { 1000 : 1.1.1.1, 2000 : 2.2.2.2 }:tcp dport map { 1000 : 1234, 2000 : 2345 }
  ip protocol tcp dnat to 192.168.1.100:numgen inc mod 2 map { 0 : 4040, 1 : 4050 }
 }
}`,
      { lenient: true },
    );
    expect(chain(r, 'p').rules.map((x) => [x.dport?.ranges[0].lo, x.nat?.text ?? null, x.inert ?? null])).toEqual([
      [1000, 'dnat ip to 1.1.1.1:1234', null],
      [2000, 'dnat ip to 2.2.2.2:2345', null],
      [undefined, null, 'the rule never matches'],
    ]);
    // the statement is quoted as written, the address and expression split where nft's scanner splits them
    expect(r.diagnostics[0].message).toMatch(/^`dnat to 192\.168\.1\.100:numgen inc mod 2 map/);
  });

  it('NAT to a port without a tcp or udp match is an error, as nft refuses it', () => {
    expect(
      errors('table ip nat { chain p { type nat hook prerouting priority dstnat; dnat to 10.0.0.1:80; }; }').map(
        (d) => d.code,
      ),
    ).toEqual(['nft.bad-value']);
  });
});

describe('chains, sets and names', () => {
  it('plain names where unique, family/table/name where a name repeats', () => {
    const r = readOk(`table ip a { chain input { type filter hook input priority 0; }; chain only_a { }; }
table ip6 b { chain input { type filter hook input priority 10; policy drop; }; }`);
    expect(r.firewall.chains.map((c) => [c.name, c.family, c.priority, c.policy, c.table])).toEqual([
      ['ip/a/input', 4, 0, 'accept', 'ip a'],
      ['only_a', 4, 0, 'accept', 'ip a'],
      ['ip6/b/input', 6, 10, 'drop', 'ip6 b'],
    ]);
  });

  it('priority names nft allows only on their hook are refused elsewhere (nft 1.0.6: dstnat only on prerouting)', () => {
    expect(errors('table ip t { chain c { type nat hook input priority dstnat; }; }').map((d) => d.code)).toEqual([
      'nft.bad-chain',
    ]);
  });

  it('named sets of addresses and ports become model sets; dynamic sets are unsupported', () => {
    const r = readOk(`table inet t {
 set ports { type inet_service; flags interval; elements = { 22, 8000-8099 } }
 set v6 { typeof ip6 saddr; elements = { 2001:db8::/32 } }
 chain input { type filter hook input priority 0; tcp dport @ports ip6 saddr @v6 accept; }
}`);
    expect(r.firewall.sets.map((s) => [s.name, s.kind])).toEqual([
      ['ports', 'inet_service'],
      ['v6', 'ipv6_addr'],
    ]);
    const [x] = chain(r, 'input').rules;
    expect([x.dport?.set, x.src?.set, x.family]).toEqual(['ports', 'v6', 6]);
    const e = errors(`table ip t {
 set seen { type ipv4_addr; flags dynamic; }
 chain input { type filter hook input priority 0; ip saddr @seen drop; }
}`);
    expect(e.map(show)).toEqual([
      'rules.nft:3:60: nft.unsupported: `ip saddr @seen`: @seen is filled while packets pass (a dynamic set); fwemu cannot know its elements (--lenient makes the rule never match)',
    ]);
  });

  it('mark set folds into (mark & and) ^ xor (bytecode: `( reg 1 & 0xffff0000 ) ^ 0x00000010`)', () => {
    const [a, b, c] = rules(
      ' meta mark set meta mark & 0xffff0000 | 0x10\n mark set 0x4\n meta mark set mark or 0x100',
    );
    expect([a.markSet?.and, a.markSet?.xor]).toEqual([0xffff0000, 0x10]);
    expect([b.markSet?.and, b.markSet?.xor]).toEqual([0, 4]);
    expect([c.markSet?.and, c.markSet?.xor]).toEqual([0xfffffeff, 0x100]);
  });
});

describe('ignored and unsupported constructs', () => {
  it('statements that never change a verdict are kept on the rule and listed with their meaning', () => {
    const r = readOk(`table inet t {
 flowtable ft { hook ingress priority 0; devices = { eth0 }; }
 chain forward { type filter hook forward priority 0;
  tcp flags syn tcp option maxseg size set rt mtu
  meta l4proto { tcp, udp } flow add @ft
  ct state new ct helper set "ftp" quota 10 mbytes counter log prefix "x " accept
 }
}
table bridge br { chain f { type filter hook forward priority 0; drop; }; }`);
    const xs = chain(r, 'forward').rules;
    expect(xs[0].ignored).toEqual(['tcp option maxseg size set rt mtu']);
    expect(xs[3].ignored).toEqual(['ct helper set "ftp"', 'quota 10 mbytes']);
    expect([xs[3].counter, xs[3].log, xs[3].action]).toEqual([true, { prefix: 'x ', level: null }, 'accept']);
    expect(r.ignored.map((i) => i.text)).toEqual([
      'table bridge br',
      'flowtable ft { hook ingress priority 0; devices = { eth0 }; }',
      'tcp option maxseg size set rt mtu',
      'flow add @ft',
      'ct helper set "ftp"',
      'quota 10 mbytes',
    ]);
    for (const i of r.ignored) expect(i.meaning).toMatch(/verdict|IP filtering|judged|helper|forward chain|quota/);
  });

  it('an unsupported match is a positioned error; --lenient keeps the rule, inert', () => {
    const text =
      'table inet t { chain input { type filter hook input priority 0;\n  socket transparent 1 accept\n  tcp dport 22 accept\n }\n}';
    expect(errors(text).map(show)).toEqual([
      'rules.nft:2:3: nft.unsupported: `socket transparent 1`: socket transparent is not modelled (--lenient makes the rule never match)',
    ]);
    const r = read(text, { lenient: true });
    expect(r.diagnostics.map((d) => [d.severity, d.code])).toEqual([['warning', 'nft.unsupported']]);
    const xs = chain(r, 'input').rules;
    expect(xs.map((x) => [x.inert ?? null, x.action])).toEqual([
      ['the rule never matches', 'accept'],
      [null, 'accept'],
    ]);
  });

  it('an unsupported statement: error; --lenient skips it and the rest of the rule stands', () => {
    const text = 'table ip t { chain input { type filter hook input priority 0;\n  ct mark set 0x1 accept\n }\n}';
    expect(errors(text).map((d) => [d.line, d.col, d.code])).toEqual([[2, 3, 'nft.unsupported']]);
    const r = read(text, { lenient: true });
    expect(r.diagnostics[0].message).toBe(
      '`ct mark set 0x1`: ct mark (connmark) is not modelled; --lenient: skipped (the connection keeps no mark; rules that read it are reported where they do)',
    );
    expect(chain(r, 'input').rules.map((x) => [x.action, x.inert ?? null])).toEqual([['accept', null]]);
  });

  it('ct status == compares the whole status word, which the model does not; an xt match makes the rule inert', () => {
    expect(errors('table ip t { chain c { ct status == dnat accept; }; }').map((d) => d.code)).toEqual([
      'nft.unsupported',
    ]);
    const r = read('table ip t { chain c { tcp dport 22 xt match "recent" jump c2; }; chain c2 { drop; }; }', {
      lenient: true,
    });
    expect(chain(r, 'c').rules.map((x) => x.inert)).toEqual(['the rule never matches']);
  });

  it('a netdev table that can drop is unsupported; one that cannot is ignored', () => {
    expect(
      errors(
        'table netdev n { chain i { type filter hook ingress device eth0 priority 0; ip saddr 10.0.0.1 drop; }; }',
      ).map((d) => d.code),
    ).toEqual(['nft.unsupported']);
    const r = readOk('table netdev n { chain i { type filter hook ingress device eth0 priority 0; counter; }; }');
    expect(r.ignored.map((i) => i.text)).toEqual(['table netdev n']);
    expect(r.firewall.chains).toEqual([]);
  });
});

describe('diagnostic codes', () => {
  it('every code the reader reports is listed in NFT_CODES, and every listed code is reported somewhere', () => {
    const dir = join(dirname(fileURLToPath(import.meta.url)), '../../../src/rules/import/nft');
    const used = new Set<string>();
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.ts') && x !== 'codes.ts'))
      for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/'(nft\.[a-z-]+)'/g)) used.add(m[1]);
    expect([...used].sort()).toEqual(Object.keys(NFT_CODES).sort());
  });

  it('a rule no packet can match is left out with a warning (nft loads it; it never matches)', () => {
    const r = read(
      'table ip6 t { chain input { type filter hook input priority 0; reject with icmp host-unreachable; }; }',
    );
    expect(r.diagnostics.map((d) => [d.severity, d.code])).toEqual([['warning', 'nft.never-matches']]);
    expect(chain(r, 'input').rules).toEqual([]);
  });

  it('jump to a base chain names the rule: jump and goto reach user chains only', () => {
    expect(
      errors('table ip t { chain input { type filter hook input priority 0; jump input; }; }').map((d) => d.message),
    ).toEqual(['jump input: no user chain input in this table (jump and goto reach user chains only)']);
  });
});
