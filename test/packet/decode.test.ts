/**
 * decodePacket on hand-written frames. Expected values are read off the hex
 * by hand (hex literals in expectations are the bytes as written), never
 * taken from the decoder's own output.
 */
import { describe, expect, it } from 'vitest';
import { Direction, LinkType } from '../../src/capture/types.js';
import { decodePacket, newDecodedPacket } from '../../src/packet/decode.js';
import { PacketKind, type DecodedPacket } from '../../src/packet/types.js';
import { hex } from './helpers.js';

function dec(
  bytes: Uint8Array,
  linkType: number,
  direction: number = Direction.UNKNOWN,
  out = newDecodedPacket(),
): DecodedPacket {
  return decodePacket(bytes, 0, bytes.length, linkType, direction, out);
}

// Ethernet, IPv4, TCP SYN with MSS 1460, SACK-permitted, timestamps, NOP, window scale 7.
const ETH = `
  525400123502 080027a1b2c3 0800              # dst, src, IPv4
`;
const IPV4_TCP_SYN = `
  45 00 003c 1c46 4000 40 06 0000           # IHL 5, total 60, id 0x1c46, DF, ttl 64, TCP
  c0a80164 5db8d822                         # 192.168.1.100 -> 93.184.216.34
  d431 0050 9a3b7c11 00000000               # 54321 -> 80, seq, ack 0
  a0 02 faf0 0000 0000                      # doff 10 (40 bytes), SYN, win 64240
  020405b4 0402 080a0001e24000000000 01 030307   # MSS 1460, SACK-perm, TS 123456/0, NOP, WS 7
`;
const SYN_FRAME = hex(ETH + IPV4_TCP_SYN);

