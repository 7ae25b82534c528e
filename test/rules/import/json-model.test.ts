/**
 * nft JSON and nft text of one ruleset give one model. The truth: the
 * kernel's two listings of the same loaded ruleset (`nft list ruleset` and
 * `nft -j list ruleset`, test/rules/import/data/json/), read by the two
 * importers and compared field by field, except where each rule came
 * from (file, line, column). Rules the text importer cannot read yet
 * (its own diagnostics, at lines where the JSON importer has none) are
 * counted and left out, so that this test judges the JSON side only.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../../src/base/diag.js';
import type { FwRule } from '../../../src/rules/firewall.js';
import { readNftJson } from '../../../src/rules/import/json/index.js';
import { readNft } from '../../../src/rules/import/nft/index.js';
import type { ImportResult } from '../../../src/rules/import/types.js';

const DATA = new URL('./data/json/', import.meta.url).pathname;

/** Without positions and origins: what the model means. */
function strip(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(strip);
  if (x !== null && typeof x === 'object')
    return Object.fromEntries(
      Object.entries(x)
        .filter(([k]) => k !== 'pos' && k !== 'origin')
        .map(([k, v]) => [k, strip(v)]),
    );
  return x;
}

/** The statement a message quotes (`...`), or the whole message. */
function quotedStmt(d: Diagnostic): string {
  return /`([^`]*)`/.exec(d.message)?.[1] ?? d.message;
}

interface Compared {
  text: ImportResult;
  json: ImportResult;
  /** Rules (as nft lists them) that only the text importer reports a problem for. */
  gaps: string[];
}

const seen = new Map<string, Compared>();

/** Both importers on one listing (each pair read once for all the tests here). */
function both(name: string, lenient: boolean): Compared {
  const key = `${name} ${lenient}`;
  const known = seen.get(key);
  if (known !== undefined) return known;
  const c = readBoth(name, lenient);
  seen.set(key, c);
  return c;
}

function readBoth(name: string, lenient: boolean): Compared {
  const nftText = readFileSync(`${DATA}${name}.nft`, 'utf8');
  const text = readNft(nftText, `${name}.nft`, { lenient });
  const json = readNftJson(readFileSync(`${DATA}${name}.json`, 'utf8'), `${name}.json`, { lenient });
  const jsonMessages = new Set(json.diagnostics.map((d) => d.message));
  const lines = nftText.split('\n');
  const gaps = [
    ...new Set(text.diagnostics.filter((d) => !jsonMessages.has(d.message)).map((d) => lines[d.line - 1].trim())),
  ];
  return { text, json, gaps };
}

function inGap(gaps: string[], s: string): boolean {
  return gaps.some((g) => g.includes(s));
}

/** Chains and rules; where rules were left out, without rule ids and indexes (the rules after them move up). */
function rulesOutsideGaps(r: ImportResult, gaps: string[]): unknown {
  const renumbered = (x: FwRule): unknown => {
    const { id: _id, index: _index, ...rest } = x;
    return strip(gaps.length > 0 ? rest : x);
  };
  return r.firewall.chains.map((c) => ({
    ...(strip({ ...c, rules: [] }) as object),
    rules: c.rules.filter((x: FwRule) => !gaps.includes(x.origin?.text ?? '')).map(renumbered),
  }));
}

const NAMES = readdirSync(DATA)
  .filter((f) => f.endsWith('.json') && !f.startsWith('ipt-') && !f.endsWith('.input.json'))
  .map((f) => f.replace(/\.json$/, ''));

describe('nft JSON and nft text of one loaded ruleset give one model', () => {
  it.each(NAMES.flatMap((n) => [[n, false] as const, [n, true] as const]))('%s (lenient: %s)', (name, lenient) => {
    const { text, json, gaps } = both(name, lenient);
    expect(json.format).toBe('nft-json');
    // every rule of the JSON has its origin in the JSON file, with the text nft lists
    for (const c of json.firewall.chains)
      for (const r of c.rules) {
        expect(r.origin?.file).toBe(`${name}.json`);
        expect(r.origin?.line).toBe(1); // nft -j writes one line
      }
    expect(rulesOutsideGaps(json, gaps)).toEqual(rulesOutsideGaps(text, gaps));
    expect(strip(json.firewall.sets)).toEqual(strip(text.firewall.sets));
    expect(json.interfaceNames).toEqual(text.interfaceNames);
    const ign = (r: ImportResult) =>
      r.ignored.filter((i) => !inGap(gaps, i.text)).map((i) => `${i.text} :: ${i.meaning}`);
    expect(ign(json)).toEqual(ign(text));
    const problems = (r: ImportResult) =>
      r.diagnostics
        .filter((d) => d.code !== 'json.iptables-nft' && !inGap(gaps, quotedStmt(d)))
        .map((d) => `${d.severity} ${d.code} ${d.message}`);
    expect(problems(json)).toEqual(problems(text));
  });

  it('compares every rule: the text importer reads every listing as the JSON importer does', () => {
    let rules = 0;
    let gapRules = 0;
    for (const n of NAMES) {
      const { json, gaps } = both(n, true);
      for (const c of json.firewall.chains) rules += c.rules.length;
      gapRules += gaps.length;
    }
    expect(rules).toBeGreaterThan(400);
    // (2026-12-08, imp-nft 0710bb0: none; the text parser's earlier gaps are in the json helper's notes)
    expect(gapRules).toBe(0);
  });
});

describe('nft JSON commands (nft -j -f)', () => {
  it('give the model of what the kernel listed after nft -j -f applied them', () => {
    // commands.input.json: flush, add, create, insert, add at an index, add element, flush and delete of a
    // chain, delete of a set, and a list, loaded with `nft -j -f`; commands.input.nft: the kernel's listing after
    const text = readNft(readFileSync(`${DATA}commands.input.nft`, 'utf8'), 'commands.input.nft', { lenient: false });
    const json = readNftJson(readFileSync(`${DATA}commands.input.json`, 'utf8'), 'commands.input.json', {
      lenient: false,
    });
    expect(json.diagnostics).toEqual([]);
    expect(text.diagnostics).toEqual([]);
    expect(strip(json.firewall)).toEqual(strip(text.firewall));
    expect(json.firewall.chains.flatMap((c) => c.rules).length).toBe(6);
    const first = json.firewall.chains[0].rules[0];
    // the inserted rule comes first; its origin is its command's object, the line before `"insert"`
    const lines = readFileSync(`${DATA}commands.input.json`, 'utf8').split('\n');
    const insert = lines.findIndex((l) => l.includes('"insert"'));
    expect(lines[insert - 1].trim()).toBe('{');
    expect([first.origin?.text, first.origin?.line, first.origin?.col]).toEqual([
      'iifname "lo" accept',
      insert,
      lines[insert - 1].indexOf('{') + 1,
    ]);
  });
});

describe('nft JSON of iptables-nft tables', () => {
  it.each(['ipt-docker-portmap', 'ipt-fedora-iptables-services', 'ipt-ufw-workstation'])(
    '%s: one warning to import iptables-save instead; each xt match makes its rule inert under --lenient, an error without',
    (name) => {
      const text = readFileSync(`${DATA}${name}.json`, 'utf8');
      const xtMatches = (text.match(/"xt": \{"type": "match"/g) ?? []).length;
      expect(xtMatches).toBeGreaterThan(0);
      const strict = readNftJson(text, `${name}.json`, { lenient: false });
      expect(strict.diagnostics.filter((d) => d.code === 'json.iptables-nft').map((d) => d.severity)).toEqual([
        'warning',
      ]);
      const errs = strict.diagnostics.filter((d) => d.severity === 'error' && /`xt match "/.test(d.message));
      expect(errs).toHaveLength(xtMatches);
      const lenient = readNftJson(text, `${name}.json`, { lenient: true });
      expect(lenient.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      const inert = lenient.firewall.chains.flatMap((c) => c.rules).filter((r) => r.inert);
      // every rule with an xt match never matches (a rule may hold two)
      const withXt = lenient.firewall.chains
        .flatMap((c) => c.rules)
        .filter((r) => /xt match "/.test(r.origin?.text ?? ''));
      expect(withXt.length).toBeGreaterThan(0);
      for (const r of withXt) expect(r.inert, r.origin?.text).toBeTruthy();
      expect(inert.length).toBeGreaterThanOrEqual(withXt.length);
    },
  );
});
