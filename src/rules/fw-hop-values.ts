/**
 * The TTL / hop-limit condition (HopLimitMatch) as text: the YAML value of
 * `hop_limit:` ("255", "< 5", "!= 1", "1-10"), and nft's words for a range,
 * which are the same forms (so that `fwemu import` writes what the loader
 * reads, and the nft export writes what nft reads). Every comparison nft
 * and iptables have is one inclusive range, negated or not; a comparison
 * no value meets (`< 0`, iptables' `--ttl-lt 0`) is the empty range 1-0.
 */
import type { HopLimitMatch } from './firewall.js';
import type { Parsed } from './fw-values.js';

export const HOP_LIMIT_HELP =
  'a TTL / hop limit 0-255 (255), a comparison ("< 5", "<= 5", "> 250", ">= 250", "!= 1") or a range ("1-10", "!= 1-10")';

/** The header field's nft name for a family; both when the rule has none (the YAML's hop_limit: alone). */
export function hopField(family: 4 | 6 | null): string {
  return family === 4 ? 'ip ttl' : family === 6 ? 'ip6 hoplimit' : 'ip ttl / ip6 hoplimit';
}

/** An empty range: no TTL is in it. */
export const EMPTY = { lo: 1, hi: 0 } as const;

/** nft's words for the range after the field: "255", "!= 1", "< 5", "> 250", "1-10", "!= 1-10". */
export function hopWords(lo: number, hi: number, neg: boolean): string {
  if (lo > hi) return neg ? '>= 0' : '< 0';
  if (lo === hi) return neg ? `!= ${lo}` : `${lo}`;
  if (neg) return `!= ${lo}-${hi}`;
  if (lo === 0 && hi === 255) return '>= 0';
  if (lo === 0) return `< ${hi + 1}`;
  if (hi === 255) return `> ${lo - 1}`;
  return `${lo}-${hi}`;
}

/** The range a comparison with `n` stands for (ops as nft's: == != < > <= >=). */
export function hopRange(op: string, n: number): { lo: number; hi: number; neg: boolean } {
  switch (op) {
    case '!=':
      return { lo: n, hi: n, neg: true };
    case '<':
      return n === 0 ? { ...EMPTY, neg: false } : { lo: 0, hi: n - 1, neg: false };
    case '<=':
      return { lo: 0, hi: n, neg: false };
    case '>':
      return n === 255 ? { ...EMPTY, neg: false } : { lo: n + 1, hi: 255, neg: false };
    case '>=':
      return { lo: n, hi: 255, neg: false };
    default:
      return { lo: n, hi: n, neg: false };
  }
}

const OP_WORDS: Readonly<Record<string, string>> = { eq: '==', ne: '!=', lt: '<', gt: '>', le: '<=', ge: '>=' };

function byte(t: string): number | null {
  if (!/^[0-9]{1,3}$/.test(t)) return null;
  const n = Number(t);
  return n <= 255 ? n : null;
}

/** `hop_limit:` of a rule of the given family (null: both, TTL for IPv4 and hop limit for IPv6). */
export function parseHopLimit(text: string, family: 4 | 6 | null): Parsed<HopLimitMatch> {
  const m = /^\s*(==|!=|<=|>=|<|>|eq|ne|lt|gt|le|ge)?\s*([0-9]+)\s*(?:-\s*([0-9]+))?\s*$/.exec(text);
  if (m === null) return { ok: false, error: `"${text.trim()}" is not a value, comparison or range` };
  const op = m[1] === undefined ? '==' : (OP_WORDS[m[1]] ?? m[1]);
  const a = byte(m[2]);
  const b = m[3] === undefined ? a : byte(m[3]);
  if (a === null || b === null)
    return { ok: false, error: `${a === null ? m[2] : m[3]} is not 0-255 (the field is one byte)` };
  let r: { lo: number; hi: number; neg: boolean };
  if (m[3] !== undefined) {
    if (op !== '==' && op !== '!=')
      return { ok: false, error: `a range takes == or != only, not ${m[1]} (write "${a}-${b}" or "!= ${a}-${b}")` };
    if (a > b) return { ok: false, error: `the range ${a}-${b} is empty (write the lower bound first)` };
    r = { lo: a, hi: b, neg: op === '!=' };
  } else r = hopRange(op, a);
  return { ok: true, value: { ...r, text: `${hopField(family)} ${hopWords(r.lo, r.hi, r.neg)}` } };
}
