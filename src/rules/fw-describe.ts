/**
 * The firewall model as `fwemu check` lists it: interfaces with their
 * routes, sets, and each chain's rules in nft-like words with their
 * positions. Every string from the file is made visible (one line each).
 */
import { visible } from '../base/text-escape.js';
import { formatPos } from '../base/diag.js';
import { CONNTRACK_PRIORITY, originPlace } from './firewall.js';
import { markText } from './fw-meta-values.js';
import { icmpRuleWords } from './icmp.js';
import type { AddrMatch, Firewall, FwRule, NegatableCondition, PortMatch } from './firewall.js';

function set(items: string[]): string {
  return items.length === 1 ? items[0] : `{ ${items.join(', ')} }`;
}

function addrs(m: AddrMatch): string {
  if (m.set !== null) return `@${visible(m.set)}`;
  return set([...m.cidrs.map((c) => c.text), ...m.ranges.map((r) => r.text)]);
}

function ports(m: PortMatch): string {
  if (m.set !== null) return `@${visible(m.set)}`;
  return set(m.ranges.map((p) => (p.lo === p.hi ? `${p.lo}` : `${p.lo}-${p.hi}`)));
}

/** One line, nft-like: "iif lan0 oif wan0 tcp dport 22 ct state new accept"; a negated condition reads "!=". */
export function describeFwRule(r: FwRule): string {
  const parts: string[] = [];
  const n = (k: NegatableCondition) => (r.not?.includes(k) ? '!= ' : '');
  if (r.family !== null) parts.push(r.family === 4 ? 'ipv4' : 'ipv6');
  if (r.iif) parts.push(`iif ${n('iif')}${set(r.iif.map(visible))}`);
  if (r.oif) parts.push(`oif ${n('oif')}${set(r.oif.map(visible))}`);
  if (r.ctState) parts.push(`ct state ${n('ctState')}${r.ctState.join(',')}`);
  if (r.ctStatus) parts.push(`ct status ${n('ctStatus')}${r.ctStatus.join(',')}`);
  if (r.pktType) parts.push(`pkttype ${n('pktType')}${set(r.pktType)}`);
  if (r.mark) parts.push(markText(r.mark.value, r.mark.mask, r.not?.includes('mark')));
  if (r.proto !== 'any') parts.push(r.not?.includes('proto') ? `l4proto != ${r.proto}` : r.proto);
  if (r.src) parts.push(`src ${n('src')}${addrs(r.src)}`);
  if (r.dst) parts.push(`dst ${n('dst')}${addrs(r.dst)}`);
  if (r.sport) parts.push(`sport ${n('sport')}${ports(r.sport)}`);
  if (r.dport) parts.push(`dport ${n('dport')}${ports(r.dport)}`);
  if (r.icmp) {
    const w = icmpRuleWords(r.proto, r.icmp);
    parts.push(`type ${n('icmp')}${set(w.types)}`);
    if (w.codes !== null) parts.push(`code ${set(w.codes)}`);
  }
  if (r.tcpFlags) parts.push(`tcp flags ${n('tcpFlags')}${r.tcpFlags.text}`);
  if (r.hopLimit) parts.push(visible(r.hopLimit.text));
  for (const f of r.fib ?? []) parts.push(f.text);
  if (r.limit) parts.push(`limit ${r.limit.text}`);
  if (r.counter) parts.push('counter');
  if (r.log) parts.push(r.log.prefix !== null ? `log "${visible(r.log.prefix)}"` : 'log');
  if (r.markSet) parts.push(r.markSet.text);
  if (r.notrack) parts.push('notrack');
  if (r.nat) parts.push(visible(r.nat.text));
  else if (r.action === 'jump' || r.action === 'goto') parts.push(`${r.action} ${visible(r.target ?? '')}`);
  else if (r.action === 'reject' && r.rejectWith) parts.push(`reject with ${visible(r.rejectWith)}`);
  else parts.push(r.action);
  return parts.join(' ');
}

/** The lines `fwemu check` prints for the firewall model (after the name line). */
export function firewallLines(fw: Firewall): string[] {
  const out: string[] = [];
  out.push('  model: firewall (interfaces, routes and chains as nftables walks them)');
  for (const i of fw.interfaces) {
    const a = i.addresses.map((x) => `${x.addr.text}/${x.net.prefix}`);
    const n = i.networks.map((c) => c.text);
    const parts = [a.length ? a.join(', ') : 'no address'];
    if (n.length) parts.push(`routes ${n.join(', ')}`);
    if (i.defaultRoute) parts.push('default route');
    out.push(`  interface ${visible(i.name)}: ${parts.join('; ')}`);
  }
  for (const s of fw.sets) {
    const items = s.addrs ? addrs({ ...s.addrs, set: null }) : s.ports ? ports({ ...s.ports, set: null }) : '{ }';
    out.push(`  set ${visible(s.name)} (${s.kind}): ${items}`);
  }
  for (const c of fw.chains) {
    const fam = c.family === 4 ? 'IPv4 only, ' : c.family === 6 ? 'IPv6 only, ' : '';
    const table = c.table ? `table ${visible(c.table)}, ` : '';
    const from = c.origin ? ` (${visible(c.origin.file)}:${c.origin.line})` : '';
    const head =
      c.hook !== null
        ? `chain ${visible(c.name)} (${table}${fam}${c.type}, hook ${c.hook}, priority ${c.priority}${c.priority < CONNTRACK_PRIORITY ? ': before conntrack, ct state reads invalid' : ''}), policy ${c.policy}:${from}`
        : `chain ${visible(c.name)} (${table}user chain: reached by jump or goto):${from}`;
    out.push(`  ${head}`);
    if (c.rules.length === 0) out.push('    (no rules)');
    let w = 0;
    for (const r of c.rules) w = Math.max(w, visible(r.id).length);
    for (const r of c.rules) {
      const comment = r.comment ? `  # ${visible(r.comment.split('\n')[0])}` : '';
      const at = r.origin ? `${visible(r.origin.file)}:${originPlace(r.origin)}` : formatPos(r.pos);
      out.push(
        `    ${String(r.index).padStart(3)}  ${visible(r.id).padEnd(w)}  ${describeFwRule(r)}  (${at})${comment}`,
      );
      const pad = ' '.repeat(9 + w);
      if (r.origin) out.push(`${pad}as written: ${visible(r.origin.text)}`);
      if (r.inert) out.push(`${pad}inert: ${visible(r.inert)}`);
      for (const x of r.ignored ?? [])
        out.push(`${pad}ignored: ${visible(x)} (accepted and left out: it never changes a verdict)`);
    }
  }
  return out;
}
