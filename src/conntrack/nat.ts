/**
 * NAT in the conntrack layer, as Linux's nf_nat does it
 * (net/netfilter/nf_nat_core.c, nf_nat_proto.c): a flow's translation is
 * decided once, on its first packet, by altering the entry's REPLY tuple to
 * invert(translated original); every later packet of either direction is
 * rewritten from the entry's tuples. The engine decides WHICH rule applies;
 * this file decides the resulting tuple and does the rewriting.
 *
 * API (every function takes the CtResult of ConntrackTable.process/track):
 *
 *   natSetup(r, manip, range): boolean
 *       nf_nat_setup_info(). For r's NEW, unconfirmed entry, before
 *       confirm(): NatManip.DST at prerouting/output (dnat, redirect),
 *       NatManip.SRC at postrouting/input (snat, masquerade; masquerade is
 *       snat to the egress interface's address, the lead picks it). Both may
 *       apply to one entry (DST first, then SRC sees the DNATed tuple).
 *       Keeps the packet's address/port when the result is unique and in the
 *       range, else picks one as get_unique_tuple() does (below). Sets
 *       CtStatus.SRC_NAT/DST_NAT when the reply tuple changed, and
 *       SRC_NAT_DONE/DST_NAT_DONE always. Returns whether the resulting reply
 *       tuple is free. When it is not (no free port in the range, or a DNAT
 *       to one port whose reply tuple another entry holds), the entry keeps
 *       it, as the kernel: after a DST manip the SRC manip at postrouting
 *       (a rule or the null binding) may still move the source port; after
 *       the SRC manip, confirm() refuses the entry and sets r.drop (the
 *       kernel's insert_failed: the packet is dropped after the rules
 *       accepted it), so the engine should drop the packet when natSetup or
 *       natNullBinding at postrouting/input returns false. Calling it for a
 *       confirmed entry does nothing (true), as the kernel; calling it twice
 *       for one manip throws (the kernel WARNs and drops).
 *   natNullBinding(r, manip): boolean
 *       nf_nat_alloc_null_binding(): a NEW flow passing a NAT hook where no
 *       NAT rule decided. The kernel registers all four NAT hooks of a family
 *       as soon as any nat chain exists, so call it at every NAT hook the
 *       packet passes without a NAT decision (prerouting/output: DST,
 *       postrouting/input: SRC). It keeps the address and may move the
 *       source port when the reply tuple is already in use (a masqueraded
 *       flow took it).
 *   natInitialized(r, manip): boolean
 *       nf_nat_initialized(): was the manip decided (a rule or the null
 *       binding)? The kernel consults the nat chains only for ct state new
 *       AND an undecided manip (nf_nat_inet_fn): a retransmitted SYN, or an
 *       RST before any reply (both state new), skips them; do the same.
 *   natApply(r, manip, t): boolean
 *       nf_nat_packet(), per packet at each NAT hook: rewrites the packet
 *       tuple `t` in place (the caller fills it from the packet: addresses,
 *       sport/dport, for ICMP sport = echo id) and says whether it changed
 *       anything. DST at prerouting/output: DNAT of an original packet,
 *       de-SNAT of a reply; SRC at postrouting/input: SNAT of an original,
 *       de-DNAT of a reply. No allocation. Not for RELATED (use natIcmpError).
 *   natTarget(r, out): CtTuple
 *       The tuple the packet leaves with after both hooks: invert(reply) for
 *       the original direction, invert(original) for a reply. No allocation.
 *   natIcmpError(r, manip, icmpType, outer, inner): NatIcmpValue
 *       nf_nat_icmp_reply_translation() / nf_nat_icmpv6_reply_translation(),
 *       for a RELATED ICMP error at each NAT hook: `outer` holds the error's
 *       own addresses (ports unused), `inner` the quoted packet's tuple; both
 *       are rewritten in place. DROP for a redirect about a NATed flow (the
 *       kernel drops those).
 *
 *   natPacketTuple(p, out) / natQuotedTuple(p, out): CtTuple
 *       Fill the tuple these functions take from a decoded packet (ports;
 *       ICMP: sport = echo id, dport = type << 8 | code) or from an ICMP
 *       error's quoted packet, as conntrack itself reads them. No allocation.
 *
 * Status bits (CtStatus.SRC_NAT, DST_NAT, *_DONE; CT_NAT_MASK) are in
 * entry.status for `ct status snat/dnat` matches. The reply tuple of a NATed
 * entry is stored (CtStore.nat, one small record beside the entry record),
 * so CtEntry.reply, conntrack -L, lookups and events all show the altered one.
 *
 * get_unique_tuple(), for the record (kernel 6.x):
 *  1. SRC only (and no random flag): keep the tuple if its source is in the
 *     range and its reply is unused; if not in the range, reuse the mapping of
 *     an existing entry with the same source address/port/protocol
 *     (find_appropriate_src, the newest such entry first) if in range and free.
 *  2. find_best_ips_proto: the address is the range's only one, or one chosen
 *     by jhash2 of the source (and destination, unless `persistent`)
 *     address, reproduced exactly here.
 *  3. keep the port if in range and free (or the range is one port), else
 *     nf_nat_l4proto_unique_tuple: search the port range (unspecified: 1-511,
 *     600-1023 or 1024-65535 after the original port's class; ICMP ids
 *     0-65535; DNAT without ports never changes the port) for a free one.
 *
 * Known differences (deliberate; the kernel's choice is random):
 * - Port/id search start: the kernel starts at min + (get_random_u16() %
 *   range size) (since 5.x; before, a per-protocol rover), tries up to 128,
 *   then restarts at new random offsets with 64, 32, 16, 8 attempts. fwemu
 *   starts at the current port itself when it is in the range (else at the
 *   range's start) and goes up, wrapping in the range, with the same
 *   128+64+32+16+8 attempt budget continuing from where it stopped. So a
 *   clash of 40000 gives 40001 here, a random port (e.g. 8560, 26167) there.
 * - `random`/`fully-random` flags: the kernel picks a random port for every
 *   flow, clash or not; fwemu keeps the port when it is free and in range.
 * - nf_nat_used_tuple_new's exception for a reverse-direction race of two CPUs
 *   cannot happen in a serial replay; no PROTO_OFFSET ranges (iptables
 *   `--to-destination a:1000-2000/3000`); GRE keys are not translated
 *   (fwemu tracks GRE with keys 0, as without the PPTP helper); no NAT helpers
 *   (ftp, sip...), no sequence adjustment.
 */
