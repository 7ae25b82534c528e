/**
 * rewriteLeaving (packet/nat-rewrite.ts): a frame rewritten with other
 * addresses, ports or echo id must be byte for byte the frame the encoder
 * builds from scratch with those values (buildPacket computes every
 * checksum anew), and a wrong checksum must stay wrong by the same amount.
 */
import { describe, expect, it } from 'vitest';
import { Direction, LinkType } from '../../src/capture/types.js';
import { decodePacket, newDecodedPacket } from '../../src/packet/decode.js';
import { buildIpPacket, type PacketSpec } from '../../src/packet/encode.js';
import { rewriteLeaving } from '../../src/packet/nat-rewrite.js';
import type { DecodedPacket } from '../../src/packet/types.js';

function decode(b: Uint8Array): DecodedPacket {
  return decodePacket(b, 0, b.length, LinkType.RAW, Direction.UNKNOWN, newDecodedPacket(), b.length);
}

/** Rewrite `from` as the decoding of `to` says it leaves; the result must equal `to`'s bytes. */
function check(from: PacketSpec, to: PacketSpec): void {
  const a = buildIpPacket(from);
  const b = buildIpPacket(to);
  const out = rewriteLeaving(a, 0, a.length, decode(a), decode(b));
  expect(Buffer.from(out).toString('hex')).toBe(Buffer.from(b).toString('hex'));
}

const data = Uint8Array.from({ length: 37 }, (_, i) => (i * 7 + 3) & 255);

describe('rewriteLeaving: as if built anew', () => {
  it('IPv4 TCP: masquerade (source address and port)', () => {
    check(
      {
        ip: { src: '192.168.1.10', dst: '198.51.100.10', id: 5 },
        tcp: { sport: 40000, dport: 80, flags: 'PA', seq: 9, ack: 7, payload: data },
      } as PacketSpec,
      {
        ip: { src: '203.0.113.1', dst: '198.51.100.10', id: 5 },
        tcp: { sport: 40001, dport: 80, flags: 'PA', seq: 9, ack: 7, payload: data },
      } as PacketSpec,
    );
  });

  it('IPv4 UDP: DNAT (destination address and port)', () => {
    check(
      {
        ip: { src: '198.51.100.20', dst: '203.0.113.1' },
        udp: { sport: 5353, dport: 8053, payload: data },
      } as PacketSpec,
      {
        ip: { src: '198.51.100.20', dst: '192.168.1.10' },
        udp: { sport: 5353, dport: 53, payload: data },
      } as PacketSpec,
    );
  });

  it('IPv4 UDP without a checksum keeps none', () => {
    check(
      {
        ip: { src: '192.168.1.10', dst: '198.51.100.10' },
        udp: { sport: 1, dport: 2, payload: data, checksum: false },
      } as PacketSpec,
      {
        ip: { src: '203.0.113.1', dst: '198.51.100.10' },
        udp: { sport: 1, dport: 2, payload: data, checksum: false },
      } as PacketSpec,
    );
  });

  it('ICMP echo: the id', () => {
    check(
      {
        ip: { src: '192.168.1.10', dst: '198.51.100.10' },
        icmp: { type: 8, id: 77, seq: 3, payload: data },
      } as PacketSpec,
      {
        ip: { src: '203.0.113.1', dst: '198.51.100.10' },
        icmp: { type: 8, id: 78, seq: 3, payload: data },
      } as PacketSpec,
    );
  });

  it('IPv6 TCP and ICMPv6 echo (their checksums cover the addresses)', () => {
    check(
      {
        ip: { src: 'fd00:1::10', dst: '2001:db8::1' },
        tcp: { sport: 1000, dport: 443, flags: 'S', seq: 1 },
      } as PacketSpec,
      {
        ip: { src: '2001:db8:ffff::1', dst: '2001:db8::1' },
        tcp: { sport: 1000, dport: 443, flags: 'S', seq: 1 },
      } as PacketSpec,
    );
    check(
      {
        ip: { src: 'fd00:1::10', dst: '2001:db8::1' },
        icmpv6: { type: 128, id: 5, seq: 1, payload: data },
      } as PacketSpec,
      {
        ip: { src: '2001:db8:ffff::1', dst: '2001:db8::1' },
        icmpv6: { type: 128, id: 6, seq: 1, payload: data },
      } as PacketSpec,
    );
  });

  it('an ICMP error about a masqueraded flow: outer destination and the quoted packet translated back', () => {
    const quoteAs = (src: string, sport: number) =>
      buildIpPacket({
        ip: { src, dst: '198.51.100.10', id: 9 },
        udp: { sport, dport: 53, payload: data },
      } as PacketSpec);
    check(
      {
        ip: { src: '198.51.100.10', dst: '203.0.113.1' },
        icmp: { type: 3, code: 3, quote: quoteAs('203.0.113.1', 40001) },
      } as PacketSpec,
      {
        ip: { src: '198.51.100.10', dst: '192.168.1.10' },
        icmp: { type: 3, code: 3, quote: quoteAs('192.168.1.10', 33000) },
      } as PacketSpec,
    );
  });
});

describe('rewriteLeaving: checksums are adjusted, not recomputed', () => {
  it('a TCP checksum off by one stays off by one', () => {
    const spec = (src: string, csum?: number) =>
      ({
        ip: { src, dst: '198.51.100.10' },
        tcp: { sport: 40000, dport: 80, flags: 'S', seq: 1, checksumOverride: csum },
      }) as PacketSpec;
    const good = buildIpPacket(spec('192.168.1.10'));
    const sum = (good[20 + 16] << 8) | good[20 + 17];
    const bad = buildIpPacket(spec('192.168.1.10', (sum + 1) & 0xffff));
    const want = buildIpPacket(spec('203.0.113.1'));
    const wantSum = (want[20 + 16] << 8) | want[20 + 17];
    const out = rewriteLeaving(bad, 0, bad.length, decode(bad), decode(want));
    expect((out[20 + 16] << 8) | out[20 + 17]).toBe((wantSum + 1) & 0xffff);
  });

  it('a frame cut short by the snaplen: the bytes there are rewritten, the checksum still adjusted', () => {
    const full = buildIpPacket({
      ip: { src: '192.168.1.10', dst: '198.51.100.10' },
      tcp: { sport: 40000, dport: 80, flags: 'PA', seq: 1, payload: data },
    } as PacketSpec);
    const want = buildIpPacket({
      ip: { src: '203.0.113.1', dst: '198.51.100.10' },
      tcp: { sport: 40000, dport: 80, flags: 'PA', seq: 1, payload: data },
    } as PacketSpec);
    const cut = full.slice(0, 54);
    const p = decodePacket(cut, 0, cut.length, LinkType.RAW, Direction.UNKNOWN, newDecodedPacket(), full.length);
    const out = rewriteLeaving(cut, 0, cut.length, p, decode(want));
    expect(Buffer.from(out).toString('hex')).toBe(Buffer.from(want.slice(0, 54)).toString('hex'));
  });
});
