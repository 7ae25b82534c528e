/**
 * A tiny stand-in for the ruleset readers (the real ones are tested on
 * their own): one chain a line,
 *
 *   chain NAME HOOK|- PRIORITY ip|ip6|inet TABLE [iif IF] [jump TARGET] [drop] [ignored TEXT] [error TEXT] [inert]
 *
 * each chain getting one rule (accept, or the jump), so the loading entry,
 * the merge and the host description can be tested without them.
 */
import type { Diagnostic } from '../../../src/base/diag.js';
import type { FwChain, FwRule, Hook } from '../../../src/rules/firewall.js';
import type { IgnoredConstruct, ImportOptions, ImportResult, RulesetFormat } from '../../../src/rules/import/types.js';

export function fakeReader(format: RulesetFormat) {
  return (text: string, file: string, opts: ImportOptions): ImportResult => {
    const chains: FwChain[] = [];
    const diagnostics: Diagnostic[] = [];
    const ignored: IgnoredConstruct[] = [];
    const names: string[] = [];
    text.split('\n').forEach((l, i) => {
      const w = l.trim().split(/\s+/);
      if (w[0] !== 'chain') return;
      const line = i + 1;
      const pos = { file, line, col: 1 };
      const [, name, hook, prio, fam, table] = w;
      const opt = (k: string) => {
        const j = w.indexOf(k);
        return j < 0
          ? null
          : w
              .slice(j + 1)
              .join(' ')
              .split(' ')[0];
      };
      const iif = opt('iif');
      if (iif !== null) names.push(iif);
      const target = opt('jump');
      const ig = opt('ignored');
      if (ig !== null) ignored.push({ pos, text: ig, meaning: 'counts packets; the verdict is unchanged' });
      const err = opt('error');
      if (err !== null)
        diagnostics.push({
          file,
          line,
          col: 5,
          message: `${err} is not supported`,
          severity: opts.lenient ? 'warning' : 'error',
          code: 'nft.unsupported',
        });
      const rule: FwRule = {
        id: `${name}-1`,
        idGiven: false,
        index: 1,
        chain: name,
        comment: null,
        pos,
        proto: 'any',
        family: null,
        iif: iif === null ? null : [iif],
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
        action: target !== null ? 'jump' : w.includes('drop') ? 'drop' : 'accept',
        rejectWith: null,
        target,
        origin: { file, line, col: 1, text: l.trim() },
        inert: w.includes('inert') ? 'the rule never matches (-m recent is not modelled)' : null,
      };
      chains.push({
        name,
        hook: hook === '-' ? null : (hook as Hook),
        type: 'filter',
        priority: Number(prio),
        policy: 'accept',
        rules: [rule],
        pos,
        family: fam === 'ip' ? 4 : fam === 'ip6' ? 6 : null,
        table: `${fam} ${table}`,
        origin: { file, line, col: 1, text: name },
      });
    });
    return { format, firewall: { interfaces: [], sets: [], chains }, diagnostics, ignored, interfaceNames: names };
  };
}
