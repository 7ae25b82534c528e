/**
 * JSON with positions: the text is read by the yaml package's parser (JSON
 * is YAML 1.2 flow syntax, and yaml's tokens keep their offsets), then
 * every token is checked to be JSON as jansson, nft's reader, takes it:
 * no comments, anchors, tags, aliases, unquoted words, single quotes,
 * trailing commas or YAML escapes. Strings and numbers are decoded by
 * JSON.parse of their own source, so their meaning is JSON's, not YAML's.
 *
 * Hostile input gives positioned errors, never exceptions: the size is
 * bounded before parsing, nesting is measured on the tokens before any
 * recursion (yaml's parser keeps its own stack), and the tree is then
 * built with recursion bounded by that depth.
 */
import { LineCounter, Parser, type CST } from 'yaml';
import { quoted } from '../../../base/yaml-nodes.js';
import type { JsonCode } from './codes.js';

/**
 * Largest JSON text read. yaml's tokens cost about 80 bytes of heap per byte
 * of JSON while they are read (measured: 429 MB for a 5.3 MB listing), so
 * 16 MiB keeps the peak near 1.3 GB, inside node's default heap, where 64
 * MiB would end in an out-of-memory crash instead of a message. A listing
 * of 6,000 rules is about 1 MB.
 */
export const MAX_JSON_BYTES = 16 * 1024 * 1024;

/** Deepest nesting of arrays and objects read: nft's JSON nests about 12 levels (a rule's map of concatenations). */
export const MAX_JSON_DEPTH = 64;

/** A JSON value and the offset in the text where it starts. */
export type JValue = JObject | JArray | JString | JNumber | JBool | JNull;

export interface JObject {
  kind: 'object';
  at: number;
  entries: JEntry[];
}
export interface JEntry {
  key: string;
  keyAt: number;
  value: JValue;
}
export interface JArray {
  kind: 'array';
  at: number;
  items: JValue[];
}
export interface JString {
  kind: 'string';
  at: number;
  value: string;
}
export interface JNumber {
  kind: 'number';
  at: number;
  value: number;
  /** As written, for messages and for integers beyond 2^53 (counters). */
  raw: string;
}
export interface JBool {
  kind: 'bool';
  at: number;
  value: boolean;
}
export interface JNull {
  kind: 'null';
  at: number;
}

/** A problem found while reading: where (offset), what, and its code. */
export interface JProblem {
  at: number;
  message: string;
  code: JsonCode;
}

export interface JsonRead {
  /** The value, or null when the text is not JSON (problems say why). */
  value: JValue | null;
  problems: JProblem[];
  /** Offsets to 1-based line and column. */
  lineCol(at: number): { line: number; col: number };
}

const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** Reads `text` as one JSON value. */
export function readJson(text: string): JsonRead {
  const lc = new LineCounter();
  const problems: JProblem[] = [];
  const lineCol = (at: number): { line: number; col: number } => {
    const o = Math.max(0, Math.min(at, text.length));
    // before the parser has run (a file refused for its size) no line is counted yet
    return lc.lineStarts.length === 0 ? { line: 1, col: o + 1 } : lc.linePos(o);
  };
  const fail = (at: number, message: string, code: JsonCode): JsonRead => {
    problems.push({ at, message, code });
    return { value: null, problems, lineCol };
  };
  if (text.length > MAX_JSON_BYTES)
    return fail(
      0,
      `the file holds ${text.length} characters; the JSON reader takes at most ${MAX_JSON_BYTES} (${MAX_JSON_BYTES / 1024 / 1024} MiB)`,
      'json.too-big',
    );
  let tokens: CST.Token[];
  try {
    tokens = Array.from(new Parser(lc.addNewLine).parse(text));
  } catch (e) {
    // yaml's parser does not throw on bad input; this guards the promise of no exceptions.
    return fail(0, `the JSON could not be read (${(e as Error).message})`, 'json.syntax');
  }
  const reader = new TokenReader(text, problems, lineCol);
  let value: JValue | null = null;
  let seenDoc = false;
  for (const t of tokens) {
    if (t.type === 'document') {
      if (seenDoc) {
        problems.push({ at: t.offset, message: 'more than one JSON value in the file', code: 'json.syntax' });
        break;
      }
      seenDoc = true;
      value = reader.document(t);
      if (problems.length > 0) break; // one problem: what follows a JSON error is rarely worth reading
    } else if (t.type === 'byte-order-mark' || t.type === 'space' || t.type === 'newline') {
    } else {
      problems.push(reader.unexpected(t, seenDoc ? ' after the value' : ''));
      break;
    }
  }
  if (!seenDoc && problems.length === 0) problems.push({ at: 0, message: 'the file is empty', code: 'json.syntax' });
  return { value: problems.length === 0 ? value : null, problems, lineCol };
}

