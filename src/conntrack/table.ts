/**
 * The conntrack table: lookup, creation, confirmation, expiry, early drop and
 * events, after net/netfilter/nf_conntrack_core.c (nf_conntrack_in,
 * resolve_normal_ct, init_conntrack, __nf_conntrack_confirm, early_drop).
 * The protocol trackers are one file each, as the kernel's
 * nf_conntrack_proto_*.c, all with the signature of l4proto.ts: tcp.ts,
 * udp.ts (UDP, UDP-Lite), sctp.ts, icmp.ts (ICMP, ICMPv6), gre.ts,
 * generic.ts; process() calls them through one switch on the protocol.
 *
 * Over 600 lines because it is one class: the hash chains, the free list,
 * the list of non-ASSURED entries and the pending entry are private state
 * that lookup, insertion, expiry and early drop all change together;
 * splitting it would put the per-packet lookup behind another object.
 * (The seams one would cut along are each crossed on every packet: find()
 * expires the entries it meets, freeSlot() detaches views and the current
 * result, insert() keeps the non-ASSURED list that early drop walks.)
 *
 * Two phases, as in the kernel:
 *   process(pkt, now, n)  - nf_conntrack_in at PREROUTING/OUTPUT: finds or
 *                           creates the entry and runs the protocol tracker.
 *                           Changes to EXISTING entries happen here and stand
 *                           whatever the filter decides.
 *   confirm(r)            - nf_conntrack_confirm at POSTROUTING/INPUT, for a
 *                           packet the filter accepted: a new entry enters the
 *                           table; cached [UPDATE] events are delivered.
 *                           A NATed entry whose reply tuple another entry
 *                           holds is refused, its packet dropped (r.drop),
 *                           as the kernel's insert_failed.
 * A new entry whose packet is dropped is never confirmed and simply vanishes
 * at the next process() call.
 *
 * Time is the capture clock in seconds. It never runs backwards: a packet
 * stamped earlier than one already processed is handled at the later time
 * (the kernel's jiffies are monotonic).
 *
 * Storage: entries are fixed-size records in one typed-array store
 * (entry.ts: CtStore), ~170 bytes each, reused through a free list; no
 * object per entry exists unless someone asks for it (CtEntry views). A
 * chained hash table (an Int32Array of bucket heads; the links live in the
 * records) holds the entries' two tuple nodes (one per direction, as the
 * kernel's tuplehash[]), keyed by a numeric hash of the tuple words; lookups
 * compare numbers and allocate nothing. Chains are kept newest entry first
 * and the bucket count doubles when entries pass half of it, so which expired
 * entries a lookup meets (and removes) does not depend on the storage.
 * Non-ASSURED entries are on a creation-ordered list for early drop; listing
 * and sweeping order entries by id (creation order).
 * The TCP tracker reads and writes the record by named offsets (tcp.ts says why).
 *
 * Memory: with nf_conntrack_max > 0 the table holds at most max records.
 * With max = 0 (no limit) and no event listener, the store sweeps expired
 * entries before it grows (as the kernel's gc worker would have reaped them),
 * so memory follows the live entries, not the length of the capture.
 *
 * Deliberate differences from the kernel:
 * - Early drop: the kernel scans up to 8 buckets from the new tuple's (random)
 *   hash and drops every non-ASSURED entry of the first bucket holding one.
 *   We drop the oldest non-ASSURED entry instead (deterministic). With the
 *   usual sizing (nf_conntrack_buckets close to nf_conntrack_max) the kernel
 *   nearly always finds a victim too; with a max far below the bucket count
 *   it mostly finds none and drops the new packet (seen on 6.18 with max=2
 *   and 262144 buckets: "table full" although an unreplied UDP entry existed).
 * - Garbage collection: the kernel's gc worker reaps expired entries in the
 *   background. Here an expired entry is removed when a lookup meets it, by
 *   expire()/entries(), and - when the table is full - by a sweep at most
 *   once per second of capture time (GC_SCAN_INTERVAL_MIN) before early
 *   drop is tried. The gc worker's own early drop at 95% fill is not modelled.
 * - Per-entry packet counters are 32-bit (bytes are exact doubles).
 * - NAT is nat.ts (its own differences are listed there). No helpers,
 *   expectations (so never RELATED by expectation), zones,
 *   marks, labels, timeouts policies or checksum verification.
 * - Per-protocol differences are at the top of each tracker's file.
 * - Fragments: the kernel reassembles before conntrack (nf_defrag); we track
 *   a first fragment by its headers and call non-first fragments invalid
 *   (code INVALID_PACKET) - the engine should give them the fate of their
 *   first fragment.
 */
