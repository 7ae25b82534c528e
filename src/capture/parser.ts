/**
 * Push-based pcap/pcapng parser.
 *
 * Input arrives in arbitrary chunks. Whole records inside a chunk are handed
 * out as views into that chunk; a record that straddles chunks is assembled
 * in a growable carry buffer, which only ever holds the one unfinished unit
 * (a header, a record or a block), never more. Nothing is retained from a
 * chunk once push() returns, so callers may reuse their read buffers.
 *
 * The stream is cut into "units": the pcap global header, a pcap record,
 * a pcapng block. For each unit the parser first needs a fixed number of
 * bytes to learn its size (`headerNeed`), then the whole unit (`unitSize`),
 * then processes it. Large pcapng blocks we do not interpret are skipped
 * without buffering, their trailing length checked on the way out.
 *
 * This file is the stream machinery, the same for both formats; what a
 * unit means is read by pcap.ts and pcapng.ts, into the state they share
 * (parse-state.ts).
 */
import { CaptureError } from './types.js';
import type { CaptureRecord, CaptureSummary } from './types.js';
import { EMPTY, hex32, plural, ParseState, u32 } from './parse-state.js';
import { PCAP_GLOBAL_HEADER, PCAP_RECORD_HEADER, PcapReader } from './pcap.js';
import { BLOCK_SHB, PCAPNG_BLOCK_PREFIX, PCAPNG_TRAILER, PcapngReader } from './pcapng.js';

/**
 * Where the parser is, which also names the unit it reads next: the magic,
 * the pcap global header, a pcap record, a pcapng block (or the first 12
 * bytes of one streamed past), the trailer of a block streamed past.
 */
const Phase = {
  MAGIC: 0,
  PCAP_HEADER: 1,
  PCAP_RECORDS: 2,
  PCAPNG_BLOCKS: 3,
  PCAPNG_TRAILER: 4,
} as const;
type PhaseValue = (typeof Phase)[keyof typeof Phase];

export class CaptureParser {
  private format: 'pcap' | 'pcapng' = 'pcap';
  private phase: PhaseValue = Phase.MAGIC;
  private readonly s: ParseState;
  private readonly pcap: PcapReader;
  private readonly pcapng: PcapngReader;
  private failure: CaptureError | null = null;
  private ended: CaptureSummary | null = null;

  private carry: Uint8Array = EMPTY;
  private carryLen = 0;
  /** Bytes of a block still to be streamed past (pcapng blocks we neither interpret nor buffer). */
  private skipRemaining = 0;

  constructor(
    readonly name: string,
    onRecord: (rec: CaptureRecord) => void,
  ) {
    this.s = new ParseState(name, onRecord);
    this.pcap = new PcapReader(this.s);
    this.pcapng = new PcapngReader(this.s);
  }

