/**
 * A match (`LEFT [op] RIGHT`) as conditions of the model: one list of
 * Assigns per alternative. A value the model holds as a list (addresses,
 * ports, interfaces, ct states, ICMP types) is one alternative; a set of
 * values the model holds one at a time (protocols, marks, exact TCP flags,
 * a concatenation's elements) is one alternative per element, and the rule
 * expands into one model rule per alternative (design-18.md).
 */
import type { Diagnostic } from '../../../base/diag.js';
import type { AddrMatch, FibAddrType, FibMatch } from '../../firewall.js';
import { FIB_TYPES } from '../../fw-meta-values.js';
import { flagNames } from '../../fw-values.js';
import type { PortRange } from '../../types.js';
import type { Expr, RelOp, SetDecl } from './ast.js';
import {
  addrAtom,
  atoms,
  bad,
  ctStateAtom,
  ctStatusAtom,
  familyAtom,
  flagBits,
  icmpAtom,
  ifAtom,
  markNum,
  ok,
  pktTypeAtom,
  portAtom,
  protoAtom,
  show,
  type Val,
} from './build-values.js';
import { hopAtom, hopFieldOf } from './build-hop.js';
import type { Assign } from './draft.js';

/** What the match builder needs of its rule's table. */
export interface MatchCtx {
  /** The table's set or map of this name. */
  set(name: string): SetDecl | undefined;
  /** The model's name of a table set that holds addresses or ports (registered on first use), or null. */
  modelSet(decl: SetDecl): string | null;
  /** Sets the ruleset fills at run time (`flags dynamic`, `add @s`, `update @s`). */
  dynamic(name: string): boolean;
  ifnames: Set<string>;
  diags: Diagnostic[];
}

/** Why a match is not in the model: an unsupported construct (reported as such) or a wrong value (an error). */
export type MatchResult =
  | { ok: true; alts: Assign[][] }
  | { ok: false; unsupported: boolean; error: string; pos: Expr['pos'] };

const unsup = (e: Expr, error: string): MatchResult => ({ ok: false, unsupported: true, error, pos: e.pos });
const fromVal = (v: Val<unknown> & { ok: false }): MatchResult => ({
  ok: false,
  unsupported: false,
  error: v.error,
  pos: v.pos,
});

/** The left side's condition kind, or why it is not modelled. */
type Field =
  | { k: 'iif' | 'oif' }
  | { k: 'src' | 'dst'; version: 4 | 6 }
  | { k: 'sport' | 'dport'; proto: 'tcp' | 'udp' | null }
  | { k: 'proto'; family: 4 | 6 | null }
  | { k: 'family' }
  | { k: 'icmpTypes' | 'icmpCodes'; proto: 'icmp' | 'icmpv6' }
  | { k: 'tcpFlags'; mask: number | null }
  | { k: 'ctState' | 'ctStatus' | 'pktType' }
  | { k: 'mark'; mask: number }
  | { k: 'fib'; fib: Omit<FibMatch, 'types' | 'neg' | 'text'> };

