/**
 * `fwemu export --format iptables`.
 *
 * The strongest checks do not read fwemu's own output format: the rulesets
 * are loaded into a fresh network namespace with iptables-restore /
 * ip6tables-restore, read back with iptables-save / ip6tables-save (the
 * kernel's view, in iptables' canonical syntax), and the rules read back are
 * run against many packets beside fwemu's own matcher: the verdict, the rule
 * (by its comment) and the kind of reject must agree for every packet.
 *
 * Needs the Debian package `iptables` (iptables-restore, ip6tables-restore,
 * iptables-save, ip6tables-save), `ip` (iproute2) and root. Without them
 * those tests are skipped, except under CI=true, where they fail with the
 * reason.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  exportIptables,
  iptablesRestoreFile,
  multiportGroups,
  MULTIPORT_MAX,
  type IpFamily,
} from '../../src/export/iptables.js';
import { chainsOf } from '../../src/export/nft.js';
import { cidrContains, parseCidr } from '../../src/rules/cidr.js';
import { compileRuleSet } from '../../src/rules/compile.js';
import { loadRuleSet } from '../../src/rules/load.js';
import { firstMatch } from '../../src/rules/match.js';
import type { Action, Chain, Cidr, PortRange, RuleSet } from '../../src/rules/types.js';
import { fwemuIn } from '../cli/run.js';
import { ok, pkt, ruleSetWithIds, y } from '../rules/helpers.js';
import { acrossTheLimit, hashed } from './comment-cases.js';
import { namespaces, run, toolsMissing, toolTest } from './netns.js';

// ---------------------------------------------------------------- rule sets

const EXAMPLES = ['rules/web-server.yaml', 'rules/workstation.yaml', 'rules/dns-resolver.yaml'];

const ports = (n: number, from: number): string => Array.from({ length: n }, (_, i) => from + 3 * i).join(', ');

/** Hand-written rule sets, each covering something the examples do not. */
const HAND: Record<string, string> = {
  ranges: y`
    name: ranges
    rules:
      - id: web-range
        proto: tcp
        dport: "8000-8099"
      - id: both-ranges
        proto: udp
        sport: "1024-65535"
        dport: "5000-5010"
      - id: single-sport
        proto: tcp
        sport: 179
  `,
  'long-lists': y`
    name: long-lists
    rules:
      - id: twenty-ports
        proto: tcp
        dport: [${ports(20, 1000)}]
      - id: mixed-16
        proto: udp
        dport: [${ports(9, 2000)}, "3000-3010", "3100-3110", "3200-3210", "3300-3310"]
      - id: both-long
        proto: tcp
        sport: [${ports(16, 20000)}]
        dport: [${ports(16, 30000)}, "40000-40100"]
        action: drop
  `,
  'mixed-cidrs': y`
    name: mixed-cidrs
    rules:
      - id: mixed
        proto: tcp
        dport: 443
        src: [10.1.0.0/16, 192.168.1.0/24, "fd00:1::/64", 172.16.5.4]
        dst: [10.2.0.1, "fd00:2::1", "fd00:3::/48"]
      - id: v4-only-any
        src: 198.51.100.0/24
        action: drop
      - id: v6-only-udp
        proto: udp
        dst: "2001:db8::/32"
        action: reject
      - id: icmp-v6-addrs
        proto: icmp
        src: "fd00:1::/64"
  `,
  icmp: y`
    name: icmp
    rules:
      - id: ping
        proto: icmp
        type: echo-request
      - id: port-unreach
        proto: icmp
        type: destination-unreachable
        code: port-unreachable
      - id: type-42
        proto: icmp
        type: 42
        action: drop
      - id: type-255
        proto: icmp
        type: 255
        action: reject
      - id: type-255-code-7
        proto: icmp
        type: 255
        code: 7
      - id: ping6
        proto: icmpv6
        type: echo-request
        src: "fd00:1::/64"
      - id: too-big
        proto: icmpv6
        type: packet-too-big
        code: 0
      - id: type6-255
        proto: icmpv6
        type: 255
        action: drop
      - id: nd-set
        proto: icmpv6
        type: [nd-neighbor-solicit, nd-neighbor-advert, 200]
      - id: errors-set
        proto: icmp
        type: [destination-unreachable, time-exceeded]
        code: [port-unreachable, 0, 4]
        action: drop
      - id: set-255
        proto: icmp
        type: [echo-reply, 255]
        code: [7, 9]
        action: reject
      - id: other-icmp
        proto: icmp
        action: reject
      - id: other-icmp6
        proto: icmpv6
  `,
  reject: y`
    name: reject
    rules:
      - id: tcp-rej
        proto: tcp
        dport: [23, 513]
        action: reject
      - id: udp-rej
        proto: udp
        action: reject
      - id: any-rej
        dst: [10.9.0.0/16, "fd00:9::/64"]
        action: reject
      - id: 'odd"id\\with''quotes#'
        proto: tcp
        dport: 22
  `,
  host: y`
    name: host
    host: [10.1.0.2, "fd00:1::2"]
    policy: reject
    output_policy: drop
    rules:
      - id: ssh-in
        proto: tcp
        dport: 22
        src: 10.1.0.0/16
      - id: dns-out
        chain: output
        proto: udp
        dport: 53
      - id: web-out
        chain: output
        proto: tcp
        dport: [80, 443]
      - id: routed
        chain: forward
        proto: tcp
        dst: "fd00:5::/64"
  `,
  stateless: y`
    name: stateless
    stateful: false
    conntrack:
      udp_timeout: 60
    rules:
      - id: web
        proto: tcp
        dport: 80
      - id: replies
        proto: tcp
        sport: 80
  `,
  'policy-reject': y`
    name: policy-reject
    policy: reject
    rules:
      - id: web
        proto: tcp
        dport: 8080
      - id: everything-v6
        src: "::/0"
        action: drop
  `,
};

