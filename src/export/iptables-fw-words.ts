import { UserError } from '../base/errors.js';
import { visible } from '../base/text-escape.js';
import type { FibMatch, FwRule, Hook, NatStatement, NegatableCondition } from '../rules/firewall.js';
import { hex32 } from '../rules/fw-meta-values.js';
import { hopLimitFamily } from '../rules/fw-compile.js';
import type { PortRange } from '../rules/types.js';
import { cutUtf8, shortText } from './comment.js';
import { ifNameProblem } from './fw-names.js';
import { icmpTypeCode, multiportGroups, quoteArg } from './iptables.js';
import { LOG_LEVELS } from '../rules/spec.js';
import { addrText, type Family, ruleWhere, TCP_FLAG_BITS } from './nft-firewall.js';

/**
 * The words of one firewall-model rule in iptables (iptables-firewall.ts
 * puts them into chains): its matches, split into the alternatives
 * iptables needs one rule each for, and its LOG, REJECT and NAT targets.
 * What iptables has no words for is an error naming the rule (fail()).
 */
/** LOG's prefix holds 29 bytes (libxt_LOG refuses more). */
export const IPTABLES_LOG_PREFIX_MAX_BYTES = 29;

const LOG_LEVEL_NUMBER: Record<string, number> = {
  emerg: 0,
  alert: 1,
  crit: 2,
  err: 3,
  warn: 4,
  notice: 5,
  info: 6,
  debug: 7,
};

const CT_STATE: Record<string, string> = {
  new: 'NEW',
  established: 'ESTABLISHED',
  related: 'RELATED',
  invalid: 'INVALID',
  untracked: 'UNTRACKED',
};

const CT_STATUS: Record<string, string> = {
  expected: 'EXPECTED',
  'seen-reply': 'SEEN_REPLY',
  assured: 'ASSURED',
  confirmed: 'CONFIRMED',
};

const PKTTYPE: Record<string, string> = {
  host: 'unicast',
  unicast: 'unicast',
  broadcast: 'broadcast',
  multicast: 'multicast',
  other: 'otherhost',
};

export function fail(rule: FwRule, what: string): never {
  throw new UserError(`${ruleWhere(rule)} cannot be exported to iptables: ${what}`);
}

/** Is this condition negated (rule.not)? */
function negated(r: FwRule, k: NegatableCondition): boolean {
  return r.not?.includes(k) === true;
}

/** One match negated as iptables writes it: `! -s X`, `! --dport 22`, `-m iprange ! --src-range A-B`. */
export function negateMatch(text: string): string {
  if (!text.startsWith('-m ')) return `! ${text}`;
  const at = text.indexOf(' --');
  return at < 0 ? `! ${text}` : `${text.slice(0, at)} !${text.slice(at)}`;
}

const ADDRTYPE: Record<string, string> = {
  unspec: 'UNSPEC',
  unicast: 'UNICAST',
  local: 'LOCAL',
  broadcast: 'BROADCAST',
  anycast: 'ANYCAST',
  multicast: 'MULTICAST',
  blackhole: 'BLACKHOLE',
  unreachable: 'UNREACHABLE',
  prohibit: 'PROHIBIT',
};

/**
 * A fib condition in iptables: a route type is -m addrtype (--limit-iface-in
 * / -out for a lookup by the packet's device); the reverse-path check
 * `fib saddr . iif oif missing` is -m rpfilter --invert (prerouting only,
 * where rpfilter runs). Other fib forms have no iptables match.
 */
export function fibMatch(r: FwRule, f: FibMatch, hook: Hook, fam: Family): string[] {
  if (f.result === 'type') {
    const dir = f.addr === 'saddr' ? '--src-type' : '--dst-type';
    // IPv6 routes are never broadcast, blackhole or prohibit to nft's fib, and addrtype refuses them there.
    const list = f.types.filter((t) => fam === 4 || !['broadcast', 'blackhole', 'prohibit'].includes(t));
    // None left: the condition never holds (no rule), or negated always does (no match).
    if (list.length === 0) return f.neg ? [''] : [];
    const types = list.map((t) => ADDRTYPE[t]).join(',');
    const dev = f.dev === 'iif' ? ' --limit-iface-in' : f.dev === 'oif' ? ' --limit-iface-out' : '';
    return [`-m addrtype ${f.neg ? '! ' : ''}${dir} ${types}${dev}`];
  }
  if (f.addr !== 'saddr' || f.dev !== 'iif')
    fail(r, `"${shortText(f.text)}" has no iptables match (rpfilter checks the source by the input interface only)`);
  if (hook !== 'prerouting') fail(r, `-m rpfilter works in prerouting only, and this rule is reached from ${hook}`);
  return [f.neg ? '-m rpfilter' : '-m rpfilter --invert'];
}

