/**
 * The real home-router capture (scripts/make-home-router-capture.sh): a
 * real Linux router running fixtures/home-router.nft (the nft form of
 * rules/home-router.yaml), captured on both its legs at once
 * (fixtures/home-router.pcapng). What the router sent out is in the capture
 * and its conntrack table in fixtures/home-router.conntrack: that is the
 * truth fwemu must reproduce from what came in, with the rule file alone.
 * (test/kernel/home-router.test.ts holds the kernel oracle to the same
 * truth.)
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../src/capture/read.js';
import { copyRecord } from '../../src/capture/copy.js';
import type { CaptureRecord } from '../../src/capture/types.js';
import { replay } from '../../src/engine/replay.js';
import { causeName } from '../../src/engine/result.js';
import { formatAddr } from '../../src/packet/addr.js';
import { decodePacket, newDecodedPacket } from '../../src/packet/decode.js';
import { IpProto, isPortProto, type DecodedPacket } from '../../src/packet/types.js';
import { formatConntrackEntry } from '../../src/report/conntrack-list.js';

const CAPTURE = 'fixtures/home-router.pcapng';
const RULES = 'rules/home-router.yaml';

function wire(p: DecodedPacket): string {
  const s = formatAddr(p.ipVersion, p.src0, p.src1, p.src2, p.src3);
  const d = formatAddr(p.ipVersion, p.dst0, p.dst1, p.dst2, p.dst3);
  if (isPortProto(p.proto)) return `${s}:${p.sport} > ${d}:${p.dport}`;
  return `${s} > ${d}${p.proto === IpProto.ICMP || p.proto === IpProto.ICMPV6 ? ` id ${p.icmpId}` : ''}`;
}

/** What identifies a packet across NAT: the IPv4 id or IPv6 flow label, protocol, TCP seq/ack, ICMP seq, length. */
function signature(p: DecodedPacket): string {
  return [p.ipVersion, p.ipId, p.proto, p.seq, p.ack, p.icmpSeq, p.payloadLen, p.tcpFlags].join('/');
}

interface Seen {
  n: number;
  ifName: string;
  p: DecodedPacket;
}

describe('the real home-router capture, replayed with rules/home-router.yaml', async () => {
  const records: Seen[] = [];
  await readCapture(CAPTURE, (rec: CaptureRecord) => {
    const c = copyRecord(rec);
    records.push({
      n: rec.n,
      ifName: rec.ifName,
      p: decodePacket(c.buf, 0, c.caplen, c.linkType, c.direction, newDecodedPacket(), c.len),
    });
  });
  const results: {
    n: number;
    verdict: string;
    cause: string;
    iif: string | null;
    oif: string | null;
    egress: string;
  }[] = [];
  const summary = await replay({
    rules: RULES,
    source: CAPTURE,
    onPacket: (r, p) => {
      results.push({
        n: r.n,
        verdict: r.verdict,
        cause: causeName(r.cause),
        iif: r.iif,
        oif: r.oif,
        egress: wire(r.egress ?? p),
      });
    },
  });
  const byN = new Map(results.map((r) => [r.n, r]));
  const judged = results.filter((r) => r.cause !== 'outgoing');
  const copies = records.filter((s) => byN.get(s.n)?.cause === 'outgoing');

  it('every packet is judged once: what came in on either leg; what the router sent out is recognised as such', () => {
    expect(judged.length + copies.length).toBe(records.length);
    expect(judged.length).toBeGreaterThan(20);
    // A copy that went out on a leg is never from a host on that leg.
    for (const c of copies) expect(byN.get(c.n)?.oif).toBe(c.ifName);
  });

  it('each forwarded packet leaves by the leg, with the addresses and ports, that the router used', () => {
    let forwarded = 0;
    for (const r of judged) {
      if (r.verdict !== 'accept' || r.oif === null) continue;
      const mine = records.find((s) => s.n === r.n)!;
      // The router's copy: same signature, on another leg, sent out.
      const copy = copies.find((c) => signature(c.p) === signature(mine.p) && c.ifName !== mine.ifName);
      if (mine.p.ipVersion === 6 && r.iif === null) continue; // the router's own IPv6 answers are not forwarded
      expect(copy, `packet ${r.n} ${wire(mine.p)}: no copy went out`).toBeDefined();
      expect(`${r.oif} ${r.egress}`, `packet ${r.n}`).toBe(`${copy!.ifName} ${wire(copy!.p)}`);
      forwarded++;
    }
    expect(forwarded).toBeGreaterThan(15);
  });

  it('what the router dropped left no copy, and fwemu drops it too', () => {
    const dropped = judged.filter((r) => r.verdict !== 'accept');
    expect(dropped.map((r) => `${r.n} ${r.cause}`)).toEqual(['39 policy']); // the SSH SYN from the WAN
    const ssh = records.find((s) => s.n === 39)!;
    expect(copies.some((c) => signature(c.p) === signature(ssh.p))).toBe(false);
  });

  it("the conntrack table holds the real router's entries (tuples, states, flags; the seconds left differ by when -L ran)", () => {
    const engine = summary.engine;
    const strip = (l: string) =>
      l
        .replace(/^(\S+\s+\d+) \d+ /, '$1 ')
        .replace(/\s+/g, ' ')
        .trim();
    const mine = engine
      .ct!.entries(engine.now)
      .map((e) => strip(formatConntrackEntry(e, engine.now)))
      .sort();
    const real = readFileSync('fixtures/home-router.conntrack', 'utf8').trim().split('\n').map(strip).sort();
    expect(mine).toEqual(real);
  });
});