describe('Ethernet / IPv4 / TCP', () => {
  it('decodes a SYN with all the usual options', () => {
    const p = dec(SYN_FRAME, LinkType.ETHERNET);
    expect(p.kind).toBe(PacketKind.IP);
    expect(p.error).toBe('');
    expect(p.etherType).toBe(0x0800);
    expect(p.macOff).toBe(0);
    expect(p.vlanOuter).toBe(-1);
    expect(p.ipVersion).toBe(4);
    expect(p.ipOff).toBe(14);
    expect(p.ipHeaderLen).toBe(20);
    expect(p.ipTotalLen).toBe(60);
    expect(p.ipId).toBe(0x1c46);
    expect(p.dontFragment).toBe(true);
    expect(p.isFragment).toBe(false);
    expect(p.ttl).toBe(64);
    expect(p.proto).toBe(6);
    expect(p.src0).toBe(0xc0a80164);
    expect(p.dst0).toBe(0x5db8d822);
    expect([p.src1, p.src2, p.src3, p.dst1, p.dst2, p.dst3]).toEqual([0, 0, 0, 0, 0, 0]);
    expect(p.l4Off).toBe(34);
    expect(p.l4Len).toBe(40);
    expect(p.sport).toBe(54321);
    expect(p.dport).toBe(80);
    expect(p.seq).toBe(0x9a3b7c11);
    expect(p.ack).toBe(0);
    expect(p.tcpFlags).toBe(0x02);
    expect(p.window).toBe(64240);
    expect(p.tcpHeaderLen).toBe(40);
    expect(p.payloadLen).toBe(0);
    expect(p.mss).toBe(1460);
    expect(p.sackPermitted).toBe(true);
    expect(p.hasTimestamp).toBe(true);
    expect(p.tsVal).toBe(123456);
    expect(p.tsEcr).toBe(0);
    expect(p.wscale).toBe(7);
    expect(p.sackMaxRight).toBe(-1);
    expect(p.snapTruncated).toBe(false);
    expect(p.icmpType).toBe(-1);
  });

  it('decodes at a non-zero offset inside a larger buffer and ignores Ethernet padding', () => {
    // A 40-byte IPv4/TCP RST-ACK padded to the 60-byte Ethernet minimum, placed at offset 7.
    const frame = hex(`
      ${ETH}
      45000028 0001 0000 ff06 0000 0a000001 0a000002
      0050 d431 00000001 9a3b7c12 50 14 0000 0000 0000
      000000000000                               # 6 bytes of Ethernet padding
    `);
    expect(frame.length).toBe(60);
    const buf = new Uint8Array(100).fill(0xee);
    buf.set(frame, 7);
    const p = decodePacket(buf, 7, 60, LinkType.ETHERNET, Direction.UNKNOWN, newDecodedPacket());
    expect(p.kind).toBe(PacketKind.IP);
    expect(p.macOff).toBe(7);
    expect(p.ipOff).toBe(21);
    expect(p.l4Off).toBe(41);
    expect(p.l4Len).toBe(20); // padding is not part of the IP packet
    expect(p.tcpFlags).toBe(0x14);
    expect(p.seq).toBe(1);
    expect(p.ack).toBe(0x9a3b7c12);
    expect(p.payloadLen).toBe(0);
    expect(p.ttl).toBe(255);
    expect(p.dontFragment).toBe(false);
    expect(p.snapTruncated).toBe(false);
  });

  it('parses timestamps and SACK blocks; sackMaxRight follows netfilter tcp_sack()', () => {
    const frame = (ack: string, blocks: string, optLenHex: string, doffHex: string) =>
      hex(`
      ${ETH}
      45 00 ${((20 + 20 + 12 + 2 + blocks.replace(/\s/g, '').length / 2 + 2) as number).toString(16).padStart(4, '0')}
      0000 0000 40 06 0000 0a000001 0a000002
      1f90 c350 00000100 ${ack} ${doffHex} 10 0200 0000 0000
      0101 080a 0000000a 0000000b            # NOP NOP TS 10/11
      0101 05 ${optLenHex} ${blocks}        # NOP NOP SACK
    `);
    // ack 0x1000; blocks [0x2000,0x3000] [0x4000,0x5000]: doff 5 + (12+20)/4 = 13.
    let p = dec(frame('00001000', '00002000 00003000 00004000 00005000', '12', 'd0'), LinkType.ETHERNET);
    expect(p.kind).toBe(PacketKind.IP);
    expect(p.tcpHeaderLen).toBe(52);
    expect(p.hasTimestamp).toBe(true);
    expect(p.tsVal).toBe(10);
    expect(p.tsEcr).toBe(11);
    expect(p.sackMaxRight).toBe(0x5000);
    expect(p.payloadLen).toBe(0);
    // Wrap-around: ack 0xfffffff0; right edges 0xfffffff8 and 0x00000010 (after it, across the wrap).
    p = dec(frame('fffffff0', 'fffffff4 fffffff8 00000008 00000010', '12', 'd0'), LinkType.ETHERNET);
    expect(p.sackMaxRight).toBe(0x10);
    // A D-SACK block entirely below ack: netfilter keeps ack.
    p = dec(frame('00005000', '00001000 00002000', '0a', 'b0'), LinkType.ETHERNET);
    expect(p.tcpHeaderLen).toBe(44);
    expect(p.sackMaxRight).toBe(0x5000);
  });

  it('stops option parsing at a malformed option length without failing the packet', () => {
    // Options: NOP, "silly" option kind 30 length 1, then an MSS that must not be seen.
    const silly = hex(`${ETH}
      45000030 0000 0000 4006 0000 0a000001 0a000002
      1f90 c350 00000100 00000000 70 02 0200 0000 0000
      01 1e01 00 020405b4`);
    let p = dec(silly, LinkType.ETHERNET);
    expect(p.kind).toBe(PacketKind.IP);
    expect(p.tcpHeaderLen).toBe(28);
    expect(p.mss).toBe(-1);
    // An option claiming more bytes than the header has left: WS seen before it, MSS never.
    const overrun = hex(`${ETH}
      45000030 0000 0000 4006 0000 0a000001 0a000002
      1f90 c350 00000100 00000000 70 02 0200 0000 0000
      030302 0208 05b4 00`);
    p = dec(overrun, LinkType.ETHERNET);
    expect(p.kind).toBe(PacketKind.IP);
    expect(p.wscale).toBe(2);
    expect(p.mss).toBe(-1);
    // EOL ends the list: the MSS after it is not an option.
    const eol = hex(`${ETH}
      45000030 0000 0000 4006 0000 0a000001 0a000002
      1f90 c350 00000100 00000000 70 02 0200 0000 0000
      00 020405b4 000000`);
    p = dec(eol, LinkType.ETHERNET);
    expect(p.mss).toBe(-1);
  });

  it('computes the TCP payload length from the IP length, not the capture', () => {
    // total 20 + 20 + 100 = 140 (0x8c), but only 10 payload bytes captured.
    const f = hex(`${ETH}
      4500008c 0000 4000 4006 0000 0a000001 0a000002
      1f90 c350 00000100 00000200 50 18 0200 0000 0000
      00112233445566778899`);
    const p = dec(f, LinkType.ETHERNET);
    expect(p.kind).toBe(PacketKind.IP);
    expect(p.payloadLen).toBe(100);
    expect(p.l4Len).toBe(30);
    expect(p.snapTruncated).toBe(true);
    expect(p.tcpFlags).toBe(0x18);
  });
});

