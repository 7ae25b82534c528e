/**
 * The pcapng format: a stream of blocks (type, length, body, length again).
 * A section header block sets the byte order and starts a new list of
 * interfaces; interface description blocks give each interface its link
 * type, snaplen, name and timestamp resolution; enhanced, simple and the
 * obsolete packet blocks carry the packets. Blocks we do not interpret are
 * checked for their framing only, and large ones streamed past.
 */

import { Direction } from './types.js';
import type { DirectionValue } from './types.js';
import {
  LATEST_TIMESTAMP_SEC,
  MICROSECONDS,
  TimestampConverter,
  tsResolutionFromOption,
  utcString,
} from './timestamp.js';
import type { TsResolution } from './timestamp.js';
import { hex32, plural, u16, u32, type ParseState } from './parse-state.js';

/** Largest pcapng block we are willing to buffer: far above any sane packet block, low enough to refuse a corrupt length. */
export const MAX_BUFFERED_BLOCK = 16 * 1024 * 1024;
/** Blocks we do not interpret (statistics, name resolution, custom) bigger than this are streamed past instead of buffered. */
const SKIP_WITHOUT_BUFFERING = 64 * 1024;
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

/** Type and length, plus the SHB's byte-order magic, which decides how the length is read. */
export const PCAPNG_BLOCK_PREFIX = 12;
export const PCAPNG_TRAILER = 4;

/** Fields every block starts with, byte offsets. */
export const BLK_TYPE = 0;
export const BLK_LENGTH = 4;
/** Section header block fields. */
export const SHB_BYTE_ORDER = 8;
export const SHB_VERSION_MAJOR = 12;
export const SHB_VERSION_MINOR = 14;
export const SHB_SECTION_LENGTH = 16;
export const SHB_OPTIONS = 24;
/** Interface description block fields. */
export const IDB_LINKTYPE = 8;
export const IDB_RESERVED = 10;
export const IDB_SNAPLEN = 12;
export const IDB_OPTIONS = 16;
/** Enhanced packet block fields; the obsolete packet block has the same layout with a 16-bit interface id. */
export const EPB_INTERFACE_ID = 8;
export const EPB_TS_HIGH = 12;
export const EPB_TS_LOW = 16;
export const EPB_CAPLEN = 20;
export const EPB_LEN = 24;
export const EPB_DATA = 28;
/** Simple packet block fields. */
const SPB_LEN = 8;
const SPB_DATA = 12;
/** Option fields, from the option's start. */
export const OPT_CODE = 0;
export const OPT_LENGTH = 2;
export const OPT_VALUE = 4;

export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** The section header block's type, also the file's magic. */
export const BLOCK_SHB = 0x0a0d0d0a;
export const BLOCK_IDB = 1;
const BLOCK_PB = 2;
const BLOCK_SPB = 3;
export const BLOCK_EPB = 6;

export const OPT_END = 0;
export const OPT_IF_NAME = 2;
export const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;
/** epb_flags and the obsolete Packet Block's pack_flags share code 2 and layout. */
export const OPT_PACKET_FLAGS = 2;

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

/** Seconds as exact digits while a double holds them exactly, else as 1.8e+19 s. */
function approxSeconds(v: number): string {
  return Math.abs(v) < 2 ** 53 ? `${v} s` : `${v.toPrecision(4)} s`;
}

function blockName(type: number): string {
  switch (type) {
    case BLOCK_SHB:
      return 'section header block';
    case BLOCK_IDB:
      return 'interface description block';
    case BLOCK_PB:
      return 'packet block';
    case BLOCK_SPB:
      return 'simple packet block';
    case 4:
      return 'name resolution block';
    case 5:
      return 'interface statistics block';
    case BLOCK_EPB:
      return 'enhanced packet block';
    case 9:
      return 'systemd journal export block';
    case 10:
      return 'decryption secrets block';
    case 0xbad:
    case 0x40000bad:
      return 'custom block';
    default:
      return `block of type ${hex32(type)}`;
  }
}

function withArticle(name: string): string {
  return (/^[aeiou]/.test(name) ? 'an ' : 'a ') + name;
}

/** Fixed part of each interpreted block type, including the 12 bytes of type, length and trailing length. */
function minimumBlockLength(type: number): number {
  switch (type) {
    case BLOCK_SHB:
      return 28;
    case BLOCK_IDB:
      return 20;
    case BLOCK_EPB:
    case BLOCK_PB:
      return 32;
    case BLOCK_SPB:
      return 16;
    default:
      return 12;
  }
}

function isInterpretedBlock(type: number): boolean {
  return type === BLOCK_SHB || type === BLOCK_IDB || type === BLOCK_EPB || type === BLOCK_SPB || type === BLOCK_PB;
}

