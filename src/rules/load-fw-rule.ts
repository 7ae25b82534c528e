/**
 * One rule of the firewall model (a rule of a chain, or of rules: beside
 * interfaces:): its id and conditions here, its statements and verdict in
 * load-fw-statements.ts, each checked on its own and against the rule's
 * protocol and IP family. What needs the whole file (jump targets, NAT
 * hooks, duplicate ids) is fw-checks.ts's.
 */
import { isMap, isScalar, isSeq, type ParsedNode } from 'yaml';
import { describeNode, quoted } from '../base/yaml-nodes.js';
import { didYouMean } from '../base/suggest.js';
import { list, type Entry } from '../base/yaml-reader.js';
import type { AddrMatch, FwInterface, FwRule, NamedSet, PktType, PortMatch } from './firewall.js';
import { ifNameProblem, texts, words, type Reader } from './fw-read.js';
import { LIMIT_HELP, parseLimit, parseTcpFlags, TCP_FLAGS_HELP } from './fw-values.js';
import { readIcmp } from './icmp.js';
import { readRuleId } from './rule-id.js';
import { familyOf, readStatements, type FamilyNeed } from './load-fw-statements.js';
import { checkNot, readMeta, readNot } from './load-fw-meta.js';
import { hopLimitText } from './fw-meta-values.js';
import { readAddrItems } from './load-sets.js';
import { readPorts } from './ports.js';
import { CHAINS, CT_STATES, CT_STATUSES, FAMILIES, FW_RULE_KEYS, PROTOS, RULE_SYNONYMS } from './spec.js';
import type { Chain, ProtoName } from './types.js';

/** What a rule needs to know of the file around it. */
export interface RuleContext {
  /** The chain the rule is listed under (for rules: beside interfaces:, the chain it defaults to). */
  chain: string;
  /** 1-based position in that list. */
  index: number;
  /** The id when none is given. */
  defaultId: string;
  /** Whether `chain:` is a key of the rule (rules: beside interfaces:). */
  chainKey: boolean;
  sets: ReadonlyMap<string, NamedSet>;
  interfaces: readonly FwInterface[];
}

/** A rule read, with the nodes later checks point at. */
export interface ReadRule {
  rule: FwRule;
  /** The value of chain: (rules: beside interfaces:), or null. */
  chainGiven: Chain | null;
  /** The jump/goto target's node, for "unknown chain" and loops. */
  targetAt: ParsedNode | null;
  /** The NAT statement's key, for hook checks. */
  natAt: ParsedNode | null;
  /** The rule's id node (or the rule), for duplicate ids. */
  idAt: ParsedNode;
  /** The fib: value, for the hook check. */
  fibAt: ParsedNode | null;
}

const PKT_TYPES_NFT: readonly PktType[] = ['host', 'broadcast', 'multicast', 'other'];

export const IF_HELP = 'an interface name like lan0 (a trailing "*" matches any suffix: "eth*"), or a list of them';
export const FW_ADDR_HELP =
  'an address, a network (10.1.0.0/16), a range (10.1.0.10-10.1.0.20), a set ("@name"), or a list of addresses, networks and ranges';