import { IpProto, isPortProto, PacketKind, type DecodedPacket } from '../packet/types.js';
import {
  B_EV,
  B_FLAGS,
  B_L3,
  B_PROTO,
  B_TSTATE,
  CtEntry,
  CtEventBit,
  CtStore,
  CtTuple,
  F_BYTES_O,
  F_BYTES_R,
  F_CREATED_AT,
  F_CREATED_PKT,
  F_DEADLINE,
  F_ID,
  F_LAST_PKT,
  F_LAST_SEEN,
  H_STATUS,
  RecFlag,
  RuleIds,
  S16,
  S32,
  S64,
  STRIDE,
  W_DST0,
  W_EXT,
  W_HNEXT,
  W_NA_NEXT,
  W_NA_PREV,
  W_PKTS_O,
  W_PKTS_R,
  W_PORTS,
  W_SRC0,
  hasProtoState,
  hashTuple,
  invertTuple,
  replyPorts,
  type CtEvent,
} from './entry.js';
import { CtResult, newStats, type CtStats } from './result.js';
import { CtPacketCtx, CtVerdict, TIME_EPS, type CtVerdictValue } from './l4proto.js';
import { tcpPacket, TcpTracker } from './tcp.js';
import { udpError, udpPacket, udplitePacket } from './udp.js';
import { sctpError, sctpPacket } from './sctp.js';
import { icmpError, icmpPacket, icmpQuotedTuple, IcmpKind } from './icmp.js';
import { icmpWords } from '../packet/icmp-names.js';
import { grePacket, IPPROTO_GRE } from './gre.js';
import { genericPacket } from './generic.js';
import { NatCore } from './nat-core.js';
import type { NatRange } from './nat-types.js';
import {
  CT_NAT_MASK,
  CtCode,
  CtState,
  CtStatus,
  TcpState,
  DEFAULT_CONNTRACK_SETTINGS,
  ctStateName,
  TCP_STATE_NAMES,
  type ConntrackSettings,
  type CtCodeValue,
  type CtDestroyCause,
} from './types.js';

/** Fill the tuple's address words from the packet (outer header). */
function setAddrs(t: CtTuple, p: DecodedPacket): void {
  t.l3 = p.ipVersion;
  t.src0 = p.src0 >>> 0;
  t.src1 = p.src1 >>> 0;
  t.src2 = p.src2 >>> 0;
  t.src3 = p.src3 >>> 0;
  t.dst0 = p.dst0 >>> 0;
  t.dst1 = p.dst1 >>> 0;
  t.dst2 = p.dst2 >>> 0;
  t.dst3 = p.dst3 >>> 0;
}

/** First second of capture time at which a stale table gets swept again when full. */
const GC_INTERVAL = 1;

const INITIAL_SLOTS = 1024;
const INITIAL_BUCKETS = 1024;
const NONE = -1;

export class ConntrackTable {
  readonly settings: Readonly<ConntrackSettings>;
  readonly stats: CtStats = newStats();
  /**
   * conntrack -E style listener. Set it to receive [NEW] / [UPDATE] /
   * [DESTROY]; events cost nothing while it is null.
   */
  onEvent: ((ev: CtEvent) => void) | null = null;

  /** The records (entry.ts). */
  private readonly st: CtStore;
  /** Bucket heads: node (slot * 2 + dir) or NONE. */
  private buckets: Int32Array;
  private mask: number;
  /** Confirmed entries in the table. */
  private count = 0;
  /** Slots ever used (the rest of the store is untouched). */
  private used = 0;
  private freeHead = NONE;
  private naHead = NONE;
  private naTail = NONE;
  /** The CtEntry view of each slot that has one (made on demand). */
  private readonly views = new Map<number, CtEntry>();
  /** Re-pointed at whatever transientView() is asked for. */
  private readonly transient: CtEntry;
  private readonly key = new CtTuple();
  private readonly inv = new CtTuple();
  private readonly tmp = new CtTuple();
  private readonly res = new CtResult();
  /** What every tracker is handed (l4proto.ts). */
  private readonly ctx: CtPacketCtx;
  private clock = -Infinity;
  private nextId = 1;
  private lastGc = -Infinity;
  /** The slot of the unconfirmed entry made by the last process(), until confirmed or superseded. */
  private pending = NONE;
  private curPacket = 0;

  constructor(settings: Partial<ConntrackSettings> = {}) {
    this.settings = Object.freeze({ ...DEFAULT_CONNTRACK_SETTINGS, ...settings });
    // The store starts small and doubles as slots are used. (Reserving max + 2 records at once,
    // 44 MB at the default max, cost no memory, but V8 counts an ArrayBuffer's size as external
    // memory and answers each such allocation with a full garbage collection: a process that
    // makes many engines, a test run or `fwemu test DIR`, spent most of its time collecting.)
    this.st = new CtStore(INITIAL_SLOTS, new RuleIds());
    this.buckets = new Int32Array(INITIAL_BUCKETS).fill(NONE);
    this.mask = INITIAL_BUCKETS - 1;
    this.res.table = this;
    this.transient = new CtEntry(this.st, 0);
    this.ctx = new CtPacketCtx(this.st, this.settings, new TcpTracker(this.settings));
    this.natCore = new NatCore(
      this.st,
      (t) => this.find(t) !== NONE,
      () => this.clock,
      (slot) => this.tuplesChanged(slot),
    );
  }

  /** @internal NAT's state and search (nat-core.ts). */
  readonly natCore: NatCore;

  /** @internal The records, for nat.ts's per-packet accessors. */
  get natStore(): CtStore {
    return this.st;
  }

  /**
   * @internal nat.ts's natSetup (range given) and natNullBinding (null): for
   * r's new entry; true with nothing done when r has no entry of this table.
   */
  natSetupSlot(r: CtResult, manip: number, range: NatRange | null): boolean {
    const slot = this.slotOf(r);
    if (slot === NONE) return true;
    return range === null ? this.natCore.nullBinding(slot, manip) : this.natCore.setup(slot, manip, range);
  }

  /** Record `slot`'s reply tuple changed: views that cached it read it again. */
  private tuplesChanged(slot: number): void {
    this.views.get(slot)?.forgetTuples();
    if (this.transient.slot === slot) this.transient.forgetTuples();
  }

  /** Confirmed entries currently in the table (expired ones included until noticed). */
  get size(): number {
    return this.count;
  }

  // -------------------------------------------------------------------------
  // Phase 1: nf_conntrack_in

