/**
 * `sets:` of a rule file: named sets of addresses or ports, used in rules
 * as `@name`. A set is a list, its kind inferred from its elements, or
 * `{ type:, elements: }` (nft's set types ipv4_addr, ipv6_addr,
 * inet_service), which may be empty. An nft set holds one type, so a list
 * mixing IPv4 and IPv6 addresses, or addresses and ports, is refused.
 */
import { isMap, isScalar, isSeq, type ParsedNode } from 'yaml';
import { describeNode, quoted } from '../base/yaml-nodes.js';
import { didYouMean } from '../base/suggest.js';
import { list, type Entry } from '../base/yaml-reader.js';
import { parseAddrElement } from './addr-range.js';
import type { AddrMatch, AddrRange, NamedSet, PortMatch } from './firewall.js';
import { nftNameProblem, unquotedIpv6, type Reader } from './fw-read.js';
import { mergeRanges, readPort } from './ports.js';
import { SET_KEYS, SET_TYPES } from './spec.js';
import type { Cidr, PortRange } from './types.js';

type SetKind = NamedSet['kind'];

const SET_HELP =
  'a list of addresses (10.0.0.1, 10.0.0.0/8, ranges 10.0.0.10-10.0.0.20) or of ports (80, "8000-8099"), or { type: ipv4_addr | ipv6_addr | inet_service, elements: [...] }';

/** A port element as written in a set or a list: a number, or digits with an optional "-" range. */
export function looksLikePort(n: ParsedNode): boolean {
  if (!isScalar(n)) return false;
  if (typeof n.value === 'number') return true;
  return typeof n.value === 'string' && /^\s*[0-9]+(\s*-\s*[0-9]+)?\s*$/.test(n.value);
}

/** Address elements read from a list: prefixes, ranges, and the IP versions present. */
export interface AddrItems {
  cidrs: Cidr[];
  ranges: AddrRange[];
  versions: Set<4 | 6>;
}

/** Reads address elements (each reported when bad); null when any is bad. */
export function readAddrItems(r: Reader, items: readonly ParsedNode[], what: string, help: string): AddrItems | null {
  const out: AddrItems = { cidrs: [], ranges: [], versions: new Set() };
  let ok = true;
  for (const n of items) {
    if (unquotedIpv6(r, n, what)) {
      ok = false;
      continue;
    }
    if (!isScalar(n) || typeof n.value !== 'string') {
      r.error(n, `${what} must be ${help}, not ${describeNode(n)}`, 'rules.bad-address');
      ok = false;
      continue;
    }
    const a = parseAddrElement(n.value);
    if (!a.ok) {
      r.error(n, `bad address in ${what}: ${a.error}`, 'rules.bad-address');
      ok = false;
      continue;
    }
    if (a.cidr !== null) {
      if (a.hostBits)
        r.warn(
          n,
          `${what} ${n.value.trim()} has bits set after the /${a.cidr.prefix} prefix; it means ${a.cidr.text}`,
          'rules.host-bits-set',
        );
      out.cidrs.push(a.cidr);
      out.versions.add(a.cidr.version);
    } else {
      out.ranges.push(a.range);
      out.versions.add(a.range.version);
    }
  }
  return ok ? out : null;
}

/** Reads `sets:` (may be absent). Sets with errors are left out (the errors recorded). */
export function readSets(r: Reader, e: Entry | undefined): NamedSet[] {
  if (!e) return [];
  const v = e.value;
  if (v === null || !isMap(v)) {
    r.error(
      e.at,
      `sets must be a mapping of set names to their elements (admins: [192.168.1.10, 192.168.1.20]), not ${describeNode(v)}`,
      'rules.sets-not-mapping',
    );
    return [];
  }
  const out: NamedSet[] = [];
  for (const [name, se] of r.readMap(v, null, () => '')) {
    const problem = nftNameProblem(name);
    if (problem !== null) {
      r.error(se.key, `set name ${quoted(name)} ${problem}`, 'rules.bad-set-name');
      continue;
    }
    const s = readSet(r, name, se);
    if (s !== null) out.push(s);
  }
  return out;
}

