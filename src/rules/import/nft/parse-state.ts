/**
 * What the parts of the parser share: the reading's state (tables so far,
 * define scopes, include bookkeeping), include and define, the end of a
 * declaration, and the name indexes of a table's chains and sets.
 */
import type { Diagnostic, SourcePos } from '../../../base/diag.js';
import type { ImportOptions } from '../types.js';
import type { Chain, Expr, SetDecl, Table } from './ast.js';
import { type Cursor, ParseStop } from './cursor.js';
import { lex, MAX_TOKENS, type Token } from './lexer.js';
import { parseRhs, parseSetExpr } from './parse-expr.js';

export const MAX_INCLUDE_DEPTH = 16;
/** Includes read in all: each splices its tokens into the reading, so their number is bounded too. */
export const MAX_INCLUDES = 1024;
export const MAX_TOTAL_BYTES = 64 * 1024 * 1024;

export const OBJECT_KINDS = new Set(['counter', 'quota', 'limit', 'secmark', 'synproxy']);

export interface State {
  tables: Table[];
  diags: Diagnostic[];
  scopes: Map<string, Expr>[];
  opts: ImportOptions;
  includes: number;
  /** The file that included each file read (include loops and depth). */
  parent: Map<string, string | null>;
  bytes: number;
}

/** After a command or declaration: a newline, `;`, `}` (left for the block) or the end. */
export function endOf(c: Cursor, what: string): void {
  if (!c.atEnd()) c.expected(`the end of the ${what} (a newline or ";")`);
}

/**
 * `include "file"`: the file's tokens are spliced in where the include
 * stands, as nft's scanner reads an included file in place (so an include
 * may stand in a table or chain block, as OpenWrt's fw4 puts them).
 */
export function include(st: State, c: Cursor): void {
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
  const paths = glob && st.opts.listInclude !== undefined ? st.opts.listInclude(path) : [path];
  const texts: { path: string; text: string }[] = [];
  if (paths.length === 0)
    // nft reads nothing and says nothing; a ruleset copied off its firewall may have left the files behind.
    c.warn(
      p,
      `include "${p.text}": matches no file here; rules in the files it matches on the firewall are not in the model`,
      'nft.include',
    );
  for (const one of paths) {
    if (chain.includes(one))
      c.fail(p, `include "${p.text}": ${one} is already being read (an include loop)`, 'nft.include-loop');
    const r = st.opts.readInclude(one);
    if ('error' in r) {
      if (!glob || st.opts.listInclude !== undefined) c.fail(p, `include "${p.text}": ${r.error}`, 'nft.include');
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
    texts.push({ path: one, text: r.text });
  }
  // Every file's tokens in the glob's order, each ended by a newline as nft's scanner ends a file.
  const spliced: Token[] = [{ ...p, kind: 'nl', text: '\n' }];
  for (const { path: one, text } of texts) {
    st.parent.set(one, p.file);
    const lx = lex(text, one);
    for (const x of lx.diagnostics) st.diags.push(x);
    if (lx.diagnostics.some((d) => d.severity === 'error')) throw new ParseStop('lexer');
    if (c.toks.length + spliced.length + lx.tokens.length > MAX_TOKENS)
      c.fail(p, `more than ${MAX_TOKENS} tokens with the included files`, 'nft.too-big');
    const eof = lx.tokens[lx.tokens.length - 1];
    for (let k = 0; k < lx.tokens.length - 1; k++) spliced.push(lx.tokens[k]);
    spliced.push({ ...eof, kind: 'nl', text: '\n' });
  }
  const tail = c.toks.splice(c.i);
  for (const t of spliced) c.toks.push(t);
  for (const t of tail) c.toks.push(t);
}

/** A path relative to the including file's directory (nft also searches its include path; fwemu only the file's own directory). */
export function resolvePath(from: string, p: string): string {
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

export function define(c: Cursor, scope: Map<string, Expr>): void {
  const n = c.word('a variable name');
  c.punct('=');
  if (c.atEnd()) c.expected('a value for the define');
  const v = c.isPunct('{') ? parseSetExpr(c) : parseRhs(c);
  scope.set(n.text, v);
}

/**
 * Name indexes of a table's chains and sets, keyed by the array itself:
 * a delete replaces the array, which drops its index. Files with
 * thousands of chains (iptables-nft, kube-proxy) would otherwise search
 * the list for every rule.
 */
export const chainIndex = new WeakMap<Chain[], Map<string, Chain>>();
export const setIndex = new WeakMap<SetDecl[], Map<string, SetDecl>>();

export function findChain(t: Table, name: string): Chain | undefined {
  let m = chainIndex.get(t.chains);
  if (m === undefined) {
    m = new Map(t.chains.map((c) => [c.name, c]));
    chainIndex.set(t.chains, m);
  }
  return m.get(name);
}

export function findSet(t: Table, name: string): SetDecl | undefined {
  let m = setIndex.get(t.sets);
  if (m === undefined) {
    m = new Map(t.sets.map((x) => [x.name, x]));
    setIndex.set(t.sets, m);
  }
  return m.get(name);
}

export function getChain(t: Table, name: string, pos: SourcePos): Chain {
  let ch = findChain(t, name);
  if (ch === undefined) {
    ch = { name, base: null, comment: null, rules: [], pos };
    t.chains.push(ch);
    chainIndex.get(t.chains)?.set(name, ch);
  }
  return ch;
}
