import { icmpRuleWords } from '../rules/icmp.js';
import { CONNTRACK_DEFAULTS, IPV4_DEFAULTS } from '../rules/spec.js';
import type { Action, Chain, Cidr, PortRange, Rule, RuleSet } from '../rules/types.js';
import { visible } from '../base/text-escape.js';
import { commentLine, commentWarnings, ruleComment, shortText } from './comment.js';
import { exportNftFirewall } from './nft-firewall.js';

/**
 * An nftables ruleset that does what a rule file does: the same chains, the
 * usual stateful preamble, one nft rule per YAML rule (two when its address
 * lists mix IPv4 and IPv6) carrying the YAML id as its comment (made safe
 * and cut to nft's 128 bytes, see nftComment()), and the policy. It is how a tested
 * policy is deployed, and what the kernel conformance suite loads to compare
 * fwemu with Linux.
 */

const HOOK: Record<Chain, string> = { forward: 'forward', input: 'input', output: 'output' };

/**
 * nft refuses a comment longer than 128 bytes ("comment too long, 128
 * characters maximum allowed": nftables checks strlen() against libnftnl's
 * NFTNL_UDATA_COMMENT_MAXLEN, so the count is in bytes of UTF-8, whatever
 * the message says).
 */
export const NFT_COMMENT_MAX_BYTES = 128;

/**
 * nft takes every byte between the double quotes of a comment as it is: a
 * backslash is no escape (`"a\\b"` is stored as a, two backslashes, b, and
 * counts 4 bytes), and there is no way to write a double quote inside
 * (`"a\"b"` is a syntax error). So an id is made visible (no control
 * character, no line break: text-escape.ts), each `"` in it becomes `'`,
 * and that text, exactly the bytes nft counts, is the comment, through
 * ruleComment() (comment.ts): cut to NFT_COMMENT_MAX_BYTES with a hash of
 * the id when too long, a hash added when it is not the id itself.
 */
export function nftCommentText(id: string): string {
  return ruleComment(id, NFT_COMMENT_MAX_BYTES, (s) => visible(s).replaceAll('"', "'"));
}

/** A rule id as an nft comment, quotes included: the only way an id enters an nft ruleset. */
export function nftComment(id: string): string {
  return `"${nftCommentText(id)}"`;
}

/** Warnings about the rule comments of exportNft(rs): see commentWarnings() (comment.ts). */
export function nftCommentWarnings(rs: RuleSet): string[] {
  return commentWarnings(rs, 'nft', NFT_COMMENT_MAX_BYTES, nftCommentText);
}

/**
 * Why `name` cannot be an nft table name, or null: a plain identifier (a
 * letter or _, then letters, digits, _ and -, at most 255 bytes, nft's
 * NFT_NAME_MAXLEN less its NUL). Anything else could end the `table`
 * statement it is written into.
 */
export function nftTableNameProblem(name: string): string | null {
  if (/^[A-Za-z_][A-Za-z0-9_-]{0,254}$/.test(name)) return null;
  return `the nft table name "${visible(name)}" must be a letter or _, then letters, digits, _ or - (at most 255), e.g. fwemu`;
}

function ports(r: PortRange[]): string {
  const items = r.map((p) => (p.lo === p.hi ? `${p.lo}` : `${p.lo}-${p.hi}`));
  return items.length === 1 ? items[0] : `{ ${items.join(', ')} }`;
}

function nftSet(items: string[]): string {
  return items.length === 1 ? items[0] : `{ ${items.join(', ')} }`;
}

function addrSet(list: Cidr[]): string {
  const items = list.map((c) => c.text);
  return items.length === 1 ? items[0] : `{ ${items.join(', ')} }`;
}

function verdict(action: Action, proto: string): string {
  if (action !== 'reject') return action;
  // A TCP client learns fastest from a reset; everything else gets "port unreachable".
  return proto === 'tcp' ? 'reject with tcp reset' : 'reject with icmpx port-unreachable';
}

/** IP families a rule must be written out for: null = one nft rule for both. */
function families(rule: Rule): (4 | 6 | null)[] {
  if (!rule.src && !rule.dst) return [null];
  return ([4, 6] as const).filter(
    (fam) =>
      (!rule.src || rule.src.some((c) => c.version === fam)) &&
      (!rule.dst || rule.dst.some((c) => c.version === fam)) &&
      !(rule.proto === 'icmp' && fam === 6) &&
      !(rule.proto === 'icmpv6' && fam === 4),
  );
}

/** The nft statements of one YAML rule: one line per IP family its addresses need. */
export function nftRuleLines(rule: Rule): string[] {
  return families(rule).map((fam) => {
    const parts: string[] = [];
    if (fam !== null) {
      const ip = fam === 4 ? 'ip' : 'ip6';
      if (rule.src) parts.push(`${ip} saddr ${addrSet(rule.src.filter((c) => c.version === fam))}`);
      if (rule.dst) parts.push(`${ip} daddr ${addrSet(rule.dst.filter((c) => c.version === fam))}`);
    }
    if (rule.proto === 'tcp' || rule.proto === 'udp') {
      if (!rule.sport && !rule.dport) parts.push(`meta l4proto ${rule.proto}`);
      if (rule.sport) parts.push(`${rule.proto} sport ${ports(rule.sport)}`);
      if (rule.dport) parts.push(`${rule.proto} dport ${ports(rule.dport)}`);
    } else if (rule.proto === 'icmp' || rule.proto === 'icmpv6') {
      if (rule.icmp) {
        // A list is an anonymous set.
        const w = icmpRuleWords(rule.proto, rule.icmp);
        parts.push(`${rule.proto} type ${nftSet(w.types)}`);
        if (w.codes !== null) parts.push(`${rule.proto} code ${nftSet(w.codes)}`);
      } else {
        parts.push(`meta l4proto ${rule.proto === 'icmp' ? 'icmp' : 'ipv6-icmp'}`);
      }
    } else if (fam === null) {
      parts.push('meta nfproto { ipv4, ipv6 }'); // proto any, no addresses: every IP packet
    }
    parts.push(verdict(rule.action, rule.proto), `comment ${nftComment(rule.id)}`);
    return parts.join(' ');
  });
}

