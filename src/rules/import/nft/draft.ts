/**
 * A model rule while it is being built from one nft rule: the conditions
 * gathered so far (as FwRule's), and how one more condition joins them.
 * A rule that expands (verdict maps, NAT maps, concatenated sets, sets of
 * protocols) is a list of drafts, one per element; a condition that no
 * packet of a draft can meet (tcp after udp) drops that draft, as nft's
 * own rule would never match it.
 */
import type {
  AddrMatch,
  CtStateWord,
  CtStatusWord,
  FibMatch,
  FwAction,
  HopLimitMatch,
  LimitMatch,
  LogStatement,
  MarkMatch,
  MarkSet,
  NatStatement,
  NegatableCondition,
  PktType,
  PortMatch,
  TcpFlagsMatch,
} from '../../firewall.js';
import type { ProtoName } from '../../types.js';

export interface Draft {
  proto: ProtoName | null;
  family: 4 | 6 | null;
  iif: string[] | null;
  oif: string[] | null;
  src: AddrMatch | null;
  dst: AddrMatch | null;
  sport: PortMatch | null;
  dport: PortMatch | null;
  icmpTypes: number[] | null;
  icmpCodes: number[] | null;
  tcpFlags: TcpFlagsMatch | null;
  ctState: CtStateWord[] | null;
  ctStatus: CtStatusWord[] | null;
  pktType: PktType[] | null;
  limit: LimitMatch | null;
  mark: MarkMatch | null;
  hopLimit: HopLimitMatch | null;
  fib: FibMatch[];
  not: NegatableCondition[];
  counter: boolean;
  log: LogStatement | null;
  nat: NatStatement | null;
  action: FwAction;
  rejectWith: string | null;
  target: string | null;
  markSet: MarkSet | null;
  notrack: boolean;
  ignored: string[];
  /** Set by --lenient for a match fwemu cannot model. */
  inert: string | null;
  /** The verdict is given: later statements are not reached. */
  done: boolean;
}

export function newDraft(family: 4 | 6 | null): Draft {
  return {
    proto: null,
    family,
    iif: null,
    oif: null,
    src: null,
    dst: null,
    sport: null,
    dport: null,
    icmpTypes: null,
    icmpCodes: null,
    tcpFlags: null,
    ctState: null,
    ctStatus: null,
    pktType: null,
    limit: null,
    mark: null,
    hopLimit: null,
    fib: [],
    not: [],
    counter: false,
    log: null,
    nat: null,
    action: 'continue',
    rejectWith: null,
    target: null,
    markSet: null,
    notrack: false,
    ignored: [],
    inert: null,
    done: false,
  };
}

/** A copy whose arrays can be replaced without touching the original (arrays are never changed in place). */
export function cloneDraft(d: Draft): Draft {
  return { ...d };
}

/** One condition a match puts on a draft. */
export type Assign =
  | { f: 'iif' | 'oif'; v: string[]; neg: boolean }
  | { f: 'src' | 'dst'; v: AddrMatch; version: 4 | 6; neg: boolean }
  | { f: 'sport' | 'dport'; v: PortMatch; proto: 'tcp' | 'udp'; neg: boolean }
  | { f: 'proto'; v: ProtoName; family: 4 | 6 | null; neg: boolean }
  | { f: 'family'; v: 4 | 6 }
  | { f: 'icmpTypes' | 'icmpCodes'; v: number[]; proto: 'icmp' | 'icmpv6'; neg: boolean }
  | { f: 'tcpFlags'; v: TcpFlagsMatch; neg: boolean }
  | { f: 'ctState'; v: CtStateWord[]; neg: boolean }
  | { f: 'ctStatus'; v: CtStatusWord[]; neg: boolean }
  | { f: 'pktType'; v: PktType[]; neg: boolean }
  | { f: 'mark'; v: MarkMatch; neg: boolean }
  | { f: 'fib'; v: FibMatch }
  | { f: 'hopLimit'; v: HopLimitMatch; family: 4 | 6 };

/** Why a condition cannot join a draft in the model (two conditions on one field that do not merge). */
export class Unmodelled {
  constructor(readonly why: string) {}
}

const NEG_NAME: Readonly<Record<string, NegatableCondition>> = {
  iif: 'iif',
  oif: 'oif',
  src: 'src',
  dst: 'dst',
  sport: 'sport',
  dport: 'dport',
  proto: 'proto',
  icmpTypes: 'icmp',
  icmpCodes: 'icmp',
  tcpFlags: 'tcpFlags',
  ctState: 'ctState',
  ctStatus: 'ctStatus',
  pktType: 'pktType',
  mark: 'mark',
};

const FIELD_TEXT: Readonly<Record<string, string>> = {
  iif: 'the input interface',
  oif: 'the output interface',
  src: 'the source address',
  dst: 'the destination address',
  sport: 'the source port',
  dport: 'the destination port',
  icmpTypes: 'the ICMP type',
  icmpCodes: 'the ICMP code',
  ctState: 'ct state',
  ctStatus: 'ct status',
  pktType: 'pkttype',
};

function requireFamily(d: Draft, v: 4 | 6): Draft | null {
  if (d.family === null) return { ...d, family: v };
  return d.family === v ? d : null;
}

