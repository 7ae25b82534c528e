/**
 * `fwemu export --format iptables` of issue 18's fields: negation (`!`),
 * -m mark, MARK --set-xmark, -m addrtype, -m rpfilter, CT --notrack in the
 * raw table, a chain of family ip left out of the IPv6 part. Both parts
 * are loaded with iptables-restore / ip6tables-restore into a private
 * network namespace and read back with iptables-save; each rule is
 * compared with the line written by hand as iptables-save prints it.
 * (The nft export of the same file is replayed against the kernel in
 * test/kernel/fw-model18.test.ts.)
 *
 * Needs iptables-restore/-save, ip6tables-restore/-save, ip and root;
 * skipped without them, except under CI=true.
 */
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/base/errors.js';
import { iptablesRestoreFile } from '../../src/export/iptables.js';
import { exportNft } from '../../src/export/nft.js';
import { ok } from '../rules/helpers.js';
import { MODEL18 } from './model18-cases.js';
import { namespaces, run, toolsMissing, toolTest } from './netns.js';

const RAW = [
  '-A PREROUTING -m rpfilter --invert -m comment --comment rpf -j DROP',
  '-A PREROUTING -p udp -m conntrack --ctstate INVALID -m udp --dport 7 -m comment --comment raw-invalid -j DROP',
  '-A PREROUTING -p udp -m conntrack ! --ctstate INVALID -m udp --dport 9 -m comment --comment raw-not-invalid -j DROP',
  '-A PREROUTING -p udp -m udp --dport 123 -m comment --comment no-ntp -j CT --notrack',
];
const MANGLE = [
  '-A PREROUTING -i lan0 -m comment --comment tag-lan -j MARK --set-xmark 0x4200/0xff00',
  '-A PREROUTING ! -i lan0 -m comment --comment tag-other -j MARK --set-xmark 0x7/0xffffffff',
];

/** What iptables-save shows, per family (hand-written), in the order it saves the tables (mangle, raw, filter). */
const SAVED: Record<4 | 6, string[]> = {
  4: [
    ...MANGLE,
    ...RAW,
    '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment in-est -j ACCEPT',
    '-A INPUT ! -s 192.168.1.0/24 -p tcp -m addrtype --dst-type LOCAL -m tcp --dport 22 -m comment --comment ssh-not-lan -j DROP',
    '-A INPUT -p tcp -m tcp --dport 22 -m comment --comment ssh -j ACCEPT',
    '-A INPUT -p udp -m addrtype --dst-type BROADCAST -m comment --comment bcast -j ACCEPT',
    '-A INPUT ! -i lan0 -p icmp -m icmp --icmp-type 8 -m comment --comment ping-not-lan -j ACCEPT',
    // Two base chains on forward: user chains in priority order (the ip chain at -10 first).
    '-A FORWARD -j v4only',
    '-A forward -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment est -j ACCEPT',
    '-A forward -m conntrack --ctstate UNTRACKED -m comment --comment untracked -j ACCEPT',
    '-A forward -p tcp -m mark --mark 0x4200/0xff00 -m multiport ! --dports 25,465 -m comment --comment tagged -j ACCEPT',
    '-A forward -p udp -m mark --mark 0x7 -m comment --comment mark7 -j ACCEPT',
    '-A forward -j DROP',
    '-A v4only -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment v4-est -j forward',
    '-A v4only -p tcp -m tcp ! --dport 8443 -m comment --comment v4-tcp -j forward',
    '-A v4only -p udp -m comment --comment v4-udp -j forward',
    '-A v4only -j DROP',
  ],
  // The ip chain is not there; broadcast is no IPv6 route type (addrtype refuses it): the rule is left out.
  6: [
    ...MANGLE,
    ...RAW,
    '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment in-est -j ACCEPT',
    '-A INPUT -p tcp -m tcp --dport 22 -m comment --comment ssh -j ACCEPT',
    '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment est -j ACCEPT',
    '-A FORWARD -m conntrack --ctstate UNTRACKED -m comment --comment untracked -j ACCEPT',
    '-A FORWARD -p tcp -m mark --mark 0x4200/0xff00 -m multiport ! --dports 25,465 -m comment --comment tagged -j ACCEPT',
    '-A FORWARD -p udp -m mark --mark 0x7 -m comment --comment mark7 -j ACCEPT',
  ],
};

