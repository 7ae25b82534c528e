/**
 * nftables text to the AST (ast.ts): the commands of a file as `nft -f`
 * runs them (`flush ruleset`, `add`/`create`/`delete`/`flush` of tables,
 * chains, sets and elements, `add rule`, blocks `table F N { ... }`),
 * `define` with nft's block scopes, and `include` read through
 * ImportOptions.readInclude, relative to the including file, at most 16
 * deep and 64 MiB in all (the loader's bound for a ruleset). Commands are applied as they are read, so the
 * AST is the ruleset the file leaves behind.
 */
import type { Diagnostic, SourcePos } from '../../../base/diag.js';
import type { Chain, Expr, ObjectDecl, Ruleset, SetDecl, Table, TableFamily } from './ast.js';
import { Cursor, ParseStop } from './cursor.js';
import { lex, MAX_TOKENS } from './lexer.js';
import { parseConcat, parseLhs, parseRhs, parseSetExpr } from './parse-expr.js';
import { parseRule } from './parse-stmt.js';
import type { ImportOptions } from '../types.js';

export const MAX_INCLUDE_DEPTH = 16;
/** Includes read in all: each splices its tokens into the reading, so their number is bounded too. */
export const MAX_INCLUDES = 1024;
export const MAX_TOTAL_BYTES = 64 * 1024 * 1024;

const FAMILIES = new Set<TableFamily>(['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev']);
const OBJECT_KINDS = new Set(['counter', 'quota', 'limit', 'secmark', 'synproxy']);

export interface ParseResult {
  ruleset: Ruleset;
  diagnostics: Diagnostic[];
}

interface State {
  tables: Table[];
  diags: Diagnostic[];
  scopes: Map<string, Expr>[];
  opts: ImportOptions;
  includes: number;
  /** The file that included each file read (include loops and depth). */
  parent: Map<string, string | null>;
  bytes: number;
}

export function parseNft(text: string, file: string, opts: ImportOptions): ParseResult {
  const st: State = {
    tables: [],
    diags: [],
    scopes: [new Map()],
    opts,
    parent: new Map([[file, null]]),
    bytes: 0,
    includes: 0,
  };
  try {
    parseFile(st, text, file);
  } catch (e) {
    if (!(e instanceof ParseStop)) throw e;
  }
  return { ruleset: { tables: st.tables }, diagnostics: st.diags };
}

function parseFile(st: State, text: string, file: string): void {
  st.bytes += text.length;
  const lx = lex(text, file);
  st.diags.push(...lx.diagnostics);
  if (lx.diagnostics.some((d) => d.severity === 'error')) throw new ParseStop('lexer');
  const c = new Cursor(lx.tokens, st.diags, st.scopes);
  for (;;) {
    c.skipSeps();
    if (c.tok.kind === 'eof') break;
    command(st, c);
    endOf(c, 'command');
  }
}

/** After a command or declaration: a newline, `;`, `}` (left for the block) or the end. */
function endOf(c: Cursor, what: string): void {
  if (!c.atEnd()) c.expected(`the end of the ${what} (a newline or ";")`);
}

function command(st: State, c: Cursor): void {
  const t = c.word('a command (table, chain, rule, set, define, include, flush, add, delete, ...)');
  switch (t.text) {
    case 'include':
      include(st, c);
      return;
    case 'define':
    case 'redefine':
      define(c, st.scopes[st.scopes.length - 1]);
      return;
    case 'undefine': {
      const n = c.word('a variable name');
      st.scopes[st.scopes.length - 1].delete(n.text);
      return;
    }
    case 'add':
    case 'create':
      addCmd(st, c, c.word('what to add (table, chain, rule, set, map, element, ...)'));
      return;
    case 'insert':
    case 'replace':
      c.word('rule');
      ruleCmd(st, c, t.text === 'insert');
      return;
    case 'table':
    case 'chain':
    case 'rule':
    case 'set':
    case 'map':
    case 'element':
    case 'flowtable':
      addCmd(st, c, t);
      return;
    case 'flush':
      flushCmd(st, c);
      return;
    case 'delete':
    case 'destroy':
      deleteCmd(st, c, t.text === 'destroy');
      return;
    default:
      if (OBJECT_KINDS.has(t.text) || t.text === 'ct') {
        addCmd(st, c, t);
        return;
      }
      c.fail(
        t,
        `"${t.text}" is not a command nft -f reads in a ruleset`,
        t.text.match(/^(list|reset|monitor|describe|export|import|rename|get)$/) ? 'nft.unsupported' : 'nft.syntax',
      );
  }
}

