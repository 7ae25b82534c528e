import { createHash } from 'node:crypto';
import type { RuleSet } from '../rules/types.js';
import { visible } from '../base/text-escape.js';

/**
 * Strings from a rule file in the exported rulesets: the file name and the
 * rule set's name in `#` comment lines, the rule ids as rule comments. A
 * ruleset is a program for nft or iptables-restore, so a string from a user
 * file must never leave its comment: a newline in a name would otherwise
 * start a command (`flush ruleset`), and a `"` in an id end its string. Every
 * such string goes through one of the functions here and nowhere else:
 *
 * - commentLine(): a `#` line (both tools: to the end of the line);
 * - nftComment() (nft.ts): a rule's `comment "..."`;
 * - iptablesComment() (iptables.ts): a rule's `--comment "..."`.
 *
 * All three first make the string visible (text-escape.ts: every control
 * character, newline included, written as an escape), so no string can
 * hold a line break, a NUL that would end it early, or a terminal control
 * shown later by `nft list ruleset`.
 *
 * Both tools hold a rule comment in a fixed number of bytes, not
 * characters: iptables-restore keeps 255, nft refuses more than 128. A rule
 * id may be longer (up to 64 UTF-16 units, up to 192 bytes of UTF-8, from
 * a rule file; longer, and escaped, from code), so each export cuts it to
 * its tool's limit here, and a cut comment ends in `~` and a hash of the
 * whole id (ruleComment()), so that two ids that begin alike still get
 * different comments.
 */

/**
 * The longest start of `text` whose UTF-8 encoding holds at most `maxBytes`
 * bytes, cut before the first character that does not fit whole (never
 * inside a multi-byte character or a surrogate pair).
 */
export function cutUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  let used = 0;
  let out = '';
  for (const ch of text) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (used + n > maxBytes) break;
    used += n;
    out += ch;
  }
  return out;
}

/**
 * The longest `#` line written: iptables-restore reads lines into a
 * 10240-byte buffer (fgets), and reads the rest of a longer line as a line
 * of its own, so a long name could put a command at the start of one.
 */
export const COMMENT_LINE_MAX_BYTES = 1024;

/** What a string cut for a comment line ends with. */
const ELLIPSIS = '...';

/**
 * `text` as one `#` comment line (nft and iptables-restore alike): made
 * visible, so it holds no line break, and cut to COMMENT_LINE_MAX_BYTES.
 */
export function commentLine(text: string): string {
  const line = `# ${visible(text)}`;
  if (Buffer.byteLength(line, 'utf8') <= COMMENT_LINE_MAX_BYTES) return line;
  return cutUtf8(line, COMMENT_LINE_MAX_BYTES - ELLIPSIS.length) + ELLIPSIS;
}

/**
 * A user string (file name, rule set name) shortened for a place inside a
 * comment line: visible, and at most `maxBytes` bytes of UTF-8.
 */
export function shortText(text: string, maxBytes = 200): string {
  const v = visible(text);
  return Buffer.byteLength(v, 'utf8') <= maxBytes ? v : cutUtf8(v, maxBytes - ELLIPSIS.length) + ELLIPSIS;
}

/** Characters of the hash a cut comment ends with (after a `~`). */
const HASH_CHARS = 8;

/**
 * A short stable hash of a rule id: the first 32 bits of SHA-256 over its
 * UTF-16 code units (so ids that differ only in a lone surrogate, which
 * UTF-8 would turn into the same U+FFFD, differ here), in hex.
 */
export function idHash(id: string): string {
  return createHash('sha256').update(Buffer.from(id, 'utf16le')).digest('hex').slice(0, HASH_CHARS);
}

/**
 * A rule id as a comment of at most `maxBytes` bytes, before the syntax's
 * own quoting: `render` turns the id into text the syntax can hold (visible,
 * and for nft with `"` replaced). When that text is the id itself and fits,
 * it is the comment. Otherwise (changed, or too long) it is cut before the
 * first character that does not fit whole in `maxBytes` minus the suffix,
 * and `~` and idHash(id) are added: distinct ids keep distinct comments
 * (`a"b` and `a'b` both render as `a'b` in nft), and the comment of an id
 * does not depend on the other rules.
 */
export function ruleComment(id: string, maxBytes: number, render: (id: string) => string): string {
  const text = render(id);
  if (text === id && Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  return `${cutUtf8(text, maxBytes - 1 - HASH_CHARS)}~${idHash(id)}`;
}

/**
 * What an export must tell the user about its rule comments, one sentence
 * each: ids that begin alike and are longer than the tool keeps (their
 * comments are told apart by the hash alone), and distinct ids that still
 * got the same comment (their rules cannot be told apart in the kernel's
 * listing). `comment` is the export's own function (nftComment's text,
 * iptables' cut comment).
 */
export function commentWarnings(
  rs: RuleSet,
  tool: string,
  maxBytes: number,
  comment: (id: string) => string,
): string[] {
  const out: string[] = [];
  const byComment = new Map<string, string[]>();
  const byCutStart = new Map<string, string[]>();
  // The firewall model's rules are in its chains (rs.rules is then empty).
  const rules = rs.firewall ? rs.firewall.chains.flatMap((ch) => ch.rules) : rs.rules;
  for (const rule of rules) {
    const c = comment(rule.id);
    const same = byComment.get(c);
    if (same === undefined) byComment.set(c, [rule.id]);
    else if (!same.includes(rule.id)) same.push(rule.id);
    const tilde = c.lastIndexOf('~');
    if (tilde >= 0 && c.length - tilde === HASH_CHARS + 1 && c !== rule.id) {
      const start = c.slice(0, tilde);
      const list = byCutStart.get(start);
      if (list === undefined) byCutStart.set(start, [rule.id]);
      else if (!list.includes(rule.id)) list.push(rule.id);
    }
  }
  const names = (ids: string[]): string => ids.map((id) => `"${shortText(id)}"`).join(', ');
  for (const [start, ids] of byCutStart) {
    if (ids.length < 2) continue;
    out.push(
      `rule ids ${names(ids)} are longer than ${tool} keeps in a comment (${maxBytes} bytes) and begin alike: ` +
        `their comments are "${shortText(start)}~" and a hash of the whole id (${ids.map((id) => comment(id).slice(start.length)).join(', ')})`,
    );
  }
  for (const [c, ids] of byComment) {
    if (ids.length < 2) continue;
    out.push(
      `rule ids ${names(ids)} get the same ${tool} comment "${shortText(c)}": their rules cannot be told apart in the loaded ruleset; rename one`,
    );
  }
  return out;
}
