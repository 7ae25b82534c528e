/**
 * Watching the capture's clock for steps that change verdicts silently.
 *
 * The engine keeps the kernel's semantics: time is the capture's, and it
 * never goes back (Engine.now is the latest timestamp seen). So one packet
 * stamped a year ahead expires every conntrack entry and held fragment, and
 * the packets after it that belong to established connections become new
 * (or invalid); a packet stamped earlier than the one before it is judged at
 * the later time. Both are what the kernel would do with that clock, but
 * a capture rarely means it, so they are reported:
 *
 * - a forward jump: a packet later than the clock (the latest timestamp so
 *   far) by the largest timeout in force or more, after which nothing that
 *   was tracked is left (an entry is dead once its deadline is reached, as
 *   nf_ct_is_expired() says);
 * - a backward step: a packet earlier than the packet before it, by any
 *   amount.
 *
 * Not to flood: the first few of each kind are kept with their packet
 * number and size, for a warning line each; all are counted, with the
 * largest. Backward steps under SMALL_STEP (1 ms) are never listed one by
 * one: captures merged from several interfaces (tcpdump -i any, mergecap)
 * are full of microsecond reorderings, which change nothing that matters;
 * they are counted apart, for one line.
 *
 * Records are watched in capture order on the thread that reads them (the
 * single-threaded replay and the sharded one alike), so both count the same.
 * Nothing depends on the clock without connection tracking (stateful: false
 * has neither conntrack nor reassembly): no watch then.
 */
import { LATEST_TIMESTAMP_SEC, utcString } from '../capture/timestamp.js';
import type { CaptureRecord } from '../capture/types.js';
import { SCTP_TIMEOUTS } from '../conntrack/sctp.js';
import { GRE_TIMEOUT_STREAM, SCTP_STATE_NAMES, type ConntrackSettings } from '../conntrack/types.js';
import type { RuleSet } from '../rules/types.js';
import { IPV4_FRAG_TIMEOUT } from './defrag.js';

/** Clock steps of each kind kept for a line of their own. */
export const CLOCK_JUMPS_LISTED = 5;
/** Backward steps shorter than this (seconds) are counted, never listed. */
export const SMALL_STEP = 1e-3;

export interface ClockJump {
  kind: 'forward' | 'backward';
  /** The packet that stepped. */
  n: number;
  /** Byte offset of its record in the input. */
  offset: number;
  /** Its timestamp. */
  sec: number;
  nsec: number;
  /** forward: the clock it jumped from (latest time before it); backward: the previous packet's timestamp. */
  fromSec: number;
  fromNsec: number;
  /** The size of the step, seconds (> 0). */
  seconds: number;
}

export interface ClockStats {
  /** The largest timeout in force, and its setting's name: the forward-jump threshold. */
  limit: number;
  limitName: string;
  forward: number;
  largestForward: number;
  /** Backward steps, the small ones included. */
  backward: number;
  largestBackward: number;
  /** Backward steps under SMALL_STEP. */
  smallBackward: number;
  largestSmallBackward: number;
  /** The first CLOCK_JUMPS_LISTED forward jumps and backward steps of SMALL_STEP or more, in capture order. */
  listed: ClockJump[];
}

/** The largest timeout a flow or a held fragment can be given under `settings`, with its name. */
export function largestTimeout(
  settings: ConntrackSettings,
  ipfragTime = IPV4_FRAG_TIMEOUT,
): { seconds: number; name: string } {
  // (frag6_timeout is among the conntrack settings, so a lowered one counts as set.)
  let seconds = 0;
  let name = '';
  const consider = (s: number, n: string) => {
    if (s > seconds) {
      seconds = s;
      name = n;
    }
  };
  consider(ipfragTime, 'ipfrag_time');
  consider(GRE_TIMEOUT_STREAM, 'gre_timeout_stream');
  SCTP_TIMEOUTS.forEach((s, i) => consider(s, `sctp_timeout_${SCTP_STATE_NAMES[i].toLowerCase()}`));
  for (const [k, v] of Object.entries(settings)) {
    if (k.includes('timeout') && typeof v === 'number') consider(v, k);
  }
  return { seconds, name };
}

export class ClockWatch {
  private readonly stats: ClockStats;
  private started = false;
  /** The latest timestamp so far (the engine's clock), as a double and exactly. */
  private clock = 0;
  private clockSec = 0;
  private clockNsec = 0;
  private prev = 0;
  private prevSec = 0;
  private prevNsec = 0;
  private forwardListed = 0;
  private backwardListed = 0;