describe('VLAN tags', () => {
  it('802.1Q single tag, IPv4/UDP', () => {
    const f = hex(`
      001122334455 66778899aabb 8100 0064 0800    # VLAN 100
      45 00 0026 abcd 0000 80 11 0000 0a000005 08080808
      c350 0035 0012 0000                          # 50000 -> 53, UDP length 18
      00010203040506070809
    `);
    const p = dec(f, LinkType.ETHERNET);
    expect(p.kind).toBe(PacketKind.IP);
    expect(p.vlanOuter).toBe(100);
    expect(p.vlanInner).toBe(-1);
    expect(p.etherType).toBe(0x0800);
    expect(p.ipOff).toBe(18);
    expect(p.ipId).toBe(0xabcd);
    expect(p.ttl).toBe(128);
    expect(p.proto).toBe(17);
    expect(p.sport).toBe(50000);
    expect(p.dport).toBe(53);
    expect(p.payloadLen).toBe(10);
    expect(p.note).toBe('');
  });

  it('QinQ (0x88a8 outer with PCP bits, 0x8100 inner), IPv6/ICMPv6 echo request', () => {
    const f = hex(`
      001122334455 66778899aabb
      88a8 20c8            # PCP 1, VID 200
      8100 000a            # VID 10
      86dd
      60000000 0010 3a 40
      20010db8000000000000000000000001
      20010db8000000000000000000000002
      80 00 0000 1234 0007 0001020304050607
    `);
    const p = dec(f, LinkType.ETHERNET);
    expect(p.kind).toBe(PacketKind.IP);
    expect(p.vlanOuter).toBe(200);
    expect(p.vlanInner).toBe(10);
    expect(p.etherType).toBe(0x86dd);
    expect(p.ipOff).toBe(22);
    expect(p.ipVersion).toBe(6);
    expect(p.ipTotalLen).toBe(56);
    expect(p.ipHeaderLen).toBe(40);
    expect(p.ttl).toBe(64);
    expect([p.src0, p.src1, p.src2, p.src3]).toEqual([0x20010db8, 0, 0, 1]);
    expect([p.dst0, p.dst1, p.dst2, p.dst3]).toEqual([0x20010db8, 0, 0, 2]);
    expect(p.proto).toBe(58);
    expect(p.icmpType).toBe(128);
    expect(p.icmpCode).toBe(0);
    expect(p.icmpId).toBe(0x1234);
    expect(p.icmpSeq).toBe(7);
    expect(p.payloadLen).toBe(8);
    expect(p.sport).toBe(0);
  });

  it('0x9100 outer tag works too', () => {
    const f = hex(`001122334455 66778899aabb 9100 0005 8100 0006 0806 0001080006040001`);
    const p = dec(f, LinkType.ETHERNET);
    expect(p.kind).toBe(PacketKind.NON_IP);
    expect(p.l2Name).toBe('ARP');
    expect(p.vlanOuter).toBe(5);
    expect(p.vlanInner).toBe(6);
  });

  it('a cut VLAN tag is malformed', () => {
    const f = hex(`001122334455 66778899aabb 8100 00`);
    const p = dec(f, LinkType.ETHERNET);
    expect(p.kind).toBe(PacketKind.MALFORMED);
    expect(p.error).toMatch(/VLAN tag truncated/);
  });
});

