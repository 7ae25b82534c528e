import { PcapngWriter, PcapWriter } from '../capture/write.js';
import type { CaptureRecord } from '../capture/types.js';

/**
 * A capture file that collects chosen packets of a replay (--write-accepted,
 * --write-dropped). The format follows the file name: ".pcapng" keeps each
 * interface and direction, anything else is classic pcap with nanosecond
 * timestamps, which holds one link type only.
 */
export class PcapSink {
  private pcap: PcapWriter | null = null;
  private pcapng: PcapngWriter | null = null;
  private readonly ifaces = new Map<string, number>();
  /** Packets left out because their link type differs from the pcap file's. */
  skippedLinkType = 0;
  written = 0;

  constructor(readonly path: string) {}

  add(rec: CaptureRecord): void {
    if (this.path.endsWith('.pcapng')) {
      this.pcapng ??= new PcapngWriter(this.path);
      const key = `${rec.linkType}/${rec.ifName}`;
      let idx = this.ifaces.get(key);
      if (idx === undefined) {
        idx = this.pcapng.addInterface(rec.linkType, rec.ifName || undefined);
        this.ifaces.set(key, idx);
      }
      this.pcapng.write(idx, rec.tsSec, rec.tsNsec, rec.buf, rec.off, rec.caplen, rec.len, rec.direction);
    } else {
      this.pcap ??= new PcapWriter(this.path, { linkType: rec.linkType, nanosecond: true });
      if (rec.linkType !== this.pcap.linkType) {
        this.skippedLinkType++;
        return;
      }
      this.pcap.write(rec.tsSec, rec.tsNsec, rec.buf, rec.off, rec.caplen, rec.len);
    }
    this.written++;
  }

  /** Closes the file; a sink that received nothing still writes a valid, empty pcap. */
  async close(fallbackLinkType: number): Promise<void> {
    if (!this.pcap && !this.pcapng) {
      if (this.path.endsWith('.pcapng')) this.pcapng = new PcapngWriter(this.path);
      else this.pcap = new PcapWriter(this.path, { linkType: fallbackLinkType, nanosecond: true });
    }
    await this.pcap?.close();
    await this.pcapng?.close();
  }
}
