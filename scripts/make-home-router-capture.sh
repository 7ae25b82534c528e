#!/usr/bin/env bash
# Makes the home-router captures (fixtures/README.md, "Home router"): real
# traffic through a real masquerading nft firewall, captured on both legs.
#
#   hr-lan (eth0) ---- (lan0) hr-router (wan0) ---- (eth0) hr-wan
#   192.168.1.10        192.168.1.1  203.0.113.1     203.0.113.254
#   fd00:1::10          fd00:1::1                    lo: 198.51.100.10 (server)
#                                                        198.51.100.20 (client)
#
# hr-router loads fixtures/home-router.nft (masquerade out of wan0, port
# 8080 on wan0 forwarded to 192.168.1.10:80, SSH and ping only from lan0) and
# routes by default via 203.0.113.254, the "internet" namespace, which holds
# a web server and a DNS responder on 198.51.100.10 and a client on
# 198.51.100.20. hr-lan runs a web server on port 80 (the port-forward target).
#
# Traffic, in this order: curl from the LAN to http://198.51.100.10/, ping
# (2 echoes), a DNS query to 198.51.100.10:53 and its answer, ping -6 of the
# router's LAN address, an SSH connect from 198.51.100.20 to 203.0.113.1:22
# (dropped by the input chain), and curl from 198.51.100.20 to
# http://203.0.113.1:8080/ (DNAT to the LAN web server).
#
# Runs as root, in its own network namespaces only: every nft, sysctl and
# capture command runs inside one of them (ip netns exec); the host's own
# firewall and interfaces are never touched. Its trap removes the
# namespaces and stops its servers on any exit.
#
# Usage: sudo scripts/make-home-router-capture.sh [OUTDIR]   (default: fixtures/)
# Needs: iproute2, nft, tcpdump, dumpcap, curl, ping (iputils-ping), python3.
# Writes home-router-lan.pcap, home-router-wan.pcap (tcpdump, one leg each)
# and home-router.pcapng (dumpcap -i lan0 -i wan0: both legs, named IDBs),
# and home-router.conntrack (the router's `conntrack -L` afterwards).
set -euo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mkdir -p "${1:-$HERE/fixtures}" && cd "${1:-$HERE/fixtures}" && pwd)
PY=${PYTHON:-/usr/bin/python3}
RULES="$HERE/fixtures/home-router.nft"

if [ "$(id -u)" -ne 0 ]; then
  echo "make-home-router-capture.sh: needs root (network namespaces)" >&2
  exit 1
fi
for cmd in ip nft tcpdump dumpcap curl ping "$PY"; do
  command -v "$cmd" >/dev/null 2>&1 || { echo "make-home-router-capture.sh: missing $cmd" >&2; exit 1; }
done

L=hr-lan R=hr-router W=hr-wan
NSES=("$L" "$R" "$W")
WORK=$(mktemp -d /tmp/fwemu-home-router.XXXXXX)
PIDS=()

log() { echo "make-home-router-capture: $*" >&2; }
inns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  for ns in "${NSES[@]}"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- topology --
for ns in "${NSES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
for ns in "${NSES[@]}"; do
  ip netns add "$ns"
  inns "$ns" ip link set lo up
  for k in all default; do
    inns "$ns" sysctl -qw net.ipv6.conf.$k.accept_ra=0 net.ipv6.conf.$k.router_solicitations=0 \
      net.ipv6.conf.$k.accept_dad=0 net.ipv6.conf.$k.dad_transmits=0
  done
done
inns "$R" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1

ip link add eth0 netns "$L" type veth peer name lan0 netns "$R"
ip link add eth0 netns "$W" type veth peer name wan0 netns "$R"
# The WAN is IPv4 only: no IPv6 chatter there.
inns "$W" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
inns "$R" sysctl -qw net.ipv6.conf.wan0.disable_ipv6=1

# Fixed MACs: the tests tell a leg's incoming frames by them.
inns "$L" ip link set eth0 address 02:00:c0:a8:01:0a
inns "$R" ip link set lan0 address 02:00:c0:a8:01:01
inns "$R" ip link set wan0 address 02:00:cb:00:71:01
inns "$W" ip link set eth0 address 02:00:cb:00:71:fe
# No TSO/GSO super-packets, no partial checksums: frames as on a real wire.
if command -v ethtool >/dev/null 2>&1; then
  for pair in "$L:eth0" "$R:lan0" "$R:wan0" "$W:eth0"; do
    inns "${pair%%:*}" ethtool -K "${pair##*:}" tx off tso off gso off gro off >/dev/null 2>&1 || true
  done
fi

inns "$L" ip addr add 192.168.1.10/24 dev eth0
inns "$L" ip -6 addr add fd00:1::10/64 dev eth0 nodad
inns "$R" ip addr add 192.168.1.1/24 dev lan0
inns "$R" ip -6 addr add fd00:1::1/64 dev lan0 nodad
inns "$R" ip addr add 203.0.113.1/24 dev wan0
inns "$W" ip addr add 203.0.113.254/24 dev eth0
inns "$W" ip addr add 198.51.100.10/32 dev lo
inns "$W" ip addr add 198.51.100.20/32 dev lo
for pair in "$L:eth0" "$R:lan0" "$R:wan0" "$W:eth0"; do inns "${pair%%:*}" ip link set "${pair##*:}" up; done
inns "$L" ip route add default via 192.168.1.1
inns "$L" ip -6 route add default via fd00:1::1
inns "$R" ip route add default via 203.0.113.254
# (No route back to 192.168.1.0/24 in the internet: masquerade is what makes replies come back.)

