/**
 * The conntrack table: lookup, creation, confirmation, expiry, early drop and
 * events, after net/netfilter/nf_conntrack_core.c (nf_conntrack_in,
 * resolve_normal_ct, init_conntrack, __nf_conntrack_confirm, early_drop),
 * plus the UDP, ICMP/ICMPv6 and generic trackers
 * (nf_conntrack_proto_udp.c, nf_conntrack_proto_icmp.c,
 * nf_conntrack_proto_icmpv6.c, generic_packet).
 *
 * Two phases, as in the kernel:
 *   process(pkt, now, n)  - nf_conntrack_in at PREROUTING/OUTPUT: finds or
 *                           creates the entry and runs the protocol tracker.
 *                           Changes to EXISTING entries happen here and stand
 *                           whatever the filter decides.
 *   confirm(r)            - nf_conntrack_confirm at POSTROUTING/INPUT, for a
 *                           packet the filter accepted: a new entry enters the
 *                           table; cached [UPDATE] events are delivered.
 * A new entry whose packet is dropped is never confirmed and simply vanishes
 * at the next process() call.
 *
 * Time is the capture clock in seconds. It never runs backwards: a packet
 * stamped earlier than one already processed is handled at the later time
 * (the kernel's jiffies are monotonic).
 *
 * Storage: a chained hash table of the entries' two tuple nodes (one per
 * direction, as the kernel's tuplehash[]), keyed by a numeric hash of the
 * tuple words; lookups compare numbers and allocate nothing. Entries are also
 * kept on two creation-ordered lists (all / not ASSURED) for listing and early
 * drop. The CtEntry objects could later move into typed arrays behind the
 * same methods.
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
 * - No NAT, helpers, expectations (so never RELATED by expectation), zones,
 *   marks, labels, timeouts policies or checksum verification.
 * - SCTP and UDP-Lite use the generic tracker (no ports, 600 s); GRE uses
 *   its own timeouts but keys are always 0 (PPTP call ids are not read).
 * - Fragments: the kernel reassembles before conntrack (nf_defrag); we track
 *   a first fragment by its headers and call non-first fragments invalid
 *   (code INVALID_PACKET) - the engine should give them the fate of their
 *   first fragment.
 * - ICMPv6 redirects are never related (the decoder does not read the
 *   redirected header they carry); the kernel relates a well-formed one.
 * - The code of a quoted inner ICMP echo is taken as 0 (the decoder does not
 *   report it); ICMP timestamp/info/address ids are taken from icmpId.
 */
import { IpProto, PacketKind, type DecodedPacket } from '../packet/types.js';
import { CtEntry, CtEventBit, CtNode, CtTuple, hashTuple, newTcpCt, type CtEvent } from './entry.js';
import { TcpAction, TcpTracker } from './tcp.js';
import {
  CtCode, CtState, CtStatus, DEFAULT_CONNTRACK_SETTINGS, GRE_TIMEOUT, GRE_TIMEOUT_STREAM,
  ctStateName, type ConntrackSettings, type CtCodeValue, type CtDestroyCause, type CtStateName,
  type CtStateValue,
} from './types.js';

/** Outcome of process(). The table reuses one instance: copy what you keep. */
export class CtResult {
  /** nft `ct state` bit (CtState). */
  state: CtStateValue = CtState.INVALID;
  /** Its name: 'new' | 'established' | 'related' | 'invalid' | 'untracked'. */
  stateName: CtStateName = 'invalid';
  /** Machine-readable reason (CtCode). */
  code: CtCodeValue = CtCode.OK;
  /**
   * The entry the packet belongs to: a fresh unconfirmed one for a new flow,
   * the known one otherwise (for 'related': the entry the error is about).
   * null for 'invalid' and 'untracked' (nft sees no conntrack then).
   */
  entry: CtEntry | null = null;
  /** The packet travels in the entry's reply direction. */
  reply = false;
  /** For 'invalid': why, as a sentence. Otherwise a short note (may be ''). */
  reason = '';
  /** For ICMP errors: the entry the error is about (same as entry). */
  related: CtEntry | null = null;
  /** For 'invalid': the entry the packet would have belonged to, if one exists. */
  about: CtEntry | null = null;
  /**
   * conntrack itself drops the packet (NF_DROP) before any rule sees it:
   * the table is full and nothing could be early-dropped.
   */
  drop = false;
  /** Packet number this result is for. */
  packet = 0;
}

