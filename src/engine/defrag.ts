/**
 * IP reassembly in front of conntrack, as Linux does it when connection
 * tracking is in use: nf_defrag_ipv4 (ip_defrag, net/ipv4/ip_fragment.c) and
 * nf_defrag_ipv6 (nf_ct_frag6_gather, net/ipv6/netfilter/nf_conntrack_reasm.c),
 * both on top of inet_frag_queue_insert (net/ipv4/inet_fragment.c).
 * Just over 600 lines: the two families share one queue, heap and budget.
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
 * - memory: each family's queues have a budget, net.ipv4.ipfrag_high_thresh
 *   (IPv4: nf_defrag_ipv4 reassembles with ip_defrag, in the netns's
 *   net->ipv4.fqdir) and net.netfilter.nf_conntrack_frag6_high_thresh (IPv6:
 *   nf_ct_frag6_gather, net->nf_frag fqdir). Since Linux 4.17 nothing is
 *   evicted: inet_frag_find() refuses every fragment, of a new datagram or
 *   of one already held, while the memory held exceeds high_thresh, and the
 *   fragment is dropped (ip_defrag -ENOMEM; nf_ct_frag6_gather -ENOMEM ->
 *   NF_DROP) until timers or completed datagrams free memory. The low_thresh
 *   sysctls are obsolete (they only bound high_thresh from below). What a
 *   fragment costs is its skb's truesize, plus the queue's own size once per
 *   datagram: fragTruesize() below.
 * Not modelled: ipfrag_max_dist (IPv4 queues reset when their source sends
 * more than 64 other fragments in between), ECN mixing (a CE fragment among
 * not-ECT ones fails reassembly).
 */
import { copyRecord } from '../capture/copy.js';
import type { CaptureRecord } from '../capture/types.js';
import { LinkType } from '../capture/types.js';
import { decodePacket, newDecodedPacket } from '../packet/decode.js';
import { writeU16 } from '../packet/bytes.js';
import { internetChecksum } from '../packet/checksum.js';
import * as icmp from '../packet/icmp.js';
import * as ipv4 from '../packet/ipv4.js';
import * as ipv6 from '../packet/ipv6.js';
import * as tcp from '../packet/tcp.js';
import * as udp from '../packet/udp.js';
import { IpProto, type DecodedPacket } from '../packet/types.js';
import { DEFAULT_CONNTRACK_SETTINGS } from '../base/sysctl.js';
import { IPV4_DEFAULTS } from '../rules/spec.js';

/** ipfrag_time (net.ipv4.ipfrag_time), seconds: the rule files' default. */
export const IPV4_FRAG_TIMEOUT = IPV4_DEFAULTS.ipfrag_time;
/** nf_conntrack_frag6_timeout (net.netfilter.nf_conntrack_frag6_timeout), seconds: the rule files' default. */
export const IPV6_FRAG_TIMEOUT = DEFAULT_CONNTRACK_SETTINGS.frag6_timeout;
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
  /** Creation order: breaks ties between equal deadlines (oldest first). */
  seq: number;
  /** Killed (completed, discarded): its place in the timer heap is stale. */
  dead: boolean;
  /** Memory charged to its family (queue size + each held fragment's truesize). */
  mem: number;
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

/**
 * The reassembly sysctls (kernel defaults in DEFAULT_DEFRAG_SETTINGS), by
 * their names: net.ipv4.ipfrag_* and net.netfilter.nf_conntrack_frag6_*.
 */
export interface DefragSettings {
  /** net.ipv4.ipfrag_high_thresh, bytes (0: every IPv4 fragment is dropped, as inet_frag_find does). */
  ipfrag_high_thresh: number;
  /** net.ipv4.ipfrag_low_thresh: obsolete since Linux 4.17, kept for the sysctl's bound (low <= high). */
  ipfrag_low_thresh: number;
  /** net.ipv4.ipfrag_time, seconds. */
  ipfrag_time: number;
  /** net.netfilter.nf_conntrack_frag6_high_thresh, bytes. */
  frag6_high_thresh: number;
  /** net.netfilter.nf_conntrack_frag6_low_thresh (obsolete, as ipfrag_low_thresh). */
  frag6_low_thresh: number;
  /** net.netfilter.nf_conntrack_frag6_timeout, seconds. */
  frag6_timeout: number;
}

