/**
 * A rule being read: the model rule it becomes (FwRule without its place
 * in the chain), the conditions it negates, and what a rule of an
 * iptables dump can mean that one model rule cannot: a comma list of
 * addresses (iptables-restore makes one kernel rule of each), `--ctstate
 * SNAT,DNAT` beside real states, `multiport --ports` (source or
 * destination). Each such is an axis of alternatives; the rule becomes one
 * model rule per combination, each with the same origin.
 */
import type { Diagnostic } from '../../../base/diag.js';
import { emptyRuleBody, type FwRule, type Hook, type NegatableCondition } from '../../firewall.js';
import type { IgnoredConstruct } from '../types.js';
import type { IptablesCode } from './codes.js';
import type { TableName } from './names.js';

/** The fields of a model rule that reading one line fills (place, id and origin come later). */
export type RuleBody = Omit<FwRule, 'id' | 'idGiven' | 'index' | 'chain' | 'pos' | 'origin'> & {
  not: NegatableCondition[];
};

/** A change one alternative makes to the rule. */
export type Patch = (r: RuleBody) => void;

/** A construct the kernel allows on some hooks only (checked once the chains are known). */
export interface HookNeed {
  what: string;
  hooks: readonly Hook[];
  col: number;
  /** Checked on the built-in chain the rule is in only (iptables' own check), not through jumps. */
  direct?: boolean;
}

/** What the rule reader reports to, and knows of, the dump around the line. */
export interface LineContext {
  file: string;
  line: number;
  /** The family of the dump being read (it changes at an ip6tables-save header after an iptables-save one). */
  family: 4 | 6;
  table: TableName;
  lenient: boolean;
  diagnostics: Diagnostic[];
  ignored: IgnoredConstruct[];
  interfaceNames: Set<string>;
}

export function emptyBody(family: 4 | 6): RuleBody {
  // (Every iptables rule counts packets; fwemu counts every rule anyway, so counter stays false.)
  return emptyRuleBody(family);
}

/** A rule read from one line, before it is placed in its chain. */
export interface Draft {
  body: RuleBody;
  axes: Patch[][];
  /** The jump or goto target as written (the chain is resolved once the table is read). */
  targetName: string | null;
  targetCol: number;
  /** The first option after -j NAME when NAME is no target fwemu knows: an error for a chain, else the target's. */
  targetOpt: { text: string; col: number } | null;
  hookNeeds: HookNeed[];
  /** Set when the line had errors: no model rule comes of it. */
  failed: boolean;
  /** -4 in an ip6tables dump, -6 in an iptables one: iptables-restore skips the line. */
  skipped: boolean;
}

/** Most model rules one line may become (comma lists multiply). */
export const MAX_EXPANSION = 4096;

/** The model rules of a draft: its body with one alternative of each axis applied. */
export function expand(d: Draft): RuleBody[] {
  let out: RuleBody[] = [d.body];
  for (const axis of d.axes) {
    const next: RuleBody[] = [];
    for (const r of out)
      for (const patch of axis) {
        const c = cloneBody(r);
        patch(c);
        next.push(c);
      }
    out = next;
  }
  return out;
}

/** The number of rules expand() makes. */
export function expansionSize(d: Draft): number {
  let n = 1;
  for (const a of d.axes) n *= a.length;
  return n;
}

function cloneBody(r: RuleBody): RuleBody {
  return { ...r, not: [...r.not], fib: r.fib === null || r.fib === undefined ? null : [...r.fib] };
}

export function report(
  cx: LineContext,
  col: number,
  message: string,
  code: IptablesCode,
  severity: Diagnostic['severity'] = 'error',
): void {
  cx.diagnostics.push({ file: cx.file, line: cx.line, col, message, severity, code });
}
