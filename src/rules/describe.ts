/** Human-readable views of rules and rule sets (cold path: `fwemu check`, reasons in reports). */
import type { CompiledRule } from './compile.js';
import { ruleName } from './shadow.js';
import { firewallLines } from './fw-describe.js';
import { icmpRuleWords } from './icmp.js';
import { CONNTRACK_DEFAULTS, CONNTRACK_KEYS, IPV4_DEFAULTS, IPV4_KEYS } from './spec.js';
import { visible } from '../base/text-escape.js';
import { formatDiagnostic, formatPos, type Diagnostic } from '../base/diag.js';
import type { Chain, Cidr, PortRange, Rule, RuleSet } from './types.js';

function asRule(r: Rule | CompiledRule): Rule {
  return 'rule' in r ? r.rule : r;
}

function set(items: string[]): string {
  return items.length === 1 ? items[0] : `{${items.join(', ')}}`;
}

function ports(p: PortRange[]): string {
  return set(p.map((r) => (r.lo === r.hi ? String(r.lo) : `${r.lo}-${r.hi}`)));
}

function addrs(c: Cidr[]): string {
  return set(c.map((x) => x.text));
}

/** One line, nftables-like: "tcp dport 8080 src 10.1.0.0/16 accept". */
export function describeRule(rule: Rule | CompiledRule): string {
  const r = asRule(rule);
  const parts: string[] = [];
  if (r.proto !== 'any') parts.push(r.proto);
  if (r.sport) parts.push(`sport ${ports(r.sport)}`);
  if (r.dport) parts.push(`dport ${ports(r.dport)}`);
  if (r.icmp) {
    const w = icmpRuleWords(r.proto, r.icmp);
    parts.push(`type ${set(w.types)}`);
    if (w.codes !== null) parts.push(`code ${set(w.codes)}`);
  }
  if (r.src) parts.push(`src ${addrs(r.src)}`);
  if (r.dst) parts.push(`dst ${addrs(r.dst)}`);
  if (parts.length === 0) parts.push('any');
  parts.push(r.action);
  return parts.join(' ');
}

/**
 * "rule web (rules/web-server.yaml:5)": how reports cite a rule. The id and
 * file name are made visible (text-escape.ts): a rule set built in code, or
 * a file name, may hold control characters a rule file's id may not.
 */
export function ruleRef(rule: Rule | CompiledRule): string {
  const r = asRule(rule);
  let ref = refs.get(r);
  // Made once per rule (reports cite a rule on every packet it decides), again when what it shows changed.
  if (
    ref === undefined ||
    ref.id !== r.id ||
    ref.idGiven !== r.idGiven ||
    ref.index !== r.index ||
    ref.pos !== r.pos ||
    ref.file !== r.pos.file ||
    ref.line !== r.pos.line
  ) {
    ref = {
      id: r.id,
      idGiven: r.idGiven,
      index: r.index,
      pos: r.pos,
      file: r.pos.file,
      line: r.pos.line,
      text: `${visible(ruleName(r))} (${visible(r.pos.file)}:${r.pos.line})`,
    };
    refs.set(r, ref);
  }
  return ref.text;
}

const refs = new WeakMap<
  Rule,
  { id: string; idGiven: boolean; index: number; pos: Rule['pos']; file: string; line: number; text: string }
>();

/** A setting as sysctl shows it: switches as 0/1. */
function sysctl(v: number | boolean): string {
  return typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
}

const CHAIN_HELP: Record<Chain, string> = {
  input: 'packets to the host',
  output: 'packets from the host',
  forward: 'packets crossing the firewall',
};

/**
 * A multi-line listing of a rule set, for `fwemu check`: model, policies,
 * conntrack settings that differ from the defaults, each chain's rules in
 * order with their positions, then the warnings.
 */
export function formatRuleSet(rs: RuleSet, warnings: readonly Diagnostic[] = []): string {
  const out: string[] = [];
  // Free text from the file (name, description, comments) and the file name, each made visible: one line each.
  out.push(
    `${visible(rs.name)} (${visible(rs.file)})${rs.description ? `: ${visible(rs.description.trim().split('\n')[0])}` : ''}`,
  );
  const fw = rs.firewall;
  const fwLines = fw ? firewallLines(fw) : [];
  if (fw) out.push(fwLines[0]);
  else if (rs.model === 'host') {
    out.push(`  model: host ${addrs(rs.hostAddrs ?? [])} (input: ${CHAIN_HELP.input}; output: ${CHAIN_HELP.output})`);
  } else {
    out.push('  model: gateway (every packet crosses the firewall: forward chain)');
  }
  if (rs.stateful) {
    const changed = CONNTRACK_KEYS.filter((k) => rs.conntrack[k] !== CONNTRACK_DEFAULTS[k]).map(
      (k) => `${k} ${sysctl(rs.conntrack[k])} (default ${sysctl(CONNTRACK_DEFAULTS[k])})`,
    );
    // (net.ipv4.ipfrag_*: IPv4 reassembly in front of conntrack.)
    if (rs.ipv4)
      for (const k of IPV4_KEYS)
        if (rs.ipv4[k] !== IPV4_DEFAULTS[k]) changed.push(`${k} ${rs.ipv4[k]} (default ${IPV4_DEFAULTS[k]})`);
    out.push(
      `  stateful: yes (connection tracking${changed.length ? `; ${changed.join(', ')}` : ', default settings'})`,
    );
  } else {
    out.push('  stateful: no (every packet is matched against the rules)');
  }
  for (let i = 1; i < fwLines.length; i++) out.push(fwLines[i]);
  const chains: Chain[] = fw ? [] : rs.model === 'host' ? ['input', 'output', 'forward'] : ['forward'];
  for (const chain of chains) {
    const policy = chain === 'output' ? rs.outputPolicy : rs.policy;
    const rules = rs.rules.filter((r) => r.chain === chain);
    out.push(`  chain ${chain} (${CHAIN_HELP[chain]}), policy ${policy}:`);
    if (rules.length === 0) out.push('    (no rules)');
    let w = 0; // (a loop: Math.max(...ids) would pass every rule on the stack)
    for (const r of rules) w = Math.max(w, visible(r.id).length);
    for (const r of rules) {
      const text = describeRule(r);
      out.push(
        `    ${String(r.index).padStart(3)}  ${visible(r.id).padEnd(w)}  ${text}  (${formatPos(r.pos)})${r.comment ? `  # ${visible(r.comment.split('\n')[0])}` : ''}`,
      );
    }
  }
  if (warnings.length > 0) {
    out.push(`  ${warnings.length} warning${warnings.length === 1 ? '' : 's'}:`);
    for (const d of warnings) out.push(`    ${formatDiagnostic(d)}`);
  }
  return out.join('\n');
}
