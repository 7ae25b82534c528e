/**
 * nft's text for JSON statements and expressions, one line: what a rule
 * imported from `nft -j list ruleset` shows as its origin ("dropped by
 * rule at ruleset.json:1:2345 (`tcp dport 22 drop`)"). It follows what
 * `nft list ruleset` prints for the same rule (nft's *_print functions):
 * `==` and `in` left out, interface names and log prefixes quoted, marks
 * in hex, `tcp flags syn / fin,syn,rst,ack`, nft's default burst and reject
 * type left out; the tests hold it against the kernel's own listings.
 */
import type { JObject, JValue } from './read.js';

/** How a value is written, from the left side it is compared with or assigned to. */
type ValueStyle = 'plain' | 'quoted' | 'hex';

/** The one property of a {"kind": body} object, or null. */
export function single(v: JValue): { key: string; body: JValue } | null {
  if (v.kind !== 'object' || v.entries.length !== 1) return null;
  return { key: v.entries[0].key, body: v.entries[0].value };
}

/** A property of an object, or undefined. */
export function prop(v: JValue | undefined, key: string): JValue | undefined {
  if (v === undefined || v.kind !== 'object') return undefined;
  for (const e of v.entries) if (e.key === key) return e.value;
  return undefined;
}

function str(v: JValue | undefined): string | null {
  return v !== undefined && v.kind === 'string' ? v.value : null;
}

function num(v: JValue | undefined): number | null {
  return v !== undefined && v.kind === 'number' ? v.value : null;
}

