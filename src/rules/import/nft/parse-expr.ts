/**
 * nft expressions: the left side of a match (payload, meta, ct, fib and
 * the expressions fwemu does not model), and values (symbols, prefixes,
 * ranges, concatenations, comma lists, anonymous sets and maps, @set,
 * $define). Shapes follow parser_bison.y; words are split where nft's
 * scanner would have made several tokens ("10.0.0.0/8", "1024-65535").
 */
import type { SourcePos } from '../../../base/diag.js';
import type { Expr, SetElem, SetExpr, SetRefExpr, SymbolExpr, Verdict } from './ast.js';
import { type Cursor, MAX_ELEMENTS } from './cursor.js';

export const PAYLOAD_PROTOS = new Set([
  'ip',
  'ip6',
  'tcp',
  'udp',
  'udplite',
  'sctp',
  'dccp',
  'icmp',
  'icmpv6',
  'th',
  'ether',
  'vlan',
  'arp',
  'ah',
  'esp',
  'comp',
  'igmp',
  'gre',
  'geneve',
  'vxlan',
]);

/** meta keys nft accepts without the word meta (meta_key_unqualified). */
export const META_UNQUALIFIED = new Set([
  'mark',
  'iif',
  'iifname',
  'iiftype',
  'oif',
  'oifname',
  'oiftype',
  'skuid',
  'skgid',
  'nftrace',
  'rtclassid',
  'ibriport',
  'obriport',
  'ibrname',
  'obrname',
  'ibridgename',
  'obridgename',
  'pkttype',
  'cpu',
  'iifgroup',
  'oifgroup',
  'cgroup',
  'random',
]);

/** Expressions fwemu does not model, recognised so that their words are consumed and named. */
const UNSUPPORTED_EXPR = new Set([
  'socket',
  'osf',
  'numgen',
  'jhash',
  'symhash',
  'rt',
  'ipsec',
  'exthdr',
  'hbh',
  'rt0',
  'rt2',
  'srh',
  'frag',
  'dst',
  'mh',
]);

export const VERDICTS = new Set(['accept', 'drop', 'continue', 'return', 'jump', 'goto']);

/** Does the current token start a left-side expression? */
export function startsLhs(c: Cursor): boolean {
  const t = c.tok;
  if (t.kind === 'punct' && t.text === '@') {
    const n = c.peek();
    return n.kind === 'word' && /^(ll|nh|th)$/.test(n.text) && c.isPunct(',', c.peek(2));
  }
  if (t.kind !== 'word') return false;
  return (
    PAYLOAD_PROTOS.has(t.text) ||
    META_UNQUALIFIED.has(t.text) ||
    UNSUPPORTED_EXPR.has(t.text) ||
    t.text === 'meta' ||
    t.text === 'ct' ||
    t.text === 'fib'
  );
}

const isNum = (s: string): boolean => /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(s);
const isV4 = (s: string): boolean => /^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$/.test(s);
const isV6 = (s: string): boolean => s.includes(':') && /^[0-9a-fA-F:.]+$/.test(s) && (s.match(/:/g) ?? []).length >= 2;
const isAddrOrNum = (s: string): boolean => isNum(s) || isV4(s) || isV6(s);

/** A word as nft's scanner splits it: a prefix, a range, or one symbol. */
export function wordExpr(text: string, pos: SourcePos): Expr {
  const slash = text.lastIndexOf('/');
  if (slash > 0) {
    const a = text.slice(0, slash);
    const l = text.slice(slash + 1);
    if ((isV4(a) || isV6(a)) && /^[0-9]{1,3}$/.test(l))
      return { kind: 'prefix', addr: sym(a, pos), len: Number(l), pos };
  }
  const dash = text.indexOf('-');
  if (dash > 0 && dash === text.lastIndexOf('-')) {
    const a = text.slice(0, dash);
    const b = text.slice(dash + 1);
    if (isAddrOrNum(a) && isAddrOrNum(b)) return { kind: 'range', lo: sym(a, pos), hi: sym(b, pos), pos };
  }
  return sym(text, pos);
}

function sym(text: string, pos: SourcePos, quoted = false): SymbolExpr {
  return { kind: 'symbol', text, quoted, pos };
}