inns "$R" nft -f "$RULES"

# ----------------------------------------------------------------- servers --
mkdir -p "$WORK/www"
printf '<html><body>fwemu home-router fixture page</body></html>\n' >"$WORK/www/index.html"
ip netns exec "$W" "$PY" -m http.server 80 --bind 198.51.100.10 --directory "$WORK/www" >"$WORK/http-wan.log" 2>&1 &
PIDS+=($!)
ip netns exec "$L" "$PY" -m http.server 80 --bind 192.168.1.10 --directory "$WORK/www" >"$WORK/http-lan.log" 2>&1 &
PIDS+=($!)
# A DNS responder (wire format built by hand, no DNS server needed): every
# query is answered with one A record, 198.51.100.10.
ip netns exec "$W" "$PY" -c '
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.51.100.10", 53))
while True:
    q, a = s.recvfrom(512)
    end = q.index(b"\0", 12) + 5  # the question: name, type, class
    ans = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + socket.inet_aton("198.51.100.10")
    s.sendto(q[:2] + b"\x81\x80" + struct.pack("!HHHH", 1, 1, 0, 0) + q[12:end] + ans, a)
' >"$WORK/dns.log" 2>&1 &
PIDS+=($!)

wait_listen() { # ns proto port
  local i
  for i in $(seq 1 200); do
    if [ "$(inns "$1" ss -Hln"$2" "sport = :$3" | wc -l)" -ge 1 ]; then return 0; fi
    sleep 0.1
  done
  log "nothing listening on $2 port $3 in $1"; return 1
}
wait_listen "$W" t 80
wait_listen "$L" t 80
wait_listen "$W" u 53
# Let link-up chatter (MLD reports) die down, and warm the neighbour caches
# (so that ARP does not interleave with the first connection).
sleep 2
inns "$L" ping -c1 -W2 -q 192.168.1.1 >/dev/null
inns "$L" ping -6 -c1 -W2 -q fd00:1::1 >/dev/null
inns "$W" ping -c1 -W1 -q 203.0.113.1 >/dev/null || true   # dropped by the input chain; for ARP only
inns "$R" conntrack -F 2>/dev/null || true

# ---------------------------------------------------------------- captures --
TCPDUMP=(tcpdump -n -U --immediate-mode -Z root -s 262144)
# MLD (IPv6 packets with a hop-by-hop header) is left out: link chatter, not traffic.
FILTER='not (ip6 and ip6[6] == 0)'
start() { # NAME CMD...: start a capture in the router into $WORK/NAME, wait until it listens
  local name=$1; shift
  ip netns exec "$R" "$@" -w "$WORK/$name" 2>"$WORK/$name.log" &
  local pid=$!
  PIDS+=("$pid")
  local i
  for i in $(seq 1 100); do
    if grep -qE 'listening on|Capturing on' "$WORK/$name.log" 2>/dev/null; then return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$WORK/$name.log" >&2; log "capture $name did not start"; return 1
}
N0=${#PIDS[@]}
start home-router-lan.pcap "${TCPDUMP[@]}" -i lan0 "$FILTER"
start home-router-wan.pcap "${TCPDUMP[@]}" -i wan0 "$FILTER"
start home-router.pcapng dumpcap -i lan0 -f "$FILTER" -i wan0 -f "$FILTER"
sleep 0.5

CURL=(curl -s -o /dev/null --max-time 5)
inns "$L" "${CURL[@]}" http://198.51.100.10/
inns "$L" ping -c 2 -i 0.2 -q 198.51.100.10 >/dev/null
inns "$L" "$PY" -c '
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
name = b"".join(bytes([len(p)]) + p for p in b"www.fwemu.test".split(b".")) + b"\0"
s.sendto(struct.pack("!HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + name + struct.pack("!HH", 1, 1), ("198.51.100.10", 53))
s.recv(512)
'
inns "$L" ping -6 -c 1 -q fd00:1::1 >/dev/null
# SSH from the WAN to the router: the input chain drops the SYN (one SYN: 0.5 s < the 1 s retransmit).
inns "$W" "$PY" -c '
import socket
s = socket.socket()
s.bind(("198.51.100.20", 0))
s.settimeout(0.5)
try:
    s.connect(("203.0.113.1", 22))
except OSError:
    pass
'
# The port forward, from the WAN side.
inns "$W" "${CURL[@]}" --interface 198.51.100.20 http://203.0.113.1:8080/

sleep 1
for pid in "${PIDS[@]:$N0}"; do kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; done
PIDS=("${PIDS[@]:0:$N0}")
inns "$R" conntrack -L 2>/dev/null >"$WORK/conntrack.txt" || true
for f in home-router-lan.pcap home-router-wan.pcap home-router.pcapng; do
  chmod 644 "$WORK/$f"
  mv -f "$WORK/$f" "$OUT/$f"
  log "$f: $(stat -c %s "$OUT/$f") bytes"
done
# The router's own table, for the kernel oracle's test to compare with.
mv -f "$WORK/conntrack.txt" "$OUT/home-router.conntrack"
chmod 644 "$OUT/home-router.conntrack"
log "home-router.conntrack: the router's conntrack -L at the end, $(wc -l <"$OUT/home-router.conntrack") entries"
