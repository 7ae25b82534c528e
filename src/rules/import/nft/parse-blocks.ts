/**
 * The blocks of a table: chains (base chain declaration, priority,
 * policy, rules), sets and maps, flowtables and stateful objects, as nft
 * -f reads them and nft list ruleset prints them.
 */
import type { SourcePos } from '../../../base/diag.js';
import type { Chain, Expr, ObjectDecl, Priority, SetDecl, Table } from './ast.js';
import type { Cursor } from './cursor.js';
import { parseConcat, parseLhs, parseRhs, parseSetExpr } from './parse-expr.js';
import { define, endOf, findSet, getChain, include, OBJECT_KINDS, type State, setIndex } from './parse-state.js';
import { parseRule } from './parse-stmt.js';

export function tableBlock(st: State, c: Cursor, t: Table): void {
  const open = c.punct('{');
  c.enter(open);
  st.scopes.push(new Map());
  for (;;) {
    c.skipSeps();
    if (c.isPunct('}')) break;
    if (c.tok.kind === 'eof') c.fail(open, `the block of table ${t.family} ${t.name} opened here is not closed`);
    const w = c.word('chain, set, map, flowtable, an object, flags, comment or define');
    switch (w.text) {
      case 'include':
        include(st, c);
        break;
      case 'chain': {
        const n = c.name('a chain name');
        chainBlock(st, c, getChain(t, n.text, c.pos(n)));
        break;
      }
      case 'set':
      case 'map': {
        const n = c.name(`a ${w.text} name`);
        setBlock(st, c, t, n.text, c.pos(n), w.text === 'map');
        break;
      }
      case 'flowtable':
        flowtable(c, t);
        break;
      case 'flags':
        for (const x of words(c)) t.flags.push(x);
        break;
      case 'comment':
        t.comment = c.name('a comment').text;
        break;
      case 'define':
      case 'redefine':
        define(c, st.scopes[st.scopes.length - 1]);
        break;
      default:
        if (OBJECT_KINDS.has(w.text) || w.text === 'ct') object(c, t, w.text, c.i - 1);
        else
          c.fail(
            w,
            `"${w.text}" does not belong in a table block (chain, set, map, flowtable, counter, quota, limit, ct helper, ...)`,
          );
    }
    endOf(c, 'declaration');
  }
  c.next();
  st.scopes.pop();
  c.leave();
}

/** `a,b,c` or `a, b` words up to the end. */
export function words(c: Cursor): string[] {
  const out = [c.word('a word').text];
  while (c.isPunct(',')) {
    c.next();
    out.push(c.word('a word').text);
  }
  return out;
}

export function flowtable(c: Cursor, t: Table): void {
  const from = c.i - 1;
  const pos = c.pos(c.toks[from]);
  const n = c.name('a flowtable name');
  if (c.isPunct('{')) skipBlock(c);
  t.flowtables.push({ name: n.text, text: c.textFrom(from), pos });
}

export function object(c: Cursor, t: Table, kind: string, from: number): void {
  const pos = c.pos(c.toks[from]);
  let k = kind;
  if (kind === 'ct') k = `ct ${c.word('helper, timeout or expectation').text}`;
  const n = c.name(`a ${k} name`);
  if (c.isPunct('{')) skipBlock(c);
  const o: ObjectDecl = { kind: k, name: n.text, text: c.textFrom(from), pos };
  t.objects.push(o);
}

/** A `{ ... }` consumed whole, nesting counted. */
export function skipBlock(c: Cursor): void {
  const open = c.punct('{');
  c.enter(open);
  let depth = 1;
  while (depth > 0) {
    const t = c.tok;
    if (t.kind === 'eof') c.fail(open, 'a "{" opened here is not closed');
    if (c.isPunct('{')) {
      c.enter(t);
      depth++;
    } else if (c.isPunct('}')) {
      c.leave();
      depth--;
    }
    c.next();
  }
}

// ------------------------------------------------------------------ chains