/**
 * A TTL / hop limit condition: -m ttl (IPv4) or -m hl (IPv6), whose
 * comparisons are eq, lt and gt (ne as `! --ttl-eq`); a range reaching
 * neither 0 nor 255 has no one-match form.
 */
function hopLimitMatch(r: FwRule): string {
  const h = r.hopLimit as NonNullable<FwRule['hopLimit']>;
  const fam = r.family ?? hopLimitFamily(r);
  if (fam === null) fail(r, 'a TTL / hop limit condition needs an IP family');
  const [mod, opt] = fam === 4 ? ['ttl', '--ttl'] : ['hl', '--hl'];
  const { lo, hi, neg } = h;
  if (lo === 0 && hi === 255) return neg ? fail(r, 'a TTL / hop limit condition that no packet meets') : '';
  if (lo === hi) return `-m ${mod} ${neg ? '! ' : ''}${opt}-eq ${lo}`;
  // [0, hi] is < hi + 1, [lo, 255] is > lo - 1; negated, each is the other side.
  if (lo === 0) return neg ? `-m ${mod} ${opt}-gt ${hi}` : `-m ${mod} ${opt}-lt ${hi + 1}`;
  if (hi === 255) return neg ? `-m ${mod} ${opt}-lt ${lo}` : `-m ${mod} ${opt}-gt ${lo - 1}`;
  return fail(r, `a TTL / hop limit range ${lo}-${hi} has no one-match form in iptables (use the nft export)`);
}

/** The MARK target of a mark_set: xt_MARK's --set-xmark value/mask, mark = (mark & ~mask) ^ value. */
export function markTarget(r: FwRule): string | null {
  const m = r.markSet;
  if (!m) return null;
  return `-j MARK --set-xmark ${hex32(m.xor)}/${hex32(~m.and >>> 0)}`;
}

/** Matches every iptables rule of a rule holds: protocol, conntrack state, TCP flags, mark. */
export function fixedMatches(r: FwRule): string {
  const p: string[] = [];
  const np = negated(r, 'proto') ? '! ' : '';
  if (r.proto === 'tcp' || r.proto === 'udp' || r.proto === 'icmp') p.push(`${np}-p ${r.proto}`);
  else if (r.proto === 'icmpv6') p.push(`${np}-p ipv6-icmp`);
  if (r.ctState !== null)
    p.push(`-m conntrack ${negated(r, 'ctState') ? '! ' : ''}--ctstate ${r.ctState.map((s) => CT_STATE[s]).join(',')}`);
  const hl = r.hopLimit ? hopLimitMatch(r) : '';
  if (hl !== '') p.push(hl);
  if (r.mark) p.push(`-m mark ${negated(r, 'mark') ? '! ' : ''}--mark ${hex32(r.mark.value)}/${hex32(r.mark.mask)}`);
  if (r.tcpFlags !== null && r.tcpFlags.mask !== 0) {
    if (r.proto !== 'tcp') fail(r, 'tcp_flags needs proto tcp');
    const { mask, value } = r.tcpFlags;
    if ((mask & 0xc0) !== 0) fail(r, 'iptables --tcp-flags knows FIN SYN RST PSH ACK URG only, not ecn or cwr');
    const names = (bits: number): string =>
      TCP_FLAG_BITS.filter(([b]) => (bits & b) !== 0)
        .map(([, n]) => n.toUpperCase())
        .join(',') || 'NONE';
    p.push(`${negated(r, 'tcpFlags') ? '! ' : ''}--tcp-flags ${names(mask)} ${names(value & mask)}`);
  }
  return p.join(' ');
}

function portText(p: PortRange): string {
  return p.lo === p.hi ? `${p.lo}` : `${p.lo}:${p.hi}`;
}

function portAlts(ranges: PortRange[], dir: 's' | 'd'): string[] {
  if (ranges.length === 1) return [`--${dir}port ${portText(ranges[0])}`];
  return multiportGroups(ranges).map((g) => `-m multiport --${dir}ports ${g.map(portText).join(',')}`);
}