function requireProto(d: Draft, p: ProtoName): Draft | null {
  if (d.proto === null) return { ...d, proto: p };
  if (d.not.includes('proto')) {
    // `meta l4proto != udp` then `tcp dport`: tcp meets both
    if (d.proto === p) return null;
    return { ...d, proto: p, not: d.not.filter((x) => x !== 'proto') };
  }
  return d.proto === p ? d : null;
}

function isNeg(d: Draft, f: string): boolean {
  return d.not.includes(NEG_NAME[f]);
}

function withNeg(d: Draft, f: string, neg: boolean): Draft {
  return neg ? { ...d, not: d.not.includes(NEG_NAME[f]) ? d.not : [...d.not, NEG_NAME[f]] } : d;
}

function union<T>(a: readonly T[], b: readonly T[]): T[] {
  const out = [...a];
  for (const x of b) if (!out.includes(x)) out.push(x);
  return out;
}

/**
 * The draft with condition `a` added; null when no packet can meet both
 * (the draft is dropped). Throws Unmodelled when the model cannot hold the
 * two conditions together.
 */
export function applyAssign(d0: Draft, a: Assign): Draft | null {
  let d: Draft | null = d0;
  switch (a.f) {
    case 'family':
      return requireFamily(d, a.v);
    case 'fib':
      return { ...d, fib: [...d.fib, a.v] };
    case 'hopLimit':
      return hopAssign(d, a.v, a.family);
    case 'proto': {
      if (a.family !== null) d = requireFamily(d, a.family);
      if (d === null) return null;
      if (!a.neg) return requireProto(d, a.v);
      if (d.proto === null) return { ...d, proto: a.v, not: [...d.not, 'proto'] };
      if (isNeg(d, 'proto')) {
        if (d.proto === a.v) return d;
        throw new Unmodelled('two negated protocol conditions in one rule');
      }
      return d.proto === a.v ? null : d;
    }
    case 'src':
    case 'dst':
      d = requireFamily(d, a.version);
      break;
    case 'sport':
    case 'dport':
      d = requireProto(d, a.proto);
      break;
    case 'icmpTypes':
    case 'icmpCodes':
      d = requireProto(d, a.proto);
      if (d !== null) d = requireFamily(d, a.proto === 'icmp' ? 4 : 6);
      break;
    case 'tcpFlags':
      d = requireProto(d, 'tcp');
      break;
    default:
  }
  if (d === null) return null;
  const f = a.f;
  const cur = d[f];
  if (cur === null) return withNeg({ ...d, [f]: a.v }, f, a.neg);
  if (f === 'tcpFlags' || f === 'mark') {
    const c = cur as TcpFlagsMatch | MarkMatch;
    const v = a.v as TcpFlagsMatch | MarkMatch;
    if (a.neg || isNeg(d, f))
      throw new Unmodelled(`two ${f === 'mark' ? 'mark' : 'tcp flags'} conditions in one rule, one negated`);
    const common = c.mask & v.mask;
    if ((c.value & common) !== (v.value & common)) return null;
    const mask = (c.mask | v.mask) >>> 0;
    const value = (c.value | v.value) >>> 0;
    return { ...d, [f]: { ...c, mask, value, text: `${c.text} ${v.text}` } };
  }
  const bothNeg = a.neg && isNeg(d, f);
  if (!bothNeg) {
    if (f === 'icmpCodes' || f === 'icmpTypes') {
      if (!a.neg && !isNeg(d, f)) {
        const both = (cur as number[]).filter((x) => (a.v as number[]).includes(x));
        return both.length === 0 ? null : { ...d, [f]: both };
      }
    }
    throw new Unmodelled(
      `two conditions on ${FIELD_TEXT[f] ?? f} in one rule${a.neg || isNeg(d, f) ? ', one negated' : ''}`,
    );
  }
  // both negated: neither of them, i.e. not in their union
  if (f === 'src' || f === 'dst') {
    const x = cur as AddrMatch;
    const y = a.v as AddrMatch;
    return { ...d, [f]: { cidrs: [...x.cidrs, ...y.cidrs], ranges: [...x.ranges, ...y.ranges], set: null } };
  }
  if (f === 'sport' || f === 'dport') {
    const x = cur as PortMatch;
    const y = a.v as PortMatch;
    return { ...d, [f]: { ranges: [...x.ranges, ...y.ranges], set: null } };
  }
  return { ...d, [f]: union(cur as unknown[], a.v as unknown[]) };
}

/** A TTL / hop-limit condition joining a draft: both required is the ranges' common part. */
function hopAssign(d0: Draft, h: HopLimitMatch, family: 4 | 6): Draft | null {
  const d = requireFamily(d0, family);
  if (d === null) return null;
  const c = d.hopLimit;
  if (c === null) return { ...d, hopLimit: h };
  if (c.neg || h.neg) throw new Unmodelled('two TTL / hop-limit conditions in one rule, one negated');
  const lo = Math.max(c.lo, h.lo);
  const hi = Math.min(c.hi, h.hi);
  return lo > hi ? null : { ...d, hopLimit: { lo, hi, neg: false, text: `${c.text} ${h.text}` } };
}
