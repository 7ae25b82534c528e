/**
 * What `ip -j addr` and `ip -j route` print on the firewall (iproute2's
 * JSON), read into the host description: the addresses of each interface
 * with the networks they connect, the networks routed out of each, and the
 * default route. The JSON is read with the yaml package's parser (JSON is
 * YAML), which keeps every node's place, so a damaged or hostile file gets
 * a file:line:col error like any rule file; ip's many other fields are
 * passed over.
 *
 * ip -j addr: [{ "ifname": "lan0", "addr_info": [{ "family": "inet",
 *   "local": "192.168.1.1", "prefixlen": 24, ["address": PEER], ["noprefixroute": true] }] }]
 * ip -j route: [{ "dst": "default" | "10.8.0.0/16" | "10.8.0.1", "dev": "lan0",
 *   ["gateway"], ["metric"], ["type": "unicast" | "local" | "blackhole" ...], ["table"], ["nexthops"] }]
 */
import { isMap, isScalar, isSeq, type ParsedNode } from 'yaml';
import { describeNode } from '../../base/yaml-nodes.js';
import { YamlReader, type Entry } from '../../base/yaml-reader.js';
import { parseCidr } from '../cidr.js';
import { ifNameProblem } from '../fw-read.js';
import type { HostBuilder } from './build.js';
import type { HostCode } from './codes.js';
import { ifAddressOf } from './if-address.js';

type R = YamlReader<HostCode>;

const STYLE = {
  files: 'JSON files',
  at: 'file:line:col',
  mergeAdvice: 'give the file ip printed',
  unknownThenDuplicate: false,
} as const;

/** Parses `text`; null (the problem recorded) when it is not a JSON list. */
function parseList(text: string, file: string, what: string): { r: R; items: ParsedNode[] } {
  const r = new YamlReader<HostCode>(text, file, STYLE);
  const ok = r.parse({
    multipleDocs: `${what} is one JSON list`,
    hints: [],
    warnings: false,
    maxAliases: 0,
    aliasUsers: 'JSON files',
  });
  if (!ok) return { r, items: [] };
  const root = r.doc.contents as ParsedNode | null;
  if (root === null || !isSeq(root)) {
    r.error(
      root,
      `${what} is a JSON list ([{...}, ...]), as \`${what}\` prints it; this is ${describeNode(root)}`,
      'host.bad-json',
    );
    return { r, items: [] };
  }
  return { r, items: r.items(root) };
}

/** A string field, or null (reported when present and wrong, or when `need`ed and absent). */
function str(r: R, m: Map<string, Entry>, key: string, obj: ParsedNode, what: string, need: boolean): string | null {
  const e = m.get(key);
  if (!e) {
    if (need) r.error(obj, `${what} has no "${key}"`, 'host.bad-json');
    return null;
  }
  if (e.value !== null && isScalar(e.value) && typeof e.value.value === 'string') return e.value.value;
  r.error(e.at, `${what}: "${key}" must be a string, not ${describeNode(e.value)}`, 'host.bad-json');
  return null;
}

function ifName(r: R, name: string, node: ParsedNode): boolean {
  const problem = ifNameProblem(name, false);
  if (problem === null) return true;
  r.error(node, `interface name ${JSON.stringify(name)} ${problem}`, 'host.bad-json');
  return false;
}

/** Reads `ip -j addr` output into `b`; problems go to b.diags. */
export function readIpAddr(text: string, file: string, b: HostBuilder): void {
  const { r, items } = parseList(text, file, 'ip -j addr');
  for (const item of items) {
    if (!isMap(item)) {
      r.error(item, `each interface of ip -j addr is a JSON object, not ${describeNode(item)}`, 'host.bad-json');
      continue;
    }
    const m = r.readMap(item, null, () => '');
    const name = str(r, m, 'ifname', item, 'an interface', true);
    if (name === null || !ifName(r, name, m.get('ifname')?.at ?? item)) continue;
    const pos = r.nodePos(item);
    b.iface(name, pos);
    const ai = m.get('addr_info');
    if (!ai) continue;
    if (ai.value === null || !isSeq(ai.value)) {
      r.error(ai.at, `${name}: "addr_info" must be a list, not ${describeNode(ai.value)}`, 'host.bad-json');
      continue;
    }
    for (const a of r.items(ai.value)) {
      if (!isMap(a)) {
        r.error(a, `${name}: each address of "addr_info" is a JSON object, not ${describeNode(a)}`, 'host.bad-json');
        continue;
      }
      const am = r.readMap(a, null, () => '');
      const family = str(r, am, 'family', a, `${name}: an address`, true);
      // (ip lists link-layer and other families too; they take no part in IP routing.)
      if (family !== 'inet' && family !== 'inet6') continue;
      const local = str(r, am, 'local', a, `${name}: an address`, true);
      const full = family === 'inet' ? 32 : 128;
      const pe = am.get('prefixlen');
      let prefix = full;
      if (!pe) r.error(a, `${name}: an address has no "prefixlen"`, 'host.bad-json');
      else {
        const v = pe.value;
        if (
          v !== null &&
          isScalar(v) &&
          typeof v.value === 'number' &&
          Number.isInteger(v.value) &&
          v.value >= 0 &&
          v.value <= full
        )
          prefix = v.value;
        else {
          r.error(
            pe.at,
            `${name}: "prefixlen" must be a whole number 0-${full}, not ${describeNode(v)}`,
            'host.bad-json',
          );
          continue;
        }
      }
      if (local === null) continue;
      // Point-to-point: "address" is the peer, and its prefix is what the link connects.
      const peer = str(r, am, 'address', a, `${name}: an address`, false);
      const noRoute = am.get('noprefixroute');
      const own = ifAddressOf(local, full);
      if ('error' in own) {
        r.error(am.get('local')?.at ?? a, `${name}: ${own.error}`, 'host.bad-json');
        continue;
      }
      if (own.addr.version !== (family === 'inet' ? 4 : 6)) {
        r.error(am.get('local')?.at ?? a, `${name}: "local" ${local} is not an ${family} address`, 'host.bad-json');
        continue;
      }
      const connected =
        noRoute && noRoute.value !== null && isScalar(noRoute.value) && noRoute.value.value === true
          ? own
          : ifAddressOf(peer !== null && peer !== local ? peer : local, prefix);
      if ('error' in connected) {
        r.error(am.get('address')?.at ?? a, `${name}: ${connected.error}`, 'host.bad-json');
        continue;
      }
      b.address(name, { addr: own.addr, net: connected.net }, r.nodePos(a));
    }
  }
  for (const d of r.diags) b.diags.push(d);
  b.given = true;
}

