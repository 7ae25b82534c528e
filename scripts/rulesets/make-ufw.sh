#!/bin/sh
# Generates fixtures/rulesets/ufw-*.rules{,6}: what the real ufw (Debian's
# package) loads, dumped with iptables-save / ip6tables-save, for
# - ufw-workstation: a workstation that allows SSH, HTTP(S) and a
#   rate-limited port and denies SMTP from one network;
# - ufw-router: a NAT router set up as ufw-framework(8) says under "IP
#   Masquerading" (ip_forward in /etc/ufw/sysctl.conf, a *nat section with
#   MASQUERADE after before.rules' *filter, `ufw route allow in on eth1 out on
#   eth0 from 10.0.0.0/8`), with SSH and DNS allowed from the LAN. ufw runs in a network
# namespace of its own and a mount namespace where /etc/ufw, /lib/ufw and /run
# are private copies: the machine's own firewall and configuration are never
# touched. Needs root and `apt-get install ufw`.
set -eu
out=$(cd "$(dirname "$0")/../../fixtures/rulesets" && pwd)
work=$(mktemp -d /tmp/fwemu-ufw.XXXXXX)
ns=fwemu-ufw-$$
trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$work"' EXIT
run() { # run NAME COMMANDS: ufw from a fresh copy of the package's configuration, in a fresh namespace
  ip netns del "$ns" 2>/dev/null || true
  ip netns add "$ns"
  rm -rf "$work/etc-ufw" "$work/lib-ufw" "$work/run"
  cp -a /etc/ufw "$work/etc-ufw"
  cp -a /lib/ufw "$work/lib-ufw"
  mkdir "$work/run"
  ip netns exec "$ns" unshare -m sh -eu -c '
    mount --make-rprivate /
    mount --bind "$1/etc-ufw" /etc/ufw
    mount --bind "$1/lib-ufw" /lib/ufw
    mount --bind "$1/run" /run
    eval "$3"
    iptables-save > "$1/$2.rules"
    ip6tables-save > "$1/$2.rules6"
  ' sh "$work" "$1" "$2"
  # The dumps carry their date and counters: kept as iptables-save wrote them.
  cp "$work/$1.rules" "$out/$1.rules"
  cp "$work/$1.rules6" "$out/$1.rules6"
  echo "wrote $out/$1.rules and .rules6"
}
run ufw-workstation '
  ufw --force enable >/dev/null
  ufw allow 22/tcp >/dev/null
  ufw allow 80,443/tcp >/dev/null
  ufw limit 2222/tcp >/dev/null
  ufw deny from 198.51.100.0/24 to any port 25 proto tcp >/dev/null
'
run ufw-router '
  sed -i "s|^#net/ipv4/ip_forward=1|net/ipv4/ip_forward=1|" /etc/ufw/sysctl.conf
  printf "%s\n" "*nat" ":POSTROUTING ACCEPT [0:0]" "-A POSTROUTING -s 10.0.0.0/8 -o eth0 -j MASQUERADE" "COMMIT" >> /etc/ufw/before.rules
  ip link add eth0 type veth peer name peer0
  ip link add eth1 type veth peer name peer1
  ufw --force enable >/dev/null
  ufw route allow in on eth1 out on eth0 from 10.0.0.0/8 >/dev/null
  ufw allow in on eth1 to any port 22 proto tcp >/dev/null
  ufw allow in on eth1 to any port 53 >/dev/null
'
