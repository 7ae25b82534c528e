/**
 * A small, strict CIDR parser and formatter for rule files (cold path).
 *
 * Accepts "10.1.0.0/16", "10.2.0.1", "fd00:1::/64", "fd00:2::1",
 * "::ffff:10.2.0.1" (embedded IPv4 tail). Addresses are kept as four uint32
 * words in network order, like DecodedPacket's src0..src3 (IPv4: word 0).
 */
import { formatAddr } from '../packet/addr.js';
import type { Cidr } from './types.js';

export type CidrParse =
  | {
      ok: true;
      cidr: Cidr /** True when the address had bits set beyond the prefix (they were cleared). */;
      hostBits: boolean;
    }
  | { ok: false; error: string };

/** uint32 mask of word `i` (0-3) for a prefix length over a 32 * words-wide address. */
export function wordMask(prefix: number, i: number): number {
  const bits = Math.max(0, Math.min(32, prefix - 32 * i));
  if (bits === 0) return 0;
  if (bits === 32) return 0xffffffff;
  return (0xffffffff << (32 - bits)) >>> 0;
}

/** Parses dotted-quad IPv4 into a uint32, or returns an error string. */
function parseV4(s: string, what: string): number | string {
  const parts = s.split('.');
  if (parts.length !== 4) return `${what}: an IPv4 address has four dot-separated numbers (like 10.1.0.1)`;
  let v = 0;
  for (const p of parts) {
    if (!/^[0-9]{1,3}$/.test(p)) return `${what}: "${p}" is not an IPv4 address byte (0-255)`;
    if (p.length > 1 && p[0] === '0')
      return `${what}: "${p}" has a leading zero (ambiguous: some tools read it as octal); write ${Number(p)}`;
    const n = Number(p);
    if (n > 255) return `${what}: ${n} is not an IPv4 address byte (0-255)`;
    v = v * 256 + n;
  }
  return v >>> 0;
}

/** Parses an IPv6 address into four uint32 words, or returns an error string. */
function parseV6(s: string, what: string): [number, number, number, number] | string {
  if (s.includes('%')) return `${what}: zone indexes (%eth0) are not supported in rules`;
  const dbl = s.indexOf('::');
  if (dbl !== -1 && s.indexOf('::', dbl + 1) !== -1) return `${what}: "::" may appear only once in an IPv6 address`;
  const groups: number[] = [];
  const parseSide = (side: string, allowV4Tail: boolean): string | null => {
    if (side === '') return null;
    const parts = side.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (allowV4Tail && i === parts.length - 1 && p.includes('.')) {
        const v4 = parseV4(p, what);
        if (typeof v4 === 'string') return v4;
        groups.push(v4 >>> 16, v4 & 0xffff);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(p))
        return p === ''
          ? `${what}: empty group in IPv6 address (a single ":" where "::" or a number was expected)`
          : `${what}: "${p}" is not an IPv6 group (1-4 hex digits)`;
      groups.push(parseInt(p, 16));
    }
    return null;
  };
  let words: number[];
  if (dbl === -1) {
    const err = parseSide(s, true);
    if (err) return err;
    if (groups.length !== 8) return `${what}: an IPv6 address has 8 groups (or uses "::"), found ${groups.length}`;
    words = groups;
  } else {
    const head = s.slice(0, dbl);
    const tail = s.slice(dbl + 2);
    let err = parseSide(head, false);
    if (err) return err;
    const nHead = groups.length;
    err = parseSide(tail, true);
    if (err) return err;
    const nTail = groups.length - nHead;
    if (groups.length > 7) return `${what}: too many groups for an IPv6 address with "::"`;
    words = [...groups.slice(0, nHead), ...new Array<number>(8 - nHead - nTail).fill(0), ...groups.slice(nHead)];
  }
  return [
    ((words[0] << 16) | words[1]) >>> 0,
    ((words[2] << 16) | words[3]) >>> 0,
    ((words[4] << 16) | words[5]) >>> 0,
    ((words[6] << 16) | words[7]) >>> 0,
  ];
}

/** Parses "addr" or "addr/prefix" (IPv4 or IPv6). */
export function parseCidr(text: string): CidrParse {
  const s = text.trim();
  if (s === '') return { ok: false, error: 'empty address' };
  const slash = s.indexOf('/');
  const addrText = slash === -1 ? s : s.slice(0, slash);
  const isV6 = addrText.includes(':');
  const version: 4 | 6 = isV6 ? 6 : 4;
  const max = isV6 ? 128 : 32;
  let prefix = max;
  if (slash !== -1) {
    const pt = s.slice(slash + 1);
    if (!/^[0-9]+$/.test(pt))
      return { ok: false, error: `${s}: prefix length "${pt}" is not a number (0-${max} for IPv${version})` };
    prefix = Number(pt);
    if (prefix > max) return { ok: false, error: `${s}: prefix length ${prefix} exceeds ${max} for IPv${version}` };
  }
  let words: [number, number, number, number];
  if (isV6) {
    const r = parseV6(addrText, s);
    if (typeof r === 'string') return { ok: false, error: r };
    words = r;
  } else {
    if (!/^[0-9.]+$/.test(addrText))
      return { ok: false, error: `${s}: not an IPv4 or IPv6 address (like 10.1.0.0/16 or fd00:1::/64)` };
    const r = parseV4(addrText, s);
    if (typeof r === 'string') return { ok: false, error: r };
    words = [r, 0, 0, 0];
  }
  let hostBits = false;
  for (let i = 0; i < 4; i++) {
    const m = (words[i] & wordMask(prefix, i)) >>> 0;
    if (m !== words[i]) hostBits = true;
    words[i] = m;
  }
  const cidr: Cidr = { version, words, prefix, text: '' };
  cidr.text = formatCidr(cidr);
  return { ok: true, cidr, hostBits };
}

/** Canonical text of a CIDR: a bare address when the prefix is full. */
export function formatCidr(c: Cidr): string {
  const a = formatAddr(c.version, c.words[0], c.words[1], c.words[2], c.words[3]);
  return c.prefix === (c.version === 4 ? 32 : 128) ? a : `${a}/${c.prefix}`;
}

/** True when every address in `inner` is also in `outer`. */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  if (outer.version !== inner.version || outer.prefix > inner.prefix) return false;
  for (let i = 0; i < 4; i++) if ((inner.words[i] & wordMask(outer.prefix, i)) >>> 0 !== outer.words[i]) return false;
  return true;
}
