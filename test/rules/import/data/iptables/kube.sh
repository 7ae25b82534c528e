# kube-proxy (iptables mode) shapes for one ClusterIP service with one endpoint, minus -m statistic.
$I -t nat -N KUBE-SERVICES
$I -t nat -N KUBE-POSTROUTING
$I -t nat -N KUBE-MARK-MASQ
$I -t nat -N KUBE-SVC-WEB
$I -t nat -N KUBE-SEP-WEB1
$I -t nat -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
$I -t nat -A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
$I -t nat -A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
$I -t nat -A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
$I -t nat -A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
$I -t nat -A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
$I -t nat -A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
$I -t nat -A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m comment --comment "default/web cluster IP" -m tcp --dport 80 -j KUBE-SVC-WEB
$I -t nat -A KUBE-SERVICES -m comment --comment "kubernetes service nodeports" -m addrtype --dst-type LOCAL -j RETURN
$I -t nat -A KUBE-SVC-WEB ! -s 10.244.0.0/16 -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ
$I -t nat -A KUBE-SVC-WEB -j KUBE-SEP-WEB1
$I -t nat -A KUBE-SEP-WEB1 -s 10.244.1.5/32 -j KUBE-MARK-MASQ
$I -t nat -A KUBE-SEP-WEB1 -p tcp -m tcp -j DNAT --to-destination 10.244.1.5:8080
$I -N KUBE-FORWARD
$I -A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
$I -A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
$I -A KUBE-FORWARD -m mark --mark 0x4000/0x4000 -j ACCEPT
$I -A KUBE-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
