$I -t nat -N PORTFWD
$I -t nat -A PREROUTING -i eth0 -j PORTFWD
$I -t nat -A PORTFWD -p tcp --dport 80 -j DNAT --to-destination 10.0.0.2:8080
$I -t nat -A PORTFWD -p tcp --dport 81 -j DNAT --to-destination 10.0.0.2-10.0.0.5:8000-8010
$I -t nat -A PORTFWD -p udp --dport 82 -j DNAT --to-destination 10.0.0.9 --random
$I -t nat -A PREROUTING -p tcp --dport 83 -j REDIRECT --to-ports 3128
$I -t nat -A OUTPUT -p tcp -d 198.51.100.1 -j DNAT --to-destination 10.0.0.3
$I -t nat -A POSTROUTING -o eth0 -p tcp -j MASQUERADE --to-ports 1024-2000 --random
$I -t nat -A POSTROUTING -o eth0 -j MASQUERADE
$I -t nat -A POSTROUTING -o eth1 -j SNAT --to-source 1.2.3.4
$I -t nat -A POSTROUTING -o eth2 -p udp -j SNAT --to-source 1.2.3.4-1.2.3.8:5000-6000 --persistent
$I -t nat -A POSTROUTING -m conntrack --ctstate DNAT -j ACCEPT
$I -t nat -A INPUT -s 10.9.0.0/16 -j SNAT --to-source 10.9.255.1
$I -A FORWARD -m conntrack --ctstate NEW,DNAT -j ACCEPT
$I -A FORWARD -m conntrack ! --ctstate INVALID,SNAT -j ACCEPT
$I -A FORWARD -p tcp -m multiport --ports 22,80 -j ACCEPT
$I -A FORWARD -p tcp -m multiport ! --ports 25 -j ACCEPT
