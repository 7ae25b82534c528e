/**
 * Strings from files and captures (rule ids, names, comments, file names,
 * pcapng interface names, scenario host names) reach terminals, logs and
 * exported rulesets. A control character in one can clear the screen (ESC
 * [2J), retitle the terminal (ESC ]0;...BEL), forge an output line (\n, \r,
 * U+2028) or, in an export, end a comment and start a command. So every
 * such string is made visible before it enters text, as tcpdump does with
 * the non-printable bytes it prints: the result holds no C0 control, no DEL,
 * no C1 control (U+0080-U+009F, NEL among them), no line or paragraph
 * separator, no bidirectional-override character and no lone surrogate,
 * each written instead as a short escape: \n \r \t, \xHH for the other C0
 * controls and DEL, \uHHHH for the rest.
 *
 * Low-level on purpose (no imports), so that every stage, from the capture
 * reader to the CLI, can use it without importing a higher one.
 */

/** Whether code unit `c` (not a surrogate) must be escaped; `keepNewline` lets \n through. */
function isUnsafe(c: number, keepNewline: boolean): boolean {
  if (c < 0x20) return !(keepNewline && c === 0x0a);
  if (c < 0x7f) return false;
  if (c <= 0x9f) return true; // DEL, C1
  if (c < 0x061c) return false;
  return (
    c === 0x061c || // ARABIC LETTER MARK
    c === 0x200e ||
    c === 0x200f || // LRM, RLM
    (c >= 0x2028 && c <= 0x202e) || // LINE/PARAGRAPH SEPARATOR, LRE RLE PDF LRO RLO
    (c >= 0x2066 && c <= 0x2069) // LRI RLI FSI PDI
  );
}

/** Index of the first code unit of `s` that must be escaped, or -1 (the usual case: no allocation). */
export function firstUnsafe(s: string, keepNewline = false): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      // A high surrogate followed by a low one is one character; anything else is a lone surrogate.
      if (c <= 0xdbff && i + 1 < s.length) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          i++;
          continue;
        }
      }
      return i;
    }
    if (isUnsafe(c, keepNewline)) return i;
  }
  return -1;
}

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

function escapeFrom(s: string, from: number, keepNewline: boolean): string {
  let out = s.slice(0, from);
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      if (c <= 0xdbff && i + 1 < s.length) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          out += s[i] + s[i + 1];
          i++;
          continue;
        }
      }
      out += `\\u${hex(c, 4)}`;
    } else if (!isUnsafe(c, keepNewline)) {
      out += s[i];
    } else if (c === 0x0a) {
      out += '\\n';
    } else if (c === 0x0d) {
      out += '\\r';
    } else if (c === 0x09) {
      out += '\\t';
    } else if (c <= 0x7f) {
      out += `\\x${hex(c, 2)}`;
    } else {
      out += `\\u${hex(c, 4)}`;
    }
  }
  return out;
}

/**
 * `s` with every control character (newline included) written visibly; `s`
 * itself, not a copy, when it has none. For a string that becomes part of
 * one line of text: a name, an id, a file name, an interface name.
 */
export function visible(s: string): string {
  const i = firstUnsafe(s, false);
  return i < 0 ? s : escapeFrom(s, i, false);
}

/**
 * The same, but newlines are kept: for a whole message whose line breaks
 * are fwemu's own (its parts from files having gone through visible()).
 * It is the last line of defence at the stderr boundary: whatever slipped
 * in unescaped can still break a line there, never drive the terminal.
 */
export function visibleLines(s: string): string {
  const i = firstUnsafe(s, true);
  return i < 0 ? s : escapeFrom(s, i, true);
}

/** The characters JSON.stringify leaves raw that a terminal still obeys or breaks a line at. */
const JSON_RAW_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/**
 * JSON.stringify(value, null, space), with DEL, the C1 controls, U+2028/2029
 * and the bidirectional controls written as \uXXXX as well (JSON.stringify
 * escapes only C0 and lone surrogates): the same value to any JSON reader,
 * but a JSON line shown on a terminal cannot drive it. Those characters can
 * only occur inside string literals, so replacing them anywhere is safe.
 */
export function safeJson(value: unknown, space?: number): string {
  const s = JSON.stringify(value, null, space) as string | undefined;
  if (s === undefined) return 'null';
  return s.replace(JSON_RAW_UNSAFE, (c) => `\\u${hex(c.charCodeAt(0), 4)}`);
}

/** Whether `c` is a character safeJson() writes as \uXXXX though JSON.stringify would not (ByteText's fast path asks). */
export function isJsonRawUnsafe(c: number): boolean {
  return (
    (c >= 0x7f && c <= 0x9f) ||
    c === 0x061c ||
    c === 0x200e ||
    c === 0x200f ||
    (c >= 0x2028 && c <= 0x202e) ||
    (c >= 0x2066 && c <= 0x2069)
  );
}
