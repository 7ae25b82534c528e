/**
 * nftables JSON -> the nft importer's AST (../nft/ast.ts), so that one
 * builder turns text and JSON of one ruleset into one model. Reads both
 * what `nft -j list ruleset` prints (a flat list of tables, chains, sets,
 * objects and rules, each naming its table) and what `nft -j -f` takes
 * (commands: add, create, insert, replace, delete, flush, rename; list and
 * reset change nothing), applying them in order as nft does.
 *
 * Every AST node carries the position of the JSON value it came from; a
 * rule's is its object in the "nftables" array, and its text is the rule
 * as `nft list ruleset` writes it (render.ts). JSON that does not have
 * nft's shape (a missing table, a number where a name belongs) is an
 * error here; statements and expressions fwemu does not model are passed
 * on (OtherStmt, UnsupportedExpr) for the builder to judge, so that
 * --lenient works for JSON as for text.
 */
import { diag, type Diagnostic, type SourcePos } from '../../../base/diag.js';
import { quoted } from '../../../base/yaml-nodes.js';
import type {
  Chain,
  Expr,
  ObjectDecl,
  OtherStmtName,
  Priority,
  RelOp,
  Rule,
  Ruleset,
  SetDecl,
  SetElem,
  SetExpr,
  SetRefExpr,
  Stmt,
  Table,
  TableFamily,
  Verdict,
} from '../nft/ast.js';
import type { JsonCode } from './codes.js';
import type { JArray, JObject, JValue } from './read.js';
import { duration, prop, Renderer, single } from './render.js';

function str(v: JValue | undefined): string | null {
  return v !== undefined && v.kind === 'string' ? v.value : null;
}

/** The newest json_schema_version fwemu reads (nft 0.9.1 to 1.1 write 1). */
export const JSON_SCHEMA_VERSION = 1;

/** nft's priority names (for every family: ip/ip6/inet's, and bridge's `out`). */
const PRIORITY_WORDS = ['raw', 'mangle', 'dstnat', 'filter', 'security', 'srcnat', 'out'];
const FAMILIES: readonly TableFamily[] = ['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev'];
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
/** Named stateful objects (libnftables-json: COUNTER, QUOTA, CT_HELPER, LIMIT, CT_TIMEOUT, CT_EXPECTATION; parser_json.c: secmark, synproxy). */
const OBJECT_KINDS = ['counter', 'quota', 'limit', 'ct helper', 'ct timeout', 'ct expectation', 'secmark', 'synproxy'];
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

export interface Converted {
  ruleset: Ruleset;
  diagnostics: Diagnostic[];
}

/**
 * How an object is added: 'list' for the objects of a listing (a rule's
 * handle is its own), else the command (a rule's handle or index is where
 * it goes: after that rule for add, before it for insert; the rule it
 * replaces for replace).
 */
type Mode = 'list' | 'add' | 'insert' | 'replace';

/** A rule as placed in its chain, with the handle JSON gave it (for insert/replace/delete by handle). */
interface Placed {
  rule: Rule;
  handle: number | null;
}

export function toRuleset(
  root: JValue,
  file: string,
  lineCol: (at: number) => { line: number; col: number },
): Converted {
  const c = new Converter(file, lineCol);
  c.root(root);
  return { ruleset: c.ruleset(), diagnostics: c.diags };
}

class Converter {
  readonly diags: Diagnostic[] = [];
  /** Tables by family and name, in the order they were created (a Map keeps it, and deletes in O(1)). */
  private tables = new Map<string, Table>();
  /** Rules per chain, with their handles; copied into the chains at the end. */
  private placed = new Map<Chain, Placed[]>();

  constructor(
    private readonly file: string,
    private readonly lineCol: (at: number) => { line: number; col: number },
  ) {}

  pos(at: number): SourcePos {
    const { line, col } = this.lineCol(at);
    return { file: this.file, line, col };
  }

