/**
 * The statements and verdict of a firewall-model rule (load-fw-rule.ts
 * reads its conditions): counter, log, the NAT statement, the verdict with
 * its jump target or reject type, and the check that the IP families the
 * rule's parts need leave one.
 */
import { isMap, isScalar, type ParsedNode } from 'yaml';
import { describeNode, quoted } from '../base/yaml-nodes.js';
import { didYouMean } from '../base/suggest.js';
import type { Entry } from '../base/yaml-reader.js';
import type { FwAction, LogStatement, NatStatement } from './firewall.js';
import { nftNameProblem, words, type Reader } from './fw-read.js';
import { NAT_ADDR_HELP, parseNatTarget, parsePortNat, parseRejectWith, REJECT_WITH_HELP } from './fw-values.js';
import { FW_ACTIONS, LOG_LEVELS, LOG_PREFIX_MAX, NAT_FLAGS, RULE_SYNONYMS } from './spec.js';
import type { ProtoName } from './types.js';

/** Something in a rule that works for one IP family only (or both), for the clash check. */
export interface FamilyNeed {
  what: string;
  v: ReadonlySet<4 | 6>;
  at: ParsedNode;
}

/** A rule's protocol, as its statements need it. */
export interface ProtoInfo {
  proto: ProtoName;
  /** False when proto: itself was wrong (already reported: say nothing more about it). */
  protoOk: boolean;
  protoGiven: boolean;
}

export interface Statements {
  counter: boolean;
  log: LogStatement | null;
  nat: NatStatement | null;
  natAt: ParsedNode | null;
  action: FwAction;
  rejectWith: string | null;
  target: string | null;
  targetAt: ParsedNode | null;
}

/** Reads the statements; what needs an IP family is added to `families`. */
export function readStatements(
  r: Reader,
  m: ReadonlyMap<string, Entry>,
  label: string,
  p: ProtoInfo,
  families: FamilyNeed[],
): Statements {
  const what = (k: string) => `rule ${label}: ${k}`;
  const { proto, protoOk } = p;
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
        `rule ${label}: ${kind} to a port needs proto tcp or udp (nft: "transport protocol mapping is only valid after transport protocol match"); rule ${label} ${p.protoGiven ? `has proto ${proto}` : 'has no proto'}`,
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
  const given = r.oneOf(ae, what('action'), FW_ACTIONS, {}, RULE_SYNONYMS);
  // A rule that only marks or untracks goes on to the next (as nft's and iptables' MARK/CT do).
  let action: FwAction = given ?? (m.has('mark_set') || m.has('notrack') ? 'continue' : 'accept');
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

  return { counter, log, nat, natAt, action, rejectWith, target, targetAt };
}

/** The one IP family the rule's parts leave (null: both), or null with an error when they leave none. */
export function familyOf(r: Reader, label: string, families: readonly FamilyNeed[]): 4 | 6 | null {
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

  return family.size === 1 ? [...family][0] : null;
}

function needs(v: ReadonlySet<4 | 6>): string {
  return v.size === 2 ? 'allows IPv4 and IPv6' : `needs IPv${[...v][0]}`;
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
    const level = r.oneOf(
      m.get('level'),
      `rule ${label}: log level`,
      LOG_LEVELS,
      {},
      {
        warning: 'warn',
        error: 'err',
      },
    );
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