/** Linux's defaults (4 MiB, 3 MiB, 30 s; IPv6 conntrack the same, 60 s): the rule files' own, kept in one place each. */
export const DEFAULT_DEFRAG_SETTINGS: Readonly<DefragSettings> = Object.freeze({
  ...IPV4_DEFAULTS,
  frag6_high_thresh: DEFAULT_CONNTRACK_SETTINGS.frag6_high_thresh,
  frag6_low_thresh: DEFAULT_CONNTRACK_SETTINGS.frag6_low_thresh,
  frag6_timeout: DEFAULT_CONNTRACK_SETTINGS.frag6_timeout,
});

/**
 * sizeof(struct ipq) and sizeof(struct frag_queue), charged once per
 * datagram (inet_frag_alloc: add_frag_mem_limit(fqdir, f->qsize)). Measured
 * on Linux 6.18 x86_64 (test/kernel/frag-memory.test.ts): they depend on the
 * kernel's build (struct layout, debug options).
 */
export const IPQ_SIZE = 200;
export const FRAG6_QUEUE_SIZE = 184;

/**
 * The truesize of the skb a fragment arrives in, as the kernel charges it
 * (add_frag_mem_limit(fqdir, skb->truesize)). It depends on the driver that
 * received the frame; modelled here is a frame of `ipLen` bytes of IP in an
 * Ethernet frame built by alloc_skb() with 16 bytes of headroom, as a veth
 * peer receives what an AF_PACKET socket sent (the kernel harness's path):
 * the head is SKB_DATA_ALIGN(16 + frame) + SKB_DATA_ALIGN(skb_shared_info)
 * (320 bytes), taken from the 576-byte small-head cache when it fits
 * (SKB_SMALL_HEAD_CACHE_SIZE), else rounded up to a kmalloc size (a power of
 * two); plus the sk_buff itself (256). Measured on Linux 6.18 x86_64 with
 * the kernel harness (where the kernel starts dropping, for frames of 58 to
 * 1434 bytes: test/kernel/frag-memory.test.ts). A NIC driver that receives into pages or 2 KiB buffers charges
 * more or less per frame: an approximation, exact for the harness's path.
 */
export function fragTruesize(ipLen: number): number {
  const head = ((16 + 14 + ipLen + 63) & ~63) + 320;
  const alloc = head <= 576 ? 576 : 2 ** Math.ceil(Math.log2(head));
  return alloc + 256;
}

export class Defragmenter {
  private readonly queues = new Map<string, FragQueue>();
  /**
   * Live queues by (deadline, creation order), a binary min-heap: the next
   * to expire is at the top. A killed queue stays until it comes to the top
   * (lazy deletion), so each event costs O(log n) and deadlines may come in
   * any order (the capture's clock may step back).
   */
  private heap: FragQueue[] = [];
  private deadInHeap = 0;
  private seq = 0;
  /** Memory held per family (bytes), as frag_mem_limit(fqdir). */
  mem4 = 0;
  mem6 = 0;
  /** The most memory held since resetPeaks() (the sharded replay sums the threads' peaks). */
  peak4 = 0;
  peak6 = 0;
  readonly settings: Readonly<DefragSettings>;
  readonly timeoutV4: number;
  readonly timeoutV6: number;
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

  constructor(settings: Partial<DefragSettings> = {}) {
    this.settings = { ...DEFAULT_DEFRAG_SETTINGS, ...settings };
    this.timeoutV4 = this.settings.ipfrag_time;
    this.timeoutV6 = this.settings.frag6_timeout;
  }

  /** Datagrams held now. */
  get size(): number {
    return this.queues.size;
  }

  /**
   * Datagrams whose timer ran out by `now`, oldest first; their fragments are
   * dropped. Call before handling each packet (cheap when nothing is due).
   */
  expire(now: number): Released[] {
    const out: Released[] = [];
    if (now < this.nextDeadline) return out;
    const heap = this.heap;
    while (heap.length > 0 && heap[0].deadline <= now) {
      const q = heapPop(heap);
      if (q.dead) {
        this.deadInHeap--;
        continue;
      }
      this.forget(q);
      const t = q.v === 4 ? `ipfrag_time ${this.timeoutV4} s` : `nf_conntrack_frag6_timeout ${this.timeoutV6} s`;
      out.push({
        frags: q.frags,
        reason: `IP fragment of a datagram never completed: reassembly timed out (${t}) with ${q.meat} of ${q.lastIn ? q.len : '?'} bytes`,
      });
    }
    this.updateDeadline();
    return out;
  }

