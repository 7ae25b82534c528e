import { createHash } from 'node:crypto';

/**
 * What a comment that is not the id itself ends with: `~` and the first 8
 * hex digits of SHA-256 over the id's UTF-16 code units (comment.ts
 * idHash(), recomputed here with node:crypto).
 */
export function hashed(kept: string, id: string): string {
  return `${kept}~${createHash('sha256').update(Buffer.from(id, 'utf16le')).digest('hex').slice(0, 8)}`;
}

/**
 * Rule ids around a comment limit of `max` bytes, each with the comment it
 * must get: the id itself when it fits, else its start cut to max - 9
 * bytes (room for `~` and 8 hex digits) before the first character that
 * does not fit whole, then the hash. Worked out from the byte widths of
 * UTF-8 by hand (é is 2 bytes, € 3, 😀 4), not by encoding; the iptables
 * (255 bytes) and nft (128 bytes) export tests add their own cases (quotes,
 * backslashes) to these.
 */
export function acrossTheLimit(max: number): [id: string, comment: string][] {
  const a = (n: number): string => 'a'.repeat(n);
  const keep = max - 9;
  const tail = 'z'.repeat(20); // makes each id longer than max
  const cases: [string, string][] = [
    [a(max), a(max)], // exactly max bytes: kept whole, no hash
    [a(max - 2) + 'é', a(max - 2) + 'é'], // exactly max bytes, é last: whole
    [a(max - 3) + '😀', a(max - 3) + '😀'], // max + 1 bytes: cut
    [a(max + 1), a(keep)],
    [a(max - 1) + 'é', a(keep)],
    [a(keep - 2) + 'é' + tail, a(keep - 2) + 'é'], // é is the last 2 bytes kept: fits
    [a(keep - 1) + 'é' + tail, a(keep - 1)], // é would end one byte past: dropped whole
    [a(keep - 3) + '€' + tail, a(keep - 3) + '€'], // exactly keep bytes
    [a(keep - 2) + '€' + tail, a(keep - 2)], // € would end one byte past
    [a(keep - 4) + '😀' + tail, a(keep - 4) + '😀'], // 😀 is the last 4 bytes
    [a(keep - 3) + '😀' + tail, a(keep - 3)], // 😀 would end one byte past
  ];
  // The third case is max + 1 bytes: it is cut like the others.
  cases[2] = [a(max - 3) + '😀', a(keep)];
  return cases.map(([id, kept]) => [id, Buffer.byteLength(id) <= max ? kept : hashed(kept, id)]);
}
