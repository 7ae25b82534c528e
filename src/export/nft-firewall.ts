import { UserError } from '../base/errors.js';
import { visible } from '../base/text-escape.js';
import { formatAddr } from '../packet/addr.js';
import type {
  AddrMatch,
  FibMatch,
  Firewall,
  FwChain,
  FwInterface,
  FwRule,
  HopLimitMatch,
  Hook,
  LimitMatch,
  MarkMatch,
  MarkSet,
  NamedSet,
  NatStatement,
  NegatableCondition,
  PortMatch,
} from '../rules/firewall.js';
import { hex32, hopLimitText } from '../rules/fw-meta-values.js';
import { hopLimitFamily } from '../rules/fw-compile.js';
import { icmpRuleWords } from '../rules/icmp.js';
import { LOG_LEVELS, NAT_FLAGS, TCP_FLAG_BITS as TCP_FLAGS } from '../rules/spec.js';
import type { PortRange, RuleSet } from '../rules/types.js';
import { commentLine, cutUtf8, shortText } from './comment.js';
import { ifNameProblem, nftNameProblem } from './fw-names.js';
import { nftComment, sysctlCommentLines } from './nft.js';

/**
 * The nft export of the firewall model (rules/firewall.ts): one `table inet`
 * holding the named sets and every chain of the rule file, base and user,
 * in file order, each rule written as nft writes it. exportNft() (nft.ts)
 * hands a RuleSet here when its `firewall` is set; the simple model's
 * export is untouched.
 *
 * A rule whose addresses name both families is written once per family
 * (`ip saddr ...`, then `ip6 saddr ...`), as the simple model's export
 * does; one whose conditions fit only one family gets that family's rule
 * alone, with `meta nfproto` when no address says it; one that can match
 * no family (an IPv4 source and an IPv6 destination) is left out, as nft
 * would never run it.
 *
 * What the user wrote goes into the ruleset only through fixed syntax:
 * names must be plain words (fw-names.ts), rule ids become comments
 * (nftComment()), log prefixes go through nftLogPrefix(); anything else
 * is a number, an address or a keyword fwemu formats itself.
 */

export type Family = 4 | 6;

/** Where a rule is, for an export error: `rule "web" (rules/x.yaml:12:7) in chain forward`. */
export function ruleWhere(rule: FwRule): string {
  return `rule "${shortText(rule.id)}" (${shortText(rule.pos.file)}:${rule.pos.line}:${rule.pos.col}) in chain ${shortText(rule.chain)}`;
}

/** The named set a match refers to, or null for a list written in the rule. */
function setOf(fw: Firewall, m: AddrMatch | PortMatch): NamedSet | null {
  if (m.set === null) return null;
  return fw.sets.find((s) => s.name === m.set) ?? null;
}

/** Whether an address condition can hold for a packet of family `fam`. */
function addrAllows(fw: Firewall, m: AddrMatch | null, fam: Family): boolean {
  if (m === null) return true;
  const set = setOf(fw, m);
  if (set !== null) return set.kind === (fam === 4 ? 'ipv4_addr' : 'ipv6_addr');
  return m.cidrs.some((c) => c.version === fam) || m.ranges.some((r) => r.version === fam);
}

/** The family a `reject with` type belongs to (icmp: IPv4, icmpv6: IPv6), or null for both. */
function rejectFamily(rejectWith: string | null): Family | null {
  if (rejectWith === null) return null;
  const w = rejectWith.trim().split(/\s+/)[0];
  return w === 'icmp' ? 4 : w === 'icmpv6' ? 6 : null;
}

/**
 * The IP families a rule is written out for: [null] for one rule matching
 * both; [4], [6] or [4, 6] when its conditions are per family (addresses,
 * ICMP, a NAT address, a `reject with icmp...`, `family:`); [] when no
 * packet can match it.
 */
