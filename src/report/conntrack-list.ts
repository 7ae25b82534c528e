/**
 * conntrack-tools' text forms for fwemu's conntrack entries:
 *   formatConntrackEntry  - a line of `conntrack -L`
 *   formatConntrackEvent  - a line of `conntrack -E`
 *   entryToJson           - the same facts as a plain object
 *
 * The layout is the one conntrack v1.4.7 (libnetfilter_conntrack's default
 * output) prints on Linux 6.18, checked against the real tool:
 *
 *   tcp      6 431999 ESTABLISHED src=10.1.0.2 dst=10.2.0.2 sport=51514 dport=8080 src=10.2.0.2 dst=10.1.0.2 sport=8080 dport=51514 [ASSURED] mark=0 use=1
 *   udp      17 29 src=10.1.0.2 dst=10.2.0.2 sport=40000 dport=53 [UNREPLIED] src=10.2.0.2 dst=10.1.0.2 sport=53 dport=40000 mark=0 use=1
 *   icmpv6   58 29 src=fd01::2 dst=fd02::2 type=128 code=0 id=99 src=fd02::2 dst=fd01::2 type=129 code=0 id=99 mark=0 use=1
 *       [NEW] tcp      6 120 SYN_SENT src=... [UNREPLIED] src=...
 *   [DESTROY] udp      17 src=...            (no timeout when the entry expired)
 *
 * i.e. protocol name left-aligned in 8 columns, protocol number, seconds
 * left, TCP state, the original tuple, [UNREPLIED] when no reply was seen,
 * the reply tuple, [ASSURED], then "mark=0 use=1" for listings only.
 * Seconds are whole seconds left on the capture clock, rounded down.
 */
import { formatAddr } from '../packet/addr.js';
import { knownProtoName } from '../packet/describe.js';
import { IpProto, isPortProto } from '../packet/types.js';
import type { CtEntry, CtEvent, CtTuple } from '../conntrack/entry.js';
import { CtStatus } from '../conntrack/types.js';
import { stateNameOf } from '../conntrack/entry.js';

/** libnetfilter_conntrack's protocol names (those fwemu decodes, and the ones it tracks bare); others print as "unknown". */
export function ctProtoName(proto: number): string {
  return knownProtoName(proto) ?? (proto === 47 ? 'gre' : proto === 33 ? 'dccp' : 'unknown');
}

function tupleText(t: CtTuple): string {
  let s = `src=${formatAddr(t.l3, t.src0, t.src1, t.src2, t.src3)} dst=${formatAddr(t.l3, t.dst0, t.dst1, t.dst2, t.dst3)}`;
  if (isPortProto(t.proto) || t.proto === 33) {
    // conntrack prints ports for DCCP, SCTP and UDP-Lite whatever the kernel
    // tracked them with (a generic-tracked DCCP entry shows sport=0 dport=0;
    // Linux 6.18, which has no DCCP tracker).
    s += ` sport=${t.sport} dport=${t.dport}`;
  } else if (t.proto === IpProto.ICMP || t.proto === IpProto.ICMPV6) {
    s += ` type=${t.dport >>> 8} code=${t.dport & 0xff} id=${t.sport}`;
  } else if (t.proto === 47) {
    s += ` srckey=0x${t.sport.toString(16)} dstkey=0x${t.dport.toString(16)}`;
  }
  return s;
}

function line(e: CtEntry, timeout: number, protoState: number, status: number): string {
  const name = ctProtoName(e.proto);
  let s = `${name.padEnd(8)} ${e.proto}`;
  if (timeout >= 0) s += ` ${timeout}`;
  if (protoState >= 0) s += ` ${stateNameOf(e.proto, protoState)}`;
  s += ` ${tupleText(e.orig)}`;
  if (!(status & CtStatus.SEEN_REPLY)) s += ' [UNREPLIED]';
  s += ` ${tupleText(e.reply)}`;
  if (status & CtStatus.ASSURED) s += ' [ASSURED]';
  return s;
}

/** One `conntrack -L` line for `e` at capture time `now`. */
export function formatConntrackEntry(e: CtEntry, now: number): string {
  return `${line(e, e.secondsLeft(now), e.protoState, e.status)} mark=0 use=1`;
}

const EVENT_TAG: Record<string, string> = {
  NEW: '    [NEW]',
  UPDATE: ' [UPDATE]',
  DESTROY: '[DESTROY]',
};

/** One `conntrack -E` line, from the event's snapshot. */
export function formatConntrackEvent(ev: CtEvent): string {
  return `${EVENT_TAG[ev.type]} ${line(ev.entry, ev.timeout, ev.protoState, ev.status)}`;
}

export interface CtTupleJson {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  type?: number;
  code?: number;
  id?: number;
}

export interface CtEntryJson {
  id: number;
  family: 'ipv4' | 'ipv6';
  proto: string;
  protoNumber: number;
  /** Seconds left at the listing time (rounded down). */
  timeout: number;
  /** Absolute capture time of expiry (seconds). */
  deadline: number;
  state?: string;
  orig: CtTupleJson;
  reply: CtTupleJson;
  seenReply: boolean;
  assured: boolean;
  created: { time: number; packet: number };
  openedBy: { packet: number; ruleId: string | null } | null;
  lastSeen: { time: number; packet: number };
  counters: { orig: { packets: number; bytes: number }; reply: { packets: number; bytes: number } };
  tcp?: {
    seen: {
      td_end: number;
      td_maxend: number;
      td_maxwin: number;
      td_maxack: number;
      td_scale: number;
      flags: number;
    }[];
    retrans: number;
  };
}

function tupleJson(t: CtTuple): CtTupleJson {
  const j: CtTupleJson = {
    src: formatAddr(t.l3, t.src0, t.src1, t.src2, t.src3),
    dst: formatAddr(t.l3, t.dst0, t.dst1, t.dst2, t.dst3),
  };
  if (isPortProto(t.proto)) {
    j.sport = t.sport;
    j.dport = t.dport;
  } else if (t.proto === IpProto.ICMP || t.proto === IpProto.ICMPV6) {
    j.type = t.dport >>> 8;
    j.code = t.dport & 0xff;
    j.id = t.sport;
  }
  return j;
}

/** The entry as a plain JSON-ready object. */
export function entryToJson(e: CtEntry, now: number): CtEntryJson {
  const j: CtEntryJson = {
    id: e.id,
    family: e.l3 === 6 ? 'ipv6' : 'ipv4',
    proto: ctProtoName(e.proto),
    protoNumber: e.proto,
    timeout: e.secondsLeft(now),
    deadline: e.deadline,
    orig: tupleJson(e.orig),
    reply: tupleJson(e.reply),
    seenReply: (e.status & CtStatus.SEEN_REPLY) !== 0,
    assured: (e.status & CtStatus.ASSURED) !== 0,
    created: { time: e.createdAt, packet: e.createdPacket },
    openedBy: e.openedBy ? { packet: e.openedBy.packet, ruleId: e.openedBy.ruleId } : null,
    lastSeen: { time: e.lastSeen, packet: e.lastPacket },
    counters: {
      orig: { packets: e.packetsOrig, bytes: e.bytesOrig },
      reply: { packets: e.packetsReply, bytes: e.bytesReply },
    },
  };
  if (e.protoState >= 0) j.state = e.stateName;
  const tcp = e.tcp; // a copy of the record's TCP part, plain objects
  if (tcp) j.tcp = { seen: tcp.seen, retrans: tcp.retrans };
  return j;
}
