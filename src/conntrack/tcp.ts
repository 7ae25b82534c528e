/**
 * TCP connection tracking, after net/netfilter/nf_conntrack_proto_tcp.c
 * (Linux 6.x): the state table, tcp_new, tcp_in_window, the RST / SYN
 * special cases of nf_conntrack_tcp_packet, nf_tcp_handle_invalid and the
 * per-state timeouts. Written from the kernel's logic, not copied; function
 * names in comments point at the kernel function each part mirrors.
 * Over 600 lines as the kernel's file is: the transition table, tcp_new and
 * tcp_in_window are read against each other. struct ip_ct_tcp lives in
 * the entry's record (entry.ts); its fields are read there by offsets that
 * carry the kernel's names (w[sender + TD_MAXEND] is sender->td_maxend).
 *
 * Sequence arithmetic is on unsigned 32-bit numbers; before()/after() are
 * the kernel's wrap-around comparisons.
 *
 * Deliberate differences from the kernel:
 * - No NAT helpers, so no sequence-number offsets (nf_ct_seq_offset is 0).
 * - No SYN proxy (its keep-alive special case is left out).
 * - Checksums are not verified (nf_conntrack_checksum would call a bad one invalid).
 * - The SACK right edge comes from the decoder (DecodedPacket.sackMaxRight),
 *   computed like tcp_sack(); the "timestamp-only fast path" is equivalent.
 */
import type { DecodedPacket } from '../packet/types.js';
import { TcpFlag } from '../packet/types.js';
import { tcpFlagsString } from '../packet/describe.js';
import {
  B_EV,
  B_LAST_DIR,
  B_LAST_FLAGS,
  B_LAST_INDEX,
  B_LAST_WSCALE,
  B_RETRANS,
  B_SIDE0,
  B_SIDE1,
  B_TSTATE,
  CtEventBit,
  F_DEADLINE,
  H_LAST_WIN,
  H_STATUS,
  S16,
  S32,
  S64,
  STRIDE,
  W_LAST_ACK,
  W_LAST_END,
  W_LAST_SEQ,
  W_SIDE0,
  type CtStore,
} from './entry.js';
import { CtVerdict, type CtPacketCtx, type CtVerdictValue } from './l4proto.js';
import {
  CtStatus,
  TcpFlagCt,
  TcpIndex,
  TcpState,
  TCP_INDEX_NAMES,
  TCP_STATE_NAMES,
  type ConntrackSettings,
} from './types.js';

// ---------------------------------------------------------------------------
// The transition table (tcp_conntracks[2][6][TCP_CONNTRACK_MAX])

const sNO = TcpState.NONE;
const sSS = TcpState.SYN_SENT;
const sSR = TcpState.SYN_RECV;
const sES = TcpState.ESTABLISHED;
const sFW = TcpState.FIN_WAIT;
const sCW = TcpState.CLOSE_WAIT;
const sLA = TcpState.LAST_ACK;
const sTW = TcpState.TIME_WAIT;
const sCL = TcpState.CLOSE;
const sS2 = TcpState.SYN_SENT2;
const sIV = TcpState.MAX;
const sIG = TcpState.IGNORE;

/**
 * TCP_TABLE[dir][index][oldState] = new state, sIV (invalid) or sIG (ignore).
 * Rows are indexed by get_conntrack_index() of the segment; columns by the
 * current state in the order NONE, SYN_SENT, SYN_RECV, ESTABLISHED,
 * FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE, SYN_SENT2.
 */
export const TCP_TABLE: readonly (readonly (readonly number[])[])[] = [
  [
    // ---- ORIGINAL direction (sent by the side that opened the connection)
    //           sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2
    /* SYN    */ [sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2],
    //  sNO -> sSS  a new connection
    //  sSS -> sSS  retransmitted SYN
    //  sSR..sLA -> sIG  SYN outside SYN_SENT: the receiver will RST it, or we are out of sync
    //  sTW, sCL -> sSS  reopened connection (RFC 1122)
    //  sS2 -> sS2  late retransmitted SYN
    /* SYNACK */ [sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR],
    //  sSR -> sSR  late retransmitted SYN/ACK of a simultaneous open
    //  sS2 -> sSR  simultaneous open: the SYN/ACK from the side that sent the first SYN
    //  otherwise sIV: the client cannot send a SYN/ACK
    /* FIN    */ [sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV],
    //  sNO, sSS, sS2 -> sIV  no FIN before the SYN/ACK
    //  sSR, sES -> sFW  close started
    //  sFW, sCW -> sLA  FIN from both sides
    //  sLA, sTW, sCL stay  retransmitted FIN
    /* ACK    */ [sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV],
    //  sNO -> sES  assumed established (mid-stream pickup, tcp_loose)
    //  sSS, sS2 -> sIV  no ACK before the SYN/ACK
    //  sSR -> sES  handshake done
    //  sFW -> sCW  our FIN acked
    //  sLA -> sTW  the last ACK (an RFC 5961 challenge ACK is checked apart)
    /* RST    */ [sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL],
    //  sNO -> sIV  nothing to reset; otherwise sCL (the RST is checked against td_maxack apart)
    /* NONE   */ [sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV],
  ],
  [
    // ---- REPLY direction
    //           sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2
    /* SYN    */ [sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2],
    //  sSS -> sS2  simultaneous open
    //  sS2 -> sS2  retransmitted SYN of a simultaneous open
    //  sTW -> sSS  reopened connection, the roles swapped
    //  otherwise sIV
    /* SYNACK */ [sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR],
    //  sSS -> sSR  the standard open
    //  sSR..sCL -> sIG  retransmitted SYN/ACK, or one answering a SYN we ignored
    //  sS2 -> sSR  simultaneous open
    /* FIN    */ [sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV],
    //  as in the ORIGINAL direction
    /* ACK    */ [sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG],
    //  sSS, sS2 -> sIG  ACK before the SYN/ACK: a half-open connection? (may be a challenge ACK)
    //  sSR -> sSR  may answer a late resent SYN (after a simultaneous open: sES, decided apart)
    //  otherwise as in the ORIGINAL direction
    /* RST    */ [sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL],
    /* NONE   */ [sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV],
  ],
];

