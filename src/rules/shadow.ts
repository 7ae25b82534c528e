/**
 * Static checks on a loaded rule set: rules that can never match, and rules
 * shadowed by an earlier rule of the same chain. Conservative: a warning is
 * only given when it is certain (a rule covered by the union of several
 * earlier rules is not reported).
 */
import { cidrContains, wordMask } from './cidr.js';
import type { Diagnostic } from '../base/diag.js';
import type { RuleCode } from './codes.js';
import type { Cidr, IcmpMatch, PortRange, Rule, RuleSet } from './types.js';

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

/** a's types (and codes, if any) include all of b's. */
function icmpCovers(a: IcmpMatch | null, b: IcmpMatch | null): boolean {
  if (a === null) return true;
  if (b === null || !b.types.every((t) => a.types.includes(t))) return false;
  const codes = a.codes;
  return codes === null || (b.codes?.every((c) => codes.includes(c)) ?? false);
}

/** True when every packet `b` matches is also matched by `a` (conservatively: false when unsure). */
export function ruleCovers(a: Rule, b: Rule): boolean {
  if (a.proto !== 'any' && a.proto !== b.proto) return false;
  if (!portsCover(a.sport, b.sport) || !portsCover(a.dport, b.dport)) return false;
  if (!icmpCovers(a.icmp, b.icmp)) return false;
  const fa = ruleFamilies(a);
  const fb = ruleFamilies(b);
  if ((fb.v4 && !fa.v4) || (fb.v6 && !fa.v6)) return false;
  return (
    addrsCover(effective(a.src, fa), effective(b.src, fb)) && addrsCover(effective(a.dst, fa), effective(b.dst, fb))
  );
}

function warning(r: Rule, message: string, code: RuleCode): Diagnostic {
  return { file: r.pos.file, line: r.pos.line, col: r.pos.col, message, severity: 'warning', code };
}

/**
 * How many rule pairs the shadow check compares at most. The indexes below
 * make the usual large files (rules differing in port or address) cost a few
 * comparisons per rule; a file built to defeat them (say, 100k rules none
 * of which covers another, all with different wide port ranges) would cost
 * n^2/2. Past this many comparisons (about a second of work) the check stops,
 * says so in one warning, and loading stays linear.
 */
export const MAX_SHADOW_COMPARISONS = 5_000_000;

/** A live rule with what coverage tests need, computed once (not per pair). */
interface Prepared {
  rule: Rule;
  fam: { v4: boolean; v6: boolean };
  src: Cidr[];
  dst: Cidr[];
}

function prepare(r: Rule): Prepared {
  const fam = ruleFamilies(r);
  return { rule: r, fam, src: effective(r.src, fam), dst: effective(r.dst, fam) };
}

/** ruleCovers() on prepared rules. */
function covers(a: Prepared, b: Prepared): boolean {
  const ra = a.rule;
  const rb = b.rule;
  if (ra.proto !== 'any' && ra.proto !== rb.proto) return false;
  if (!portsCover(ra.sport, rb.sport) || !portsCover(ra.dport, rb.dport)) return false;
  if (!icmpCovers(ra.icmp, rb.icmp)) return false;
  if ((b.fam.v4 && !a.fam.v4) || (b.fam.v6 && !a.fam.v6)) return false;
  return addrsCover(a.src, b.src) && addrsCover(a.dst, b.dst);
}

function push(map: Map<string | number, Prepared[]>, key: string | number, p: Prepared): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [p]);
  else if (list[list.length - 1] !== p) list.push(p);
}

function cidrKey(c: Cidr, prefix: number): string {
  const n = c.version === 4 ? 1 : 4;
  let k = `${c.version}/${prefix}`;
  for (let i = 0; i < n; i++) k += `:${(c.words[i] & wordMask(prefix, i)) >>> 0}`;
  return k;
}

/**
 * Earlier rules by one address side: a rule that covers b must have an
 * address containing b's first one, i.e. equal to it masked to one of the
 * prefix lengths in use. So the candidates are found by a few map lookups.
 */
class AddrIndex {
  private readonly map = new Map<string | number, Prepared[]>();
  private readonly lengths = { 4: new Set<number>(), 6: new Set<number>() };
  constructor(private readonly side: 'src' | 'dst') {}
  add(p: Prepared): void {
    for (const c of p[this.side]) {
      this.lengths[c.version].add(c.prefix);
      push(this.map, cidrKey(c, c.prefix), p);
    }
  }
  candidates(b: Prepared, out: Prepared[][]): number {
    const x = b[this.side][0];
    if (x === undefined) return 0;
    let n = 0;
    for (const len of this.lengths[x.version]) {
      if (len > x.prefix) continue;
      const list = this.map.get(cidrKey(x, len));
      if (list !== undefined) {
        out.push(list);
        n += list.length;
      }
    }
    return n;
  }
}

