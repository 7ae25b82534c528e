/**
 * The statements of a rule as model values: NAT targets, mark updates
 * folded into (and, xor), what ignoring a statement means, and the draft
 * made a FwRule. Used by build-rule.ts.
 */
import type { SourcePos } from '../../../base/diag.js';
import { formatAddr } from '../../../packet/addr.js';
import { parseCidr, wordMask } from '../../cidr.js';
import type { FwRule, MarkSet, NatStatement } from '../../firewall.js';
import { parseNatTarget, parsePortNat } from '../../fw-values.js';
import type { Expr, NatStmt, Rule } from './ast.js';
import { markNum, show } from './build-values.js';
import type { Draft } from './draft.js';

export /** What ignoring a statement means, by the statement's kind. */
const IGNORED_MEANING = {
  quota: 'a quota, taken as never used up: the rule goes on as if it were not there',
  'ct helper set':
    'assigns a conntrack helper; fwemu runs none, so connections the helper would expect are judged as new, not related',
  'flow add':
    'offloads the flow to a flowtable, whose later packets skip the forward chain; fwemu judges every packet by the rules (the same verdicts while the rules accept the established flow)',
  last: 'records when the rule last matched; the verdict is unchanged',
  'tcp option maxseg size set': 'clamps the TCP MSS option; the verdict is unchanged',
  'meta nftrace set': 'turns nft tracing on; the verdict is unchanged',
  'ct event set': 'chooses which conntrack events are reported to userspace; the verdict is unchanged',
  'meta priority set': 'sets the queueing class; the verdict is unchanged',
  'dscp set': 'rewrites the DSCP/ECN field, which no modelled condition reads; the verdict is unchanged',
} as const;

export function natTarget(
  s: NatStmt,
  addr: Expr | null,
  port: Expr | null,
  badMatch: (pos: SourcePos, what: string) => void,
  badValue: (pos: SourcePos, message: string) => void,
): NatStatement | null {
  const flags = s.flags.filter((f) => f !== 'netmap');
  if (s.flags.includes('netmap')) {
    badMatch(s.pos, `\`${s.text}\`: netmap (prefix-to-prefix NAT) is not modelled`);
    return null;
  }
  let portText: string | null = null;
  if (port !== null) {
    const p = port.kind === 'symbol' ? port.text : port.kind === 'range' ? `${show(port.lo)}-${show(port.hi)}` : null;
    if (p === null) {
      badMatch(port.pos, `\`${s.text}\`: the port ${show(port)} is not modelled`);
      return null;
    }
    portText = p;
  }
  if (s.type === 'masquerade' || s.type === 'redirect') {
    const r = parsePortNat(s.type, portText, flags);
    if (!r.ok) {
      badValue(s.pos, `\`${s.text}\`: ${r.error}`);
      return null;
    }
    return r.value;
  }
  if (addr === null) {
    badValue(s.pos, `\`${s.text}\`: ${s.type} needs an address`);
    return null;
  }
  let a: string;
  let v6 = false;
  if (addr.kind === 'symbol') {
    a = addr.text;
    v6 = a.includes(':');
  } else if (addr.kind === 'range' && addr.lo.kind === 'symbol' && addr.hi.kind === 'symbol') {
    v6 = addr.lo.text.includes(':');
    a = v6 && portText !== null ? `[${addr.lo.text}]-[${addr.hi.text}]` : `${addr.lo.text}-${addr.hi.text}`;
  } else if (addr.kind === 'prefix' && addr.addr.kind === 'symbol') {
    // without netmap nft takes a prefix as the range of its addresses (nf_nat_range min..max)
    const c = parseCidr(`${addr.addr.text}/${addr.len}`);
    if (!c.ok) {
      badValue(addr.pos, `\`${s.text}\`: ${c.error}`);
      return null;
    }
    v6 = c.cidr.version === 6;
    const hi = c.cidr.words.map((x, i) => (x | ~wordMask(c.cidr.prefix, i)) >>> 0) as [number, number, number, number];
    const f = (w: readonly number[]): string => formatAddr(c.cidr.version, w[0], w[1], w[2], w[3]);
    a = v6 && portText !== null ? `[${f(c.cidr.words)}]-[${f(hi)}]` : `${f(c.cidr.words)}-${f(hi)}`;
  } else {
    badMatch(addr.pos, `\`${s.text}\`: the address ${show(addr)} is not modelled`);
    return null;
  }
  if (v6 && portText !== null && !a.startsWith('[')) a = `[${a}]`;
  const r = parseNatTarget(s.type, portText === null ? a : `${a}:${portText}`, flags);
  if (!r.ok) {
    badValue(addr.pos, `\`${s.text}\`: ${r.error}`);
    return null;
  }
  return r.value;
}

