/**
 * The reader against the kernel's own view. Each dump under
 * data/iptables/ was made by real iptables/ip6tables commands in a
 * network namespace (data/iptables/NAME.sh, make-dumps.sh) and saved with
 * iptables-save; NAME.nft is `nft list ruleset` of the same namespace:
 * the chains iptables-nft registered (hook, type, priority, policy) and
 * each rule as nft shows it. Every model rule is written here in nft's
 * words, independently of the reader's own texts, and must make up its
 * nft rule exactly: each clause found in it, nothing left over.
 *
 * Where nft prints a rule from iptables' own translation of an xt match
 * (`nft --debug=netlink` shows `match name conntrack`), that translation
 * can be lossy: `--ctstate NEW,DNAT` is listed as `ct status dnat`. Those
 * rules (the ones a line expands into several model rules) are held to
 * xt_conntrack.c and xt_multiport.c in iptables-read.test.ts instead.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PRIORITY_NAMES, type FwChain, type FwRule } from '../../../src/rules/firewall.js';
import { readIptablesSave } from '../../../src/rules/import/iptables/index.js';
import { ICMP_TYPES, ICMPV6_TYPES } from '../../../src/packet/icmp-names.js';

const DIR = join(import.meta.dirname, 'data/iptables');

interface NftChain {
  table: string;
  name: string;
  base: { type: string; hook: string; priority: number; policy: string } | null;
  rules: string[];
}

function readNft(text: string): NftChain[] {
  const out: NftChain[] = [];
  let table = '';
  let chain: NftChain | null = null;
  for (const raw of text.split('\n')) {
    const l = raw.trim();
    const t = /^table (\S+) (\S+) \{$/.exec(l);
    if (t) table = `${t[1]} ${t[2]}`;
    else if (/^chain (\S+) \{$/.test(l)) {
      chain = { table, name: (/^chain (\S+)/.exec(l) as RegExpExecArray)[1], base: null, rules: [] };
      out.push(chain);
    } else if (chain !== null && l.startsWith('type ')) {
      const m = /^type (\S+) hook (\S+) priority ([^;]+); policy (\S+);$/.exec(l) as RegExpExecArray;
      const p = Number.isNaN(Number(m[3])) ? PRIORITY_NAMES[m[3]] : Number(m[3]);
      chain.base = { type: m[1], hook: m[2], priority: p, policy: m[4] };
    } else if (l === '}') chain = null;
    else if (chain !== null && l !== '' && !l.startsWith('#')) chain.rules.push(l);
  }
  return out;
}

const hex8 = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
const hexShort = (n: number) => `0x${(n >>> 0).toString(16)}`;

function ports(r: { ranges: { lo: number; hi: number }[] }): string {
  const one = (p: { lo: number; hi: number }) => (p.lo === p.hi ? `${p.lo}` : `${p.lo}-${p.hi}`);
  return r.ranges.length === 1 ? one(r.ranges[0]) : `{ ${r.ranges.map(one).join(', ')} }`;
}

function icmpName(v6: boolean, t: number): string {
  const table = v6 ? ICMPV6_TYPES : ICMP_TYPES;
  return Object.keys(table).find((k) => table[k] === t) ?? String(t);
}

/** The model rule in nft's words: its clauses (each must appear in nft's line). */
function clauses(r: FwRule, fam: 4 | 6): string[] {
  const not = new Set(r.not ?? []);
  const ne = (k: Parameters<typeof not.has>[0]) => (not.has(k) ? '!= ' : '');
  const ip = fam === 6 ? 'ip6' : 'ip';
  const c: string[] = [];
  if (r.iif) c.push(`iifname ${ne('iif')}"${r.iif[0]}"`);
  if (r.oif) c.push(`oifname ${ne('oif')}"${r.oif[0]}"`);
  for (const [k, w] of [
    ['src', 'saddr'],
    ['dst', 'daddr'],
  ] as const) {
    const a = r[k];
    if (a) c.push(`${ip} ${w} ${ne(k)}${[...a.cidrs.map((x) => x.text), ...a.ranges.map((x) => x.text)].join(', ')}`);
  }
  const l4 = r.proto === 'icmpv6' ? 'ipv6-icmp' : r.proto;
  const transport = r.sport || r.dport || r.tcpFlags || r.icmp;
  if (r.proto !== 'any' && !transport) c.push(`meta l4proto ${ne('proto')}${l4}`);
  if (r.sport) c.push(`${r.proto} sport ${ne('sport')}${ports(r.sport)}`);
  if (r.dport) c.push(`${r.proto} dport ${ne('dport')}${ports(r.dport)}`);
  if (r.tcpFlags) {
    const names = (b: number) => ['fin', 'syn', 'rst', 'psh', 'ack', 'urg'].filter((_, i) => b & (1 << i)).join(',');
    c.push(`tcp flags ${ne('tcpFlags')}${names(r.tcpFlags.value)} / ${names(r.tcpFlags.mask)}`);
  }
  if (r.icmp) c.push(`${r.proto} type ${ne('icmp')}${icmpName(r.proto === 'icmpv6', r.icmp.types[0])}`);
  if (r.ctState) c.push(`ct state ${not.has('ctState') ? '! ' : ''}${r.ctState.join(',')}`);
  if (r.ctStatus) c.push(`ct status ${ne('ctStatus')}${r.ctStatus.join(',')}`);
  if (r.pktType) c.push(`pkttype ${ne('pktType')}${r.pktType[0]}`);
  if (r.mark)
    c.push(
      r.mark.mask === 0xffffffff
        ? `meta mark ${ne('mark')}${hex8(r.mark.value)}`
        : `meta mark & ${hex8(r.mark.mask)} ${not.has('mark') ? '!=' : '=='} ${hex8(r.mark.value)}`,
    );
  for (const f of r.fib ?? []) {
    const head = `fib ${f.addr}${f.dev ? ` . ${f.dev}` : ''}`;
    if (f.result === 'type') {
      const list = f.types.length === 1 ? f.types[0] : `{ ${f.types.join(', ')} }`;
      c.push(`${head} type ${f.neg ? '!= ' : ''}${list}`);
    } else c.push(`${head} oif ${f.neg ? '!= 0' : '0'}`);
  }
  if (r.limit)
    c.push(`limit rate ${r.limit.rate}/${r.limit.unit}${r.limit.burst === 5 ? '' : ` burst ${r.limit.burst} packets`}`);
  if (r.log)
    c.push(
      `log${r.log.prefix !== null ? ` prefix "${r.log.prefix}"` : ''}${r.log.level !== null ? ` level ${r.log.level}` : ''}`,
    );
  if (r.markSet) {
    const { and, xor } = r.markSet;
    c.push(
      and === 0
        ? `meta mark set ${hexShort(xor)}`
        : xor === 0
          ? `meta mark set mark and ${hexShort(and)}`
          : and === 0xffffffff
            ? `meta mark set mark xor ${hexShort(xor)}`
            : ~and >>> 0 === xor
              ? `meta mark set mark or ${hexShort(xor)}`
              : `meta mark set mark and ${hexShort(and)} xor ${hexShort(xor)}`,
    );
  }
  if (r.notrack) c.push('notrack');
  for (const ig of r.ignored ?? [])
    c.push(
      ig.startsWith('-j TCPMSS') ? 'tcp option maxseg size set rt mtu' : ig.startsWith('-j CT') ? 'xt target CT' : ig,
    );
  if (r.nat) {
    const n = r.nat;
    const flags = n.flags.length ? ` ${n.flags.join(' ')}` : '';
    const p = n.ports ? `:${n.ports.lo === n.ports.hi ? n.ports.lo : `${n.ports.lo}-${n.ports.hi}`}` : '';
    if (n.addr) {
      const a = n.addr.version === 6 && n.ports ? `[${n.addr.text}]` : n.addr.text;
      c.push(`${n.kind} to ${a}${p}${flags}`);
    } else c.push(`${n.kind}${p ? ` to ${p}` : ''}${flags}`);
  } else if (r.action === 'reject') {
    const dflt = fam === 6 ? 'icmpv6 port-unreachable' : 'icmp port-unreachable';
    const w = r.rejectWith as string;
    c.push(w === dflt ? 'reject' : `reject with ${w.replace(/^(icmpv6|icmp) /, '$1 type ')}`);
  } else if (r.action === 'jump' || r.action === 'goto') c.push(`${r.action} ${(r.target as string).split('/').pop()}`);
  else if (r.action !== 'continue') c.push(r.action);
  return c;
}