function readSet(r: Reader, name: string, se: Entry): NamedSet | null {
  const pos = r.nodePos(se.key);
  const v = se.value;
  let declared: SetKind | null = null;
  let elements: ParsedNode[];
  let at: ParsedNode = se.at;
  if (v !== null && isMap(v)) {
    const m = r.readMap(
      v,
      SET_KEYS,
      (k) => `unknown key "${k}" in set ${name}${didYouMean(k, SET_KEYS)} (allowed: ${list(SET_KEYS)})`,
    );
    const te = m.get('type');
    if (!te) {
      r.error(
        v,
        `set ${name} written as a mapping needs type: (${list(SET_TYPES)}); or write the elements as a plain list`,
        'rules.sets-not-mapping',
      );
      return null;
    }
    declared = r.oneOf(
      te,
      `set ${name}: type`,
      SET_TYPES,
      {},
      { ipv4: 'ipv4_addr', ipv6: 'ipv6_addr', port: 'inet_service', service: 'inet_service' },
    );
    if (declared === null) return null;
    const ee = m.get('elements');
    at = ee?.at ?? v;
    if (!ee || ee.value === null || (isScalar(ee.value) && ee.value.value === null)) elements = [];
    else if (isSeq(ee.value)) elements = r.items(ee.value);
    else elements = [ee.value];
  } else if (v !== null && isSeq(v)) elements = r.items(v);
  else if (v !== null && isScalar(v) && v.value !== null) elements = [v];
  else {
    r.error(se.at, `set ${name} must be ${SET_HELP}, not ${describeNode(v)}`, 'rules.sets-not-mapping');
    return null;
  }
  if (elements.length === 0 && declared === null) {
    r.error(
      at,
      `set ${name} is empty, so its kind cannot be told; write ${name}: { type: ipv4_addr, elements: [] } (or ipv6_addr, inet_service)`,
      'rules.empty-set',
    );
    return null;
  }
  const what = `set ${name}`;
  const ports = elements.filter(looksLikePort);
  const addrs = elements.filter((n) => !looksLikePort(n));
  if (declared === 'inet_service' || (declared === null && addrs.length === 0)) {
    if (addrs.length > 0) {
      r.error(
        addrs[0],
        `${what} is of type inet_service (ports), and ${describeNode(addrs[0])} is not a port`,
        'rules.bad-set-element',
      );
      return null;
    }
    const ranges: PortRange[] = [];
    let ok = true;
    for (const n of ports) {
      const p = readPort(r, n, what);
      if (p === null) ok = false;
      else ranges.push(p);
    }
    if (!ok) return null;
    const pm: PortMatch = { ranges: mergeRanges(ranges), set: name };
    return { name, kind: 'inet_service', addrs: null, ports: pm, pos };
  }
  if (ports.length > 0) {
    const msg =
      declared === null
        ? `${what} mixes ports (${describeNode(ports[0])}) and addresses (${describeNode(addrs[0])}); an nft set holds one type: make two sets`
        : `${what} is of type ${declared}, and ${describeNode(ports[0])} is not an address`;
    r.error(ports[0], msg, declared === null ? 'rules.set-mixed-kinds' : 'rules.bad-set-element');
    return null;
  }
  const items = readAddrItems(r, addrs, what, 'an address, a network or a range');
  if (items === null) return null;
  const want: 4 | 6 | null = declared === 'ipv4_addr' ? 4 : declared === 'ipv6_addr' ? 6 : null;
  if (want === null && items.versions.size > 1) {
    const v6 = addrs.find((n) => isScalar(n) && String(n.value).includes(':'))!;
    r.error(
      v6,
      `${what} mixes IPv4 and IPv6 addresses; an nft set holds one type (ipv4_addr or ipv6_addr): make two sets`,
      'rules.set-mixed-kinds',
    );
    return null;
  }
  if (want !== null) {
    const other = addrs.find((n) => isScalar(n) && String(n.value).includes(':') !== (want === 6));
    if (other !== undefined) {
      r.error(
        other,
        `${what} is of type ${declared}, and ${describeNode(other)} is an IPv${want === 4 ? 6 : 4} address`,
        'rules.bad-set-element',
      );
      return null;
    }
  }
  const version = want ?? [...items.versions][0];
  const am: AddrMatch = { cidrs: items.cidrs, ranges: items.ranges, set: name };
  return { name, kind: version === 6 ? 'ipv6_addr' : 'ipv4_addr', addrs: am, ports: null, pos };
}
