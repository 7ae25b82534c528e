/**
 * IP reassembly in front of conntrack (src/engine/defrag.ts), through
 * replay(). Expected outcomes: net/ipv4/ip_fragment.c (ip_frag_queue),
 * net/ipv6/netfilter/nf_conntrack_reasm.c (nf_ct_frag6_gather,
 * nf_ct_frag6_queue), net/ipv4/inet_fragment.c (inet_frag_queue_insert),
 * and where marked "kernel:", Linux 6.18 given the same packets through the
 * kernel harness (test/kernel; the randomized corpus's ip-fragments
 * sessions cover every case below).
 */
import { describe, expect, it } from 'vitest';
import { Direction, LinkType, type CaptureRecord, type CaptureSummary } from '../../src/capture/types.js';
import { MAX_WAITING, replay } from '../../src/engine/replay.js';
import { Cause, type PacketResult } from '../../src/engine/result.js';
import { buildIpPacket, fragmentIp, type PacketSpec } from '../../src/packet/encode.js';
import { explain } from '../../src/report/reason.js';
import { parseRuleSet } from '../../src/rules/load.js';

const RULES = `
policy: drop
rules:
  - id: dns
    proto: udp
    dport: 53
  - id: web
    proto: tcp
    dport: 8080
  - id: ping
    proto: icmpv6
    type: echo-request
`;

interface Seen {
  n: number;
  verdict: string;
  fragOf: number;
  cause: number;
  reason: string;
}

/** Raw IP packets at 1 ms intervals (or the times given), replayed with RULES. */
async function run(
  packets: Uint8Array[],
  opts: { times?: number[]; stateful?: boolean; rules?: string } = {},
): Promise<{ seen: Seen[]; flows: number }> {
  const { ruleset } = parseRuleSet(
    (opts.rules ?? RULES) + (opts.stateful === false ? 'stateful: false\n' : ''),
    'test.yaml',
  );
  const seen: Seen[] = [];
  const source = async (onRecord: (rec: CaptureRecord) => void): Promise<CaptureSummary> => {
    packets.forEach((ip, i) => {
      const t = opts.times?.[i] ?? i * 0.001;
      // A fresh buffer that is then overwritten, as capture readers reuse theirs.
      const buf = ip.slice();
      onRecord({
        n: i + 1,
        tsSec: 1_700_000_000 + Math.floor(t),
        tsNsec: Math.round((t % 1) * 1e9),
        linkType: LinkType.RAW,
        ifIndex: 0,
        ifName: '',
        direction: Direction.UNKNOWN,
        caplen: buf.length,
        len: buf.length,
        buf,
        off: 0,
        fileOffset: 0,
      });
      buf.fill(0xee);
    });
    return { format: 'pcap', records: packets.length, bytesRead: 0, warnings: [], truncated: false };
  };
  const summary = await replay({
    rules: ruleset,
    source,
    onPacket: (r: PacketResult, p, _rec, engine) =>
      seen.push({
        n: r.n,
        verdict: r.verdict,
        fragOf: r.fragOf,
        cause: r.cause,
        reason: explain(r, p, engine.compiled),
      }),
  });
  return { seen, flows: summary.stats.flows };
}

const udp4 = (bytes: number, dport = 53, id = 77): Uint8Array =>
  buildIpPacket({
    ip: { src: '10.1.0.2', dst: '10.2.0.1', id },
    udp: { sport: 40000, dport, payload: bytes },
  } as PacketSpec);
const udp6 = (bytes: number, dport = 53): Uint8Array =>
  buildIpPacket({
    ip: { src: 'fd00:1::2', dst: 'fd00:2::1' },
    udp: { sport: 40000, dport, payload: bytes },
  } as PacketSpec);