/** Every combination of the rule's listed conditions for one family, each the match text of one iptables rule. */
export function alternatives(r: FwRule, fam: Family, hook: Hook = 'forward'): string[] {
  const dims: string[][] = [];
  for (const f of r.fib ?? []) dims.push(fibMatch(r, f, hook, fam));
  // A negated condition is one iptables match with `!`: not (a or b) has no single-match form.
  const neg = (k: NegatableCondition, alts: string[]): string[] => {
    if (!negated(r, k)) return alts;
    if (alts.length !== 1)
      fail(r, `iptables negates one value per match, and the negated ${k} has ${alts.length} (use the nft export)`);
    return [negateMatch(alts[0])];
  };
  const ifs = (flag: string, names: string[]): string[] =>
    names.map((n) => {
      const bad = ifNameProblem(n);
      if (bad !== null) fail(r, bad);
      return `${flag} ${n.endsWith('*') ? `${n.slice(0, -1)}+` : n}`;
    });
  if (r.iif !== null) dims.push(neg('iif', ifs('-i', r.iif)));
  if (r.oif !== null) dims.push(neg('oif', ifs('-o', r.oif)));
  for (const [m, flag, range, k] of [
    [r.src, '-s', '--src-range', 'src'],
    [r.dst, '-d', '--dst-range', 'dst'],
  ] as const) {
    if (m === null) continue;
    dims.push(
      neg(k, [
        ...m.cidrs.filter((c) => c.version === fam).map((c) => `${flag} ${c.text}`),
        ...m.ranges
          .filter((x) => x.version === fam)
          .map((x) => `-m iprange ${range} ${addrText(fam, x.lo)}-${addrText(fam, x.hi)}`),
      ]),
    );
  }
  if (r.sport !== null) dims.push(neg('sport', portAlts(r.sport.ranges, 's')));
  if (r.dport !== null) dims.push(neg('dport', portAlts(r.dport.ranges, 'd')));
  if (r.icmp !== null && (r.proto === 'icmp' || r.proto === 'icmpv6')) {
    const list: string[] = [];
    for (const t of r.icmp.types) for (const c of r.icmp.codes ?? [null]) list.push(icmpTypeCode(t, c, fam));
    dims.push(neg('icmp', list));
  }
  if (r.pktType !== null)
    dims.push(neg('pktType', [...new Set(r.pktType.map((t) => `-m pkttype --pkt-type ${PKTTYPE[t]}`))]));
  if (r.ctStatus !== null) {
    if (r.ctStatus.includes('dying')) fail(r, 'conntrack has no match for ct status dying');
    const st = r.ctStatus.filter((s) => s in CT_STATUS).map((s) => CT_STATUS[s]);
    const nat = r.ctStatus.filter((s) => s === 'snat' || s === 'dnat').map((s) => s.toUpperCase());
    const list: string[] = [];
    if (st.length > 0) list.push(`-m conntrack --ctstatus ${st.join(',')}`);
    // conntrack's SNAT and DNAT "states" are the status bits IPS_SRC_NAT and IPS_DST_NAT.
    if (nat.length > 0) list.push(`-m conntrack --ctstate ${nat.join(',')}`);
    dims.push(neg('ctStatus', list));
  }
  let out = [''];
  for (const d of dims) out = out.flatMap((a) => d.map((x) => (a === '' ? x : x === '' ? a : `${a} ${x}`)));
  return out;
}

export function limitMatch(r: FwRule): string {
  const l = r.limit;
  if (l === null) return '';
  let { rate, unit }: { rate: number; unit: string } = l;
  if (unit === 'week') {
    if (rate % 7 !== 0) fail(r, `limit ${rate}/week: iptables' limit counts per second, minute, hour or day`);
    rate /= 7;
    unit = 'day';
  }
  return `-m limit --limit ${rate}/${unit} --limit-burst ${l.burst}`;
}

/** A log prefix as iptables keeps it: visible, cut to LOG's 29 bytes (then quoted by quoteArg). */
export function iptablesLogPrefixText(prefix: string): string {
  return cutUtf8(visible(prefix), IPTABLES_LOG_PREFIX_MAX_BYTES);
}

export function logTarget(r: FwRule): string {
  const log = r.log;
  if (log === null) return '';
  let t = '-j LOG';
  if (log.prefix !== null) t += ` --log-prefix ${quoteArg(iptablesLogPrefixText(log.prefix))}`;
  if (log.level !== null) {
    const n = LOG_LEVEL_NUMBER[log.level];
    if (n === undefined)
      fail(r, `log level "${shortText(log.level)}" (LOG takes ${LOG_LEVELS.filter((l) => l !== 'audit').join(', ')})`);
    t += ` --log-level ${n}`;
  }
  return t;
}