  /** Every held fragment, at the end of the capture. */
  flush(): Released[] {
    const out: Released[] = [];
    for (const q of [...this.queues.values()].sort((a, b) => a.seq - b.seq)) {
      out.push({
        frags: q.frags,
        reason: `IP fragment of a datagram never completed: the capture ended with ${q.meat} of ${q.lastIn ? q.len : '?'} bytes held`,
      });
    }
    this.queues.clear();
    this.heap = [];
    this.deadInHeap = 0;
    this.mem4 = this.mem6 = 0;
    this.nextDeadline = Infinity;
    return out;
  }

  /**
   * inet_frag_find(): no queue, old or new, while the family's memory is
   * over high_thresh. The reason names the sysctl to raise.
   */
  private overLimit(v: 4 | 6): boolean {
    const mem = v === 4 ? this.mem4 : this.mem6;
    const high = v === 4 ? this.settings.ipfrag_high_thresh : this.settings.frag6_high_thresh;
    if (high !== 0 && mem <= high) return false;
    const name = v === 4 ? 'net.ipv4.ipfrag_high_thresh' : 'net.netfilter.nf_conntrack_frag6_high_thresh';
    this.reason =
      high === 0
        ? `IP fragment dropped: ${name} is 0, so no fragment is reassembled (inet_frag_find)`
        : `IP fragment dropped: reassembly memory is full (${mem} bytes held for incomplete ${v === 4 ? 'IPv4' : 'IPv6'} datagrams, over ${name} ${high}); nothing is evicted, fragments are dropped until held datagrams complete or time out (inet_frag_find)`;
    return true;
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
    // ip_defrag: ip_find() before any check of the fragment itself.
    if (this.overLimit(4)) return DefragStatus.DROP;
    const key = `4|${pkt.src0}|${pkt.dst0}|${pkt.ipId}|${pkt.proto}`;
    const q = this.queue(key, 4, now, this.timeoutV4);

    if (!pkt.moreFragments) {
      if (end < q.len || (q.lastIn && end !== q.len)) {
        return this.discard(
          q,
          'IP fragment: a last fragment that ends before data already held, or a second last fragment with another end; the whole datagram is discarded (ip_frag_queue)',
        );
      }
      q.lastIn = true;
      q.len = end;
    } else {
      if (end & 7) end &= ~7;
      if (end > q.len) {
        if (q.lastIn)
          return this.discard(
            q,
            'IP fragment with data beyond the end of its datagram; the whole datagram is discarded (ip_frag_queue)',
          );
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
      this.reason =
        'first IPv6 fragment without the whole transport header (RFC 8200 4.5): not reassembled, and conntrack cannot track it';
      return DefragStatus.PASS;
    }
    // nf_ct_frag6_gather: fq_find() comes after the RFC 8200 4.5 check, before nf_ct_frag6_queue's.
    if (this.overLimit(6)) return DefragStatus.DROP;
    const end = offset + (ip.length - f.fhoff - ipv6.FRAG_HEADER_LEN);
    if (end > IPV6_MAXPLEN)
      return this.dropOne('IPv6 fragment beyond 65535 bytes of payload (nf_ct_frag6_queue): dropped');
    const key = `6|${pkt.src0}|${pkt.src1}|${pkt.src2}|${pkt.src3}|${pkt.dst0}|${pkt.dst1}|${pkt.dst2}|${pkt.dst3}|${pkt.ipId}`;
    const existing = this.queues.get(key);
    if (!pkt.moreFragments) {
      if (existing && (end < existing.len || (existing.lastIn && end !== existing.len))) {
        return this.dropOne(
          'IPv6 fragment: a last fragment that ends before data already held, or a second last fragment with another end (nf_ct_frag6_queue): dropped',
        );
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
        this.reason =
          'IPv6 fragment whose length is not a multiple of 8: its datagram is discarded and it goes on unreassembled (nf_ct_frag6_queue, -EPROTO)';
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
      const qsize = v === 4 ? IPQ_SIZE : FRAG6_QUEUE_SIZE;
      q = {
        key,
        v,
        created: now,
        deadline: now + timeout,
        seq: this.seq++,
        dead: false,
        mem: qsize,
        frags: [],
        runs: [],
        meat: 0,
        len: 0,
        firstIn: false,
        lastIn: false,
      };
      this.queues.set(key, q);
      heapPush(this.heap, q);
      this.charge(v, qsize);
      if (q.deadline < this.nextDeadline) this.nextDeadline = q.deadline;
    }
    return q;
  }

  /** inet_frag_queue_insert, then the completion test. */
  private insert(
    q: FragQueue,
    rec: CaptureRecord,
    ip: Uint8Array,
    offset: number,
    end: number,
    v4: boolean,
  ): DefragStatusValue {
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
    const ipOwn =
      ip.buffer === rec.buf.buffer ? own.buf.subarray(this.currentIpOff, this.currentIpOff + ip.length) : ip;
    q.frags.push({ rec: own, ip: ipOwn, offset, end });
    const truesize = fragTruesize(ip.length);
    q.mem += truesize;
    this.charge(q.v, truesize);
    q.meat += end - offset;
    if (offset === 0) q.firstIn = true;
    if (!(q.firstIn && q.lastIn && q.meat === q.len)) return DefragStatus.HELD;

    // Complete: reassemble (ip_frag_reasm / nf_ct_frag6_reasm).
    this.kill(q);
    const first = q.frags.find((f) => f.offset === 0)!;
    const bytes = v4 ? reassemble4(first.ip, q) : reassemble6(first.ip, q);
    if (bytes === null) {
      this.released = q.frags.slice(0, -1);
      this.reason =
        this.releasedReason = `IP datagram over 65535 bytes after reassembly; all its fragments are dropped (ip_frag_reasm)`;
      return DefragStatus.DROP;
    }
    this.datagramBytes = bytes;
    decodePacket(bytes, 0, bytes.length, LinkType.RAW, 0, this.datagram);
    this.released = q.frags.slice(0, -1);
    return DefragStatus.COMPLETE;
  }

  private overlap(q: FragQueue, v4: boolean): DefragStatusValue {
    return this.discard(
      q,
      `overlapping IP fragment: the whole datagram is discarded (RFC 5722; ${v4 ? 'ip_frag_queue' : 'nf_ct_frag6_queue'})`,
    );
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
    this.forget(q);
    q.dead = true;
    // It leaves the heap when it comes to the top; but when most of the heap
    // is dead (datagrams completing fast), the heap is rebuilt from the live
    // queues, so that dead ones do not keep their fragments until their
    // deadline (O(n), once per n kills).
    if (++this.deadInHeap > 1024 && this.deadInHeap * 2 > this.heap.length) {
      const live = this.heap.filter((x) => !x.dead);
      this.heap = [];
      for (const x of live) heapPush(this.heap, x);
      this.deadInHeap = 0;
    }
    if (q.deadline <= this.nextDeadline) this.updateDeadline();
  }

  /** The queue is gone: its memory is freed (inet_frag_destroy). */
  private forget(q: FragQueue): void {
    this.queues.delete(q.key);
    this.charge(q.v, -q.mem);
  }

  private charge(v: 4 | 6, bytes: number): void {
    if (v === 4) {
      this.mem4 += bytes;
      if (this.mem4 > this.peak4) this.peak4 = this.mem4;
    } else {
      this.mem6 += bytes;
      if (this.mem6 > this.peak6) this.peak6 = this.mem6;
    }
  }

  /** Peaks start again from what is held now. */
  resetPeaks(): void {
    this.peak4 = this.mem4;
    this.peak6 = this.mem6;
  }

  /** The earliest live deadline: dead queues at the top are dropped on the way. */
  private updateDeadline(): void {
    const heap = this.heap;
    while (heap.length > 0 && heap[0].dead) {
      heapPop(heap);
      this.deadInHeap--;
    }
    this.nextDeadline = heap.length > 0 ? heap[0].deadline : Infinity;
  }
}

function before(a: FragQueue, b: FragQueue): boolean {
  return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
}

function heapPush(h: FragQueue[], q: FragQueue): void {
  let i = h.length;
  h.push(q);
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!before(q, h[p])) break;
    h[i] = h[p];
    i = p;
  }
  h[i] = q;
}

