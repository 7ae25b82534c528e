/**
 * One rule of the firewall model (a rule of a chain, or of rules: beside
 * interfaces:): its conditions, statements and verdict, each checked on
 * its own and against the rule's protocol and IP family. What needs the
 * whole file (jump targets, NAT hooks, duplicate ids) is load-firewall.ts's.
 */
import { isMap, isScalar, isSeq, type ParsedNode } from 'yaml';
import { describeNode, quoted } from '../base/yaml-nodes.js';
import { didYouMean } from '../base/suggest.js';
import { list, type Entry } from '../base/yaml-reader.js';
import type {
  AddrMatch,
  FwAction,
  FwInterface,
  FwRule,
  LogStatement,
  NamedSet,
  NatStatement,
  PktType,
  PortMatch,
} from './firewall.js';
import { ifNameProblem, nftNameProblem, texts, words, type Reader } from './fw-read.js';
import {
  LIMIT_HELP,
  NAT_ADDR_HELP,
  parseLimit,
  parseNatTarget,
  parsePortNat,
  parseRejectWith,
  parseTcpFlags,
  REJECT_WITH_HELP,
  TCP_FLAGS_HELP,
} from './fw-values.js';
import { readIcmp } from './icmp.js';
import { readAddrItems } from './load-sets.js';
import { readPorts } from './ports.js';
import {
  CHAINS,
  CT_STATES,
  CT_STATUSES,
  FAMILIES,
  FW_ACTIONS,
  FW_RULE_KEYS,
  LOG_LEVELS,
  LOG_PREFIX_MAX,
  NAT_FLAGS,
  PROTOS,
  RULE_SYNONYMS,
} from './spec.js';
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
}

/** Words other firewalls use, for the values of one list (only those that map into it). */
function synonymsIn<T extends string>(allowed: readonly T[]): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(RULE_SYNONYMS)) if ((allowed as readonly string[]).includes(v)) out[k] = v as T;
  return out;
}

