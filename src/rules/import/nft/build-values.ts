/**
 * nft's symbolic values given their meaning from the match's left side, as
 * evaluate.c does through the datatypes: addresses, ports and service
 * names, protocols, ICMP types and codes, TCP flags, ct states and
 * statuses, pkttypes, marks. Each returns the value or the reason it is
 * not one; the rule builder adds the position.
 */
import type { SourcePos } from '../../../base/diag.js';
import { ICMP_CODES, ICMP_TYPES, ICMPV6_CODES, ICMPV6_TYPES } from '../../../packet/icmp-names.js';
import { parseAddrRange } from '../../addr-range.js';
import { parseCidr } from '../../cidr.js';
import type { AddrRange, CtStateWord, CtStatusWord, PktType } from '../../firewall.js';
import { CT_STATES, CT_STATUSES, PKT_TYPES, TCP_FLAG_BITS } from '../../spec.js';
import type { Cidr, PortRange, ProtoName } from '../../types.js';
import type { Expr } from './ast.js';
import { SERVICES } from './services.js';

export type Val<T> = { ok: true; value: T } | { ok: false; error: string; pos: SourcePos };

export const ok = <T>(value: T): Val<T> => ({ ok: true, value });
export const bad = <T>(e: Expr, error: string): Val<T> => ({ ok: false, error, pos: e.pos });

/** The value as nft would print it, for messages. */
export function show(e: Expr): string {
  switch (e.kind) {
    case 'symbol':
      return e.quoted ? `"${e.text}"` : e.text;
    case 'prefix':
      return `${show(e.addr)}/${e.len}`;
    case 'range':
      return `${show(e.lo)}-${show(e.hi)}`;
    case 'concat':
      return e.parts.map(show).join(' . ');
    case 'list':
      return e.items.map(show).join(',');
    case 'set':
      return `{ ${e.elems.map((x) => (x.value === null ? show(x.key) : `${show(x.key)} : ${show(x.value)}`)).join(', ')} }`;
    case 'setref':
      return `@${e.name}`;
    case 'binop':
      return `${show(e.left)} ${e.op} ${show(e.right)}`;
    case 'verdict':
      return e.target === null ? e.verdict : `${e.verdict} ${e.target}`;
    case 'payload':
      return `${e.protocol} ${e.field}`;
    case 'meta':
      return `meta ${e.key}`;
    case 'ct':
      return `ct ${e.dir === null ? '' : `${e.dir} `}${e.key}`;
    case 'fib':
      return `fib ${e.flags.join(' . ')} ${e.result}`;
    case 'unsupported':
      return e.text;
    case 'map':
      return `${show(e.key)} map ${show(e.map)}`;
  }
}

/** A number as nft reads one: decimal or 0x hex, at most 32 bits. */
export function num(text: string): number | null {
  if (/^[0-9]{1,10}$/.test(text)) {
    const n = Number(text);
    return n <= 0xffffffff ? n : null;
  }
  if (/^0x[0-9a-fA-F]{1,8}$/.test(text)) return Number.parseInt(text.slice(2), 16);
  return null;
}

/** The symbols, prefixes and ranges of a value: itself, a comma list's items, or an anonymous set's keys. */
export function atoms(e: Expr): Expr[] {
  if (e.kind === 'list') return e.items.flatMap(atoms);
  if (e.kind === 'set') return e.elems.flatMap((x) => atoms(x.key));
  return [e];
}

export type AddrAtom = { cidr: Cidr } | { range: AddrRange };

export function addrAtom(e: Expr, version: 4 | 6): Val<AddrAtom> {
  const want = version === 4 ? 'an IPv4 address' : 'an IPv6 address';
  const check = (v: 4 | 6): string | null =>
    v === version ? null : `${show(e)} is an IPv${v} address where ${want} is expected`;
  if (e.kind === 'symbol') {
    if (!e.quoted && /^[a-zA-Z][a-zA-Z0-9.-]*$/.test(e.text) && !e.text.includes(':'))
      return bad(e, `${show(e)} is a host name, which nft resolves when it loads the file; write the address`);
    const c = parseCidr(e.text);
    if (!c.ok || c.cidr.prefix !== (c.cidr.version === 4 ? 32 : 128)) return bad(e, `${show(e)} is not ${want}`);
    const w = check(c.cidr.version);
    return w === null ? ok({ cidr: c.cidr }) : bad(e, w);
  }
  if (e.kind === 'prefix' && e.addr.kind === 'symbol') {
    const c = parseCidr(`${e.addr.text}/${e.len}`);
    if (!c.ok) return bad(e, c.error);
    const w = check(c.cidr.version);
    return w === null ? ok({ cidr: c.cidr }) : bad(e, w);
  }
  if (e.kind === 'range' && e.lo.kind === 'symbol' && e.hi.kind === 'symbol') {
    const r = parseAddrRange(`${e.lo.text}-${e.hi.text}`);
    if (!r.ok) return bad(e, r.error);
    const w = check(r.range.version);
    return w === null ? ok({ range: r.range }) : bad(e, w);
  }
  return bad(e, `${show(e)} is not ${want}, prefix or range`);
}

function portNum(e: Expr): Val<number> {
  if (e.kind !== 'symbol') return bad(e, `${show(e)} is not a port`);
  const n = num(e.text);
  if (n !== null) return n <= 65535 ? ok(n) : bad(e, `port ${e.text} is out of range (0-65535)`);
  if (Object.hasOwn(SERVICES, e.text)) return ok(SERVICES[e.text]);
  return bad(e, `"${e.text}" is not a port number or a service name of /etc/services`);
}

