/**
 * The order in which a replay hands out what it decides (results, or their
 * lines): capture order, although a held IP fragment is decided later than
 * the packets after it. What comes after a held fragment waits until the
 * fragment is decided, then all go out in packet order. replay.ts (InOrder)
 * orders results with it, and run/shard-lines.ts the lines of worker threads.
 */

/** Items that may wait behind a held fragment (copies of their packets: a few MB). */
export const MAX_WAITING = 16384;

export class HeldOrder<T extends { n: number }> {
  /** Packet numbers of held fragments, ascending (they are held in capture order). */
  private held: number[] = [];
  private heldHead = 0;
  private decided = new Set<number>();
  /**
   * What waits, in packet order, from `waitHead` on (a head index, not
   * splice(0, i): in heavy traffic behind a held fragment each packet lets
   * a few go, and moving thousands of items each time was quadratic).
   */
  private waiting: T[] = [];
  private waitHead = 0;

  constructor(private readonly emit: (item: T) => void) {}

  /** Nothing held, nothing waiting: what is decided now can go out at once. */
  get idle(): boolean {
    return this.heldHead === this.held.length && this.waitHead === this.waiting.length;
  }

  get waitingCount(): number {
    return this.waiting.length - this.waitHead;
  }

  hold(n: number): void {
    this.held.push(n);
  }

  /** A held fragment decided. `drain()` after the last of those decided while one packet was judged. */
  decide(item: T): void {
    // (One that stopped holding the others back is not waited for any more.)
    if (this.heldHead < this.held.length && item.n >= this.held[this.heldHead]) this.decided.add(item.n);
    // Into its place (binary search): the waiting items stay in packet order.
    const w = this.waiting;
    let lo = this.waitHead;
    let hi = w.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (w[mid].n < item.n) lo = mid + 1;
      else hi = mid;
    }
    if (lo === w.length) w.push(item);
    else w.splice(lo, 0, item);
  }

  /** Something decided while others wait, after all of them in packet order: it waits too (then `drain()`). */
  wait(item: T): void {
    this.waiting.push(item);
  }

  /** The oldest held fragment no longer holds the others back (its item will come out of order). */
  letGoOldest(): void {
    this.decided.delete(this.held[this.heldHead]);
    this.heldHead++;
  }

  /** Hands out what no held fragment holds back any more, in packet order. */
  drain(): void {
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
    const limit = this.heldHead < this.held.length ? this.held[this.heldHead] : Infinity;
    let i = this.waitHead;
    for (; i < w.length && w[i].n < limit; i++) {
      const x = w[i];
      (w as (T | undefined)[])[i] = undefined; // (gone out: not kept alive by the array)
      this.waitHead = i + 1; // (before emit, which may throw)
      this.emit(x);
    }
    if (i === w.length) {
      this.waiting = [];
      this.waitHead = 0;
    } else if (i > 1024 && i * 2 > w.length) {
      this.waiting = w.slice(i);
      this.waitHead = 0;
    }
  }
}
