/**
 * `fwemu export --format iptables` of the firewall model: rule sets built
 * in code (fw-build.ts) are exported, loaded with iptables-restore and
 * ip6tables-restore into a private network namespace, and saved back with
 * iptables-save / ip6tables-save. What the kernel holds is compared with
 * lines in iptables-save's own words (`-p tcp -m tcp --dport 80`, `-s
 * 192.168.1.10/32`, `--limit 10/min`, chains sorted by name), each
 * checked by hand against the rule it comes from: the DNAT and MASQUERADE
 * of the home router, the ssh_in rule's two sources entering its log,
 * limit and accept once (helper chains ssh_in-1a, -1l, -1), and in the
 * kitchen sink the two forward base chains merged in priority order
 * (FORWARD -> early -> filter_fwd, whose end is its policy drop), goto
 * from a base chain as a jump then the policy (filter_fwd-4), and `limit
 * over` as a RETURN while the bucket holds (filter_fwd-5).
 *
 * The real-tool tests need iptables-restore/-save, ip6tables-restore/-save
 * (Debian package iptables), ip (iproute2) and root; without them they
 * are skipped, except under CI=true, where they fail with the reason.
 */
import { describe, expect, it } from 'vitest';
import { ExitCode, UserError } from '../../src/base/errors.js';
import { exportIptables, iptablesRestoreFile } from '../../src/export/iptables.js';
import { iptablesFirewallWarnings, MAPPING_NOTE } from '../../src/export/iptables-firewall.js';
import type { Firewall } from '../../src/rules/firewall.js';
import { ok } from '../rules/helpers.js';
import { hashed } from './comment-cases.js';
import { type ChainOpts, chain, firewallRuleSet, nat, ports, type RuleSpec } from './fw-build.js';
import { homeRouter, kitchenSink } from './fw-cases.js';
import { namespaces, run, toolsMissing, toolTest } from './netns.js';

