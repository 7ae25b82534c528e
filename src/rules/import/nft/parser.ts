/**
 * nftables text to the AST (ast.ts): the commands of a file as `nft -f`
 * runs them (`flush ruleset`, `add`/`create`/`delete`/`flush` of tables,
 * chains, sets and elements, `add rule`, blocks `table F N { ... }`),
 * `define` with nft's block scopes, and `include` read through
 * ImportOptions.readInclude, relative to the including file, at most 16
 * deep and 64 MiB in all (the loader's bound for a ruleset). Commands are
 * applied as they are read, so the AST is the ruleset the file leaves
 * behind.
 */
import type { Diagnostic, SourcePos } from '../../../base/diag.js';
import type { ImportOptions } from '../types.js';
import type { Expr, Ruleset, Table, TableFamily } from './ast.js';
import { Cursor, ParseStop } from './cursor.js';
import { lex } from './lexer.js';
import { chainBlock, flowtable, object, setBlock, tableBlock } from './parse-blocks.js';
import { parseSetExpr } from './parse-expr.js';
import { define, endOf, findChain, findSet, getChain, include, OBJECT_KINDS, type State } from './parse-state.js';
import { parseRule } from './parse-stmt.js';

export { MAX_INCLUDE_DEPTH, MAX_INCLUDES, MAX_TOTAL_BYTES } from './parse-state.js';

const FAMILIES = new Set<TableFamily>(['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev']);

export interface ParseResult {
  ruleset: Ruleset;
  diagnostics: Diagnostic[];
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
  for (const x of lx.diagnostics) st.diags.push(x);
  if (lx.diagnostics.some((d) => d.severity === 'error')) throw new ParseStop('lexer');
  const c = new Cursor(lx.tokens, st.diags, st.scopes);
  for (;;) {
    c.skipSeps();
    if (c.tok.kind === 'eof') break;
    command(st, c);
    endOf(c, 'command');
  }
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
      if (c.isPunct('{')) chainBlock(st, c, ch);
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
      for (const x of parseSetExpr(c).elems) s.elements.push(x);
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
    st.tables.length = 0;
    for (const t of keep) st.tables.push(t);
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
