/** describePacket and the text helpers: hand-written expectations, cross-checked with tshark/tcpdump when present. */
import { afterAll, describe, expect, it } from 'vitest';
import { Direction, LinkType } from '../../src/capture/types.js';
import { decodePacket, newDecodedPacket } from '../../src/packet/decode.js';
import { describePacket, formatAddr, parseAddr, protoName, tcpFlagsString } from '../../src/packet/describe.js';
import { icmpText } from '../../src/packet/icmp-names.js';
import { buildPacket } from '../../src/packet/encode.js';
import { hasTcpdump, hasTshark, hex, removeWrittenPcaps, tcpdump, tshark, writePcap } from './helpers.js';

afterAll(removeWrittenPcaps);

function words(g: number[]): [number, number, number, number] {
  return [0, 1, 2, 3].map((i) => ((g[2 * i] << 16) | g[2 * i + 1]) >>> 0) as [number, number, number, number];
}
function fmt6(g: number[]): string {
  const w = words(g);
  return formatAddr(6, w[0], w[1], w[2], w[3]);
}

describe('formatAddr', () => {
  it('IPv4', () => {
    expect(formatAddr(4, 0xc0a80164, 0, 0, 0)).toBe('192.168.1.100');
    expect(formatAddr(4, 0xffffffff, 0, 0, 0)).toBe('255.255.255.255');
    expect(formatAddr(4, 0, 0, 0, 0)).toBe('0.0.0.0');
  });

  it('IPv6 per RFC 5952', () => {
    expect(fmt6([0x2001, 0xdb8, 0, 0, 0, 0, 2, 1])).toBe('2001:db8::2:1');
    expect(fmt6([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1])).toBe('2001:db8:0:1:1:1:1:1'); // one zero group: not "::"
    expect(fmt6([0x2001, 0, 0, 1, 0, 0, 0, 1])).toBe('2001:0:0:1::1'); // the longest run
    expect(fmt6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1])).toBe('2001:db8::1:0:0:1'); // first of equal runs
    expect(fmt6([0x2001, 0xdb8, 0xabcd, 0x12, 0, 0, 0, 0xff])).toBe('2001:db8:abcd:12::ff');
    expect(fmt6([0, 0, 0, 0, 0, 0, 0, 0])).toBe('::');
    expect(fmt6([0, 0, 0, 0, 0, 0, 0, 1])).toBe('::1');
    expect(fmt6([1, 0, 0, 0, 0, 0, 0, 0])).toBe('1::');
    expect(fmt6([0xfe80, 0, 0, 0, 1, 0, 0, 0])).toBe('fe80::1:0:0:0');
    expect(fmt6([0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201])).toBe('::ffff:192.0.2.1');
    expect(fmt6([0, 0, 0, 0, 0, 0, 0xc000, 0x0201])).toBe('::192.0.2.1');
    expect(fmt6([0, 0, 0, 0, 0, 0, 0, 5])).toBe('::5');
    expect(fmt6([0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x0201])).toBe('64:ff9b::c000:201');
    expect(fmt6([0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff])).toBe(
      'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
    );
  });

  it('names every address right however often it comes back (its cache of recent texts never mixes two up)', () => {
    // 21000 addresses in threes that share their first word (IPv4 w0, IPv6
    // w0::, IPv6 w0 with other words set), so a cache keyed on too little
    // (the first word, or without the version) mixes them up. Asked for in a
    // random order with repeats: many cache hits and many collisions in the
    // 4096 lines. Each text is checked by parsing it back.
    let x = 7;
    const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
    const addrs: [number, number, number, number, number][] = [];
    for (let i = 0; i < 7000; i++) {
      const w0 = rnd();
      addrs.push([4, w0, 0, 0, 0], [6, w0, 0, 0, 0], [6, w0, rnd() & 0xffff, 0, rnd() % 7]);
    }
    for (let i = 0; i < 100000; i++) {
      const [v, a, b, c, d] = addrs[i < addrs.length ? i : rnd() % addrs.length];
      const text = formatAddr(v, a, b, c, d);
      const back = parseAddr(text);
      // (expect() only on a difference: 100000 of them cost more than the formatting.)
      const w = back?.words;
      if (back?.version !== v || w?.[0] !== a || w[1] !== b || w[2] !== c || w[3] !== d)
        expect([back?.version, ...(back?.words ?? [])], text).toEqual([v, a, b, c, d]);
    }
  });
});

