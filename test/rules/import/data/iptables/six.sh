$I6 -P INPUT DROP
$I6 -N icmp6
$I6 -A INPUT -i lo -j ACCEPT
$I6 -A INPUT -s fe80::/10 -p ipv6-icmp -j icmp6
$I6 -A INPUT -s 2001:db8::/32,fd00::1 -d fd00:1::/64 -j ACCEPT
$I6 -A INPUT -p tcp -m conntrack --ctstate NEW -m tcp --dport 22 -j ACCEPT
$I6 -A INPUT -m iprange --src-range fd00::10-fd00::20 -j DROP
$I6 -A INPUT -p udp -j REJECT --reject-with icmp6-adm-prohibited
$I6 -A INPUT -p udp -j REJECT --reject-with icmp6-addr-unreachable
$I6 -A INPUT -j REJECT
$I6 -A icmp6 -p ipv6-icmp -m icmp6 --icmpv6-type 135 -j ACCEPT
$I6 -A icmp6 -p ipv6-icmp -m icmp6 --icmpv6-type echo-request -j ACCEPT
$I6 -A icmp6 -p ipv6-icmp -m icmp6 --icmpv6-type 1/4 -j ACCEPT
$I6 -A icmp6 -p ipv6-icmp -m icmp6 ! --icmpv6-type 136 -j RETURN
$I6 -A icmp6 -j ACCEPT
$I6 -t nat -A PREROUTING -i eth0 -p tcp --dport 80 -j DNAT --to-destination [fd00::2]:8080
$I6 -t nat -A PREROUTING -i eth0 -p udp --dport 81 -j DNAT --to-destination fd00::3
$I6 -t nat -A POSTROUTING -o eth0 -j MASQUERADE
$I6 -t nat -A POSTROUTING -o eth1 -j SNAT --to-source 2001:db8::1-2001:db8::5
$I6 -t mangle -A PREROUTING -m rpfilter --invert -j DROP
$I6 -A INPUT -m addrtype --dst-type LOCAL -p tcp -m multiport --dports 80,443 -j ACCEPT
$I6 -A INPUT -p tcp -j REJECT --reject-with tcp-reset
$I6 -A INPUT ! -s fd00::/8 -m mark --mark 0x1/0x1 -j DROP
$I6 -A FORWARD -i eth0 -o eth1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
$I6 -A FORWARD -p ipv6-icmp -m icmp6 --icmpv6-type echo-request -m limit --limit 10/sec -j ACCEPT
$I6 -t nat -A PREROUTING -i eth0 -p tcp --dport 82 -j DNAT --to-destination [fd00::2-fd00::5]:8000-8010
$I6 -t nat -A PREROUTING -i eth0 -p tcp --dport 83 -j REDIRECT --to-ports 8080
$I6 -t raw -A PREROUTING -p udp --dport 546 -j CT --notrack
