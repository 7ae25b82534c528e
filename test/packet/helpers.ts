/** Test helpers for test/packet: hex frames, an independent checksum, a minimal pcap writer, tool detection. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Bytes from hex text; whitespace ignored, '#' starts a comment to the end of the line. */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`bad hex: ${clean}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * One's-complement sum of 16-bit big-endian words (odd byte padded with 0),
 * folded to 16 bits. Written independently of src/packet/encode.ts.
 * A region that includes a correct checksum sums to 0xffff.
 */
export function foldedSum(...chunks: Uint8Array[]): number {
  const all: number[] = [];
  for (const c of chunks) {
    for (const b of c) all.push(b);
    if (c.length % 2 === 1) all.push(0); // every chunk here is even-aligned except the last
  }
  let s = 0;
  for (let i = 0; i < all.length; i += 2) {
    s += all[i] * 256 + all[i + 1];
    s = (s & 0xffff) + (s >>> 16);
  }
  return s;
}

/** Pseudo-header bytes for TCP/UDP/ICMPv6 checksums. */
export function pseudoHeader(ip: Uint8Array, proto: number, l4Len: number): Uint8Array {
  const v = ip[0] >> 4;
  if (v === 4) {
    const p = new Uint8Array(12);
    p.set(ip.subarray(12, 20), 0);
    p[9] = proto;
    p[10] = l4Len >> 8;
    p[11] = l4Len & 0xff;
    return p;
  }
  const p = new Uint8Array(40);
  p.set(ip.subarray(8, 40), 0);
  p[34] = l4Len >> 8;
  p[35] = l4Len & 0xff;
  p[39] = proto;
  return p;
}

/** A classic little-endian microsecond pcap of the given frames. */
export function pcapBytes(linkType: number, frames: Uint8Array[], origLens?: number[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const g = new Uint8Array(24);
  const gv = new DataView(g.buffer);
  gv.setUint32(0, 0xa1b2c3d4, true);
  gv.setUint16(4, 2, true);
  gv.setUint16(6, 4, true);
  gv.setUint32(16, 262144, true);
  gv.setUint32(20, linkType, true);
  parts.push(g);
  frames.forEach((f, i) => {
    const r = new Uint8Array(16);
    const rv = new DataView(r.buffer);
    rv.setUint32(0, 1_700_000_000 + i, true);
    rv.setUint32(4, 0, true);
    rv.setUint32(8, f.length, true);
    rv.setUint32(12, origLens?.[i] ?? f.length, true);
    parts.push(r, f);
  });
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

let dir: string | undefined;
let counter = 0;
/** Writes the frames to a pcap file in a temporary directory (removeWrittenPcaps() removes it). */
export function writePcap(linkType: number, frames: Uint8Array[]): string {
  dir ??= mkdtempSync(join(tmpdir(), 'fwemu-packet-'));
  const f = join(dir, `t${counter++}.pcap`);
  writeFileSync(f, pcapBytes(linkType, frames));
  return f;
}

/**
 * Writes groups of frames, each of its own link type, to one pcapng file
 * (one interface per group, in order): one tshark run reads them all.
 */
export function writePcapngLinks(groups: { linkType: number; frames: Uint8Array[] }[]): string {
  dir ??= mkdtempSync(join(tmpdir(), 'fwemu-packet-'));
  const f = join(dir, `t${counter++}.pcapng`);
  const parts: Buffer[] = [];
  const block = (type: number, body: Buffer) => {
    const padded = (body.length + 3) & ~3;
    const b = Buffer.alloc(12 + padded);
    b.writeUInt32LE(type, 0);
    b.writeUInt32LE(12 + padded, 4);
    body.copy(b, 8);
    b.writeUInt32LE(12 + padded, 8 + padded);
    parts.push(b);
  };
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeBigInt64LE(-1n, 8);
  block(0x0a0d0d0a, shb);
  for (const g of groups) {
    const idb = Buffer.alloc(8);
    idb.writeUInt16LE(g.linkType, 0);
    idb.writeUInt32LE(262144, 4);
    block(1, idb);
  }
  let n = 0;
  groups.forEach((g, iface) => {
    for (const frame of g.frames) {
      const epb = Buffer.alloc(20 + frame.length);
      epb.writeUInt32LE(iface, 0);
      // Microseconds (no if_tsresol): one second apart, as writePcap() stamps them.
      const us = BigInt(1_700_000_000 + n++) * 1_000_000n;
      epb.writeUInt32LE(Number(us >> 32n), 4);
      epb.writeUInt32LE(Number(us & 0xffffffffn), 8);
      epb.writeUInt32LE(frame.length, 12);
      epb.writeUInt32LE(frame.length, 16);
      Buffer.from(frame.buffer, frame.byteOffset, frame.length).copy(epb, 20);
      block(6, epb);
    }
  });
  writeFileSync(f, Buffer.concat(parts));
  return f;
}

/** Removes what writePcap() wrote: `afterAll(removeWrittenPcaps)` in every file that uses it. */
export function removeWrittenPcaps(): void {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
}

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}
export const hasTshark = has('tshark');
export const hasTcpdump = has('tcpdump');

export function tshark(args: string[]): string {
  return execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

export function tcpdump(args: string[]): string {
  return execFileSync('tcpdump', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}
