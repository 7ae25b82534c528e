/**
 * The targets (-j NAME) fwemu reads besides the verdicts and user chains:
 * each becomes the model's verdict or statement, with the tables and hooks
 * the kernel takes it on (its xt_NAME.c checkentry, .table and .hooks).
 */
import type { NatStatement } from '../../firewall.js';
import { parseNatTarget, parsePortNat } from '../../fw-values.js';
import { LOG_LEVEL, REJECT_V4, REJECT_V6, type TableName } from './names.js';
import type { ExtensionDef, Instance, LineReader, OptDef } from './rule.js';
import { hex, parseMarkMask, parseNumber } from './values.js';

function bad(r: LineReader, col: number, msg: string): void {
  r.error(col, msg, 'iptables.bad-value');
}

function value(name: string): OptDef {
  return {
    args: 1,
    run(_r, [v], _n, _at, inst) {
      inst.state[name] = v;
    },
  };
}

function flag(name: string): OptDef {
  return {
    args: 0,
    run(_r, _a, _n, _at, inst) {
      inst.state[name] = true;
    },
  };
}

function needTable(r: LineReader, inst: Instance, table: TableName): boolean {
  if (r.cx.table === table) return true;
  r.error(
    inst.at.col,
    `-j ${inst.name} is valid in the ${table} table only (the kernel refuses it in ${r.cx.table})`,
    'iptables.wrong-table',
  );
  return false;
}

const REJECT: ExtensionDef = {
  opts: { 'reject-with': value('with') },
  done(r, inst) {
    const v6 = r.cx.family === 6;
    const w = (inst.state.with as string | undefined) ?? (v6 ? 'icmp6-port-unreachable' : 'icmp-port-unreachable');
    const table = v6 ? REJECT_V6 : REJECT_V4;
    const lower = w.toLowerCase();
    // libipt_REJECT: the first type whose name or alias starts with the word (measured: icmp-host is host-unreachable).
    const key = table.has(lower) ? lower : [...table.keys()].find((k) => lower !== '' && k.startsWith(lower));
    const words = key === undefined ? undefined : table.get(key);
    if (words === undefined) {
      const other = (v6 ? REJECT_V4 : REJECT_V6).has(w.toLowerCase())
        ? ` (an ${v6 ? 'iptables' : 'ip6tables'} type)`
        : '';
      return bad(
        r,
        inst.at.col,
        `--reject-with ${w} is not a reject type${other}; ${[...table.keys()].filter((k) => k.startsWith(v6 ? 'icmp6' : 'icmp') || k === 'tcp-reset').join(', ')}`,
      );
    }
    if (words === 'tcp reset' && (r.body.proto !== 'tcp' || r.protoNeg))
      return r.error(
        inst.at.col,
        '--reject-with tcp-reset needs -p tcp (the kernel refuses it otherwise)',
        'iptables.needs-protocol',
      );
    r.body.action = 'reject';
    r.body.rejectWith = words;
    r.draft.hookNeeds.push({ what: '-j REJECT', hooks: ['input', 'forward', 'output'], col: inst.at.col });
  },
};

function logTarget(prefixKey: string, extra: string[]): ExtensionDef {
  const opts: Record<string, OptDef> = { [prefixKey]: value('prefix') };
  for (const e of extra)
    opts[e] = e.endsWith('-level') || /group|range|size|threshold|cprange|nlgroup/.test(e) ? value(e) : flag(e);
  return {
    opts,
    done(r, inst) {
      let level: string | null = null;
      const lv = inst.state['log-level'] as string | undefined;
      if (lv !== undefined) {
        const l = LOG_LEVEL.get(lv.toLowerCase());
        if (l === undefined)
          return bad(
            r,
            inst.at.col,
            `--log-level ${lv} is not a level (0-7 or emerg, alert, crit, error, warning, notice, info, debug)`,
          );
        level = l;
      }
      const prefix = (inst.state.prefix as string | undefined) ?? null;
      if (prefix !== null && prefix.length > 127) return bad(r, inst.at.col, 'a log prefix is at most 127 characters');
      // Logging never changes the verdict: the packet goes on to the next rule.
      r.body.log = { prefix, level };
      r.body.action = 'continue';
    },
  };
}