describe('non-IP Ethernet', () => {
  it('ARP request', () => {
    const f = hex(`
      ffffffffffff 080027a1b2c3 0806
      0001 0800 06 04 0001 080027a1b2c3 c0a80164 000000000000 c0a80101
    `);
    const p = dec(f, LinkType.ETHERNET);
    expect(p.kind).toBe(PacketKind.NON_IP);
    expect(p.l2Name).toBe('ARP');
    expect(p.etherType).toBe(0x0806);
    expect(p.ipVersion).toBe(0);
    expect(p.error).toBe('');
  });

  it('LLDP and an unnamed ethertype', () => {
    const lldp = hex(`0180c200000e 080027a1b2c3 88cc 0207 04080027a1b2c3 0403 0565 7468 0000`);
    let p = dec(lldp, LinkType.ETHERNET);
    expect(p.kind).toBe(PacketKind.NON_IP);
    expect(p.l2Name).toBe('LLDP');
    expect(p.etherType).toBe(0x88cc);
    const local = hex(`ffffffffffff 080027a1b2c3 88b5 00000000`);
    p = dec(local, LinkType.ETHERNET);
    expect(p.kind).toBe(PacketKind.NON_IP);
    expect(p.l2Name).toBe('ethertype 0x88b5');
    const llc = hex(`0180c2000000 080027a1b2c3 0026 424203 0000`);
    p = dec(llc, LinkType.ETHERNET);
    expect(p.kind).toBe(PacketKind.NON_IP);
    expect(p.l2Name).toMatch(/802\.3/);
  });
});

describe('IPv4 details', () => {
  it('IPv4 with options (IHL 7) on a raw-IP link', () => {
    const f = hex(`
      47 00 002c 0001 0000 01 11 0000 c0000201 e00000fb
      94040000 01010100                 # Router Alert, NOP NOP NOP EOL
      14e9 14e9 0010 0000 0001020304050607
    `);
    const p = dec(f, LinkType.RAW);
    expect(p.kind).toBe(PacketKind.IP);
    expect(p.macOff).toBe(-1);
    expect(p.etherType).toBe(0);
    expect(p.ipOff).toBe(0);
    expect(p.ipHeaderLen).toBe(28);
    expect(p.ipTotalLen).toBe(44);
    expect(p.ttl).toBe(1);
    expect(p.src0).toBe(0xc0000201);
    expect(p.dst0).toBe(0xe00000fb);
    expect(p.l4Off).toBe(28);
    expect(p.sport).toBe(5353);
    expect(p.dport).toBe(5353);
    expect(p.payloadLen).toBe(8);
  });

  it("first fragment (MF, offset 0) keeps ports; payload is this fragment's share", () => {
    const f = hex(`
      45 00 002c 4242 2000 40 11 0000 0a000001 0a000002    # MF, offset 0, total 44
      d431 1f90 0030 0000                                  # UDP length 48 (whole datagram)
      00000000000000000000000000000000
    `);
    const p = dec(f, LinkType.IPV4);
    expect(p.kind).toBe(PacketKind.IP);
    expect(p.isFragment).toBe(true);
    expect(p.moreFragments).toBe(true);
    expect(p.fragOffset).toBe(0);
    expect(p.ipId).toBe(0x4242);
    expect(p.l4Off).toBe(20);
    expect(p.sport).toBe(54321);
    expect(p.dport).toBe(8080);
    expect(p.payloadLen).toBe(16);
    expect(p.note).toBe('');
  });

  it('non-first fragment: no transport header, still kind IP', () => {
    const f = hex(`
      45 00 002c 4242 0003 40 11 0000 0a000001 0a000002    # offset 3*8 = 24, last fragment
      d431 1f90 0030 0000 00000000000000000000000000000000 # looks like ports, but is data
    `);
    const p = dec(f, LinkType.IPV4);
    expect(p.kind).toBe(PacketKind.IP);
    expect(p.isFragment).toBe(true);
    expect(p.moreFragments).toBe(false);
    expect(p.fragOffset).toBe(24);
    expect(p.proto).toBe(17);
    expect(p.l4Off).toBe(-1);
    expect(p.l4Len).toBe(0);
    expect(p.sport).toBe(0);
    expect(p.dport).toBe(0);
  });

  it('UDP length inconsistent with the IP length: IP length used, noted', () => {
    const f = hex(`45000024 0000 0000 4011 0000 0a000001 0a000002 0035 0035 0064 0000 01020304 05060708`);
    const p = dec(f, LinkType.RAW);
    expect(p.kind).toBe(PacketKind.IP);
    expect(p.payloadLen).toBe(8);
    expect(p.note).not.toBe('');
  });

  it('other protocols: proto set, no ports', () => {
    const gre = hex(`45000020 0000 0000 402f 0000 0a000001 0a000002 00000800 45000000 0000 0000`);
    const p = dec(gre, LinkType.RAW);
    expect(p.kind).toBe(PacketKind.IP);
    expect(p.proto).toBe(47);
    expect(p.l4Off).toBe(20);
    expect(p.l4Len).toBe(12);
    expect(p.sport).toBe(0);
    expect(p.icmpType).toBe(-1);
  });

  it('header errors', () => {
    const ihl3 = hex(`43000014 0000 0000 4006 0000 0a000001 0a000002`);
    expect(dec(ihl3, LinkType.RAW).error).toBe('IPv4 header length 12 below the 20-byte minimum');
    const tlShort = hex(`45000010 0000 0000 4006 0000 0a000001 0a000002`);
    expect(dec(tlShort, LinkType.RAW).error).toBe('IPv4 total length 16 below header length 20');
    const v6in4 = hex(`65000014 0000 0000 4006 0000 0a000001 0a000002`);
    expect(dec(v6in4, LinkType.IPV4).error).toBe('IPv4 packet with IP version 6');
    const raw7 = hex(`75000014`);
    expect(dec(raw7, LinkType.RAW).error).toBe('raw IP packet with IP version 7');
    const doff3 = hex(`45000028 0000 0000 4006 0000 0a000001 0a000002 0050 0050 00000000 00000000 3002 0000 0000 0000`);
    const p = dec(doff3, LinkType.RAW);
    expect(p.kind).toBe(PacketKind.MALFORMED);
    expect(p.error).toBe('TCP data offset 3 below the minimum of 5');
    // data offset 15 (60 bytes) but the IP packet only has 20 bytes of TCP.
    const doffBig = hex(
      `45000028 0000 0000 4006 0000 0a000001 0a000002 0050 0050 00000000 00000000 f002 0000 0000 0000`,
    );
    expect(dec(doffBig, LinkType.RAW).error).toBe('TCP data offset 15 (60 bytes) exceeds the 20-byte IP payload');
    // IP total length says 30: TCP header cannot fit in 10 bytes even though 20 were captured.
    const tcpShort = hex(
      `4500001e 0000 0000 4006 0000 0a000001 0a000002 0050 0050 00000000 00000000 5002 0000 0000 0000`,
    );
    expect(dec(tcpShort, LinkType.RAW).error).toBe('TCP header needs 20 bytes but the IP packet has only 10 left');
  });
});