const withNamespace = namespaces('fwemu-ipt18-');
const TOOLS: [string, string][] = [
  ['iptables-restore', 'iptables'],
  ['ip6tables-restore', 'iptables'],
  ['iptables-save', 'iptables'],
  ['ip6tables-save', 'iptables'],
  ['ip', 'iproute2'],
];
const missing = toolsMissing(TOOLS, 'iptables-restore', () => withNamespace(() => undefined));

describe('export --format iptables of the issue 18 fields', () => {
  it('a negated list has no one-match form in iptables: an error naming the rule', () => {
    const rs = ok(
      'chains:\n  f:\n    hook: forward\n    rules:\n      - { id: two, not: { src: [10.0.0.1, 10.0.0.2] }, action: drop }\n',
    ).ruleset;
    expect(() => iptablesRestoreFile(rs, 4)).toThrow(UserError);
    expect(() => iptablesRestoreFile(rs, 4)).toThrow(/iptables negates one value per match, and the negated src has 2/);
  });

  it('TTL and hop limit: -m ttl / -m hl with eq, lt, gt (ne as ! --*-eq); nft: ip ttl, ip6 hoplimit', () => {
    const rs = ok(
      'chains:\n  f:\n    hook: forward\n    rules:\n' +
        '      - { id: a, family: ipv4, hop_limit: 63 }\n' +
        '      - { id: b, family: ipv6, hop_limit: "!= 9" }\n' +
        '      - { id: c, family: ipv4, hop_limit: "< 5", action: drop }\n' +
        '      - { id: d, family: ipv6, hop_limit: ">= 200", action: drop }\n',
    ).ruleset;
    const rules = (fam: 4 | 6) =>
      iptablesRestoreFile(rs, fam)
        .split('\n')
        .filter((l) => l.startsWith('-A'));
    expect(rules(4)).toEqual([
      '-A FORWARD -m ttl --ttl-eq 63 -m comment --comment "a" -j ACCEPT',
      '-A FORWARD -m ttl --ttl-lt 5 -m comment --comment "c" -j DROP',
    ]);
    expect(rules(6)).toEqual([
      '-A FORWARD -m hl ! --hl-eq 9 -m comment --comment "b" -j ACCEPT',
      '-A FORWARD -m hl --hl-gt 199 -m comment --comment "d" -j DROP',
    ]);
    const nft = exportNft(rs);
    expect(nft).toContain('meta nfproto ipv4 ip ttl 63 accept comment "a"');
    expect(nft).toContain('meta nfproto ipv6 ip6 hoplimit != 9 accept comment "b"');
    expect(nft).toContain('meta nfproto ipv4 ip ttl 0-4 drop comment "c"');
  });

  it('notrack outside a raw chain is an error (CT --notrack works in the raw table only)', () => {
    const rs = ok('chains:\n  f:\n    hook: prerouting\n    rules:\n      - { id: nt, notrack: true }\n').ruleset;
    expect(() => iptablesRestoreFile(rs, 4)).toThrow(/notrack needs iptables' raw table/);
  });

  toolTest('iptables', missing, 'every new field as iptables-save shows it, both families', () => {
    const rs = ok(MODEL18).ruleset;
    const got = withNamespace((ns) => {
      const out = {} as Record<4 | 6, string[]>;
      for (const fam of [4, 6] as const) {
        const text = iptablesRestoreFile(rs, fam);
        const tool = fam === 4 ? 'iptables' : 'ip6tables';
        const load = run('ip', ['netns', 'exec', ns, `${tool}-restore`], text);
        expect(load.code, `${tool}-restore: ${load.stderr}\n${text}`).toBe(0);
        const saved = run('ip', ['netns', 'exec', ns, `${tool}-save`]);
        out[fam] = saved.stdout.split('\n').filter((l) => l.startsWith('-A '));
      }
      return out;
    });
    expect(got).toEqual(SAVED);
  });
});