function ruleSets(): [string, RuleSet][] {
  return [
    ...EXAMPLES.map((f) => [f, loadRuleSet(f).ruleset] as [string, RuleSet]),
    ...Object.entries(HAND).map(([name, text]) => [name, ok(text).ruleset] as [string, RuleSet]),
  ];
}

/**
 * Rule ids longer than a comment may be, each with the comment it must get:
 * at most 255 bytes of UTF-8 (the kernel's xt_comment holds
 * XT_MAX_COMMENT_LEN = 256 bytes with the terminating NUL; the real
 * iptables keeps 255, see 'the comment limit' below), cut before the first
 * character that does not fit whole. A rule file cannot give such an id
 * (1-64 UTF-16 units, at most 192 bytes), a RuleSet built in code can.
 * Worked out by hand: é is 2 bytes, € 3, 😀 4, '"' 1 (written \" in the file).
 */
const LONG_IDS: [id: string, comment: string][] = [
  ...acrossTheLimit(255),
  // 246 bytes are kept of a cut id, before "~" and 8 hex digits (hashed()).
  ['a'.repeat(300), hashed('a'.repeat(246), 'a'.repeat(300))],
  ['é'.repeat(128), hashed('é'.repeat(123), 'é'.repeat(128))], // 256 bytes: 246 kept
  ['€'.repeat(86), hashed('€'.repeat(82), '€'.repeat(86))], // 258 bytes: the 82nd € ends at byte 246
  ['a'.repeat(245) + '"x'.repeat(10), hashed('a'.repeat(245) + '"', 'a'.repeat(245) + '"x'.repeat(10))], // the quote is one byte of the comment, however it is escaped
  ['a"b\\c', 'a"b\\c'], // quotes and backslashes survive iptables' escaping: the id itself
];

/** One tcp/22 rule per LONG_IDS entry, with that id (set in code: a rule file cannot say it). */
const longIdRuleSet = (): RuleSet => ruleSetWithIds(LONG_IDS.map(([id]) => id));

// ---------------------------------------------------------------- reading iptables syntax

/** Splits a rule line into arguments the way iptables-restore does: double quotes group, backslash escapes. */
function argv(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (c === '"') {
      quoted = !quoted;
      inWord = true;
    } else if (c === ' ' && !quoted) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

interface IptRule {
  chain: string;
  src: Cidr | null;
  dst: Cidr | null;
  proto: number; // -1 any
  sport: PortRange[] | null;
  dport: PortRange[] | null;
  icmpType: number; // -1 any
  icmpCode: number; // -1 any
  ctstate: string | null;
  comment: string | null;
  target: Action;
  rejectWith: string | null;
  /** Multiport slot counts, to check the 15-port limit. */
  multiportSlots: number[];
}

interface IptTable {
  policy: Record<string, 'ACCEPT' | 'DROP'>;
  rules: IptRule[];
}

const PROTO_NUM: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, 'ipv6-icmp': 58, icmpv6: 58 };

function cidrOf(text: string): Cidr {
  const r = parseCidr(text);
  if (!r.ok) throw new Error(`bad address ${text}: ${r.error}`);
  return r.cidr;
}

function portRange(t: string): PortRange {
  const [lo, hi] = t.split(':').map(Number);
  return { lo, hi: hi ?? lo };
}

