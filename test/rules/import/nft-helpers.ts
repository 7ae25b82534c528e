/** Shared by the nft import tests: read text, pick rules, compare models without positions. */
import { expect } from 'vitest';
import type { Diagnostic } from '../../../src/base/diag.js';
import type { AddrMatch, FwChain, FwRule } from '../../../src/rules/firewall.js';
import { readNft } from '../../../src/rules/import/nft/index.js';
import type { ImportOptions, ImportResult } from '../../../src/rules/import/types.js';

export function read(text: string, opts: Partial<ImportOptions> = {}, file = 'rules.nft'): ImportResult {
  return readNft(text, file, { lenient: false, ...opts });
}

/** The result, failing the test on any error. */
export function readOk(text: string, opts: Partial<ImportOptions> = {}): ImportResult {
  const r = read(text, opts);
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  expect(errors.map(show)).toEqual([]);
  return r;
}

export function errors(text: string, opts: Partial<ImportOptions> = {}): Diagnostic[] {
  return read(text, opts).diagnostics.filter((d) => d.severity === 'error');
}

export function show(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.col}: ${d.code}: ${d.message}`;
}

export function chain(r: ImportResult, name: string): FwChain {
  const c = r.firewall.chains.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no chain ${name} in ${r.firewall.chains.map((x) => x.name).join(', ')}`);
  return c;
}

/** The rules of a one-chain ruleset `inet t input`, with RULES as the chain's body. */
export function rules(body: string, family = 'inet', opts: Partial<ImportOptions> = {}): FwRule[] {
  const r = readOk(
    `table ${family} t {\n chain input {\n  type filter hook input priority 0; policy accept;\n${body}\n }\n}\n`,
    opts,
  );
  return chain(r, 'input').rules;
}

/** A rule's conditions and statements only: what a kernel would judge by. */
export function meaning(r: FwRule): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) {
    if (['id', 'idGiven', 'index', 'chain', 'pos', 'origin', 'comment'].includes(k)) continue;
    if (v === null || v === false || v === undefined) continue;
    out[k] = v;
  }
  return out;
}

const big = (w: readonly number[]): bigint => w.reduce((a, x) => (a << 32n) | BigInt(x >>> 0), 0n);

/** An address match as the merged intervals it covers (nft merges adjacent elements of interval sets). */
function addrIntervals(m: AddrMatch): string[] {
  const iv: [bigint, bigint][] = [];
  for (const c of m.cidrs) {
    const bits = BigInt((c.version === 4 ? 32 : 128) - c.prefix);
    const lo = c.version === 4 ? BigInt(c.words[0] >>> 0) : big(c.words);
    iv.push([lo, lo + (1n << bits) - 1n]);
  }
  for (const r of m.ranges)
    iv.push(r.version === 4 ? [BigInt(r.lo[0] >>> 0), BigInt(r.hi[0] >>> 0)] : [big(r.lo), big(r.hi)]);
  iv.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const x of iv) {
    const last = out[out.length - 1];
    if (last !== undefined && x[0] <= last[1] + 1n) last[1] = x[1] > last[1] ? x[1] : last[1];
    else out.push([x[0], x[1]]);
  }
  return out.map(([a, b]) => `${a}-${b}`);
}

/** A value with positions, origins and display texts dropped and every list sorted: equal when the meaning is. */
export function canonical(v: unknown): unknown {
  if (v !== null && typeof v === 'object' && 'cidrs' in v && 'ranges' in v)
    return { intervals: addrIntervals(v as AddrMatch), set: (v as AddrMatch).set };
  if (Array.isArray(v)) return v.map(canonical).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (['pos', 'origin', 'text', 'id', 'index', 'idGiven', 'ignored'].includes(k)) continue;
      out[k] = canonical(x);
    }
    return out;
  }
  return v;
}