export function fwRuleFamilies(fw: Firewall, rule: FwRule): (Family | null)[] {
  const rf = rejectFamily(rule.action === 'reject' ? rule.rejectWith : null);
  // (`meta l4proto != icmp` implies no family.)
  const proto = rule.not?.includes('proto') ? 'any' : rule.proto;
  const fams = ([4, 6] as const).filter(
    (f) =>
      (rule.family === null || rule.family === f) &&
      (rule.family !== null || hopLimitFamily(rule) === null || hopLimitFamily(rule) === f) &&
      addrAllows(fw, rule.src, f) &&
      addrAllows(fw, rule.dst, f) &&
      !(proto === 'icmp' && f === 6) &&
      !(proto === 'icmpv6' && f === 4) &&
      (rule.nat?.addr == null || rule.nat.addr.version === f) &&
      (rf === null || rf === f),
  );
  if (fams.length === 2 && rule.src === null && rule.dst === null) return [null];
  return fams;
}

/** A bare address from its words. */
export function addrText(version: Family, w: readonly [number, number, number, number]): string {
  return formatAddr(version, w[0], w[1], w[2], w[3]);
}

function anon(items: string[]): string {
  return items.length === 1 ? items[0] : `{ ${items.join(', ')} }`;
}

function portText(p: PortRange): string {
  return p.lo === p.hi ? `${p.lo}` : `${p.lo}-${p.hi}`;
}

/** The address elements of a match for one family, as nft writes them (prefixes, then ranges). */
export function addrElements(m: AddrMatch, fam: Family): string[] {
  return [
    ...m.cidrs.filter((c) => c.version === fam).map((c) => c.text),
    ...m.ranges.filter((r) => r.version === fam).map((r) => `${addrText(fam, r.lo)}-${addrText(fam, r.hi)}`),
  ];
}

function addrExpr(m: AddrMatch, fam: Family): string {
  return m.set !== null ? `@${m.set}` : anon(addrElements(m, fam));
}

function portExpr(m: PortMatch): string {
  return m.set !== null ? `@${m.set}` : anon(m.ranges.map(portText));
}

/** TCP header flag bits and nft's names for them, in the header's order (spec.ts's table, as pairs). */
export const TCP_FLAG_BITS: readonly [number, string][] = Object.entries(TCP_FLAGS)
  .map(([name, bit]): [number, string] => [bit, name])
  .sort((a, b) => a[0] - b[0]);

function flagNames(bits: number, sep: string): string {
  return TCP_FLAG_BITS.filter(([b]) => (bits & b) !== 0)
    .map(([, n]) => n)
    .join(sep);
}

/** `tcp flags & (syn | ack) == syn`: the form every nft since 0.9 reads (`syn / syn,ack` came later). */
function tcpFlagsExpr(mask: number, value: number, negated = false): string {
  const v = value & mask;
  return `tcp flags & (${flagNames(mask, ' | ')}) ${negated ? '!=' : '=='} ${v === 0 ? '0x0' : flagNames(v, ' | ')}`;
}

export function limitExpr(l: LimitMatch): string {
  return `limit rate ${l.over ? 'over ' : ''}${l.rate}/${l.unit} burst ${l.burst} packets`;
}

/** The kernel keeps a log prefix in 128 bytes with its NUL (NF_LOG_PREFIXLEN); nft 1.0.6 refuses 128 and crashes on 200. */
export const NFT_LOG_PREFIX_MAX_BYTES = 127;

/**
 * A log prefix as the text between nft's quotes: made visible (no line
 * break, no control character), `"` written `'` (nft has no escape for
 * it: see nftCommentText()), `$` written `\x24` (nft reads `$name` in a
 * prefix as a variable, and a lone `$` is an error), and cut to
 * NFT_LOG_PREFIX_MAX_BYTES.
 */
export function nftLogPrefixText(prefix: string): string {
  return cutUtf8(visible(prefix).replaceAll('"', "'").replaceAll('$', '\\x24'), NFT_LOG_PREFIX_MAX_BYTES);
}

