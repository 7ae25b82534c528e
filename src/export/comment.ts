/**
 * Rule comments in the exported rulesets. Both tools hold a comment in a
 * fixed number of bytes, not characters: iptables-restore keeps 255
 * (iptables.ts), nft refuses more than 128 (nft.ts). A rule id may be longer
 * (up to 64 UTF-16 units, so up to 192 bytes of UTF-8 from a rule file), so
 * each export cuts it to its tool's limit here.
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
