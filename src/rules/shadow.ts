/**
 * Static checks on a loaded rule set: rules that can never match, and rules
 * shadowed by an earlier rule of the same chain. Conservative: a warning is
 * only given when it is certain (a rule covered by the union of several
 * earlier rules is not reported).
 */
import { cidrContains } from './cidr.js';
import type { Cidr, Diagnostic, PortRange, Rule, RuleSet } from './types.js';

const ALL4: Cidr = { version: 4, words: [0, 0, 0, 0], prefix: 0, text: '0.0.0.0/0' };
const ALL6: Cidr = { version: 6, words: [0, 0, 0, 0], prefix: 0, text: '::/0' };

/** How a rule refers to itself in messages: "rule web", or "rule #3" when it has no id. */
export function ruleName(r: Rule): string {
  return r.idGiven ? `rule ${r.id}` : `rule #${r.index}`;
}

/** Which IP versions a rule can match at all, given its proto and address families. */
export function ruleFamilies(r: Rule): { v4: boolean; v6: boolean } {
  const has = (c: Cidr[] | null, v: 4 | 6): boolean => c === null || c.some((x) => x.version === v);
  return {
    v4: r.proto !== 'icmpv6' && has(r.src, 4) && has(r.dst, 4),
    v6: r.proto !== 'icmp' && has(r.src, 6) && has(r.dst, 6),
  };
}

/** The addresses a rule really matches in one direction: its list limited to feasible families, or /0 per family. */
function effective(list: Cidr[] | null, fam: { v4: boolean; v6: boolean }): Cidr[] {
  if (list === null) return [...(fam.v4 ? [ALL4] : []), ...(fam.v6 ? [ALL6] : [])];
  return list.filter((c) => (c.version === 4 ? fam.v4 : fam.v6));
}

function addrsCover(a: Cidr[], b: Cidr[]): boolean {
  return b.every((x) => a.some((y) => cidrContains(y, x)));
}

function portsCover(a: PortRange[] | null, b: PortRange[] | null): boolean {
  if (a === null) return true;
  if (b === null) return false;
  // a is sorted and merged (adjacent ranges joined), so containment in the union is containment in one range
  return b.every((x) => a.some((y) => y.lo <= x.lo && x.hi <= y.hi));
}

/** True when every packet `b` matches is also matched by `a` (conservatively: false when unsure). */
export function ruleCovers(a: Rule, b: Rule): boolean {
  if (a.proto !== 'any' && a.proto !== b.proto) return false;
  if (!portsCover(a.sport, b.sport) || !portsCover(a.dport, b.dport)) return false;
  if (a.icmp !== null) {
    if (b.icmp === null || a.icmp.type !== b.icmp.type) return false;
    if (a.icmp.code !== null && a.icmp.code !== b.icmp.code) return false;
  }
  const fa = ruleFamilies(a);
  const fb = ruleFamilies(b);
  if ((fb.v4 && !fa.v4) || (fb.v6 && !fa.v6)) return false;
  return addrsCover(effective(a.src, fa), effective(b.src, fb)) && addrsCover(effective(a.dst, fa), effective(b.dst, fb));
}

function warning(r: Rule, message: string): Diagnostic {
  return { file: r.pos.file, line: r.pos.line, col: r.pos.col, message, severity: 'warning' };
}

/** Warnings about rules that can never match or are shadowed by an earlier rule of the same chain. */
export function analyzeRules(rs: RuleSet): Diagnostic[] {
  const out: Diagnostic[] = [];
  const live: Rule[] = [];
  for (const r of rs.rules) {
    const f = ruleFamilies(r);
    const name = ruleName(r);
    if (!f.v4 && !f.v6) {
      let why: string;
      if (r.proto === 'icmp') why = 'proto icmp is ICMP for IPv4, but its addresses are IPv6 only; use proto icmpv6';
      else if (r.proto === 'icmpv6') why = 'proto icmpv6 is ICMP for IPv6, but its addresses are IPv4 only; use proto icmp';
      else {
        const fam = (c: Cidr[] | null): string => (c ?? []).every((x) => x.version === 4) ? 'IPv4' : 'IPv6';
        why = `its src addresses are ${fam(r.src)} only and its dst addresses ${fam(r.dst)} only, but a packet's source and destination are of the same IP version`;
      }
      out.push(warning(r, `${name} can never match: ${why}`));
      continue;
    }
    const wrongFamily = [...(r.src ?? []), ...(r.dst ?? [])].filter((c) => (c.version === 4 ? !f.v4 : !f.v6));
    if (wrongFamily.length > 0) {
      const only = f.v4 ? 'IPv4' : 'IPv6';
      const side = r.src !== null && r.src.every((c) => c.version === (f.v4 ? 4 : 6)) ? 'src' : 'dst';
      const why =
        r.proto === 'icmp' || r.proto === 'icmpv6'
          ? `proto ${r.proto} matches IPv${r.proto === 'icmp' ? 4 : 6} packets only`
          : `its ${side} has ${only} addresses only`;
      out.push(warning(r, `${name}: ${wrongFamily.map((c) => c.text).join(', ')} can never match, because ${why}`));
    }
    const by = live.find((a) => a.chain === r.chain && ruleCovers(a, r));
    if (by) {
      out.push(
        warning(r, `${name} is shadowed by ${ruleName(by)} (${by.pos.file}:${by.pos.line}:${by.pos.col}), which matches every packet it would`),
      );
    }
    live.push(r);
  }
  return out;
}