  private error(at: number, message: string, code: JsonCode): void {
    const p = this.pos(at);
    this.diags.push(diag(this.file, p.line, p.col, message, code));
  }

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

  ruleset(): Ruleset {
    for (const [chain, rules] of this.placed) chain.rules = rules.map((p) => p.rule);
    return { tables: [...this.tables.values()] };
  }

  // ------------------------------------------------------------ the top level

  root(v: JValue): void {
    const list =
      v.kind === 'object' && v.entries.length === 1 && v.entries[0].key === 'nftables' ? v.entries[0].value : null;
    if (list === null || list.kind !== 'array') {
      this.error(
        v.at,
        'this is JSON, but not nftables JSON: nft writes {"nftables": [...]} (nft -j list ruleset)',
        'json.not-nftables',
      );
      return;
    }
    for (const item of list.items) this.item(item);
  }

  private item(v: JValue): void {
    const s = this.one(v, 'an item of "nftables"');
    if (s === null) return;
    switch (s.key) {
      case 'metainfo':
        this.metainfo(s.body);
        return;
      case 'add':
      case 'create':
        this.listObject(s.body, 'add', v.at);
        return;
      case 'insert':
        this.listObject(s.body, 'insert', v.at);
        return;
      case 'replace':
        this.listObject(s.body, 'replace', v.at);
        return;
      case 'delete':
      case 'destroy':
        this.delete(s.body);
        return;
      case 'flush':
        this.flush(s.body);
        return;
      case 'rename':
        this.rename(s.body);
        return;
      case 'list':
      case 'reset':
        return; // output only: the ruleset is unchanged
      default:
        this.listObject(v, 'list', v.at);
        return;
    }
  }

  /** The one key of a {"key": body} object, reported when `v` is not one. */
  private one(v: JValue, what: string): { key: string; body: JValue } | null {
    const s = single(v);
    if (s === null)
      this.error(
        v.at,
        `${what} must be an object with one key (like {"rule": {...}}), not ${describe(v)}`,
        'json.bad-value',
      );
    return s;
  }

  private metainfo(b: JValue): void {
    const ver = prop(b, 'json_schema_version');
    if (ver !== undefined && (ver.kind !== 'number' || ver.value > JSON_SCHEMA_VERSION))
      this.error(
        ver.at,
        `json_schema_version ${ver.kind === 'number' ? ver.raw : describe(ver)} is newer than the ${JSON_SCHEMA_VERSION} fwemu reads; the JSON may mean what fwemu cannot know`,
        'json.schema-version',
      );
  }

  // ------------------------------------------------------------ properties

  private str(b: JValue, key: string, what: string, required = true): string | null {
    const v = prop(b, key);
    if (v === undefined) {
      if (required) this.error(b.at, `${what} has no "${key}"`, 'json.missing');
      return null;
    }
    if (v.kind !== 'string') {
      this.error(v.at, `"${key}" of ${what} must be a string, not ${describe(v)}`, 'json.bad-value');
      return null;
    }
    return v.value;
  }

  private int(b: JValue, key: string, what: string): number | null {
    const v = prop(b, key);
    if (v === undefined) return null;
    if (v.kind !== 'number' || !Number.isSafeInteger(v.value)) {
      this.error(v.at, `"${key}" of ${what} must be a whole number, not ${describe(v)}`, 'json.bad-value');
      return null;
    }
    return v.value;
  }

  /** A string or an array of strings (flags, devices, types). */
  private words(b: JValue, key: string, what: string): string[] {
    const v = prop(b, key);
    if (v === undefined) return [];
    const items = v.kind === 'array' ? v.items : [v];
    const out: string[] = [];
    for (const it of items) {
      if (it.kind === 'string') out.push(it.value);
      else this.error(it.at, `"${key}" of ${what} must hold strings, not ${describe(it)}`, 'json.bad-value');
    }
    return out;
  }

