/**
 * IP reassembly in front of conntrack, as Linux does it when connection
 * tracking is in use: nf_defrag_ipv4 (ip_defrag, net/ipv4/ip_fragment.c) and
 * nf_defrag_ipv6 (nf_ct_frag6_gather, net/ipv6/netfilter/nf_conntrack_reasm.c),
 * both on top of inet_frag_queue_insert (net/ipv4/inet_fragment.c).
 *
 * A fragment is held until its datagram is complete; then the datagram,
 * built from the first fragment's headers and every fragment's data, goes
 * through conntrack and the filter as one packet, and its verdict is the
 * verdict of every fragment (the kernel forwards the whole datagram,
 * refragmented, or none of it).
 *
 * Modelled, per datagram (key: addresses, identification, and for IPv4 the
 * protocol):
 * - the timer: a queue dies ipfrag_time (IPv4, 30 s) or
 *   nf_conntrack_frag6_timeout (IPv6, 60 s) after its first fragment, and
 *   every fragment it holds is dropped;
 * - fragment "runs" and the overlap rule (RFC 5722 as Linux applies it to
 *   both families since 4.19): a fragment inside a run already held is a
 *   duplicate and dropped alone; any other overlap discards the whole
 *   datagram;
 * - the end checks: a last fragment that ends before data already held, or
 *   a second last fragment with another end, or data beyond the end; empty
 *   fragments; an IPv4 datagram over 65535 bytes. IPv4 discards the datagram
 *   for each of these, IPv6 (nf_ct_frag6_queue) drops the fragment alone;
 * - IPv4: a non-last fragment whose data is not a multiple of 8 bytes is cut
 *   down to one (ip_frag_queue); IPv6: such a fragment discards the datagram
 *   and is itself let through unreassembled (-EPROTO);
 * - IPv6: a first fragment without the whole transport header (RFC 8200
 *   4.5) is let through unreassembled (ipv6frag_thdr_truncated), and an
 *   atomic fragment (offset 0, no more fragments) is a datagram of one
 *   fragment: "reassembled" at once, its fragment header removed.
 * Not modelled: memory limits (ipfrag_high_thresh), ipfrag_max_dist (IPv4
 * queues reset when their source sends more than 64 other fragments in
 * between), ECN mixing (a CE fragment among not-ECT ones fails reassembly).
 */
import { copyRecord } from '../capture/copy.js';
import type { CaptureRecord } from '../capture/types.js';
import { LinkType } from '../capture/types.js';
import { decodePacket, newDecodedPacket } from '../packet/decode.js';
import { internetChecksum } from '../packet/encode.js';
import type { DecodedPacket } from '../packet/types.js';

/** ipfrag_time (net.ipv4.ipfrag_time), seconds. */
export const IPV4_FRAG_TIMEOUT = 30;
/** nf_conntrack_frag6_timeout (net.netfilter.nf_conntrack_frag6_timeout), seconds. */
export const IPV6_FRAG_TIMEOUT = 60;
const IPV6_MAXPLEN = 65535;

/** A fragment held for reassembly: a copy of its record (the capture's buffer is reused). */
export interface HeldFragment {
  rec: CaptureRecord;
  /** The fragment's IP packet (header included), a copy. */
  ip: Uint8Array;
  /** Offset and end of its data in the datagram (end cut to a multiple of 8 for non-last IPv4 fragments). */
  offset: number;
  end: number;
}

interface Run {
  start: number;
  end: number;
}

interface FragQueue {
  key: string;
  v: 4 | 6;
  created: number;
  deadline: number;
  frags: HeldFragment[];
  runs: Run[];
  /** Bytes of data held (duplicates not counted). */
  meat: number;
  /** Datagram data length: known when the last fragment is in, else the highest end seen. */
  len: number;
  firstIn: boolean;
  lastIn: boolean;
}