/** What a token is, in a message. */
function describeToken(t: CST.Token): string {
  switch (t.type) {
    case 'comment':
      return 'a comment (JSON has none)';
    case 'anchor':
      return `a YAML anchor ${quoted(t.source)} (JSON has none)`;
    case 'tag':
      return `a YAML tag ${quoted(t.source)} (JSON has none)`;
    case 'alias':
      return `a YAML alias ${quoted(t.source)} (JSON has none)`;
    case 'single-quoted-scalar':
      return `a single-quoted string ${clip(t.source)} (JSON strings take double quotes)`;
    case 'block-map':
    case 'block-seq':
    case 'block-scalar':
      return 'YAML block syntax (JSON writes objects in { } and arrays in [ ])';
    case 'doc-start':
    case 'doc-end':
    case 'directive':
    case 'directive-line':
      return `a YAML document marker ${clip(t.source)}`;
    case 'error':
      return `${clip(t.source)} (${t.message})`;
    default:
      return 'source' in t ? clip(t.source) : t.type;
  }
}

/** Source text quoted for a message, cut to a readable length. */
function clip(s: string): string {
  return quoted(s.length > 40 ? `${s.slice(0, 40)}...` : s);
}

class TokenReader {
  constructor(
    private readonly text: string,
    private readonly problems: JProblem[],
    private readonly lineCol: (at: number) => { line: number; col: number },
  ) {}

  private where(at: number): string {
    const { line, col } = this.lineCol(at);
    return `${line}:${col}`;
  }

  unexpected(t: CST.Token, where = ''): JProblem {
    return { at: t.offset, message: `not JSON${where}: ${describeToken(t)}`, code: 'json.not-json' };
  }

  /** Only blanks (and a byte order mark before the value) are allowed around JSON's tokens. */
  private blanks(ts: readonly CST.SourceToken[] | undefined, allowed: readonly string[] = [], where = ''): boolean {
    for (const t of ts ?? []) {
      if (t.type === 'space' || t.type === 'newline' || allowed.includes(t.type)) continue;
      this.problems.push(this.unexpected(t, where));
      return false;
    }
    return true;
  }

  document(doc: CST.Document): JValue | null {
    if (!this.blanks(doc.start, ['byte-order-mark'])) return null;
    if (doc.value === undefined) {
      this.problems.push({ at: doc.offset, message: 'the file holds no JSON value', code: 'json.syntax' });
      return null;
    }
    if (doc.value.type === 'block-map' || doc.value.type === 'block-seq') {
      // yaml reads `{...} {...}` or `{...} x` as a block mapping with the first value as its key
      this.problems.push({
        at: doc.value.offset,
        message: 'not JSON: the file is not one JSON value (text follows the value, or YAML block syntax)',
        code: 'json.not-json',
      });
      return null;
    }
    if (!this.measure(doc.value)) return null;
    const v = this.value(doc.value);
    if (v === null || !this.blanks(doc.end, [], ' after the value')) return null;
    return v;
  }

  /**
   * Refuses nesting deeper than MAX_JSON_DEPTH before value() recurses:
   * an explicit stack over the tokens, linear in their number.
   */
  private measure(top: CST.Token): boolean {
    const stack: [CST.Token, number][] = [[top, 1]];
    while (stack.length > 0) {
      const [t, d] = stack.pop()!;
      if (t.type !== 'flow-collection' && t.type !== 'block-map' && t.type !== 'block-seq') continue;
      if (d > MAX_JSON_DEPTH) {
        this.problems.push({
          at: t.offset,
          message: `arrays and objects nested deeper than ${MAX_JSON_DEPTH} levels here; nftables JSON needs about 12`,
          code: 'json.too-deep',
        });
        return false;
      }
      for (const it of t.items as CST.CollectionItem[]) {
        if (it.key) stack.push([it.key, d + 1]);
        if (it.value) stack.push([it.value, d + 1]);
      }
    }
    return true;
  }

  private value(t: CST.Token): JValue | null {
    switch (t.type) {
      case 'flow-collection':
        return this.collection(t);
      case 'double-quoted-scalar': {
        const s = this.string(t);
        return s === null ? null : { kind: 'string', at: t.offset, value: s };
      }
      case 'scalar':
        return this.plain(t);
      default:
        this.problems.push(this.unexpected(t));
        return null;
    }
  }

  /** A JSON string: its source decoded by JSON.parse (YAML's escapes and folded line breaks are not JSON's). */
  private string(t: CST.FlowScalar): string | null {
    if (!this.blanks(t.end)) return null;
    try {
      const v: unknown = JSON.parse(t.source);
      if (typeof v === 'string') return v;
    } catch {}
    const bad = /[\u0000-\u001f]/.test(t.source)
      ? 'a control character (a line break, a tab) inside a string; JSON writes it as \\n, \\t, \\u00XX'
      : `a string with an escape JSON does not have: ${clip(t.source)}`;
    this.problems.push({ at: t.offset, message: `not JSON: ${bad}`, code: 'json.not-json' });
    return null;
  }

