/**
 * A small, self-contained pcap / pcapng reader for the kernel oracle (kept
 * apart from src/capture on purpose: the oracle must not share bugs with the
 * thing it checks). It hands back every packet record in file order, and
 * pulls the L3 packet out of the link-layer framing.
 */
import { readFileSync } from 'node:fs';

export interface RawPacket {
  /** 1-based number among all packet records of the file. */
  n: number;
  /** Capture time in seconds since the epoch (float; enough for replay pacing). */
  ts: number;
  linkType: number;
  data: Uint8Array;
  caplen: number;
  len: number;
  /** pcapng: the name of the interface it was captured on (IDB option if_name), when given. */
  ifName?: string;
}

export function readCapture(path: string): RawPacket[] {
  const buf = new Uint8Array(readFileSync(path));
  if (buf.length < 4) throw new Error(`${path}: too short to be a capture`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magicBE = dv.getUint32(0, false);
  if (magicBE === 0x0a0d0d0a) return readPcapng(path, buf, dv);
  return readPcap(path, buf, dv);
}

function readPcap(path: string, buf: Uint8Array, dv: DataView): RawPacket[] {
  if (buf.length < 24) throw new Error(`${path}: truncated pcap header`);
  const m = dv.getUint32(0, true);
  let le: boolean;
  let nano: boolean;
  if (m === 0xa1b2c3d4) [le, nano] = [true, false];
  else if (m === 0xa1b23c4d) [le, nano] = [true, true];
  else if (m === 0xd4c3b2a1) [le, nano] = [false, false];
  else if (m === 0x4d3cb2a1) [le, nano] = [false, true];
  else throw new Error(`${path}: not a pcap or pcapng file (magic 0x${dv.getUint32(0, false).toString(16)})`);
  const linkType = dv.getUint32(20, le) & 0x0fffffff;
  const out: RawPacket[] = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const sec = dv.getUint32(off, le);
    const frac = dv.getUint32(off + 4, le);
    const caplen = dv.getUint32(off + 8, le);
    const len = dv.getUint32(off + 12, le);
    off += 16;
    if (off + caplen > buf.length) break; // cut off at the end
    out.push({
      n: out.length + 1,
      ts: sec + frac / (nano ? 1e9 : 1e6),
      linkType,
      data: buf.subarray(off, off + caplen),
      caplen,
      len,
    });
    off += caplen;
  }
  return out;
}

