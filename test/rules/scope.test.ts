/**
 * Address scopes (packet/scope.ts), the groups a host receives
 * (rules/match.ts receivesGroup) and check's neighbour-discovery advice
 * (rules/advice.ts). The kernel's answers for these classes are in
 * test/kernel/link-local.test.ts; here each class is pinned on hand-written
 * addresses, including the edges of each prefix.
 */
import { describe, expect, it } from 'vitest';
import {
  isGroupDestination,
  isMartian,
  Martian,
  martianKind,
  notForwardedScope,
  Scope,
} from '../../src/packet/scope.js';
import { compileRuleSet } from '../../src/rules/compile.js';
import { chainFor, receivesGroup } from '../../src/rules/match.js';
import { neighbourDiscoveryGaps } from '../../src/rules/advice.js';
import { ok, pkt, y } from './helpers.js';

const UDP = 17;
const scope = (src: string, dst: string) => notForwardedScope(pkt({ src, dst, proto: UDP }));

describe('what a router never forwards', () => {
  it.each([
    ['10.1.0.5', '224.0.0.1', Scope.MULTICAST],
    ['10.1.0.5', '239.255.255.255', Scope.MULTICAST],
    ['10.1.0.5', '223.255.255.255', Scope.NONE],
    ['10.1.0.5', '240.0.0.1', Scope.NONE],
    ['10.1.0.5', '255.255.255.255', Scope.BROADCAST],
    ['0.0.0.0', '255.255.255.255', Scope.BROADCAST], // a DHCP client's discover
    ['0.0.0.0', '10.2.0.1', Scope.MARTIAN],
    ['10.1.0.5', '0.1.2.3', Scope.MARTIAN],
    ['127.0.0.1', '10.2.0.1', Scope.MARTIAN],
    ['10.1.0.5', '127.255.0.1', Scope.MARTIAN],
    ['224.0.0.5', '10.2.0.1', Scope.MARTIAN],
    ['255.255.255.255', '10.2.0.1', Scope.MARTIAN],
    ['169.254.1.1', '10.2.0.1', Scope.NONE], // Linux routes IPv4 link-local like any address
    ['10.1.0.5', '169.254.1.1', Scope.NONE],
    ['fd00:1::5', 'ff02::1', Scope.MULTICAST],
    ['fd00:1::5', 'ff0e::1', Scope.MULTICAST],
    ['fd00:1::5', 'ff01::1', Scope.MARTIAN], // interface-local: never on a link
    ['fd00:1::5', 'ff00::1', Scope.MARTIAN], // scope 0, reserved
    ['fe80::1', 'fd00:2::1', Scope.LINK_LOCAL_SRC],
    ['febf:ffff::1', 'fd00:2::1', Scope.LINK_LOCAL_SRC],
    ['fec0::1', 'fd00:2::1', Scope.NONE], // beyond fe80::/10
    ['fd00:1::5', 'fe80::7', Scope.NONE], // routed back onto its own link, through the forward chain
    ['::', 'fd00:2::1', Scope.UNSPECIFIED_SRC],
    ['::', 'ff02::1:ff00:2', Scope.MULTICAST],
    ['::1', 'fd00:2::1', Scope.MARTIAN],
    ['fd00:1::5', '::1', Scope.MARTIAN],
    ['ff02::1', 'fd00:2::1', Scope.MARTIAN],
    ['fd00:1::5', 'fd00:2::1', Scope.NONE],
  ])('%s -> %s', (src, dst, want) => {
    expect(scope(src, dst)).toBe(want);
    expect(isMartian(pkt({ src, dst, proto: UDP }))).toBe(want === Scope.MARTIAN);
  });

  it.each([
    ['224.0.0.5', '10.2.0.1', Martian.MULTICAST_SRC],
    ['255.255.255.255', '10.2.0.1', Martian.BROADCAST_SRC],
    ['127.0.0.1', '10.2.0.1', Martian.LOOPBACK_SRC],
    ['10.1.0.5', '127.0.0.1', Martian.LOOPBACK_DST],
    ['10.1.0.5', '0.1.2.3', Martian.ZERO_DST],
    ['0.0.0.0', '10.2.0.1', Martian.ZERO_SRC],
    ['0.0.0.0', '255.255.255.255', Martian.NONE],
    ['ff02::5', 'fd00:2::1', Martian.MULTICAST_SRC],
    ['::1', 'fd00:2::1', Martian.LOOPBACK_SRC],
    ['fd00:1::5', '::1', Martian.LOOPBACK_DST],
    ['fd00:1::5', 'ff01::1', Martian.LOCAL_MULTICAST_DST],
    ['fd00:1::5', 'ff02::1', Martian.NONE],
  ])('the martian rule %s -> %s breaks', (src, dst, want) => {
    expect(martianKind(pkt({ src, dst, proto: UDP }))).toBe(want);
  });

  it('a group destination is multicast or the limited broadcast', () => {
    expect(isGroupDestination(pkt({ src: '10.1.0.5', dst: '224.0.0.251' }))).toBe(true);
    expect(isGroupDestination(pkt({ src: '10.1.0.5', dst: '10.1.255.255' }))).toBe(false);
    expect(isGroupDestination(pkt({ src: 'fd00:1::5', dst: 'ff02::fb' }))).toBe(true);
    expect(isGroupDestination(pkt({ src: 'fd00:1::5', dst: 'fe80::1' }))).toBe(false);
  });
});

