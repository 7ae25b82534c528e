/**
 * The parser's reading position over one file's tokens, with what every
 * part of the parser shares: diagnostics, the define scopes, and the
 * bounds on nesting. A syntax error is recorded and then thrown as
 * ParseStop, which ends the reading of the ruleset, as nft stops at its
 * first error.
 */
import { type Diagnostic, diag, type SourcePos } from '../../../base/diag.js';
import type { Expr } from './ast.js';
import type { NftCode } from './codes.js';
import type { Token } from './lexer.js';

export class ParseStop extends Error {}

/** Braces, parentheses and sets nested deeper than this are refused. */
export const MAX_DEPTH = 64;
/** Elements of one set written in the file (nft's own tables take millions; a file that large is not a ruleset to test). */
export const MAX_ELEMENTS = 1_000_000;

/** Bit operations in one statement (`a | b | c ...`): the builder walks them recursively. */
export const MAX_LINKS = 256;

export class Cursor {
  i = 0;
  depth = 0;
  /** Bit operations read in the current statement. */
  links = 0;
  constructor(
    readonly toks: Token[],
    readonly diags: Diagnostic[],
    /** Innermost scope last; each maps a define's name to its value. */
    readonly scopes: Map<string, Expr>[],
  ) {}

  get tok(): Token {
    return this.toks[this.i];
  }
  peek(k = 1): Token {
    return this.toks[Math.min(this.i + k, this.toks.length - 1)];
  }
  next(): Token {
    const t = this.toks[this.i];
    if (t.kind !== 'eof') this.i++;
    return t;
  }
  pos(t: Token = this.tok): SourcePos {
    return { file: t.file, line: t.line, col: t.col };
  }
  isWord(text?: string, t: Token = this.tok): boolean {
    return t.kind === 'word' && (text === undefined || t.text === text);
  }
  isPunct(text: string, t: Token = this.tok): boolean {
    return t.kind === 'punct' && t.text === text;
  }
  /** The end of a rule or declaration: newline, `;`, `}` or the end of the file. */
  atEnd(t: Token = this.tok): boolean {
    return t.kind === 'nl' || t.kind === 'eof' || (t.kind === 'punct' && (t.text === ';' || t.text === '}'));
  }
  skipNl(): void {
    while (this.tok.kind === 'nl') this.i++;
  }
  /** Skips newlines and `;`. */
  skipSeps(): void {
    while (this.tok.kind === 'nl' || this.isPunct(';')) this.i++;
  }

  warn(t: Token | SourcePos, message: string, code: NftCode): void {
    this.diags.push(diag(t.file, t.line, t.col, message, code, 'warning'));
  }
  fail(t: Token | SourcePos, message: string, code: NftCode = 'nft.syntax'): never {
    this.diags.push(diag(t.file, t.line, t.col, message, code));
    throw new ParseStop(message);
  }
  /** "what" the parser wanted, and what it found instead. */
  expected(what: string): never {
    const t = this.tok;
    const found =
      t.kind === 'eof'
        ? 'the end of the file'
        : t.kind === 'nl'
          ? 'the end of the line'
          : t.kind === 'string'
            ? `"${t.text}"`
            : `"${t.text}"`;
    return this.fail(t, `expected ${what}, found ${found}`);
  }
  word(what: string): Token {
    if (this.tok.kind !== 'word') this.expected(what);
    return this.next();
  }
  /** A name: a word or a quoted string. */
  name(what: string): Token {
    if (this.tok.kind !== 'word' && this.tok.kind !== 'string') this.expected(what);
    return this.next();
  }
  punct(p: string): Token {
    if (!this.isPunct(p)) this.expected(`"${p}"`);
    return this.next();
  }
  enter(t: Token): void {
    if (++this.depth > MAX_DEPTH) this.fail(t, `nested deeper than ${MAX_DEPTH} levels`, 'nft.too-big');
  }
  leave(): void {
    this.depth--;
  }
  chainLink(at: SourcePos): void {
    if (++this.links > MAX_LINKS)
      this.fail(at, `more than ${MAX_LINKS} bit operations in one statement`, 'nft.too-big');
  }

  lookup(name: string): Expr | undefined {
    for (let k = this.scopes.length - 1; k >= 0; k--) {
      const v = this.scopes[k].get(name);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  /** The tokens from `from` up to (not including) the current one, as one line. */
  textFrom(from: number): string {
    // parts joined once: testing a growing string's end would flatten it every time (quadratic)
    const parts: string[] = [];
    let gap = false;
    for (let k = from; k < this.i; k++) {
      const t = this.toks[k];
      if (t.kind === 'nl') {
        gap = true;
        continue;
      }
      if ((t.space || gap) && parts.length > 0) parts.push(' ');
      gap = false;
      parts.push(t.kind === 'string' ? `"${t.text}"` : t.text);
    }
    return parts.join('').replace(/\s+/g, ' ').trim();
  }
}
