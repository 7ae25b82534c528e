/**
 * The positioned YAML reader under every user file fwemu reads (rule files,
 * scenarios, policy expectations): one place that turns nodes into
 * positions, aliases into their targets, mappings into checked entries and
 * scalars into values, so all of them word the same problem the same way.
 * Each reader keeps its own wording where its files differ (what they are
 * called, how a second position is written); the rest is here.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, type Document, type Node as YNode, type ParsedNode } from 'yaml';
import { diag, type BaseCode, type Diagnostic, type SourcePos } from './diag.js';
import { didYouMean } from './suggest.js';
import { aliasBomb, describeNode, parseDocumentBounded, tooDeepMessage } from './yaml-nodes.js';

/** One key of a mapping, as readMap() found it. */
export interface Entry {
  key: ParsedNode;
  /** The value node with aliases resolved; null when the key has no value at all. */
  value: ParsedNode | null;
  /** Position for diagnostics about the value (the value, or the key when the value is missing). */
  at: ParsedNode;
}

/** "a, b, c": how allowed values are listed in messages. */
export function list(xs: readonly string[]): string {
  return xs.join(', ');
}

/** How a reader words what differs between kinds of files. */
export interface ReaderStyle {
  /** The files' name in messages: "rule files", "scenario files". */
  files: string;
  /** How a second position is quoted ("first given at ..."): "file:line:col", or "line N" within one file. */
  at: 'file:line:col' | 'line';
  /** Advice after "YAML merge keys (<<) are not supported in <files>; ". */
  mergeAdvice: string;
  /**
   * An unknown key given twice is reported as a duplicate the second time
   * (rule files), rather than as unknown twice (scenarios).
   */
  unknownThenDuplicate: boolean;
}

/** A YAML syntax hint: when the line (comments stripped) matches, the hint is added to the message. */
export type YamlHint = readonly [RegExp, string];

export interface ParseOptions {
  /** The message for a second YAML document. */
  multipleDocs: string;
  /** Hints for syntax errors, tried in order before the tab hint. */
  hints: readonly YamlHint[];
  /** Whether yaml's warnings become warnings of the file. */
  warnings: boolean;
  /** Most alias expansions allowed ("billion laughs" guard), and who may use aliases (for the message). */
  maxAliases: number;
  aliasUsers: string;
}

/**
 * The whole number `node` holds when it is one in lo-hi, else null; reports
 * nothing. For values that may instead be something else (a seed word, a
 * protocol name), where the caller reports what fits neither.
 */
export function wholeNumberIn(node: ParsedNode | null, lo: number, hi: number): number | null {
  if (node === null || !isScalar(node) || typeof node.value !== 'number') return null;
  const n = node.value;
  return Number.isInteger(n) && n >= lo && n <= hi ? n : null;
}

/** "1m30s", "250us", "1.5s": a duration in microseconds, or null when the text is not one. */
export function parseDuration(text: string): number | null {
  const s = text.trim();
  if (!/^(\d+(\.\d+)?(us|µs|ms|s|m|h|d))+$/.test(s)) return null;
  const unit: Record<string, number> = { us: 1, µs: 1, ms: 1e3, s: 1e6, m: 60e6, h: 3600e6, d: 86400e6 };
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(us|µs|ms|s|m|h|d)/g)) total += Number(m[1]) * unit[m[2]];
  const r = Math.round(total);
  if (Math.abs(r - total) > 1e-6 * Math.max(1, total)) return null;
  return r;
}

export const DURATION_HELP = 'a duration is a number with a unit, like 250us, 500ms, 30s, 2m, 1h or 1m30s';

/**
 * `C` is the reader's own diagnostic codes (its table: RULE_CODES, ...);
 * every diagnostic carries one of them or a BaseCode.
 */
export class YamlReader<C extends string = never> {
  /** Errors among diags: counted, not recounted per item (that was quadratic in the number of warnings). */
  errors = 0;
  doc!: Document.Parsed;

  constructor(
    readonly text: string,
    readonly file: string,
    private readonly style: ReaderStyle,
    readonly lc: LineCounter = new LineCounter(),
    readonly diags: Diagnostic[] = [],
  ) {}

