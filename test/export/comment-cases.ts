/**
 * Rule ids around a comment limit of `max` bytes, each with the comment it
 * must get: cut before the first character that does not fit whole. Worked
 * out from the byte widths of UTF-8 by hand (é is 2 bytes, € 3, 😀 4), not
 * by encoding; the iptables (255 bytes) and nft (128 bytes) export tests
 * add their own cases (quotes, backslashes) to these.
 */
export function acrossTheLimit(max: number): [id: string, comment: string][] {
  const a = (n: number): string => 'a'.repeat(n);
  return [
    [a(max), a(max)], // exactly max bytes: kept whole
    [a(max + 1), a(max)],
    [a(max - 2) + 'é' + 'z', a(max - 2) + 'é'], // é is the last 2 bytes: fits
    [a(max - 1) + 'é', a(max - 1)], // é would end one byte past the limit: dropped whole
    [a(max - 3) + '€', a(max - 3) + '€'], // exactly max bytes
    [a(max - 2) + '€', a(max - 2)], // € would end one byte past
    [a(max - 4) + '😀' + 'b', a(max - 4) + '😀'], // 😀 is the last 4 bytes
    [a(max - 3) + '😀', a(max - 3)], // 😀 would end one byte past
  ];
}
