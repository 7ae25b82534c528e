/** TCP (RFC 9293): header fields and options, decoding into the DecodedPacket, building. */

import { check, padTo4, payloadBytes, toBytes, u16, u32, writeU16, writeU32 } from './bytes.js';
import { finishChecksum, onesSum, pseudoSum } from './checksum.js';
import { malformed, need } from './fault.js';
import { IpProto, PacketKind, TcpFlag, type DecodedPacket } from './types.js';

/** Header fields, as offsets from the header start. */
// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
export const enum field {
  SRC_PORT = 0,
  DST_PORT = 2,
  SEQ_NUM = 4,
  ACK_NUM = 8,
  /** Data offset (high 4 bits, in 32-bit words). */
  DATA_OFF = 12,
  FLAGS = 13,
  WIN_SIZE = 14,
  CHECKSUM = 16,
  URGENT = 18,
  OPTIONS = 20,
}
export const HEADER_LEN = 20;
export const MAX_OPTIONS_LEN = 40;
/** The smallest data offset, in 32-bit words. */
const MIN_DATA_OFF = 5;

/** Option kinds. */
// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
export const enum Option {
  END = 0,
  NOP = 1,
  MSS = 2,
  WSCALE = 3,
  SACK_PERM = 4,
  SACK = 5,
  TIMESTAMP = 8,
}
/** An option's fields, as offsets from its kind byte; a SACK block's and the timestamps' within the data. */
// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
const enum optField {
  KIND = 0,
  LENGTH = 1,
  DATA = 2,
}
const SACK_BLOCK_LEN = 8;
const SACK_RIGHT_EDGE = 4;
const TS_ECR = 4;

/** RFC 1982 style "a is after b" on 32-bit sequence numbers, as netfilter's after(). */
function seqAfter(a: number, b: number): boolean {
  return ((b - a) | 0) < 0;
}

/**
 * The TCP header at `l4` of an IP packet ending at ipEnd (captured up to
 * capEnd), into `out`; MALFORMED when it is not all there.
 */
export function decodeTcp(
  buf: Uint8Array,
  l4: number,
  ipEnd: number,
  capEnd: number,
  out: DecodedPacket,
): DecodedPacket {
  if (!need(out, HEADER_LEN, l4, ipEnd, capEnd, IpProto.TCP)) return out;
  const ipPayload = ipEnd - l4;
  const doff = buf[l4 + field.DATA_OFF] >> 4;
  if (doff < MIN_DATA_OFF) return malformed(out, `TCP data offset ${doff} below the minimum of ${MIN_DATA_OFF}`);
  const hl = doff * 4;
  if (hl > ipPayload) {
    return malformed(out, `TCP data offset ${doff} (${hl} bytes) exceeds the ${ipPayload}-byte IP payload`);
  }
  if (l4 + hl > capEnd) {
    return malformed(out, `TCP data offset ${doff} (${hl} bytes) exceeds the ${capEnd - l4} captured bytes`);
  }
  out.sport = u16(buf, l4 + field.SRC_PORT);
  out.dport = u16(buf, l4 + field.DST_PORT);
  out.seq = u32(buf, l4 + field.SEQ_NUM);
  out.ack = u32(buf, l4 + field.ACK_NUM);
  out.tcpFlags = buf[l4 + field.FLAGS];
  out.window = u16(buf, l4 + field.WIN_SIZE);
  out.tcpHeaderLen = hl;
  out.payloadLen = ipPayload - hl;
  if (hl > HEADER_LEN) parseTcpOptions(buf, l4 + field.OPTIONS, l4 + hl, out);
  out.kind = PacketKind.IP;
  return out;
}

/**
 * TCP options between pos and end (already known to be captured). Like the
 * kernel, a malformed option length stops parsing without failing the packet.
 */
function parseTcpOptions(buf: Uint8Array, pos: number, end: number, out: DecodedPacket): void {
  while (pos < end) {
    const kind = buf[pos + optField.KIND];
    if (kind === Option.END) return;
    if (kind === Option.NOP) {
      pos++;
      continue;
    }
    if (pos + 1 >= end) return;
    const len = buf[pos + optField.LENGTH];
    if (len < optField.DATA || pos + len > end) return; // "silly options" / overrun
    switch (kind) {
      case Option.MSS:
        if (len === 4) out.mss = u16(buf, pos + optField.DATA);
        break;
      case Option.WSCALE:
        if (len === 3) out.wscale = buf[pos + optField.DATA];
        break;
      case Option.SACK_PERM:
        if (len === 2) out.sackPermitted = true;
        break;
      case Option.SACK:
        if (len >= optField.DATA + SACK_BLOCK_LEN && (len - optField.DATA) % SACK_BLOCK_LEN === 0) {
          // As netfilter's tcp_sack(): start from ack, keep the latest right edge after() it.
          let best = out.sackMaxRight === -1 ? out.ack : out.sackMaxRight;
          for (let i = pos + optField.DATA; i < pos + len; i += SACK_BLOCK_LEN) {
            const right = u32(buf, i + SACK_RIGHT_EDGE);
            if (seqAfter(right, best)) best = right;
          }
          out.sackMaxRight = best;
        }
        break;
      case Option.TIMESTAMP:
        if (len === 10) {
          out.hasTimestamp = true;
          out.tsVal = u32(buf, pos + optField.DATA);
          out.tsEcr = u32(buf, pos + optField.DATA + TS_ECR);
        }
        break;
      default:
        break;
    }
    pos += len;
  }
}

