/**
 * One rule's statements (parser_bison.y's stmt): matches, verdicts, vmaps,
 * counter, log, limit, reject, NAT, `KEY set VALUE`, notrack, and the
 * statements fwemu does not model, consumed by their grammar so that the
 * rest of the rule is still read. A rule ends at a newline, `;` or `}`.
 */
import type { SourcePos } from '../../../base/diag.js';
import type { Expr, NatStmt, OtherStmtName, RelOp, Rule, Stmt, Verdict } from './ast.js';
import type { Cursor } from './cursor.js';
import {
  chainTarget,
  parseLhs,
  parseLhsBinop,
  parseMapRef,
  parseRhs,
  parseSetExpr,
  parseValuePrimary,
  parseVar,
  startsLhs,
  wordExpr,
} from './parse-expr.js';

const REL_WORDS: Readonly<Record<string, RelOp>> = { eq: '==', ne: '!=', lt: '<', gt: '>', le: '<=', ge: '>=' };
const REL_PUNCT = new Set(['==', '!=', '<', '>', '<=', '>=']);

/** Reads one rule up to its end (not consuming the end). */
export function parseRule(c: Cursor): Rule {
  const from = c.i;
  const pos = c.pos();
  const stmts: Stmt[] = [];
  let comment: string | null = null;
  while (!c.atEnd()) {
    if (c.isWord('comment')) {
      c.next();
      comment = stringValue(c, 'a comment string');
      continue;
    }
    stmts.push(parseStmt(c));
  }
  if (stmts.length === 0) c.expected('a statement');
  return { stmts, comment, text: c.textFrom(from), pos };
}

function stringValue(c: Cursor, what: string): string {
  if (c.isPunct('$')) {
    const v = parseVar(c);
    if (v.kind === 'symbol') return v.text;
    return c.fail(v.pos, `${what} expected from this variable`);
  }
  return c.name(what).text;
}

function numberWord(c: Cursor, what: string): number {
  const t = c.word(what);
  if (!/^[0-9]+$/.test(t.text) || t.text.length > 15) c.fail(t, `"${t.text}" is not ${what}`, 'nft.bad-value');
  return Number(t.text);
}

