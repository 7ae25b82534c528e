/**
 * Address ranges ("10.0.0.10-10.0.0.20") and the address elements of the
 * firewall model, which nft allows wherever a prefix goes: a rule's
 * src/dst, a set's elements, a NAT statement's target. Cold path.
 */
import { formatAddr } from '../packet/addr.js';
import { parseCidr } from './cidr.js';
import type { AddrRange } from './firewall.js';
import type { Cidr } from './types.js';

type Words = [number, number, number, number];

/** -1, 0 or 1 as address `a` is below, equal to or above `b` (same version). */
export function compareWords(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 4; i++) if (a[i] !== b[i]) return a[i] >>> 0 < b[i] >>> 0 ? -1 : 1;
  return 0;
}

/** One address (no prefix): its version and words, or an error. */
export function parseHostAddr(text: string): { ok: true; version: 4 | 6; words: Words } | { ok: false; error: string } {
  const s = text.trim();
  if (s.includes('/')) return { ok: false, error: `${s}: a range's ends are addresses, without a /prefix` };
  const r = parseCidr(s);
  if (!r.ok) return r;
  return { ok: true, version: r.cidr.version, words: r.cidr.words };
}

/** "a-b" as an inclusive range, ends in order and of one version. */
export function parseAddrRange(text: string): { ok: true; range: AddrRange } | { ok: false; error: string } {
  const s = text.trim();
  const dash = s.indexOf('-');
  if (dash === -1) return { ok: false, error: `${s}: not a range (write it as first-last)` };
  const lo = parseHostAddr(s.slice(0, dash));
  if (!lo.ok) return lo;
  const hi = parseHostAddr(s.slice(dash + 1));
  if (!hi.ok) return hi;
  if (lo.version !== hi.version) return { ok: false, error: `${s}: the range's ends are of different IP versions` };
  if (compareWords(lo.words, hi.words) > 0)
    return { ok: false, error: `${s}: the range is backwards (the first address is above the last)` };
  return { ok: true, range: makeRange(lo.version, lo.words, hi.words) };
}

export function makeRange(version: 4 | 6, lo: Words, hi: Words): AddrRange {
  const a = (w: Words) => formatAddr(version, w[0], w[1], w[2], w[3]);
  return { version, lo, hi, text: `${a(lo)}-${a(hi)}` };
}

/** An address element: a CIDR or plain address, or a range. */
export type AddrElement =
  | { ok: true; cidr: Cidr; range: null; hostBits: boolean }
  | { ok: true; cidr: null; range: AddrRange; hostBits: false }
  | { ok: false; error: string };

/**
 * Parses an address, CIDR or range. A "-" makes a range (an address never
 * holds one); anything else goes to the CIDR parser, whose messages say what
 * is wrong with an address.
 */
export function parseAddrElement(text: string): AddrElement {
  const s = text.trim();
  if (s.includes('-')) {
    const r = parseAddrRange(s);
    return r.ok ? { ok: true, cidr: null, range: r.range, hostBits: false } : r;
  }
  const c = parseCidr(s);
  return c.ok ? { ok: true, cidr: c.cidr, range: null, hostBits: c.hostBits } : c;
}
