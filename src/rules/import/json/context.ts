/**
 * What the readers of nft JSON's parts share: positions of JSON values as
 * file:line:col, diagnostics, and the checked reading of properties (a
 * string, a whole number, a list of words) with one wording for what is
 * wrong.
 */
import { diag, type Diagnostic, type SourcePos } from '../../../base/diag.js';
import { quoted } from '../../../base/yaml-nodes.js';
import type { JsonCode } from './codes.js';
import type { JObject, JValue } from './read.js';
import { prop, single } from './render.js';

/** A JSON string's value, or null for any other value. */
export function strOf(v: JValue | undefined): string | null {
  return v !== undefined && v.kind === 'string' ? v.value : null;
}

export class JsonContext {
  constructor(
    protected readonly file: string,
    protected readonly lineCol: (at: number) => { line: number; col: number },
    readonly diags: Diagnostic[],
  ) {}

  pos(at: number): SourcePos {
    const { line, col } = this.lineCol(at);
    return { file: this.file, line, col };
  }

  protected error(at: number, message: string, code: JsonCode): void {
    const p = this.pos(at);
    this.diags.push(diag(this.file, p.line, p.col, message, code));
  }

  /** The one key of a {"key": body} object, reported when `v` is not one. */
  protected one(v: JValue, what: string): { key: string; body: JValue } | null {
    const s = single(v);
    if (s === null)
      this.error(
        v.at,
        `${what} must be an object with one key (like {"rule": {...}}), not ${describe(v)}`,
        'json.bad-value',
      );
    return s;
  }

  protected str(b: JValue, key: string, what: string, required = true): string | null {
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

  protected int(b: JValue, key: string, what: string): number | null {
    const v = prop(b, key);
    if (v === undefined) return null;
    if (v.kind !== 'number' || !Number.isSafeInteger(v.value)) {
      this.error(v.at, `"${key}" of ${what} must be a whole number, not ${describe(v)}`, 'json.bad-value');
      return null;
    }
    return v.value;
  }

  /** A string or an array of strings (flags, devices, types). */
  protected words(b: JValue, key: string, what: string): string[] {
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

  /**
   * The two properties an object must both have (`"key"` and `"data"` of a
   * map), or null after one error naming them: "a vmap needs "key" and "data"".
   */
  protected pair(b: JValue, k1: string, k2: string, what: string): [JValue, JValue] | null {
    const v1 = prop(b, k1);
    const v2 = prop(b, k2);
    if (v1 !== undefined && v2 !== undefined) return [v1, v2];
    this.error(b.at, `${what} needs "${k1}" and "${k2}"`, 'json.missing');
    return null;
  }

  protected object(b: JValue, what: string): b is JObject {
    if (b.kind === 'object') return true;
    this.error(b.at, `${what} must be an object, not ${describe(b)}`, 'json.bad-value');
    return false;
  }
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