  /**
   * Track one packet at capture time `now` (seconds). Returns the shared
   * result object (overwritten by the next call).
   */
  process(p: DecodedPacket, now: number, packetNumber: number): CtResult {
    this.advanceClock(now);
    return this.track(p, packetNumber);
  }

  /**
   * Moves the table's clock to `now` (seconds; it never goes back). Tiny
   * on purpose: V8 inlines it into the caller, where a call that is not
   * inlined would box the double `now` for every packet.
   */
  advanceClock(now: number): void {
    if (now > this.clock) this.clock = now;
  }

  /** process() at the table's clock, set by advanceClock(): the per-packet entry, with no double argument. */
  track(p: DecodedPacket, packetNumber: number): CtResult {
    const r = this.res;
    r.clear(packetNumber);
    const now = this.clock;
    this.curPacket = packetNumber;
    this.ctx.now = now;
    if (this.pending !== NONE) {
      // Its packet was not accepted: never confirmed, it vanishes.
      const slot = this.pending;
      this.pending = NONE;
      this.freeSlot(slot);
      this.stats.discarded++;
    }

    if (p.kind !== PacketKind.IP) {
      if (p.kind === PacketKind.NON_IP) {
        return this.untracked(r, 'not an IP packet: IP connection tracking never sees it');
      }
      return this.invalid(r, CtCode.INVALID_PACKET, p.error !== '' ? p.error : 'undecodable packet', NONE);
    }
    if (p.fragOffset !== 0) {
      return this.invalid(
        r,
        CtCode.INVALID_PACKET,
        `non-first fragment (offset ${p.fragOffset}): the kernel reassembles fragments before conntrack; fwemu tracks the first fragment only`,
        NONE,
      );
    }

    const proto = p.proto;
    const key = this.key;
    setAddrs(key, p);
    key.proto = proto;
    key.sport = 0;
    key.dport = 0;

    if (isPortProto(proto)) {
      if (p.note !== '') {
        const err = proto === IpProto.SCTP ? sctpError(p.note) : udpError(proto, p.note);
        if (err !== '') return this.invalid(r, CtCode.INVALID_PACKET, err, NONE);
      }
      key.sport = p.sport;
      key.dport = p.dport;
    } else if (proto === IpProto.ICMP || proto === IpProto.ICMPV6) {
      // nf_conntrack_handle_icmp: errors, untracked types, bad types.
      const kind = icmpError(this.ctx, p);
      if (kind !== IcmpKind.QUERY) {
        if (kind === IcmpKind.ERROR) return this.inetError(r, p);
        if (kind === IcmpKind.UNTRACKED) return this.untracked(r, this.ctx.note);
        return this.invalid(
          r,
          kind === IcmpKind.MALFORMED ? CtCode.INVALID_PACKET : CtCode.INVALID_ICMP_ERROR,
          this.ctx.note,
          NONE,
        );
      }
      key.sport = p.icmpId;
      key.dport = (p.icmpType << 8) | p.icmpCode;
    }

    // resolve_normal_ct, with the -NF_REPEAT loop of nf_conntrack_in.
    let reopened = '';
    for (let attempt = 0; attempt < 4; attempt++) {
      let slot: number;
      let dir: number;
      const node = this.find(key);
      if (node === NONE) {
        slot = this.initConntrack(r, key, packetNumber);
        if (slot === NONE) return r;
        dir = 0;
      } else {
        slot = node >> 1;
        dir = node & 1;
      }
      const st = this.st;
      const isNew = (st.u16[slot * S16 + H_STATUS] & CtStatus.CONFIRMED) === 0;

      // nf_conntrack_handle_packet: every tracker has the signature of l4proto.ts.
      const c = this.ctx;
      let v: CtVerdictValue;
      switch (proto) {
        case IpProto.TCP:
          v = tcpPacket(c, slot, dir, isNew, p);
          break;
        case IpProto.UDP:
          v = udpPacket(c, slot, dir, isNew, p);
          break;
        case IpProto.UDPLITE:
          v = udplitePacket(c, slot, dir, isNew, p);
          break;
        case IpProto.SCTP:
          v = sctpPacket(c, slot, dir, isNew, p);
          break;
        case IpProto.ICMP:
        case IpProto.ICMPV6:
          v = icmpPacket(c, slot, dir, isNew, p);
          break;
        case IPPROTO_GRE:
          v = grePacket(c, slot, dir, isNew, p);
          break;
        default:
          v = genericPacket(c, slot, dir, isNew, p);
      }
      let note = c.note;
      if (v === CtVerdict.INVALID) return this.invalidFor(r, slot, isNew, note);
      if (v === CtVerdict.REPEAT) {
        reopened = TCP_STATE_NAMES[st.u8[slot * STRIDE + B_TSTATE]];
        this.kill(slot, 'reopen');
        this.stats.reopened++;
        continue;
      }
      const ignored = v === CtVerdict.IGNORE;
      if (v === CtVerdict.KILL) {
        // Deleted inside the tracker, before SEEN_REPLY is set (as the kernel's [DESTROY] shows);
        // the packet still gets the (now detached) entry.
        const view = this.view(slot);
        this.kill(slot, 'rst');
        this.finish(r, view.st, view.slot, dir, p, note, false);
        r.entryView = view;
        this.stats.rstKilled++;
        return r;
      }
      if (reopened !== '') note = `SYN reopens a connection in ${reopened}: old entry destroyed, new one ${note}`;
      this.finish(r, st, slot, dir, p, note, ignored);
      if (isNew) this.pending = slot;
      return r;
    }
    return this.invalid(r, CtCode.INVALID, 'connection could not be reopened', NONE);
  }