function parseStmt(c: Cursor): Stmt {
  c.links = 0;
  const from = c.i;
  const pos = c.pos();
  const t = c.tok;
  const done: Done = (s) => ({ ...s, pos, text: c.textFrom(from) }) as Stmt;
  const other = (name: OtherStmtName): Stmt => done({ kind: 'other', name });
  if (t.kind === 'word') {
    switch (t.text) {
      case 'accept':
      case 'drop':
      case 'continue':
      case 'return':
      case 'jump':
      case 'goto': {
        c.next();
        const target = t.text === 'jump' || t.text === 'goto' ? chainTarget(c) : null;
        return done({ kind: 'verdict', verdict: t.text as Verdict, target });
      }
      case 'counter': {
        c.next();
        let name: string | null = null;
        if (c.isWord('name')) {
          c.next();
          name = stringValue(c, 'a counter name');
        } else if (c.isWord('packets')) {
          c.next();
          c.word('a number');
          c.word('bytes');
          c.word('a number');
        }
        return done({ kind: 'counter', name });
      }
      case 'log':
        return parseLog(c, done);
      case 'limit':
        return parseLimit(c, done);
      case 'reject':
        return parseReject(c, done);
      case 'snat':
      case 'dnat':
      case 'masquerade':
      case 'redirect':
        return parseNat(c, done);
      case 'notrack':
        c.next();
        return done({ kind: 'notrack' });
      case 'quota':
        c.next();
        if (c.isWord('name')) {
          c.next();
          stringValue(c, 'a quota name');
        } else {
          if (c.isWord('over') || c.isWord('until')) c.next();
          skipAmount(c);
          if (c.isWord('used')) {
            c.next();
            skipAmount(c);
          }
        }
        return other('quota');
      case 'queue':
        c.next();
        while (c.isWord() && ['num', 'to', 'flags', 'bypass', 'fanout'].includes(c.tok.text)) {
          const k = c.next().text;
          if (k === 'num' || k === 'to') c.word('a queue number');
          if (k === 'flags') {
            c.word('a flag');
            while (c.isPunct(',')) {
              c.next();
              c.word('a flag');
            }
          }
        }
        return other('queue');
      case 'dup':
      case 'fwd': {
        c.next();
        if (c.isWord('ip') || c.isWord('ip6')) c.next();
        if (c.isWord('to')) {
          c.next();
          parseValuePrimary(c);
        }
        if (c.isWord('device')) {
          c.next();
          parseValuePrimary(c);
        }
        return other(t.text as 'dup' | 'fwd');
      }
      case 'tproxy':
        c.next();
        if (c.isWord('ip') || c.isWord('ip6')) c.next();
        c.word('to');
        parseValuePrimary(c);
        if (c.isWord(':')) {
          c.next();
          parseValuePrimary(c);
        }
        return other('tproxy');
      case 'synproxy':
        c.next();
        while (c.isWord() && ['mss', 'wscale', 'timestamp', 'sack-perm', 'name'].includes(c.tok.text)) {
          const k = c.next().text;
          if (k === 'mss' || k === 'wscale' || k === 'name') c.name('a value');
        }
        return other('synproxy');
      case 'flow':
        c.next();
        if (c.isWord('add') || c.isWord('offload')) c.next();
        else c.expected('add or offload');
        c.punct('@');
        c.name('a flowtable name');
        return other('flow add');
      case 'add':
      case 'update':
      case 'delete': {
        c.next();
        c.punct('@');
        c.name('a set name');
        skipBraces(c);
        return other(t.text === 'add' ? 'set add' : t.text === 'update' ? 'set update' : 'set delete');
      }
      case 'meter':
        c.next();
        c.name('a meter name');
        if (c.isWord('size')) {
          c.next();
          c.word('a number');
        }
        skipBraces(c);
        return other('meter');
      case 'xt':
        c.next();
        c.word('match or target');
        c.name('a name');
        return other('xt');
      case 'last':
        c.next();
        if (c.isWord('used')) {
          c.next();
          c.word('never or a duration');
        }
        return other('last');
      case 'ct':
        if (c.isWord('count', c.peek())) {
          c.next();
          c.next();
          if (c.isWord('over')) c.next();
          c.word('a number');
          return other('connlimit');
        }
        break;
      default:
    }
  }
  if (!startsLhs(c)) {
    if (t.kind === 'word') {
      // an unknown statement: consumed to the end of the rule, reported by the builder
      while (!c.atEnd()) {
        if (c.isPunct('{')) skipBraces(c);
        else c.next();
      }
      return other('unknown');
    }
    return c.expected('a statement');
  }
  let left = parseLhsBinop(c);
  if (c.isWord('.')) {
    // `ip saddr . tcp dport { ... }`: a concatenation of left sides
    const parts = [left];
    while (c.isWord('.')) {
      c.next();
      parts.push(parseLhsBinop(c));
    }
    left = { kind: 'concat', parts, pos: left.pos };
  }
  if (c.isWord('set')) {
    c.next();
    const value = parseSetValue(c);
    return done({ kind: 'mangle', key: left, value });
  }
  if (c.isWord('vmap')) {
    c.next();
    return done({ kind: 'vmap', key: left, map: parseMapRef(c) });
  }
  let op: RelOp = 'implicit';
  if (c.tok.kind === 'punct' && REL_PUNCT.has(c.tok.text)) op = c.next().text as RelOp;
  else if (c.tok.kind === 'word' && Object.hasOwn(REL_WORDS, c.tok.text)) op = REL_WORDS[c.next().text];
  if (c.atEnd()) c.expected('a value to compare with');
  let right = parseRhs(c);
  let l = left;
  if (c.isWord('/')) {
    // `tcp flags syn / fin,syn,rst,ack`: (flags & mask) == value
    const sp = c.pos();
    c.next();
    const mask = parseRhs(c);
    l = { kind: 'binop', op: '&', left, right: mask, pos: sp };
    if (op === 'implicit') op = '==';
  } else if (right.kind === 'symbol' && !right.quoted && /^[a-z,|]+\/[a-z,|]+$/.test(right.text)) {
    const [v, m] = right.text.split('/');
    l = { kind: 'binop', op: '&', left, right: wordExpr(m, right.pos), pos: right.pos };
    right = wordExpr(v, right.pos);
    if (op === 'implicit') op = '==';
  }
  return done({ kind: 'match', left: l, op, right });
}

