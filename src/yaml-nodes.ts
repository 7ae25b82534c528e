/**
 * YAML helpers shared by the loaders of rule files (rules/load.ts),
 * scenarios (synth/scenario.ts) and policy tests (policy/run.ts), so the
 * three say the same things in the same words.
 */
import { isMap, isScalar, isSeq, visit, type Document, type Node as YNode } from 'yaml';

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
export function aliasBomb(doc: Document.Parsed | Document, maxAliasCount: number): { message: string; first: YNode | null } | null {
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
    return { message: (e as Error).message, first };
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