/** Earlier rules by destination port: single ports by value; any port or a range, always candidates. */
class PortIndex {
  private readonly map = new Map<string | number, Prepared[]>();
  private readonly loose: Prepared[] = [];
  add(p: Prepared): void {
    const d = p.rule.dport;
    if (d === null || d.some((r) => r.lo !== r.hi)) this.loose.push(p);
    else for (const r of d) push(this.map, r.lo, p);
  }
  candidates(b: Prepared, out: Prepared[][]): number {
    out.push(this.loose);
    const d = b.rule.dport;
    if (d === null || d[0].lo !== d[0].hi) return this.loose.length;
    const list = this.map.get(d[0].lo);
    if (list === undefined) return this.loose.length;
    out.push(list);
    return this.loose.length + list.length;
  }
}

/** Earlier rules of one chain with one proto (or proto any), indexed three ways. */
class Bucket {
  readonly src = new AddrIndex('src');
  readonly dst = new AddrIndex('dst');
  readonly dport = new PortIndex();
  add(p: Prepared): void {
    this.src.add(p);
    this.dst.add(p);
    this.dport.add(p);
  }
  /** The fewest candidates any index gives (every rule that could cover b is among them). */
  candidates(b: Prepared): Prepared[][] {
    let best: Prepared[][] = [];
    let bestN = Infinity;
    for (const index of [this.src, this.dst, this.dport]) {
      const lists: Prepared[][] = [];
      const n = index.candidates(b, lists);
      if (n < bestN) {
        best = lists;
        bestN = n;
      }
    }
    return best;
  }
}

/** Warnings about rules that can never match or are shadowed by an earlier rule of the same chain. */
export function analyzeRules(rs: RuleSet, stats?: { comparisons: number }): Diagnostic[] {
  const out: Diagnostic[] = [];
  const buckets = new Map<string, Bucket>();
  const bucket = (chain: string, proto: string): Bucket => {
    const k = `${chain} ${proto}`;
    let b = buckets.get(k);
    if (b === undefined) buckets.set(k, (b = new Bucket()));
    return b;
  };
  let comparisons = 0;
  let stopped = false;
  for (const r of rs.rules) {
    const f = ruleFamilies(r);
    const name = ruleName(r);
    if (!f.v4 && !f.v6) {
      let why: string;
      if (r.proto === 'icmp') why = 'proto icmp is ICMP for IPv4, but its addresses are IPv6 only; use proto icmpv6';
      else if (r.proto === 'icmpv6')
        why = 'proto icmpv6 is ICMP for IPv6, but its addresses are IPv4 only; use proto icmp';
      else {
        const fam = (c: Cidr[] | null): string => ((c ?? []).every((x) => x.version === 4) ? 'IPv4' : 'IPv6');
        why = `its src addresses are ${fam(r.src)} only and its dst addresses ${fam(r.dst)} only, but a packet's source and destination are of the same IP version`;
      }
      out.push(warning(r, `${name} can never match: ${why}`, 'rules.never-matches'));
      continue;
    }
    const wrongFamily = [...(r.src ?? []), ...(r.dst ?? [])].filter((c) => (c.version === 4 ? !f.v4 : !f.v6));
    if (wrongFamily.length > 0) {
      const only = f.v4 ? 'IPv4' : 'IPv6';
      const side = r.src?.every((c) => c.version === (f.v4 ? 4 : 6)) ? 'src' : 'dst';
      const why =
        r.proto === 'icmp' || r.proto === 'icmpv6'
          ? `proto ${r.proto} matches IPv${r.proto === 'icmp' ? 4 : 6} packets only`
          : `its ${side} has ${only} addresses only`;
      out.push(
        warning(
          r,
          `${name}: ${wrongFamily.map((c) => c.text).join(', ')} can never match, because ${why}`,
          'rules.never-matches',
        ),
      );
    }
    if (stopped) continue;
    const p = prepare(r);
    // A rule that covers r has proto any, or r's proto; earliest wins.
    let by: Rule | null = null;
    const own = r.proto === 'any' ? null : bucket(r.chain, r.proto);
    for (const b of own === null ? [bucket(r.chain, 'any')] : [bucket(r.chain, 'any'), own]) {
      for (const list of b.candidates(p)) {
        for (const a of list) {
          if (by !== null && a.rule.index >= by.index) break; // lists are in file order
          comparisons++;
          if (covers(a, p)) {
            by = a.rule;
            break;
          }
        }
      }
    }
    if (by) {
      out.push(
        warning(
          r,
          `${name} is shadowed by ${ruleName(by)} (${by.pos.file}:${by.pos.line}:${by.pos.col}), which matches every packet it would`,
          'rules.shadowed',
        ),
      );
    }
    if (comparisons > MAX_SHADOW_COMPARISONS) {
      stopped = true;
      out.push(
        warning(
          r,
          `the check for shadowed rules stopped after ${name}: it compared ${comparisons} pairs of rules (the limit is ${MAX_SHADOW_COMPARISONS}); rules after this one are not checked for shadowing`,
          'rules.shadow-check-stopped',
        ),
      );
      continue;
    }
    (own ?? bucket(r.chain, 'any')).add(p);
  }
  if (stats) stats.comparisons = comparisons;
  return out;
}
