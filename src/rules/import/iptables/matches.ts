/**
 * The matches (-m NAME) fwemu reads, each option turned into a model
 * condition as the kernel's xt_NAME.c judges it (and as iptables-nft
 * translates it: `nft list ruleset` after iptables-restore shows the same
 * conditions, see test/rules/import/iptables-kernel.test.ts).
 */
import type { PktType } from '../../firewall.js';
import { flagNames } from '../../fw-values.js';
import { ICMP_NAMES, ICMPV6_NAMES } from './names.js';
import { conntrack, state } from './match-ct.js';
import { addrtype, rpfilter } from './match-fib.js';
import { nfacct, policy, recent } from './match-ignored.js';
import { bad, taken } from './match-common.js';
import { hl, ttl } from './match-hop.js';
import type { ExtensionDef, LineReader, OptDef } from './rule.js';
import { hex, parseMarkMask, parseNumber, parsePortList, parsePortRange, parseRange } from './values.js';

function portOpt(key: 'sport' | 'dport'): OptDef {
  return {
    args: 1,
    neg: true,
    run(r, [v], neg, at) {
      const p = parsePortRange(v);
      if (!p.ok) return bad(r, at.col, `--${key}: ${p.error}`);
      if (r.body[key] !== null && taken(r, at.optCol, key)) return;
      r.body[key] = { ranges: [p.value], set: null };
      r.negate(key, neg);
    },
  };
}

/** libxt_tcp's flag names (ALL is the six classic flags). */
const TCP_FLAGS: Readonly<Record<string, number>> = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ALL: 0x3f,
  NONE: 0,
};

function tcpFlagBits(s: string): number | string {
  let bits = 0;
  for (const w of s.split(',')) {
    const u = w.toUpperCase();
    if (!Object.hasOwn(TCP_FLAGS, u)) return `"${w}" is not a TCP flag (${Object.keys(TCP_FLAGS).join(', ')})`;
    bits |= TCP_FLAGS[u];
  }
  return bits;
}

function setTcpFlags(r: LineReader, col: number, mask: number, value: number, neg: boolean): void {
  if (r.body.tcpFlags !== null && taken(r, col, 'TCP flags')) return;
  // The kernel compares (flags & mask) with the value as given: flags outside the mask never match.
  r.body.tcpFlags = { mask, value, text: `${flagNames(value) || '0x0'} / ${flagNames(mask) || '0x0'}` };
  r.negate('tcpFlags', neg);
}

const tcp: ExtensionDef = {
  proto: ['tcp'],
  opts: {
    sport: portOpt('sport'),
    'source-port': portOpt('sport'),
    dport: portOpt('dport'),
    'destination-port': portOpt('dport'),
    'tcp-flags': {
      args: 2,
      neg: true,
      run(r, [m, c], neg, at) {
        const mask = tcpFlagBits(m);
        if (typeof mask === 'string') return bad(r, at.col, `--tcp-flags: ${mask}`);
        const value = tcpFlagBits(c);
        if (typeof value === 'string') return bad(r, at.col, `--tcp-flags: ${value}`);
        setTcpFlags(r, at.col, mask, value, neg);
      },
    },
    syn: {
      args: 0,
      neg: true,
      run(r, _a, neg, at) {
        // libxt_tcp: --syn is --tcp-flags FIN,SYN,RST,ACK SYN.
        setTcpFlags(r, at.col, 0x17, 0x02, neg);
      },
    },
    'tcp-option': {
      args: 1,
      neg: true,
      run(r, _a, _n, at) {
        r.unsupported(at.optCol, '--tcp-option', 'TCP options are not modelled', 'match');
      },
    },
  },
};

const udp: ExtensionDef = {
  proto: ['udp'],
  opts: {
    sport: portOpt('sport'),
    'source-port': portOpt('sport'),
    dport: portOpt('dport'),
    'destination-port': portOpt('dport'),
  },
};

