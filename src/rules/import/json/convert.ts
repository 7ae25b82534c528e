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
 *
 * Just over 600 lines because it is one class: every command kind (add,
 * delete, flush, rename, ...) reads and changes the same per-table indexes
 * of chains and sets, which a split would have to pass around.
 */
import type { Diagnostic } from '../../../base/diag.js';
import { visible } from '../../../base/text-escape.js';
import { quoted } from '../../../base/yaml-nodes.js';
import type {
  Chain,
  Expr,
  ObjectDecl,
  Priority,
  Rule,
  Ruleset,
  SetDecl,
  Stmt,
  Table,
  TableFamily,
} from '../nft/ast.js';
import { describe, JsonContext, strOf } from './context.js';
import { RuleConverter } from './convert-rule.js';
import type { JObject, JValue } from './read.js';
import { duration, prop, Renderer } from './render.js';

/** The newest json_schema_version fwemu reads (nft 0.9.1 to 1.1 write 1). */
export const JSON_SCHEMA_VERSION = 1;

/** nft's priority names (for every family: ip/ip6/inet's, and bridge's `out`). */
const PRIORITY_WORDS = ['raw', 'mangle', 'dstnat', 'filter', 'security', 'srcnat', 'out'];
const FAMILIES: readonly TableFamily[] = ['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev'];
/** Named stateful objects (libnftables-json: COUNTER, QUOTA, CT_HELPER, LIMIT, CT_TIMEOUT, CT_EXPECTATION; parser_json.c: secmark, synproxy). */
const OBJECT_KINDS = ['counter', 'quota', 'limit', 'ct helper', 'ct timeout', 'ct expectation', 'secmark', 'synproxy'];

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

class Converter extends JsonContext {
  /** Statements, expressions and set elements: read by their own converter, into the same diagnostics. */
  private readonly rules: RuleConverter;
  /** Tables by family and name, in the order they were created (a Map keeps it, and deletes in O(1)). */
  private tables = new Map<string, Table>();
  /** Rules per chain, with their handles; copied into the chains at the end. */
  private placed = new Map<Chain, Placed[]>();