/** The left side of a match or mangle: `ip saddr`, `meta l4proto`, `ct original saddr`, `fib saddr . iif oif`, ... */
export function parseLhs(c: Cursor): Expr {
  const t = c.tok;
  const pos = c.pos();
  const from = c.i;
  if (c.isPunct('@')) {
    // raw payload @ll,off,len / @nh,... / @th,...
    c.next();
    const base = c.word('ll, nh or th');
    for (let k = 0; k < 2; k++) {
      c.punct(',');
      c.word('a number');
    }
    return { kind: 'unsupported', name: `raw payload @${base.text}`, text: c.textFrom(from), pos };
  }
  const w = c.word('an expression').text;
  if (w === 'meta') {
    const key = c.word('a meta key (l4proto, nfproto, iifname, mark, ...)').text;
    return { kind: 'meta', key, pos };
  }
  if (META_UNQUALIFIED.has(w)) return { kind: 'meta', key: w, pos };
  if (w === 'ct') {
    let dir: 'original' | 'reply' | null = null;
    if (c.isWord('original') || c.isWord('reply')) dir = c.next().text as 'original' | 'reply';
    let key = c.word('a ct key (state, status, mark, ...)').text;
    if ((key === 'ip' || key === 'ip6') && c.isWord()) key = `${key} ${c.next().text}`;
    return { kind: 'ct', key, dir, pos };
  }
  if (w === 'fib') {
    const flags = [c.word('saddr, daddr, mark, iif or oif').text];
    while (c.isWord('.')) {
      c.next();
      flags.push(c.word('saddr, daddr, mark, iif or oif').text);
    }
    const result = c.word('oif, oifname or type').text;
    return { kind: 'fib', flags, result, pos };
  }
  if (PAYLOAD_PROTOS.has(w)) {
    if ((w === 'tcp' || w === 'ip' || w === 'ip6') && c.isWord('option')) {
      c.next();
      c.word('an option name');
      if (c.isWord() && OPTION_FIELDS.has(c.tok.text)) c.next();
      return { kind: 'unsupported', name: `${w} option`, text: c.textFrom(from), pos };
    }
    if (w === 'sctp' && c.isWord('chunk')) {
      c.next();
      c.word('a chunk name');
      if (c.isWord() && !c.atEnd(c.peek()) && /^[a-z-]+$/.test(c.tok.text) && !isOperatorWord(c.tok.text)) c.next();
      return { kind: 'unsupported', name: 'sctp chunk', text: c.textFrom(from), pos };
    }
    const field = c.word(`a ${w} header field`).text;
    if (w === 'arp' && (field === 'saddr' || field === 'daddr') && (c.isWord('ip') || c.isWord('ether'))) c.next();
    return { kind: 'payload', protocol: w, field, pos };
  }
  if (UNSUPPORTED_EXPR.has(w)) return parseUnsupported(c, w, from, pos);
  return c.fail(t, `"${w}" does not start an expression nft knows`);
}

const OPTION_FIELDS = new Set([
  'kind',
  'length',
  'size',
  'count',
  'left',
  'right',
  'tsval',
  'tsecr',
  'value',
  'subtype',
  'type',
  'ptr',
  'addr',
]);

function isOperatorWord(w: string): boolean {
  return ['eq', 'ne', 'lt', 'gt', 'le', 'ge', 'set', 'map', 'vmap', 'and', 'or', 'xor'].includes(w);
}

