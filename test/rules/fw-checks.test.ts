/**
 * The whole-file checks on chains built in code, at a depth that would
 * overflow a recursive search. They run in a worker thread with a small
 * stack (so a few thousand chains are enough to prove the search keeps
 * its own) and its own heap (so their garbage cannot be collected during
 * another test that counts collections, as match.test.ts does). The worker
 * loads the built modules (dist/; npm test builds first).
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../cli/run.js';

/** Runs checkFirewall on `n` user chains after a base chain, each jumping to the next (`loop`: the last back to the first). */
function check(n: number, loop: boolean): Promise<{ code: string; message: string; severity: string }[]> {
  const url = (p: string) => pathToFileURL(join(ROOT, 'dist', p)).href;
  const code = `
    const { parentPort, workerData: w } = require('node:worker_threads');
    (async () => {
      const { Scalar } = await import(${JSON.stringify(url('../node_modules/yaml/dist/index.js'))});
      const { YamlReader } = await import(${JSON.stringify(url('base/yaml-reader.js'))});
      const { checkFirewall } = await import(${JSON.stringify(url('rules/fw-checks.js'))});
      const pos = { file: 'x.yaml', line: 1, col: 1 };
      const at = new Scalar('x');
      at.range = [0, 0, 0];
      const chain = (name, hook, to) => {
        const rule = { id: name + '-1', idGiven: false, index: 1, chain: name, pos, target: to, action: 'jump', nat: null, iif: null, oif: null };
        const rules = to === null ? [] : [{ rule, chainGiven: null, targetAt: at, natAt: null, idAt: at }];
        return { chain: { name, hook, type: 'filter', priority: 0, policy: 'accept', rules: rules.map((x) => x.rule), pos }, rules };
      };
      const read = [chain('base', 'input', 'c1')];
      for (let i = 1; i <= w.n; i++) read.push(chain('c' + i, null, i < w.n ? 'c' + (i + 1) : w.loop ? 'c1' : null));
      const r = new YamlReader('', 'x.yaml', { files: 'rule files', at: 'line', mergeAdvice: '', unknownThenDuplicate: true });
      checkFirewall(r, read, true, false);
      parentPort.postMessage(r.diags.map((d) => ({ code: d.code, message: d.message, severity: d.severity })));
    })().catch((e) => parentPort.postMessage(String(e)));
  `;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData: { n, loop }, resourceLimits: { stackSizeMb: 1 } });
    worker.once('message', (m) => {
      void worker.terminate();
      if (typeof m === 'string') reject(new Error(m));
      else resolve(m);
    });
    worker.once('error', reject);
  });
}

describe('whole-file checks at depth', () => {
  it('a loop through 4000 user chains is found without running out of stack, its message kept short', async () => {
    const d = await check(4000, true);
    expect(d).toEqual([
      {
        code: 'rules.jump-loop',
        severity: 'error',
        message:
          'jump c1 closes a loop: c1 -> c2 -> c3 -> c4 -> c5 -> ... (3991 more) -> c3997 -> c3998 -> c3999 -> c4000 -> c1; the kernel refuses a ruleset whose chains loop ("Too many links", EMLINK)',
      },
    ]);
  });

  it('a 4000-deep chain of jumps is reported once, at the 16th', async () => {
    const d = await check(4000, false);
    expect(d.map((x) => x.code)).toEqual(['rules.jump-too-deep']);
    expect(d[0].message).toMatch(/^jump c16: chain c16 is 16 jumps deep \(base -> c1 -> .* -> c16\)/);
  });
});