export const DefragStatus = {
  /** The fragment is held; its result comes when the datagram completes or dies. */
  HELD: 0,
  /** The fragment completed its datagram: `datagram` is the reassembled packet; `released` the held fragments. */
  COMPLETE: 1,
  /** The fragment is dropped by the defragmenter (`reason`); `released` holds any fragments its datagram lost with it. */
  DROP: 2,
  /** Not reassembled: judge the fragment alone (IPv6 cases above, with `reason` saying why). */
  PASS: 3,
} as const;
export type DefragStatusValue = (typeof DefragStatus)[keyof typeof DefragStatus];

/** Why held fragments were released without a datagram. */
export interface Released {
  frags: HeldFragment[];
  reason: string;
}

export class Defragmenter {
  private readonly queues = new Map<string, FragQueue>();
  /** Earliest queue deadline (Infinity when nothing is held): the per-packet check is one comparison. */
  nextDeadline = Infinity;
  /** Outcome details of the last add(). */
  reason = '';
  /** Held fragments the last add() let go: with the datagram (COMPLETE) or dropped (reason in `releasedReason`). */
  released: HeldFragment[] = [];
  releasedReason = '';
  /** The reassembled datagram of the last COMPLETE (decoded from `datagramBytes`). */
  readonly datagram: DecodedPacket = newDecodedPacket();
  datagramBytes: Uint8Array = new Uint8Array(0);
  private currentN = 0;
  /** Where the current fragment's IP header starts in its record's bytes. */
  private currentIpOff = 0;

  constructor(
    readonly timeoutV4 = IPV4_FRAG_TIMEOUT,
    readonly timeoutV6 = IPV6_FRAG_TIMEOUT,
  ) {}

  /**
   * Datagrams whose timer ran out by `now`, oldest first; their fragments are
   * dropped. Call before handling each packet (cheap when nothing is due).
   */
  expire(now: number): Released[] {
    const out: Released[] = [];
    if (now < this.nextDeadline) return out;
    for (const q of [...this.queues.values()].sort((a, b) => a.created - b.created)) {
      if (q.deadline > now) continue;
      this.queues.delete(q.key);
      const t = q.v === 4 ? `ipfrag_time ${this.timeoutV4} s` : `nf_conntrack_frag6_timeout ${this.timeoutV6} s`;
      out.push({ frags: q.frags, reason: `IP fragment of a datagram never completed: reassembly timed out (${t}) with ${q.meat} of ${q.lastIn ? q.len : '?'} bytes` });
    }
    this.updateDeadline();
    return out;
  }

  /** Every held fragment, at the end of the capture. */
  flush(): Released[] {
    const out: Released[] = [];
    for (const q of [...this.queues.values()].sort((a, b) => a.created - b.created)) {
      out.push({ frags: q.frags, reason: `IP fragment of a datagram never completed: the capture ended with ${q.meat} of ${q.lastIn ? q.len : '?'} bytes held` });
    }
    this.queues.clear();
    this.nextDeadline = Infinity;
    return out;
  }

  /**
   * One fragment (pkt.isFragment; its IP header was decoded) seen at `now`.
   * The record's bytes are copied when the fragment is held.
   */
  add(rec: CaptureRecord, pkt: DecodedPacket, now: number): DefragStatusValue {
    this.reason = '';
    this.releasedReason = '';
    this.released = [];
    this.currentN = rec.n;
    // Looked at in place; insert() copies what it holds (the reader reuses its buffers).
    const buf = rec.buf;
    const ipOff = pkt.ipOff;
    const end0 = Math.min(rec.off + rec.caplen, buf.length);
    let ip: Uint8Array;
    if (ipOff + pkt.ipTotalLen <= end0) ip = buf.subarray(ipOff, ipOff + pkt.ipTotalLen);
    else {
      // Cut by the snaplen: conntrack and the rules read headers only, so
      // the missing data is taken as zeros (a buffer of its own already).
      ip = new Uint8Array(pkt.ipTotalLen);
      ip.set(buf.subarray(ipOff, end0));
    }
    this.currentIpOff = ipOff - rec.off;
    return pkt.ipVersion === 4 ? this.add4(rec, pkt, ip, now) : this.add6(rec, pkt, ip, now);
  }