/** The words of an expression fwemu does not model, consumed by their grammar. */
function parseUnsupported(c: Cursor, w: string, from: number, pos: SourcePos): Expr {
  const opt = (...ws: string[]): boolean => {
    if (c.isWord() && ws.includes(c.tok.text)) {
      c.next();
      return true;
    }
    return false;
  };
  let name = w;
  switch (w) {
    case 'numgen':
      c.word('random or inc');
      c.word('mod');
      c.word('a number');
      if (opt('offset')) c.word('a number');
      break;
    case 'jhash': {
      parseLhs(c);
      while (c.isWord('.')) {
        c.next();
        parseLhs(c);
      }
      c.word('mod');
      c.word('a number');
      while (c.isWord('seed') || c.isWord('offset')) {
        c.next();
        c.word('a number');
      }
      break;
    }
    case 'symhash':
      c.word('mod');
      c.word('a number');
      if (opt('offset')) c.word('a number');
      break;
    case 'socket': {
      const k = c.word('a socket key').text;
      name = `socket ${k}`;
      if (k === 'cgroupv2') {
        c.word('level');
        c.word('a number');
      }
      break;
    }
    case 'osf':
      if (opt('ttl')) c.word('loose or skip');
      c.word('name or version');
      break;
    case 'rt':
      opt('ip', 'ip6');
      name = `rt ${c.word('a routing key').text}`;
      break;
    case 'ipsec':
      c.word('in or out');
      if (opt('spnum')) c.word('a number');
      if (opt('ip', 'ip6')) c.word('saddr or daddr');
      else c.word('reqid or spi');
      break;
    case 'exthdr':
      c.word('an extension header');
      if (c.isWord() && !isOperatorWord(c.tok.text)) c.next();
      break;
    default:
      // hbh, rt0, rt2, srh, frag, dst, mh: the extension header's field
      name = `${w} (IPv6 extension header)`;
      c.word(`a ${w} field`);
  }
  return { kind: 'unsupported', name, text: c.textFrom(from), pos };
}

/** `LHS [& | ^ << >> value]...`: a left side with nft's bit operations. */
export function parseLhsBinop(c: Cursor): Expr {
  let e = parseLhs(c);
  for (;;) {
    const op = binopAt(c);
    if (op === null) return e;
    const pos = c.pos();
    c.next();
    const right = parseValuePrimary(c);
    e = { kind: 'binop', op, left: e, right, pos };
    c.chainLink(pos);
  }
}

function binopAt(c: Cursor): '&' | '|' | '^' | '<<' | '>>' | null {
  const t = c.tok;
  if (t.kind === 'punct' && (t.text === '&' || t.text === '|' || t.text === '^' || t.text === '<<' || t.text === '>>'))
    return t.text;
  if (t.kind === 'word') {
    if (t.text === 'and') return '&';
    if (t.text === 'or') return '|';
    if (t.text === 'xor') return '^';
  }
  return null;
}

/**
 * A value on the right of a match: `a`, `a,b`, `a . b`, `a-b`, `a | b`,
 * `{ ... }`, `@set`, `$var`, `(a|b)`.
 */
export function parseRhs(c: Cursor): Expr {
  const first = parseConcat(c);
  if (!c.isPunct(',')) return first;
  const items = [first];
  while (c.isPunct(',')) {
    c.next();
    items.push(parseConcat(c));
  }
  return { kind: 'list', items, pos: first.pos };
}

export function parseConcat(c: Cursor): Expr {
  const first = parseOr(c);
  if (!c.isWord('.')) return first;
  const parts = [first];
  while (c.isWord('.')) {
    c.next();
    parts.push(parseOr(c));
  }
  return { kind: 'concat', parts, pos: first.pos };
}

function parseOr(c: Cursor): Expr {
  let e = parseRange(c);
  while (c.isPunct('|')) {
    const pos = c.pos();
    c.next();
    e = { kind: 'binop', op: '|', left: e, right: parseRange(c), pos };
    c.chainLink(pos);
  }
  return e;
}

function parseRange(c: Cursor): Expr {
  const lo = parseValuePrimary(c);
  if (!c.isWord('-')) return lo;
  c.next();
  const hi = parseValuePrimary(c);
  return { kind: 'range', lo, hi, pos: lo.pos };
}

/** One value: a word, a string, a set, @set, $var or a parenthesised value. */
export function parseValuePrimary(c: Cursor): Expr {
  const t = c.tok;
  const pos = c.pos();
  if (t.kind === 'word') {
    c.next();
    return wordExpr(t.text, pos);
  }
  if (t.kind === 'string') {
    c.next();
    return sym(t.text, pos, true);
  }
  if (c.isPunct('{')) return parseSetExpr(c);
  if (c.isPunct('@')) {
    c.next();
    return { kind: 'setref', name: c.name('a set name after @').text, pos };
  }
  if (c.isPunct('$')) return parseVar(c);
  if (c.isPunct('(')) {
    c.enter(t);
    c.next();
    const e = parseOr(c);
    c.punct(')');
    c.leave();
    return e;
  }
  return c.expected('a value');
}