/** Route types the model leaves out, and why. */
const SKIPPED_TYPES: Readonly<Record<string, string>> = {
  local: '',
  broadcast: '',
  multicast: '',
  anycast: '',
  blackhole: 'packets to it are dropped by the kernel',
  unreachable: 'packets to it are refused by the kernel',
  prohibit: 'packets to it are refused by the kernel',
  throw: 'the lookup goes on in another table',
  nat: '',
};

/** Reads `ip -j route` (or `ip -6 -j route`, `ip -j route show table all`) output into `b`. */
export function readIpRoute(text: string, file: string, b: HostBuilder): void {
  const { r, items } = parseList(text, file, 'ip -j route');
  for (const item of items) {
    if (!isMap(item)) {
      r.error(item, `each route of ip -j route is a JSON object, not ${describeNode(item)}`, 'host.bad-json');
      continue;
    }
    const m = r.readMap(item, null, () => '');
    const dst = str(r, m, 'dst', item, 'a route', true);
    if (dst === null) continue;
    const type = str(r, m, 'type', item, `route ${dst}`, false);
    if (type !== null && type !== 'unicast') {
      const why = SKIPPED_TYPES[type];
      // The local table's routes are the addresses themselves (ip -j addr gives them).
      if (why !== '')
        r.warn(
          item,
          `route ${dst} of type ${type} is not modelled${why === undefined ? '' : ` (${why})`}; fwemu routes such packets by the other routes`,
          'host.skipped-route',
        );
      continue;
    }
    const table = str(r, m, 'table', item, `route ${dst}`, false);
    if (table !== null && table !== 'main' && table !== 'default') {
      if (table !== 'local')
        r.warn(
          item,
          `route ${dst} of table ${table} is not modelled (fwemu routes by the main table; policy routing is not modelled)`,
          'host.skipped-route',
        );
      continue;
    }
    let dev = str(r, m, 'dev', item, `route ${dst}`, false);
    let devNode: ParsedNode = m.get('dev')?.at ?? item;
    if (dev === null) {
      const nh = m.get('nexthops');
      const first = nh?.value && isSeq(nh.value) ? r.items(nh.value)[0] : undefined;
      if (first !== undefined && isMap(first)) {
        const fm = r.readMap(first, null, () => '');
        dev = str(r, fm, 'dev', first, `route ${dst}: a nexthop`, true);
        devNode = fm.get('dev')?.at ?? first;
        if (dev !== null)
          r.warn(
            item,
            `route ${dst} has several next hops; fwemu takes the first one's interface, ${dev}`,
            'host.skipped-route',
          );
      } else {
        r.error(item, `route ${dst} has no "dev" (the interface it goes out of)`, 'host.bad-json');
        continue;
      }
    }
    if (dev === null || !ifName(r, dev, devNode)) continue;
    const me = m.get('metric');
    let metric = 0;
    if (me) {
      const v = me.value;
      if (
        v !== null &&
        isScalar(v) &&
        typeof v.value === 'number' &&
        Number.isInteger(v.value) &&
        v.value >= 0 &&
        v.value <= 0xffffffff
      )
        metric = v.value;
      else r.error(me.at, `route ${dst}: "metric" must be a whole number, not ${describeNode(v)}`, 'host.bad-json');
    }
    const pos = r.nodePos(item);
    if (dst === 'default') {
      b.defaultRoute(dev, metric, pos, `${file}:${pos.line}:${pos.col}`);
      continue;
    }
    if (dev === 'lo') continue;
    const c = parseCidr(dst);
    if (!c.ok) {
      r.error(m.get('dst')?.at ?? item, `route ${JSON.stringify(dst)}: ${c.error}`, 'host.bad-json');
      continue;
    }
    b.network(dev, c.cidr, pos);
  }
  for (const d of r.diags) b.diags.push(d);
  b.given = true;
}
