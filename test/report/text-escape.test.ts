/**
 * visible(), visibleLines() and safeJson() (src/base/text-escape.ts), against
 * escapes written out by hand.
 */
import { describe, expect, it } from 'vitest';
import { firstUnsafe, safeJson, visible, visibleLines } from '../../src/base/text-escape.js';

describe('text-escape', () => {
  it('visible(): every control written as an escape, the rest as it is', () => {
    expect(visible('plain é 中文 🙂 \\ " \'')).toBe('plain é 中文 🙂 \\ " \'');
    expect(visible('a\nb\rc\td')).toBe('a\\nb\\rc\\td');
    expect(visible('\u0000\u0001\u001b[2J\u0007\u007f')).toBe('\\x00\\x01\\x1b[2J\\x07\\x7f');
    expect(visible('\u0080\u0085\u009b\u009f\u00a0')).toBe('\\u0080\\u0085\\u009b\\u009f\u00a0'); // NBSP is printable
    expect(visible('\u2028\u2029\u202e\u2066\u200f\u061c')).toBe('\\u2028\\u2029\\u202e\\u2066\\u200f\\u061c');
    expect(visible('lone \ud800 and \udfff, pair \ud83d\ude42, high at end \ud83d')).toBe(
      'lone \\ud800 and \\udfff, pair 🙂, high at end \\ud83d',
    );
  });

  it('visible() returns the very string when nothing needs escaping', () => {
    const s = `rule web (rules/web-server.yaml:5) ${'x'.repeat(100)}`;
    expect(visible(s)).toBe(s);
    expect(firstUnsafe(s)).toBe(-1);
    expect(firstUnsafe('ab\ncd')).toBe(2);
    expect(firstUnsafe('ab\ncd', true)).toBe(-1);
  });

  it('visibleLines() keeps \\n and nothing else', () => {
    expect(visibleLines('a\nb\r\n\u001b[2J')).toBe('a\nb\\r\n\\x1b[2J');
  });

  it('safeJson(): JSON.stringify, with DEL, C1, U+2028/2029 and bidi controls as \\uXXXX; parses back to the same value', () => {
    const v = { a: 'x\u007fy\u0085z\u2028\u202e', b: ['\u001b', '\ud800'], n: 1 };
    expect(safeJson(v)).toBe('{"a":"x\\u007fy\\u0085z\\u2028\\u202e","b":["\\u001b","\\ud800"],"n":1}');
    expect(JSON.parse(safeJson(v))).toEqual(v);
    expect(safeJson(undefined)).toBe('null');
  });
});