  /**
   * The packet gets the entry in record `slot` of `st` (the table's store, or
   * a detached copy): set the result, SEEN_REPLY, accounting.
   */
  private finish(
    r: CtResult,
    st: CtStore,
    slot: number,
    dir: number,
    p: DecodedPacket,
    note: string,
    ignored: boolean,
  ): void {
    const b16 = slot * S16;
    const b32 = slot * S32;
    const b64 = slot * S64;
    let status = st.u16[b16 + H_STATUS];
    if (dir === 1) {
      if (!(status & CtStatus.SEEN_REPLY)) {
        status |= CtStatus.SEEN_REPLY;
        st.u16[b16 + H_STATUS] = status;
        st.u8[slot * STRIDE + B_EV] |= CtEventBit.REPLY;
      }
      st.u32[b32 + W_PKTS_R]++;
      st.f64[b64 + F_BYTES_R] += p.ipTotalLen;
      r.state = CtState.ESTABLISHED;
    } else {
      st.u32[b32 + W_PKTS_O]++;
      st.f64[b64 + F_BYTES_O] += p.ipTotalLen;
      r.state = status & CtStatus.SEEN_REPLY ? CtState.ESTABLISHED : CtState.NEW;
    }
    if (st.u8[slot * STRIDE + B_FLAGS] & RecFlag.IN_NA && status & CtStatus.ASSURED) this.naUnlink(slot);
    st.f64[b64 + F_LAST_SEEN] = this.clock;
    st.f64[b64 + F_LAST_PKT] = this.curPacket;
    r.stateName = ctStateName(r.state);
    if (st === this.st) {
      r.entrySlot = slot;
      r.entryView = undefined;
    }
    r.reply = dir === 1;
    r.reason = note;
    if (ignored) {
      r.code = CtCode.IGNORED;
      this.stats.ignored++;
    } else {
      r.code = status & CtStatus.CONFIRMED ? CtCode.TRACKED : CtCode.NEW;
    }
  }

  /**
   * The protocol tracker called the packet INVALID: a new record made for it
   * is freed (never confirmed); a known entry stays, and the result is about it.
   */
  private invalidFor(r: CtResult, slot: number, isNew: boolean, reason: string): CtResult {
    if (isNew) {
      this.freeSlot(slot);
      return this.invalid(r, CtCode.INVALID_NEW, reason, NONE);
    }
    return this.invalid(r, CtCode.INVALID, reason, slot);
  }

  private invalid(r: CtResult, code: CtCodeValue, reason: string, aboutSlot: number): CtResult {
    r.state = CtState.INVALID;
    r.stateName = 'invalid';
    r.code = code;
    r.reason = reason;
    r.aboutSlot = aboutSlot;
    r.aboutView = aboutSlot === NONE ? null : undefined;
    r.entrySlot = NONE;
    r.entryView = null;
    this.stats.invalid++;
    return r;
  }

  private untracked(r: CtResult, reason: string): CtResult {
    r.state = CtState.UNTRACKED;
    r.stateName = 'untracked';
    r.code = CtCode.UNTRACKED;
    r.reason = reason;
    this.stats.untracked++;
    return r;
  }

  /**
   * init_conntrack(): a new, unconfirmed entry for `key`: its slot, or NONE
   * (with `r` filled) when none can be made.
   */
  private initConntrack(r: CtResult, key: CtTuple, packetNumber: number): number {
    if (!invertTuple(key, this.inv)) {
      const v6 = key.proto === IpProto.ICMPV6;
      this.invalid(
        r,
        CtCode.INVALID_NEW,
        `${icmpWords(v6 ? 6 : 4, key.dport >>> 8, 0)} has no reply type, so conntrack cannot track it (nf_conntrack_invert_icmp${v6 ? 'v6' : ''}_tuple)`,
        NONE,
      );
      return NONE;
    }
    // __nf_conntrack_alloc: a full table first tries to evict.
    const max = this.settings.max;
    if (max > 0 && this.count >= max && !this.earlyDrop()) {
      this.stats.tableFull++;
      this.invalid(
        r,
        CtCode.TABLE_FULL,
        `nf_conntrack: table full, dropping packet (${this.count} of ${max} entries, none can be early-dropped: all are ASSURED)`,
        NONE,
      );
      r.drop = true;
      return NONE;
    }
    const used = this.used;
    const slot = this.allocSlot();
    const st = this.st;
    const b8 = slot * STRIDE;
    const b32 = slot * S32;
    const b64 = slot * S64;
    if (slot < used) st.u8.fill(0, b8, b8 + STRIDE); // a never-used slot is still all zero
    st.u8[b8 + B_L3] = key.l3;
    st.u8[b8 + B_PROTO] = key.proto;
    st.u32[b32 + W_SRC0] = key.src0;
    st.u32[b32 + W_DST0] = key.dst0;
    st.u32[b32 + W_PORTS] = ((key.sport << 16) | key.dport) >>> 0;
    if (key.l3 === 6) {
      const ext = st.allocExt();
      st.u32[b32 + W_EXT] = ext;
      const x = st.ext,
        e = (ext - 1) * 6;
      x[e] = key.src1;
      x[e + 1] = key.src2;
      x[e + 2] = key.src3;
      x[e + 3] = key.dst1;
      x[e + 4] = key.dst2;
      x[e + 5] = key.dst3;
    }
    st.i32[b32 + W_HNEXT] = NONE;
    st.i32[b32 + W_HNEXT + 1] = NONE;
    st.i32[b32 + W_NA_PREV] = NONE;
    st.i32[b32 + W_NA_NEXT] = NONE;
    st.f64[b64 + F_ID] = this.nextId++;
    st.f64[b64 + F_CREATED_AT] = this.clock;
    st.f64[b64 + F_CREATED_PKT] = packetNumber;
    return slot;
  }

