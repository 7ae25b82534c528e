/**
 * Address text <-> words (cold path). An address is four unsigned 32-bit
 * words in network order, as in DecodedPacket; IPv4 uses word 0 only.
 */

export interface ParsedAddr {
  version: 4 | 6;
  /** Network-order words, unsigned; IPv4: [addr, 0, 0, 0]. */
  words: [number, number, number, number];
}

function ipv4Text(w: number): string {
  return `${w >>> 24}.${(w >>> 16) & 0xff}.${(w >>> 8) & 0xff}.${w & 0xff}`;
}

/**
 * Address words as text: dotted quad for IPv4; for IPv6 the RFC 5952 form
 * (lowercase, no leading zeros, the longest run of two or more zero groups
 * - the first one on a tie - written as "::"), with the last 32 bits as a
 * dotted quad for IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible
 * (::a.b.c.d with the seventh group non-zero) addresses, exactly as tshark
 * prints them.
 */
export function formatAddr(version: number, w0: number, w1: number, w2: number, w3: number): string {
  // Reports name the same few addresses over and over: a direct-mapped cache
  // of recent texts saves rebuilding them (an IPv6 text is ~1 us to make).
  const v6 = version === 4 ? 0 : 1;
  w0 >>>= 0;
  if (v6 === 0) w1 = w2 = w3 = 0;
  else {
    w1 >>>= 0;
    w2 >>>= 0;
    w3 >>>= 0;
  }
  let h =
    Math.imul(w0 ^ v6, 0x9e3779b1) ^ Math.imul(w1, 0x85ebca6b) ^ Math.imul(w2, 0xc2b2ae35) ^ Math.imul(w3, 0x27d4eb2f);
  h = (h ^ (h >>> 15)) & (ADDR_CACHE_SIZE - 1);
  const k = h * 5;
  const keys = addrCacheKeys;
  if (keys[k] === v6 + 1 && keys[k + 1] === w0 && keys[k + 2] === w1 && keys[k + 3] === w2 && keys[k + 4] === w3)
    return addrCacheText[h];
  const text = v6 === 0 ? ipv4Text(w0) : ipv6Text(w0, w1, w2, w3);
  keys[k] = v6 + 1;
  keys[k + 1] = w0;
  keys[k + 2] = w1;
  keys[k + 3] = w2;
  keys[k + 4] = w3;
  addrCacheText[h] = text;
  return text;
}

const ADDR_CACHE_SIZE = 4096;
/** Per cache line: 1 + IPv6 flag (0 = empty), then the four words. */
const addrCacheKeys = new Uint32Array(ADDR_CACHE_SIZE * 5);
const addrCacheText: string[] = new Array<string>(ADDR_CACHE_SIZE).fill('');

function ipv6Text(w0: number, w1: number, w2: number, w3: number): string {
  const g = [
    (w0 >>> 16) & 0xffff,
    w0 & 0xffff,
    (w1 >>> 16) & 0xffff,
    w1 & 0xffff,
    (w2 >>> 16) & 0xffff,
    w2 & 0xffff,
    (w3 >>> 16) & 0xffff,
    w3 & 0xffff,
  ];
  // Longest run of zero groups (first one wins ties), only if at least 2 long.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestStart = -1;

  // Embedded IPv4 as Wireshark prints it: ::a.b.c.d when exactly the first six
  // groups are zero, and ::ffff:a.b.c.d (so ::5 and ::1 stay hex).
  const embedV4 = bestStart === 0 && (bestLen === 6 || (bestLen === 5 && g[5] === 0xffff));
  const last = embedV4 ? 6 : 8;

  let s = '';
  for (let i = 0; i < last; i++) {
    if (i === bestStart) {
      s += '::';
      i += bestLen - 1;
      continue;
    }
    if (s !== '' && !s.endsWith(':')) s += ':';
    s += g[i].toString(16);
  }
  if (embedV4) {
    if (!s.endsWith(':')) s += ':';
    s += ipv4Text(w3 >>> 0);
  }
  return s;
}

function parseV4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let w = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    w = (w << 8) | n;
  }
  return w >>> 0;
}

function parseV6(s: string): number[] | null {
  let groups: number[] = [];
  let tail: number[] = [];
  const dbl = s.indexOf('::');
  if (dbl !== s.lastIndexOf('::') && dbl !== -1) return null;
  const parseGroups = (part: string, allowV4: boolean): number[] | null => {
    if (part === '') return [];
    const items = part.split(':');
    const out: number[] = [];
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      if (allowV4 && i === items.length - 1 && it.includes('.')) {
        const v4 = parseV4(it);
        if (v4 === null) return null;
        out.push(v4 >>> 16, v4 & 0xffff);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(it)) return null;
      out.push(parseInt(it, 16));
    }
    return out;
  };
  if (dbl === -1) {
    const all = parseGroups(s, true);
    if (all === null || all.length !== 8) return null;
    return all;
  }
  const head = parseGroups(s.slice(0, dbl), false);
  const rest = parseGroups(s.slice(dbl + 2), true);
  if (head === null || rest === null) return null;
  groups = head;
  tail = rest;
  if (groups.length + tail.length > 7) return null;
  const zeros = new Array<number>(8 - groups.length - tail.length).fill(0);
  return [...groups, ...zeros, ...tail];
}

/**
 * Parse an IPv4 dotted quad (no leading zeros) or an IPv6 address (with "::"
 * and an embedded dotted quad allowed; no zone id). Returns null when invalid.
 */
export function parseAddr(s: string): ParsedAddr | null {
  if (typeof s !== 'string') return null;
  if (s.includes(':')) {
    const g = parseV6(s);
    if (g === null) return null;
    return {
      version: 6,
      words: [
        ((g[0] << 16) | g[1]) >>> 0,
        ((g[2] << 16) | g[3]) >>> 0,
        ((g[4] << 16) | g[5]) >>> 0,
        ((g[6] << 16) | g[7]) >>> 0,
      ],
    };
  }
  const w = parseV4(s);
  if (w === null) return null;
  return { version: 4, words: [w, 0, 0, 0] };
}
