/**
 * NAT's decision (nf_nat_core.c): nf_nat_setup_info and get_unique_tuple,
 * with the by-source index find_appropriate_src searches. nat.ts has the
 * API and documents the behaviour and the differences from the kernel.
 */
import { CtTuple, F_DEADLINE, H_STATUS, invertTuple, S16, S64, type CtStore, hashTuple } from './entry.js';
import { findBestIps, jhash2 } from './nat-ips.js';
import { IPPROTO_GRE, isNatPortProto, NatManip, RANDOM_ALL, type NatRange } from './nat-types.js';
import { IpProto } from '../packet/types.js';
import { CtStatus } from './types.js';

/** Most tuples tried by one search (NF_NAT_MAX_ATTEMPTS in nf_nat_l4proto_unique_tuple). */
const MAX_ATTEMPTS = 128;
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

  constructor(
    private readonly st: CtStore,
    /** Is tuple `t` in the table (either direction, expired entries removed)? nf_conntrack_tuple_taken. */
    private readonly taken: (t: CtTuple) => boolean,
    /** The table's clock (seconds). */
    private readonly clock: () => number,
    /** Record `slot`'s tuples changed: cached views must reload them. */
    private readonly changed: (slot: number) => void,
  ) {}

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
    findBestIps(tuple, range, manip, this.words);
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
      // The kernel: off = get_random_u16() again, away from a crowded stretch. Here a hash of the
      // tuple and the round: as scattered, and the same in every run.
      off = jhash2(tuple.src0 ^ tuple.src3, tuple.dst0 ^ tuple.dst3, tuple.proto, key, attempts) & 0xffff;
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