function readPcapng(path: string, buf: Uint8Array, dv: DataView): RawPacket[] {
  const out: RawPacket[] = [];
  let le = true;
  let ifaces: Array<{ linkType: number; snaplen: number; tsDiv: number; name?: string }> = [];
  let off = 0;
  while (off + 12 <= buf.length) {
    const typeBE = dv.getUint32(off, false);
    if (typeBE === 0x0a0d0d0a) {
      const bom = dv.getUint32(off + 8, true);
      if (bom === 0x1a2b3c4d) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else throw new Error(`${path}: bad pcapng byte-order magic at ${off}`);
      ifaces = [];
    }
    const type = dv.getUint32(off, le);
    const blen = dv.getUint32(off + 4, le);
    if (blen < 12 || blen % 4 !== 0 || off + blen > buf.length) break;
    const body = off + 8;
    const end = off + blen - 4;
    if (type === 1) {
      // Interface Description Block
      const linkType = dv.getUint16(body, le);
      const snaplen = dv.getUint32(body + 4, le);
      let tsDiv = 1e6;
      let name: string | undefined;
      let o = body + 8;
      while (o + 4 <= end) {
        const code = dv.getUint16(o, le);
        const olen = dv.getUint16(o + 2, le);
        if (code === 0) break;
        if (code === 9 && olen >= 1) {
          const r = buf[o + 4];
          tsDiv = r & 0x80 ? 2 ** (r & 0x7f) : 10 ** (r & 0x7f);
        }
        if (code === 2 && olen >= 1)
          name = new TextDecoder().decode(buf.subarray(o + 4, o + 4 + olen)).replace(/\0+$/, '');
        o += 4 + ((olen + 3) & ~3);
      }
      ifaces.push({ linkType, snaplen, tsDiv, ...(name ? { name } : {}) });
    } else if (type === 6 || type === 2) {
      // Enhanced Packet Block / obsolete Packet Block
      const ifId = type === 6 ? dv.getUint32(body, le) : dv.getUint16(body, le);
      const hi = dv.getUint32(body + 4, le);
      const lo = dv.getUint32(body + 8, le);
      const caplen = dv.getUint32(body + 12, le);
      const len = dv.getUint32(body + 16, le);
      const ifc = ifaces[ifId];
      if (!ifc) throw new Error(`${path}: packet block at ${off} names unknown interface ${ifId}`);
      const start = body + 20;
      const cl = Math.min(caplen, end - start);
      out.push({
        n: out.length + 1,
        ts: (hi * 4294967296 + lo) / ifc.tsDiv,
        linkType: ifc.linkType,
        data: buf.subarray(start, start + cl),
        caplen: cl,
        len,
        ...(ifc.name ? { ifName: ifc.name } : {}),
      });
    } else if (type === 3) {
      // Simple Packet Block: interface 0, no timestamp
      const ifc = ifaces[0];
      if (!ifc) throw new Error(`${path}: simple packet block at ${off} without an interface`);
      const len = dv.getUint32(body, le);
      const start = body + 4;
      const cl = Math.min(len, ifc.snaplen || len, end - start);
      const prev = out[out.length - 1];
      out.push({
        n: out.length + 1,
        ts: prev ? prev.ts : 0,
        linkType: ifc.linkType,
        data: buf.subarray(start, start + cl),
        caplen: cl,
        len,
      });
    }
    off += blen;
  }
  return out;
}

export type L3 = { ethertype: number; ip: Uint8Array } | { skip: string };

const VLAN_TPIDS = new Set([0x8100, 0x88a8, 0x9100]);

function byVersion(ip: Uint8Array): L3 {
  if (ip.length === 0) return { skip: 'empty packet' };
  const v = ip[0] >> 4;
  if (v === 4) return { ethertype: 0x0800, ip };
  if (v === 6) return { ethertype: 0x86dd, ip };
  return { skip: `IP version ${v}` };
}

function byEthertype(et: number, ip: Uint8Array): L3 {
  if (et === 0x0800 || et === 0x86dd) return { ethertype: et, ip };
  return { skip: `ethertype 0x${et.toString(16).padStart(4, '0')}` };
}

/** The L3 packet inside a link-layer frame (VLAN tags are stripped: the test kernel has no 802.1Q). */
export function toL3(linkType: number, d: Uint8Array): L3 {
  const be16 = (o: number) => (d[o] << 8) | d[o + 1];
  switch (linkType) {
    case 1: {
      if (d.length < 14) return { skip: 'short Ethernet frame' };
      let o = 12;
      let et = be16(o);
      while (VLAN_TPIDS.has(et)) {
        o += 4;
        if (d.length < o + 2) return { skip: 'short VLAN frame' };
        et = be16(o);
      }
      return byEthertype(et, d.subarray(o + 2));
    }
    case 101: // LINKTYPE_RAW
    case 12: // DLT_RAW as some writers store it
    case 14:
      return byVersion(d);
    case 228:
      return byEthertype(0x0800, d);
    case 229:
      return byEthertype(0x86dd, d);
    case 0: // BSD loopback, family in writer's byte order
    case 108: // OpenBSD loop, family in network order
      if (d.length < 4) return { skip: 'short loopback header' };
      return byVersion(d.subarray(4));
    case 113: // Linux cooked v1
      if (d.length < 16) return { skip: 'short SLL header' };
      return byEthertype(be16(14), d.subarray(16));
    case 276: // Linux cooked v2
      if (d.length < 20) return { skip: 'short SLL2 header' };
      return byEthertype(be16(0), d.subarray(20));
    default:
      return { skip: `link type ${linkType}` };
  }
}
