/**
 * `interfaces:` of a rule file: the firewall's interfaces, their addresses
 * (with the prefix that makes a network directly connected), further
 * networks routed out of them, and the default route.
 *
 * `lo` is always there (127.0.0.1/8, ::1/128), as in every network
 * namespace. A file may declare `lo` too, to give it more addresses (a
 * router's loopback address, 10.255.0.1/32): they are merged after the
 * two built-in ones. Routes (networks:, default:) out of lo make no sense
 * and are refused.
 */
import { isMap, isScalar, type ParsedNode } from 'yaml';
import { describeNode, quoted } from '../base/yaml-nodes.js';
import { didYouMean } from '../base/suggest.js';
import { list, type Entry } from '../base/yaml-reader.js';
import { parseCidr } from './cidr.js';
import type { FwInterface, IfAddress } from './firewall.js';
import { ifNameProblem, texts, type Reader } from './fw-read.js';
import { INTERFACE_KEYS } from './spec.js';
import type { Cidr } from './types.js';

const IFADDR_HELP = 'an address with its prefix, like 192.168.1.1/24 or "fd00:1::1/64", or a list of them';
const NET_HELP = 'a network like 192.168.2.0/24 or "fd00:2::/64", or a list of them';

/** The loopback interface every firewall has. */
export function loopback(pos: FwInterface['pos']): FwInterface {
  return { name: 'lo', addresses: [ifAddr('127.0.0.1/8'), ifAddr('::1/128')], networks: [], defaultRoute: false, pos };
}

function ifAddr(text: string): IfAddress {
  const slash = text.indexOf('/');
  const a = parseCidr(text.slice(0, slash === -1 ? text.length : slash));
  const n = parseCidr(text);
  if (!a.ok || !n.ok) throw new Error(`bad built-in address ${text}`);
  return { addr: a.cidr, net: n.cidr };
}

/**
 * Reads `interfaces:` (may be absent: then only lo). Names are checked as
 * the kernel takes them; every problem is reported, and the interfaces that
 * read cleanly are returned.
 */
export function readInterfaces(r: Reader, e: Entry | undefined, anchor: ParsedNode): FwInterface[] {
  const lo = loopback(r.nodePos(e?.key ?? anchor));
  const out: FwInterface[] = [lo];
  if (!e) return out;
  const v = e.value;
  if (v === null || !isMap(v)) {
    r.error(
      e.at,
      `interfaces must be a mapping of interface names to their settings (lan0: { addresses: 192.168.1.1/24 }), not ${describeNode(v)}`,
      'rules.interfaces-not-mapping',
    );
    return out;
  }
  const m = r.readMap(v, null, () => '');
  let defaultAt: { name: string; node: ParsedNode } | null = null;
  for (const [name, ie] of m) {
    const problem = ifNameProblem(name, false);
    if (problem !== null) {
      r.error(ie.key, `interface name ${quoted(name)} ${problem}`, 'rules.bad-interface-name');
      continue;
    }
    const iv = ie.value;
    const isLo = name === 'lo';
    const iface: FwInterface = isLo
      ? lo
      : { name, addresses: [], networks: [], defaultRoute: false, pos: r.nodePos(ie.key) };
    if (isLo) iface.pos = r.nodePos(ie.key);
    // "wan0:" with nothing after it: an interface without addresses (matched by name only).
    if (iv !== null && !(isScalar(iv) && iv.value === null)) {
      if (!isMap(iv)) {
        r.error(
          ie.at,
          `interface ${name} must be a mapping (addresses:, networks:, default:), not ${describeNode(iv)}${isScalar(iv) && typeof iv.value === 'string' ? `; write ${name}: { addresses: ${iv.value} }` : ''}`,
          'rules.interfaces-not-mapping',
        );
        continue;
      }
      const im = r.readMap(
        iv,
        INTERFACE_KEYS,
        (k) =>
          `unknown key "${k}" in interface ${name}${didYouMean(k, INTERFACE_KEYS)} (allowed: ${list(INTERFACE_KEYS)})`,
      );
      const ae = im.get('addresses');
      if (ae)
        for (const a of addresses(r, ae, name))
          if (!iface.addresses.some((x) => same(x.addr, a.addr))) iface.addresses.push(a);
      const ne = im.get('networks');
      if (ne) {
        if (isLo)
          r.error(
            ne.key,
            'lo takes no networks: packets are never routed out of the loopback interface',
            'rules.lo-route',
          );
        else iface.networks = networks(r, ne, name);
      }
      const de = im.get('default');
      const d = r.bool(de, `interface ${name}: default`);
      if (d === true && de) {
        if (isLo)
          r.error(
            de.key,
            'lo cannot carry the default route; put default: true on the interface towards the upstream router',
            'rules.lo-route',
          );
        else if (defaultAt !== null)
          r.error(
            de.key,
            `default: true on ${name} and on ${defaultAt.name} (${r.fmt(r.nodePos(defaultAt.node))}); one interface carries the default route (several default routes are not modelled)`,
            'rules.two-default-routes',
          );
        else {
          defaultAt = { name, node: de.key };
          iface.defaultRoute = true;
        }
      }
    }
    if (!isLo) out.push(iface);
  }
  return out;
}

function same(a: Cidr, b: Cidr): boolean {
  return a.version === b.version && a.words.every((w, i) => w === b.words[i]);
}

function addresses(r: Reader, e: Entry, name: string): IfAddress[] {
  const what = `interface ${name}: addresses`;
  const items = texts(r, e, what, IFADDR_HELP, 'rules.empty-address-list', 'rules.bad-address');
  if (items === null) return [];
  const out: IfAddress[] = [];
  for (const { text, node } of items) {
    const slash = text.indexOf('/');
    const a = parseCidr(slash === -1 ? text : text.slice(0, slash));
    const n = parseCidr(text);
    if (!n.ok || !a.ok) {
      r.error(node, `bad address in ${what}: ${n.ok ? (a as { error: string }).error : n.error}`, 'rules.bad-address');
      continue;
    }
    if (slash === -1) {
      const full = a.cidr.version === 4 ? 32 : 128;
      r.warn(
        node,
        `${what}: ${text} has no prefix, so the only address directly connected through ${name} is itself (as with \`ip addr add ${text} dev ${name}\`); give the subnet's prefix, like ${text}/${a.cidr.version === 4 ? 24 : 64}, or write ${text}/${full} to say so`,
        'rules.address-without-prefix',
      );
    }
    out.push({ addr: a.cidr, net: n.cidr });
  }
  return out;
}

function networks(r: Reader, e: Entry, name: string): Cidr[] {
  const what = `interface ${name}: networks`;
  const items = texts(r, e, what, NET_HELP, 'rules.empty-address-list', 'rules.bad-address');
  if (items === null) return [];
  const out: Cidr[] = [];
  for (const { text, node } of items) {
    const c = parseCidr(text);
    if (!c.ok) {
      r.error(node, `bad address in ${what}: ${c.error}`, 'rules.bad-address');
      continue;
    }
    if (c.hostBits)
      r.warn(
        node,
        `${what} ${text} has bits set after the /${c.cidr.prefix} prefix; it means ${c.cidr.text}`,
        'rules.host-bits-set',
      );
    out.push(c.cidr);
  }
  return out;
}