function icmpOpt(v6: boolean): OptDef {
  return {
    args: 1,
    neg: true,
    run(r, [v], neg, at) {
      const names = v6 ? ICMPV6_NAMES : ICMP_NAMES;
      let type: number;
      let codes: number[] | null = null;
      // libxt_icmp: a name or any unique prefix of one, case ignored.
      const lower = v.toLowerCase();
      let named = names.get(lower);
      if (named === undefined && /^[a-z-]+$/.test(lower)) {
        const found = [...names.keys()].filter((k) => k.startsWith(lower));
        if (found.length > 1)
          return bad(r, at.col, `--icmp${v6 ? 'v6' : ''}-type ${v} is ambiguous (${found.join(', ')})`);
        if (found.length === 1) named = names.get(found[0]);
      }
      if (named !== undefined) {
        type = named.type;
        if (named.codeMin === named.codeMax) codes = [named.codeMin];
      } else {
        const m = /^([0-9]+)(?:\/([0-9]+))?$/.exec(v);
        if (m === null)
          return bad(
            r,
            at.col,
            `--icmp${v6 ? 'v6' : ''}-type: "${v}" is not an ICMP${v6 ? 'v6' : ''} type name, number or type/code`,
          );
        type = Number(m[1]);
        if (type > 255 || (m[2] !== undefined && Number(m[2]) > 255))
          return bad(r, at.col, `--icmp${v6 ? 'v6' : ''}-type: ${v}: type and code are 0-255`);
        if (m[2] !== undefined) codes = [Number(m[2])];
      }
      if (type === 0xff && !v6) {
        // "any" (type 255): every ICMP packet, which -p icmp says already; negated, none.
        if (neg) r.unsupported(at.col, '! --icmp-type any', 'it matches no packet', 'match');
        return;
      }
      if (r.body.icmp !== null && taken(r, at.optCol, 'ICMP type')) return;
      r.body.icmp = { types: [type], codes };
      r.negate('icmp', neg);
    },
  };
}

const icmp: ExtensionDef = { proto: ['icmp'], family: 4, opts: { 'icmp-type': icmpOpt(false) } };
const icmp6: ExtensionDef = { proto: ['icmpv6'], family: 6, opts: { 'icmpv6-type': icmpOpt(true) } };

function multiportOpt(which: 'sport' | 'dport' | 'both'): OptDef {
  return {
    args: 1,
    neg: true,
    run(r, [v], neg, at, inst) {
      if (inst.given.size > 1) return bad(r, at.col, 'multiport takes one of --sports, --dports, --ports');
      const p = parsePortList(v);
      if (!p.ok) return bad(r, at.col, `multiport: ${p.error}`);
      const ports = p.value;
      for (const k of which === 'both' ? (['sport', 'dport'] as const) : [which])
        if (r.body[k] !== null && taken(r, at.optCol, k)) return;
      if (which !== 'both') {
        r.body[which] = ports;
        r.negate(which, neg);
      } else if (neg) {
        // !(sport in P or dport in P): neither is.
        r.body.sport = ports;
        r.body.dport = ports;
        r.negate('sport', true);
        r.negate('dport', true);
      }
      // sport in P or dport in P, as two rules that never both match (a LOG or jump runs once).
      else
        r.addAxis([
          (b) => {
            b.dport = ports;
          },
          (b) => {
            b.sport = ports;
            b.dport = ports;
            b.not.push('dport');
          },
        ]);
    },
  };
}

const multiport: ExtensionDef = {
  proto: ['tcp', 'udp'],
  opts: {
    sports: multiportOpt('sport'),
    'source-ports': multiportOpt('sport'),
    dports: multiportOpt('dport'),
    'destination-ports': multiportOpt('dport'),
    ports: multiportOpt('both'),
  },
};

function rangeOpt(key: 'src' | 'dst'): OptDef {
  return {
    args: 1,
    neg: true,
    run(r, [v], neg, at) {
      const p = parseRange(v, r.cx.family);
      if (!p.ok) return bad(r, at.col, `--${key}-range: ${p.error}`);
      if (
        (r.body[key] !== null || r.hasGeneric(key === 'src' ? 's' : 'd')) &&
        taken(r, at.optCol, `${key === 'src' ? 'source' : 'destination'} address`)
      )
        return;
      r.body[key] = { cidrs: [], ranges: [p.value], set: null };
      r.negate(key, neg);
    },
  };
}