const ACTION_SYN = synonymsIn(FW_ACTIONS);
const PROTO_SYN = synonymsIn(PROTOS);
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
  let id = c.defaultId;
  let idGiven = false;
  let idAt: ParsedNode = n;
  const rawId = n.items.find((p) => isScalar(p.key) && p.key.value === 'id');
  if (rawId) {
    const v = r.deref(rawId.value);
    idAt = v ?? (rawId.key as ParsedNode);
    const s =
      v !== null &&
      isScalar(v) &&
      (typeof v.value === 'string' || (typeof v.value === 'number' && Number.isInteger(v.value)))
        ? String(v.value)
        : null;
    if (s === null)
      r.error(idAt, `rule ${c.defaultId}: id must be a name like "web", not ${describeNode(v)}`, 'rules.bad-id');
    else if (s === '' || /\s/.test(s) || s.length > 64)
      r.error(
        v,
        `rule id ${quoted(s)} must be 1-64 characters without spaces (it appears in reports as "rule ${s}"); use e.g. "${s.trim().replace(/\s+/g, '-').slice(0, 64) || 'web'}"`,
        'rules.bad-id',
      );
    else if (/\p{Cc}/u.test(s)) {
      // As in the simple model: a NUL would cut an exported comment short, and ids are names, not text.
      const ch = /\p{Cc}/u.exec(s)![0].codePointAt(0)!;
      r.error(
        v,
        `rule id ${quoted(s)} contains the control character U+${ch.toString(16).toUpperCase().padStart(4, '0')}; ids appear in reports and in exported nft and iptables comments, so use printable characters`,
        'rules.bad-id',
      );
    } else {
      id = s;
      idGiven = true;
    }
  }
  const label = id;
  const what = (k: string) => `rule ${label}: ${k}`;

  const keys = c.chainKey ? FW_RULE_KEYS : FW_RULE_KEYS.filter((k) => k !== 'chain');
  const m = r.readMap(n, keys, (k) => {
    const hint =
      k === 'chain'
        ? `; a rule belongs to the chain it is listed under (${c.chain})`
        : k === 'policy'
          ? '; policy is a key of the chain, not of a rule'
          : '';
    return `unknown key "${k}" in rule ${label}${didYouMean(k, keys)}${hint} (allowed: ${list(keys)})`;
  });

  let chainGiven: Chain | null = null;
  const ce = m.get('chain');
  if (ce) chainGiven = r.oneOf(ce, what('chain'), CHAINS, synonymsIn(CHAINS));

  const comment = r.text1(m.get('comment'), what('comment'));

  // protocol and family
  const protoEntry = m.get('proto');
  const protoValue = r.oneOf(protoEntry, what('proto'), PROTOS, PROTO_SYN);
  const protoOk = protoEntry === undefined || protoValue !== null;
  const proto: ProtoName = protoValue ?? 'any';
  const famEntry = m.get('family');
  const fam = r.oneOf(famEntry, what('family'), FAMILIES, { ip: 'ipv4', ip6: 'ipv6', inet4: 'ipv4', inet6: 'ipv6' });

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
          `${what(key)}: ${star ? `${quoted(text)} matches no interface` : `interface ${quoted(text)} is not one`} of this firewall (${list(names)})${star ? '' : didYouMean(text, names)}; packets here only cross those, so the condition never holds in fwemu (fine if the rule file also serves a machine that has it)`,
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
  const families: { what: string; v: ReadonlySet<4 | 6>; at: ParsedNode }[] = [];
  if (fam !== null && famEntry)
    families.push({ what: `family ${fam}`, v: new Set([fam === 'ipv4' ? 4 : 6]), at: famEntry.at });
  if (protoValue === 'icmp' || protoValue === 'icmpv6')
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
  const ctStatus = cte ? words(r, cte, what('ct_status'), CT_STATUSES, { seen_reply: 'seen-reply' }) : null;
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

  // statements
  const counter = r.bool(m.get('counter'), what('counter')) ?? false;
  const log = readLog(r, m.get('log'), label);

  // NAT
  let nat: NatStatement | null = null;
  let natAt: ParsedNode | null = null;
  const fe = m.get('nat_flags');
  const flags = fe ? words(r, fe, what('nat_flags'), NAT_FLAGS) : [];
  for (const kind of ['snat', 'dnat', 'masquerade', 'redirect'] as const) {
    const e = m.get(kind);
    if (!e) continue;
    const s = readNat(r, e, kind, label, flags ?? []);
    if (s === undefined) continue; // masquerade: false
    if (natAt !== null) {
      r.error(
        e.key,
        `rule ${label} has two NAT statements (${nat?.kind ?? 'one'} and ${kind}); a rule translates once`,
        'rules.nat-with-verdict',
      );
      continue;
    }
    natAt = e.key;
    if (s === null) continue;
    nat = s;
    if (s.addr !== null) families.push({ what: `${kind} ${s.addr.text}`, v: new Set([s.addr.version]), at: e.at });
    if (s.ports !== null && protoOk && proto !== 'tcp' && proto !== 'udp')
      r.error(
        e.at,
        `rule ${label}: ${kind} to a port needs proto tcp or udp (nft: "transport protocol mapping is only valid after transport protocol match"); rule ${label} ${protoEntry ? `has proto ${proto}` : 'has no proto'}`,
        'rules.nat-port-needs-tcp-udp',
      );
  }
  if (fe && natAt === null)
    r.error(
      fe.key,
      `rule ${label}: nat_flags needs a NAT statement (snat, dnat, masquerade or redirect) in the rule`,
      'rules.bad-nat',
    );

  // verdict
  const ae = m.get('action');
  const given = r.oneOf(ae, what('action'), FW_ACTIONS, ACTION_SYN);
  let action: FwAction = given ?? 'accept';
  let target: string | null = null;
  let targetAt: ParsedNode | null = null;
  const je = m.get('jump');
  const ge = m.get('goto');
  const te = m.get('to');
  if (je && ge)
    r.error(
      ge.key,
      `rule ${label} has both jump: and goto:; a rule enters one chain (jump comes back, goto does not)`,
      'rules.bad-jump',
    );
  const jumpKey = je ? 'jump' : ge ? 'goto' : null;
  const targetEntry = je ?? ge ?? te;
  if (jumpKey !== null) {
    if (given !== null && given !== jumpKey)
      r.error(
        ae!.at,
        `rule ${label} has ${jumpKey}: and action: ${given}; leave action out (${jumpKey}: is the verdict)`,
        'rules.bad-jump',
      );
    if (te)
      r.error(
        te.key,
        `rule ${label} has ${jumpKey}: and to:; write ${jumpKey}: NAME, or action: ${jumpKey} with to: NAME`,
        'rules.bad-jump',
      );
    action = jumpKey;
  } else if (te && action !== 'jump' && action !== 'goto')
    r.error(
      te.key,
      `rule ${label}: to: names the chain of action: jump or goto, and this rule's action is ${action}`,
      'rules.bad-jump',
    );
  else if ((action === 'jump' || action === 'goto') && !te)
    r.error(
      ae!.at,
      `rule ${label}: action: ${action} needs the chain to enter: write ${action}: NAME (or to: NAME)`,
      'rules.bad-jump',
    );
  if ((action === 'jump' || action === 'goto') && targetEntry) {
    const v = targetEntry.value;
    if (v === null || !isScalar(v) || typeof v.value !== 'string')
      r.error(
        targetEntry.at,
        `rule ${label}: ${action} takes the name of a chain under chains:, not ${describeNode(v)}`,
        'rules.bad-jump',
      );
    else {
      const problem = nftNameProblem(v.value);
      if (problem !== null)
        r.error(v, `rule ${label}: chain name ${quoted(v.value)} ${problem}`, 'rules.bad-chain-name');
      else {
        target = v.value;
        targetAt = v;
      }
    }
  }
  if (natAt !== null) {
    if (jumpKey !== null || (given !== null && given !== 'accept'))
      r.error(
        natAt,
        `rule ${label}: a NAT statement is the rule's verdict (accept, once translated); it cannot be combined with ${jumpKey ?? `action: ${given}`}`,
        'rules.nat-with-verdict',
      );
    action = 'accept';
  }

  let rejectWith: string | null = null;
  const rwe = m.get('reject_with');
  if (rwe) {
    const v = rwe.value;
    if (v === null || !isScalar(v) || typeof v.value !== 'string')
      r.error(
        rwe.at,
        `${what('reject_with')} must be ${REJECT_WITH_HELP}, not ${describeNode(v)}`,
        'rules.bad-reject-with',
      );
    else if (action !== 'reject')
      r.error(
        rwe.key,
        `rule ${label}: reject_with needs action: reject (this rule's action is ${action})`,
        'rules.bad-reject-with',
      );
    else {
      const rw = parseRejectWith(v.value);
      if (!rw.ok) r.error(rwe.at, `${what('reject_with')}: ${rw.error}`, 'rules.bad-reject-with');
      else if (rw.value.kind === 'tcp' && protoOk && proto !== 'tcp')
        r.error(
          rwe.at,
          `rule ${label}: reject_with tcp reset needs proto tcp (a TCP reset answers only TCP; nft would add the condition behind your back)`,
          'rules.bad-reject-with',
        );
      else {
        rejectWith = rw.value.text;
        if (rw.value.kind === 'icmp' || rw.value.kind === 'icmpv6')
          families.push({
            what: `reject_with ${rw.value.text}`,
            v: new Set([rw.value.kind === 'icmp' ? 4 : 6]),
            at: rwe.at,
          });
      }
    }
  }

  // The IP families the conditions and statements allow: one at least must be left.
  let family: ReadonlySet<4 | 6> = new Set([4, 6]);
  let first: (typeof families)[number] | null = null;
  for (const f of families) {
    const both = new Set([...family].filter((x) => f.v.has(x)));
    if (both.size === 0) {
      r.error(
        f.at,
        `rule ${label}: ${f.what} ${needs(f.v)}, and ${first!.what} ${needs(first!.v)}; no packet is both (split the rule into one per IP family)`,
        'rules.family-clash',
      );
      break;
    }
    if (both.size < family.size || first === null) first = f;
    family = both;
  }

  if (r.errors > before) return null;
  const rule: FwRule = {
    id,
    idGiven,
    index: c.index,
    chain: c.chain,
    comment,
    pos,
    proto,
    family: family.size === 1 ? [...family][0] : null,
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
    counter,
    log,
    nat,
    action,
    rejectWith,
    target,
  };
  return { rule, chainGiven, targetAt, natAt, idAt };
}

