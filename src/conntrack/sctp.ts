/**
 * SCTP connection tracking (nf_conntrack_proto_sctp.c): the association's
 * state, moved chunk by chunk through a table of transitions, and the
 * verification tags each direction must carry. The states (SctpState,
 * SCTP_STATE_NAMES) are in types.ts with TCP's.
 *
 * Deliberate differences from the kernel: the timeouts are the kernel's
 * defaults, not settable from rule files yet; chunks past the 32nd of a
 * packet only count as present (DecodedPacket.sctpMap), they do not move
 * the state.
 */
import { SCTP_MAX_CHUNKS, type DecodedPacket } from '../packet/types.js';
import { DecodeNote } from '../packet/types.js';
import {
  B_EV,
  B_LAST_DIR,
  B_LAST_FLAGS,
  B_TSTATE,
  CtEventBit,
  F_DEADLINE,
  S32,
  S64,
  STRIDE,
  W_SIDE0,
  W_SIDE1,
} from './entry.js';
import { CtVerdict, type CtPacketCtx, type CtVerdictValue } from './l4proto.js';
import { SCTP_STATE_NAMES, SctpState } from './types.js';

/**
 * Seconds an entry lives in each state (net.netfilter.nf_conntrack_sctp_timeout_*,
 * kernel defaults; index = state, NONE uses CLOSED's). Not settable from rule
 * files yet, like the GRE timeouts.
 */
export const SCTP_TIMEOUTS: readonly number[] = [10, 10, 3, 3, 210, 3, 3, 3, 30];

/** Chunk types the tracker looks at (SCTP_CID_*). */
export const SctpChunk = {
  DATA: 0,
  INIT: 1,
  INIT_ACK: 2,
  SACK: 3,
  HEARTBEAT: 4,
  HEARTBEAT_ACK: 5,
  ABORT: 6,
  SHUTDOWN: 7,
  SHUTDOWN_ACK: 8,
  ERROR: 9,
  COOKIE_ECHO: 10,
  COOKIE_ACK: 11,
  SHUTDOWN_COMPLETE: 14,
} as const;

/** The T bit of ABORT and SHUTDOWN_COMPLETE: the sender had no TCB and reflected the peer's tag. */
export const SCTP_CHUNK_FLAG_T = 1;

/** Row of the transition table for a chunk type, or -1: other chunks (DATA, SACK, ...) leave the state alone. */
export function chunkRow(type: number): number {
  switch (type) {
    case SctpChunk.INIT:
      return 0;
    case SctpChunk.INIT_ACK:
      return 1;
    case SctpChunk.ABORT:
      return 2;
    case SctpChunk.SHUTDOWN:
      return 3;
    case SctpChunk.SHUTDOWN_ACK:
      return 4;
    case SctpChunk.ERROR:
      return 5;
    case SctpChunk.COOKIE_ECHO:
      return 6;
    case SctpChunk.COOKIE_ACK:
      return 7;
    case SctpChunk.SHUTDOWN_COMPLETE:
      return 8;
    case SctpChunk.HEARTBEAT:
      return 9;
    case SctpChunk.HEARTBEAT_ACK:
      return 10;
    default:
      return -1;
  }
}

const _sNO = SctpState.NONE,
  sCL = SctpState.CLOSED,
  sCW = SctpState.COOKIE_WAIT,
  sCE = SctpState.COOKIE_ECHOED;
const sES = SctpState.ESTABLISHED,
  sSS = SctpState.SHUTDOWN_SENT,
  sSR = SctpState.SHUTDOWN_RECD;
const sSA = SctpState.SHUTDOWN_ACK_SENT,
  sHS = SctpState.HEARTBEAT_SENT,
  sIV = SctpState.INVALID;