/** What iptables-save / ip6tables-save print after loading each export (tables, chains, rules). */
const SAVED: Record<'home' | 'sink', Record<4 | 6, string[]>> = {
  home: {
    4: [
      '*filter',
      ':INPUT DROP [0:0]',
      ':FORWARD DROP [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':ssh_in - [0:0]',
      ':ssh_in-1 - [0:0]',
      ':ssh_in-1a - [0:0]',
      ':ssh_in-1l - [0:0]',
      '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment input-1 -j ACCEPT',
      '-A INPUT -i lo -m comment --comment input-2 -j ACCEPT',
      '-A INPUT -i lan0 -p tcp -m tcp --dport 22 -m comment --comment input-3 -j ssh_in',
      '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment forward-1 -j ACCEPT',
      '-A FORWARD -m conntrack --ctstate INVALID -m comment --comment forward-2 -j DROP',
      '-A FORWARD -i lan0 -o wan0 -m comment --comment forward-3 -j ACCEPT',
      '-A FORWARD -m conntrack --ctstate DNAT -m comment --comment forward-4 -j ACCEPT',
      '-A ssh_in -m comment --comment ssh_in-1 -j ssh_in-1a',
      '-A ssh_in -m comment --comment ssh_in-2 -j RETURN',
      '-A ssh_in-1 -m comment --comment ssh_in-1 -j LOG --log-prefix "ssh: "',
      '-A ssh_in-1 -m comment --comment ssh_in-1 -j ACCEPT',
      '-A ssh_in-1a -s 192.168.1.10/32 -m comment --comment ssh_in-1 -g ssh_in-1l',
      '-A ssh_in-1a -m iprange --src-range 192.168.1.20-192.168.1.30 -m comment --comment ssh_in-1 -g ssh_in-1l',
      '-A ssh_in-1l -m limit --limit 10/min -m comment --comment ssh_in-1 -g ssh_in-1',
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':INPUT ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      '-A PREROUTING -i wan0 -p tcp -m tcp --dport 80 -m comment --comment web-fwd -j DNAT --to-destination 192.168.1.10:8080',
      '-A POSTROUTING -o wan0 -m comment --comment lan-out -j MASQUERADE',
    ],
    6: [
      '*filter',
      ':INPUT DROP [0:0]',
      ':FORWARD DROP [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':ssh_in - [0:0]',
      '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment input-1 -j ACCEPT',
      '-A INPUT -i lo -m comment --comment input-2 -j ACCEPT',
      '-A INPUT -i lan0 -p tcp -m tcp --dport 22 -m comment --comment input-3 -j ssh_in',
      '-A INPUT -s fd00::/8 -p tcp -m multiport --dports 80,443,8000:8099 -m comment --comment web-in -j ACCEPT',
      '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment forward-1 -j ACCEPT',
      '-A FORWARD -m conntrack --ctstate INVALID -m comment --comment forward-2 -j DROP',
      '-A FORWARD -i lan0 -o wan0 -m comment --comment forward-3 -j ACCEPT',
      '-A FORWARD -m conntrack --ctstate DNAT -m comment --comment forward-4 -j ACCEPT',
      '-A ssh_in -m comment --comment ssh_in-2 -j RETURN',
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':INPUT ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      '-A POSTROUTING -o wan0 -m comment --comment lan-out -j MASQUERADE',
    ],
  },
  sink: {
    4: [
      '*filter',
      ':INPUT DROP [0:0]',
      ':FORWARD ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':deeper - [0:0]',
      ':early - [0:0]',
      ':filter_fwd - [0:0]',
      ':filter_fwd-2 - [0:0]',
      ':filter_fwd-2a - [0:0]',
      ':filter_fwd-4 - [0:0]',
      ':filter_fwd-5 - [0:0]',
      ':filter_fwd-5a - [0:0]',
      ':svc_in - [0:0]',
      '-A INPUT -i lo -m comment --comment in-1 -j ACCEPT',
      '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment in-2 -j ACCEPT',
      '-A INPUT -p tcp -m tcp --dport 22 -m comment --comment in-3 -j svc_in',
      '-A FORWARD -j early',
      '-A OUTPUT -m conntrack --ctstate UNTRACKED -m comment --comment out-1 -j DROP',
      '-A deeper -o eth0 -m comment --comment deeper-1 -j ACCEPT',
      '-A early -m conntrack --ctstate INVALID -m comment --comment early-1 -j DROP',
      '-A early -m pkttype --pkt-type broadcast -m comment --comment early-2 -j DROP',
      '-A early -m pkttype --pkt-type multicast -m comment --comment early-2 -j DROP',
      '-A early -s 10.0.0.0/8 -i eth+ -m comment --comment early-3 -j DROP',
      '-A early -s 10.0.0.0/8 -i wg0 -m comment --comment early-3 -j DROP',
      '-A early -m comment --comment early-log -j LOG --log-prefix "early " --log-level 6',
      '-A early -j filter_fwd',
      '-A filter_fwd -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment filter_fwd-1 -j ACCEPT',
      '-A filter_fwd -p tcp -m comment --comment filter_fwd-2 -j filter_fwd-2a',
      '-A filter_fwd -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m iprange --dst-range 192.0.2.1-192.0.2.9 -m comment --comment filter_fwd-4 -j filter_fwd-4',
      '-A filter_fwd -p icmp -m comment --comment filter_fwd-5 -j filter_fwd-5a',
      '-A filter_fwd -p icmp -m comment --comment filter_fwd-7 -j ACCEPT',
      '-A filter_fwd -m conntrack --ctstate SNAT,DNAT -m comment --comment filter_fwd-8 -j ACCEPT',
      '-A filter_fwd -p tcp -m tcp --dport 23 -m comment --comment filter_fwd-9 -j REJECT --reject-with tcp-reset',
      '-A filter_fwd -m comment --comment filter_fwd-11 -j REJECT --reject-with icmp-host-prohibited',
      '-A filter_fwd -m comment --comment filter_fwd-12 -j REJECT --reject-with icmp-port-unreachable',
      '-A filter_fwd -j DROP',
      '-A filter_fwd-2 -m comment --comment filter_fwd-2 -j svc_in',
      '-A filter_fwd-2a -s 10.0.0.0/8 -p tcp -m multiport --dports 22,53,8000:8099 -m comment --comment filter_fwd-2 -g filter_fwd-2',
      '-A filter_fwd-2a -s 10.1.0.0/16 -p tcp -m multiport --dports 22,53,8000:8099 -m comment --comment filter_fwd-2 -g filter_fwd-2',
      '-A filter_fwd-2a -s 172.16.0.5/32 -p tcp -m multiport --dports 22,53,8000:8099 -m comment --comment filter_fwd-2 -g filter_fwd-2',
      '-A filter_fwd-2a -p tcp -m iprange --src-range 172.16.1.1-172.16.1.9 -m multiport --dports 22,53,8000:8099 -m comment --comment filter_fwd-2 -g filter_fwd-2',
      '-A filter_fwd-4 -m comment --comment filter_fwd-4 -j svc_in',
      '-A filter_fwd-4 -m comment --comment filter_fwd-4 -j DROP',
      '-A filter_fwd-5 -m limit --limit 5/sec --limit-burst 10 -m comment --comment filter_fwd-5 -j RETURN',
      '-A filter_fwd-5 -m comment --comment filter_fwd-5 -j DROP',
      '-A filter_fwd-5a -p icmp -m icmp --icmp-type 8 -m comment --comment filter_fwd-5 -g filter_fwd-5',
      '-A filter_fwd-5a -p icmp -m icmp --icmp-type 0 -m comment --comment filter_fwd-5 -g filter_fwd-5',
      '-A svc_in -s 10.1.0.0/16 -p tcp -m tcp --dport 22 -m comment --comment svc_in-1 -j ACCEPT',
      '-A svc_in -m conntrack --ctstate NEW -m conntrack --ctstatus SEEN_REPLY,ASSURED -m comment --comment svc_in-2 -j RETURN',
      '-A svc_in -m comment --comment svc_in-3 -j deeper',
      '-A svc_in -m comment --comment svc_in-4 -j DROP',
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':INPUT ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      '-A PREROUTING -i eth0 -p tcp -m tcp --dport 80 -m comment --comment nat_pre-1 -j DNAT --to-destination 10.0.0.10-10.0.0.12:8080-8081 --random --persistent',
      '-A PREROUTING -i eth0 -p udp -m udp --dport 53 -m comment --comment nat_pre-3 -j REDIRECT --to-ports 5353',
      '-A POSTROUTING -o eth0 -p udp -m comment --comment nat_post-1 -j MASQUERADE --to-ports 40000-40100 --random-fully',
      '-A POSTROUTING -s 10.0.0.0/8 -o eth0 -m comment --comment nat_post-2 -j SNAT --to-source 198.51.100.2-198.51.100.3 --persistent',
      '-A POSTROUTING -o eth0 -m comment --comment nat_post-4 -j MASQUERADE',
    ],
    6: [
      '*filter',
      ':INPUT DROP [0:0]',
      ':FORWARD ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':deeper - [0:0]',
      ':early - [0:0]',
      ':filter_fwd - [0:0]',
      ':filter_fwd-4 - [0:0]',
      ':svc_in - [0:0]',
      '-A INPUT -i lo -m comment --comment in-1 -j ACCEPT',
      '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment in-2 -j ACCEPT',
      '-A INPUT -p tcp -m tcp --dport 22 -m comment --comment in-3 -j svc_in',
      '-A FORWARD -j early',
      '-A OUTPUT -m conntrack --ctstate UNTRACKED -m comment --comment out-1 -j DROP',
      '-A deeper -o eth0 -m comment --comment deeper-1 -j ACCEPT',
      '-A early -m conntrack --ctstate INVALID -m comment --comment early-1 -j DROP',
      '-A early -m pkttype --pkt-type broadcast -m comment --comment early-2 -j DROP',
      '-A early -m pkttype --pkt-type multicast -m comment --comment early-2 -j DROP',
      '-A early -s fd00::/8 -i eth+ -m comment --comment early-3 -j DROP',
      '-A early -s fd00::/8 -i wg0 -m comment --comment early-3 -j DROP',
      '-A early -m comment --comment early-log -j LOG --log-prefix "early " --log-level 6',
      '-A early -j filter_fwd',
      '-A filter_fwd -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment filter_fwd-1 -j ACCEPT',
      '-A filter_fwd -s fd00::/8 -p udp -m udp --sport 53 -m multiport --dports 53,1024:2048 -m comment --comment filter_fwd-3 -j ACCEPT',
      '-A filter_fwd -p udp -m iprange --src-range 2001:db8::1-2001:db8::9 -m udp --sport 53 -m multiport --dports 53,1024:2048 -m comment --comment filter_fwd-3 -j ACCEPT',
      '-A filter_fwd -d 2001:db8::/32 -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m comment --comment filter_fwd-4 -j filter_fwd-4',
      '-A filter_fwd -p ipv6-icmp -m icmp6 --icmpv6-type 1/4 -m comment --comment filter_fwd-6 -j ACCEPT',
      '-A filter_fwd -p ipv6-icmp -m icmp6 --icmpv6-type 1/3 -m comment --comment filter_fwd-6 -j ACCEPT',
      '-A filter_fwd -p tcp -m tcp --dport 23 -m comment --comment filter_fwd-9 -j REJECT --reject-with tcp-reset',
      '-A filter_fwd -m comment --comment filter_fwd-10 -j REJECT --reject-with icmp6-adm-prohibited',
      '-A filter_fwd -m comment --comment filter_fwd-12 -j REJECT --reject-with icmp6-port-unreachable',
      '-A filter_fwd -j DROP',
      '-A filter_fwd-4 -m comment --comment filter_fwd-4 -j svc_in',
      '-A filter_fwd-4 -m comment --comment filter_fwd-4 -j DROP',
      '-A svc_in -m conntrack --ctstate NEW -m conntrack --ctstatus SEEN_REPLY,ASSURED -m comment --comment svc_in-2 -j RETURN',
      '-A svc_in -m comment --comment svc_in-3 -j deeper',
      '-A svc_in -m comment --comment svc_in-4 -j DROP',
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':INPUT ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      '-A PREROUTING -i eth0 -p tcp -m tcp --dport 443 -m comment --comment nat_pre-2 -j DNAT --to-destination [fd00::10]:8443',
      '-A PREROUTING -i eth0 -p udp -m udp --dport 53 -m comment --comment nat_pre-3 -j REDIRECT --to-ports 5353',
      '-A PREROUTING -i eth0 -m comment --comment nat_pre-4 -j DNAT --to-destination fd00::20-fd00::22',
      '-A POSTROUTING -o eth0 -p udp -m comment --comment nat_post-1 -j MASQUERADE --to-ports 40000-40100 --random-fully',
      '-A POSTROUTING -s fd00::/8 -o eth0 -m comment --comment nat_post-3 -j SNAT --to-source 2001:db8:1::2',
      '-A POSTROUTING -o eth0 -m comment --comment nat_post-4 -j MASQUERADE',
    ],
  },
};

