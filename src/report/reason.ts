import type { CtEntry, CtTuple } from '../conntrack/entry.js';
import { ctProtoName } from './conntrack-list.js';
import { formatAddr } from '../packet/addr.js';
import { Direction } from '../base/link.js';
import {
  isBroadcastDestination,
  isGroupDestination,
  isMartian,
  Martian,
  martianKind,
  notForwardedScope,
  Scope,
} from '../packet/scope.js';
import { protoName } from '../packet/describe.js';
import { icmpWords } from '../packet/icmp-names.js';
import { IpProto, isPortProto, type DecodedPacket } from '../packet/types.js';
import { Cause, peekEntry, type PacketResult } from '../engine/result.js';
import { ruleRef } from '../rules/describe.js';
import { originPlace, type FwRule } from '../rules/firewall.js';
import type { Chain, Rule } from '../rules/types.js';
import { visible } from '../base/text-escape.js';
import type { CompiledRuleSet } from '../rules/compile.js';

/**
 * The reason sentences, built on demand (cold path) from a PacketResult and
 * the packet it is about. They name what decided: the conntrack entry (and
 * which packet and rule opened it), the rule with its file:line, or the
 * policy, so a reader can go straight to the responsible line.
 */

function hostPort(
  version: number,
  w0: number,
  w1: number,
  w2: number,
  w3: number,
  port: number,
  withPort: boolean,
): string {
  const a = formatAddr(version, w0, w1, w2, w3);
  if (!withPort) return a;
  return version === 6 ? `[${a}]:${port}` : `${a}:${port}`;
}

/** "tcp 10.1.0.2:51514 -> 10.2.0.1:8080", "icmp 10.1.0.2 -> 10.2.0.1 id 7". */
export function describeTuple(t: CtTuple): string {
  const ports = isPortProto(t.proto);
  const v = t.l3 === 6 ? 6 : 4;
  const s = hostPort(v, t.src0, t.src1, t.src2, t.src3, t.sport, ports);
  const d = hostPort(v, t.dst0, t.dst1, t.dst2, t.dst3, t.dport, ports);
  const icmp = t.proto === IpProto.ICMP || t.proto === IpProto.ICMPV6 ? ` id ${t.sport}` : '';
  return `${ctProtoName(t.proto)} ${s} -> ${d}${icmp}`;
}

function opened(entry: CtEntry, rule: Rule | null): string {
  const packet = entry.openedPacket;
  if (packet < 0) return '';
  const who = rule ? ruleRef(rule) : 'the policy';
  return `, opened at packet ${packet} by ${who}`;
}

/** "icmp echo-request", "icmpv6 nd-neighbor-solicit": nft's words, which a rule's type: takes. */
function packetIcmpWords(p: DecodedPacket): string {
  if (p.icmpType < 0) return `${protoName(p.proto)} fragment (no type visible)`;
  return icmpWords(p.ipVersion, p.icmpType, p.icmpCode);
}

/** What a new flow is, for policy sentences: "new tcp to port 33333", "new icmp echo-request". */
function newFlowWords(p: DecodedPacket): string {
  const proto = protoName(p.proto);
  if (isPortProto(p.proto)) {
    if (p.l4Off < 0) return `${proto} fragment (no ports visible)`;
    return `new ${proto} to port ${p.dport}`;
  }
  if (p.proto === IpProto.ICMP || p.proto === IpProto.ICMPV6) return `new ${packetIcmpWords(p)}`;
  return `new ${proto}`;
}

/** "icmp echo-request packet", "tcp packet": what a stateless rule matched. */
function statelessPacketWords(p: DecodedPacket): string {
  if (p.proto === IpProto.ICMP || p.proto === IpProto.ICMPV6) return `${packetIcmpWords(p)} packet`;
  return `${protoName(p.proto)} packet`;
}

function statelessWords(p: DecodedPacket): string {
  const proto = protoName(p.proto);
  if (isPortProto(p.proto) && p.l4Off >= 0) return `${proto} to port ${p.dport}`;
  if (p.proto === IpProto.ICMP || p.proto === IpProto.ICMPV6) return packetIcmpWords(p);
  return proto;
}

function chainWords(chain: string | null, model: 'gateway' | 'host'): string {
  return model === 'host' && chain ? ` (${chain} chain)` : '';
}