export class PcapngReader {
  /** Byte order of the current section. */
  private le = true;
  private sectionSeen = false;
  private interfaces: InterfaceInfo[] = [];
  /** Type and length of the current block (valid from blockSize() until the block is done). */
  private blockType = 0;
  private blockLength = 0;
  /** Set by blockSize(): the current block is not interpreted and too large to buffer. */
  private streamPast = false;
  /** A block is being streamed past (from its first 12 bytes until its trailer is checked). */
  skipping = false;
  /** The skipped block, for its trailer check and truncation report. */
  skippedBlockOffset = 0;
  private skippedBlockType = 0;
  private skippedBlockLength = 0;
  private readonly clock = new TimestampConverter();

  constructor(private readonly s: ParseState) {}

  /** Given a block's first 12 bytes at buf[off], the bytes to read of it: the whole block, or only these 12 when it is to be streamed past. */
  blockSize(buf: Uint8Array, off: number): number {
    const type = u32(buf, off + BLK_TYPE, this.le);
    if (type === BLOCK_SHB) {
      // Each section declares its own byte order; the length can only be read after this.
      const bom = u32(buf, off + SHB_BYTE_ORDER, true);
      if (bom === BYTE_ORDER_MAGIC) this.le = true;
      else if (bom === 0x4d3c2b1a) this.le = false;
      else {
        throw this.s.fail(
          this.s.pos,
          `pcapng section header block has byte-order magic ${hex32(bom)}, expected 1a2b3c4d in either byte order`,
        );
      }
    }
    const length = u32(buf, off + BLK_LENGTH, this.le);
    this.blockType = type;
    this.blockLength = length;
    if (length < 12) {
      throw this.s.fail(
        this.s.pos,
        `pcapng block length ${length} is less than the 12-byte minimum (${blockName(type)})`,
      );
    }
    if (length % 4 !== 0) {
      throw this.s.fail(this.s.pos, `pcapng block length ${length} is not a multiple of 4 (${blockName(type)})`);
    }
    if (!isInterpretedBlock(type)) {
      this.streamPast = length > SKIP_WITHOUT_BUFFERING;
      return this.streamPast ? PCAPNG_BLOCK_PREFIX : length;
    }
    const minimum = minimumBlockLength(type);
    if (length < minimum) {
      throw this.s.fail(
        this.s.pos,
        `pcapng ${blockName(type)} length ${length} is less than the ${minimum} bytes its fixed fields need`,
      );
    }
    if (length > MAX_BUFFERED_BLOCK) {
      throw this.s.fail(
        this.s.pos,
        `pcapng ${blockName(type)} claims ${length} bytes, more than the ${MAX_BUFFERED_BLOCK} a block may hold; the file is corrupt from here`,
      );
    }
    this.streamPast = false;
    return length;
  }

  private checkTrailer(trailer: number, blockOffset: number, type: number, length: number): void {
    if (trailer !== length) {
      throw this.s.fail(
        blockOffset,
        `pcapng block length ${length} disagrees with the copy at the end of the block (${trailer}) (${blockName(type)}); the file is corrupt from here`,
      );
    }
  }

  /**
   * Reads the blockSize() bytes at buf[off]; returns how many bytes of the
   * block are left to stream past (0: all of it was read).
   */
  readBlock(buf: Uint8Array, off: number, size: number): number {
    if (this.streamPast) {
      this.skippedBlockOffset = this.s.pos;
      this.skippedBlockType = this.blockType;
      this.skippedBlockLength = this.blockLength;
      this.skipping = true;
      return this.blockLength - PCAPNG_BLOCK_PREFIX - PCAPNG_TRAILER;
    }
    this.checkTrailer(u32(buf, off + size - PCAPNG_TRAILER, this.le), this.s.pos, this.blockType, size);
    switch (this.blockType) {
      case BLOCK_EPB:
        this.deliverTimestampedPacket(buf, off, size, u32(buf, off + EPB_INTERFACE_ID, this.le));
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
        this.deliverTimestampedPacket(buf, off, size, u16(buf, off + EPB_INTERFACE_ID, this.le));
        break;
    }
    return 0;
  }

  /** Given the 4-byte trailer of the block being streamed past, checks it: the block is done. */
  endSkipped(buf: Uint8Array, off: number): void {
    this.checkTrailer(u32(buf, off, this.le), this.skippedBlockOffset, this.skippedBlockType, this.skippedBlockLength);
    this.skipping = false;
  }

