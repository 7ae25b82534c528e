/**
 * Minimal packet builders and pcap / pcapng writers for the kernel-oracle
 * tests (independent of src/ on purpose). Checksums are computed for real.
 */
import { writeFileSync } from 'node:fs';

export const TCP = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

function parseIp(s: string): Uint8Array {
  if (!s.includes(':')) return Uint8Array.from(s.split('.').map(Number));
  const [head, tail] = s.includes('::') ? s.split('::') : [s, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const g = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = new Uint8Array(16);
  g.forEach((x, i) => {
    const n = parseInt(x, 16);
    b[2 * i] = n >> 8;
    b[2 * i + 1] = n & 0xff;
  });
  return b;
}

function sum16(b: Uint8Array, acc = 0): number {
  for (let i = 0; i + 1 < b.length; i += 2) acc += (b[i] << 8) | b[i + 1];
  if (b.length & 1) acc += b[b.length - 1] << 8;
  return acc;
}

function fold(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + (acc >>> 16);
  return ~acc & 0xffff;
}

export interface L4Opts {
  src: string;
  dst: string;
  ttl?: number;
}

export interface TcpOpts extends L4Opts {
  sport: number;
  dport: number;
  seq: number;
  ack?: number;
  flags: number;
  win?: number;
  payload?: Uint8Array | string;
  /** Raw TCP options (padded to 4 bytes). */
  options?: number[];
}

function bytes(p: Uint8Array | string | undefined): Uint8Array {
  if (p === undefined) return new Uint8Array(0);
  return typeof p === 'string' ? new TextEncoder().encode(p) : p;
}

/** An IPv4 or IPv6 packet (chosen by the address form) carrying `l4` of protocol `proto`, checksums filled in. */
export function ipPacket(o: L4Opts, proto: number, l4: Uint8Array, csumOff: number | null): Uint8Array {
  const src = parseIp(o.src);
  const dst = parseIp(o.dst);
  const v6 = src.length === 16;
  if (csumOff !== null) {
    l4[csumOff] = 0;
    l4[csumOff + 1] = 0;
    const pseudo = new Uint8Array(v6 ? 40 : 12);
    pseudo.set(src, 0);
    pseudo.set(dst, src.length);
    const dv = new DataView(pseudo.buffer);
    if (v6) {
      dv.setUint32(32, l4.length);
      pseudo[39] = proto;
    } else {
      pseudo[9] = proto;
      dv.setUint16(10, l4.length);
    }
    let c = fold(sum16(l4, sum16(pseudo)));
    if (proto === 17 && c === 0) c = 0xffff;
    l4[csumOff] = c >> 8;
    l4[csumOff + 1] = c & 0xff;
  }
  if (v6) {
    const p = new Uint8Array(40 + l4.length);
    const dv = new DataView(p.buffer);
    dv.setUint32(0, 0x60000000);
    dv.setUint16(4, l4.length);
    p[6] = proto;
    p[7] = o.ttl ?? 64;
    p.set(src, 8);
    p.set(dst, 24);
    p.set(l4, 40);
    return p;
  }
  const p = new Uint8Array(20 + l4.length);
  const dv = new DataView(p.buffer);
  p[0] = 0x45;
  dv.setUint16(2, p.length);
  dv.setUint16(4, ipId++ & 0xffff);
  dv.setUint16(6, 0x4000); // DF
  p[8] = o.ttl ?? 64;
  p[9] = proto;
  p.set(src, 12);
  p.set(dst, 16);
  dv.setUint16(10, fold(sum16(p.subarray(0, 20))));
  p.set(l4, 20);
  return p;
}
let ipId = 1;

export function tcp(o: TcpOpts): Uint8Array {
  const opts = o.options ?? [];
  const optLen = (opts.length + 3) & ~3;
  const payload = bytes(o.payload);
  const l4 = new Uint8Array(20 + optLen + payload.length);
  const dv = new DataView(l4.buffer);
  dv.setUint16(0, o.sport);
  dv.setUint16(2, o.dport);
  dv.setUint32(4, o.seq >>> 0);
  dv.setUint32(8, (o.ack ?? 0) >>> 0);
  l4[12] = ((20 + optLen) / 4) << 4;
  l4[13] = o.flags;
  dv.setUint16(14, o.win ?? 64240);
  l4.set(opts, 20);
  l4.set(payload, 20 + optLen);
  return ipPacket(o, 6, l4, 16);
}

export function udp(o: L4Opts & { sport: number; dport: number; payload?: Uint8Array | string }): Uint8Array {
  const payload = bytes(o.payload);
  const l4 = new Uint8Array(8 + payload.length);
  const dv = new DataView(l4.buffer);
  dv.setUint16(0, o.sport);
  dv.setUint16(2, o.dport);
  dv.setUint16(4, l4.length);
  l4.set(payload, 8);
  return ipPacket(o, 17, l4, 6);
}

/** ICMP (IPv4) or ICMPv6 echo request/reply. */
export function echo(o: L4Opts & { reply?: boolean; id: number; seq: number }): Uint8Array {
  const v6 = o.src.includes(':');
  const l4 = new Uint8Array(16);
  l4[0] = v6 ? (o.reply ? 129 : 128) : o.reply ? 0 : 8;
  const dv = new DataView(l4.buffer);
  dv.setUint16(4, o.id);
  dv.setUint16(6, o.seq);
  if (v6) return ipPacket(o, 58, l4, 2);
  const p = ipPacket(o, 1, l4, null);
  const icmp = p.subarray(20);
  const c = fold(sum16(icmp));
  icmp[2] = c >> 8;
  icmp[3] = c & 0xff;
  return p;
}

const MAC_A = [0x02, 0xaa, 0, 0, 0, 1];
const MAC_B = [0x02, 0xbb, 0, 0, 0, 2];

/** Ethernet frame around an IP packet (MACs are arbitrary: the harness rewrites them). */
export function ether(ip: Uint8Array, ethertype?: number): Uint8Array {
  const f = new Uint8Array(14 + ip.length);
  f.set(MAC_B, 0);
  f.set(MAC_A, 6);
  const et = ethertype ?? (ip[0] >> 4 === 6 ? 0x86dd : 0x0800);
  f[12] = et >> 8;
  f[13] = et & 0xff;
  f.set(ip, 14);
  return f;
}

export interface Frame {
  data: Uint8Array;
  /** Seconds since the epoch (float). */
  ts: number;
}

/** Classic little-endian microsecond pcap. */
export function writePcap(path: string, frames: Frame[], linkType = 1): void {
  const parts: Uint8Array[] = [];
  const gh = new DataView(new ArrayBuffer(24));
  gh.setUint32(0, 0xa1b2c3d4, true);
  gh.setUint16(4, 2, true);
  gh.setUint16(6, 4, true);
  gh.setUint32(16, 262144, true);
  gh.setUint32(20, linkType, true);
  parts.push(new Uint8Array(gh.buffer));
  for (const f of frames) {
    const h = new DataView(new ArrayBuffer(16));
    const sec = Math.floor(f.ts);
    h.setUint32(0, sec, true);
    h.setUint32(4, Math.round((f.ts - sec) * 1e6), true);
    h.setUint32(8, f.data.length, true);
    h.setUint32(12, f.data.length, true);
    parts.push(new Uint8Array(h.buffer), f.data);
  }
  writeFileSync(path, Buffer.concat(parts));
}

/**
 * pcapng: one section, Enhanced Packet Blocks, nanosecond resolution. One
 * interface by default; `ifNames` gives one per entry (a name becomes its
 * if_name, null leaves it unnamed) and a frame's `ifIndex` (default 0) its
 * interface: a capture taken on a firewall's named interfaces.
 */
export function writePcapng(
  path: string,
  frames: readonly (Frame & { ifIndex?: number })[],
  linkType = 1,
  ifNames: readonly (string | null)[] = [null],
): void {
  const parts: Uint8Array[] = [];
  const block = (type: number, body: Uint8Array) => {
    const padded = (body.length + 3) & ~3;
    const b = new DataView(new ArrayBuffer(12 + padded));
    b.setUint32(0, type, true);
    b.setUint32(4, 12 + padded, true);
    new Uint8Array(b.buffer).set(body, 8);
    b.setUint32(8 + padded, 12 + padded, true);
    parts.push(new Uint8Array(b.buffer));
  };
  const shb = new DataView(new ArrayBuffer(16));
  shb.setUint32(0, 0x1a2b3c4d, true);
  shb.setUint16(4, 1, true);
  shb.setBigInt64(8, -1n, true);
  block(0x0a0d0d0a, new Uint8Array(shb.buffer));
  for (const name of ifNames) {
    const nameBytes = name === null ? new Uint8Array(0) : new TextEncoder().encode(name);
    const nameOpt = name === null ? 0 : 4 + ((nameBytes.length + 3) & ~3);
    // link type, snaplen; [if_name]; if_tsresol = 9 (10^-9); opt_endofopt (zero)
    const idb = new DataView(new ArrayBuffer(8 + nameOpt + 8 + 4));
    idb.setUint16(0, linkType, true);
    idb.setUint32(4, 262144, true);
    if (name !== null) {
      idb.setUint16(8, 2, true);
      idb.setUint16(10, nameBytes.length, true);
      new Uint8Array(idb.buffer).set(nameBytes, 12);
    }
    idb.setUint16(8 + nameOpt, 9, true);
    idb.setUint16(10 + nameOpt, 1, true);
    idb.setUint8(12 + nameOpt, 9);
    block(1, new Uint8Array(idb.buffer));
  }
  for (const f of frames) {
    const ns = BigInt(Math.round(f.ts * 1e6)) * 1000n;
    const body = new Uint8Array(20 + f.data.length);
    const dv = new DataView(body.buffer);
    dv.setUint32(0, f.ifIndex ?? 0, true);
    dv.setUint32(4, Number(ns >> 32n), true);
    dv.setUint32(8, Number(ns & 0xffffffffn), true);
    dv.setUint32(12, f.data.length, true);
    dv.setUint32(16, f.data.length, true);
    body.set(f.data, 20);
    block(6, body);
  }
  writeFileSync(path, Buffer.concat(parts));
}

function ethertypeOf(ip: Uint8Array): number {
  return ip[0] >> 4 === 6 ? 0x86dd : 0x0800;
}

/** Ethernet frame with one 802.1Q tag. */
export function vlanEther(ip: Uint8Array, vid = 100): Uint8Array {
  const f = new Uint8Array(18 + ip.length);
  f.set(MAC_B, 0);
  f.set(MAC_A, 6);
  f.set([0x81, 0x00, (vid >> 8) & 0x0f, vid & 0xff], 12);
  const et = ethertypeOf(ip);
  f[16] = et >> 8;
  f[17] = et & 0xff;
  f.set(ip, 18);
  return f;
}

/** Linux cooked capture v1 (LINKTYPE_LINUX_SLL = 113). */
export function sll(ip: Uint8Array): Uint8Array {
  const f = new Uint8Array(16 + ip.length);
  const dv = new DataView(f.buffer);
  dv.setUint16(0, 0); // to us
  dv.setUint16(2, 1); // ARPHRD_ETHER
  dv.setUint16(4, 6);
  f.set(MAC_A, 6);
  dv.setUint16(14, ethertypeOf(ip));
  f.set(ip, 16);
  return f;
}

/** Linux cooked capture v2 (LINKTYPE_LINUX_SLL2 = 276). */
export function sll2(ip: Uint8Array): Uint8Array {
  const f = new Uint8Array(20 + ip.length);
  const dv = new DataView(f.buffer);
  dv.setUint16(0, ethertypeOf(ip));
  dv.setUint32(4, 2); // ifindex
  dv.setUint16(8, 1); // ARPHRD_ETHER
  f[10] = 4; // outgoing
  f[11] = 6;
  f.set(MAC_A, 12);
  f.set(ip, 20);
  return f;
}

/** An ARP request frame (non-IP, for 'skip'). */
export function arpFrame(): Uint8Array {
  const f = new Uint8Array(42);
  f.fill(0xff, 0, 6);
  f.set(MAC_A, 6);
  f.set([0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1], 12);
  f.set(MAC_A, 22);
  f.set([10, 1, 0, 2], 28);
  f.set([10, 1, 0, 1], 38);
  return f;
}

/** Split an IPv4 or IPv6 packet (no extension headers) into fragments carrying `size` payload bytes each (multiple of 8). */
export function fragment(p: Uint8Array, size: number, id = 0x4242): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (p[0] >> 4 === 4) {
    const hl = (p[0] & 15) * 4;
    const body = p.subarray(hl);
    for (let off = 0; off < body.length; off += size) {
      const chunk = body.subarray(off, Math.min(off + size, body.length));
      const f = new Uint8Array(hl + chunk.length);
      f.set(p.subarray(0, hl));
      f.set(chunk, hl);
      const dv = new DataView(f.buffer);
      dv.setUint16(2, f.length);
      dv.setUint16(4, id);
      dv.setUint16(6, (off + size < body.length ? 0x2000 : 0) | (off / 8));
      dv.setUint16(10, 0);
      dv.setUint16(10, fold(sum16(f.subarray(0, hl))));
      out.push(f);
    }
    return out;
  }
  const body = p.subarray(40);
  const nh = p[6];
  for (let off = 0; off < body.length; off += size) {
    const chunk = body.subarray(off, Math.min(off + size, body.length));
    const f = new Uint8Array(48 + chunk.length);
    f.set(p.subarray(0, 40));
    const dv = new DataView(f.buffer);
    dv.setUint16(4, 8 + chunk.length);
    f[6] = 44;
    f[40] = nh;
    dv.setUint16(42, off | (off + size < body.length ? 1 : 0));
    dv.setUint32(44, id);
    f.set(chunk, 48);
    out.push(f);
  }
  return out;
}