const REJECT_V4: Record<string, string> = {
  'net-unreachable': 'icmp-net-unreachable',
  'host-unreachable': 'icmp-host-unreachable',
  'prot-unreachable': 'icmp-proto-unreachable',
  'port-unreachable': 'icmp-port-unreachable',
  'net-prohibited': 'icmp-net-prohibited',
  'host-prohibited': 'icmp-host-prohibited',
  'admin-prohibited': 'icmp-admin-prohibited',
};
const REJECT_V6: Record<string, string> = {
  'no-route': 'icmp6-no-route',
  'admin-prohibited': 'icmp6-adm-prohibited',
  'addr-unreachable': 'icmp6-addr-unreachable',
  'port-unreachable': 'icmp6-port-unreachable',
  'policy-fail': 'icmp6-policy-fail',
  'reject-route': 'icmp6-reject-route',
};
/** nft's icmpx words, per family (nft_reject_inet: icmpx_code_v4 / _v6). */
const REJECT_X: Record<string, [string, string]> = {
  'port-unreachable': ['icmp-port-unreachable', 'icmp6-port-unreachable'],
  'host-unreachable': ['icmp-host-unreachable', 'icmp6-addr-unreachable'],
  'no-route': ['icmp-net-unreachable', 'icmp6-no-route'],
  'admin-prohibited': ['icmp-admin-prohibited', 'icmp6-adm-prohibited'],
};

export function rejectTarget(r: FwRule, fam: Family): string {
  if (r.rejectWith === null)
    return `-j REJECT --reject-with ${fam === 4 ? 'icmp-port-unreachable' : 'icmp6-port-unreachable'}`;
  const w = r.rejectWith
    .trim()
    .split(/\s+/)
    .filter((x) => x !== 'type' && x !== 'code');
  let t: string | undefined;
  if (w[0] === 'tcp' && w[1] === 'reset') {
    if (r.proto !== 'tcp') fail(r, 'reject with tcp reset needs proto tcp');
    t = 'tcp-reset';
  } else if (w[0] === 'icmpx') t = REJECT_X[w[1]]?.[fam === 4 ? 0 : 1];
  else if (w[0] === 'icmp' && fam === 4) t = REJECT_V4[w[1]];
  else if (w[0] === 'icmpv6' && fam === 6) t = REJECT_V6[w[1]];
  if (t === undefined || w.length !== 2)
    fail(r, `REJECT has no --reject-with for "reject with ${shortText(r.rejectWith)}"`);
  return `-j REJECT --reject-with ${t}`;
}

export function natTarget(nat: NatStatement, r: FwRule, fam: Family): string {
  const ports =
    nat.ports === null ? '' : nat.ports.lo === nat.ports.hi ? `${nat.ports.lo}` : `${nat.ports.lo}-${nat.ports.hi}`;
  if (ports && r.proto !== 'tcp' && r.proto !== 'udp') fail(r, 'a NAT port needs proto tcp or udp');
  const flagWords: Record<string, string> = {
    random: '--random',
    'fully-random': '--random-fully',
    persistent: '--persistent',
  };
  const allowed: Record<NatStatement['kind'], string[]> = {
    snat: ['random', 'fully-random', 'persistent'],
    dnat: ['random', 'fully-random', 'persistent'],
    masquerade: ['random', 'fully-random'],
    redirect: ['random'],
  };
  const flags = nat.flags.map((f) => {
    if (!allowed[nat.kind].includes(f)) fail(r, `${nat.kind.toUpperCase()} has no ${f} flag`);
    return ` ${flagWords[f]}`;
  });
  if (nat.kind === 'masquerade' || nat.kind === 'redirect')
    return `-j ${nat.kind.toUpperCase()}${ports ? ` --to-ports ${ports}` : ''}${flags.join('')}`;
  const a = nat.addr;
  if (a === null) fail(r, `${nat.kind} without an address`);
  if (a.version !== fam) fail(r, `an IPv${a.version} ${nat.kind} address in the IPv${fam} ruleset`);
  const same = a.lo.every((w, i) => w === a.hi[i]);
  const addr = same ? addrText(fam, a.lo) : `${addrText(fam, a.lo)}-${addrText(fam, a.hi)}`;
  let to: string;
  if (!ports) to = addr;
  else to = fam === 4 ? `${addr}:${ports}` : `[${addr}]:${ports}`;
  return `-j ${nat.kind.toUpperCase()} --${nat.kind === 'snat' ? 'to-source' : 'to-destination'} ${to}${flags.join('')}`;
}