const LOG = logTarget('log-prefix', [
  'log-level',
  'log-tcp-sequence',
  'log-tcp-options',
  'log-ip-options',
  'log-uid',
  'log-macdecode',
]);
const NFLOG = logTarget('nflog-prefix', ['nflog-group', 'nflog-range', 'nflog-size', 'nflog-threshold']);
const ULOG = logTarget('ulog-prefix', ['ulog-nlgroup', 'ulog-cprange', 'ulog-qthreshold']);

/**
 * MARK: every form is xt_MARK's mark = (mark & ~mask) ^ value (libxt_MARK
 * turns --set-mark v/m into value v, mask v|m; --and-mark m into 0, ~m;
 * --or-mark v into v, v; --xor-mark v into v, 0), the model's
 * mark = (mark & and) ^ xor.
 */
const MARK: ExtensionDef = {
  opts: {
    'set-xmark': value('set-xmark'),
    'set-mark': value('set-mark'),
    'and-mark': value('and-mark'),
    'or-mark': value('or-mark'),
    'xor-mark': value('xor-mark'),
  },
  done(r, inst) {
    const given = [...inst.given];
    if (given.length !== 1)
      return bad(
        r,
        inst.at.col,
        `-j MARK takes one of --set-xmark, --set-mark, --and-mark, --or-mark, --xor-mark${given.length === 0 ? '' : ', not several'}`,
      );
    const opt = given[0];
    const text = inst.state[opt] as string;
    let v: number;
    let m: number;
    if (opt === 'set-xmark' || opt === 'set-mark') {
      const p = parseMarkMask(text);
      if (!p.ok) return bad(r, inst.at.col, `--${opt}: ${p.error}`);
      v = p.value.value;
      m = opt === 'set-mark' && p.value.masked ? (p.value.value | p.value.mask) >>> 0 : p.value.mask;
    } else {
      const p = parseNumber(text, 0xffffffff);
      if (!p.ok) return bad(r, inst.at.col, `--${opt}: ${p.error}`);
      [v, m] = opt === 'and-mark' ? [0, ~p.value >>> 0] : opt === 'or-mark' ? [p.value, p.value] : [p.value, 0];
    }
    const and = ~m >>> 0;
    r.body.markSet = { and, xor: v, text: `meta mark set mark and ${hex(and)} xor ${hex(v)}` };
    r.body.action = 'continue';
  },
};

const CT: ExtensionDef = {
  opts: {
    notrack: flag('notrack'),
    helper: value('helper'),
    ctevents: value('ctevents'),
    expevents: value('expevents'),
    zone: value('zone'),
    'zone-orig': value('zone-orig'),
    'zone-reply': value('zone-reply'),
    timeout: value('timeout'),
  },
  done(r, inst) {
    if (!needTable(r, inst, 'raw')) return;
    for (const z of ['zone', 'zone-orig', 'zone-reply', 'timeout'])
      if (inst.given.has(z))
        return r.unsupported(
          inst.at.col,
          `-j CT --${z}`,
          z === 'timeout' ? 'conntrack timeout policies are not modelled' : 'conntrack zones are not modelled',
          'target',
        );
    r.body.action = 'continue';
    if (inst.state.notrack === true) {
      r.body.notrack = true;
      return;
    }
    const parts: string[] = [];
    if (inst.given.has('helper')) parts.push(`--helper ${inst.state.helper as string}`);
    if (inst.given.has('ctevents')) parts.push(`--ctevents ${inst.state.ctevents as string}`);
    if (inst.given.has('expevents')) parts.push(`--expevents ${inst.state.expevents as string}`);
    const text = `-j CT ${parts.join(' ')}`.trim();
    r.body.ignored = [...(r.body.ignored ?? []), text];
    r.cx.ignored.push({
      pos: { file: r.cx.file, line: r.cx.line, col: inst.at.col },
      text,
      meaning: inst.given.has('helper')
        ? 'assigns a conntrack helper; fwemu does not model helpers, so connections they would expect are not RELATED'
        : 'sets which conntrack events are reported; the verdict is unchanged',
    });
  },
};