describe('IPv4 reassembly (nf_defrag_ipv4)', () => {
  it('holds fragments and gives each the verdict of the whole datagram when the last one arrives (kernel: all forwarded)', async () => {
    const frags = fragmentIp(udp4(1000), 256);
    expect(frags.length).toBe(4);
    const { seen, flows } = await run(frags);
    // Results come when the datagram completes: the held ones first, then the one that completed it.
    expect(seen.map((s) => s.n)).toEqual([1, 2, 3, 4]);
    expect(seen.every((s) => s.verdict === 'accept' && s.fragOf === 4)).toBe(true);
    expect(seen[0].reason).toMatch(
      /matches rule dns .*IP fragment of the datagram completed at packet 4, judged whole/,
    );
    expect(seen[3].reason).toMatch(/this fragment completed its datagram/);
    expect(flows).toBe(1);
  });

  it("judges by the first fragment's headers whatever the arrival order (kernel: reversed fragments forwarded)", async () => {
    const frags = fragmentIp(udp4(1000, 5353), 256).reverse();
    const { seen } = await run(frags);
    expect(seen.map((s) => [s.n, s.verdict])).toEqual([
      [1, 'drop'],
      [2, 'drop'],
      [3, 'drop'],
      [4, 'drop'],
    ]);
    expect(seen[0].reason).toMatch(/no rule accepts new udp to port 5353; policy drop/);
  });

  it('a duplicate fragment is dropped alone; the datagram completes without it (inet_frag_queue_insert IPFRAG_DUP)', async () => {
    const f = fragmentIp(udp4(600), 256);
    const { seen } = await run([f[0], f[0].slice(), f[1], f[2]]);
    const byN = new Map(seen.map((s) => [s.n, s]));
    expect(byN.get(2)!.verdict).toBe('drop');
    expect(byN.get(2)!.reason).toMatch(/duplicate IP fragment/);
    expect([1, 3, 4].map((n) => byN.get(n)!.verdict)).toEqual(['accept', 'accept', 'accept']);
  });

  it('an overlapping fragment discards the whole datagram (RFC 5722 as ip_frag_queue applies it)', async () => {
    const ip = udp4(600);
    const f = fragmentIp(ip, 256);
    const odd = fragmentIp(ip, 264)[1]; // offset 264: inside the second regular fragment
    const { seen } = await run([f[0], f[1], odd, f[2]]);
    const byN = new Map(seen.map((s) => [s.n, s]));
    for (const n of [1, 2, 3]) {
      expect(byN.get(n)!.verdict).toBe('drop');
      expect(byN.get(n)!.reason).toMatch(/overlapping IP fragment: the whole datagram is discarded/);
    }
    // The last one starts a new datagram, which never completes.
    expect(byN.get(4)!.reason).toMatch(/never completed: the capture ended/);
  });

  it("a datagram that never completes is dropped when its 30 s timer runs out, before the next packet's result", async () => {
    const f = fragmentIp(udp4(600), 256);
    const later = udp4(10, 53, 78);
    const { seen } = await run([f[0], f[1], later], { times: [0, 0.001, 31] });
    expect(seen.map((s) => s.n)).toEqual([1, 2, 3]);
    expect(seen[0].reason).toMatch(/reassembly timed out \(ipfrag_time 30 s\)/);
    expect(seen[2].verdict).toBe('accept');
  });

  it('packets after a held fragment wait for it: results come in capture order, each with the verdict and conntrack state of its own moment', async () => {
    const f = fragmentIp(udp4(600), 256);
    // A DNS query from another port, its answer, then the datagram's last fragment.
    const query = udp4(10, 53, 90);
    const answer = buildIpPacket({
      ip: { src: '10.2.0.1', dst: '10.1.0.2', id: 91 },
      udp: { sport: 53, dport: 40000, payload: 10 },
    } as PacketSpec);
    const blocked = udp4(10, 9999, 92);
    const { seen } = await run([f[0], query, answer, blocked, f[1], f[2]]);
    expect(seen.map((s) => `${s.n} ${s.verdict} ${s.fragOf}`)).toEqual([
      '1 accept 6',
      '2 accept 0',
      '3 accept 0',
      '4 drop 0',
      '5 accept 6',
      '6 accept 6',
    ]);
    // The answer was judged as a reply before the datagram (same ports) reached the table.
    expect(seen[2].reason).toMatch(
      /^accepted: reply in ESTABLISHED flow udp 10\.1\.0\.2:40000 -> 10\.2\.0\.1:53, opened at packet 2/,
    );
  });

  it(`at most ${MAX_WAITING} results wait behind a fragment that never completes; then it stops holding them back`, async () => {
    const f = fragmentIp(udp4(600), 256);
    const others = Array.from({ length: MAX_WAITING + 10 }, (_, i) => udp4(10, 53, 1000 + i));
    const { seen } = await run([f[0], ...others]);
    expect(seen).toHaveLength(MAX_WAITING + 11);
    // The first MAX_WAITING + 1 others came once the bound was passed, in order; the fragment last (capture end).
    expect(seen.slice(0, MAX_WAITING + 10).map((s) => s.n)).toEqual(others.map((_, i) => i + 2));
    expect(seen.at(-1)).toMatchObject({ n: 1, verdict: 'drop' });
    expect(seen.at(-1)!.reason).toMatch(/the capture ended/);
  });

  it('a TCP SYN cut into 8-byte fragments is reassembled and matched by port (kernel: ipv4-options-frags.pcap)', async () => {
    const syn = buildIpPacket({
      ip: { src: '10.1.0.2', dst: '10.2.0.1', id: 9 },
      tcp: { sport: 40014, dport: 8080, flags: 'S', seq: 1, options: { mss: 1460 } },
    } as PacketSpec);
    const f = fragmentIp(syn, 8);
    const { seen, flows } = await run(f);
    expect(seen.every((s) => s.verdict === 'accept')).toBe(true);
    expect(seen[0].reason).toMatch(/new tcp to port 8080 matches rule web/);
    expect(flows).toBe(1);
  });

  it('without connection tracking there is no reassembly: each fragment alone', async () => {
    const f = fragmentIp(udp4(600), 256);
    const { seen } = await run(f, { stateful: false });
    expect(seen.map((s) => [s.verdict, s.fragOf])).toEqual([
      ['accept', 0],
      ['drop', 0],
      ['drop', 0],
    ]);
  });
});

