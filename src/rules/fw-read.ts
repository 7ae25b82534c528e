/**
 * Small readers shared by the firewall-model loaders (load-interfaces.ts,
 * load-sets.ts, load-fw-rule.ts): values given as one item or a list, and
 * the names nft and the kernel take.
 */
import { isMap, isScalar, type ParsedNode } from 'yaml';
import { describeNode, quoted } from '../base/yaml-nodes.js';
import { didYouMean } from '../base/suggest.js';
import { list, type Entry, type YamlReader } from '../base/yaml-reader.js';
import type { RuleCode } from './codes.js';
import { IFNAME_MAX } from './spec.js';

export type Reader = YamlReader<RuleCode>;

/** One text item of a list, with its node for positions. */
export interface TextItem {
  text: string;
  node: ParsedNode;
}

/**
 * A value of one or more texts (numbers read as their text): the items, or
 * null when the value is unusable (reported with `badCode`; an empty list
 * with `emptyCode`).
 */
export function texts(
  r: Reader,
  e: Entry,
  what: string,
  help: string,
  emptyCode: RuleCode,
  badCode: RuleCode,
): TextItem[] | null {
  const items = r.oneOrList(
    e,
    (v) => isScalar(v) && v.value !== null,
    [`${what} is an empty list; give ${help}`, emptyCode],
    [`${what} must be ${help}, not ${describeNode(e.value)}`, badCode],
  );
  if (items === null) return null;
  const out: TextItem[] = [];
  let ok = true;
  for (const n of items) {
    if (unquotedIpv6(r, n, what)) {
      ok = false;
      continue;
    }
    if (!isScalar(n) || (typeof n.value !== 'string' && typeof n.value !== 'number')) {
      r.error(n, `${what} must be ${help}, not ${describeNode(n)}`, badCode);
      ok = false;
      continue;
    }
    out.push({ text: String(n.value).trim(), node: n });
  }
  return ok ? out : null;
}

/**
 * Reports an IPv6 address ending in ":" that YAML read as a one-key mapping
 * (`- fd00::` is the key "fd00:" with no value); true when `n` was one.
 */
export function unquotedIpv6(r: Reader, n: ParsedNode, what: string): boolean {
  if (!isMap(n) || n.items.length !== 1) return false;
  const k = n.items[0].key;
  const v = n.items[0].value;
  if (!isScalar(k) || typeof k.value !== 'string' || !/^[0-9a-fA-F:]*:$/.test(k.value)) return false;
  if (v !== null && !(isScalar(v) && v.value === null)) return false;
  r.error(
    n,
    `${what}: ${k.value}: must be quoted: YAML reads a plain value ending in ":" as a mapping key; write "${k.value}:"`,
    'rules.unquoted-ipv6',
  );
  return true;
}

/**
 * One or more words of `allowed` (`ct_state: [established, related]`),
 * repeats left out; `alias` maps other accepted words to theirs. Null when
 * any is wrong (each reported).
 */
export function words<T extends string>(
  r: Reader,
  e: Entry,
  what: string,
  allowed: readonly T[],
  alias: Readonly<Record<string, T>> = {},
): T[] | null {
  const help = `one of ${list(allowed)}, or a list of them`;
  // (Anything but a list is one item: a wrong one is reported below, as value.not-allowed.)
  const items = r.oneOrList(
    e,
    () => true,
    [`${what} is an empty list; leave it out, or give ${help}`, 'rules.empty-list'],
    [`${what} must be ${help}`, 'rules.empty-list'],
  );
  if (items === null) return null;
  const out: T[] = [];
  let ok = true;
  for (const n of items) {
    const v = isScalar(n) && typeof n.value === 'string' ? n.value.trim() : null;
    if (v === null) {
      r.error(n, `${what} must be ${help}, not ${describeNode(n)}`, 'value.not-allowed');
      ok = false;
      continue;
    }
    const w = Object.hasOwn(alias, v) ? alias[v] : (allowed as readonly string[]).includes(v) ? (v as T) : null;
    if (w === null) {
      r.error(
        n,
        `${what} ${quoted(v)} is not allowed${didYouMean(v, allowed)} (allowed: ${list(allowed)})`,
        'value.not-allowed',
      );
      ok = false;
      continue;
    }
    if (!out.includes(w)) out.push(w);
  }
  return ok ? out : null;
}

/**
 * What is wrong with an interface name, or null: 1-15 bytes (IFNAMSIZ less
 * the NUL) of letters, digits, "_", "." and "-", as `ip link` names take
 * them and nft quotes them; not "." or ".." (the kernel's dev_valid_name).
 * `wildcard`: a trailing "*" is allowed (nft's iifname "eth*").
 */
export function ifNameProblem(name: string, wildcard: boolean): string | null {
  const base = wildcard && name.endsWith('*') ? name.slice(0, -1) : name;
  const bytes = Buffer.byteLength(base, 'utf8');
  if (bytes === 0 && !(wildcard && name === '*')) return 'is empty';
  if (bytes > IFNAME_MAX)
    return `is ${bytes} bytes long; Linux interface names hold at most ${IFNAME_MAX} (IFNAMSIZ 16 less the NUL)`;
  if (base === '.' || base === '..') return 'is not a name the kernel takes ("." and ".." are refused)';
  const bad = /[^A-Za-z0-9_.-]/u.exec(base);
  if (bad !== null) {
    const star =
      bad[0] === '*'
        ? wildcard
          ? ' ("*" only at the end, as nft\'s wildcard)'
          : ' (a wildcard "*" belongs in a rule\'s iif/oif, not in a declared name)'
        : '';
    return `contains ${quoted(bad[0])}${star}; interface names here are letters, digits, "_", "." and "-"`;
  }
  return null;
}

/**
 * nft names of sets and chains, as nft reads an unquoted name (it cannot
 * quote one): a letter or "_" first, then letters, digits, "_", ".", "-"
 * and "/"; at most 255 bytes (NFT_NAME_MAXLEN less the NUL).
 */
export function nftNameProblem(name: string): string | null {
  if (name.length === 0) return 'is empty';
  if (name.length > 255) return `is ${name.length} characters long; nft takes at most 255`;
  if (!/^[A-Za-z_][A-Za-z0-9_./-]*$/.test(name))
    return 'must start with a letter or "_" and hold only letters, digits, "_", ".", "-" and "/" (nft reads names unquoted)';
  return null;
}