// IPv6 with hop-by-hop + fragment header + TCP (first fragment).
const IPV6_HBH_FRAG_TCP = `
  60000000 002c 00 40                         # payload 44, next: hop-by-hop, hop limit 64
  20010db800000000000000000000000a
  20010db800000000000000000000000b
  2c 00 05020000 0100                         # HBH: next 44, 8 bytes: router alert, PadN
  06 00 0001 deadbeef                         # fragment: next TCP, offset 0, M=1, id
  01bb c001 00000001 00000002 50 18 0100 0000 0000   # 443 -> 49153, PSH+ACK
  0011223344556677
`;

describe('IPv6', () => {
  it('hop-by-hop + fragment header (first fragment) + TCP, on SLL2', () => {
    const frame = hex(`
      86dd 0000 00000003 0001 04 06 080027a1b2c30000      # SLL2: IPv6, ifindex 3, outgoing
      ${IPV6_HBH_FRAG_TCP}
    `);
    const p = dec(frame, LinkType.LINUX_SLL2, Direction.INBOUND);
    expect(p.kind).toBe(PacketKind.IP);
    expect(p.direction).toBe(Direction.OUTBOUND);
    expect(p.linkIfIndex).toBe(3);
    expect(p.macOff).toBe(-1);
    expect(p.etherType).toBe(0x86dd);
    expect(p.ipOff).toBe(20);
    expect(p.ipVersion).toBe(6);
    expect(p.ipTotalLen).toBe(84);
    expect(p.ipHeaderLen).toBe(56);
    expect(p.isFragment).toBe(true);
    expect(p.fragOffset).toBe(0);
    expect(p.moreFragments).toBe(true);
    expect(p.ipId).toBe(0xdeadbeef);
    expect(p.proto).toBe(6);
    expect(p.l4Off).toBe(76);
    expect(p.sport).toBe(443);
    expect(p.dport).toBe(49153);
    expect(p.seq).toBe(1);
    expect(p.ack).toBe(2);
    expect(p.tcpFlags).toBe(0x18);
    expect(p.window).toBe(256);
    expect(p.payloadLen).toBe(8);
    expect([p.src0, p.src3, p.dst0, p.dst3]).toEqual([0x20010db8, 0x0a, 0x20010db8, 0x0b]);
  });

  it('non-first IPv6 fragment: proto from the fragment header, no transport', () => {
    const frame = hex(`
      60000000 0018 2c 40
      20010db800000000000000000000000a
      20010db800000000000000000000000b
      06 00 0010 deadbeef                         # offset 2 units = 16 bytes, last
      0102030405060708 090a0b0c0d0e0f10
    `);
    const p = dec(frame, LinkType.IPV6);
    expect(p.kind).toBe(PacketKind.IP);
    expect(p.isFragment).toBe(true);
    expect(p.fragOffset).toBe(16);
    expect(p.moreFragments).toBe(false);
    expect(p.ipId).toBe(0xdeadbeef);
    expect(p.proto).toBe(6);
    expect(p.ipHeaderLen).toBe(48);
    expect(p.l4Off).toBe(-1);
    expect(p.sport).toBe(0);
  });

  it('destination options + AH (length in 4-byte units minus 2) + UDP, on LOOP (network order AF 24)', () => {
    const frame = hex(`
      00000018                                   # AF_INET6 (24), network order
      60000000 0030 3c 40                        # payload 48, next: destination options
      fe800000000000000000000000000001
      ff020000000000000000000000000001
      33 00 01040000 0000                        # dst opts: next AH, 8 bytes (PadN 4)
      11 04 0000 00001000 00000001 000000000000000000000000   # AH: next UDP, len 4 -> (4+2)*4 = 24 bytes
      0222 0223 0010 0000 0001020304050607        # DHCPv6-ish ports 546 -> 547
    `);
    const p = dec(frame, LinkType.LOOP);
    expect(p.kind).toBe(PacketKind.IP);
    expect(p.ipOff).toBe(4);
    expect(p.ipHeaderLen).toBe(40 + 8 + 24);
    expect(p.proto).toBe(17);
    expect(p.sport).toBe(546);
    expect(p.dport).toBe(547);
    expect(p.payloadLen).toBe(8);
    expect(p.src0).toBe(0xfe800000);
    expect(p.dst0).toBe(0xff020000);
    expect(p.isFragment).toBe(false);
  });

  it('routing header is walked', () => {
    const frame = hex(`
      60000000 0020 2b 40
      20010db8000000000000000000000001
      20010db8000000000000000000000002
      3a 02 04 01 00000000 20010db8000000000000000000000003   # RH type 4, 24 bytes
      81 00 0000 0102 0304                           # ICMPv6 echo reply id 0x0102 seq 0x0304
    `);
    const p = dec(frame, LinkType.RAW);
    expect(p.kind).toBe(PacketKind.IP);
    expect(p.ipHeaderLen).toBe(64);
    expect(p.proto).toBe(58);
    expect(p.icmpType).toBe(129);
    expect(p.icmpId).toBe(0x0102);
    expect(p.icmpSeq).toBe(0x0304);
  });

  it('extension header beyond the payload length is malformed', () => {
    const frame = hex(`
      60000000 0004 00 40
      20010db8000000000000000000000001
      20010db8000000000000000000000002
      06 01 0000 0000000000000000                    # HBH claims 16 bytes, payload says 4
    `);
    const p = dec(frame, LinkType.RAW);
    expect(p.kind).toBe(PacketKind.MALFORMED);
    expect(p.error).toBe('IPv6 hop-by-hop options header needs 16 bytes but the IP packet has only 4 left');
  });
});

