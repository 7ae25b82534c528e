/**
 * `hop_limit:` of a rule in fwemu YAML: the IP header's TTL (IPv4) or hop
 * limit (IPv6) as the packet reaches the hook. Without a family the rule
 * reads the field of whichever family the packet is.
 */
import { isScalar } from 'yaml';
import { describeNode } from '../base/yaml-nodes.js';
import type { Entry } from '../base/yaml-reader.js';
import type { HopLimitMatch } from './firewall.js';
import { HOP_LIMIT_HELP, parseHopLimit } from './fw-hop-values.js';
import type { Reader } from './fw-read.js';

export function readHopLimit(
  r: Reader,
  e: Entry | undefined,
  label: string,
  family: 4 | 6 | null,
): HopLimitMatch | null {
  if (!e) return null;
  const v = e.value;
  const t =
    v !== null &&
    isScalar(v) &&
    (typeof v.value === 'string' || (typeof v.value === 'number' && Number.isInteger(v.value)))
      ? String(v.value)
      : null;
  if (t === null) {
    r.error(e.at, `rule ${label}: hop_limit must be ${HOP_LIMIT_HELP}, not ${describeNode(v)}`, 'rules.bad-hop-limit');
    return null;
  }
  const p = parseHopLimit(t, family);
  if (!p.ok) {
    r.error(e.at, `rule ${label}: hop_limit: ${p.error}; give ${HOP_LIMIT_HELP}`, 'rules.bad-hop-limit');
    return null;
  }
  const h = p.value;
  if (h.lo > h.hi && !h.neg)
    r.warn(
      e.at,
      `rule ${label}: hop_limit "${t.trim()}" holds for no packet, so the rule never matches`,
      'rules.never-matches',
    );
  return h;
}
