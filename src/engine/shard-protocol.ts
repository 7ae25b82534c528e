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
export const DESC = 8;
export const IN_SPILL = 256;

/** Conntrack figures of a shard's table at the end (after expiring against the replay's final clock). */
export interface ShardConntrack {
  live: number;
  earlyDrop: number;
  tableFull: number;
}

export type ToShard =
  | {
    type: 'batch';
    chunkId: number;
    chunk: SharedArrayBuffer;
    /** Where records that did not lie whole in a chunk (split between two reads, or read from a stream) were copied; -1 and empty when none. */
    spillId: number;
    spill: SharedArrayBuffer;
    list: Float64Array;
    count: number;
  }
  | { type: 'end'; clockSec: number; clockNsec: number };

export type FromShard =
  /** A batch judged: its list comes back to be used again; the shard's flows so far. */
  | { type: 'done'; chunk: number; spill: number; list: Float64Array; flows: number }
  | { type: 'stats'; stats: EngineStats; conntrack: ShardConntrack | null };
