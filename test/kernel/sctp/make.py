#!/usr/bin/python3
"""SCTP associations for the kernel comparison (test/kernel/sctp.test.ts):
one whole association (INIT ... SHUTDOWN_COMPLETE) with a DATA chunk under a
wrong verification tag, then packets conntrack must refuse as new flows, a
flow started by a HEARTBEAT, and an INIT collision. Writes sctp.pcap next
to this script. Needs python3-scapy (Debian)."""
import os
from scapy.all import Ether, IP, wrpcap
from scapy.layers.sctp import (SCTP, SCTPChunkInit, SCTPChunkInitAck, SCTPChunkCookieEcho, SCTPChunkCookieAck,
                               SCTPChunkData, SCTPChunkSACK, SCTPChunkHeartbeatReq, SCTPChunkHeartbeatAck,
                               SCTPChunkShutdown, SCTPChunkShutdownAck, SCTPChunkShutdownComplete, SCTPChunkAbort)

C, S = '10.1.0.2', '10.2.0.1'
CMAC, SMAC = '02:00:0a:01:00:02', '02:00:0a:02:00:01'
TC, TS = 0x11111111, 0x22222222  # the client's and the server's initiate tags
pkts = []


def c2s(sport, vtag, *chunks):
    p = Ether(src=CMAC, dst=SMAC) / IP(src=C, dst=S, ttl=64) / SCTP(sport=sport, dport=38412, tag=vtag)
    for ch in chunks:
        p = p / ch
    pkts.append(p)


def s2c(dport, vtag, *chunks):
    p = Ether(src=SMAC, dst=CMAC) / IP(src=S, dst=C, ttl=64) / SCTP(sport=38412, dport=dport, tag=vtag)
    for ch in chunks:
        p = p / ch
    pkts.append(p)


def data(tsn, text=b'hello'):
    return SCTPChunkData(tsn=tsn, stream_id=0, stream_seq=tsn, proto_id=60, data=text)


# 1-12: an association from start to end.
c2s(5000, 0, SCTPChunkInit(init_tag=TC, a_rwnd=65536, n_out_streams=2, n_in_streams=2, init_tsn=1))
s2c(5000, TC, SCTPChunkInitAck(init_tag=TS, a_rwnd=65536, n_out_streams=2, n_in_streams=2, init_tsn=100))
c2s(5000, TS, SCTPChunkCookieEcho(cookie=b'cookie-of-16-bytes'))
s2c(5000, TC, SCTPChunkCookieAck())
c2s(5000, TS, data(1))
s2c(5000, TC, SCTPChunkSACK(cumul_tsn_ack=1, a_rwnd=65536))
c2s(5000, 0xdeadbeef, data(2))  # wrong verification tag: INVALID
s2c(5000, TC, SCTPChunkHeartbeatReq())
c2s(5000, TS, SCTPChunkHeartbeatAck())
c2s(5000, TS, SCTPChunkShutdown(cumul_tsn_ack=100))
s2c(5000, TC, SCTPChunkShutdownAck())
c2s(5000, TS, SCTPChunkShutdownComplete())
# 13-16: no new flow from these.
c2s(5001, 0x33333333, SCTPChunkInit(init_tag=0x44444444, init_tsn=1))  # INIT with a non-zero verification tag
c2s(5002, 0x55555555, data(1))  # DATA without an association
c2s(5003, 0x55555555, SCTPChunkAbort())  # an out-of-the-blue ABORT
c2s(5004, 0, SCTPChunkInit(init_tag=0x66666666, init_tsn=1), data(1))  # INIT bundled with another chunk
# 17-18: a flow picked up from a HEARTBEAT, established by its HEARTBEAT_ACK.
c2s(5005, 0x77777777, SCTPChunkHeartbeatReq())
s2c(5005, 0x88888888, SCTPChunkHeartbeatAck())
# 19-21: INIT, then the server's INIT_ACK with the wrong verification tag, then the right one.
c2s(5006, 0, SCTPChunkInit(init_tag=0x99999999, init_tsn=1))
s2c(5006, 0x12345678, SCTPChunkInitAck(init_tag=0xaaaaaaaa, init_tsn=1))
s2c(5006, 0x99999999, SCTPChunkInitAck(init_tag=0xaaaaaaaa, init_tsn=1))

for i, p in enumerate(pkts):
    p.time = 1767225600 + i * 0.01
wrpcap(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'sctp.pcap'), pkts)