import { IpProto, isPortProto, type DecodedPacket } from '../packet/types.js';
import { CtTuple, F_DEADLINE, H_STATUS, invertTuple, S16, S64, type CtStore, hashTuple } from './entry.js';
import type { CtResult } from './result.js';
import { CT_NAT_DONE_MASK, CT_NAT_MASK, CtStatus } from './types.js';

/** enum nf_nat_manip_type. */
export const NatManip = { SRC: 0, DST: 1 } as const;
export type NatManipValue = (typeof NatManip)[keyof typeof NatManip];

/** NF_NAT_RANGE_* flags the rules can set (uapi nf_nat.h values). */
export const NatFlag = {
  /** nft `random` (NF_NAT_RANGE_PROTO_RANDOM). */
  RANDOM: 1 << 2,
  /** nft `persistent`: the address depends on the source only. */
  PERSISTENT: 1 << 3,
  /** nft `fully-random` (NF_NAT_RANGE_PROTO_RANDOM_FULLY). */
  FULLY_RANDOM: 1 << 4,
} as const;
const RANDOM_ALL = NatFlag.RANDOM | NatFlag.FULLY_RANDOM;

/** struct nf_nat_range2, as the rules give it. */
export interface NatRange {
  /**
   * First and last address, four network-order words each as CtTuple's
   * (IPv4: word 0, the rest 0). null: the address is not mapped
   * (NF_NAT_RANGE_MAP_IPS unset).
   */
  addr: { readonly lo: readonly number[]; readonly hi: readonly number[] } | null;
  /** Ports (ICMP: echo ids), inclusive (NF_NAT_RANGE_PROTO_SPECIFIED); null: none given. */
  ports: { readonly lo: number; readonly hi: number } | null;
  /** NatFlag bits (0 for none; natFlags() makes them from nft's words). */
  flags: number;
}

/** NatFlag bits of nft's flag words (`random`, `fully-random`, `persistent`; others are ignored). */
export function natFlags(words: readonly string[]): number {
  let f = 0;
  for (const w of words) {
    if (w === 'random') f |= NatFlag.RANDOM;
    else if (w === 'fully-random') f |= NatFlag.FULLY_RANDOM;
    else if (w === 'persistent') f |= NatFlag.PERSISTENT;
  }
  return f;
}

/** What natIcmpError did. */
export const NatIcmp = { UNCHANGED: 0, CHANGED: 1, DROP: 2 } as const;
export type NatIcmpValue = (typeof NatIcmp)[keyof typeof NatIcmp];