export function portAtom(e: Expr): Val<PortRange> {
  if (e.kind === 'range') {
    const lo = portNum(e.lo);
    if (!lo.ok) return lo;
    const hi = portNum(e.hi);
    if (!hi.ok) return hi;
    if (lo.value > hi.value) return bad(e, `the port range ${show(e)} is backwards`);
    return ok({ lo: lo.value, hi: hi.value });
  }
  const p = portNum(e);
  return p.ok ? ok({ lo: p.value, hi: p.value }) : p;
}

/** What `meta l4proto` / `ip protocol` / `ip6 nexthdr` names: a protocol the model has, or why not. */
export function protoAtom(e: Expr): Val<ProtoName> | { ok: 'other'; text: string } {
  if (e.kind !== 'symbol') return bad(e, `${show(e)} is not a protocol`);
  const t = e.text;
  const n = num(t);
  if (t === 'tcp' || n === 6) return ok('tcp');
  if (t === 'udp' || n === 17) return ok('udp');
  if (t === 'icmp' || n === 1) return ok('icmp');
  if (t === 'icmpv6' || t === 'ipv6-icmp' || n === 58) return ok('icmpv6');
  if ((n !== null && n <= 255) || /^[a-z][a-z0-9-]*$/.test(t)) return { ok: 'other', text: t };
  return bad(e, `${show(e)} is not a protocol`);
}

export function familyAtom(e: Expr): Val<4 | 6> {
  if (e.kind === 'symbol') {
    if (e.text === 'ipv4' || e.text === 'ip' || e.text === '2' || e.text === '0x0800') return ok(4);
    if (e.text === 'ipv6' || e.text === 'ip6' || e.text === '10' || e.text === '0x86dd') return ok(6);
  }
  return bad(e, `${show(e)} is not ipv4 or ipv6`);
}

export function icmpAtom(e: Expr, version: 4 | 6, kind: 'type' | 'code'): Val<number> {
  if (e.kind !== 'symbol') return bad(e, `${show(e)} is not an ICMP ${kind}`);
  const n = num(e.text);
  if (n !== null) return n <= 255 ? ok(n) : bad(e, `${e.text} is out of range for an ICMP ${kind} (0-255)`);
  const names =
    version === 4 ? (kind === 'type' ? ICMP_TYPES : ICMP_CODES) : kind === 'type' ? ICMPV6_TYPES : ICMPV6_CODES;
  if (Object.hasOwn(names, e.text)) return ok(names[e.text]);
  return bad(
    e,
    `"${e.text}" is not an ${version === 4 ? 'icmp' : 'icmpv6'} ${kind} name (nft describe ${version === 4 ? 'icmp' : 'icmpv6'} ${kind})`,
  );
}

/** TCP flag bits of `syn`, `syn,ack`, `(fin|syn)`, `0x12`. */
export function flagBits(e: Expr): Val<number> {
  if (e.kind === 'symbol') {
    if (Object.hasOwn(TCP_FLAG_BITS, e.text)) return ok(TCP_FLAG_BITS[e.text]);
    const n = num(e.text);
    if (n !== null && n <= 0xff) return ok(n);
    return bad(e, `"${e.text}" is not a TCP flag (${Object.keys(TCP_FLAG_BITS).join(', ')})`);
  }
  if (e.kind === 'list') return orAll(e.items);
  if (e.kind === 'binop' && e.op === '|') return orAll([e.left, e.right]);
  return bad(e, `${show(e)} is not a set of TCP flags`);
}

function orAll(items: Expr[]): Val<number> {
  let b = 0;
  for (const x of items) {
    const v = flagBits(x);
    if (!v.ok) return v;
    b |= v.value;
  }
  return ok(b);
}

export function wordOf<T extends string>(e: Expr, words: readonly T[], what: string): Val<T> {
  if (e.kind === 'symbol' && (words as readonly string[]).includes(e.text)) return ok(e.text as T);
  return bad(e, `${show(e)} is not ${what} (${words.join(', ')})`);
}

export const ctStateAtom = (e: Expr): Val<CtStateWord> => wordOf(e, CT_STATES, 'a ct state');
export const ctStatusAtom = (e: Expr): Val<CtStatusWord> => wordOf(e, CT_STATUSES, 'a ct status');
export function pktTypeAtom(e: Expr): Val<PktType> {
  const v = wordOf(e, PKT_TYPES, 'a pkttype');
  return v.ok && v.value === 'unicast' ? ok('host') : v;
}

export function markNum(e: Expr): Val<number> {
  if (e.kind === 'symbol') {
    const n = num(e.text);
    if (n !== null) return ok(n);
  }
  return bad(e, `${show(e)} is not a 32-bit mark`);
}

/** An interface name as nft matches it: `eth0`, `"eth*"` (a prefix), at most 15 bytes. */
export function ifAtom(e: Expr): Val<string> {
  if (e.kind !== 'symbol') return bad(e, `${show(e)} is not an interface name`);
  const t = e.text.replace(/\\\*$/, '*');
  if (t === '' || Buffer.byteLength(t.replace(/\*$/, '')) > 15 || /[\s/]/.test(t))
    return bad(e, `${show(e)} is not an interface name (1-15 bytes, no spaces or "/")`);
  return ok(t);
}
