/**
 * ICMP values of rule files (type:, code:): a number 0-255, an nft name,
 * or a list of them, as an nft anonymous set. Names are nft's and nothing
 * else (packet/icmp-names.ts); the words of tcpdump, ip6tables and fwemu's
 * own older reports are known only to say which nft name was meant.
 */
import { isScalar, type ParsedNode } from 'yaml';
import { DEST_UNREACH, icmpCodeName, icmpNames, icmpTypeName } from '../packet/icmp-names.js';
import { suggest } from '../base/suggest.js';
import { describeNode, quoted } from '../base/yaml-nodes.js';
import { list, type Entry, type YamlReader } from '../base/yaml-reader.js';
import type { RuleCode } from './codes.js';
import type { IcmpMatch, ProtoName } from './types.js';

type IcmpProto = 'icmp' | 'icmpv6';
type Kind = 'type' | 'code';

/**
 * Other tools' words for nft's names, by protocol and kind, keyed by
 * normalize()d text: tcpdump's and fwemu's older reports ("neighbor
 * solicitation"), iptables' and ip6tables' names ("fragmentation-needed",
 * "neighbour-solicitation"), and short forms people type.
 */
const OTHER_WORDS: Readonly<Record<IcmpProto, Record<Kind, Readonly<Record<string, string>>>>> = {
  icmp: {
    type: {
      echo: 'echo-request',
      ping: 'echo-request',
      pong: 'echo-reply',
      unreachable: 'destination-unreachable',
      'dest-unreachable': 'destination-unreachable',
      'information-request': 'info-request',
      'information-reply': 'info-reply',
      'ttl-exceeded': 'time-exceeded',
      'ttl-zero-during-transit': 'time-exceeded',
      'ttl-zero-during-reassembly': 'time-exceeded',
      'ip-header-bad': 'parameter-problem',
      'required-option-missing': 'parameter-problem',
      'network-redirect': 'redirect',
      'host-redirect': 'redirect',
      'tos-network-redirect': 'redirect',
      'tos-host-redirect': 'redirect',
      timestamp: 'timestamp-request',
      'address-mask': 'address-mask-request',
    },
    code: {
      'network-unreachable': 'net-unreachable',
      'protocol-unreachable': 'prot-unreachable',
      'fragmentation-needed': 'frag-needed',
      'network-prohibited': 'net-prohibited',
      'network-administratively-prohibited': 'net-prohibited',
      'host-administratively-prohibited': 'host-prohibited',
      'communication-prohibited': 'admin-prohibited',
      'communication-administratively-prohibited': 'admin-prohibited',
      'icmp-port-unreachable': 'port-unreachable',
      'icmp-host-unreachable': 'host-unreachable',
      'icmp-net-unreachable': 'net-unreachable',
      'icmp-admin-prohibited': 'admin-prohibited',
    },
  },
  icmpv6: {
    type: {
      echo: 'echo-request',
      ping: 'echo-request',
      pong: 'echo-reply',
      unreachable: 'destination-unreachable',
      'dest-unreachable': 'destination-unreachable',
      'neighbor-solicitation': 'nd-neighbor-solicit',
      'neighbor-advertisement': 'nd-neighbor-advert',
      'router-solicitation': 'nd-router-solicit',
      'router-advertisement': 'nd-router-advert',
      'neighbor-solicit': 'nd-neighbor-solicit',
      'neighbor-advert': 'nd-neighbor-advert',
      'router-solicit': 'nd-router-solicit',
      'router-advert': 'nd-router-advert',
      ns: 'nd-neighbor-solicit',
      na: 'nd-neighbor-advert',
      rs: 'nd-router-solicit',
      ra: 'nd-router-advert',
      redirect: 'nd-redirect',
      'multicast-listener-query': 'mld-listener-query',
      'multicast-listener-report': 'mld-listener-report',
      'multicast-listener-done': 'mld-listener-done',
      'multicast-listener-report-v2': 'mld2-listener-report',
      'mld-query': 'mld-listener-query',
      'mld-report': 'mld-listener-report',
      'mld-done': 'mld-listener-done',
      'mldv2-report': 'mld2-listener-report',
      'mldv2-listener-report': 'mld2-listener-report',
      'ttl-exceeded': 'time-exceeded',
      'hop-limit-exceeded': 'time-exceeded',
      'bad-header': 'parameter-problem',
      'unknown-header-type': 'parameter-problem',
      'unknown-option': 'parameter-problem',
      'inverse-neighbor-solicitation': 'ind-neighbor-solicit',
      'inverse-neighbor-advertisement': 'ind-neighbor-advert',
    },
    code: {
      'no-route-to-destination': 'no-route',
      'communication-prohibited': 'admin-prohibited',
      'communication-administratively-prohibited': 'admin-prohibited',
      'address-unreachable': 'addr-unreachable',
      'failed-policy': 'policy-fail',
      'source-address-failed-ingress/egress-policy': 'policy-fail',
      'reject-route-to-destination': 'reject-route',
      'icmp6-port-unreachable': 'port-unreachable',
      'icmp6-adm-prohibited': 'admin-prohibited',
      'icmp6-no-route': 'no-route',
      'icmp6-addr-unreachable': 'addr-unreachable',
    },
  },
};

