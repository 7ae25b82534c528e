/**
 * The classic pcap format: a 24-byte global header (magic, version,
 * snaplen, link type), then records of a 16-byte header and the packet.
 * The magic fixes the byte order and whether timestamps are in micro- or
 * nanoseconds for the whole file.
 */

import { Direction } from './types.js';
import { u16, u32, type ParseState } from './parse-state.js';

/** Largest packet a pcap record may carry (libpcap/Wireshark's standard maximum). */
export const MAX_CAPLEN = 262_144;

export const PCAP_GLOBAL_HEADER = 24;
export const PCAP_RECORD_HEADER = 16;

/** Global header fields, byte offsets (the magic is at 0). */
export const HDR_VERSION_MAJOR = 4;
export const HDR_VERSION_MINOR = 6;
export const HDR_THISZONE = 8;
export const HDR_SIGFIGS = 12;
export const HDR_SNAPLEN = 16;
export const HDR_LINKTYPE = 20;
/** Record header fields, byte offsets; the packet follows the header. */
export const REC_TS_SEC = 0;
/** Microseconds, or nanoseconds in a nanosecond file. */
export const REC_TS_FRAC = 4;
export const REC_CAPLEN = 8;
export const REC_LEN = 12;

/** Magic numbers of microsecond and nanosecond files, as written in the file's byte order. */
export const MAGIC_PCAP_US = 0xa1b2c3d4;
export const MAGIC_PCAP_NS = 0xa1b23c4d;
const MAGIC_PCAP_KUZNETZOV = 0xa1b2cd34;

export class PcapReader {
  private le = true;
  private nanos = false;
  private snaplen = 0;
  private linkType = 0;

  constructor(private readonly s: ParseState) {}

  /** Takes the file's first 4 bytes (read little-endian): false when they are not a pcap magic. */
  begin(magic: number): boolean {
    switch (magic) {
      case MAGIC_PCAP_US:
      case MAGIC_PCAP_NS:
        this.le = true;
        break;
      case 0xd4c3b2a1:
      case 0x4d3cb2a1:
        this.le = false;
        break;
      case MAGIC_PCAP_KUZNETZOV:
      case 0x34cdb2a1:
        throw this.s.fail(
          0,
          'file uses the modified ("Kuznetzov") pcap format, which is not supported; convert it with editcap -F pcap',
        );
      default:
        return false;
    }
    this.nanos = magic === MAGIC_PCAP_NS || magic === 0x4d3cb2a1;
    return true;
  }

  readHeader(buf: Uint8Array, off: number): void {
    const major = u16(buf, off + HDR_VERSION_MAJOR, this.le);
    const minor = u16(buf, off + HDR_VERSION_MINOR, this.le);
    if (major !== 2) this.s.warn(4, undefined, `pcap version ${major}.${minor} is not 2.x; reading it as 2.4`);
    this.snaplen = u32(buf, off + HDR_SNAPLEN, this.le);
    // The upper 16 bits carry FCS-length information, not the link type.
    this.linkType = u32(buf, off + HDR_LINKTYPE, this.le) & 0xffff;
  }

  /** Given a record header at buf[off], the size of the whole record. */
  recordSize(buf: Uint8Array, off: number): number {
    const caplen = u32(buf, off + REC_CAPLEN, this.le);
    if (caplen > MAX_CAPLEN) {
      throw this.s.fail(
        this.s.pos,
        `packet record ${this.s.records + 1} claims ${caplen} captured bytes, more than the ${MAX_CAPLEN} a record may hold; the file is corrupt from here`,
      );
    }
    return PCAP_RECORD_HEADER + caplen;
  }

  deliverRecord(buf: Uint8Array, off: number, size: number): void {
    const s = this.s;
    const le = this.le;
    const n = ++s.records;
    const rec = s.record;
    const caplen = size - PCAP_RECORD_HEADER;
    let sec = u32(buf, off + REC_TS_SEC, le);
    let nsec = u32(buf, off + REC_TS_FRAC, le);
    if (!this.nanos) nsec *= 1000;
    if (nsec >= 1e9) {
      s.warn(
        s.pos,
        n,
        `record ${n} has a sub-second timestamp field of ${u32(buf, off + REC_TS_FRAC, le)}, a second or more; carried into the seconds`,
      );
      sec += Math.floor(nsec / 1e9);
      nsec %= 1e9;
    }
    let len = u32(buf, off + REC_LEN, le);
    if (this.snaplen !== 0 && caplen > this.snaplen) {
      s.warn(
        s.pos,
        n,
        `record ${n} has ${caplen} captured bytes, more than the file's snaplen ${this.snaplen}; delivered as is`,
      );
    }
    if (len < caplen) {
      s.warn(
        s.pos,
        n,
        `record ${n} has original length ${len}, less than its ${caplen} captured bytes; using ${caplen}`,
      );
      len = caplen;
    }
    rec.n = n;
    rec.tsSec = sec;
    rec.tsNsec = nsec;
    rec.linkType = this.linkType;
    rec.ifIndex = 0;
    rec.ifName = '';
    rec.direction = Direction.UNKNOWN;
    rec.caplen = caplen;
    rec.len = len;
    rec.buf = buf;
    rec.off = off + PCAP_RECORD_HEADER;
    rec.fileOffset = s.pos;
    s.onRecord(rec);
  }

  /** The record the input ended inside, given the `partial` bytes of it that are present. */
  describeCutOff(at: string, partial: Uint8Array, present: number): string {
    const n = this.s.records + 1;
    if (present < PCAP_RECORD_HEADER) {
      return `${at} inside the header of record ${n} (${present} of ${PCAP_RECORD_HEADER} bytes present)`;
    }
    const caplen = u32(partial, REC_CAPLEN, this.le);
    return `${at} inside record ${n} (header says ${caplen} bytes, ${present - PCAP_RECORD_HEADER} present)`;
  }
}