function fieldOf(left: Expr): Field | string {
  if (left.kind === 'binop' && left.op === '&') {
    const inner = fieldOf(left.left);
    if (typeof inner === 'string') return inner;
    if (inner.k === 'tcpFlags') {
      const m = flagBits(left.right);
      return m.ok ? { k: 'tcpFlags', mask: m.value } : m.error;
    }
    if (inner.k === 'mark') {
      const m = markNum(left.right);
      return m.ok ? { k: 'mark', mask: m.value } : m.error;
    }
    return `a bit mask on ${show(left.left)}`;
  }
  switch (left.kind) {
    case 'meta':
      switch (left.key) {
        case 'iifname':
        case 'iif':
          return { k: 'iif' };
        case 'oifname':
        case 'oif':
          return { k: 'oif' };
        case 'l4proto':
          return { k: 'proto', family: null };
        case 'nfproto':
        case 'protocol':
          return { k: 'family' };
        case 'pkttype':
          return { k: 'pktType' };
        case 'mark':
          return { k: 'mark', mask: 0xffffffff };
        default:
          return `meta ${left.key}`;
      }
    case 'ct':
      if (left.dir === null && left.key === 'state') return { k: 'ctState' };
      if (left.dir === null && left.key === 'status') return { k: 'ctStatus' };
      return show(left);
    case 'payload': {
      const { protocol: p, field: f } = left;
      if ((p === 'ip' || p === 'ip6') && (f === 'saddr' || f === 'daddr'))
        return { k: f === 'saddr' ? 'src' : 'dst', version: p === 'ip' ? 4 : 6 };
      if (p === 'ip' && f === 'protocol') return { k: 'proto', family: 4 };
      if (p === 'ip6' && f === 'nexthdr') return { k: 'proto', family: 6 };
      if ((p === 'tcp' || p === 'udp' || p === 'th') && (f === 'sport' || f === 'dport'))
        return { k: f, proto: p === 'th' ? null : p };
      if ((p === 'icmp' || p === 'icmpv6') && (f === 'type' || f === 'code'))
        return { k: f === 'type' ? 'icmpTypes' : 'icmpCodes', proto: p };
      if (p === 'tcp' && f === 'flags') return { k: 'tcpFlags', mask: null };
      return `${p} ${f}`;
    }
    case 'fib': {
      const addr = left.flags.filter((x) => x === 'saddr' || x === 'daddr');
      const dev = left.flags.filter((x) => x === 'iif' || x === 'oif');
      if (
        addr.length !== 1 ||
        dev.length > 1 ||
        left.flags.some((x) => !['saddr', 'daddr', 'iif', 'oif', 'mark'].includes(x))
      )
        return show(left);
      if (left.result !== 'type' && left.result !== 'oif' && left.result !== 'oifname') return show(left);
      return {
        k: 'fib',
        fib: {
          addr: addr[0] as 'saddr' | 'daddr',
          dev: (dev[0] ?? null) as 'iif' | 'oif' | null,
          result: left.result === 'type' ? 'type' : 'oif-missing',
        },
      };
    }
    case 'unsupported':
      return left.name;
    default:
      return show(left);
  }
}

/** The elements a value stands for: a named set's keys read from its declaration. */
function expandRef(ctx: MatchCtx, right: Expr): { elems: Expr[]; set: SetDecl | null } | MatchResult {
  if (right.kind !== 'setref') return { elems: atoms(right), set: null };
  const s = ctx.set(right.name);
  if (s === undefined)
    return { ok: false, unsupported: false, error: `@${right.name} is not a set of this table`, pos: right.pos };
  if (ctx.dynamic(right.name))
    return unsup(right, `@${right.name} is filled while packets pass (a dynamic set); fwemu cannot know its elements`);
  if (s.isMap) return { ok: false, unsupported: false, error: `@${right.name} is a map, not a set`, pos: right.pos };
  return { elems: s.elements.flatMap((e) => atoms(e.key)), set: s };
}

