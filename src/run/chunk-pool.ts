/**
 * The shared memory a sharded replay reads the capture into (sharded.ts):
 * chunks of SharedArrayBuffer that the reader fills and the workers read
 * records from where they lie, so no record is copied on its way to a
 * thread. A chunk returns to the pool when every hold on it is let go: the
 * reader's (while it reads into it, or copies into it) and one per batch
 * of records in it not yet judged. Records that do not lie whole in a
 * chunk (split between two reads, or handed out by a stream) are copied
 * into a spill chunk of the same pool.
 */

/** Bytes per shared chunk (as readCapture's reads): a file read fills one; reads from a pipe (64 KiB at most) fill one in turn. */
export const CHUNK_SIZE = 1024 * 1024;
/** The least room a read is given: below it, the next read goes into a new chunk. */
const MIN_READ = 256 * 1024;

export interface Chunk {
  id: number;
  sab: SharedArrayBuffer;
  buf: Buffer;
  /** Holds on it: the reader's (while it reads into it or copies into it), and one per batch of it not yet judged. */
  refs: number;
}

export class ChunkPool {
  /** Every chunk made, by id (what workers name when they are done with one). */
  private readonly chunks: Chunk[] = [];
  private readonly free: Chunk[] = [];
  private readonly byBuffer = new Map<ArrayBufferLike, Chunk>();
  /** Chunks taken for reading, oldest first, until their records have been posted. */
  private readonly taken: Chunk[] = [];
  /** Where the last read was made: at lastTake in the newest taken chunk. */
  private lastTake = 0;
  /** Where copied records go, and how much of it is used. */
  spill: Chunk | null = null;
  private spillUsed = 0;

  /** Makes `n` free chunks ahead (the reader's two and a batch or two in flight). */
  prepare(n: number): void {
    for (let i = 0; i < n; i++) this.free.push(this.newChunk(CHUNK_SIZE));
  }

  /** The chunk the newest read went into (null before the first). */
  get newest(): Chunk | null {
    return this.taken.length > 0 ? this.taken[this.taken.length - 1] : null;
  }

  /** The chunk whose memory `buffer` is, or null (a buffer of the parser's own). */
  chunkOf(buffer: ArrayBufferLike): Chunk | null {
    return this.byBuffer.get(buffer) ?? null;
  }

  /** A chunk by the id a worker names. */
  byId(id: number): Chunk {
    return this.chunks[id];
  }

  /**
   * The room for the next read: the rest of the newest chunk after the last
   * read (which got `lastFilled` bytes), or a new chunk. The chunks in use
   * are the reader's (two at most) and those of batches not yet judged,
   * which the replay keeps few, so the pool stays small.
   */
  take(lastFilled: number): Buffer {
    let c = this.newest;
    let at = this.lastTake + lastFilled;
    if (c === null || c.buf.length - at < MIN_READ) {
      c = this.free.pop() ?? this.newChunk(CHUNK_SIZE);
      c.refs = 1; // the reader's hold, until the records in it have been posted
      this.taken.push(c);
      at = 0;
    }
    this.lastTake = at;
    return c.buf.subarray(at);
  }

  /** The reader lets go of the chunks taken before the newest one (or of all of them). */
  letGo(all: boolean): void {
    while (this.taken.length > (all ? 0 : 1)) this.drop(this.taken.shift()!);
  }

  drop(c: Chunk): void {
    if (--c.refs === 0) this.free.push(c);
  }

  /**
   * Copies a record's bytes into the spill chunk: their offset there. When
   * they do not fit, `beforeNewSpill` is called first (to post what was
   * copied so far, whose batches then hold the old spill chunk), and a new
   * one takes over.
   */
  toSpill(buf: Uint8Array, off: number, caplen: number, beforeNewSpill: () => void): number {
    const end = Math.min(off + Math.max(caplen, 0), buf.length);
    const n = Math.max(0, end - off);
    if (this.spill === null || this.spillUsed + n > this.spill.buf.length) {
      beforeNewSpill();
      this.dropSpill();
      const c = n <= CHUNK_SIZE ? (this.free.pop() ?? this.newChunk(CHUNK_SIZE)) : this.newChunk(n);
      c.refs = 1; // the reader's hold, while it copies records into it
      this.spill = c;
      this.spillUsed = 0;
    }
    const at = this.spillUsed;
    if (n > 0) this.spill.buf.set(buf.subarray(off, end), at);
    this.spillUsed += n;
    return at;
  }

  /** The reader lets go of the spill chunk. */
  dropSpill(): void {
    if (this.spill !== null) this.drop(this.spill);
    this.spill = null;
  }

  private newChunk(size: number): Chunk {
    const sab = new SharedArrayBuffer(size);
    const c: Chunk = { id: this.chunks.length, sab, buf: Buffer.from(sab), refs: 0 };
    this.chunks.push(c);
    this.byBuffer.set(sab, c);
    return c;
  }
}
