import type { DecodedPacket } from '../packet/types.js';
import type { FwRule } from '../rules/firewall.js';
import type { Rule } from '../rules/types.js';

/** What the firewall does with a packet. `skip`: the IP filter never sees it (not IP, undecodable). */
export type Verdict = 'accept' | 'drop' | 'reject' | 'skip';

/** The conntrack state nft's `ct state` would see; null when tracking is off or the packet is not IP. */
export type CtStateName = 'new' | 'established' | 'related' | 'invalid' | 'untracked';

/**
 * Why a verdict was reached. The reason sentence is built from this on
 * demand (report/reason.ts), so the hot path only stores a small code.
 */
export const Cause = {
  /** Part of a flow conntrack already knows, reply seen: accepted before any rule. */
  ESTABLISHED: 1,
  /** An ICMP error about a known flow: accepted before any rule. */
  RELATED: 2,
  /** conntrack judged the packet INVALID (out of window, bad flags, ...): dropped. */
  INVALID: 3,
  /** A rule matched and decided (new flow, or any packet when stateless). */
  RULE: 4,
  /** No rule matched: the chain's policy decided. */
  POLICY: 5,
  /** Not an IP packet (ARP, LLDP, ...): never reaches the IP filter. */
  NON_IP: 6,
  /** The decoder could not read the headers. */
  UNDECODABLE: 7,
  /** The conntrack table was full and nothing could be evicted: new flow dropped. */
  TABLE_FULL: 8,
  /** Host model: the packet is neither to nor from the host. */
  NOT_HOST: 9,
  /**
   * Gateway model: TTL / hop limit 1 or 0. A router answers ICMP time
   * exceeded and never hands the packet to the forward chain (ip_forward
   * and ip6_forward check this before the FORWARD hook).
   */
  TTL_EXPIRED: 10,
  /**
   * An IP fragment the defragmenter in front of conntrack dropped: its
   * datagram never completed (timed out, or the capture ended), overlapped,
   * or was otherwise broken (see `detail`).
   */
  FRAGMENT: 11,
  /**
   * The kernel's routing keeps it from the chain it would cross
   * (packet/scope.ts): not forwarded (multicast, broadcast, IPv6
   * link-local, unspecified source), or discarded on receipt (martian
   * addresses). No chain sees it, so no rule or policy is counted.
   */
  NOT_ROUTED: 12,
  /**
   * Firewall model: the capture saw the packet leaving the firewall
   * (pcapng or Linux cooked capture taken on it, direction outbound): what
   * the firewall sent, not what it received. The packet it came from was
   * judged when it came in.
   */
  OUTGOING: 13,
  /**
   * Firewall model: NAT could not translate the flow's first packet (no
   * free port in the range, or no address on the interface for masquerade
   * or redirect); the kernel drops it and never confirms the entry.
   */
  NAT_FAILED: 14,
} as const;
export type CauseValue = (typeof Cause)[keyof typeof Cause];

/** One packet's outcome. The engine reuses a single instance: copy what you keep. */
export interface PacketResult {
  /** 1-based packet number in the capture. */
  n: number;
  tsSec: number;
  tsNsec: number;
  verdict: Verdict;
  ct: CtStateName | null;
  cause: CauseValue;
  /**
   * Chain that judged the packet (null when it never reached one): input,
   * output or forward in the simple model; any chain's name in the firewall
   * model (the chain of the deciding rule, or the base chain whose policy decided).
   */
  chain: string | null;
  /** The rule that decided (RULE), or the one that opened the flow (ESTABLISHED/RELATED), or null. */
  rule: Rule | null;
  /** Firewall model: the rule that decided (or the last that accepted); null for a policy, and in the simple model. */
  fwRule: FwRule | null;
  /** Firewall model: the interfaces the packet came in by and leaves by (null: none, or the simple model). */
  iif: string | null;
  oif: string | null;
  /**
   * Firewall model: the packet as it leaves, when NAT changed it (its
   * addresses, ports or ICMP id, and an ICMP error's quoted packet); null
   * when it leaves as it came. Reused: copy what you keep.
   */
  egress: DecodedPacket | null;
  /** Firewall model: the nat rule that translated the flow, on its first packet; null otherwise. */
  natRule: FwRule | null;
  /** The conntrack entry involved, if any (its `openedBy` tells which packet and rule created it). */
  entry: unknown;
  /** The packet travels in its flow's reply direction. */
  reply: boolean;
  /** Extra words for the reason: the INVALID explanation, the decoder's error. */
  detail: string;
  /**
   * IP fragments (stateful rule sets reassemble before conntrack, as Linux
   * does): the number of the packet that completed the datagram this
   * fragment belongs to, whose verdict it shares; 0 otherwise.
   */
  fragOf: number;
  /** With fragOf: the reassembled datagram that conntrack and the rules judged (null otherwise). */
  datagram: DecodedPacket | null;
}