describe('link types', () => {
  const ipTcp = hex(`
    45000028 0000 4000 4006 0000 0a000001 0a000002
    0050 d431 00000001 00000002 50 14 0000 0000 0000
  `);
  const withHeader = (h: string) => {
    const head = hex(h);
    const b = new Uint8Array(head.length + ipTcp.length);
    b.set(head);
    b.set(ipTcp, head.length);
    return b;
  };

  it('Linux SLL: packet type sets direction, protocol at byte 14', () => {
    const cases: Array<[string, number]> = [
      ['0000', Direction.INBOUND],
      ['0001', Direction.INBOUND],
      ['0002', Direction.INBOUND],
      ['0003', Direction.INBOUND],
      ['0004', Direction.OUTBOUND],
    ];
    for (const [pt, dir] of cases) {
      const p = dec(withHeader(`${pt} 0001 0006 080027a1b2c30000 0800`), LinkType.LINUX_SLL);
      expect(p.kind).toBe(PacketKind.IP);
      expect(p.direction).toBe(dir);
      expect(p.ipOff).toBe(16);
      expect(p.macOff).toBe(-1);
      expect(p.tcpFlags).toBe(0x14);
    }
    // Packet type 5 (loopback) leaves the capture-level direction alone.
    expect(
      dec(withHeader(`0005 0001 0006 080027a1b2c30000 0800`), LinkType.LINUX_SLL, Direction.OUTBOUND).direction,
    ).toBe(Direction.OUTBOUND);
  });

  it('Linux SLL with an 802.1Q tag after the header', () => {
    const p = dec(withHeader(`0000 0001 0006 080027a1b2c30000 8100 002a 0800`), LinkType.LINUX_SLL);
    expect(p.kind).toBe(PacketKind.IP);
    expect(p.vlanOuter).toBe(42);
    expect(p.ipOff).toBe(20);
  });

  it('SLL2: protocol at 0, ifindex at 4, packet type at 10', () => {
    const p = dec(withHeader(`0800 0000 00000007 0001 00 06 080027a1b2c30000`), LinkType.LINUX_SLL2);
    expect(p.kind).toBe(PacketKind.IP);
    expect(p.direction).toBe(Direction.INBOUND);
    expect(p.linkIfIndex).toBe(7);
    expect(p.ipOff).toBe(20);
  });

  it('BSD null loopback in either byte order, and LOOP', () => {
    for (const h of ['02000000', '00000002']) {
      const p = dec(withHeader(h), LinkType.NULL);
      expect(p.kind).toBe(PacketKind.IP);
      expect(p.ipVersion).toBe(4);
      expect(p.ipOff).toBe(4);
    }
    const v6 = hex(`60000000 0000 3b 40 00000000000000000000000000000001 00000000000000000000000000000001`);
    for (const h of ['18000000', '1c000000', '1e000000', '0000001e', '0000001c', '00000018']) {
      const head = hex(h);
      const b = new Uint8Array(4 + v6.length);
      b.set(head);
      b.set(v6, 4);
      const p = dec(b, LinkType.NULL);
      expect(p.kind).toBe(PacketKind.IP);
      expect(p.ipVersion).toBe(6);
      expect(p.proto).toBe(59);
    }
    expect(dec(withHeader('00000002'), LinkType.LOOP).ipVersion).toBe(4);
    const other = dec(withHeader('07000000'), LinkType.NULL);
    expect(other.kind).toBe(PacketKind.NON_IP);
    expect(other.l2Name).toBe('loopback address family 7');
  });

  it('raw IPv4 (228), raw IPv6 (229), raw (101) by version nibble', () => {
    expect(dec(ipTcp, LinkType.IPV4).kind).toBe(PacketKind.IP);
    expect(dec(ipTcp, LinkType.RAW).ipVersion).toBe(4);
    expect(dec(ipTcp, LinkType.IPV6).error).toBe('IPv6 packet with IP version 4');
  });

  it('unknown link type', () => {
    const p = dec(ipTcp, 147);
    expect(p.kind).toBe(PacketKind.MALFORMED);
    expect(p.error).toBe('unsupported link type 147');
  });
});