  /** `ipfragTime`: the rule set's `ipv4: ipfrag_time` (frag6_timeout is among the conntrack settings). */
  constructor(settings: ConntrackSettings, ipfragTime = IPV4_FRAG_TIMEOUT) {
    const { seconds, name } = largestTimeout(settings, ipfragTime);
    this.stats = {
      limit: seconds,
      limitName: name,
      forward: 0,
      largestForward: 0,
      backward: 0,
      largestBackward: 0,
      smallBackward: 0,
      largestSmallBackward: 0,
      listed: [],
    };
  }

  /** A watch for a rule set, or null when nothing it judges depends on the clock. */
  static forRuleSet(ruleset: RuleSet): ClockWatch | null {
    return ruleset.stateful ? new ClockWatch(ruleset.conntrack, ruleset.ipv4.ipfrag_time) : null;
  }

  /** The next record, in capture order (per packet: no allocation unless it steps). */
  observe(rec: CaptureRecord): void {
    const sec = rec.tsSec;
    const nsec = rec.tsNsec;
    if (!(sec >= 0 && sec <= LATEST_TIMESTAMP_SEC)) {
      // The capture readers refuse such records with their position; a packet
      // source of a library user's own gets this, rather than verdicts from a
      // clock that cannot add (capture/timestamp.ts).
      throw new RangeError(
        `packet ${rec.n} is stamped ${sec} s since 1970; fwemu judges packets stamped from 0 to ${LATEST_TIMESTAMP_SEC} s (${utcString(LATEST_TIMESTAMP_SEC)})`,
      );
    }
    // As Engine.process() computes it, so that "later" means what it means there.
    const t = sec + nsec * 1e-9;
    if (!this.started) {
      this.started = true;
      this.clock = t;
      this.clockSec = sec;
      this.clockNsec = nsec;
    } else {
      if (t < this.prev) this.backward(rec, this.prevSec, this.prevNsec);
      if (t > this.clock) {
        // Decided on the exact parts (the doubles' difference can be off by a microsecond either way).
        if (
          t - this.clock > this.stats.limit - 1 &&
          stepSeconds(this.clockSec, this.clockNsec, sec, nsec) >= this.stats.limit
        ) {
          this.forward(rec, this.clockSec, this.clockNsec);
        }
        this.clock = t;
        this.clockSec = sec;
        this.clockNsec = nsec;
      }
    }
    this.prev = t;
    this.prevSec = sec;
    this.prevNsec = nsec;
  }

  /** What was seen so far (a copy). */
  get result(): ClockStats {
    return { ...this.stats, listed: this.stats.listed.slice() };
  }

  private forward(rec: CaptureRecord, fromSec: number, fromNsec: number): void {
    const s = this.stats;
    const seconds = stepSeconds(fromSec, fromNsec, rec.tsSec, rec.tsNsec);
    s.forward++;
    if (seconds > s.largestForward) s.largestForward = seconds;
    if (this.forwardListed < CLOCK_JUMPS_LISTED) {
      this.forwardListed++;
      s.listed.push(jump('forward', rec, fromSec, fromNsec, seconds));
    }
  }

  private backward(rec: CaptureRecord, fromSec: number, fromNsec: number): void {
    const s = this.stats;
    const seconds = stepSeconds(rec.tsSec, rec.tsNsec, fromSec, fromNsec);
    s.backward++;
    if (seconds > s.largestBackward) s.largestBackward = seconds;
    if (seconds < SMALL_STEP) {
      s.smallBackward++;
      if (seconds > s.largestSmallBackward) s.largestSmallBackward = seconds;
    } else if (this.backwardListed < CLOCK_JUMPS_LISTED) {
      this.backwardListed++;
      s.listed.push(jump('backward', rec, fromSec, fromNsec, seconds));
    }
  }
}

/** b - a in seconds, from exact parts (the difference of the doubles loses nanoseconds). */
function stepSeconds(aSec: number, aNsec: number, bSec: number, bNsec: number): number {
  return bSec - aSec + (bNsec - aNsec) * 1e-9;
}

function jump(
  kind: ClockJump['kind'],
  rec: CaptureRecord,
  fromSec: number,
  fromNsec: number,
  seconds: number,
): ClockJump {
  return { kind, n: rec.n, offset: rec.fileOffset, sec: rec.tsSec, nsec: rec.tsNsec, fromSec, fromNsec, seconds };
}

/** Steps not listed one by one (beyond the first few, or small). */
export function unlistedSteps(s: ClockStats): number {
  return s.forward + s.backward - s.smallBackward - s.listed.length;
}