/** Counters, in the spirit of `conntrack -S`. */
export interface CtStats {
  /** Entries confirmed into the table. */
  inserted: number;
  /** Unconfirmed new entries thrown away because their packet was not accepted. */
  discarded: number;
  /** Packets judged invalid. */
  invalid: number;
  /** Packets let through without updating their entry (TCP ignore cases). */
  ignored: number;
  /** ICMP errors related to an entry. */
  related: number;
  /** Packets not tracked on purpose (ICMPv6 ND/MLD) or not IP. */
  untracked: number;
  /** Entries evicted to make room. */
  earlyDrop: number;
  /** New flows dropped because the table was full and nothing could be evicted. */
  tableFull: number;
  /** Entries removed because their deadline passed. */
  expired: number;
  /** TIME_WAIT/CLOSE entries replaced by a new connection (SYN reopen). */
  reopened: number;
  /** Entries deleted by an RST while unreplied. */
  rstKilled: number;
}

function newStats(): CtStats {
  return {
    inserted: 0, discarded: 0, invalid: 0, ignored: 0, related: 0, untracked: 0,
    earlyDrop: 0, tableFull: 0, expired: 0, reopened: 0, rstKilled: 0,
  };
}

// ICMP (nf_conntrack_proto_icmp.c): reply type + 1 for the types with a reply (invmap).
const ICMP_INVMAP = new Uint8Array(256);
ICMP_INVMAP[8] = 0 + 1; ICMP_INVMAP[0] = 8 + 1;
ICMP_INVMAP[13] = 14 + 1; ICMP_INVMAP[14] = 13 + 1;
ICMP_INVMAP[15] = 16 + 1; ICMP_INVMAP[16] = 15 + 1;
ICMP_INVMAP[17] = 18 + 1; ICMP_INVMAP[18] = 17 + 1;
/** Types that may create an entry (valid_new in nf_conntrack_icmp_packet). */
const ICMP_VALID_NEW = new Uint8Array(256);
ICMP_VALID_NEW[8] = 1; ICMP_VALID_NEW[13] = 1; ICMP_VALID_NEW[15] = 1; ICMP_VALID_NEW[17] = 1;
/** NR_ICMP_TYPES */
const NR_ICMP_TYPES = 18;
// ICMPv6 (nf_conntrack_proto_icmpv6.c)
const ICMP6_INVMAP = new Uint8Array(256);
ICMP6_INVMAP[128] = 129 + 1; ICMP6_INVMAP[129] = 128 + 1;
ICMP6_INVMAP[139] = 140 + 1; ICMP6_INVMAP[140] = 139 + 1;
const ICMP6_VALID_NEW = new Uint8Array(256);
ICMP6_VALID_NEW[128] = 1; ICMP6_VALID_NEW[139] = 1;
/** noct_valid_new: neighbour discovery and MLD are never tracked. */
const ICMP6_NOCT = new Uint8Array(256);
for (const t of [130, 131, 132, 133, 134, 135, 136, 143, 151, 152]) ICMP6_NOCT[t] = 1;