  // --- positions and diagnostics ---------------------------------------------

  posOf(offset: number): SourcePos {
    const { line, col } = this.lc.linePos(Math.max(0, offset));
    return { file: this.file, line, col };
  }

  nodePos(node: YNode | null | undefined): SourcePos {
    const r = node?.range;
    return this.posOf(r ? r[0] : 0);
  }

  error(node: YNode | null | undefined, message: string, code: C | BaseCode): void {
    this.errorAt(this.nodePos(node), message, code);
  }

  errorAt(p: SourcePos, message: string, code: C | BaseCode): void {
    this.diags.push(diag(this.file, p.line, p.col, message, code));
    this.errors++;
  }

  warn(node: YNode | null | undefined, message: string, code: C | BaseCode): void {
    const p = this.nodePos(node);
    this.diags.push(diag(this.file, p.line, p.col, message, code, 'warning'));
  }

  /** A second position, quoted inside a message. */
  fmt(p: SourcePos): string {
    return this.style.at === 'line' ? `line ${p.line}` : `${p.file}:${p.line}:${p.col}`;
  }

  // --- the document ------------------------------------------------------------

  /**
   * Parses the text into `doc`: nesting bounded, syntax errors reported
   * (with hints), aliases bounded. False when the tree is not worth
   * reading (follow-on errors would only pile up).
   */
  parse(o: ParseOptions): boolean {
    const parsed = parseDocumentBounded(this.text, {
      lineCounter: this.lc,
      prettyErrors: false,
      uniqueKeys: false, // reported by readMap, with both positions
      strict: true,
    });
    if (parsed.doc === null) {
      this.errorAt(this.posOf(parsed.deep), tooDeepMessage(), 'yaml.too-deep');
      return false;
    }
    this.doc = parsed.doc;
    for (const e of this.doc.errors) {
      const p = this.posOf(e.pos[0]);
      if (e.code === 'MULTIPLE_DOCS') this.errorAt(p, o.multipleDocs, 'yaml.multiple-documents');
      else this.errorAt(p, `YAML syntax error: ${e.message}${this.yamlHint(p.line, o.hints)}`, 'yaml.syntax');
    }
    if (o.warnings) {
      for (const w of this.doc.warnings) {
        const p = this.posOf(w.pos[0]);
        this.diags.push(diag(this.file, p.line, p.col, `YAML: ${w.message}`, 'yaml.warning', 'warning'));
      }
    }
    if (this.doc.errors.length > 0) return false;
    const bomb = aliasBomb(this.doc, o.maxAliases);
    if (bomb !== null) {
      this.error(
        bomb.first ?? this.doc.contents,
        `too many YAML alias expansions (${bomb.message}); ${o.aliasUsers} may use anchors and aliases, but not to build huge structures`,
        'yaml.alias-bomb',
      );
      return false;
    }
    return true;
  }