/** Most tuples tried by one search (NF_NAT_MAX_ATTEMPTS in nf_nat_l4proto_unique_tuple). */
const MAX_ATTEMPTS = 128;
const IPPROTO_DCCP = 33;
const IPPROTO_GRE = 47;
/** Buckets of the by-source index to begin with (doubled as SRC-manipulated entries pass the count). */
const BS_INITIAL = 1024;

/**
 * @internal NAT state of one table: the by-source index (nf_nat_bysource)
 * and the tuple search. The table owns one and hands it the lookup.
 */
export class NatCore {
  /**
   * nf_nat_bysource: SRC-manipulated entries chained by the hash of their
   * original source (address, port, protocol), newest first as the kernel's
   * hlist_add_head. Heads per bucket; links per record slot (doubly linked,
   * for removal when a record is freed): no allocation per flow.
   */
  private bsHeads = new Int32Array(BS_INITIAL).fill(-1);
  private bsNext = new Int32Array(0);
  private bsPrev = new Int32Array(0);
  private bsCount = 0;
  private readonly cur = new CtTuple();
  private readonly neu = new CtTuple();
  private readonly inv = new CtTuple();
  private readonly tmp = new CtTuple();
  private readonly key = new CtTuple();
  private readonly words = new Uint32Array(8);
  /** The null binding's range (one address, no ports), refilled per use: no allocation per flow. */
  private readonly nullAddr = [0, 0, 0, 0];
  private readonly nullRange: NatRange = { addr: { lo: this.nullAddr, hi: this.nullAddr }, ports: null, flags: 0 };
  /** Set by resolve(): where r's entry record lives (the table's store, or a detached view's copy). */
  private rst: CtStore;
  private rslot = -1;

  constructor(
    private readonly st: CtStore,
    /** Is tuple `t` in the table (either direction, expired entries removed)? nf_conntrack_tuple_taken. */
    private readonly taken: (t: CtTuple) => boolean,
    /** The table's clock (seconds). */
    private readonly clock: () => number,
    /** Record `slot`'s tuples changed: cached views must reload them. */
    private readonly changed: (slot: number) => void,
  ) {
    this.rst = st;
  }

  // -------------------------------------------------------------------------
  // nf_nat_setup_info

  setup(slot: number, manip: number, range: NatRange): boolean {
    const st = this.st;
    const hs = slot * S16 + H_STATUS;
    let status = st.u16[hs];
    if (status & CtStatus.CONFIRMED) return true;
    const done = manip === NatManip.SRC ? CtStatus.SRC_NAT_DONE : CtStatus.DST_NAT_DONE;
    if (status & done) {
      throw new Error(`NAT ${manip === NatManip.SRC ? 'source' : 'destination'} manip set up twice for one entry`);
    }
    // What we have looks like the inverse of the reply (which a DNAT before a SNAT already altered).
    const curr = this.cur;
    invertTuple(st.loadTuple(slot, 1, this.tmp), curr);
    const t = this.neu;
    this.uniqueTuple(t, curr, range, manip);
    if (!tupleEqual(t, curr)) {
      invertTuple(t, this.tmp);
      st.setNatReply(slot, this.tmp);
      status |= manip === NatManip.SRC ? CtStatus.SRC_NAT : CtStatus.DST_NAT;
      st.u16[hs] = status;
      this.changed(slot);
    }
    if (manip === NatManip.SRC) this.bySourceAdd(slot);
    st.u16[hs] = status | done;
    // A tuple in use is kept all the same: a later SRC manip may still move the source port;
    // confirm() refuses the entry if it is still taken then (the kernel's insert_failed).
    return !this.used(t);
  }

  /** __nf_nat_alloc_null_binding(): this address, ports left to the protocol. */
  nullBinding(slot: number, manip: number): boolean {
    const r = this.st.loadTuple(slot, 1, this.key);
    const a = this.nullAddr;
    if (manip === NatManip.SRC) {
      a[0] = r.dst0;
      a[1] = r.dst1;
      a[2] = r.dst2;
      a[3] = r.dst3;
    } else {
      a[0] = r.src0;
      a[1] = r.src1;
      a[2] = r.src2;
      a[3] = r.src3;
    }
    return this.setup(slot, manip, this.nullRange);
  }

  /** nf_nat_used_tuple(): is the reply of `t` taken by another entry? */
  private used(t: CtTuple): boolean {
    invertTuple(t, this.inv);
    return this.taken(this.inv);
  }

