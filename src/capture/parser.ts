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
 */

import { CaptureError, Direction } from './types.js';
import type { CaptureRecord, CaptureSummary, CaptureWarning, DirectionValue } from './types.js';
import { LATEST_TIMESTAMP_SEC, MICROSECONDS, TimestampConverter, tsResolutionFromOption, utcString } from './timestamp.js';
import type { TsResolution } from './timestamp.js';

/** Largest packet a pcap record may carry (libpcap/Wireshark's standard maximum). */
export const MAX_CAPLEN = 262_144;
/** Largest pcapng block we are willing to buffer: far above any sane packet block, low enough to refuse a corrupt length. */
export const MAX_BUFFERED_BLOCK = 16 * 1024 * 1024;
/** Blocks we do not interpret (statistics, name resolution, custom) bigger than this are streamed past instead of buffered. */
const SKIP_WITHOUT_BUFFERING = 64 * 1024;
/** A corrupt file can flag every record; keep the list bounded and count the rest. */
const MAX_WARNINGS = 1000;
/**
 * Interfaces one pcapng section may describe. The format sets no limit
 * (EPB interface ids are 32-bit), so without one a file of IDBs grows the
 * table without end. Real captures describe a handful (tcpdump -i any: one;
 * a router capturing on every port: hundreds); 65536 is every id the
 * obsolete Packet Block's 16-bit field can name, and keeps the table at a
 * few megabytes at most (names are capped below).
 */
export const MAX_INTERFACES_PER_SECTION = 65_536;
/** Bytes of an if_name kept: interface names are short (Linux: 15; Windows device paths: ~50). */
export const MAX_IF_NAME_BYTES = 256;

const PCAP_GLOBAL_HEADER = 24;
const PCAP_RECORD_HEADER = 16;
/** Type and length, plus the SHB's byte-order magic, which decides how the length is read. */
const PCAPNG_BLOCK_PREFIX = 12;
const PCAPNG_TRAILER = 4;

const MAGIC_PCAP_US = 0xa1b2c3d4;
const MAGIC_PCAP_NS = 0xa1b23c4d;
const MAGIC_PCAP_KUZNETZOV = 0xa1b2cd34;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

const BLOCK_SHB = 0x0a0d0d0a;
const BLOCK_IDB = 1;
const BLOCK_PB = 2;
const BLOCK_SPB = 3;
const BLOCK_EPB = 6;

const OPT_END = 0;
const OPT_IF_NAME = 2;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;
/** epb_flags and the obsolete Packet Block's pack_flags share code 2 and layout. */
const OPT_PACKET_FLAGS = 2;

const Phase = {
  MAGIC: 0,
  PCAP_HEADER: 1,
  PCAP_RECORDS: 2,
  PCAPNG_BLOCKS: 3,
  PCAPNG_TRAILER: 4,
} as const;
type PhaseValue = (typeof Phase)[keyof typeof Phase];

const Unit = {
  NONE: 0,
  PCAP_HEADER: 1,
  PCAP_RECORD: 2,
  BLOCK: 3,
  SKIPPED_BLOCK_PREFIX: 4,
  BLOCK_TRAILER: 5,
} as const;
type UnitValue = (typeof Unit)[keyof typeof Unit];

interface InterfaceInfo {
  linkType: number;
  /** 0 means "no limit". */
  snaplen: number;
  name: string;
  resolution: TsResolution;
  /** if_tsoffset: seconds to add to every timestamp. */
  offsetSec: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });
const EMPTY = new Uint8Array(0);

function u16(buf: Uint8Array, off: number, le: boolean): number {
  return le ? buf[off] | (buf[off + 1] << 8) : (buf[off] << 8) | buf[off + 1];
}

function u32(buf: Uint8Array, off: number, le: boolean): number {
  return le
    ? (buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16) | (buf[off + 3] << 24)) >>> 0
    : ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
}

/** Seconds as exact digits while a double holds them exactly, else as 1.8e+19 s. */
function approxSeconds(v: number): string {
  return Math.abs(v) < 2 ** 53 ? `${v} s` : `${v.toPrecision(4)} s`;
}

function hex32(v: number): string {
  return '0x' + v.toString(16).padStart(8, '0');
}

