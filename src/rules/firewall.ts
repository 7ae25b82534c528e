/**
 * The firewall model of a rule file that names interfaces or chains (issue
 * 17): the typed, cold form the loader produces, as types.ts is for the
 * simple model. A simple rule file (rules: and policy:, no interfaces:,
 * no chains:) keeps the gateway/host model of types.ts; a file with
 * `interfaces:` or `chains:` is read into a Firewall, which the engine
 * walks as nftables walks its base chains:
 *
 *   a packet from outside   prerouting -> routing -> input | forward -> postrouting
 *   a packet the firewall sends          output -> postrouting
 *
 * Connection tracking runs at priority -200 of prerouting and output
 * (nf_conntrack_in), so every chain here sees `ct state`; a chain of a
 * lower priority (raw, -300) runs before it: as in the kernel
 * (nft_ct_get_eval with no conntrack yet), `ct state` reads `invalid`
 * there, and `notrack` keeps the packet out of the table. Chains of type nat
 * see only the first packet of a flow, as in the kernel; their
 * translation then applies to the whole flow through the conntrack entry.
 *
 * Names follow nftables: hooks, chain types, priorities, ct states and
 * statuses, pkttype, reject types. YAML keys use `_` where nft has a space.
 */
import type { SourcePos } from '../base/diag.js';
import type { Cidr, IcmpMatch, PortRange, ProtoName } from './types.js';

/** The netfilter hooks a base chain may attach to. */
export type Hook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';

/** nft chain types fwemu models (`route` is not modelled). */
export type ChainType = 'filter' | 'nat';

/** What a chain's policy may be (nft allows only these two). */
export type PolicyVerdict = 'accept' | 'drop';

/**
 * A rule's verdict, as nft's: accept, drop, reject end the packet's walk of
 * this base chain (accept: on to the next base chain of the hook); jump and
 * goto enter `target` (jump comes back, goto does not); return leaves the
 * current user chain; continue (the default when a rule has only
 * statements such as counter or log) goes on with the next rule. A NAT
 * statement (rule.nat) is itself a verdict: accept once translated.
 */
export type FwAction = 'accept' | 'drop' | 'reject' | 'jump' | 'goto' | 'return' | 'continue';

/** `ct state` values. */
export type CtStateWord = 'new' | 'established' | 'related' | 'invalid' | 'untracked';

/** `ct status` values fwemu can answer (nf_conntrack_common.h IPS_*). */
export type CtStatusWord = 'expected' | 'seen-reply' | 'assured' | 'confirmed' | 'snat' | 'dnat' | 'dying';

/** `meta pkttype` values (how the link layer addressed the frame; from the IP destination when there is none). */
export type PktType = 'host' | 'unicast' | 'broadcast' | 'multicast' | 'other';

/**
 * An inclusive address range, e.g. 10.0.0.10-10.0.0.20 (nft allows ranges
 * in sets and matches). Words as Cidr's: IPv4 in word 0, the rest 0.
 */
export interface AddrRange {
  version: 4 | 6;
  lo: [number, number, number, number];
  hi: [number, number, number, number];
  /** As written, canonical: "10.0.0.10-10.0.0.20". */
  text: string;
}

/** One address condition: prefixes and ranges, from the rule itself or from a named set. */
export interface AddrMatch {
  cidrs: Cidr[];
  ranges: AddrRange[];
  /** The named set the elements came from (`@lan_hosts`), or null for a list written in the rule. */
  set: string | null;
}

/** One port condition: ranges (a single port is lo = hi), from the rule or from a named set. */
export interface PortMatch {
  ranges: PortRange[];
  set: string | null;
}

/**
 * A TCP flags condition: (flags & mask) === value. `tcp_flags: syn` is nft's
 * `tcp flags syn` (mask = value = SYN: SYN set, others any); `"syn / syn,ack"`
 * is nft's `tcp flags syn / syn,ack` (SYN set, ACK clear). Bits as in the
 * TCP header: fin 0x01, syn 0x02, rst 0x04, psh 0x08, ack 0x10, urg 0x20,
 * ecn 0x40, cwr 0x80.
 */
