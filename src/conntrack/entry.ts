/**
 * A conntrack entry (struct nf_conn) and its tuples (struct nf_conntrack_tuple).
 */
import { CtStatus, TCP_STATE_NAMES, type CtDestroyCause, type CtEventType, type TcpCt, type TcpSide } from './types.js';

/**
 * One direction of a flow. Addresses are four network-order words (IPv4 in
 * word 0, the rest 0), as in DecodedPacket.
 *
 * `sport`/`dport` are the kernel's src.u.all / dst.u.all: ports for TCP/UDP;
 * for ICMP/ICMPv6 `sport` is the echo id and `dport` is type << 8 | code
 * (dst.u.icmp.type, dst.u.icmp.code); 0/0 for other protocols.
 */
export class CtTuple {
  l3 = 0;
  proto = 0;
  src0 = 0; src1 = 0; src2 = 0; src3 = 0;
  dst0 = 0; dst1 = 0; dst2 = 0; dst3 = 0;
  sport = 0;
  dport = 0;

  /** Copy of this tuple's fields into `out`. */
  copyTo(out: CtTuple): CtTuple {
    out.l3 = this.l3; out.proto = this.proto;
    out.src0 = this.src0; out.src1 = this.src1; out.src2 = this.src2; out.src3 = this.src3;
    out.dst0 = this.dst0; out.dst1 = this.dst1; out.dst2 = this.dst2; out.dst3 = this.dst3;
    out.sport = this.sport; out.dport = this.dport;
    return out;
  }

  equals(o: CtTuple): boolean {
    return this.sport === o.sport && this.dport === o.dport &&
      this.src0 === o.src0 && this.dst0 === o.dst0 && this.proto === o.proto && this.l3 === o.l3 &&
      this.src1 === o.src1 && this.src2 === o.src2 && this.src3 === o.src3 &&
      this.dst1 === o.dst1 && this.dst2 === o.dst2 && this.dst3 === o.dst3;
  }

  /** ICMP type of an ICMP/ICMPv6 tuple. */
  get icmpType(): number { return this.dport >>> 8; }
  /** ICMP code of an ICMP/ICMPv6 tuple. */
  get icmpCode(): number { return this.dport & 0xff; }
  /** Echo id of an ICMP/ICMPv6 tuple. */
  get icmpId(): number { return this.sport; }
}

/**
 * Hash of a tuple (any good 32-bit mix will do: the kernel uses a keyed
 * siphash, which we cannot and need not reproduce). Numbers only.
 */