/** An ICMPv6 message: type, code, then `body` (after the 4-byte header), checksum filled in. */
export function icmp6(o: L4Opts & { type: number; code?: number; body?: number[] | Uint8Array }): Uint8Array {
  const body = Uint8Array.from(o.body ?? []);
  const l4 = new Uint8Array(4 + body.length);
  l4[0] = o.type;
  l4[1] = o.code ?? 0;
  l4.set(body, 4);
  return ipPacket(o, 58, l4, 2);
}

/** `ip6` (no extension headers) with a hop-by-hop header holding a router alert (MLD's, RFC 2711) inserted. */
export function withRouterAlert(ip6: Uint8Array): Uint8Array {
  const out = new Uint8Array(ip6.length + 8);
  out.set(ip6.subarray(0, 40));
  const dv = new DataView(out.buffer);
  dv.setUint16(4, ip6.length - 40 + 8);
  out[6] = 0; // hop-by-hop
  out.set([ip6[6], 0, 5, 2, 0, 0, 1, 0], 40); // next header, length 0, router alert (MLD), PadN 0
  out.set(ip6.subarray(40), 48);
  return out;
}

/** The bytes of an IPv6 address (for message bodies such as a neighbour solicitation's target). */
export function ip6Bytes(s: string): number[] {
  return [...parseIp(s)];
}

/** An ICMPv4 error from `src` to `dst` quoting the first 28 bytes of `about`. */
export function icmpError(src: string, dst: string, type: number, code: number, about: Uint8Array): Uint8Array {
  const quote = about.subarray(0, 28);
  const l4 = new Uint8Array(8 + quote.length);
  l4[0] = type;
  l4[1] = code;
  l4.set(quote, 8);
  let sum = 0;
  for (let i = 0; i < l4.length; i += 2) sum += (l4[i] << 8) | (l4[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  l4[2] = c >> 8;
  l4[3] = c & 0xff;
  return ipPacket({ src, dst }, 1, l4, null);
}
