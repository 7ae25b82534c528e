/**
 * What the reader thread and the shard workers of a sharded replay say to
 * each other (sharded.ts, shard-worker.ts).
 */
import type { EngineStats } from '../engine/engine.js';

// A batch lists its records as DESC numbers each, in a Float64Array:
/** Offset of the packet bytes in the chunk (or in the spill chunk). */
export const D_OFF = 0;
export const D_N = 1;
/** The replay's clock at this packet: the latest timestamp of all packets so far (not this packet's own). */
export const D_SEC = 2;
export const D_NSEC = 3;
export const D_CAPLEN = 4;
export const D_LEN = 5;
export const D_LINK = 6;
/** Direction (CaptureRecord.direction), plus IN_SPILL when the bytes are in the batch's spill chunk. */
export const D_DIR = 7;
/** The packet's own timestamp. */
export const D_OWN_SEC = 8;
export const D_OWN_NSEC = 9;
/** The pcapng interface's name, as an index into the batch's ifNames; -1 for none. */
export const D_IF = 10;
export const DESC = 11;
export const IN_SPILL = 256;

/** `list`, or a copy twice as long (at least `need`) when it has no room for `need` numbers: batch lists and event lists grow. */
export function withRoom(list: Float64Array, need: number): Float64Array {
  if (need <= list.length) return list;
  const grown = new Float64Array(Math.max(need, list.length * 2));
  grown.set(list);
  return grown;
}

/**
 * Per-packet output: lines (--format text or jsonl) and the records
 * --write-accepted/--write-dropped write. The shards write them as they
 * judge, with what the reader needs to put them in the order one thread
 * would (shard-lines.ts). Each event is EV numbers in a Float64Array: its
 * kind, the packet it is about, the packet being judged when it happened,
 * where its line ends and where its bytes end in the batch's bytes (it
 * starts where the previous event's end; the record's bytes, if any,
 * follow the line), which capture the record goes to, and the record's
 * fields.
 */
export const E_KIND = 0;
export const E_N = 1;
export const E_JUDGED = 2;
export const E_LINE_END = 3;
export const E_END = 4;
/** NO_RECORD, or which capture the record (after the line) goes to: TO_ACCEPTED or TO_DROPPED. */
export const E_RECORD = 5;
export const E_SEC = 6;
export const E_NSEC = 7;
export const E_LEN = 8;
export const E_LINK = 9;
export const E_DIR = 10;
/** The interface name, as an index into ifNames (-1 for none). */
export const E_IF = 11;
export const EV = 12;
export const NO_RECORD = 0;
export const TO_ACCEPTED = 1;
export const TO_DROPPED = 2;
/** A packet judged now, and its line. */
export const LINE = 0;
/** A fragment held until its datagram is decided (no line yet). */
export const HELD = 1;
/** A held fragment decided (while another packet was judged, or at the end), and its line. */
export const RELEASED = 2;

/** What the shards write for each packet: its line, in this format ('none': no line), and its record if its verdict's capture is being written. */
export interface ShardReport {
  format: 'text' | 'jsonl' | 'none';
  time: 'relative' | 'epoch' | 'iso';
  color: boolean;
  /** Text lines fitted to this many columns; 0: the wide line. */
  width: number;
  accepted: boolean;
  dropped: boolean;
}

/** A shard's lines of one batch (or of the end). */
export interface ShardLines {
  bytes: Uint8Array;
  events: Float64Array;
  count: number;
}

/** Conntrack figures of a shard's table at the end (after expiring against the replay's final clock). */
export interface ShardConntrack {
  live: number;
  earlyDrop: number;
  tableFull: number;
}

export type ToShard =
  | {
      type: 'batch';
      /** The round of batches this one was posted in (its lines are written with the round's). */
      round: number;
      chunkId: number;
      chunk: SharedArrayBuffer;
      /** Where records that did not lie whole in a chunk (split between two reads, or read from a stream) were copied; -1 and empty when none. */
      spillId: number;
      spill: SharedArrayBuffer;
      list: Float64Array;
      count: number;
      /** For lines: the first packet's timestamp (text's relative times), and the interface names so far. */
      baseSec: number;
      baseNsec: number;
      ifNames: string[];
    }
  | { type: 'end'; clockSec: number; clockNsec: number };

export type FromShard =
  /**
   * A batch judged: its list comes back to be used again; the shard's flows
   * so far; its reassembly memory (IPv4, IPv6): the most held while it judged
   * the batch, and what it holds now.
   */
  | {
      type: 'done';
      round: number;
      chunk: number;
      spill: number;
      list: Float64Array;
      flows: number;
      frag: [number, number, number, number];
      lines: ShardLines | null;
    }
  /** The end: the lines of the fragments still held (dropped now), and the shard's figures. */
  | { type: 'stats'; stats: EngineStats; conntrack: ShardConntrack | null; lines: ShardLines | null };