export function hashTuple(t: CtTuple): number {
  let h = 0x9e3779b9 ^ (t.l3 << 8) ^ t.proto;
  h = mix(h, t.src0); h = mix(h, t.dst0);
  if (t.l3 === 6) {
    h = mix(h, t.src1); h = mix(h, t.src2); h = mix(h, t.src3);
    h = mix(h, t.dst1); h = mix(h, t.dst2); h = mix(h, t.dst3);
  }
  h = mix(h, ((t.sport & 0xffff) << 16) | (t.dport & 0xffff));
  // fmix32 (MurmurHash3 finaliser)
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** One of the two hash-table nodes of an entry (struct nf_conntrack_tuple_hash). */
export class CtNode {
  next: CtNode | null = null;
  hash = 0;
  constructor(readonly entry: CtEntry, readonly dir: 0 | 1) {}
}

function newSide(): TcpSide {
  return { td_end: 0, td_maxend: 0, td_maxwin: 0, td_maxack: 0, td_scale: 0, flags: 0 };
}

export function newTcpCt(): TcpCt {
  return {
    state: 0,
    seen: [newSide(), newSide()],
    last_dir: 0, retrans: 0, last_index: 0,
    last_seq: 0, last_ack: 0, last_end: 0, last_win: 0,
    last_wscale: 0, last_flags: 0,
  };
}

/** memset(&ct->proto.tcp, 0, ...) */
export function resetTcpCt(t: TcpCt): void {
  t.state = 0;
  for (const s of t.seen) {
    s.td_end = 0; s.td_maxend = 0; s.td_maxwin = 0; s.td_maxack = 0; s.td_scale = 0; s.flags = 0;
  }
  t.last_dir = 0; t.retrans = 0; t.last_index = 0;
  t.last_seq = 0; t.last_ack = 0; t.last_end = 0; t.last_win = 0;
  t.last_wscale = 0; t.last_flags = 0;
}

/** Who let the flow in: set by the engine after confirm(). */
export interface OpenedBy {
  /** Packet number that created the entry. */
  packet: number;
  /** Id of the rule that accepted it; null when the chain's policy did (policy accept). */
  ruleId: string | null;
}

/** Pending event bits (nf_conntrack_event_cache), delivered at confirm(). */
export const CtEventBit = {
  PROTOINFO: 1,
  REPLY: 2,
  ASSURED: 4,
} as const;

export class CtEntry {
  /** Sequential id, in order of creation (allocation) in this table. */
  readonly id: number;
  readonly orig = new CtTuple();
  readonly reply = new CtTuple();
  /** CtStatus bits (IPS_*). */
  status = 0;
  /**
   * Absolute capture time (seconds) at which the entry dies: it is gone for
   * any packet with now >= deadline (nf_ct_is_expired: timeout - now <= 0).
   */
  deadline = 0;
  /** TCP tracking data; null for other protocols. */
  tcp: TcpCt | null = null;
  /** UDP: capture time after which a replied flow counts as a stream (creation + 2 s). */
  udpStreamTs = 0;
  /** Capture time and packet number of the packet that created the entry. */
  createdAt = 0;
  createdPacket = 0;
  /** Set by the engine after confirm(): which packet and rule let the flow in. */
  openedBy: OpenedBy | null = null;
  /** Accounting: packets and IP bytes per direction (what nf_conntrack_acct would count). */
  packetsOrig = 0;
  packetsReply = 0;
  bytesOrig = 0;
  bytesReply = 0;
  /** Capture time and number of the last packet that refreshed the entry. */
  lastSeen = 0;
  lastPacket = 0;

  /** @internal hash nodes, one per direction */
  readonly nodes: [CtNode, CtNode];
  /** @internal creation-order list of all confirmed entries */
  allPrev: CtEntry | null = null;
  allNext: CtEntry | null = null;
  /** @internal creation-order list of confirmed, non-ASSURED entries (early-drop candidates) */
  naPrev: CtEntry | null = null;
  naNext: CtEntry | null = null;
  inNa = false;
  /** @internal cached event bits not yet delivered */
  evCache = 0;

  constructor(id: number) {
    this.id = id;
    this.nodes = [new CtNode(this, 0), new CtNode(this, 1)];
  }

  get proto(): number { return this.orig.proto; }
  get l3(): number { return this.orig.l3; }
  get confirmed(): boolean { return (this.status & CtStatus.CONFIRMED) !== 0; }
  get seenReply(): boolean { return (this.status & CtStatus.SEEN_REPLY) !== 0; }
  get assured(): boolean { return (this.status & CtStatus.ASSURED) !== 0; }
  /** TCP state name (conntrack -L), '' for other protocols. */
  get tcpStateName(): string { return this.tcp ? TCP_STATE_NAMES[this.tcp.state] : ''; }
  /** Whole seconds left at `now`, as conntrack -L prints them (never negative). */
  secondsLeft(now: number): number {
    const left = Math.floor(this.deadline - now + 1e-6);
    return left > 0 ? left : 0;
  }
}

/** A conntrack -E style event; a snapshot of what changed, taken when it happened. */
export interface CtEvent {
  type: CtEventType;
  entry: CtEntry;
  /** Packet number that caused it (for expiry: the packet whose lookup or sweep noticed it; 0 if none). */
  packet: number;
  /** Capture time it happened (expiry: the deadline itself). */
  time: number;
  /**
   * TCP state at the time (TcpState); -1 for other protocols, and for an
   * [UPDATE] that did not change the state (ctnetlink then omits it).
   */
  tcpState: number;
  /** CtStatus bits at the time. */
  status: number;
  /** Seconds left as conntrack -E prints it; -1 when the kernel omits it (DESTROY of an expired entry). */
  timeout: number;
  /** DESTROY only. */
  cause?: CtDestroyCause;
}
