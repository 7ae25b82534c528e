/**
 * nft JSON statements and expressions -> the nft importer's AST (a rule's
 * "expr" array, set elements, map data). Statements and expressions fwemu
 * does not model become OtherStmt and UnsupportedExpr, named as the text
 * parser names them, for the builder to judge (--lenient as for text).
 */
import { diag, type SourcePos } from '../../../base/diag.js';
import { visible } from '../../../base/text-escape.js';
import { quoted } from '../../../base/yaml-nodes.js';
import type { Expr, OtherStmtName, RelOp, SetElem, SetExpr, SetRefExpr, Stmt, Verdict } from '../nft/ast.js';
import { describe, JsonContext, strOf } from './context.js';
import type { JArray, JObject, JValue } from './read.js';
import { prop, type Renderer, single } from './render.js';

const VERDICTS: readonly Verdict[] = ['accept', 'drop', 'continue', 'return', 'jump', 'goto'];
const BINOPS = ['&', '|', '^', '<<', '>>'] as const;
const OPS: Readonly<Record<string, RelOp>> = {
  '==': '==',
  in: 'implicit',
  '!=': '!=',
  '<': '<',
  '>': '>',
  '<=': '<=',
  '>=': '>=',
};
/** Statements outside the model, by JSON key, as the AST names them. */
const OTHER_STMTS: Readonly<Record<string, OtherStmtName>> = {
  quota: 'quota',
  flow: 'flow add',
  queue: 'queue',
  dup: 'dup',
  fwd: 'fwd',
  tproxy: 'tproxy',
  synproxy: 'synproxy',
  meter: 'meter',
  xt: 'xt',
  last: 'last',
  'ct count': 'connlimit',
};
/** Expressions fwemu does not model, by JSON key. */
const UNSUPPORTED_EXPRS = new Set([
  'exthdr',
  'tcp option',
  'sctp chunk',
  'ip option',
  'dccp option',
  'rt',
  'numgen',
  'jhash',
  'symhash',
  'socket',
  'osf',
  'ipsec',
  'tunnel',
  'hash',
]);

export class RuleConverter extends JsonContext {
  private warnedXt = false;

  /** Once per file: iptables-nft's tables lose their matches' options in JSON; iptables-save keeps them. */
  private iptablesNft(at: number): void {
    if (this.warnedXt) return;
    this.warnedXt = true;
    const p = this.pos(at);
    this.diags.push(
      diag(
        this.file,
        p.line,
        p.col,
        "this JSON lists tables that iptables-nft manages: nft's JSON names their xt matches and targets without their options; import the output of iptables-save (and ip6tables-save) instead",
        'json.iptables-nft',
        'warning',
      ),
    );
  }

