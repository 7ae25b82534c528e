#!/usr/bin/env python3
"""Kernel-oracle replayer for fwemu's test harness (standard library only).

Runs inside the harness's "outer" network namespace, which holds the outer
ends of two veth pairs whose inner ends ("c" and "s") live in the firewall
namespace.  For every L3 packet streamed on stdin it:

  1. drains both AF_PACKET sockets,
  2. sends the packet framed as Ethernet (dst = the firewall's ingress MAC)
     out of the client or server link,
  3. sends a probe frame (EtherType 0x88b5) on the same link right after it;
     the firewall namespace has a netdev ingress rule bouncing such frames
     straight back out of the link they came in on,
  4. reads both sockets until the probe comes back.

All of it runs on one CPU (this process is pinned), and every frame goes
through that CPU's single FIFO backlog queue with the same number of hops, so
by the time the probe is back, whatever the kernel did with the packet
(forward it, answer it with a RST / ICMP error, or nothing) is already in
the sockets' queues.  That makes a drop as cheap to decide as an accept; the
timeout only matters if the probe machinery broke.

Protocol.  argv[1] is a JSON config:
  {"links": [{"name": "c", "fw": "02:..", "peer": "02:.."}, {"name": "s", ...}],
   "timeoutMs": 200, "probe": true, "realTime": false,
   "stamp": false, "dupMac": "02:.."}
stdin: records of struct '<IBBHd' (length, link index, flags, ethertype,
capture time offset in seconds) followed by `length` bytes of L3 packet; a
record with link 255 ends the stream.
stdout: one JSON line per packet, in order:
  {"v": "accept"|"drop"|"reject", "why": str, "out": link name|null, "us": int}
and with "stamp" also "path" (forward|input|output), "wire" (the tuple as it
left) and "ans" (what the firewall answered: what, leg, wire).

Stamp mode (the firewall model, where NAT rewrites addresses and ports):
every non-fragment packet gets a stamp before it is sent, the IPv4 id or
the IPv6 flow label = send order + 1 (never 0, which is what the firewall's
own RSTs and ICMP errors carry), and a frame from the firewall is the packet
when the stamp, the length and everything NAT leaves alone agree. A frame
sent to dupMac is nft dup's copy of a packet the firewall took in.
interleaved with amendments for earlier packets (0-based send order) whose
forwarded copy showed up only while packet `by` was handled, e.g. IP
fragments, which conntrack holds until the datagram is complete:
  {"amend": k, "by": n, "out": link name, "frag": bool, "wire"/"path" (stamp mode) as above}
then {"done": true, "probes_missed": n}.
"""
import collections
import json
import os
import select
import socket
import struct
import subprocess
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
PROBE_TYPE = 0x88B5
PROBE_MAGIC = b'fwemu-probe'
HDR = struct.Struct('<IBBHd')


def mac_bytes(s):
    return bytes(int(x, 16) for x in s.split(':'))


