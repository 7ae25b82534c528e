# A ufw-style ruleset (the chains and rule shapes ufw's before.rules and user.rules give, `ufw limit ssh`, `ufw allow 80/tcp`), minus ufw's -m recent.
$I -N ufw-before-input
$I -N ufw-user-input
$I -N ufw-after-input
$I -N ufw-logging-deny
$I -N ufw-user-limit
$I -N ufw-user-limit-accept
$I -P INPUT DROP
$I -A INPUT -j ufw-before-input
$I -A INPUT -j ufw-after-input
$I -A ufw-before-input -i lo -j ACCEPT
$I -A ufw-before-input -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
$I -A ufw-before-input -m conntrack --ctstate INVALID -j ufw-logging-deny
$I -A ufw-before-input -m conntrack --ctstate INVALID -j DROP
$I -A ufw-before-input -p icmp -m icmp --icmp-type 3 -j ACCEPT
$I -A ufw-before-input -p icmp -m icmp --icmp-type 11 -j ACCEPT
$I -A ufw-before-input -p icmp -m icmp --icmp-type 12 -j ACCEPT
$I -A ufw-before-input -p icmp -m icmp --icmp-type 8 -j ACCEPT
$I -A ufw-before-input -p udp -m udp --sport 67 --dport 68 -j ACCEPT
$I -A ufw-before-input -d 224.0.0.251/32 -p udp -m udp --dport 5353 -j ACCEPT
$I -A ufw-before-input -j ufw-user-input
$I -A ufw-after-input -p udp -m udp --dport 137 -j DROP
$I -A ufw-after-input -m addrtype --dst-type BROADCAST -j DROP
$I -A ufw-logging-deny -m conntrack --ctstate INVALID -m limit --limit 3/min --limit-burst 10 -j RETURN
$I -A ufw-logging-deny -m limit --limit 3/min --limit-burst 10 -j LOG --log-prefix "[UFW BLOCK] "
$I -A ufw-user-input -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ufw-user-limit-accept
$I -A ufw-user-input -p tcp -m tcp --dport 80 -j ACCEPT
$I -A ufw-user-limit -m limit --limit 3/min -j LOG --log-prefix "[UFW LIMIT BLOCK] "
$I -A ufw-user-limit -j REJECT --reject-with icmp-port-unreachable
$I -A ufw-user-limit-accept -j ACCEPT