  private object(b: JValue, what: string): b is JObject {
    if (b.kind === 'object') return true;
    this.error(b.at, `${what} must be an object, not ${describe(b)}`, 'json.bad-value');
    return false;
  }

  // ------------------------------------------------------------ tables and chains

  private family(b: JValue, what: string): TableFamily | null {
    const f = this.str(b, 'family', what);
    if (f === null) return null;
    if ((FAMILIES as readonly string[]).includes(f)) return f as TableFamily;
    this.error(
      prop(b, 'family')!.at,
      `family ${quoted(f)} of ${what} is not one of ${FAMILIES.join(', ')}`,
      'json.bad-value',
    );
    return null;
  }

  /** The table `b` names (family and table), reported when absent unless `create`. */
  private tableOf(b: JValue, what: string, key: 'name' | 'table', create = false): Table | null {
    const family = this.family(b, what);
    const name = this.str(b, key, what);
    if (family === null || name === null) return null;
    const t = this.tables.get(tableKey(family, name));
    if (t !== undefined) return t;
    if (create) {
      const nt: Table = {
        family,
        name,
        flags: this.words(b, 'flags', what),
        comment: this.str(b, 'comment', what, false),
        chains: [],
        sets: [],
        flowtables: [],
        objects: [],
        pos: this.pos(b.at),
      };
      this.tables.set(tableKey(family, name), nt);
      return nt;
    }
    this.error(
      b.at,
      `${what} names table ${family} ${quoted(name)}, which no "table" object before it creates`,
      'json.reference',
    );
    return null;
  }

  // Lookups by name through indexes, so that a file of many tables, chains or sets costs linear time.
  private chains = new Map<Table, Map<string, Chain>>();
  private sets = new Map<Table, Map<string, SetDecl>>();

  private chainIndex(t: Table): Map<string, Chain> {
    let m = this.chains.get(t);
    if (m === undefined) this.chains.set(t, (m = new Map()));
    return m;
  }

  private setIndex(t: Table): Map<string, SetDecl> {
    let m = this.sets.get(t);
    if (m === undefined) this.sets.set(t, (m = new Map()));
    return m;
  }

  private chainNamed(t: Table, name: string): Chain | undefined {
    return this.chainIndex(t).get(name);
  }

  private setNamed(t: Table, name: string): SetDecl | undefined {
    return this.setIndex(t).get(name);
  }

  private chainOf(t: Table, b: JValue, what: string): Chain | null {
    const name = this.str(b, 'chain', what);
    if (name === null) return null;
    const c = this.chainNamed(t, name);
    if (c === undefined)
      this.error(
        prop(b, 'chain')!.at,
        `${what} names chain ${quoted(name)}, which table ${t.family} ${quoted(t.name)} does not have before it`,
        'json.reference',
      );
    return c ?? null;
  }

  private listObject(v: JValue, mode: Mode, itemAt: number): void {
    const s = this.one(v, "a command's object");
    if (s === null) return;
    const b = s.body;
    if ((mode === 'insert' || mode === 'replace') && s.key !== 'rule') {
      this.error(v.at, `${mode} takes a rule, not ${quoted(s.key)}`, 'json.bad-command');
      return;
    }
    if (!this.object(b, `"${s.key}"`)) return;
    switch (s.key) {
      case 'table':
        this.tableOf(b, 'a table', 'name', true);
        return;
      case 'chain':
        this.chain(b);
        return;
      case 'rule':
        this.rule(b, mode, itemAt);
        return;
      case 'set':
      case 'map':
        this.set(b, s.key === 'map');
        return;
      case 'element':
        this.element(b);
        return;
      case 'flowtable':
        this.flowtable(b);
        return;
      default:
        if (OBJECT_KINDS.includes(s.key)) {
          this.objectDecl(s.key, b);
          return;
        }
        this.error(
          v.at,
          `${quoted(s.key)} is not an nftables JSON object (table, chain, rule, set, map, element, flowtable, ${OBJECT_KINDS.join(', ')}) nor a command (add, create, insert, replace, delete, flush, rename, list, reset)`,
          'json.unknown',
        );
    }
  }

