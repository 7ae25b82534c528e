/**
 * The firewall model written back as fwemu's YAML (`fwemu import`): the
 * rules of an nftables or iptables ruleset in the form a user can read,
 * edit and keep, which the loader reads into the same model. Each rule is
 * one flow mapping after a comment naming its origin
 * (`# /etc/nftables.conf:23: tcp dport 22 drop`); each chain's comment
 * names its table.
 *
 * What the YAML cannot hold is said in comments, never left out silently:
 * statements that never change a verdict (a rule's `ignored`), rules
 * --lenient made inert (commented out with their stated meaning: a rule
 * that never matches changes nothing), the ignored constructs of each file.
 *
 * Every user string is written either as a YAML scalar that reads back as
 * the same string (plain when that is safe, else double-quoted with every
 * character outside printable text escaped), or inside a `#` comment made
 * visible by commentLine(): no string can end its line or its scalar.
 */
import { hopWords } from '../rules/fw-hop-values.js';
import type {
  AddrMatch,
  FibMatch,
  FwChain,
  FwInterface,
  FwRule,
  NamedSet,
  NegatableCondition,
  PortMatch,
} from '../rules/firewall.js';
import type { IgnoredConstruct } from '../rules/import/types.js';
import type { Cidr, PortRange, RuleSet } from '../rules/types.js';
import { parseCidr } from '../rules/cidr.js';
import { isJsonRawUnsafe } from '../base/text-escape.js';
import { commentLine } from './comment.js';

/** What `fwemu import` writes besides the ruleset: the files it came from and what they left out. */
export interface YamlHeader {
  /** "FILE (FORMAT)" per file read. */
  sources: string[];
  ignored: readonly IgnoredConstruct[];
}

const PLAIN = /^[A-Za-z0-9_][A-Za-z0-9_./+-]*$/;
/** What YAML 1.2's core schema reads as something other than a string. */
const NOT_STRING =
  /^([-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9]*)?)([eE][-+]?[0-9]+)?|0x[0-9a-fA-F]+|0o[0-7]+|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)|true|True|TRUE|false|False|FALSE|null|Null|NULL|~)$/;

/** `s` as a YAML scalar that reads back as exactly `s`. */
export function yamlString(s: string): string {
  if (PLAIN.test(s) && !NOT_STRING.test(s)) return s;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c >= 0x20 && c < 0x7f) out += s[i];
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out += s[i] + s[i + 1];
        i++;
      } else out += `\\u${c.toString(16).padStart(4, '0')}`;
    } else if (c >= 0xa0 && !(c >= 0xd800 && c <= 0xdfff) && c !== 0xfeff && !isJsonRawUnsafe(c))
      // (bidirectional controls and line separators escaped too: the YAML goes to terminals)
      out += s[i];
    else out += `\\u${c.toString(16).padStart(4, '0')}`;
  }
  return `${out}"`;
}

function seq(items: readonly string[]): string {
  return items.length === 1 ? items[0] : `[${items.join(', ')}]`;
}

function cidrText(c: Cidr): string {
  return c.text.includes('/') || c.prefix === (c.version === 4 ? 32 : 128) ? c.text : `${c.text}/${c.prefix}`;
}

function addrs(m: AddrMatch): string {
  if (m.set !== null) return yamlString(`@${m.set}`);
  return seq([...m.cidrs.map((c) => yamlString(c.text)), ...m.ranges.map((r) => yamlString(r.text))]);
}

function portItem(p: PortRange): string {
  return p.lo === p.hi ? String(p.lo) : yamlString(`${p.lo}-${p.hi}`);
}

