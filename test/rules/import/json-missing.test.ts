import { describe, expect, it } from 'vitest';
import { readNftJson } from '../../../src/rules/import/json/index.js';

const HEAD = '{"nftables":[{"table":{"family":"inet","name":"f"}},{"chain":{"family":"inet","table":"f","name":"c"}},';
const rule = (stmt: string) => `${HEAD}{"rule":{"family":"inet","table":"f","chain":"c","expr":[${stmt}]}}]}`;

/** The errors of one rule's statement: "line:col code message". */
function errors(stmt: string): string[] {
  const text = rule(stmt);
  return readNftJson(text, 'r.json', { lenient: false })
    .diagnostics.filter((d) => d.severity === 'error')
    .map((d) => `${d.line}:${d.col} ${d.code} ${d.message}`);
}

describe('nft JSON: an object missing one of the two properties it needs', () => {
  it.each([
    ['{"vmap":{"key":{"ct":{"key":"state"}}}}', 'a vmap needs "key" and "data"', '{"vmap"'],
    ['{"mangle":{"value":1}}', 'a mangle needs "key" and "value"', '{"mangle"'],
    ['{"dnat":{"addr":{"map":{"data":{"set":[]}}}}}', 'a map needs "key" and "data"', '{"map"'],
  ])('%s', (stmt, message, at) => {
    // One error, at the object that lacks the property (its own column, 1-based, just after the key).
    const col = rule(stmt).indexOf(at) + at.length + 2;
    expect(errors(stmt)).toEqual([`1:${col} json.missing ${message}`]);
  });
});