describe('ICMP errors', () => {
  it('ICMP port unreachable quoting a UDP packet', () => {
    const f = hex(`
      ${ETH}
      45c0 0038 0007 0000 40 01 0000 0a000002 0a000001     # total 56 = 20 + 8 + 28
      03 03 0000 00000000                                  # dest unreachable / port unreachable
      45 00 0030 1234 4000 40 11 0000 0a000001 0a000002    # quoted IPv4 (total 48)
      9c40 01bb 001c 0000                                  # quoted UDP 40000 -> 443
    `);
    const p = dec(f, LinkType.ETHERNET);
    expect(p.kind).toBe(PacketKind.IP);
    expect(p.proto).toBe(1);
    expect(p.icmpType).toBe(3);
    expect(p.icmpCode).toBe(3);
    expect(p.icmpId).toBe(0);
    expect(p.innerValid).toBe(true);
    expect(p.innerIpVersion).toBe(4);
    expect(p.innerSrc0).toBe(0x0a000001);
    expect(p.innerDst0).toBe(0x0a000002);
    expect(p.innerProto).toBe(17);
    expect(p.innerSport).toBe(40000);
    expect(p.innerDport).toBe(443);
    expect(p.sport).toBe(0);
  });

  it('ICMPv6 packet too big quoting TCP', () => {
    const f = hex(`
      60000000 0038 3a 40
      20010db8000000000000000000000001
      20010db8000000000000000000000002
      02 00 0000 00000500                                  # packet too big, MTU 1280
      60000000 05c8 06 40                                  # quoted IPv6, TCP
      20010db8000000000000000000000002
      20010db8000100000000000000000005
      c350 01bb 11223344                                   # 50000 -> 443, seq
    `);
    const p = dec(f, LinkType.RAW);
    expect(p.kind).toBe(PacketKind.IP);
    expect(p.icmpType).toBe(2);
    expect(p.innerValid).toBe(true);
    expect(p.innerIpVersion).toBe(6);
    expect(p.innerProto).toBe(6);
    expect(p.innerSport).toBe(50000);
    expect(p.innerDport).toBe(443);
    expect(p.innerSeq).toBe(0x11223344);
    expect([p.innerSrc0, p.innerSrc1, p.innerSrc2, p.innerSrc3]).toEqual([0x20010db8, 0, 0, 2]);
    expect([p.innerDst0, p.innerDst1, p.innerDst2, p.innerDst3]).toEqual([0x20010db8, 0x00010000, 0, 5]);
  });

  it('ICMP time exceeded quoting an ICMP echo: id in innerSport, type in innerDport', () => {
    const f = hex(`
      45000038 0000 0000 40 01 0000 c0a80001 0a000001
      0b 00 0000 00000000
      45000054 abcd 4000 01 01 0000 0a000001 08080808
      08 00 f7ff 4d2a 0001                                 # echo request id 0x4d2a seq 1
    `);
    const p = dec(f, LinkType.RAW);
    expect(p.icmpType).toBe(11);
    expect(p.innerValid).toBe(true);
    expect(p.innerProto).toBe(1);
    expect(p.innerSport).toBe(0x4d2a);
    expect(p.innerDport).toBe(8);
  });

  it('a quote shorter than IP header + 8 bytes leaves innerValid false', () => {
    // IP total length 48 = 20 + 8 + 20: the quoted UDP header is missing entirely.
    const f = hex(`
      45000030 0000 0000 40 01 0000 0a000002 0a000001
      03 03 0000 00000000
      45000030 1234 4000 40 11 0000 0a000001 0a000002
    `);
    const p = dec(f, LinkType.RAW);
    expect(p.kind).toBe(PacketKind.IP);
    expect(p.innerValid).toBe(false);
    expect(p.snapTruncated).toBe(false);
  });

  it('ICMPv4 quoting an IPv6 packet is not a valid quote', () => {
    const f = hex(`
      45000044 0000 0000 40 01 0000 0a000002 0a000001
      03 03 0000 00000000
      60000000 0000 11 40 00000000000000000000000000000001 00000000000000000000000000000002
    `);
    const p = dec(f, LinkType.RAW);
    expect(p.innerValid).toBe(false);
  });
});