  private readSection(buf: Uint8Array, off: number): void {
    const major = u16(buf, off + SHB_VERSION_MAJOR, this.le);
    const minor = u16(buf, off + SHB_VERSION_MINOR, this.le);
    if (major !== 1) {
      throw this.s.fail(this.s.pos, `pcapng section version ${major}.${minor} is not supported (only 1.x is)`);
    }
    this.sectionSeen = true;
    this.interfaces = [];
  }

  private readInterface(buf: Uint8Array, off: number, size: number): void {
    if (this.interfaces.length >= MAX_INTERFACES_PER_SECTION) {
      throw this.s.fail(
        this.s.pos,
        `pcapng section describes more than ${MAX_INTERFACES_PER_SECTION} interfaces (this interface description block would be interface ${this.interfaces.length}); ` +
          `fwemu keeps at most ${MAX_INTERFACES_PER_SECTION} per section, far more than any real capture has`,
      );
    }
    const le = this.le;
    const iface: InterfaceInfo = {
      linkType: u16(buf, off + IDB_LINKTYPE, le),
      snaplen: u32(buf, off + IDB_SNAPLEN, le),
      name: '',
      resolution: MICROSECONDS,
      offsetSec: 0,
    };
    const end = off + size - PCAPNG_TRAILER;
    let p = off + IDB_OPTIONS;
    while (p + OPT_VALUE <= end) {
      const code = u16(buf, p + OPT_CODE, le);
      const length = u16(buf, p + OPT_LENGTH, le);
      if (code === OPT_END) break;
      const value = p + OPT_VALUE;
      if (value + length > end) {
        this.s.warn(
          this.s.pos,
          undefined,
          `interface description block option ${code} runs past the end of the block; rest of its options ignored`,
        );
        break;
      }
      if (code === OPT_IF_NAME) {
        let stop = value + length;
        while (stop > value && buf[stop - 1] === 0) stop--;
        if (stop - value > MAX_IF_NAME_BYTES) {
          this.s.warn(
            this.s.pos,
            undefined,
            `interface ${this.interfaces.length}'s name (if_name) is ${stop - value} bytes long; only its first ${MAX_IF_NAME_BYTES} bytes are kept`,
          );
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
    const n = ++this.s.records;
    const iface = this.interfaceFor(ifIndex, n);
    const caplen = u32(buf, off + EPB_CAPLEN, le);
    const room = size - EPB_DATA - PCAPNG_TRAILER;
    if (caplen > room) {
      throw this.s.fail(
        this.s.pos,
        `${blockName(this.blockType)} (record ${n}) claims ${caplen} captured bytes but the block has room for ${room}; the file is corrupt from here`,
      );
    }
    let direction: DirectionValue = Direction.UNKNOWN;
    const end = off + size - PCAPNG_TRAILER;
    let p = off + EPB_DATA + ((caplen + 3) & ~3);
    while (p + OPT_VALUE <= end) {
      const code = u16(buf, p + OPT_CODE, le);
      const length = u16(buf, p + OPT_LENGTH, le);
      if (code === OPT_END || p + OPT_VALUE + length > end) break;
      if (code === OPT_PACKET_FLAGS && length >= 4) {
        const bits = u32(buf, p + OPT_VALUE, le) & 3;
        direction = bits === 1 ? Direction.INBOUND : bits === 2 ? Direction.OUTBOUND : Direction.UNKNOWN;
      }
      p += OPT_VALUE + ((length + 3) & ~3);
    }
    this.clock.convert(u32(buf, off + EPB_TS_HIGH, le), u32(buf, off + EPB_TS_LOW, le), iface.resolution);
    this.fillPacket(n, ifIndex, iface, caplen, u32(buf, off + EPB_LEN, le), buf, off + EPB_DATA, direction);
  }

  private deliverSimplePacket(buf: Uint8Array, off: number, size: number): void {
    const n = ++this.s.records;
    const iface = this.interfaceFor(0, n);
    const len = u32(buf, off + SPB_LEN, this.le);
    // An SPB has no caplen field: the packet was cut to the snaplen, and padding fills the block.
    let caplen = Math.min(len, size - SPB_DATA - PCAPNG_TRAILER);
    if (iface.snaplen !== 0 && iface.snaplen < caplen) caplen = iface.snaplen;
    this.clock.sec = 0;
    this.clock.nsec = 0;
    this.fillPacket(n, 0, iface, caplen, len, buf, off + SPB_DATA, Direction.UNKNOWN);
  }

  private interfaceFor(ifIndex: number, n: number): InterfaceInfo {
    const iface = this.interfaces[ifIndex];
    if (iface === undefined) {
      const described = this.interfaces.length;
      throw this.s.fail(
        this.s.pos,
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
      this.s.warn(
        this.s.pos,
        n,
        `record ${n} has ${caplen} captured bytes, more than interface ${ifIndex}'s snaplen ${iface.snaplen}; delivered as is`,
      );
    }
    if (len < caplen) {
      this.s.warn(
        this.s.pos,
        n,
        `record ${n} has original length ${len}, less than its ${caplen} captured bytes; using ${caplen}`,
      );
      len = caplen;
    }
    const tsSec = this.clock.sec + iface.offsetSec;
    // One test on the usual path; the operands are checked too, as a sum of
    // rounded huge values can land anywhere (2^60 - 2^60 + 5 is 0 or 128).
    if (
      !(
        tsSec >= 0 &&
        tsSec <= LATEST_TIMESTAMP_SEC &&
        this.clock.sec <= LATEST_TIMESTAMP_SEC &&
        iface.offsetSec >= -LATEST_TIMESTAMP_SEC
      )
    ) {
      throw this.s.fail(this.s.pos, this.unjudgeableTime(n, ifIndex, iface));
    }
    const s = this.s;
    const rec = s.record;
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
    rec.fileOffset = s.pos;
    s.onRecord(rec);
  }

  /** Why record n's timestamp (this.clock + the interface's if_tsoffset) cannot be judged. */
  private unjudgeableTime(n: number, ifIndex: number, iface: InterfaceInfo): string {
    const sec = this.clock.sec;
    const off = iface.offsetSec;
    const parts: string[] = [];
    if (off !== 0) parts.push(`if_tsoffset ${approxSeconds(off)}`);
    const r = iface.resolution;
    if (r.binary || r.exponent !== 6)
      parts.push(`if_tsresol ${r.binary ? `2^-${r.exponent}` : r.exponent === 0 ? '1' : `10^-${r.exponent}`} s`);
    const how = parts.length > 0 ? ` (interface ${ifIndex}: ${parts.join(', ')})` : '';
    const exact = Math.abs(sec) < 2 ** 53 && Math.abs(off) < 2 ** 53;
    const total = sec + off;
    const at = exact ? `${total} s since 1970 (${utcString(total)})` : `about ${approxSeconds(total)} since 1970`;
    const limit = `fwemu judges packets stamped from 1970-01-01T00:00:00Z to ${utcString(LATEST_TIMESTAMP_SEC)} (${LATEST_TIMESTAMP_SEC} s), where its clock can still add any timeout to the microsecond`;
    return total < 0
      ? `${blockName(this.blockType)} (record ${n}) is stamped ${at}${how}, before 1970; ${limit}`
      : `${blockName(this.blockType)} (record ${n}) is stamped ${at}${how}, too late to judge: ${limit}`;
  }

  /** Cold: null once a section header was read; else why the input (`total` bytes, `present` of them unread) is no capture. */
  missingSection(total: number, present: number): string | null {
    if (this.sectionSeen) return null;
    const expected = present >= PCAPNG_BLOCK_PREFIX ? this.blockLength : 28;
    return `file is ${plural(total, 'byte')}, shorter than the ${expected}-byte pcapng section header block it starts with`;
  }

  /** The number of the packet record the input ended inside (given the `present` bytes of the unfinished block), if it ended inside one. */
  truncatedRecordNumber(partial: Uint8Array, present: number): number | undefined {
    if (this.skipping) return undefined;
    if (present < 8) return undefined;
    const type = u32(partial, BLK_TYPE, this.le);
    return type === BLOCK_EPB || type === BLOCK_SPB || type === BLOCK_PB ? this.s.records + 1 : undefined;
  }

  /** The block the input ended inside, given the `present` bytes of it that are buffered. */
  describeCutOff(at: string, partial: Uint8Array, present: number): string {
    const s = this.s;
    if (this.skipping) {
      const got = s.totalBytes - this.skippedBlockOffset;
      return `${at} inside ${withArticle(blockName(this.skippedBlockType))} starting at byte ${this.skippedBlockOffset} (block length says ${this.skippedBlockLength} bytes, ${got} present)`;
    }
    // The SHB's byte order is only known with 12 bytes; other blocks need 8 to be named and sized.
    const type = present >= 4 ? u32(partial, BLK_TYPE, this.le) : -1;
    const sizeKnown = present >= (type === BLOCK_SHB ? 12 : 8);
    if (!sizeKnown) {
      return `${at} inside the header of a pcapng block starting at byte ${s.pos} (${present} bytes present)`;
    }
    const length = u32(partial, BLK_LENGTH, this.le);
    const n = this.truncatedRecordNumber(partial, present);
    const what = n === undefined ? withArticle(blockName(type)) : `record ${n} (${blockName(type)})`;
    return `${at} inside ${what} starting at byte ${s.pos} (block length says ${length} bytes, ${present} present)`;
  }
}