export interface TcpFlagsMatch {
  mask: number;
  value: number;
  /** As nft writes it: "syn / fin,syn,rst,ack". */
  text: string;
}

/**
 * `limit rate [over] N/unit [burst B packets]`: the kernel's token bucket
 * (nft_limit.c), run on the capture's clock. Without `over` a packet
 * matches while tokens remain; with `over` it matches once they are spent.
 */
export interface LimitMatch {
  rate: number;
  unit: 'second' | 'minute' | 'hour' | 'day' | 'week';
  /** Packets the bucket holds beyond the rate; nft's default is 5 for packet limits. */
  burst: number;
  over: boolean;
  text: string;
}

/** `log [prefix "..."] [level ...]`: recorded in the result, never changes the verdict. */
export interface LogStatement {
  prefix: string | null;
  level: string | null;
}

/**
 * A NAT statement. snat/dnat give an address (or range) and optionally a
 * port range; masquerade takes the egress interface's address (ports
 * optional); redirect takes the ingress interface's address (the
 * firewall's own, in output: 127.0.0.1 / ::1) and optionally a port.
 */
export interface NatStatement {
  kind: 'snat' | 'dnat' | 'masquerade' | 'redirect';
  /** For snat/dnat: the single address or range to translate to; null for masquerade/redirect. */
  addr: {
    version: 4 | 6;
    lo: [number, number, number, number];
    hi: [number, number, number, number];
    text: string;
  } | null;
  /** Ports to translate to (inclusive); null keeps the port where it can (and remaps on a clash, as the kernel). */
  ports: PortRange | null;
  /** nft flags: `random`, `fully-random`, `persistent` (accepted and exported; port choice is still fwemu's). */
  flags: string[];
  /** As nft writes it: "snat ip to 203.0.113.1:40000-40100". */
  text: string;
}

/**
 * Conditions a rule may negate (nft `!=`, iptables `!`): the value test is
 * inverted, while the protocol and family the condition implies still hold
 * (`ip saddr != 10.0.0.0/8` matches IPv4 packets from elsewhere, never an
 * IPv6 packet; `tcp dport != 22` matches TCP only), as nft's payload
 * dependencies do.
 */
export type NegatableCondition =
  | 'iif'
  | 'oif'
  | 'src'
  | 'dst'
  | 'sport'
  | 'dport'
  | 'proto'
  | 'icmp'
  | 'tcpFlags'
  | 'ctState'
  | 'ctStatus'
  | 'pktType'
  | 'mark';

/** `meta mark and MASK == VALUE` (iptables `-m mark --mark VALUE/MASK`): (mark & mask) === value. */
export interface MarkMatch {
  value: number;
  mask: number;
  /** As nft writes it: "meta mark & 0x00004000 == 0x00004000". */
  text: string;
}

/**
 * `meta mark set ...` (iptables `-j MARK`): mark = (mark & and) ^ xor, the
 * kernel's one form of every mark update (nft_bitwise; xt_MARK's
 * --set-xmark). The mark is the packet's (skb->mark): 0 when it arrives or
 * is sent, kept through every hook of that one packet, never stored in
 * the conntrack entry.
 */
export interface MarkSet {
  and: number;
  xor: number;
  text: string;
}

/** Route types a fib lookup answers (RTN_*), as nft names them. */
export type FibAddrType =
  | 'unspec'
  | 'unicast'
  | 'local'
  | 'broadcast'
  | 'anycast'
  | 'multicast'
  | 'blackhole'
  | 'unreachable'
  | 'prohibit';

/**
 * A fib condition (nft_fib.c; iptables `-m addrtype`, `-m rpfilter`),
 * answered from the firewall's interfaces and routes (route.ts):
 * - `fib daddr type local` (addrtype --dst-type LOCAL): the route type of
 *   the address, `dev` restricting the lookup to the packet's iif/oif;
 * - `fib saddr . iif oif missing` (rpfilter): no route back to the source
 *   through the interface the packet came in by.
 */