function heapPop(h: FragQueue[]): FragQueue {
  const top = h[0];
  const last = h.pop()!;
  const n = h.length;
  if (n > 0) {
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const c = l + 1 < n && before(h[l + 1], h[l]) ? l + 1 : l;
      if (!before(h[c], last)) break;
      h[i] = h[c];
      i = c;
    }
    h[i] = last;
  }
  return top;
}

/** The datagram from the first fragment's header and every fragment's data. */
function reassemble4(first: Uint8Array, q: FragQueue): Uint8Array | null {
  const ihl = ipv4.headerLen(first, 0);
  const total = ihl + q.len;
  if (total > 65535) return null;
  const out = new Uint8Array(total);
  out.set(first.subarray(0, ihl));
  for (const f of q.frags) {
    const fihl = ipv4.headerLen(f.ip, 0);
    out.set(f.ip.subarray(fihl, fihl + (f.end - f.offset)), ihl + f.offset);
  }
  writeU16(out, ipv4.field.LENGTH, total);
  writeU16(out, ipv4.field.FLG_OFF, 0);
  // Header checksum, as ip_frag_reasm leaves it (ip_send_check).
  writeU16(out, ipv4.field.CHECKSUM, 0);
  writeU16(out, ipv4.field.CHECKSUM, internetChecksum(out, 0, ihl));
  return out;
}