function parseRuleLine(line: string): IptRule {
  const a = argv(line);
  const r: IptRule = {
    chain: '',
    src: null,
    dst: null,
    proto: -1,
    sport: null,
    dport: null,
    icmpType: -1,
    icmpCode: -1,
    ctstate: null,
    comment: null,
    target: 'accept',
    rejectWith: null,
    multiportSlots: [],
  };
  let target = '';
  for (let i = 0; i < a.length; i++) {
    const opt = a[i];
    const val = (): string => {
      if (i + 1 >= a.length) throw new Error(`${opt} without a value in: ${line}`);
      return a[++i];
    };
    switch (opt) {
      case '-A':
        r.chain = val();
        break;
      case '-s':
        r.src = cidrOf(val());
        break;
      case '-d':
        r.dst = cidrOf(val());
        break;
      case '-p': {
        const p = val();
        if (!(p in PROTO_NUM)) throw new Error(`unexpected protocol ${p} in: ${line}`);
        r.proto = PROTO_NUM[p];
        break;
      }
      case '-m':
        val();
        break; // the match's options follow
      case '--sport':
        r.sport = [portRange(val())];
        break;
      case '--dport':
        r.dport = [portRange(val())];
        break;
      case '--sports':
      case '--dports': {
        const list = val().split(',').map(portRange);
        r.multiportSlots.push(list.reduce((n, p) => n + (p.lo === p.hi ? 1 : 2), 0));
        if (opt === '--sports') r.sport = list;
        else r.dport = list;
        break;
      }
      case '--icmp-type':
      case '--icmpv6-type': {
        const v = val();
        if (v === 'any') break; // what IPv4 iptables makes of type 255: every ICMP packet
        const [t, c] = v.split('/').map(Number);
        r.icmpType = t;
        r.icmpCode = c ?? -1;
        break;
      }
      case '--u32': {
        // The only u32 expressions fwemu writes: a literal ICMP type 255 (and code), not a later fragment.
        // iptables-save writes its numbers in hex: compare with every number in decimal.
        const e = val()
          .replace(/\s/g, '')
          .replace(/0x[0-9a-f]+|\d+/gi, (x) => String(Number(x)));
        const m = /^4&8191=0&&0>>22&60@0>>(24|16)=(\d+)$/.exec(e);
        if (!m) throw new Error(`unexpected u32 expression ${e} in: ${line}`);
        const v = Number(m[2]);
        if (m[1] === '24') r.icmpType = v;
        else [r.icmpType, r.icmpCode] = [v >> 8, v & 0xff];
        break;
      }
      case '--ctstate':
        r.ctstate = val();
        break;
      case '--comment':
        r.comment = val();
        break;
      case '-j':
        target = val();
        break;
      case '--reject-with':
        r.rejectWith = val();
        break;
      default:
        throw new Error(`unexpected ${opt} in: ${line}`);
    }
  }
  if (target === 'ACCEPT') r.target = 'accept';
  else if (target === 'DROP') r.target = 'drop';
  else if (target === 'REJECT') r.target = 'reject';
  else throw new Error(`unexpected target ${target} in: ${line}`);
  return r;
}

/** The filter table of an iptables-save / iptables-restore text. */
function parseTable(text: string): IptTable {
  const t: IptTable = { policy: {}, rules: [] };
  let inFilter = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    if (line.startsWith('*')) inFilter = line === '*filter';
    else if (!inFilter) continue;
    else if (line.startsWith(':')) {
      const [name, policy] = line.slice(1).split(' ');
      t.policy[name] = policy as 'ACCEPT' | 'DROP';
    } else if (line.startsWith('-A ')) t.rules.push(parseRuleLine(line));
    else if (line === 'COMMIT') inFilter = false;
    else throw new Error(`unexpected line: ${line}`);
  }
  return t;
}

// ---------------------------------------------------------------- packets and the differential check

interface TestPacket {
  src: string;
  dst: string;
  proto: number;
  sport: number;
  dport: number;
  icmpType: number;
  icmpCode: number;
  /** A later fragment: no transport header. */
  frag: boolean;
}

function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function cidrBounds(c: Cidr): [bigint, bigint] {
  const bits = c.version === 4 ? 32 : 128;
  const value = c.version === 4 ? BigInt(c.words[0] >>> 0) : c.words.reduce((v, w) => (v << 32n) | BigInt(w >>> 0), 0n);
  const host = (1n << BigInt(bits - c.prefix)) - 1n;
  return [value, value | host];
}