  stmt(v: JValue, r: Renderer): Stmt | null {
    const s = single(v);
    if (s === null) {
      this.error(
        v.at,
        `a statement must be an object with one key (like {"accept": null}), not ${describe(v)}`,
        'json.bad-value',
      );
      return null;
    }
    const b = s.body;
    const pos = this.pos(v.at);
    // one line whatever the JSON strings hold (a comment with a line break, an escape sequence)
    const text = visible(r.stmt(v));
    switch (s.key) {
      case 'match': {
        const left = prop(b, 'left');
        const right = prop(b, 'right');
        const op = this.str(b, 'op', 'a match');
        if (left === undefined || right === undefined) {
          this.error(b.at, 'a match needs "left", "right" and "op"', 'json.missing');
          return null;
        }
        if (op === null) return null;
        if (op === '!') {
          // nft >= 1.0.7 writes `tcp flags & syn == 0` as op "!": none of these bits; the text's own form
          const l = this.expr(left, r);
          const rt = this.expr(right, r);
          if (l === null || rt === null) return null;
          const masked: Expr = { kind: 'binop', op: '&', left: l, right: rt, pos: l.pos };
          const zero: Expr = { kind: 'symbol', text: '0', quoted: false, pos: rt.pos };
          return { kind: 'match', left: masked, op: '==', right: zero, pos, text };
        }
        const relop = Object.hasOwn(OPS, op) ? OPS[op] : null;
        if (relop === null) {
          this.error(
            prop(b, 'op')!.at,
            `match operator ${quoted(op)} is not one of ${Object.keys(OPS).join(' ')}`,
            'json.bad-value',
          );
          return null;
        }
        const l = this.expr(left, r);
        const rt = this.expr(right, r);
        return l === null || rt === null ? null : { kind: 'match', left: l, op: relop, right: rt, pos, text };
      }
      case 'accept':
      case 'drop':
      case 'continue':
      case 'return':
        return { kind: 'verdict', verdict: s.key, target: null, pos, text };
      case 'jump':
      case 'goto': {
        const target = this.str(b, 'target', `"${s.key}"`);
        return target === null ? null : { kind: 'verdict', verdict: s.key, target, pos, text };
      }
      case 'vmap': {
        const kd = this.pair(b, 'key', 'data', 'a vmap');
        if (kd === null) return null;
        const k = this.expr(kd[0], r);
        const m = this.mapData(kd[1], r);
        return k === null || m === null ? null : { kind: 'vmap', key: k, map: m, pos, text };
      }
      case 'counter':
        // a named counter (or one chosen by a map: `counter name tcp dport map { ... }`)
        return { kind: 'counter', name: b.kind === 'string' ? b.value : prop(b, 'map') ? text : null, pos, text };
      case 'log':
        return {
          kind: 'log',
          prefix: b.kind === 'object' ? this.str(b, 'prefix', 'a log', false) : null,
          level: b.kind === 'object' ? this.str(b, 'level', 'a log', false) : null,
          group: b.kind === 'object' ? this.int(b, 'group', 'a log') : null,
          pos,
          text,
        };
      case 'limit': {
        if (b.kind === 'string')
          return {
            kind: 'limit',
            rate: 0,
            per: 'second',
            rateUnit: 'packets',
            burst: null,
            burstUnit: 'packets',
            over: false,
            name: b.value,
            pos,
            text,
          };
        if (!this.object(b, '"limit"')) return null;
        if (prop(b, 'map') !== undefined)
          // `limit name tcp dport map { ... }`: named limits chosen by a map
          return {
            kind: 'limit',
            rate: 0,
            per: 'second',
            rateUnit: 'packets',
            burst: null,
            burstUnit: 'packets',
            over: false,
            name: text,
            pos,
            text,
          };
        const rate = this.int(b, 'rate', 'a limit');
        if (rate === null) {
          if (prop(b, 'rate') === undefined) this.error(b.at, 'a limit has no "rate"', 'json.missing');
          return null;
        }
        const inv = prop(b, 'inv');
        const rateUnit = this.str(b, 'rate_unit', 'a limit', false) ?? 'packets';
        return {
          kind: 'limit',
          rate,
          per: this.str(b, 'per', 'a limit', false) ?? 'second',
          rateUnit,
          burst: this.int(b, 'burst', 'a limit'),
          burstUnit: rateUnit === 'packets' ? 'packets' : (this.str(b, 'burst_unit', 'a limit', false) ?? 'bytes'),
          over: inv?.kind === 'bool' && inv.value,
          name: null,
          pos,
          text,
        };
      }
      case 'reject': {
        if (b.kind === 'null') return { kind: 'reject', type: null, code: null, pos, text };
        if (!this.object(b, '"reject"')) return null;
        // nft lists its family's default reject as plain `reject`: the same AST as the text's
        if (text === 'reject') return { kind: 'reject', type: null, code: null, pos, text };
        const type = this.str(b, 'type', 'a reject', false);
        const code = prop(b, 'expr');
        return {
          kind: 'reject',
          type,
          code:
            code === undefined
              ? null
              : code.kind === 'number'
                ? code.raw
                : code.kind === 'string'
                  ? code.value
                  : r.value(code, 'plain'),
          pos,
          text,
        };
      }
      case 'snat':
      case 'dnat':
      case 'masquerade':
      case 'redirect': {
        if (b.kind !== 'null' && !this.object(b, `"${s.key}"`)) return null;
        const fam = b.kind === 'object' ? this.str(b, 'family', `a ${s.key}`, false) : null;
        if (fam !== null && fam !== 'ip' && fam !== 'ip6') {
          this.error(
            prop(b, 'family')!.at,
            `family of a ${s.key} must be ip or ip6, not ${quoted(fam)}`,
            'json.bad-value',
          );
          return null;
        }
        const addr = prop(b, 'addr');
        const port = prop(b, 'port');
        const a = addr === undefined ? null : this.expr(addr, r);
        const p = port === undefined ? null : this.expr(port, r);
        if ((addr !== undefined && a === null) || (port !== undefined && p === null)) return null;
        return {
          kind: 'nat',
          type: s.key,
          family: fam as 'ip' | 'ip6' | null,
          addr: a,
          port: p,
          flags: b.kind === 'object' ? this.words(b, 'flags', `a ${s.key}`) : [],
          pos,
          text,
        };
      }
      case 'mangle': {
        const kv = this.pair(b, 'key', 'value', 'a mangle');
        if (kv === null) return null;
        const k = this.expr(kv[0], r);
        const val = this.expr(kv[1], r);
        return k === null || val === null ? null : { kind: 'mangle', key: k, value: val, pos, text };
      }
      case 'notrack':
        return { kind: 'notrack', pos, text };
      case 'ct helper':
      case 'ct timeout':
      case 'ct expectation':
      case 'secmark': {
        // `ct helper set "ftp"` is `KEY set VALUE` in nft's grammar: the AST the text parser gives it
        const key: Expr =
          s.key === 'secmark'
            ? { kind: 'meta', key: 'secmark', pos }
            : { kind: 'ct', key: s.key.slice(3), dir: null, pos };
        const value = this.expr(b, r);
        return value === null ? null : { kind: 'mangle', key, value, pos, text };
      }
      case 'xt':
        // iptables-nft's untranslated extension; the builder makes a rule with an xt match inert under --lenient
        // (`xt match` in the text), as it does for the text listing's `xt match "conntrack"`
        this.iptablesNft(v.at);
        return { kind: 'other', name: 'xt', pos, text };
      case 'set':
      case 'map': {
        const op = b.kind === 'object' ? this.str(b, 'op', `a "${s.key}" statement`, false) : null;
        const name: OtherStmtName = op === 'update' ? 'set update' : op === 'delete' ? 'set delete' : 'set add';
        return { kind: 'other', name, pos, text };
      }
      default:
        return { kind: 'other', name: Object.hasOwn(OTHER_STMTS, s.key) ? OTHER_STMTS[s.key] : 'unknown', pos, text };
    }
  }

