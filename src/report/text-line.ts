/**
 * The text line of replay (--format text): ONE writer, bytes into the
 * output buffer, and replayLine() as its string form (the demo, the fuzzers
 * and tests). Writing the usual packet (IP, relative time) piece by piece
 * without building strings is what keeps a text replay as fast as a silent
 * one; the rarer pieces (other time formats, non-IP frames, colour) are
 * strings written into the same buffer, padded by their length in UTF-16
 * units as padStart()/padEnd() would.
 */
import type { Engine } from '../engine/engine.js';
import type { PacketResult } from '../engine/result.js';
import { formatAddr } from '../packet/addr.js';
import { describePacket, hasPorts, protoName, tcpFlagsString } from '../packet/describe.js';
import { IpProto, PacketKind, type DecodedPacket } from '../packet/types.js';
import { ByteText, SLACK } from './bytes.js';
import { writeIcmpText } from './icmp-text.js';
import { packetText, type PacketText } from './packet-text.js';
import { explain } from './reason.js';
import { NO_PAINT, type Paint } from './replay-text.js';
import { formatTime, type TimeFormat } from './time.js';

/** The verdict column without colour. */
const VERDICT_TEXT: Record<string, string> = { accept: 'ACCEPT ', drop: 'DROP   ', reject: 'REJECT ', skip: 'SKIP   ' };

/** "10.1.0.2:80", "[fd00::1]:80" or the bare address. */
function endpoint(
  o: ByteText,
  version: number,
  w0: number,
  w1: number,
  w2: number,
  w3: number,
  port: number,
  withPort: boolean,
): void {
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

/** `s` left-aligned in `width` columns: s.padEnd(width). Leaves SLACK after itself. */
function padEnd(o: ByteText, s: string, width: number): void {
  o.text(s);
  o.spaces(width - s.length);
}

/** One --format text line of replay, without its newline. */
export function writeReplayLine(
  o: ByteText,
  r: PacketResult,
  p: DecodedPacket,
  engine: Engine,
  time: TimeFormat,
  base: { sec: number; nsec: number },
  paint: Paint,
): void {
  o.room(SLACK);
  // "#", right-aligned in 6 columns.
  o.spaces(6 - ByteText.intWidth(r.n));
  o.int(r.n);
  o.spaces(2);

  // "time", right-aligned in 10 columns.
  let ds = r.tsSec - base.sec;
  let dn = r.tsNsec - base.nsec;
  if (dn < 0) {
    dn += 1e9;
    ds -= 1;
  }
  if (time === 'relative' && ds >= 0) {
    o.spaces(10 - (ByteText.intWidth(ds) + 7));
    o.int(ds);
    o.byte(0x2e);
    o.zeroPadded(Math.floor(dn / 1000), 6);
  } else {
    // Before the first packet (captures are not always in time order), epoch or ISO time.
    const t = formatTime(time, r.tsSec, r.tsNsec, base.sec, base.nsec);
    o.spaces(10 - t.length);
    o.ascii(t);
  }
  o.spaces(2);

  // "source > destination", 44 columns; the protocol, 12.
  let described: PacketText | null = null;
  if (p.kind === PacketKind.IP) {
    // The usual case, straight from the packet: describePacket() would also build details this line does not show.
    const start = o.pos;
    const ports = hasPorts(p);
    endpoint(o, p.ipVersion, p.src0, p.src1, p.src2, p.src3, p.sport, ports);
    o.ascii(' > ');
    endpoint(o, p.ipVersion, p.dst0, p.dst1, p.dst2, p.dst3, p.dport, ports);
    padTo(o, start, 44);
  } else {
    described = packetText(describePacket(p));
    padEnd(o, described.endpoints, 44);
  }
  o.byte(0x20);

  // (Where the proto column starts: a proto wider than its column is made up
  // for in the ct column's padding where it can be, so the verdicts line up.)
  const protoStart = o.pos;
  if (p.proto === IpProto.TCP && p.l4Off >= 0) {
    const start = o.pos;
    o.ascii('tcp ');
    o.ascii(tcpFlagsString(p.tcpFlags));
    if (p.payloadLen) {
      o.ascii(' +');
      o.int(p.payloadLen);
    }
    padTo(o, start, 12);
  } else if ((p.proto === IpProto.ICMP || p.proto === IpProto.ICMPV6) && p.icmpType >= 0) {
    const start = o.pos;
    // nft's words, as rules take them: "icmpv6 nd-neighbor-solicit". Most are wider than the column; the ct
    // column's padding takes up what it can, and the rest of the line moves right rather than the name being cut.
    o.ascii(p.proto === IpProto.ICMP ? 'icmp ' : 'icmpv6 ');
    writeIcmpText(o, p.ipVersion, p.icmpType, p.icmpCode);
    padTo(o, start, 12);
  } else if (described === null) {
    const start = o.pos;
    o.ascii(protoName(p.proto));
    padTo(o, start, 12);
  } else {
    padEnd(o, described.proto, 12);
  }
  o.byte(0x20);

  o.ascii(r.ct ?? '-'); // conntrack state names
  padTo(o, protoStart, 12 + 1 + 11);
  o.byte(0x20);
  const verdict = VERDICT_TEXT[r.verdict];
  if (verdict === undefined) o.text(paint.verdict(r.verdict, r.verdict.toUpperCase().padEnd(7)));
  else if (paint === NO_PAINT) o.ascii(verdict);
  else o.text(paint.verdict(r.verdict, verdict));
  o.byte(0x20);
  const e = r.egress;
  if (e !== null) {
    // NAT changed it: the packet as it leaves, before the reason.
    const ports = hasPorts(e);
    o.ascii('=> ');
    endpoint(o, e.ipVersion, e.src0, e.src1, e.src2, e.src3, e.sport, ports);
    o.ascii(' > ');
    endpoint(o, e.ipVersion, e.dst0, e.dst1, e.dst2, e.dst3, e.dport, ports);
    if ((e.proto === IpProto.ICMP || e.proto === IpProto.ICMPV6) && e.icmpId !== p.icmpId) {
      o.ascii(' id ');
      o.int(e.icmpId);
    }
    o.ascii('  ');
  }
  o.text(explain(r, p, engine.compiled));
}

const scratch = new ByteText();

/** The same line as a string. */
export function replayLine(
  r: PacketResult,
  p: DecodedPacket,
  engine: Engine,
  time: TimeFormat,
  base: { sec: number; nsec: number },
  paint: Paint,
): string {
  writeReplayLine(scratch, r, p, engine, time, base, paint);
  return scratch.take();
}
