/**
 * The TTL / hop-limit comparisons of the importers as the model's range
 * (HopLimitMatch), and a range in words that both nft and the YAML's
 * `hop_limit:` read ("255", "< 5", "!= 1", "1-10"), for `fwemu import`.
 * Every comparison nft and iptables have is one inclusive range, negated
 * or not; one no value meets (`< 0`, iptables' `--ttl-lt 0`) is the empty
 * range 1-0.
 */

/** The header field's nft name for a family. */
export function hopField(family: 4 | 6): string {
  return family === 4 ? 'ip ttl' : 'ip6 hoplimit';
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