/** The first fragment's unfragmentable part, its fragment header removed, then every fragment's data. */
function reassemble6(first: Uint8Array, q: FragQueue): Uint8Array {
  const f = fragHeader6(first)!;
  const out = new Uint8Array(f.fhoff + q.len);
  out.set(first.subarray(0, f.fhoff));
  out[f.prevNh] = first[f.fhoff + ipv6.fragField.NXT_HDR];
  for (const fr of q.frags) {
    const h = fragHeader6(fr.ip)!;
    const data = h.fhoff + ipv6.FRAG_HEADER_LEN;
    out.set(fr.ip.subarray(data, data + (fr.end - fr.offset)), f.fhoff + fr.offset);
  }
  writeU16(out, ipv6.field.PAYLOAD_LEN, out.length - ipv6.HEADER_LEN);
  return out;
}

const walk = new ipv6.ExtWalk();

/** Offset of the IPv6 fragment header, and of the next-header byte that points at it. */
function fragHeader6(ip: Uint8Array): { fhoff: number; prevNh: number } | null {
  walk.begin(ip, 0);
  if (ipv6.walkExtHeaders(ip, ip.length, walk) !== ipv6.Walk.FRAGMENT) return null;
  if (walk.pos + ipv6.FRAG_HEADER_LEN > ip.length) return null;
  return { fhoff: walk.pos, prevNh: walk.nhAt };
}

/** ipv6frag_thdr_truncated(): the first fragment lacks part of the transport header. */
function firstFragmentTruncated(ip: Uint8Array, fhoff: number): boolean {
  walk.begin(ip, 0);
  walk.pos = fhoff;
  walk.skipFragment(ip);
  // A second fragment header ends the walk, as any header ipv6_skip_exthdr does not know would.
  if (ipv6.walkExtHeaders(ip, ip.length, walk) === ipv6.Walk.TRUNCATED) return true;
  return walk.pos + thdrLen(walk.nh) > ip.length;
}

/** What ipv6frag_thdr_truncated() asks of the header after the extension headers: the whole of the three it knows, one byte of any other. */
function thdrLen(nh: number): number {
  switch (nh) {
    case IpProto.TCP:
      return tcp.HEADER_LEN;
    case IpProto.UDP:
      return udp.HEADER_LEN;
    case IpProto.ICMPV6:
      return icmp.HEADER_LEN;
    default:
      return 1;
  }
}

/** Decoded fragment, for reports: a scratch packet re-decoded from a held record. */
export function decodeHeld(f: HeldFragment, out: DecodedPacket): DecodedPacket {
  decodePacket(f.rec.buf, 0, f.rec.caplen, f.rec.linkType, f.rec.direction, out, f.rec.len);
  return out;
}
