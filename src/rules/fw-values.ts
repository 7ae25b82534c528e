/**
 * The text values of firewall-model rules, parsed without YAML: tcp_flags,
 * limit, reject_with and NAT targets. Each returns the typed value or the
 * reason it is not one (the rule reader adds the rule and the position).
 */
import { compareWords, parseHostAddr } from './addr-range.js';
import type { LimitMatch, NatStatement, TcpFlagsMatch } from './firewall.js';
import { LIMIT_UNITS, REJECT_WITH, TCP_FLAG_BITS } from './spec.js';
import type { PortRange } from './types.js';
import { formatAddr } from '../packet/addr.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const FLAG_NAMES = Object.keys(TCP_FLAG_BITS);

/** Flag names of `bits` in header order (nft's): "fin,syn,rst,ack". */
export function flagNames(bits: number): string {
  return FLAG_NAMES.filter((n) => (bits & TCP_FLAG_BITS[n]) !== 0).join(',');
}

function flagBits(side: string): number | string {
  let bits = 0;
  for (const raw of side.split(/[,|]/)) {
    const w = raw.trim();
    if (w === '') return 'an empty flag name (two commas, or a comma at an end)';
    if (!Object.hasOwn(TCP_FLAG_BITS, w)) {
      // nft's names are lower case ("Could not parse TCP flag" for SYN, measured)
      const lower = Object.hasOwn(TCP_FLAG_BITS, w.toLowerCase()) ? `; nft writes ${w.toLowerCase()}` : '';
      return `"${w}" is not a TCP flag${lower} (${FLAG_NAMES.join(', ')})`;
    }
    bits |= TCP_FLAG_BITS[w];
  }
  return bits;
}

export const TCP_FLAGS_HELP =
  'flags that must all be set ("syn", "syn,ack"), or flags / the flags looked at ("syn / syn,ack": SYN set, ACK clear)';

/** `syn`, `syn,ack` (all set), `syn / syn,ack,rst,fin` (value / mask). */
export function parseTcpFlags(text: string): Parsed<TcpFlagsMatch> {
  const parts = text.split('/');
  if (parts.length > 2) return { ok: false, error: 'more than one "/"' };
  const value = flagBits(parts[0]);
  if (typeof value === 'string') return { ok: false, error: value };
  const mask = parts.length === 2 ? flagBits(parts[1]) : value;
  if (typeof mask === 'string') return { ok: false, error: mask };
  const outside = value & ~mask;
  if (outside !== 0)
    return {
      ok: false,
      error: `${flagNames(outside)} must be set but is not among the flags looked at (after "/"), so no packet matches; add ${flagNames(outside)} after the "/"`,
    };
  return { ok: true, value: { mask, value, text: `${flagNames(value)} / ${flagNames(mask)}` } };
}

export const LIMIT_HELP =
  'a rate like "10/minute", "10/minute burst 5 packets" or "over 100/second" (units: second, minute, hour, day, week)';

/** nft's `limit rate [over] N/unit [burst B packets]`, without the words "limit rate". */
export function parseLimit(text: string): Parsed<LimitMatch> {
  const s = text
    .trim()
    .replace(/\s+/g, ' ')
    .replace(/^(limit )?rate /, '');
  const m = /^(over )?([0-9]+) ?\/ ?([a-z]+)(?: burst ([0-9]+)(?: (packets?|[a-z]+))?)?$/.exec(s);
  if (m === null) {
    const bytes = /bytes/.test(s) ? ' (byte rates are not modelled; fwemu limits packets)' : '';
    return { ok: false, error: `"${text}" is not a limit${bytes}` };
  }
  const rate = Number(m[2]);
  const unit = m[3];
  if (!(LIMIT_UNITS as readonly string[]).includes(unit)) {
    const sing = unit.replace(/s$/, '');
    const full = LIMIT_UNITS.find((u) => u === sing || u.startsWith(sing));
    return { ok: false, error: `"${unit}" is not a unit${full ? `; write ${full}` : ''}` };
  }
  if (m[5] !== undefined && !m[5].startsWith('packet'))
    return { ok: false, error: `burst counts packets; "${m[5]}" is not modelled` };
  if (rate < 1 || rate > 0xffffffff) return { ok: false, error: `the rate ${m[2]} must be 1-4294967295` };
  const burst = m[4] === undefined ? 5 : Number(m[4]);
  if (burst < 1 || burst > 0xffffffff)
    return { ok: false, error: `the burst ${m[4]} must be 1-4294967295 (nft: "packet limit burst must be > 0")` };
  const over = m[1] !== undefined;
  return {
    ok: true,
    value: {
      rate,
      unit: unit as LimitMatch['unit'],
      burst,
      over,
      text: `${over ? 'over ' : ''}${rate}/${unit} burst ${burst} packets`,
    },
  };
}

export const REJECT_WITH_HELP = `"tcp reset", "icmpx <code>" (${REJECT_WITH.icmpx.join(', ')}), "icmp <code>" (${REJECT_WITH.icmp.join(', ')}) or "icmpv6 <code>" (${REJECT_WITH.icmpv6.join(', ')})`;