export function chainBlock(st: State, c: Cursor, ch: Chain): void {
  const open = c.punct('{');
  c.enter(open);
  st.scopes.push(new Map());
  for (;;) {
    c.skipSeps();
    if (c.isPunct('}')) break;
    if (c.tok.kind === 'eof') c.fail(open, `the block of chain ${ch.name} opened here is not closed`);
    if (c.isWord('include') && c.peek().kind === 'string') {
      c.next();
      include(st, c);
      continue;
    }
    if (c.isWord('type') && !c.isWord('.', c.peek(2))) baseSpec(c, ch);
    else if (c.isWord('policy')) {
      const p = c.next();
      policy(c, ch, p);
    } else if (c.isWord('device') || c.isWord('devices')) {
      const d = c.next();
      if (ch.base === null) c.fail(d, `${d.text} outside a base chain`, 'nft.bad-chain');
      if (c.isPunct('=')) c.next();
      const e = parseRhs(c);
      for (const x of symbols(e)) ch.base.devices.push(x);
    } else if (c.isWord('comment')) {
      c.next();
      ch.comment = c.name('a comment').text;
    } else if (c.isWord('define') || c.isWord('redefine')) {
      c.next();
      define(c, st.scopes[st.scopes.length - 1]);
    } else if (c.isWord('flags') && c.isWord('offload', c.peek())) {
      c.next();
      c.next();
    } else ch.rules.push(parseRule(c));
    endOf(c, 'rule');
  }
  c.next();
  st.scopes.pop();
  c.leave();
}

export function symbols(e: Expr): string[] {
  if (e.kind === 'symbol') return [e.text];
  if (e.kind === 'list') return e.items.flatMap(symbols);
  if (e.kind === 'set') return e.elems.flatMap((x) => symbols(x.key));
  return [];
}

/** `type T hook H [device D] priority P [;] [policy V]` (older files leave out the `;`). */
export function baseSpec(c: Cursor, ch: Chain): void {
  const pos = c.pos();
  c.next();
  const type = c.word('a chain type (filter, nat, route)').text;
  c.word('hook');
  const hook = c.word('a hook').text;
  const devices: string[] = [];
  if (c.isWord('device')) {
    c.next();
    for (const x of symbols(parseRhs(c))) devices.push(x);
  }
  const pw = c.word('priority');
  if (pw.text !== 'priority') c.fail(pw, `expected priority, found "${pw.text}"`);
  const priority = parsePriority(c);
  ch.base = { type, hook, priority, policy: ch.base?.policy ?? null, devices, pos };
  if (c.isPunct(';') && c.isWord('policy', c.peek())) c.next();
  if (c.isWord('policy')) policy(c, ch, c.next());
}

export function policy(c: Cursor, ch: Chain, p: { file: string; line: number; col: number }): void {
  let w: string;
  if (c.isPunct('$')) {
    const v = parseConcat(c);
    if (v.kind !== 'symbol') c.fail(p, 'a policy (accept or drop) expected from this variable');
    w = v.text;
  } else w = c.word('accept or drop').text;
  if (w !== 'accept' && w !== 'drop') c.fail(p, `policy ${w}: a chain's policy is accept or drop`, 'nft.bad-chain');
  if (ch.base === null)
    c.fail(p, 'a policy on a chain without type ... hook ... (a user chain has none)', 'nft.bad-chain');
  ch.base.policy = w;
}

