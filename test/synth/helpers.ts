/**
 * Test helpers for test/synth: an independent reader for the frames the
 * generator makes (Ethernet or raw; IPv4/IPv6; TCP/UDP/ICMP), written from
 * the RFCs and not from src/packet, a checksum, and tshark plumbing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const hasTshark = spawnSync('tshark', ['--version']).status === 0;

const tmpDirs: string[] = [];

/** A path named `name` in a new temporary directory (removeTmpFiles() removes them all). */
export function tmpFile(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'fwemu-synth-'));
  tmpDirs.push(dir);
  return join(dir, name);
}

/** Removes the directories tmpFile() made: `afterAll(removeTmpFiles)` in every file that uses it. */
export function removeTmpFiles(): void {
  for (const dir of tmpDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export interface TcpOpt {
  kind: number;
  data: number[];
}

export interface Frame {
  srcMac: string | null;
  dstMac: string | null;
  version: 4 | 6;
  src: string;
  dst: string;
  ttl: number;
  /** IPv4 only. */
  ipId: number;
  df: boolean;
  tos: number;
  flowLabel: number;
  proto: number;
  ipHeaderOk: boolean;
  l4ChecksumOk: boolean;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  tcpOptions: TcpOpt[];
  /** Option bytes as sent (kinds in order, NOPs included). */
  optionKinds: number[];
  payloadLen: number;
  payload: Uint8Array;
  icmpType: number;
  icmpCode: number;
  /** ICMP bytes 4..7. */
  icmpRest: number;
  /** Quoted packet inside an ICMP error. */
  quoted: Uint8Array | null;
}

function mac(b: Uint8Array, o: number): string {
  return Array.from(b.subarray(o, o + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
}

function v6text(b: Uint8Array, o: number): string {
  const g: string[] = [];
  for (let i = 0; i < 8; i++) g.push(((b[o + 2 * i] << 8) | b[o + 2 * i + 1]).toString(16));
  // compress the longest zero run (good enough for the test addresses)
  const s = g.join(':');
  const m = s.match(/(^|:)0(:0)+(:|$)/g);
  if (!m) return s;
  const longest = m.sort((a, b) => b.length - a.length)[0];
  return s.replace(longest, '::').replace(/^:::/, '::').replace(/:::$/, '::');
}

/** One's-complement sum of byte arrays, folded (odd-length chunks padded). */
export function sum16(...chunks: Uint8Array[]): number {
  let s = 0;
  for (const c of chunks) {
    for (let i = 0; i < c.length; i += 2) s += (c[i] << 8) | (i + 1 < c.length ? c[i + 1] : 0);
  }
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

export function parseFrame(frame: Uint8Array, link: 'ethernet' | 'raw' = 'ethernet'): Frame {
  let o = 0;
  let srcMac: string | null = null;
  let dstMac: string | null = null;
  if (link === 'ethernet') {
    dstMac = mac(frame, 0);
    srcMac = mac(frame, 6);
    o = 14;
  }
  const ip = frame.subarray(o);
  const version = (ip[0] >> 4) as 4 | 6;
  const f = { srcMac, dstMac, version } as Frame;
  let l4: Uint8Array;
  let pseudo: Uint8Array;
  if (version === 4) {
    const ihl = (ip[0] & 15) * 4;
    const total = (ip[2] << 8) | ip[3];
    f.tos = ip[1];
    f.ipId = (ip[4] << 8) | ip[5];
    f.df = (ip[6] & 0x40) !== 0;
    f.ttl = ip[8];
    f.proto = ip[9];
    f.src = Array.from(ip.subarray(12, 16)).join('.');
    f.dst = Array.from(ip.subarray(16, 20)).join('.');
    f.ipHeaderOk = sum16(ip.subarray(0, ihl)) === 0xffff;
    f.flowLabel = 0;
    l4 = ip.subarray(ihl, total);
    pseudo = new Uint8Array(12);
    pseudo.set(ip.subarray(12, 20), 0);
    pseudo[9] = f.proto;
    pseudo[10] = l4.length >> 8;
    pseudo[11] = l4.length & 0xff;
  } else {
    const plen = (ip[4] << 8) | ip[5];
    f.tos = ((ip[0] & 15) << 4) | (ip[1] >> 4);
    f.flowLabel = ((ip[1] & 15) << 16) | (ip[2] << 8) | ip[3];
    f.proto = ip[6];
    f.ttl = ip[7];
    f.ipId = 0;
    f.df = false;
    f.src = v6text(ip, 8);
    f.dst = v6text(ip, 24);
    f.ipHeaderOk = true;
    l4 = ip.subarray(40, 40 + plen);
    pseudo = new Uint8Array(40);
    pseudo.set(ip.subarray(8, 40), 0);
    pseudo[34] = l4.length >> 8;
    pseudo[35] = l4.length & 0xff;
    pseudo[39] = f.proto;
  }
  f.tcpOptions = [];
  f.optionKinds = [];
  f.quoted = null;
  f.payload = new Uint8Array(0);
  if (f.proto === 6) {
    f.sport = (l4[0] << 8) | l4[1];
    f.dport = (l4[2] << 8) | l4[3];
    f.seq = ((l4[4] << 24) | (l4[5] << 16) | (l4[6] << 8) | l4[7]) >>> 0;
    f.ack = ((l4[8] << 24) | (l4[9] << 16) | (l4[10] << 8) | l4[11]) >>> 0;
    const hl = (l4[12] >> 4) * 4;
    f.flags = l4[13];
    f.window = (l4[14] << 8) | l4[15];
    for (let i = 20; i < hl; ) {
      const k = l4[i];
      f.optionKinds.push(k);
      if (k === 0) break;
      if (k === 1) {
        i++;
        continue;
      }
      const len = l4[i + 1];
      f.tcpOptions.push({ kind: k, data: Array.from(l4.subarray(i + 2, i + len)) });
      i += len;
    }
    f.payload = l4.subarray(hl);
    f.payloadLen = f.payload.length;
    f.l4ChecksumOk = sum16(pseudo, l4) === 0xffff;
  } else if (f.proto === 17) {
    f.sport = (l4[0] << 8) | l4[1];
    f.dport = (l4[2] << 8) | l4[3];
    f.payload = l4.subarray(8);
    f.payloadLen = f.payload.length;
    f.l4ChecksumOk = sum16(pseudo, l4) === 0xffff;
  } else if (f.proto === 1 || f.proto === 58) {
    f.icmpType = l4[0];
    f.icmpCode = l4[1];
    f.icmpRest = ((l4[4] << 24) | (l4[5] << 16) | (l4[6] << 8) | l4[7]) >>> 0;
    f.payload = l4.subarray(8);
    f.payloadLen = f.payload.length;
    f.l4ChecksumOk = f.proto === 1 ? sum16(l4) === 0xffff : sum16(pseudo, l4) === 0xffff;
    const err = f.proto === 1 ? [3, 11, 12].includes(f.icmpType) : f.icmpType < 128;
    if (err) f.quoted = l4.subarray(8);
  }
  return f;
}

/** TCP option value by kind. */
export function tcpOpt(f: Frame, kind: number): number[] | null {
  return f.tcpOptions.find((o) => o.kind === kind)?.data ?? null;
}

export function tsOption(f: Frame): [number, number] | null {
  const d = tcpOpt(f, 8);
  if (!d) return null;
  const v = (i: number) => ((d[i] << 24) | (d[i + 1] << 16) | (d[i + 2] << 8) | d[i + 3]) >>> 0;
  return [v(0), v(4)];
}

export function tshark(args: string[]): string {
  return execFileSync('tshark', args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
}

export interface ExpertRow {
  severity: 'error' | 'warn' | 'note' | 'chat';
  count: number;
  group: string;
  protocol: string;
  summary: string;
}

/** The rows of `tshark -z expert -q`. */
export function expertInfos(file: string, extra: string[] = []): ExpertRow[] {
  const out = tshark([
    '-r',
    file,
    '-o',
    'tcp.check_checksum:TRUE',
    '-o',
    'udp.check_checksum:TRUE',
    '-o',
    'ip.check_checksum:TRUE',
    ...extra,
    '-z',
    'expert',
    '-q',
  ]);
  const rows: ExpertRow[] = [];
  let sev: ExpertRow['severity'] | null = null;
  for (const line of out.split('\n')) {
    const h = /^(Errors|Warns|Notes|Chats) \(\d+\)/.exec(line);
    if (h) {
      sev = ({ Errors: 'error', Warns: 'warn', Notes: 'note', Chats: 'chat' } as const)[h[1] as 'Errors'];
      continue;
    }
    const m = /^\s+(\d+)\s+(\S+)\s+(\S+)\s+(.*\S)\s*$/.exec(line);
    if (sev && m && m[1] !== 'Frequency')
      rows.push({ severity: sev, count: Number(m[1]), group: m[2], protocol: m[3], summary: m[4] });
  }
  return rows;
}