  // -------------------------------------------------------------------------
  // Protocol trackers other than TCP

  /**
   * nf_conntrack_inet_error(): is this ICMP error about one of our
   * connections? The quoted packet is one we forwarded: its own tuple,
   * inverted, is the tuple the error travels on.
   */
  private inetError(r: CtResult, p: DecodedPacket): CtResult {
    const q = this.inv;
    if (!icmpQuotedTuple(this.ctx, p, q)) return this.invalid(r, CtCode.INVALID_ICMP_ERROR, this.ctx.note, NONE);
    const key = this.key;
    if (!invertTuple(q, key)) {
      return this.invalid(
        r,
        CtCode.INVALID_ICMP_ERROR,
        `${icmpWords(p.ipVersion, p.icmpType, p.icmpCode)}, an error, is about an ${icmpWords(q.proto === IpProto.ICMPV6 ? 6 : 4, q.dport >>> 8, 0)} packet, which conntrack never tracks`,
        NONE,
      );
    }
    const node = this.find(key);
    if (node === NONE) {
      return this.invalid(
        r,
        CtCode.INVALID_ICMP_ERROR,
        `${icmpWords(p.ipVersion, p.icmpType, p.icmpCode)}, an error, quotes a packet of no known connection`,
        NONE,
      );
    }
    const slot = node >> 1;
    const t = this.st.loadTuple(slot, node & 1, this.tmp);
    if (t.dst0 !== p.dst0 >>> 0 || t.dst1 !== p.dst1 >>> 0 || t.dst2 !== p.dst2 >>> 0 || t.dst3 !== p.dst3 >>> 0) {
      return this.invalid(
        r,
        CtCode.INVALID_ICMP_ERROR,
        `${icmpWords(p.ipVersion, p.icmpType, p.icmpCode)}, an error, is sent to an address other than the quoted connection's endpoint (outer daddr != inner)`,
        slot,
      );
    }
    r.state = CtState.RELATED;
    r.stateName = 'related';
    r.code = CtCode.RELATED;
    r.entrySlot = slot;
    r.entryView = undefined;
    r.isRelated = true;
    r.reply = (node & 1) === 1;
    r.reason = p.ipVersion === 4 ? 'icmp error about a known connection' : 'icmpv6 error about a known connection';
    this.stats.related++;
    return r;
  }

  // -------------------------------------------------------------------------
  // Phase 2: nf_conntrack_confirm

  /**
   * The filter accepted the packet of `r`: a new entry enters the table
   * ([NEW] event); for a known entry, events cached by process() are
   * delivered as one [UPDATE]. Call it for every accepted packet. Returns
   * true when a new entry was inserted.
   */
  confirm(r: CtResult): boolean {
    const slot = this.slotOf(r);
    if (slot === NONE) return false;
    const st = this.st;
    const hs = slot * S16 + H_STATUS;
    const status = st.u16[hs];
    if (status & CtStatus.DYING) return false;
    const bev = slot * STRIDE + B_EV;
    if (!(status & CtStatus.CONFIRMED)) {
      if (slot !== this.pending) return false; // stale result: that packet's entry was already discarded
      this.pending = NONE;
      if (status & CT_NAT_MASK && this.find(st.loadTuple(slot, 1, this.tmp)) !== NONE) {
        // __nf_conntrack_confirm: NAT gave a reply tuple another entry holds (no free port was
        // found). The kernel drops the packet (insert_failed); the entry never exists.
        this.freeSlot(slot);
        this.stats.insertFailed++;
        r.drop = true;
        return false;
      }
      st.u16[hs] = status | CtStatus.CONFIRMED;
      this.insert(slot);
      this.stats.inserted++;
      st.u8[bev] = 0;
      if (this.onEvent !== null) this.emit('NEW', slot, this.clock, this.st.secondsLeft(slot, this.clock), undefined);
      return true;
    }
    const bits = st.u8[bev];
    if (bits !== 0) {
      st.u8[bev] = 0;
      if (this.onEvent !== null) {
        // ctnetlink puts the TCP state in an update only when it changed (IPCT_PROTOINFO).
        const tracked = hasProtoState(st.u8[slot * STRIDE + B_PROTO]);
        const state = tracked && bits & CtEventBit.PROTOINFO ? st.u8[slot * STRIDE + B_TSTATE] : -1;
        this.emit('UPDATE', slot, this.clock, this.st.secondsLeft(slot, this.clock), undefined, state);
      }
    }
    return false;
  }

  /** The table slot of r's entry, or NONE (no entry, or one no longer in this table's store). */
  private slotOf(r: CtResult): number {
    const e = r.entryView;
    if (e === undefined) return r.entrySlot;
    if (e === null || e.st !== this.st) return NONE;
    return e.slot;
  }

  /**
   * Record the packet and rule that let the flow of `r` in (what the engine
   * notes after a successful confirm(); as setting entry.openedBy, without
   * making the entry object).
   */
  setOpenedBy(r: CtResult, packet: number, ruleId: string | null): void {
    const slot = this.slotOf(r);
    if (slot === NONE) {
      const e = r.entry;
      if (e !== null) e.openedBy = { packet, ruleId };
      return;
    }
    this.st.setOpenedBy(slot, packet, ruleId);
  }

