/**
 * What the table tells about a packet (CtResult, reused from packet to
 * packet) and the table's counters (CtStats).
 */
import type { CtEntry } from './entry.js';
import type { ConntrackTable } from './table.js';
import { CtCode, CtState, type CtCodeValue, type CtStateName, type CtStateValue } from './types.js';

/** Outcome of process(). The table reuses one instance: copy what you keep. */
export class CtResult {
  /** nft `ct state` bit (CtState). */
  state: CtStateValue = CtState.INVALID;
  /** Its name: 'new' | 'established' | 'related' | 'invalid' | 'untracked'. */
  stateName: CtStateName = 'invalid';
  /** Machine-readable reason (CtCode). */
  code: CtCodeValue = CtCode.OK;
  /** The packet travels in the entry's reply direction. */
  reply = false;
  /** For 'invalid': why, as a sentence. Otherwise a short note (may be ''). */
  reason = '';
  /**
   * conntrack itself drops the packet (NF_DROP) before any rule sees it:
   * the table is full and nothing could be early-dropped. Also set by
   * confirm() when it refuses a NATed entry whose reply tuple is taken
   * (nat.ts): the packet is dropped after the rules accepted it.
   */
  drop = false;
  /** Packet number this result is for. */
  packet = 0;

  // The entries are made into CtEntry views only when asked for: a record
  // slot until then (-1 none), the view (or what a caller assigned) after.
  /** @internal */ table: ConntrackTable | null = null;
  /** @internal */ entrySlot = -1;
  /** @internal */ aboutSlot = -1;
  /** @internal */ isRelated = false;
  /** @internal */ entryView: CtEntry | null | undefined = null;
  /** @internal */ aboutView: CtEntry | null | undefined = null;

  /**
   * The entry the packet belongs to: a fresh unconfirmed one for a new flow,
   * the known one otherwise (for 'related': the entry the error is about).
   * null for 'invalid' and 'untracked' (nft sees no conntrack then).
   */
  get entry(): CtEntry | null {
    let e = this.entryView;
    if (e === undefined) e = this.entryView = this.table!.viewOf(this.entrySlot);
    return e;
  }
  set entry(e: CtEntry | null) {
    this.entryView = e;
  }
  /** For ICMP errors: the entry the error is about (same as entry). */
  get related(): CtEntry | null {
    return this.isRelated ? this.entry : null;
  }
  /** For 'invalid': the entry the packet would have belonged to, if one exists. */
  get about(): CtEntry | null {
    let e = this.aboutView;
    if (e === undefined) e = this.aboutView = this.table!.viewOf(this.aboutSlot);
    return e;
  }

  /**
   * @internal entry (0), related (1) or about (2) without making a lasting
   * view (see peekEntry in engine/result.ts): good until the next process().
   */
  peek(which: number): CtEntry | null {
    if (which === 2) return this.aboutView !== undefined ? this.aboutView : this.table!.transientView(this.aboutSlot);
    if (which === 1 && !this.isRelated) return null;
    return this.entryView !== undefined ? this.entryView : this.table!.transientView(this.entrySlot);
  }

  /** @internal */
  clear(packet: number): void {
    this.state = CtState.INVALID;
    this.stateName = 'invalid';
    this.code = CtCode.OK;
    this.reply = false;
    this.reason = '';
    this.drop = false;
    this.packet = packet;
    this.entrySlot = -1;
    this.aboutSlot = -1;
    this.isRelated = false;
    this.entryView = null;
    this.aboutView = null;
  }
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
  /** New NATed entries refused at confirm because their reply tuple was taken (the packet is dropped). */
  insertFailed: number;
}

export function newStats(): CtStats {
  return {
    inserted: 0,
    discarded: 0,
    invalid: 0,
    ignored: 0,
    related: 0,
    untracked: 0,
    earlyDrop: 0,
    tableFull: 0,
    expired: 0,
    reopened: 0,
    rstKilled: 0,
    insertFailed: 0,
  };
}
