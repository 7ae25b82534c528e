# Turns the "iptables commands" blocks of moby's generated iptables
# documentation (integration/network/bridge/iptablesdoc/generated/*.md: the
# `iptables -S` output of a real dockerd, one block per table, in the order
# filter, nat, raw) into the iptables-save form iptables-restore reads: the
# rule lines are kept byte for byte; only the table header, the chain
# declarations (from -P and -N) and COMMIT are added around them.
BEGIN { split("filter nat raw", names, " "); t = 0 }
/<summary>iptables commands<\/summary>/ { inblock = 1; t++; n = 0; next }
inblock && /<\/details>/ {
  print "*" names[t]
  for (i = 1; i <= nc; i++) print chains[i]
  for (i = 1; i <= n; i++) print rules[i]
  print "COMMIT"
  inblock = 0; nc = 0; n = 0
  next
}
inblock {
  line = $0; sub(/^    /, "", line)
  if (line ~ /^-P /) { split(line, w, " "); chains[++nc] = ":" w[2] " " w[3] " [0:0]" }
  else if (line ~ /^-N /) { split(line, w, " "); chains[++nc] = ":" w[2] " - [0:0]" }
  else if (line ~ /^-A /) rules[++n] = line
}
