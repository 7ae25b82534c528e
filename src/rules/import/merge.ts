/**
 * Several rulesets given together (`-r rules.v4 -r rules.v6`, an nft file
 * and an iptables dump) as the one firewall the kernel would run: every
 * table's chains registered side by side. Chains are concatenated in file
 * order; the engine runs the base chains of a hook by priority, equal
 * priorities in this order (as the kernel orders them by registration).
 *
 * Names must stay unique: a chain name that two files both use (INPUT of
 * the v4 and of the v6 filter table) becomes qualifiedChainName(family,
 * table, chain) in each, with its rules' ids, chain fields and the jumps
 * that reach it. A set name two files use for different contents gets the
 * later file's number (`blocklist.2`). Diagnostics and ignored constructs
 * keep their files.
 */
import type { Diagnostic } from '../../base/diag.js';
import type { AddrMatch, Firewall, FwChain, FwRule, NamedSet, PortMatch } from '../firewall.js';
import { qualifiedChainName, type IgnoredConstruct, type ImportResult } from './types.js';

/** One file's import, with the name it is known by. */
export interface FileImport {
  file: string;
  result: ImportResult;
}

export interface MergedImport {
  firewall: Firewall;
  diagnostics: Diagnostic[];
  ignored: IgnoredConstruct[];
  /** Every interface name the rulesets match on, wildcards as written, without repeats. */
  interfaceNames: string[];
}

/** The chain's family and table words ("ip", "filter") for a qualified name. */
function tableWords(ch: FwChain): { family: string; table: string } {
  const t = (ch.table ?? '').trim().split(/\s+/);
  const familyWord = ch.family === 4 ? 'ip' : ch.family === 6 ? 'ip6' : 'inet';
  if (t.length >= 2) return { family: t[0], table: t.slice(1).join(' ') };
  return { family: familyWord, table: t[0] === '' ? 'filter' : t[0] };
}

export function mergeImports(files: readonly FileImport[]): MergedImport {
  const diagnostics: Diagnostic[] = [];
  const ignored: IgnoredConstruct[] = [];
  const names = new Set<string>();
  // How many files use each chain name, and each set name with its contents.
  const chainUse = new Map<string, number>();
  for (const f of files)
    for (const name of new Set(f.result.firewall.chains.map((c) => c.name)))
      chainUse.set(name, (chainUse.get(name) ?? 0) + 1);
  const setsOut: NamedSet[] = [];
  const setByName = new Map<string, string>();
  const chains: FwChain[] = [];
  files.forEach((f, fileIndex) => {
    const r = f.result;
    for (const d of r.diagnostics) diagnostics.push(d);
    for (const i of r.ignored) ignored.push(i);
    for (const n of r.interfaceNames) names.add(n);
    const chainRename = new Map<string, string>();
    if (files.length > 1)
      for (const ch of r.firewall.chains)
        if ((chainUse.get(ch.name) ?? 0) > 1 && !ch.name.includes('/')) {
          const w = tableWords(ch);
          chainRename.set(ch.name, qualifiedChainName(w.family, w.table, ch.name));
        }
    const setRename = new Map<string, string>();
    for (const s of r.firewall.sets) {
      const key = setKey(s);
      const seen = setByName.get(s.name);
      if (seen === undefined) {
        setByName.set(s.name, key);
        setsOut.push(s);
      } else if (seen !== key) {
        const renamed = `${s.name}.${fileIndex + 1}`;
        setRename.set(s.name, renamed);
        setByName.set(renamed, key);
        setsOut.push({ ...s, name: renamed });
      }
    }
    for (const ch of r.firewall.chains)
      chains.push(chainRename.size + setRename.size === 0 ? ch : renameChain(ch, chainRename, setRename));
  });
  return {
    firewall: { interfaces: [], sets: setsOut, chains },
    diagnostics,
    ignored,
    interfaceNames: [...names],
  };
}

function renameChain(ch: FwChain, chains: ReadonlyMap<string, string>, sets: ReadonlyMap<string, string>): FwChain {
  const name = chains.get(ch.name) ?? ch.name;
  return { ...ch, name, rules: ch.rules.map((r) => renameRule(r, name, ch.name, chains, sets)) };
}

function renameRule(
  r: FwRule,
  chain: string,
  oldChain: string,
  chains: ReadonlyMap<string, string>,
  sets: ReadonlyMap<string, string>,
): FwRule {
  const out: FwRule = { ...r, chain };
  // A default id is CHAIN-N (or CHAIN-N.K for an expanded map): it follows the chain's new name.
  if (!r.idGiven && chain !== oldChain && r.id.startsWith(`${oldChain}-`)) out.id = chain + r.id.slice(oldChain.length);
  if (r.target !== null) out.target = chains.get(r.target) ?? r.target;
  if (sets.size > 0) {
    out.src = setOf(r.src, sets);
    out.dst = setOf(r.dst, sets);
    out.sport = setOf(r.sport, sets);
    out.dport = setOf(r.dport, sets);
  }
  return out;
}

function setOf<T extends AddrMatch | PortMatch>(m: T | null, sets: ReadonlyMap<string, string>): T | null {
  if (m === null || m.set === null || !sets.has(m.set)) return m;
  return { ...m, set: sets.get(m.set) ?? m.set };
}

/** A set's contents, to tell two sets of one name apart. */
function setKey(s: NamedSet): string {
  const a = s.addrs ? [...s.addrs.cidrs.map((c) => c.text), ...s.addrs.ranges.map((x) => x.text)].join(',') : '';
  const p = s.ports ? s.ports.ranges.map((x) => `${x.lo}-${x.hi}`).join(',') : '';
  return `${s.kind}|${a}|${p}`;
}
