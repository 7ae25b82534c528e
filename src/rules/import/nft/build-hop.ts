/**
 * `ip ttl OP VALUE` / `ip6 hoplimit OP VALUE` as the model's HopLimitMatch
 * (nft_cmp / nft_range on the header byte): ==, != and the relational
 * operators (`<`, `lt`, ...), ranges (`1-10`, `!= 1-10`), and sets of
 * values or ranges (one model rule per element, as the builder expands a
 * set of protocols; `!=` a set is not one range and stays unsupported).
 */
import type { HopLimitMatch } from '../../firewall.js';
import { hopRange, hopWords } from '../../fw-hop-values.js';
import type { Expr, RelOp } from './ast.js';
import { bad, num, ok, show, type Val } from './build-values.js';
import type { Assign } from './draft.js';

/** The family whose header field `left` is, or null when it is no TTL / hop-limit field. */
export function hopFieldOf(left: Expr): 4 | 6 | null {
  if (left.kind !== 'payload') return null;
  if (left.protocol === 'ip' && left.field === 'ttl') return 4;
  if (left.protocol === 'ip6' && left.field === 'hoplimit') return 6;
  return null;
}

function byte(e: Expr): Val<number> {
  const n = e.kind === 'symbol' ? num(e.text) : null;
  if (n === null) return bad(e, `${show(e)} is not a TTL / hop limit (a number 0-255)`);
  return n <= 255 ? ok(n) : bad(e, `${show(e)} is out of range (a TTL / hop limit is 0-255)`);
}

/** One element (a value or a range) compared with `op`: the model's match. */
export function hopAtom(left: Expr, family: 4 | 6, op: RelOp, e: Expr): Val<Assign[]> {
  let r: { lo: number; hi: number; neg: boolean };
  if (e.kind === 'range') {
    const lo = byte(e.lo);
    if (!lo.ok) return lo;
    const hi = byte(e.hi);
    if (!hi.ok) return hi;
    if (lo.value > hi.value) return bad(e, `the range ${show(e)} is backwards`);
    if (op !== 'implicit' && op !== '==' && op !== '!=')
      return bad(e, `${op} compares with one value, not the range ${show(e)}`);
    r = { lo: lo.value, hi: hi.value, neg: op === '!=' };
  } else {
    const n = byte(e);
    if (!n.ok) return n;
    r = hopRange(op === 'implicit' ? '==' : op, n.value);
  }
  const v: HopLimitMatch = { ...r, text: `${show(left)} ${hopWords(r.lo, r.hi, r.neg)}` };
  return ok([{ f: 'hopLimit', v, family }]);
}
