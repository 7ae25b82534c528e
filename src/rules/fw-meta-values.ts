/**
 * The text values of issue 18's rule keys, parsed without YAML: `mark:`
 * (meta mark), `mark_set:` (meta mark set, xt_MARK) and `fib:` (nft's fib
 * words). Each returns the typed value or the reason it is not one; the
 * rule reader adds the rule and the position.
 */
import type { FibAddrType, FibMatch, Hook, MarkMatch, MarkSet } from './firewall.js';
import type { Parsed } from './fw-values.js';

export const MARK_HELP =
  'a mark, or mark/mask ("0x4000", "0x4000/0xff00", 16384): a 32-bit number, decimal or 0x hexadecimal';

/** A 32-bit number written in decimal or 0x hexadecimal (as nft and iptables take marks). */
function u32(text: string): number | null {
  const t = text.trim();
  if (/^0x[0-9a-f]{1,8}$/i.test(t)) return Number.parseInt(t.slice(2), 16);
  if (/^[0-9]{1,10}$/.test(t)) {
    const n = Number(t);
    return n <= 0xffffffff ? n : null;
  }
  return null;
}

function valueMask(text: string): Parsed<{ value: number; mask: number }> {
  const parts = text.split('/');
  if (parts.length > 2) return { ok: false, error: 'more than one "/"' };
  const value = u32(parts[0]);
  if (value === null) return { ok: false, error: `"${parts[0].trim()}" is not a 32-bit number` };
  const mask = parts.length === 2 ? u32(parts[1]) : 0xffffffff;
  if (mask === null) return { ok: false, error: `mask "${parts[1].trim()}" is not a 32-bit number` };
  return { ok: true, value: { value, mask } };
}

