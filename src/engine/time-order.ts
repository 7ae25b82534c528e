/**
 * Records of a capture taken on several interfaces at once, put back in
 * time order before they are judged. dumpcap and tcpdump write each
 * interface's packets as its ring buffer hands them over, so a pcapng of
 * `-i lan0 -i wan0` holds a reply on one leg ahead of the request on the
 * other that caused it (the fixture home-router.pcapng: 49 µs). A firewall
 * sees them in time order, and its conntrack must too.
 *
 * Records of a capture without interface names (pcap) pass straight
 * through while they all come from one interface. From the first record
 * naming its interface (pcapng if_name: a file of several interfaces may
 * begin with a burst from one of them) or of a second interface on, they wait in a heap
 * ordered by (time, packet number) until the newest time seen is WINDOW
 * seconds past theirs, or MAX_HELD wait; the end of the capture releases
 * the rest. A record older than what was already released goes out at once
 * (a clock that stepped back is the clock's business: ClockWatch reports it).
 * Kept records are copies (the reader reuses its buffers).
 */
import { copyRecord } from '../capture/copy.js';
import type { CaptureRecord } from '../capture/types.js';

/** Seconds a record may be late on another interface (interfaces' buffers hand over within milliseconds). */
export const REORDER_WINDOW = 1;
/** Most records held at once. */
export const MAX_HELD = 65536;

const timeOf = (r: CaptureRecord) => r.tsSec + r.tsNsec * 1e-9;

export class TimeOrder {
  private readonly heap: CaptureRecord[] = [];
  private firstIf = -1;
  private active = false;
  private newest = Number.NEGATIVE_INFINITY;
  /** Records released out of order (late past the window): for the notes of a run. */
  late = 0;

  constructor(
    private readonly release: (rec: CaptureRecord) => void,
    /** Told each record that waits (before the records after it are released). */
    private readonly onHold: ((n: number) => void) | null = null,
  ) {}

  push(rec: CaptureRecord): void {
    if (!this.active) {
      if (this.firstIf < 0) this.firstIf = rec.ifIndex;
      if (rec.ifIndex !== this.firstIf || rec.ifName !== '') this.active = true;
      if (!this.active) {
        this.newest = Math.max(this.newest, timeOf(rec));
        this.release(rec);
        return;
      }
    }
    const t = timeOf(rec);
    if (t < this.newest - REORDER_WINDOW) {
      this.late++;
      this.release(rec);
      return;
    }
    this.add(copyRecord(rec));
    if (this.onHold !== null) this.onHold(rec.n);
    if (t > this.newest) this.newest = t;
    while (
      this.heap.length > 0 &&
      (timeOf(this.heap[0]) <= this.newest - REORDER_WINDOW || this.heap.length > MAX_HELD)
    )
      this.release(this.take());
  }

  /** The capture ended: everything held, in order. */
  flush(): void {
    while (this.heap.length > 0) this.release(this.take());
  }

  private before(a: CaptureRecord, b: CaptureRecord): boolean {
    return a.tsSec < b.tsSec || (a.tsSec === b.tsSec && (a.tsNsec < b.tsNsec || (a.tsNsec === b.tsNsec && a.n < b.n)));
  }

  private add(r: CaptureRecord): void {
    const h = this.heap;
    h.push(r);
    let i = h.length - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!this.before(h[i], h[up])) break;
      [h[i], h[up]] = [h[up], h[i]];
      i = up;
    }
  }

  private take(): CaptureRecord {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.before(h[l], h[m])) m = l;
        if (r < h.length && this.before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}
