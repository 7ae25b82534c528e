/**
 * Reassembly memory (ipfrag_high_thresh, nf_conntrack_frag6_high_thresh),
 * the timer heap, and the settings from the rule file. Expected numbers are
 * computed by hand from the kernel's accounting (inet_frag_find refuses any
 * fragment while frag_mem_limit > high_thresh; each datagram costs its
 * queue's size, each fragment its skb's truesize); the kernel itself is
 * compared in test/kernel/frag-memory.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { Direction, LinkType, type CaptureRecord } from '../../src/capture/types.js';
import { Defragmenter, DefragStatus, fragTruesize, FRAG6_QUEUE_SIZE, IPQ_SIZE } from '../../src/engine/defrag.js';
import { Engine } from '../../src/engine/engine.js';
import { decodePacket, newDecodedPacket } from '../../src/packet/decode.js';
import { buildIpPacket, fragmentIp, type PacketSpec } from '../../src/packet/encode.js';
import { parseRuleSet } from '../../src/rules/load.js';
import { RuleFileError } from '../../src/rules/types.js';

function rec(ip: Uint8Array, n: number): CaptureRecord {
  return {
    n,
    tsSec: 1_700_000_000,
    tsNsec: 0,
    linkType: LinkType.RAW,
    ifIndex: 0,
    ifName: '',
    direction: Direction.UNKNOWN,
    caplen: ip.length,
    len: ip.length,
    buf: ip,
    off: 0,
    fileOffset: 0,
  };
}

/** The first fragment (24 bytes of data: a 44-byte IPv4 packet, 72-byte IPv6) of datagram i. */
function first(v: 4 | 6, i: number): Uint8Array {
  const ip = v === 4 ? { src: '10.1.0.2', dst: '10.2.0.1', id: 100 + i } : { src: 'fd00:1::2', dst: 'fd00:2::1' };
  return fragmentIp(
    buildIpPacket({ ip, udp: { sport: 1000 + i, dport: 53, payload: 40 } } as PacketSpec),
    24,
    v === 6 ? 100 + i : undefined,
  )[0];
}

function add(df: Defragmenter, ip: Uint8Array, n: number, now = 0): number {
  const pkt = newDecodedPacket();
  const r = rec(ip, n);
  decodePacket(r.buf, 0, r.caplen, r.linkType, r.direction, pkt, r.len);
  return df.add(r, pkt, now);
}

describe('truesize model', () => {
  it('small frames share the 576-byte head cache; larger heads round up to a power of two; plus 256 for the sk_buff', () => {
    // frame = 14 + IP; head = align64(16 + frame) + 320
    expect(fragTruesize(44)).toBe(576 + 256); // head 448
    expect(fragTruesize(176)).toBe(576 + 256); // 16+190=206 -> 256, head 576: the cache
    expect(fragTruesize(240)).toBe(1024 + 256); // 16+254=270 -> 320, head 640: kmalloc-1k
    expect(fragTruesize(420)).toBe(1024 + 256); // 16+434=450 -> 512, head 832
    expect(fragTruesize(1020)).toBe(2048 + 256); // 16+1034 -> 1088, head 1408
  });
});

describe('reassembly memory limit (inet_frag_find)', () => {
  it('IPv4: once the memory held exceeds ipfrag_high_thresh, every fragment is dropped, of new datagrams and of held ones', () => {
    // Each held first fragment: 200 (struct ipq) + 832 (truesize of a 58-byte frame) = 1032 bytes.
    expect(IPQ_SIZE + fragTruesize(44)).toBe(1032);
    const df = new Defragmenter({ ipfrag_high_thresh: 5000 });
    // 0, 1032, 2064, 3096, 4128 <= 5000: five held; then 5160 > 5000.
    for (let i = 0; i < 5; i++) expect(add(df, first(4, i), i + 1)).toBe(DefragStatus.HELD);
    expect(df.mem4).toBe(5160);
    expect(add(df, first(4, 5), 6)).toBe(DefragStatus.DROP);
    expect(df.reason).toMatch(/net\.ipv4\.ipfrag_high_thresh 5000/);
    expect(df.reason).toMatch(/5160 bytes held/);
    // The second fragment of a held datagram is refused too (no eviction).
    const second = fragmentIp(
      buildIpPacket({
        ip: { src: '10.1.0.2', dst: '10.2.0.1', id: 100 },
        udp: { sport: 1000, dport: 53, payload: 40 },
      } as PacketSpec),
      24,
    )[1];
    expect(add(df, second, 7)).toBe(DefragStatus.DROP);
    // IPv6 has its own budget.
    expect(add(df, first(6, 0), 8)).toBe(DefragStatus.HELD);
    expect(df.mem6).toBe(FRAG6_QUEUE_SIZE + fragTruesize(72));
    // Timers free the memory: fragments are taken again.
    const gone = df.expire(30);
    expect(gone.length).toBe(5);
    expect(df.mem4).toBe(0);
    expect(add(df, first(4, 6), 9, 30)).toBe(DefragStatus.HELD);
  });

  it('IPv6: nf_conntrack_frag6_high_thresh, named in the reason; high_thresh 0 drops every fragment', () => {
    const df = new Defragmenter({ frag6_high_thresh: 1 });
    expect(add(df, first(6, 0), 1)).toBe(DefragStatus.HELD);
    expect(add(df, first(6, 1), 2)).toBe(DefragStatus.DROP);
    expect(df.reason).toMatch(/net\.netfilter\.nf_conntrack_frag6_high_thresh 1\b/);
    const none = new Defragmenter({ ipfrag_high_thresh: 0 });
    expect(add(none, first(4, 0), 1)).toBe(DefragStatus.DROP);
    expect(none.reason).toMatch(/ipfrag_high_thresh is 0/);
  });

  it('a completed datagram frees its memory', () => {
    const df = new Defragmenter();
    const frags = fragmentIp(
      buildIpPacket({
        ip: { src: '10.1.0.2', dst: '10.2.0.1', id: 9 },
        udp: { sport: 1, dport: 53, payload: 40 },
      } as PacketSpec),
      24,
    );
    frags.forEach((f, i) => add(df, f, i + 1));
    expect(df.size).toBe(0);
    expect(df.mem4).toBe(0);
  });
});