/** nft's words after `reject with`, normalized ("icmp type x" is nft's older spelling of "icmp x"). */
export function parseRejectWith(text: string): Parsed<{ text: string; kind: 'tcp' | 'icmp' | 'icmpv6' | 'icmpx' }> {
  // nft's words only, as everywhere in rule files; others' spellings are pointed to.
  const s = text.trim().replace(/\s+/g, ' ');
  if (s === 'tcp reset') return { ok: true, value: { text: 'tcp reset', kind: 'tcp' } };
  if (/^tcp[- ]?(reset|rst)$/i.test(s))
    return { ok: false, error: `"${text}" is not nft's spelling; write "tcp reset"` };
  const m = /^(icmpx|icmpv6|icmp) (?:type )?([a-z-]+)$/.exec(s);
  if (m === null) {
    const v6 = /^(icmp6|ipv6-icmp) /i.exec(s);
    const hint = v6 ? `; nft writes icmpv6, not ${v6[1]}` : '';
    return { ok: false, error: `"${text}" is not a reject type${hint}; write ${REJECT_WITH_HELP}` };
  }
  const kind = m[1] as 'icmpx' | 'icmpv6' | 'icmp';
  const codes = REJECT_WITH[kind];
  if (!codes.includes(m[2]))
    return { ok: false, error: `"${m[2]}" is not an ${kind} reject code (${codes.join(', ')})` };
  return { ok: true, value: { text: `${kind} ${m[2]}`, kind } };
}

function parsePortRange(s: string): PortRange | string {
  const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(s.trim());
  if (m === null) return `"${s}" is not a port or a port range`;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < 1 || hi > 65535) return `port ${lo < 1 ? lo : hi} is out of range (1-65535)`;
  if (lo > hi) return `the port range ${s} is backwards; write ${hi}-${lo}`;
  return { lo, hi };
}

export const NAT_ADDR_HELP =
  'an address ("203.0.113.1"), a range ("203.0.113.1-203.0.113.5"), either with ports (":40000-40100"; an IPv6 address then in brackets: "[2001:db8::1]:80")';

/** The address (or range) and ports of snat/dnat. */
export function parseNatTarget(kind: 'snat' | 'dnat', text: string, flags: readonly string[]): Parsed<NatStatement> {
  const s = text.trim();
  let addrText: string;
  let portText: string | null = null;
  let bracketed = false;
  const br = /^\[([^\]]+)\](?:-\[([^\]]+)\])?(?::(.*))?$/.exec(s);
  if (br !== null) {
    addrText = br[2] === undefined ? br[1] : `${br[1]}-${br[2]}`;
    portText = br[3] ?? null;
    bracketed = true;
  } else if ((s.match(/:/g) ?? []).length === 1) {
    const c = s.indexOf(':');
    addrText = s.slice(0, c);
    portText = s.slice(c + 1);
  } else addrText = s;
  if (addrText === '')
    return { ok: false, error: `${kind} needs an address to translate to (${kind} to a port alone is redirect's job)` };
  const dash = addrText.indexOf('-');
  const lo = parseHostAddr(dash === -1 ? addrText : addrText.slice(0, dash));
  if (!lo.ok) return { ok: false, error: lo.error };
  const hi = dash === -1 ? lo : parseHostAddr(addrText.slice(dash + 1));
  if (!hi.ok) return { ok: false, error: hi.error };
  if (lo.version !== hi.version)
    return { ok: false, error: `${addrText}: the range's ends are of different IP versions` };
  if (compareWords(lo.words, hi.words) > 0) return { ok: false, error: `${addrText}: the range is backwards` };
  if (lo.version === 4 && bracketed)
    return { ok: false, error: 'brackets are for IPv6 addresses; write 203.0.113.1:80' };
  let ports: PortRange | null = null;
  if (portText !== null) {
    const p = parsePortRange(portText);
    if (typeof p === 'string') return { ok: false, error: p };
    ports = p;
  }
  const a = (w: typeof lo.words) => formatAddr(lo.version, w[0], w[1], w[2], w[3]);
  const at = dash === -1 ? a(lo.words) : `${a(lo.words)}-${a(hi.words)}`;
  const shown =
    lo.version === 6 && ports !== null ? (dash === -1 ? `[${at}]` : `[${a(lo.words)}]-[${a(hi.words)}]`) : at;
  const text1 = `${kind} ${lo.version === 4 ? 'ip' : 'ip6'} to ${shown}${ports === null ? '' : `:${portText === null ? '' : portsText(ports)}`}`;
  return {
    ok: true,
    value: {
      kind,
      addr: { version: lo.version, lo: lo.words, hi: hi.words, text: at },
      ports,
      flags: [...flags],
      text: withFlags(text1, flags),
    },
  };
}

/** masquerade/redirect: `true`, or the ports to translate to. */
export function parsePortNat(
  kind: 'masquerade' | 'redirect',
  ports: string | null,
  flags: readonly string[],
): Parsed<NatStatement> {
  let pr: PortRange | null = null;
  if (ports !== null) {
    const p = parsePortRange(ports.replace(/^:/, ''));
    if (typeof p === 'string') return { ok: false, error: p };
    pr = p;
  }
  const text1 = pr === null ? kind : `${kind} to :${portsText(pr)}`;
  return { ok: true, value: { kind, addr: null, ports: pr, flags: [...flags], text: withFlags(text1, flags) } };
}

function portsText(p: PortRange): string {
  return p.lo === p.hi ? String(p.lo) : `${p.lo}-${p.hi}`;
}

function withFlags(text: string, flags: readonly string[]): string {
  return flags.length === 0 ? text : `${text} ${flags.join(',')}`;
}
