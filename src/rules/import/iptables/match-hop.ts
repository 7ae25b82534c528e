/**
 * `-m ttl` (iptables, xt_ttl / ipt_ttl) and `-m hl` (ip6tables, ip6t_hl):
 * the TTL / hop limit equal to (or, with `!`, not equal to), less than or
 * greater than one value; one option per match, as libxt_ttl / libip6t_hl
 * take it. Two such matches in one rule (a range) are both required.
 */
import { hopField, hopRange, hopWords } from '../../fw-hop-values.js';
import { bad } from './match-common.js';
import type { ExtensionDef, LineReader, OptAt, OptDef } from './rule.js';
import { parseNumber } from './values.js';

function setHop(r: LineReader, at: OptAt, h: { lo: number; hi: number; neg: boolean }): void {
  const cur = r.body.hopLimit;
  let next = h;
  if (cur) {
    if (cur.neg || h.neg) {
      r.unsupported(
        at.optCol,
        'a second TTL / hop limit match, one negated',
        'the model holds one range per rule',
        'match',
      );
      return;
    }
    // Both must hold: the ranges' common part (empty when they do not meet).
    const lo = Math.max(cur.lo, h.lo);
    const hi = Math.min(cur.hi, h.hi);
    next = lo <= hi ? { lo, hi, neg: false } : { lo: 1, hi: 0, neg: false };
  }
  r.body.hopLimit = { ...next, text: `${hopField(r.cx.family)} ${hopWords(next.lo, next.hi, next.neg)}` };
}

function hopOpt(m: 'ttl' | 'hl', op: '==' | '<' | '>', neg: boolean): OptDef {
  return {
    args: 1,
    neg,
    run(r, [v], n, at, inst) {
      if (inst.given.size > 1) return bad(r, at.col, `-m ${m} takes one of --${m}-eq, --${m}-lt, --${m}-gt`);
      const x = parseNumber(v, 255);
      if (!x.ok) return bad(r, at.col, `-m ${m}: ${x.error} (a ${m === 'ttl' ? 'TTL' : 'hop limit'} is 0-255)`);
      setHop(r, at, hopRange(n ? '!=' : op, x.value));
    },
  };
}

export const ttl: ExtensionDef = {
  family: 4,
  opts: {
    'ttl-eq': hopOpt('ttl', '==', true),
    // (The older spelling of --ttl-eq; iptables-save writes --ttl-eq.)
    ttl: hopOpt('ttl', '==', true),
    'ttl-lt': hopOpt('ttl', '<', false),
    'ttl-gt': hopOpt('ttl', '>', false),
  },
};

export const hl: ExtensionDef = {
  family: 6,
  opts: {
    'hl-eq': hopOpt('hl', '==', true),
    hl: hopOpt('hl', '==', true),
    'hl-lt': hopOpt('hl', '<', false),
    'hl-gt': hopOpt('hl', '>', false),
  },
};
