#!/bin/sh
# Generates fixtures/rulesets/ufw-*.rules{,6}: what the real ufw (Debian's
# package) loads for a workstation that allows SSH, HTTP(S) and a rate-limited
# port, dumped with iptables-save / ip6tables-save. ufw runs in a network
# namespace of its own and a mount namespace where /etc/ufw, /lib/ufw and /run
# are private copies: the machine's own firewall and configuration are never
# touched. Needs root and `apt-get install ufw`.
set -eu
out=$(cd "$(dirname "$0")/../../fixtures/rulesets" && pwd)
work=$(mktemp -d /tmp/fwemu-ufw.XXXXXX)
ns=fwemu-ufw-$$
cp -a /etc/ufw "$work/etc-ufw"
cp -a /lib/ufw "$work/lib-ufw"
mkdir "$work/run"
ip netns add "$ns"
trap 'ip netns del "$ns"; rm -rf "$work"' EXIT
ip netns exec "$ns" unshare -m sh -eu -c '
  mount --make-rprivate /
  mount --bind "$1/etc-ufw" /etc/ufw
  mount --bind "$1/lib-ufw" /lib/ufw
  mount --bind "$1/run" /run
  ufw --force enable >/dev/null
  ufw allow 22/tcp >/dev/null
  ufw allow 80,443/tcp >/dev/null
  ufw limit 2222/tcp >/dev/null
  ufw deny from 198.51.100.0/24 to any port 25 proto tcp >/dev/null
  iptables-save > "$1/ufw.rules"
  ip6tables-save > "$1/ufw.rules6"
' sh "$work"
# The dumps carry their date and packet counters: keep them as iptables-save wrote them.
cp "$work/ufw.rules" "$out/ufw-workstation.rules"
cp "$work/ufw.rules6" "$out/ufw-workstation.rules6"
echo "wrote $out/ufw-workstation.rules and .rules6"
