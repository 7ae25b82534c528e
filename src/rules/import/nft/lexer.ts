/**
 * Tokens of nftables text, as nft's scanner (scanner.l) splits it, with
 * their positions. Words keep the characters nft allows inside one
 * (addresses with `.`, `:` and `/`, ranges with `-`, names with `*`), and
 * the parser splits them where the grammar needs it ("10.0.0.0/8",
 * "1024-65535", "10/second"). Never throws: a bad character or an
 * unterminated string is a positioned diagnostic, and bounds keep hostile
 * input from costing more than its size.
 */
import { type Diagnostic, diag } from '../../../base/diag.js';

export type TokKind = 'word' | 'string' | 'punct' | 'nl' | 'eof';

export interface Token {
  kind: TokKind;
  text: string;
  file: string;
  line: number;
  col: number;
  /** Whitespace (or a comment) before this token on its line. */
  space: boolean;
}

/** A word longer than this is refused (no nft name or value comes close). */
export const MAX_WORD = 4096;
/** Tokens in all (files and includes): beyond this the ruleset is refused (about 20 MB of rules; ~400 MB in memory). */
export const MAX_TOKENS = 4_000_000;
/** Errors reported per file before the lexer gives up. */
const MAX_ERRORS = 10;

const WORD_CHAR = /[A-Za-z0-9_./:\-*%]/;
const PUNCT2 = new Set(['==', '!=', '<=', '>=', '<<', '>>']);
const PUNCT1 = new Set(['{', '}', '(', ')', ',', ';', '=', '!', '<', '>', '&', '|', '^', '@', '$', '+']);

export interface LexResult {
  tokens: Token[];
  diagnostics: Diagnostic[];
}

/** Splits `text` of `file` into tokens; the last is always eof. */
export function lex(text: string, file: string): LexResult {
  const tokens: Token[] = [];
  const diagnostics: Diagnostic[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  let space = false;
  const n = text.length;
  const push = (kind: TokKind, t: string, start: number, l = line, ls = lineStart): void => {
    tokens.push({ kind, text: t, file, line: l, col: start - ls + 1, space });
    space = false;
  };
  const error = (at: number, message: string, code = 'nft.syntax'): void => {
    diagnostics.push(diag(file, line, at - lineStart + 1, message, code));
  };
  while (i < n) {
    if (diagnostics.length >= MAX_ERRORS || tokens.length >= MAX_TOKENS) {
      if (tokens.length >= MAX_TOKENS)
        error(i, `more than ${MAX_TOKENS} tokens; the file is not read further`, 'nft.too-big');
      break;
    }
    const c = text[i];
    if (c === '\n') {
      const last = tokens[tokens.length - 1];
      if (last !== undefined && last.kind !== 'nl') push('nl', '\n', i);
      i++;
      line++;
      lineStart = i;
      space = false;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') {
      space = true;
      i++;
      continue;
    }
    if (c === '\\' && (text[i + 1] === '\n' || (text[i + 1] === '\r' && text[i + 2] === '\n'))) {
      // line continuation: the rule goes on on the next line
      i += text[i + 1] === '\n' ? 2 : 3;
      line++;
      lineStart = i;
      space = true;
      continue;
    }
    if (c === '#') {
      while (i < n && text[i] !== '\n') i++;
      space = true;
      continue;
    }
    if (c === '"') {
      const start = i;
      const sl = line;
      const sls = lineStart;
      let j = i + 1;
      while (j < n && text[j] !== '"' && text[j] !== '\n') j++;
      if (j >= n || text[j] === '\n') {
        error(start, 'a string opened here is not closed on its line (nft strings end with " on the same line)');
        i = j;
        continue;
      }
      const s = text.slice(i + 1, j);
      if (s.length > MAX_WORD) error(start, `a string longer than ${MAX_WORD} characters`, 'nft.too-big');
      else push('string', s, start, sl, sls);
      i = j + 1;
      continue;
    }
    if (WORD_CHAR.test(c) || c === '[') {
      const start = i;
      let j = i;
      while (j < n) {
        const d = text[j];
        if (d === '[') {
          // an IPv6 address in brackets ("[2001:db8::1]:80"): its colons stay in the word
          const close = text.indexOf(']', j);
          if (close === -1 || close - j > 64) break;
          j = close + 1;
          continue;
        }
        if (!WORD_CHAR.test(d)) break;
        j++;
      }
      if (j === start) {
        error(start, 'a "[" that does not open an IPv6 address in brackets');
        i++;
        continue;
      }
      if (j - start > MAX_WORD) error(start, `a word longer than ${MAX_WORD} characters`, 'nft.too-big');
      else push('word', text.slice(start, j), start);
      i = j;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (PUNCT2.has(two)) {
      push('punct', two, i);
      i += 2;
      continue;
    }
    if (PUNCT1.has(c)) {
      push('punct', c, i);
      i++;
      continue;
    }
    const cp = text.codePointAt(i) ?? 0;
    const shown =
      cp < 0x20 || cp === 0x7f || cp > 0x7e ? `U+${cp.toString(16).toUpperCase().padStart(4, '0')}` : `"${c}"`;
    error(i, `unexpected character ${shown}`);
    i += cp > 0xffff ? 2 : 1;
  }
  tokens.push({ kind: 'eof', text: '', file, line, col: i - lineStart + 1, space });
  return { tokens, diagnostics };
}