  /**
   * nf_ct_set_closing(): the filter answered r's packet with a TCP reset
   * (nf_send_reset, Linux 6.4+): a confirmed TCP entry goes to CLOSE with
   * the close timeout (nf_conntrack_tcp_set_closing; nothing for an
   * unconfirmed entry, another protocol, or one already in CLOSE).
   */
  setClosing(r: CtResult): void {
    const slot = this.slotOf(r);
    if (slot === NONE) return;
    const st = this.st;
    const b8 = slot * STRIDE;
    if (!(st.u16[slot * S16 + H_STATUS] & CtStatus.CONFIRMED) || st.u8[b8 + B_PROTO] !== IpProto.TCP) return;
    const old = st.u8[b8 + B_TSTATE];
    st.u8[b8 + B_TSTATE] = TcpState.CLOSE;
    if (old === TcpState.CLOSE) return;
    st.f64[slot * S64 + F_DEADLINE] = this.clock + this.settings.tcp_timeout_close;
    st.u8[b8 + B_EV] |= CtEventBit.PROTOINFO;
  }

  /** The IPS_* status bits of r's entry (ct status), 0 without one; no allocation. */
  statusOf(r: CtResult): number {
    const e = r.entryView;
    // An entry the packet itself deleted (a RST) is still the packet's: its status as it was (the kernel's
    // skb keeps its ct until the packet is done, so `ct status dnat` still matches that RST).
    if (e !== undefined && e !== null && e.st !== this.st) return e.st.u16[e.slot * S16 + H_STATUS];
    const slot = this.slotOf(r);
    if (slot === NONE) return 0;
    return this.st.u16[slot * S16 + H_STATUS];
  }

  /** The id of the rule that opened r's entry (its `related` one for RELATED), null if none; no allocation. */
  openedRuleId(r: CtResult): string | null {
    const slot = this.slotOf(r);
    if (slot === NONE) return r.entry?.openedRuleId ?? null;
    return this.st.openedRuleId(slot);
  }

  // -------------------------------------------------------------------------
  // Listing and expiry

  /** Remove every entry whose deadline has passed at `now`. Returns how many. */
  expire(now: number): number {
    if (now > this.clock) this.clock = now;
    now = this.clock;
    const st = this.st;
    const dead: number[] = [];
    for (let slot = 0; slot < this.used; slot++) {
      if (st.isListed(slot) && st.f64[slot * S64 + F_DEADLINE] - now <= TIME_EPS) dead.push(slot);
    }
    // In creation order, as the entries were listed.
    this.byId(dead);
    for (const slot of dead) this.expireSlot(slot);
    this.lastGc = now;
    return dead.length;
  }

  /** Live entries at `now`, in creation order (expired ones are removed first). */
  entries(now: number): CtEntry[] {
    this.expire(now);
    return this.byId(this.confirmedSlots()).map((slot) => this.view(slot));
  }

  /** Remove all entries (conntrack -F), with [DESTROY] events. */
  flush(now: number = this.clock): void {
    if (now > this.clock) this.clock = now;
    for (const slot of this.byId(this.confirmedSlots())) this.kill(slot, 'flush');
  }

  /** The live entry with this tuple in either direction, if any (no side effects). */
  lookup(t: CtTuple, now: number = this.clock): CtEntry | null {
    const st = this.st;
    let n = this.buckets[hashTuple(t) & this.mask];
    while (n !== NONE) {
      const slot = n >> 1;
      if (st.f64[slot * S64 + F_DEADLINE] - now > TIME_EPS && this.matches(n, t)) return this.view(slot);
      n = st.i32[slot * S32 + W_HNEXT + (n & 1)];
    }
    return null;
  }

  private confirmedSlots(): number[] {
    const out: number[] = [];
    for (let slot = 0; slot < this.used; slot++) if (this.st.isListed(slot)) out.push(slot);
    return out;
  }

  /** Sorts slots by entry id (creation order), in place. */
  private byId(slots: number[]): number[] {
    if (slots.length > 1) {
      const f64 = this.st.f64;
      slots.sort((a, b) => f64[a * S64 + F_ID] - f64[b * S64 + F_ID]);
    }
    return slots;
  }

  // -------------------------------------------------------------------------
  // Views

  /** The CtEntry of a slot, made on first use and the same object until the entry leaves the table. */
  private view(slot: number): CtEntry {
    let v = this.views.get(slot);
    if (v === undefined) {
      v = new CtEntry(this.st, slot);
      this.views.set(slot, v);
    }
    return v;
  }

  /**
   * @internal The lasting view of `slot` if it has one, else one shared
   * view pointed at it, good until the next process(); null for NONE.
   */
  transientView(slot: number): CtEntry | null {
    if (slot === NONE) return null;
    const v = this.views.get(slot);
    if (v !== undefined) return v;
    const t = this.transient;
    t.at(this.st, slot);
    t.forgetTuples();
    return t;
  }

  /** @internal view(), or null for NONE. */
  viewOf(slot: number): CtEntry | null {
    return slot === NONE ? null : this.view(slot);
  }

  // -------------------------------------------------------------------------
  // Records

  private allocSlot(): number {
    if (this.freeHead === NONE && this.used === this.st.capacity) this.makeRoom();
    const st = this.st;
    let slot = this.freeHead;
    if (slot !== NONE) {
      this.freeHead = st.i32[slot * S32 + W_NA_NEXT];
    } else {
      slot = this.used++;
    }
    return slot;
  }

