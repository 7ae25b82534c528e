import { ruleFamilies } from '../rules/shadow.js';
import type { Action, Chain, Cidr, PortRange, Rule, RuleSet } from '../rules/types.js';
import { visible } from '../base/text-escape.js';
import { commentLine, commentWarnings, ruleComment, shortText } from './comment.js';
import { chainPolicy, chainsOf, sysctlCommentLines } from './nft.js';
import { exportIptablesFirewall, iptablesFirewallRestoreFile } from './iptables-firewall.js';

/**
 * An iptables-restore / ip6tables-restore pair that does what a rule file
 * does, with the same semantics as exportNft() (nft.ts): the same chains,
 * the same stateful preamble, the YAML rules in order with the YAML id as
 * each rule's comment, and the same verdicts and policies.
 *
 * iptables cannot say in one rule what nft says with sets, so one YAML rule
 * may become several iptables rules (all with the same comment and verdict,
 * so their order among themselves does not matter):
 * - one rule per source and per destination address of the file's family;
 * - port lists go through `-m multiport`, which takes at most 15 ports per
 *   rule (a range counts as two), so longer lists are split;
 * - a rule whose addresses or protocol are IPv4 only goes only to the IPv4
 *   file, IPv6 only to the IPv6 file (the same test the engine uses,
 *   ruleFamilies()); one that can match neither is left out, as in nft.
 */

export type IpFamily = 4 | 6;

const CHAIN_NAME: Record<Chain, string> = { input: 'INPUT', forward: 'FORWARD', output: 'OUTPUT' };

/** iptables' built-in filter chains, in the order iptables-save lists them. */
const BUILTIN: readonly Chain[] = ['input', 'forward', 'output'];

/** Ports one `-m multiport` match may hold; a range counts as two. */
export const MULTIPORT_MAX = 15;

const TARGET: Record<Exclude<Action, 'reject'>, string> = { accept: 'ACCEPT', drop: 'DROP' };

/** iptables-restore's comment match holds at most 255 bytes. */
const COMMENT_MAX_BYTES = 255;

/**
 * The comment of a rule id, before quoting: made visible (no control
 * character, no line break: text-escape.ts) and, when longer than
 * COMMENT_MAX_BYTES, cut with a hash of the id (ruleComment(), comment.ts).
 * The limit counts the comment itself, not its escaped form.
 */
export function iptablesCommentText(id: string): string {
  return ruleComment(id, COMMENT_MAX_BYTES, visible);
}

/**
 * A double-quoted argument as iptables-restore reads it (inside double
 * quotes, a backslash takes the next character as it is: `\"` and `\\`),
 * made visible first (a no-op on text that already is): a line break would
 * end the rule line.
 */