/** What is left of nft's line once every clause is taken out (nft's implied `meta l4proto` and log group aside). */
function leftover(nft: string, cl: string[]): string {
  let s = ` ${nft} `;
  for (const x of cl) {
    const i = s.indexOf(` ${x} `);
    if (i === -1) return `missing "${x}" in "${nft}"`;
    s = `${s.slice(0, i)} ${s.slice(i + x.length + 2)}`;
  }
  return s
    .replace(/ meta l4proto \S+ /g, ' ')
    .replace(/ group [0-9]+ /g, ' ')
    .trim();
}

function originalName(c: FwChain): string {
  return c.name.split('/').pop() as string;
}

const CASES = ['filter', 'nat', 'mangle', 'six', 'docker', 'ufw', 'kube', 'firewalld'];

/**
 * Rules the kernel holds as xt matches whose listing by nft is lossy:
 * --ctstate with SNAT or DNAT beside other states (listed `ct status snat`
 * alone) and `multiport ! --ports` (listed without its negation).
 */
const LOSSY = /--ctstate (?=\S*,)\S*(SNAT|DNAT)|! --ports/;

describe('iptables dumps against the kernel (nft list ruleset after iptables)', () => {
  for (const name of CASES) {
    it(`${name}: chains and rules as the kernel holds them`, () => {
      const dump = readFileSync(join(DIR, `${name}.dump`), 'utf8');
      const nft = readNft(readFileSync(join(DIR, `${name}.nft`), 'utf8'));
      const res = readIptablesSave(dump, `${name}.dump`, { lenient: false });
      expect(res.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      const fam = res.firewall.chains[0].family as 4 | 6;
      let compared = 0;
      for (const n of nft) {
        const c = res.firewall.chains.find((x) => x.table === n.table && originalName(x) === n.name);
        expect(c, `${n.table} ${n.name}`).toBeDefined();
        if (c === undefined) continue;
        if (n.base === null) expect(c.hook).toBeNull();
        else {
          // mangle OUTPUT is nft type route (re-routing on a changed mark), which fwemu reads as filter.
          const type = n.base.type === 'route' ? 'filter' : n.base.type;
          expect({ type: c.type, hook: c.hook, priority: c.priority, policy: c.policy }).toEqual({ ...n.base, type });
        }
        // One nft rule per dump line; a line the reader expands into several model rules is checked elsewhere.
        const groups: FwRule[][] = [];
        for (const r of c.rules) {
          const last = groups.at(-1);
          if (last && last[0].origin?.line === r.origin?.line) last.push(r);
          else groups.push([r]);
        }
        expect(groups.length, `${n.table} ${n.name} rules`).toBe(n.rules.length);
        groups.forEach((g, i) => {
          if (g.length > 1 || n.rules[i].includes('xt match') || LOSSY.test(g[0].origin?.text ?? '')) return;
          expect(leftover(n.rules[i], clauses(g[0], fam)), `${g[0].origin?.text}`).toBe('');
          compared++;
        });
      }
      expect(compared).toBeGreaterThan(5);
      // Chains iptables-save lists but the kernel never created are built-in, empty and accept: no effect.
      for (const c of res.firewall.chains)
        if (!nft.some((n) => n.table === c.table && n.name === originalName(c)))
          expect({ hook: c.hook !== null, rules: c.rules.length, policy: c.policy }).toEqual({
            hook: true,
            rules: 0,
            policy: 'accept',
          });
    });
  }
});
