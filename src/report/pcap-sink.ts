import type { Writable } from 'node:stream';
import { PcapngWriter, PcapWriter } from '../capture/write.js';
import type { CaptureRecord } from '../capture/types.js';
import { openOutput, outputName, type OutputFile } from '../base/output-file.js';

/**
 * A capture file that collects chosen packets of a replay (--write-accepted,
 * --write-dropped). The format follows the file name: ".pcapng" keeps each
 * interface and direction, anything else is classic pcap with nanosecond
 * timestamps, which holds one link type only. "-" is standard output (pcap).
 *
 * The file is opened at once, so that a path that cannot be written is
 * said before the replay; it replaces the file of that name only at
 * close(), and abort() leaves that file as it was (src/base/output-file.ts).
 */
export class PcapSink {
  private pcap: PcapWriter | null = null;
  private pcapng: PcapngWriter | null = null;
  private readonly ifaces = new Map<string, number>();
  private readonly file: OutputFile | null;
  /** Packets left out because their link type differs from the pcap file's. */
  skippedLinkType = 0;
  written = 0;
  /** close() put the file in place. */
  closed = false;
  private readonly ng: boolean;
  /** Where "-" writes: the command's standard output. */
  private readonly stdout: Writable;

  constructor(
    readonly path: string,
    stdout: Writable,
  ) {
    this.ng = path.endsWith('.pcapng');
    this.file = path === '-' ? null : openOutput(path);
    this.stdout = stdout;
  }

  /** The file as messages name it. */
  get name(): string {
    return outputName(this.path);
  }

  add(rec: CaptureRecord): void {
    if (this.ng) {
      this.pcapng ??= new PcapngWriter(this.file ?? this.stdout);
      const key = `${rec.linkType}/${rec.ifName}`;
      let idx = this.ifaces.get(key);
      if (idx === undefined) {
        idx = this.pcapng.addInterface(rec.linkType, rec.ifName || undefined);
        this.ifaces.set(key, idx);
      }
      this.pcapng.write(idx, rec.tsSec, rec.tsNsec, rec.buf, rec.off, rec.caplen, rec.len, rec.direction);
    } else {
      this.pcap ??= new PcapWriter(this.file ?? this.stdout, { linkType: rec.linkType, nanosecond: true });
      if (rec.linkType !== this.pcap.linkType) {
        this.skippedLinkType++;
        return;
      }
      this.pcap.write(rec.tsSec, rec.tsNsec, rec.buf, rec.off, rec.caplen, rec.len);
    }
    this.written++;
  }

  /** When standard output asked us to wait: resolves once it can take more. */
  pending(): Promise<void> | null {
    return this.pcap?.pending() ?? this.pcapng?.pending() ?? null;
  }

  /** Completes the file and puts it in place; a sink that received nothing still writes a valid, empty pcap. */
  async close(fallbackLinkType: number): Promise<void> {
    if (!this.pcap && !this.pcapng) {
      if (this.ng) this.pcapng = new PcapngWriter(this.file ?? this.stdout);
      else this.pcap = new PcapWriter(this.file ?? this.stdout, { linkType: fallbackLinkType, nanosecond: true });
    }
    await this.pcap?.close();
    await this.pcapng?.close();
    this.closed = true;
  }

  /** A file that abort() leaves as it was: a regular file, not closed yet (not stdout, a FIFO or a device). */
  get undoable(): boolean {
    return this.file !== null && !this.closed && !this.file.inPlace;
  }

  /** The run failed: the file of this name is left as it was (what went to standard output is out). */
  abort(): void {
    if (this.pcap) this.pcap.abort();
    else if (this.pcapng) this.pcapng.abort();
    else this.file?.abort();
  }
}
