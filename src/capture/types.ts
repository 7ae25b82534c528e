/**
 * The contract between capture readers and everything downstream.
 *
 * A reader hands out ONE reused CaptureRecord per packet: its fields are
 * overwritten for the next packet, and `buf` may be reused too, so a consumer
 * that wants to keep anything must copy it. This is what lets the hot path
 * run without allocating per packet.
 */

import { Direction, type DirectionValue } from '../base/link.js';
import { visible } from '../base/text-escape.js';

/** Link types and directions belong to the frames as much as to the files: base/link.ts, shared with packet/. */
export { Direction, LinkType, type DirectionValue, type LinkTypeValue } from '../base/link.js';

export interface CaptureRecord {
  /** 1-based position of this record among all packet records of the capture (all sections, all interfaces). */
  n: number;
  /** Timestamp: whole seconds since the Unix epoch, and nanoseconds within that second (0..999_999_999). */
  tsSec: number;
  tsNsec: number;
  /** LINKTYPE_* of the interface the packet was captured on. */
  linkType: number;
  /** Interface index within its pcapng section (0 for pcap). */
  ifIndex: number;
  /** Interface name from pcapng if_name, or '' when unknown. */
  ifName: string;
  /** Direction from pcapng EPB flags; SLL/SLL2 direction is decoded later from the link header. */
  direction: DirectionValue;
  /** Bytes of packet data present in the capture. */
  caplen: number;
  /** Original length on the wire (>= caplen when the snaplen cut the packet). */
  len: number;
  /** Packet bytes are buf[off, off + caplen). Valid only until the next record is delivered. */
  buf: Uint8Array;
  off: number;
  /** Byte offset of this record's header (pcap record header / pcapng block) from the start of the input. */
  fileOffset: number;
}

/** An empty record, to be refilled for each packet by whoever reuses it (nothing is allocated per packet). */
export function newCaptureRecord(): CaptureRecord {
  return {
    n: 0,
    tsSec: 0,
    tsNsec: 0,
    linkType: 0,
    ifIndex: 0,
    ifName: '',
    direction: Direction.UNKNOWN,
    caplen: 0,
    len: 0,
    buf: new Uint8Array(0),
    off: 0,
    fileOffset: 0,
  };
}

/** What a reader reports once the input is exhausted (or cut off). */
export interface CaptureSummary {
  format: 'pcap' | 'pcapng';
  /** Packet records delivered to the consumer. */
  records: number;
  /** Bytes of input read, trailing partial record included. */
  bytesRead: number;
  /** Non-fatal problems, each with its position; e.g. a record cut off at the end of the file. */
  warnings: CaptureWarning[];
  /** True when the input ended in the middle of a record (a live capture killed mid-write). */
  truncated: boolean;
}

export interface CaptureWarning {
  /** Byte offset in the input where the problem is. */
  offset: number;
  /** Record number it concerns, when it concerns one. */
  n?: number;
  message: string;
}

/**
 * Raised when nothing (more) can be read: wrong magic, truncated global
 * header, a pcapng block length that makes the rest unparseable. Always
 * carries the input name and byte offset so the CLI can print one line.
 */
export class CaptureError extends Error {
  /**
   * What had been read when the error struck, set by readCapture() once a
   * record was delivered or a warning raised: the real format, the records
   * delivered, the bytes read and the warnings raised before the error
   * (`truncated` is false: the error, not a cut, ended the input). Undefined
   * when nothing was read past the header.
   */
  partial?: CaptureSummary;

  constructor(
    readonly file: string,
    readonly offset: number,
    readonly detail: string,
  ) {
    super(`${visible(file)}: at byte ${offset}: ${visible(detail)}`);
    this.name = 'CaptureError';
  }
}

/**
 * Thrown by a consumer's onRecord to stop reading early (replay's
 * stopAfter). The reader rethrows it with `partial` set to what had been
 * read, the record that threw included: format, records, warnings so far.
 */
export class StopReading extends Error {
  partial?: CaptureSummary;

  constructor() {
    super('stopped reading the capture early');
    this.name = 'StopReading';
  }
}
