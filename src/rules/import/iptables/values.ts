/**
 * Option values as iptables reads them: addresses with a prefix length or
 * a dotted mask, port ranges written `a:b`, C numbers (0x.., 0.., decimal).
 * Each returns the value or the reason it is not one.
 */
import { parseAddrRange, parseHostAddr } from '../../addr-range.js';
import { parseCidr } from '../../cidr.js';
import type { AddrRange, PortMatch } from '../../firewall.js';
import type { Cidr, PortRange } from '../../types.js';

export type Value<T> = { ok: true; value: T } | { ok: false; error: string };

const fail = (error: string): { ok: false; error: string } => ({ ok: false, error });

/** A C number as strtoul(s, 0) reads it, whole and at most `max`. */
export function parseNumber(s: string, max: number): Value<number> {
  let n: number;
  if (/^0[xX][0-9a-fA-F]{1,8}$/.test(s)) n = Number.parseInt(s.slice(2), 16);
  else if (/^0[0-7]+$/.test(s)) n = Number.parseInt(s.slice(1), 8);
  else if (/^[0-9]{1,10}$/.test(s)) n = Number(s);
  else return fail(`"${s}" is not a number`);
  if (n > max) return fail(`${s} is above ${max}`);
  return { ok: true, value: n };
}

/** The prefix length of a dotted IPv4 mask, or -1 when its bits are not contiguous. */
function maskPrefix(mask: string): number | string {
  const r = parseHostAddr(mask);
  if (!r.ok || r.version !== 4) return `"${mask}" is not a prefix length or an IPv4 mask`;
  const m = r.words[0] >>> 0;
  const inv = ~m >>> 0;
  if ((inv & (inv + 1)) !== 0) return -1;
  return Math.clz32(inv);
}

/**
 * One address of -s/-d: `addr`, `addr/len`, or (IPv4) `addr/dotted.mask`.
 * iptables resolves host names through DNS; fwemu reads addresses only.
 */
export function parseAddress(s: string, family: 4 | 6): Value<Cidr> {
  let text = s;
  const slash = s.indexOf('/');
  if (slash !== -1 && s.slice(slash + 1).includes('.')) {
    const p = maskPrefix(s.slice(slash + 1));
    if (typeof p === 'string') return fail(p);
    if (p === -1) return fail(`the mask ${s.slice(slash + 1)} is not contiguous; fwemu models prefixes only`);
    text = `${s.slice(0, slash)}/${p}`;
  }
  const addrPart = slash === -1 ? s : s.slice(0, slash);
  if (!/^[0-9a-fA-F:.]+$/.test(addrPart))
    return fail(`"${s}" is not an address (iptables would look a host name up in DNS; write the address)`);
  const r = parseCidr(text);
  if (!r.ok) return fail(r.error);
  if (r.cidr.version !== family)
    return fail(
      `${s} is an IPv${r.cidr.version} address in an ${family === 4 ? 'iptables' : 'ip6tables'} dump (IPv${family})`,
    );
  return { ok: true, value: r.cidr };
}

/** `a-b` or a single address (iprange). */
export function parseRange(s: string, family: 4 | 6): Value<AddrRange> {
  const r = parseAddrRange(s.includes('-') ? s : `${s}-${s}`);
  if (!r.ok) return fail(r.error);
  if (r.range.version !== family)
    return fail(`${s} is IPv${r.range.version} in an ${family === 4 ? 'iptables' : 'ip6tables'} dump (IPv${family})`);
  return { ok: true, value: r.range };
}

/**
 * Service names iptables looks up in /etc/services (getservbyname) for a
 * port: dumps hold numbers, hand-written restore files sometimes names.
 * The common ones, numbers as Debian's /etc/services gives them.
 */
const SERVICES: Readonly<Record<string, number>> = {
  'ftp-data': 20,
  ftp: 21,
  ssh: 22,
  telnet: 23,
  smtp: 25,
  domain: 53,
  kerberos: 88,
  bootps: 67,
  bootpc: 68,
  tftp: 69,
  http: 80,
  www: 80,
  pop3: 110,
  sunrpc: 111,
  ntp: 123,
  'netbios-ns': 137,
  'netbios-dgm': 138,
  'netbios-ssn': 139,
  imap2: 143,
  imap: 143,
  snmp: 161,
  'snmp-trap': 162,
  bgp: 179,
  ldap: 389,
  https: 443,
  'microsoft-ds': 445,
  isakmp: 500,
  syslog: 514,
  submission: 587,
  ldaps: 636,
  rsync: 873,
  imaps: 993,
  pop3s: 995,
  openvpn: 1194,
  'ms-sql-s': 1433,
  mysql: 3306,
  'ms-wbt-server': 3389,
  'ipsec-nat-t': 4500,
  sip: 5060,
  postgresql: 5432,
  mdns: 5353,
  x11: 6000,
  'http-alt': 8080,
};

function port(s: string): Value<number> {
  if (Object.hasOwn(SERVICES, s)) return { ok: true, value: SERVICES[s] };
  if (!/^[0-9]{1,5}$/.test(s))
    return fail(`"${s}" is not a port number (0-65535) or a service name fwemu knows (write the number)`);
  const n = Number(s);
  return n > 65535 ? fail(`port ${n} is above 65535`) : { ok: true, value: n };
}

/** `p`, `a:b`, `:b` (from 0), `a:` (to 65535), as libxt_tcp reads them. */
export function parsePortRange(s: string): Value<PortRange> {
  const c = s.indexOf(':');
  if (c === -1) {
    const p = port(s);
    return p.ok ? { ok: true, value: { lo: p.value, hi: p.value } } : p;
  }
  const lo = c === 0 ? { ok: true as const, value: 0 } : port(s.slice(0, c));
  if (!lo.ok) return lo;
  const hi = c === s.length - 1 ? { ok: true as const, value: 65535 } : port(s.slice(c + 1));
  if (!hi.ok) return hi;
  if (lo.value > hi.value) return fail(`the port range ${s} is backwards (iptables: "invalid portrange (min > max)")`);
  return { ok: true, value: { lo: lo.value, hi: hi.value } };
}

/** A comma list of ports and a:b ranges (multiport: at most 15 places, a range taking two). */
export function parsePortList(s: string): Value<PortMatch> {
  const ranges: PortRange[] = [];
  let places = 0;
  for (const item of s.split(',')) {
    const r = parsePortRange(item);
    if (!r.ok) return r;
    ranges.push(r.value);
    places += r.value.lo === r.value.hi ? 1 : 2;
  }
  if (places > 15) return fail(`more than 15 ports (a range counts two): multiport takes at most 15`);
  return { ok: true, value: { ranges, set: null } };
}

/** `value[/mask]` of -m mark and -j MARK (32-bit; mask default all ones). */
export function parseMarkMask(s: string): Value<{ value: number; mask: number; masked: boolean }> {
  const slash = s.indexOf('/');
  const v = parseNumber(slash === -1 ? s : s.slice(0, slash), 0xffffffff);
  if (!v.ok) return v;
  if (slash === -1) return { ok: true, value: { value: v.value, mask: 0xffffffff, masked: false } };
  const m = parseNumber(s.slice(slash + 1), 0xffffffff);
  if (!m.ok) return m;
  return { ok: true, value: { value: v.value, mask: m.value, masked: true } };
}

export function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}