  // ------------------------------------------------------------------ IPv4

  private add4(rec: CaptureRecord, pkt: DecodedPacket, ip: Uint8Array, now: number): DefragStatusValue {
    const ihl = pkt.ipHeaderLen;
    const offset = pkt.fragOffset;
    let end = offset + (ip.length - ihl);
    const key = `4|${pkt.src0}|${pkt.dst0}|${pkt.ipId}|${pkt.proto}`;
    const q = this.queue(key, 4, now, this.timeoutV4);

    if (!pkt.moreFragments) {
      if (end < q.len || (q.lastIn && end !== q.len)) {
        return this.discard(q, 'IP fragment: a last fragment that ends before data already held, or a second last fragment with another end; the whole datagram is discarded (ip_frag_queue)');
      }
      q.lastIn = true;
      q.len = end;
    } else {
      if (end & 7) end &= ~7;
      if (end > q.len) {
        if (q.lastIn) return this.discard(q, 'IP fragment with data beyond the end of its datagram; the whole datagram is discarded (ip_frag_queue)');
        q.len = end;
      }
    }
    if (end === offset) return this.discard(q, 'empty IP fragment; the whole datagram is discarded (ip_frag_queue)');
    return this.insert(q, rec, ip, offset, end, true);
  }

  // ------------------------------------------------------------------ IPv6

  private add6(rec: CaptureRecord, pkt: DecodedPacket, ip: Uint8Array, now: number): DefragStatusValue {
    const f = fragHeader6(ip);
    if (f === null) {
      this.reason = 'IPv6 fragment header not found';
      return DefragStatus.PASS;
    }
    const offset = pkt.fragOffset;
    if (offset === 0 && firstFragmentTruncated(ip, f.fhoff)) {
      // nf_ct_frag6_gather: "Drop incomplete fragment" returns 0, and the
      // fragment goes on to conntrack unreassembled.
      this.reason = 'first IPv6 fragment without the whole transport header (RFC 8200 4.5): not reassembled, and conntrack cannot track it';
      return DefragStatus.PASS;
    }
    let end = offset + (ip.length - f.fhoff - 8);
    if (end > IPV6_MAXPLEN) return this.dropOne('IPv6 fragment beyond 65535 bytes of payload (nf_ct_frag6_queue): dropped');
    const key = `6|${pkt.src0}|${pkt.src1}|${pkt.src2}|${pkt.src3}|${pkt.dst0}|${pkt.dst1}|${pkt.dst2}|${pkt.dst3}|${pkt.ipId}`;
    const existing = this.queues.get(key);
    if (!pkt.moreFragments) {
      if (existing && (end < existing.len || (existing.lastIn && end !== existing.len))) {
        return this.dropOne('IPv6 fragment: a last fragment that ends before data already held, or a second last fragment with another end (nf_ct_frag6_queue): dropped');
      }
    } else {
      if (end & 7) {
        // RFC 8200: non-last fragments are multiples of 8 bytes. The queue
        // dies and the fragment is let through alone (-EPROTO).
        if (existing) {
          this.kill(existing);
          this.released = existing.frags;
          this.releasedReason = `IP fragment of a datagram discarded when packet ${rec.n}, a later fragment, was not a multiple of 8 bytes (nf_ct_frag6_queue)`;
        }
        this.reason = 'IPv6 fragment whose length is not a multiple of 8: its datagram is discarded and it goes on unreassembled (nf_ct_frag6_queue, -EPROTO)';
        return DefragStatus.PASS;
      }
      if (existing && end > existing.len && existing.lastIn) {
        return this.dropOne('IPv6 fragment with data beyond the end of its datagram (nf_ct_frag6_queue): dropped');
      }
    }
    if (end === offset) return this.dropOne('empty IPv6 fragment (nf_ct_frag6_queue): dropped');
    const q = existing ?? this.queue(key, 6, now, this.timeoutV6);
    if (!pkt.moreFragments) {
      q.lastIn = true;
      q.len = end;
    } else if (end > q.len) q.len = end;
    return this.insert(q, rec, ip, offset, end, false);
  }