/**
 * The reason sentence of a packet, for every report (text, jsonl, policy
 * tests). The only strings from outside fwemu it quotes are a rule's id and
 * file name, through ruleRef(), which makes them visible (text-escape.ts);
 * the rest is fwemu's own text and numbers. (Scanning every sentence
 * instead would cost ~5% of a jsonl replay.)
 */
export function explain(r: PacketResult, p: DecodedPacket, rules: CompiledRuleSet): string {
  if (r.datagram !== null && r.fragOf > 0) {
    // An IP fragment: the reassembled datagram was judged.
    const whole = explainPacket(r, r.datagram, rules);
    const how =
      r.fragOf === r.n
        ? p.fragOffset === 0 && !p.moreFragments
          ? 'an IPv6 atomic fragment, judged without its fragment header'
          : 'this fragment completed its datagram, judged whole'
        : `IP fragment of the datagram completed at packet ${r.fragOf}, judged whole`;
    return `${whole} (${how}: reassembled before conntrack, as nf_defrag does)`;
  }
  return explainPacket(r, p, rules);
}

const srcText = (p: DecodedPacket) => formatAddr(p.ipVersion, p.src0, p.src1, p.src2, p.src3);
const dstText = (p: DecodedPacket) => formatAddr(p.ipVersion, p.dst0, p.dst1, p.dst2, p.dst3);
const groupWords = (p: DecodedPacket) => (isBroadcastDestination(p) ? 'broadcast to' : 'multicast to');

/** Cause.NOT_ROUTED: what the kernel's routing does instead of a chain (packet/scope.ts). */
function notRoutedWords(p: DecodedPacket, model: 'host' | 'gateway'): string {
  const self = model === 'gateway' ? 'the router' : 'the host';
  switch (notForwardedScope(p)) {
    case Scope.MARTIAN:
      return `dropped on receipt: ${martianWords(p)}, a martian address; no chain sees it`;
    case Scope.MULTICAST:
      return `not forwarded: multicast to ${dstText(p)} stays on its link (only multicast routing forwards it); ${self}'s own input chain takes the groups it joined (not modelled)`;
    case Scope.BROADCAST:
      return `not forwarded: broadcast to ${dstText(p)} stays on its link; ${self}'s own input chain takes it (not modelled)`;
    case Scope.LINK_LOCAL_SRC:
      return `not forwarded: link-local source ${srcText(p)} (fe80::/10) cannot leave its link; the router answers icmpv6 destination-unreachable code 2 (beyond scope)`;
    case Scope.UNSPECIFIED_SRC:
      return 'not forwarded: source :: (unspecified) is for a host without an address yet (duplicate address detection), never routed';
    default:
      return 'not forwarded';
  }
}

/** Which martian rule a packet breaks (packet/scope.ts martianKind), in words. */
function martianWords(p: DecodedPacket): string {
  switch (martianKind(p)) {
    case Martian.MULTICAST_SRC:
      return `multicast source ${srcText(p)}`;
    case Martian.BROADCAST_SRC:
      return `broadcast source ${srcText(p)}`;
    case Martian.LOOPBACK_SRC:
      return `loopback source ${srcText(p)}`;
    case Martian.LOOPBACK_DST:
      return `loopback destination ${dstText(p)}`;
    case Martian.ZERO_DST:
      return `destination ${dstText(p)} (0.0.0.0/8 is never a destination)`;
    case Martian.ZERO_SRC:
      return `source ${srcText(p)} (0.0.0.0 is only taken from a DHCP client, to 255.255.255.255)`;
    default:
      return `multicast destination ${dstText(p)} of scope ${(p.dst0 >>> 16) & 0xf} (interface-local or reserved: never on a link)`;
  }
}

/**
 * "rule lan-ssh (rules/home-router.yaml:31)", for a rule of the firewall
 * model, or "rule at /etc/nftables.conf:23 (`tcp dport 22 drop`)" for an
 * imported one; made once per rule.
 */
function fwRuleRef(rule: FwRule): string {
  let ref = fwRefs.get(rule);
  if (ref === undefined) {
    const o = rule.origin;
    if (o) {
      // An imported rule is named by the line it came from, as written (user text: made visible).
      ref = `rule at ${visible(o.file)}:${originPlace(o)} (\`${visible(o.text)}\`)`;
    } else {
      const name = rule.idGiven ? `rule ${rule.id}` : `rule ${rule.index} of chain ${rule.chain}`;
      ref = `${visible(name)} (${visible(rule.pos.file)}:${rule.pos.line})`;
    }
    fwRefs.set(rule, ref);
  }
  return ref;
}
const fwRefs = new WeakMap<FwRule, string>();