  /** The store is full: sweep expired entries if that is invisible and frees enough, else grow. */
  private makeRoom(): void {
    const st = this.st;
    if (this.settings.max === 0 && this.onEvent === null && this.count > 0) {
      // Nothing tells when an expired entry is reaped (no listener, no limit to make room under).
      const freed = this.expire(this.clock);
      if (freed * 4 >= st.capacity && this.freeHead !== NONE) return;
    }
    if (this.freeHead !== NONE) return;
    // With a limit the table never holds more than max records (+1 pending): no more room than that.
    const max = this.settings.max;
    const capacity = max > 0 && st.capacity < max + 2 ? Math.min(st.capacity * 2, max + 2) : st.capacity * 2;
    st.grow(capacity);
  }

  /**
   * The record leaves the store: views of it (and the current result's
   * references to it) are detached onto a copy, then the slot is free.
   */
  private freeSlot(slot: number): void {
    const st = this.st;
    const r = this.res;
    if (r.entryView === undefined && r.entrySlot === slot) r.entryView = this.view(slot);
    if (r.aboutView === undefined && r.aboutSlot === slot) r.aboutView = this.view(slot);
    if (this.views.size !== 0) {
      const v = this.views.get(slot);
      if (v !== undefined) {
        v.at(st.copyOf(slot), 0);
        this.views.delete(slot);
      }
    }
    const b32 = slot * S32;
    const status = st.u16[slot * S16 + H_STATUS];
    if (status & CtStatus.SRC_NAT_DONE) this.natCore.bySourceRemove(slot);
    if (status & CT_NAT_MASK) st.freeNat(slot);
    st.freeExt(st.u32[b32 + W_EXT]);
    st.u32[b32 + W_EXT] = 0;
    st.openedOther.delete(slot);
    st.u16[slot * S16 + H_STATUS] = 0;
    st.u8[slot * STRIDE + B_FLAGS] = 0;
    st.i32[b32 + W_NA_NEXT] = this.freeHead;
    this.freeHead = slot;
  }

  // -------------------------------------------------------------------------
  // Hash table

  /** Does node `n` (slot * 2 + dir) carry tuple `t`? */
  private matches(n: number, t: CtTuple): boolean {
    const st = this.st;
    const slot = n >> 1;
    const b8 = slot * STRIDE;
    const proto = st.u8[b8 + B_PROTO];
    if (proto !== t.proto || st.u8[b8 + B_L3] !== t.l3) return false;
    const b32 = slot * S32;
    const s0 = st.u32[b32 + W_SRC0];
    const d0 = st.u32[b32 + W_DST0];
    const ports = st.u32[b32 + W_PORTS];
    const tports = ((t.sport << 16) | t.dport) >>> 0;
    const reply = (n & 1) === 1;
    if (reply) {
      // A NATed entry's reply tuple is stored, not the inverted original (nat.ts).
      if (st.u16[slot * S16 + H_STATUS] & CT_NAT_MASK) return st.natReplyIs(slot, t);
      if (d0 !== t.src0 || s0 !== t.dst0 || replyPorts(ports, proto) !== tports) return false;
    } else if (s0 !== t.src0 || d0 !== t.dst0 || ports !== tports) {
      return false;
    }
    const ext = st.u32[b32 + W_EXT];
    if (ext === 0) return t.src1 === 0 && t.src2 === 0 && t.src3 === 0 && t.dst1 === 0 && t.dst2 === 0 && t.dst3 === 0;
    const x = st.ext,
      e = (ext - 1) * 6;
    const s = reply ? e + 3 : e;
    const d = reply ? e : e + 3;
    return (
      x[s] === t.src1 &&
      x[s + 1] === t.src2 &&
      x[s + 2] === t.src3 &&
      x[d] === t.dst1 &&
      x[d + 1] === t.dst2 &&
      x[d + 2] === t.dst3
    );
  }

  /** Find the node for `t`; expired entries met on the way are removed. */
  private find(t: CtTuple): number {
    const now = this.clock;
    const idx = hashTuple(t) & this.mask;
    let n = this.buckets[idx];
    while (n !== NONE) {
      const st = this.st;
      const slot = n >> 1;
      if (st.f64[slot * S64 + F_DEADLINE] - now <= TIME_EPS) {
        this.expireSlot(slot);
        n = this.buckets[idx]; // the chain changed: rescan
        continue;
      }
      if (this.matches(n, t)) return n;
      n = st.i32[slot * S32 + W_HNEXT + (n & 1)];
    }
    return NONE;
  }

  private insert(slot: number): void {
    if ((this.count + 1) * 2 > this.buckets.length) this.growBuckets(slot);
    const st = this.st;
    const b32 = slot * S32;
    for (let dir = 0; dir < 2; dir++) {
      const idx = hashTuple(st.loadTuple(slot, dir, this.tmp)) & this.mask;
      st.i32[b32 + W_HNEXT + dir] = this.buckets[idx];
      this.buckets[idx] = slot * 2 + dir;
    }
    this.count++;
    // creation-ordered list of the entries not (yet) ASSURED
    if (!(st.u16[slot * S16 + H_STATUS] & CtStatus.ASSURED)) {
      st.i32[b32 + W_NA_PREV] = this.naTail;
      st.i32[b32 + W_NA_NEXT] = NONE;
      if (this.naTail !== NONE) st.i32[this.naTail * S32 + W_NA_NEXT] = slot;
      else this.naHead = slot;
      this.naTail = slot;
      st.u8[slot * STRIDE + B_FLAGS] |= RecFlag.IN_NA;
    }
  }

