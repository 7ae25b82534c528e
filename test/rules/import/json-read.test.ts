/**
 * The JSON reader under the nft JSON importer: JSON as nft's jansson takes
 * it (what JSON.parse accepts, the same values; what it refuses, refused
 * here with a position), never an exception, positions as line:col.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MAX_JSON_BYTES, MAX_JSON_DEPTH, readJson, type JValue } from '../../../src/rules/import/json/read.js';

const DATA = new URL('./data/json/', import.meta.url).pathname;

/** The plain JS value of a JValue, to compare with JSON.parse. */
function plain(v: JValue): unknown {
  switch (v.kind) {
    case 'object':
      return Object.fromEntries(v.entries.map((e) => [e.key, plain(e.value)]));
    case 'array':
      return v.items.map(plain);
    case 'null':
      return null;
    default:
      return v.value;
  }
}

function problem(text: string): string {
  const r = readJson(text);
  expect(r.value).toBeNull();
  const p = r.problems[0];
  const { line, col } = r.lineCol(p.at);
  return `${line}:${col} ${p.code} ${p.message}`;
}

describe('readJson', () => {
  it('reads what JSON.parse reads, to the same values (every listing of the test data)', () => {
    const files = readdirSync(DATA).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(15);
    for (const f of files) {
      const text = readFileSync(DATA + f, 'utf8');
      const r = readJson(text);
      expect(r.problems, f).toEqual([]);
      expect(plain(r.value!), f).toEqual(JSON.parse(text));
    }
  });

  it('reads listings laid out as JSON.stringify and jq lay them out (indented, tabs, CRLF)', () => {
    for (const f of ['workstation.json', 'sets_and_maps.json', 'nat.json']) {
      const v = JSON.parse(readFileSync(DATA + f, 'utf8'));
      for (const text of [
        JSON.stringify(v, null, 2),
        JSON.stringify(v, null, '\t'),
        JSON.stringify(v, null, 1).replace(/\n/g, '\r\n'),
        `${JSON.stringify(v, null, 4)}\n`,
      ]) {
        const r = readJson(text);
        expect(r.problems, f).toEqual([]);
        expect(plain(r.value!), f).toEqual(v);
      }
    }
  });

  it('reads JSON laid out over lines, with tabs, escapes and every kind of number', () => {
    const text =
      '{\n\t"a": [1, -2.5e3, 0, 1E+2],\r\n  "b": {"c": null, "d": true, "e": false},\n  "f": "\\u00e9\\t\\"\\\\\\/"\n}\n';
    const r = readJson(text);
    expect(r.problems).toEqual([]);
    expect(plain(r.value!)).toEqual(JSON.parse(text));
  });

  it('gives every value its line and column', () => {
    const r = readJson('{\n  "nftables": [\n    {"rule": {"expr": [{"accept": null}]}}\n  ]\n}');
    const list = (r.value as Extract<JValue, { kind: 'object' }>).entries[0];
    expect(r.lineCol(list.keyAt)).toEqual({ line: 2, col: 3 });
    const item = (list.value as Extract<JValue, { kind: 'array' }>).items[0];
    expect(r.lineCol(item.at)).toEqual({ line: 3, col: 5 });
  });

  it.each([
    ['{"a": 1,}', '1:8 json.not-json not JSON: a comma after the last value (JSON allows no trailing comma)'],
    ['[1,,2]', '1:4 json.not-json not JSON: two commas in a row, or none between two values'],
    ['{"a": #x\n1}', '1:7 json.not-json not JSON: a comment (JSON has none)'],
    ['{"a": &x 1}', '1:7 json.not-json not JSON: a YAML anchor "&x" (JSON has none)'],
    ['{"a": !!str 1}', '1:7 json.not-json not JSON: a YAML tag "!!str" (JSON has none)'],
    [
      "{'a': 1}",
      `1:2 json.not-json not JSON: an object's keys are strings in double quotes, not a single-quoted string "'a'" (JSON strings take double quotes)`,
    ],
    [
      '{"a": yes}',
      '1:7 json.not-json not JSON: "yes" is neither a number, true, false nor null (JSON strings are written in double quotes)',
    ],
    [
      '{"a": 0x10}',
      '1:7 json.not-json not JSON: "0x10" is neither a number, true, false nor null (JSON strings are written in double quotes)',
    ],
    ['{"a": "x\\ay"}', '1:7 json.not-json not JSON: a string with an escape JSON does not have: "\\"x\\\\ay\\""'],
    [
      '{"a": "two\nlines"}',
      '1:7 json.not-json not JSON: a control character (a line break, a tab) inside a string; JSON writes it as \\n, \\t, \\u00XX',
    ],
    ['{"a": [1}', '1:9 json.syntax an array opened at 1:7 is not closed by ]; found "}"'],
    ['{"a": [1]', '1:10 json.syntax an object opened at 1:1 is not closed by } before the end of the file'],
    ['{"a" 1}', '1:2 json.syntax key "a" has no value (JSON writes "key": value)'],
    ['["a": 1]', '1:2 json.not-json not JSON: a "key": value pair inside an array (arrays hold values only)'],
    [
      '{"a": 1} {"b": 2}',
      '1:1 json.not-json not JSON: the file is not one JSON value (text follows the value, or YAML block syntax)',
    ],
    ['{"a": 1}\n[2]', '2:1 json.not-json not JSON after the value: "["'],
    [
      'a: 1\n',
      '1:1 json.not-json not JSON: the file is not one JSON value (text follows the value, or YAML block syntax)',
    ],
    ['---\n{}', '1:1 json.not-json not JSON: a YAML document marker "---"'],
    ['', '1:1 json.syntax the file is empty'],
    ['\n\n', '1:1 json.syntax the file is empty'],
  ])('refuses %j with a position', (text, want) => {
    expect(() => JSON.parse(text)).toThrow(); // the independent judge: not JSON
    expect(problem(text)).toBe(want);
  });

  it('refuses a key given twice (JSON.parse keeps the last; so would nft, silently)', () => {
    expect(problem('{"a": 1,\n "a": 2}')).toBe(
      '2:2 json.duplicate-key key "a" given twice in one object (first at 1:2); nft would keep only the last',
    );
  });

  it('refuses a file past its size bound before reading it', () => {
    const text = `{"nftables": [${' '.repeat(MAX_JSON_BYTES)}]}`;
    expect(problem(text)).toBe(
      `1:1 json.too-big the file holds ${text.length} characters; the JSON reader takes at most ${MAX_JSON_BYTES} (16 MiB)`,
    );
  });

  it('refuses nesting deeper than its bound before recursing, at the level too deep', () => {
    const deep = (n: number): string => `${'['.repeat(n)}${']'.repeat(n)}`;
    expect(readJson(deep(MAX_JSON_DEPTH)).problems).toEqual([]);
    expect(problem(deep(MAX_JSON_DEPTH + 1))).toMatch(/^1:65 json\.too-deep /);
    // past where a recursive reader would overflow the stack: still one positioned problem
    expect(problem(deep(20000))).toMatch(/^1:65 json\.too-deep /);
  });

  it('never throws, and says where, on damaged listings', () => {
    // (yaml's parser reads about 0.5 MB/s here: a small listing keeps this test cheap)
    const text = readFileSync(`${DATA}workstation.json`, 'utf8');
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const junk = [
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      '"',
      '\\',
      '#',
      '&',
      '*',
      '!',
      '-',
      '\n',
      '\t',
      ' ',
      'x',
      '0',
      '\u0000',
      '\u2028',
      '...',
      '---',
      '? ',
    ];
    for (let i = 0; i < 200; i++) {
      const at = rand(text.length);
      const cut = rand(4);
      const damaged = text.slice(0, at) + junk[rand(junk.length)] + text.slice(at + cut);
      const r = readJson(damaged);
      let ok = true;
      try {
        JSON.parse(damaged);
      } catch {
        ok = false;
      }
      if (ok) expect(plain(r.value!)).toEqual(JSON.parse(damaged));
      else {
        expect(r.value, damaged.slice(Math.max(0, at - 20), at + 20)).toBeNull();
        const p = r.problems[0];
        const { line, col } = r.lineCol(p.at);
        expect(line).toBeGreaterThanOrEqual(1);
        expect(col).toBeGreaterThanOrEqual(1);
        expect(p.message).not.toMatch(/\n/);
      }
    }
  });
});