export function quoteArg(text: string): string {
  return `"${visible(text).replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** A rule id as `--comment "..."`: the only way an id enters an iptables ruleset. */
export function iptablesComment(id: string): string {
  return `--comment ${quoteArg(iptablesCommentText(id))}`;
}

/** Warnings about the rule comments of the iptables export: see commentWarnings() (comment.ts). */
export function iptablesCommentWarnings(rs: RuleSet): string[] {
  return commentWarnings(rs, 'iptables', COMMENT_MAX_BYTES, iptablesCommentText);
}

function portText(p: PortRange): string {
  return p.lo === p.hi ? `${p.lo}` : `${p.lo}:${p.hi}`;
}

/** Splits a port list into groups of at most MULTIPORT_MAX slots (a range takes two). */
export function multiportGroups(list: PortRange[]): PortRange[][] {
  const groups: PortRange[][] = [];
  let cur: PortRange[] = [];
  let used = 0;
  for (const p of list) {
    const cost = p.lo === p.hi ? 1 : 2;
    if (used + cost > MULTIPORT_MAX) {
      groups.push(cur);
      cur = [];
      used = 0;
    }
    cur.push(p);
    used += cost;
  }
  if (cur.length) groups.push(cur);
  return groups;
}

/** The alternatives for one port condition: each is the match text of one iptables rule ('' = any port). */
function portMatches(list: PortRange[] | null, dir: 's' | 'd'): string[] {
  if (list === null) return [''];
  if (list.length === 1) return [`--${dir}port ${portText(list[0])}`];
  return multiportGroups(list).map((g) => `-m multiport --${dir}ports ${g.map(portText).join(',')}`);
}

/**
 * The ICMP type/code matches of a rule for one family: iptables matches one
 * type (and code) per rule, so a list (nft's set) is one rule per type and
 * code; [''] when the rule has no ICMP condition.
 */
function icmpMatches(rule: Rule, fam: IpFamily): string[] {
  const icmp = rule.icmp;
  if (!icmp) return [''];
  const out: string[] = [];
  for (const type of icmp.types) for (const code of icmp.codes ?? [null]) out.push(icmpTypeCode(type, code, fam));
  return out;
}

export function icmpTypeCode(type: number, code: number | null, fam: IpFamily): string {
  const typeCode = code === null ? `${type}` : `${type}/${code}`;
  if (fam === 6) return `--icmpv6-type ${typeCode}`;
  if (type !== 255) return `--icmp-type ${typeCode}`;
  // In IPv4 iptables, type 255 means "any type" (net/ipv4/netfilter/ip_tables.c),
  // so a literal type 255 is read from the header with u32: the packet is not a
  // later fragment, and the first byte (type) or two (type, code) after the IP header match.
  const test = code === null ? '0>>24=0xff' : `0>>16=0x${(0xff00 | code).toString(16)}`;
  return `-m u32 --u32 "4&0x1fff=0&&0>>22&0x3c@${test}"`;
}

function target(action: Action, proto: string, fam: IpFamily): string {
  if (action !== 'reject') return `-j ${TARGET[action]}`;
  // As in nft.ts: a TCP client learns fastest from a reset; everything else gets "port unreachable".
  if (proto === 'tcp') return '-j REJECT --reject-with tcp-reset';
  return `-j REJECT --reject-with ${fam === 4 ? 'icmp-port-unreachable' : 'icmp6-port-unreachable'}`;
}

/** The families a rule is written out for: the ones it can match. */
export function ruleIpFamilies(rule: Rule): IpFamily[] {
  const f = ruleFamilies(rule);
  return [...(f.v4 ? [4 as const] : []), ...(f.v6 ? [6 as const] : [])];
}

/** The `-A CHAIN ...` lines of one YAML rule for one family (none when the rule cannot match that family). */
export function iptablesRuleLines(rule: Rule, fam: IpFamily): string[] {
  if (!ruleIpFamilies(rule).includes(fam)) return [];
  const of = (list: Cidr[] | null): (Cidr | null)[] => (list === null ? [null] : list.filter((c) => c.version === fam));
  let proto = '';
  if (rule.proto === 'icmpv6') proto = '-p ipv6-icmp';
  else if (rule.proto !== 'any') proto = `-p ${rule.proto}`;
  const icmps = icmpMatches(rule, fam);
  const tail = `-m comment ${iptablesComment(rule.id)} ${target(rule.action, rule.proto, fam)}`;
  const out: string[] = [];
  for (const src of of(rule.src)) {
    for (const dst of of(rule.dst)) {
      for (const sport of portMatches(rule.sport, 's')) {
        for (const dport of portMatches(rule.dport, 'd')) {
          for (const icmp of icmps) {
            const parts = [`-A ${CHAIN_NAME[rule.chain]}`];
            if (src) parts.push(`-s ${src.text}`);
            if (dst) parts.push(`-d ${dst.text}`);
            for (const p of [proto, sport, dport, icmp, tail]) if (p) parts.push(p);
            out.push(parts.join(' '));
          }
        }
      }
    }
  }
  return out;
}

/**
 * The `*filter ... COMMIT` block for one family. Every built-in chain is
 * declared so its policy is set whatever was loaded before; a chain the nft
 * export leaves out (input/output in the gateway model, forward in the host
 * model without forward rules) gets ACCEPT, which is what having no nft
 * chain on that hook means.
 */
export function iptablesFilterTable(rs: RuleSet, fam: IpFamily): string[] {
  const used = chainsOf(rs);
  const out: string[] = ['*filter'];
  for (const chain of BUILTIN) {
    const policy = used.includes(chain) ? chainPolicy(rs, chain) : 'accept';
    // iptables chains cannot have a reject policy: drop, and reject explicitly at the end (as nft.ts does).
    out.push(`:${CHAIN_NAME[chain]} ${policy === 'accept' ? 'ACCEPT' : 'DROP'} [0:0]`);
  }
  for (const chain of used) {
    const name = CHAIN_NAME[chain];
    if (rs.stateful) {
      out.push(`-A ${name} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`);
      out.push(`-A ${name} -m conntrack --ctstate INVALID -j DROP`);
    }
    for (const rule of rs.rules.filter((r) => r.chain === chain))
      for (const l of iptablesRuleLines(rule, fam)) out.push(l);
    if (chainPolicy(rs, chain) === 'reject') {
      out.push(`-A ${name} -p tcp -m comment --comment "policy reject" -j REJECT --reject-with tcp-reset`);
      out.push(`-A ${name} -m comment --comment "policy reject" ${target('reject', 'any', fam)}`);
    }
  }
  out.push('COMMIT');
  return out;
}

/** One complete file for iptables-restore (4) or ip6tables-restore (6). */
export function iptablesRestoreFile(rs: RuleSet, fam: IpFamily): string {
  // The firewall model (interfaces, sets, chains) has its own export; the simple model's below is unchanged.
  if (rs.firewall) return iptablesFirewallRestoreFile(rs, rs.firewall, fam);
  const tool = fam === 4 ? 'iptables-restore' : 'ip6tables-restore';
  const lines = [
    commentLine(
      `Generated by fwemu from ${shortText(rs.file)} (${shortText(rs.name)}): the IPv${fam} part. Load with: ${tool} < FILE`,
    ),
    ...sysctlCommentLines(rs),
    ...iptablesFilterTable(rs, fam),
  ];
  return lines.join('\n') + '\n';
}

/** Both rulesets in one text: the IPv4 part, then the IPv6 part, each a complete `*filter ... COMMIT` block. */
export function exportIptables(rs: RuleSet): string {
  if (rs.firewall) return exportIptablesFirewall(rs, rs.firewall);
  const out: string[] = [
    commentLine(`Generated by fwemu from ${shortText(rs.file)} (${shortText(rs.name)}).`),
    '# Two rulesets: feed the IPv4 part to iptables-restore and the IPv6 part to ip6tables-restore',
    '# (`fwemu export --format iptables --split PREFIX` writes them to PREFIX.v4 and PREFIX.v6).',
    ...sysctlCommentLines(rs),
    '# --- iptables-restore (IPv4) ---',
    ...iptablesFilterTable(rs, 4),
    '# --- ip6tables-restore (IPv6) ---',
    ...iptablesFilterTable(rs, 6),
  ];
  return out.join('\n') + '\n';
}
