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
    // As JSON writes it: a quote or a line break inside stays visible, and the message one line.
    if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
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
