/**
 * A conntrack entry (struct nf_conn) and its tuples (struct nf_conntrack_tuple).
 * Over 600 lines because the record layout and the view that reads it must
 * be read side by side: every offset below is used by an accessor here.
 *
 * Storage: entries live in a CtStore, one fixed-size record per entry in a
 * single ArrayBuffer (see the layout below), so a million entries are a few
 * large typed arrays rather than millions of small objects: ~170 bytes an
 * entry, no garbage-collector work per entry, and one or two cache lines
 * touched per packet. A CtEntry object is a view of one record, made only
 * when someone asks for the entry (CtResult.entry, entries(), lookup(),
 * events): the hot path never creates one. A view stays the same object for
 * as long as its entry lives, and when the entry leaves the table the view is
 * detached onto a private copy of its record, so it keeps describing the
 * entry as it was (events and results may be kept).
 */
import { IpProto } from '../packet/types.js';
import {
  CT_NAT_MASK,
  CtStatus,
  SCTP_STATE_NAMES,
  TCP_STATE_NAMES,
  type CtDestroyCause,
  type CtEventType,
  type TcpCt,
  type TcpSide,
} from './types.js';

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
  src0 = 0;
  src1 = 0;
  src2 = 0;
  src3 = 0;
  dst0 = 0;
  dst1 = 0;
  dst2 = 0;
  dst3 = 0;
  sport = 0;
  dport = 0;

  /** Copy of this tuple's fields into `out`. */
  copyTo(out: CtTuple): CtTuple {
    out.l3 = this.l3;
    out.proto = this.proto;
    out.src0 = this.src0;
    out.src1 = this.src1;
    out.src2 = this.src2;
    out.src3 = this.src3;
    out.dst0 = this.dst0;
    out.dst1 = this.dst1;
    out.dst2 = this.dst2;
    out.dst3 = this.dst3;
    out.sport = this.sport;
    out.dport = this.dport;
    return out;
  }

  /** ICMP type of an ICMP/ICMPv6 tuple. */
  get icmpType(): number {
    return this.dport >>> 8;
  }
  /** ICMP code of an ICMP/ICMPv6 tuple. */
  get icmpCode(): number {
    return this.dport & 0xff;
  }
  /** Echo id of an ICMP/ICMPv6 tuple. */
  get icmpId(): number {
    return this.sport;
  }
}

/**
 * Hash of a tuple (any good 32-bit mix will do: the kernel uses a keyed
 * siphash, which we cannot and need not reproduce). Numbers only.
 */