  private chain(b: JObject): void {
    const t = this.tableOf(b, 'a chain', 'table');
    const name = this.str(b, 'name', 'a chain');
    if (t === null || name === null) return;
    const type = this.str(b, 'type', 'a chain', false);
    const hook = this.str(b, 'hook', 'a chain', false);
    let base: Chain['base'] = null;
    if (type !== null || hook !== null) {
      const what = `base chain ${quoted(name)}`;
      if (type === null || hook === null || prop(b, 'prio') === undefined) {
        this.error(b.at, `${what} needs "type", "hook" and "prio" together`, 'json.missing');
        return;
      }
      const priority = this.priority(prop(b, 'prio')!);
      if (priority === null) return;
      const policy = this.str(b, 'policy', what, false);
      if (policy !== null && policy !== 'accept' && policy !== 'drop') {
        this.error(
          prop(b, 'policy')!.at,
          `policy ${quoted(policy)} of ${what} is not accept or drop`,
          'json.bad-value',
        );
        return;
      }
      base = {
        type,
        hook,
        priority,
        policy,
        devices: [...this.words(b, 'dev', what), ...this.words(b, 'devices', what)],
        pos: this.pos(b.at),
      };
    }
    const old = this.chainNamed(t, name);
    if (old !== undefined) {
      // nft add of an existing chain changes what it gives (the policy) and keeps the rules
      if (base !== null) old.base = base;
      return;
    }
    const chain: Chain = {
      name,
      base,
      comment: this.str(b, 'comment', 'a chain', false),
      rules: [],
      pos: this.pos(b.at),
    };
    t.chains.push(chain);
    this.chainIndex(t).set(name, chain);
    this.placed.set(chain, []);
  }

  /** "prio": a number (what nft writes), or a name with an offset ("dstnat", "filter + 10", what it also reads). */
  private priority(v: JValue): Priority | null {
    const p = this.pos(v.at);
    if (v.kind === 'number' && Number.isSafeInteger(v.value))
      return { name: null, offset: v.value, text: v.raw, pos: p };
    if (v.kind === 'string') {
      const m = /^\s*([a-z]+)?\s*(?:([+-])?\s*(\d+))?\s*$/.exec(v.value);
      const named = m?.[1] === undefined || PRIORITY_WORDS.includes(m[1]);
      const ok =
        m !== null &&
        (m[1] !== undefined || m[3] !== undefined) &&
        (m[1] === undefined || m[3] === undefined || m[2] !== undefined);
      if (ok && named) {
        const n = m[3] === undefined ? 0 : Number(m[3]) * (m[2] === '-' ? -1 : 1);
        return { name: m[1] ?? null, offset: n, text: v.value, pos: p };
      }
    }
    this.error(
      v.at,
      `"prio" must be a whole number or a priority name like "filter + 10", not ${describe(v)}`,
      'json.bad-value',
    );
    return null;
  }

  // ------------------------------------------------------------ rules

