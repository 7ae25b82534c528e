/**
 * A capture record of one raw IP packet (LINKTYPE_RAW), as the capture
 * layer hands it to the engine: what the engine tests build their packets
 * into. `t` is seconds after 1_700_000_000; `ifName` names the interface
 * it was captured on ('' for none).
 */
import { Direction, LinkType, type CaptureRecord } from '../../src/capture/types.js';

export function rawRecord(ip: Uint8Array, n = 1, t = 0, ifName = ''): CaptureRecord {
  return {
    n,
    tsSec: 1_700_000_000 + Math.floor(t),
    tsNsec: Math.round((t % 1) * 1e9),
    linkType: LinkType.RAW,
    ifIndex: 0,
    ifName,
    direction: Direction.UNKNOWN,
    caplen: ip.length,
    len: ip.length,
    buf: ip,
    off: 0,
    fileOffset: 0,
  };
}
