/**
 * Every diagnostic carries a code listed in a table (BASE_CODES or its
 * reader's), whatever broke: the examples are damaged line by line, so the
 * readers meet problems no test names one by one.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BASE_CODES, type Diagnostic } from '../../src/base/diag.js';
import { DiagnosticsError } from '../../src/base/errors.js';
import { POLICY_CODES } from '../../src/policy/codes.js';
import { RULE_CODES } from '../../src/rules/codes.js';
import { parseRuleSet } from '../../src/rules/load.js';
import { SCENARIO_CODES } from '../../src/synth/scenario/codes.js';
import { parseScenario } from '../../src/synth/scenario.js';

const KNOWN = new Set([
  ...Object.keys(BASE_CODES),
  ...Object.keys(RULE_CODES),
  ...Object.keys(SCENARIO_CODES),
  ...Object.keys(POLICY_CODES),
]);

/** Each line of `text` that holds YAML, in turn: dropped, its first ": " made ":", its value replaced by a list or by 99999, or given twice. */
function* damaged(text: string): Generator<string> {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (/^\s*(#|$)/.test(l)) continue; // a comment or blank line damaged is still one: nothing to learn
    const variants = [
      null,
      l.replace(': ', ':'),
      l.replace(/: .*$/, ': [1, {a: b}]'),
      l.replace(/: .*$/, ': 99999'),
      `${l}\n${l}`,
    ];
    for (const v of variants)
      yield [...lines.slice(0, i), ...(v === null ? [] : [v]), ...lines.slice(i + 1)].join('\n');
  }
}

function diagnosticsOf(parse: () => unknown): readonly Diagnostic[] {
  try {
    parse();
    return [];
  } catch (e) {
    if (!(e instanceof DiagnosticsError)) throw e;
    return e.diagnostics;
  }
}

describe('diagnostic codes', () => {
  it('every problem in damaged rule files and scenarios has a listed code', () => {
    const seen = new Set<string>();
    const inputs: [string, (t: string) => unknown][] = [
      ...['rules/web-server.yaml', 'rules/home-router.yaml'].map(
        (f) => [f, (t: string) => parseRuleSet(t, f)] as [string, (t: string) => unknown],
      ),
      ...['fixtures/scenarios/every-step.yaml'].map(
        (f) => [f, (t: string) => parseScenario(t, f)] as [string, (t: string) => unknown],
      ),
    ];
    for (const [file, parse] of inputs) {
      for (const text of damaged(readFileSync(file, 'utf8'))) {
        for (const d of diagnosticsOf(() => parse(text))) {
          expect(KNOWN.has(d.code), `${d.code} (${d.message})`).toBe(true);
          seen.add(d.code.split('.')[0]);
        }
      }
    }
    // The damage reached every kind of reader: YAML, values, rule files, scenarios.
    expect([...seen].sort()).toEqual(expect.arrayContaining(['rules', 'scenario', 'value', 'yaml']));
  });
});