  private rule(b: JObject, mode: Mode, itemAt: number): void {
    const t = this.tableOf(b, 'a rule', 'table');
    if (t === null) return;
    const chain = this.chainOf(t, b, 'a rule');
    if (chain === null) return;
    const exprs = prop(b, 'expr');
    if (exprs === undefined || exprs.kind !== 'array') {
      this.error(exprs?.at ?? b.at, `a rule needs "expr", the array of its statements`, 'json.missing');
      return;
    }
    const comment = this.str(b, 'comment', 'a rule', false);
    const r = new Renderer(t.family);
    const stmts: Stmt[] = [];
    for (const e of exprs.items) {
      const st = this.stmt(e, r);
      if (st !== null) stmts.push(st);
    }
    const rule: Rule = { stmts, comment, text: r.rule(exprs.items, comment), pos: this.pos(itemAt) };
    const rules = this.placed.get(chain)!;
    const handle = this.int(b, 'handle', 'a rule');
    const index = this.int(b, 'index', 'a rule');
    if (mode === 'list') {
      // a listing's rule: its handle is its own (nft -j -f appends it, as here)
      rules.push({ rule, handle });
      return;
    }
    if (mode === 'add' && handle === null && index === null) {
      rules.push({ rule, handle: null });
      return;
    }
    if (mode === 'add' || mode === 'insert') {
      // with a handle or index, add puts the rule after that rule, insert before it (nft's rule position)
      let at = mode === 'add' ? rules.length : 0;
      if (index !== null) at = Math.min(rules.length, Math.max(0, index + (mode === 'add' ? 1 : 0)));
      else if (handle !== null) {
        const i = rules.findIndex((x) => x.handle === handle);
        if (i < 0) {
          this.error(
            prop(b, 'handle')!.at,
            `no rule with handle ${handle} in chain ${quoted(chain.name)} before this one`,
            'json.reference',
          );
          return;
        }
        at = mode === 'add' ? i + 1 : i;
      }
      rules.splice(at, 0, { rule, handle: null });
      return;
    }
    const i = handle === null ? -1 : rules.findIndex((x) => x.handle === handle);
    if (i < 0) {
      this.error(
        b.at,
        `replace needs the "handle" of a rule given before it in chain ${quoted(chain.name)}`,
        'json.reference',
      );
      return;
    }
    rules[i] = { rule, handle };
  }

