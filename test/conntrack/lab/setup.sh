#!/bin/bash
# Lab for checking fwemu's conntrack against the running kernel (see README.md).
# a (10.1.0.2, fd01::2) -- b router (10.1.0.1/10.2.0.1) -- c (10.2.0.2, fd02::2)
set -e
for n in a b c; do ip netns add ct-helper-$n; done
ip link add va type veth peer name vba
ip link set va netns ct-helper-a; ip link set vba netns ct-helper-b
ip link add vc type veth peer name vbc
ip link set vc netns ct-helper-c; ip link set vbc netns ct-helper-b
A="ip netns exec ct-helper-a"; B="ip netns exec ct-helper-b"; C="ip netns exec ct-helper-c"
$A ip addr add 10.1.0.2/24 dev va; $A ip -6 addr add fd01::2/64 dev va nodad; $A ip link set va up; $A ip link set lo up
$A ip route add default via 10.1.0.1; $A ip -6 route add default via fd01::1
$C ip addr add 10.2.0.2/24 dev vc; $C ip -6 addr add fd02::2/64 dev vc nodad; $C ip link set vc up; $C ip link set lo up
$C ip route add default via 10.2.0.1; $C ip -6 route add default via fd02::1
$B ip addr add 10.1.0.1/24 dev vba; $B ip -6 addr add fd01::1/64 dev vba nodad; $B ip link set vba up
$B ip addr add 10.2.0.1/24 dev vbc; $B ip -6 addr add fd02::1/64 dev vbc nodad; $B ip link set vbc up; $B ip link set lo up
$B sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
for X in "$A" "$C"; do $X nft -f - <<'NFT'
table inet quiet {
 chain in {
  type filter hook input priority 0; policy accept;
  meta l4proto tcp drop
  meta l4proto udp drop
  icmp type { echo-request, timestamp-request } drop
  icmpv6 type echo-request drop
  meta l4proto { gre, 99 } drop
 }
}
NFT
done
$B nft -f - <<'NFT'
table inet fw {
  chain fchk { type filter hook forward priority 0; policy accept;
    ct state invalid counter name cinv
    ct state new counter name cnew
    ct state established counter name cest
    ct state related counter name crel
    ct state untracked counter name cunt
  }
  counter cinv {}
  counter cnew {}
  counter cest {}
  counter crel {}
  counter cunt {}
}
NFT
echo ok