  /**
   * Twice the buckets. Every chain stays ordered newest entry first (reply
   * node before original node), the order insertion at the head gives.
   * `adding` (being inserted) is left out.
   */
  private growBuckets(adding: number): void {
    const size = this.buckets.length * 2;
    const buckets = new Int32Array(size).fill(NONE);
    const mask = size - 1;
    const st = this.st;
    const f64 = st.f64;
    const i32 = st.i32;
    for (let slot = 0; slot < this.used; slot++) {
      if (!st.isListed(slot) || slot === adding) continue;
      const key = f64[slot * S64 + F_ID] * 2;
      for (let dir = 0; dir < 2; dir++) {
        const idx = hashTuple(st.loadTuple(slot, dir, this.tmp)) & mask;
        const node = slot * 2 + dir;
        const mine = key + dir;
        let prev = NONE;
        let cur = buckets[idx];
        while (cur !== NONE && f64[(cur >> 1) * S64 + F_ID] * 2 + (cur & 1) > mine) {
          prev = cur;
          cur = i32[(cur >> 1) * S32 + W_HNEXT + (cur & 1)];
        }
        i32[slot * S32 + W_HNEXT + dir] = cur;
        if (prev === NONE) buckets[idx] = node;
        else i32[(prev >> 1) * S32 + W_HNEXT + (prev & 1)] = node;
      }
    }
    this.buckets = buckets;
    this.mask = mask;
  }

  private unlinkNode(slot: number, dir: number): void {
    const st = this.st;
    const i32 = st.i32;
    const idx = hashTuple(st.loadTuple(slot, dir, this.tmp)) & this.mask;
    const node = slot * 2 + dir;
    const next = i32[slot * S32 + W_HNEXT + dir];
    let cur = this.buckets[idx];
    if (cur === node) {
      this.buckets[idx] = next;
    } else {
      while (cur !== NONE) {
        const at = (cur >> 1) * S32 + W_HNEXT + (cur & 1);
        if (i32[at] === node) {
          i32[at] = next;
          break;
        }
        cur = i32[at];
      }
    }
    i32[slot * S32 + W_HNEXT + dir] = NONE;
  }

  private naUnlink(slot: number): void {
    const i32 = this.st.i32;
    const b32 = slot * S32;
    const prev = i32[b32 + W_NA_PREV];
    const next = i32[b32 + W_NA_NEXT];
    if (prev !== NONE) i32[prev * S32 + W_NA_NEXT] = next;
    else this.naHead = next;
    if (next !== NONE) i32[next * S32 + W_NA_PREV] = prev;
    else this.naTail = prev;
    i32[b32 + W_NA_PREV] = NONE;
    i32[b32 + W_NA_NEXT] = NONE;
    this.st.u8[slot * STRIDE + B_FLAGS] &= ~RecFlag.IN_NA;
  }

  /** Take an entry out of the table (DYING); its record stays until freeSlot(). */
  private remove(slot: number): void {
    const st = this.st;
    const hs = slot * S16 + H_STATUS;
    st.u16[hs] |= CtStatus.DYING;
    if (!(st.u16[hs] & CtStatus.CONFIRMED)) return;
    this.unlinkNode(slot, 0);
    this.unlinkNode(slot, 1);
    if (st.u8[slot * STRIDE + B_FLAGS] & RecFlag.IN_NA) this.naUnlink(slot);
    this.count--;
  }

  private expireSlot(slot: number): void {
    this.remove(slot);
    this.stats.expired++;
    // conntrack -E prints no timeout for an entry that died of old age.
    if (this.onEvent !== null) this.emit('DESTROY', slot, this.st.f64[slot * S64 + F_DEADLINE], -1, 'expired');
    this.freeSlot(slot);
  }

  /** nf_ct_kill / nf_ct_delete: remove now, [DESTROY] with the seconds that were left. */
  private kill(slot: number, cause: CtDestroyCause): void {
    const now = this.clock;
    const wasConfirmed = (this.st.u16[slot * S16 + H_STATUS] & CtStatus.CONFIRMED) !== 0;
    this.remove(slot);
    if (wasConfirmed && this.onEvent !== null) {
      const left = this.st.secondsLeft(slot, now);
      this.emit('DESTROY', slot, now, left > 0 ? left : -1, cause);
    }
    if (slot === this.pending) this.pending = NONE;
    this.freeSlot(slot);
  }

  /**
   * early_drop(): make room for one entry. Returns false when nothing could
   * be evicted (every entry is ASSURED).
   */
  private earlyDrop(): boolean {
    const now = this.clock;
    const max = this.settings.max;
    // What the gc worker would have reaped by now.
    if (now - this.lastGc >= GC_INTERVAL) {
      this.expire(now);
      if (this.count < max) return true;
    }
    const st = this.st;
    for (let slot = this.naHead; slot !== NONE; ) {
      const next = st.i32[slot * S32 + W_NA_NEXT];
      if (st.f64[slot * S64 + F_DEADLINE] - now <= TIME_EPS) {
        this.expireSlot(slot);
        if (this.count < max) return true;
      } else {
        this.kill(slot, 'early-drop');
        this.stats.earlyDrop++;
        return true;
      }
      slot = next;
    }
    return false;
  }

  private emit(
    type: 'NEW' | 'UPDATE' | 'DESTROY',
    slot: number,
    time: number,
    timeout: number,
    cause: CtDestroyCause | undefined,
    protoState?: number,
  ): void {
    const st = this.st;
    const tracked = hasProtoState(st.u8[slot * STRIDE + B_PROTO]);
    const ev: CtEvent = {
      type,
      entry: this.view(slot),
      packet: this.curPacket,
      time,
      protoState: protoState ?? (tracked ? st.u8[slot * STRIDE + B_TSTATE] : -1),
      status: st.u16[slot * S16 + H_STATUS],
      timeout,
    };
    if (cause !== undefined) ev.cause = cause;
    this.onEvent!(ev);
  }
}