/** The value of `KEY set VALUE`: an expression (`ct mark`, `rt mtu`, `ip saddr map {...}`) or a constant, with bit operations. */
function parseSetValue(c: Cursor): Expr {
  let e: Expr;
  if (startsLhs(c)) {
    e = parseLhsBinop(c);
    if (c.isWord('map')) {
      c.next();
      e = { kind: 'map', key: e, map: parseMapRef(c), pos: e.pos };
    }
    return e;
  }
  e = parseValuePrimary(c);
  for (;;) {
    const t = c.tok;
    let op: '&' | '|' | '^' | null = null;
    if (t.kind === 'punct' && (t.text === '&' || t.text === '|' || t.text === '^')) op = t.text;
    else if (t.kind === 'word' && (t.text === 'and' || t.text === 'or' || t.text === 'xor'))
      op = t.text === 'and' ? '&' : t.text === 'or' ? '|' : '^';
    if (op === null) return e;
    c.next();
    e = { kind: 'binop', op, left: e, right: parseValuePrimary(c), pos: e.pos };
    c.chainLink(e.pos);
  }
}

/** `25 mbytes`, `25mbytes`. */
function skipAmount(c: Cursor): void {
  const n = c.word('an amount');
  if (/^[0-9]+$/.test(n.text) && c.isWord() && /^[kmg]?bytes$/.test(c.tok.text)) c.next();
}

/** A `{ ... }` block consumed whole (dynamic set updates, meters). */
function skipBraces(c: Cursor): void {
  if (!c.isPunct('{')) c.expected('"{"');
  let depth = 0;
  do {
    const t = c.tok;
    if (t.kind === 'eof') c.fail(t, 'a "{" not closed before the end of the file');
    if (c.isPunct('{')) {
      c.enter(t);
      depth++;
    } else if (c.isPunct('}')) {
      c.leave();
      depth--;
    }
    c.next();
  } while (depth > 0);
}

/** A statement without its position and text (distributed over the union). */
type StmtBody = Stmt extends infer S ? (S extends Stmt ? Omit<S, 'text' | 'pos'> : never) : never;
type Done = (s: StmtBody) => Stmt;

function parseLog(c: Cursor, done: Done): Stmt {
  c.next();
  let prefix: string | null = null;
  let level: string | null = null;
  let group: number | null = null;
  for (;;) {
    if (c.isWord('prefix')) {
      c.next();
      prefix = stringValue(c, 'a log prefix');
    } else if (c.isWord('level')) {
      c.next();
      level = c.name('a log level').text;
    } else if (c.isWord('group')) {
      c.next();
      group = numberWord(c, 'a log group number');
    } else if (c.isWord('snaplen') || c.isWord('queue-threshold')) {
      c.next();
      c.word('a number');
    } else if (c.isWord('flags')) {
      c.next();
      c.word('a log flag');
      while (c.isPunct(',')) {
        c.next();
        c.word('a log flag');
      }
    } else break;
  }
  return done({ kind: 'log', prefix, level, group });
}

const PER = /^(second|minute|hour|day|week)s?$/;