  push(chunk: Uint8Array): void {
    if (this.failure) throw this.failure;
    if (this.ended) throw new Error('CaptureParser.push() called after end()');
    try {
      // Records carry plain Uint8Array views, never a subclass such as
      // Buffer, whose slice() is a view too: a consumer that keeps bytes
      // with slice() gets a copy, not memory the next read overwrites
      // (capture/copy.ts is the way to keep bytes).
      this.consume(
        Object.getPrototypeOf(chunk) === Uint8Array.prototype
          ? chunk
          : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength),
      );
    } catch (err) {
      if (err instanceof CaptureError) this.failure = err;
      throw err;
    }
  }

  end(): CaptureSummary {
    if (this.failure) throw this.failure;
    if (this.ended) return this.ended;
    const s = this.s;
    const total = s.totalBytes;
    if (this.phase === Phase.MAGIC) {
      throw s.fail(
        0,
        total === 0
          ? 'file is empty; a pcap or pcapng capture starts with a 24-byte or 28-byte header'
          : `file is ${plural(total, 'byte')}, too short to be a pcap or pcapng capture`,
      );
    }
    if (this.phase === Phase.PCAP_HEADER) {
      throw s.fail(0, `file is ${plural(total, 'byte')}, shorter than the 24-byte pcap global header`);
    }
    if (this.format === 'pcapng') {
      const missing = this.pcapng.missingSection(total, this.carryLen);
      if (missing !== null) throw s.fail(0, missing);
    }
    if (s.suppressedWarnings > 0) {
      s.warnings.push({
        offset: s.pos,
        message: `${plural(s.suppressedWarnings, 'further warning')} not listed`,
      });
    }
    const streamingPastBlock = this.pcapng.skipping;
    const truncated = streamingPastBlock || this.carryLen > 0;
    if (truncated) {
      // Always listed, and last: callers quote the final warning of a truncated capture.
      const n = this.format === 'pcap' ? s.records + 1 : this.pcapng.truncatedRecordNumber(this.carry, this.carryLen);
      const offset = streamingPastBlock ? this.pcapng.skippedBlockOffset : s.pos;
      const at = `capture cut off at byte ${total}`;
      const message =
        this.format === 'pcap'
          ? this.pcap.describeCutOff(at, this.carry, this.carryLen)
          : this.pcapng.describeCutOff(at, this.carry, this.carryLen);
      s.warnings.push(n === undefined ? { offset, message } : { offset, n, message });
    }
    this.ended = {
      format: this.format,
      records: s.records,
      bytesRead: total,
      warnings: s.warnings,
      truncated,
    };
    return this.ended;
  }

  /**
   * What has been read so far, for a reader stopped early (by an error, or
   * by its caller): the format, the records delivered, the bytes read and
   * the warnings raised (a count of those not listed last, at `offset`).
   * Undefined while nothing has been read past the header: no record
   * delivered and no warning, when there is nothing to report and the
   * format may still be a guess. Not truncated: the stop, not a cut, ended
   * the input.
   */
  readSoFar(offset: number = this.s.totalBytes): CaptureSummary | undefined {
    const s = this.s;
    if (s.records === 0 && s.warnings.length === 0) return undefined;
    const warnings = [...s.warnings];
    const more = s.suppressedWarnings;
    if (more > 0) warnings.push({ offset, message: `${plural(more, 'further warning')} not listed` });
    return { format: this.format, records: s.records, bytesRead: s.totalBytes, warnings, truncated: false };
  }

  private consume(chunk: Uint8Array): void {
    const end = chunk.length;
    let off = 0;
    this.s.totalBytes += end;

    // Finish the unit an earlier chunk left unfinished, taking only the bytes it still lacks.
    while (this.carryLen > 0) {
      const need = this.headerNeed();
      if (this.carryLen < need) {
        off = this.fillCarry(chunk, off, need);
        if (this.carryLen < need) return;
      }
      const size = this.unitSize(this.carry, 0);
      if (size === 0) continue;
      if (this.carryLen < size) {
        off = this.fillCarry(chunk, off, size);
        if (this.carryLen < size) return;
      }
      this.processUnit(this.carry, 0, size);
      this.s.pos += size;
      this.carryLen = 0;
    }

    off = this.consumeUnits(chunk, off);
    // The carry is empty here: whatever the chunk has left starts the next unit.
    if (off < end) this.fillCarry(chunk, off, end - off);
  }

  /**
   * The whole units in chunk[off..]: returns where the unfinished rest
   * starts (chunk.length when nothing is left). A function of its own so
   * that V8 optimizes this loop as a whole function: as on-stack
   * replacement inside consume() it was thrown away at the end of every
   * chunk (a deoptimization per MiB read).
   */
  private consumeUnits(chunk: Uint8Array, off: number): number {
    const end = chunk.length;
    for (;;) {
      if (this.skipRemaining > 0) {
        const n = Math.min(this.skipRemaining, end - off);
        off += n;
        this.s.pos += n;
        this.skipRemaining -= n;
        if (this.skipRemaining > 0) return end;
      }
      const avail = end - off;
      if (avail < this.headerNeed()) return off;
      const size = this.unitSize(chunk, off);
      if (size === 0) continue;
      if (avail < size) return off;
      this.processUnit(chunk, off, size);
      off += size;
      this.s.pos += size;
    }
  }

  /** Appends chunk bytes to the carry until it holds `target` bytes or the chunk runs out; returns the new chunk offset. */
  private fillCarry(chunk: Uint8Array, off: number, target: number): number {
    const take = Math.min(target - this.carryLen, chunk.length - off);
    const needed = this.carryLen + take;
    if (needed > this.carry.length) {
      const grown = new Uint8Array(Math.max(needed, this.carry.length * 2, 65_536));
      grown.set(this.carry.subarray(0, this.carryLen));
      this.carry = grown;
    }
    this.carry.set(chunk.subarray(off, off + take), this.carryLen);
    this.carryLen = needed;
    return off + take;
  }

  private headerNeed(): number {
    switch (this.phase) {
      case Phase.MAGIC:
        return 4;
      case Phase.PCAP_HEADER:
        return PCAP_GLOBAL_HEADER;
      case Phase.PCAP_RECORDS:
        return PCAP_RECORD_HEADER;
      case Phase.PCAPNG_BLOCKS:
        return PCAPNG_BLOCK_PREFIX;
      default:
        return PCAPNG_TRAILER;
    }
  }

  /**
   * Given headerNeed() bytes at buf[off], returns the size of the unit that
   * starts there (0: nothing to consume, the phase changed, ask again).
   * Must be repeatable: it runs again when a unit is completed from the carry.
   */
  private unitSize(buf: Uint8Array, off: number): number {
    switch (this.phase) {
      case Phase.MAGIC:
        this.detectFormat(u32(buf, off, true));
        return 0;
      case Phase.PCAP_HEADER:
        return PCAP_GLOBAL_HEADER;
      case Phase.PCAP_RECORDS:
        return this.pcap.recordSize(buf, off);
      case Phase.PCAPNG_BLOCKS:
        return this.pcapng.blockSize(buf, off);
      default:
        return PCAPNG_TRAILER;
    }
  }

  private detectFormat(magic: number): void {
    if (magic === BLOCK_SHB) {
      this.format = 'pcapng';
      this.phase = Phase.PCAPNG_BLOCKS;
      return;
    }
    if (!this.pcap.begin(magic)) {
      const hint = (magic & 0xffff) === 0x8b1f ? ' (it looks gzip-compressed; decompress it first)' : '';
      throw this.s.fail(
        0,
        `not a pcap or pcapng file: magic number ${hex32(magic)}${hint}; expected a1b2c3d4 or a1b23c4d (pcap) or 0a0d0d0a (pcapng)`,
      );
    }
    this.format = 'pcap';
    this.phase = Phase.PCAP_HEADER;
  }

  /** Acts on the unitSize() bytes at buf[off]; the phase is the one unitSize() saw. */
  private processUnit(buf: Uint8Array, off: number, size: number): void {
    switch (this.phase) {
      case Phase.PCAP_RECORDS:
        this.pcap.deliverRecord(buf, off, size);
        break;
      case Phase.PCAPNG_BLOCKS: {
        const rest = this.pcapng.readBlock(buf, off, size);
        if (rest > 0) {
          this.skipRemaining = rest;
          this.phase = Phase.PCAPNG_TRAILER;
        }
        break;
      }
      case Phase.PCAP_HEADER:
        this.pcap.readHeader(buf, off);
        this.phase = Phase.PCAP_RECORDS;
        break;
      case Phase.PCAPNG_TRAILER:
        this.pcapng.endSkipped(buf, off);
        this.phase = Phase.PCAPNG_BLOCKS;
        break;
    }
  }
}