/** sctp_conntracks[dir][chunk row][state]: the state after a chunk (sctp_new_state). */
const TABLE: readonly (readonly (readonly number[])[])[] = [
  [
    //                 sNO  sCL  sCW  sCE  sES  sSS  sSR  sSA  sHS      ORIGINAL direction
    /* init         */ [sCL, sCL, sCW, sCE, sES, sCL, sCL, sSA, sCW],
    /* init_ack     */ [sCL, sCL, sCW, sCE, sES, sSS, sSR, sSA, sCL],
    /* abort        */ [sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL],
    /* shutdown     */ [sCL, sCL, sCW, sCE, sSS, sSS, sSR, sSA, sCL],
    /* shutdown_ack */ [sSA, sCL, sCW, sCE, sES, sSA, sSA, sSA, sSA],
    /* error        */ [sCL, sCL, sCW, sCE, sES, sSS, sSR, sSA, sCL],
    /* cookie_echo  */ [sCL, sCL, sCE, sCE, sES, sSS, sSR, sSA, sCL],
    /* cookie_ack   */ [sCL, sCL, sCW, sES, sES, sSS, sSR, sSA, sCL],
    /* shutdown_comp*/ [sCL, sCL, sCW, sCE, sES, sSS, sSR, sCL, sCL],
    /* heartbeat    */ [sHS, sCL, sCW, sCE, sES, sSS, sSR, sSA, sHS],
    /* heartbeat_ack*/ [sCL, sCL, sCW, sCE, sES, sSS, sSR, sSA, sHS],
  ],
  [
    //                 sNO  sCL  sCW  sCE  sES  sSS  sSR  sSA  sHS      REPLY direction
    /* init         */ [sIV, sCL, sCW, sCE, sES, sSS, sSR, sSA, sIV],
    /* init_ack     */ [sIV, sCW, sCW, sCE, sES, sSS, sSR, sSA, sIV],
    /* abort        */ [sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sIV],
    /* shutdown     */ [sIV, sCL, sCW, sCE, sSR, sSS, sSR, sSA, sIV],
    /* shutdown_ack */ [sIV, sCL, sCW, sCE, sES, sSA, sSA, sSA, sIV],
    /* error        */ [sIV, sCL, sCW, sCL, sES, sSS, sSR, sSA, sIV],
    /* cookie_echo  */ [sIV, sCL, sCE, sCE, sES, sSS, sSR, sSA, sIV],
    /* cookie_ack   */ [sIV, sCL, sCW, sES, sES, sSS, sSR, sSA, sIV],
    /* shutdown_comp*/ [sIV, sCL, sCW, sCE, sES, sSS, sSR, sCL, sIV],
    /* heartbeat    */ [sIV, sCL, sCW, sCE, sES, sSS, sSR, sSA, sHS],
    /* heartbeat_ack*/ [sIV, sCL, sCW, sCE, sES, sSS, sSR, sSA, sES],
  ],
];

/** sctp_new_state(): the state after a chunk of `type` in direction `dir` (0 original, 1 reply). */
export function sctpNewState(dir: number, state: number, type: number): number {
  const row = chunkRow(type);
  return row < 0 ? state : TABLE[dir][row][state];
}

/** Chunk type names for reasons (cold). */
export function chunkName(type: number): string {
  const n = Object.entries(SctpChunk).find(([, v]) => v === type);
  return n ? n[0] : `chunk type ${type}`;
}

/** SCTP flags in the record's B_LAST_FLAGS: an INIT seen from each direction, a HEARTBEAT let through with an unknown tag. */
const SCTP_INIT_0 = 1;
const SCTP_INIT_1 = 2;
const SCTP_HB_VTAG_FAILED = 4;

/** 'SCTP ESTABLISHED', ...: the note of a packet that leaves its association in each state. */
const SCTP_NOTES: readonly string[] = SCTP_STATE_NAMES.map((name) => `SCTP ${name}`);

/**
 * sctp_error: a header fault the decoder noted, which makes conntrack call
 * the packet INVALID before any lookup; '' for none.
 */
export function sctpError(note: string): string {
  return note === DecodeNote.SCTP_SHORT ? `${note} (sctp_error)` : '';
}

/** Was a chunk of this type in the packet (DecodedPacket.sctpMap)? */
function chunkSeen(map: Uint32Array, type: number): boolean {
  return (map[type >>> 5] & (1 << (type & 31))) !== 0;
}