  // ---------------------------------------------------------------- common

  private queue(key: string, v: 4 | 6, now: number, timeout: number): FragQueue {
    let q = this.queues.get(key);
    if (q === undefined) {
      q = { key, v, created: now, deadline: now + timeout, frags: [], runs: [], meat: 0, len: 0, firstIn: false, lastIn: false };
      this.queues.set(key, q);
      if (q.deadline < this.nextDeadline) this.nextDeadline = q.deadline;
    }
    return q;
  }

  /** inet_frag_queue_insert, then the completion test. */
  private insert(q: FragQueue, rec: CaptureRecord, ip: Uint8Array, offset: number, end: number, v4: boolean): DefragStatusValue {
    const runs = q.runs;
    const last = runs.length > 0 ? runs[runs.length - 1] : null;
    if (last === null) runs.push({ start: offset, end });
    else if (last.end < end) {
      if (offset < last.end) return this.overlap(q, v4);
      if (offset === last.end) last.end = end;
      else runs.push({ start: offset, end });
    } else {
      let i = 0;
      for (; i < runs.length; i++) {
        const r = runs[i];
        if (end <= r.start) break;
        if (offset >= r.end) continue;
        if (offset >= r.start && end <= r.end) {
          // Duplicate: dropped, the datagram stays.
          return this.dropOne(`duplicate IP fragment (offset ${offset}, already held): dropped, its datagram kept`);
        }
        return this.overlap(q, v4);
      }
      runs.splice(i, 0, { start: offset, end });
    }
    // The record's bytes are copied once; the IP packet is a view into that
    // copy (unless it is already a buffer of its own, padded past the snaplen).
    const own = copyRecord(rec);
    const ipOwn = ip.buffer === rec.buf.buffer ? own.buf.subarray(this.currentIpOff, this.currentIpOff + ip.length) : ip;
    q.frags.push({ rec: own, ip: ipOwn, offset, end });
    q.meat += end - offset;
    if (offset === 0) q.firstIn = true;
    if (!(q.firstIn && q.lastIn && q.meat === q.len)) return DefragStatus.HELD;

    // Complete: reassemble (ip_frag_reasm / nf_ct_frag6_reasm).
    this.kill(q);
    const first = q.frags.find((f) => f.offset === 0)!;
    const bytes = v4 ? reassemble4(first.ip, q) : reassemble6(first.ip, q);
    if (bytes === null) {
      this.released = q.frags.slice(0, -1);
      this.reason = this.releasedReason = `IP datagram over 65535 bytes after reassembly; all its fragments are dropped (ip_frag_reasm)`;
      return DefragStatus.DROP;
    }
    this.datagramBytes = bytes;
    decodePacket(bytes, 0, bytes.length, LinkType.RAW, 0, this.datagram);
    this.released = q.frags.slice(0, -1);
    return DefragStatus.COMPLETE;
  }

  private overlap(q: FragQueue, v4: boolean): DefragStatusValue {
    return this.discard(q, `overlapping IP fragment: the whole datagram is discarded (RFC 5722; ${v4 ? 'ip_frag_queue' : 'nf_ct_frag6_queue'})`);
  }

  /** The fragment and its whole datagram are dropped. */
  private discard(q: FragQueue, why: string): DefragStatusValue {
    this.kill(q);
    this.released = q.frags;
    this.reason = why;
    this.releasedReason = `${why}, when packet ${this.currentN} arrived`;
    return DefragStatus.DROP;
  }

  /** Only this fragment is dropped. */
  private dropOne(why: string): DefragStatusValue {
    this.reason = why;
    return DefragStatus.DROP;
  }