const CASES = { home: homeRouter, sink: kitchenSink } as const;

function thrown(f: () => unknown): UserError {
  try {
    f();
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error('no error thrown');
}

/** A rule set of one or two chains, for the error cases. */
function fwOf(...chains: [string, ChainOpts, RuleSpec[]][]): Firewall {
  return { interfaces: [], sets: [], chains: chains.map(([n, o, r]) => chain(n, o, r)) };
}

const exportError = (fw: Firewall): string => {
  const e = thrown(() => exportIptables(firewallRuleSet(fw)));
  expect(e.exitCode).toBe(ExitCode.BAD_INPUT);
  return e.message;
};

describe('export --format iptables, firewall model: the text', () => {
  it('starts each file with how nft base chains map to iptables', () => {
    const rs = firewallRuleSet(homeRouter());
    for (const text of [exportIptables(rs), iptablesRestoreFile(rs, 4), iptablesRestoreFile(rs, 6)]) {
      const lines = text.split('\n');
      const at = lines.indexOf(MAPPING_NOTE[0]);
      expect(at).toBeGreaterThan(0);
      expect(lines.slice(at, at + MAPPING_NOTE.length)).toEqual(MAPPING_NOTE);
      expect(lines).toContain('# interface wan0: 203.0.113.1/24; default route out of it');
    }
  });

  it('a simple rule set with firewall: null exports exactly as without it', () => {
    const rs = ok('rules:\n  - { id: web, proto: tcp, dport: 8080 }\n').ruleset;
    const before = [exportIptables(rs), iptablesRestoreFile(rs, 4), iptablesRestoreFile(rs, 6)];
    rs.firewall = null;
    expect([exportIptables(rs), iptablesRestoreFile(rs, 4), iptablesRestoreFile(rs, 6)]).toEqual(before);
  });

  it('what iptables cannot express is an error naming the rule and the construct', () => {
    const cases: [Firewall, RegExp][] = [
      [
        fwOf(['f', { hook: 'forward' }, [{ ctStatus: ['dying'] }]]),
        /rule "f-1" \(fw\.yaml:\d+:3\) in chain f cannot be exported to iptables: conntrack has no match for ct status dying/,
      ],
      [
        fwOf([
          'f',
          { hook: 'forward' },
          [{ proto: 'tcp', tcpFlags: { mask: 0x42, value: 0x40, text: 'ecn / syn,ecn' } }],
        ]),
        /"f-1".*--tcp-flags knows FIN SYN RST PSH ACK URG only, not ecn or cwr/,
      ],
      [
        fwOf(['p', { hook: 'prerouting', type: 'nat', priority: -100 }, [{ action: 'drop' }]]),
        /"p-1".*refuses DROP in the nat table/,
      ],
      [
        fwOf(['m', { hook: 'prerouting', priority: -150 }, [{ action: 'reject' }]]),
        /"m-1".*REJECT works only in iptables' filter table, and this chain goes to mangle/,
      ],
      [
        fwOf(
          ['n', { hook: 'prerouting', type: 'nat', priority: -100 }, []],
          // (With a rule: an idle chain, policy accept and no rules, needs no place.)
          ['f', { hook: 'prerouting', priority: 0 }, [{ action: 'drop' }]],
        ),
        /chain "f" \(fw\.yaml:\d+:3\) cannot be exported to iptables: it runs at priority 0 on prerouting.*"n" \(nat, priority -100\)/,
      ],
      [fwOf(['n', { hook: 'forward', type: 'nat' }, []]), /chain "n" .*iptables has no nat chain on forward/],
      [
        fwOf(['f', { hook: 'forward' }, [{ limit: { rate: 3, unit: 'week', burst: 5, over: false, text: '' } }]]),
        /"f-1".*limit 3\/week/,
      ],
      [
        fwOf(['f', { hook: 'forward' }, [{ log: { prefix: null, level: 'audit' }, action: 'continue' }]]),
        /"f-1".*log level "audit"/,
      ],
      [
        fwOf([
          'p',
          { hook: 'postrouting', type: 'nat', priority: 100 },
          [{ nat: nat('masquerade', null, null, ['persistent']) }],
        ]),
        /"p-1".*MASQUERADE has no persistent flag/,
      ],
      [
        fwOf(['f', { hook: 'forward' }, [{ proto: 'udp', action: 'reject', rejectWith: 'tcp reset' }]]),
        /"f-1".*reject with tcp reset needs proto tcp/,
      ],
      [
        fwOf(['f', { hook: 'forward' }, [{ action: 'jump', target: 'a'.repeat(29) }]], ['a'.repeat(29), {}, []]),
        /chain "a{29}" .*at most 28/,
      ],
    ];
    for (const [fw, re] of cases) expect(exportError(fw)).toMatch(re);
  });

  it('an iif rule in the output hook is left out (iptables refuses -i in OUTPUT; nft never matches it there)', () => {
    const fw = fwOf([
      'out',
      { hook: 'output' },
      [
        { iif: ['lan0'], action: 'drop' },
        { oif: ['lan0'], action: 'drop' },
      ],
    ]);
    const rules = iptablesRestoreFile(firewallRuleSet(fw), 4)
      .split('\n')
      .filter((l) => l.startsWith('-A '));
    expect(rules).toEqual(['-A OUTPUT -o lan0 -m comment --comment "out-2" -j DROP']);
  });

  it('log prefixes longer than LOG keeps (29 bytes) are cut, with a warning naming the rule', () => {
    const fw = fwOf([
      'f',
      { hook: 'forward' },
      [{ id: 'loud', log: { prefix: 'p'.repeat(40), level: 'warn' }, action: 'continue' }],
    ]);
    expect(exportIptables(firewallRuleSet(fw))).toContain(
      `-A FORWARD -m comment --comment "loud" -j LOG --log-prefix "${'p'.repeat(29)}" --log-level 4`,
    );
    expect(iptablesFirewallWarnings(fw)).toEqual([
      expect.stringMatching(/^rule "loud" .*LOG keeps \(29 bytes\): the export cuts it to "p{29}"$/),
    ]);
  });
});

// ---------------------------------------------------------------- the real tools

const withNamespace = namespaces('fwemu-fw-ipt-');
const TOOLS: [string, string][] = [
  ['iptables-restore', 'iptables'],
  ['ip6tables-restore', 'iptables'],
  ['iptables-save', 'iptables'],
  ['ip6tables-save', 'iptables'],
  ['ip', 'iproute2'],
];
const missing = toolsMissing(TOOLS, 'iptables-restore', () => withNamespace(() => undefined));
const RESTORE = { 4: 'iptables-restore', 6: 'ip6tables-restore' } as const;
const SAVE = { 4: 'iptables-save', 6: 'ip6tables-save' } as const;

/** Loads the export of `fw` for both families in a fresh namespace; returns what the save tools print (tables, chains, rules). */
function loadAndSave(fw: Firewall): Record<4 | 6, string[]> {
  const rs = firewallRuleSet(fw);
  return withNamespace((ns) => {
    const out = {} as Record<4 | 6, string[]>;
    for (const fam of [4, 6] as const) {
      const text = iptablesRestoreFile(rs, fam);
      const load = run('ip', ['netns', 'exec', ns, RESTORE[fam]], text);
      expect(load.code, `${RESTORE[fam]}: ${load.stderr}\n${text}`).toBe(0);
      const saved = run('ip', ['netns', 'exec', ns, SAVE[fam]]);
      expect(saved.code, saved.stderr).toBe(0);
      out[fam] = saved.stdout.split('\n').filter((l) => /^[-:*]/.test(l));
    }
    return out;
  });
}

/** iptables-save's quoted argument read back: \" and \\ are the characters themselves. */
function unquote(s: string): string {
  return s.startsWith('"') ? s.slice(1, -1).replace(/\\(.)/g, '$1') : s;
}

describe('export --format iptables, firewall model: loaded by the real iptables', () => {
  for (const name of ['home', 'sink'] as const) {
    toolTest(
      'iptables',
      missing,
      `${name === 'home' ? 'the home router' : 'every construct, merged base chains'}: iptables-save shows the hand-checked rules`,
      () => {
        expect(loadAndSave(CASES[name]())).toEqual(SAVED[name]);
      },
    );
  }

  toolTest('iptables', missing, 'iptables-restore refuses -i in OUTPUT (why the export leaves such a rule out)', () => {
    withNamespace((ns) => {
      const r = run('ip', ['netns', 'exec', ns, 'iptables-restore'], '*filter\n-A OUTPUT -i lan0 -j DROP\nCOMMIT\n');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/Can't use -i with OUTPUT/);
    });
  });

  toolTest('iptables', missing, 'hostile ids and log prefixes load and stay inside their quotes', () => {
    const hostile = ['a"b;c}d\ne', '"; -A INPUT -j DROP #', 'x'.repeat(300), 'back\\slash "q"'];
    const fw = fwOf([
      'c',
      { hook: 'forward' },
      hostile.map((s, i) => ({
        id: s,
        proto: 'tcp' as const,
        dport: ports([1000 + i]),
        log: { prefix: s, level: null },
        action: 'accept' as const,
      })),
    ]);
    const saved = loadAndSave(fw);
    for (const fam of [4, 6] as const) {
      const rules = saved[fam].filter((l) => l.startsWith('-A '));
      // Two per rule (LOG and ACCEPT, through a helper), one jump to each helper: nothing escaped to make more.
      expect(rules.filter((l) => l.startsWith('-A FORWARD ')).length, rules.join('\n')).toBe(hostile.length);
      expect(saved[fam].filter((l) => l.startsWith('-A INPUT') || l.startsWith(':INPUT ACCEPT')).length).toBe(1);
      const field = (l: string, opt: string): string | null => {
        const m = new RegExp(`${opt} ("(?:[^"\\\\]|\\\\.)*"|\\S+)`).exec(l);
        return m === null ? null : unquote(m[1]);
      };
      expect([...new Set(rules.map((l) => field(l, '--comment')))]).toEqual([
        hashed('a"b;c}d\\ne', hostile[0]), // the newline made visible: changed, so hashed
        hostile[1],
        hashed('x'.repeat(246), hostile[2]),
        hostile[3],
      ]);
      expect(rules.map((l) => field(l, '--log-prefix')).filter((p) => p !== null)).toEqual([
        'a"b;c}d\\ne',
        '"; -A INPUT -j DROP #',
        'x'.repeat(29),
        'back\\slash "q"',
      ]);
    }
  });
});
