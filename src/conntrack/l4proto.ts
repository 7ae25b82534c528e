/**
 * What every protocol tracker shares (the kernel's nf_conntrack_l4proto.h):
 * one signature, one verdict set, one context.
 *
 *   xxxPacket(c, slot, dir, isNew, p): CtVerdictValue
 *
 * as nf_conntrack_<proto>_packet(): track packet `p` for the entry in
 * record `slot` of `c.st`, travelling in direction `dir` (0 original,
 * 1 reply); `isNew` when the entry was made for this packet and is not
 * confirmed yet. The tracker updates the record (state, deadline, ASSURED,
 * event bits) and leaves in `c.note` the reason (INVALID) or a short note.
 * The table (table.ts) dispatches with a switch on the protocol number
 * calling these module functions directly: no tracker objects, nothing
 * allocated per packet, calls V8 can inline.
 *
 * Trackers: tcp.ts, udp.ts (UDP, UDP-Lite), sctp.ts, icmp.ts (ICMP,
 * ICMPv6), gre.ts, generic.ts.
 */
import type { CtStore } from './entry.js';
import type { TcpTracker } from './tcp.js';
import type { ConntrackSettings } from './types.js';

/** A tracker's verdict on one packet. */
export const CtVerdict = {
  /** -NF_ACCEPT: invalid; the entry is left as it was (apart from what the tracker says it changed). */
  INVALID: 0,
  /** Tracked: state and timeout updated. */
  ACCEPT: 1,
  /** NF_ACCEPT without updating the entry (TCP: sIG / NFCT_TCP_IGNORE / challenge ACK). */
  IGNORE: 2,
  /** -NF_REPEAT: kill the entry and look the packet up again (TCP reopen from TIME_WAIT/CLOSE). */
  REPEAT: 3,
  /** Accepted, then the entry is deleted at once (TCP RST while no reply was seen). */
  KILL: 4,
} as const;
export type CtVerdictValue = (typeof CtVerdict)[keyof typeof CtVerdict];

/**
 * Times are seconds as doubles (~0.2 us resolution at today's epoch); they are
 * compared to the microsecond so that float rounding cannot move a deadline
 * across a packet stamped exactly on it. (The kernel counts in jiffies.)
 */
export const TIME_EPS = 1e-6;

/** What the table hands every tracker; one per table, reused for every packet. */
export class CtPacketCtx {
  /**
   * Capture time of the packet being tracked, set by the table (a field
   * rather than an argument: a double argument would be boxed on every call).
   */
  now = 0;
  /** The reason for INVALID, else a short note on what the packet did to its entry. */
  note = '';

  constructor(
    /** The table's records (entry.ts). */
    readonly st: CtStore,
    readonly settings: Readonly<ConntrackSettings>,
    /** The TCP tracker's own state (timeouts, the record being tracked). */
    readonly tcp: TcpTracker,
  ) {}
}
