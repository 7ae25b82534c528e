/**
 * README's "Known differences from Linux" and the classes the kernel
 * conformance suite accepts (test/kernel/known.ts) must name the same ids:
 * a class added without documenting it, or a documented difference that was
 * fixed and dropped from known.ts, fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KNOWN_DIFFERENCES } from './kernel/known.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

function section(title: string): string {
  const start = readme.indexOf(`## ${title}\n`);
  expect(start, `README has no "## ${title}" section`).toBeGreaterThanOrEqual(0);
  const end = readme.indexOf('\n## ', start + 3);
  return readme.slice(start, end < 0 ? undefined : end);
}

describe('README', () => {
  it('lists exactly the known differences the kernel suite accepts, each with its reason', () => {
    const text = section('Known differences from Linux');
    const tagged = [...text.matchAll(/^- `([a-z0-9-]+)`: /gm)].map((m) => m[1]);
    expect(tagged.sort()).toEqual(KNOWN_DIFFERENCES.map((k) => k.id).sort());
    for (const k of KNOWN_DIFFERENCES) expect(k.why.length, k.id).toBeGreaterThan(20);
  });
});