/** Reads one rule; null when it has errors (they are recorded). */
export function readFwRule(r: Reader, n: ParsedNode, c: RuleContext): ReadRule | null {
  const before = r.errors;
  const pos = r.nodePos(n);
  if (!isMap(n)) {
    r.error(
      n,
      `rule #${c.index} of ${c.chain} must be a mapping (id:, proto:, dport:, action:, ...), not ${describeNode(n)}`,
      'rules.rule-not-mapping',
    );
    return null;
  }

  // id first, so that later messages can name the rule
  const given = readRuleId(r, n, c.defaultId);
  const id = given.id ?? c.defaultId;
  const idGiven = given.id !== null;
  const idAt: ParsedNode = given.at ?? n;
  const label = id;
  const what = (k: string) => `rule ${label}: ${k}`;

  const keys = c.chainKey ? FW_RULE_KEYS : FW_RULE_KEYS.filter((k) => k !== 'chain');
  const m0 = r.readMap(n, keys, (k) => {
    const hint =
      k === 'chain'
        ? `; a rule belongs to the chain it is listed under (${c.chain})`
        : k === 'policy'
          ? '; policy is a key of the chain, not of a rule'
          : '';
    return `unknown key "${k}" in rule ${label}${didYouMean(k, keys)}${hint} (allowed: ${list(keys)})`;
  });
  // Conditions under not: are read with the rule's own; `negated` says which they were.
  const negated = readNot(r, m0, label);
  const m = negated.m;

  let chainGiven: Chain | null = null;
  const ce = m.get('chain');
  if (ce) chainGiven = r.oneOf(ce, what('chain'), CHAINS);

  const comment = r.text1(m.get('comment'), what('comment'));

  // protocol and family
  const protoEntry = m.get('proto');
  const protoValue = r.oneOf(protoEntry, what('proto'), PROTOS, {}, RULE_SYNONYMS);
  const protoOk = protoEntry === undefined || protoValue !== null;
  const proto: ProtoName = protoValue ?? 'any';
  const famEntry = m.get('family');
  const fam = r.oneOf(
    famEntry,
    what('family'),
    FAMILIES,
    {},
    { ip: 'ipv4', ip6: 'ipv6', inet4: 'ipv4', inet6: 'ipv6' },
  );

  // interfaces
  const ifs = (key: 'iif' | 'oif'): string[] | null => {
    const e = m.get(key);
    if (!e) return null;
    const items = texts(r, e, what(key), IF_HELP, 'rules.empty-list', 'rules.bad-interface');
    if (items === null) return null;
    const out: string[] = [];
    for (const { text, node } of items) {
      const problem = ifNameProblem(text, true);
      if (problem !== null) {
        r.error(node, `${what(key)}: interface name ${quoted(text)} ${problem}`, 'rules.bad-interface-name');
        continue;
      }
      const star = text.endsWith('*');
      const known = c.interfaces.some((i) => (star ? i.name.startsWith(text.slice(0, -1)) : i.name === text));
      if (!known) {
        const names = c.interfaces.map((i) => i.name);
        r.warn(
          node,
          `${what(key)}: ${star ? `${quoted(text)} matches no interface` : `interface ${quoted(text)} is not one`} of this firewall (${list(names)}), which are all its packets cross, so the condition never holds in fwemu (fine if the rule file also serves a machine that has it)${star ? '' : didYouMean(text, names)}`,
          'rules.unknown-interface',
        );
      }
      if (!out.includes(text)) out.push(text);
    }
    return out;
  };
  const iif = ifs('iif');
  const oif = ifs('oif');

  // addresses
  const families: FamilyNeed[] = [];
  if (fam !== null && famEntry)
    families.push({ what: `family ${fam}`, v: new Set([fam === 'ipv4' ? 4 : 6]), at: famEntry.at });
  // (`meta l4proto != icmp` implies no family.)
  if ((protoValue === 'icmp' || protoValue === 'icmpv6') && !negated.keys.has('proto'))
    families.push({ what: `proto ${protoValue}`, v: new Set([protoValue === 'icmp' ? 4 : 6]), at: protoEntry!.at });
  const addrs = (key: 'src' | 'dst'): AddrMatch | null => {
    const e = m.get(key);
    if (!e) return null;
    const items = r.oneOrList(
      e,
      (v) => isScalar(v) && v.value !== null,
      [
        `${what(key)} is an empty list; leave ${key} out to match any address, or give ${FW_ADDR_HELP}`,
        'rules.empty-address-list',
      ],
      [`${what(key)} must be ${FW_ADDR_HELP}, not ${describeNode(e.value)}`, 'rules.bad-address'],
    );
    if (items === null) return null;
    const set = setRef(r, items, what(key), c.sets);
    if (set === false) return null;
    if (set !== null) {
      if (set.set.kind === 'inet_service') {
        r.error(
          set.node,
          `${what(key)}: set ${set.set.name} holds ports (inet_service); ${key} takes a set of addresses (ipv4_addr or ipv6_addr)`,
          'rules.set-kind-mismatch',
        );
        return null;
      }
      families.push({
        what: `${key} @${set.set.name}`,
        v: new Set([set.set.kind === 'ipv4_addr' ? 4 : 6]),
        at: set.node,
      });
      return set.set.addrs;
    }
    const a = readAddrItems(r, items, what(key), FW_ADDR_HELP);
    if (a === null) return null;
    families.push({ what: key, v: a.versions, at: e.at });
    return { cidrs: a.cidrs, ranges: a.ranges, set: null };
  };
  const src = addrs('src');
  const dst = addrs('dst');

  // ports
  const tcpUdp = (e: Entry, key: string): boolean => {
    if (!protoOk || proto === 'tcp' || proto === 'udp') return true;
    const has = protoEntry ? `has proto ${proto}` : 'has no proto (so any protocol)';
    r.error(
      e.key,
      `rule ${label}: ${key} needs proto tcp or udp; rule ${label} ${has}, and only TCP and UDP have ports here (use two rules to match both tcp and udp)`,
      key === 'tcp_flags' ? 'rules.tcp-flags-needs-tcp' : 'rules.port-needs-tcp-udp',
    );
    return false;
  };
  const ports = (key: 'sport' | 'dport'): PortMatch | null => {
    const e = m.get(key);
    if (!e) return null;
    const v = e.value;
    const items = v !== null && isSeq(v) ? r.items(v) : v !== null ? [v] : [];
    const set = setRef(r, items, what(key), c.sets);
    if (set === false) return null;
    if (set !== null) {
      if (set.set.kind !== 'inet_service') {
        r.error(
          set.node,
          `${what(key)}: set ${set.set.name} holds addresses (${set.set.kind}); ${key} takes a set of ports (inet_service)`,
          'rules.set-kind-mismatch',
        );
        return null;
      }
      return tcpUdp(e, key) ? set.set.ports : null;
    }
    const p = readPorts(r, e, key, label);
    if (!tcpUdp(e, key)) return null;
    return p === null ? null : { ranges: p, set: null };
  };
  const sport = ports('sport');
  const dport = ports('dport');

  const icmp = readIcmp(r, m.get('type'), m.get('code'), label, protoOk ? proto : null, protoEntry !== undefined);

  let tcpFlags = null;
  const tfe = m.get('tcp_flags');
  if (tfe) {
    const v = tfe.value;
    const text =
      v !== null && isScalar(v) && typeof v.value === 'string'
        ? v.value
        : v !== null && isSeq(v) && r.items(v).every((x) => isScalar(x) && typeof x.value === 'string')
          ? r
              .items(v)
              .map((x) => String((x as { value: unknown }).value))
              .join(',')
          : null;
    if (text === null)
      r.error(tfe.at, `${what('tcp_flags')} must be ${TCP_FLAGS_HELP}, not ${describeNode(v)}`, 'rules.bad-tcp-flags');
    else {
      const t = parseTcpFlags(text);
      if (!t.ok) r.error(tfe.at, `${what('tcp_flags')}: ${t.error}; give ${TCP_FLAGS_HELP}`, 'rules.bad-tcp-flags');
      else if (protoOk && proto !== 'tcp') {
        const has = protoEntry ? `has proto ${proto}` : 'has no proto (so any protocol)';
        r.error(tfe.key, `rule ${label}: tcp_flags needs proto tcp; rule ${label} ${has}`, 'rules.tcp-flags-needs-tcp');
      } else tcpFlags = t.value;
    }
  }

  const cse = m.get('ct_state');
  const ctState = cse ? words(r, cse, what('ct_state'), CT_STATES) : null;
  const cte = m.get('ct_status');
  const ctStatus = cte ? words(r, cte, what('ct_status'), CT_STATUSES) : null;
  const pte = m.get('pkttype');
  const pktType = pte ? words(r, pte, what('pkttype'), PKT_TYPES_NFT, { unicast: 'host' }) : null;

  let limit = null;
  const le = m.get('limit');
  if (le) {
    const v = le.value;
    if (v === null || !isScalar(v) || typeof v.value !== 'string')
      r.error(le.at, `${what('limit')} must be ${LIMIT_HELP}, not ${describeNode(v)}`, 'rules.bad-limit');
    else {
      const l = parseLimit(v.value);
      if (!l.ok) r.error(le.at, `${what('limit')}: ${l.error}; give ${LIMIT_HELP}`, 'rules.bad-limit');
      else limit = l.value;
    }
  }

  checkNot(r, negated, label);
  const meta = readMeta(r, m, label);
  const st = readStatements(r, m, label, { proto, protoOk, protoGiven: protoEntry !== undefined }, families);
  const family = familyOf(r, label, families);
  if (family !== null) deadAddresses(r, m, label, family, families, { src, dst });

  if (meta.hopLimitAt !== null && family === null)
    r.error(
      meta.hopLimitAt,
      `rule ${label}: hop_limit needs the rule's IP family (family: ipv4 or ipv6, or addresses of one family): nft tests ip ttl or ip6 hoplimit, one header at a time`,
      'rules.bad-hop-limit',
    );
  if (r.errors > before) return null;
  const rule: FwRule = {
    id,
    idGiven,
    index: c.index,
    chain: c.chain,
    comment,
    pos,
    proto,
    family,
    iif,
    oif,
    src,
    dst,
    sport,
    dport,
    icmp,
    tcpFlags,
    ctState,
    ctStatus,
    pktType,
    limit,
    counter: st.counter,
    log: st.log,
    nat: st.nat,
    action: st.action,
    rejectWith: st.rejectWith,
    target: st.target,
  };
  // Issue 18's fields only when given, so that a rule without them is as before.
  if (negated.not.length > 0) rule.not = negated.not;
  if (meta.mark !== null) rule.mark = meta.mark;
  if (meta.markSet !== null) rule.markSet = meta.markSet;
  if (meta.fib !== null) rule.fib = meta.fib;
  if (meta.notrack) rule.notrack = true;
  if (meta.hopLimit !== null) rule.hopLimit = { ...meta.hopLimit, text: hopLimitText(meta.hopLimit, family ?? 4) };
  return { rule, chainGiven, targetAt: st.targetAt, natAt: st.natAt, idAt, fibAt: meta.fibAt };
}

