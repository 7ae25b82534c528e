/**
 * A rule's `id:`, read before its other keys so that their messages can
 * name the rule: one reader for both models (load.ts, load-fw-rule.ts),
 * so that an id means the same in either.
 */
import { isMap, isScalar, type ParsedNode } from 'yaml';
import { describeNode, quoted } from '../base/yaml-nodes.js';
import type { YamlReader } from '../base/yaml-reader.js';
import type { RuleCode } from './codes.js';

/**
 * The rule's id when it gives a usable one (1-64 characters, no whitespace,
 * no control character), else null (a bad one reported, `label` naming the
 * rule); `at` is the id's node, or null when the rule has no id: key.
 */
export function readRuleId(
  r: YamlReader<RuleCode>,
  n: ParsedNode,
  label: string,
): { id: string | null; at: ParsedNode | null } {
  const rawId = isMap(n) ? n.items.find((p) => isScalar(p.key) && p.key.value === 'id') : undefined;
  if (!rawId) return { id: null, at: null };
  const v = r.deref(rawId.value);
  const at = v ?? (rawId.key as ParsedNode);
  if (
    v === null ||
    !isScalar(v) ||
    !(typeof v.value === 'string' || (typeof v.value === 'number' && Number.isInteger(v.value)))
  ) {
    r.error(at, `rule ${label}: id must be a name like "web", not ${describeNode(v)}`, 'rules.bad-id');
    return { id: null, at };
  }
  const s = String(v.value);
  if (s === '' || /\s/.test(s) || s.length > 64) {
    r.error(
      v,
      `rule id ${quoted(s)} must be 1-64 characters without spaces (it appears in reports as "rule ${s}"); use e.g. "${s.trim().replace(/\s+/g, '-').slice(0, 64) || 'web'}"`,
      'rules.bad-id',
    );
    return { id: null, at };
  }
  if (/\p{Cc}/u.test(s)) {
    // A NUL would cut an exported nft comment short; any control character garbles reports.
    const c = /\p{Cc}/u.exec(s)![0].codePointAt(0)!;
    r.error(
      v,
      `rule id ${quoted(s)} contains the control character U+${c.toString(16).toUpperCase().padStart(4, '0')}; ids appear in reports and in exported nft and iptables comments, so use printable characters`,
      'rules.bad-id',
    );
    return { id: null, at };
  }
  return { id: s, at };
}