describe('timer heap', () => {
  it('expires by deadline whatever order they were created in (the clock may step back), oldest first among the due', () => {
    const df = new Defragmenter({ ipfrag_time: 30, frag6_timeout: 10 });
    expect(add(df, first(4, 0), 1, 100)).toBe(DefragStatus.HELD); // deadline 130
    expect(add(df, first(4, 1), 2, 50)).toBe(DefragStatus.HELD); // clock stepped back: deadline 80
    expect(add(df, first(6, 2), 3, 60)).toBe(DefragStatus.HELD); // deadline 70
    expect(add(df, first(4, 3), 4, 50)).toBe(DefragStatus.HELD); // deadline 80, created after packet 2
    expect(df.nextDeadline).toBe(70);
    expect(df.expire(69)).toEqual([]);
    expect(df.expire(80).map((r) => r.frags[0].rec.n)).toEqual([3, 2, 4]);
    expect(df.nextDeadline).toBe(130);
    expect(df.expire(1000).map((r) => r.frags[0].rec.n)).toEqual([1]);
    expect(df.nextDeadline).toBe(Infinity);
  });

  it('a killed queue is skipped when its deadline comes, and the next deadline is the next live one', () => {
    const df = new Defragmenter();
    add(df, first(4, 0), 1, 0); // deadline 30
    add(df, first(4, 1), 2, 5); // deadline 35
    // Complete datagram 0: its queue dies at the top of the heap.
    const rest = fragmentIp(
      buildIpPacket({
        ip: { src: '10.1.0.2', dst: '10.2.0.1', id: 100 },
        udp: { sport: 1000, dport: 53, payload: 40 },
      } as PacketSpec),
      24,
    ).slice(1);
    rest.forEach((f, i) => add(df, f, 3 + i, 6));
    expect(df.size).toBe(1);
    expect(df.nextDeadline).toBe(35);
    expect(df.expire(40).map((r) => r.frags[0].rec.n)).toEqual([2]);
  });

  it('many datagrams: 50k queues held, then expired one by one', () => {
    const df = new Defragmenter({ ipfrag_high_thresh: 2_000_000_000 });
    const pkt = newDecodedPacket();
    const ip = first(4, 0);
    let held = 0;
    for (let i = 0; i < 50_000; i++) {
      ip[4] = i >> 8;
      ip[5] = i & 0xff;
      decodePacket(ip, 0, ip.length, LinkType.RAW, 0, pkt, ip.length);
      if (df.add(rec(ip, i + 1), pkt, i * 0.001) === DefragStatus.HELD) held++;
    }
    expect(held).toBe(50_000);
    let released = 0;
    for (let i = 0; i < 50_000; i++) released += df.expire(30 + i * 0.001).length;
    expect(released).toBe(50_000);
    expect(df.mem4).toBe(0);
    // (Generous: about a second here. A re-sort of every queue at each expiry took minutes.)
  }, 60_000);
});

describe('settings from the rule file', () => {
  const base = 'policy: drop\nrules: []\n';
  it('ipv4: takes net.ipv4.ipfrag_*; conntrack: takes frag6_*; the engine uses them', () => {
    const { ruleset } = parseRuleSet(
      `ipv4:\n  ipfrag_high_thresh: 100000\n  ipfrag_low_thresh: 50000\n  ipfrag_time: 5\nconntrack:\n  frag6_high_thresh: 200000\n  frag6_low_thresh: 0\n  frag6_timeout: 7\n${base}`,
      't.yaml',
    );
    const e = new Engine(ruleset);
    expect(e.defrag!.settings).toEqual({
      ipfrag_high_thresh: 100000,
      ipfrag_low_thresh: 50000,
      ipfrag_time: 5,
      frag6_high_thresh: 200000,
      frag6_low_thresh: 0,
      frag6_timeout: 7,
    });
    expect(e.defrag!.timeoutV4).toBe(5);
  });

  it('refuses low_thresh above high_thresh (the kernel says EINVAL), a prefixed name, and a non-number', () => {
    const msg = (text: string) => {
      try {
        parseRuleSet(text + base, 't.yaml');
      } catch (err) {
        if (err instanceof RuleFileError) return err.message;
        throw err;
      }
      return '';
    };
    expect(msg('ipv4:\n  ipfrag_high_thresh: 1000\n')).toMatch(
      /ipfrag_low_thresh \(3145728\) is above ipfrag_high_thresh \(1000\)/,
    );
    expect(msg('conntrack:\n  frag6_high_thresh: 1000\n')).toMatch(
      /frag6_low_thresh \(3145728\) is above frag6_high_thresh \(1000\)/,
    );
    expect(msg('ipv4:\n  net.ipv4.ipfrag_time: 5\n')).toMatch(/leave out the "net.ipv4." prefix; write ipfrag_time/);
    expect(msg('ipv4:\n  ipfrag_time: soon\n')).toMatch(/ipv4 ipfrag_time must be a whole number of seconds/);
    expect(msg('conntrack:\n  nf_conntrack_frag6_timeout: 5\n')).toMatch(/write frag6_timeout/);
  });
});