describe('IPv6 reassembly (nf_ct_frag6_gather)', () => {
  it('reassembles and judges the datagram (kernel: forwarded, refragmented)', async () => {
    const f = fragmentIp(udp6(1000), 256, 0x1234);
    const { seen } = await run(f);
    expect(seen).toHaveLength(f.length);
    expect(seen.every((s) => s.verdict === 'accept' && s.fragOf === f.length)).toBe(true);
  });

  it('an atomic fragment (offset 0, no more fragments) is judged at once, as the datagram without its fragment header (kernel: forwarded without it)', async () => {
    const [atomic] = fragmentIp(udp6(100), 4096, 7);
    expect(atomic[6]).toBe(44);
    const { seen } = await run([atomic]);
    expect(seen).toHaveLength(1);
    expect(seen[0].verdict).toBe('accept');
    expect(seen[0].reason).toMatch(/IPv6 atomic fragment/);
  });

  it('a non-last fragment that is not a multiple of 8 bytes discards the datagram and goes on alone (-EPROTO; kernel: the lone fragment is dropped as invalid)', async () => {
    const f = fragmentIp(udp6(1000), 256, 0x99);
    const cut = f[1].slice(0, f[1].length - 3);
    const plen = ((cut[4] << 8) | cut[5]) - 3;
    cut[4] = plen >> 8;
    cut[5] = plen & 0xff;
    const { seen } = await run([f[0], cut, f[2], f[3]]);
    const byN = new Map(seen.map((s) => [s.n, s]));
    expect(byN.get(1)!.reason).toMatch(/discarded when packet 2, a later fragment, was not a multiple of 8 bytes/);
    expect(byN.get(2)!.verdict).toBe('drop');
    expect(byN.get(2)!.reason).toMatch(/INVALID/);
  });

  it('a first fragment without the whole transport header is not reassembled: conntrack finds it invalid (RFC 8200 4.5)', async () => {
    const f = fragmentIp(udp6(100), 8, 0x42);
    // The first fragment of this cut carries the 8-byte UDP header: make the data 4 bytes.
    const head = f[0].slice(0, f[0].length - 4);
    const plen = ((head[4] << 8) | head[5]) - 4;
    head[4] = plen >> 8;
    head[5] = plen & 0xff;
    head[40 + 3] |= 1; // keep "more fragments"
    const { seen } = await run([head]);
    expect(seen[0].verdict).toBe('drop');
    expect(seen[0].reason).toMatch(/without the whole transport header/);
  });

  // Lone first fragments (the two cases above), judged outside judge(). Kernel
  // (Linux 6.x, test/kernel/lone-fragments.test.ts, and nft counters in a
  // namespace): conntrack marks them INVALID at PREROUTING; a router then
  // drops hop limit 1 with ICMPv6 time exceeded (Icmp6OutTimeExcds) before
  // the forward chain; a host that does not forward drops what is not its
  // own (Ip6InAddrErrors) with no input, forward or output chain seeing it.
  /** The first fragment of a 108-byte UDP datagram (UDP length 108), cut to `data` bytes after the fragment header, more fragments set. */
  const loneFirst = (
    data: number,
    o: { id: number; sport?: number; hop?: number; dst?: string; udpLen?: number },
  ): Uint8Array => {
    const ip = buildIpPacket({
      ip: { src: 'fd00:1::2', dst: o.dst ?? 'fd00:2::1', ttl: o.hop ?? 64 },
      udp: { sport: o.sport ?? 40000, dport: 53, payload: 100 },
    } as PacketSpec);
    const whole = fragmentIp(ip, 96, o.id)[0];
    expect([whole[6], whole[43] & 1, (whole[52] << 8) | whole[53]]).toEqual([44, 1, 108]); // fragment header, "more fragments", UDP length
    const f = whole.slice(0, 48 + data);
    f[4] = 0;
    f[5] = 8 + data; // payload length: fragment header and data
    if (o.udpLen !== undefined) {
      f[52] = o.udpLen >> 8;
      f[53] = o.udpLen & 0xff;
    }
    return f;
  };

  it('a lone fragment with hop limit 1 is time exceeded, not INVALID: a router drops it before the forward chain (kernel: ICMPv6 time exceeded)', async () => {
    const { seen } = await run([
      loneFirst(4, { id: 0x51, hop: 1 }),
      loneFirst(13, { id: 0x52, hop: 1 }),
      loneFirst(13, { id: 0x53, hop: 2 }),
    ]);
    expect(seen.map((s) => [s.verdict, s.cause])).toEqual([
      ['drop', Cause.TTL_EXPIRED],
      ['drop', Cause.TTL_EXPIRED],
      ['drop', Cause.INVALID],
    ]);
    expect(seen[0].reason).toMatch(/hop limit 1 expires here/);
  });

  it("host model: a lone fragment neither to nor from the host is not the host's to filter (kernel: no chain sees it)", async () => {
    const rules = 'host: fd00:2::99\npolicy: drop\nrules:\n  - id: dns\n    proto: udp\n    dport: 53\n';
    const { seen } = await run(
      [loneFirst(4, { id: 0x61 }), loneFirst(13, { id: 0x62 }), loneFirst(4, { id: 0x63, dst: 'fd00:2::99' })],
      { rules },
    );
    expect(seen.map((s) => [s.verdict, s.cause])).toEqual([
      ['skip', Cause.NOT_HOST],
      ['skip', Cause.NOT_HOST],
      ['drop', Cause.INVALID],
    ]);
    expect(seen[2].reason).toMatch(/without the whole transport header/);
  });

  it('a lone UDP first fragment is INVALID only if its UDP length field is below 8 or beyond it (udp_error; kernel: lengths 13 and 10 of 13 bytes forwarded as NEW flows)', async () => {
    const { seen, flows } = await run(
      [13, 10, 4, 108, 14].map((udpLen, i) => loneFirst(13, { id: 0x71 + i, sport: 40001 + i, udpLen })),
    );
    expect(seen.map((s) => [s.verdict, s.cause])).toEqual([
      ['accept', Cause.RULE],
      ['accept', Cause.RULE],
      ['drop', Cause.INVALID],
      ['drop', Cause.INVALID],
      ['drop', Cause.INVALID],
    ]);
    expect(seen[0].reason).toMatch(/new udp to port 53 matches rule dns/);
    expect(seen[2].reason).toMatch(/UDP length field \(4\)/);
    expect(flows).toBe(2);
  });
});
