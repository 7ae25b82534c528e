/**
 * The text line of replay (--format text), written as bytes into the
 * output buffer: what replayLine() (replay-text.ts) returns, byte for byte
 * (the tests compare the two on every fixture), without the strings that
 * line is built of. The usual packet (IP, relative time, later than the
 * first) is written piece by piece; any other goes through replayLine().
 */
import type { Engine } from '../engine/engine.js';
import type { PacketResult } from '../engine/result.js';
import { formatAddr } from '../packet/addr.js';
import { hasPorts, protoName, tcpFlagsString } from '../packet/describe.js';
import { IpProto, PacketKind, type DecodedPacket } from '../packet/types.js';
import { ByteText, SLACK } from './bytes.js';
import { explain } from './reason.js';
import { NO_PAINT, replayLine, type Paint } from './replay-text.js';
import type { TimeFormat } from './time.js';

/** The verdict column without colour. */
const VERDICT_TEXT: Record<string, string> = { accept: 'ACCEPT ', drop: 'DROP   ', reject: 'REJECT ', skip: 'SKIP   ' };

/** "10.1.0.2:80", "[fd00::1]:80" or the bare address. */
function endpoint(o: ByteText, version: number, w0: number, w1: number, w2: number, w3: number, port: number, withPort: boolean): void {
  if (version === 4) {
    o.ipv4(w0 >>> 0);
    if (!withPort) return;
  } else {
    const a = formatAddr(version, w0, w1, w2, w3);
    if (!withPort) {
      o.ascii(a);
      return;
    }
    o.byte(0x5b);
    o.ascii(a);
    o.byte(0x5d);
  }
  o.byte(0x3a);
  o.int(port);
}

/** Pads what was written since `start` with spaces to `width` columns (the text there is ASCII). */
function padTo(o: ByteText, start: number, width: number): void {
  o.spaces(start + width - o.pos);
}

/** One --format text line of replay, without its newline: replayLine(r, p, engine, time, base, paint). */
export function writeReplayLine(
  o: ByteText,
  r: PacketResult,
  p: DecodedPacket,
  engine: Engine,
  time: TimeFormat,
  base: { sec: number; nsec: number },
  paint: Paint,
): void {
  let ds = r.tsSec - base.sec;
  let dn = r.tsNsec - base.nsec;
  if (dn < 0) {
    dn += 1e9;
    ds -= 1;
  }
  const verdict = VERDICT_TEXT[r.verdict];
  if (p.kind !== PacketKind.IP || time !== 'relative' || ds < 0 || verdict === undefined) {
    o.text(replayLine(r, p, engine, time, base, paint));
    return;
  }
  o.room(SLACK);
  const usec = Math.floor(dn / 1000);
  // "#" and "time", right-aligned in 6 and 10 columns.
  o.spaces(6 - ByteText.intWidth(r.n));
  o.int(r.n);
  o.spaces(2);
  o.spaces(10 - (ByteText.intWidth(ds) + 7));
  o.int(ds);
  o.byte(0x2e);
  o.zeroPadded(usec, 6);
  o.spaces(2);

  let start = o.pos;
  const ports = hasPorts(p);
  endpoint(o, p.ipVersion, p.src0, p.src1, p.src2, p.src3, p.sport, ports);
  o.ascii(' > ');
  endpoint(o, p.ipVersion, p.dst0, p.dst1, p.dst2, p.dst3, p.dport, ports);
  padTo(o, start, 44);
  o.byte(0x20);

  start = o.pos;
  if (p.proto === IpProto.TCP && p.l4Off >= 0) {
    o.ascii('tcp ');
    o.ascii(tcpFlagsString(p.tcpFlags));
    if (p.payloadLen) {
      o.ascii(' +');
      o.int(p.payloadLen);
    }
  } else if ((p.proto === IpProto.ICMP || p.proto === IpProto.ICMPV6) && p.icmpType >= 0) {
    o.ascii(p.proto === IpProto.ICMP ? 'icmp ' : 'icmp6 ');
    o.int(p.icmpType);
    o.byte(0x2f);
    o.int(p.icmpCode);
  } else {
    o.ascii(protoName(p.proto));
  }
  padTo(o, start, 12);
  o.byte(0x20);

  start = o.pos;
  o.ascii(r.ct ?? '-');
  padTo(o, start, 11);
  o.byte(0x20);
  if (paint === NO_PAINT) o.ascii(verdict);
  else o.text(paint.verdict(r.verdict, verdict));
  o.byte(0x20);
  o.text(explain(r, p, engine.compiled));
}