export interface FibMatch {
  addr: 'saddr' | 'daddr';
  dev: 'iif' | 'oif' | null;
  result: 'type' | 'oif-missing';
  /** For result 'type': any of these. */
  types: FibAddrType[];
  /** Inverts this one condition. */
  neg: boolean;
  text: string;
}

/**
 * `ip ttl OP N` / `ip6 hoplimit OP N` (iptables `-m ttl`, ip6tables `-m hl`):
 * the IP header's TTL (IPv4) or hop limit (IPv6), as the packet arrived at
 * the hook. Ranges cover every comparison nft and iptables write: `== 255`
 * is lo = hi = 255, `< 5` is 0-4, `!= 1` is a negated 1-1.
 */
export interface HopLimitMatch {
  lo: number;
  hi: number;
  neg: boolean;
  /** As nft writes it: "ip6 hoplimit 255", "ip ttl < 5". */
  text: string;
}

/**
 * Where an imported rule came from (issue 18): every reason and trace names
 * it, e.g. "dropped by rule at /etc/nftables.conf:23 (`tcp dport 22 drop`)".
 */
export interface RuleOrigin {
  file: string;
  line: number;
  col: number;
  /** The rule as written, on one line (whitespace runs folded to one space). */
  text: string;
  /**
   * Other rules start on the same line (`nft -j list ruleset` prints one
   * line): places then name the column too, "ruleset.json:1:2345".
   */
  sharedLine?: boolean;
}

/** Where an origin is within its file: "23", or "1:2345" on a line several rules share. */
export function originPlace(o: RuleOrigin): string {
  return o.sharedLine === true ? `${o.line}:${o.col}` : `${o.line}`;
}

/** One rule of a chain. Every condition given must hold (null: no condition). */
export interface FwRule {
  /** The rule's `id:`, or `CHAIN-N` (N = 1-based index in its chain). */
  id: string;
  idGiven: boolean;
  /** 1-based position in its chain. */
  index: number;
  /** Name of the chain the rule belongs to. */
  chain: string;
  comment: string | null;
  pos: SourcePos;

  // Conditions (nft order when exported: meta, ct, addresses, transport).
  /** `meta l4proto` / the protocol of port and ICMP conditions. */
  proto: ProtoName;
  /** Only packets of this IP family (`meta nfproto`, or implied by addresses); null: both. */
  family: 4 | 6 | null;
  /** Interface names (`iifname`/`oifname`); a trailing `*` matches any suffix. */
  iif: string[] | null;
  oif: string[] | null;
  src: AddrMatch | null;
  dst: AddrMatch | null;
  sport: PortMatch | null;
  dport: PortMatch | null;
  icmp: IcmpMatch | null;
  tcpFlags: TcpFlagsMatch | null;
  ctState: CtStateWord[] | null;
  /** Every listed status bit set (nft `ct status dnat`; a list means any of them, as nft's set). */
  ctStatus: CtStatusWord[] | null;
  pktType: PktType[] | null;
  limit: LimitMatch | null;

  // Statements, in this order: counter, log, then the verdict.
  counter: boolean;
  log: LogStatement | null;
  /** NAT statement (only in chains of type nat); when set, action is 'accept'. */
  nat: NatStatement | null;
  action: FwAction;
  /** For reject: nft's `with` words ("tcp reset", "icmpx port-unreachable", "icmp host-prohibited"); null: nft's default. */
  rejectWith: string | null;
  /** For jump/goto: the user chain entered. */
  target: string | null;

  // Issue 18 (imported rulesets; the YAML reads them too). Absent = none.
  /** Conditions whose value test is inverted (see NegatableCondition). */
  not?: NegatableCondition[];
  mark?: MarkMatch | null;
  /** The TTL / hop limit; implies the family of its header when `family` is null. */
  hopLimit?: HopLimitMatch | null;
  /** Every fib condition must hold. */
  fib?: FibMatch[] | null;
  /** Statement run when the conditions hold, before the verdict. */
  markSet?: MarkSet | null;
  /** `notrack` (raw chains): the packet is not tracked; later chains see ct state untracked. */
  notrack?: boolean;
  /**
   * Statements accepted and ignored because they never change a verdict
   * (counter is the field above; log is `log`): "tcp option maxseg size set
   * rt mtu", "ct helper set ...", "quota ...", as written.
   */
  ignored?: string[];
  /**
   * Set when --lenient kept a rule fwemu cannot model: the stated,
   * conservative meaning ("the rule never matches"), and the rule is inert.
   */
  inert?: string | null;
  /** The imported line this rule came from; null/absent for fwemu YAML. */
  origin?: RuleOrigin | null;
}

