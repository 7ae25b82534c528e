#!/usr/bin/python3
"""Replay a scenario through the kernel's conntrack and record what it says.

usage: record.py scenarios/NAME.json > recorded/NAME.json   (root; run setup.sh first)

Packets are built with scapy and sent over veth from netns ct-helper-a (the
"a" side, 10.1.0.2 / fd01::2) or ct-helper-c ("c", 10.2.0.2 / fd02::2) through
the router netns ct-helper-b, whose conntrack tracks them. For each packet the
recording holds: its send time (seconds since the first packet), the nft
"ct state" it got in b's forward chain (from per-state counters) and b's
`conntrack -L` right after; and the whole run's `conntrack -E` lines.
"""
import ctypes, json, os, re, socket, subprocess, sys, time
from scapy.all import Ether, IP, IPv6, TCP, UDP, ICMP, ICMPv6EchoRequest, ICMPv6EchoReply, \
    ICMPv6DestUnreach, ICMPv6PacketTooBig, ICMPv6ND_NS, Raw, raw
from scapy.layers.inet6 import ICMPv6Unknown

libc = ctypes.CDLL('libc.so.6', use_errno=True)
def setns(name):
    fd = os.open('/var/run/netns/' + name, os.O_RDONLY)
    if libc.setns(fd, 0x40000000) != 0: raise OSError(ctypes.get_errno(), 'setns')
    os.close(fd)
def sh(ns, cmd):
    return subprocess.run(['ip', 'netns', 'exec', ns] + cmd, capture_output=True, text=True)
def mac(ns, dev):
    return sh(ns, ['cat', f'/sys/class/net/{dev}/address']).stdout.strip()
MB_A, MB_C = mac('ct-helper-b', 'vba'), mac('ct-helper-b', 'vbc')
setns('ct-helper-a'); SA = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); SA.bind(('va', 0)); MA = mac('ct-helper-a', 'va')
setns('ct-helper-c'); SC = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); SC.bind(('vc', 0)); MC = mac('ct-helper-c', 'vc')
A4, C4, A6, C6 = '10.1.0.2', '10.2.0.2', 'fd01::2', 'fd02::2'

def counters():
    out = sh('ct-helper-b', ['nft', 'list', 'counters']).stdout
    return {k: int(v) for k, v in re.findall(r'counter (\w+) \{\s*packets (\d+)', out)}
NAMES = {'cinv': 'invalid', 'cnew': 'new', 'cest': 'established', 'crel': 'related', 'cunt': 'untracked'}
last = counters()
def state():
    global last
    c = counters(); d = [k for k in c if c[k] != last.get(k, 0)]; last = c
    return NAMES[d[0]] if len(d) == 1 else ','.join(NAMES[x] for x in d) or 'none'
def sysctl(k, v): sh('ct-helper-b', ['sysctl', '-qw', f'net.netfilter.{k}={v}'])

