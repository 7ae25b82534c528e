/**
 * `fwemu export` (nft) of the firewall model: rule sets built in code
 * (fw-build.ts; the YAML loader is written elsewhere) are exported, loaded
 * with `nft -f` into a private network namespace, and listed back with
 * `nft list ruleset`. What the kernel holds is compared with lines written
 * by hand as nft 1.0.6 prints them: its own words and orders (`tcp flags
 * syn / fin,syn,rst,ack`, a set's elements sorted, an address range
 * 198.51.100.2-198.51.100.3 listed as 198.51.100.2/31), so a rule only
 * passes when the kernel understood what the rule file says.
 *
 * The real-tool tests need `nft` (Debian package nftables), `ip`
 * (iproute2) and root; without them they are skipped, except under
 * CI=true, where they fail with the reason.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode, UserError } from '../../src/base/errors.js';
import { NFT_KEYWORDS, nftNameProblem } from '../../src/export/fw-names.js';
import { exportNft } from '../../src/export/nft.js';
import { nftFirewallWarnings, nftLogPrefixText } from '../../src/export/nft-firewall.js';
import type { Firewall } from '../../src/rules/firewall.js';
import { ok } from '../rules/helpers.js';
import { hashed } from './comment-cases.js';
import { chain, firewallRuleSet, nat, ports } from './fw-build.js';
import { homeRouter, kitchenSink } from './fw-cases.js';
import { namespaces, run, toolsMissing, toolTest } from './netns.js';

/** The home router's rules as nft lists them, by comment (hand-written). */
const HOME_LISTED: Record<string, string[]> = {
  'web-fwd': ['meta nfproto ipv4 iifname "wan0" tcp dport 80 dnat ip to 192.168.1.10:8080'],
  'lan-out': ['oifname "wan0" masquerade'],
  'forward-1': ['ct state established,related accept'],
  'forward-2': ['ct state invalid drop'],
  'forward-3': ['iifname "lan0" oifname "wan0" accept'],
  'forward-4': ['ct status dnat accept'],
  'input-1': ['ct state established,related accept'],
  'input-2': ['iifname "lo" accept'],
  'input-3': ['iifname "lan0" tcp dport 22 jump ssh_in'],
  'web-in': ['ip6 saddr @v6nets tcp dport @web accept'],
  'ssh_in-1': ['ip saddr @admins limit rate 10/minute log prefix "ssh: " accept'], // burst 5 is nft's default: not listed
  'ssh_in-2': ['return'],
};

const HOME_CHAINS: Record<string, string | null> = {
  prerouting: 'type nat hook prerouting priority dstnat; policy accept;',
  postrouting: 'type nat hook postrouting priority srcnat; policy accept;',
  forward: 'type filter hook forward priority filter; policy drop;',
  input: 'type filter hook input priority filter; policy drop;',
  ssh_in: null,
};

const HOME_SETS: Record<string, string[]> = {
  admins: ['type ipv4_addr', 'flags interval', 'auto-merge', 'elements = { 192.168.1.10, 192.168.1.20-192.168.1.30 }'],
  web: ['type inet_service', 'flags interval', 'auto-merge', 'elements = { 80, 443, 8000-8099 }'],
  v6nets: ['type ipv6_addr', 'flags interval', 'auto-merge', 'elements = { fd00::/8 }'],
};

