/**
 * JSON lines written out by hand: what safeJson() (JSON.stringify, with the
 * characters a terminal obeys escaped too: text-escape.ts) would make of the
 * objects replayJson() and describePacket() build, byte for byte (the tests
 * compare the two on every fixture), without building the objects or
 * calling JSON.stringify, which costs several times more per packet than
 * the replay itself. They are written as bytes into a ByteText (the output
 * buffer itself, for replay and dump); the functions that return strings
 * are for tests and other cold paths.
 */
import type { CaptureRecord } from '../capture/types.js';
import type { CtEntry } from '../conntrack/entry.js';
import type { Engine } from '../engine/engine.js';
import { peekEntry, type PacketResult } from '../engine/result.js';
import { Direction } from '../capture/types.js';
import { formatAddr } from '../packet/addr.js';
import { hasPorts, isEcho, protoName, tcpFlagsString } from '../packet/describe.js';
import { writeIcmpText } from './icmp-text.js';
import { IpProto, isPortProto, PacketKind, type DecodedPacket } from '../packet/types.js';
import { ByteText, SLACK } from './bytes.js';
import { ctProtoName } from './conntrack-list.js';
import { explain } from './reason.js';

const scratch = new ByteText();

/** A JSON string literal: safeJson(s). */
export function jsonString(s: string): string {
  scratch.jsonString(s);
  return scratch.take();
}

/** An address as a JSON string: dotted quad written digit by digit, IPv6 from formatAddr()'s cache. */
function addr(o: ByteText, version: number, w0: number, w1: number, w2: number, w3: number): void {
  o.byte(0x22);
  if (version === 4) o.ipv4(w0 >>> 0);
  else o.ascii(formatAddr(version, w0, w1, w2, w3));
  o.byte(0x22);
}

/** Seconds and nanoseconds as epochString() writes them, quoted. */
function epoch(o: ByteText, sec: number, nsec: number): void {
  o.byte(0x22);
  o.int(sec);
  o.byte(0x2e);
  o.zeroPadded(nsec, 9);
  o.byte(0x22);
}

/**
 * The members of JSON.stringify(describePacket(p)), without the braces.
 * `direction: false` leaves out the direction member (dump puts it earlier).
 */