  /** Extra advice for YAML syntax errors that people commonly hit. */
  private yamlHint(line: number, hints: readonly YamlHint[]): string {
    const start = this.lc.lineStarts[line - 1] ?? 0;
    const end = this.lc.lineStarts[line] ?? this.text.length;
    const src = this.text.slice(start, end).replace(/#.*$/, '').trimEnd();
    for (const [re, hint] of hints) if (re.test(src)) return hint;
    if (/\t/.test(this.text.slice(start, end))) return '; YAML indentation must use spaces, not tabs';
    return '';
  }

  // --- nodes ---------------------------------------------------------------------

  deref(node: unknown): ParsedNode | null {
    if (node === null || node === undefined) return null;
    if (isAlias(node)) {
      // No count needed here: parse() has already rejected alias bombs, and
      // readers follow an alias one level deep.
      const target = node.resolve(this.doc);
      if (!target) {
        this.error(
          node as YNode,
          `alias *${node.source} refers to no anchor &${node.source} defined before it`,
          'yaml.unknown-alias',
        );
        return null;
      }
      return target as ParsedNode;
    }
    return node as ParsedNode;
  }

  /**
   * A value given as one item or as a list of them (`dport: 80`, `dport: [80, 443]`):
   * its items, aliases resolved; or null, reported, when the list is empty
   * (`empty`) or the value is neither a list nor an item `one` accepts (`wrong`).
   */
  oneOrList(
    e: Entry,
    one: (v: ParsedNode) => boolean,
    empty: [message: string, code: C],
    wrong: [message: string, code: C],
  ): ParsedNode[] | null {
    const v = e.value;
    if (v !== null && isSeq(v)) {
      if (v.items.length > 0) return this.items(v);
      this.error(e.at, empty[0], empty[1]);
      return null;
    }
    if (v !== null && one(v)) return [v];
    this.error(e.at, wrong[0], wrong[1]);
    return null;
  }

  /** A list's items, aliases resolved (items that resolve to nothing left out). */
  items(seq: ParsedNode): ParsedNode[] {
    const out: ParsedNode[] = [];
    if (!isSeq(seq)) return out;
    for (const it of seq.items) {
      const n = this.deref(it);
      if (n !== null) out.push(n);
    }
    return out;
  }

  /**
   * Reads a mapping's entries, reporting non-string keys, duplicate keys and
   * keys not in `allowed` (null: any key) with unknownMsg. Returns the known entries.
   */
  readMap(
    node: ParsedNode,
    allowed: readonly string[] | null,
    unknownMsg: (key: string) => string,
  ): Map<string, Entry> {
    const out = new Map<string, Entry>();
    if (!isMap(node)) return out;
    for (const pair of node.items) {
      const keyNode = pair.key as ParsedNode | null;
      const k = this.deref(keyNode);
      if (k === null || !isScalar(k) || (typeof k.value !== 'string' && typeof k.value !== 'number')) {
        this.error(
          keyNode ?? node,
          `keys must be plain names, not ${describeNode(k)}${allowed ? ` (allowed: ${list(allowed)})` : ''}`,
          'yaml.bad-key',
        );
        continue;
      }
      const name = String(k.value);
      const valueNode = pair.value as ParsedNode | null;
      const value = this.deref(valueNode);
      const entry: Entry = { key: keyNode as ParsedNode, value, at: valueNode ?? (keyNode as ParsedNode) };
      if (value !== null && isScalar(value) && value.value === null && value.range[0] === value.range[1])
        entry.at = keyNode as ParsedNode; // "key:" with nothing after it: point at the key
      const first = out.get(name);
      if (first) {
        this.error(
          keyNode,
          `duplicate key "${name}" (first given at ${this.fmt(this.nodePos(first.key))}); each key may appear once`,
          'yaml.duplicate-key',
        );
        continue;
      }
      if (allowed && !allowed.includes(name)) {
        if (name === '<<')
          this.error(
            keyNode,
            `YAML merge keys (<<) are not supported in ${this.style.files}; ${this.style.mergeAdvice}`,
            'yaml.merge-key',
          );
        else this.error(keyNode, unknownMsg(name), 'yaml.unknown-key');
        // remembered, so a second copy is reported as a duplicate, not twice as unknown
        if (this.style.unknownThenDuplicate) out.set(name, entry);
        continue;
      }
      out.set(name, entry);
    }
    if (allowed && this.style.unknownThenDuplicate)
      for (const k of [...out.keys()]) if (!allowed.includes(k)) out.delete(k);
    return out;
  }

  // --- scalars ---------------------------------------------------------------------

  /** A free-text value (name, description, comment): any non-null scalar. */
  text1(e: Entry | undefined, what: string): string | null {
    if (!e) return null;
    const v = e.value;
    if (v !== null && isScalar(v) && v.value !== null && typeof v.value !== 'object') return String(v.value);
    this.error(e.at, `${what} must be text, not ${describeNode(v)}`, 'value.not-text');
    return null;
  }

  /** true or false; `yesNo` is how the hint calls what YAML 1.2 makes of yes/no/on/off. */
  bool(e: Entry | undefined, what: string, yesNo: 'text' | 'strings' = 'text'): boolean | null {
    if (!e) return null;
    const v = e.value;
    if (v !== null && isScalar(v) && typeof v.value === 'boolean') return v.value;
    const hint =
      v !== null && isScalar(v) && typeof v.value === 'string' && /^(yes|no|on|off|y|n)$/i.test(v.value)
        ? ` (YAML 1.2 reads yes/no/on/off as ${yesNo})`
        : '';
    this.error(e.at, `${what} must be true or false, not ${describeNode(v)}${hint}`, 'value.not-bool');
    return null;
  }

  /** A whole number lo-hi (also written 0x...). */
  int(e: Entry | undefined, what: string, lo: number, hi: number, help = `a whole number ${lo}-${hi}`): number | null {
    if (!e) return null;
    const v = e.value;
    if (v !== null && isScalar(v) && typeof v.value === 'number' && Number.isInteger(v.value)) {
      if (v.value >= lo && v.value <= hi) return v.value;
      this.error(e.at, `${what} ${v.value} is out of range; ${help}`, 'value.out-of-range');
      return null;
    }
    if (v !== null && isScalar(v) && typeof v.value === 'string' && /^0x[0-9a-f]+$/i.test(v.value)) {
      const n = parseInt(v.value, 16);
      if (n >= lo && n <= hi) return n;
    }
    this.error(e.at, `${what} must be ${help}, not ${describeNode(v)}`, 'value.not-integer');
    return null;
  }

  /**
   * One of `allowed`. `synonyms` are other words accepted for a value;
   * `suggestions` other words only pointed to ("did you mean").
   */
  oneOf<T extends string>(
    e: Entry | undefined,
    what: string,
    allowed: readonly T[],
    synonyms: Readonly<Record<string, T>> = {},
    suggestions: Readonly<Record<string, string>> = {},
  ): T | null {
    if (!e) return null;
    const v = e.value;
    if (v !== null && isScalar(v) && typeof v.value === 'string') {
      if ((allowed as readonly string[]).includes(v.value)) return v.value as T;
      const lower = v.value.toLowerCase();
      // (hasOwn: "constructor" is no synonym, whatever Object.prototype holds)
      if (Object.hasOwn(synonyms, lower)) return synonyms[lower];
      const other = Object.hasOwn(suggestions, lower) ? suggestions[lower] : undefined;
      const hint =
        other !== undefined && (allowed as readonly string[]).includes(other)
          ? `; did you mean "${other}"?`
          : didYouMean(v.value, allowed);
      this.error(e.at, `${what} "${v.value}" is not allowed${hint} (allowed: ${list(allowed)})`, 'value.not-allowed');
      return null;
    }
    this.error(e.at, `${what} must be one of ${list(allowed)}, not ${describeNode(v)}`, 'value.not-allowed');
    return null;
  }

  /** A duration (microseconds) of at least `min`, and at most max.usec (max.why says why). */
  duration(e: Entry | undefined, what: string, min: number, max: { usec: number; why: string }): number | null {
    if (!e) return null;
    const v = e.value;
    if (v !== null && isScalar(v) && typeof v.value === 'number') {
      this.error(
        e.at,
        `${what} ${v.value} has no unit; write ${v.value}s or ${v.value}ms; ${DURATION_HELP}`,
        'value.bad-duration',
      );
      return null;
    }
    if (v === null || !isScalar(v) || typeof v.value !== 'string') {
      this.error(e.at, `${what} must be a duration, not ${describeNode(v)}; ${DURATION_HELP}`, 'value.bad-duration');
      return null;
    }
    const d = parseDuration(v.value);
    if (d === null) {
      this.error(e.at, `bad duration "${v.value}" for ${what}; ${DURATION_HELP}`, 'value.bad-duration');
      return null;
    }
    if (d < min) {
      this.error(e.at, `${what} ${v.value} is too short; it must be at least ${min}us`, 'value.duration-out-of-range');
      return null;
    }
    if (d > max.usec) {
      this.error(e.at, `${what} ${v.value} is too long; ${max.why}`, 'value.duration-out-of-range');
      return null;
    }
    return d;
  }
}
