/**
 * Firewall-model rule sets shared by the nft and iptables export tests:
 * the design's home router (docs: /work/notes/design-17.md), and one that
 * uses every condition and statement of rules/firewall.ts at least once.
 */
import type { Firewall } from '../../src/rules/firewall.js';
import { addrSet, addrs, chain, cidr, iface, nat, portSet, ports } from './fw-build.js';

/** The design's example: LAN and WAN, a port forward, masquerade, SSH from the LAN through a user chain. */
export function homeRouter(): Firewall {
  const admins = addrSet('admins', 'ipv4_addr', ['192.168.1.10', '192.168.1.20-192.168.1.30']);
  const web = portSet('web', [80, 443, '8000-8099']);
  const v6nets = addrSet('v6nets', 'ipv6_addr', ['fd00::/8']);
  const sets = [admins, web, v6nets];
  return {
    interfaces: [
      iface('lan0', ['192.168.1.1/24', 'fd00:1::1/64'], ['192.168.2.0/24']),
      iface('wan0', ['203.0.113.1/24'], [], true),
    ],
    sets,
    chains: [
      chain('prerouting', { hook: 'prerouting', type: 'nat', priority: -100 }, [
        { id: 'web-fwd', iif: ['wan0'], proto: 'tcp', dport: ports([80]), nat: nat('dnat', '192.168.1.10', '8080') },
      ]),
      chain('postrouting', { hook: 'postrouting', type: 'nat', priority: 100 }, [
        { id: 'lan-out', oif: ['wan0'], nat: nat('masquerade', null) },
      ]),
      chain('forward', { hook: 'forward', policy: 'drop' }, [
        { ctState: ['established', 'related'], action: 'accept' },
        { ctState: ['invalid'], action: 'drop' },
        { iif: ['lan0'], oif: ['wan0'], action: 'accept' },
        { ctStatus: ['dnat'], action: 'accept' },
      ]),
      chain('input', { hook: 'input', policy: 'drop' }, [
        { ctState: ['established', 'related'], action: 'accept' },
        { iif: ['lo'], action: 'accept' },
        { iif: ['lan0'], proto: 'tcp', dport: ports([22]), action: 'jump', target: 'ssh_in' },
        { id: 'web-in', proto: 'tcp', dport: ports(['@web'], sets), src: addrs(['@v6nets'], sets), action: 'accept' },
      ]),
      chain('ssh_in', {}, [
        {
          src: addrs(['@admins'], sets),
          limit: { rate: 10, unit: 'minute', burst: 5, over: false, text: '10/minute burst 5 packets' },
          log: { prefix: 'ssh: ', level: null },
          action: 'accept',
        },
        { action: 'return' },
      ]),
    ],
  };
}