/** 0x0000ff00, as nft prints marks. */
export function hex32(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

/** `mark:` "VALUE[/MASK]": (mark & MASK) == VALUE (nft `meta mark & MASK == VALUE`, iptables `-m mark --mark`). */
export function parseMark(text: string): Parsed<MarkMatch> {
  const vm = valueMask(text);
  if (!vm.ok) return vm;
  const { value, mask } = vm.value;
  if ((value & ~mask) !== 0)
    return {
      ok: false,
      error: `${hex32(value)} has bits outside the mask ${hex32(mask)}, so (mark & mask) never equals it and no packet matches`,
    };
  return { ok: true, value: { value, mask, text: markText(value, mask) } };
}

/** nft's words for a mark condition, negated with `neg`. */
export function markText(value: number, mask: number, neg = false): string {
  const op = neg ? '!=' : '==';
  return mask >>> 0 === 0xffffffff
    ? `meta mark ${neg ? '!= ' : ''}${hex32(value)}`
    : `meta mark & ${hex32(mask)} ${op} ${hex32(value)}`;
}

/**
 * `mark_set:` "VALUE[/MASK]", xt_MARK's --set-xmark: mark = (mark & ~MASK)
 * ^ VALUE; without a mask the mark becomes VALUE. Every nft `meta mark set`
 * of the mark itself and constants has this form.
 */
export function parseMarkSet(text: string): Parsed<MarkSet> {
  const vm = valueMask(text);
  if (!vm.ok) return vm;
  const and = ~vm.value.mask >>> 0;
  const xor = vm.value.value >>> 0;
  return { ok: true, value: { and, xor, text: markSetText(and, xor) } };
}

export function markSetText(and: number, xor: number): string {
  return and >>> 0 === 0 ? `meta mark set ${hex32(xor)}` : `meta mark set meta mark & ${hex32(and)} ^ ${hex32(xor)}`;
}

export const FIB_TYPES: readonly FibAddrType[] = [
  'unspec',
  'unicast',
  'local',
  'broadcast',
  'anycast',
  'multicast',
  'blackhole',
  'unreachable',
  'prohibit',
];

export const FIB_HELP =
  'nft\'s fib words: "daddr type local", "daddr . iif type != { local, broadcast }", "saddr . iif oif missing" (or "oif exists")';

/** nft's `fib` expression and its comparison, with or without the word fib. */
export function parseFib(text: string): Parsed<FibMatch> {
  const t = text.trim().replace(/\s+/g, ' ');
  const m = /^(?:fib )?(saddr|daddr)(?: ?\. ?(iif|oif))? (type|oif) (.*)$/.exec(t);
  if (m === null)
    return {
      ok: false,
      error: 'expected saddr or daddr, optionally ". iif" or ". oif", then "type ..." or "oif missing"',
    };
  const addr = m[1] as 'saddr' | 'daddr';
  const dev = (m[2] ?? null) as 'iif' | 'oif' | null;
  const head = `fib ${addr}${dev !== null ? ` . ${dev}` : ''}`;
  if (m[3] === 'oif') {
    if (m[4] !== 'missing' && m[4] !== 'exists')
      return { ok: false, error: `"oif ${m[4]}": the output interface is tested with "oif missing" or "oif exists"` };
    return {
      ok: true,
      value: { addr, dev, result: 'oif-missing', types: [], neg: m[4] === 'exists', text: `${head} oif ${m[4]}` },
    };
  }
  let rest = m[4];
  const neg = rest.startsWith('!=');
  if (neg) rest = rest.slice(2).trim();
  else if (rest.startsWith('==')) rest = rest.slice(2).trim();
  const braced = /^\{(.*)\}$/.exec(rest);
  const words = (braced ? braced[1] : rest)
    .split(',')
    .map((w) => w.trim())
    .filter((w) => w !== '');
  if (words.length === 0) return { ok: false, error: 'no address type after "type"' };
  const types: FibAddrType[] = [];
  for (const w of words) {
    if (!(FIB_TYPES as readonly string[]).includes(w))
      return { ok: false, error: `"${w}" is not a route type (${FIB_TYPES.join(', ')})` };
    if (!types.includes(w as FibAddrType)) types.push(w as FibAddrType);
  }
  const list = types.length === 1 ? types[0] : `{ ${types.join(', ')} }`;
  return {
    ok: true,
    value: { addr, dev, result: 'type', types, neg, text: `${head} type ${neg ? '!= ' : ''}${list}` },
  };
}

/**
 * The hooks the kernel lets a fib expression run on (nft_fib_validate): a
 * lookup by the input interface, and the `oif` result, need a packet that
 * came in; a lookup by the output interface one that is going out.
 */
export function fibHooks(f: FibMatch): readonly Hook[] {
  if (f.result === 'oif-missing' || f.dev === 'iif') return ['prerouting', 'input', 'forward'];
  if (f.dev === 'oif') return ['forward', 'output', 'postrouting'];
  return ['prerouting', 'input', 'forward', 'output', 'postrouting'];
}

export const HOP_LIMIT_HELP =
  'a TTL / hop limit 0-255, a range "1-4", or a comparison "< 5", "<= 4", "> 1", ">= 2", "!= 1", "== 255"';

/** `hop_limit:` without the family's words: the range it means and whether it is negated. */
export function parseHopLimit(text: string): Parsed<{ lo: number; hi: number; neg: boolean }> {
  const m = /^\s*(==|!=|<=|>=|<|>)?\s*([0-9]{1,3})(?:\s*-\s*([0-9]{1,3}))?\s*$/.exec(text);
  if (m === null) return { ok: false, error: `"${text.trim()}" is not a number, range or comparison` };
  const a = Number(m[2]);
  const b = m[3] === undefined ? a : Number(m[3]);
  if (a > 255 || b > 255) return { ok: false, error: 'a TTL / hop limit is at most 255' };
  const op = m[1] ?? '==';
  if (m[3] !== undefined && op !== '==' && op !== '!=') return { ok: false, error: `a range takes no "${op}"` };
  if (b < a) return { ok: false, error: `the range ${a}-${b} is backwards; write ${b}-${a}` };
  const range: Record<string, [number, number]> = {
    '==': [a, b],
    '!=': [a, b],
    '<': [0, a - 1],
    '<=': [0, a],
    '>': [a + 1, 255],
    '>=': [a, 255],
  };
  const [lo, hi] = range[op];
  if (lo > hi) return { ok: false, error: `no value is ${op} ${a}, so no packet matches` };
  return { ok: true, value: { lo, hi, neg: op === '!=' } };
}

/** nft's words for a hop limit condition of family `fam`: "ip ttl 255", "ip6 hoplimit != 1", "ip ttl 1-4". */
export function hopLimitText(h: { lo: number; hi: number; neg: boolean }, fam: 4 | 6): string {
  const field = fam === 4 ? 'ip ttl' : 'ip6 hoplimit';
  const v = h.lo === h.hi ? `${h.lo}` : `${h.lo}-${h.hi}`;
  return `${field} ${h.neg ? '!= ' : ''}${v}`;
}