  private uniqueTuple(tuple: CtTuple, orig: CtTuple, range: NatRange, manip: number): void {
    const randomAll = (range.flags & RANDOM_ALL) !== 0;
    if (manip === NatManip.SRC && !randomAll) {
      if (inRange(orig, range)) {
        if (!this.used(orig)) {
          orig.copyTo(tuple);
          return;
        }
      } else if (this.findAppropriateSrc(orig, tuple, range)) {
        if (!this.used(tuple)) return;
      }
    }
    orig.copyTo(tuple);
    this.findBestIps(tuple, range, manip);
    if (!randomAll) {
      const p = range.ports;
      if (p !== null) {
        if (l4InRange(tuple, manip, p.lo, p.hi) && (p.lo === p.hi || !this.used(tuple))) return;
      } else if (!this.used(tuple)) {
        return;
      }
    }
    this.l4UniqueTuple(tuple, range, manip);
  }

  /** find_appropriate_src(): the mapping an entry with the same source already has, if in range. */
  private findAppropriateSrc(t: CtTuple, result: CtTuple, range: NatRange): boolean {
    const st = this.st;
    const now = this.clock();
    const o = this.tmp;
    for (let slot = this.bsHeads[this.sourceHash(t) & (this.bsHeads.length - 1)]; slot >= 0; ) {
      const next = this.bsNext[slot];
      // An expired entry the kernel's gc would have reaped already.
      if (st.f64[slot * S64 + F_DEADLINE] - now <= 1e-6 && st.u16[slot * S16 + H_STATUS] & CtStatus.CONFIRMED) {
        slot = next;
        continue;
      }
      st.loadTuple(slot, 0, o);
      if (
        o.l3 !== t.l3 ||
        o.proto !== t.proto ||
        o.sport !== t.sport ||
        o.src0 !== t.src0 ||
        o.src1 !== t.src1 ||
        o.src2 !== t.src2 ||
        o.src3 !== t.src3
      ) {
        slot = next;
        continue;
      }
      invertTuple(st.loadTuple(slot, 1, o), result);
      result.dst0 = t.dst0;
      result.dst1 = t.dst1;
      result.dst2 = t.dst2;
      result.dst3 = t.dst3;
      result.dport = t.dport;
      if (inRange(result, range)) return true;
      slot = next;
    }
    return false;
  }

  /** find_best_ips_proto(): the address, from the range by jhash2 of the tuple's addresses. */
  private findBestIps(tuple: CtTuple, range: NatRange, manip: number): void {
    const a = range.addr;
    if (a === null) return;
    const w = this.words; // source words 0-3, destination words 4-7
    w[0] = tuple.src0;
    w[1] = tuple.src1;
    w[2] = tuple.src2;
    w[3] = tuple.src3;
    w[4] = tuple.dst0;
    w[5] = tuple.dst1;
    w[6] = tuple.dst2;
    w[7] = tuple.dst3;
    const v = manip === NatManip.SRC ? 0 : 4;
    if (a.lo[0] === a.hi[0] && a.lo[1] === a.hi[1] && a.lo[2] === a.hi[2] && a.lo[3] === a.hi[3]) {
      for (let i = 0; i < 4; i++) w[v + i] = a.lo[i];
    } else {
      const max = tuple.l3 === 4 ? 0 : 3;
      const persistent = (range.flags & NatFlag.PERSISTENT) !== 0;
      // The kernel hashes the __be32 words as they lie in memory, read little-endian (x86).
      let j = jhash2(bswap(w[0]), bswap(w[1]), bswap(w[2]), bswap(w[3]), persistent ? 0 : bswap(w[4 + max]));
      let full = false;
      for (let i = 0; i <= max; i++) {
        let minip: number, dist: number;
        if (!full) {
          minip = a.lo[i] >>> 0;
          dist = ((a.hi[i] >>> 0) - minip + 1) >>> 0;
        } else {
          minip = 0;
          dist = 0xffffffff;
        }
        w[v + i] = (minip + reciprocalScale(j, dist)) >>> 0;
        if (w[v + i] !== a.hi[i] >>> 0) full = true;
        if (!persistent) j = (j ^ bswap(w[4 + i])) >>> 0;
      }
    }
    tuple.src0 = w[0];
    tuple.src1 = w[1];
    tuple.src2 = w[2];
    tuple.src3 = w[3];
    tuple.dst0 = w[4];
    tuple.dst1 = w[5];
    tuple.dst2 = w[6];
    tuple.dst3 = w[7];
  }