function isIcmpV4Error(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

/** Fill the tuple's address words from the packet (outer header). */
function setAddrs(t: CtTuple, p: DecodedPacket): void {
  t.l3 = p.ipVersion;
  t.src0 = p.src0 >>> 0; t.src1 = p.src1 >>> 0; t.src2 = p.src2 >>> 0; t.src3 = p.src3 >>> 0;
  t.dst0 = p.dst0 >>> 0; t.dst1 = p.dst1 >>> 0; t.dst2 = p.dst2 >>> 0; t.dst3 = p.dst3 >>> 0;
}

/**
 * nf_ct_invert_tuple(): the reply tuple of `t` into `out`. False when there
 * is none (ICMP types without a reply type).
 */
function invertTuple(t: CtTuple, out: CtTuple): boolean {
  out.l3 = t.l3; out.proto = t.proto;
  out.src0 = t.dst0; out.src1 = t.dst1; out.src2 = t.dst2; out.src3 = t.dst3;
  out.dst0 = t.src0; out.dst1 = t.src1; out.dst2 = t.src2; out.dst3 = t.src3;
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

const NOTE_UDP_UNREPLIED = 'UDP, no reply seen yet';
const NOTE_UDP_FIRST_REPLY = 'UDP, first reply';
const NOTE_UDP_REPLIED = 'UDP, reply seen';
const NOTE_UDP_STREAM = 'UDP stream: seen both ways and older than 2 s (assured, stream timeout)';
const NOTE_ICMP = 'ICMP query/reply';
const NOTE_GENERIC = 'generic protocol tracker';
const NOTE_GRE = 'GRE, no reply seen yet';
const NOTE_GRE_REPLIED = 'GRE, seen both ways (assured)';
const IPPROTO_GRE = 47;

/**
 * Times are seconds as doubles (~0.2 us resolution at today's epoch); they are
 * compared to the microsecond so that float rounding cannot move a deadline
 * across a packet stamped exactly on it. (The kernel counts in jiffies.)
 */
export const TIME_EPS = 1e-6;

/** First second of capture time at which a stale table gets swept again when full. */
const GC_INTERVAL = 1;

export class ConntrackTable {
  readonly settings: Readonly<ConntrackSettings>;
  readonly stats: CtStats = newStats();
  /**
   * conntrack -E style listener. Set it to receive [NEW] / [UPDATE] /
   * [DESTROY]; events cost nothing while it is null.
   */
  onEvent: ((ev: CtEvent) => void) | null = null;

  private buckets: (CtNode | null)[];
  private mask: number;
  private count = 0;
  private allHead: CtEntry | null = null;
  private allTail: CtEntry | null = null;
  private naHead: CtEntry | null = null;
  private naTail: CtEntry | null = null;
  private readonly key = new CtTuple();
  private readonly inv = new CtTuple();
  private readonly res = new CtResult();
  private readonly tcp: TcpTracker;
  private clock = -Infinity;
  private nextId = 1;
  private lastGc = -Infinity;
  /** The unconfirmed entry made by the last process(), until confirmed or superseded. */
  private pending: CtEntry | null = null;
  private curPacket = 0;

  constructor(settings: Partial<ConntrackSettings> = {}) {
    this.settings = Object.freeze({ ...DEFAULT_CONNTRACK_SETTINGS, ...settings });
    this.tcp = new TcpTracker(this.settings);
    this.buckets = new Array(1024).fill(null);
    this.mask = 1023;
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
    const r = this.res;
    r.state = CtState.INVALID; r.stateName = 'invalid'; r.code = CtCode.OK;
    r.entry = null; r.reply = false; r.reason = ''; r.related = null; r.about = null;
    r.drop = false; r.packet = packetNumber;
    if (now > this.clock) this.clock = now;
    now = this.clock;
    this.curPacket = packetNumber;
    this.tcp.now = now;
    if (this.pending !== null) {
      // Its packet was not accepted: never confirmed, it vanishes.
      this.pending = null;
      this.stats.discarded++;
    }

    if (p.kind !== PacketKind.IP) {
      if (p.kind === PacketKind.NON_IP) {
        return this.untracked(r, 'not an IP packet: IP connection tracking never sees it');
      }
      return this.invalid(r, CtCode.INVALID_PACKET, p.error !== '' ? p.error : 'undecodable packet', null);
    }
    if (p.fragOffset !== 0) {
      return this.invalid(r, CtCode.INVALID_PACKET,
        `non-first fragment (offset ${p.fragOffset}): the kernel reassembles fragments before conntrack; fwemu tracks the first fragment only`, null);
    }

    const proto = p.proto;
    const key = this.key;
    setAddrs(key, p);
    key.proto = proto;
    key.sport = 0;
    key.dport = 0;

    if (proto === IpProto.TCP || proto === IpProto.UDP) {
      key.sport = p.sport;
      key.dport = p.dport;
    } else if (proto === IpProto.ICMP || proto === IpProto.ICMPV6) {
      if ((proto === IpProto.ICMP) !== (p.ipVersion === 4) || p.icmpType < 0) {
        return this.invalid(r, CtCode.INVALID_PACKET,
          `${proto === IpProto.ICMP ? 'ICMP over IPv6' : 'ICMPv6 over IPv4'} is not tracked (nf_conntrack_icmp${proto === IpProto.ICMP ? '' : 'v6'}_packet)`, null);
      }
      // nf_conntrack_handle_icmp: errors, untracked types, bad types.
      if (this.icmpPre(r, p)) return r;
      key.sport = p.icmpId;
      key.dport = (p.icmpType << 8) | p.icmpCode;
    }

    // resolve_normal_ct, with the -NF_REPEAT loop of nf_conntrack_in.
    let reopened = '';
    for (let attempt = 0; attempt < 4; attempt++) {
      let entry: CtEntry;
      let dir: number;
      const node = this.find(key);
      if (node === null) {
        const e = this.initConntrack(r, key, packetNumber);
        if (e === null) return r;
        entry = e;
        dir = 0;
      } else {
        entry = node.entry;
        dir = node.dir;
      }
      const isNew = !entry.confirmed;

      // nf_conntrack_handle_packet
      let note: string;
      let ignored = false;
      if (proto === IpProto.TCP) {
        const act = this.tcp.process(entry, p, dir);
        note = this.tcp.note;
        if (act === TcpAction.INVALID) {
          return this.invalid(r, isNew ? CtCode.INVALID_NEW : CtCode.INVALID, note, isNew ? null : entry);
        }
        if (act === TcpAction.REPEAT) {
          reopened = entry.tcpStateName;
          this.kill(entry, 'reopen');
          this.stats.reopened++;
          continue;
        }
        if (act === TcpAction.IGNORE) ignored = true;
        if (act === TcpAction.KILL) {
          // Deleted inside the tracker, before SEEN_REPLY is set (as the kernel's [DESTROY] shows).
          this.kill(entry, 'rst');
          this.finish(r, entry, dir, p, note, false);
          this.stats.rstKilled++;
          return r;
        }
      } else if (proto === IpProto.UDP) {
        note = this.udpPacket(entry, dir);
      } else if (proto === IpProto.ICMP || proto === IpProto.ICMPV6) {
        const msg = this.icmpPacket(entry);
        if (msg !== null) {
          return this.invalid(r, isNew ? CtCode.INVALID_NEW : CtCode.INVALID, msg, isNew ? null : entry);
        }
        note = NOTE_ICMP;
      } else if (proto === IPPROTO_GRE) {
        note = this.grePacket(entry);
      } else {
        entry.deadline = this.clock + this.settings.generic_timeout;
        note = NOTE_GENERIC;
      }
      if (reopened !== '') note = `SYN reopens a connection in ${reopened}: old entry destroyed, new one ${note}`;
      this.finish(r, entry, dir, p, note, ignored);
      if (isNew) this.pending = entry;
      return r;
    }
    return this.invalid(r, CtCode.INVALID, 'connection could not be reopened', null);
  }

  /** The packet gets the entry: set the result, SEEN_REPLY, accounting. */
  private finish(r: CtResult, e: CtEntry, dir: number, p: DecodedPacket, note: string, ignored: boolean): void {
    if (dir === 1) {
      if (!(e.status & CtStatus.SEEN_REPLY)) {
        e.status |= CtStatus.SEEN_REPLY;
        e.evCache |= CtEventBit.REPLY;
      }
      e.packetsReply++;
      e.bytesReply += p.ipTotalLen;
      r.state = CtState.ESTABLISHED;
    } else {
      e.packetsOrig++;
      e.bytesOrig += p.ipTotalLen;
      r.state = e.status & CtStatus.SEEN_REPLY ? CtState.ESTABLISHED : CtState.NEW;
    }
    if (e.inNa && (e.status & CtStatus.ASSURED)) this.naUnlink(e);
    e.lastSeen = this.clock;
    e.lastPacket = this.curPacket;
    r.stateName = ctStateName(r.state);
    r.entry = e;
    r.reply = dir === 1;
    r.reason = note;
    if (ignored) {
      r.code = CtCode.IGNORED;
      this.stats.ignored++;
    } else {
      r.code = e.confirmed ? CtCode.TRACKED : CtCode.NEW;
    }
  }

  private invalid(r: CtResult, code: CtCodeValue, reason: string, about: CtEntry | null): CtResult {
    r.state = CtState.INVALID;
    r.stateName = 'invalid';
    r.code = code;
    r.reason = reason;
    r.about = about;
    r.entry = null;
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
   * init_conntrack(): a new, unconfirmed entry for `key`, or null (with `r`
   * filled) when none can be made.
   */
  private initConntrack(r: CtResult, key: CtTuple, packetNumber: number): CtEntry | null {
    if (!invertTuple(key, this.inv)) {
      const v6 = key.proto === IpProto.ICMPV6;
      this.invalid(r, CtCode.INVALID_NEW,
        `${v6 ? 'ICMPv6' : 'ICMP'} type ${key.dport >>> 8} has no reply type, so conntrack cannot track it (nf_conntrack_invert_icmp${v6 ? 'v6' : ''}_tuple)`, null);
      return null;
    }
    // __nf_conntrack_alloc: a full table first tries to evict.
    const max = this.settings.max;
    if (max > 0 && this.count >= max && !this.earlyDrop()) {
      this.stats.tableFull++;
      this.invalid(r, CtCode.TABLE_FULL,
        `nf_conntrack: table full, dropping packet (${this.count} of ${max} entries, none can be early-dropped: all are ASSURED)`, null);
      r.drop = true;
      return null;
    }
    const e = new CtEntry(this.nextId++);
    key.copyTo(e.orig);
    this.inv.copyTo(e.reply);
    e.createdAt = this.clock;
    e.createdPacket = packetNumber;
    if (key.proto === IpProto.TCP) e.tcp = newTcpCt();
    return e;
  }

  // -------------------------------------------------------------------------
  // Protocol trackers other than TCP

  /** nf_conntrack_udp_packet() */
  private udpPacket(e: CtEntry, dir: number): string {
    const s = this.settings;
    const now = this.clock;
    if (!e.confirmed) e.udpStreamTs = now + 2;
    if (e.status & CtStatus.SEEN_REPLY) {
      let extra = s.udp_timeout;
      let stream = false;
      // Still active after two seconds: a stream, longer timeout.
      if (now - e.udpStreamTs > TIME_EPS) {
        extra = s.udp_timeout_stream;
        stream = (e.status & CtStatus.ASSURED) === 0;
      }
      e.deadline = now + extra;
      if (stream) {
        e.status |= CtStatus.ASSURED;
        e.evCache |= CtEventBit.ASSURED;
      }
      return e.status & CtStatus.ASSURED ? NOTE_UDP_STREAM : NOTE_UDP_REPLIED;
    }
    e.deadline = now + s.udp_timeout;
    return dir === 1 ? NOTE_UDP_FIRST_REPLY : NOTE_UDP_UNREPLIED;
  }

  /**
   * nf_conntrack_gre_packet(): 30 s until a reply is seen, then 180 s and
   * ASSURED. Keys are 0 (GRE version 0, or PPTP without its helper's keymap).
   */
  private grePacket(e: CtEntry): string {
    if (e.status & CtStatus.SEEN_REPLY) {
      e.deadline = this.clock + GRE_TIMEOUT_STREAM;
      if (!(e.status & CtStatus.ASSURED)) {
        e.status |= CtStatus.ASSURED;
        e.evCache |= CtEventBit.ASSURED;
      }
      return NOTE_GRE_REPLIED;
    }
    e.deadline = this.clock + GRE_TIMEOUT;
    return NOTE_GRE;
  }

  /** nf_conntrack_icmp_packet() / nf_conntrack_icmpv6_packet(): null when accepted, else why invalid. */
  private icmpPacket(e: CtEntry): string | null {
    const now = this.clock;
    const type = e.orig.dport >>> 8;
    if (e.orig.proto === IpProto.ICMP) {
      if (!ICMP_VALID_NEW[type]) {
        return `ICMP type ${type} cannot create a connection: no matching request was seen (nf_conntrack_icmp_packet)`;
      }
      e.deadline = now + this.settings.icmp_timeout;
    } else {
      if (!e.confirmed && !ICMP6_VALID_NEW[type]) {
        return `ICMPv6 type ${type} cannot create a connection: no matching request was seen (nf_conntrack_icmpv6_packet)`;
      }
      e.deadline = now + this.settings.icmpv6_timeout;
    }
    return null;
  }

  /**
   * nf_conntrack_icmpv4_error() / nf_conntrack_icmpv6_error(): true when the
   * result is final (related, invalid or untracked), false to go on with
   * normal tracking (queries and replies).
   */
  private icmpPre(r: CtResult, p: DecodedPacket): boolean {
    const type = p.icmpType;
    if (p.ipVersion === 4) {
      if (type > NR_ICMP_TYPES) {
        this.invalid(r, CtCode.INVALID_PACKET, `invalid ICMP type ${type} (above ${NR_ICMP_TYPES}, nf_conntrack_icmpv4_error)`, null);
        return true;
      }
      if (!isIcmpV4Error(type)) return false;
    } else {
      if (ICMP6_NOCT[type]) {
        this.untracked(r, `ICMPv6 type ${type} (neighbour discovery / MLD) is never tracked (nf_conntrack_icmpv6_error)`);
        return true;
      }
      if (type === 137) {
        this.invalid(r, CtCode.INVALID_ICMP_ERROR,
          'ICMPv6 redirect: fwemu does not read the redirected header, so it is not related to any connection', null);
        return true;
      }
      if (type >= 128) return false;
    }
    this.inetError(r, p);
    return true;
  }

  /** nf_conntrack_inet_error(): is this ICMP error about one of our connections? */
  private inetError(r: CtResult, p: DecodedPacket): void {
    const what = p.ipVersion === 4 ? 'ICMP' : 'ICMPv6';
    if (!p.innerValid || p.innerIpVersion !== p.ipVersion) {
      this.invalid(r, CtCode.INVALID_ICMP_ERROR,
        `${what} error type ${p.icmpType} does not quote a readable packet, so it relates to no connection`, null);
      return;
    }
    // The quoted packet is one we forwarded: its own tuple, inverted, is
    // the tuple the error travels on.
    const q = this.inv;
    q.l3 = p.innerIpVersion;
    q.proto = p.innerProto;
    q.src0 = p.innerSrc0 >>> 0; q.src1 = p.innerSrc1 >>> 0; q.src2 = p.innerSrc2 >>> 0; q.src3 = p.innerSrc3 >>> 0;
    q.dst0 = p.innerDst0 >>> 0; q.dst1 = p.innerDst1 >>> 0; q.dst2 = p.innerDst2 >>> 0; q.dst3 = p.innerDst3 >>> 0;
    if (q.proto === IpProto.TCP || q.proto === IpProto.UDP) {
      q.sport = p.innerSport;
      q.dport = p.innerDport;
    } else if (q.proto === IpProto.ICMP || q.proto === IpProto.ICMPV6) {
      q.sport = p.innerSport;
      q.dport = p.innerDport << 8; // inner code taken as 0
    } else {
      q.sport = 0;
      q.dport = 0;
    }
    const key = this.key;
    if (!invertTuple(q, key)) {
      this.invalid(r, CtCode.INVALID_ICMP_ERROR,
        `${what} error about an ICMP type ${q.dport >>> 8} packet, which conntrack never tracks`, null);
      return;
    }
    const node = this.find(key);
    if (node === null) {
      this.invalid(r, CtCode.INVALID_ICMP_ERROR,
        `${what} error type ${p.icmpType} code ${p.icmpCode} quotes a packet of no known connection`, null);
      return;
    }
    const e = node.entry;
    const t = node.dir === 0 ? e.orig : e.reply;
    if (t.dst0 !== (p.dst0 >>> 0) || t.dst1 !== (p.dst1 >>> 0) || t.dst2 !== (p.dst2 >>> 0) || t.dst3 !== (p.dst3 >>> 0)) {
      this.invalid(r, CtCode.INVALID_ICMP_ERROR,
        `${what} error sent to an address other than the quoted connection's endpoint (outer daddr != inner)`, e);
      return;
    }
    r.state = CtState.RELATED;
    r.stateName = 'related';
    r.code = CtCode.RELATED;
    r.entry = e;
    r.related = e;
    r.reply = node.dir === 1;
    r.reason = `${what} error about a known connection`;
    this.stats.related++;
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
    const e = r.entry;
    if (e === null || (e.status & CtStatus.DYING)) return false;
    if (!e.confirmed) {
      if (e !== this.pending) return false; // stale result: that packet's entry was already discarded
      this.pending = null;
      e.status |= CtStatus.CONFIRMED;
      this.insert(e);
      this.stats.inserted++;
      e.evCache = 0;
      if (this.onEvent !== null) this.emit('NEW', e, this.clock, e.secondsLeft(this.clock), undefined);
      return true;
    }
    if (e.evCache !== 0) {
      const bits = e.evCache;
      e.evCache = 0;
      if (this.onEvent !== null) {
        // ctnetlink puts the TCP state in an update only when it changed (IPCT_PROTOINFO).
        const st = e.tcp !== null && (bits & CtEventBit.PROTOINFO) ? e.tcp.state : -1;
        this.emit('UPDATE', e, this.clock, e.secondsLeft(this.clock), undefined, st);
      }
    }
    return false;
  }

  // -------------------------------------------------------------------------
  // Listing and expiry

  /** Remove every entry whose deadline has passed at `now`. Returns how many. */
  expire(now: number): number {
    if (now > this.clock) this.clock = now;
    now = this.clock;
    let n = 0;
    for (let e = this.allHead; e !== null;) {
      const next = e.allNext;
      if (e.deadline - now <= TIME_EPS) {
        this.expireEntry(e);
        n++;
      }
      e = next;
    }
    this.lastGc = now;
    return n;
  }

  /** Live entries at `now`, in creation order (expired ones are removed first). */
  entries(now: number): CtEntry[] {
    this.expire(now);
    const out: CtEntry[] = [];
    for (let e = this.allHead; e !== null; e = e.allNext) out.push(e);
    return out;
  }

  /** Remove all entries (conntrack -F), with [DESTROY] events. */
  flush(now: number = this.clock): void {
    if (now > this.clock) this.clock = now;
    for (let e = this.allHead; e !== null;) {
      const next = e.allNext;
      this.kill(e, 'flush');
      e = next;
    }
  }

  /** The live entry with this tuple in either direction, if any (no side effects). */
  lookup(t: CtTuple, now: number = this.clock): CtEntry | null {
    let n = this.buckets[hashTuple(t) & this.mask];
    while (n !== null) {
      const e = n.entry;
      if (e.deadline - now > TIME_EPS && (n.dir === 0 ? e.orig : e.reply).equals(t)) return e;
      n = n.next;
    }
    return null;
  }

  // -------------------------------------------------------------------------
  // Hash table

  /** Find the node for `t`; expired entries met on the way are removed. */
  private find(t: CtTuple): CtNode | null {
    const now = this.clock;
    const h = hashTuple(t);
    const idx = h & this.mask;
    let n = this.buckets[idx];
    while (n !== null) {
      const e = n.entry;
      if (e.deadline - now <= TIME_EPS) {
        this.expireEntry(e);
        n = this.buckets[idx]; // the chain changed: rescan
        continue;
      }
      if (n.hash === h && (n.dir === 0 ? e.orig : e.reply).equals(t)) return n;
      n = n.next;
    }
    return null;
  }

  private insert(e: CtEntry): void {
    if ((this.count + 1) * 2 > this.buckets.length) this.grow();
    for (const n of e.nodes) {
      n.hash = hashTuple(n.dir === 0 ? e.orig : e.reply);
      const idx = n.hash & this.mask;
      n.next = this.buckets[idx];
      this.buckets[idx] = n;
    }
    this.count++;
    // creation-ordered lists
    e.allPrev = this.allTail;
    e.allNext = null;
    if (this.allTail !== null) this.allTail.allNext = e; else this.allHead = e;
    this.allTail = e;
    if (!(e.status & CtStatus.ASSURED)) {
      e.naPrev = this.naTail;
      e.naNext = null;
      if (this.naTail !== null) this.naTail.naNext = e; else this.naHead = e;
      this.naTail = e;
      e.inNa = true;
    }
  }

  private grow(): void {
    const old = this.buckets;
    const size = old.length * 2;
    this.buckets = new Array(size).fill(null);
    this.mask = size - 1;
    for (let e = this.allHead; e !== null; e = e.allNext) {
      for (const n of e.nodes) {
        const idx = n.hash & this.mask;
        n.next = this.buckets[idx];
        this.buckets[idx] = n;
      }
    }
  }

  private unlinkNode(n: CtNode): void {
    const idx = n.hash & this.mask;
    let cur = this.buckets[idx];
    if (cur === n) {
      this.buckets[idx] = n.next;
    } else {
      while (cur !== null && cur.next !== n) cur = cur.next;
      if (cur !== null) cur.next = n.next;
    }
    n.next = null;
  }

  private naUnlink(e: CtEntry): void {
    if (e.naPrev !== null) e.naPrev.naNext = e.naNext; else this.naHead = e.naNext;
    if (e.naNext !== null) e.naNext.naPrev = e.naPrev; else this.naTail = e.naPrev;
    e.naPrev = null;
    e.naNext = null;
    e.inNa = false;
  }

  /** Take a confirmed entry out of the table. */
  private remove(e: CtEntry): void {
    e.status |= CtStatus.DYING;
    if (!e.confirmed) return;
    this.unlinkNode(e.nodes[0]);
    this.unlinkNode(e.nodes[1]);
    if (e.allPrev !== null) e.allPrev.allNext = e.allNext; else this.allHead = e.allNext;
    if (e.allNext !== null) e.allNext.allPrev = e.allPrev; else this.allTail = e.allPrev;
    e.allPrev = null;
    e.allNext = null;
    if (e.inNa) this.naUnlink(e);
    this.count--;
  }

  private expireEntry(e: CtEntry): void {
    this.remove(e);
    this.stats.expired++;
    // conntrack -E prints no timeout for an entry that died of old age.
    if (this.onEvent !== null) this.emit('DESTROY', e, e.deadline, -1, 'expired');
  }

  /** nf_ct_kill / nf_ct_delete: remove now, [DESTROY] with the seconds that were left. */
  private kill(e: CtEntry, cause: CtDestroyCause): void {
    const now = this.clock;
    const wasConfirmed = e.confirmed;
    this.remove(e);
    if (wasConfirmed && this.onEvent !== null) {
      const left = e.secondsLeft(now);
      this.emit('DESTROY', e, now, left > 0 ? left : -1, cause);
    }
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
    for (let e = this.naHead; e !== null;) {
      const next = e.naNext;
      if (e.deadline - now <= TIME_EPS) {
        this.expireEntry(e);
        if (this.count < max) return true;
      } else {
        this.kill(e, 'early-drop');
        this.stats.earlyDrop++;
        return true;
      }
      e = next;
    }
    return false;
  }

  private emit(
    type: 'NEW' | 'UPDATE' | 'DESTROY', e: CtEntry, time: number, timeout: number,
    cause: CtDestroyCause | undefined, tcpState: number = e.tcp ? e.tcp.state : -1,
  ): void {
    const ev: CtEvent = {
      type,
      entry: e,
      packet: this.curPacket,
      time,
      tcpState,
      status: e.status,
      timeout,
    };
    if (cause !== undefined) ev.cause = cause;
    this.onEvent!(ev);
  }
}