const NOTRACK: ExtensionDef = {
  opts: {},
  done(r, inst) {
    if (!needTable(r, inst, 'raw')) return;
    r.body.notrack = true;
    r.body.action = 'continue';
  },
};

function natFlags(inst: Instance): string[] {
  const f: string[] = [];
  if (inst.state.random === true) f.push('random');
  if (inst.state['random-fully'] === true) f.push('fully-random');
  if (inst.state.persistent === true) f.push('persistent');
  return f;
}

function setNat(
  r: LineReader,
  inst: Instance,
  nat: NatStatement,
  hooks: ('prerouting' | 'input' | 'output' | 'postrouting')[],
): void {
  if (
    nat.ports !== null &&
    (r.body.proto === 'any' || r.body.proto === 'icmp' || r.body.proto === 'icmpv6' || r.protoNeg)
  ) {
    r.error(
      inst.at.col,
      `-j ${inst.name} with ports needs -p tcp or -p udp (iptables: "Need TCP, UDP, SCTP or DCCP with port specification")`,
      'iptables.needs-protocol',
    );
    return;
  }
  r.body.nat = nat;
  r.body.action = 'accept';
  r.draft.hookNeeds.push({ what: `-j ${inst.name}`, hooks, col: inst.at.col });
}

function addrNat(
  kind: 'snat' | 'dnat',
  opt: string,
  hooks: ('prerouting' | 'input' | 'output' | 'postrouting')[],
): ExtensionDef {
  return {
    opts: {
      [opt]: value('to'),
      random: flag('random'),
      'random-fully': flag('random-fully'),
      persistent: flag('persistent'),
    },
    done(r, inst) {
      if (!needTable(r, inst, 'nat')) return;
      const to = inst.state.to as string | undefined;
      if (to === undefined) return bad(r, inst.at.col, `-j ${inst.name} needs --${opt}`);
      if (to.startsWith(':'))
        return r.unsupported(
          inst.at.col,
          `--${opt} ${to}`,
          'a translation of the port alone is not modelled',
          'target',
        );
      const p = parseNatTarget(kind, to, natFlags(inst));
      if (!p.ok) return bad(r, inst.at.col, `--${opt} ${to}: ${p.error}`);
      if (p.value.addr?.version !== r.cx.family)
        return r.error(
          inst.at.col,
          `--${opt} ${to} is IPv${p.value.addr?.version} in an IPv${r.cx.family} dump`,
          'iptables.wrong-family',
        );
      setNat(r, inst, p.value, hooks);
    },
  };
}

function portNat(
  kind: 'masquerade' | 'redirect',
  hooks: ('prerouting' | 'input' | 'output' | 'postrouting')[],
): ExtensionDef {
  return {
    opts: { 'to-ports': value('ports'), random: flag('random'), 'random-fully': flag('random-fully') },
    done(r, inst) {
      if (!needTable(r, inst, 'nat')) return;
      const p = parsePortNat(kind, (inst.state.ports as string | undefined) ?? null, natFlags(inst));
      if (!p.ok) return bad(r, inst.at.col, `--to-ports: ${p.error}`);
      setNat(r, inst, p.value, hooks);
    },
  };
}

export const TARGETS: Readonly<Record<string, ExtensionDef>> = {
  REJECT,
  LOG,
  NFLOG,
  ULOG,
  MARK,
  CT,
  NOTRACK,
  SNAT: addrNat('snat', 'to-source', ['postrouting', 'input']),
  DNAT: addrNat('dnat', 'to-destination', ['prerouting', 'output']),
  MASQUERADE: portNat('masquerade', ['postrouting']),
  REDIRECT: portNat('redirect', ['prerouting', 'output']),
};
