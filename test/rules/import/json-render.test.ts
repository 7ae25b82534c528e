/**
 * A rule imported from nft JSON shows as its origin the rule as nft writes
 * it. The truth: the kernel's own text listing (`nft list ruleset`) of the
 * same loaded ruleset whose JSON listing (`nft -j list ruleset`) is read.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readJson, type JValue } from '../../../src/rules/import/json/read.js';
import { duration, prop, Renderer, single } from '../../../src/rules/import/json/render.js';

const DATA = new URL('./data/json/', import.meta.url).pathname;

/** The rule lines of each chain of a text listing, keyed family/table/chain. */
function textRules(txt: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let table = '';
  let rules: string[] | null = null;
  for (const line of txt.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^table (\S+) (\S+) \{/.exec(line))) {
      table = `${m[1]}/${m[2]}`;
      rules = null;
    } else if ((m = /^\tchain (\S+) \{/.exec(line))) out.set(`${table}/${m[1]}`, (rules = []));
    else if (/^\t\}/.test(line)) rules = null;
    else if (rules !== null && /^\t\t\S/.test(line) && !/^\t\ttype /.test(line)) rules.push(line.trim());
  }
  return out;
}

function s(v: JValue | undefined): string {
  return v?.kind === 'string' ? v.value : '';
}

describe('the text of a rule read from nft JSON', () => {
  // (listings only: commands.input.json holds commands, whose order the listing does not keep)
  const files = readdirSync(DATA).filter((f) => f.endsWith('.json') && !f.endsWith('.input.json'));

  it.each(files)('is the kernel text listing of %s, rule by rule', (f) => {
    const json = readJson(readFileSync(DATA + f, 'utf8')).value!;
    const want = textRules(readFileSync(DATA + f.replace(/\.json$/, '.nft'), 'utf8'));
    const got = new Map<string, string[]>();
    const list = prop(json, 'nftables');
    for (const item of list?.kind === 'array' ? list.items : []) {
      const o = single(item)!;
      if (o.key !== 'rule') continue;
      const b = o.body;
      const key = `${s(prop(b, 'family'))}/${s(prop(b, 'table'))}/${s(prop(b, 'chain'))}`;
      const exprs = prop(b, 'expr');
      const comment = prop(b, 'comment');
      const text = new Renderer(s(prop(b, 'family'))).rule(
        exprs?.kind === 'array' ? exprs.items : [],
        comment?.kind === 'string' ? comment.value : null,
      );
      got.set(key, [...(got.get(key) ?? []), text]);
    }
    expect([...got.keys()].filter((k) => !want.has(k))).toEqual([]);
    for (const [k, rules] of want) {
      const mine = got.get(k) ?? [];
      expect(mine.length, k).toBe(rules.length);
      // iptables-nft's compat statements: nft's text translates them with libxtables, its JSON names only
      // the extension ({"xt": {"type": "match", "name": "conntrack"}}); those rules must show that
      for (let i = 0; i < rules.length; i++)
        if (/^ipt-/.test(f) && mine[i] !== rules[i])
          expect(mine[i], `${k} ${rules[i]}`).toMatch(/\bxt (match|target) "/);
        else expect(mine[i], k).toBe(rules[i]);
    }
  });

  it('shows iptables-nft compat statements by their extension, as nft without libxtables does', () => {
    const text = readFileSync(`${DATA}ipt-docker-portmap.json`, 'utf8');
    expect(text).toContain('{"xt": {"type": "match", "name": "conntrack"}}');
    const r = readJson('{"xt": {"type": "target", "name": "REJECT"}}');
    expect(new Renderer('ip').stmt(r.value!)).toBe('xt target "REJECT"');
  });

  it('counts every listing rule (the comparison above is not empty)', () => {
    let n = 0;
    for (const f of files)
      for (const r of textRules(readFileSync(DATA + f.replace(/\.json$/, '.nft'), 'utf8')).values()) n += r.length;
    expect(n).toBeGreaterThan(100);
  });

  it('writes statements of newer nft (1.0.7 on): `last` with a duration, op "!" as `& V == 0`', () => {
    const r = new Renderer('inet');
    const st = (json: string) => r.stmt(readJson(json).value!);
    expect(st('{"last": {"used": 300000}}')).toBe('last used 5m');
    expect(st('{"last": null}')).toBe('last');
    expect(
      st('{"match": {"left": {"payload": {"field": "flags", "protocol": "tcp"}}, "op": "!", "right": "syn"}}'),
    ).toBe('tcp flags & syn == 0');
  });

  it('writes durations as nft does', () => {
    expect([3600, 600, 90, 0.5, 86400 + 61, 0].map(duration)).toEqual(['1h', '10m', '1m30s', '500ms', '1d1m1s', '0s']);
  });

  it('writes a rule comment and quotes it', () => {
    const r = readJson(
      '[{"match": {"op": "==", "left": {"meta": {"key": "iifname"}}, "right": "a\\"b"}}, {"accept": null}]',
    );
    const items = r.value?.kind === 'array' ? r.value.items : [];
    expect(new Renderer('inet').rule(items, 'ssh "in"')).toBe('iifname "a\\"b" accept comment "ssh \\"in\\""');
  });
});
