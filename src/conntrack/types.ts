/**
 * Constants and shapes shared by the conntrack emulation.
 *
 * Numeric values follow the kernel wherever the kernel has one (nft's
 * `ct state` bits, IPS_* status bits, TCP_CONNTRACK_* states,
 * IP_CT_TCP_FLAG_* window-tracking flags), so that dumps and rule matching
 * can use the kernel's numbers directly.
 */

// ---------------------------------------------------------------------------
// ct state (what nft's "ct state" sees)

/**
 * nft `ct state` bits (NF_CT_STATE_*_BIT in nf_conntrack_common.h): a rule
 * `ct state established,related` is a mask test against these.
 */
export const CtState = {
  INVALID: 1,
  ESTABLISHED: 2,
  RELATED: 4,
  NEW: 8,
  UNTRACKED: 64,
} as const;
export type CtStateValue = (typeof CtState)[keyof typeof CtState];

export type CtStateName = 'new' | 'established' | 'related' | 'invalid' | 'untracked';

/** Name of a CtState value, as nft prints it. */
export function ctStateName(state: number): CtStateName {
  switch (state) {
    case CtState.NEW:
      return 'new';
    case CtState.ESTABLISHED:
      return 'established';
    case CtState.RELATED:
      return 'related';
    case CtState.UNTRACKED:
      return 'untracked';
    default:
      return 'invalid';
  }
}

/** Direction of a packet relative to its entry (IP_CT_DIR_*). */
export const CtDir = { ORIGINAL: 0, REPLY: 1 } as const;

// ---------------------------------------------------------------------------
// Entry status (IPS_* in uapi/linux/netfilter/nf_conntrack_common.h)

export const CtStatus = {
  EXPECTED: 1 << 0,
  SEEN_REPLY: 1 << 1,
  ASSURED: 1 << 2,
  CONFIRMED: 1 << 3,
  /** The reply tuple was altered by source NAT (nf_nat_setup_info changed the source). */
  SRC_NAT: 1 << 4,
  /** The reply tuple was altered by destination NAT. */
  DST_NAT: 1 << 5,
  /** Source NAT was decided for the entry (a rule or the null binding), changed or not. */
  SRC_NAT_DONE: 1 << 7,
  /** Destination NAT was decided for the entry. */
  DST_NAT_DONE: 1 << 8,
  DYING: 1 << 9,
  FIXED_TIMEOUT: 1 << 10,
} as const;

/** IPS_NAT_MASK: either NAT bit (the reply tuple is stored, not derived). */
export const CT_NAT_MASK = CtStatus.SRC_NAT | CtStatus.DST_NAT;
/** IPS_NAT_DONE_MASK. */
export const CT_NAT_DONE_MASK = CtStatus.SRC_NAT_DONE | CtStatus.DST_NAT_DONE;

// ---------------------------------------------------------------------------
// TCP

/** enum tcp_conntrack (uapi nf_conntrack_tcp.h). */
export const TcpState = {
  NONE: 0,
  SYN_SENT: 1,
  SYN_RECV: 2,
  ESTABLISHED: 3,
  FIN_WAIT: 4,
  CLOSE_WAIT: 5,
  LAST_ACK: 6,
  TIME_WAIT: 7,
  CLOSE: 8,
  SYN_SENT2: 9,
  /** Not a state: "invalid" in the transition table (TCP_CONNTRACK_MAX). */
  MAX: 10,
  /** Not a state: "ignore" in the transition table (TCP_CONNTRACK_IGNORE). */
  IGNORE: 11,
  /** Timeout slots only (TCP_CONNTRACK_RETRANS / TCP_CONNTRACK_UNACK). */
  RETRANS: 12,
  UNACK: 13,
} as const;

/** tcp_conntrack_names[], as conntrack -L prints them. */
export const TCP_STATE_NAMES: readonly string[] = [
  'NONE',
  'SYN_SENT',
  'SYN_RECV',
  'ESTABLISHED',
  'FIN_WAIT',
  'CLOSE_WAIT',
  'LAST_ACK',
  'TIME_WAIT',
  'CLOSE',
  'SYN_SENT2',
];

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
  'NONE',
  'CLOSED',
  'COOKIE_WAIT',
  'COOKIE_ECHOED',
  'ESTABLISHED',
  'SHUTDOWN_SENT',
  'SHUTDOWN_RECD',
  'SHUTDOWN_ACK_SENT',
  'HEARTBEAT_SENT',
];

