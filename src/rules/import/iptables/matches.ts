/**
 * The matches (-m NAME) fwemu reads, each option turned into a model
 * condition as the kernel's xt_NAME.c judges it (and as iptables-nft
 * translates it: `nft list ruleset` after iptables-restore shows the same
 * conditions, see test/rules/import/iptables-kernel.test.ts).
 */
import type { CtStateWord, CtStatusWord, FibAddrType, FibMatch, PktType } from '../../firewall.js';
import { flagNames } from '../../fw-values.js';
import { ICMP_NAMES, ICMPV6_NAMES } from './names.js';
import type { ExtensionDef, Instance, LineReader, OptDef } from './rule.js';
import { hex, parseMarkMask, parseNumber, parsePortList, parsePortRange, parseRange } from './values.js';

function bad(r: LineReader, col: number, msg: string): void {
  r.error(col, msg, 'iptables.bad-value');
}

/** A condition the model holds once per rule, given a second time (by two matches). */
function taken(r: LineReader, col: number, what: string): boolean {
  r.unsupported(col, `a second ${what} condition in one rule`, 'the model holds one per rule', 'match');
  return true;
}

function portOpt(key: 'sport' | 'dport'): OptDef {
  return {
    args: 1,
    neg: true,
    run(r, [v], neg, at) {
      const p = parsePortRange(v);
      if (!p.ok) return bad(r, at.col, `--${key}: ${p.error}`);
      if (r.body[key] !== null && taken(r, at.col, key)) return;
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
        r.unsupported(at.col, '--tcp-option', 'TCP options are not modelled', 'match');
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
      const named = names.get(v.toLowerCase());
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
      if (r.body.icmp !== null && taken(r, at.col, 'ICMP type')) return;
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
        if (r.body[k] !== null && taken(r, at.col, k)) return;
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

const CT_STATES: Readonly<Record<string, CtStateWord | 'snat' | 'dnat'>> = {
  INVALID: 'invalid',
  ESTABLISHED: 'established',
  NEW: 'new',
  RELATED: 'related',
  UNTRACKED: 'untracked',
  SNAT: 'snat',
  DNAT: 'dnat',
};

interface StateArg {
  states: CtStateWord[];
  nat: CtStatusWord[];
  neg: boolean;
  col: number;
}

function stateOpt(allowNat: boolean): OptDef {
  return {
    args: 1,
    neg: true,
    run(r, [v], neg, at, inst) {
      const states: CtStateWord[] = [];
      const nat: CtStatusWord[] = [];
      for (const w of v.split(',')) {
        const s = CT_STATES[w.toUpperCase()];
        if (s === undefined || (!allowNat && (s === 'snat' || s === 'dnat')))
          return bad(
            r,
            at.col,
            `"${w}" is not a connection state (INVALID, ESTABLISHED, NEW, RELATED, UNTRACKED${allowNat ? ', SNAT, DNAT' : ''})`,
          );
        if (s === 'snat' || s === 'dnat') nat.push(s);
        else states.push(s);
      }
      inst.state.state = { states, nat, neg, col: at.col } satisfies StateArg;
    },
  };
}

const CT_STATUSES: Readonly<Record<string, CtStatusWord>> = {
  EXPECTED: 'expected',
  SEEN_REPLY: 'seen-reply',
  ASSURED: 'assured',
  CONFIRMED: 'confirmed',
};

/**
 * --ctstate with SNAT or DNAT: xt_conntrack adds the NAT status bits to the
 * state bits, so `--ctstate NEW,DNAT` is "state new, or status dnat" and
 * `! --ctstate NEW,DNAT` is "neither".
 */
function ctDone(r: LineReader, inst: Instance): void {
  const st = inst.state.state as StateArg | undefined;
  const status = inst.state.status as { words: CtStatusWord[]; neg: boolean; col: number } | undefined;
  const b = r.body;
  if ((st !== undefined && b.ctState !== null) || (status !== undefined && b.ctStatus !== null)) {
    taken(r, inst.at.col, 'connection state');
    return;
  }
  if (status !== undefined) {
    b.ctStatus = status.words;
    r.negate('ctStatus', status.neg);
  }
  if (st === undefined) return;
  if (st.nat.length > 0 && status !== undefined) {
    r.unsupported(
      st.col,
      '--ctstate SNAT or DNAT with --ctstatus',
      'both read the status bits; the model holds one status condition',
      'match',
    );
    return;
  }
  const { states, nat, neg } = st;
  if (nat.length === 0) {
    b.ctState = states;
    r.negate('ctState', neg);
  } else if (states.length === 0) {
    b.ctStatus = nat;
    r.negate('ctStatus', neg);
  } else if (neg) {
    b.ctState = states;
    b.ctStatus = nat;
    r.negate('ctState', true);
    r.negate('ctStatus', true);
  } else
    r.addAxis([
      (x) => {
        x.ctState = states;
      },
      (x) => {
        x.ctState = states;
        x.ctStatus = nat;
        x.not.push('ctState');
      },
    ]);
}

function ctUnsupported(name: string): OptDef {
  return {
    args: 1,
    neg: true,
    run(r, _a, _n, at) {
      r.unsupported(
        at.col,
        `-m conntrack --${name}`,
        'the conntrack tuple, direction and expiry are not matched on',
        'match',
      );
    },
  };
}

const conntrack: ExtensionDef = {
  opts: {
    ctstate: stateOpt(true),
    ctstatus: {
      args: 1,
      neg: true,
      run(r, [v], neg, at, inst) {
        const words: CtStatusWord[] = [];
        for (const w of v.split(',')) {
          const s = CT_STATUSES[w.toUpperCase()];
          if (s === undefined) {
            // NONE (no bit) never matches in xt_conntrack: (status & 0) == 0.
            if (w.toUpperCase() === 'NONE')
              return r.unsupported(at.col, '--ctstatus NONE', 'xt_conntrack matches no packet with it', 'match');
            return bad(r, at.col, `"${w}" is not a connection status (EXPECTED, SEEN_REPLY, ASSURED, CONFIRMED)`);
          }
          words.push(s);
        }
        inst.state.status = { words, neg, col: at.col };
      },
    },
    ...Object.fromEntries(
      [
        'ctproto',
        'ctorigsrc',
        'ctorigdst',
        'ctreplsrc',
        'ctrepldst',
        'ctorigsrcport',
        'ctorigdstport',
        'ctreplsrcport',
        'ctrepldstport',
        'ctexpire',
      ].map((n) => [n, ctUnsupported(n)]),
    ),
    ctdir: {
      args: 1,
      run(r, _a, _n, at) {
        r.unsupported(at.col, '-m conntrack --ctdir', 'the packet direction is not matched on', 'match');
      },
    },
  },
  done: ctDone,
};

const state: ExtensionDef = { opts: { state: stateOpt(false) }, done: ctDone };

function rangeOpt(key: 'src' | 'dst'): OptDef {
  return {
    args: 1,
    neg: true,
    run(r, [v], neg, at) {
      const p = parseRange(v, r.cx.family);
      if (!p.ok) return bad(r, at.col, `--${key}-range: ${p.error}`);
      if (
        (r.body[key] !== null || r.hasGeneric(key === 'src' ? 's' : 'd')) &&
        taken(r, at.col, `${key === 'src' ? 'source' : 'destination'} address`)
      )
        return;
      r.body[key] = { cidrs: [], ranges: [p.value], set: null };
      r.negate(key, neg);
    },
  };
}

const iprange: ExtensionDef = { opts: { 'src-range': rangeOpt('src'), 'dst-range': rangeOpt('dst') } };

const ADDR_TYPES: Readonly<Record<string, FibAddrType>> = {
  UNSPEC: 'unspec',
  UNICAST: 'unicast',
  LOCAL: 'local',
  BROADCAST: 'broadcast',
  ANYCAST: 'anycast',
  MULTICAST: 'multicast',
  BLACKHOLE: 'blackhole',
  UNREACHABLE: 'unreachable',
  PROHIBIT: 'prohibit',
};

function typeOpt(key: 'src' | 'dst'): OptDef {
  return {
    args: 1,
    neg: true,
    run(r, [v], neg, at, inst) {
      const types: FibAddrType[] = [];
      for (const w of v.split(',')) {
        const u = w.toUpperCase();
        if (u === 'THROW' || u === 'NAT' || u === 'XRESOLVE')
          return r.unsupported(at.col, `--${key}-type ${w}`, 'fwemu routes know no such route type', 'match');
        const t = ADDR_TYPES[u];
        if (t === undefined)
          return bad(r, at.col, `"${w}" is not an address type (${Object.keys(ADDR_TYPES).join(', ')})`);
        types.push(t);
      }
      inst.state[key] = { types, neg };
    },
  };
}

function fibText(addr: string, dev: string | null, tail: string): string {
  return `fib ${addr}${dev === null ? '' : ` . ${dev}`} ${tail}`;
}

const addrtype: ExtensionDef = {
  opts: {
    'src-type': typeOpt('src'),
    'dst-type': typeOpt('dst'),
    'limit-iface-in': {
      args: 0,
      run(_r, _a, _n, _at, inst) {
        inst.state.dev = 'iif';
      },
    },
    'limit-iface-out': {
      args: 0,
      run(_r, _a, _n, _at, inst) {
        inst.state.dev = 'oif';
      },
    },
  },
  done(r, inst) {
    const dev = (inst.state.dev as 'iif' | 'oif' | undefined) ?? null;
    if (inst.given.has('limit-iface-in') && inst.given.has('limit-iface-out'))
      return bad(r, inst.at.col, 'addrtype takes --limit-iface-in or --limit-iface-out, not both');
    if (dev !== null)
      r.draft.hookNeeds.push({
        what: `-m addrtype --limit-iface-${dev === 'iif' ? 'in' : 'out'}`,
        hooks: dev === 'iif' ? ['prerouting', 'input', 'forward'] : ['output', 'postrouting', 'forward'],
        col: inst.at.col,
      });
    const fib: FibMatch[] = [];
    for (const key of ['src', 'dst'] as const) {
      const t = inst.state[key] as { types: FibAddrType[]; neg: boolean } | undefined;
      if (t === undefined) continue;
      const addr = key === 'src' ? 'saddr' : 'daddr';
      const list = t.types.length === 1 ? t.types[0] : `{ ${t.types.join(', ')} }`;
      fib.push({
        addr,
        dev,
        result: 'type',
        types: t.types,
        neg: t.neg,
        text: fibText(addr, dev, `type ${t.neg ? '!= ' : ''}${list}`),
      });
    }
    if (fib.length === 0) return;
    r.body.fib = [...(r.body.fib ?? []), ...fib];
  },
};

function flag(name: string): OptDef {
  return {
    args: 0,
    run(_r, _a, _n, _at, inst) {
      inst.state[name] = true;
    },
  };
}

/**
 * rpfilter: the packet passes when the route back to its source leaves by
 * the interface it came in by (--loose: by any interface); --invert
 * matches when it does not. nft's `fib saddr . iif oif missing`.
 */
const rpfilter: ExtensionDef = {
  opts: {
    loose: flag('loose'),
    validmark: flag('validmark'),
    'accept-local': flag('accept-local'),
    invert: flag('invert'),
  },
  done(r, inst) {
    if (inst.state['accept-local'])
      return r.unsupported(
        inst.at.col,
        '-m rpfilter --accept-local',
        'local source addresses are not told apart in the route check',
        'match',
      );
    // --validmark puts the packet's mark into the route lookup; fwemu's routes do not depend on marks.
    const dev = inst.state.loose ? null : 'iif';
    const missing = inst.state.invert === true;
    r.draft.hookNeeds.push({ what: '-m rpfilter', hooks: ['prerouting'], col: inst.at.col });
    const m: FibMatch = {
      addr: 'saddr',
      dev,
      result: 'oif-missing',
      types: [],
      neg: !missing,
      text: fibText('saddr', dev, `oif ${missing ? 'missing' : 'exists'}`),
    };
    r.body.fib = [...(r.body.fib ?? []), m];
  },
};

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
        if (r.body.mark != null && taken(r, at.col, 'mark')) return;
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
};
