# The rules Docker (libnetwork, iptables mode) installs for the default bridge with one published port (-p 8080:80).
$I -N DOCKER
$I -N DOCKER-ISOLATION-STAGE-1
$I -N DOCKER-ISOLATION-STAGE-2
$I -N DOCKER-USER
$I -P FORWARD DROP
$I -A FORWARD -j DOCKER-USER
$I -A FORWARD -j DOCKER-ISOLATION-STAGE-1
$I -A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
$I -A FORWARD -o docker0 -j DOCKER
$I -A FORWARD -i docker0 ! -o docker0 -j ACCEPT
$I -A FORWARD -i docker0 -o docker0 -j ACCEPT
$I -A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
$I -A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
$I -A DOCKER-ISOLATION-STAGE-1 -j RETURN
$I -A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
$I -A DOCKER-ISOLATION-STAGE-2 -j RETURN
$I -A DOCKER-USER -j RETURN
$I -t nat -N DOCKER
$I -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
$I -t nat -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
$I -t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
$I -t nat -A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE
$I -t nat -A DOCKER -i docker0 -j RETURN
$I -t nat -A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
