/**
 * Hosts and endpoints: the hosts: section (names to addresses), endpoint
 * text ("server:8080", "[fd00::1]:53", "10.1.0.9") read into a host or an
 * address and a port, and the address family both ends of a flow share.
 */
import { isMap, isScalar, isSeq, type ParsedNode } from 'yaml';
import { didYouMean } from '../../base/suggest.js';
import { describeNode } from '../../base/yaml-nodes.js';
import { list, type Entry } from '../../base/yaml-reader.js';
import { formatAddr, parseAddr } from '../../packet/addr.js';
import type { Endpoint, HostDef, StepKind } from '../types.js';
import type { Params, Piece, ScenarioReader } from './reader.js';
import { SHORTHAND } from './step-params.js';

const PORT_HELP = 'a port is a whole number 1-65535';
const ENDPOINT_HELP =
  'an endpoint is host, host:port, an address (10.1.0.9, fd00:1::9), 10.1.0.9:port or [fd00:1::9]:port';
const HOST_NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** An endpoint as written, before the address family is chosen. */
export interface EpTok {
  piece: Piece;
  /** Named host, or null for a literal address. */
  host: HostDef | null;
  literal: { text: string; version: 4 | 6 } | null;
  port: number | null;
}

export function readHosts(r: ScenarioReader, e: Entry | undefined): void {
  if (!e) return;
  const v = e.value;
  if (v === null || (isScalar(v) && v.value === null)) return;
  if (!isMap(v)) {
    r.error(
      e.at,
      `hosts must be a mapping of names to addresses (alice: 10.1.0.2), not ${describeNode(v)}`,
      'scenario.hosts-not-mapping',
    );
    return;
  }
  const m = r.readMap(v, null, () => '');
  for (const [name, en] of m) {
    if (!HOST_NAME_RE.test(name) || parseAddr(name) !== null) {
      r.error(
        en.key,
        `host name "${name}" is not allowed; a host name starts with a letter and has letters, digits, "_", "-" and "." (like alice, web-1)`,
        'scenario.bad-host-name',
      );
      continue;
    }
    const items: ParsedNode[] = [];
    const val = en.value;
    if (val !== null && isSeq(val)) {
      for (const it of val.items) {
        const n = r.deref(it);
        if (n !== null) items.push(n);
      }
      if (items.length === 0)
        r.error(
          en.at,
          `host ${name} has an empty list of addresses; give an IPv4 and/or IPv6 address`,
          'scenario.bad-host-address',
        );
    } else if (val !== null && isScalar(val) && val.value !== null) {
      items.push(val);
    } else {
      r.error(
        en.at,
        `host ${name} needs an address or a list of addresses (like 10.1.0.2 or [10.1.0.2, fd00:1::2]), not ${describeNode(val)}`,
        'scenario.bad-host-address',
      );
      continue;
    }
    const addrs: string[] = [];
    for (const n of items) {
      if (!isScalar(n) || typeof n.value !== 'string') {
        r.error(
          n,
          `host ${name}: an address must be text like 10.1.0.2 or fd00:1::2, not ${describeNode(n)}`,
          'scenario.bad-host-address',
        );
        continue;
      }
      const a = parseAddr(n.value.trim());
      if (a === null) {
        const hint = n.value.includes('/') ? ' (a host has addresses, not networks: leave out the /prefix)' : '';
        r.error(
          n,
          `host ${name}: "${n.value}" is not an IPv4 or IPv6 address${hint}; write it like 10.1.0.2 or fd00:1::2`,
          'scenario.bad-host-address',
        );
        continue;
      }
      const canon = formatAddr(a.version, ...a.words);
      const owner = r.addrOwner.get(canon);
      if (owner !== undefined) {
        r.error(
          n,
          owner === name
            ? `host ${name} lists ${canon} twice; give each address once`
            : `address ${canon} is given to both ${owner} and ${name}; each address belongs to one host`,
          'scenario.address-given-twice',
        );
        continue;
      }
      r.addrOwner.set(canon, name);
      addrs.push(canon);
    }
    r.hosts.set(name, { name, addrs, pos: r.nodePos(en.key) });
  }
}

