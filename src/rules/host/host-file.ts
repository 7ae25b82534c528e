/**
 * A host file (issue 18): the firewall around a ruleset, in YAML, with the
 * ruleset it runs. Recognised by its `ruleset:` key (import/detect.ts):
 *
 *   ruleset: current.nft          # or a list [rules.v4, rules.v6]; relative to this file
 *   interfaces:                   # as a rule file's interfaces: (load-interfaces.ts)
 *     lan0: { addresses: [192.168.1.1/24, "fd00:1::1/64"] }
 *     wan0: { addresses: 203.0.113.2/24, default: true }
 *   routes: [10.8.0.0/16@lan0, default@wan0]   # the --route forms
 */
import { dirname, isAbsolute, join } from 'node:path';
import { isMap, isScalar, isSeq, type ParsedNode } from 'yaml';
import type { SourcePos } from '../../base/diag.js';
import { STDIN_NAME } from '../../base/input-file.js';
import { didYouMean } from '../../base/suggest.js';
import { describeNode } from '../../base/yaml-nodes.js';
import { list, YamlReader } from '../../base/yaml-reader.js';
import type { RuleCode } from '../codes.js';
import type { Reader } from '../fw-read.js';
import { readInterfaces } from '../load-interfaces.js';
import { MAX_ALIAS_COUNT } from '../spec.js';
import type { HostBuilder } from './build.js';
import type { HostCode } from './codes.js';
import { parseRoute } from './flags.js';

export const HOST_KEYS = ['ruleset', 'interfaces', 'routes'] as const;

const STYLE = {
  files: 'host files',
  at: 'file:line:col',
  mergeAdvice: 'write the keys out, or share values with &anchor / *alias',
  unknownThenDuplicate: true,
} as const;

/** A ruleset a host file names: its path (joined to the host file's directory; relative stays relative) and where it is named. */
export interface NamedRuleset {
  path: string;
  pos: SourcePos;
}

/**
 * Reads a host file into `b` (problems to b.diags) and returns the rulesets
 * it names, in order.
 */
export function readHostFile(text: string, file: string, b: HostBuilder): NamedRuleset[] {
  const r = new YamlReader<HostCode | RuleCode>(text, file, STYLE);
  const out: NamedRuleset[] = [];
  const done = (): NamedRuleset[] => {
    for (const d of r.diags) b.diags.push(d);
    return out;
  };
  if (
    !r.parse({
      multipleDocs: 'a host file holds one YAML document',
      hints: [],
      warnings: true,
      maxAliases: MAX_ALIAS_COUNT,
      aliasUsers: 'host files',
    })
  )
    return done();
  const root = r.doc.contents as ParsedNode | null;
  if (root === null || !isMap(root)) {
    r.error(
      root,
      `a host file is a mapping (ruleset:, interfaces:, routes:), not ${describeNode(root)}`,
      'host.not-mapping',
    );
    return done();
  }
  const m = r.readMap(
    root,
    HOST_KEYS,
    (k) => `unknown key "${k}" in a host file${didYouMean(k, HOST_KEYS)} (allowed: ${list(HOST_KEYS)})`,
  );
  const dir = file === STDIN_NAME ? '.' : dirname(file);
  const re = m.get('ruleset');
  if (!re)
    r.error(
      root,
      'a host file names its ruleset: ruleset: current.nft (relative to this file), or a list of files',
      'host.missing-ruleset',
    );
  else {
    const v = re.value;
    const items = v !== null && isSeq(v) ? r.items(v) : v === null ? [] : [v];
    if (items.length === 0)
      r.error(
        re.at,
        'ruleset: names a file (ruleset: current.nft) or a list of files, relative to this file',
        'host.bad-ruleset',
      );
    for (const n of items) {
      if (!isScalar(n) || typeof n.value !== 'string' || n.value.trim() === '') {
        r.error(
          n,
          `ruleset: takes paths of ruleset files, relative to this file, not ${describeNode(n)}`,
          'host.bad-ruleset',
        );
        continue;
      }
      // Relative stays relative: messages then name the ruleset as the user would.
      out.push({ path: isAbsolute(n.value) ? n.value : join(dir, n.value), pos: r.nodePos(n) });
    }
  }
  for (const i of readInterfaces(r as unknown as Reader, m.get('interfaces'), root)) {
    // lo as readInterfaces gives it holds the built-in addresses: only one the file declares is described.
    if (i.name === 'lo' && m.get('interfaces') === undefined) continue;
    if (i.name === 'lo' && !declared(m.get('interfaces')?.value ?? null, 'lo')) continue;
    b.iface(i.name, i.pos);
    for (const a of i.addresses) b.address(i.name, a, i.pos);
    for (const n of i.networks) b.network(i.name, n, i.pos);
    if (i.defaultRoute) b.defaultRoute(i.name, 0, i.pos, `default: true in ${file}`);
  }
  const ro = m.get('routes');
  if (ro) {
    const v = ro.value;
    const items = v !== null && isSeq(v) ? r.items(v) : v === null ? [] : [v];
    for (const n of items) {
      const t = isScalar(n) && (typeof n.value === 'string' || typeof n.value === 'number') ? String(n.value) : null;
      const rt =
        t === null ? { error: `a route is PREFIX@NAME or default@NAME, not ${describeNode(n)}` } : parseRoute(t);
      if ('error' in rt) {
        r.error(n, `routes: ${rt.error}`, 'host.bad-route');
        continue;
      }
      const pos = r.nodePos(n);
      if (rt.net === null) b.defaultRoute(rt.name, 0, pos, `routes: default@${rt.name} in ${file}`);
      else b.network(rt.name, rt.net, pos);
    }
  }
  b.given = true;
  return done();
}

function declared(v: ParsedNode | null, name: string): boolean {
  return v !== null && isMap(v) && v.items.some((p) => isScalar(p.key) && p.key.value === name);
}