export function hashTuple(t: CtTuple): number {
  let h = 0x9e3779b9 ^ (t.l3 << 8) ^ t.proto;
  h = mix(h, t.src0);
  h = mix(h, t.dst0);
  if (t.l3 === 6) {
    h = mix(h, t.src1);
    h = mix(h, t.src2);
    h = mix(h, t.src3);
    h = mix(h, t.dst1);
    h = mix(h, t.dst2);
    h = mix(h, t.dst3);
  }
  h = mix(h, ((t.sport & 0xffff) << 16) | (t.dport & 0xffff));
  // fmix32 (MurmurHash3 finaliser)
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
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

// ICMP (nf_conntrack_proto_icmp.c): reply type + 1 for the types with a reply (invmap).
export const ICMP_INVMAP = new Uint8Array(256);
ICMP_INVMAP[8] = 0 + 1;
ICMP_INVMAP[0] = 8 + 1;
ICMP_INVMAP[13] = 14 + 1;
ICMP_INVMAP[14] = 13 + 1;
ICMP_INVMAP[15] = 16 + 1;
ICMP_INVMAP[16] = 15 + 1;
ICMP_INVMAP[17] = 18 + 1;
ICMP_INVMAP[18] = 17 + 1;
// ICMPv6 (nf_conntrack_proto_icmpv6.c)
export const ICMP6_INVMAP = new Uint8Array(256);
ICMP6_INVMAP[128] = 129 + 1;
ICMP6_INVMAP[129] = 128 + 1;
ICMP6_INVMAP[139] = 140 + 1;
ICMP6_INVMAP[140] = 139 + 1;

/**
 * nf_ct_invert_tuple(): the reply tuple of `t` into `out`. False when there
 * is none (ICMP types without a reply type).
 */
export function invertTuple(t: CtTuple, out: CtTuple): boolean {
  out.l3 = t.l3;
  out.proto = t.proto;
  out.src0 = t.dst0;
  out.src1 = t.dst1;
  out.src2 = t.dst2;
  out.src3 = t.dst3;
  out.dst0 = t.src0;
  out.dst1 = t.src1;
  out.dst2 = t.src2;
  out.dst3 = t.src3;
  if (t.proto === IpProto.ICMP || t.proto === IpProto.ICMPV6) {
    const type = t.dport >>> 8;
    const inv = t.proto === IpProto.ICMP ? ICMP_INVMAP[type] : ICMP6_INVMAP[type];
    if (!inv) return false;
    out.sport = t.sport;
    out.dport = ((inv - 1) << 8) | (t.dport & 0xff);
    return true;
  }
  out.sport = t.dport;
  out.dport = t.sport;
  return true;
}

/**
 * The reply direction's (sport << 16 | dport) word for an entry whose
 * original direction has `ports` (same word layout): ports swapped, or for
 * ICMP the reply type. Entries exist only for tuples that invert.
 */
export function replyPorts(ports: number, proto: number): number {
  if (proto === IpProto.ICMP || proto === IpProto.ICMPV6) {
    const type = (ports >>> 8) & 0xff;
    const inv = proto === IpProto.ICMP ? ICMP_INVMAP[type] : ICMP6_INVMAP[type];
    return ((ports & 0xffff0000) | ((inv - 1) << 8) | (ports & 0xff)) >>> 0;
  }
  return ((ports << 16) | (ports >>> 16)) >>> 0;
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

// ---------------------------------------------------------------------------
// Record layout: STRIDE bytes per entry, fields at fixed byte offsets, read
// through typed arrays of each width over the same buffer. The index
// constants below are in units of their array (F_ for Float64Array, W_ for
// Uint32Array/Int32Array, H_ for Uint16Array, B_ for Uint8Array); an entry's
// base index in each is slot * STRIDE / width. The tuple, deadline and hash
// links come first, so a hash-chain step reads one cache line.

/** @internal */
export const STRIDE = 168;
/** @internal */ export const S64 = STRIDE / 8;
/** @internal */ export const S32 = STRIDE / 4;
/** @internal */ export const S16 = STRIDE / 2;

/** @internal */ export const F_DEADLINE = 0; //      bytes 0-7
/** @internal */ export const W_SRC0 = 2; //          8: original source, word 0
/** @internal */ export const W_DST0 = 3; //         12: original destination, word 0
/** @internal */ export const W_PORTS = 4; //        16: original sport << 16 | dport
/** @internal */ export const W_EXT = 5; //          20: IPv6: 1 + index of the address words 1-3 in CtStore.ext
/** @internal */ export const B_L3 = 24;
/** @internal */ export const B_PROTO = 25;
/** @internal */ export const H_STATUS = 13; //      26
/** @internal */ export const W_HNEXT = 7; //        28, 32: next node in the hash chain (node = slot * 2 + dir), -1 at the end
/** @internal */ export const W_NA_PREV = 9; //      36: not-ASSURED list (early drop); -1 at the ends
/** @internal */ export const W_NA_NEXT = 10; //     40: also the free list's link
/** @internal */ export const W_PKTS_O = 11; //      44
/** @internal */ export const W_PKTS_R = 12; //      48
/** @internal */ export const B_TSTATE = 52;
/** @internal */ export const B_LAST_DIR = 53;
/** @internal */ export const B_LAST_INDEX = 54;
/** @internal */ export const B_RETRANS = 55;
/** @internal */ export const W_LAST_SEQ = 14; //    56
/** @internal */ export const W_LAST_ACK = 15; //    60
/** @internal */ export const W_LAST_END = 16; //    64
/** @internal */ export const W_SIDE0 = 17; //       68-83: td_end, td_maxend, td_maxwin, td_maxack of seen[0]
/** @internal */ export const W_SIDE1 = 21; //       84-99: the same for seen[1]
/** @internal */ export const H_LAST_WIN = 50; //   100
/** @internal */ export const B_LAST_WSCALE = 102;
/** @internal */ export const B_LAST_FLAGS = 103;
/** @internal */ export const B_SIDE0 = 104; //     104, 105: td_scale, flags of seen[0]
/** @internal */ export const B_SIDE1 = 106; //     106, 107: the same for seen[1]
/** @internal */ export const B_EV = 108; //         pending event bits (CtEventBit)
/** @internal */ export const B_FLAGS = 109; //      RecFlag
/** @internal */ export const H_OPENED = 55; //     110: openedBy: 0 none, OPENED_OTHER, else 1 + index in CtStore.ruleIds (packet = createdPacket)
/** @internal */ export const F_CREATED_AT = 14; // 112
/** @internal */ export const F_CREATED_PKT = 15; //120
/** @internal */ export const F_LAST_SEEN = 16; //  128
/** @internal */ export const F_LAST_PKT = 17; //   136
/** @internal */ export const F_ID = 18; //         144
/** @internal */ export const F_BYTES_O = 19; //    152
/** @internal */ export const F_BYTES_R = 20; //    160-167

/** @internal Words per altered reply tuple in CtStore.nat. */
export const NAT_WORDS = 9;

/** @internal B_FLAGS bits */
export const RecFlag = {
  /** On the not-ASSURED list. */
  IN_NA: 1,
} as const;

/** @internal openedBy kept in CtStore.openedOther (its packet is not the creating one, or too many rule ids). */
export const OPENED_OTHER = 0xffff;

/** Rule ids as small numbers, for the 16-bit openedBy field; shared by a table and its detached copies. */
export class RuleIds {
  readonly ids: (string | null)[] = [];
  private readonly index = new Map<string | null, number>();

  /** 1 + index of `id`, or 0 when the table is full. */
  intern(id: string | null): number {
    let i = this.index.get(id);
    if (i === undefined) {
      if (this.ids.length >= OPENED_OTHER - 1) return 0;
      i = this.ids.length;
      this.ids.push(id);
      this.index.set(id, i);
    }
    return i + 1;
  }
}

/** @internal Records of entries: the table's (growable), or the private copy of one detached entry. */
export class CtStore {
  capacity: number;
  f64!: Float64Array;
  u32!: Uint32Array;
  i32!: Int32Array;
  u16!: Uint16Array;
  u8!: Uint8Array;
  /** IPv6 source words 1-3 then destination words 1-3: 6 per IPv6 entry. */
  ext: Uint32Array;
  private extNext = 0;
  private readonly extFree: number[] = [];
  /** openedBy values that do not fit H_OPENED, by slot. */
  readonly openedOther = new Map<number, OpenedBy>();
  /**
   * NAT (nat.ts): per slot, 1 + index of the entry's altered reply tuple in
   * `nat`, 0 when the reply tuple is the inverted original. Kept beside the
   * records, not in them: an entry without NAT pays only the status test
   * (CT_NAT_MASK) when its reply tuple is read, never a bigger record.
   */
  natRef: Int32Array;
  /** Altered reply tuples, NAT_WORDS each: source words 0-3, destination words 0-3, sport << 16 | dport. */
  nat: Uint32Array;
  private natNext = 0;
  private readonly natFree: number[] = [];

  constructor(
    capacity: number,
    readonly ruleIds: RuleIds,
  ) {
    this.capacity = capacity;
    this.setBuffer(new ArrayBuffer(capacity * STRIDE));
    this.ext = new Uint32Array(capacity === 1 ? 6 : 0);
    this.natRef = new Int32Array(capacity);
    this.nat = new Uint32Array(capacity === 1 ? NAT_WORDS : 0);
  }

  private setBuffer(buf: ArrayBuffer): void {
    this.f64 = new Float64Array(buf);
    this.u32 = new Uint32Array(buf);
    this.i32 = new Int32Array(buf);
    this.u16 = new Uint16Array(buf);
    this.u8 = new Uint8Array(buf);
  }

  /** Room for `capacity` records, keeping the current ones. */
  grow(capacity: number): void {
    const buf = new ArrayBuffer(capacity * STRIDE);
    new Uint8Array(buf).set(this.u8);
    this.capacity = capacity;
    this.setBuffer(buf);
    const natRef = new Int32Array(capacity);
    natRef.set(this.natRef);
    this.natRef = natRef;
  }

  /** A place for one IPv6 entry's extra address words: returns the W_EXT value (1 + index). */
  allocExt(): number {
    const free = this.extFree.pop();
    if (free !== undefined) return free + 1;
    const i = this.extNext++;
    if ((i + 1) * 6 > this.ext.length) {
      const grown = new Uint32Array(Math.max(96, this.ext.length * 2));
      grown.set(this.ext);
      this.ext = grown;
    }
    return i + 1;
  }

  freeExt(ext: number): void {
    if (ext > 0) this.extFree.push(ext - 1);
  }

  /**
   * Store `t` as record `slot`'s reply tuple (nf_conntrack_alter_reply).
   * The caller sets a CT_NAT_MASK bit in the status: that bit is what makes
   * readers use it.
   */
  setNatReply(slot: number, t: CtTuple): void {
    let ref = this.natRef[slot];
    if (ref === 0) {
      const free = this.natFree.pop();
      let i: number;
      if (free !== undefined) i = free;
      else {
        i = this.natNext++;
        if ((i + 1) * NAT_WORDS > this.nat.length) {
          const grown = new Uint32Array(Math.max(NAT_WORDS * 16, this.nat.length * 2));
          grown.set(this.nat);
          this.nat = grown;
        }
      }
      ref = i + 1;
      this.natRef[slot] = ref;
    }
    const x = this.nat,
      e = (ref - 1) * NAT_WORDS;
    x[e] = t.src0;
    x[e + 1] = t.src1;
    x[e + 2] = t.src2;
    x[e + 3] = t.src3;
    x[e + 4] = t.dst0;
    x[e + 5] = t.dst1;
    x[e + 6] = t.dst2;
    x[e + 7] = t.dst3;
    x[e + 8] = ((t.sport << 16) | t.dport) >>> 0;
  }

  /** Forget record `slot`'s altered reply tuple (the record is being freed). */
  freeNat(slot: number): void {
    const ref = this.natRef[slot];
    if (ref > 0) {
      this.natFree.push(ref - 1);
      this.natRef[slot] = 0;
    }
  }

  /** Is `t` record `slot`'s altered reply tuple? (l3 and protocol are the caller's to compare.) */
  natReplyIs(slot: number, t: CtTuple): boolean {
    const x = this.nat,
      e = (this.natRef[slot] - 1) * NAT_WORDS;
    return (
      x[e] === t.src0 &&
      x[e + 4] === t.dst0 &&
      x[e + 8] === ((t.sport << 16) | t.dport) >>> 0 &&
      x[e + 1] === t.src1 &&
      x[e + 2] === t.src2 &&
      x[e + 3] === t.src3 &&
      x[e + 5] === t.dst1 &&
      x[e + 6] === t.dst2 &&
      x[e + 7] === t.dst3
    );
  }

  /** A detached copy of record `slot`: a store of capacity 1. */
  copyOf(slot: number): CtStore {
    const c = new CtStore(1, this.ruleIds);
    c.u8.set(this.u8.subarray(slot * STRIDE, (slot + 1) * STRIDE));
    const ext = this.u32[slot * S32 + W_EXT];
    if (ext > 0) {
      c.ext.set(this.ext.subarray((ext - 1) * 6, ext * 6));
      c.u32[W_EXT] = 1;
    }
    const other = this.openedOther.get(slot);
    if (other !== undefined) c.openedOther.set(0, other);
    const nat = this.natRef[slot];
    if (nat > 0) {
      c.nat.set(this.nat.subarray((nat - 1) * NAT_WORDS, nat * NAT_WORDS));
      c.natRef[0] = 1;
    }
    c.u8[B_FLAGS] &= ~RecFlag.IN_NA;
    return c;
  }

  toJSON(): string {
    return `CtStore(${this.capacity})`;
  }

  /**
   * Record `slot`'s openedBy: in H_OPENED, or openedOther when it does not
   * fit; packet < 0 clears it. (Separate arguments: the engine calls this for
   * every new flow.)
   */
  setOpenedBy(slot: number, packet: number, ruleId: string | null): void {
    this.openedOther.delete(slot);
    let o = 0;
    if (packet >= 0) {
      o = packet === this.f64[slot * S64 + F_CREATED_PKT] ? this.ruleIds.intern(ruleId) : 0;
      if (o === 0) {
        o = OPENED_OTHER;
        this.openedOther.set(slot, { packet, ruleId });
      }
    }
    this.u16[slot * S16 + H_OPENED] = o;
  }

  /** Record `slot`'s openedBy packet number, -1 when none is known; no allocation. */
  openedPacket(slot: number): number {
    const o = this.u16[slot * S16 + H_OPENED];
    if (o === 0) return -1;
    if (o === OPENED_OTHER) return this.openedOther.get(slot)?.packet ?? -1;
    return this.f64[slot * S64 + F_CREATED_PKT];
  }

  /** Record `slot`'s openedBy rule id (null also when none is known); no allocation. */
  openedRuleId(slot: number): string | null {
    const o = this.u16[slot * S16 + H_OPENED];
    if (o === 0) return null;
    if (o === OPENED_OTHER) return this.openedOther.get(slot)?.ruleId ?? null;
    return this.ruleIds.ids[o - 1];
  }

  /** Mark record `slot` ASSURED (immune to early drop), with its [UPDATE] event bit, unless it already is. */
  setAssured(slot: number): void {
    const hs = slot * S16 + H_STATUS;
    const status = this.u16[hs];
    if (status & CtStatus.ASSURED) return;
    this.u16[hs] = status | CtStatus.ASSURED;
    this.u8[slot * STRIDE + B_EV] |= CtEventBit.ASSURED;
  }

  /** Is record `slot` an entry in the table (confirmed, and not being deleted)? */
  isListed(slot: number): boolean {
    return (this.u16[slot * S16 + H_STATUS] & (CtStatus.CONFIRMED | CtStatus.DYING)) === CtStatus.CONFIRMED;
  }

  /** Whole seconds record `slot` has left at `now`, as conntrack -L prints them (never negative). */
  secondsLeft(slot: number, now: number): number {
    const left = Math.floor(this.f64[slot * S64 + F_DEADLINE] - now + 1e-6);
    return left > 0 ? left : 0;
  }

  /** The tuple of record `slot` in direction `dir` (0 original, 1 reply) into `out`. */
  loadTuple(slot: number, dir: number, out: CtTuple): CtTuple {
    const u32 = this.u32;
    const b32 = slot * S32;
    const b8 = slot * STRIDE;
    const l3 = this.u8[b8 + B_L3];
    const proto = this.u8[b8 + B_PROTO];
    out.l3 = l3;
    out.proto = proto;
    if (dir === 1 && (this.u16[slot * S16 + H_STATUS] & CT_NAT_MASK) !== 0) {
      const x = this.nat,
        e = (this.natRef[slot] - 1) * NAT_WORDS;
      out.src0 = x[e];
      out.src1 = x[e + 1];
      out.src2 = x[e + 2];
      out.src3 = x[e + 3];
      out.dst0 = x[e + 4];
      out.dst1 = x[e + 5];
      out.dst2 = x[e + 6];
      out.dst3 = x[e + 7];
      out.sport = x[e + 8] >>> 16;
      out.dport = x[e + 8] & 0xffff;
      return out;
    }
    let s0 = u32[b32 + W_SRC0],
      s1 = 0,
      s2 = 0,
      s3 = 0;
    let d0 = u32[b32 + W_DST0],
      d1 = 0,
      d2 = 0,
      d3 = 0;
    const ext = u32[b32 + W_EXT];
    if (ext > 0) {
      const x = this.ext,
        e = (ext - 1) * 6;
      s1 = x[e];
      s2 = x[e + 1];
      s3 = x[e + 2];
      d1 = x[e + 3];
      d2 = x[e + 4];
      d3 = x[e + 5];
    }
    let ports = u32[b32 + W_PORTS];
    if (dir === 1) {
      let t = s0;
      s0 = d0;
      d0 = t;
      t = s1;
      s1 = d1;
      d1 = t;
      t = s2;
      s2 = d2;
      d2 = t;
      t = s3;
      s3 = d3;
      d3 = t;
      ports = replyPorts(ports, proto);
    }
    out.src0 = s0;
    out.src1 = s1;
    out.src2 = s2;
    out.src3 = s3;
    out.dst0 = d0;
    out.dst1 = d1;
    out.dst2 = d2;
    out.dst3 = d3;
    out.sport = ports >>> 16;
    out.dport = ports & 0xffff;
    return out;
  }
}

/**
 * struct ip_ct_tcp of the record at byte b8 / half-word b16 / word b32 of
 * `st`, copied out: the tracker (tcp.ts) reads and writes the record itself,
 * this is for whoever wants to look at it (conntrack -L JSON, tests).
 */
function tcpOf(st: CtStore, b8: number, b16: number, b32: number): TcpCt {
  const side = (w: number, b: number): TcpSide => ({
    td_end: st.u32[w],
    td_maxend: st.u32[w + 1],
    td_maxwin: st.u32[w + 2],
    td_maxack: st.u32[w + 3],
    td_scale: st.u8[b],
    flags: st.u8[b + 1],
  });
  return {
    state: st.u8[b8 + B_TSTATE],
    seen: [side(b32 + W_SIDE0, b8 + B_SIDE0), side(b32 + W_SIDE1, b8 + B_SIDE1)],
    last_dir: st.u8[b8 + B_LAST_DIR],
    retrans: st.u8[b8 + B_RETRANS],
    last_index: st.u8[b8 + B_LAST_INDEX],
    last_seq: st.u32[b32 + W_LAST_SEQ],
    last_ack: st.u32[b32 + W_LAST_ACK],
    last_end: st.u32[b32 + W_LAST_END],
    last_win: st.u16[b16 + H_LAST_WIN],
    last_wscale: st.u8[b8 + B_LAST_WSCALE],
    last_flags: st.u8[b8 + B_LAST_FLAGS],
  };
}

/**
 * A conntrack entry: a view of its record (see the top of this file). Get
 * entries from the table (CtResult.entry, entries(), lookup(), events); the
 * same entry is the same object as long as it lives.
 */
export class CtEntry {
  /** @internal */ st: CtStore;
  /** @internal */ slot = 0;
  /** @internal */ b8 = 0;
  /** @internal */ b16 = 0;
  /** @internal */ b32 = 0;
  /** @internal */ b64 = 0;
  private origTuple: CtTuple | null = null;
  private replyTuple: CtTuple | null = null;

  /** @internal */
  constructor(st: CtStore, slot: number) {
    this.st = st;
    this.at(st, slot);
  }

  /** @internal Point the view at record `slot` of `st`. */
  at(st: CtStore, slot: number): void {
    this.st = st;
    this.slot = slot;
    this.b8 = slot * STRIDE;
    this.b16 = slot * S16;
    this.b32 = slot * S32;
    this.b64 = slot * S64;
  }

  /** @internal Forget cached tuples (the view now shows another entry). */
  forgetTuples(): void {
    this.origTuple = null;
    this.replyTuple = null;
  }

  /** Sequential id, in order of creation (allocation) in this table. */
  get id(): number {
    return this.st.f64[this.b64 + F_ID];
  }
  /** The original direction's tuple. */
  get orig(): CtTuple {
    return (this.origTuple ??= this.st.loadTuple(this.slot, 0, new CtTuple()));
  }
  /** The reply direction's tuple: nf_ct_invert_tuple of the original, or the one NAT stored (nat.ts). */
  get reply(): CtTuple {
    return (this.replyTuple ??= this.st.loadTuple(this.slot, 1, new CtTuple()));
  }
  /** CtStatus bits (IPS_*). */
  get status(): number {
    return this.st.u16[this.b16 + H_STATUS];
  }
  set status(v: number) {
    this.st.u16[this.b16 + H_STATUS] = v;
  }
  /**
   * Absolute capture time (seconds) at which the entry dies: it is gone for
   * any packet with now >= deadline (nf_ct_is_expired: timeout - now <= 0).
   */
  get deadline(): number {
    return this.st.f64[this.b64 + F_DEADLINE];
  }
  set deadline(v: number) {
    this.st.f64[this.b64 + F_DEADLINE] = v;
  }
  /** TCP tracking data as it is now (a copy: read it again after more packets); null for other protocols. */
  get tcp(): TcpCt | null {
    return this.st.u8[this.b8 + B_PROTO] === IpProto.TCP ? tcpOf(this.st, this.b8, this.b16, this.b32) : null;
  }
  /** Capture time and packet number of the packet that created the entry. */
  get createdAt(): number {
    return this.st.f64[this.b64 + F_CREATED_AT];
  }
  set createdAt(v: number) {
    this.st.f64[this.b64 + F_CREATED_AT] = v;
  }
  get createdPacket(): number {
    return this.st.f64[this.b64 + F_CREATED_PKT];
  }
  set createdPacket(v: number) {
    this.st.f64[this.b64 + F_CREATED_PKT] = v;
  }
  /** The packet number of openedBy, -1 when none (without making the object). */
  get openedPacket(): number {
    return this.st.openedPacket(this.slot);
  }
  /** Set by the engine after confirm(): which packet and rule let the flow in. */
  get openedBy(): OpenedBy | null {
    const packet = this.st.openedPacket(this.slot);
    return packet < 0 ? null : { packet, ruleId: this.st.openedRuleId(this.slot) };
  }
  set openedBy(v: OpenedBy | null) {
    if (v === null) this.st.setOpenedBy(this.slot, -1, null);
    else this.st.setOpenedBy(this.slot, v.packet, v.ruleId);
  }
  /** The id of the rule that let the flow in (null also when none is known); no allocation. */
  get openedRuleId(): string | null {
    return this.st.openedRuleId(this.slot);
  }
  /** Accounting: packets and IP bytes per direction (what nf_conntrack_acct would count). */
  get packetsOrig(): number {
    return this.st.u32[this.b32 + W_PKTS_O];
  }
  set packetsOrig(v: number) {
    this.st.u32[this.b32 + W_PKTS_O] = v;
  }
  get packetsReply(): number {
    return this.st.u32[this.b32 + W_PKTS_R];
  }
  set packetsReply(v: number) {
    this.st.u32[this.b32 + W_PKTS_R] = v;
  }
  get bytesOrig(): number {
    return this.st.f64[this.b64 + F_BYTES_O];
  }
  set bytesOrig(v: number) {
    this.st.f64[this.b64 + F_BYTES_O] = v;
  }
  get bytesReply(): number {
    return this.st.f64[this.b64 + F_BYTES_R];
  }
  set bytesReply(v: number) {
    this.st.f64[this.b64 + F_BYTES_R] = v;
  }
  /** Capture time and number of the last packet that refreshed the entry. */
  get lastSeen(): number {
    return this.st.f64[this.b64 + F_LAST_SEEN];
  }
  set lastSeen(v: number) {
    this.st.f64[this.b64 + F_LAST_SEEN] = v;
  }
  get lastPacket(): number {
    return this.st.f64[this.b64 + F_LAST_PKT];
  }
  set lastPacket(v: number) {
    this.st.f64[this.b64 + F_LAST_PKT] = v;
  }

  get proto(): number {
    return this.st.u8[this.b8 + B_PROTO];
  }
  get l3(): number {
    return this.st.u8[this.b8 + B_L3];
  }
  get confirmed(): boolean {
    return (this.status & CtStatus.CONFIRMED) !== 0;
  }
  get seenReply(): boolean {
    return (this.status & CtStatus.SEEN_REPLY) !== 0;
  }
  get assured(): boolean {
    return (this.status & CtStatus.ASSURED) !== 0;
  }
  /** TCP state name (conntrack -L), '' for other protocols. */
  get tcpStateName(): string {
    return this.proto === IpProto.TCP ? TCP_STATE_NAMES[this.st.u8[this.b8 + B_TSTATE]] : '';
  }
  /** The protocol tracker's state, as `conntrack -L` prints it (TCP, SCTP), or -1 for protocols without one. */
  get protoState(): number {
    return hasProtoState(this.proto) ? this.st.u8[this.b8 + B_TSTATE] : -1;
  }
  /** The name of protoState ('' when none). */
  get stateName(): string {
    return stateNameOf(this.proto, this.protoState);
  }
  /** Whole seconds left at `now`, as conntrack -L prints them (never negative). */
  secondsLeft(now: number): number {
    return this.st.secondsLeft(this.slot, now);
  }

  /**
   * A copy of the entry as it is now, detached from the table: it keeps
   * describing this moment while the entry itself moves on (used for
   * results that are delivered later than they were decided).
   */
  snapshot(): CtEntry {
    return new CtEntry(this.st.copyOf(this.slot), 0);
  }

  /** A plain summary (JSON.stringify, test printers): the entry, not its storage. */
  toJSON(): Record<string, unknown> {
    return {
      id: this.id,
      orig: { ...this.orig },
      reply: { ...this.reply },
      status: this.status,
      deadline: this.deadline,
      ...(this.protoState >= 0 ? { state: this.stateName } : {}),
      openedBy: this.openedBy,
    };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): Record<string, unknown> {
    return { CtEntry: this.toJSON() };
  }
}

/** Protocols whose tracker keeps a state `conntrack -L` prints (in the record's B_TSTATE): TCP, SCTP. */
export function hasProtoState(proto: number): boolean {
  return proto === IpProto.TCP || proto === IpProto.SCTP;
}

/** A tracker state's name: TCP_STATE_NAMES or SCTP_STATE_NAMES by protocol; '' for -1. */
export function stateNameOf(proto: number, state: number): string {
  if (state < 0) return '';
  return proto === IpProto.SCTP ? SCTP_STATE_NAMES[state] : TCP_STATE_NAMES[state];
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
   * The tracker's state at the time (TCP: TcpState, SCTP: SctpState; see
   * hasProtoState); -1 for other protocols, and for an [UPDATE] that did not
   * change the state (ctnetlink then omits it).
   */
  protoState: number;
  /** CtStatus bits at the time. */
  status: number;
  /** Seconds left as conntrack -E prints it; -1 when the kernel omits it (DESTROY of an expired entry). */
  timeout: number;
  /** DESTROY only. */
  cause?: CtDestroyCause;
}