/** Lower case, words joined by "-", British "neighbour" as nft spells it: "Neighbour Solicitation" -> "neighbor-solicitation". */
function normalize(s: string): string {
  return s
    .trim()
    .toLowerCase()
    .replace(/[\s_]+/g, '-')
    .replaceAll('neighbour', 'neighbor');
}

/** The nft name `word` was probably meant to be, or null. */
function meant(word: string, proto: IcmpProto, kind: Kind): string | null {
  const names = Object.keys(icmpNames(proto === 'icmp' ? 4 : 6, kind));
  const w = normalize(word);
  if (names.includes(w)) return w;
  const other = OTHER_WORDS[proto][kind][w];
  if (other !== undefined) return other;
  return suggest(w, names);
}

/**
 * Other words for nft's names, keyed as typed (lower case, with spaces or
 * dashes), for readers whose did-you-mean takes a word list (scenarios).
 */
export function icmpOtherWords(proto: IcmpProto, kind: Kind): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  const add = (word: string, name: string): void => {
    for (const w of [word, word.replaceAll('-', ' ')])
      for (const x of [w, w.replaceAll('neighbor', 'neighbour')]) if (!Object.hasOwn(out, x)) out[x] = name;
  };
  for (const name of Object.keys(icmpNames(proto === 'icmp' ? 4 : 6, kind))) add(name, name);
  for (const [word, name] of Object.entries(OTHER_WORDS[proto][kind])) add(word, name);
  return out;
}

/** What a type or code value may be, quoted in every ICMP diagnostic. */
function help(proto: IcmpProto, kind: Kind): string {
  const names = Object.keys(icmpNames(proto === 'icmp' ? 4 : 6, kind));
  return `a number 0-255, an ${proto} ${kind} name (${list(names)}), or a list of them`;
}

/**
 * Reads type: and code: of a rule; null (with the errors reported) when
 * they are unusable, or when there are none.
 */
export function readIcmp(
  r: YamlReader<RuleCode>,
  te: Entry | undefined,
  ce: Entry | undefined,
  label: string,
  proto: ProtoName | null,
  protoGiven: boolean,
): IcmpMatch | null {
  if (!te && !ce) return null;
  if (proto === null) return null; // proto itself is wrong; already reported
  if (proto !== 'icmp' && proto !== 'icmpv6') {
    const e = (te ?? ce)!;
    const k = te ? 'type' : 'code';
    const has = protoGiven ? `has proto ${proto}` : 'has no proto (so any protocol)';
    r.error(
      e.key,
      `rule ${label}: ${k} needs proto icmp or icmpv6; rule ${label} ${has}`,
      'rules.icmp-needs-icmp-proto',
    );
    return null;
  }
  if (!te) {
    r.error(
      ce!.key,
      `rule ${label}: code needs a type; an ICMP code means something only with its type (e.g. type: destination-unreachable, code: port-unreachable)`,
      'rules.icmp-code-needs-type',
    );
    return null;
  }
  const types = readValues(r, te, label, proto, 'type');
  const codes = ce ? readValues(r, ce, label, proto, 'code') : null;
  if (types === null || (ce && codes === null)) return null;
  return { types, codes };
}