/** get_conntrack_index(): the table row a segment selects. */
export function tcpIndex(flags: number): number {
  if (flags & TcpFlag.RST) return TcpIndex.RST;
  if (flags & TcpFlag.SYN) return flags & TcpFlag.ACK ? TcpIndex.SYNACK : TcpIndex.SYN;
  if (flags & TcpFlag.FIN) return TcpIndex.FIN;
  if (flags & TcpFlag.ACK) return TcpIndex.ACK;
  return TcpIndex.NONE;
}

/**
 * tcp_valid_flags[]: allowed combinations of FIN, SYN, RST, ACK, URG
 * (PSH, ECE and CWR are always allowed). Anything else is invalid (tcp_error).
 */
const VALID_FLAGS = new Uint8Array(0x40);
for (const f of [
  TcpFlag.SYN,
  TcpFlag.SYN | TcpFlag.URG,
  TcpFlag.SYN | TcpFlag.ACK,
  TcpFlag.RST,
  TcpFlag.RST | TcpFlag.ACK,
  TcpFlag.FIN | TcpFlag.ACK,
  TcpFlag.FIN | TcpFlag.ACK | TcpFlag.URG,
  TcpFlag.ACK,
  TcpFlag.ACK | TcpFlag.URG,
])
  VALID_FLAGS[f] = 1;

const FLAG_MASK = TcpFlag.FIN | TcpFlag.SYN | TcpFlag.RST | TcpFlag.ACK | TcpFlag.URG;

export function tcpFlagsValid(flags: number): boolean {
  return VALID_FLAGS[flags & FLAG_MASK] === 1;
}

/** TCP_TABLE flattened, [(dir * 6 + index) * 10 + oldState]: one load per segment instead of three. */
const TABLE_FLAT = new Uint8Array(2 * 6 * 10);
for (let d = 0; d < 2; d++)
  for (let i = 0; i < 6; i++) for (let s = 0; s < 10; s++) TABLE_FLAT[(d * 6 + i) * 10 + s] = TCP_TABLE[d][i][s];

// ---------------------------------------------------------------------------
// Sequence arithmetic

