#!/bin/sh
# Generates fixtures/rulesets/firewalld-router.nft and .json: what the real
# firewalld (Debian's package, nftables backend) loads for a small router
# (eth0 in zone public with SSH, HTTP, masquerade and a port forward to a LAN
# host; eth1 in zone internal), dumped with `nft list ruleset` and
# `nft -j list ruleset`. firewalld runs in a network namespace of its own, in
# a mount namespace with private copies of /etc/firewalld, /run and /var/log,
# on a private D-Bus daemon: the machine's own firewall, configuration and
# bus are never touched. Needs root and `apt-get install firewalld`.
set -eu
out=$(cd "$(dirname "$0")/../../fixtures/rulesets" && pwd)
work=$(mktemp -d /tmp/fwemu-firewalld.XXXXXX)
ns=fwemu-fwd-$$
cp -a /etc/firewalld "$work/etc-firewalld"
mkdir "$work/run" "$work/log"
ip netns add "$ns"
trap 'ip netns del "$ns"; rm -rf "$work"' EXIT
ip netns exec "$ns" unshare -m sh -eu -c '
  w=$1
  mount --make-rprivate /
  mount --bind "$w/etc-firewalld" /etc/firewalld
  mount --bind "$w/log" /var/log
  ip link add eth0 type veth peer name peer0
  ip link add eth1 type veth peer name peer1
  for i in eth0 eth1 peer0 peer1; do ip link set $i up; done
  ip addr add 203.0.113.2/24 dev eth0
  ip addr add 192.168.100.1/24 dev eth1
  ip route add default via 203.0.113.1
  dbus-daemon --config-file=/usr/share/dbus-1/session.conf --address="unix:path=$w/bus" --fork --print-pid > "$w/dbus.pid"
  export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$w/bus"
  firewalld --nofork --nopid --log-target=console > "$w/firewalld.log" 2>&1 &
  echo $! > "$w/firewalld.pid"
  n=0
  until firewall-cmd --state >/dev/null 2>&1; do
    n=$((n+1)); [ $n -lt 120 ] || { cat "$w/firewalld.log" >&2; exit 1; }; sleep 0.5
  done
  firewall-cmd --zone=public --change-interface=eth0 >/dev/null
  firewall-cmd --zone=internal --change-interface=eth1 >/dev/null
  firewall-cmd --zone=public --add-service=http >/dev/null
  firewall-cmd --zone=public --add-masquerade >/dev/null
  firewall-cmd --zone=public --add-forward-port=port=8080:proto=tcp:toport=80:toaddr=192.168.100.10 >/dev/null
  nft list ruleset > "$w/firewalld.nft"
  nft -j list ruleset > "$w/firewalld.json"
  kill $(cat "$w/firewalld.pid")
  wait || true
  kill $(cat "$w/dbus.pid")
' sh "$work"
cp "$work/firewalld.nft" "$out/firewalld-router.nft"
cp "$work/firewalld.json" "$out/firewalld-router.json"
echo "wrote $out/firewalld-router.nft and .json"