export function writePacketMembers(o: ByteText, p: DecodedPacket, direction = true): void {
  o.room(SLACK);
  o.ascii(
    p.kind === PacketKind.IP ? '"kind":"ip"' : p.kind === PacketKind.NON_IP ? '"kind":"non-ip"' : '"kind":"malformed"',
  );
  if (p.kind === PacketKind.MALFORMED) {
    o.ascii(',"error":');
    o.jsonString(p.error);
  }
  if (p.note !== '') {
    o.ascii(',"note":');
    o.jsonString(p.note);
  }
  if (p.l2Name !== '') {
    o.ascii(',"l2":');
    o.jsonString(p.l2Name);
  }
  if (p.vlanOuter !== -1) {
    o.ascii(',"vlan":[');
    o.int(p.vlanOuter);
    if (p.vlanInner !== -1) {
      o.byte(0x2c);
      o.int(p.vlanInner);
    }
    o.byte(0x5d);
  }
  if (direction) {
    if (p.direction === Direction.INBOUND) o.ascii(',"direction":"in"');
    else if (p.direction === Direction.OUTBOUND) o.ascii(',"direction":"out"');
  }
  if (p.ipVersion !== 4 && p.ipVersion !== 6) return;
  o.ascii(',"ipVersion":');
  o.int(p.ipVersion);
  o.ascii(',"src":');
  addr(o, p.ipVersion, p.src0, p.src1, p.src2, p.src3);
  o.ascii(',"dst":');
  addr(o, p.ipVersion, p.dst0, p.dst1, p.dst2, p.dst3);
  if (p.isFragment) {
    o.ascii(',"fragment":{"offset":');
    o.int(p.fragOffset);
    o.ascii(p.moreFragments ? ',"more":true,"id":' : ',"more":false,"id":');
    o.int(p.ipId);
    o.byte(0x7d);
  }
  if (p.kind !== PacketKind.IP) return;
  o.ascii(',"proto":');
  o.jsonString(protoName(p.proto));
  o.ascii(',"protoNumber":');
  o.int(p.proto);
  if (p.ipVersion === 4 || p.isFragment) {
    o.ascii(',"ipId":');
    o.int(p.ipId);
  }
  o.ascii(',"ttl":');
  o.int(p.ttl);
  o.ascii(',"ipLen":');
  o.int(p.ipTotalLen);
  if (p.snapTruncated) o.ascii(',"truncated":true');

  if (p.l4Off < 0) return;
  if (p.proto === IpProto.TCP) {
    o.ascii(',"sport":');
    o.int(p.sport);
    o.ascii(',"dport":');
    o.int(p.dport);
    o.ascii(',"tcp":{"flags":"');
    o.ascii(tcpFlagsString(p.tcpFlags));
    o.ascii('","seq":');
    o.int(p.seq);
    o.ascii(',"ack":');
    o.int(p.ack);
    o.ascii(',"win":');
    o.int(p.window);
    o.ascii(',"len":');
    o.int(p.payloadLen);
    if (p.mss !== -1 || p.wscale !== -1 || p.sackPermitted || p.hasTimestamp) {
      // Each option after the first is preceded by a comma.
      let sep = ',"options":{';
      if (p.mss !== -1) {
        o.ascii(sep);
        o.ascii('"mss":');
        o.int(p.mss);
        sep = ',';
      }
      if (p.wscale !== -1) {
        o.ascii(sep);
        o.ascii('"wscale":');
        o.int(p.wscale);
        sep = ',';
      }
      if (p.sackPermitted) {
        o.ascii(sep);
        o.ascii('"sackOk":true');
        sep = ',';
      }
      if (p.hasTimestamp) {
        o.ascii(sep);
        o.ascii('"ts":[');
        o.int(p.tsVal);
        o.byte(0x2c);
        o.int(p.tsEcr);
        o.byte(0x5d);
      }
      o.byte(0x7d);
    }
    o.byte(0x7d);
  } else if (p.proto === IpProto.UDP) {
    o.ascii(',"sport":');
    o.int(p.sport);
    o.ascii(',"dport":');
    o.int(p.dport);
    o.ascii(',"udp":{"len":');
    o.int(p.payloadLen);
    o.byte(0x7d);
  } else if ((p.proto === IpProto.UDPLITE || p.proto === IpProto.SCTP) && hasPorts(p)) {
    o.ascii(',"sport":');
    o.int(p.sport);
    o.ascii(',"dport":');
    o.int(p.dport);
  } else if (p.icmpType !== -1) {
    o.ascii(',"icmp":{"type":');
    o.int(p.icmpType);
    o.ascii(',"code":');
    o.int(p.icmpCode);
    o.ascii(',"name":"');
    writeIcmpText(o, p.ipVersion, p.icmpType, p.icmpCode);
    o.byte(0x22);
    if (isEcho(p.ipVersion, p.icmpType)) {
      o.ascii(',"id":');
      o.int(p.icmpId);
      o.ascii(',"seq":');
      o.int(p.icmpSeq);
    }
    if (p.innerValid) {
      o.ascii(',"inner":{"src":');
      addr(o, p.innerIpVersion, p.innerSrc0, p.innerSrc1, p.innerSrc2, p.innerSrc3);
      o.ascii(',"dst":');
      addr(o, p.innerIpVersion, p.innerDst0, p.innerDst1, p.innerDst2, p.innerDst3);
      o.ascii(',"proto":');
      o.jsonString(protoName(p.innerProto));
      if (isPortProto(p.innerProto)) {
        o.ascii(',"sport":');
        o.int(p.innerSport);
        o.ascii(',"dport":');
        o.int(p.innerDport);
      }
      o.byte(0x7d);
    }
    o.byte(0x7d);
  }
}

/** The members of JSON.stringify(describePacket(p)), without the braces, as a string. */
export function packetMembers(p: DecodedPacket, direction = true): string {
  writePacketMembers(scratch, p, direction);
  return scratch.take();
}

/** The flow member's value: JSON.stringify(tupleJson(entry.orig)). */
function writeFlow(o: ByteText, e: CtEntry): void {
  const t = e.orig;
  o.ascii('{"proto":');
  o.jsonString(ctProtoName(t.proto));
  o.ascii(',"src":');
  addr(o, t.l3, t.src0, t.src1, t.src2, t.src3);
  o.ascii(',"dst":');
  addr(o, t.l3, t.dst0, t.dst1, t.dst2, t.dst3);
  if (isPortProto(t.proto)) {
    o.ascii(',"sport":');
    o.int(t.sport);
    o.ascii(',"dport":');
    o.int(t.dport);
  } else if (t.proto === IpProto.ICMP || t.proto === IpProto.ICMPV6) {
    o.ascii(',"id":');
    o.int(t.sport);
  }
  o.byte(0x7d);
}

function nullable(o: ByteText, s: string | null): void {
  if (s === null) o.ascii('null');
  else o.jsonString(s);
}

