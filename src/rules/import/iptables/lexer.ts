/**
 * Splits one line of an iptables-save dump into arguments as
 * iptables-restore does (xshared.c add_param_to_argv): blanks separate
 * arguments, a double quote opens a quoted run in which a backslash takes
 * the next character literally, and quoted runs join the characters around
 * them into one argument. iptables-save writes every argument with a blank
 * or a quote this way (`--comment "a \"b\""`).
 */

/** One argument and the 1-based column of its first character. */
export interface Word {
  text: string;
  col: number;
}

/** iptables-restore's argument buffer (param_buffer[1024]) less the NUL. */
export const MAX_WORD = 1023;

export type Lexed = { ok: true; words: Word[] } | { ok: false; col: number; error: string; tooLong?: true };

export function splitLine(line: string): Lexed {
  const words: Word[] = [];
  let cur = '';
  let start = -1;
  let quoteAt = -1;
  let escaped = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoteAt !== -1) {
      if (escaped) {
        cur += c;
        escaped = false;
      } else if (c === '\\') escaped = true;
      else if (c === '"') quoteAt = -1;
      else cur += c;
    } else if (c === '"') {
      quoteAt = i;
      if (start === -1) start = i;
    } else if (c === ' ' || c === '\t') {
      if (start !== -1) words.push({ text: cur, col: start + 1 });
      cur = '';
      start = -1;
    } else {
      if (start === -1) start = i;
      cur += c;
    }
    if (cur.length > MAX_WORD)
      return {
        ok: false,
        col: start + 1,
        error: `an argument longer than ${MAX_WORD} characters (iptables-restore: "Parameter too long!")`,
        tooLong: true,
      };
  }
  if (quoteAt !== -1)
    return {
      ok: false,
      col: quoteAt + 1,
      error: 'the quote opened here is never closed on this line (write \\" for a quote inside a quoted argument)',
    };
  if (start !== -1) words.push({ text: cur, col: start + 1 });
  return { ok: true, words };
}