/** A rule's conditions and statements, without its place (id, index, chain, pos, origin). */
export type FwRuleBody = Omit<FwRule, 'id' | 'idGiven' | 'index' | 'chain' | 'pos' | 'origin'>;

/**
 * A rule body with no condition, no statement and `continue` as its
 * verdict: what every reader starts from before it fills in what it read,
 * so that a field added to FwRule gets its neutral value in one place.
 */
export function emptyRuleBody(
  family: 4 | 6 | null = null,
): FwRuleBody & { not: NegatableCondition[]; ignored: string[] } {
  return {
    comment: null,
    proto: 'any',
    family,
    iif: null,
    oif: null,
    src: null,
    dst: null,
    sport: null,
    dport: null,
    icmp: null,
    tcpFlags: null,
    ctState: null,
    ctStatus: null,
    pktType: null,
    limit: null,
    counter: false,
    log: null,
    nat: null,
    action: 'continue',
    rejectWith: null,
    target: null,
    not: [],
    mark: null,
    hopLimit: null,
    fib: null,
    markSet: null,
    notrack: false,
    ignored: [],
    inert: null,
  };
}

/** A chain: a base chain (hook set) or a user chain (reached by jump/goto only). */
export interface FwChain {
  name: string;
  /** null for a user chain. */
  hook: Hook | null;
  type: ChainType;
  /** Base chains of one hook run in increasing priority (names: dstnat -100, filter 0, srcnat 100, ...). */
  priority: number;
  /** Base chains only: the verdict when the walk falls off the end. */
  policy: PolicyVerdict;
  rules: FwRule[];
  pos: SourcePos;
  /**
   * IP family of the chain's table (issue 18): nft `ip` 4, `ip6` 6, `inet`
   * null (both); a chain of family 4 never sees an IPv6 packet. Absent: null.
   */
  family?: 4 | 6 | null;
  /** The imported table ("inet filter", iptables "ip nat"), for display; absent for fwemu YAML. */
  table?: string | null;
  /** The imported chain's own name and place ("input" at file:line). */
  origin?: RuleOrigin | null;
}

/** An address of an interface: the address itself and the prefix that makes its network directly connected. */
export interface IfAddress {
  /** The address (host bits kept), as a full-length Cidr. */
  addr: Cidr;
  /** The connected network (host bits cleared). */
  net: Cidr;
}

/** One of the firewall's interfaces. */
export interface FwInterface {
  name: string;
  addresses: IfAddress[];
  /** Further networks routed out of this interface (behind a router on that link). */
  networks: Cidr[];
  /** The default route (IPv4 and IPv6) goes out of this interface. */
  defaultRoute: boolean;
  pos: SourcePos;
}

/** A named set (`sets:`): addresses or ports, referred to as `@name` in a rule. */
export interface NamedSet {
  name: string;
  kind: 'ipv4_addr' | 'ipv6_addr' | 'inet_service';
  addrs: AddrMatch | null;
  ports: PortMatch | null;
  pos: SourcePos;
}

/** The firewall model of a rule file. */
export interface Firewall {
  interfaces: FwInterface[];
  sets: NamedSet[];
  /** Every chain, base and user, in file order. */
  chains: FwChain[];
}

/** nft's priority names (for the inet/ip/ip6 families) and their values. */
export const PRIORITY_NAMES: Readonly<Record<string, number>> = {
  raw: -300,
  mangle: -150,
  dstnat: -100,
  filter: 0,
  security: 50,
  srcnat: 100,
};

/** Where conntrack runs (NF_IP_PRI_CONNTRACK): chains before it cannot see ct state. */
export const CONNTRACK_PRIORITY = -200;