function addrText(v: bigint, fam: IpFamily): string {
  if (fam === 4) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join('.');
  return Array.from({ length: 8 }, (_, i) => ((v >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':');
}

/** Packets around every boundary the rule set draws (addresses, ports, ICMP types), mixed at random. */
function packetsFor(rs: RuleSet, fam: IpFamily, n: number, seed: number): TestPacket[] {
  const max = fam === 4 ? (1n << 32n) - 1n : (1n << 128n) - 1n;
  const addrs = new Set<string>(
    fam === 4 ? ['10.1.0.5', '10.2.0.1', '203.0.113.7'] : ['fd00:1::5', 'fd00:2::1', '2001:db8:ffff::7'],
  );
  const portSet = new Set<number>([0, 1, 22, 53, 80, 8080, 40000, 65535]);
  const types = new Set<number>([0, 3, 8, 128, 135, 255]);
  const codes = new Set<number>([0, 3, 4, 7]);
  for (const r of rs.rules) {
    for (const c of [...(r.src ?? []), ...(r.dst ?? [])]) {
      if (c.version !== fam) continue;
      const [lo, hi] = cidrBounds(c);
      for (const v of [lo - 1n, lo, lo + 1n, hi - 1n, hi, hi + 1n])
        if (v >= 0n && v <= max) addrs.add(addrText(v, fam));
    }
    for (const p of [...(r.sport ?? []), ...(r.dport ?? [])])
      for (const v of [p.lo - 1, p.lo, p.hi, p.hi + 1]) if (v >= 0 && v <= 65535) portSet.add(v);
    if (r.icmp) {
      for (const t of r.icmp.types) for (const v of [t - 1, t, t + 1]) if (v >= 0 && v <= 255) types.add(v);
      for (const c of r.icmp.codes ?? []) for (const v of [c - 1, c, c + 1]) if (v >= 0 && v <= 255) codes.add(v);
    }
  }
  const rnd = mulberry32(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)];
  const A = [...addrs];
  const P = [...portSet];
  const T = [...types];
  const C = [...codes];
  const protos = fam === 4 ? [6, 17, 1, 47] : [6, 17, 58, 47];
  return Array.from({ length: n }, () => {
    const proto = pick(protos);
    const icmp = proto === 1 || proto === 58;
    const ported = proto === 6 || proto === 17;
    return {
      src: pick(A),
      dst: pick(A),
      proto,
      sport: ported ? pick(P) : 0,
      dport: ported ? pick(P) : 0,
      icmpType: icmp ? pick(T) : -1,
      icmpCode: icmp ? pick(C) : -1,
      frag: rnd() < 0.08,
    };
  });
}

function inPorts(list: PortRange[], port: number): boolean {
  return list.some((p) => p.lo <= port && port <= p.hi);
}

/** iptables' view: the first rule that matches a NEW packet (conntrack state rules never do). */
function iptMatch(t: IptTable, chain: string, p: TestPacket): IptRule | null {
  const addr = cidrOf;
  for (const r of t.rules) {
    if (r.chain !== chain || r.ctstate !== null) continue;
    if (r.proto >= 0 && r.proto !== p.proto) continue;
    if (r.src && !cidrContains(r.src, addr(p.src))) continue;
    if (r.dst && !cidrContains(r.dst, addr(p.dst))) continue;
    // tcp, udp, multiport, icmp, icmp6 and u32 (as written) never match a later fragment.
    const needsHeader = r.sport !== null || r.dport !== null || r.icmpType >= 0;
    if (needsHeader && p.frag) continue;
    if (r.sport && !inPorts(r.sport, p.sport)) continue;
    if (r.dport && !inPorts(r.dport, p.dport)) continue;
    if (r.icmpType >= 0 && (p.icmpType !== r.icmpType || (r.icmpCode >= 0 && p.icmpCode !== r.icmpCode))) continue;
    return r;
  }
  return null;
}

const CHAIN_NAME: Record<Chain, string> = { input: 'INPUT', forward: 'FORWARD', output: 'OUTPUT' };

/**
 * Runs packets of one family through the iptables table and through fwemu's
 * matcher, chain by chain; returns every disagreement (empty = same policy).
 */
function differences(rs: RuleSet, t: IptTable, fam: IpFamily, n = 3000): string[] {
  const compiled = compileRuleSet(rs);
  const used = chainsOf(rs);
  const out: string[] = [];
  for (const chain of ['input', 'forward', 'output'] as Chain[]) {
    const name = CHAIN_NAME[chain];
    if (!used.includes(chain)) {
      // A chain the nft export has no hook for: everything passes.
      if (t.policy[name] !== 'ACCEPT') out.push(`${name}: policy ${t.policy[name]}, expected ACCEPT (chain not used)`);
      if (t.rules.some((r) => r.chain === name)) out.push(`${name}: has rules, expected none (chain not used)`);
      continue;
    }
    // The stateful preamble, in order, exactly when the rule set is stateful.
    // The state list is a set: iptables-save prints RELATED,ESTABLISHED whatever order it was given in.
    const states = t.rules
      .filter((r) => r.chain === name && r.ctstate !== null)
      .map((r) => `${r.ctstate!.split(',').sort().join(',')}:${r.target}`);
    const wantStates = rs.stateful ? ['ESTABLISHED,RELATED:accept', 'INVALID:drop'] : [];
    if (JSON.stringify(states) !== JSON.stringify(wantStates))
      out.push(`${name}: conntrack rules ${JSON.stringify(states)}, expected ${JSON.stringify(wantStates)}`);
    const firstState = t.rules.findIndex((r) => r.chain === name && r.ctstate !== null);
    const firstOther = t.rules.findIndex((r) => r.chain === name && r.ctstate === null);
    if (firstState >= 0 && firstOther >= 0 && firstOther < firstState)
      out.push(`${name}: a rule comes before the conntrack preamble`);

    const policy = compiled.policy[chain];
    for (const p of packetsFor(rs, fam, n, 0x1badb002 ^ fam ^ chain.length)) {
      const d = pkt({
        src: p.src,
        dst: p.dst,
        proto: p.proto,
        sport: p.sport,
        dport: p.dport,
        icmpType: p.icmpType >= 0 ? p.icmpType : undefined,
        icmpCode: p.icmpCode >= 0 ? p.icmpCode : undefined,
        l4Off: p.frag ? -1 : undefined,
      });
      const fw = firstMatch(compiled, chain, d);
      const want = {
        verdict: fw ? fw.action : policy,
        comment: fw ? fw.id : policy === 'reject' ? 'policy reject' : null,
        // nft's reject: a TCP reset for a TCP rule (or a TCP packet meeting the reject policy), else port unreachable.
        rejectWith:
          (fw ? fw.action : policy) !== 'reject'
            ? null
            : (fw ? fw.rule.proto === 'tcp' : p.proto === 6)
              ? 'tcp-reset'
              : fam === 4
                ? 'icmp-port-unreachable'
                : 'icmp6-port-unreachable',
      };
      const r = iptMatch(t, name, p);
      const got = {
        verdict: r ? r.target : t.policy[name] === 'ACCEPT' ? 'accept' : 'drop',
        comment: r ? r.comment : null,
        rejectWith:
          r && r.target === 'reject'
            ? (r.rejectWith ?? (fam === 4 ? 'icmp-port-unreachable' : 'icmp6-port-unreachable'))
            : null,
      };
      if (JSON.stringify(got) !== JSON.stringify(want)) {
        out.push(`${name} ${JSON.stringify(p)}: iptables ${JSON.stringify(got)}, fwemu ${JSON.stringify(want)}`);
        if (out.length > 10) return out;
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- the real tools

const withNamespace = namespaces('fwemu-ipt-test-');

const RESTORE_TOOLS: [string, string][] = [
  ['iptables-restore', 'iptables'],
  ['ip6tables-restore', 'iptables'],
];
const SAVE_TOOLS_AND_IP: [string, string][] = [
  ['iptables-save', 'iptables'],
  ['ip6tables-save', 'iptables'],
  ['ip', 'iproute2'],
];
const testMissing = toolsMissing(RESTORE_TOOLS, 'iptables-restore');
const nsMissing =
  testMissing ??
  toolsMissing([...RESTORE_TOOLS, ...SAVE_TOOLS_AND_IP], 'iptables-restore', () => withNamespace(() => undefined));

/** The IPv4 and IPv6 parts of `fwemu export --format iptables` output, cut at its marker lines as a user would. */
function parts(text: string): Record<IpFamily, string> {
  const v4 = text.indexOf('# --- iptables-restore (IPv4) ---\n');
  const v6 = text.indexOf('# --- ip6tables-restore (IPv6) ---\n');
  expect(v4, 'IPv4 marker').toBeGreaterThanOrEqual(0);
  expect(v6, 'IPv6 marker').toBeGreaterThan(v4);
  return { 4: text.slice(v4, v6), 6: text.slice(v6) };
}

const RESTORE: Record<IpFamily, string> = { 4: 'iptables-restore', 6: 'ip6tables-restore' };
const SAVE: Record<IpFamily, string> = { 4: 'iptables-save', 6: 'ip6tables-save' };

// ---------------------------------------------------------------- tests

describe('export --format iptables: output', () => {
  it('rules/web-server.yaml', () => {
    expect(exportIptables(loadRuleSet('rules/web-server.yaml').ruleset)).toBe(
      [
        '# Generated by fwemu from rules/web-server.yaml (web-server).',
        '# Two rulesets: feed the IPv4 part to iptables-restore and the IPv6 part to ip6tables-restore',
        '# (`fwemu export --format iptables --split PREFIX` writes them to PREFIX.v4 and PREFIX.v6).',
        '# --- iptables-restore (IPv4) ---',
        '*filter',
        ':INPUT ACCEPT [0:0]',
        ':FORWARD DROP [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        '-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
        '-A FORWARD -m conntrack --ctstate INVALID -j DROP',
        '-A FORWARD -p tcp --dport 8080 -m comment --comment "web" -j ACCEPT',
        'COMMIT',
        '# --- ip6tables-restore (IPv6) ---',
        '*filter',
        ':INPUT ACCEPT [0:0]',
        ':FORWARD DROP [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        '-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
        '-A FORWARD -m conntrack --ctstate INVALID -j DROP',
        '-A FORWARD -p tcp --dport 8080 -m comment --comment "web" -j ACCEPT',
        'COMMIT',
        '',
      ].join('\n'),
    );
  });

  it('each part is one complete *filter ... COMMIT block; the split files hold the same blocks', () => {
    for (const [name, rs] of ruleSets()) {
      const text = exportIptables(rs);
      expect(text.match(/^\*filter$/gm), name).toHaveLength(2);
      expect(text.match(/^COMMIT$/gm), name).toHaveLength(2);
      const p = parts(text);
      for (const fam of [4, 6] as const) {
        const block = (s: string) => s.slice(s.indexOf('*filter'), s.indexOf('COMMIT\n') + 7);
        expect(block(iptablesRestoreFile(rs, fam)), `${name} IPv${fam}`).toBe(block(p[fam]));
      }
    }
  });

  it('a rule goes only to the families its addresses and protocol allow', () => {
    for (const [name, rs] of ruleSets()) {
      const p = parts(exportIptables(rs));
      const v4 = parseTable(p[4]);
      const v6 = parseTable(p[6]);
      for (const r of [...v4.rules, ...v6.rules])
        expect(
          r.multiportSlots.every((n) => n <= MULTIPORT_MAX),
          `${name}: ${JSON.stringify(r)}`,
        ).toBe(true);
      expect(
        v4.rules.every((r) => (r.src?.version ?? 4) === 4 && (r.dst?.version ?? 4) === 4 && r.proto !== 58),
        name,
      ).toBe(true);
      expect(
        v6.rules.every((r) => (r.src?.version ?? 6) === 6 && (r.dst?.version ?? 6) === 6 && r.proto !== 1),
        name,
      ).toBe(true);
    }
    const mixed = parts(exportIptables(ok(HAND['mixed-cidrs']).ruleset));
    const ids = (t: string) => [
      ...new Set(
        parseTable(t)
          .rules.map((r) => r.comment)
          .filter((c) => c !== null),
      ),
    ];
    expect(ids(mixed[4])).toEqual(['mixed', 'v4-only-any']);
    expect(ids(mixed[6])).toEqual(['mixed', 'v6-only-udp']); // icmp with IPv6 addresses can never match: left out, as in nft
  });

  it('multiport groups hold at most 15 ports, a range counting two, and keep every port', () => {
    // 14 single ports, then 8 ranges: a range does not fit in the 15th slot, so it starts the next group.
    const list: PortRange[] = [
      ...Array.from({ length: 14 }, (_, i) => ({ lo: i, hi: i })),
      ...Array.from({ length: 8 }, (_, i) => ({ lo: 100 + 10 * i, hi: 105 + 10 * i })),
    ];
    const groups = multiportGroups(list);
    expect(groups.map((g) => g.reduce((n, p) => n + (p.lo === p.hi ? 1 : 2), 0))).toEqual([14, 14, 2]);
    const single = (n: number): PortRange[] => Array.from({ length: n }, (_, i) => ({ lo: i, hi: i }));
    expect(multiportGroups(single(15)).map((g) => g.length)).toEqual([15]);
    expect(multiportGroups(single(16)).map((g) => g.length)).toEqual([15, 1]);
    expect(groups.flat()).toEqual(list);
  });

  it('matches fwemu packet by packet when read back from its own text (no tools needed)', () => {
    for (const [name, rs] of ruleSets()) {
      const p = parts(exportIptables(rs));
      for (const fam of [4, 6] as const)
        expect(differences(rs, parseTable(p[fam]), fam, 1500), `${name} IPv${fam}`).toEqual([]);
    }
  });

  it('a comment over 255 bytes is cut to at most 255 bytes of UTF-8, never inside a character', () => {
    const p = parts(exportIptables(longIdRuleSet()));
    for (const fam of [4, 6] as const) {
      const comments = parseTable(p[fam])
        .rules.map((r) => r.comment)
        .filter((c) => c !== null);
      expect(comments, `IPv${fam}`).toEqual(LONG_IDS.map(([, c]) => c));
      for (const c of comments) {
        const bytes = Buffer.from(c, 'utf8');
        expect(bytes.length).toBeLessThanOrEqual(255);
        expect(bytes.toString('utf8')).toBe(c); // whole characters only (no U+FFFD, no lone surrogate)
      }
    }
  });

  it('sysctls the policy changes are comments, in both the combined text and each split file', () => {
    const rs = loadRuleSet('rules/workstation.yaml').ruleset;
    const line = '#   sysctl -w net.netfilter.nf_conntrack_tcp_loose=0';
    expect(exportIptables(rs).split('\n')).toContain(line);
    for (const fam of [4, 6] as const) expect(iptablesRestoreFile(rs, fam).split('\n')).toContain(line);
    expect(exportIptables(loadRuleSet('rules/web-server.yaml').ruleset)).not.toMatch(/sysctl/);
  });
});

describe('export --format iptables: the real iptables', () => {
  toolTest(
    'iptables',
    nsMissing,
    'iptables-restore --test and ip6tables-restore --test accept both parts (in a namespace: never on the host)',
    () => {
      withNamespace((ns) => {
        for (const [name, rs] of ruleSets()) {
          const p = parts(exportIptables(rs));
          for (const fam of [4, 6] as const) {
            const r = run('ip', ['netns', 'exec', ns, RESTORE[fam], '--test'], p[fam]);
            expect(r.code, `${name} IPv${fam}: ${RESTORE[fam]} --test: ${r.stderr}\n${p[fam]}`).toBe(0);
          }
        }
      });
    },
  );

  toolTest(
    'iptables',
    nsMissing,
    'loaded into a network namespace and saved back, the rules decide every packet as fwemu does',
    () => {
      for (const [name, rs] of ruleSets()) {
        const p = parts(exportIptables(rs));
        withNamespace((ns) => {
          for (const fam of [4, 6] as const) {
            const load = run('ip', ['netns', 'exec', ns, RESTORE[fam]], p[fam]);
            expect(load.code, `${name} IPv${fam}: ${RESTORE[fam]}: ${load.stderr}`).toBe(0);
            const saved = run('ip', ['netns', 'exec', ns, SAVE[fam]]);
            expect(saved.code, saved.stderr).toBe(0);
            const table = parseTable(saved.stdout);
            expect(table.rules.length, `${name} IPv${fam}: rule count`).toBe(parseTable(p[fam]).rules.length);
            for (const r of table.rules) expect(r.multiportSlots.every((n) => n <= MULTIPORT_MAX)).toBe(true);
            expect(differences(rs, table, fam), `${name} IPv${fam}\n${saved.stdout}`).toEqual([]);
          }
        });
      }
    },
  );

  toolTest(
    'iptables',
    nsMissing,
    'the comment limit: iptables keeps 255 bytes of a longer comment, and the cut comments load unchanged',
    () => {
      withNamespace((ns) => {
        // What the real iptables does with a 300-byte comment: keeps its first 255 bytes (XT_MAX_COMMENT_LEN - 1).
        const long = `*filter\n-A FORWARD -p tcp --dport 22 -m comment --comment "${'a'.repeat(300)}" -j ACCEPT\nCOMMIT\n`;
        const load = run('ip', ['netns', 'exec', ns, RESTORE[4]], long);
        expect(load.code, load.stderr).toBe(0);
        const saved = parseTable(run('ip', ['netns', 'exec', ns, SAVE[4]]).stdout);
        expect(saved.rules.map((r) => r.comment)).toEqual(['a'.repeat(255)]);
      });
      // fwemu's comments already fit: iptables reads each back exactly as cut by hand above.
      const p = parts(exportIptables(longIdRuleSet()));
      withNamespace((ns) => {
        for (const fam of [4, 6] as const) {
          const load = run('ip', ['netns', 'exec', ns, RESTORE[fam]], p[fam]);
          expect(load.code, `IPv${fam}: ${load.stderr}`).toBe(0);
          const saved = run('ip', ['netns', 'exec', ns, SAVE[fam]]);
          expect(saved.code, saved.stderr).toBe(0);
          const comments = parseTable(saved.stdout)
            .rules.map((r) => r.comment)
            .filter((c) => c !== null);
          expect(comments, `IPv${fam}`).toEqual(LONG_IDS.map(([, c]) => c));
        }
      });
    },
  );

  toolTest('iptables', nsMissing, 'what iptables-save shows for the example and hand-written rule sets', () => {
    const save = (rs: RuleSet): Record<IpFamily, string[]> => {
      const p = parts(exportIptables(rs));
      return withNamespace((ns) => {
        const out = {} as Record<IpFamily, string[]>;
        for (const fam of [4, 6] as const) {
          expect(run('ip', ['netns', 'exec', ns, RESTORE[fam]], p[fam]).code).toBe(0);
          out[fam] = run('ip', ['netns', 'exec', ns, SAVE[fam]])
            .stdout.split('\n')
            .filter((l) => /^[:-]/.test(l));
        }
        return out;
      });
    };
    const web = save(loadRuleSet('rules/web-server.yaml').ruleset);
    for (const fam of [4, 6] as const) {
      expect(web[fam]).toEqual([
        ':INPUT ACCEPT [0:0]',
        ':FORWARD DROP [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
        '-A FORWARD -m conntrack --ctstate INVALID -j DROP',
        '-A FORWARD -p tcp -m tcp --dport 8080 -m comment --comment web -j ACCEPT',
      ]);
    }

    const dns = save(loadRuleSet('rules/dns-resolver.yaml').ruleset);
    expect(dns[4]).toContain(
      '-A FORWARD -s 10.1.0.0/16 -d 10.2.0.1/32 -p udp -m udp --dport 53 -m comment --comment dns-udp -j ACCEPT',
    );
    expect(dns[4]).toContain(
      '-A FORWARD -p tcp -m tcp --dport 23 -m comment --comment no-telnet -j REJECT --reject-with tcp-reset',
    );
    expect(dns[4]).toContain('-A FORWARD -p icmp -m icmp --icmp-type 3/4 -m comment --comment pmtu -j ACCEPT');
    expect(dns[6]).toContain(
      '-A FORWARD -s fd00:1::/64 -d fd00:2::1/128 -p tcp -m tcp --dport 53 -m comment --comment dns-tcp -j ACCEPT',
    );
    expect(dns[6]).toContain('-A FORWARD -p ipv6-icmp -m icmp6 --icmpv6-type 2 -m comment --comment pmtu6 -j ACCEPT');
    expect(dns[6].filter((l) => / --comment pmtu /.test(l))).toEqual([]); // ICMP (IPv4) only

    const ws = save(loadRuleSet('rules/workstation.yaml').ruleset);
    expect(ws[4].slice(0, 3)).toEqual([':INPUT DROP [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]']);
    expect(ws[6]).toContain('-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 135 -m comment --comment ndp -j ACCEPT');

    const host = save(ok(HAND.host).ruleset);
    expect(host[4].slice(0, 3)).toEqual([':INPUT DROP [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT DROP [0:0]']);
    expect(host[4]).toContain('-A INPUT -p tcp -m comment --comment "policy reject" -j REJECT --reject-with tcp-reset');
    expect(host[4]).toContain(
      '-A INPUT -m comment --comment "policy reject" -j REJECT --reject-with icmp-port-unreachable',
    );
    expect(host[6]).toContain(
      '-A INPUT -m comment --comment "policy reject" -j REJECT --reject-with icmp6-port-unreachable',
    );
    expect(host[6]).toContain('-A FORWARD -d fd00:5::/64 -p tcp -m comment --comment routed -j ACCEPT');
    expect(host[4].filter((l) => l.startsWith('-A FORWARD') && !/ctstate|policy reject/.test(l))).toEqual([]); // routed is IPv6 only
    expect(host[4]).toContain('-A OUTPUT -p tcp -m multiport --dports 80,443 -m comment --comment web-out -j ACCEPT');

    const stateless = save(ok(HAND.stateless).ruleset);
    expect(stateless[4].join('\n')).not.toMatch(/conntrack/);

    const quoted = save(ok(HAND.reject).ruleset);
    expect(quoted[4]).toContain(
      String.raw`-A FORWARD -p tcp -m tcp --dport 22 -m comment --comment "odd\"id\\with\'quotes#" -j ACCEPT`,
    );
    expect(quoted[4]).toContain(
      '-A FORWARD -p udp -m comment --comment udp-rej -j REJECT --reject-with icmp-port-unreachable',
    );

    const icmp = save(ok(HAND.icmp).ruleset);
    expect(icmp[4]).toContain('-A FORWARD -p icmp -m icmp --icmp-type 8 -m comment --comment ping -j ACCEPT');
    expect(icmp[6]).toContain(
      '-A FORWARD -p ipv6-icmp -m icmp6 --icmpv6-type 2/0 -m comment --comment too-big -j ACCEPT',
    );
    // A type list (nft's set) is one iptables rule per type, and per code when codes are listed too.
    const rulesOf = (lines: string[], id: string) => lines.filter((l) => l.includes(`--comment ${id} `));
    expect(rulesOf(icmp[6], 'nd-set')).toEqual(
      [135, 136, 200].map(
        (t) => `-A FORWARD -p ipv6-icmp -m icmp6 --icmpv6-type ${t} -m comment --comment nd-set -j ACCEPT`,
      ),
    );
    expect(rulesOf(icmp[4], 'errors-set')).toEqual(
      ['3/3', '3/0', '3/4', '11/3', '11/0', '11/4'].map(
        (tc) => `-A FORWARD -p icmp -m icmp --icmp-type ${tc} -m comment --comment errors-set -j DROP`,
      ),
    );
  });
});

describe('fwemu export --format iptables (CLI)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'fwemu-ipt-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('prints what exportIptables() returns', async () => {
    const r = await fwemuIn(['export', '--format', 'iptables', 'rules/dns-resolver.yaml']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(exportIptables(loadRuleSet('rules/dns-resolver.yaml').ruleset));
  });

  it('--split PREFIX writes PREFIX.v4 and PREFIX.v6 and says so on stderr', async () => {
    const prefix = join(tmp, 'rules');
    const r = await fwemuIn(['export', '--format', 'iptables', '--split', prefix, 'rules/workstation.yaml']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${prefix}.v4`);
    const rs = loadRuleSet('rules/workstation.yaml').ruleset;
    expect(readFileSync(`${prefix}.v4`, 'utf8')).toBe(iptablesRestoreFile(rs, 4));
    expect(readFileSync(`${prefix}.v6`, 'utf8')).toBe(iptablesRestoreFile(rs, 6));
  });

  it('--split without --format iptables, or into a missing directory: exit 2, one line', async () => {
    const a = await fwemuIn(['export', '--split', join(tmp, 'x'), 'rules/web-server.yaml']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--split needs --format iptables/);
    expect(existsSync(join(tmp, 'x.v4'))).toBe(false);
    const b = await fwemuIn([
      'export',
      '--format',
      'iptables',
      '--split',
      join(tmp, 'no/such/dir/rules'),
      'rules/web-server.yaml',
    ]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/cannot write .*no\/such\/dir\/rules\.v4: no such directory/);
  });

  it('--help shows an iptables example', async () => {
    const r = await fwemuIn(['export', '--help']);
    expect(r.stdout).toMatch(/--format iptables --split/);
    expect(r.stdout).toMatch(/iptables/);
  });
});
