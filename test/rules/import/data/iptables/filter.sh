$I -P INPUT DROP
$I -N web
$I -N web2
$I -A INPUT -i lo -j ACCEPT
$I -A INPUT ! -i eth+ -s 10.0.0.0/8,192.168.0.0/16 -j ACCEPT
$I -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
$I -A INPUT -m conntrack ! --ctstate INVALID --ctstatus CONFIRMED -j ACCEPT
$I -A INPUT -m state --state NEW -p tcp --dport 22 -j ACCEPT
$I -A INPUT -p tcp -m multiport --dports 80,443,8000:8080 -j web
$I -A INPUT -p udp -m multiport ! --sports 53,123 -j DROP
$I -A INPUT -p tcp ! --sport 1024:65535 --tcp-flags SYN,RST,ACK SYN -j DROP
$I -A INPUT -p tcp ! --syn -m state --state NEW -j DROP
$I -A INPUT -p tcp --syn -j LOG --log-prefix "new conn: " --log-level 6
$I -A INPUT -p icmp --icmp-type echo-request -m limit --limit 5/sec --limit-burst 10 -j ACCEPT
$I -A INPUT -p icmp ! --icmp-type 0 -m limit --limit 3/min -j NFLOG --nflog-group 2 --nflog-prefix "icmp"
$I -A INPUT -m iprange --src-range 10.1.1.1-10.1.1.9 -j DROP
$I -A INPUT -m iprange ! --dst-range 10.2.0.0-10.2.0.255 -j DROP
$I -A INPUT -m addrtype --dst-type BROADCAST,MULTICAST -j DROP
$I -A INPUT -m addrtype ! --src-type LOCAL --limit-iface-in -j DROP
$I -A INPUT -m comment --comment "a \"quoted\" b" -j ACCEPT
$I -A INPUT -m pkttype --pkt-type broadcast -j DROP
$I -A INPUT -m pkttype ! --pkt-type multicast -i eth9 -j DROP
$I -A INPUT -m mark --mark 0x4/0xff -j ACCEPT
$I -A INPUT -m mark ! --mark 0x7 -j ACCEPT
$I -A INPUT -d 203.0.113.0/24 -p udp -j REJECT --reject-with icmp-host-prohibited
$I -A INPUT ! -d 203.0.113.7 -p udp -j REJECT --reject-with icmp-admin-prohibited
$I -A INPUT -p udp -j REJECT --reject-with icmp-net-unreachable
$I -A INPUT -p tcp -j REJECT --reject-with tcp-reset
$I -A INPUT -j REJECT
$I -A FORWARD -i eth0 -o eth1 -m conntrack --ctstate NEW -j ACCEPT
$I -A FORWARD ! -o eth1 -j DROP
$I -P FORWARD DROP
$I -A OUTPUT -p udp --dport 53 -j ACCEPT
$I -A OUTPUT -p 17 --sport 67:68 -j ACCEPT
$I -A web -s 1.2.3.4 -j RETURN
$I -A web -g web2
$I -A web2 ! -p udp -j ACCEPT
$I -A web2 -p tcp -j ACCEPT
