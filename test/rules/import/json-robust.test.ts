/**
 * Hostile and damaged nft JSON: valid JSON whose values are replaced by
 * values of every other kind, at random places of real listings. The
 * importer must never throw, and every problem it reports must carry a
 * position in the file, a listed code and a one-line message.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BASE_CODES } from '../../../src/base/diag.js';
import { JSON_CODES, readNftJson } from '../../../src/rules/import/json/index.js';
import { NFT_CODES } from '../../../src/rules/import/nft/index.js';

const DATA = new URL('./data/json/', import.meta.url).pathname;
const CODES = new Set([...Object.keys(JSON_CODES), ...Object.keys(NFT_CODES), ...Object.keys(BASE_CODES)]);

const REPLACEMENTS: unknown[] = [
  null,
  true,
  0,
  -1,
  1e300,
  4294967296,
  '',
  'x',
  '@',
  '@nope',
  '*',
  'constructor',
  '__proto__',
  [],
  [1, 2, 3],
  {},
  { a: 1 },
  { set: 7 },
  { range: [1] },
  { prefix: { addr: 'x', len: -1 } },
  { concat: {} },
  { '&': [1] },
  'a'.repeat(5000),
];

/** Every place in a JSON value (as a path of keys and indexes). */
function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

function replaced(v: unknown, path: (string | number)[], by: unknown): unknown {
  if (path.length === 0) return by;
  const [head, ...rest] = path;
  if (Array.isArray(v)) return v.map((x, i) => (i === head ? replaced(x, rest, by) : x));
  const o = v as Record<string, unknown>;
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, k === head ? replaced(x, rest, by) : x]));
}

describe('nft JSON import of damaged listings', () => {
  // (yaml's parser reads about 0.5 MB/s here: fewer rounds for the larger listing)
  it.each([
    ['kinds', 15],
    ['sets_and_maps', 40],
    ['ct_helpers', 40],
    ['nat', 40],
  ] as const)('%s: never throws; every problem positioned, coded, one line', (name, rounds) => {
    const text = readFileSync(`${DATA}${name}.json`, 'utf8');
    const v = JSON.parse(text);
    const all = paths(v);
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let withProblems = 0;
    for (let i = 0; i < rounds; i++) {
      const damaged = JSON.stringify(
        replaced(v, all[rand(all.length)], REPLACEMENTS[rand(REPLACEMENTS.length)]),
        null,
        1,
      );
      const lines = damaged.split('\n').length;
      for (const lenient of [false, true]) {
        const r = readNftJson(damaged, 'd.json', { lenient });
        if (r.diagnostics.length > 0) withProblems++;
        for (const d of r.diagnostics) {
          expect(CODES.has(d.code), `${d.code}: ${d.message}`).toBe(true);
          expect(d.file).toBe('d.json');
          expect(d.line).toBeGreaterThanOrEqual(1);
          expect(d.line).toBeLessThanOrEqual(lines);
          expect(d.col).toBeGreaterThanOrEqual(1);
          expect(d.message).not.toMatch(/[\n\r]/);
        }
      }
    }
    expect(withProblems).toBeGreaterThan(rounds / 4);
  });
});
