/**
 * addrtype and rpfilter: route lookups (xt_addrtype.c, xt_rpfilter.c),
 * the model's fib conditions, as iptables-nft lists them (`fib daddr
 * type local`, `fib saddr . iif oif 0`).
 */
import type { FibAddrType, FibMatch } from '../../firewall.js';
import { bad, flag } from './match-common.js';
import type { ExtensionDef, OptDef } from './rule.js';

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

export const addrtype: ExtensionDef = {
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

/**
 * rpfilter: the packet passes when the route back to its source leaves by
 * the interface it came in by (--loose: by any interface); --invert
 * matches when it does not. nft's `fib saddr . iif oif missing`.
 */
export const rpfilter: ExtensionDef = {
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