  /** nf_nat_l4proto_unique_tuple(), with a deterministic start (see the top of this file). */
  private l4UniqueTuple(tuple: CtTuple, range: NatRange, manip: number): void {
    const proto = tuple.proto;
    const p = range.ports;
    let min: number;
    let size: number;
    let src = true; // the key is sport (or the ICMP id), else dport
    if (proto === IpProto.ICMP || proto === IpProto.ICMPV6) {
      if (p === null) {
        min = 0;
        size = 65536;
      } else {
        min = p.lo;
        size = p.hi - p.lo + 1;
      }
    } else if (isNatPortProto(proto)) {
      src = manip === NatManip.SRC;
      if (p === null) {
        if (!src) return; // a DNAT without ports never changes the port
        const key = tuple.sport;
        if (key < 1024) {
          // Loose convention: below 512 is credential passing.
          min = key < 512 ? 1 : 600;
          size = key < 512 ? 511 : 1023 - 600 + 1;
        } else {
          min = 1024;
          size = 65535 - 1024 + 1;
        }
      } else {
        min = Math.min(p.lo, p.hi);
        size = Math.max(p.lo, p.hi) - min + 1;
      }
    } else {
      return;
    }
    const key = src ? tuple.sport : tuple.dport;
    // The kernel: off = get_random_u16().
    let off = key >= min && key - min < size ? key - min : 0;
    let attempts = Math.min(size, MAX_ATTEMPTS);
    for (;;) {
      for (let i = 0; i < attempts; i++, off = (off + 1) & 0xffff) {
        const port = min + (off % size);
        if (src) tuple.sport = port;
        else tuple.dport = port;
        if (!this.used(tuple)) return;
      }
      if (attempts >= size || attempts < 16) return;
      attempts >>>= 1;
      // The kernel: off = get_random_u16() again; we go on where we stopped.
    }
  }

  // -------------------------------------------------------------------------
  // nf_nat_bysource

  private sourceHash(t: CtTuple): number {
    const k = this.key;
    k.l3 = t.l3;
    k.proto = t.proto;
    k.src0 = t.src0;
    k.src1 = t.src1;
    k.src2 = t.src2;
    k.src3 = t.src3;
    k.dst0 = k.dst1 = k.dst2 = k.dst3 = 0;
    k.sport = t.sport;
    k.dport = 0;
    return hashTuple(k);
  }

  private bySourceAdd(slot: number): void {
    if (slot >= this.bsNext.length) {
      const n = Math.max(this.st.capacity, slot + 1);
      const next = new Int32Array(n);
      next.set(this.bsNext);
      this.bsNext = next;
      const prev = new Int32Array(n);
      prev.set(this.bsPrev);
      this.bsPrev = prev;
    }
    if (this.bsCount >= this.bsHeads.length) this.bsRehash(this.bsHeads.length * 2);
    this.bsLink(slot, this.sourceHash(this.st.loadTuple(slot, 0, this.tmp)) & (this.bsHeads.length - 1));
    this.bsCount++;
  }

  private bsLink(slot: number, b: number): void {
    const head = this.bsHeads[b];
    this.bsNext[slot] = head;
    this.bsPrev[slot] = -1 - b; // negative: the head of bucket b
    if (head >= 0) this.bsPrev[head] = slot;
    this.bsHeads[b] = slot;
  }

  /** Twice the buckets; each chain keeps its order (newest first), so find_appropriate_src's choice does not change. */
  private bsRehash(size: number): void {
    const old = this.bsHeads;
    this.bsHeads = new Int32Array(size).fill(-1);
    const chain: number[] = [];
    for (let b = 0; b < old.length; b++) {
      chain.length = 0;
      for (let slot = old[b]; slot >= 0; slot = this.bsNext[slot]) chain.push(slot);
      for (let i = chain.length - 1; i >= 0; i--) {
        const slot = chain[i];
        this.bsLink(slot, this.sourceHash(this.st.loadTuple(slot, 0, this.tmp)) & (size - 1));
      }
    }
  }

  /** Record `slot` (with SRC_NAT_DONE) is being freed. */
  bySourceRemove(slot: number): void {
    const next = this.bsNext[slot];
    const prev = this.bsPrev[slot];
    if (prev >= 0) this.bsNext[prev] = next;
    else this.bsHeads[-1 - prev] = next;
    if (next >= 0) this.bsPrev[next] = prev;
    this.bsCount--;
  }

  // -------------------------------------------------------------------------
  // Per packet

  /** Point rst/rslot at r's entry record; false when r has none. */
  resolve(r: CtResult): boolean {
    const e = r.entryView;
    if (e === undefined) {
      if (r.entrySlot < 0) return false;
      this.rst = this.st;
      this.rslot = r.entrySlot;
      return true;
    }
    if (e === null) return false;
    this.rst = e.st;
    this.rslot = e.slot;
    return true;
  }

