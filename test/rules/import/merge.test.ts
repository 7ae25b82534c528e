/**
 * Several rulesets as one firewall: names kept unique across files, sets
 * of one name told apart by content, everything else in file order.
 */
import { describe, expect, it } from 'vitest';
import type { FwRule, NamedSet } from '../../../src/rules/firewall.js';
import { mergeImports } from '../../../src/rules/import/merge.js';
import type { ImportResult } from '../../../src/rules/import/types.js';
import { parseCidr } from '../../../src/rules/cidr.js';
import { fakeReader } from './fake-reader.js';

const read = fakeReader('iptables-save');

function withSet(r: ImportResult, name: string, addr: string, ruleIndex: number): ImportResult {
  const c = parseCidr(addr);
  if (!c.ok) throw new Error(addr);
  const addrs = { cidrs: [c.cidr], ranges: [], set: name };
  const set: NamedSet = { name, kind: 'ipv4_addr', addrs, ports: null, pos: { file: 'x', line: 1, col: 1 } };
  const chains = r.firewall.chains.map((ch, i) =>
    i === ruleIndex ? { ...ch, rules: ch.rules.map((x): FwRule => ({ ...x, src: addrs })) } : ch,
  );
  return { ...r, firewall: { ...r.firewall, sets: [...r.firewall.sets, set], chains } };
}

describe('mergeImports', () => {
  it('one file: nothing renamed', () => {
    const a = read('chain INPUT input 0 ip filter\nchain X - 0 ip filter\n', 'a', { lenient: false });
    expect(mergeImports([{ file: 'a', result: a }]).firewall.chains.map((c) => c.name)).toEqual(['INPUT', 'X']);
  });

  it('names two files share are qualified; others keep theirs; order is file order', () => {
    const a = read('chain INPUT input 0 ip filter jump X\nchain X - 0 ip filter\nchain A_ONLY - 0 ip filter\n', 'a', {
      lenient: false,
    });
    const b = read('chain INPUT input -10 ip6 filter jump X\nchain X - 0 ip6 filter\n', 'b', { lenient: false });
    const m = mergeImports([
      { file: 'a', result: a },
      { file: 'b', result: b },
    ]);
    expect(m.firewall.chains.map((c) => `${c.name}:${c.rules.map((r) => `${r.id}>${r.target}`).join(',')}`)).toEqual([
      'ip/filter/INPUT:ip/filter/INPUT-1>ip/filter/X',
      'ip/filter/X:ip/filter/X-1>null',
      'A_ONLY:A_ONLY-1>null',
      'ip6/filter/INPUT:ip6/filter/INPUT-1>ip6/filter/X',
      'ip6/filter/X:ip6/filter/X-1>null',
    ]);
    // The originals are not changed (each file's result stays as its reader made it).
    expect(a.firewall.chains[0].name).toBe('INPUT');
  });

  it('a set name two files use: one set when equal, the later renamed (with its rules) when not', () => {
    const a = withSet(read('chain INPUT input 0 ip filter\n', 'a', { lenient: false }), 'bad', '10.0.0.0/8', 0);
    const same = withSet(read('chain FWD forward 0 ip filter\n', 'b', { lenient: false }), 'bad', '10.0.0.0/8', 0);
    const other = withSet(read('chain OUT output 0 ip filter\n', 'c', { lenient: false }), 'bad', '192.0.2.0/24', 0);
    const m = mergeImports([
      { file: 'a', result: a },
      { file: 'b', result: same },
      { file: 'c', result: other },
    ]);
    expect(m.firewall.sets.map((s) => `${s.name} ${s.addrs?.cidrs[0].text}`)).toEqual([
      'bad 10.0.0.0/8',
      'bad.3 192.0.2.0/24',
    ]);
    expect(m.firewall.chains.map((c) => `${c.name} ${c.rules[0].src?.set}`)).toEqual([
      'INPUT bad',
      'FWD bad',
      'OUT bad.3',
    ]);
  });

  it('diagnostics, ignored constructs and interface names are kept, per file', () => {
    const a = read('chain INPUT input 0 ip filter iif eth0 ignored counter error queue\n', 'a', { lenient: true });
    const b = read(
      'chain INPUT input 0 ip6 filter iif eth0 ignored log\nchain F forward 0 ip6 filter iif eth1\n',
      'b',
      {
        lenient: true,
      },
    );
    const m = mergeImports([
      { file: 'a', result: a },
      { file: 'b', result: b },
    ]);
    expect(m.diagnostics.map((d) => `${d.file}:${d.line} ${d.severity}`)).toEqual(['a:1 warning']);
    expect(m.ignored.map((i) => `${i.pos.file}:${i.pos.line} ${i.text}`)).toEqual(['a:1 counter', 'b:1 log']);
    expect(m.interfaceNames).toEqual(['eth0', 'eth1']);
  });
});