function blockName(type: number): string {
  switch (type) {
    case BLOCK_SHB: return 'section header block';
    case BLOCK_IDB: return 'interface description block';
    case BLOCK_PB: return 'packet block';
    case BLOCK_SPB: return 'simple packet block';
    case 4: return 'name resolution block';
    case 5: return 'interface statistics block';
    case BLOCK_EPB: return 'enhanced packet block';
    case 9: return 'systemd journal export block';
    case 10: return 'decryption secrets block';
    case 0xbad:
    case 0x40000bad: return 'custom block';
    default: return `block of type ${hex32(type)}`;
  }
}

/** Fixed part of each interpreted block type, including the 12 bytes of type, length and trailing length. */
function withArticle(name: string): string {
  return (/^[aeiou]/.test(name) ? 'an ' : 'a ') + name;
}

function minimumBlockLength(type: number): number {
  switch (type) {
    case BLOCK_SHB: return 28;
    case BLOCK_IDB: return 20;
    case BLOCK_EPB:
    case BLOCK_PB: return 32;
    case BLOCK_SPB: return 16;
    default: return 12;
  }
}

function isInterpretedBlock(type: number): boolean {
  return type === BLOCK_SHB || type === BLOCK_IDB || type === BLOCK_EPB || type === BLOCK_SPB || type === BLOCK_PB;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export class CaptureParser {
  private format: 'pcap' | 'pcapng' = 'pcap';
  private phase: PhaseValue = Phase.MAGIC;
  /** What the unit being assembled is; set by unitSize(), acted on by processUnit(). */
  private unit: UnitValue = Unit.NONE;
  private le = true;
  /** Absolute input offset of the first byte not yet consumed (= start of the unit in progress). */
  private pos = 0;
  private totalBytes = 0;
  private records = 0;
  private readonly warnings: CaptureWarning[] = [];
  private suppressedWarnings = 0;
  private failure: CaptureError | null = null;
  private ended: CaptureSummary | null = null;

  private carry: Uint8Array = EMPTY;
  private carryLen = 0;

  // pcap state
  private pcapNanos = false;
  private pcapSnaplen = 0;
  private pcapLinkType = 0;

  // pcapng state
  private sectionSeen = false;
  private interfaces: InterfaceInfo[] = [];
  /** Type and length of the current pcapng block (valid from unitSize() until the block is done). */
  private blockType = 0;
  private blockLength = 0;
  /** The skipped block whose bytes are being streamed past, for its trailer check and truncation report. */
  private skipRemaining = 0;
  private skippedBlockOffset = 0;
  private skippedBlockType = 0;
  private skippedBlockLength = 0;

  private readonly clock = new TimestampConverter();
  private readonly record: CaptureRecord = {
    n: 0,
    tsSec: 0,
    tsNsec: 0,
    linkType: 0,
    ifIndex: 0,
    ifName: '',
    direction: Direction.UNKNOWN,
    caplen: 0,
    len: 0,
    buf: EMPTY,
    off: 0,
    fileOffset: 0,
  };

  constructor(
    readonly name: string,
    private readonly onRecord: (rec: CaptureRecord) => void,
  ) {}

  push(chunk: Uint8Array): void {
    if (this.failure) throw this.failure;
    if (this.ended) throw new Error('CaptureParser.push() called after end()');
    try {
      // Records carry plain Uint8Array views, never a subclass such as
      // Buffer, whose slice() is a view too: a consumer that keeps bytes
      // with slice() gets a copy, not memory the next read overwrites
      // (capture/copy.ts is the way to keep bytes).
      this.consume(Object.getPrototypeOf(chunk) === Uint8Array.prototype ? chunk : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } catch (err) {
      if (err instanceof CaptureError) this.failure = err;
      throw err;
    }
  }

  end(): CaptureSummary {
    if (this.failure) throw this.failure;
    if (this.ended) return this.ended;
    const total = this.totalBytes;
    if (this.phase === Phase.MAGIC) {
      throw this.fail(
        0,
        total === 0
          ? 'file is empty; a pcap or pcapng capture starts with a 24-byte or 28-byte header'
          : `file is ${plural(total, 'byte')}, too short to be a pcap or pcapng capture`,
      );
    }
    if (this.phase === Phase.PCAP_HEADER) {
      throw this.fail(0, `file is ${plural(total, 'byte')}, shorter than the 24-byte pcap global header`);
    }
    if (this.format === 'pcapng' && !this.sectionSeen) {
      const expected = this.carryLen >= PCAPNG_BLOCK_PREFIX ? this.blockLength : 28;
      throw this.fail(
        0,
        `file is ${plural(total, 'byte')}, shorter than the ${expected}-byte pcapng section header block it starts with`,
      );
    }
    if (this.suppressedWarnings > 0) {
      this.warnings.push({
        offset: this.pos,
        message: `${plural(this.suppressedWarnings, 'further warning')} not listed`,
      });
    }
    const streamingPastBlock = this.skipRemaining > 0 || this.phase === Phase.PCAPNG_TRAILER;
    const truncated = streamingPastBlock || this.carryLen > 0;
    if (truncated) {
      // Always listed, and last: callers quote the final warning of a truncated capture.
      const n = this.truncatedRecordNumber();
      const offset = streamingPastBlock ? this.skippedBlockOffset : this.pos;
      const message = this.describeCutOff();
      this.warnings.push(n === undefined ? { offset, message } : { offset, n, message });
    }
    this.ended = {
      format: this.format,
      records: this.records,
      bytesRead: total,
      warnings: this.warnings,
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
  readSoFar(offset: number = this.totalBytes): CaptureSummary | undefined {
    if (this.records === 0 && this.warnings.length === 0) return undefined;
    const warnings = [...this.warnings];
    const more = this.suppressedWarnings;
    if (more > 0) warnings.push({ offset, message: `${plural(more, 'further warning')} not listed` });
    return { format: this.format, records: this.records, bytesRead: this.totalBytes, warnings, truncated: false };
  }

  private consume(chunk: Uint8Array): void {
    const end = chunk.length;
    let off = 0;
    this.totalBytes += end;

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
      this.pos += size;
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
        this.pos += n;
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
      this.pos += size;
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
      case Phase.MAGIC: return 4;
      case Phase.PCAP_HEADER: return PCAP_GLOBAL_HEADER;
      case Phase.PCAP_RECORDS: return PCAP_RECORD_HEADER;
      case Phase.PCAPNG_BLOCKS: return PCAPNG_BLOCK_PREFIX;
      default: return PCAPNG_TRAILER;
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
        this.unit = Unit.PCAP_HEADER;
        return PCAP_GLOBAL_HEADER;
      case Phase.PCAP_RECORDS: {
        const caplen = u32(buf, off + 8, this.le);
        if (caplen > MAX_CAPLEN) {
          throw this.fail(
            this.pos,
            `packet record ${this.records + 1} claims ${caplen} captured bytes, more than the ${MAX_CAPLEN} a record may hold; the file is corrupt from here`,
          );
        }
        this.unit = Unit.PCAP_RECORD;
        return PCAP_RECORD_HEADER + caplen;
      }
      case Phase.PCAPNG_BLOCKS:
        return this.blockSize(buf, off);
      default:
        this.unit = Unit.BLOCK_TRAILER;
        return PCAPNG_TRAILER;
    }
  }

  private detectFormat(magic: number): void {
    switch (magic) {
      case MAGIC_PCAP_US:
      case MAGIC_PCAP_NS:
        this.le = true;
        break;
      case 0xd4c3b2a1:
      case 0x4d3cb2a1:
        this.le = false;
        break;
      case BLOCK_SHB:
        this.format = 'pcapng';
        this.phase = Phase.PCAPNG_BLOCKS;
        return;
      case MAGIC_PCAP_KUZNETZOV:
      case 0x34cdb2a1:
        throw this.fail(0, 'file uses the modified ("Kuznetzov") pcap format, which is not supported; convert it with editcap -F pcap');
      default: {
        const hint = (magic & 0xffff) === 0x8b1f ? ' (it looks gzip-compressed; decompress it first)' : '';
        throw this.fail(
          0,
          `not a pcap or pcapng file: magic number ${hex32(magic)}${hint}; expected a1b2c3d4 or a1b23c4d (pcap) or 0a0d0d0a (pcapng)`,
        );
      }
    }
    this.format = 'pcap';
    this.pcapNanos = magic === MAGIC_PCAP_NS || magic === 0x4d3cb2a1;
    this.phase = Phase.PCAP_HEADER;
  }

  private blockSize(buf: Uint8Array, off: number): number {
    const type = u32(buf, off, this.le);
    if (type === BLOCK_SHB) {
      // Each section declares its own byte order; the length can only be read after this.
      const bom = u32(buf, off + 8, true);
      if (bom === BYTE_ORDER_MAGIC) this.le = true;
      else if (bom === 0x4d3c2b1a) this.le = false;
      else {
        throw this.fail(
          this.pos,
          `pcapng section header block has byte-order magic ${hex32(bom)}, expected 1a2b3c4d in either byte order`,
        );
      }
    }
    const length = u32(buf, off + 4, this.le);
    this.blockType = type;
    this.blockLength = length;
    if (length < 12) {
      throw this.fail(this.pos, `pcapng block length ${length} is less than the 12-byte minimum (${blockName(type)})`);
    }
    if (length % 4 !== 0) {
      throw this.fail(this.pos, `pcapng block length ${length} is not a multiple of 4 (${blockName(type)})`);
    }
    if (!isInterpretedBlock(type)) {
      if (length <= SKIP_WITHOUT_BUFFERING) {
        this.unit = Unit.BLOCK;
        return length;
      }
      this.unit = Unit.SKIPPED_BLOCK_PREFIX;
      return PCAPNG_BLOCK_PREFIX;
    }
    const minimum = minimumBlockLength(type);
    if (length < minimum) {
      throw this.fail(this.pos, `pcapng ${blockName(type)} length ${length} is less than the ${minimum} bytes its fixed fields need`);
    }
    if (length > MAX_BUFFERED_BLOCK) {
      throw this.fail(
        this.pos,
        `pcapng ${blockName(type)} claims ${length} bytes, more than the ${MAX_BUFFERED_BLOCK} a block may hold; the file is corrupt from here`,
      );
    }
    this.unit = Unit.BLOCK;
    return length;
  }

  private processUnit(buf: Uint8Array, off: number, size: number): void {
    switch (this.unit) {
      case Unit.PCAP_RECORD:
        this.deliverPcapRecord(buf, off, size);
        break;
      case Unit.BLOCK:
        this.checkTrailer(u32(buf, off + size - 4, this.le), this.pos, this.blockType, size);
        this.processBlock(buf, off, size);
        break;
      case Unit.PCAP_HEADER:
        this.readPcapHeader(buf, off);
        break;
      case Unit.SKIPPED_BLOCK_PREFIX:
        this.skippedBlockOffset = this.pos;
        this.skippedBlockType = this.blockType;
        this.skippedBlockLength = this.blockLength;
        this.skipRemaining = this.blockLength - PCAPNG_BLOCK_PREFIX - PCAPNG_TRAILER;
        this.phase = Phase.PCAPNG_TRAILER;
        break;
      case Unit.BLOCK_TRAILER:
        this.checkTrailer(u32(buf, off, this.le), this.skippedBlockOffset, this.skippedBlockType, this.skippedBlockLength);
        this.phase = Phase.PCAPNG_BLOCKS;
        break;
    }
  }

  private checkTrailer(trailer: number, blockOffset: number, type: number, length: number): void {
    if (trailer !== length) {
      throw this.fail(
        blockOffset,
        `pcapng block length ${length} disagrees with the copy at the end of the block (${trailer}) (${blockName(type)}); the file is corrupt from here`,
      );
    }
  }

  private readPcapHeader(buf: Uint8Array, off: number): void {
    const major = u16(buf, off + 4, this.le);
    const minor = u16(buf, off + 6, this.le);
    if (major !== 2) this.warn(4, undefined, `pcap version ${major}.${minor} is not 2.x; reading it as 2.4`);
    this.pcapSnaplen = u32(buf, off + 16, this.le);
    // The upper 16 bits carry FCS-length information, not the link type.
    this.pcapLinkType = u32(buf, off + 20, this.le) & 0xffff;
    this.phase = Phase.PCAP_RECORDS;
  }

  private deliverPcapRecord(buf: Uint8Array, off: number, size: number): void {
    const le = this.le;
    const n = ++this.records;
    const rec = this.record;
    const caplen = size - PCAP_RECORD_HEADER;
    let sec = u32(buf, off, le);
    let nsec = u32(buf, off + 4, le);
    if (!this.pcapNanos) nsec *= 1000;
    if (nsec >= 1e9) {
      this.warn(this.pos, n, `record ${n} has a sub-second timestamp field of ${u32(buf, off + 4, le)}, a second or more; carried into the seconds`);
      sec += Math.floor(nsec / 1e9);
      nsec %= 1e9;
    }
    let len = u32(buf, off + 12, le);
    if (this.pcapSnaplen !== 0 && caplen > this.pcapSnaplen) {
      this.warn(this.pos, n, `record ${n} has ${caplen} captured bytes, more than the file's snaplen ${this.pcapSnaplen}; delivered as is`);
    }
    if (len < caplen) {
      this.warn(this.pos, n, `record ${n} has original length ${len}, less than its ${caplen} captured bytes; using ${caplen}`);
      len = caplen;
    }
    rec.n = n;
    rec.tsSec = sec;
    rec.tsNsec = nsec;
    rec.linkType = this.pcapLinkType;
    rec.ifIndex = 0;
    rec.ifName = '';
    rec.direction = Direction.UNKNOWN;
    rec.caplen = caplen;
    rec.len = len;
    rec.buf = buf;
    rec.off = off + PCAP_RECORD_HEADER;
    rec.fileOffset = this.pos;
    this.onRecord(rec);
  }

  private processBlock(buf: Uint8Array, off: number, size: number): void {
    switch (this.blockType) {
      case BLOCK_EPB:
        this.deliverTimestampedPacket(buf, off, size, u32(buf, off + 8, this.le));
        break;
      case BLOCK_SPB:
        this.deliverSimplePacket(buf, off, size);
        break;
      case BLOCK_IDB:
        this.readInterface(buf, off, size);
        break;
      case BLOCK_SHB:
        this.readSection(buf, off);
        break;
      case BLOCK_PB:
        this.deliverTimestampedPacket(buf, off, size, u16(buf, off + 8, this.le));
        break;
    }
  }

  private readSection(buf: Uint8Array, off: number): void {
    const major = u16(buf, off + 12, this.le);
    const minor = u16(buf, off + 14, this.le);
    if (major !== 1) {
      throw this.fail(this.pos, `pcapng section version ${major}.${minor} is not supported (only 1.x is)`);
    }
    this.sectionSeen = true;
    this.interfaces = [];
  }

  private readInterface(buf: Uint8Array, off: number, size: number): void {
    if (this.interfaces.length >= MAX_INTERFACES_PER_SECTION) {
      throw this.fail(
        this.pos,
        `pcapng section describes more than ${MAX_INTERFACES_PER_SECTION} interfaces (this interface description block would be interface ${this.interfaces.length}); ` +
          `fwemu keeps at most ${MAX_INTERFACES_PER_SECTION} per section, far more than any real capture has`,
      );
    }
    const le = this.le;
    const iface: InterfaceInfo = {
      linkType: u16(buf, off + 8, le),
      snaplen: u32(buf, off + 12, le),
      name: '',
      resolution: MICROSECONDS,
      offsetSec: 0,
    };
    const end = off + size - 4;
    let p = off + 16;
    while (p + 4 <= end) {
      const code = u16(buf, p, le);
      const length = u16(buf, p + 2, le);
      if (code === OPT_END) break;
      const value = p + 4;
      if (value + length > end) {
        this.warn(this.pos, undefined, `interface description block option ${code} runs past the end of the block; rest of its options ignored`);
        break;
      }
      if (code === OPT_IF_NAME) {
        let stop = value + length;
        while (stop > value && buf[stop - 1] === 0) stop--;
        if (stop - value > MAX_IF_NAME_BYTES) {
          this.warn(this.pos, undefined, `interface ${this.interfaces.length}'s name (if_name) is ${stop - value} bytes long; only its first ${MAX_IF_NAME_BYTES} bytes are kept`);
          stop = value + MAX_IF_NAME_BYTES;
        }
        iface.name = utf8.decode(buf.subarray(value, stop));
      } else if (code === OPT_IF_TSRESOL && length >= 1) {
        iface.resolution = tsResolutionFromOption(buf[value]);
      } else if (code === OPT_IF_TSOFFSET && length >= 8) {
        const hi = u32(buf, le ? value + 4 : value, le) | 0;
        const lo = u32(buf, le ? value : value + 4, le);
        iface.offsetSec = hi * 0x1_0000_0000 + lo;
      }
      p = value + ((length + 3) & ~3);
    }
    this.interfaces.push(iface);
  }

  /** Enhanced Packet Block, and the obsolete Packet Block, which differs only in a 16-bit interface id. */
  private deliverTimestampedPacket(buf: Uint8Array, off: number, size: number, ifIndex: number): void {
    const le = this.le;
    const n = ++this.records;
    const iface = this.interfaceFor(ifIndex, n);
    const caplen = u32(buf, off + 20, le);
    const room = size - 32;
    if (caplen > room) {
      throw this.fail(
        this.pos,
        `${blockName(this.blockType)} (record ${n}) claims ${caplen} captured bytes but the block has room for ${room}; the file is corrupt from here`,
      );
    }
    let direction: DirectionValue = Direction.UNKNOWN;
    const end = off + size - 4;
    let p = off + 28 + ((caplen + 3) & ~3);
    while (p + 4 <= end) {
      const code = u16(buf, p, le);
      const length = u16(buf, p + 2, le);
      if (code === OPT_END || p + 4 + length > end) break;
      if (code === OPT_PACKET_FLAGS && length >= 4) {
        const bits = u32(buf, p + 4, le) & 3;
        direction = bits === 1 ? Direction.INBOUND : bits === 2 ? Direction.OUTBOUND : Direction.UNKNOWN;
      }
      p += 4 + ((length + 3) & ~3);
    }
    this.clock.convert(u32(buf, off + 12, le), u32(buf, off + 16, le), iface.resolution);
    this.fillPacket(n, ifIndex, iface, caplen, u32(buf, off + 24, le), buf, off + 28, direction);
  }

  private deliverSimplePacket(buf: Uint8Array, off: number, size: number): void {
    const n = ++this.records;
    const iface = this.interfaceFor(0, n);
    const len = u32(buf, off + 8, this.le);
    // An SPB has no caplen field: the packet was cut to the snaplen, and padding fills the block.
    let caplen = Math.min(len, size - 16);
    if (iface.snaplen !== 0 && iface.snaplen < caplen) caplen = iface.snaplen;
    this.clock.sec = 0;
    this.clock.nsec = 0;
    this.fillPacket(n, 0, iface, caplen, len, buf, off + 12, Direction.UNKNOWN);
  }

  private interfaceFor(ifIndex: number, n: number): InterfaceInfo {
    const iface = this.interfaces[ifIndex];
    if (iface === undefined) {
      const described = this.interfaces.length;
      throw this.fail(
        this.pos,
        `${blockName(this.blockType)} (record ${n}) refers to interface ${ifIndex}, but this section has described ` +
          (described === 0 ? 'no interfaces' : `only ${plural(described, 'interface')} (0..${described - 1})`),
      );
    }
    return iface;
  }

  private fillPacket(
    n: number,
    ifIndex: number,
    iface: InterfaceInfo,
    caplen: number,
    len: number,
    buf: Uint8Array,
    dataOff: number,
    direction: DirectionValue,
  ): void {
    if (iface.snaplen !== 0 && caplen > iface.snaplen) {
      this.warn(this.pos, n, `record ${n} has ${caplen} captured bytes, more than interface ${ifIndex}'s snaplen ${iface.snaplen}; delivered as is`);
    }
    if (len < caplen) {
      this.warn(this.pos, n, `record ${n} has original length ${len}, less than its ${caplen} captured bytes; using ${caplen}`);
      len = caplen;
    }
    const tsSec = this.clock.sec + iface.offsetSec;
    // One test on the usual path; the operands are checked too, as a sum of
    // rounded huge values can land anywhere (2^60 - 2^60 + 5 is 0 or 128).
    if (!(tsSec >= 0 && tsSec <= LATEST_TIMESTAMP_SEC && this.clock.sec <= LATEST_TIMESTAMP_SEC && iface.offsetSec >= -LATEST_TIMESTAMP_SEC)) {
      throw this.fail(this.pos, this.unjudgeableTime(n, ifIndex, iface));
    }
    const rec = this.record;
    rec.n = n;
    rec.tsSec = tsSec;
    rec.tsNsec = this.clock.nsec;
    rec.linkType = iface.linkType;
    rec.ifIndex = ifIndex;
    rec.ifName = iface.name;
    rec.direction = direction;
    rec.caplen = caplen;
    rec.len = len;
    rec.buf = buf;
    rec.off = dataOff;
    rec.fileOffset = this.pos;
    this.onRecord(rec);
  }

  /** Why record n's timestamp (this.clock + the interface's if_tsoffset) cannot be judged. */
  private unjudgeableTime(n: number, ifIndex: number, iface: InterfaceInfo): string {
    const sec = this.clock.sec;
    const off = iface.offsetSec;
    const parts: string[] = [];
    if (off !== 0) parts.push(`if_tsoffset ${approxSeconds(off)}`);
    const r = iface.resolution;
    if (r.binary || r.exponent !== 6) parts.push(`if_tsresol ${r.binary ? `2^-${r.exponent}` : r.exponent === 0 ? '1' : `10^-${r.exponent}`} s`);
    const how = parts.length > 0 ? ` (interface ${ifIndex}: ${parts.join(', ')})` : '';
    const exact = Math.abs(sec) < 2 ** 53 && Math.abs(off) < 2 ** 53;
    const total = sec + off;
    const at = exact ? `${total} s since 1970 (${utcString(total)})` : `about ${approxSeconds(total)} since 1970`;
    const limit = `fwemu judges packets stamped from 1970-01-01T00:00:00Z to ${utcString(LATEST_TIMESTAMP_SEC)} (${LATEST_TIMESTAMP_SEC} s), where its clock can still add any timeout to the microsecond`;
    return total < 0
      ? `${blockName(this.blockType)} (record ${n}) is stamped ${at}${how}, before 1970; ${limit}`
      : `${blockName(this.blockType)} (record ${n}) is stamped ${at}${how}, too late to judge: ${limit}`;
  }

  private truncatedRecordNumber(): number | undefined {
    if (this.format === 'pcap') return this.records + 1;
    if (this.skipRemaining > 0 || this.phase === Phase.PCAPNG_TRAILER) return undefined;
    if (this.carryLen < 8) return undefined;
    const type = u32(this.carry, 0, this.le);
    return type === BLOCK_EPB || type === BLOCK_SPB || type === BLOCK_PB ? this.records + 1 : undefined;
  }

  private describeCutOff(): string {
    const at = `capture cut off at byte ${this.totalBytes}`;
    if (this.format === 'pcap') {
      const n = this.records + 1;
      if (this.carryLen < PCAP_RECORD_HEADER) {
        return `${at} inside the header of record ${n} (${this.carryLen} of ${PCAP_RECORD_HEADER} bytes present)`;
      }
      const caplen = u32(this.carry, 8, this.le);
      return `${at} inside record ${n} (header says ${caplen} bytes, ${this.carryLen - PCAP_RECORD_HEADER} present)`;
    }
    if (this.skipRemaining > 0 || this.phase === Phase.PCAPNG_TRAILER) {
      const present = this.totalBytes - this.skippedBlockOffset;
      return `${at} inside ${withArticle(blockName(this.skippedBlockType))} starting at byte ${this.skippedBlockOffset} (block length says ${this.skippedBlockLength} bytes, ${present} present)`;
    }
    // The SHB's byte order is only known with 12 bytes; other blocks need 8 to be named and sized.
    const type = this.carryLen >= 4 ? u32(this.carry, 0, this.le) : -1;
    const sizeKnown = this.carryLen >= (type === BLOCK_SHB ? 12 : 8);
    if (!sizeKnown) {
      return `${at} inside the header of a pcapng block starting at byte ${this.pos} (${this.carryLen} bytes present)`;
    }
    const length = u32(this.carry, 4, this.le);
    const n = this.truncatedRecordNumber();
    const what = n === undefined ? withArticle(blockName(type)) : `record ${n} (${blockName(type)})`;
    return `${at} inside ${what} starting at byte ${this.pos} (block length says ${length} bytes, ${this.carryLen} present)`;
  }

  private warn(offset: number, n: number | undefined, message: string): void {
    if (this.warnings.length >= MAX_WARNINGS) {
      this.suppressedWarnings++;
      return;
    }
    this.warnings.push(n === undefined ? { offset, message } : { offset, n, message });
  }

  private fail(offset: number, detail: string): CaptureError {
    return new CaptureError(this.name, offset, detail);
  }
}