  initialized(r: CtResult, manip: number): boolean {
    if (!this.resolve(r)) return false;
    const done = manip === NatManip.SRC ? CtStatus.SRC_NAT_DONE : CtStatus.DST_NAT_DONE;
    return (this.rst.u16[this.rslot * S16 + H_STATUS] & done) !== 0;
  }

  apply(r: CtResult, manip: number, t: CtTuple): boolean {
    if (r.isRelated || !this.resolve(r)) return false;
    const st = this.rst;
    const slot = this.rslot;
    const dir = r.reply ? 1 : 0;
    let bit = manip === NatManip.SRC ? CtStatus.SRC_NAT : CtStatus.DST_NAT;
    if (dir === 1) bit ^= CT_NAT_MASK;
    if (!(st.u16[slot * S16 + H_STATUS] & bit)) return false;
    // The packet becomes invert(other direction's tuple): its src is other.dst, its dst other.src.
    manipTuple(t, st.loadTuple(slot, 1 - dir, this.tmp), manip, true);
    return true;
  }

  target(r: CtResult, out: CtTuple): CtTuple {
    if (!this.resolve(r)) return out;
    invertTuple(this.rst.loadTuple(this.rslot, r.reply ? 0 : 1, this.tmp), out);
    return out;
  }

  icmpError(r: CtResult, manip: number, icmpType: number, outer: CtTuple, inner: CtTuple): NatIcmpValue {
    if (!r.isRelated || !this.resolve(r)) return NatIcmp.UNCHANGED;
    const st = this.rst;
    const slot = this.rslot;
    const status = st.u16[slot * S16 + H_STATUS];
    const redirect = outer.l3 === 6 ? icmpType === 137 : icmpType === 5;
    if (redirect && ((status & CT_NAT_DONE_MASK) !== CT_NAT_DONE_MASK || status & CT_NAT_MASK)) return NatIcmp.DROP;
    const dir = r.reply ? 1 : 0;
    let bit = manip === NatManip.SRC ? CtStatus.SRC_NAT : CtStatus.DST_NAT;
    if (dir === 1) bit ^= CT_NAT_MASK;
    if (!(status & bit)) return NatIcmp.UNCHANGED;
    const other = st.loadTuple(slot, 1 - dir, this.tmp);
    // The quoted packet travelled in direction !dir: it is restored to that tuple, with the other manip.
    manipTuple(inner, other, manip === NatManip.SRC ? NatManip.DST : NatManip.SRC, false);
    // The error itself: as the reply to an incoming packet.
    if (manip === NatManip.SRC) {
      outer.src0 = other.dst0;
      outer.src1 = other.dst1;
      outer.src2 = other.dst2;
      outer.src3 = other.dst3;
    } else {
      outer.dst0 = other.src0;
      outer.dst1 = other.src1;
      outer.dst2 = other.src2;
      outer.dst3 = other.src3;
    }
    return NatIcmp.CHANGED;
  }
}

/**
 * nf_nat_ipv4_manip_pkt / nf_nat_ipv6_manip_pkt on a tuple: SRC sets the
 * source (address, port or ICMP id), DST the destination (address, port;
 * ICMP: the id too, which both directions share). With `inverted` the
 * target is invert(`tg`) (a packet translated from the other direction's
 * tuple), else `tg` itself.
 */
function manipTuple(t: CtTuple, tg: CtTuple, manip: number, inverted: boolean): void {
  const proto = t.proto;
  const icmp = proto === IpProto.ICMP || proto === IpProto.ICMPV6;
  const ports = isNatPortProto(proto);
  if (manip === NatManip.SRC) {
    if (inverted) {
      t.src0 = tg.dst0;
      t.src1 = tg.dst1;
      t.src2 = tg.dst2;
      t.src3 = tg.dst3;
      if (ports) t.sport = tg.dport;
    } else {
      t.src0 = tg.src0;
      t.src1 = tg.src1;
      t.src2 = tg.src2;
      t.src3 = tg.src3;
      if (ports) t.sport = tg.sport;
    }
  } else if (inverted) {
    t.dst0 = tg.src0;
    t.dst1 = tg.src1;
    t.dst2 = tg.src2;
    t.dst3 = tg.src3;
    if (ports) t.dport = tg.sport;
  } else {
    t.dst0 = tg.dst0;
    t.dst1 = tg.dst1;
    t.dst2 = tg.dst2;
    t.dst3 = tg.dst3;
    if (ports) t.dport = tg.dport;
  }
  // icmp_manip_pkt: the echo id is src.u.icmp.id of the target, kept by inversion.
  if (icmp && isIcmpQuery(proto, t.dport >>> 8)) t.sport = tg.sport;
}