  constructor(file: string, lineCol: (at: number) => { line: number; col: number }) {
    super(file, lineCol, []);
    this.rules = new RuleConverter(file, lineCol, this.diags);
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

  private metainfo(b: JValue): void {
    const ver = prop(b, 'json_schema_version');
    if (ver !== undefined && (ver.kind !== 'number' || ver.value > JSON_SCHEMA_VERSION))
      this.error(
        ver.at,
        `json_schema_version ${ver.kind === 'number' ? ver.raw : describe(ver)} is newer than the ${JSON_SCHEMA_VERSION} fwemu reads; the JSON may mean what fwemu cannot know`,
        'json.schema-version',
      );
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
      case 'meter': // a meter lists as a set that rules fill (nft's json.c)
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
          `${quoted(s.key)} is not an nftables JSON object (table, chain, rule, set, map, meter, element, flowtable, ${OBJECT_KINDS.join(', ')}) nor a command (add, create, insert, replace, delete, flush, rename, list, reset)`,
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
      const st = this.rules.stmt(e, r);
      if (st !== null) stmts.push(st);
    }
    // the origin text is one line whatever the JSON strings hold
    const rule: Rule = { stmts, comment, text: visible(r.rule(exprs.items, comment)), pos: this.pos(itemAt) };
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

  // ------------------------------------------------------------ sets, elements, objects

  private set(b: JObject, isMap: boolean): void {
    const what = isMap ? 'a map' : 'a set';
    const t = this.tableOf(b, what, 'table');
    const name = this.str(b, 'name', what);
    if (t === null || name === null) return;
    const r = new Renderer(t.family);
    const elemV = prop(b, 'elem');
    const elements = elemV === undefined ? [] : this.rules.elems(elemV, r);
    if (elements === null) return;
    const old = this.setNamed(t, name);
    if (old !== undefined) {
      for (const x of elements) old.elements.push(x);
      return;
    }
    const typeV = prop(b, 'type');
    // "type": a type name or a list of them; or {"typeof": EXPR} (nft >= 1.0.7 for sets declared by typeof)
    const typeofV = typeV === undefined ? undefined : prop(typeV, 'typeof');
    let keyType: string[] = [];
    let keyTypeof: Expr[] | null = null;
    if (typeofV !== undefined) {
      const e = this.rules.expr(typeofV, r);
      if (e === null) return;
      keyTypeof = e.kind === 'concat' ? e.parts : [e];
    } else keyType = this.words(b, 'type', what);
    if (typeV === undefined) this.error(b.at, `${what} has no "type"`, 'json.missing');
    const extra: string[] = [];
    for (const k of ['timeout', 'gc-interval']) {
      const n = prop(b, k);
      if (n?.kind === 'number') extra.push(`${k} ${duration(n.value)}`);
    }
    // per-element statements (`counter`, nft >= 1.0.7): kept as written
    const stmts = prop(b, 'stmt');
    if (stmts?.kind === 'array') for (const x of stmts.items) extra.push(r.stmt(x));
    for (const k of ['size', 'policy', 'auto-merge']) {
      const x = prop(b, k);
      if (x !== undefined && x.kind !== 'object' && x.kind !== 'array') extra.push(`${k} ${r.value(x, 'plain')}`);
    }
    const decl: SetDecl = {
      name,
      isMap,
      keyType,
      keyTypeof,
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
    const elements = this.rules.elems(elemV, new Renderer(t.family));
    if (elements !== null) for (const x of elements) set.elements.push(x);
  }

  private flowtable(b: JObject): void {
    const t = this.tableOf(b, 'a flowtable', 'table');
    const name = this.str(b, 'name', 'a flowtable');
    if (t === null || name === null) return;
    const hook = this.str(b, 'hook', 'a flowtable', false) ?? 'ingress';
    const prio = prop(b, 'prio');
    const devs = this.words(b, 'dev', 'a flowtable');
    const text = `flowtable ${name} { hook ${hook} priority ${prio?.kind === 'number' ? prio.raw : prio?.kind === 'string' ? prio.value : 0}; devices = { ${devs.join(', ')} }; }`;
    t.flowtables.push({ name, text: visible(text), pos: this.pos(b.at) });
  }

  private objectDecl(kind: string, b: JObject): void {
    const t = this.tableOf(b, `a ${kind}`, 'table');
    const name = this.str(b, 'name', `a ${kind}`);
    if (t === null || name === null) return;
    const decl: ObjectDecl = {
      kind,
      name,
      text: visible(objectText(kind, name, b, new Renderer(t.family))),
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
  } else if (kind === 'limit' && (strOf(prop(b, 'unit')) ?? 'packets') === 'packets') {
    const burst = n('burst');
    const burstText = burst !== null && burst !== 0 && burst !== 5 ? ` burst ${burst} packets` : '';
    body = `rate ${inv ? 'over ' : ''}${n('rate') ?? 0}/${strOf(prop(b, 'per')) ?? 'second'}${burstText}`;
  } else if (kind === 'ct helper')
    body = `type "${strOf(prop(b, 'type')) ?? '?'}" protocol ${strOf(prop(b, 'protocol')) ?? '?'} l3proto ${strOf(prop(b, 'l3proto')) ?? '?'}`;
  if (body === null)
    body = b.entries
      .filter((e) => !['family', 'table', 'name', 'handle'].includes(e.key))
      .map((e) => `${e.key} ${e.value.kind === 'bool' ? String(e.value.value) : r.value(e.value, 'plain')}`)
      .join('; ');
  return `${kind} ${name} { ${body} }`;
}

/** A table's key: nft names tables per family. */
function tableKey(family: string, name: string): string {
  return `${family} ${name}`;
}