def build(s):
    v6 = s.get('v6', False)
    src, dst = (A6, C6) if v6 else (A4, C4)
    if s['side'] == 'c': src, dst = dst, src
    l3 = IPv6(src=src, dst=dst) if v6 else IP(src=src, dst=dst)
    pr = s.get('proto', 'tcp')
    if pr == 'tcp':
        sp, dp = s.get('sport', 40000), s.get('dport', 8080)
        if s['side'] == 'c': sp, dp = dp, sp
        opts = []
        if 'wscale' in s: opts.append(('WScale', s['wscale']))
        if s.get('sackPerm'): opts.append(('SAckOK', b''))
        if 'sack' in s: opts.append(('SAck', tuple(s['sack'])))
        pkt = l3/TCP(sport=sp, dport=dp, flags=s['flags'].replace('.', 'A'), seq=s.get('seq', 0) & 0xffffffff,
                     ack=s.get('ack', 0) & 0xffffffff, window=s.get('win', 65535), options=opts)
        return pkt/Raw(b'x' * s['len']) if s.get('len', 0) else pkt
    if pr == 'udp':
        sp, dp = s.get('sport', 40000), s.get('dport', 53)
        if s['side'] == 'c': sp, dp = dp, sp
        return l3/UDP(sport=sp, dport=dp)/Raw(b'x' * s.get('len', 0))
    if pr == 'ip':
        # another IP protocol; GRE gets a version 0 header carrying IPv4
        payload = b'\x00\x00\x08\x00' + b'\0' * 20 if s['ipproto'] == 47 else b'\0' * 24
        if v6:
            l3.nh = s['ipproto']
        else:
            l3.proto = s['ipproto']
        return l3/Raw(payload)
    if pr == 'icmp':
        t = s['type']
        if v6:
            if t in (128, 129): return l3/(ICMPv6EchoRequest if t == 128 else ICMPv6EchoReply)(id=s.get('id', 0), seq=1)
            if t == 135: return IPv6(src=src, dst=dst, hlim=255)/ICMPv6ND_NS(tgt=dst)
            return l3/ICMPv6Unknown(type=t, code=s.get('code', 0))/Raw(b'\0' * 8)
        return l3/ICMP(type=t, code=s.get('code', 0), id=s.get('id', 0), seq=1)
    if pr == 'icmperr':
        # an ICMP error from s['side'] quoting a packet that s['inner_side'] sent
        if 'outer_dst' in s: l3.dst = s['outer_dst']
        isrc, idst = (A6, C6) if v6 else (A4, C4)
        if s['inner_side'] == 'c': isrc, idst = idst, isrc
        il3 = IPv6(src=isrc, dst=idst) if v6 else IP(src=isrc, dst=idst)
        ip = s.get('inner_proto', 'udp')
        sp, dp = s.get('sport', 40000), s.get('dport', 53 if ip == 'udp' else 8080)
        if s['inner_side'] == 'c': sp, dp = dp, sp
        if ip == 'udp': inner = il3/UDP(sport=sp, dport=dp)
        elif ip == 'tcp': inner = il3/TCP(sport=sp, dport=dp, flags='S', seq=1000)
        else: inner = il3/(ICMPv6EchoRequest(id=s.get('id', 0)) if v6 else ICMP(type=8, id=s.get('id', 0)))
        if v6:
            err = ICMPv6DestUnreach(code=s.get('code', 4)) if s['type'] == 1 else ICMPv6PacketTooBig(mtu=1280)
            return l3/err/raw(inner)[:48]
        return l3/ICMP(type=s['type'], code=s.get('code', 3))/raw(inner)[:28]
    raise ValueError(pr)

scen = json.load(open(sys.argv[1]))
for k, v in scen.get('sysctl', {}).items(): sysctl(k, v)
sh('ct-helper-b', ['conntrack', '-F']); time.sleep(0.2); state()
evf = open('/tmp/ct-helper-events.txt', 'w')
ev = subprocess.Popen(['ip', 'netns', 'exec', 'ct-helper-b', 'conntrack', '-E'], stdout=evf, stderr=subprocess.DEVNULL)
time.sleep(0.5)
out = []
t0 = None
try:
    for i, s in enumerate(scen['steps']):
        if 'sleep' in s:
            time.sleep(s['sleep']); continue
        frame = raw(Ether(src=MA if s['side'] == 'a' else MC, dst=MB_A if s['side'] == 'a' else MB_C)/build(s))
        t = time.monotonic()
        if t0 is None: t0 = t
        (SA if s['side'] == 'a' else SC).send(frame)
        time.sleep(0.05)
        st = state()
        lines = sorted(l for l in sh('ct-helper-b', ['conntrack', '-L']).stdout.splitlines() if l.strip())
        tl = time.monotonic()
        out.append({'i': i, 't': round(t - t0, 4), 'tList': round(tl - t0, 4), 'state': st, 'list': lines})
finally:
    time.sleep(0.3)
    ev.terminate(); ev.wait(); evf.close()
    for k, v in scen.get('sysctl_restore', {}).items(): sysctl(k, v)
events = [l.rstrip('\n') for l in open('/tmp/ct-helper-events.txt') if l.strip()]
print(json.dumps({'kernel': os.uname().release, 'steps': out, 'events': events}, indent=1))