/** ICMP types whose header carries an id icmp_manip_pkt/icmpv6_manip_pkt rewrite. */
function isIcmpQuery(proto: number, type: number): boolean {
  if (proto === IpProto.ICMPV6) return type === 128 || type === 129;
  return type === 0 || type === 8 || (type >= 13 && type <= 18);
}

/** Protocols nf_nat rewrites ports of (nf_nat_proto.c: TCP, UDP, UDP-Lite, SCTP, DCCP). */
function isNatPortProto(proto: number): boolean {
  return (
    proto === IpProto.TCP ||
    proto === IpProto.UDP ||
    proto === IpProto.UDPLITE ||
    proto === IpProto.SCTP ||
    proto === IPPROTO_DCCP
  );
}

function tupleEqual(a: CtTuple, b: CtTuple): boolean {
  return (
    a.src0 === b.src0 &&
    a.src1 === b.src1 &&
    a.src2 === b.src2 &&
    a.src3 === b.src3 &&
    a.dst0 === b.dst0 &&
    a.dst1 === b.dst1 &&
    a.dst2 === b.dst2 &&
    a.dst3 === b.dst3 &&
    a.sport === b.sport &&
    a.dport === b.dport &&
    a.proto === b.proto &&
    a.l3 === b.l3
  );
}

/** nf_nat_inet_in_range (source address) and, with ports given, l4proto_in_range: nf_in_range(). */
function inRange(t: CtTuple, range: NatRange): boolean {
  const a = range.addr;
  if (a !== null) {
    if (cmpSrc(t, a.lo) < 0 || cmpSrc(t, a.hi) > 0) return false;
  }
  const p = range.ports;
  return p === null || l4InRange(t, NatManip.SRC, p.lo, p.hi);
}

/** The tuple's source address against `w` (ipv6_addr_cmp: word by word, unsigned). */
function cmpSrc(t: CtTuple, w: readonly number[]): number {
  let c = cmpWord(t.src0, w[0]);
  if (c !== 0 || t.l3 === 4) return c;
  c = cmpWord(t.src1, w[1]);
  if (c !== 0) return c;
  c = cmpWord(t.src2, w[2]);
  return c !== 0 ? c : cmpWord(t.src3, w[3]);
}

function cmpWord(a: number, b: number): number {
  a >>>= 0;
  b >>>= 0;
  return a === b ? 0 : a < b ? -1 : 1;
}

/** l4proto_in_range(): the manipulated port (ICMP: id) within min..max; other protocols always. */
function l4InRange(t: CtTuple, manip: number, min: number, max: number): boolean {
  const proto = t.proto;
  if (proto === IpProto.ICMP || proto === IpProto.ICMPV6) return t.sport >= min && t.sport <= max;
  if (isNatPortProto(proto) || proto === IPPROTO_GRE) {
    const port = manip === NatManip.SRC ? t.sport : t.dport;
    return port >= min && port <= max;
  }
  return true;
}

function bswap(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
}