function ports(m: PortMatch): string {
  if (m.set !== null) return yamlString(`@${m.set}`);
  return seq(m.ranges.map(portItem));
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

/** The condition keys of a rule, each once: [key, value] in nft's order. */
function conditions(r: FwRule): [NegatableCondition | 'other', string, string][] {
  const out: [NegatableCondition | 'other', string, string][] = [];
  if (r.family !== null) out.push(['other', 'family', r.family === 4 ? 'ipv4' : 'ipv6']);
  if (r.iif !== null) out.push(['iif', 'iif', seq(r.iif.map(yamlString))]);
  if (r.oif !== null) out.push(['oif', 'oif', seq(r.oif.map(yamlString))]);
  if (r.proto !== 'any') out.push(['proto', 'proto', r.proto]);
  if (r.src !== null) out.push(['src', 'src', addrs(r.src)]);
  if (r.dst !== null) out.push(['dst', 'dst', addrs(r.dst)]);
  if (r.sport !== null) out.push(['sport', 'sport', ports(r.sport)]);
  if (r.dport !== null) out.push(['dport', 'dport', ports(r.dport)]);
  if (r.icmp !== null) {
    out.push(['icmp', 'type', seq(r.icmp.types.map(String))]);
    if (r.icmp.codes !== null) out.push(['icmp', 'code', seq(r.icmp.codes.map(String))]);
  }
  if (r.tcpFlags !== null)
    out.push(['tcpFlags', 'tcp_flags', yamlString(tcpFlagsWords(r.tcpFlags.value, r.tcpFlags.mask))]);
  if (r.ctState !== null) out.push(['ctState', 'ct_state', seq(r.ctState)]);
  if (r.ctStatus !== null) out.push(['ctStatus', 'ct_status', seq(r.ctStatus)]);
  if (r.pktType !== null) out.push(['pktType', 'pkttype', seq(r.pktType)]);
  if (r.mark) out.push(['mark', 'mark', yamlString(`${hex(r.mark.value)}/${hex(r.mark.mask)}`)]);
  const h = r.hopLimit;
  if (h)
    out.push(['other', 'hop_limit', h.lo === h.hi && !h.neg ? `${h.lo}` : yamlString(hopWords(h.lo, h.hi, h.neg))]);
  if (r.fib && r.fib.length > 0)
    out.push(['other', 'fib', `[${r.fib.map((f) => yamlString(fibWords(f))).join(', ')}]`]);
  if (r.limit !== null)
    out.push([
      'other',
      'limit',
      yamlString(`${r.limit.over ? 'over ' : ''}${r.limit.rate}/${r.limit.unit} burst ${r.limit.burst} packets`),
    ]);
  return out;
}

/**
 * nft's words for a fib condition, from its fields (a reader's text may
 * hold what the model leaves out, as `saddr . mark . iif`).
 */
function fibWords(f: FibMatch): string {
  const head = `${f.addr}${f.dev === null ? '' : ` . ${f.dev}`}`;
  if (f.result === 'oif-missing') return `${head} oif ${f.neg ? 'exists' : 'missing'}`;
  const types = f.types.length === 1 ? f.types[0] : `{ ${f.types.join(', ')} }`;
  return `${head} type ${f.neg ? '!= ' : ''}${types}`;
}

const FLAG_NAMES = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ecn', 'cwr'];

function flagWords(bits: number): string {
  return FLAG_NAMES.filter((_, i) => (bits & (1 << i)) !== 0).join(',');
}

/**
 * `value / mask` as nft writes it; none of the mask's flags set (iptables
 * `--tcp-flags ALL NONE`) is nft's `! fin,syn,...`, as nft list ruleset
 * prints `tcp flags & (fin | syn) == 0x0`. (fwemu's YAML loader does not
 * read that form yet: such a rule is refused when the YAML is loaded.)
 */
function tcpFlagsWords(value: number, mask: number): string {
  return value === 0 ? `! ${flagWords(mask)}` : `${flagWords(value)} / ${flagWords(mask)}`;
}

function natValue(r: FwRule): [string, string][] {
  const n = r.nat;
  if (n === null) return [];
  const out: [string, string][] = [];
  const p = n.ports === null ? null : n.ports.lo === n.ports.hi ? String(n.ports.lo) : `${n.ports.lo}-${n.ports.hi}`;
  if (n.kind === 'snat' || n.kind === 'dnat') {
    const a = n.addr;
    if (a === null) return [];
    const text =
      p === null
        ? a.text
        : a.version === 6
          ? `${
              a.text.includes('-')
                ? a.text
                    .split('-')
                    .map((x) => `[${x}]`)
                    .join('-')
                : `[${a.text}]`
            }:${p}`
          : `${a.text}:${p}`;
    out.push([n.kind, yamlString(text)]);
  } else out.push([n.kind, p === null ? 'true' : yamlString(p)]);
  if (n.flags.length > 0) out.push(['nat_flags', seq(n.flags)]);
  return out;
}

/** One rule as a flow mapping: `{ proto: tcp, dport: 22, action: drop }`. */
export function ruleYaml(r: FwRule, defaultId: string): string {
  const parts: string[] = [];
  if (r.id !== defaultId) parts.push(`id: ${yamlString(r.id)}`);
  if (r.comment !== null) parts.push(`comment: ${yamlString(r.comment)}`);
  const negated = new Set(r.not ?? []);
  const not: string[] = [];
  for (const [cond, key, value] of conditions(r)) {
    if (cond !== 'other' && negated.has(cond)) not.push(`${key}: ${value}`);
    else parts.push(`${key}: ${value}`);
  }
  if (not.length > 0) parts.push(`not: { ${not.join(', ')} }`);
  if (r.counter) parts.push('counter: true');
  if (r.log !== null) {
    const { prefix, level } = r.log;
    parts.push(
      level === null
        ? `log: ${prefix === null ? 'true' : yamlString(prefix)}`
        : `log: { ${prefix === null ? '' : `prefix: ${yamlString(prefix)}, `}level: ${level} }`,
    );
  }
  if (r.notrack) parts.push('notrack: true');
  if (r.markSet) parts.push(`mark_set: ${yamlString(`${hex(r.markSet.xor)}/${hex(~r.markSet.and)}`)}`);
  const nat = natValue(r);
  for (const [k, v] of nat) parts.push(`${k}: ${v}`);
  if (nat.length === 0) {
    if ((r.action === 'jump' || r.action === 'goto') && r.target !== null)
      parts.push(`${r.action}: ${yamlString(r.target)}`);
    else parts.push(`action: ${r.action}`);
  }
  if (r.rejectWith !== null) parts.push(`reject_with: ${yamlString(r.rejectWith)}`);
  return `{ ${parts.join(', ')} }`;
}

function originComment(o: FwRule['origin'], indent: string): string {
  return o ? `${indent}${commentLine(`${o.file}:${o.line}: ${o.text}`)}\n` : '';
}

function interfaceYaml(i: FwInterface): string | null {
  const builtIn = i.name === 'lo' ? ['127.0.0.1/8', '::1/128'] : [];
  const parts: string[] = [];
  const own: string[] = [];
  const networks = [...i.networks];
  for (const a of i.addresses) {
    const full = a.addr.version === 4 ? 32 : 128;
    // ADDR/PREFIX means this address and that network; a network elsewhere (a point-to-point peer's) is written apart.
    const withPrefix = `${a.addr.text}/${a.net.prefix}`;
    const back = parseCidr(withPrefix);
    const sameNet = back.ok && back.cidr.text === a.net.text;
    const text = sameNet ? withPrefix : `${a.addr.text}/${full}`;
    if (!sameNet) networks.push(a.net);
    if (!builtIn.includes(text)) own.push(yamlString(text));
  }
  if (own.length > 0) parts.push(`addresses: ${seq(own)}`);
  if (networks.length > 0) parts.push(`networks: ${seq(networks.map((n) => yamlString(cidrText(n))))}`);
  if (i.defaultRoute) parts.push('default: true');
  if (i.name === 'lo' && parts.length === 0) return null;
  return `  ${yamlString(i.name)}: { ${parts.join(', ')} }`.replace('{  }', '{}');
}

function setYaml(s: NamedSet): string {
  const elements =
    s.kind === 'inet_service'
      ? (s.ports?.ranges ?? []).map(portItem)
      : [
          ...(s.addrs?.cidrs ?? []).map((c) => yamlString(c.text)),
          ...(s.addrs?.ranges ?? []).map((r) => yamlString(r.text)),
        ];
  return `  ${yamlString(s.name)}: { type: ${s.kind}, elements: [${elements.join(', ')}] }`;
}

function chainYaml(c: FwChain): string {
  const out: string[] = [];
  if (c.origin || c.table) {
    const at = c.origin ? `${c.origin.file}:${c.origin.line}: ` : '';
    const table = c.table ? `table ${c.table}` : '';
    // A chain's origin is its name (nft) or its line (iptables-save's ":INPUT ACCEPT [0:0]").
    const text = c.origin?.text ?? c.name;
    const what =
      /\s/.test(text) || text.startsWith(':')
        ? `${table}${table ? ': ' : ''}${text}`
        : `${table}${table ? ', ' : ''}chain ${text}`;
    out.push(`  ${commentLine(`${at}${what}`)}`);
  }
  out.push(`  ${yamlString(c.name)}:`);
  if (c.hook !== null) {
    out.push(`    hook: ${c.hook}`, `    type: ${c.type}`, `    priority: ${c.priority}`, `    policy: ${c.policy}`);
  }
  if (c.family === 4 || c.family === 6) out.push(`    family: ${c.family === 4 ? 'ip' : 'ip6'}`);
  // (A rules: with only comments under it is an empty list to the loader.)
  out.push(c.rules.length === 0 ? '    rules: []' : '    rules:');
  let position = 0;
  for (const r of c.rules) {
    const origin = originComment(r.origin, '      ');
    for (const s of r.ignored ?? []) out.push(`      ${commentLine(`ignored: ${s} (never changes a verdict)`)}`);
    if (r.inert) {
      out.push(`${origin}      ${commentLine(`left out (--lenient): ${r.inert}`)}`.replace(/\n$/, ''));
      continue;
    }
    position++;
    out.push(`${origin}      - ${ruleYaml(r, `${c.name}-${position}`)}`);
  }
  return out.join('\n');
}

/**
 * The YAML of a firewall-model rule set; `header` adds what the import
 * read and left out, as comments at the top.
 */
export function firewallYaml(rs: RuleSet, header: YamlHeader | null): string {
  const fw = rs.firewall;
  if (!fw) throw new Error('firewallYaml: not a firewall-model rule set');
  const out: string[] = [];
  if (header !== null) {
    out.push(commentLine(`fwemu import of ${header.sources.join(', ')}`));
    for (const i of header.ignored)
      out.push(commentLine(`ignored: ${i.pos.file}:${i.pos.line} \`${i.text}\` - ${i.meaning}`));
  }
  out.push(`name: ${yamlString(rs.name)}`);
  const ifs = fw.interfaces.map(interfaceYaml).filter((x): x is string => x !== null);
  if (ifs.length > 0) {
    out.push('interfaces:');
    for (const i of ifs) out.push(i);
  }
  if (fw.sets.length > 0) {
    out.push('sets:');
    for (const s of fw.sets) out.push(setYaml(s));
  }
  // (A ruleset of bridge, arp or netdev tables only leaves no chain: an empty mapping, not a missing value.)
  out.push(fw.chains.length === 0 ? 'chains: {}' : 'chains:');
  for (const c of fw.chains) out.push(chainYaml(c));
  return `${out.join('\n')}\n`;
}