function needs(v: ReadonlySet<4 | 6>): string {
  return v.size === 2 ? 'allows IPv4 and IPv6' : `needs IPv${[...v][0]}`;
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

function readLog(r: Reader, e: Entry | undefined, label: string): LogStatement | null {
  if (!e) return null;
  const v = e.value;
  const help = 'true, a prefix text ("ssh: "), or { prefix:, level: }';
  const prefixOk = (s: string, at: ParsedNode): boolean => {
    const bytes = Buffer.byteLength(s, 'utf8');
    if (bytes <= LOG_PREFIX_MAX) return true;
    r.error(
      at,
      `rule ${label}: the log prefix is ${bytes} bytes long; the kernel takes at most ${LOG_PREFIX_MAX}`,
      'rules.bad-log',
    );
    return false;
  };
  if (v !== null && isScalar(v) && typeof v.value === 'boolean') return v.value ? { prefix: null, level: null } : null;
  // The prefix is kept exactly as written (quotes, control characters): reports and exports escape it.
  if (v !== null && isScalar(v) && (typeof v.value === 'string' || typeof v.value === 'number'))
    return prefixOk(String(v.value), v) ? { prefix: String(v.value), level: null } : null;
  if (v !== null && isMap(v)) {
    const keys = ['prefix', 'level'] as const;
    const m = r.readMap(
      v,
      keys,
      (k) => `unknown key "${k}" in rule ${label}: log${didYouMean(k, keys)} (allowed: prefix, level)`,
    );
    const prefix = r.text1(m.get('prefix'), `rule ${label}: log prefix`);
    const level = r.oneOf(m.get('level'), `rule ${label}: log level`, LOG_LEVELS, {
      warning: 'warn',
      error: 'err',
      crit: 'crit',
    });
    if (prefix !== null && !prefixOk(prefix, m.get('prefix')!.at)) return null;
    return { prefix, level };
  }
  r.error(e.at, `rule ${label}: log must be ${help}, not ${describeNode(v)}`, 'rules.bad-log');
  return null;
}

/** A NAT key's statement; undefined for `masquerade: false` / `redirect: false` (no statement); null when bad (reported). */
function readNat(
  r: Reader,
  e: Entry,
  kind: 'snat' | 'dnat' | 'masquerade' | 'redirect',
  label: string,
  flags: readonly string[],
): NatStatement | null | undefined {
  const v = e.value;
  const x = v !== null && isScalar(v) ? v.value : undefined;
  if (kind === 'snat' || kind === 'dnat') {
    if (typeof x !== 'string') {
      r.error(e.at, `rule ${label}: ${kind} must be ${NAT_ADDR_HELP}, not ${describeNode(v)}`, 'rules.bad-nat');
      return null;
    }
    const p = parseNatTarget(kind, x, flags);
    if (!p.ok) {
      r.error(e.at, `rule ${label}: ${kind} ${quoted(x)}: ${p.error}; give ${NAT_ADDR_HELP}`, 'rules.bad-nat');
      return null;
    }
    return p.value;
  }
  if (x === false) return undefined;
  if (x === true || typeof x === 'number' || typeof x === 'string') {
    const p = parsePortNat(kind, x === true ? null : String(x), flags);
    if (!p.ok) {
      r.error(
        e.at,
        `rule ${label}: ${kind} ${quoted(String(x))}: ${p.error}; give true, or a port or port range ("40000-40100")`,
        'rules.bad-nat',
      );
      return null;
    }
    return p.value;
  }
  r.error(
    e.at,
    `rule ${label}: ${kind} must be true, or the port${kind === 'masquerade' ? 's' : ''} to translate to (${kind === 'masquerade' ? '"40000-40100"' : '8080'}), not ${describeNode(v)}`,
    'rules.bad-nat',
  );
  return null;
}