/** One --format jsonl line of replay, without its newline: JSON.stringify(replayJson(r, p, rec, engine)). */
export function writeReplayJsonLine(
  o: ByteText,
  r: PacketResult,
  p: DecodedPacket,
  rec: CaptureRecord,
  engine: Engine,
): void {
  const entry = peekEntry(r) as CtEntry | null;
  o.room(SLACK);
  o.ascii('{"n":');
  o.int(r.n);
  o.ascii(',"ts":');
  epoch(o, r.tsSec, r.tsNsec);
  o.ascii(',"verdict":"');
  o.ascii(r.verdict);
  o.ascii('","ct":');
  nullable(o, r.ct);
  o.ascii(',"rule":');
  nullable(o, r.rule !== null ? r.rule.id : r.fwRule !== null ? r.fwRule.id : null);
  o.ascii(',"flow":');
  if (entry) writeFlow(o, entry);
  else o.ascii('null');
  o.ascii(',"reason":');
  o.jsonString(explain(r, p, engine.compiled));
  o.ascii(',"chain":');
  nullable(o, r.chain);
  if (engine.fw !== null) {
    // The firewall model: which interfaces the packet crossed (null: the firewall's own end).
    o.ascii(',"iif":');
    nullable(o, r.iif);
    o.ascii(',"oif":');
    nullable(o, r.oif);
    const e = r.egress;
    if (e !== null) {
      // NAT changed it: the addresses and ports it leaves with.
      o.ascii(',"egress":{"src":"');
      o.ascii(formatAddr(e.ipVersion, e.src0, e.src1, e.src2, e.src3));
      o.ascii('","dst":"');
      o.ascii(formatAddr(e.ipVersion, e.dst0, e.dst1, e.dst2, e.dst3));
      o.byte(0x22);
      if (isPortProto(e.proto)) {
        o.ascii(',"sport":');
        o.int(e.sport);
        o.ascii(',"dport":');
        o.int(e.dport);
      } else if (e.proto === IpProto.ICMP || e.proto === IpProto.ICMPV6) {
        o.ascii(',"id":');
        o.int(e.icmpId);
      }
      o.byte(0x7d);
    }
    if (r.natRule !== null) {
      o.ascii(',"nat":');
      o.jsonString(r.natRule.id);
    }
    const origin = r.fwRule !== null ? r.fwRule.origin : null;
    if (origin) {
      // An imported rule: where it was written, and how.
      o.ascii(',"origin":{"file":');
      o.jsonString(origin.file);
      o.ascii(',"line":');
      o.int(origin.line);
      o.ascii(',"col":');
      o.int(origin.col);
      o.ascii(',"text":');
      o.jsonString(origin.text);
      o.byte(0x7d);
    }
  }
  if (r.fragOf > 0) {
    o.ascii(',"fragOf":');
    o.int(r.fragOf);
  }
  if (rec.ifName) {
    o.ascii(',"if":');
    o.jsonString(rec.ifName);
  }
  o.ascii(',"packet":{');
  writePacketMembers(o, p);
  o.ascii('}}');
}

/** replayJsonLine as a string. */
export function replayJsonLine(r: PacketResult, p: DecodedPacket, rec: CaptureRecord, engine: Engine): string {
  writeReplayJsonLine(scratch, r, p, rec, engine);
  return scratch.take();
}

/** One --format jsonl line of dump, without its newline: {n, ts, caplen, len, if?, direction?, ...describePacket(p)} as JSON.stringify writes it. */
export function writeDumpJsonLine(o: ByteText, rec: CaptureRecord, p: DecodedPacket): void {
  o.room(SLACK);
  o.ascii('{"n":');
  o.int(rec.n);
  o.ascii(',"ts":');
  epoch(o, rec.tsSec, rec.tsNsec);
  o.ascii(',"caplen":');
  o.int(rec.caplen);
  o.ascii(',"len":');
  o.int(rec.len);
  if (rec.ifName) {
    o.ascii(',"if":');
    o.jsonString(rec.ifName);
  }
  if (p.direction === Direction.INBOUND) o.ascii(',"direction":"in"');
  else if (p.direction === Direction.OUTBOUND) o.ascii(',"direction":"out"');
  o.byte(0x2c);
  writePacketMembers(o, p, false);
  o.byte(0x7d);
}

/** dumpJsonLine as a string. */
export function dumpJsonLine(rec: CaptureRecord, p: DecodedPacket): string {
  writeDumpJsonLine(scratch, rec, p);
  return scratch.take();
}