/** One type: or code: value: its numbers in the file's order, repeats left out. */
function readValues(r: YamlReader<RuleCode>, e: Entry, label: string, proto: IcmpProto, kind: Kind): number[] | null {
  const what = `rule ${label}: ${kind}`;
  const items = r.oneOrList(
    e,
    isScalar,
    [
      `${what} is an empty list; leave ${kind} out to match any ${kind}, or give ${help(proto, kind)}`,
      'rules.bad-icmp',
    ],
    [`${what} must be ${help(proto, kind)}, not ${describeNode(e.value)}`, 'rules.bad-icmp'],
  );
  if (items === null) return null;
  const out: number[] = [];
  let ok = true;
  for (const n of items) {
    const x = readValue(r, n, what, proto, kind);
    if (x === null) ok = false;
    else if (!out.includes(x)) out.push(x);
    else {
      // Often a slip for another member (echo-request twice, echo-reply meant); mld-listener-done and -reduction are one.
      const name = icmpNames(proto === 'icmp' ? 4 : 6, kind);
      const first = Object.keys(name).find((k) => name[k] === x);
      r.warn(n, `${what} lists ${first ?? x} (${x}) more than once; it matches once`, 'rules.icmp-repeated');
    }
  }
  return ok ? out : null;
}

function readValue(r: YamlReader<RuleCode>, n: ParsedNode, what: string, proto: IcmpProto, kind: Kind): number | null {
  const v = isScalar(n) ? n.value : undefined;
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 0 && v <= 255) return v;
    r.error(n, `${what} ${v} is out of range; ${help(proto, kind)}`, 'rules.bad-icmp');
    return null;
  }
  if (typeof v !== 'string') {
    r.error(n, `${what} must be ${help(proto, kind)}, not ${describeNode(n)}`, 'rules.bad-icmp');
    return null;
  }
  const s = v.trim();
  if (/^[0-9]+$/.test(s)) {
    if (Number(s) <= 255) return Number(s);
    r.error(n, `${what} ${s} is out of range; ${help(proto, kind)}`, 'rules.bad-icmp');
    return null;
  }
  const table = icmpNames(proto === 'icmp' ? 4 : 6, kind);
  if (Object.hasOwn(table, s)) return table[s];
  const otherProto: IcmpProto = proto === 'icmp' ? 'icmpv6' : 'icmp';
  if (Object.hasOwn(icmpNames(proto === 'icmp' ? 6 : 4, kind), s)) {
    r.error(
      n,
      `${what} ${quoted(s)} is an ${otherProto} ${kind} name, and this rule has proto ${proto}; use proto: ${otherProto}, or the ${proto} ${kind} number`,
      'rules.icmp-wrong-family',
    );
    return null;
  }
  const otherKind: Kind = kind === 'type' ? 'code' : 'type';
  const asOther = Object.hasOwn(icmpNames(proto === 'icmp' ? 4 : 6, otherKind), s)
    ? `; ${quoted(s)} is an ${proto} ${otherKind} name${kind === 'type' ? ` (write type: destination-unreachable, code: ${s})` : ', not a code'}`
    : '';
  const m = asOther === '' ? meant(s, proto, kind) : null;
  const mean = m === null ? '' : `; did you mean "${m}"?`;
  r.error(
    n,
    `${what} ${quoted(s)} is not an ${proto} ${kind} name${asOther}${mean} (allowed: ${help(proto, kind)}; nft's names, as \`nft describe ${proto} ${kind}\` lists them)`,
    'rules.bad-icmp',
  );
  return null;
}

/**
 * A rule's ICMP condition in nft's words, for `check` and the nft export:
 * type names where nft has them, and code names only when every type is
 * destination unreachable (nft would print "time-exceeded ... code
 * net-unreachable" for code 0, true to its table but not to the packet).
 */
export function icmpRuleWords(proto: ProtoName, icmp: IcmpMatch): { types: string[]; codes: string[] | null } {
  const v = proto === 'icmpv6' ? 6 : 4;
  const named = icmp.types.every((t) => t === DEST_UNREACH[v]);
  const code = (c: number): string => (named ? (icmpCodeName(v, c) ?? String(c)) : String(c));
  return {
    types: icmp.types.map((t) => icmpTypeName(v, t) ?? String(t)),
    codes: icmp.codes === null ? null : icmp.codes.map(code),
  };
}
