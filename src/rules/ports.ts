/** Port values of rule files (sport:, dport:): a port, a range "8000-8099", or a list of both, merged. */
import { isScalar, type ParsedNode } from 'yaml';
import { describeNode } from '../base/yaml-nodes.js';
import type { Entry, YamlReader } from '../base/yaml-reader.js';
import type { RuleCode } from './codes.js';
import type { PortRange } from './types.js';

/** What a port value may be, quoted in every port diagnostic. */
export const PORT_HELP = 'a port is 0-65535, a range "8000-8099", or a list of both';

export function readPorts(r: YamlReader<RuleCode>, e: Entry, key: string, label: string): PortRange[] | null {
  const what = `rule ${label}: ${key}`;
  const items = r.oneOrList(
    e,
    (v) => isScalar(v) && v.value !== null,
    [`${what} is an empty list; leave ${key} out to match any port; ${PORT_HELP}`, 'rules.empty-port-list'],
    [`${what} must be a port, not ${describeNode(e.value)}; ${PORT_HELP}`, 'rules.bad-port'],
  );
  if (items === null) return null;
  const ranges: PortRange[] = [];
  let ok = true;
  for (const n of items) {
    const range = readPort(r, n, key);
    if (range === null) ok = false;
    else ranges.push(range);
  }
  if (!ok) return null;
  return mergeRanges(ranges);
}

export function readPort(r: YamlReader<RuleCode>, n: ParsedNode, key: string): PortRange | null {
  if (!isScalar(n) || n.value === null || (typeof n.value !== 'number' && typeof n.value !== 'string')) {
    r.error(n, `${key} must be a port, not ${describeNode(n)}; ${PORT_HELP}`, 'rules.bad-port');
    return null;
  }
  const x = n.value;
  const one = (p: number, shown: string): number | null => {
    if (!Number.isInteger(p)) {
      r.error(n, `${key} ${shown} is not a whole number; ${PORT_HELP}`, 'rules.bad-port');
      return null;
    }
    if (p < 0 || p > 65535) {
      r.error(n, `${key} ${shown} is out of range; ${PORT_HELP}`, 'rules.port-out-of-range');
      return null;
    }
    return p;
  };
  if (typeof x === 'number') {
    const p = one(x, String(x));
    return p === null ? null : { lo: p, hi: p };
  }
  const s = x.trim();
  if (/^[0-9]+$/.test(s)) {
    const p = one(Number(s), s);
    return p === null ? null : { lo: p, hi: p };
  }
  const mr = /^([0-9]+)\s*-\s*([0-9]+)$/.exec(s);
  if (mr) {
    const lo = Number(mr[1]);
    const hi = Number(mr[2]);
    if (lo > 65535 || hi > 65535) {
      r.error(n, `${key} range "${s}" is out of range; ${PORT_HELP}`, 'rules.port-out-of-range');
      return null;
    }
    if (lo > hi) {
      r.error(n, `${key} range "${s}" is backwards; write "${hi}-${lo}"`, 'rules.port-range-backwards');
      return null;
    }
    return { lo, hi };
  }
  const hint = /^[0-9]+:[0-9]+$/.test(s)
    ? ` (ranges use "-", not ":")`
    : /^[a-z]/i.test(s)
      ? ' (service names are not supported; use the number)'
      : '';
  r.error(n, `${key} "${s}" is not a port${hint}; ${PORT_HELP}`, 'rules.bad-port');
  return null;
}

/** Sorts port ranges and merges overlapping or adjacent ones. */
export function mergeRanges(ranges: readonly PortRange[]): PortRange[] {
  const s = [...ranges].sort((a, b) => a.lo - b.lo || a.hi - b.hi);
  const out: PortRange[] = [];
  for (const r of s) {
    const last = out[out.length - 1];
    if (last && r.lo <= last.hi + 1) last.hi = Math.max(last.hi, r.hi);
    else out.push({ lo: r.lo, hi: r.hi });
  }
  return out;
}