/** `0`, `-150`, `filter`, `dstnat + 5`, `mangle-1`, `$prio`. */
export function parsePriority(c: Cursor): Priority {
  const pos = c.pos();
  const from = c.i;
  let base: string;
  if (c.isPunct('$')) {
    const v = parseConcat(c);
    if (v.kind !== 'symbol') c.fail(pos, 'a priority expected from this variable');
    base = v.text;
  } else base = c.word('a priority (a number or raw, mangle, dstnat, filter, security, srcnat)').text;
  let offset = 0;
  let name: string | null = null;
  const m = /^(-?[0-9]+)$/.exec(base);
  // nft reads "mangle - 5" and "mangle -5" but not "mangle-5" (one word to its scanner)
  const nm = /^([a-z]+)$/.exec(base);
  if (m !== null) offset = Number(m[1]);
  else if (nm !== null) {
    name = nm[1];
    if (c.isPunct('+') || c.isWord('-')) {
      const sign = c.next().text === '-' ? -1 : 1;
      const n = c.word('a number');
      if (!/^[0-9]+$/.test(n.text)) c.fail(n, `"${n.text}" is not a number`);
      offset = sign * Number(n.text);
    } else if (c.isWord() && /^[+-]?[0-9]+$/.test(c.tok.text) && /^-/.test(c.tok.text)) {
      offset = Number(c.next().text);
    }
  } else c.fail(pos, `"${base}" is not a priority`, 'nft.bad-chain');
  if (Math.abs(offset) > 2 ** 31) c.fail(pos, `priority ${base} is out of range`, 'nft.bad-chain');
  return { name, offset, text: c.textFrom(from), pos };
}

// -------------------------------------------------------------------- sets

export function setBlock(_st: State, c: Cursor, t: Table, name: string, pos: SourcePos, isMap: boolean): void {
  let s = findSet(t, name);
  if (s === undefined) {
    s = {
      name,
      isMap,
      keyType: [],
      keyTypeof: null,
      dataType: null,
      flags: [],
      elements: [],
      extra: [],
      comment: null,
      pos,
    };
    t.sets.push(s);
    setIndex.get(t.sets)?.set(name, s);
  }
  if (!c.isPunct('{')) return;
  const open = c.punct('{');
  c.enter(open);
  for (;;) {
    c.skipSeps();
    if (c.isPunct('}')) break;
    if (c.tok.kind === 'eof') c.fail(open, `the block of set ${name} opened here is not closed`);
    setLine(c, s);
    endOf(c, 'set declaration');
  }
  c.next();
  c.leave();
}

export function setLine(c: Cursor, s: SetDecl): void {
  const w = c.word('type, typeof, flags, elements, timeout, size, policy, ...');
  const from = c.i - 1;
  switch (w.text) {
    case 'type': {
      s.keyType = typeNames(c);
      if (c.isWord(':')) {
        c.next();
        s.dataType = typeNames(c).join(' . ');
      }
      return;
    }
    case 'typeof': {
      const parts = [parseLhs(c)];
      while (c.isWord('.')) {
        c.next();
        parts.push(parseLhs(c));
      }
      s.keyTypeof = parts;
      if (c.isWord(':')) {
        c.next();
        if (c.isWord('verdict')) s.dataType = c.next().text;
        else {
          const d = [parseLhs(c)];
          while (c.isWord('.')) {
            c.next();
            d.push(parseLhs(c));
          }
          s.dataType = `typeof ${c.textFrom(from).split(':').slice(1).join(':').trim()}`;
        }
      }
      return;
    }
    case 'flags':
      for (const x of words(c)) s.flags.push(x);
      return;
    case 'elements': {
      c.punct('=');
      const e = c.isPunct('$') ? parseConcat(c) : parseSetExpr(c);
      if (e.kind !== 'set') c.fail(w, 'elements = expects { ... }');
      for (const x of e.elems) s.elements.push(x);
      return;
    }
    case 'comment':
      s.comment = c.name('a comment').text;
      return;
    case 'auto-merge':
    case 'counter':
      s.extra.push(w.text);
      return;
    case 'timeout':
    case 'gc-interval':
    case 'size':
    case 'policy':
      c.word(`a ${w.text} value`);
      s.extra.push(c.textFrom(from));
      return;
    default:
      c.fail(w, `"${w.text}" does not belong in a set block`);
  }
}

/** `ipv4_addr . inet_service` */
export function typeNames(c: Cursor): string[] {
  const out = [c.word('a type name (ipv4_addr, ipv6_addr, inet_service, ifname, ...)').text];
  while (c.isWord('.')) {
    c.next();
    out.push(c.word('a type name').text);
  }
  return out;
}