/** The kitchen sink's rules as nft lists them (hand-written; `counter packets 0 bytes 0` shown as `counter`). */
const SINK_LISTED: Record<string, string[]> = {
  'early-1': ['ct state invalid counter drop'],
  'early-2': ['meta pkttype { broadcast, multicast } drop'],
  'early-3': [
    'iifname { "eth*", "wg0" } ip saddr 10.0.0.0/8 drop',
    'iifname { "eth*", "wg0" } ip6 saddr fd00::/8 drop',
  ],
  'early-log': ['counter log prefix "early " level info continue'],
  'filter_fwd-1': ['ct state established,related accept'],
  'filter_fwd-2': ['ip saddr @lanv4 tcp dport @svc jump svc_in'],
  'filter_fwd-3': ['ip6 saddr @lanv6 udp sport 53 udp dport { 53, 1024-2048 } accept'],
  'filter_fwd-4': [
    'ip daddr 192.0.2.1-192.0.2.9 tcp flags syn / fin,syn,rst,ack goto svc_in',
    'ip6 daddr 2001:db8::/32 tcp flags syn / fin,syn,rst,ack goto svc_in',
  ],
  'filter_fwd-5': ['icmp type { echo-reply, echo-request } limit rate over 5/second burst 10 packets drop'],
  'filter_fwd-6': ['icmpv6 type destination-unreachable icmpv6 code { addr-unreachable, port-unreachable } accept'],
  'filter_fwd-7': ['meta l4proto icmp accept'],
  'filter_fwd-8': ['meta nfproto ipv4 ct status snat,dnat accept'],
  'filter_fwd-9': ['tcp dport 23 reject with tcp reset'],
  'filter_fwd-10': ['reject with icmpv6 admin-prohibited'],
  'filter_fwd-11': ['reject with icmp host-prohibited'],
  'filter_fwd-12': ['reject'], // icmpx port-unreachable is the inet default
  'svc_in-1': ['ip saddr 10.1.0.0/16 tcp dport 22 accept'],
  'svc_in-2': ['ct state new ct status seen-reply,assured return'],
  'svc_in-3': ['jump deeper'],
  'svc_in-4': ['drop'],
  'deeper-1': ['oifname "eth0" accept'],
  'in-1': ['iifname "lo" accept'],
  'in-2': ['ct state established,related accept'],
  'in-3': ['tcp dport 22 jump svc_in'],
  'out-1': ['ct state untracked drop'],
  'nat_pre-1': [
    'meta nfproto ipv4 iifname "eth0" tcp dport 80 dnat ip to 10.0.0.10-10.0.0.12:8080-8081 random,persistent',
  ],
  'nat_pre-2': ['meta nfproto ipv6 iifname "eth0" tcp dport 443 dnat ip6 to [fd00::10]:8443'],
  'nat_pre-3': ['iifname "eth0" udp dport 53 redirect to :5353'],
  'nat_pre-4': ['meta nfproto ipv6 iifname "eth0" dnat ip6 to fd00::20-fd00::22'],
  'nat_post-1': ['meta l4proto udp oifname "eth0" masquerade to :40000-40100 fully-random'],
  'nat_post-2': ['oifname "eth0" ip saddr 10.0.0.0/8 snat ip to 198.51.100.2/31 persistent'],
  'nat_post-3': ['oifname "eth0" ip6 saddr fd00::/8 snat ip6 to 2001:db8:1::2'],
  'nat_post-4': ['oifname "eth0" masquerade'],
};

const SINK_CHAINS: Record<string, string | null> = {
  early: 'type filter hook forward priority filter - 10; policy accept;', // -10, in nft's words
  filter_fwd: 'type filter hook forward priority filter; policy drop;',
  svc_in: null,
  deeper: null,
  in: 'type filter hook input priority filter; policy drop;',
  out: 'type filter hook output priority filter; policy accept;',
  nat_pre: 'type nat hook prerouting priority dstnat; policy accept;',
  nat_post: 'type nat hook postrouting priority srcnat; policy accept;',
};

const SINK_SETS: Record<string, string[]> = {
  // auto-merge folds 10.1.0.0/16 into 10.0.0.0/8, as the rule file means: one set of addresses.
  lanv4: [
    'type ipv4_addr',
    'flags interval',
    'auto-merge',
    'elements = { 10.0.0.0/8, 172.16.0.5, 172.16.1.1-172.16.1.9 }',
  ],
  lanv6: ['type ipv6_addr', 'flags interval', 'auto-merge', 'elements = { 2001:db8::1-2001:db8::9, fd00::/8 }'],
  svc: ['type inet_service', 'flags interval', 'auto-merge', 'elements = { 22, 53, 8000-8099 }'],
};

// ---------------------------------------------------------------- the listing, parsed

interface Listing {
  tables: string[];
  /** chain -> its `type ... policy ...;` line, or null for a user chain. */
  chains: Record<string, string | null>;
  sets: Record<string, string[]>;
  /** comment -> the rule lines carrying it, without the comment, counters as `counter`. */
  rules: Record<string, string[]>;
  /** Rule lines without a comment (none expected). */
  bare: string[];
}

