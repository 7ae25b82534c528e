/**
 * Per-packet output (lines, and records for --write-*) of a replay spread
 * over worker threads, put in the order one thread writes it.
 *
 * One thread's replay (engine/replay.ts, InOrder) holds back every result after an
 * IP fragment whose datagram is not decided yet, and delivers them in
 * packet order once it is; past MAX_WAITING waiting results it lets the
 * oldest held fragment go out of order. The shards cannot do that among
 * themselves, so they hold nothing: they write every line as soon as its
 * packet is decided and report what happened (shard-protocol.ts: a line for
 * the packet just judged, a fragment held, a held one decided), and
 * playRound() plays those events, in the order the packets were judged, through
 * InOrder's own rules (held-order.ts). A shard notices a fragment's reassembly timer
 * running out at its own next packet, which may be later than one thread
 * would, so lines may wait longer here, never shorter: where they would
 * wait past MAX_WAITING, one thread may already have let a fragment go out
 * of order, and the replay cannot be exact from there (`overflowed`).
 */
import type { CaptureRecord } from '../capture/types.js';
import { HeldOrder, MAX_WAITING } from '../engine/held-order.js';
import {
  E_DIR,
  E_END,
  E_IF,
  E_JUDGED,
  E_KIND,
  E_LEN,
  E_LINE_END,
  E_LINK,
  E_N,
  E_NSEC,
  E_RECORD,
  E_SEC,
  EV,
  HELD,
  LINE,
  NO_RECORD,
  RELEASED,
  TO_ACCEPTED,
  type ShardLines,
} from './shard-protocol.js';

/**
 * Where a packet's output goes, in the order one thread writes it: its
 * line (bytes[start, end), empty with --format none), and its record if it
 * is to be written to the capture of accepted or of dropped packets (the
 * record object is reused for the next packet).
 */
export type WriteOutput = (
  bytes: Uint8Array,
  start: number,
  end: number,
  rec: CaptureRecord | null,
  to: 'accepted' | 'dropped' | null,
) => void;

/** One packet's output: event `i` of a shard's batch, whose bytes start at `start`. */
export interface PacketOutput {
  n: number;
  lines: ShardLines;
  i: number;
  start: number;
}

export class LineOrder {
  private readonly order: HeldOrder<PacketOutput>;
  /** More lines would wait than one thread lets wait: nothing more is written. */
  overflowed = false;
  /** Packets whose output was written so far. */
  written = 0;

  constructor(
    private readonly write: (o: PacketOutput) => void,
    private readonly maxWaiting = MAX_WAITING,
  ) {
    this.order = new HeldOrder<PacketOutput>((o) => this.out(o));
  }

  private out(o: PacketOutput): void {
    this.write(o);
    this.written++;
  }

  hold(n: number): void {
    this.order.hold(n);
  }

  /** A held fragment decided; `drain()` after the last of those decided while one packet was judged (InOrder takes them as one list). */
  released(o: PacketOutput): void {
    if (!this.overflowed) this.order.decide(o);
  }

  /** The output of a packet decided when it was judged. */
  deliver(o: PacketOutput): void {
    if (this.overflowed) return;
    if (this.order.idle) {
      this.out(o);
      return;
    }
    if (this.order.waitingCount + 1 > this.maxWaiting) {
      // Where one thread would let the oldest held fragment go.
      this.overflowed = true;
      return;
    }
    this.order.wait(o);
    this.order.drain();
  }

  /** Writes what no held fragment holds back any more. */
  drain(): void {
    if (!this.overflowed) this.order.drain();
  }
}

/**
 * Plays the shards' events of one round through `order`, in the order
 * their packets were judged. False when it overflowed (nothing more is written).
 */
export function playRound(order: LineOrder, all: ShardLines[]): boolean {
  const at = new Array<number>(all.length).fill(0);
  for (;;) {
    // The shard whose next event is about the earliest packet judged (a packet is judged by one shard only).
    let k = -1;
    let judged = Infinity;
    for (let j = 0; j < all.length; j++) {
      if (at[j] < all[j].count) {
        const t = all[j].events[at[j] * EV + E_JUDGED];
        if (k < 0 || t < judged) {
          k = j;
          judged = t;
        }
      }
    }
    if (k < 0) return true;
    at[k] = playEvents(order, all[k], at[k], judged);
    if (order.overflowed) return false;
  }
}

/**
 * Plays one shard's events from `from` on, while they are about the packet
 * `judged` (all of them, for Infinity): what InOrder's hold(), released()
 * and deliver() do for that packet. Returns where it stopped.
 */
export function playEvents(order: LineOrder, lines: ShardLines, from: number, judged: number): number {
  const e = lines.events;
  let i = from;
  let start = i > 0 ? e[(i - 1) * EV + E_END] : 0;
  let releasing = false;
  for (; i < lines.count && (judged === Infinity || e[i * EV + E_JUDGED] === judged); i++) {
    const kind = e[i * EV + E_KIND];
    const n = e[i * EV + E_N];
    if (kind === HELD) order.hold(n);
    else if (kind === RELEASED) {
      order.released({ n, lines, i, start });
      releasing = true;
    } else if (kind === LINE) {
      if (releasing) order.drain();
      releasing = false;
      order.deliver({ n, lines, i, start });
    }
    start = e[i * EV + E_END];
  }
  if (releasing) order.drain();
  return i;
}

/** A packet's output, from its event, to where it goes (`rec` is reused, its interface named from `ifNames`). */
export function writeOutput(o: PacketOutput, write: WriteOutput, ifNames: string[], rec: CaptureRecord): void {
  const e = o.lines.events;
  const i = o.i * EV;
  const lineEnd = e[i + E_LINE_END];
  const to = e[i + E_RECORD];
  if (to === NO_RECORD) {
    write(o.lines.bytes, o.start, lineEnd, null, null);
    return;
  }
  rec.n = o.n;
  rec.tsSec = e[i + E_SEC];
  rec.tsNsec = e[i + E_NSEC];
  rec.len = e[i + E_LEN];
  rec.linkType = e[i + E_LINK];
  rec.direction = e[i + E_DIR] as CaptureRecord['direction'];
  const ifName = e[i + E_IF];
  rec.ifName = ifName >= 0 ? ifNames[ifName] : '';
  rec.buf = o.lines.bytes;
  rec.off = lineEnd;
  rec.caplen = e[i + E_END] - lineEnd;
  write(o.lines.bytes, o.start, lineEnd, rec, to === TO_ACCEPTED ? 'accepted' : 'dropped');
}
