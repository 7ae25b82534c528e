/**
 * SCTP connection tracking (nf_conntrack_proto_sctp.c): the association's
 * state, moved chunk by chunk through a table of transitions, and the
 * verification tags each direction must carry.
 */

/** Tracker states (enum sctp_conntrack); `SCTP_STATE_NAMES` has their names. */
export const SctpState = {
  NONE: 0,
  CLOSED: 1,
  COOKIE_WAIT: 2,
  COOKIE_ECHOED: 3,
  ESTABLISHED: 4,
  SHUTDOWN_SENT: 5,
  SHUTDOWN_RECD: 6,
  SHUTDOWN_ACK_SENT: 7,
  HEARTBEAT_SENT: 8,
  /** SCTP_CONNTRACK_MAX: the transition is invalid. */
  INVALID: 9,
} as const;

/** As `conntrack -L` prints them. */
export const SCTP_STATE_NAMES: readonly string[] = [
  'NONE', 'CLOSED', 'COOKIE_WAIT', 'COOKIE_ECHOED', 'ESTABLISHED', 'SHUTDOWN_SENT', 'SHUTDOWN_RECD', 'SHUTDOWN_ACK_SENT', 'HEARTBEAT_SENT',
];

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
    case SctpChunk.INIT: return 0;
    case SctpChunk.INIT_ACK: return 1;
    case SctpChunk.ABORT: return 2;
    case SctpChunk.SHUTDOWN: return 3;
    case SctpChunk.SHUTDOWN_ACK: return 4;
    case SctpChunk.ERROR: return 5;
    case SctpChunk.COOKIE_ECHO: return 6;
    case SctpChunk.COOKIE_ACK: return 7;
    case SctpChunk.SHUTDOWN_COMPLETE: return 8;
    case SctpChunk.HEARTBEAT: return 9;
    case SctpChunk.HEARTBEAT_ACK: return 10;
    default: return -1;
  }
}

const sNO = SctpState.NONE, sCL = SctpState.CLOSED, sCW = SctpState.COOKIE_WAIT, sCE = SctpState.COOKIE_ECHOED;
const sES = SctpState.ESTABLISHED, sSS = SctpState.SHUTDOWN_SENT, sSR = SctpState.SHUTDOWN_RECD;
const sSA = SctpState.SHUTDOWN_ACK_SENT, sHS = SctpState.HEARTBEAT_SENT, sIV = SctpState.INVALID;

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