/** What ignoring `KEY set ...` means, for the keys whose setting never changes a verdict; null for others. */
export function ignoredSet(k: Expr): string | null {
  if (k.kind === 'meta' && k.key === 'nftrace') return IGNORED_MEANING['meta nftrace set'];
  if (k.kind === 'meta' && k.key === 'priority') return IGNORED_MEANING['meta priority set'];
  if (k.kind === 'ct' && k.key === 'helper') return IGNORED_MEANING['ct helper set'];
  if (k.kind === 'ct' && k.key === 'event') return IGNORED_MEANING['ct event set'];
  if (k.kind === 'unsupported' && k.name === 'tcp option' && /maxseg size/.test(k.text))
    return IGNORED_MEANING['tcp option maxseg size set'];
  if (
    k.kind === 'payload' &&
    (k.protocol === 'ip' || k.protocol === 'ip6') &&
    (k.field === 'dscp' || k.field === 'ecn')
  )
    return IGNORED_MEANING['dscp set'];
  return null;
}

/** `meta mark set C`, `meta mark set meta mark & M | V`, `... | V`, `... ^ X`: mark = (mark & and) ^ xor. */
export function markSet(v: Expr): Omit<MarkSet, 'text'> | null {
  const isMark = (e: Expr): boolean => e.kind === 'meta' && e.key === 'mark';
  const c = (e: Expr): number | null => {
    const m = markNum(e);
    return m.ok ? m.value : null;
  };
  const k = c(v);
  if (k !== null) return { and: 0, xor: k };
  if (v.kind !== 'binop') return null;
  // the mark with a chain of constant operations folded into one (and, xor) pair
  let inner: Omit<MarkSet, 'text'> | null;
  if (isMark(v.left)) inner = { and: 0xffffffff, xor: 0 };
  else inner = markSet(v.left);
  const r = c(v.right);
  if (inner === null || r === null) return null;
  const { and, xor } = inner;
  switch (v.op) {
    case '&':
      return { and: (and & r) >>> 0, xor: (xor & r) >>> 0 };
    case '|':
      return { and: (and & ~r) >>> 0, xor: (xor | r) >>> 0 };
    case '^':
      return { and, xor: (xor ^ r) >>> 0 };
    default:
      return null;
  }
}

export function toRule(d: Draft, rule: Rule, chain: string, id: string, index: number): FwRule {
  const icmp =
    d.icmpTypes === null && d.icmpCodes === null
      ? null
      : { types: d.icmpTypes ?? Array.from({ length: 256 }, (_, i) => i), codes: d.icmpCodes };
  const r: FwRule = {
    id,
    idGiven: false,
    index,
    chain,
    comment: rule.comment,
    pos: rule.pos,
    proto: d.proto ?? 'any',
    family: d.family,
    iif: d.iif,
    oif: d.oif,
    src: d.src,
    dst: d.dst,
    sport: d.sport,
    dport: d.dport,
    icmp,
    tcpFlags: d.tcpFlags,
    ctState: d.ctState,
    ctStatus: d.ctStatus,
    pktType: d.pktType,
    limit: d.limit,
    counter: d.counter,
    log: d.log,
    nat: d.nat,
    action: d.action,
    rejectWith: d.rejectWith,
    target: d.target,
    origin: { file: rule.pos.file, line: rule.pos.line, col: rule.pos.col, text: rule.text },
  };
  if (d.not.length > 0) r.not = d.not;
  if (d.mark !== null) r.mark = d.mark;
  if (d.hopLimit !== null) r.hopLimit = d.hopLimit;
  if (d.fib.length > 0) r.fib = d.fib;
  if (d.markSet !== null) r.markSet = d.markSet;
  if (d.notrack) r.notrack = true;
  if (d.ignored.length > 0) r.ignored = d.ignored;
  if (d.inert !== null) r.inert = d.inert;
  return r;
}