/** The NAT statement of a rule in nft's words: `dnat ip to 192.168.1.10:8080`, `masquerade to :40000-40100 random`. */
export function natExpr(nat: NatStatement, rule: FwRule): string {
  for (const f of nat.flags) {
    if (!(NAT_FLAGS as readonly string[]).includes(f))
      throw new UserError(
        `${ruleWhere(rule)}: NAT flag "${shortText(f)}" is not one of random, fully-random, persistent`,
      );
  }
  const flags = nat.flags.length > 0 ? ` ${nat.flags.join(',')}` : '';
  const ports =
    nat.ports === null ? '' : nat.ports.lo === nat.ports.hi ? `${nat.ports.lo}` : `${nat.ports.lo}-${nat.ports.hi}`;
  if (nat.kind === 'masquerade' || nat.kind === 'redirect') return `${nat.kind}${ports ? ` to :${ports}` : ''}${flags}`;
  const a = nat.addr;
  if (a === null) throw new UserError(`${ruleWhere(rule)}: ${nat.kind} needs an address`);
  const same = a.lo.every((w, i) => w === a.hi[i]);
  const lo = addrText(a.version, a.lo);
  const hi = addrText(a.version, a.hi);
  let to: string;
  if (a.version === 4) to = (same ? lo : `${lo}-${hi}`) + (ports ? `:${ports}` : '');
  else if (ports) to = `${same ? `[${lo}]` : `[${lo}]-[${hi}]`}:${ports}`;
  else to = same ? lo : `${lo}-${hi}`;
  return `${nat.kind} ${a.version === 4 ? 'ip' : 'ip6'} to ${to}${flags}`;
}

function ifExpr(key: 'iifname' | 'oifname', names: string[], rule: FwRule, op: string): string {
  for (const n of names) {
    const bad = ifNameProblem(n);
    if (bad !== null) throw new UserError(`${ruleWhere(rule)}: ${bad}`);
  }
  return `${key} ${op}${anon(names.map((n) => `"${n}"`))}`;
}

/** The verdict of a rule in nft's words (a NAT statement is its own verdict). */
function verdictExpr(fw: Firewall, rule: FwRule): string {
  if (rule.nat !== null) {
    if (rule.nat.ports !== null && rule.proto !== 'tcp' && rule.proto !== 'udp')
      throw new UserError(
        `${ruleWhere(rule)}: a NAT port needs proto tcp or udp (nft refuses a port mapping without a transport protocol match)`,
      );
    return natExpr(rule.nat, rule);
  }
  switch (rule.action) {
    case 'reject':
      if (rule.rejectWith === null) return 'reject';
      if (!/^[a-z0-9]+( [a-z0-9-]+){1,2}$/.test(rule.rejectWith))
        throw new UserError(
          `${ruleWhere(rule)}: "reject with ${shortText(rule.rejectWith)}" is not an nft reject type`,
        );
      return `reject with ${rule.rejectWith}`;
    case 'jump':
    case 'goto': {
      const t = rule.target;
      if (t === null || !fw.chains.some((c) => c.name === t && c.hook === null))
        throw new UserError(`${ruleWhere(rule)}: ${rule.action} needs a user chain to enter`);
      return `${rule.action} ${t}`;
    }
    default:
      return rule.action;
  }
}

/** nft's `!=` before a negated condition's value. */
function neg(rule: FwRule, k: NegatableCondition): string {
  return rule.not?.includes(k) ? '!= ' : '';
}

/** A bitmask condition (ct state, ct status): any of `words`, or with negation none of them. */
function flagsExpr(key: string, words: string[], negated: boolean): string {
  return negated ? `${key} & (${words.join(' | ')}) == 0` : `${key} ${words.join(',')}`;
}

/** `fib daddr . iif type != { local, broadcast }`, `fib saddr . iif oif missing`, from the fields. */
export function fibExpr(f: FibMatch): string {
  const head = `fib ${f.addr}${f.dev !== null ? ` . ${f.dev}` : ''}`;
  if (f.result === 'oif-missing') return `${head} oif ${f.neg ? 'exists' : 'missing'}`;
  return `${head} type ${f.neg ? '!= ' : ''}${anon(f.types)}`;
}

/** `ip ttl 255`, `ip6 hoplimit != 1`, `ip ttl 1-4`: the field of the family the rule is written for. */
function hopLimitExpr(rule: FwRule, fam: Family | null): string {
  const h = rule.hopLimit as HopLimitMatch;
  const f = fam ?? hopLimitFamily(rule);
  if (f === null) throw new UserError(`${ruleWhere(rule)}: a TTL / hop limit condition needs an IP family`);
  return hopLimitText(h, f);
}

