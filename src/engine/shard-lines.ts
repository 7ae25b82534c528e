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
 * InOrder's own rules. A shard notices a fragment's reassembly timer
 * running out at its own next packet, which may be later than one thread
 * would, so lines may wait longer here, never shorter: where they would
 * wait past MAX_WAITING, one thread may already have let a fragment go out
 * of order, and the replay cannot be exact from there (`overflowed`).
 */
import { MAX_WAITING } from './replay.js';

export type WriteLine = (bytes: Uint8Array, start: number, end: number) => void;

interface WaitingLine {
  n: number;
  bytes: Uint8Array;
  start: number;
  end: number;
}

export class LineOrder {
  /** Packet numbers of held fragments, ascending. */
  private held: number[] = [];
  private heldHead = 0;
  private decided = new Set<number>();
  private waiting: WaitingLine[] = [];
  private sorted = true;
  /** More lines would wait than one thread lets wait: nothing more is written. */
  overflowed = false;
  /** Lines written so far. */
  written = 0;

  constructor(
    private readonly write: WriteLine,
    private readonly maxWaiting = MAX_WAITING,
  ) {}

  hold(n: number): void {
    this.held.push(n);
  }

  /** A held fragment decided; `drain()` after the last of those decided while one packet was judged (InOrder takes them as one list). */
  released(n: number, bytes: Uint8Array, start: number, end: number): void {
    if (this.overflowed) return;
    if (this.heldHead < this.held.length && n >= this.held[this.heldHead]) this.decided.add(n);
    this.waiting.push({ n, bytes, start, end });
    this.sorted = false;
  }

  /** The line of a packet decided when it was judged. */
  deliver(n: number, bytes: Uint8Array, start: number, end: number): void {
    if (this.overflowed) return;
    if (this.heldHead === this.held.length && this.waiting.length === 0) {
      this.write(bytes, start, end);
      this.written++;
      return;
    }
    if (this.waiting.length + 1 > this.maxWaiting) {
      this.overflowed = true;
      return;
    }
    this.waiting.push({ n, bytes, start, end });
    this.drain();
  }

  /** Writes the lines no held fragment holds back any more. */
  drain(): void {
    if (this.overflowed) return;
    const held = this.held;
    while (this.heldHead < held.length && this.decided.delete(held[this.heldHead])) this.heldHead++;
    if (this.heldHead === held.length) {
      this.held = [];
      this.heldHead = 0;
    } else if (this.heldHead > 1024 && this.heldHead * 2 > held.length) {
      this.held = held.slice(this.heldHead);
      this.heldHead = 0;
    }
    const w = this.waiting;
    if (w.length === 0) return;
    if (!this.sorted) {
      w.sort((a, b) => a.n - b.n);
      this.sorted = true;
    }
    const limit = this.heldHead < this.held.length ? this.held[this.heldHead] : Infinity;
    let i = 0;
    for (; i < w.length && w[i].n < limit; i++) {
      this.write(w[i].bytes, w[i].start, w[i].end);
      this.written++;
    }
    if (i > 0) w.splice(0, i);
  }
}