  // ------------------------------------------------------------ expressions

  expr(v: JValue, r: Renderer): Expr | null {
    const pos = this.pos(v.at);
    switch (v.kind) {
      case 'string':
        if (v.value.startsWith('@') && v.value.length > 1) return { kind: 'setref', name: v.value.slice(1), pos };
        return { kind: 'symbol', text: v.value, quoted: false, pos };
      case 'number':
        return { kind: 'symbol', text: v.raw, quoted: false, pos };
      case 'bool':
        // nft's boolean type: `fib saddr . iif oif missing`, `exthdr ... exists`
        return { kind: 'symbol', text: v.value ? 'exists' : 'missing', quoted: false, pos };
      case 'null':
        this.error(v.at, 'null where nft wants a value', 'json.bad-value');
        return null;
      case 'array': {
        const items = this.exprs(v, r);
        return items === null ? null : { kind: 'list', items, pos };
      }
      case 'object':
        return this.objectExpr(v, r);
    }
  }

  private exprs(a: JArray, r: Renderer): Expr[] | null {
    const out: Expr[] = [];
    for (const it of a.items) {
      const e = this.expr(it, r);
      if (e === null) return null;
      out.push(e);
    }
    return out;
  }

  private objectExpr(v: JObject, r: Renderer): Expr | null {
    const s = single(v);
    const pos = this.pos(v.at);
    if (s === null) {
      this.error(
        v.at,
        `an expression must be an object with one key (like {"payload": {...}}), not ${describe(v)}`,
        'json.bad-value',
      );
      return null;
    }
    const b = s.body;
    const what = `"${s.key}"`;
    switch (s.key) {
      case 'payload': {
        if (!this.object(b, what)) return null;
        if (prop(b, 'protocol') === undefined)
          return {
            kind: 'unsupported',
            name: `raw payload @${strOf(prop(b, 'base')) ?? '?'}`,
            text: visible(r.expr(v)),
            pos,
          };
        const tunnel = strOf(prop(b, 'tunnel'));
        // an inner header (`vxlan ip saddr`, nft >= 1.0.7): not the packet's own, which fwemu models
        if (tunnel !== null) {
          const proto = strOf(prop(b, 'protocol')) ?? '?';
          // named as the text parser names it: `geneve ip` for an inner header, `geneve vni` for the tunnel's own
          const name = `${tunnel} ${proto === tunnel ? (strOf(prop(b, 'field')) ?? '?') : proto}`;
          return { kind: 'unsupported', name, text: visible(r.expr(v)), pos };
        }
        const protocol = this.str(b, 'protocol', 'a payload');
        const field = this.str(b, 'field', 'a payload');
        return protocol === null || field === null ? null : { kind: 'payload', protocol, field, pos };
      }
      case 'meta': {
        if (!this.object(b, what)) return null;
        const key = this.str(b, 'key', 'a meta');
        return key === null ? null : { kind: 'meta', key, pos };
      }
      case 'ct': {
        if (!this.object(b, what)) return null;
        const bare = this.str(b, 'key', 'a ct');
        const fam = this.str(b, 'family', 'a ct', false);
        // `ct original ip saddr`: the text parser keeps the family in the key
        const key = bare !== null && fam !== null ? `${fam} ${bare}` : bare;
        const dir = this.str(b, 'dir', 'a ct', false);
        if (key === null) return null;
        if (dir !== null && dir !== 'original' && dir !== 'reply') {
          this.error(
            prop(b, 'dir')!.at,
            `"dir" of a ct must be original or reply, not ${quoted(dir)}`,
            'json.bad-value',
          );
          return null;
        }
        return { kind: 'ct', key, dir, pos };
      }
      case 'fib': {
        if (!this.object(b, what)) return null;
        const res = this.str(b, 'result', 'a fib');
        // `fib daddr oif exists`: result "check" since nft 1.0.7, "oif" before it
        const result = res === 'check' ? 'oif' : res;
        return result === null ? null : { kind: 'fib', flags: this.words(b, 'flags', 'a fib'), result, pos };
      }
      case 'concat': {
        if (b.kind !== 'array') {
          this.error(b.at, `"concat" must be an array, not ${describe(b)}`, 'json.bad-value');
          return null;
        }
        const parts = this.exprs(b, r);
        return parts === null ? null : { kind: 'concat', parts, pos };
      }
      case 'set':
        return this.setExpr(b, r, pos);
      case 'map': {
        const kd = this.pair(b, 'key', 'data', 'a map');
        if (kd === null) return null;
        const k = this.expr(kd[0], r);
        const m = this.mapData(kd[1], r);
        return k === null || m === null ? null : { kind: 'map', key: k, map: m, pos };
      }
      case 'prefix': {
        const addr = prop(b, 'addr');
        const len = prop(b, 'len');
        if (
          addr === undefined ||
          len === undefined ||
          len.kind !== 'number' ||
          !Number.isInteger(len.value) ||
          len.value < 0
        ) {
          this.error(b.at, 'a prefix needs "addr" and "len", a whole number', 'json.missing');
          return null;
        }
        const a = this.expr(addr, r);
        return a === null ? null : { kind: 'prefix', addr: a, len: len.value, pos };
      }
      case 'range': {
        if (b.kind !== 'array' || b.items.length !== 2) {
          this.error(b.at, `"range" must be an array of two values, not ${describe(b)}`, 'json.bad-value');
          return null;
        }
        const lo = this.expr(b.items[0], r);
        const hi = this.expr(b.items[1], r);
        return lo === null || hi === null ? null : { kind: 'range', lo, hi, pos };
      }
      case 'elem': {
        // an element with a timeout or comment, outside a set (a set statement's): its value
        const val = prop(b, 'val');
        if (val === undefined) {
          this.error(b.at, 'an elem needs "val"', 'json.missing');
          return null;
        }
        return this.expr(val, r);
      }
      default:
        break;
    }
    if ((BINOPS as readonly string[]).includes(s.key)) {
      // two operands, or more (nft >= 1.0.7 writes `fin | syn | rst` as one {"|": [...]}): folded from the left
      if (b.kind !== 'array' || b.items.length < 2) {
        this.error(b.at, `${what} must be an array of two or more expressions, not ${describe(b)}`, 'json.bad-value');
        return null;
      }
      const parts = this.exprs(b, r);
      if (parts === null) return null;
      let e = parts[0];
      for (const x of parts.slice(1))
        e = { kind: 'binop', op: s.key as (typeof BINOPS)[number], left: e, right: x, pos };
      return e;
    }
    if ((VERDICTS as readonly string[]).includes(s.key)) {
      const target = s.key === 'jump' || s.key === 'goto' ? this.str(b, 'target', what) : null;
      if ((s.key === 'jump' || s.key === 'goto') && target === null) return null;
      return { kind: 'verdict', verdict: s.key as Verdict, target, pos };
    }
    const name = UNSUPPORTED_EXPRS.has(s.key) ? unsupportedName(s.key, b) : s.key;
    return { kind: 'unsupported', name, text: visible(r.expr(v)), pos };
  }