/**
 * An `@name` among `items`: the set (checked to exist), null when there is
 * none, false when it is unusable (reported): unknown, or listed with others
 * (nft matches one set, or one anonymous list).
 */
function setRef(
  r: Reader,
  items: readonly ParsedNode[],
  what: string,
  sets: ReadonlyMap<string, NamedSet>,
): { set: NamedSet; node: ParsedNode } | null | false {
  const at = items.find((n) => isScalar(n) && typeof n.value === 'string' && n.value.trim().startsWith('@'));
  if (at === undefined) return null;
  if (items.length > 1) {
    r.error(
      at,
      `${what}: a set (${String((at as { value: unknown }).value).trim()}) must be the whole value, not one item of a list; put the other elements into the set, or use two rules`,
      'rules.set-in-list',
    );
    return false;
  }
  const name = String((at as { value: unknown }).value)
    .trim()
    .slice(1);
  const set = sets.get(name);
  if (set === undefined) {
    const names = [...sets.keys()];
    r.error(
      at,
      `${what}: no set named ${quoted(name)} under sets:${didYouMean(name, names)}${names.length > 0 ? ` (sets: ${list(names)})` : ''}`,
      'rules.unknown-set',
    );
    return false;
  }
  return { set, node: at };
}

/**
 * Addresses of a list written in the rule that can never match because
 * the rule matches one IP family only (a warning, as the simple model's
 * never-matches): `src: [10.0.0.1, "fd00::1"], proto: icmp`.
 */
function deadAddresses(
  r: Reader,
  m: ReadonlyMap<string, Entry>,
  label: string,
  family: 4 | 6,
  families: readonly FamilyNeed[],
  lists: { src: AddrMatch | null; dst: AddrMatch | null },
): void {
  const why = families.find((f) => f.v.size === 1 && f.v.has(family));
  for (const key of ['src', 'dst'] as const) {
    const am = lists[key];
    if (am === null || am.set !== null) continue;
    const dead = [
      ...am.cidrs.filter((x) => x.version !== family).map((x) => x.text),
      ...am.ranges.filter((x) => x.version !== family).map((x) => x.text),
    ];
    if (dead.length === 0) continue;
    r.warn(
      m.get(key)!.at,
      `rule ${label}: ${key} ${list(dead)} never ${dead.length === 1 ? 'matches' : 'match'}: the rule matches IPv${family} packets only${why ? ` (${why.what})` : ''}`,
      'rules.never-matches',
    );
  }
}