/** A string as nft quotes it: in double quotes, a quote or backslash inside escaped. */
function q(s: string): string {
  return `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** meta keys nft prints without `meta` (meta.c meta_key_is_unqualified). */
const UNQUALIFIED_META = new Set(['iif', 'oif', 'iifname', 'oifname', 'iifgroup', 'oifgroup']);

/** Left sides whose values are strings nft prints in quotes. */
const QUOTED_META = new Set([
  'iifname',
  'oifname',
  'iif',
  'oif',
  'ibrname',
  'obrname',
  'ibriport',
  'obriport',
  'sdifname',
]);

/** Left sides that are bitmasks, printed `value / mask` when masked and compared. */
const FLAG_PAYLOADS = new Set(['tcp flags']);

function styleOf(left: JValue | undefined): ValueStyle {
  if (left === undefined) return 'plain';
  const s = single(left);
  if (s === null) return 'plain';
  const key = str(prop(s.body, 'key'));
  if (s.key === 'meta') {
    if (key !== null && QUOTED_META.has(key)) return 'quoted';
    if (key === 'mark') return 'hex';
  }
  if (s.key === 'ct') {
    if (key === 'mark') return 'hex';
    if (key === 'helper') return 'quoted';
  }
  if (s.key === '&' || s.key === '|' || s.key === '^') {
    const args = s.body.kind === 'array' ? s.body.items : [];
    return args.length > 0 ? styleOf(args[0]) : 'plain';
  }
  return 'plain';
}

/** nft's duration text: 3600 -> "1h", 90 -> "1m30s", 0.5 -> "500ms". */
export function duration(seconds: number): string {
  let ms = Math.round(seconds * 1000);
  if (ms === 0) return '0s';
  let out = '';
  for (const [unit, size] of [
    ['d', 86400000],
    ['h', 3600000],
    ['m', 60000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    if (ms >= size) {
      out += `${Math.floor(ms / size)}${unit}`;
      ms %= size;
    }
  }
  return out;
}

export class Renderer {
  /** The table's family decides which reject is nft's default (printed as plain `reject`) and whether NAT names its family. */
  constructor(private readonly family: string) {}

  /** A rule's statements as nft lists them, and its comment. */
  rule(exprs: readonly JValue[], comment: string | null): string {
    const parts = exprs.map((e) => this.stmt(e));
    if (comment !== null) parts.push(`comment ${q(comment)}`);
    return parts.join(' ');
  }

  stmt(v: JValue): string {
    const s = single(v);
    if (s === null) return this.expr(v);
    const b = s.body;
    switch (s.key) {
      case 'match':
        return this.match(b);
      case 'accept':
      case 'drop':
      case 'continue':
      case 'return':
        return s.key;
      case 'jump':
      case 'goto':
        return `${s.key} ${str(prop(b, 'target')) ?? '?'}`;
      case 'reset':
        return `reset ${this.expr(b)}`;
      case 'last': {
        // {"last": {"used": MS}} or {"last": null} (never used)
        const used = num(prop(b, 'used'));
        return used === null ? 'last' : `last used ${duration(used / 1000)}`;
      }
      case 'counter':
        if (b.kind === 'string') return `counter name ${q(b.value)}`;
        if (prop(b, 'map') !== undefined) return `counter name ${this.value(b, 'quoted')}`;
        if (num(prop(b, 'packets')) !== null)
          return `counter packets ${this.raw(prop(b, 'packets'))} bytes ${this.raw(prop(b, 'bytes'))}`;
        return 'counter';
      case 'log':
        return this.log(b);
      case 'limit':
        return this.limit(b);
      case 'quota':
        return this.quota(b);
      case 'reject':
        return this.reject(b);
      case 'snat':
      case 'dnat':
      case 'masquerade':
      case 'redirect':
        return this.nat(s.key, b);
      case 'mangle': {
        const key = prop(b, 'key');
        return `${key ? this.expr(key) : '?'} set ${this.value(prop(b, 'value'), styleOf(key))}`;
      }
      case 'notrack':
        return 'notrack';
      case 'vmap':
        return `${this.expr(prop(b, 'key'))} vmap ${this.value(prop(b, 'data'), 'plain')}`;
      case 'ct helper':
      case 'ct timeout':
      case 'ct expectation':
        return `${s.key} set ${this.value(b, 'quoted')}`;
      case 'secmark':
        return `meta secmark set ${this.value(b, 'quoted')}`;
      case 'set':
      case 'map': {
        const elem = prop(b, 'elem');
        const data = prop(b, 'data');
        const inner = `${this.value(elem, 'plain')}${data ? ` : ${this.value(data, 'plain')}` : ''}`;
        return `${str(prop(b, 'op')) ?? 'add'} ${str(prop(b, s.key)) ?? '?'} { ${inner} }`;
      }
      case 'flow':
        return `flow ${str(prop(b, 'op')) ?? 'add'} ${str(prop(b, 'flowtable')) ?? '?'}`;
      case 'ct count': {
        const inv = prop(b, 'inv');
        return `ct count ${inv?.kind === 'bool' && inv.value ? 'over ' : ''}${this.raw(prop(b, 'val'))}`;
      }
      case 'queue':
        return this.words('queue', b, ['num', 'flags']);
      case 'fwd':
        return `fwd to ${this.value(prop(b, 'dev'), 'quoted')}`;
      case 'dup':
        return `dup to ${this.value(prop(b, 'addr'), 'plain')}${prop(b, 'dev') ? ` device ${this.value(prop(b, 'dev'), 'quoted')}` : ''}`;
      case 'xt':
        return `xt ${str(prop(b, 'type')) ?? ''} ${q(str(prop(b, 'name')) ?? '?')}`;
      default:
        return `${s.key}${b.kind === 'null' ? '' : ` ${this.generic(b)}`}`;
    }
  }

  private match(b: JValue): string {
    const left = prop(b, 'left');
    const right = prop(b, 'right');
    const op = str(prop(b, 'op')) ?? '==';
    const style = styleOf(left);
    // `tcp flags & (fin|syn|rst|ack) == syn` is listed `tcp flags syn / fin,syn,rst,ack`
    const l = left === undefined ? null : single(left);
    if (l !== null && l.key === '&' && l.body.kind === 'array' && l.body.items.length === 2 && op === '==') {
      const [what, mask] = l.body.items;
      if (FLAG_PAYLOADS.has(this.expr(what))) {
        const m = single(mask);
        const maskText =
          m?.key === '|' && m.body.kind === 'array' ? this.value(m.body, 'plain') : this.value(mask, 'plain');
        return `${this.expr(what)} ${this.value(right, 'plain')} / ${maskText}`;
      }
    }
    // op "!" (nft >= 1.0.7): none of these bits, `tcp flags & syn == 0`
    if (op === '!') return `${this.expr(left)} & ${this.value(right, style)} == 0`;
    if (right?.kind === 'bool') {
      // fib ... oif missing / exthdr exists
      return `${this.expr(left)} ${right.value ? 'exists' : 'missing'}`;
    }
    // after a binop nft writes the operator: `meta mark & 0x0000ff00 == 0x00000100`
    if (left !== undefined && isBinop(left)) return `${this.value(left, style)} ${op} ${this.value(right, style)}`;
    const shown = op === '==' || op === 'in' ? '' : `${op} `;
    return `${this.expr(left)} ${shown}${this.value(right, style)}`;
  }

  private log(b: JValue): string {
    const parts = ['log'];
    const prefix = str(prop(b, 'prefix'));
    if (prefix !== null) parts.push(`prefix ${q(prefix)}`);
    const group = prop(b, 'group');
    if (group !== undefined) parts.push(`group ${this.raw(group)}`);
    const snaplen = prop(b, 'snaplen');
    if (snaplen !== undefined) parts.push(`snaplen ${this.raw(snaplen)}`);
    const qt = prop(b, 'queue-threshold');
    if (qt !== undefined) parts.push(`queue-threshold ${this.raw(qt)}`);
    const level = str(prop(b, 'level'));
    if (level !== null) parts.push(`level ${level}`);
    const flags = prop(b, 'flags');
    if (flags !== undefined) parts.push(`flags ${this.list(flags, ' ')}`);
    return parts.join(' ');
  }

  private limit(b: JValue): string {
    if (b.kind === 'string') return `limit name ${q(b.value)}`;
    if (prop(b, 'map') !== undefined) return `limit name ${this.value(b, 'quoted')}`;
    const inv = prop(b, 'inv');
    const over = inv?.kind === 'bool' && inv.value ? 'over ' : '';
    const rateUnit = str(prop(b, 'rate_unit')) ?? 'packets';
    const per = str(prop(b, 'per')) ?? 'second';
    const rate = this.raw(prop(b, 'rate'));
    const burst = num(prop(b, 'burst'));
    if (rateUnit === 'packets') {
      const burstText = burst !== null && burst !== 0 && burst !== 5 ? ` burst ${burst} packets` : '';
      return `limit rate ${over}${rate}/${per}${burstText}`;
    }
    const burstUnit = str(prop(b, 'burst_unit')) ?? 'bytes';
    const burstText = burst !== null && burst !== 0 ? ` burst ${burst} ${burstUnit}` : '';
    return `limit rate ${over}${rate} ${rateUnit}/${per}${burstText}`;
  }

  private quota(b: JValue): string {
    if (b.kind === 'string') return `quota name ${q(b.value)}`;
    if (prop(b, 'map') !== undefined) return `quota name ${this.value(b, 'quoted')}`;
    const inv = prop(b, 'inv');
    const over = inv?.kind === 'bool' && inv.value ? 'over ' : '';
    const used = num(prop(b, 'used'));
    const usedText = used !== null && used !== 0 ? ` used ${used} ${str(prop(b, 'used_unit')) ?? 'bytes'}` : '';
    return `quota ${over}${this.raw(prop(b, 'val'))} ${str(prop(b, 'val_unit')) ?? 'bytes'}${usedText}`;
  }

  private reject(b: JValue): string {
    const type = str(prop(b, 'type'));
    const code = prop(b, 'expr');
    if (type === null) return 'reject';
    if (type === 'tcp reset') return 'reject with tcp reset';
    const codeText = code === undefined ? null : this.value(code, 'plain');
    const dflt =
      codeText === 'port-unreachable' &&
      ((type === 'icmpx' && (this.family === 'inet' || this.family === 'bridge' || this.family === 'netdev')) ||
        (type === 'icmp' && this.family === 'ip') ||
        (type === 'icmpv6' && this.family === 'ip6'));
    if (dflt) return 'reject';
    return `reject with ${type}${codeText === null ? '' : ` ${codeText}`}`;
  }

  private nat(kind: string, b: JValue): string {
    const parts = [kind];
    const family = str(prop(b, 'family'));
    const addr = prop(b, 'addr');
    const port = prop(b, 'port');
    if (family !== null && (kind === 'snat' || kind === 'dnat') && this.family === 'inet') parts.push(family);
    // `dnat ip addr . port to ...`, `snat ip prefix to ...`, `snat ip interval to ...`
    const tf = prop(b, 'type_flags');
    const typeFlags = tf === undefined ? [] : tf.kind === 'array' ? tf.items : [tf];
    for (const f of typeFlags) {
      const w = str(f);
      if (w === 'concat') parts.push('addr . port');
      else if (w === 'prefix' || w === 'interval') parts.push(w);
    }
    if (addr !== undefined || port !== undefined) {
      let to = '';
      if (addr !== undefined) {
        const a = this.value(addr, 'plain');
        // an IPv6 address with a port is written in brackets
        to = port !== undefined && /^[0-9a-f:.]*:[0-9a-f:.]*$/i.test(a) && a.includes(':') ? `[${a}]` : a;
      }
      if (port !== undefined) to += `:${this.value(port, 'plain')}`;
      parts.push(`to ${to}`);
    }
    const flags = prop(b, 'flags');
    if (flags !== undefined) parts.push(this.list(flags, ','));
    return parts.join(' ');
  }

  /** `KEY WORD value ...` for simple statements (queue num 1 bypass). */
  private words(head: string, b: JValue, keys: readonly string[]): string {
    const parts = [head];
    for (const k of keys) {
      const v = prop(b, k);
      if (v === undefined) continue;
      parts.push(k === 'flags' ? this.list(v, ',') : `${k} ${this.value(v, 'plain')}`);
    }
    return parts.join(' ');
  }

  /** An array of words joined by `sep`, or one word. */
  private list(v: JValue, sep: string): string {
    if (v.kind === 'array') return v.items.map((x) => this.value(x, 'plain')).join(sep);
    return this.value(v, 'plain');
  }

  /** A number or string as given. */
  private raw(v: JValue | undefined): string {
    if (v === undefined) return '?';
    if (v.kind === 'number') return v.raw;
    if (v.kind === 'string') return v.value;
    return this.generic(v);
  }

  /** An expression on a match's left side or a statement's key. */
  expr(v: JValue | undefined): string {
    if (v === undefined) return '?';
    const s = single(v);
    if (s === null) return this.value(v, 'plain');
    const b = s.body;
    switch (s.key) {
      case 'payload': {
        const protocol = str(prop(b, 'protocol'));
        const tunnel = str(prop(b, 'tunnel'));
        const field = str(prop(b, 'field')) ?? '?';
        // an inner header: `vxlan ip saddr`; the tunnel's own field: `geneve vni`
        if (protocol !== null && tunnel === protocol) return `${tunnel} ${field}`;
        if (protocol !== null) return `${tunnel !== null ? `${tunnel} ` : ''}${protocol} ${field}`;
        return `@${str(prop(b, 'base')) ?? '?'},${this.raw(prop(b, 'offset'))},${this.raw(prop(b, 'len'))}`;
      }
      case 'meta': {
        const key = str(prop(b, 'key')) ?? '?';
        return UNQUALIFIED_META.has(key) ? key : `meta ${key}`;
      }
      case 'ct': {
        const dir = str(prop(b, 'dir'));
        const fam = str(prop(b, 'family'));
        return ['ct', dir, fam, str(prop(b, 'key')) ?? '?'].filter((x) => x !== null).join(' ');
      }
      case 'fib': {
        const flags = prop(b, 'flags');
        const fl = flags === undefined ? '' : this.list(flags, ' . ');
        const result = str(prop(b, 'result'));
        return `fib ${fl} ${result === 'check' ? 'oif' : (result ?? '?')}`;
      }
      case 'rt':
        return ['rt', str(prop(b, 'family')), str(prop(b, 'key')) ?? '?'].filter((x) => x !== null).join(' ');
      case 'socket':
        return `socket ${str(prop(b, 'key')) ?? '?'}`;
      case 'osf':
        return `osf ${str(prop(b, 'ttl')) ? `ttl ${str(prop(b, 'ttl'))} ` : ''}${str(prop(b, 'key')) ?? 'name'}`;
      case 'exthdr':
        return [str(prop(b, 'name')) ?? '?', str(prop(b, 'field'))].filter((x) => x !== null).join(' ');
      case 'tcp option':
      case 'sctp chunk':
      case 'ip option':
        return [s.key.split(' ')[0], s.key.split(' ')[1], str(prop(b, 'name')) ?? '?', str(prop(b, 'field'))]
          .filter((x) => x !== null)
          .join(' ');
      case 'numgen':
        return `numgen ${str(prop(b, 'mode')) ?? '?'} mod ${this.raw(prop(b, 'mod'))}${num(prop(b, 'offset')) ? ` offset ${this.raw(prop(b, 'offset'))}` : ''}`;
      case 'jhash':
        return `jhash ${this.expr(prop(b, 'expr'))} mod ${this.raw(prop(b, 'mod'))}${prop(b, 'seed') ? ` seed ${this.hex(prop(b, 'seed'))}` : ''}${num(prop(b, 'offset')) ? ` offset ${this.raw(prop(b, 'offset'))}` : ''}`;
      case 'symhash':
        return `symhash mod ${this.raw(prop(b, 'mod'))}${num(prop(b, 'offset')) ? ` offset ${this.raw(prop(b, 'offset'))}` : ''}`;
      case 'ipsec':
        return ['ipsec', str(prop(b, 'dir')), str(prop(b, 'family')), str(prop(b, 'key')) ?? '?']
          .filter((x) => x !== null)
          .join(' ');
      default:
        // values (sets, ranges, verdicts, ...) are written by value(); anything else as it is
        return VALUE_KEYS.has(s.key) ? this.value(v, 'plain') : this.generic(v);
    }
  }

  private hex(v: JValue | undefined): string {
    const n = num(v);
    return n === null ? this.raw(v) : `0x${n.toString(16).padStart(8, '0')}`;
  }

  /** A value: immediate, set, map, range, prefix, concat, binop, verdict, or an expression. */
  value(v: JValue | undefined, style: ValueStyle): string {
    if (v === undefined) return '?';
    switch (v.kind) {
      case 'string':
        if (v.value.startsWith('@')) return v.value;
        return style === 'quoted' ? q(v.value) : v.value;
      case 'number':
        return style === 'hex' && Number.isInteger(v.value) && v.value >= 0 ? this.hex(v) : v.raw;
      case 'bool':
        return v.value ? 'exists' : 'missing';
      case 'null':
        return 'null';
      case 'array':
        return v.items.map((x) => this.value(x, style)).join(',');
      case 'object':
        return this.objectValue(v, style);
    }
  }

  private objectValue(v: JObject, style: ValueStyle): string {
    const s = single(v);
    if (s === null) return this.generic(v);
    const b = s.body;
    switch (s.key) {
      case 'set':
        return this.setValue(b, style, style);
      case 'map': {
        // the key's values are written as the key's type, the data as where the map's result goes
        const key = prop(b, 'key');
        const data = prop(b, 'data');
        const dataText =
          data?.kind === 'object' && single(data)?.key === 'set'
            ? this.setValue(single(data)!.body, styleOf(key), style)
            : this.value(data, style);
        return `${this.expr(key)} map ${dataText}`;
      }
      case 'range':
        if (b.kind === 'array' && b.items.length === 2)
          return `${this.value(b.items[0], style)}-${this.value(b.items[1], style)}`;
        return this.generic(b);
      case 'prefix':
        return `${this.value(prop(b, 'addr'), style)}/${this.raw(prop(b, 'len'))}`;
      case 'concat':
        return b.kind === 'array' ? b.items.map((x) => this.value(x, style)).join(' . ') : this.generic(b);
      case 'elem': {
        const parts = [this.value(prop(b, 'val'), style)];
        const timeout = num(prop(b, 'timeout'));
        if (timeout !== null) parts.push(`timeout ${duration(timeout)}`);
        const comment = str(prop(b, 'comment'));
        if (comment !== null) parts.push(`comment ${q(comment)}`);
        return parts.join(' ');
      }
      case '&':
      case '|':
      case '^':
      case '<<':
      case '>>': {
        // two operands, or more (nft >= 1.0.7: {"|": ["fin", "syn", "rst"]})
        if (b.kind !== 'array' || b.items.length < 2) return this.generic(b);
        const inner = (x: JValue): string => (single(x) !== null && isBinop(x) ? this.value(x, style) : this.expr(x));
        return b.items.map((x) => (isValueLike(x) ? this.value(x, style) : inner(x))).join(` ${s.key} `);
      }
      case 'accept':
      case 'drop':
      case 'continue':
      case 'return':
      case 'jump':
      case 'goto':
        return this.stmt(v);
      default:
        // an expression (payload, meta, ...), written by expr(), which never comes back here for it
        return this.expr(v);
    }
  }

  /** `{ a, b }`, or a map's `{ k : v, ... }`. */
  private setValue(b: JValue, keyStyle: ValueStyle, dataStyle: ValueStyle): string {
    const items = b.kind === 'array' ? b.items : [b];
    return `{ ${items.map((x) => this.elem(x, keyStyle, dataStyle)).join(', ')} }`;
  }

  /** A set element: a value, or a map's [key, data] pair. */
  private elem(x: JValue, keyStyle: ValueStyle, dataStyle: ValueStyle): string {
    if (x.kind === 'array' && x.items.length === 2) {
      const data = x.items[1];
      const dataText = single(data) !== null && isVerdict(data) ? this.stmt(data) : this.value(data, dataStyle);
      return `${this.value(x.items[0], keyStyle)} : ${dataText}`;
    }
    return this.value(x, keyStyle);
  }

  /** Anything else, as compact JSON-like text (never empty, never more than one line). */
  private generic(v: JValue): string {
    switch (v.kind) {
      case 'string':
        return v.value;
      case 'number':
        return v.raw;
      case 'bool':
        return String(v.value);
      case 'null':
        return 'null';
      case 'array':
        return `[${v.items.map((x) => this.generic(x)).join(', ')}]`;
      case 'object':
        return `{ ${(v as JObject).entries.map((e) => `${e.key}: ${this.generic(e.value)}`).join(', ')} }`;
    }
  }
}

/** The keys value() writes; expr() hands only these to it, so neither calls the other for ever. */
const VALUE_KEYS = new Set([
  'set',
  'map',
  'range',
  'prefix',
  'concat',
  'elem',
  '&',
  '|',
  '^',
  '<<',
  '>>',
  'accept',
  'drop',
  'continue',
  'return',
  'jump',
  'goto',
]);

function isBinop(v: JValue): boolean {
  const s = single(v);
  return s !== null && ['&', '|', '^', '<<', '>>'].includes(s.key);
}

function isVerdict(v: JValue): boolean {
  const s = single(v);
  return s !== null && ['accept', 'drop', 'continue', 'return', 'jump', 'goto'].includes(s.key);
}

/** Immediates and sets, as opposed to packet expressions (payload, meta, ...). */
function isValueLike(v: JValue): boolean {
  if (v.kind !== 'object') return true;
  const s = single(v);
  return s !== null && ['set', 'range', 'prefix', 'concat', 'elem'].includes(s.key);
}