describe('parseAddr', () => {
  it('valid', () => {
    expect(parseAddr('192.168.1.100')).toEqual({ version: 4, words: [0xc0a80164, 0, 0, 0] });
    expect(parseAddr('0.0.0.0')).toEqual({ version: 4, words: [0, 0, 0, 0] });
    expect(parseAddr('::')).toEqual({ version: 6, words: [0, 0, 0, 0] });
    expect(parseAddr('::1')).toEqual({ version: 6, words: [0, 0, 0, 1] });
    expect(parseAddr('2001:DB8::2:1')).toEqual({ version: 6, words: [0x20010db8, 0, 0, 0x00020001] });
    expect(parseAddr('fe80::')).toEqual({ version: 6, words: [0xfe800000, 0, 0, 0] });
    expect(parseAddr('::ffff:192.0.2.1')).toEqual({ version: 6, words: [0, 0, 0xffff, 0xc0000201] });
    expect(parseAddr('1:2:3:4:5:6:7:8')).toEqual({ version: 6, words: [0x10002, 0x30004, 0x50006, 0x70008] });
    expect(parseAddr('1:2:3:4:5:6:1.2.3.4')).toEqual({ version: 6, words: [0x10002, 0x30004, 0x50006, 0x01020304] });
    expect(parseAddr('1::8')).toEqual({ version: 6, words: [0x10000, 0, 0, 8] });
  });

  it('invalid', () => {
    for (const s of [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '01.2.3.4',
      '1.2.3.-4',
      'a.b.c.d',
      ':',
      ':::',
      '1:::2',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7',
      '12345::',
      'g::',
      '1::2:',
      ':1::2',
      '::1.2.3',
      '1.2.3.4::',
      'fe80::1%eth0',
      '1:2:3:4:5:6:7::8',
    ]) {
      expect(parseAddr(s), s).toBeNull();
    }
  });

  it('round-trips with formatAddr', () => {
    for (const s of ['2001:db8::1', '::', '::ffff:10.0.0.1', 'fe80::1:0:0:0', '10.20.30.40', '2001:0:0:1::1']) {
      const a = parseAddr(s)!;
      expect(formatAddr(a.version, ...a.words)).toBe(s);
    }
  });
});

describe.skipIf(!hasTshark)('formatAddr matches tshark', () => {
  it('tricky and random IPv6 addresses', () => {
    const groups: number[][] = [
      [0, 0, 0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 0, 1],
      [0, 0, 0, 0, 0, 0, 0, 2],
      [0, 0, 0, 0, 0, 0xffff, 0x102, 0x304],
      [0, 0, 0, 0, 0, 0, 0x102, 0x304],
      [0, 0, 0, 0, 0, 0, 0, 0x102],
      [0, 0, 0, 0, 0xffff, 0, 0x102, 0x304],
      [0, 0, 0, 0, 0, 0xffff, 0, 0],
      [0, 0, 0, 0, 0, 0xfffe, 0x102, 0x304],
      [0x64, 0xff9b, 0, 0, 0, 0, 0x102, 0x304],
      [1, 0, 0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 1, 0, 0],
      [0x2001, 0xdb8, 0, 0, 1, 0, 0, 1],
      [0, 1, 0, 1, 0, 1, 0, 1],
    ];
    let s = 7;
    const rnd = () => (s = (s * 1103515245 + 12345) >>> 0) >>> 16;
    for (let i = 0; i < 200; i++) groups.push(Array.from({ length: 8 }, () => (rnd() % 3 === 0 ? rnd() & 0xffff : 0)));
    const texts = groups.map(fmt6);
    const frames = texts.map((src) =>
      buildPacket({ link: 'raw', ip: { src, dst: '::1' }, udp: { sport: 1000, dport: 1001 } }),
    );
    const file = writePcap(LinkType.RAW, frames);
    const got = tshark(['-r', file, '-T', 'fields', '-e', 'ipv6.src']).trim().split('\n');
    expect(got).toEqual(texts);
  });
});

