import { expect } from 'vitest';
import type { Firewall, FwChain, FwRule } from '../../src/rules/firewall.js';
import { errors, ok } from './helpers.js';

/** The firewall of `text`, which must load without errors. */
export function fw(text: string): Firewall {
  const f = ok(text).ruleset.firewall;
  if (!f) throw new Error('no firewall model');
  return f;
}

export function chain(f: Firewall, name: string): FwChain {
  const c = f.chains.find((x) => x.name === name);
  if (!c) throw new Error(`no chain ${name}`);
  return c;
}

/** Rule `i` (1-based) of chain `name`. */
export function rule(f: Firewall, name: string, i: number): FwRule {
  return chain(f, name).rules[i - 1];
}

/** A rule's conditions and statements that are set (not null/false/empty not: or ignored:), with ids and positions left out. */
export function set(r: FwRule): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r))
    if (v !== null && v !== false && !['id', 'idGiven', 'index', 'chain', 'comment', 'pos'].includes(k))
      if (!((k === 'not' || k === 'ignored') && Array.isArray(v) && v.length === 0))
        // (An empty negation or ignored list is no condition and no statement.)
        o[k] = v;
  return o;
}

/** The one error of `text`: its "line:col code" and message. */
export function one(text: string): { at: string; message: string } {
  const e = errors(text);
  expect(
    e.map((d) => `${d.line}:${d.col} ${d.code} ${d.message}`),
    'exactly one error',
  ).toHaveLength(1);
  return { at: `${e[0].line}:${e[0].col} ${e[0].code}`, message: e[0].message };
}

/** One filter chain `forward` (hook forward) holding `rules` (YAML flow mappings, one a line). */
export function inForward(...rules: string[]): string {
  return `chains:\n  forward:\n    hook: forward\n    rules:\n${rules.map((r) => `      - ${r}\n`).join('')}`;
}