/** Every condition and statement at least once, both families, several base chains on one hook. */
export function kitchenSink(): Firewall {
  const lanv4 = addrSet('lanv4', 'ipv4_addr', ['10.0.0.0/8', '10.1.0.0/16', '172.16.0.5', '172.16.1.1-172.16.1.9']);
  const lanv6 = addrSet('lanv6', 'ipv6_addr', ['fd00::/8', '2001:db8::1-2001:db8::9']);
  const svc = portSet('svc', [22, 53, '8000-8099']);
  const sets = [lanv4, lanv6, svc];
  return {
    interfaces: [iface('eth0', ['198.51.100.2/24', '2001:db8:1::2/64'], [], true), iface('br-lan', ['10.0.0.1/8'])],
    sets,
    chains: [
      chain('early', { hook: 'forward', priority: -10, policy: 'accept' }, [
        { ctState: ['invalid'], counter: true, action: 'drop' },
        { pktType: ['broadcast', 'multicast'], action: 'drop' },
        { iif: ['eth*', 'wg0'], src: addrs(['10.0.0.0/8', 'fd00::/8']), action: 'drop' },
        { id: 'early-log', counter: true, log: { prefix: 'early ', level: 'info' }, action: 'continue' },
      ]),
      chain('filter_fwd', { hook: 'forward', priority: 0, policy: 'drop' }, [
        { ctState: ['established', 'related'], action: 'accept' },
        { src: addrs(['@lanv4'], sets), proto: 'tcp', dport: ports(['@svc'], sets), action: 'jump', target: 'svc_in' },
        {
          src: addrs(['@lanv6'], sets),
          proto: 'udp',
          sport: ports([53]),
          dport: ports([53, '1024-2048']),
          action: 'accept',
        },
        {
          proto: 'tcp',
          tcpFlags: { mask: 0x17, value: 0x02, text: 'syn / fin,syn,rst,ack' },
          dst: addrs(['192.0.2.1-192.0.2.9', '2001:db8::/32']),
          action: 'goto',
          target: 'svc_in',
        },
        {
          proto: 'icmp',
          icmp: { types: [8, 0], codes: null },
          limit: { rate: 5, unit: 'second', burst: 10, over: true, text: '' },
          action: 'drop',
        },
        { proto: 'icmpv6', icmp: { types: [1], codes: [4, 3] }, action: 'accept' },
        { proto: 'icmp', action: 'accept' },
        { ctStatus: ['dnat', 'snat'], family: 4, action: 'accept' },
        { proto: 'tcp', dport: ports([23]), action: 'reject', rejectWith: 'tcp reset' },
        { family: 6, action: 'reject', rejectWith: 'icmpv6 admin-prohibited' },
        { family: 4, action: 'reject', rejectWith: 'icmp host-prohibited' },
        { action: 'reject', rejectWith: 'icmpx port-unreachable' },
      ]),
      chain('svc_in', {}, [
        { proto: 'tcp', dport: ports([22]), src: addrs(['10.1.0.0/16']), action: 'accept' },
        { ctState: ['new'], ctStatus: ['assured', 'seen-reply'], action: 'return' },
        { action: 'jump', target: 'deeper' },
        { action: 'drop' },
      ]),
      chain('deeper', {}, [{ oif: ['eth0'], action: 'accept' }]),
      chain('in', { hook: 'input', policy: 'drop' }, [
        { iif: ['lo'], action: 'accept' },
        { ctState: ['established', 'related'], action: 'accept' },
        { proto: 'tcp', dport: ports([22]), action: 'jump', target: 'svc_in' },
      ]),
      chain('out', { hook: 'output', policy: 'accept' }, [{ ctState: ['untracked'], action: 'drop' }]),
      chain('nat_pre', { hook: 'prerouting', type: 'nat', priority: -100 }, [
        {
          iif: ['eth0'],
          proto: 'tcp',
          dport: ports([80]),
          nat: nat('dnat', '10.0.0.10-10.0.0.12', '8080-8081', ['random', 'persistent']),
        },
        { iif: ['eth0'], proto: 'tcp', dport: ports([443]), nat: nat('dnat', 'fd00::10', '8443') },
        { iif: ['eth0'], proto: 'udp', dport: ports([53]), nat: nat('redirect', null, '5353') },
        { iif: ['eth0'], family: 6, nat: nat('dnat', 'fd00::20-fd00::22') },
      ]),
      chain('nat_post', { hook: 'postrouting', type: 'nat', priority: 100 }, [
        { oif: ['eth0'], proto: 'udp', nat: nat('masquerade', null, '40000-40100', ['fully-random']) },
        {
          oif: ['eth0'],
          src: addrs(['10.0.0.0/8']),
          nat: nat('snat', '198.51.100.2-198.51.100.3', null, ['persistent']),
        },
        { oif: ['eth0'], src: addrs(['fd00::/8']), nat: nat('snat', '2001:db8:1::2') },
        { oif: ['eth0'], nat: nat('masquerade', null) },
      ]),
    ],
  };
}

export { cidr };