describe('tcpFlagsString', () => {
  it('tcpdump order F S R P . U E W', () => {
    expect(tcpFlagsString(0x02)).toBe('S');
    expect(tcpFlagsString(0x12)).toBe('S.');
    expect(tcpFlagsString(0x10)).toBe('.');
    expect(tcpFlagsString(0x18)).toBe('P.');
    expect(tcpFlagsString(0x11)).toBe('F.');
    expect(tcpFlagsString(0x19)).toBe('FP.');
    expect(tcpFlagsString(0x04)).toBe('R');
    expect(tcpFlagsString(0x14)).toBe('R.');
    expect(tcpFlagsString(0x52)).toBe('S.E');
    expect(tcpFlagsString(0xc2)).toBe('SEW');
    expect(tcpFlagsString(0xff)).toBe('FSRP.UEW');
    expect(tcpFlagsString(0)).toBe('none');
  });

  it.skipIf(!hasTcpdump)('matches tcpdump for all 256 flag bytes', () => {
    const frames: Uint8Array[] = [];
    for (let f = 0; f < 256; f++)
      frames.push(buildPacket({ ip: { src: '10.0.0.1', dst: '10.0.0.2' }, tcp: { sport: 1, dport: 2, flags: f } }));
    const file = writePcap(LinkType.ETHERNET, frames);
    const got = tcpdump(['-nr', file])
      .trim()
      .split('\n')
      .map((l) => /Flags \[([^\]]*)\]/.exec(l)?.[1]);
    expect(got).toEqual(frames.map((_, f) => tcpFlagsString(f)));
  });
});

describe('names', () => {
  it('protoName', () => {
    expect(protoName(6)).toBe('tcp');
    expect(protoName(17)).toBe('udp');
    expect(protoName(1)).toBe('icmp');
    expect(protoName(58)).toBe('icmpv6');
    expect(protoName(47)).toBe('ip proto 47');
  });

  it('icmpText: nft names, the code named only for destination-unreachable, numbers where nft has no name', () => {
    expect(icmpText(4, 8, 0)).toBe('echo-request');
    expect(icmpText(4, 0, 0)).toBe('echo-reply');
    expect(icmpText(4, 3, 3)).toBe('destination-unreachable port-unreachable');
    expect(icmpText(4, 3, 4)).toBe('destination-unreachable frag-needed');
    expect(icmpText(4, 3, 13)).toBe('destination-unreachable admin-prohibited');
    expect(icmpText(4, 3, 0)).toBe('destination-unreachable net-unreachable');
    expect(icmpText(4, 3, 5)).toBe('destination-unreachable code 5'); // source route failed: no nft name
    expect(icmpText(4, 3, 99)).toBe('destination-unreachable code 99');
    expect(icmpText(4, 11, 0)).toBe('time-exceeded');
    expect(icmpText(4, 11, 1)).toBe('time-exceeded code 1');
    expect(icmpText(4, 5, 1)).toBe('redirect code 1'); // not "host-unreachable": that name is destination-unreachable's
    expect(icmpText(4, 42, 0)).toBe('type 42');
    expect(icmpText(4, 42, 3)).toBe('type 42 code 3');
    expect(icmpText(6, 128, 0)).toBe('echo-request');
    expect(icmpText(6, 1, 4)).toBe('destination-unreachable port-unreachable');
    expect(icmpText(6, 2, 0)).toBe('packet-too-big');
    expect(icmpText(6, 135, 0)).toBe('nd-neighbor-solicit');
    expect(icmpText(6, 132, 0)).toBe('mld-listener-done'); // nft's first name of 132
    expect(icmpText(6, 8, 0)).toBe('type 8');
  });
});

