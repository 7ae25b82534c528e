/**
 * What the reader thread and the shard workers of a sharded replay say to
 * each other (sharded.ts, shard-worker.ts).
 */
import type { EngineStats } from './engine.js';

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
 * Per-packet lines (--format text or jsonl): the shards write them as they
 * judge, with what the reader's InOrder needs to put them in the order one
 * thread would (shard-lines.ts). Each event is EV numbers in a Float64Array:
 * its kind, the packet it is about, the packet being judged when it
 * happened, and where its line ends in the batch's bytes (it starts where
 * the previous event's ends).
 */
export const E_KIND = 0;
export const E_N = 1;
export const E_JUDGED = 2;
export const E_END = 3;
export const EV = 4;
/** A packet judged now, and its line. */
export const LINE = 0;
/** A fragment held until its datagram is decided (no line yet). */
export const HELD = 1;
/** A held fragment decided (while another packet was judged, or at the end), and its line. */
export const RELEASED = 2;

/** How the shards write per-packet lines. */
export interface ShardReport {
  format: 'text' | 'jsonl';
  time: 'relative' | 'epoch' | 'iso';
  color: boolean;
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
  /** A batch judged: its list comes back to be used again; the shard's flows so far. */
  | { type: 'done'; round: number; chunk: number; spill: number; list: Float64Array; flows: number; lines: ShardLines | null }
  /** The end: the lines of the fragments still held (dropped now), and the shard's figures. */
  | { type: 'stats'; stats: EngineStats; conntrack: ShardConntrack | null; lines: ShardLines | null };