function rol32(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** include/linux/jhash.h jhash2() of four words (sizeof(union nf_inet_addr) / 4), as unsigned. */
export function jhash2(k0: number, k1: number, k2: number, k3: number, initval: number): number {
  let a = (0xdeadbeef + (4 << 2) + initval) >>> 0;
  let b = a;
  let c = a;
  a = (a + k0) >>> 0;
  b = (b + k1) >>> 0;
  c = (c + k2) >>> 0;
  // __jhash_mix
  a = (a - c) >>> 0;
  a = (a ^ rol32(c, 4)) >>> 0;
  c = (c + b) >>> 0;
  b = (b - a) >>> 0;
  b = (b ^ rol32(a, 6)) >>> 0;
  a = (a + c) >>> 0;
  c = (c - b) >>> 0;
  c = (c ^ rol32(b, 8)) >>> 0;
  b = (b + a) >>> 0;
  a = (a - c) >>> 0;
  a = (a ^ rol32(c, 16)) >>> 0;
  c = (c + b) >>> 0;
  b = (b - a) >>> 0;
  b = (b ^ rol32(a, 19)) >>> 0;
  a = (a + c) >>> 0;
  c = (c - b) >>> 0;
  c = (c ^ rol32(b, 4)) >>> 0;
  b = (b + a) >>> 0;
  // the last word, then __jhash_final
  a = (a + k3) >>> 0;
  c = ((c ^ b) - rol32(b, 14)) >>> 0;
  a = ((a ^ c) - rol32(c, 11)) >>> 0;
  b = ((b ^ a) - rol32(a, 25)) >>> 0;
  c = ((c ^ b) - rol32(b, 16)) >>> 0;
  a = ((a ^ c) - rol32(c, 4)) >>> 0;
  b = ((b ^ a) - rol32(a, 14)) >>> 0;
  c = ((c ^ b) - rol32(b, 24)) >>> 0;
  return c;
}

/** reciprocal_scale(): (u64)val * ep_ro >> 32, exactly, in doubles. */
function reciprocalScale(val: number, epRo: number): number {
  const hi = val >>> 16;
  const lo = val & 0xffff;
  return Math.floor((hi * epRo + Math.floor((lo * epRo) / 65536)) / 65536) >>> 0;
}

// ---------------------------------------------------------------------------
// The API (see the top of this file)

function coreOf(r: CtResult): NatCore {
  const t = r.table;
  if (t === null) throw new Error('NAT needs a result from ConntrackTable.process/track');
  return t.natCore;
}

/** nf_nat_setup_info(): translate r's new entry (see the top of this file). */
export function natSetup(r: CtResult, manip: NatManipValue, range: NatRange): boolean {
  coreOf(r);
  return r.table!.natSetupSlot(r, manip, range);
}

/** nf_nat_alloc_null_binding(): a NAT hook passed without a NAT rule. */
export function natNullBinding(r: CtResult, manip: NatManipValue): boolean {
  coreOf(r);
  return r.table!.natSetupSlot(r, manip, null);
}

/** nf_nat_initialized(): was `manip` decided for r's entry (a rule or the null binding)? */
export function natInitialized(r: CtResult, manip: NatManipValue): boolean {
  return coreOf(r).initialized(r, manip);
}

/** nf_nat_packet(): rewrite the packet tuple `t` at a NAT hook; true when something changed. */
export function natApply(r: CtResult, manip: NatManipValue, t: CtTuple): boolean {
  return coreOf(r).apply(r, manip, t);
}

/** The tuple r's packet leaves with after every NAT hook, into `out`. */
export function natTarget(r: CtResult, out: CtTuple): CtTuple {
  return coreOf(r).target(r, out);
}

/** nf_nat_icmp_reply_translation(): rewrite a RELATED ICMP error's outer addresses and quoted tuple. */
export function natIcmpError(
  r: CtResult,
  manip: NatManipValue,
  icmpType: number,
  outer: CtTuple,
  inner: CtTuple,
): NatIcmpValue {
  return coreOf(r).icmpError(r, manip, icmpType, outer, inner);
}

/** The packet's own tuple in CtTuple layout, as conntrack keys it (ports; ICMP: id, type << 8 | code). */
export function natPacketTuple(p: DecodedPacket, out: CtTuple): CtTuple {
  out.l3 = p.ipVersion;
  out.proto = p.proto;
  out.src0 = p.src0 >>> 0;
  out.src1 = p.src1 >>> 0;
  out.src2 = p.src2 >>> 0;
  out.src3 = p.src3 >>> 0;
  out.dst0 = p.dst0 >>> 0;
  out.dst1 = p.dst1 >>> 0;
  out.dst2 = p.dst2 >>> 0;
  out.dst3 = p.dst3 >>> 0;
  if (isPortProto(p.proto)) {
    out.sport = p.sport;
    out.dport = p.dport;
  } else if (p.proto === IpProto.ICMP || p.proto === IpProto.ICMPV6) {
    out.sport = p.icmpId;
    out.dport = (p.icmpType << 8) | p.icmpCode;
  } else {
    out.sport = 0;
    out.dport = 0;
  }
  return out;
}

/** An ICMP error's quoted packet in CtTuple layout (the inner code is not decoded: 0). */
export function natQuotedTuple(p: DecodedPacket, out: CtTuple): CtTuple {
  out.l3 = p.innerIpVersion;
  out.proto = p.innerProto;
  out.src0 = p.innerSrc0 >>> 0;
  out.src1 = p.innerSrc1 >>> 0;
  out.src2 = p.innerSrc2 >>> 0;
  out.src3 = p.innerSrc3 >>> 0;
  out.dst0 = p.innerDst0 >>> 0;
  out.dst1 = p.innerDst1 >>> 0;
  out.dst2 = p.innerDst2 >>> 0;
  out.dst3 = p.innerDst3 >>> 0;
  if (isPortProto(p.innerProto)) {
    out.sport = p.innerSport;
    out.dport = p.innerDport;
  } else if (p.innerProto === IpProto.ICMP || p.innerProto === IpProto.ICMPV6) {
    out.sport = p.innerSport;
    out.dport = p.innerDport << 8;
  } else {
    out.sport = 0;
    out.dport = 0;
  }
  return out;
}