/** "a -> b" into from/to entries that point into the scalar. */
export function arrowShorthand(r: ScenarioReader, kind: StepKind, e: Entry, params: Params): boolean {
  const v = e.value;
  if (v === null || !isScalar(v) || typeof v.value !== 'string') {
    r.error(
      e.at,
      `${kind} must be ${SHORTHAND[kind]} or a mapping with from: and to:, not ${describeNode(v)}${isSeq(v) ? ' (quote an endpoint that starts with "[")' : ''}`,
      'scenario.bad-shorthand',
    );
    return false;
  }
  const s = v.value;
  const i = s.indexOf('->');
  if (i < 0 || s.indexOf('->', i + 2) >= 0) {
    r.error(e.at, `${kind} "${s}" must be ${SHORTHAND[kind]}`, 'scenario.bad-shorthand');
    return false;
  }
  for (const k of ['from', 'to']) {
    const d = params.get(k);
    if (d) {
      r.error(d.key, `${kind}: ${k} is given twice (also in "${s}"); give it once`, 'scenario.parameter-given-twice');
      return false;
    }
  }
  // Synthetic entries: the value node stays the scalar; the piece offsets are kept aside.
  r.shorthandPieces.set(v, [
    { text: s.slice(0, i), node: v, offset: 0 },
    { text: s.slice(i + 2), node: v, offset: i + 2 },
  ]);
  params.set('from', { key: e.key, value: v, at: v });
  params.set('to', { key: e.key, value: v, at: v });
  return true;
}

/** The text of an endpoint parameter (from/to), as a piece of its scalar. */
export function endpointPiece(r: ScenarioReader, e: Entry, which: 'from' | 'to'): Piece | null {
  const v = e.value;
  if (v !== null) {
    const sp = r.shorthandPieces.get(v);
    if (sp) return which === 'from' ? sp[0] : sp[1];
  }
  if (v !== null && isSeq(v)) {
    r.error(
      e.at,
      `${which} must be an endpoint, not a list; quote an endpoint that starts with "[": "[fd00::1]:8080"`,
      'scenario.bad-endpoint',
    );
    return null;
  }
  return r.scalarText(e, which, ENDPOINT_HELP);
}