/** The alternatives of `left op right` (op 'implicit' for a map's key). */
export function matchAlts(ctx: MatchCtx, left: Expr, op: RelOp, right: Expr): MatchResult {
  const hop = hopFieldOf(left);
  if (hop !== null) return hopAlts(ctx, left, hop, op, right);
  if (op !== 'implicit' && op !== '==' && op !== '!=')
    return unsup(right, `${op} comparisons (${show(left)} ${op} ${show(right)})`);
  const neg = op === '!=';
  // fwemu models no IPsec: no packet it judges has a secpath, so `meta ipsec missing` holds for every
  // one (as `--pol none` does in the iptables reader); foomuuri's rpfilter chain is written with it
  if (left.kind === 'meta' && left.key === 'ipsec' && right.kind === 'symbol' && (right.text === 'missing') !== neg)
    if (right.text === 'missing' || right.text === 'exists') return { ok: true, alts: [[]] };
  if (left.kind === 'concat') return concatAlts(ctx, left, neg, right);
  const field = fieldOf(left);
  if (typeof field === 'string') return unsup(left, `${field} is not modelled`);
  if (right.kind === 'list' && field.k !== 'tcpFlags' && field.k !== 'ctState' && field.k !== 'ctStatus')
    // nft: "Basetype of type ... is not bitmask": only flag types take a bare comma list
    return {
      ok: false,
      unsupported: false,
      error: `${show(left)} takes a comma list only in braces (nft refuses "${show(right)}" here); write { ${right.items.map(show).join(', ')} }`,
      pos: right.pos,
    };
  const ex = expandRef(ctx, right);
  if ('ok' in ex) return ex;
  const { elems, set } = ex;
  const isSet = right.kind === 'set' || right.kind === 'setref';
  const one = (a: Assign): MatchResult => ({ ok: true, alts: [[a]] });
  const each = (make: (e: Expr) => Val<Assign[]>): MatchResult => {
    if (neg && elems.length > 1)
      return unsup(right, `${show(left)} != a set of values (the model negates one value of this kind)`);
    const alts: Assign[][] = [];
    for (const e of elems) {
      const v = make(e);
      if (!v.ok) return fromVal(v);
      alts.push(v.value);
    }
    return { ok: true, alts };
  };
  switch (field.k) {
    case 'iif':
    case 'oif': {
      const names: string[] = [];
      for (const e of elems) {
        const v = ifAtom(e);
        if (!v.ok) return fromVal(v);
        names.push(v.value);
        ctx.ifnames.add(v.value);
      }
      return one({ f: field.k, v: names, neg });
    }
    case 'src':
    case 'dst': {
      const m: AddrMatch = { cidrs: [], ranges: [], set: set === null ? null : ctx.modelSet(set) };
      for (const e of elems) {
        const v = addrAtom(e, field.version);
        if (!v.ok) return fromVal(v);
        if ('cidr' in v.value) m.cidrs.push(v.value.cidr);
        else m.ranges.push(v.value.range);
      }
      return one({ f: field.k, v: m, version: field.version, neg });
    }
    case 'sport':
    case 'dport': {
      const ranges: PortRange[] = [];
      for (const e of elems) {
        const v = portAtom(e);
        if (!v.ok) return fromVal(v);
        ranges.push(v.value);
      }
      const v = { ranges, set: set === null ? null : ctx.modelSet(set) };
      // `th dport` names no protocol: the model's transport protocols with ports are tcp and udp
      const protos: ('tcp' | 'udp')[] = field.proto === null ? ['tcp', 'udp'] : [field.proto];
      return { ok: true, alts: protos.map((p) => [{ f: field.k, v, proto: p, neg }]) };
    }
    case 'proto': {
      // a protocol the model has no name for cannot be told from the others: unsupported, not a bad value
      for (const e of elems) {
        const p = protoAtom(e);
        if (p.ok === 'other')
          return unsup(e, `protocol ${p.text} is not modelled (the model names tcp, udp, icmp and icmpv6)`);
      }
      return each((e) => {
        const p = protoAtom(e);
        if (p.ok === 'other') return bad(e, p.text);
        if (!p.ok) return p;
        return ok([{ f: 'proto', v: p.value, family: field.family, neg }]);
      });
    }
    case 'family':
      return each((e) => {
        const v = familyAtom(e);
        if (!v.ok) return v;
        return ok([{ f: 'family', v: neg ? (v.value === 4 ? 6 : 4) : v.value }]);
      });
    case 'icmpTypes':
    case 'icmpCodes': {
      const nums: number[] = [];
      for (const e of elems) {
        const v = icmpAtom(e, field.proto === 'icmp' ? 4 : 6, field.k === 'icmpTypes' ? 'type' : 'code');
        if (!v.ok) return fromVal(v);
        if (!nums.includes(v.value)) nums.push(v.value);
      }
      return one({ f: field.k, v: nums, proto: field.proto, neg });
    }
    case 'tcpFlags': {
      // nft: a flag list without an operator means "any of these set"; ==, != and sets compare exactly
      if (field.mask === null && op === 'implicit' && !isSet) {
        const b = flagBits(right);
        if (!b.ok) return fromVal(b);
        const bits = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80].filter((x) => (b.value & x) !== 0);
        return {
          ok: true,
          alts: bits.map((x) => [
            { f: 'tcpFlags', v: { mask: x, value: x, text: `${flagNames(x)} / ${flagNames(x)}` }, neg: false },
          ]),
        };
      }
      const mask = field.mask ?? 0xff;
      if (!isSet) {
        // outside braces a comma list is one value, its flags or'ed (`syn,ack / syn,ack`: both set)
        const b = flagBits(right);
        if (!b.ok) return fromVal(b);
        if ((b.value & ~mask) !== 0)
          return {
            ok: false,
            unsupported: false,
            error: `${show(right)} has flags outside the mask ${flagNames(mask)}, so no packet matches`,
            pos: right.pos,
          };
        return one({
          f: 'tcpFlags',
          v: { mask, value: b.value, text: `${flagNames(b.value)} / ${flagNames(mask)}` },
          neg,
        });
      }
      return each((e) => {
        const b = flagBits(e);
        if (!b.ok) return b;
        if ((b.value & ~mask) !== 0)
          return bad(e, `${show(e)} has flags outside the mask ${flagNames(mask)}, so no packet matches`);
        return ok([
          { f: 'tcpFlags', v: { mask, value: b.value, text: `${flagNames(b.value)} / ${flagNames(mask)}` }, neg },
        ]);
      });
    }
    case 'ctState':
    case 'ctStatus':
    case 'pktType': {
      // == compares the whole value: the status word always holds more bits than one, the state one bit
      if (op === '==' && !isSet && (field.k === 'ctStatus' || (field.k === 'ctState' && elems.length > 1)))
        return unsup(
          right,
          `${show(left)} == ${show(right)} compares the whole ${field.k === 'ctStatus' ? 'status word' : 'state'}, which the model does not`,
        );
      const words: string[] = [];
      const conv = field.k === 'ctState' ? ctStateAtom : field.k === 'ctStatus' ? ctStatusAtom : pktTypeAtom;
      for (const e of elems) {
        const v = conv(e);
        if (!v.ok) return fromVal(v);
        if (!words.includes(v.value)) words.push(v.value);
      }
      return one({ f: field.k, v: words, neg } as Assign);
    }
    case 'mark':
      return each((e) => {
        const v = markNum(e);
        if (!v.ok) return v;
        if ((v.value & ~field.mask) >>> 0 !== 0)
          return bad(e, `${show(e)} has bits outside the mask, so no packet matches`);
        const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
        const text =
          field.mask === 0xffffffff ? `meta mark ${hex(v.value)}` : `meta mark & ${hex(field.mask)} == ${hex(v.value)}`;
        return ok([{ f: 'mark', v: { value: v.value, mask: field.mask, text }, neg }]);
      });
    case 'fib': {
      const fib = field.fib;
      if (fib.result === 'oif-missing') {
        if (elems.length !== 1 || elems[0].kind !== 'symbol' || !['missing', '0'].includes(elems[0].text))
          return unsup(right, `${show(left)} ${show(right)} (fwemu answers fib ... oif only as "missing")`);
        return one({ f: 'fib', v: { ...fib, types: [], neg, text: `${show(left)} ${neg ? '!= ' : ''}missing` } });
      }
      const types: FibAddrType[] = [];
      for (const e of elems) {
        if (e.kind !== 'symbol' || !(FIB_TYPES as readonly string[]).includes(e.text))
          return {
            ok: false,
            unsupported: false,
            error: `${show(e)} is not a route type (${FIB_TYPES.join(', ')})`,
            pos: e.pos,
          };
        types.push(e.text as FibAddrType);
      }
      return one({ f: 'fib', v: { ...fib, types, neg, text: `${show(left)} ${neg ? '!= ' : ''}${show(right)}` } });
    }
  }
}