  /** A number, true, false or null: YAML's plain scalars that are JSON. */
  private plain(t: CST.FlowScalar): JValue | null {
    if (!this.blanks(t.end)) return null;
    const s = t.source;
    if (s === 'true' || s === 'false') return { kind: 'bool', at: t.offset, value: s === 'true' };
    if (s === 'null') return { kind: 'null', at: t.offset };
    if (JSON_NUMBER.test(s)) return { kind: 'number', at: t.offset, value: Number(s), raw: s };
    this.problems.push({
      at: t.offset,
      message: `not JSON: ${clip(s)} is neither a number, true, false nor null (JSON strings are written in double quotes)`,
      code: 'json.not-json',
    });
    return null;
  }

  private collection(t: CST.FlowCollection): JValue | null {
    const isMap = t.start.type === 'flow-map-start';
    const close = isMap ? 'flow-map-end' : 'flow-seq-end';
    const entries: JEntry[] = [];
    const items: JValue[] = [];
    const seen = new Map<string, number>();
    let n = 0;
    for (const it of t.items) {
      // Items after the first start with their comma; an item that is only a comma is a trailing or doubled one.
      const commas = it.start.filter((s) => s.type === 'comma');
      const comma = commas.at(-1);
      if (!this.blanks(it.start, ['comma'])) return null;
      // blanks before a closing bracket on a line of their own: an item of nothing
      if (commas.length === 0 && it.key === undefined && it.value === undefined && it.sep === undefined) continue;
      const wantComma = n++ > 0;
      if (wantComma !== (comma !== undefined) || commas.length > 1) {
        this.problems.push({
          at: comma?.offset ?? it.key?.offset ?? it.value?.offset ?? t.offset,
          message: wantComma
            ? 'not JSON: two commas in a row, or none between two values'
            : 'not JSON: a comma before the first value',
          code: 'json.not-json',
        });
        return null;
      }
      if (it.key === undefined && it.value === undefined && it.sep === undefined) {
        this.problems.push({
          at: comma!.offset,
          message: 'not JSON: a comma after the last value (JSON allows no trailing comma)',
          code: 'json.not-json',
        });
        return null;
      }
      if (isMap) {
        const e = this.entry(t, it);
        if (e === null) return null;
        const first = seen.get(e.key);
        if (first !== undefined) {
          this.problems.push({
            at: e.keyAt,
            message: `key ${quoted(e.key)} given twice in one object (first at ${this.where(first)}); nft would keep only the last`,
            code: 'json.duplicate-key',
          });
          return null;
        }
        seen.set(e.key, e.keyAt);
        entries.push(e);
      } else {
        if (it.key !== undefined || it.sep !== undefined) {
          this.problems.push({
            at: it.key?.offset ?? it.sep?.[0]?.offset ?? t.offset,
            message: 'not JSON: a "key": value pair inside an array (arrays hold values only)',
            code: 'json.not-json',
          });
          return null;
        }
        const v = this.value(it.value!);
        if (v === null) return null;
        items.push(v);
      }
    }
    // The end holds the closing bracket and blanks; anything else is a bracket that does not match, or none.
    // (Checked after the items, so that the innermost unclosed bracket is the one reported.)
    const closer = t.end.find((e) => e.type !== 'space' && e.type !== 'newline' && e.type !== 'comment');
    if (closer === undefined || closer.type !== close) {
      this.problems.push({
        at: closer?.offset ?? this.text.length,
        message: `${isMap ? 'an object' : 'an array'} opened at ${this.where(t.offset)} is not closed by ${isMap ? '}' : ']'}${closer ? `; found ${clip(closer.source)}` : ' before the end of the file'}`,
        code: 'json.syntax',
      });
      return null;
    }
    if (!this.blanks(t.end.filter((e) => e !== closer))) return null;
    return isMap ? { kind: 'object', at: t.offset, entries } : { kind: 'array', at: t.offset, items };
  }

  private entry(t: CST.FlowCollection, it: CST.CollectionItem): JEntry | null {
    const k = it.key;
    if (k === undefined || k === null || k.type !== 'double-quoted-scalar') {
      const at = k?.offset ?? it.value?.offset ?? t.offset;
      this.problems.push({
        at,
        message: `not JSON: an object's keys are strings in double quotes${k ? `, not ${describeToken(k)}` : ''}`,
        code: 'json.not-json',
      });
      return null;
    }
    const key = this.string(k);
    if (key === null) return null;
    const inds = it.sep?.filter((s) => s.type === 'map-value-ind') ?? [];
    const ind = inds[0];
    if (inds.length > 1) {
      this.problems.push({ at: inds[1].offset, message: 'not JSON: a second ":" after a key', code: 'json.not-json' });
      return null;
    }
    if (ind === undefined || it.value === undefined) {
      this.problems.push({
        at: ind?.offset ?? k.offset,
        message: `key ${quoted(key)} has no value (JSON writes "key": value)`,
        code: 'json.syntax',
      });
      return null;
    }
    if (!this.blanks(it.sep, ['map-value-ind'])) return null;
    const value = this.value(it.value);
    return value === null ? null : { key, keyAt: k.offset, value };
  }
}