/** `nft list ruleset` read as a user reads it: tables, chains with their headers, sets, rules by comment. */
function parseListing(text: string): Listing {
  const out: Listing = { tables: [], chains: {}, sets: {}, rules: {}, bare: [] };
  // nft wraps a long set's elements over lines: join them back first.
  const lines = text
    .replace(/,\n\s+/g, ', ')
    .split('\n')
    .map((l) => l.trim());
  let chain: string | null = null;
  let set: string | null = null;
  for (const l of lines) {
    let m: RegExpExecArray | null;
    if ((m = /^table (\S+ \S+) \{$/.exec(l))) out.tables.push(m[1]);
    else if ((m = /^chain (\S+) \{$/.exec(l))) {
      chain = m[1];
      out.chains[chain] = null;
    } else if ((m = /^set (\S+) \{$/.exec(l))) {
      set = m[1];
      out.sets[set] = [];
    } else if (l === '}' || l === '') {
      chain = null;
      set = null;
    } else if (set !== null) out.sets[set].push(l);
    else if (chain !== null && l.startsWith('type ')) out.chains[chain] = l;
    else if (chain !== null) {
      const rule = l.replace(/counter packets \d+ bytes \d+/, 'counter');
      const c = /^(.*) comment "([^"]*)"$/.exec(rule);
      if (c === null) out.bare.push(rule);
      else (out.rules[c[2]] ??= []).push(c[1]);
    }
  }
  return out;
}

// ---------------------------------------------------------------- without the tools

function thrown(f: () => unknown): UserError {
  try {
    f();
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error('no error thrown');
}

describe('export (nft), firewall model: the text', () => {
  it('names the interfaces in # lines, with their addresses, networks and default route', () => {
    const text = exportNft(firewallRuleSet(homeRouter()));
    const lines = text.split('\n');
    expect(lines).toContain('# interface lan0: 192.168.1.1/24 fd00:1::1/64; routes 192.168.2.0/24 out of it');
    expect(lines).toContain('# interface wan0: 203.0.113.1/24; default route out of it');
    // Before the table: a reader sets the machine up first.
    expect(lines.findIndex((l) => l.startsWith('# interface'))).toBeLessThan(lines.indexOf('table inet fwemu {'));
  });

  it('a simple rule set with firewall: null exports exactly as without it', () => {
    const rs = ok('rules:\n  - { id: web, proto: tcp, dport: 8080 }\n').ruleset;
    const before = exportNft(rs);
    rs.firewall = null;
    expect(exportNft(rs)).toBe(before);
  });

  it('refuses chain and set names nft would read as keywords, or not as a word, naming the place', () => {
    const fw = homeRouter();
    fw.chains[4].name = 'counter';
    const e = thrown(() => exportNft(firewallRuleSet(fw)));
    expect(e.exitCode).toBe(ExitCode.BAD_INPUT);
    expect(e.message).toMatch(/^fw\.yaml:\d+:3: chain name "counter" is an nft keyword/);
    expect(nftNameProblem('set name', 'a b')).toMatch(/set name "a b" cannot be written in nft/);
    expect(nftNameProblem('set name', 'x\n}')).toContain('"x\\n}"'); // made visible in the message
    for (const good of ['input', 'filter', 'nat', 'ssh_in', 'a.b-c/d', '_x'])
      expect(nftNameProblem('c', good)).toBeNull();
  });

  it('refuses an interface name that is not a plain name, and a NAT port without tcp or udp', () => {
    const fw = homeRouter();
    fw.chains[2].rules[2].iif = ['lan0" accept; flush ruleset #'];
    expect(thrown(() => exportNft(firewallRuleSet(fw))).message).toMatch(
      /^rule "forward-3" \(fw\.yaml:\d+:3\) in chain forward: interface name "lan0" accept; flush ruleset #" is not/,
    );
    const natFw: Firewall = {
      interfaces: [],
      sets: [],
      chains: [
        chain('pre', { hook: 'prerouting', type: 'nat', priority: -100 }, [{ nat: nat('dnat', '10.0.0.1', '80') }]),
      ],
    };
    expect(thrown(() => exportNft(firewallRuleSet(natFw))).message).toMatch(/pre-1.*a NAT port needs proto tcp or udp/);
  });

  it('a TCP flags condition with an empty mask keeps the rule to TCP', () => {
    const fw: Firewall = {
      interfaces: [],
      sets: [],
      chains: [chain('f', { hook: 'forward' }, [{ proto: 'tcp', tcpFlags: { mask: 0, value: 0, text: '' } }])],
    };
    expect(exportNft(firewallRuleSet(fw)).split('\n')).toContain('    meta l4proto tcp accept comment "f-1"');
  });

  it('refuses reject in a chain reached from postrouting, naming the rule', () => {
    const fw: Firewall = {
      interfaces: [],
      sets: [],
      chains: [
        chain('post', { hook: 'postrouting' }, [{ action: 'jump', target: 'u' }]),
        chain('u', {}, [{ proto: 'tcp', action: 'reject', rejectWith: 'tcp reset' }]),
      ],
    };
    expect(thrown(() => exportNft(firewallRuleSet(fw))).message).toMatch(
      /^rule "u-1" \(fw\.yaml:\d+:3\) in chain u: reject in a chain reached from the postrouting hook/,
    );
  });

  it('log prefixes: visible, " as \', $ as \\x24 (nft reads $name as a variable), cut to 127 bytes (hand-worked)', () => {
    expect(nftLogPrefixText('a"b;c}d\ne$f')).toBe("a'b;c}d\\ne\\x24f");
    expect(nftLogPrefixText('y'.repeat(200))).toBe('y'.repeat(127));
    expect(nftLogPrefixText('é'.repeat(64))).toBe('é'.repeat(63)); // 128 bytes: the 64th é would end at byte 128
    const fw = homeRouter();
    fw.chains[4].rules[0].log = { prefix: 'z'.repeat(130), level: null };
    expect(nftFirewallWarnings(fw)).toEqual([
      expect.stringMatching(
        /^rule "ssh_in-1" .* longer than the kernel keeps \(127 bytes\): the export cuts it to "z{127}"$/,
      ),
    ]);
  });
});

// ---------------------------------------------------------------- the real nft

const tmp = mkdtempSync(join(tmpdir(), 'fwemu-fw-nft-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let fileCount = 0;
const withNamespace = namespaces('fwemu-fw-nft-');
const missing = toolsMissing(
  [
    ['nft', 'nftables'],
    ['ip', 'iproute2'],
  ],
  'nft',
  () => withNamespace(() => undefined),
);

function nftFile(ns: string, args: string[], text: string): { code: number; stdout: string; stderr: string } {
  const file = join(tmp, `${fileCount++}.nft`);
  writeFileSync(file, text);
  return run('ip', ['netns', 'exec', ns, 'nft', ...args, '-f', file]);
}

/** Loads `text` with nft -f in a fresh namespace and returns `nft list ruleset`, parsed. */
function loadAndList(text: string): Listing {
  return withNamespace((ns) => {
    const load = nftFile(ns, [], text);
    expect(load.code, `nft -f: ${load.stderr}\n${text}`).toBe(0);
    const list = run('ip', ['netns', 'exec', ns, 'nft', 'list', 'ruleset']);
    expect(list.code, list.stderr).toBe(0);
    return parseListing(list.stdout);
  });
}

describe('export (nft), firewall model: loaded by the real nft', () => {
  toolTest('nft', missing, 'the home router: every set, chain and rule as nft lists it', () => {
    const got = loadAndList(exportNft(firewallRuleSet(homeRouter())));
    expect(got.tables).toEqual(['inet fwemu']);
    expect(got.chains).toEqual(HOME_CHAINS);
    expect(got.sets).toEqual(HOME_SETS);
    expect(got.rules).toEqual(HOME_LISTED);
    expect(got.bare).toEqual([]);
  });

  toolTest(
    'nft',
    missing,
    'every condition and statement, both families, two base chains on one hook: as nft lists them',
    () => {
      const got = loadAndList(exportNft(firewallRuleSet(kitchenSink())));
      expect(got.chains).toEqual(SINK_CHAINS);
      expect(got.sets).toEqual(SINK_SETS);
      expect(got.rules).toEqual(SINK_LISTED);
      expect(got.bare).toEqual([]);
    },
  );

  toolTest('nft', missing, 'hostile ids and log prefixes load and stay inside their quotes', () => {
    const hostile = [
      'a"b;c}d\ne', // quote, statement end, block end, newline
      '"; flush ruleset; #',
      'x'.repeat(200),
      '$x $' + '{y} $',
      'é"'.repeat(70),
    ];
    const fw: Firewall = {
      interfaces: [],
      sets: [],
      chains: [
        chain(
          'c',
          { hook: 'forward' },
          hostile.map((s, i) => ({
            id: s,
            proto: 'tcp' as const,
            dport: ports([1000 + i]),
            log: { prefix: s, level: null },
            action: 'accept' as const,
          })),
        ),
      ],
    };
    const got = withNamespace((ns) => {
      const load = nftFile(ns, [], exportNft(firewallRuleSet(fw)));
      expect(load.code, load.stderr).toBe(0);
      const r = run('ip', ['netns', 'exec', ns, 'nft', '-j', 'list', 'ruleset']);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { nftables: Record<string, unknown>[] }).nftables;
    });
    // One table, one chain, one rule per id: nothing escaped to make more.
    expect(got.filter((i) => 'table' in i).length).toBe(1);
    expect(got.filter((i) => 'chain' in i).length).toBe(1);
    const rules = got.flatMap((i) => (i.rule === undefined ? [] : [i.rule as { comment: string; expr: unknown[] }]));
    expect(rules.map((r) => r.comment)).toEqual([
      hashed("a'b;c}d\\ne", hostile[0]),
      hashed("'; flush ruleset; #", hostile[1]),
      hashed('x'.repeat(119), hostile[2]),
      '$x $' + '{y} $', // a comment takes $ as it is
      hashed("é'".repeat(39) + 'é', hostile[4]), // 3 bytes each: 39 pairs are 117 bytes, é ends at 119
    ]);
    const prefixes = rules.map((r) => {
      const log = r.expr.find((e) => typeof e === 'object' && e !== null && 'log' in e) as { log: { prefix: string } };
      return log.log.prefix;
    });
    expect(prefixes).toEqual([
      "a'b;c}d\\ne",
      "'; flush ruleset; #",
      'x'.repeat(127),
      '\\x24x \\x24' + '{y} \\x24',
      "é'".repeat(42), // 42 pairs are 126 bytes; the next é would end at byte 128
    ]);
  });

  toolTest('nft', missing, 'the kernel refuses reject reached from postrouting (why the export refuses it)', () => {
    withNamespace((ns) => {
      const text =
        'table inet t {\n  chain u {\n    reject\n  }\n  chain p {\n    type filter hook postrouting priority 0; policy accept;\n    jump u\n  }\n}\n';
      const r = nftFile(ns, [], text);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/Operation not supported/);
      // The same with the reject in an input chain loads.
      expect(nftFile(ns, [], text.replace('postrouting', 'input')).code).toBe(0);
    });
  });

  toolTest(
    'nft',
    missing,
    'every word fw-names.ts refuses is refused by nft as a chain name, and others are not',
    () => {
      // Words keywords only in nft's current source, not in 1.0.6 (listed for the nft that will load the export).
      const newer = new Set(['destroy', 'geneve', 'gre', 'gretap', 'last', 'tunnel', 'vni', 'vxlan']);
      const others = ['input', 'filter', 'nat', 'ssh_in', 'lan', 'web', 'my-chain.2'];
      const words = [...NFT_KEYWORDS, ...others];
      // One interactive nft for all (a process per word costs 5 times the CPU): each line is its own
      // command, a refused one fails alone, and the chains made are the names nft took.
      const made = withNamespace((ns) => {
        const cmds = ['add table inet kw', ...words.map((w) => `add chain inet kw ${w}`)].join('\n');
        run('ip', ['netns', 'exec', ns, 'nft', '-i'], `${cmds}\n`);
        const list = run('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', 'inet', 'kw']);
        expect(list.code, list.stderr).toBe(0);
        return [...list.stdout.matchAll(/^\s*chain (\S+) \{$/gm)].map((m) => m[1]);
      });
      expect(made.filter((w) => !newer.has(w)).sort()).toEqual([...others].sort());
    },
  );
});