/** `ip ttl` / `ip6 hoplimit`: one alternative per element of a set (build-hop.ts). */
function hopAlts(ctx: MatchCtx, left: Expr, family: 4 | 6, op: RelOp, right: Expr): MatchResult {
  const ex = expandRef(ctx, right);
  if ('ok' in ex) return ex;
  if (op === '!=' && ex.elems.length > 1)
    return unsup(right, `${show(left)} != a set of values (the model negates one range)`);
  const alts: Assign[][] = [];
  for (const e of ex.elems) {
    const v = hopAtom(left, family, op, e);
    if (!v.ok) return fromVal(v);
    alts.push(v.value);
  }
  return { ok: true, alts };
}

/** `a . b { x . y, ... }`: one alternative per element, each part an equality. */
function concatAlts(ctx: MatchCtx, left: Expr & { kind: 'concat' }, neg: boolean, right: Expr): MatchResult {
  if (neg) return unsup(right, `${show(left)} != ... (a negated concatenation)`);
  let elems: Expr[];
  if (right.kind === 'setref') {
    const s = ctx.set(right.name);
    if (s === undefined)
      return { ok: false, unsupported: false, error: `@${right.name} is not a set of this table`, pos: right.pos };
    if (ctx.dynamic(right.name))
      return unsup(
        right,
        `@${right.name} is filled while packets pass (a dynamic set); fwemu cannot know its elements`,
      );
    elems = s.elements.map((e) => e.key);
  } else elems = right.kind === 'set' ? right.elems.map((e) => e.key) : [right];
  const alts: Assign[][] = [];
  for (const e of elems) {
    if (e.kind !== 'concat' || e.parts.length !== left.parts.length)
      return {
        ok: false,
        unsupported: false,
        error: `${show(e)} does not have the ${left.parts.length} parts of ${show(left)}`,
        pos: e.pos,
      };
    let partAlts: Assign[][] = [[]];
    for (let i = 0; i < e.parts.length; i++) {
      const r = matchAlts(ctx, left.parts[i], 'implicit', e.parts[i]);
      if (!r.ok) return r;
      const next: Assign[][] = [];
      for (const a of partAlts) for (const b of r.alts) next.push([...a, ...b]);
      partAlts = next;
    }
    for (const x of partAlts) alts.push(x);
  }
  return { ok: true, alts };
}