/** Which way the packet went through the firewall: " (in lan0, out wan0)", " (in wan0, to the firewall)". */
function pathWords(r: PacketResult, toSelf: boolean): string {
  const parts: string[] = [];
  if (r.iif !== null) parts.push(`in ${visible(r.iif)}`);
  else parts.push('from the firewall');
  if (r.oif !== null) parts.push(`out ${visible(r.oif)}`);
  else if (toSelf) parts.push('to the firewall');
  return ` (${parts.join(', ')})`;
}

/** "; masqueraded to 203.0.113.1:40000 by rule lan-out (rules/home-router.yaml:31)": what NAT did to a flow's first packet. */
function natWords(r: PacketResult): string {
  const rule = r.natRule;
  const e = r.egress;
  if (rule === null || rule.nat === null) return '';
  const kind = rule.nat.kind;
  const verb =
    kind === 'masquerade'
      ? 'masqueraded'
      : kind === 'redirect'
        ? 'redirected'
        : kind === 'snat'
          ? 'source NATed'
          : 'destination NATed';
  let to = '';
  if (e !== null) {
    const ports = isPortProto(e.proto);
    const src = kind === 'masquerade' || kind === 'snat';
    to = src
      ? ` to ${hostPort(e.ipVersion, e.src0, e.src1, e.src2, e.src3, e.sport, ports)}`
      : ` to ${hostPort(e.ipVersion, e.dst0, e.dst1, e.dst2, e.dst3, e.dport, ports)}`;
  } else to = ' (nothing to change: the address and port it has are free)';
  return `; ${verb}${to} by ${fwRuleRef(rule)}`;
}

/** The reason sentence in the firewall model: the rule and chain that decided, the interfaces on the way, and NAT. */
function explainFirewall(r: PacketResult, p: DecodedPacket): string {
  const words = explainFirewallVerdict(r, p);
  return r.natRule !== null ? words + natWords(r) : words;
}

function explainFirewallVerdict(r: PacketResult, p: DecodedPacket): string {
  const entry = peekEntry(r) as CtEntry | null;
  const rule = r.fwRule;
  const chain = r.chain !== null ? ` in chain ${visible(r.chain)}` : '';
  const by = rule !== null ? ` by ${fwRuleRef(rule)}${chain}` : '';
  const path = pathWords(r, r.oif === null && r.iif !== null);
  const verb = r.verdict === 'accept' ? 'accepted' : r.verdict === 'reject' ? 'rejected' : 'dropped';
  switch (r.cause) {
    case Cause.ESTABLISHED: {
      if (!entry) return `accepted: ESTABLISHED flow${by}${path}`;
      const dir = r.reply ? 'reply in' : 'packet of';
      const tcp = entry.protoState >= 0 ? ` (${entry.stateName})` : '';
      return `accepted: ${dir} ESTABLISHED flow ${describeTuple(entry.orig)}${tcp}${by}${path}`;
    }
    case Cause.RELATED:
      if (!entry) return `accepted: RELATED${by}${path}`;
      return `accepted: RELATED, an ICMP error about flow ${describeTuple(entry.orig)}${by}${path}`;
    case Cause.INVALID:
      return `dropped: INVALID, ${r.detail || 'conntrack cannot place this packet'}${by}${path}`;
    case Cause.NOT_ROUTED:
      if (notForwardedScope(p) === Scope.NONE && r.oif === null && !isMartian(p))
        return `dropped: no route to ${dstText(p)} (no interface's networks hold it and no interface has the default route)${path}`;
      return notRoutedWords(p, 'gateway');
    case Cause.NAT_FAILED:
      return `dropped: NAT failed, ${r.detail}${r.fwRule !== null ? ` (${fwRuleRef(r.fwRule)})` : ''}${path}`;
    case Cause.OUTGOING:
      return `skipped: captured leaving the firewall${r.oif !== null ? ` by ${visible(r.oif)}` : ''} (${p.direction === Direction.OUTBOUND ? 'the capture marks it outbound' : "from the firewall's own address, or a source routed via another interface"}): what it sent, not what it received; the packet it came from was judged when it came in`;
    case Cause.RULE: {
      const what = r.ct === null ? statelessPacketWords(p) : r.ct === 'new' ? newFlowWords(p) : `${r.ct} packet`;
      return `${verb}: ${what} matches${by.slice(3)}${path}`;
    }
    case Cause.POLICY: {
      const what = r.ct === null ? statelessWords(p) : r.ct === 'new' ? newFlowWords(p) : `${r.ct} packet`;
      if (r.chain === null) return `${verb}: ${what}; no chain filters this path${path}`;
      return `${verb}: no rule of chain ${visible(r.chain ?? '')} ${r.verdict === 'accept' ? 'decides' : 'accepts'} ${what}; policy ${r.verdict}${path}`;
    }
    default:
      return explainPacket(r, p, null);
  }
}

