/**
 * Per-packet output (lines, and records for --write-*) of a replay spread
 * over worker threads, put in the order one thread writes it.
 *
 * One thread's replay (replay.ts, InOrder) holds back every result after an
 * IP fragment whose datagram is not decided yet, and delivers them in
 * packet order once it is; past MAX_WAITING waiting results it lets the
 * oldest held fragment go out of order. The shards cannot do that among
 * themselves, so they hold nothing: they write every line as soon as its
 * packet is decided and report what happened (shard-protocol.ts: a line for
 * the packet just judged, a fragment held, a held one decided), and this
 * class plays those events, in the order the packets were judged, through
 * InOrder's own rules (held-order.ts). A shard notices a fragment's reassembly timer
 * running out at its own next packet, which may be later than one thread
 * would, so lines may wait longer here, never shorter: where they would
 * wait past MAX_WAITING, one thread may already have let a fragment go out
 * of order, and the replay cannot be exact from there (`overflowed`).
 */
import { HeldOrder, MAX_WAITING } from '../engine/held-order.js';
import type { ShardLines } from './shard-protocol.js';

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