describe('describePacket', () => {
  const out = newDecodedPacket();
  const d = (b: Uint8Array, lt: number, dir: number = Direction.UNKNOWN) =>
    describePacket(decodePacket(b, 0, b.length, lt, dir, out));

  it('a SYN on SLL, outgoing', () => {
    const f = hex(`
      0004 0001 0006 080027a1b2c30000 0800
      45 00 003c 1c46 4000 40 06 0000 c0a80164 5db8d822
      d431 0050 9a3b7c11 00000000 a0 02 faf0 0000 0000
      020405b4 0402 080a0001e24000000000 01 030307
    `);
    expect(d(f, LinkType.LINUX_SLL)).toEqual({
      kind: 'ip',
      direction: 'out',
      ipVersion: 4,
      src: '192.168.1.100',
      dst: '93.184.216.34',
      proto: 'tcp',
      protoNumber: 6,
      ipId: 0x1c46,
      ttl: 64,
      ipLen: 60,
      sport: 54321,
      dport: 80,
      tcp: {
        flags: 'S',
        seq: 0x9a3b7c11,
        ack: 0,
        win: 64240,
        len: 0,
        options: { mss: 1460, wscale: 7, sackOk: true, ts: [123456, 0] },
      },
    });
  });

  it('ICMP port unreachable with its quote, on VLAN 100, snap-truncated', () => {
    const f = hex(`
      001122334455 66778899aabb 8100 0064 0800
      45c0 0040 0007 0000 40 01 0000 0a000002 0a000001     # total 64: 8 bytes beyond the capture
      03 03 0000 00000000
      45 00 0030 1234 4000 40 11 0000 0a000001 0a000002
      9c40 01bb 001c 0000
    `);
    expect(d(f, LinkType.ETHERNET)).toEqual({
      kind: 'ip',
      vlan: [100],
      ipVersion: 4,
      src: '10.0.0.2',
      dst: '10.0.0.1',
      proto: 'icmp',
      protoNumber: 1,
      ipId: 7,
      ttl: 64,
      ipLen: 64,
      truncated: true,
      icmp: {
        type: 3,
        code: 3,
        name: 'destination-unreachable port-unreachable',
        inner: { src: '10.0.0.1', dst: '10.0.0.2', proto: 'udp', sport: 40000, dport: 443 },
      },
    });
  });

  it('ICMPv6 echo and a non-first IPv6 fragment', () => {
    const echo = hex(`
      60000000 0010 3a 40 20010db8000000000000000000000001 20010db8000000000000000000000002
      80 00 0000 1234 0007 0001020304050607
    `);
    expect(d(echo, LinkType.RAW, Direction.INBOUND)).toEqual({
      kind: 'ip',
      direction: 'in',
      ipVersion: 6,
      src: '2001:db8::1',
      dst: '2001:db8::2',
      proto: 'icmpv6',
      protoNumber: 58,
      ttl: 64,
      ipLen: 56,
      icmp: { type: 128, code: 0, name: 'echo-request', id: 0x1234, seq: 7 },
    });
    const frag = hex(`
      60000000 0018 2c 40 20010db800000000000000000000000a 20010db800000000000000000000000b
      11 00 0010 deadbeef 0102030405060708 090a0b0c0d0e0f10
    `);
    expect(d(frag, LinkType.RAW)).toEqual({
      kind: 'ip',
      ipVersion: 6,
      src: '2001:db8::a',
      dst: '2001:db8::b',
      proto: 'udp',
      protoNumber: 17,
      ipId: 0xdeadbeef,
      ttl: 64,
      ipLen: 64,
      fragment: { offset: 16, more: false, id: 0xdeadbeef },
    });
  });

  it('non-IP and malformed', () => {
    const arp = hex(`ffffffffffff 080027a1b2c3 0806 0001 0800 06 04 0001 080027a1b2c3 c0a80164 000000000000 c0a80101`);
    expect(d(arp, LinkType.ETHERNET)).toEqual({ kind: 'non-ip', l2: 'ARP' });
    const cut = hex(`45000046 0000 4000 4006 0000 0a000001 0a000002 0050`);
    expect(d(cut, LinkType.RAW)).toEqual({
      kind: 'malformed',
      error: 'IPv4 total length 70 exceeds captured 22 bytes (TCP header incomplete)',
      ipVersion: 4,
      src: '10.0.0.1',
      dst: '10.0.0.2',
    });
    expect(d(cut, 42)).toEqual({ kind: 'malformed', error: 'unsupported link type 42' });
  });

  it('UDP with a note', () => {
    const f = hex(`45000024 0000 0000 4011 0000 0a000001 0a000002 0035 0035 0064 0000 0102030405060708`);
    const info = d(f, LinkType.RAW);
    expect(info.udp).toEqual({ len: 8 });
    expect(info.note).toMatch(/UDP length/);
  });
});
