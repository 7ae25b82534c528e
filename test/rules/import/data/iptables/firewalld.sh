# firewalld (iptables backend) shapes: zone chains, DNAT-aware conntrack state, rpfilter in raw, REJECT with admin-prohibited.
$I -N INPUT_direct
$I -N INPUT_ZONES
$I -N IN_public
$I -N IN_public_allow
$I -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT
$I -A INPUT -i lo -j ACCEPT
$I -A INPUT -j INPUT_direct
$I -A INPUT -j INPUT_ZONES
$I -A INPUT -m conntrack --ctstate INVALID -j DROP
$I -A INPUT -j REJECT --reject-with icmp-host-prohibited
$I -A INPUT_ZONES -i eth0 -g IN_public
$I -A INPUT_ZONES -g IN_public
$I -A IN_public -j IN_public_allow
$I -A IN_public -p icmp -j ACCEPT
$I -A IN_public_allow -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW,UNTRACKED -j ACCEPT
$I -t raw -A PREROUTING -m rpfilter --invert -j DROP
$I -t raw -A PREROUTING -p udp --dport 546 -j CT --notrack