  private kill(q: FragQueue): void {
    this.queues.delete(q.key);
    // Only the earliest deadline matters: rescan the queues when it was this one's.
    if (q.deadline <= this.nextDeadline) this.updateDeadline();
  }

  private updateDeadline(): void {
    let d = Infinity;
    for (const q of this.queues.values()) if (q.deadline < d) d = q.deadline;
    this.nextDeadline = d;
  }
}

/** The datagram from the first fragment's header and every fragment's data. */
function reassemble4(first: Uint8Array, q: FragQueue): Uint8Array | null {
  const ihl = (first[0] & 15) * 4;
  const total = ihl + q.len;
  if (total > 65535) return null;
  const out = new Uint8Array(total);
  out.set(first.subarray(0, ihl));
  for (const f of q.frags) {
    const fihl = (f.ip[0] & 15) * 4;
    out.set(f.ip.subarray(fihl, fihl + (f.end - f.offset)), ihl + f.offset);
  }
  out[2] = total >> 8;
  out[3] = total & 0xff;
  out[6] = 0;
  out[7] = 0;
  // Header checksum, as ip_frag_reasm leaves it (ip_send_check).
  out[10] = 0;
  out[11] = 0;
  const c = internetChecksum(out, 0, ihl);
  out[10] = c >> 8;
  out[11] = c & 0xff;
  return out;
}

/** The first fragment's unfragmentable part, its fragment header removed, then every fragment's data. */
function reassemble6(first: Uint8Array, q: FragQueue): Uint8Array {
  const f = fragHeader6(first)!;
  const out = new Uint8Array(f.fhoff + q.len);
  out.set(first.subarray(0, f.fhoff));
  out[f.prevNh] = first[f.fhoff]; // the fragment header's next header
  for (const fr of q.frags) {
    const h = fragHeader6(fr.ip)!;
    out.set(fr.ip.subarray(h.fhoff + 8, h.fhoff + 8 + (fr.end - fr.offset)), f.fhoff + fr.offset);
  }
  const plen = out.length - 40;
  out[4] = plen >> 8;
  out[5] = plen & 0xff;
  return out;
}

/** Offset of the IPv6 fragment header, and of the next-header byte that points at it. */
function fragHeader6(ip: Uint8Array): { fhoff: number; prevNh: number } | null {
  let nh = ip[6];
  let prevNh = 6;
  let pos = 40;
  for (let i = 0; i < 16 && pos + 8 <= ip.length; i++) {
    if (nh === 44) return { fhoff: pos, prevNh };
    if (nh !== 0 && nh !== 43 && nh !== 60 && nh !== 51) return null;
    const hlen = nh === 51 ? (ip[pos + 1] + 2) * 4 : (ip[pos + 1] + 1) * 8;
    prevNh = pos;
    nh = ip[pos];
    pos += hlen;
  }
  return null;
}

/** ipv6frag_thdr_truncated(): the first fragment lacks part of the transport header. */
function firstFragmentTruncated(ip: Uint8Array, fhoff: number): boolean {
  let nh = ip[fhoff];
  let pos = fhoff + 8;
  for (let i = 0; i < 16; i++) {
    if (nh !== 0 && nh !== 43 && nh !== 60 && nh !== 51) break;
    if (pos + 2 > ip.length) return true;
    const hlen = nh === 51 ? (ip[pos + 1] + 2) * 4 : (ip[pos + 1] + 1) * 8;
    nh = ip[pos];
    pos += hlen;
  }
  const need = nh === 6 ? 20 : nh === 17 ? 8 : nh === 58 ? 8 : 1;
  return pos + need > ip.length;
}

/** Decoded fragment, for reports: a scratch packet re-decoded from a held record. */
export function decodeHeld(f: HeldFragment, out: DecodedPacket): DecodedPacket {
  decodePacket(f.rec.buf, 0, f.rec.caplen, f.rec.linkType, f.rec.direction, out, f.rec.len);
  return out;
}