function parseLimit(c: Cursor, done: Done): Stmt {
  const kw = c.next();
  if (c.isWord('name')) {
    c.next();
    const name = stringValue(c, 'a limit name');
    return done({
      kind: 'limit',
      rate: 0,
      per: 'second',
      rateUnit: 'packets',
      burst: null,
      burstUnit: 'packets',
      over: false,
      name,
    });
  }
  c.word('rate');
  let over = false;
  if (c.isWord('over')) {
    c.next();
    over = true;
  } else if (c.isWord('until')) c.next();
  // "10/second", "10 /second", "10/ second", "10 / second", "10 mbytes/second"
  let words = '';
  while (c.isWord() && words.length < 64) {
    const w = c.tok.text;
    if (words !== '' && !/^\/|\/$/.test(words) && !w.startsWith('/') && !/^[kmg]?bytes/.test(w)) break;
    words += (words !== '' && /^[kmg]?bytes/.test(w) ? ' ' : '') + w;
    c.next();
  }
  const m = /^([0-9]+)(?: ?([kmg]?bytes))?\/([a-z]+)$/.exec(words);
  if (m === null || !PER.test(m[3])) return c.fail(kw, `"limit rate ${words}": expected a rate like 10/second`);
  const rate = Number(m[1]);
  const rateUnit = m[2] ?? 'packets';
  let burst: number | null = null;
  let burstUnit = rateUnit === 'packets' ? 'packets' : 'bytes';
  if (c.isWord('burst')) {
    c.next();
    const b = c.word('a burst');
    const bm = /^([0-9]+)([kmg]?bytes|packets)?$/.exec(b.text);
    if (bm === null || b.text.length > 15) c.fail(b, `"${b.text}" is not a burst`, 'nft.bad-value');
    burst = Number(bm[1]);
    if (bm[2] !== undefined) burstUnit = bm[2];
    else if (c.isWord() && /^([kmg]?bytes|packets)$/.test(c.tok.text)) burstUnit = c.next().text;
  }
  if (!Number.isSafeInteger(rate)) c.fail(kw, 'the rate is too large', 'nft.bad-value');
  return done({ kind: 'limit', rate, per: m[3].replace(/s$/, ''), rateUnit, burst, burstUnit, over, name: null });
}

function parseReject(c: Cursor, done: Done): Stmt {
  c.next();
  let type: string | null = null;
  let code: string | null = null;
  if (c.isWord('with')) {
    c.next();
    const k = c.word('tcp reset, icmp, icmpv6 or icmpx').text;
    if (k === 'tcp') {
      c.word('reset');
      type = 'tcp reset';
    } else if (k === 'icmp' || k === 'icmpv6' || k === 'icmpx') {
      type = k;
      if (c.isWord('type')) c.next();
      code = c.word(`an ${k} reject code`).text;
    } else c.fail(c.toks[c.i - 1], `"reject with ${k}": expected tcp reset, icmp, icmpv6 or icmpx`);
  }
  return done({ kind: 'reject', type, code });
}