/** before(a, b): a is earlier than b modulo 2^32. */
function before(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
/** after(a, b) = before(b, a). */
function after(a: number, b: number): boolean {
  return ((b - a) | 0) < 0;
}
const u32 = (x: number): number => x >>> 0;

const MAXACKWINCONST = 66000;

/** TCP_MAX_WSCALE */
const MAX_WSCALE = 14;

/** tcp_options(): the side flags a segment's options set (window scale, SACK permitted). */
function optionFlags(p: DecodedPacket): number {
  return (p.wscale >= 0 ? TcpFlagCt.WINDOW_SCALE : 0) | (p.sackPermitted ? TcpFlagCt.SACK_PERM : 0);
}

/** tcp_options(): the window scale a segment announces (0 without the option), at most TCP_MAX_WSCALE. */
function optionScale(p: DecodedPacket): number {
  return p.wscale < 0 ? 0 : p.wscale > MAX_WSCALE ? MAX_WSCALE : p.wscale;
}

// ---------------------------------------------------------------------------
// struct ip_ct_tcp_state in the record

/*
 * One side, seen[dir], is four words at W_SIDE0 + 4 * dir and two bytes at
 * B_SIDE0 + 2 * dir of the entry's record. The tracker names a side by its
 * word index (`sender`) and its byte index (`sender8`): w[sender + TD_END]
 * is sender->td_end, u8[sender8 + TD_FLAGS] is sender->flags.
 *
 * Why offsets and not objects with the kernel's names as accessors (tried,
 * fe76198): V8 did not keep them free. Each segment cost ~2,300 more
 * instructions (valgrind, 100k TCP packets, node --single-threaded) and a
 * replay ~8% more CPU time; the accessors used up the inlining budget of
 * the tracker, and helpers left out of line boxed the uint32 they return.
 */

/** Words of a side. */
const TD_END = 0; // highest sequence number sent + 1 (the end of the data seen)
const TD_MAXEND = 1; // highest td_end the receiver's window allows (ack + window)
const TD_MAXWIN = 2; // largest window announced (0: nothing seen from this side yet)
const TD_MAXACK = 3; // highest ACK sent (valid once flags has MAXACK_SET)
/** Bytes of a side. */
const TD_SCALE = 0; // window scale announced
const TD_FLAGS = 1; // IP_CT_TCP_FLAG_* (TcpFlagCt)
/** The bytes memset(&ct->proto.tcp, 0, ...) clears: state, last_*, retrans and both sides. */
const TCP_AREA_START = B_TSTATE;
const TCP_AREA_END = B_SIDE0 + 4;

// ---------------------------------------------------------------------------
// The tracker

const TRANSITION_NOTES: string[][] = [];
for (let a = 0; a < 10; a++) {
  TRANSITION_NOTES.push([]);
  for (let b = 0; b < 10; b++) {
    TRANSITION_NOTES[a].push(a === b ? TCP_STATE_NAMES[a] : `${TCP_STATE_NAMES[a]} -> ${TCP_STATE_NAMES[b]}`);
  }
}

function dirName(dir: number): string {
  return dir === 0 ? 'original' : 'reply';
}

/** enum nf_ct_tcp_action: what tcp_in_window() decides. */
const NFCT_TCP_IGNORE = 0;
const NFCT_TCP_INVALID = 1;
const NFCT_TCP_ACCEPT = 2;

/**
 * The TCP tracker of one table. process() handles a segment for an entry
 * (new or existing) and leaves a sentence in `note` for anything unusual.
 */
export class TcpTracker {
  /** Timeouts in seconds indexed by TcpState (plus RETRANS and UNACK slots). */
  readonly timeouts: number[];
  /** Explanation of the last outcome (invalid / ignored / remarkable), or a short transition note. */
  note = '';
  /**
   * Capture time of the segment being processed, set by the table (a field
   * rather than an argument: a double argument would be boxed on every call).
   */
  now = 0;
  /**
   * segment_seq_plus_len() of the segment being processed: seq + payload,
   * + 1 for a SYN, + 1 for a FIN. Worked out once in process() and kept in
   * a field: past V8's inlining budget a helper returning it would box
   * every sequence number over 2^31.
   */
  private end = 0;
  /** The last tcp_new() picked a connection up mid-stream. */
  private pickup = false;
  /**
   * The entry being tracked (set by process()): its store's arrays, its
   * slot, and where its record starts in each array.
   */
  private st: CtStore | null = null;
  private slot = 0;
  private u8: Uint8Array = new Uint8Array(0);
  private u16: Uint16Array = new Uint16Array(0);
  private w: Uint32Array = new Uint32Array(0);
  private b8 = 0;
  private b16 = 0;
  private b32 = 0;

  constructor(private readonly s: ConntrackSettings) {
    const t: number[] = new Array(14).fill(0);
    t[TcpState.SYN_SENT] = s.tcp_timeout_syn_sent;
    t[TcpState.SYN_RECV] = s.tcp_timeout_syn_recv;
    t[TcpState.ESTABLISHED] = s.tcp_timeout_established;
    t[TcpState.FIN_WAIT] = s.tcp_timeout_fin_wait;
    t[TcpState.CLOSE_WAIT] = s.tcp_timeout_close_wait;
    t[TcpState.LAST_ACK] = s.tcp_timeout_last_ack;
    t[TcpState.TIME_WAIT] = s.tcp_timeout_time_wait;
    t[TcpState.CLOSE] = s.tcp_timeout_close;
    t[TcpState.SYN_SENT2] = 120; // no sysctl; tcp_timeouts[TCP_CONNTRACK_SYN_SENT2] = 2 MINS
    t[TcpState.RETRANS] = s.tcp_timeout_max_retrans;
    t[TcpState.UNACK] = s.tcp_timeout_unacknowledged;
    this.timeouts = t;
  }

  /**
   * tcp_new(): set up a fresh (unconfirmed) entry from its first segment.
   * False when this segment may not create a connection.
   */
  private newConn(p: DecodedPacket, index: number): boolean {
    const newState = TABLE_FLAT[index * 10 + sNO]; // tcp_conntracks[0][index][TCP_CONNTRACK_NONE]
    if (newState >= sIV) {
      this.note = `a ${TCP_INDEX_NAMES[index]} segment (flags ${tcpFlagsString(p.tcpFlags)}) cannot start a connection: only a SYN, or an ACK with tcp_loose=1, can (tcp_new: invalid new)`;
      return false;
    }
    const u8 = this.u8;
    const w = this.w;
    const b8 = this.b8;
    const seen0 = this.b32 + W_SIDE0;
    const seen0b = b8 + B_SIDE0;
    this.pickup = newState !== sSS;
    if (newState === sSS) {
      // SYN packet
      u8.fill(0, b8 + TCP_AREA_START, b8 + TCP_AREA_END); // memset(&ct->proto.tcp, 0, ...)
      w[seen0 + TD_END] = this.end;
      w[seen0 + TD_MAXWIN] = p.window === 0 ? 1 : p.window;
      w[seen0 + TD_MAXEND] = w[seen0 + TD_END];
      this.options(p, seen0b);
    } else if (!this.s.tcp_loose) {
      this.note = `no connection to pick up: an ACK without a preceding SYN starts nothing when tcp_loose=0 (tcp_new)`;
      return false;
    } else {
      // Mid-stream pickup: trust the segment, assume SACK, and check windows liberally.
      u8.fill(0, b8 + TCP_AREA_START, b8 + TCP_AREA_END); // memset(&ct->proto.tcp, 0, ...)
      w[seen0 + TD_END] = this.end;
      w[seen0 + TD_MAXWIN] = p.window === 0 ? 1 : p.window;
      w[seen0 + TD_MAXEND] = w[seen0 + TD_END] + w[seen0 + TD_MAXWIN];
      u8[seen0b + TD_FLAGS] = TcpFlagCt.SACK_PERM | TcpFlagCt.BE_LIBERAL;
      u8[b8 + B_SIDE1 + TD_FLAGS] = TcpFlagCt.SACK_PERM | TcpFlagCt.BE_LIBERAL;
    }
    u8[b8 + B_LAST_INDEX] = TcpIndex.NONE; // tcp_packet will set them
    return true;
  }

  /**
   * tcp_options(): window scale and SACK-permitted from a segment into
   * `side`. Like the kernel it only touches the side when the segment has
   * options at all.
   */
  private options(p: DecodedPacket, side8: number): void {
    if (p.tcpHeaderLen <= 20) return;
    const u8 = this.u8;
    u8[side8 + TD_SCALE] = optionScale(p);
    u8[side8 + TD_FLAGS] = (u8[side8 + TD_FLAGS] & TcpFlagCt.BE_LIBERAL) | optionFlags(p);
  }

  /**
   * nf_conntrack_tcp_packet(): track one segment for the entry in record
   * `slot` of `st`. `dir` is 0 for the entry's original direction, 1 for
   * reply; the time is `now`. Updates the deadline when the segment
   * refreshes the entry.
   */
  process(st: CtStore, slot: number, p: DecodedPacket, dir: number): CtVerdictValue {
    const now = this.now;
    this.note = '';
    this.pickup = false;
    const f = p.tcpFlags;
    this.end = (p.seq + p.payloadLen + (f & TcpFlag.FIN) + ((f & TcpFlag.SYN) >> 1)) >>> 0;

    // tcp_error(): header sanity and flag combinations.
    if (p.tcpHeaderLen < 20) {
      this.note = 'truncated TCP header (tcp_error)';
      return CtVerdict.INVALID;
    }
    if (!tcpFlagsValid(p.tcpFlags)) {
      this.note = `invalid TCP flag combination ${tcpFlagsString(p.tcpFlags)} (tcp_error)`;
      return CtVerdict.INVALID;
    }
    // ct->proto.tcp: the entry's record.
    this.st = st;
    this.slot = slot;
    const u8 = (this.u8 = st.u8);
    const u16 = (this.u16 = st.u16);
    const w = (this.w = st.u32);
    const b8 = (this.b8 = slot * STRIDE);
    const b16 = (this.b16 = slot * S16);
    const b32 = (this.b32 = slot * S32);
    const index = tcpIndex(p.tcpFlags);
    if (!(u16[b16 + H_STATUS] & CtStatus.CONFIRMED) && !this.newConn(p, index)) return CtVerdict.INVALID;
    // seen[dir] and seen[!dir]: the sender's and the receiver's side.
    const sender = b32 + W_SIDE0 + 4 * dir;
    const sender8 = b8 + B_SIDE0 + 2 * dir;
    const receiver8 = b8 + B_SIDE0 + 2 * (dir ^ 1);

    let oldState = u8[b8 + B_TSTATE];
    let newState = TABLE_FLAT[(dir * 6 + index) * 10 + oldState]; // tcp_conntracks[dir][index][old_state]
    let skipWindow = false; // goto in_window

    // switch (new_state), case TCP_CONNTRACK_SYN_SENT: a SYN on a TIME_WAIT /
    // CLOSE entry reopens it when the connection was closed by a FIN
    // (CLOSE_INIT) or aborted by an RST from this side; else it falls
    // through to the IGNORE case.
    if (newState === sSS && oldState >= sTW) {
      if (
        (u8[sender8 + TD_FLAGS] | u8[receiver8 + TD_FLAGS]) & TcpFlagCt.CLOSE_INIT ||
        (u8[b8 + B_LAST_DIR] === dir && u8[b8 + B_LAST_INDEX] === TcpIndex.RST)
      ) {
        this.note = `SYN reopens a connection in ${TCP_STATE_NAMES[oldState]}: the old entry is destroyed and a new one created`;
        return CtVerdict.REPEAT;
      }
      newState = sIG;
    }

    switch (newState) {
      case sIG: {
        if (
          index === TcpIndex.SYNACK &&
          u8[b8 + B_LAST_INDEX] === TcpIndex.SYN &&
          u8[b8 + B_LAST_DIR] !== dir &&
          p.ack === w[b32 + W_LAST_END]
        ) {
          // b) This SYN/ACK answers a SYN we ignored: client and server are
          // in sync and we are not; resync from what we noted about that SYN.
          oldState = sSS;
          newState = sSR;
          const lastDir = u8[b8 + B_LAST_DIR];
          const last = b32 + W_SIDE0 + 4 * lastDir;
          const last8 = b8 + B_SIDE0 + 2 * lastDir;
          w[last + TD_END] = w[b32 + W_LAST_END];
          w[last + TD_MAXEND] = w[b32 + W_LAST_END];
          w[last + TD_MAXWIN] = u16[b16 + H_LAST_WIN] === 0 ? 1 : u16[b16 + H_LAST_WIN];
          u8[last8 + TD_SCALE] = u8[b8 + B_LAST_WSCALE];
          u8[b8 + B_LAST_FLAGS] &= ~TcpFlagCt.EXP_CHALLENGE_ACK;
          u8[last8 + TD_FLAGS] = u8[b8 + B_LAST_FLAGS];
          resetSide(w, u8, sender, sender8);
          break;
        }
        u8[b8 + B_LAST_INDEX] = index;
        u8[b8 + B_LAST_DIR] = dir;
        w[b32 + W_LAST_SEQ] = p.seq;
        w[b32 + W_LAST_END] = this.end;
        u16[b16 + H_LAST_WIN] = p.window;
        if (index === TcpIndex.SYN && dir === 0) {
          // a) A SYN in the original direction while we think the connection
          // lives: note its options in case the server answers it.
          const hasOptions = p.tcpHeaderLen > 20;
          let lastFlags = hasOptions ? optionFlags(p) : 0;
          const lastWscale = hasOptions ? optionScale(p) : 0;
          // An RFC 5961 challenge ACK may answer it; in LAST_ACK that ACK
          // must not be taken for the last ACK.
          if (oldState === sLA) lastFlags |= TcpFlagCt.EXP_CHALLENGE_ACK;
          u8[b8 + B_LAST_FLAGS] = lastFlags;
          u8[b8 + B_LAST_WSCALE] = lastWscale;
        }
        // Possible challenge ACK answering the SYN.
        if (oldState === sSS && index === TcpIndex.ACK && dir === 1) w[b32 + W_LAST_ACK] = p.ack;
        this.note = `${TCP_INDEX_NAMES[index]} in the ${dirName(dir)} direction ignored in state ${TCP_STATE_NAMES[oldState]} (conntrack may be out of sync; let through without updating the entry)`;
        return CtVerdict.IGNORE;
      }
      case sIV:
        this.note = `${TCP_INDEX_NAMES[index]} (flags ${tcpFlagsString(p.tcpFlags)}) in the ${dirName(dir)} direction is invalid in state ${TCP_STATE_NAMES[oldState]}`;
        return CtVerdict.INVALID;
      case sTW:
        // RFC 5961: an ACK answering a spurious SYN in LAST_ACK is a challenge
        // ACK, not the last ACK.
        if (
          oldState === sLA &&
          index === TcpIndex.ACK &&
          u8[b8 + B_LAST_DIR] !== dir &&
          u8[b8 + B_LAST_INDEX] === TcpIndex.SYN &&
          u8[b8 + B_LAST_FLAGS] & TcpFlagCt.EXP_CHALLENGE_ACK
        ) {
          u8[b8 + B_LAST_FLAGS] &= ~TcpFlagCt.EXP_CHALLENGE_ACK;
          this.note = 'challenge ACK (RFC 5961) answering a SYN in LAST_ACK ignored; state unchanged';
          return CtVerdict.IGNORE;
        }
        break;
      case sS2:
        // The table cannot tell a simultaneous open on its own.
        u8[b8 + B_LAST_FLAGS] |= TcpFlagCt.SIMULTANEOUS_OPEN;
        break;
      case sSR:
        if (dir === 1 && index === TcpIndex.ACK && u8[b8 + B_LAST_FLAGS] & TcpFlagCt.SIMULTANEOUS_OPEN) newState = sES;
        break;
      case sCL: {
        if (index !== TcpIndex.RST) break;
        // Closing anyway: the tuple may already be reused, skip validation.
        if (canEarlyDrop(oldState)) {
          skipWindow = true;
          break;
        }
        const receiver = b32 + W_SIDE0 + 4 * (dir ^ 1);
        const status = u16[b16 + H_STATUS];
        // td_maxack might be outdated if we let a SYN through earlier.
        if (u8[receiver8 + TD_FLAGS] & TcpFlagCt.MAXACK_SET && u8[b8 + B_LAST_INDEX] !== TcpIndex.SYN) {
          const seq = p.seq;
          const established = oldState === sES && (status & CtStatus.ASSURED) !== 0; // nf_conntrack_tcp_established()
          // SEQ 0 outside ESTABLISHED: most likely an answer to a SYN we let through.
          if (seq === 0 && !established) break;
          if (before(seq, w[receiver + TD_MAXACK]) && !this.s.tcp_ignore_invalid_rst) {
            this.note = `invalid RST: seq ${seq} is below ${w[receiver + TD_MAXACK]}, the highest ACK the other side has sent`;
            return CtVerdict.INVALID;
          }
          if (!established || seq === w[receiver + TD_MAXACK]) break;
          // RST at the end of a train of segments from the same side.
          if (u8[b8 + B_LAST_INDEX] === TcpIndex.ACK && u8[b8 + B_LAST_DIR] === dir && seq === w[b32 + W_LAST_END])
            break;
          // Not an exact match: keep the state, the peer may send a challenge ACK.
          newState = oldState;
        }
        // The SYN case needs the RST to come from the other side: an RST
        // from the SYN's own sender does not answer it. (Linux 6.18 behaves
        // so; found by the randomized kernel comparison: a client RST acking
        // 0 after an ignored SYN/ACK is window-checked, not let through.)
        if (
          ((status & CtStatus.SEEN_REPLY && u8[b8 + B_LAST_INDEX] === TcpIndex.SYN && u8[b8 + B_LAST_DIR] !== dir) ||
            (!(status & CtStatus.ASSURED) && u8[b8 + B_LAST_INDEX] === TcpIndex.ACK)) &&
          p.ack === w[b32 + W_LAST_END]
        ) {
          // RST answering a SYN or ACK we let through while out of sync (a, c):
          // accept without window checks (it may ack what we ignored).
          skipWindow = true;
          break;
        }
        // RST answering a challenge ACK we let through in SYN_SENT.
        if (
          oldState === sSS &&
          u8[b8 + B_LAST_INDEX] === TcpIndex.ACK &&
          u8[b8 + B_LAST_DIR] === 1 &&
          p.seq === w[b32 + W_LAST_ACK]
        ) {
          skipWindow = true;
        }
        break;
      }
      default:
        break;
    }

    if (!skipWindow) {
      const res = this.inWindow(dir, index, p);
      if (res === NFCT_TCP_IGNORE) return CtVerdict.IGNORE;
      if (res === NFCT_TCP_INVALID) {
        this.handleInvalid(dir, index, now);
        return CtVerdict.INVALID;
      }
    }

    // in_window: from here on the segment is in window.
    u8[b8 + B_LAST_INDEX] = index;
    u8[b8 + B_LAST_DIR] = dir;
    u8[b8 + B_TSTATE] = newState;
    if (oldState !== newState && newState === sFW) u8[sender8 + TD_FLAGS] |= TcpFlagCt.CLOSE_INIT;

    const timeouts = this.timeouts;
    let timeout: number;
    if (u8[b8 + B_RETRANS] >= this.s.tcp_max_retrans && timeouts[newState] > timeouts[TcpState.RETRANS]) {
      timeout = timeouts[TcpState.RETRANS];
    } else if (index === TcpIndex.RST) {
      timeout = timeouts[sCL];
    } else if (
      (u8[b8 + B_SIDE0 + TD_FLAGS] | u8[b8 + B_SIDE1 + TD_FLAGS]) & TcpFlagCt.DATA_UNACKNOWLEDGED &&
      timeouts[newState] > timeouts[TcpState.UNACK]
    ) {
      timeout = timeouts[TcpState.UNACK];
    } else if (u16[b16 + H_LAST_WIN] === 0 && timeouts[newState] > timeouts[TcpState.RETRANS]) {
      timeout = timeouts[TcpState.RETRANS];
    } else {
      timeout = timeouts[newState];
    }

    if (newState !== oldState) u8[b8 + B_EV] |= CtEventBit.PROTOINFO;
    if (this.pickup) {
      this.note = `picked up mid-stream (tcp_loose=1): ${TRANSITION_NOTES[oldState][newState]}, window checks liberal`;
    } else if (this.note === '') {
      this.note = TRANSITION_NOTES[oldState][newState];
    }

    const status = u16[b16 + H_STATUS];
    if (!(status & CtStatus.SEEN_REPLY)) {
      // Only a RST came back: no connection, delete the entry now.
      if (p.tcpFlags & TcpFlag.RST) {
        this.note = `RST while no reply was seen: the entry is deleted (${TRANSITION_NOTES[oldState][newState]})`;
        return CtVerdict.KILL;
      }
      // A retransmitted SYN does not renew the timeout (port reuse could
      // otherwise keep the entry alive forever).
      if (index === TcpIndex.SYN && oldState === sSS) {
        this.note = 'retransmitted SYN (timeout not renewed)';
        return CtVerdict.ACCEPT;
      }
      // Picked up mid-stream, nothing seen from the other side yet.
      if (newState === sES && timeout > timeouts[TcpState.UNACK]) timeout = timeouts[TcpState.UNACK];
    } else if (!(status & CtStatus.ASSURED) && (oldState === sSR || oldState === sES) && newState === sES) {
      // A valid ACK in ESTABLISHED after SYN_RECV, or a valid answer for a picked-up connection.
      st.setAssured(slot);
    }
    st.f64[slot * S64 + F_DEADLINE] = now + timeout; // nf_ct_refresh_acct()
    return CtVerdict.ACCEPT;
  }

  /** tcp_in_window(): sequence / ack bounds and window bookkeeping, in the kernel's order. */
  private inWindow(dir: number, index: number, p: DecodedPacket): number {
    const u8 = this.u8;
    const u16 = this.u16;
    const w = this.w;
    const b8 = this.b8;
    const b16 = this.b16;
    const b32 = this.b32;
    const sender = b32 + W_SIDE0 + 4 * dir;
    const sender8 = b8 + B_SIDE0 + 2 * dir;
    const receiver = b32 + W_SIDE0 + 4 * (dir ^ 1);
    const receiver8 = b8 + B_SIDE0 + 2 * (dir ^ 1);
    const flags = p.tcpFlags;
    const syn = (flags & TcpFlag.SYN) !== 0;
    const hasAck = (flags & TcpFlag.ACK) !== 0;

    // Get the required data from the packet.
    let seq = p.seq;
    let ack = p.ack;
    let sack = ack;
    const win_raw = p.window;
    let win = win_raw;
    let end = this.end;

    // tcp_sack(): the right edge of the highest SACK block.
    if (u8[receiver8 + TD_FLAGS] & TcpFlagCt.SACK_PERM && p.sackMaxRight >= 0) sack = p.sackMaxRight >>> 0;

    if (w[sender + TD_MAXWIN] === 0) {
      // Initialize sender data.
      if (syn) {
        // SYN/ACK answering the SYN, or a SYN from the reply side (simultaneous open).
        this.initSender(sender, sender8, receiver8, p, win, dir);
        if (!hasAck) return NFCT_TCP_ACCEPT;
      } else {
        // We are in the middle of a connection, its history is lost for
        // us: use what this segment tells.
        w[sender + TD_END] = end;
        const swin = u32(win << u8[sender8 + TD_SCALE]);
        w[sender + TD_MAXWIN] = swin === 0 ? 1 : swin;
        w[sender + TD_MAXEND] = end + w[sender + TD_MAXWIN];
        if (w[receiver + TD_MAXWIN] === 0) {
          // Nothing seen the other way yet: make checks III and IV pass.
          w[receiver + TD_END] = sack;
          w[receiver + TD_MAXEND] = sack;
        } else if (sack === u32(w[receiver + TD_END] + 1)) {
          // Likely the answer to a keep-alive (needed for III).
          w[receiver + TD_END] = w[receiver + TD_END] + 1;
        }
      }
    } else if (syn && after(end, w[sender + TD_END]) && (u8[b8 + B_TSTATE] === sSS || u8[b8 + B_TSTATE] === sSR)) {
      // RFC 793: a reinitialized TCP uses higher sequence numbers; re-init this side.
      this.initSender(sender, sender8, receiver8, p, win, dir);
      if (dir === 1 && !hasAck) return NFCT_TCP_ACCEPT;
    }

    // (`!ack` and `!seq` below are `=== 0`: both are whole uint32s, never NaN. Written as `=== 0`, V8 trains
    // the compare on the first small values it sees and deoptimizes inWindow when one past 2^31 arrives, twice
    // per run; a recompile of inWindow costs ~30 M instructions.)
    if (!hasAck) {
      // No ACK: pretend it was set and acknowledges everything seen.
      ack = sack = w[receiver + TD_END];
    } else if ((flags & (TcpFlag.ACK | TcpFlag.RST)) === (TcpFlag.ACK | TcpFlag.RST) && !ack) {
      // Broken TCP stacks send RST+ACK with ack 0.
      ack = sack = w[receiver + TD_END];
    }

    if (flags & TcpFlag.RST && !seq && u8[b8 + B_TSTATE] === sSS) {
      // RST sent answering a SYN.
      seq = end = w[sender + TD_END];
    }

    // The checks read each side's fields once, into locals in the kernel's
    // names (the receiver's with r_).
    const td_end = w[sender + TD_END];
    const td_maxend = w[sender + TD_MAXEND];
    const td_maxwin = w[sender + TD_MAXWIN];
    const r_td_end = w[receiver + TD_END];
    const r_td_maxwin = w[receiver + TD_MAXWIN];
    const maxAckWindow = td_maxwin > MAXACKWINCONST ? td_maxwin : MAXACKWINCONST; // MAXACKWINDOW(sender)
    const lowerEnd = u32(td_end - r_td_maxwin);
    // I. seq <= sender->td_maxend
    if (!before(seq, u32(td_maxend + 1))) {
      const overshot = u32(end - td_maxend + 1);
      const ack_ok = after(sack, u32(r_td_end - maxAckWindow - 1));
      const in_recv_win = r_td_maxwin !== 0 && after(end, u32(lowerEnd - 1));
      if (in_recv_win && ack_ok && overshot <= r_td_maxwin && before(sack, u32(r_td_end + 1))) {
        // More data than the window allows: let it pass as "ignored" but
        // remember its end, so the ACK for it is not over the upper bound.
        w[sender + TD_END] = end;
        u8[sender8 + TD_FLAGS] |= TcpFlagCt.DATA_UNACKNOWLEDGED;
        return this.logInvalid(
          sender8,
          NFCT_TCP_IGNORE,
          `${overshot} bytes more than the receiver's window allows (seq ${seq}, end ${end}, window end ${td_maxend})`,
        );
      }
      return this.logInvalid(
        sender8,
        NFCT_TCP_INVALID,
        `SEQ is over the upper bound (over the window of the receiver): seq ${seq} outside [${lowerEnd}, ${td_maxend}]`,
      );
    }
    // III. sack <= receiver->td_end
    if (!before(sack, u32(r_td_end + 1))) {
      return this.logInvalid(
        sender8,
        NFCT_TCP_INVALID,
        `ACK is over the upper bound (ACKed data not seen yet): ack ${sack} is past ${r_td_end}, the end of what the other side sent`,
      );
    }
    // II. end >= sender->td_end - receiver->td_maxwin: is the ending sequence in the receive window?
    const in_recv_win = r_td_maxwin === 0 || after(end, u32(lowerEnd - 1));
    if (!in_recv_win) {
      return this.logInvalid(
        sender8,
        NFCT_TCP_IGNORE,
        `SEQ is under the lower bound (already ACKed data retransmitted): segment end ${end} is before ${lowerEnd}`,
      );
    }
    // IV. sack >= receiver->td_end - MAXACKWINDOW(sender)
    const ackLow = u32(r_td_end - maxAckWindow);
    if (!after(sack, u32(ackLow - 1))) {
      return this.logInvalid(
        sender8,
        NFCT_TCP_IGNORE,
        `ACK is under the lower bound (possibly overly delayed): ack ${sack} is before ${ackLow}`,
      );
    }

    // Take into account window scaling (RFC 1323); not on SYNs.
    if (!syn) win = u32(win << u8[sender8 + TD_SCALE]);

    // Update sender data.
    const swin = u32(win + (sack - ack));
    if (w[sender + TD_MAXWIN] < swin) w[sender + TD_MAXWIN] = swin;
    if (after(end, w[sender + TD_END])) {
      w[sender + TD_END] = end;
      u8[sender8 + TD_FLAGS] |= TcpFlagCt.DATA_UNACKNOWLEDGED;
    }
    if (hasAck) {
      if (!(u8[sender8 + TD_FLAGS] & TcpFlagCt.MAXACK_SET)) {
        w[sender + TD_MAXACK] = ack;
        u8[sender8 + TD_FLAGS] |= TcpFlagCt.MAXACK_SET;
      } else if (after(ack, w[sender + TD_MAXACK])) {
        w[sender + TD_MAXACK] = ack;
      }
    }

    // Update receiver data.
    if (w[receiver + TD_MAXWIN] !== 0 && after(end, w[sender + TD_MAXEND])) {
      w[receiver + TD_MAXWIN] = w[receiver + TD_MAXWIN] + (end - w[sender + TD_MAXEND]);
    }
    if (after(u32(sack + win), u32(w[receiver + TD_MAXEND] - 1))) {
      w[receiver + TD_MAXEND] = win === 0 ? sack + win + 1 : sack + win;
    }
    if (ack === w[receiver + TD_END]) u8[receiver8 + TD_FLAGS] &= ~TcpFlagCt.DATA_UNACKNOWLEDGED;

    // Check retransmissions (the same pure ACK again).
    if (index === TcpIndex.ACK) {
      if (
        u8[b8 + B_LAST_DIR] === dir &&
        w[b32 + W_LAST_SEQ] === seq &&
        w[b32 + W_LAST_ACK] === ack &&
        w[b32 + W_LAST_END] === end &&
        u16[b16 + H_LAST_WIN] === win_raw
      ) {
        u8[b8 + B_RETRANS] = u8[b8 + B_RETRANS] + 1;
      } else {
        u8[b8 + B_LAST_DIR] = dir;
        w[b32 + W_LAST_SEQ] = seq;
        w[b32 + W_LAST_ACK] = ack;
        w[b32 + W_LAST_END] = end;
        u16[b16 + H_LAST_WIN] = win_raw;
        u8[b8 + B_RETRANS] = 0;
      }
    }
    return NFCT_TCP_ACCEPT;
  }

  /** tcp_init_sender(): the sender's side from its SYN (or SYN/ACK). */
  private initSender(
    sender: number,
    sender8: number,
    receiver8: number,
    p: DecodedPacket,
    win: number,
    dir: number,
  ): void {
    const u8 = this.u8;
    const w = this.w;
    const end = this.end;
    w[sender + TD_END] = end;
    w[sender + TD_MAXEND] = end;
    w[sender + TD_MAXWIN] = win === 0 ? 1 : win;
    this.options(p, sender8);
    // RFC 1323: window scaling only when both sides sent the option.
    if (
      dir === 1 &&
      !(u8[sender8 + TD_FLAGS] & TcpFlagCt.WINDOW_SCALE && u8[receiver8 + TD_FLAGS] & TcpFlagCt.WINDOW_SCALE)
    ) {
      u8[sender8 + TD_SCALE] = 0;
      u8[receiver8 + TD_SCALE] = 0;
    }
  }

  /** nf_tcp_log_invalid(): a liberal sender or tcp_be_liberal turns the verdict into accept. */
  private logInvalid(sender8: number, ret: number, msg: string): number {
    if (this.u8[sender8 + TD_FLAGS] & TcpFlagCt.BE_LIBERAL || this.s.tcp_be_liberal) {
      this.note = `${msg}; accepted anyway (${this.s.tcp_be_liberal ? 'tcp_be_liberal=1' : 'liberal window tracking of a picked-up connection'})`;
      return NFCT_TCP_ACCEPT;
    }
    this.note = ret === NFCT_TCP_IGNORE ? `${msg}; let through without updating the entry` : msg;
    return ret;
  }

  /**
   * nf_tcp_handle_invalid(): an out-of-window FIN/RST answering an
   * out-of-window FIN/RST from the other side shrinks the timeout of an
   * ASSURED entry to the unacknowledged timeout.
   */
  private handleInvalid(dir: number, index: number, now: number): void {
    const u8 = this.u8;
    const b8 = this.b8;
    const f64 = this.st!.f64;
    const deadline = this.slot * S64 + F_DEADLINE; // ct->timeout
    const status = this.u16[this.b16 + H_STATUS];
    if (!(status & CtStatus.ASSURED) || status & CtStatus.FIXED_TIMEOUT) return;
    if (index !== TcpIndex.RST && index !== TcpIndex.FIN) return;
    if (
      u8[b8 + B_LAST_DIR] !== dir &&
      (u8[b8 + B_LAST_INDEX] === TcpIndex.FIN || u8[b8 + B_LAST_INDEX] === TcpIndex.RST)
    ) {
      const expires = f64[deadline] - now; // nf_ct_expires()
      if (expires < 120) return;
      const unack = this.timeouts[TcpState.UNACK];
      if (expires > unack) {
        f64[deadline] = now + unack;
        this.note += `; timeout lowered to ${unack} s (FIN/RST answered by an out-of-window FIN/RST)`;
      }
    } else {
      u8[b8 + B_LAST_INDEX] = index;
      u8[b8 + B_LAST_DIR] = dir;
    }
  }
}

/** nf_ct_tcp_state_reset(). */
function resetSide(w: Uint32Array, u8: Uint8Array, side: number, side8: number): void {
  w[side + TD_END] = 0;
  w[side + TD_MAXEND] = 0;
  w[side + TD_MAXWIN] = 0;
  w[side + TD_MAXACK] = 0;
  u8[side8 + TD_SCALE] = 0;
  u8[side8 + TD_FLAGS] &= TcpFlagCt.BE_LIBERAL;
}

/** tcp_can_early_drop(): closing states. */
export function canEarlyDrop(state: number): boolean {
  return state === sFW || state === sLA || state === sTW || state === sCL || state === sCW;
}

/**
 * nf_conntrack_tcp_packet() in the trackers' common signature (l4proto.ts):
 * the table's TcpTracker does the work (the record tells new from confirmed).
 */
export function tcpPacket(
  c: CtPacketCtx,
  slot: number,
  dir: number,
  _isNew: boolean,
  p: DecodedPacket,
): CtVerdictValue {
  const t = c.tcp;
  t.now = c.now;
  const v = t.process(c.st, slot, p, dir);
  c.note = t.note;
  return v;
}