def read_exact(f, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = f.read(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def ip_trim(pkt):
    """The IP packet proper: cut Ethernet padding by the IP length field."""
    if len(pkt) >= 20 and pkt[0] >> 4 == 4:
        tot = (pkt[2] << 8) | pkt[3]
        if 20 <= tot <= len(pkt):
            return pkt[:tot]
    elif len(pkt) >= 40 and pkt[0] >> 4 == 6:
        plen = (pkt[4] << 8) | pkt[5]
        if plen and 40 + plen <= len(pkt):
            return pkt[:40 + plen]
    return pkt


def is_forward_of(r, p, dup=False, hops=1):
    """r (received IP packet) is p forwarded: same bytes but TTL/hop limit - 1
    (and the IPv4 header checksum and options, which the forward path updates; and the
    IPv6 fragment Identification, which refragmentation renews). dup: r is
    nft's copy of p taken at the host's input (nf_dup_ipv4 also sets DF).
    hops=0: r left the host that sent p (TTL kept)."""
    if not p or len(r) not in (len(p), len(p) - 8):
        return False
    if dup and p[0] >> 4 == 4 and len(p) >= 20 and len(r) == len(p):
        p = p[:6] + bytes([p[6] | 0x40]) + p[7:]
    v = p[0] >> 4
    if len(r) != len(p) and not (v == 6 and len(p) >= 48 and p[6] == 44):
        return False
    if v == 4 and len(p) >= 20:
        # Option bytes are not compared: a router fills in record-route and
        # timestamp options as it forwards.
        ihl = (p[0] & 0x0F) * 4
        return (r[:8] == p[:8] and r[8] == (p[8] - hops) & 0xFF and r[9] == p[9]
                and r[12:20] == p[12:20] and r[ihl:] == p[ihl:])
    if v == 6 and len(p) >= 40:
        if p[6] == 44 and len(p) >= 48 and (p[42] << 8 | p[43]) & 0xFFF9 == 0:
            # An atomic fragment (offset 0, no more fragments): conntrack's
            # defrag (nf_ct_frag6_gather) "reassembles" it at once, and it is
            # forwarded without its fragment header.
            plen = ((p[4] << 8) | p[5]) - 8
            return (len(r) == len(p) - 8 and r[:4] == p[:4] and r[4] == plen >> 8 and r[5] == plen & 0xFF
                    and r[6] == p[40] and r[7] == (p[7] - hops) & 0xFF and r[8:40] == p[8:40] and r[40:] == p[48:])
        if p[6] == 44 and len(p) >= 48:
            # A fragment: defrag + refragmentation on output picks a new
            # Identification, so that field is not compared.
            return (r[:7] == p[:7] and r[7] == (p[7] - hops) & 0xFF and r[8:44] == p[8:44]
                    and r[48:] == p[48:])
        return r[:7] == p[:7] and r[7] == (p[7] - hops) & 0xFF and r[8:] == p[8:]
    return False


def frag6_id_offset(p):
    """Offset of the Identification of p's IPv6 fragment header (behind
    hop-by-hop, routing or destination options headers), or -1."""
    if len(p) < 40:
        return -1
    nh, off = p[6], 40
    while nh in (0, 43, 60) and off + 2 <= len(p):
        nh, off = p[off], off + (p[off + 1] + 1) * 8
    return off + 4 if nh == 44 and off + 8 <= len(p) else -1


def is_copy_of(r, p):
    """r is p as the host sent it: TTL kept; for IPv4 the kernel fills in the
    header checksum, and the IP id when the capture's is 0; IPv6 fragments
    get a new Identification and atomic ones lose their fragment header,
    as when forwarded."""
    if not p:
        return False
    if p[0] >> 4 == 6:
        fid = frag6_id_offset(p)
        if fid >= 0 and len(r) == len(p):
            return r[:fid] == p[:fid] and r[fid + 4:] == p[fid + 4:]
        return is_forward_of(r, p, hops=0)
    if len(r) != len(p) or len(p) < 20:
        return False
    same_id = r[4:6] == p[4:6] or p[4:6] == b'\0\0'
    return r[:4] == p[:4] and same_id and r[6:10] == p[6:10] and r[12:] == p[12:]


INJECT = 2   # the host sends it, through the injector inside the firewall namespace; it keeps its TTL
TO_HOST = 4  # for the host: accepted when its copy (nft dup, TTL - 1) comes out


def injector(cpu):
    """Runs inside the firewall namespace (--inject): sends the IP packets
    it reads on stdin (4-byte length, then the packet) from raw sockets, so
    that they go through the host's OUTPUT path, and answers one line each."""
    try:
        os.sched_setaffinity(0, {cpu})
    except (AttributeError, OSError):
        pass
    so_mark = getattr(socket, 'SO_MARK', 36)
    socks = {}
    for fam in (socket.AF_INET, socket.AF_INET6):
        s = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_RAW)
        s.setsockopt(socket.SOL_SOCKET, so_mark, 0x66)
        socks[fam] = s
    inp, out = sys.stdin.buffer, sys.stdout
    while True:
        hdr = read_exact(inp, 4)
        if hdr is None:
            return
        (n,) = struct.unpack('<I', hdr)
        pkt = read_exact(inp, n)
        try:
            if pkt[0] >> 4 == 4:
                socks[socket.AF_INET].sendto(pkt, (socket.inet_ntop(socket.AF_INET, pkt[16:20]), 0))
            else:
                socks[socket.AF_INET6].sendto(pkt, (socket.inet_ntop(socket.AF_INET6, pkt[24:40]), 0, 0, 0))
            out.write('ok\n')
        except OSError as e:
            out.write('send failed: %s\n' % e)
        out.flush()


def frag4(p):
    """(src, dst, id, proto, data offset, data bytes, TTL) of an IPv4 fragment, or None."""
    if len(p) < 20 or p[0] >> 4 != 4:
        return None
    ff = (p[6] << 8) | p[7]
    if ff & 0x3FFF == 0:
        return None
    ihl = (p[0] & 15) * 4
    return p[12:16], p[16:20], p[4:6], p[9], (ff & 0x1FFF) * 8, p[ihl:], p[8]


def covers4(r, p):
    """r, a forwarded IPv4 fragment, carries p's data (same datagram, TTL one less)."""
    a, b = frag4(r), frag4(p)
    if a is None or b is None or a[:4] != b[:4] or a[6] != (b[6] - 1) & 0xFF:
        return False
    start = b[4] - a[4]
    return start >= 0 and start + len(b[5]) <= len(a[5]) and a[5][start:start + len(b[5])] == b[5]


def is_fragment(p):
    if len(p) >= 20 and p[0] >> 4 == 4:
        return ((p[6] << 8) | p[7]) & 0x3FFF != 0
    if len(p) >= 40 and p[0] >> 4 == 6:
        return p[6] == 44
    return False


def addrs(p):
    """(version, src, dst, proto, l4 offset) of an IP packet, or None."""
    if len(p) >= 20 and p[0] >> 4 == 4:
        ihl = (p[0] & 15) * 4
        return 4, p[12:16], p[16:20], p[9], ihl
    if len(p) >= 40 and p[0] >> 4 == 6:
        return 6, p[8:24], p[24:40], p[6], 40
    return None


def csum_fold(x):
    while x > 0xFFFF:
        x = (x & 0xFFFF) + (x >> 16)
    return x


def stamp(p, value):
    """p with its stamp written in: IPv4 id (header checksum adjusted as RFC
    1624 does, so a wrong one stays wrong by as much) or IPv6 flow label.
    Fragments are left alone (the id ties a datagram's fragments together)."""
    if len(p) >= 20 and p[0] >> 4 == 4:
        if ((p[6] << 8) | p[7]) & 0x3FFF:
            return p, False
        old_id = (p[4] << 8) | p[5]
        old_ck = (p[10] << 8) | p[11]
        ck = ~csum_fold((~old_ck & 0xFFFF) + (~old_id & 0xFFFF) + value) & 0xFFFF
        return p[:4] + struct.pack('!H', value) + p[6:10] + struct.pack('!H', ck) + p[12:], True
    if len(p) >= 40 and p[0] >> 4 == 6:
        if frag6_id_offset(p) >= 0:
            return p, False
        first = (struct.unpack('!I', p[:4])[0] & 0xFFF00000) | (value & 0xFFFFF)
        return struct.pack('!I', first) + p[4:], True
    return p, False


ICMP_ECHO_LIKE = {4: (0, 8, 13, 14, 15, 16, 17, 18), 6: (128, 129)}
ICMP_ERRORS = {4: (3, 4, 5, 11, 12), 6: (1, 2, 3, 4)}


def l4_of(p):
    """(version, proto, l4 offset) of a non-fragment IP packet, walking IPv6
    hop-by-hop / routing / destination options headers; None otherwise."""
    if len(p) >= 20 and p[0] >> 4 == 4:
        if ((p[6] << 8) | p[7]) & 0x3FFF:
            return None
        return 4, p[9], (p[0] & 15) * 4
    if len(p) >= 40 and p[0] >> 4 == 6:
        nh, off = p[6], 40
        while nh in (0, 43, 60) and off + 2 <= len(p):
            nh, off = p[off], off + (p[off + 1] + 1) * 8
        if nh == 44 or off > len(p):
            return None
        return 6, nh, off
    return None


def mask_l4(v, proto, l4, depth=0):
    """The L4 bytes with what NAT may rewrite zeroed: ports, checksums, ICMP
    echo ids, and in an ICMP error the quoted packet's addresses and ports."""
    b = bytearray(l4)

    def zero(a, z):
        for k in range(a, min(z, len(b))):
            b[k] = 0
    if proto in (6, 17, 136, 33, 132):  # TCP UDP UDP-Lite DCCP SCTP: ports
        zero(0, 4)
    if proto == 6:
        zero(16, 18)
    elif proto in (17, 136, 33):
        zero(6, 8)
    elif proto == 132:
        zero(8, 12)
    elif proto in (1, 58) and (proto == 1) == (v == 4):
        zero(2, 4)
        if len(b) >= 1 and b[0] in ICMP_ECHO_LIKE[v]:
            zero(4, 6)
        elif len(b) >= 1 and b[0] in ICMP_ERRORS[v] and depth == 0:
            b[8:] = mask_ip(bytes(b[8:]), depth + 1)
    return bytes(b)


def mask_ip(p, depth=0):
    """An IP packet (or an ICMP error's quote of one, possibly cut short)
    with addresses, checksums, TTL/hop limit and what mask_l4 zeroes, zeroed."""
    b = bytearray(p)
    v = p[0] >> 4 if p else 0
    if v == 4 and len(b) >= 20:
        ihl = (b[0] & 15) * 4
        b[8] = 0
        b[10:12] = b'\0\0'
        b[12:20] = bytes(8)
        for k in range(20, min(ihl, len(b))):  # options a router rewrites
            b[k] = 0
        if ((b[6] << 8) | b[7]) & 0x1FFF == 0 and ihl <= len(b):
            b[ihl:] = mask_l4(4, b[9], bytes(b[ihl:]), depth)
    elif v == 6 and len(b) >= 40:
        b[7] = 0
        b[8:40] = bytes(32)
        nh, off = b[6], 40
        while nh in (0, 43, 60) and off + 2 <= len(b):
            nh, off = b[off], off + (b[off + 1] + 1) * 8
        if nh == 44 and off + 8 <= len(b):
            # A fragment: refragmentation picks a new Identification; the
            # first fragment holds the L4 header NAT rewrites.
            b[off + 4:off + 8] = bytes(4)
            if ((b[off + 2] << 8) | b[off + 3]) & 0xFFF8 == 0:
                b[off + 8:] = mask_l4(6, b[off], bytes(b[off + 8:]), depth)
        elif nh != 44 and off <= len(b):
            b[off:] = mask_l4(6, nh, bytes(b[off:]), depth)
    return bytes(b)


def sig_match(r, p, hops, dup=False):
    """r is stamped packet p after the firewall: same length, stamp and
    everything NAT leaves alone; TTL / hop limit `hops` less (nf_dup's copy
    of an IPv4 packet also has DF set)."""
    if len(r) != len(p) or len(p) < 20 or (r[0] >> 4) != (p[0] >> 4):
        return False
    if p[0] >> 4 == 4:
        if r[8] != (p[8] - hops) & 0xFF:
            return False
        if dup:
            p = p[:6] + bytes([p[6] | 0x40]) + p[7:]
    else:
        if len(p) < 40 or r[7] != (p[7] - hops) & 0xFF:
            return False
    return mask_ip(r) == mask_ip(p)


def ip_text(b):
    return socket.inet_ntop(socket.AF_INET if len(b) == 4 else socket.AF_INET6, bytes(b))


def wire_tuple(r, depth=0):
    """Addresses, ports, ICMP type/code/id of IP packet r (or a quote of one)."""
    if len(r) >= 20 and r[0] >> 4 == 4:
        v, src, dst, proto, off = 4, r[12:16], r[16:20], r[9], (r[0] & 15) * 4
        if ((r[6] << 8) | r[7]) & 0x1FFF:
            off = None
    elif len(r) >= 40 and r[0] >> 4 == 6:
        v, src, dst = 6, r[8:24], r[24:40]
        proto, off = r[6], 40
        while proto in (0, 43, 60) and off + 2 <= len(r):
            proto, off = r[off], off + (r[off + 1] + 1) * 8
        if proto == 44 and off + 8 <= len(r):
            # A fragment: its upper protocol, and the L4 header if it is the first.
            first = ((r[off + 2] << 8) | r[off + 3]) & 0xFFF8 == 0
            proto, off = r[off], off + 8 if first else None
        elif proto == 44:
            off = None
    else:
        return None
    t = {'proto': proto, 'src': ip_text(src), 'dst': ip_text(dst)}
    if off is None:
        return t
    l4 = r[off:]
    if proto in (6, 17, 136, 33, 132) and len(l4) >= 4:
        t['sport'] = (l4[0] << 8) | l4[1]
        t['dport'] = (l4[2] << 8) | l4[3]
    elif proto == (1 if v == 4 else 58) and len(l4) >= 2:
        t['icmpType'], t['icmpCode'] = l4[0], l4[1]
        if l4[0] in ICMP_ECHO_LIKE[v] and len(l4) >= 6:
            t['icmpId'] = (l4[4] << 8) | l4[5]
        elif l4[0] in ICMP_ERRORS[v] and depth == 0:
            inner = wire_tuple(l4[8:], 1)
            if inner:
                t['inner'] = inner
    return t


ICMP4_NAMES = {3: 'icmp-unreachable', 11: 'icmp-time-exceeded', 12: 'icmp-parameter-problem'}
ICMP6_NAMES = {1: 'icmpv6-unreachable', 2: 'icmpv6-packet-too-big', 3: 'icmpv6-time-exceeded',
               4: 'icmpv6-parameter-problem'}


def classify_reply(r, p):
    """If r is the firewall's own answer to p (TCP RST or an ICMP error about
    p), return (kind, description); kind is 'reject' for what nft `reject`
    sends (RST, destination unreachable) and 'error' for other ICMP errors
    (time exceeded, too big...).  Otherwise None."""
    ra, pa = addrs(r), addrs(p)
    if not ra or not pa or ra[0] != pa[0]:
        return None
    v, rsrc, rdst, rproto, roff = ra
    _, psrc, pdst, pproto, poff = pa
    if rproto == 6 and pproto == 6 and rsrc == pdst and rdst == psrc:
        if len(r) >= roff + 14 and len(p) >= poff + 4:
            if r[roff:roff + 2] == p[poff + 2:poff + 4] and r[roff + 2:roff + 4] == p[poff:poff + 2] \
                    and r[roff + 13] & 0x04:
                return 'reject', 'tcp-reset'
    icmp = 1 if v == 4 else 58
    if rproto == icmp and rdst == psrc and len(r) >= roff + 8:
        typ, code = r[roff], r[roff + 1]
        names = ICMP4_NAMES if v == 4 else ICMP6_NAMES
        if typ in names:
            inner = addrs(r[roff + 8:])
            if inner and inner[1] == psrc and inner[2] == pdst:
                kind = 'reject' if (v == 4 and typ == 3 and code != 4) or (v == 6 and typ == 1) else 'error'
                return kind, '%s code %d' % (names[typ], code)
    return None


def main():
    cfg = json.loads(sys.argv[1])
    timeout = cfg.get('timeoutMs', 200) / 1000.0
    use_probe = cfg.get('probe', True)
    real_time = cfg.get('realTime', False)
    links = cfg['links']
    names = [link['name'] for link in links]
    stamp_mode = cfg.get('stamp', False)
    dup_mac = mac_bytes(cfg['dupMac']) if cfg.get('dupMac') else None
    try:  # one CPU => one backlog queue => the probe ordering argument holds
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    except (AttributeError, OSError):
        pass
    socks, fw_mac, peer_mac = [], [], []
    for link in links:
        name = link['name']
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind((name, ETH_P_ALL))
        s.setblocking(False)
        socks.append(s)
        fw_mac.append(mac_bytes(link['fw']))
        peer_mac.append(mac_bytes(link['peer']))
    fw_macs = set(fw_mac)
    cpu = min(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else 0
    inject_proc = None
    inp = sys.stdin.buffer
    out = sys.stdout
    seq = 0
    probes_missed = 0
    t0 = None

    def drain(i):
        """All frames waiting on socket i that came from the firewall."""
        frames = []
        while True:
            try:
                data, addr = socks[i].recvfrom(70000)
            except BlockingIOError:
                return frames
            if addr[2] == PACKET_OUTGOING or len(data) < 14:
                continue
            # From fw: routed frames carry fw's MAC; bounced probes keep ours.
            if data[6:12] not in fw_macs and data[12:14] != b'\x88\xb5':
                continue
            frames.append(data)

    # Packets sent but not (yet) seen forwarded, newest last: IP fragments are
    # held by conntrack's defragmenter until the datagram is complete, then
    # all go out at once; a match against one of these amends its verdict.
    debug = open(os.environ['FWEMU_REPLAY_DEBUG'], 'a') if os.environ.get('FWEMU_REPLAY_DEBUG') else None
    held = collections.OrderedDict()
    idx = -1

    def emit(obj):
        out.write(json.dumps(obj) + '\n')

    def matches(r, p, flags, stamped, to_dup):
        """r (a frame's IP packet, to_dup: sent to dupMac) is packet p after the firewall."""
        hops = 1 if to_dup else 0 if flags & INJECT else 1
        if stamped:
            return sig_match(r, p, hops, dup=to_dup)
        if stamp_mode and is_fragment(p) and sig_match(r, p, hops, dup=to_dup):
            return True  # refragmented as it came, addresses and ports perhaps translated
        return is_copy_of(r, p) if flags & INJECT else is_forward_of(r, p, flags & TO_HOST)

    def match_held(r, i, to_dup=False):
        for k, (hp, hflags, hstamped) in held.items():
            if matches(r, hp, hflags, hstamped, to_dup):
                del held[k]
                a = {'amend': k, 'by': idx, 'out': names[i], 'frag': is_fragment(hp)}
                if stamp_mode:
                    a['wire'] = wire_tuple(r)
                    # As for a copy seen in time: a late one took the same way.
                    a['path'] = 'input' if to_dup else 'output' if hflags & INJECT else 'forward'
                emit(a)
                return True
        # A forwarded IPv4 fragment may carry several held ones: the kernel
        # refragments a datagram by the largest fragment it received.
        covered = [k for k, (hp, hflags, _) in held.items() if not hflags and covers4(r, hp)]
        for k in covered:
            del held[k]
            emit({'amend': k, 'by': idx, 'out': names[i], 'frag': True})
        return bool(covered)

    while True:
        hdr = read_exact(inp, HDR.size)
        if hdr is None:
            break
        length, link, flags, ethertype, tsoff = HDR.unpack(hdr)
        if link == 255:
            break
        pkt = read_exact(inp, length)
        if pkt is None:
            break
        idx += 1
        if real_time:
            now = time.monotonic()
            if t0 is None:
                t0 = now - tsoff
            delay = t0 + tsoff - now
            if delay > 0:
                time.sleep(delay)
        for i in range(len(names)):  # stragglers of earlier packets (only without the probe, normally)
            for data in drain(i):
                if (data[12] << 8 | data[13]) in (0x0800, 0x86DD):
                    if not match_held(ip_trim(data[14:]), i, data[:6] == dup_mac) and debug:
                        debug.write('before packet %d: unexplained frame on %s: %s\n' % (idx, names[i], data.hex()))
        stamped = False
        if stamp_mode:
            pkt, stamped = stamp(pkt, idx % 0xFFFF + 1)
        start = time.monotonic()
        frame = fw_mac[link] + peer_mac[link] + struct.pack('!H', ethertype) + pkt
        seq += 1
        probe_tag = PROBE_MAGIC + struct.pack('!Q', seq)
        probe = fw_mac[link] + peer_mac[link] + struct.pack('!H', PROBE_TYPE) + probe_tag
        probe += b'\0' * (60 - len(probe))
        sent_err = None
        if flags & INJECT:
            if inject_proc is None:
                inject_proc = subprocess.Popen(
                    ['ip', 'netns', 'exec', cfg['fwNetns'], sys.executable, '-I', '-S', os.path.abspath(__file__), '--inject', str(cpu)],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            trimmed = ip_trim(pkt)  # a raw socket sets the length from what it is given
            inject_proc.stdin.write(struct.pack('<I', len(trimmed)) + trimmed)
            inject_proc.stdin.flush()
            answer = inject_proc.stdout.readline().decode().strip()
            if answer != 'ok':
                sent_err = answer or 'injector ended'
        else:
            try:
                socks[link].send(frame)
            except OSError as e:  # e.g. EMSGSIZE: larger than the link MTU
                sent_err = 'send failed: %s' % e
        if use_probe:
            socks[link].send(probe)
        p = ip_trim(pkt)
        got_probe = False
        fwd_on = None
        reply = None
        others = 0
        res = {}

        def handle(data, i):
            nonlocal got_probe, fwd_on, reply, others
            et = (data[12] << 8) | data[13]
            if et == PROBE_TYPE:
                if data[14:14 + len(probe_tag)] == probe_tag:
                    got_probe = True
                return
            if et not in (0x0800, 0x86DD):
                others += 1
                return
            r = ip_trim(data[14:])
            to_dup = dup_mac is not None and data[:6] == dup_mac
            if fwd_on is None and matches(r, p, flags, stamped, to_dup):
                fwd_on = names[i]
                if stamp_mode:
                    res['path'] = 'input' if to_dup else 'output' if flags & INJECT else 'forward'
                    res['wire'] = wire_tuple(r)
                return
            if reply is None and not to_dup:
                c = classify_reply(r, p)
                if c:
                    reply = c
                    if stamp_mode:
                        res['ans'] = {'what': c[1], 'leg': names[i], 'wire': wire_tuple(r)}
                    return
            if not match_held(r, i, to_dup):
                others += 1
                if debug:
                    debug.write('packet %d: other frame on %s: %s\n' % (idx, names[i], data.hex()))

        deadline = start + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            ready, _, _ = select.select(socks, [], [], remaining)
            for s in ready:
                i = socks.index(s)
                for data in drain(i):
                    handle(data, i)
            if got_probe:
                # Whatever fw did with the packet was queued before the probe
                # came back, on either socket: take the rest of it.
                for i in range(len(names)):
                    for data in drain(i):
                        handle(data, i)
                break
            if not use_probe and (fwd_on is not None or (reply is not None and reply[0] == 'reject')):
                break
        us = int((time.monotonic() - start) * 1e6)
        why = []
        if fwd_on is not None:
            v = 'accept'
            if res.get('path') == 'input':
                why.append('taken in by the firewall (its copy seen)')
            elif flags & INJECT:
                why.append('sent by the host out ' + fwd_on)
            elif flags & TO_HOST and not stamp_mode:
                why.append('accepted by the host (its copy seen)')
            else:
                why.append('forwarded out ' + fwd_on)
        elif reply is not None and reply[0] == 'reject':
            v = 'reject'
            why.append('firewall answered ' + reply[1])
        else:
            v = 'drop'
            if reply is not None:
                why.append('firewall answered ' + reply[1])
            why.append('not forwarded')
            if sent_err is None:
                held[idx] = (p, flags, stamped)
                if len(held) > 1024:
                    held.popitem(last=False)
            if is_fragment(p):
                why.append('IP fragment (conntrack holds fragments until the datagram is complete)')
        if sent_err:
            why.append(sent_err)
        if use_probe and not got_probe:
            probes_missed += 1
            why.append('probe not seen within %d ms' % int(timeout * 1000))
        if others:
            why.append('%d other frame(s) from the firewall' % others)
        emit(dict({'v': v, 'why': '; '.join(why), 'out': None if res.get('path') == 'input' else fwd_on, 'us': us}, **res))
        out.flush()
        if debug:
            debug.write('packet %d: sent on %s: %s -> %s\n' % (idx, names[link], pkt.hex(), v))
            debug.flush()
    if inject_proc is not None:
        inject_proc.stdin.close()
        inject_proc.wait()
    emit({'done': True, 'probes_missed': probes_missed})
    out.flush()


if __name__ == '__main__':
    if len(sys.argv) > 2 and sys.argv[1] == '--inject':
        injector(int(sys.argv[2]))
    else:
        main()