/** `meta mark set ...`: nft's bitwise form of mark = (mark & and) ^ xor. */
export function markSetExpr(m: MarkSet): string {
  if (m.and >>> 0 === 0) return `meta mark set ${hex32(m.xor)}`;
  return `meta mark set meta mark and ${hex32(m.and)} xor ${hex32(m.xor)}`;
}

function markExpr(m: MarkMatch, negated: boolean): string {
  const op = negated ? '!= ' : '';
  if (m.mask >>> 0 === 0xffffffff) return `meta mark ${op}${hex32(m.value)}`;
  return `meta mark and ${hex32(m.mask)} ${negated ? '!=' : '=='} ${hex32(m.value)}`;
}

/** The nft lines of one rule (one per family its conditions need; none when it can match nothing). */
export function nftFwRuleLines(fw: Firewall, rule: FwRule): string[] {
  // An inert rule never matches: the ruleset leaves it out (the comment says why).
  if (rule.inert) return [`# ${visible(rule.id)}: ${visible(rule.inert)}`.replace(/\s+/g, ' ')];
  const protoNeg = rule.not?.includes('proto') === true;
  return fwRuleFamilies(fw, rule).map((fam) => {
    const p: string[] = [];
    const ip = fam === 4 ? 'ip' : 'ip6';
    if (fam !== null && rule.src === null && rule.dst === null) p.push(`meta nfproto ipv${fam}`);
    // A port or TCP flags condition names the protocol itself (a flags mask of 0 is no condition).
    const ported = rule.sport !== null || rule.dport !== null || (rule.tcpFlags !== null && rule.tcpFlags.mask !== 0);
    if (protoNeg) p.push(`meta l4proto != ${rule.proto === 'icmpv6' ? 'ipv6-icmp' : rule.proto}`);
    else if ((rule.proto === 'tcp' || rule.proto === 'udp') && !ported) p.push(`meta l4proto ${rule.proto}`);
    if (!protoNeg && (rule.proto === 'icmp' || rule.proto === 'icmpv6') && rule.icmp === null)
      p.push(`meta l4proto ${rule.proto === 'icmp' ? 'icmp' : 'ipv6-icmp'}`);
    if (rule.iif !== null) p.push(ifExpr('iifname', rule.iif, rule, neg(rule, 'iif')));
    if (rule.oif !== null) p.push(ifExpr('oifname', rule.oif, rule, neg(rule, 'oif')));
    if (rule.ctState !== null) p.push(flagsExpr('ct state', rule.ctState, neg(rule, 'ctState') !== ''));
    if (rule.ctStatus !== null) p.push(flagsExpr('ct status', rule.ctStatus, neg(rule, 'ctStatus') !== ''));
    if (rule.pktType !== null) {
      const types = [...new Set(rule.pktType.map((t) => (t === 'unicast' ? 'host' : t)))];
      p.push(`meta pkttype ${neg(rule, 'pktType')}${anon(types)}`);
    }
    if (rule.mark) p.push(markExpr(rule.mark, neg(rule, 'mark') !== ''));
    if (fam !== null && rule.src !== null) p.push(`${ip} saddr ${neg(rule, 'src')}${addrExpr(rule.src, fam)}`);
    if (fam !== null && rule.dst !== null) p.push(`${ip} daddr ${neg(rule, 'dst')}${addrExpr(rule.dst, fam)}`);
    if (rule.proto === 'tcp' || rule.proto === 'udp') {
      if (rule.sport !== null) p.push(`${rule.proto} sport ${neg(rule, 'sport')}${portExpr(rule.sport)}`);
      if (rule.dport !== null) p.push(`${rule.proto} dport ${neg(rule, 'dport')}${portExpr(rule.dport)}`);
    }
    if ((rule.proto === 'icmp' || rule.proto === 'icmpv6') && rule.icmp !== null) {
      const w = icmpRuleWords(rule.proto, rule.icmp);
      const n = neg(rule, 'icmp');
      if (n !== '' && w.codes !== null) {
        // Negated together: no (type, code) pair of the lists.
        const pairs = w.types.flatMap((t) => (w.codes ?? []).map((c) => `${t} . ${c}`));
        p.push(`${rule.proto} type . ${rule.proto} code != { ${pairs.join(', ')} }`);
      } else {
        p.push(`${rule.proto} type ${n}${anon(w.types)}`);
        if (w.codes !== null) p.push(`${rule.proto} code ${anon(w.codes)}`);
      }
    }
    if (rule.tcpFlags !== null) {
      if (rule.proto !== 'tcp') throw new UserError(`${ruleWhere(rule)}: tcp_flags needs proto tcp`);
      if (rule.tcpFlags.mask !== 0)
        p.push(tcpFlagsExpr(rule.tcpFlags.mask, rule.tcpFlags.value, neg(rule, 'tcpFlags') !== ''));
    }
    if (rule.hopLimit) p.push(hopLimitExpr(rule, fam));
    for (const f of rule.fib ?? []) p.push(fibExpr(f));
    if (rule.limit !== null) p.push(limitExpr(rule.limit));
    if (rule.counter) p.push('counter');
    if (rule.log !== null) {
      let log = 'log';
      if (rule.log.prefix !== null) log += ` prefix "${nftLogPrefixText(rule.log.prefix)}"`;
      if (rule.log.level !== null) {
        if (!(LOG_LEVELS as readonly string[]).includes(rule.log.level))
          throw new UserError(
            `${ruleWhere(rule)}: log level "${shortText(rule.log.level)}" is not one of ${LOG_LEVELS.join(', ')}`,
          );
        log += ` level ${rule.log.level}`;
      }
      p.push(log);
    }
    if (rule.markSet) p.push(markSetExpr(rule.markSet));
    if (rule.notrack) p.push('notrack');
    p.push(verdictExpr(fw, rule), `comment ${nftComment(rule.id)}`);
    return p.join(' ');
  });
}