function parseNat(c: Cursor, done: Done): Stmt {
  const type = c.next().text as NatStmt['type'];
  let family: 'ip' | 'ip6' | null = null;
  if (c.isWord('ip') || c.isWord('ip6')) {
    // `dnat ip to ...` (a family) unlike `dnat ip saddr map ...` (an expression; old syntax without to)
    const n = c.peek();
    if (n.kind === 'word' && (n.text === 'to' || n.text === 'addr' || n.text === 'prefix'))
      family = c.next().text as 'ip' | 'ip6';
  }
  if (c.isWord('addr') || c.isWord('prefix')) {
    c.next();
    if (c.isWord('.')) {
      c.next();
      c.word('port');
    }
  }
  let addr: Expr | null = null;
  let port: Expr | null = null;
  const hasTo = c.isWord('to');
  if (hasTo) c.next();
  const natFlag = (): boolean => c.isWord() && /^(random|fully-random|persistent|netmap)$/.test(c.tok.text);
  if (type === 'snat' || type === 'dnat') {
    if (c.atEnd() || natFlag()) c.expected(`an address after ${type}${hasTo ? ' to' : ''}`);
    const w = c.tok;
    const glued = w.kind === 'word' ? /^([0-9.]+(?:\/[0-9]+)?):([a-z].*)$/.exec(w.text) : null;
    if (glued !== null) {
      // "192.168.1.100:numgen inc mod 2 map {...}" as nft list prints it: the address, then ":" and an expression
      const col = w.col + glued[1].length;
      c.toks.splice(
        c.i,
        1,
        { ...w, text: glued[1] },
        { ...w, text: ':', col, space: false },
        { ...w, text: glued[2], col: col + 1, space: false },
      );
    }
    if (!c.isWord(':')) addr = natValue(c);
    if (addr !== null && addr.kind === 'symbol' && !addr.quoted) [addr, port] = splitAddrPort(addr);
  }
  if (port === null && (c.isWord(':') || (c.isWord() && c.tok.text.startsWith(':') && c.tok.text.length > 1))) {
    const t = c.tok;
    if (t.text === ':') {
      c.next();
      port = natValue(c);
    } else if (/^:[a-z]/.test(t.text)) {
      // "}:tcp dport map { ... }" as nft list prints it: the colon, then an expression
      c.toks.splice(c.i, 1, { ...t, text: ':' }, { ...t, text: t.text.slice(1), col: t.col + 1, space: false });
      c.next();
      port = natValue(c);
    } else {
      c.next();
      port = wordExpr(t.text.slice(1), c.pos(t));
    }
  } else if (port === null && (type === 'redirect' || type === 'masquerade') && hasTo && !c.atEnd() && !natFlag())
    port = natValue(c);
  const flags: string[] = [];
  while (natFlag()) {
    flags.push(c.next().text);
    if (c.isPunct(',')) c.next();
  }
  return done({ kind: 'nat', type, family, addr, port, flags });
}

/** A NAT target: a value, or an expression with a map (`ip saddr map { ... }`, `numgen inc mod 2 map { ... }`). */
function natValue(c: Cursor): Expr {
  if (startsLhs(c)) {
    const key = parseLhsOrConcat(c);
    if (!c.isWord('map')) return c.expected('map after the expression of a NAT target');
    c.next();
    return { kind: 'map', key, map: parseMapRef(c), pos: key.pos };
  }
  if (c.isPunct('{')) return parseSetExpr(c);
  const v = parseValuePrimary(c);
  if (c.isWord('-')) {
    c.next();
    return { kind: 'range', lo: v, hi: parseValuePrimary(c), pos: v.pos };
  }
  return v;
}

function parseLhsOrConcat(c: Cursor): Expr {
  const first = parseLhs(c);
  if (!c.isWord('.')) return first;
  const parts = [first];
  while (c.isWord('.')) {
    c.next();
    parts.push(parseLhs(c));
  }
  return { kind: 'concat', parts, pos: first.pos };
}

/** "10.0.0.2:80", "10.0.0.2-10.0.0.9:1000-2000", "[2001:db8::1]:80": address and port as nft's scanner splits them. */
function splitAddrPort(e: Expr & { kind: 'symbol' }): [Expr, Expr | null] {
  const s = e.text;
  const pos: SourcePos = e.pos;
  const br = /^\[([^\]]+)\](?:-\[([^\]]+)\])?(?::(.+))?$/.exec(s);
  if (br !== null) {
    const a: Expr =
      br[2] === undefined
        ? { kind: 'symbol', text: br[1], quoted: false, pos }
        : {
            kind: 'range',
            lo: { kind: 'symbol', text: br[1], quoted: false, pos },
            hi: { kind: 'symbol', text: br[2], quoted: false, pos },
            pos,
          };
    return [a, br[3] === undefined ? null : wordExpr(br[3], pos)];
  }
  const m = /^([0-9.]+(?:-[0-9.]+|\/[0-9]+)?|[a-zA-Z][\w-]*):([0-9]+(?:-[0-9]+)?)$/.exec(s);
  if (m !== null && (m[1].includes('.') || !/^[0-9-]+$/.test(m[1]))) return [wordExpr(m[1], pos), wordExpr(m[2], pos)];
  return [e, null];
}