const iprange: ExtensionDef = { opts: { 'src-range': rangeOpt('src'), 'dst-range': rangeOpt('dst') } };

const comment: ExtensionDef = {
  opts: {
    comment: {
      args: 1,
      run(r, [v]) {
        r.body.comment = r.body.comment === null ? v : `${r.body.comment}; ${v}`;
      },
    },
  },
};

const LIMIT_UNITS = [
  ['second', 1],
  ['minute', 60],
  ['hour', 3600],
  ['day', 86400],
] as const;

/** xt_limit as iptables-nft loads it: nft's `limit rate N/unit burst B packets` (default 3/hour, burst 5). */
const limit: ExtensionDef = {
  opts: {
    limit: {
      args: 1,
      run(r, [v], _n, at, inst) {
        const m = /^([0-9]+)(?:\/([a-zA-Z]+))?$/.exec(v);
        // parse_rate: the unit is any prefix of second, minute, hour or day; none means per second.
        const unit =
          m === null
            ? undefined
            : m[2] === undefined
              ? LIMIT_UNITS[0]
              : LIMIT_UNITS.find(([u]) => u.startsWith(m[2].toLowerCase()));
        if (m === null || unit === undefined || Number(m[1]) === 0)
          return bad(r, at.col, `--limit: "${v}" is not a rate (N/second, N/minute, N/hour or N/day, N at least 1)`);
        inst.state.rate = Number(m[1]);
        inst.state.unit = unit[0];
      },
    },
    'limit-burst': {
      args: 1,
      run(r, [v], _n, at, inst) {
        const n = parseNumber(v, 10000);
        if (!n.ok || n.value < 1) return bad(r, at.col, `--limit-burst: ${n.ok ? 'at least 1' : n.error} (1-10000)`);
        inst.state.burst = n.value;
      },
    },
  },
  done(r, inst) {
    if (r.body.limit !== null && taken(r, inst.at.col, 'limit')) return;
    const rate = (inst.state.rate as number | undefined) ?? 3;
    const unit = (inst.state.unit as 'second' | 'minute' | 'hour' | 'day' | undefined) ?? 'hour';
    const burst = (inst.state.burst as number | undefined) ?? 5;
    r.body.limit = { rate, unit, burst, over: false, text: `${rate}/${unit} burst ${burst} packets` };
  },
};

const PKT_TYPES: Readonly<Record<string, PktType>> = {
  unicast: 'host',
  host: 'host',
  broadcast: 'broadcast',
  multicast: 'multicast',
  otherhost: 'other',
};

const pkttype: ExtensionDef = {
  opts: {
    'pkt-type': {
      args: 1,
      neg: true,
      run(r, [v], neg, at) {
        const t = PKT_TYPES[v.toLowerCase()];
        if (t === undefined) {
          if (['outgoing', 'loopback', 'fastroute'].includes(v.toLowerCase()))
            return r.unsupported(
              at.col,
              `--pkt-type ${v}`,
              'the model tells host, broadcast, multicast and otherhost apart',
              'match',
            );
          return bad(r, at.col, `"${v}" is not a packet type (unicast, broadcast, multicast, host, otherhost)`);
        }
        r.body.pktType = [t];
        r.negate('pktType', neg);
      },
    },
  },
};

const mark: ExtensionDef = {
  opts: {
    mark: {
      args: 1,
      neg: true,
      run(r, [v], neg, at) {
        const m = parseMarkMask(v);
        if (!m.ok) return bad(r, at.col, `--mark: ${m.error}`);
        if (r.body.mark != null && taken(r, at.optCol, 'mark')) return;
        const { value, mask } = m.value;
        const text = mask === 0xffffffff ? `meta mark ${hex(value)}` : `meta mark & ${hex(mask)} == ${hex(value)}`;
        r.body.mark = { value, mask, text };
        r.negate('mark', neg);
      },
    },
  },
};

export const MATCHES: Readonly<Record<string, ExtensionDef>> = {
  tcp,
  udp,
  icmp,
  icmp6,
  multiport,
  conntrack,
  state,
  iprange,
  addrtype,
  rpfilter,
  comment,
  limit,
  pkttype,
  mark,
  ttl,
  hl,
  nfacct,
  recent,
  policy,
};
