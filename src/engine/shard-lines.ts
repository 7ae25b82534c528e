/**
 * Per-packet lines of a replay spread over worker threads, put in the order
 * one thread writes them.
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
import { HeldOrder, MAX_WAITING } from './held-order.js';

export type WriteLine = (bytes: Uint8Array, start: number, end: number) => void;

interface WaitingLine {
  n: number;
  bytes: Uint8Array;
  start: number;
  end: number;
}

export class LineOrder {
  private readonly order: HeldOrder<WaitingLine>;
  /** More lines would wait than one thread lets wait: nothing more is written. */
  overflowed = false;
  /** Lines written so far. */
  written = 0;

  constructor(
    private readonly write: WriteLine,
    private readonly maxWaiting = MAX_WAITING,
  ) {
    this.order = new HeldOrder<WaitingLine>((w) => this.out(w.bytes, w.start, w.end));
  }

  private out(bytes: Uint8Array, start: number, end: number): void {
    this.write(bytes, start, end);
    this.written++;
  }

  hold(n: number): void {
    this.order.hold(n);
  }

  /** A held fragment decided; `drain()` after the last of those decided while one packet was judged (InOrder takes them as one list). */
  released(n: number, bytes: Uint8Array, start: number, end: number): void {
    if (!this.overflowed) this.order.decide({ n, bytes, start, end });
  }

  /** The line of a packet decided when it was judged. */
  deliver(n: number, bytes: Uint8Array, start: number, end: number): void {
    if (this.overflowed) return;
    if (this.order.idle) {
      this.out(bytes, start, end);
      return;
    }
    if (this.order.waitingCount + 1 > this.maxWaiting) {
      // Where one thread would let the oldest held fragment go.
      this.overflowed = true;
      return;
    }
    this.order.wait({ n, bytes, start, end });
    this.order.drain();
  }

  /** Writes the lines no held fragment holds back any more. */
  drain(): void {
    if (!this.overflowed) this.order.drain();
  }
}