describe('reuse', () => {
  it('every field is reset between packets', () => {
    const out = newDecodedPacket();
    const fresh = { ...newDecodedPacket() };
    decodePacket(SYN_FRAME, 0, SYN_FRAME.length, LinkType.ETHERNET, Direction.INBOUND, out);
    const arp = hex(`ffffffffffff 080027a1b2c3 0806 0001 0800 06 04 0001 080027a1b2c3 c0a80164 000000000000 c0a80101`);
    decodePacket(arp, 0, arp.length, LinkType.ETHERNET, Direction.UNKNOWN, out);
    expect({ ...out }).toEqual({ ...fresh, kind: PacketKind.NON_IP, l2Name: 'ARP', etherType: 0x0806, macOff: 0 });
  });

  it('a caplen beyond the buffer, negative or NaN does not throw', () => {
    const out = newDecodedPacket();
    expect(decodePacket(SYN_FRAME, 0, 10_000, LinkType.ETHERNET, 0, out).kind).toBe(PacketKind.IP);
    expect(decodePacket(SYN_FRAME, 0, -5, LinkType.ETHERNET, 0, out).kind).toBe(PacketKind.MALFORMED);
    expect(decodePacket(SYN_FRAME, 0, Number.NaN, LinkType.ETHERNET, 0, out).kind).toBe(PacketKind.MALFORMED);
    expect(decodePacket(SYN_FRAME, 500, 10, LinkType.ETHERNET, 0, out).kind).toBe(PacketKind.MALFORMED);
  });
});