function explainPacket(r: PacketResult, p: DecodedPacket, rules: CompiledRuleSet | null): string {
  if (rules === null) return explainCommon(r, p, 'gateway', null);
  if (rules.ruleset.firewall) return explainFirewall(r, p);
  return explainCommon(r, p, rules.model, rules);
}

function explainCommon(
  r: PacketResult,
  p: DecodedPacket,
  model: 'gateway' | 'host',
  rules: CompiledRuleSet | null,
): string {
  const entry = peekEntry(r) as CtEntry | null;
  switch (r.cause) {
    case Cause.ESTABLISHED: {
      if (!entry) return 'accepted: ESTABLISHED flow';
      const dir = r.reply ? 'reply in' : 'packet of';
      const tcp = entry.protoState >= 0 ? ` (${entry.stateName})` : '';
      return `accepted: ${dir} ESTABLISHED flow ${describeTuple(entry.orig)}${tcp}${opened(entry, r.rule)}`;
    }
    case Cause.RELATED:
      if (!entry) return 'accepted: RELATED';
      return `accepted: RELATED, an ICMP error about flow ${describeTuple(entry.orig)}${opened(entry, r.rule)}`;
    case Cause.INVALID:
      return `dropped: INVALID, ${r.detail || 'conntrack cannot place this packet'}`;
    case Cause.TABLE_FULL:
      return `dropped: conntrack table full, no unassured entry to evict (${r.detail || 'nf_conntrack: table full, dropping packet'})`;
    case Cause.NON_IP:
      return `skipped: not an IP packet; the IP filter never sees it`;
    case Cause.UNDECODABLE:
      return `skipped: undecodable: ${r.detail}`;
    case Cause.TTL_EXPIRED:
      return `dropped: ${p.ipVersion === 6 ? 'hop limit' : 'TTL'} ${p.ttl} expires here; a router answers ICMP time exceeded and never passes it to the forward chain`;
    case Cause.FRAGMENT:
      return `dropped: ${r.detail}`;
    case Cause.NOT_HOST:
      if (isGroupDestination(p))
        return `skipped: ${groupWords(p)} ${dstText(p)}, a group this host has not joined: its stack discards it before the input chain`;
      return `skipped: neither to nor from the host; a host does not forward it`;
    case Cause.NOT_ROUTED:
      return notRoutedWords(p, model);
    case Cause.RULE: {
      const rule = r.rule!;
      const verb = r.verdict === 'accept' ? 'accepted' : r.verdict === 'reject' ? 'rejected' : 'dropped';
      const what = r.ct === null ? statelessPacketWords(p) : r.ct === 'new' ? newFlowWords(p) : `${r.ct} packet`;
      const stateless = r.ct === null ? ' (stateless: every packet is matched against the rules)' : '';
      return `${verb}: ${what} matches ${ruleRef(rule)}${chainWords(r.chain, model)}${stateless}`;
    }
    case Cause.POLICY: {
      const policy = r.chain && rules ? rules.policy[r.chain as Chain] : r.verdict;
      const verb = r.verdict === 'accept' ? 'accepted' : r.verdict === 'reject' ? 'rejected' : 'dropped';
      const what = r.ct === null ? statelessWords(p) : newFlowWords(p);
      const stateless = r.ct === null ? ' (stateless: no connection tracking, so replies need rules of their own)' : '';
      return `${verb}: no rule ${r.verdict === 'accept' ? 'matches' : 'accepts'} ${what}${chainWords(r.chain, model)}; policy ${policy}${stateless}`;
    }
    default:
      return r.verdict;
  }
}
