/**
 * The whole-file checks on chains built in code: sizes a YAML file could
 * reach (1 MiB holds ~25000 chained user chains) without the cost of
 * parsing one.
 */
import { Scalar } from 'yaml';
import { describe, expect, it } from 'vitest';
import { YamlReader } from '../../src/base/yaml-reader.js';
import type { FwChain, FwRule } from '../../src/rules/firewall.js';
import { checkFirewall, type ReadChain } from '../../src/rules/fw-checks.js';
import type { RuleCode } from '../../src/rules/codes.js';

const pos = { file: 'x.yaml', line: 1, col: 1 };

function jumpRule(chain: string, to: string): ReadChain['rules'][number] {
  const at = new Scalar(to);
  at.range = [0, 0, 0];
  const rule: FwRule = {
    id: `${chain}-1`,
    idGiven: false,
    index: 1,
    chain,
    comment: null,
    pos,
    proto: 'any',
    family: null,
    iif: null,
    oif: null,
    src: null,
    dst: null,
    sport: null,
    dport: null,
    icmp: null,
    tcpFlags: null,
    ctState: null,
    ctStatus: null,
    pktType: null,
    limit: null,
    counter: false,
    log: null,
    nat: null,
    action: 'jump',
    rejectWith: null,
    target: to,
  };
  return { rule, chainGiven: null, targetAt: at as never, natAt: null, idAt: at as never };
}

function chainOf(name: string, hook: FwChain['hook'], to: string | null): ReadChain {
  const rules = to === null ? [] : [jumpRule(name, to)];
  return {
    chain: { name, hook, type: 'filter', priority: 0, policy: 'accept', rules: rules.map((x) => x.rule), pos },
    rules,
  };
}

function reader(): YamlReader<RuleCode> {
  return new YamlReader<RuleCode>('', 'x.yaml', {
    files: 'rule files',
    at: 'file:line:col',
    mergeAdvice: '',
    unknownThenDuplicate: true,
  });
}

describe('whole-file checks at size', () => {
  it('a loop through 10000 user chains is found without running out of stack, its message kept short', () => {
    const n = 10000;
    const read = [chainOf('base', 'input', 'c0')];
    for (let i = 0; i < n; i++) read.push(chainOf(`c${i}`, null, `c${(i + 1) % n}`));
    const r = reader();
    checkFirewall(r, read, true, false);
    expect(r.diags.map((d) => d.code)).toEqual(['rules.jump-loop']);
    expect(r.diags[0].message).toBe(
      'jump c0 closes a loop: c0 -> c1 -> c2 -> c3 -> c4 -> ... (9991 more) -> c9996 -> c9997 -> c9998 -> c9999 -> c0; the kernel refuses a ruleset whose chains loop ("Too many links", EMLINK)',
    );
  });

  it('a 10000-deep chain of jumps is reported once, at the 16th', () => {
    const n = 10000;
    const read = [chainOf('base', 'input', 'c1')];
    for (let i = 1; i <= n; i++) read.push(chainOf(`c${i}`, null, i < n ? `c${i + 1}` : null));
    const r = reader();
    checkFirewall(r, read, true, false);
    expect(r.diags.map((d) => d.code)).toEqual(['rules.jump-too-deep']);
    expect(r.diags[0].message).toMatch(/^jump c16: chain c16 is 16 jumps deep \(base -> c1 -> .* -> c16\)/);
  });
});