export function parseVar(c: Cursor): Expr {
  const d = c.punct('$');
  let n = c.word('a variable name after $');
  if (n.space) c.fail(n, 'a space between $ and the variable name');
  const colon = n.text.indexOf(':');
  if (colon > 0) {
    // `dnat to $server:80`: nft's scanner ends the name at the colon
    const rest = { ...n, text: n.text.slice(colon), col: n.col + colon, space: false };
    n = { ...n, text: n.text.slice(0, colon) };
    c.toks.splice(c.i, 0, rest);
  }
  const v = c.lookup(n.text);
  if (v === undefined)
    return c.fail(d, `$${n.text} is not defined (a define must come before its use)`, 'nft.undefined-variable');
  return v;
}

/** `{ elem, elem : value, ... }`: an anonymous set or map; newlines allowed inside. */
export function parseSetExpr(c: Cursor): SetExpr {
  const open = c.punct('{');
  c.enter(open);
  const pos = c.pos(open);
  const elems: SetElem[] = [];
  for (;;) {
    c.skipNl();
    if (c.isPunct('}')) break;
    parseElem(c, elems);
    if (elems.length > MAX_ELEMENTS) c.fail(open, `a set of more than ${MAX_ELEMENTS} elements`, 'nft.too-big');
    c.skipNl();
    if (c.isPunct(',')) {
      c.next();
      continue;
    }
    if (!c.isPunct('}')) c.expected('"," or "}" in a set');
  }
  c.next();
  c.leave();
  return { kind: 'set', elems, pos };
}

function parseElem(c: Cursor, out: SetElem[]): void {
  const pos = c.pos();
  let key = parseConcat(c);
  let value: Expr | null = null;
  if (key.kind === 'symbol' && !key.quoted && key.text.endsWith(':') && key.text.length > 1 && !isV6(key.text)) {
    // "80: 10.0.0.2": nft's scanner splits the colon off
    key = wordExpr(key.text.slice(0, -1), key.pos);
    value = parseElemValue(c);
  } else if (c.isWord(':')) {
    c.next();
    value = parseElemValue(c);
  }
  skipElemOptions(c);
  if (value === null && key.kind === 'set') {
    // a $var holding a set, or a nested set: its elements join this one (nft flattens them)
    for (const e of key.elems) out.push(e);
    return;
  }
  out.push({ key, value, pos });
}

function parseElemValue(c: Cursor): Expr {
  const t = c.tok;
  if (t.kind === 'word' && VERDICTS.has(t.text)) return parseVerdictExpr(c);
  return parseConcat(c);
}

export function parseVerdictExpr(c: Cursor): Expr {
  const pos = c.pos();
  const v = c.word('a verdict').text as Verdict;
  let target: string | null = null;
  if (v === 'jump' || v === 'goto') target = chainTarget(c);
  return { kind: 'verdict', verdict: v, target, pos };
}

/** The chain after jump/goto: a name, a quoted name, or a $var holding one. */
export function chainTarget(c: Cursor): string {
  if (c.isPunct('$')) {
    const v = parseVar(c);
    if (v.kind !== 'symbol') return c.fail(v.pos, 'a chain name expected from this variable');
    return v.text;
  }
  return c.name('a chain name').text;
}

/** Per-element options nft prints and reads: timeout, expires, comment, counter. */
function skipElemOptions(c: Cursor): void {
  for (;;) {
    if (c.isWord('timeout') || c.isWord('expires')) {
      c.next();
      c.word('a duration');
    } else if (c.isWord('comment')) {
      c.next();
      c.name('a comment');
    } else if (c.isWord('counter')) {
      c.next();
      if (c.isWord('packets')) {
        c.next();
        c.word('a number');
        c.word('bytes');
        c.word('a number');
      }
    } else return;
  }
}

/** `@name` or `{ ... }` after vmap / map. */
export function parseMapRef(c: Cursor): SetExpr | SetRefExpr {
  if (c.isPunct('{')) return parseSetExpr(c);
  if (c.isPunct('@')) {
    const pos = c.pos();
    c.next();
    return { kind: 'setref', name: c.name('a map name after @').text, pos };
  }
  if (c.isPunct('$')) {
    const v = parseVar(c);
    if (v.kind === 'set' || v.kind === 'setref') return v;
    return c.fail(v.pos, 'a map ({ ... } or @name) expected from this variable');
  }
  return c.expected('a map: { ... } or @name');
}
