/**
 * JSON lines written out by hand: what JSON.stringify would make of the
 * objects replayJson() and describePacket() build, byte for byte (the tests
 * compare the two on every fixture), without building the objects or
 * calling JSON.stringify, which costs several times more per packet than
 * the replay itself.
 */
import type { CaptureRecord } from '../capture/types.js';
import type { CtEntry } from '../conntrack/entry.js';
import type { Engine } from '../engine/engine.js';
import { peekEntry, type PacketResult } from '../engine/result.js';
import { Direction } from '../capture/types.js';
import { formatAddr } from '../packet/addr.js';
import { hasPorts, icmpTypeName, isEcho, protoName, tcpFlagsString } from '../packet/describe.js';
import { IpProto, isPortProto, PacketKind, type DecodedPacket } from '../packet/types.js';
import { ctProtoName } from './conntrack-list.js';
import { explain } from './reason.js';
import { epochString } from './time.js';

/** Characters JSON.stringify escapes (controls, quote, backslash) or rewrites (lone surrogates). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A JSON string literal: JSON.stringify(s). */
export function jsonString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/**
 * The members of JSON.stringify(describePacket(p)), without the braces.
 * `direction: false` leaves out the direction member (dump puts it earlier).
 */
export function packetMembers(p: DecodedPacket, direction = true): string {
  let s = `"kind":${p.kind === PacketKind.IP ? '"ip"' : p.kind === PacketKind.NON_IP ? '"non-ip"' : '"malformed"'}`;
  if (p.kind === PacketKind.MALFORMED) s += `,"error":${jsonString(p.error)}`;
  if (p.note !== '') s += `,"note":${jsonString(p.note)}`;
  if (p.l2Name !== '') s += `,"l2":${jsonString(p.l2Name)}`;
  if (p.vlanOuter !== -1) s += p.vlanInner !== -1 ? `,"vlan":[${p.vlanOuter},${p.vlanInner}]` : `,"vlan":[${p.vlanOuter}]`;
  if (direction) {
    if (p.direction === Direction.INBOUND) s += ',"direction":"in"';
    else if (p.direction === Direction.OUTBOUND) s += ',"direction":"out"';
  }
  if (p.ipVersion !== 4 && p.ipVersion !== 6) return s;
  s += `,"ipVersion":${p.ipVersion},"src":"${formatAddr(p.ipVersion, p.src0, p.src1, p.src2, p.src3)}","dst":"${formatAddr(p.ipVersion, p.dst0, p.dst1, p.dst2, p.dst3)}"`;
  if (p.isFragment) s += `,"fragment":{"offset":${p.fragOffset},"more":${p.moreFragments},"id":${p.ipId}}`;
  if (p.kind !== PacketKind.IP) return s;
  s += `,"proto":${jsonString(protoName(p.proto))},"protoNumber":${p.proto}`;
  if (p.ipVersion === 4 || p.isFragment) s += `,"ipId":${p.ipId}`;
  s += `,"ttl":${p.ttl},"ipLen":${p.ipTotalLen}`;
  if (p.snapTruncated) s += ',"truncated":true';

  if (p.l4Off < 0) return s;
  if (p.proto === IpProto.TCP) {
    s += `,"sport":${p.sport},"dport":${p.dport},"tcp":{"flags":"${tcpFlagsString(p.tcpFlags)}","seq":${p.seq},"ack":${p.ack},"win":${p.window},"len":${p.payloadLen}`;
    let o = '';
    if (p.mss !== -1) o += `,"mss":${p.mss}`;
    if (p.wscale !== -1) o += `,"wscale":${p.wscale}`;
    if (p.sackPermitted) o += ',"sackOk":true';
    if (p.hasTimestamp) o += `,"ts":[${p.tsVal},${p.tsEcr}]`;
    if (o !== '') s += `,"options":{${o.slice(1)}}`;
    s += '}';
  } else if (p.proto === IpProto.UDP) {
    s += `,"sport":${p.sport},"dport":${p.dport},"udp":{"len":${p.payloadLen}}`;
  } else if ((p.proto === IpProto.UDPLITE || p.proto === IpProto.SCTP) && hasPorts(p)) {
    s += `,"sport":${p.sport},"dport":${p.dport}`;
  } else if (p.icmpType !== -1) {
    s += `,"icmp":{"type":${p.icmpType},"code":${p.icmpCode},"name":${jsonString(icmpTypeName(p.ipVersion, p.icmpType, p.icmpCode))}`;
    if (isEcho(p.ipVersion, p.icmpType)) s += `,"id":${p.icmpId},"seq":${p.icmpSeq}`;
    if (p.innerValid) {
      s += `,"inner":{"src":"${formatAddr(p.innerIpVersion, p.innerSrc0, p.innerSrc1, p.innerSrc2, p.innerSrc3)}"` +
        `,"dst":"${formatAddr(p.innerIpVersion, p.innerDst0, p.innerDst1, p.innerDst2, p.innerDst3)}","proto":${jsonString(protoName(p.innerProto))}`;
      if (isPortProto(p.innerProto)) s += `,"sport":${p.innerSport},"dport":${p.innerDport}`;
      s += '}';
    }
    s += '}';
  }
  return s;
}

/** The flow member's value: JSON.stringify(tupleJson(entry.orig)). */
function flowJson(e: CtEntry): string {
  const t = e.orig;
  let s = `{"proto":${jsonString(ctProtoName(t.proto))},"src":"${formatAddr(t.l3, t.src0, t.src1, t.src2, t.src3)}","dst":"${formatAddr(t.l3, t.dst0, t.dst1, t.dst2, t.dst3)}"`;
  if (isPortProto(t.proto)) s += `,"sport":${t.sport},"dport":${t.dport}`;
  else if (t.proto === IpProto.ICMP || t.proto === IpProto.ICMPV6) s += `,"id":${t.sport}`;
  return s + '}';
}

const nullable = (s: string | null): string => (s === null ? 'null' : jsonString(s));

/** One --format jsonl line of replay: JSON.stringify(replayJson(r, p, rec, engine)). */
export function replayJsonLine(r: PacketResult, p: DecodedPacket, rec: CaptureRecord, engine: Engine): string {
  const entry = peekEntry(r) as CtEntry | null;
  let s = `{"n":${r.n},"ts":"${epochString(r.tsSec, r.tsNsec)}","verdict":"${r.verdict}","ct":${nullable(r.ct)},` +
    `"rule":${nullable(r.rule?.id ?? null)},"flow":${entry ? flowJson(entry) : 'null'},"reason":${jsonString(explain(r, p, engine.compiled))},` +
    `"chain":${nullable(r.chain)}`;
  if (r.fragOf > 0) s += `,"fragOf":${r.fragOf}`;
  if (rec.ifName) s += `,"if":${jsonString(rec.ifName)}`;
  return `${s},"packet":{${packetMembers(p)}}}`;
}

/** One --format jsonl line of dump: {n, ts, caplen, len, if?, direction?, ...describePacket(p)} as JSON.stringify writes it. */
export function dumpJsonLine(rec: CaptureRecord, p: DecodedPacket): string {
  const dir = p.direction === Direction.INBOUND ? 'in' : p.direction === Direction.OUTBOUND ? 'out' : '';
  return `{"n":${rec.n},"ts":"${epochString(rec.tsSec, rec.tsNsec)}","caplen":${rec.caplen},"len":${rec.len}` +
    `${rec.ifName ? `,"if":${jsonString(rec.ifName)}` : ''}${dir ? `,"direction":"${dir}"` : ''},${packetMembers(p, false)}}`;
}