  private stmt(v: JValue, r: Renderer): Stmt | null {
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
    const text = r.stmt(v);
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
        const key = prop(b, 'key');
        const data = prop(b, 'data');
        if (key === undefined || data === undefined) {
          this.error(b.at, 'a vmap needs "key" and "data"', 'json.missing');
          return null;
        }
        const k = this.expr(key, r);
        const m = this.mapData(data, r);
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
        const key = prop(b, 'key');
        const value = prop(b, 'value');
        if (key === undefined || value === undefined) {
          this.error(b.at, 'a mangle needs "key" and "value"', 'json.missing');
          return null;
        }
        const k = this.expr(key, r);
        const val = this.expr(value, r);
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
      case 'xt': {
        this.iptablesNft(v.at);
        // an xt match is a condition fwemu cannot evaluate (its options are not in the JSON):
        // a match on an unsupported expression, which --lenient makes a rule that never matches
        if (b.kind === 'object' && str(prop(b, 'type')) === 'match') {
          const name = `xt match ${str(prop(b, 'name')) ?? '?'}`;
          return {
            kind: 'match',
            left: { kind: 'unsupported', name, text, pos },
            op: 'implicit',
            right: { kind: 'symbol', text: 'true', quoted: false, pos },
            pos,
            text,
          };
        }
        return { kind: 'other', name: 'xt', pos, text };
      }
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

  private expr(v: JValue, r: Renderer): Expr | null {
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
          return { kind: 'unsupported', name: `raw payload @${str(prop(b, 'base')) ?? '?'}`, text: r.expr(v), pos };
        const tunnel = str(prop(b, 'tunnel'));
        // an inner header (`vxlan ip saddr`, nft >= 1.0.7): not the packet's own, which fwemu models
        if (tunnel !== null) {
          const proto = str(prop(b, 'protocol')) ?? '?';
          // named as the text parser names it: `geneve ip` for an inner header, `geneve vni` for the tunnel's own
          const name = `${tunnel} ${proto === tunnel ? (str(prop(b, 'field')) ?? '?') : proto}`;
          return { kind: 'unsupported', name, text: r.expr(v), pos };
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
        const key = prop(b, 'key');
        const data = prop(b, 'data');
        if (key === undefined || data === undefined) {
          this.error(b.at, 'a map needs "key" and "data"', 'json.missing');
          return null;
        }
        const k = this.expr(key, r);
        const m = this.mapData(data, r);
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
    return { kind: 'unsupported', name, text: r.expr(v), pos };
  }

  /** {"set": [...]}: elements, a map's [key, data] pairs among them. */
  private setExpr(b: JValue, r: Renderer, pos: SourcePos): SetExpr | null {
    const elems = this.elems(b, r);
    return elems === null ? null : { kind: 'set', elems, pos };
  }

  private elems(b: JValue, r: Renderer): SetElem[] | null {
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

  // ------------------------------------------------------------ sets, elements, objects

  private set(b: JObject, isMap: boolean): void {
    const what = isMap ? 'a map' : 'a set';
    const t = this.tableOf(b, what, 'table');
    const name = this.str(b, 'name', what);
    if (t === null || name === null) return;
    const r = new Renderer(t.family);
    const elemV = prop(b, 'elem');
    const elements = elemV === undefined ? [] : this.elems(elemV, r);
    if (elements === null) return;
    const old = this.setNamed(t, name);
    if (old !== undefined) {
      old.elements.push(...elements);
      return;
    }
    const typeV = prop(b, 'type');
    const keyType = this.words(b, 'type', what);
    if (typeV === undefined) this.error(b.at, `${what} has no "type"`, 'json.missing');
    const extra: string[] = [];
    for (const k of ['timeout', 'gc-interval']) {
      const n = prop(b, k);
      if (n?.kind === 'number') extra.push(`${k} ${duration(n.value)}`);
    }
    for (const k of ['size', 'policy', 'auto-merge']) {
      const x = prop(b, k);
      if (x !== undefined && x.kind !== 'object' && x.kind !== 'array') extra.push(`${k} ${r.value(x, 'plain')}`);
    }
    const decl: SetDecl = {
      name,
      isMap,
      keyType,
      keyTypeof: null,
      dataType: isMap ? this.words(b, 'map', what).join(' . ') || null : null,
      flags: this.words(b, 'flags', what),
      elements,
      extra,
      comment: this.str(b, 'comment', what, false),
      pos: this.pos(b.at),
    };
    if (isMap && decl.dataType === null)
      this.error(b.at, `${what} has no "map" (the type of its values)`, 'json.missing');
    t.sets.push(decl);
    this.setIndex(t).set(name, decl);
  }

  private element(b: JObject): void {
    const t = this.tableOf(b, 'an element', 'table');
    const name = this.str(b, 'name', 'an element');
    if (t === null || name === null) return;
    const set = this.setNamed(t, name);
    if (set === undefined) {
      this.error(
        prop(b, 'name')!.at,
        `an element names set ${quoted(name)}, which table ${t.family} ${quoted(t.name)} does not have before it`,
        'json.reference',
      );
      return;
    }
    const elemV = prop(b, 'elem');
    if (elemV === undefined) return;
    const elements = this.elems(elemV, new Renderer(t.family));
    if (elements !== null) set.elements.push(...elements);
  }

  private flowtable(b: JObject): void {
    const t = this.tableOf(b, 'a flowtable', 'table');
    const name = this.str(b, 'name', 'a flowtable');
    if (t === null || name === null) return;
    const hook = this.str(b, 'hook', 'a flowtable', false) ?? 'ingress';
    const prio = prop(b, 'prio');
    const devs = this.words(b, 'dev', 'a flowtable');
    const text = `flowtable ${name} { hook ${hook} priority ${prio?.kind === 'number' ? prio.raw : prio?.kind === 'string' ? prio.value : 0}; devices = { ${devs.join(', ')} }; }`;
    t.flowtables.push({ name, text, pos: this.pos(b.at) });
  }

  private objectDecl(kind: string, b: JObject): void {
    const t = this.tableOf(b, `a ${kind}`, 'table');
    const name = this.str(b, 'name', `a ${kind}`);
    if (t === null || name === null) return;
    const decl: ObjectDecl = {
      kind,
      name,
      text: objectText(kind, name, b, new Renderer(t.family)),
      pos: this.pos(b.at),
    };
    t.objects.push(decl);
  }

  // ------------------------------------------------------------ delete, flush, rename

  private delete(v: JValue): void {
    const s = this.one(v, 'what delete removes');
    if (s === null || !this.object(s.body, `"${s.key}"`)) return;
    const b = s.body;
    if (s.key === 'table') {
      const t = this.tableOf(b, 'a table', 'name');
      if (t !== null) this.tables.delete(tableKey(t.family, t.name));
      return;
    }
    const t = this.tableOf(b, `a ${s.key}`, 'table');
    if (t === null) return;
    if (s.key === 'rule') {
      const chain = this.chainOf(t, b, 'a rule');
      const handle = this.int(b, 'handle', 'a rule');
      const rules = chain === null ? null : this.placed.get(chain)!;
      const i = rules === null || handle === null ? -1 : rules.findIndex((x) => x.handle === handle);
      if (rules !== null && i >= 0) rules.splice(i, 1);
      else if (chain !== null)
        this.error(
          b.at,
          `delete rule needs the "handle" of a rule given before it in chain ${quoted(chain.name)}`,
          'json.reference',
        );
      return;
    }
    const name = this.str(b, 'name', `a ${s.key}`);
    if (name === null) return;
    if (s.key === 'chain') {
      t.chains = t.chains.filter((c) => c.name !== name);
      this.chainIndex(t).delete(name);
    } else if (s.key === 'set' || s.key === 'map') {
      t.sets = t.sets.filter((x) => x.name !== name);
      this.setIndex(t).delete(name);
    } else if (s.key === 'flowtable') t.flowtables = t.flowtables.filter((x) => x.name !== name);
    else if (OBJECT_KINDS.includes(s.key)) t.objects = t.objects.filter((x) => !(x.kind === s.key && x.name === name));
    else if (s.key === 'element') {
      this.error(v.at, 'delete element is not read by fwemu; give the set its final elements', 'json.bad-command');
    } else this.error(v.at, `delete of ${quoted(s.key)} is not an nftables JSON command`, 'json.bad-command');
  }

  private flush(v: JValue): void {
    const s = this.one(v, 'what flush empties');
    if (s === null) return;
    if (s.key === 'ruleset') {
      this.tables.clear();
      return;
    }
    if (!this.object(s.body, `"${s.key}"`)) return;
    const b = s.body;
    const t = this.tableOf(b, `a ${s.key}`, s.key === 'table' ? 'name' : 'table');
    if (t === null) return;
    const name = s.key === 'table' ? null : this.str(b, 'name', `a ${s.key}`);
    if (s.key === 'table') for (const c of t.chains) this.placed.set(c, []);
    else if (s.key === 'chain') {
      const c = name === null ? undefined : this.chainNamed(t, name);
      if (c !== undefined) this.placed.set(c, []);
    } else if (s.key === 'set' || s.key === 'map') {
      const set = name === null ? undefined : this.setNamed(t, name);
      if (set !== undefined) set.elements = [];
    } else this.error(v.at, `flush of ${quoted(s.key)} is not an nftables JSON command`, 'json.bad-command');
  }

  private rename(v: JValue): void {
    const s = this.one(v, 'what rename renames');
    if (s === null || s.key !== 'chain' || !this.object(s.body, '"chain"')) {
      if (s !== null) this.error(v.at, 'rename takes a chain', 'json.bad-command');
      return;
    }
    const t = this.tableOf(s.body, 'a chain', 'table');
    const name = this.str(s.body, 'name', 'a chain');
    const newname = this.str(s.body, 'newname', 'a chain');
    const c = t === null || name === null ? undefined : this.chainNamed(t, name);
    if (t !== null && c !== undefined && newname !== null) {
      this.chainIndex(t).delete(c.name);
      c.name = newname;
      this.chainIndex(t).set(newname, c);
    }
  }
}

/**
 * How the AST names an expression fwemu does not model, as the text parser
 * names the same expression ("socket transparent", "rt mtu", "tcp option").
 */
function unsupportedName(key: string, b: JValue): string {
  const k = str(prop(b, 'key'));
  if ((key === 'socket' || key === 'rt') && k !== null) return `${key} ${k}`;
  if (key === 'exthdr') {
    const n = str(prop(b, 'name'));
    return n !== null && prop(b, 'field') !== undefined ? `${n} (IPv6 extension header)` : 'exthdr';
  }
  return key;
}

/** A byte count as nft writes it: in the largest of bytes, kbytes, mbytes, gbytes that divides it. */
function bytesText(n: number): string {
  const units = ['bytes', 'kbytes', 'mbytes', 'gbytes'];
  let i = 0;
  while (i < units.length - 1 && n !== 0 && n % 1024 === 0) {
    n /= 1024;
    i++;
  }
  return `${n} ${units[i]}`;
}

/** A stateful object's declaration on one line, as `nft list ruleset` writes it (folded). */
function objectText(kind: string, name: string, b: JObject, r: Renderer): string {
  const n = (k: string): number | null => {
    const v = prop(b, k);
    return v?.kind === 'number' ? v.value : null;
  };
  const invV = prop(b, 'inv');
  const inv = invV?.kind === 'bool' && invV.value;
  let body: string | null = null;
  if (kind === 'counter') body = `packets ${n('packets') ?? 0} bytes ${n('bytes') ?? 0}`;
  else if (kind === 'quota') {
    const used = n('used');
    body = `${inv ? 'over ' : ''}${bytesText(n('bytes') ?? 0)}${used ? ` used ${bytesText(used)}` : ''}`;
  } else if (kind === 'limit' && (str(prop(b, 'unit')) ?? 'packets') === 'packets') {
    const burst = n('burst');
    const burstText = burst !== null && burst !== 0 && burst !== 5 ? ` burst ${burst} packets` : '';
    body = `rate ${inv ? 'over ' : ''}${n('rate') ?? 0}/${str(prop(b, 'per')) ?? 'second'}${burstText}`;
  } else if (kind === 'ct helper')
    body = `type "${str(prop(b, 'type')) ?? '?'}" protocol ${str(prop(b, 'protocol')) ?? '?'} l3proto ${str(prop(b, 'l3proto')) ?? '?'}`;
  if (body === null)
    body = b.entries
      .filter((e) => !['family', 'table', 'name', 'handle'].includes(e.key))
      .map((e) => `${e.key} ${e.value.kind === 'bool' ? String(e.value.value) : r.value(e.value, 'plain')}`)
      .join('; ');
  return `${kind} ${name} { ${body} }`;
}

/** What a JSON value is, for "must be X, not <this>" messages. */
export function describe(v: JValue): string {
  switch (v.kind) {
    case 'object':
      return v.entries.length === 0
        ? 'an empty object'
        : `an object with ${v.entries
            .map((e) => quoted(e.key))
            .slice(0, 3)
            .join(', ')}${v.entries.length > 3 ? ', ...' : ''}`;
    case 'array':
      return 'an array';
    case 'string':
      return `the string ${quoted(v.value.length > 40 ? `${v.value.slice(0, 40)}...` : v.value)}`;
    case 'number':
      return `the number ${v.raw}`;
    case 'bool':
      return String(v.value);
    case 'null':
      return 'null';
  }
}

/** A table's key: nft names tables per family. */
function tableKey(family: string, name: string): string {
  return `${family} ${name}`;
}