function policyLines(action: Action): { policy: string; tail: string[] } {
  if (action !== 'reject') return { policy: action, tail: [] };
  // nft chains cannot have a reject policy: reject explicitly, then drop what is left.
  return {
    policy: 'drop',
    tail: [
      'meta l4proto tcp reject with tcp reset comment "policy reject"',
      'reject with icmpx port-unreachable comment "policy reject"',
    ],
  };
}

/** The chains the rule set uses. */
export function chainsOf(rs: RuleSet): Chain[] {
  if (rs.model === 'gateway') return ['forward'];
  const chains: Chain[] = ['input', 'output'];
  if (rs.rules.some((r) => r.chain === 'forward')) chains.push('forward');
  return chains;
}

/** sysctl settings (net.netfilter.nf_conntrack_*) the rule set asks for, as name → value. */
export function conntrackSysctls(rs: RuleSet, onlyChanged = false): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(rs.conntrack)) {
    const def = (CONNTRACK_DEFAULTS as unknown as Record<string, number | boolean>)[key];
    if (onlyChanged && value === def) continue;
    out[`nf_conntrack_${key}`] = typeof value === 'boolean' ? (value ? 1 : 0) : value;
  }
  return out;
}

/** The policy of a chain: the output chain has its own (a host's own traffic), the others the rule set's. */
export function chainPolicy(rs: RuleSet, chain: Chain): Action {
  return chain === 'output' ? rs.outputPolicy : rs.policy;
}

/**
 * The sysctls the policy assumes that differ from the kernel's defaults, by
 * their full names, in an order `sysctl -w` accepts from the defaults: the
 * kernel refuses a low_thresh above the high_thresh in force, and a
 * high_thresh below the low_thresh in force, so of a low/high pair the one
 * that keeps low <= high at every step goes first.
 */
export function changedSysctls(rs: RuleSet): [string, number][] {
  const out: [string, number][] = Object.entries(conntrackSysctls(rs, true)).map(([k, v]) => [`net.netfilter.${k}`, v]);
  for (const [key, value] of Object.entries(rs.ipv4)) {
    if (value !== (IPV4_DEFAULTS as unknown as Record<string, number>)[key]) out.push([`net.ipv4.${key}`, value]);
  }
  for (const [low, high, defaultHigh] of [
    [
      'net.netfilter.nf_conntrack_frag6_low_thresh',
      'net.netfilter.nf_conntrack_frag6_high_thresh',
      CONNTRACK_DEFAULTS.frag6_high_thresh,
    ],
    ['net.ipv4.ipfrag_low_thresh', 'net.ipv4.ipfrag_high_thresh', IPV4_DEFAULTS.ipfrag_high_thresh],
  ] as const) {
    const li = out.findIndex(([k]) => k === low);
    const hi = out.findIndex(([k]) => k === high);
    if (li < 0 || hi < 0) continue;
    // Low first while it fits under the default high; otherwise high first.
    const lowFirst = out[li][1] <= defaultHigh;
    if (lowFirst !== li < hi) [out[li], out[hi]] = [out[hi], out[li]];
  }
  return out;
}

/** Comment lines naming the sysctls the policy assumes (none when it keeps the kernel's defaults): both exports carry them. */
export function sysctlCommentLines(rs: RuleSet): string[] {
  const changed = changedSysctls(rs);
  if (changed.length === 0) return [];
  return [
    '# Kernel settings this policy assumes (apply with sysctl, in this order):',
    ...changed.map(([k, v]) => commentLine(`  sysctl -w ${k}=${v}`)),
  ];
}

export function exportNft(rs: RuleSet, tableName = 'fwemu'): string {
  const bad = nftTableNameProblem(tableName);
  if (bad !== null) throw new Error(bad);
  // The firewall model (interfaces, sets, chains) has its own export; the simple model's below is unchanged.
  if (rs.firewall) return `#!/usr/sbin/nft -f\n${exportNftFirewall(rs, rs.firewall, tableName)}`;
  const out: string[] = [];
  out.push(`#!/usr/sbin/nft -f`);
  out.push(
    commentLine(`Generated by fwemu from ${shortText(rs.file)} (${shortText(rs.name)}). Load with: nft -f FILE`),
  );
  for (const l of sysctlCommentLines(rs)) out.push(l);
  out.push(`table inet ${tableName}`);
  out.push(`delete table inet ${tableName}`);
  out.push(`table inet ${tableName} {`);
  for (const chain of chainsOf(rs)) {
    const { policy, tail } = policyLines(chainPolicy(rs, chain));
    out.push(`  chain ${chain} {`);
    out.push(`    type filter hook ${HOOK[chain]} priority filter; policy ${policy};`);
    if (rs.stateful) {
      out.push('    ct state established,related accept');
      out.push('    ct state invalid drop');
    }
    for (const rule of rs.rules.filter((r) => r.chain === chain)) {
      for (const line of nftRuleLines(rule)) out.push(`    ${line}`);
    }
    for (const line of tail) out.push(`    ${line}`);
    out.push('  }');
  }
  out.push('}');
  return out.join('\n') + '\n';
}