describe('the groups a host receives', () => {
  const host = (extra = '') =>
    compileRuleSet(
      ok(y`
      host: [10.1.0.2, fd00:1::2, fe80::abcd:1234]
      rules: []
      ${extra}
    `).ruleset,
    );
  const received = (dst: string, rs = host()) =>
    receivesGroup(rs, pkt({ src: dst.includes(':') ? 'fe80::5' : '10.1.0.5', dst, proto: UDP }));

  it.each([
    ['224.0.0.1', true],
    ['255.255.255.255', true],
    ['224.0.0.2', false],
    ['224.0.0.251', false],
    ['ff02::1', true],
    ['ff02::1:ff00:2', true], // fd00:1::2
    ['ff02::1:ffcd:1234', true], // fe80::abcd:1234: the low 24 bits
    ['ff02::1:ff00:3', false],
    ['ff02::1:fe00:2', false],
    ['ff05::1:ff00:2', false], // solicited-node groups are link-scope only
    ['ff02::2', false],
    ['ff02::fb', false],
    ['10.1.0.2', false], // unicast is isToHost's
  ])('%s: %s', (dst, want) => {
    expect(received(dst)).toBe(want);
  });

  it('a host that forwards (forward rules) also takes in ff02::2, all routers', () => {
    const rs = host('');
    expect(received('ff02::2', rs)).toBe(false);
    const router = compileRuleSet(
      ok(y`
      host: [10.1.0.2, fd00:1::2]
      rules:
        - { chain: forward, proto: tcp, dport: 80 }
    `).ruleset,
    );
    expect(received('ff02::2', router)).toBe(true);
    expect(chainFor(router, pkt({ src: 'fe80::5', dst: 'ff02::2', proto: 58 }))).toBe('input');
  });

  it('a received group goes to the input chain, any other group to forward (then nowhere)', () => {
    const rs = host();
    expect(chainFor(rs, pkt({ src: 'fe80::5', dst: 'ff02::1:ff00:2', proto: 58 }))).toBe('input');
    expect(chainFor(rs, pkt({ src: 'fe80::5', dst: 'ff02::fb', proto: UDP }))).toBe('forward');
    // What the host sends to a group is output.
    expect(chainFor(rs, pkt({ src: 'fd00:1::2', dst: 'ff02::fb', proto: UDP }))).toBe('output');
  });
});

describe("check's advice on neighbour discovery", () => {
  const gaps = (text: string) => neighbourDiscoveryGaps(ok(text).ruleset);

  it('warns when the input policy drops solicitations or advertisements, naming what to add', () => {
    const g = gaps(y`
      host: [10.1.0.2, fd00:1::2]
      policy: drop
      rules:
        - { proto: tcp, dport: 22 }
    `);
    expect(g).toHaveLength(1);
    expect(g[0]).toMatch(/^IPv6 to this host will fail: .*fd00:1::2/);
    expect(g[0]).toContain('add { proto: icmpv6, type: [nd-neighbor-solicit, nd-neighbor-advert] }');
    // As a warning of the loaded file, at host:, with its code.
    const w = ok(y`
      host: [10.1.0.2, fd00:1::2]
      policy: drop
      rules: []
    `).warnings.filter((d) => d.code === 'rules.host-without-nd');
    expect(w.map((d) => [d.line, d.col])).toEqual([[1, 1]]);
  });

  it('is satisfied by any rule shape that accepts them (no type, a source prefix, a protocol-wide rule)', () => {
    for (const rules of [
      '- { proto: icmpv6 }',
      '- { proto: icmpv6, src: fe80::/10 }',
      '- { proto: icmpv6, type: nd-neighbor-solicit }\n  - { proto: icmpv6, type: nd-neighbor-advert }',
      '- { proto: icmpv6, type: [nd-neighbor-solicit, nd-neighbor-advert] }',
    ])
      expect(gaps(`host: [fd00:1::2]\npolicy: drop\nrules:\n  ${rules}\n`), rules).toEqual([]);
  });

  it('looks at the output chain too, and not at IPv4-only hosts or the gateway model', () => {
    const out = gaps(y`
      host: [fd00:1::2]
      policy: accept
      output_policy: drop
      rules: []
    `);
    expect(out).toHaveLength(1);
    expect(out[0]).toContain('add { proto: icmpv6, type: [nd-neighbor-solicit, nd-neighbor-advert], chain: output }');
    expect(gaps('host: [10.1.0.2]\npolicy: drop\nrules: []\n')).toEqual([]);
    expect(gaps('policy: drop\nrules: []\n')).toEqual([]);
    // A rule that rejects them is no help.
    expect(gaps('host: [fd00:1::2]\npolicy: drop\nrules:\n  - { proto: icmpv6, action: reject }\n')).toHaveLength(1);
  });
});