function hexTag(v: number): string {
  return `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
}

/**
 * nf_conntrack_sctp_packet(): null when the packet is accepted (the
 * note in c.note), else why it is INVALID. The association's state,
 * verification tags (vtag[dir]: the tag packets in direction dir must
 * carry), INIT flags and heartbeat bookkeeping live in the record's TCP
 * fields, unused by SCTP entries.
 */
function sctpTrack(c: CtPacketCtx, slot: number, dir: number, isNew: boolean, p: DecodedPacket): string | null {
  const st = c.st;
  const b8 = slot * STRIDE;
  const w = slot * S32;
  // Where the verification tags live: the one this direction must carry, and the peer's.
  const vMine = w + (dir === 0 ? W_SIDE0 : W_SIDE1);
  const vPeer = w + (dir === 0 ? W_SIDE1 : W_SIDE0);
  const initMine = dir === 0 ? SCTP_INIT_0 : SCTP_INIT_1;
  const initPeer = dir === 0 ? SCTP_INIT_1 : SCTP_INIT_0;
  const map = p.sctpMap;
  const vtag = p.sctpVtag >>> 0;
  const n = Math.min(p.sctpChunks, SCTP_MAX_CHUNKS);
  if (p.sctpBad)
    return 'SCTP chunks fail the basic checks: none, one of length 0, INIT / INIT_ACK / SHUTDOWN_COMPLETE not alone, or COOKIE_ECHO / COOKIE_ACK not first (do_basic_checks)';

  if (isNew) {
    // Sec 8.4: an out-of-the-blue packet with these chunks never starts anything.
    if (
      chunkSeen(map, SctpChunk.ABORT) ||
      chunkSeen(map, SctpChunk.SHUTDOWN_COMPLETE) ||
      chunkSeen(map, SctpChunk.COOKIE_ACK)
    ) {
      return 'an out-of-the-blue SCTP packet with ABORT, SHUTDOWN_COMPLETE or COOKIE_ACK cannot start an association (sctp_packet, RFC 9260 8.4)';
    }
    // sctp_new(): every chunk must be able to open the entry.
    st.u32[w + W_SIDE0] = 0;
    st.u32[w + W_SIDE1] = 0;
    st.u8[b8 + B_LAST_FLAGS] = 0;
    st.u8[b8 + B_LAST_DIR] = 0;
    for (let i = 0; i < n; i++) {
      const type = p.sctpTypes[i];
      const ns = sctpNewState(0, SctpState.NONE, type);
      if (ns === SctpState.NONE || ns === SctpState.INVALID) {
        return `an SCTP ${chunkName(type)} chunk cannot start an association: only INIT, or chunks an endpoint may send out of the blue, can (sctp_new)`;
      }
      if (type === SctpChunk.INIT) {
        if (vtag !== 0) return 'an SCTP INIT with a non-zero verification tag (sctp_new, RFC 9260 8.5.1 A)';
        if (p.sctpInitTag[i] < 0) return 'an SCTP INIT chunk too short for its header (sctp_new)';
        st.u32[w + W_SIDE1] = p.sctpInitTag[i];
      } else if (type === SctpChunk.HEARTBEAT) {
        st.u32[w + W_SIDE0] = vtag;
      } else {
        st.u32[w + W_SIDE1] = vtag;
      }
    }
    st.u8[b8 + B_TSTATE] = SctpState.NONE;
  }

  // Sec 8.5: the verification tag, except for chunks with rules of their own.
  if (
    !chunkSeen(map, SctpChunk.INIT) &&
    !chunkSeen(map, SctpChunk.SHUTDOWN_COMPLETE) &&
    !chunkSeen(map, SctpChunk.COOKIE_ECHO) &&
    !chunkSeen(map, SctpChunk.ABORT) &&
    !chunkSeen(map, SctpChunk.SHUTDOWN_ACK) &&
    !chunkSeen(map, SctpChunk.HEARTBEAT) &&
    !chunkSeen(map, SctpChunk.HEARTBEAT_ACK) &&
    vtag !== st.u32[vMine]
  ) {
    return `SCTP verification tag ${hexTag(vtag)} is not the association's ${hexTag(st.u32[vMine])} for this direction (sctp_packet, RFC 9260 8.5)`;
  }

  let oldState: number = SctpState.NONE;
  let newState: number = SctpState.NONE;
  let ignore = false;
  const fl = b8 + B_LAST_FLAGS;
  for (let i = 0; i < n; i++) {
    const type = p.sctpTypes[i];
    const tFlag = (p.sctpFlags[i] & SCTP_CHUNK_FLAG_T) !== 0;
    if (type === SctpChunk.INIT) {
      if (vtag !== 0) return 'an SCTP INIT with a non-zero verification tag (RFC 9260 8.5.1 A)';
    } else if (type === SctpChunk.ABORT || type === SctpChunk.SHUTDOWN_COMPLETE) {
      // Our own tag, or with the T bit the peer's.
      if (vtag !== st.u32[tFlag ? vPeer : vMine]) {
        return `SCTP ${chunkName(type)} with verification tag ${hexTag(vtag)}, not the ${tFlag ? "peer's (T bit set)" : "association's"} (RFC 9260 8.5.1 B/C)`;
      }
    } else if (type === SctpChunk.COOKIE_ECHO) {
      if (vtag !== st.u32[vMine])
        return `SCTP COOKIE_ECHO with verification tag ${hexTag(vtag)}, not the INIT_ACK's initiate tag (RFC 9260 8.5.1 D)`;
    } else if (type === SctpChunk.COOKIE_ACK) {
      st.u8[fl] &= ~(SCTP_INIT_0 | SCTP_INIT_1);
    } else if (type === SctpChunk.HEARTBEAT || type === SctpChunk.HEARTBEAT_ACK) {
      const cur = st.u32[vMine];
      if (cur === 0) {
        st.u32[vMine] = vtag;
      } else if (vtag !== cur) {
        if (chunkSeen(map, SctpChunk.DATA) || ignore)
          return `SCTP ${chunkName(type)} with verification tag ${hexTag(vtag)}, not the association's (sctp_packet)`;
        if (type === SctpChunk.HEARTBEAT) {
          // Maybe a restarted peer: let it through once and see whether the answer confirms the new tag.
          st.u8[fl] |= SCTP_HB_VTAG_FAILED;
          st.u8[b8 + B_LAST_DIR] = dir;
          ignore = true;
          continue;
        }
        if ((st.u8[fl] & SCTP_HB_VTAG_FAILED) === 0 || st.u8[b8 + B_LAST_DIR] === dir) {
          return `SCTP HEARTBEAT_ACK with verification tag ${hexTag(vtag)}, not the association's (sctp_packet)`;
        }
        st.u8[fl] &= ~SCTP_HB_VTAG_FAILED;
        st.u32[vMine] = vtag;
        st.u32[vPeer] = 0;
      } else {
        st.u8[fl] &= ~SCTP_HB_VTAG_FAILED;
      }
    }

    oldState = st.u8[b8 + B_TSTATE];
    newState = sctpNewState(dir, oldState, type);
    if (newState === SctpState.INVALID) {
      return `an SCTP ${chunkName(type)} chunk in the ${dir ? 'reply' : 'original'} direction is not possible in ${SCTP_STATE_NAMES[oldState]} (sctp_new_state)`;
    }
    if (type === SctpChunk.INIT) {
      if (p.sctpInitTag[i] < 0) return 'an SCTP INIT chunk too short for its header (sctp_packet)';
      if (st.u8[fl] & initMine && st.u8[fl] & initPeer) st.u8[fl] &= ~initPeer;
      st.u8[fl] |= initMine;
      st.u32[vPeer] = p.sctpInitTag[i];
      // An INIT retransmitted on a closed entry does not renew its timeout.
      if (newState === SctpState.CLOSED && oldState === SctpState.CLOSED && !isNew) ignore = true;
    } else if (type === SctpChunk.INIT_ACK) {
      const tag = p.sctpInitTag[i];
      if (tag < 0) return 'an SCTP INIT_ACK chunk too short for its header (sctp_packet)';
      const peer = st.u32[vPeer];
      if (!(st.u8[fl] & initPeer) && peer !== 0 && peer !== tag)
        return `SCTP INIT_ACK initiate tag ${hexTag(tag)} contradicts the tag ${hexTag(peer)} already known (sctp_packet)`;
      if (st.u8[fl] & initMine && st.u8[fl] & initPeer && peer !== tag)
        return 'SCTP INIT_ACK in an INIT collision with another initiate tag (sctp_packet)';
      st.u32[vPeer] = tag;
    }
    st.u8[b8 + B_TSTATE] = newState;
    if (oldState !== newState) {
      st.u8[b8 + B_EV] |= CtEventBit.PROTOINFO;
      if (newState === SctpState.ESTABLISHED) st.setAssured(slot);
    }
  }
  c.note = SCTP_NOTES[newState];
  // Let through, but the timeout is not renewed.
  if (ignore) return null;
  st.f64[slot * S64 + F_DEADLINE] = c.now + SCTP_TIMEOUTS[newState];
  return null;
}

/** nf_conntrack_sctp_packet() in the trackers' common signature (l4proto.ts). */
export function sctpPacket(
  c: CtPacketCtx,
  slot: number,
  dir: number,
  isNew: boolean,
  p: DecodedPacket,
): CtVerdictValue {
  const msg = sctpTrack(c, slot, dir, isNew, p);
  if (msg === null) return CtVerdict.ACCEPT;
  c.note = msg;
  return CtVerdict.INVALID;
}