/**
 * `include "file"`: the file's tokens are spliced in where the include
 * stands, as nft's scanner reads an included file in place (so an include
 * may stand in a table or chain block, as OpenWrt's fw4 puts them).
 */
function include(st: State, c: Cursor): void {
  const p = c.tok;
  if (p.kind !== 'string') c.expected('the file name in double quotes');
  c.next();
  const path = resolvePath(p.file, p.text);
  const glob = /[*?[]/.test(p.text);
  if (st.opts.readInclude === undefined) c.fail(p, `include "${p.text}": includes are not read here`, 'nft.include');
  const chain: string[] = [];
  for (
    let f: string | null | undefined = p.file;
    f !== null && f !== undefined && chain.length <= MAX_INCLUDE_DEPTH;
    f = st.parent.get(f)
  )
    chain.push(f);
  if (chain.includes(path))
    c.fail(p, `include "${p.text}": ${path} is already being read (an include loop)`, 'nft.include-loop');
  if (chain.length >= MAX_INCLUDE_DEPTH)
    c.fail(p, `include "${p.text}": includes nested deeper than ${MAX_INCLUDE_DEPTH}`, 'nft.include-depth');
  if (++st.includes > MAX_INCLUDES) c.fail(p, `more than ${MAX_INCLUDES} includes in all`, 'nft.too-big');
  const r = st.opts.readInclude(path);
  if ('error' in r) {
    if (!glob) c.fail(p, `include "${p.text}": ${r.error}`, 'nft.include');
    // nft reads whatever files a wildcard matches, none included; which ones the firewall has is not known here
    c.warn(
      p,
      `include "${p.text}": not read (${r.error}); rules in the files it matches on the firewall are not in the model`,
      'nft.include',
    );
    return;
  }
  if (st.bytes + r.text.length > MAX_TOTAL_BYTES)
    c.fail(p, `include "${p.text}": more than ${MAX_TOTAL_BYTES / 1048576} MiB read in all`, 'nft.too-big');
  st.bytes += r.text.length;
  st.parent.set(path, p.file);
  const lx = lex(r.text, path);
  st.diags.push(...lx.diagnostics);
  if (lx.diagnostics.some((d) => d.severity === 'error')) throw new ParseStop('lexer');
  if (c.toks.length + lx.tokens.length > MAX_TOKENS)
    c.fail(p, `more than ${MAX_TOKENS} tokens with the included files`, 'nft.too-big');
  const eof = lx.tokens[lx.tokens.length - 1];
  // newlines around the included tokens end the include's line and the file's last one
  const tail = c.toks.splice(c.i);
  c.toks.push({ ...p, kind: 'nl', text: '\n' });
  for (let k = 0; k < lx.tokens.length - 1; k++) c.toks.push(lx.tokens[k]);
  c.toks.push({ ...eof, kind: 'nl', text: '\n' });
  for (const t of tail) c.toks.push(t);
}

/** A path relative to the including file's directory (nft also searches its include path; fwemu only the file's own directory). */
function resolvePath(from: string, p: string): string {
  if (p.startsWith('/')) return p;
  const dir = from.includes('/') ? from.slice(0, from.lastIndexOf('/') + 1) : '';
  const parts: string[] = [];
  for (const seg of (dir + p).split('/')) {
    if (seg === '.' || (seg === '' && parts.length > 0)) continue;
    if (seg === '..' && parts.length > 0 && parts[parts.length - 1] !== '..' && parts[parts.length - 1] !== '')
      parts.pop();
    else parts.push(seg);
  }
  return parts.join('/');
}

function define(c: Cursor, scope: Map<string, Expr>): void {
  const n = c.word('a variable name');
  c.punct('=');
  if (c.atEnd()) c.expected('a value for the define');
  const v = c.isPunct('{') ? parseSetExpr(c) : parseRhs(c);
  scope.set(n.text, v);
}

// ------------------------------------------------------------------ tables

/** `[family] name`; nft's default family is ip. */
function tableSpec(c: Cursor): { family: TableFamily; name: string; pos: SourcePos } {
  const pos = c.pos();
  const a = c.name('a table family or name');
  if (a.kind === 'word' && FAMILIES.has(a.text as TableFamily) && (c.tok.kind === 'word' || c.tok.kind === 'string'))
    return { family: a.text as TableFamily, name: c.next().text, pos };
  if (a.kind === 'word' && FAMILIES.has(a.text as TableFamily) && c.isPunct('$')) {
    c.fail(c.tok, 'a variable as a table name');
  }
  return { family: 'ip', name: a.text, pos };
}

function findTable(st: State, family: TableFamily, name: string): Table | undefined {
  return st.tables.find((x) => x.family === family && x.name === name);
}

function getTable(
  st: State,
  c: Cursor,
  spec: { family: TableFamily; name: string; pos: SourcePos },
  create: boolean,
): Table {
  let t = findTable(st, spec.family, spec.name);
  if (t !== undefined) return t;
  if (!create) c.fail(spec.pos, `table ${spec.family} ${spec.name} does not exist`, 'nft.unknown-table');
  t = {
    family: spec.family,
    name: spec.name,
    flags: [],
    comment: null,
    chains: [],
    sets: [],
    flowtables: [],
    objects: [],
    pos: spec.pos,
  };
  st.tables.push(t);
  return t;
}

function addCmd(st: State, c: Cursor, what: { text: string; file: string; line: number; col: number }): void {
  switch (what.text) {
    case 'table': {
      const spec = tableSpec(c);
      const t = getTable(st, c, spec, true);
      if (c.isPunct('{')) tableBlock(st, c, t);
      return;
    }
    case 'chain': {
      const t = getTable(st, c, tableSpec(c), false);
      const n = c.name('a chain name');
      const ch = getChain(t, n.text, c.pos(n));
      if (c.isPunct('{')) chainBlock(st, c, t, ch);
      return;
    }
    case 'rule':
      ruleCmd(st, c, false);
      return;
    case 'set':
    case 'map': {
      const t = getTable(st, c, tableSpec(c), false);
      const n = c.name(`a ${what.text} name`);
      setBlock(st, c, t, n.text, c.pos(n), what.text === 'map');
      return;
    }
    case 'element': {
      const t = getTable(st, c, tableSpec(c), false);
      const n = c.name('a set name');
      const s = findSet(t, n.text);
      if (s === undefined) c.fail(n, `set ${n.text} does not exist in table ${t.family} ${t.name}`, 'nft.unknown-set');
      s.elements.push(...parseSetExpr(c).elems);
      return;
    }
    case 'flowtable': {
      const t = getTable(st, c, tableSpec(c), false);
      flowtable(c, t);
      return;
    }
    default:
      if (OBJECT_KINDS.has(what.text) || what.text === 'ct') {
        const t = getTable(st, c, tableSpec(c), false);
        object(c, t, what.text, c.i - 1);
        return;
      }
      c.fail(what, `"add ${what.text}": not something nft adds`);
  }
}

/**
 * Name indexes of a table's chains and sets, keyed by the array itself:
 * a delete replaces the array, which drops its index. Files with
 * thousands of chains (iptables-nft, kube-proxy) would otherwise search
 * the list for every rule.
 */
const chainIndex = new WeakMap<Chain[], Map<string, Chain>>();
const setIndex = new WeakMap<SetDecl[], Map<string, SetDecl>>();

function findChain(t: Table, name: string): Chain | undefined {
  let m = chainIndex.get(t.chains);
  if (m === undefined) {
    m = new Map(t.chains.map((c) => [c.name, c]));
    chainIndex.set(t.chains, m);
  }
  return m.get(name);
}

function findSet(t: Table, name: string): SetDecl | undefined {
  let m = setIndex.get(t.sets);
  if (m === undefined) {
    m = new Map(t.sets.map((x) => [x.name, x]));
    setIndex.set(t.sets, m);
  }
  return m.get(name);
}

function getChain(t: Table, name: string, pos: SourcePos): Chain {
  let ch = findChain(t, name);
  if (ch === undefined) {
    ch = { name, base: null, comment: null, rules: [], pos };
    t.chains.push(ch);
    chainIndex.get(t.chains)?.set(name, ch);
  }
  return ch;
}

function ruleCmd(st: State, c: Cursor, insert: boolean): void {
  const t = getTable(st, c, tableSpec(c), false);
  const n = c.name('a chain name');
  const ch = findChain(t, n.text);
  if (ch === undefined) c.fail(n, `chain ${n.text} does not exist in table ${t.family} ${t.name}`, 'nft.unknown-chain');
  if (c.isWord('position') || c.isWord('handle') || c.isWord('index'))
    c.fail(
      c.tok,
      `rule ${c.tok.text}: rules are placed by handle in a running ruleset, which a file does not have`,
      'nft.unsupported',
    );
  const r = parseRule(c);
  if (insert) ch.rules.unshift(r);
  else ch.rules.push(r);
}

function flushCmd(st: State, c: Cursor): void {
  const w = c.word('ruleset, table, chain, set or map');
  if (w.text === 'ruleset') {
    const fam = c.isWord() && FAMILIES.has(c.tok.text as TableFamily) ? c.next().text : null;
    const keep = st.tables.filter((t) => fam !== null && t.family !== fam);
    st.tables.splice(0, st.tables.length, ...keep);
    return;
  }
  const t = getTable(st, c, tableSpec(c), false);
  if (w.text === 'table') {
    for (const ch of t.chains) ch.rules = [];
    return;
  }
  const n = c.name(`a ${w.text} name`);
  if (w.text === 'chain') {
    const ch = findChain(t, n.text);
    if (ch === undefined) c.fail(n, `chain ${n.text} does not exist`, 'nft.unknown-chain');
    ch.rules = [];
  } else if (w.text === 'set' || w.text === 'map') {
    const s = findSet(t, n.text);
    if (s === undefined) c.fail(n, `${w.text} ${n.text} does not exist`, 'nft.unknown-set');
    s.elements = [];
  } else c.fail(w, `"flush ${w.text}": not something a ruleset file flushes`, 'nft.unsupported');
}

function deleteCmd(st: State, c: Cursor, destroy: boolean): void {
  const w = c.word('table, chain, set, map or element');
  const spec = tableSpec(c);
  const t = findTable(st, spec.family, spec.name);
  if (w.text === 'table') {
    if (t === undefined) {
      if (destroy) return;
      c.fail(
        spec.pos,
        `delete table ${spec.family} ${spec.name}: no such table (nft refuses this; "destroy table" would not)`,
        'nft.unknown-table',
      );
    }
    st.tables.splice(st.tables.indexOf(t), 1);
    return;
  }
  if (t === undefined) {
    if (destroy) {
      while (!c.atEnd()) c.next();
      return;
    }
    c.fail(spec.pos, `table ${spec.family} ${spec.name} does not exist`, 'nft.unknown-table');
  }
  const n = c.name(`a ${w.text} name`);
  if (w.text === 'chain') {
    t.chains = t.chains.filter((x) => x.name !== n.text);
  } else if (w.text === 'set' || w.text === 'map') {
    t.sets = t.sets.filter((x) => x.name !== n.text);
  } else if (w.text === 'element') {
    const s = findSet(t, n.text);
    if (s === undefined) c.fail(n, `set ${n.text} does not exist`, 'nft.unknown-set');
    const gone = new Set(parseSetExpr(c).elems.map((e) => exprKey(e.key)));
    s.elements = s.elements.filter((e) => !gone.has(exprKey(e.key)));
  } else
    c.fail(
      w,
      `"delete ${w.text}": rules are deleted by handle in a running ruleset, which a file does not have`,
      'nft.unsupported',
    );
}

function exprKey(e: Expr): string {
  return JSON.stringify(e, (k, v) => (k === 'pos' ? undefined : v));
}

function tableBlock(st: State, c: Cursor, t: Table): void {
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
        chainBlock(st, c, t, getChain(t, n.text, c.pos(n)));
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
        t.flags.push(...words(c));
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
function words(c: Cursor): string[] {
  const out = [c.word('a word').text];
  while (c.isPunct(',')) {
    c.next();
    out.push(c.word('a word').text);
  }
  return out;
}

function flowtable(c: Cursor, t: Table): void {
  const from = c.i - 1;
  const pos = c.pos(c.toks[from]);
  const n = c.name('a flowtable name');
  if (c.isPunct('{')) skipBlock(c);
  t.flowtables.push({ name: n.text, text: c.textFrom(from), pos });
}

function object(c: Cursor, t: Table, kind: string, from: number): void {
  const pos = c.pos(c.toks[from]);
  let k = kind;
  if (kind === 'ct') k = `ct ${c.word('helper, timeout or expectation').text}`;
  const n = c.name(`a ${k} name`);
  if (c.isPunct('{')) skipBlock(c);
  const o: ObjectDecl = { kind: k, name: n.text, text: c.textFrom(from), pos };
  t.objects.push(o);
}

/** A `{ ... }` consumed whole, nesting counted. */
function skipBlock(c: Cursor): void {
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

function chainBlock(st: State, c: Cursor, t: Table, ch: Chain): void {
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
      ch.base.devices.push(...symbols(e));
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
  void t;
}

function symbols(e: Expr): string[] {
  if (e.kind === 'symbol') return [e.text];
  if (e.kind === 'list') return e.items.flatMap(symbols);
  if (e.kind === 'set') return e.elems.flatMap((x) => symbols(x.key));
  return [];
}

/** `type T hook H [device D] priority P [;] [policy V]` (older files leave out the `;`). */
function baseSpec(c: Cursor, ch: Chain): void {
  const pos = c.pos();
  c.next();
  const type = c.word('a chain type (filter, nat, route)').text;
  c.word('hook');
  const hook = c.word('a hook').text;
  const devices: string[] = [];
  if (c.isWord('device')) {
    c.next();
    devices.push(...symbols(parseRhs(c)));
  }
  const pw = c.word('priority');
  if (pw.text !== 'priority') c.fail(pw, `expected priority, found "${pw.text}"`);
  const priority = parsePriority(c);
  ch.base = { type, hook, priority, policy: ch.base?.policy ?? null, devices, pos };
  if (c.isPunct(';') && c.isWord('policy', c.peek())) c.next();
  if (c.isWord('policy')) policy(c, ch, c.next());
}

function policy(c: Cursor, ch: Chain, p: { file: string; line: number; col: number }): void {
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
function parsePriority(c: Cursor): import('./ast.js').Priority {
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

function setBlock(st: State, c: Cursor, t: Table, name: string, pos: SourcePos, isMap: boolean): void {
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
    setLine(st, c, s);
    endOf(c, 'set declaration');
  }
  c.next();
  c.leave();
}

function setLine(st: State, c: Cursor, s: SetDecl): void {
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
      s.flags.push(...words(c));
      return;
    case 'elements': {
      c.punct('=');
      const e = c.isPunct('$') ? parseConcat(c) : parseSetExpr(c);
      if (e.kind !== 'set') c.fail(w, 'elements = expects { ... }');
      s.elements.push(...e.elems);
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
      void st;
      c.fail(w, `"${w.text}" does not belong in a set block`);
  }
}

/** `ipv4_addr . inet_service` */
function typeNames(c: Cursor): string[] {
  const out = [c.word('a type name (ipv4_addr, ipv6_addr, inet_service, ifname, ...)').text];
  while (c.isWord('.')) {
    c.next();
    out.push(c.word('a type name').text);
  }
  return out;
}
