#!/bin/sh
# Makes the iptables test dumps with the real tools: each NAME.sh here runs
# iptables / ip6tables commands ($I, $I6) in a private network namespace;
# NAME.dump is what iptables-save (or ip6tables-save) then prints, NAME.nft
# what `nft list ruleset` prints (counters cleared): the kernel's own view
# of the same rules, the truth test/rules/import/iptables-kernel.test.ts
# holds the reader to. Run as root: sh make-dumps.sh [NAME...]
set -eu
cd "$(dirname "$0")"
names=${*:-$(ls ./*.sh | grep -v make-dumps | sed 's|^\./||; s|\.sh$||')}
for n in $names; do
  ns="fwemu-ipt-$$"
  ip netns add "$ns"
  I="ip netns exec $ns iptables"
  I6="ip netns exec $ns ip6tables"
  export I I6
  if ! sh -eu "./$n.sh"; then ip netns del "$ns"; echo "$n.sh failed" >&2; exit 1; fi
  save=iptables-save
  grep -q '^\$I6 ' "./$n.sh" && save=ip6tables-save
  # The header's date line changes every run; the dump is otherwise what the tool printed.
  ip netns exec "$ns" $save | sed 's/ on [A-Z][a-z][a-z] .*$//' > "$n.dump"
  ip netns exec "$ns" nft list ruleset | sed 's/counter packets [0-9]* bytes [0-9]* //' > "$n.nft"
  ip netns del "$ns"
done
