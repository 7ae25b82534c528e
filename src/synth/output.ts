/**
 * Handing generated packets on: as a packet source for replay(), or
 * written to a pcap/pcapng file or stream.
 */
import type { Writable } from 'node:stream';
import { type CaptureRecord, type CaptureSummary, newCaptureRecord, StopReading } from '../capture/types.js';
import { PcapWriter, PcapngWriter } from '../capture/write.js';
import { OutputFile } from '../base/output-file.js';
import type { SynthOutput } from './types.js';

/** How often (packets) synthSource awaits `beforeRead`, so a slow consumer can hold it back. */
const YIELD_EVERY = 1024;

/**
 * A packet source for `replay({ rules, source: synthSource(out) })`: feeds
 * the packets as CaptureRecords (one reused record, as capture readers do).
 * Record numbers, and file offsets as if written with writeSynth as pcap.
 */
export function synthSource(
  out: SynthOutput,
): (onRecord: (rec: CaptureRecord) => void, beforeRead?: () => Promise<void> | null) => Promise<CaptureSummary> {
  return async (onRecord, beforeRead) => {
    const rec = newCaptureRecord();
    rec.linkType = out.linkType;
    let offset = 24;
    try {
      for (let i = 0; i < out.packets.length; i++) {
        if (beforeRead && i > 0 && i % YIELD_EVERY === 0) {
          const wait = beforeRead();
          if (wait) await wait;
        }
        const p = out.packets[i];
        rec.n = i + 1;
        rec.tsSec = p.tsSec;
        rec.tsNsec = p.tsNsec;
        rec.linkType = p.linkType;
        rec.caplen = p.data.length;
        rec.len = p.data.length;
        rec.buf = p.data;
        rec.off = 0;
        rec.fileOffset = offset;
        offset += 16 + p.data.length;
        onRecord(rec);
      }
    } catch (err) {
      // Stopped by the consumer: the packets up to this one were handed on, as if read from the pcap file.
      if (err instanceof StopReading)
        err.partial ??= { format: 'pcap', records: rec.n, bytesRead: offset, warnings: [], truncated: false };
      throw err;
    }
    return { format: 'pcap', records: out.packets.length, bytesRead: offset, warnings: [], truncated: false };
  };
}

export interface WriteSynthOptions {
  /** Default: pcapng when the path ends in .pcapng, else pcap (microsecond timestamps, which are exact). */
  format?: 'pcap' | 'pcapng';
}

/**
 * Writes the packets to a capture file (or a stream such as stdout). A file
 * replaces the one of that name only once complete: on an error, that file
 * is left as it was (src/base/output-file.ts).
 */
export async function writeSynth(
  out: SynthOutput,
  target: string | OutputFile | Writable,
  opts: WriteSynthOptions = {},
): Promise<void> {
  const name = typeof target === 'string' ? target : target instanceof OutputFile ? target.path : '';
  const format = opts.format ?? (/\.pcapng$/i.test(name) ? 'pcapng' : 'pcap');
  const w = format === 'pcapng' ? new PcapngWriter(target) : new PcapWriter(target, { linkType: out.linkType });
  try {
    const ifIndex = w instanceof PcapngWriter ? w.addInterface(out.linkType, 'synth') : 0;
    for (const p of out.packets) {
      if (w instanceof PcapngWriter) w.write(ifIndex, p.tsSec, p.tsNsec, p.data, 0, p.data.length, p.data.length);
      else w.write(p.tsSec, p.tsNsec, p.data, 0, p.data.length, p.data.length);
      const wait = w.pending();
      if (wait) await wait;
    }
  } catch (err) {
    w.abort();
    throw err;
  }
  await w.close();
}