/** Per-direction window tracking flags (IP_CT_TCP_FLAG_* in uapi nf_conntrack_tcp.h). */
export const TcpFlagCt = {
  WINDOW_SCALE: 0x01,
  SACK_PERM: 0x02,
  CLOSE_INIT: 0x04,
  BE_LIBERAL: 0x08,
  DATA_UNACKNOWLEDGED: 0x10,
  MAXACK_SET: 0x20,
  /** last_flags only: an RFC 5961 challenge ACK may follow (IP_CT_EXP_CHALLENGE_ACK). */
  EXP_CHALLENGE_ACK: 0x40,
  /** last_flags only: simultaneous open seen (IP_CT_TCP_SIMULTANEOUS_OPEN). */
  SIMULTANEOUS_OPEN: 0x80,
} as const;

/** enum tcp_bit_set: the row of the transition table a segment selects (get_conntrack_index). */
export const TcpIndex = {
  SYN: 0,
  SYNACK: 1,
  FIN: 2,
  ACK: 3,
  RST: 4,
  NONE: 5,
} as const;

export const TCP_INDEX_NAMES: readonly string[] = ['SYN', 'SYN/ACK', 'FIN', 'ACK', 'RST', 'NONE'];

/** struct ip_ct_tcp_state: what conntrack knows about one direction's sender. */
export interface TcpSide {
  /** max of seq + len seen from this side. */
  td_end: number;
  /** max of ack + max(win, 1) seen from the other side. */
  td_maxend: number;
  /** max window (scaled) seen from this side. */
  td_maxwin: number;
  /** max ack seen from this side (valid once MAXACK_SET). */
  td_maxack: number;
  /** window scale this side announced (0..14). */
  td_scale: number;
  /** TcpFlagCt bits. */
  flags: number;
}

/** struct ip_ct_tcp. */
export interface TcpCt {
  state: number;
  seen: [TcpSide, TcpSide];
  last_dir: number;
  /** u8 in the kernel: wraps at 256. */
  retrans: number;
  last_index: number;
  last_seq: number;
  last_ack: number;
  last_end: number;
  /** u16: raw (unscaled) window of the last segment annotated. */
  last_win: number;
  last_wscale: number;
  last_flags: number;
}

// ---------------------------------------------------------------------------
// Settings

/** The sysctls a rule file sets (base/sysctl.ts, so that rules need not import conntrack). */
export { DEFAULT_CONNTRACK_SETTINGS, type ConntrackSettings } from '../base/sysctl.js';

/**
 * GRE timeouts (net.netfilter.nf_conntrack_gre_timeout / _stream, kernel
 * defaults). Not in ConntrackSettings: the rule-file loader and its schema
 * list exactly those keys.
 */
export const GRE_TIMEOUT = 30;
export const GRE_TIMEOUT_STREAM = 180;

// ---------------------------------------------------------------------------
// Outcome codes

/**
 * Machine-readable reason of a process() outcome, so the engine can tell
 * e.g. a full table from an out-of-window segment without parsing text.
 */
export const CtCode = {
  OK: 0,
  /** New entry created (not yet confirmed). */
  NEW: 1,
  /** Existing entry, packet accepted by the tracker. */
  TRACKED: 2,
  /** Existing entry, packet let through but not used to update it (sIG / NFCT_TCP_IGNORE). */
  IGNORED: 3,
  /** ICMP error about a known entry. */
  RELATED: 4,
  /** Not tracked on purpose (ICMPv6 neighbour discovery / MLD). */
  UNTRACKED: 5,
  /** The tracker judged the packet invalid (bad flags, out of window, wrong state, ...). */
  INVALID: 10,
  /** No entry exists and this packet may not create one (e.g. a lone SYN/ACK, echo reply, tcp_loose=0). */
  INVALID_NEW: 11,
  /** ICMP error whose quoted packet matches no entry. */
  INVALID_ICMP_ERROR: 12,
  /** Not trackable at all: fragment without transport header, not IP, malformed. */
  INVALID_PACKET: 13,
  /** Table full and nothing could be early-dropped: conntrack drops the packet itself (NF_DROP). */
  TABLE_FULL: 20,
} as const;
export type CtCodeValue = (typeof CtCode)[keyof typeof CtCode];

// ---------------------------------------------------------------------------
// Events

export type CtEventType = 'NEW' | 'UPDATE' | 'DESTROY';

/** Why an entry left the table. */
export type CtDestroyCause =
  | 'expired' // its deadline passed on the capture clock
  | 'early-drop' // evicted to make room (table full)
  | 'reopen' // a SYN reopened a TIME_WAIT/CLOSE connection (nf_ct_kill + NF_REPEAT)
  | 'rst' // RST while no reply had been seen (nf_ct_kill_acct in tcp_packet)
  | 'flush'; // removed by flush()
