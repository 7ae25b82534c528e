/**
 * The per-packet judging step, the one loop body every replay runs: the
 * one-thread replay (replay.ts, which orders the results with InOrder) and
 * each worker of a sharded replay (run/shard-worker.ts, which writes the
 * lines at once and reports the order to the reader). It lives in engine/
 * rather than run/ because replay() is the library's entry point here.
 */
import { LinkType, type CaptureRecord } from '../capture/types.js';
import { decodePacket, newDecodedPacket } from '../packet/decode.js';
import type { DecodedPacket } from '../packet/types.js';
import type { Engine, ReleasedResult } from './engine.js';
import type { PacketResult } from './result.js';

/**
 * Where a judged packet's result goes. Results come in the order they are
 * decided, which is not capture order when IP fragments are held for
 * reassembly: for each record, hold() when it is a held fragment, then
 * released() for every held fragment decided by it (in packet order; then
 * releasedEnd()), then deliver() when the record itself was decided.
 */
export interface JudgedOutput {
  /** Packet `n` is a fragment held for reassembly: its result comes later, through released(). */
  hold(n: number): void;
  /**
   * A held fragment decided. `rec` is the engine's copy of its record; its
   * datagram (when it has one) is a copy shared by this step's released
   * results; the result object is the fragment's own.
   */
  released(result: PacketResult, rec: CaptureRecord): void;
  /** After the last released() of one step. */
  releasedEnd(): void;
  /** The record just judged, decided: all three objects are reused for the next record. */
  deliver(result: PacketResult, pkt: DecodedPacket, rec: CaptureRecord): void;
}

/** An engine fed record by record, its results handed to a JudgedOutput (or dropped, with none). */
export class Judge {
  /** The decoded record (reused). */
  readonly pkt: DecodedPacket = newDecodedPacket();

  constructor(
    readonly engine: Engine,
    private readonly out: JudgedOutput | null,
  ) {}

  /** One record: decoded, judged, its result and any it decided handed on. */
  judge(rec: CaptureRecord): void {
    const engine = this.engine;
    const pkt = this.pkt;
    decodePacket(rec.buf, rec.off, rec.caplen, rec.linkType, rec.direction, pkt, rec.len);
    const result = engine.process(rec, pkt);
    const out = this.out;
    if (out === null) {
      if (engine.hasReleased) engine.takeReleased();
      return;
    }
    if (result === null) out.hold(rec.n);
    if (engine.hasReleased) this.release(engine.takeReleased());
    if (result !== null) out.deliver(result, pkt, rec);
  }

  /** The end of the input: fragments whose datagram never completed are dropped, and handed on. */
  finish(): void {
    this.engine.flushFragments();
    const rest = this.engine.takeReleased();
    if (this.out !== null) this.release(rest);
  }

  private release(list: ReleasedResult[]): void {
    if (list.length === 0) return;
    const out = this.out!;
    let datagram: DecodedPacket | null = null;
    for (const x of list) {
      const r = x.result;
      // (The engine reuses its datagram: one copy for the list.)
      if (r.datagram !== null) r.datagram = datagram ??= ownDatagram(this.engine);
      out.released(r, x.rec);
    }
    out.releasedEnd();
  }
}

/** A copy of the engine's current reassembled datagram, decoded. */
export function ownDatagram(engine: Engine): DecodedPacket {
  const bytes = engine.defrag!.datagramBytes;
  return decodePacket(bytes, 0, bytes.length, LinkType.RAW, 0, newDecodedPacket());
}