// ---------------------------------------------------------------------------
// Building

export type TcpFlags = number | string;

export interface TcpOptionsSpec {
  mss?: number;
  wscale?: number;
  sackPermitted?: boolean;
  timestamps?: [number, number];
  sack?: Array<[number, number]>;
}

export interface TcpSpec {
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  /** Bits (TcpFlag) or letters: F S R P A(.) U E C/W, e.g. "S", "SA", "PA", "FA", "R", "RA", "A". Default "A" when ack is given, else "S". */
  flags?: TcpFlags;
  window?: number;
  urgent?: number;
  options?: TcpOptionsSpec;
  /** Raw option bytes instead of `options` (padded with EOL to a multiple of 4). */
  rawOptions?: Uint8Array | number[];
  /** Payload bytes, or a length (filled with a byte pattern). */
  payload?: number | Uint8Array;
  dataOffsetOverride?: number;
  checksumOverride?: number;
}

/** TCP flags from bits or letters (F S R P A . U E C W). */
export function parseTcpFlags(f: TcpFlags): number {
  if (typeof f === 'number') {
    check(Number.isInteger(f) && f >= 0 && f <= 0xff, `TCP flags ${f} out of range`);
    return f;
  }
  let bits = 0;
  for (const c of f.toUpperCase()) {
    switch (c) {
      case 'F':
        bits |= TcpFlag.FIN;
        break;
      case 'S':
        bits |= TcpFlag.SYN;
        break;
      case 'R':
        bits |= TcpFlag.RST;
        break;
      case 'P':
        bits |= TcpFlag.PSH;
        break;
      case 'A':
      case '.':
        bits |= TcpFlag.ACK;
        break;
      case 'U':
        bits |= TcpFlag.URG;
        break;
      case 'E':
        bits |= TcpFlag.ECE;
        break;
      case 'C':
      case 'W':
        bits |= TcpFlag.CWR;
        break;
      default:
        throw new RangeError(`unknown TCP flag letter "${c}" in "${f}"`);
    }
  }
  return bits;
}

/** Option bytes in the order Linux sends them (MSS, SACK-perm+TS, NOP+WS, SACK), EOL-padded to 4. */
export function encodeTcpOptions(o: TcpOptionsSpec): Uint8Array {
  const b: number[] = [];
  if (o.mss !== undefined) b.push(Option.MSS, 4, (o.mss >>> 8) & 0xff, o.mss & 0xff);
  const ts = o.timestamps;
  const pushTs = () => {
    if (!ts) return;
    b.push(Option.TIMESTAMP, 10);
    for (const v of ts) b.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  };
  if (o.sackPermitted && ts) {
    b.push(Option.SACK_PERM, 2);
    pushTs();
  } else if (ts) {
    b.push(Option.NOP, Option.NOP);
    pushTs();
  } else if (o.sackPermitted) {
    b.push(Option.NOP, Option.NOP, Option.SACK_PERM, 2);
  }
  if (o.wscale !== undefined) b.push(Option.NOP, Option.WSCALE, 3, o.wscale & 0xff);
  if (o.sack && o.sack.length > 0) {
    b.push(Option.NOP, Option.NOP, Option.SACK, 2 + SACK_BLOCK_LEN * o.sack.length);
    for (const [l, r] of o.sack) {
      for (const v of [l, r]) b.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
    }
  }
  while (b.length % 4 !== 0) b.push(Option.END);
  check(b.length <= MAX_OPTIONS_LEN, `TCP options need ${b.length} bytes, more than ${MAX_OPTIONS_LEN}`);
  return Uint8Array.from(b);
}

/** A TCP segment with its checksum over the pseudo-header of src and dst. */
export function buildTcp(t: TcpSpec, src: Uint8Array, dst: Uint8Array): Uint8Array {
  const opts = t.rawOptions
    ? padTo4(toBytes(t.rawOptions))
    : t.options
      ? encodeTcpOptions(t.options)
      : new Uint8Array(0);
  check(opts.length <= MAX_OPTIONS_LEN, `TCP options of ${opts.length} bytes exceed ${MAX_OPTIONS_LEN}`);
  const payload = payloadBytes(t.payload);
  const hl = HEADER_LEN + opts.length;
  const seg = new Uint8Array(hl + payload.length);
  writeU16(seg, field.SRC_PORT, t.sport);
  writeU16(seg, field.DST_PORT, t.dport);
  writeU32(seg, field.SEQ_NUM, t.seq ?? 0);
  writeU32(seg, field.ACK_NUM, t.ack ?? 0);
  const doff = t.dataOffsetOverride ?? hl / 4;
  seg[field.DATA_OFF] = (doff & 0x0f) << 4;
  seg[field.FLAGS] = parseTcpFlags(t.flags ?? (t.ack !== undefined ? 'A' : 'S'));
  writeU16(seg, field.WIN_SIZE, t.window ?? 65535);
  writeU16(seg, field.URGENT, t.urgent ?? 0);
  seg.set(opts, field.OPTIONS);
  seg.set(payload, hl);
  const sum =
    t.checksumOverride ?? finishChecksum(onesSum(seg, 0, seg.length, pseudoSum(src, dst, IpProto.TCP, seg.length)));
  writeU16(seg, field.CHECKSUM, sum);
  return seg;
}
