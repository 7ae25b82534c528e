/**
 * YAML helpers shared by the loaders of rule files (rules/load.ts),
 * scenarios (synth/scenario.ts) and policy tests (policy/run.ts), so the
 * three say the same things in the same words.
 */
import {
  Composer,
  isMap,
  isScalar,
  isSeq,
  Parser,
  visit,
  YAMLParseError,
  type CST,
  type Document,
  type DocumentOptions,
  type LineCounter,
  type Node as YNode,
  type ParseOptions,
  type SchemaOptions,
} from 'yaml';

/**
 * How deep collections may nest in a YAML input. The yaml package composes
 * nodes recursively (and so do toJS() and our walkers): past a few hundred
 * levels that overflows the stack, which yaml reports as "Maximum call stack
 * size exceeded" at a point that depends on the stack size. No rule file,
 * scenario or policy test needs more than about six levels; 64 leaves room
 * and keeps every recursion far from the stack's end.
 */
export const MAX_YAML_DEPTH = 64;

/**
 * Where YAML tokens first nest collections (mappings, lists, flow or
 * block) deeper than `max` levels: the offset of the collection one level
 * too deep, or null when they never do. Walks yaml's CST (which its parser
 * builds with its own stack, no recursion) with an explicit stack, so any
 * depth is measured safely, in linear time.
 */
function tooDeepTokens(tokens: Iterable<CST.Token>, max: number): number | null {
  const stack: { token: CST.Token; depth: number }[] = [];
  for (const top of tokens) stack.push({ token: top, depth: 0 });
  while (stack.length > 0) {
    const { token, depth } = stack.pop()!;
    const push = (t: CST.Token | undefined, d: number): void => {
      if (t !== undefined) stack.push({ token: t, depth: d });
    };
    switch (token.type) {
      case 'document':
        push(token.value, depth);
        break;
      case 'block-map':
      case 'block-seq':
      case 'flow-collection': {
        const d = depth + 1;
        if (d > max) return token.offset;
        for (const it of token.items) {
          if ('key' in it) push(it.key ?? undefined, d);
          push(it.value, d);
        }
        break;
      }
      default:
        break;
    }
  }
  return null;
}

/**
 * yaml's parseDocument(), refusing nesting deeper than MAX_YAML_DEPTH
 * before its recursive composer sees it: the text is parsed once into
 * tokens, measured, then composed (what parseDocument does, in two steps).
 * `deep` is the offset of the first collection too deep.
 */
export function parseDocumentBounded(
  text: string,
  options: ParseOptions & DocumentOptions & SchemaOptions & { lineCounter: LineCounter },
): { doc: Document.Parsed; deep: null } | { doc: null; deep: number } {
  const tokens = Array.from(new Parser(options.lineCounter.addNewLine).parse(text));
  const deep = tooDeepTokens(tokens, MAX_YAML_DEPTH);
  if (deep !== null) return { doc: null, deep };
  let doc: Document.Parsed | null = null;
  for (const d of new Composer(options).compose(tokens, true, text.length)) {
    if (doc === null) doc = d;
    else {
      doc.errors.push(
        new YAMLParseError(
          [d.range[0], d.range[1]],
          'MULTIPLE_DOCS',
          'Source contains multiple documents; please use YAML.parseAllDocuments()',
        ),
      );
      break;
    }
  }
  return { doc: doc!, deep: null }; // (compose(..., true) always yields a document)
}

/** The message for parseDocumentBounded()'s `deep` (the position is the diagnostic's). */
export function tooDeepMessage(max: number = MAX_YAML_DEPTH): string {
  return `YAML nested deeper than ${max} levels here (lists and mappings inside each other); rule files, scenarios and policy tests need only a few levels`;
}

/** What a node is, for "... must be X, not <this>" messages. */
export function describeNode(node: YNode | null | undefined): string {
  if (node === null || node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || v === undefined) return 'nothing (null)';
    if (typeof v === 'number') return `the number ${v}`;
    if (typeof v === 'boolean') return `${v}`;
    if (typeof v === 'string') return `the string ${quoted(v)}`;
    return String(v);
  }
  return 'an unsupported value';
}

/**
 * Expands the document's aliases once, refusing more than `maxAliasCount`
 * ("billion laughs"). Returns null when that is fine, else yaml's message
 * and the first alias, where an expansion starts (null if none is found).
 */
export function aliasBomb(
  doc: Document.Parsed | Document,
  maxAliasCount: number,
): { message: string; first: YNode | null } | null {
  try {
    doc.toJS({ maxAliasCount, mapAsMap: true });
    return null;
  } catch (e) {
    let first: YNode | null = null;
    visit(doc, {
      Alias(_k, n) {
        first = n;
        return visit.BREAK;
      },
    });
    // A RangeError is the stack: aliases expanding into aliases, each adding its depth.
    const message = e instanceof RangeError ? 'aliases expand to a structure nested too deeply' : (e as Error).message;
    return { message, first };
  }
}

/**
 * A string as JSON writes it, with every control character escaped (JSON
 * leaves DEL and the C1 controls raw): a quote, a line break or a NUL
 * inside stays visible, and the message one line.
 */
export function quoted(s: string): string {
  return JSON.stringify(s).replace(/\p{Cc}/gu, (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}