/** Parses endpoint text; reports problems; null on error. */
export function endpointTok(
  r: ScenarioReader,
  p: Piece,
  what: string,
  portRule: 'required' | 'optional' | 'none',
  minPort = 1,
): EpTok | null {
  const lead = p.text.length - p.text.trimStart().length;
  let text = p.text.trim();
  let offset = p.offset + lead;
  const quoted = /^(["'])(.*)\1$/.exec(text); // connect: alice -> "[fd00::1]:80" (quotes inside a plain value)
  if (quoted) {
    text = quoted[2];
    offset++;
  }
  const piece: Piece = { text, node: p.node, offset };
  if (text === '') {
    r.errorIn(piece, `${what} is missing; ${ENDPOINT_HELP}`, 'scenario.bad-endpoint');
    return null;
  }
  let addrText: string;
  let portText: string | null = null;
  let portOff = 0;
  const br = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  if (br) {
    addrText = br[1];
    if (br[2] !== undefined) {
      portText = br[2];
      portOff = br[1].length + 3;
    }
    const a = parseAddr(addrText);
    if (a === null || a.version !== 6) {
      r.errorIn(
        piece,
        `"${addrText}" in ${what} is not an IPv6 address; brackets are for IPv6 addresses, like [fd00:1::2]:8080`,
        'scenario.bad-endpoint',
      );
      return null;
    }
  } else if (parseAddr(text) !== null) {
    addrText = text;
  } else {
    const c = text.lastIndexOf(':');
    if (c >= 0) {
      addrText = text.slice(0, c);
      portText = text.slice(c + 1);
      portOff = c + 1;
      if (addrText.includes(':')) {
        r.errorIn(
          piece,
          `"${text}" in ${what} is not an endpoint; write an IPv6 address with a port in brackets, like [fd00:1::2]:8080 (quoted in YAML)`,
          'scenario.bad-endpoint',
        );
        return null;
      }
    } else {
      addrText = text;
    }
  }
  let port: number | null = null;
  if (portText !== null) {
    const pp: Piece = { text: portText, node: p.node, offset: piece.offset + portOff };
    if (portRule === 'none') {
      r.errorIn(pp, `${what} takes no port (":${portText}"); give just the host or address`, 'scenario.bad-port');
      return null;
    }
    if (!/^\d+$/.test(portText)) {
      r.errorIn(
        pp,
        `port "${portText}" is not a number${/^[a-z]/i.test(portText) ? ' (service names are not supported)' : ''}; ${PORT_HELP}`,
        'scenario.bad-port',
      );
      return null;
    }
    port = Number(portText);
    if (port < minPort || port > 65535) {
      r.errorIn(
        pp,
        `port ${portText} is out of range; ${minPort === 0 ? 'a port is a whole number 0-65535' : PORT_HELP}`,
        'scenario.bad-port',
      );
      return null;
    }
  } else if (portRule === 'required') {
    r.errorIn(
      piece,
      `${what} "${text}" needs a port, like ${HOST_NAME_RE.test(text) ? text : parseAddr(text)?.version === 6 ? `[${text}]` : text}:8080`,
      'scenario.port-required',
    );
    return null;
  }
  const lit = parseAddr(addrText);
  if (lit !== null) {
    return { piece, host: null, literal: { text: formatAddr(lit.version, ...lit.words), version: lit.version }, port };
  }
  const ap: Piece = { text: addrText, node: p.node, offset: piece.offset + (br ? 1 : 0) };
  if (/^[\d.]+$/.test(addrText)) {
    r.errorIn(
      ap,
      `"${addrText}" in ${what} is not an IPv4 address; each of its four numbers is 0-255, like 10.1.0.2`,
      'scenario.bad-endpoint',
    );
    return null;
  }
  const host = r.hosts.get(addrText);
  if (!host) {
    const names = [...r.hosts.keys()];
    r.errorIn(
      ap,
      `unknown host "${addrText}"${didYouMean(addrText, names)} (${names.length > 0 ? `hosts: ${list(names)}` : 'no hosts: are defined'}; or give an address like 10.1.0.9)`,
      'scenario.unknown-host',
    );
    return null;
  }
  if (host.addrs.length === 0) return null; // its addresses were bad; already reported
  return { piece, host, literal: null, port };
}

export function candidates(t: EpTok): { text: string; version: 4 | 6 }[] {
  if (t.literal) return [t.literal];
  return t.host!.addrs.map((a) => ({ text: a, version: parseAddr(a)!.version }));
}

export function endpointOf(r: ScenarioReader, t: EpTok, version: 4 | 6): Endpoint | null {
  const c = candidates(t).find((x) => x.version === version);
  if (!c) return null;
  return {
    host: t.literal ? (r.addrOwner.get(t.literal.text) ?? null) : t.host!.name,
    addr: c.text,
    version,
    port: t.port,
  };
}

/** Picks the family both ends share (`family:` if given, else the first one the first end lists). */
export function resolvePair(
  r: ScenarioReader,
  a: EpTok,
  b: EpTok,
  family: 4 | 6 | null,
  familyNode: ParsedNode | null,
): [Endpoint, Endpoint] | null {
  const ca = candidates(a);
  const cb = candidates(b);
  const describe = (t: EpTok, c: { text: string }[]) =>
    t.host ? `${t.host.name} (${c.map((x) => x.text).join(', ')})` : c[0].text;
  let version: 4 | 6 | null = null;
  if (family !== null) {
    for (const [t, c] of [
      [a, ca],
      [b, cb],
    ] as const) {
      if (!c.some((x) => x.version === family)) {
        if (familyNode)
          r.error(
            familyNode,
            `family ${family}: ${describe(t, c)} has no IPv${family} address`,
            'scenario.no-common-family',
          );
        else r.errorIn(t.piece, `${describe(t, c)} has no IPv${family} address`, 'scenario.no-common-family');
        return null;
      }
    }
    version = family;
  } else {
    const order = b.literal ? [b.literal.version] : ca.map((x) => x.version);
    version = order.find((v) => ca.some((x) => x.version === v) && cb.some((x) => x.version === v)) ?? null;
    if (version === null) {
      r.errorIn(
        b.piece,
        `${describe(a, ca)} and ${describe(b, cb)} share no address family; both ends must be IPv4 or both IPv6`,
        'scenario.no-common-family',
      );
      return null;
    }
  }
  return [endpointOf(r, a, version)!, endpointOf(r, b, version)!];
}

export function familyParam(r: ScenarioReader, params: Params): { family: 4 | 6 | null; node: ParsedNode | null } {
  const e = params.get('family');
  if (!e) return { family: null, node: null };
  const v = e.value;
  if (
    v !== null &&
    isScalar(v) &&
    (v.value === 4 ||
      v.value === 6 ||
      v.value === 'ipv4' ||
      v.value === 'ipv6' ||
      v.value === 'inet' ||
      v.value === 'inet6')
  ) {
    const f = v.value === 4 || v.value === 'ipv4' || v.value === 'inet' ? 4 : 6;
    return { family: f, node: e.at };
  }
  r.error(e.at, `family must be 4 or 6, not ${describeNode(v)}`, 'scenario.bad-family');
  return { family: null, node: e.at };
}
