/**
 * What the match readers share: how they report a bad value, and a
 * condition the model holds once per rule met a second time.
 */
import type { LineReader, OptDef } from './rule.js';

export function bad(r: LineReader, col: number, msg: string): void {
  r.error(col, msg, 'iptables.bad-value');
}

/** A condition the model holds once per rule, given a second time (by two matches). */
export function taken(r: LineReader, col: number, what: string): boolean {
  r.unsupported(col, `a second ${what} condition in one rule`, 'the model holds one per rule', 'match');
  return true;
}

export function flag(name: string): OptDef {
  return {
    args: 0,
    run(_r, _a, _n, _at, inst) {
      inst.state[name] = true;
    },
  };
}