  /** {"set": [...]}: elements, a map's [key, data] pairs among them. */
  private setExpr(b: JValue, r: Renderer, pos: SourcePos): SetExpr | null {
    const elems = this.elems(b, r);
    return elems === null ? null : { kind: 'set', elems, pos };
  }

  elems(b: JValue, r: Renderer): SetElem[] | null {
    const items = b.kind === 'array' ? b.items : [b];
    const out: SetElem[] = [];
    for (const it of items) {
      const pos = this.pos(it.at);
      let keyV = it;
      let dataV: JValue | null = null;
      if (it.kind === 'array') {
        if (it.items.length !== 2) {
          this.error(it.at, `a map element is [key, data], two values, not ${it.items.length}`, 'json.bad-value');
          return null;
        }
        [keyV, dataV] = it.items;
      }
      const e = single(keyV);
      if (e !== null && e.key === 'elem') {
        const val = prop(e.body, 'val');
        if (val === undefined) {
          this.error(keyV.at, 'an elem needs "val"', 'json.missing');
          return null;
        }
        keyV = val;
      }
      const key = this.expr(keyV, r);
      const value = dataV === null ? null : this.expr(dataV, r);
      if (key === null || (dataV !== null && value === null)) return null;
      out.push({ key, value, pos });
    }
    return out;
  }

  /** A map's or vmap's "data": an anonymous map or a named one ("@name"). */
  private mapData(v: JValue, r: Renderer): SetExpr | SetRefExpr | null {
    if (v.kind === 'string' && v.value.startsWith('@') && v.value.length > 1)
      return { kind: 'setref', name: v.value.slice(1), pos: this.pos(v.at) };
    const s = single(v);
    if (s !== null && s.key === 'set') return this.setExpr(s.body, r, this.pos(v.at));
    this.error(v.at, `a map's "data" is {"set": [[key, value], ...]} or "@name", not ${describe(v)}`, 'json.bad-value');
    return null;
  }
}

/**
 * How the AST names an expression fwemu does not model, as the text parser
 * names the same expression ("socket transparent", "rt mtu", "tcp option").
 */
function unsupportedName(key: string, b: JValue): string {
  const k = strOf(prop(b, 'key'));
  if ((key === 'socket' || key === 'rt') && k !== null) return `${key} ${k}`;
  if (key === 'exthdr') {
    const n = strOf(prop(b, 'name'));
    return n !== null && prop(b, 'field') !== undefined ? `${n} (IPv6 extension header)` : 'exthdr';
  }
  return key;
}