/** A `#` line per interface: nft has no interface objects, so they tell the reader how to set the machine up. */
export function interfaceCommentLines(fw: Firewall): string[] {
  if (fw.interfaces.length === 0) return [];
  const out = ["# The firewall's interfaces (not part of the ruleset: give the machine these names and addresses):"];
  for (const i of fw.interfaces) out.push(commentLine(interfaceText(i)));
  return out;
}

function interfaceText(i: FwInterface): string {
  const parts = [`interface ${i.name}:`];
  const addrs = i.addresses.map((a) => `${a.addr.text.replace(/\/\d+$/, '')}/${a.net.prefix}`);
  parts.push(addrs.length > 0 ? addrs.join(' ') : '(no address)');
  if (i.networks.length > 0) parts.push(`; routes ${i.networks.map((n) => n.text).join(' ')} out of it`);
  if (i.defaultRoute) parts.push('; default route out of it');
  return parts.join(' ').replaceAll(' ;', ';');
}

/** Every name the ruleset writes as a word (chains, sets), checked before anything is written. */
function checkNames(fw: Firewall): void {
  for (const s of fw.sets) {
    const bad = nftNameProblem('set name', s.name);
    if (bad !== null) throw new UserError(`${shortText(s.pos.file)}:${s.pos.line}:${s.pos.col}: ${bad}`);
  }
  for (const c of fw.chains) {
    const bad = nftNameProblem('chain name', c.name);
    if (bad !== null) throw new UserError(`${shortText(c.pos.file)}:${c.pos.line}:${c.pos.col}: ${bad}`);
  }
}

function setLines(set: NamedSet): string[] {
  let elements: string[];
  let interval: boolean;
  if (set.kind === 'inet_service') {
    const ranges = set.ports?.ranges ?? [];
    elements = ranges.map(portText);
    interval = ranges.some((r) => r.lo !== r.hi);
  } else {
    const fam: Family = set.kind === 'ipv4_addr' ? 4 : 6;
    const m = set.addrs ?? { cidrs: [], ranges: [], set: null };
    elements = addrElements(m, fam);
    interval = m.ranges.length > 0 || m.cidrs.some((c) => c.prefix < (fam === 4 ? 32 : 128));
  }
  const out = [`  set ${set.name} {`, `    type ${set.kind}`];
  // auto-merge: overlapping elements (10.0.0.0/8 and 10.1.0.0/16) are one interval to nft, and an error without it.
  if (interval) out.push('    flags interval', '    auto-merge');
  if (elements.length > 0) out.push(`    elements = { ${elements.join(', ')} }`);
  out.push('  }');
  return out;
}