/** Which entry of a conntrack result a PacketResult's `entry` is (see linkEntry). */
export const EntryOf = { ENTRY: 0, RELATED: 1, ABOUT: 2 } as const;

/** Where `entry` can come from without being made yet: a conntrack result (CtResult). */
export interface EntrySource {
  readonly entry: unknown;
  readonly related: unknown;
  readonly about: unknown;
  /**
   * The same as entry / related / about (by EntryOf), but it need not be a
   * lasting object: good only until the source's next packet.
   */
  peek(which: number): unknown;
}

const SOURCE = Symbol('fwemu.entrySource');
const WHICH = Symbol('fwemu.entryWhich');
const VALUE = Symbol('fwemu.entryValue');
interface Linkable {
  [SOURCE]: EntrySource | null;
  [WHICH]: number;
  [VALUE]: unknown;
}

function getEntry(this: Linkable): unknown {
  const src = this[SOURCE];
  if (src !== null) {
    const w = this[WHICH];
    this[VALUE] = w === EntryOf.ENTRY ? src.entry : w === EntryOf.RELATED ? src.related : src.about;
    this[SOURCE] = null;
  }
  return this[VALUE];
}

function setEntry(this: Linkable, v: unknown): void {
  this[VALUE] = v;
  this[SOURCE] = null;
}

/**
 * A result whose `entry` can be linked to a conntrack result and made (a
 * CtEntry view) only when someone reads it: the replay's hot path never
 * makes entry objects. `entry` is an own enumerable accessor, so
 * `{ ...result }` and JSON copy its value; the link itself is hidden.
 * (Built with defineProperty: an object literal with an accessor would be a
 * slow dictionary-mode object in V8.)
 */
export function newPacketResult(): PacketResult {
  const r = {
    n: 0,
    tsSec: 0,
    tsNsec: 0,
    verdict: 'skip',
    ct: null,
    cause: Cause.NON_IP,
    chain: null,
    rule: null,
    fwRule: null,
    iif: null,
    oif: null,
    egress: null,
    natRule: null,
    reply: false,
    detail: '',
    fragOf: 0,
    datagram: null,
  } as Omit<PacketResult, 'entry'>;
  Object.defineProperty(r, 'entry', { get: getEntry, set: setEntry, enumerable: true, configurable: true });
  Object.defineProperty(r, SOURCE, { value: null, writable: true });
  Object.defineProperty(r, WHICH, { value: 0, writable: true });
  Object.defineProperty(r, VALUE, { value: null, writable: true });
  return r as PacketResult;
}

/**
 * r.entry = (src.entry, src.related or src.about), read from `src` when
 * r.entry is first read (before `src` is reused for the next packet).
 * `r` is one made by newPacketResult() (the engine's own).
 */
export function linkEntry(r: PacketResult, src: EntrySource, which: (typeof EntryOf)[keyof typeof EntryOf]): void {
  const l = r as unknown as Linkable;
  l[SOURCE] = src;
  l[WHICH] = which;
  l[VALUE] = null;
}

/**
 * r.entry for a caller that reads it at once and keeps nothing (the
 * per-packet reports): while r is still linked to its conntrack result, a
 * transient view of the entry, so that reporting a million packets does not
 * make a million lasting entry objects. Otherwise r.entry itself.
 */
export function peekEntry(r: PacketResult): unknown {
  if (SOURCE in r) {
    const l = r as unknown as Linkable;
    const src = l[SOURCE];
    if (src !== null) return src.peek(l[WHICH]);
  }
  return r.entry;
}

const CAUSE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Cause).map(([k, v]) => [v, k.toLowerCase().replaceAll('_', '-')]),
);

/** "established", "policy", "ttl-expired", ...: a cause as one word, for summaries and policy tests. */
export function causeName(cause: CauseValue): string {
  return CAUSE_NAMES[cause];
}

export const CAUSE_WORDS: readonly string[] = Object.values(CAUSE_NAMES);
