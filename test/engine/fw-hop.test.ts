/**
 * The TTL / hop-limit condition (`hop_limit:`, nft `ip ttl` / `ip6
 * hoplimit`) in the walk. Expected outcomes are worked out by hand from the
 * kernel: nft_payload reads the header as the hook sees it; ip_forward and
 * ip6_forward drop a packet whose TTL is 1 or less (ICMP time exceeded)
 * and decrement the TTL of the others before NF_HOOK(FORWARD), so forward
 * and postrouting see one less than prerouting did; input sees it as it
 * arrived. test/kernel/fw-hop.test.ts runs the same rules against the kernel.
 */
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { rawRecord } from '../support/raw-record.js';
import { causeName } from '../../src/engine/result.js';
import { decodePacket, newDecodedPacket } from '../../src/packet/decode.js';
import { buildIpPacket, type PacketSpec } from '../../src/packet/encode.js';
import { parseRuleSet } from '../../src/rules/load.js';

const rec = (ip: Uint8Array, n: number) => rawRecord(ip, n, n * 1e-6);

/** Each packet judged on its own (a fresh engine: no conntrack entry from the one before). */
function judge(yaml: string, packets: PacketSpec[]): { verdict: string; cause: string; rule: string | null }[] {
  const { ruleset } = parseRuleSet(yaml, 'fw.yaml');
  return packets.map((spec, i) => {
    const engine = new Engine(ruleset);
    const r0 = rec(buildIpPacket(spec), i + 1);
    const p = decodePacket(r0.buf, 0, r0.caplen, r0.linkType, r0.direction, newDecodedPacket(), r0.len);
    const r = engine.process(r0, p)!;
    return { verdict: r.verdict, cause: causeName(r.cause), rule: r.fwRule?.id ?? null };
  });
}

const udp = (src: string, dst: string, ttl: number): PacketSpec =>
  ({ ip: { src, dst, ttl }, udp: { sport: 40000, dport: 53 } }) as PacketSpec;
const nd = (src: string, dst: string, ttl: number): PacketSpec =>
  ({ ip: { src, dst, ttl }, icmpv6: { type: 135, code: 0 } }) as PacketSpec;

const IFACES = `
interfaces:
  lan0: { addresses: [192.168.1.1/24, "fd00:1::1/64"] }
  wan0: { addresses: [203.0.113.1/24, "2001:db8:1::1/64"], default: true }
`;

describe('input: the hop limit as the packet arrived', () => {
  const yaml = `${IFACES}
chains:
  input:
    hook: input
    policy: drop
    rules:
      - { id: nd, proto: icmpv6, type: 135, hop_limit: 255, action: accept }
      - { id: low, family: ipv4, hop_limit: "< 5", action: accept }
`;
  const out = judge(yaml, [
    nd('fe80::2', 'fd00:1::1', 255),
    nd('fe80::2', 'fd00:1::1', 254),
    udp('192.168.1.10', '192.168.1.1', 4),
    udp('192.168.1.10', '192.168.1.1', 5),
    udp('fd00:1::10', 'fd00:1::1', 4),
  ]);
  it('ip6 hoplimit 255 accepts neighbour solicitation sent with 255, not with 254', () => {
    expect(out[0]).toMatchObject({ verdict: 'accept', rule: 'nd' });
    expect(out[1]).toMatchObject({ verdict: 'drop', cause: 'policy' });
  });
  it('ip ttl < 5 is 0-4, for IPv4 only', () => {
    expect(out[2]).toMatchObject({ verdict: 'accept', rule: 'low' });
    expect(out[3]).toMatchObject({ verdict: 'drop', cause: 'policy' });
    expect(out[4]).toMatchObject({ verdict: 'drop', cause: 'policy' });
  });
});

describe('forwarding: prerouting sees the TTL as it arrived, forward and postrouting one less', () => {
  const yaml = `${IFACES}
chains:
  pre:
    hook: prerouting
    rules:
      - { id: pre-9, family: ipv4, hop_limit: 9, action: drop }
  forward:
    hook: forward
    rules:
      - { id: fwd-63, family: ipv4, hop_limit: 63, action: drop }
  post:
    hook: postrouting
    rules:
      - { id: post-not-19, family: ipv6, hop_limit: "!= 19", action: drop }
`;
  const out = judge(yaml, [
    udp('192.168.1.10', '198.51.100.1', 64),
    udp('192.168.1.10', '198.51.100.1', 63),
    udp('192.168.1.10', '198.51.100.1', 9),
    udp('192.168.1.10', '198.51.100.1', 10),
    udp('fd00:1::10', '2001:db8:9::1', 20),
    udp('fd00:1::10', '2001:db8:9::1', 19),
    udp('192.168.1.10', '198.51.100.1', 1),
  ]);
  it('forward matches 63 for a packet that arrived with 64, not one that arrived with 63', () => {
    expect(out[0]).toMatchObject({ verdict: 'drop', rule: 'fwd-63' });
    expect(out[1]).toMatchObject({ verdict: 'accept' });
  });
  it('prerouting matches the TTL as it arrived', () => {
    expect(out[2]).toMatchObject({ verdict: 'drop', rule: 'pre-9' });
    expect(out[3]).toMatchObject({ verdict: 'accept' });
  });
  it('postrouting sees the decremented hop limit (arrived 20: 19 passes != 19)', () => {
    expect(out[4]).toMatchObject({ verdict: 'accept' });
    expect(out[5]).toMatchObject({ verdict: 'drop', rule: 'post-not-19' });
  });
  it('a packet with TTL 1 never reaches forward: time exceeded', () => {
    expect(out[6]).toMatchObject({ verdict: 'drop', cause: 'ttl-expired' });
  });
});

describe('ranges, in either header', () => {
  const yaml = `${IFACES}
chains:
  forward:
    hook: forward
    policy: drop
    rules:
      - { id: mid, family: ipv4, hop_limit: "10-20", action: accept }
      - { id: mid6, family: ipv6, hop_limit: "10-20", action: accept }
      - { id: not-mid, family: ipv6, hop_limit: "!= 30-40", action: accept }
`;
  const out = judge(yaml, [
    udp('192.168.1.10', '198.51.100.1', 11),
    udp('192.168.1.10', '198.51.100.1', 21),
    udp('192.168.1.10', '198.51.100.1', 22),
    udp('fd00:1::10', '2001:db8:9::1', 21),
    udp('fd00:1::10', '2001:db8:9::1', 31),
    udp('fd00:1::10', '2001:db8:9::1', 41),
    udp('fd00:1::10', '2001:db8:9::1', 42),
  ]);
  it('10-20 holds for 10 and 20 as forward sees them (11 and 21 arriving), not 21', () => {
    expect(out[0]).toMatchObject({ verdict: 'accept', rule: 'mid' });
    expect(out[1]).toMatchObject({ verdict: 'accept', rule: 'mid' });
    expect(out[2]).toMatchObject({ verdict: 'drop', cause: 'policy' });
    expect(out[3]).toMatchObject({ verdict: 'accept', rule: 'mid6' });
  });
  it('!= 30-40 holds outside the range only', () => {
    expect(out[4]).toMatchObject({ verdict: 'drop', cause: 'policy' });
    expect(out[5]).toMatchObject({ verdict: 'drop', cause: 'policy' });
    expect(out[6]).toMatchObject({ verdict: 'accept', rule: 'not-mid' });
  });
});