function chainHeader(c: FwChain): string | null {
  if (c.hook === null) return null;
  return `    type ${c.type} hook ${c.hook} priority ${c.priority}; policy ${c.policy};`;
}

/** The hooks each chain is reached from: a base chain's own, and a user chain's through jump and goto. */
export function hooksReaching(fw: Firewall): Map<string, Set<Hook>> {
  const out = new Map<string, Set<Hook>>(fw.chains.map((c) => [c.name, new Set(c.hook === null ? [] : [c.hook])]));
  for (let changed = true; changed; ) {
    changed = false;
    for (const c of fw.chains) {
      const from = out.get(c.name) as Set<Hook>;
      for (const r of c.rules) {
        const to = r.target === null ? undefined : out.get(r.target);
        if (to === undefined) continue;
        for (const h of from) {
          if (to.has(h)) continue;
          to.add(h);
          changed = true;
        }
      }
    }
  }
  return out;
}

/** What the kernel refuses to load although each rule alone is valid nft: reject reached from postrouting. */
function checkPlacement(fw: Firewall): void {
  const hooks = hooksReaching(fw);
  for (const c of fw.chains) {
    if (!hooks.get(c.name)?.has('postrouting')) continue;
    const r = c.rules.find((x) => x.action === 'reject' && x.nat === null);
    if (r !== undefined)
      throw new UserError(
        `${ruleWhere(r)}: reject in a chain reached from the postrouting hook, which the kernel refuses (nft_reject works on prerouting, input, forward and output)`,
      );
  }
}

/** The whole nft ruleset of a firewall-model rule set (see the top of this file). */
export function exportNftFirewall(rs: RuleSet, fw: Firewall, tableName: string): string {
  checkNames(fw);
  checkPlacement(fw);
  const out: string[] = [
    commentLine(`Generated by fwemu from ${shortText(rs.file)} (${shortText(rs.name)}). Load with: nft -f FILE`),
    ...sysctlCommentLines(rs),
    ...interfaceCommentLines(fw),
    `table inet ${tableName}`,
    `delete table inet ${tableName}`,
    `table inet ${tableName} {`,
  ];
  for (const s of fw.sets) for (const l of setLines(s)) out.push(l);
  for (const c of fw.chains) {
    out.push(`  chain ${c.name} {`);
    const head = chainHeader(c);
    if (head !== null) out.push(head);
    // A base chain of an ip (ip6) table in the model: in this inet table, the other family's packets
    // accept at once, which moves them on to the hook's next chain, as if this one were not there.
    if (head !== null && c.family != null)
      out.push(
        `    meta nfproto ${c.family === 4 ? 'ipv6' : 'ipv4'} accept comment "family ip${c.family === 6 ? '6' : ''} only"`,
      );
    for (const r of c.rules) for (const l of nftFwRuleLines(fw, r)) out.push(`    ${l}`);
    out.push('  }');
  }
  out.push('}');
  return out.join('\n') + '\n';
}

/** What the nft export must tell the user beyond rule comments: log prefixes it had to cut. */
export function nftFirewallWarnings(fw: Firewall): string[] {
  const out: string[] = [];
  for (const c of fw.chains) {
    for (const r of c.rules) {
      const p = r.log?.prefix;
      if (p == null) continue;
      const text = visible(p).replaceAll('"', "'").replaceAll('$', '\\x24');
      if (Buffer.byteLength(text, 'utf8') > NFT_LOG_PREFIX_MAX_BYTES)
        out.push(
          `${ruleWhere(r)}: its log prefix is longer than the kernel keeps (${NFT_LOG_PREFIX_MAX_BYTES} bytes): the export cuts it to "${shortText(nftLogPrefixText(p))}"`,
        );
    }
  }
  return out;
}
