$I -t mangle -A PREROUTING -m rpfilter --invert -j DROP
$I -t mangle -A PREROUTING -m rpfilter --loose -j ACCEPT
$I -t mangle -A PREROUTING -i eth0 -j MARK --set-mark 0x1
$I -t mangle -A PREROUTING -i eth1 -j MARK --set-mark 0x10/0xf0
$I -t mangle -A PREROUTING -j MARK --set-xmark 0x1/0x3
$I -t mangle -A PREROUTING -j MARK --or-mark 0x4
$I -t mangle -A PREROUTING -j MARK --and-mark 0x4
$I -t mangle -A PREROUTING -j MARK --xor-mark 0x8
$I -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu
$I -t mangle -A OUTPUT -m mark --mark 0x1 -j ACCEPT
$I -t raw -A PREROUTING -p udp --dport 53 -j CT --notrack
$I -t raw -A PREROUTING -p udp --dport 54 -j NOTRACK
$I -t raw -A OUTPUT -p tcp --dport 21 -j CT --helper ftp
$I -t security -A INPUT -j ACCEPT
$I -t filter -A INPUT -m addrtype --dst-type LOCAL -j ACCEPT
