/**
 * What iptables itself knows by name: its tables and their built-in
 * chains (with the hook, type and priority iptables-nft gives each), ICMP
 * type names, REJECT types, log levels. Taken from iptables 1.8.9
 * (iptables/nft.c, extensions/libxt_icmp.h, libipt_REJECT.c,
 * libip6t_REJECT.c) and checked against `nft list ruleset` after
 * iptables-restore (test/rules/import/iptables-kernel.test.ts).
 */
import type { ChainType, Hook } from '../../firewall.js';

export type TableName = 'filter' | 'nat' | 'mangle' | 'raw' | 'security';

export interface BuiltinChain {
  hook: Hook;
  type: ChainType;
  priority: number;
}

const HOOK_OF: Readonly<Record<string, Hook>> = {
  PREROUTING: 'prerouting',
  INPUT: 'input',
  FORWARD: 'forward',
  OUTPUT: 'output',
  POSTROUTING: 'postrouting',
};

function chains(names: string[], type: ChainType, priority: (n: string) => number): Record<string, BuiltinChain> {
  const out: Record<string, BuiltinChain> = {};
  for (const n of names) out[n] = { hook: HOOK_OF[n], type, priority: priority(n) };
  return out;
}

/**
 * The built-in chains of each table. Priorities are iptables-nft's
 * (nft.c): they order the tables on a hook as the legacy backend's
 * NF_IP_PRI_* do, except security, which iptables-nft 1.8.9 registers at
 * 150 (`type filter hook input priority 150`, measured; the legacy
 * NF_IP_PRI_SECURITY is 50), after nat's INPUT and POSTROUTING (100).
 * mangle's OUTPUT is nft type `route` (a changed mark re-routes the
 * packet); fwemu does not model re-routing and reads it as a filter chain.
 */
export const TABLES: Readonly<Record<TableName, Readonly<Record<string, BuiltinChain>>>> = {
  raw: chains(['PREROUTING', 'OUTPUT'], 'filter', () => -300),
  mangle: chains(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'], 'filter', () => -150),
  nat: chains(['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'], 'nat', (n) =>
    n === 'PREROUTING' || n === 'OUTPUT' ? -100 : 100,
  ),
  filter: chains(['INPUT', 'FORWARD', 'OUTPUT'], 'filter', () => 0),
  security: chains(['INPUT', 'FORWARD', 'OUTPUT'], 'filter', () => 150),
};

export function isTableName(s: string): s is TableName {
  return Object.hasOwn(TABLES, s);
}

/** An ICMP name: its type and code range (0-255: any code). */
export interface IcmpName {
  type: number;
  codeMin: number;
  codeMax: number;
}

function icmpTable(rows: [string, number, number?][]): ReadonlyMap<string, IcmpName> {
  const m = new Map<string, IcmpName>();
  for (const [name, type, code] of rows) m.set(name.toLowerCase(), { type, codeMin: code ?? 0, codeMax: code ?? 0xff });
  return m;
}

/** libxt_icmp.h icmp_codes ("any" is type 255: every type). */
export const ICMP_NAMES = icmpTable([
  ['any', 0xff],
  ['echo-reply', 0],
  ['pong', 0],
  ['destination-unreachable', 3],
  ['network-unreachable', 3, 0],
  ['host-unreachable', 3, 1],
  ['protocol-unreachable', 3, 2],
  ['port-unreachable', 3, 3],
  ['fragmentation-needed', 3, 4],
  ['source-route-failed', 3, 5],
  ['network-unknown', 3, 6],
  ['host-unknown', 3, 7],
  ['network-prohibited', 3, 9],
  ['host-prohibited', 3, 10],
  ['TOS-network-unreachable', 3, 11],
  ['TOS-host-unreachable', 3, 12],
  ['communication-prohibited', 3, 13],
  ['host-precedence-violation', 3, 14],
  ['precedence-cutoff', 3, 15],
  ['source-quench', 4],
  ['redirect', 5],
  ['network-redirect', 5, 0],
  ['host-redirect', 5, 1],
  ['TOS-network-redirect', 5, 2],
  ['TOS-host-redirect', 5, 3],
  ['echo-request', 8],
  ['ping', 8],
  ['router-advertisement', 9],
  ['router-solicitation', 10],
  ['time-exceeded', 11],
  ['ttl-exceeded', 11],
  ['ttl-zero-during-transit', 11, 0],
  ['ttl-zero-during-reassembly', 11, 1],
  ['parameter-problem', 12],
  ['ip-header-bad', 12, 0],
  ['required-option-missing', 12, 1],
  ['timestamp-request', 13],
  ['timestamp-reply', 14],
  ['address-mask-request', 17],
  ['address-mask-reply', 18],
]);

/** libxt_icmp.h icmpv6_codes. */
export const ICMPV6_NAMES = icmpTable([
  ['destination-unreachable', 1],
  ['no-route', 1, 0],
  ['communication-prohibited', 1, 1],
  ['beyond-scope', 1, 2],
  ['address-unreachable', 1, 3],
  ['port-unreachable', 1, 4],
  ['failed-policy', 1, 5],
  ['reject-route', 1, 6],
  ['packet-too-big', 2],
  ['time-exceeded', 3],
  ['ttl-exceeded', 3],
  ['ttl-zero-during-transit', 3, 0],
  ['ttl-zero-during-reassembly', 3, 1],
  ['parameter-problem', 4],
  ['bad-header', 4, 0],
  ['unknown-header-type', 4, 1],
  ['unknown-option', 4, 2],
  ['echo-request', 128],
  ['ping', 128],
  ['echo-reply', 129],
  ['pong', 129],
  ['router-solicitation', 133],
  ['router-advertisement', 134],
  ['neighbour-solicitation', 135],
  ['neighbor-solicitation', 135],
  ['neighbour-advertisement', 136],
  ['neighbor-advertisement', 136],
  ['redirect', 137],
]);

/**
 * REJECT --reject-with: iptables' names and aliases -> nft's `reject with`
 * words (the model's rejectWith, spec.ts REJECT_WITH).
 */
export const REJECT_V4: ReadonlyMap<string, string> = new Map([
  ['icmp-net-unreachable', 'icmp net-unreachable'],
  ['net-unreach', 'icmp net-unreachable'],
  ['icmp-host-unreachable', 'icmp host-unreachable'],
  ['host-unreach', 'icmp host-unreachable'],
  ['icmp-proto-unreachable', 'icmp prot-unreachable'],
  ['proto-unreach', 'icmp prot-unreachable'],
  ['icmp-port-unreachable', 'icmp port-unreachable'],
  ['port-unreach', 'icmp port-unreachable'],
  ['icmp-net-prohibited', 'icmp net-prohibited'],
  ['net-prohib', 'icmp net-prohibited'],
  ['icmp-host-prohibited', 'icmp host-prohibited'],
  ['host-prohib', 'icmp host-prohibited'],
  ['icmp-admin-prohibited', 'icmp admin-prohibited'],
  ['admin-prohib', 'icmp admin-prohibited'],
  ['tcp-reset', 'tcp reset'],
  ['tcp-rst', 'tcp reset'],
]);

export const REJECT_V6: ReadonlyMap<string, string> = new Map([
  ['icmp6-no-route', 'icmpv6 no-route'],
  ['no-route', 'icmpv6 no-route'],
  ['icmp6-adm-prohibited', 'icmpv6 admin-prohibited'],
  ['adm-prohibited', 'icmpv6 admin-prohibited'],
  ['icmp6-addr-unreachable', 'icmpv6 addr-unreachable'],
  ['addr-unreach', 'icmpv6 addr-unreachable'],
  ['icmp6-port-unreachable', 'icmpv6 port-unreachable'],
  ['port-unreach', 'icmpv6 port-unreachable'],
  ['icmp6-policy-fail', 'icmpv6 policy-fail'],
  ['policy-fail', 'icmpv6 policy-fail'],
  ['icmp6-reject-route', 'icmpv6 reject-route'],
  ['reject-route', 'icmpv6 reject-route'],
  ['tcp-reset', 'tcp reset'],
  ['tcp-rst', 'tcp reset'],
]);

/** LOG --log-level: syslog numbers and names -> nft's level words. */
export const LOG_LEVEL: ReadonlyMap<string, string> = new Map([
  ['0', 'emerg'],
  ['emerg', 'emerg'],
  ['1', 'alert'],
  ['alert', 'alert'],
  ['2', 'crit'],
  ['crit', 'crit'],
  ['3', 'err'],
  ['error', 'err'],
  ['err', 'err'],
  ['4', 'warn'],
  ['warning', 'warn'],
  ['warn', 'warn'],
  ['5', 'notice'],
  ['notice', 'notice'],
  ['6', 'info'],
  ['info', 'info'],
  ['7', 'debug'],
  ['debug', 'debug'],
]);

/** Matches fwemu cannot model, with what each looks at (the error says why). */
export const UNSUPPORTED_MATCHES: Readonly<Record<string, string>> = {
  recent: 'it matches on addresses seen by earlier packets, a history fwemu does not keep',
  statistic: 'matches a random or every-nth share of packets',
  set: 'matches against an ipset, whose contents the dump does not hold',
  string: 'matches on bytes of the payload',
  u32: 'matches on arbitrary bytes of the packet',
  bpf: 'runs a BPF program on the packet',
  owner: "matches on the sending process's user, group or socket",
  hashlimit: 'keeps rate buckets per address or port',
  connlimit: 'counts the connections of an address',
  connmark: "matches the connection's mark (ct mark), which fwemu does not model",
  connbytes: 'matches on the bytes a connection has carried',
  connlabel: "matches the connection's labels",
  helper: "matches the connection's helper (helpers are not modelled)",
  length: "matches on the packet's length",
  tos: 'matches on the TOS field',
  dscp: 'matches on the DSCP field',
  ecn: 'matches on the ECN bits',
  physdev: 'matches on bridge ports',
  mac: 'matches on the source MAC address',
  time: 'matches on the time of day',
  socket: 'matches on a local socket',
  cgroup: "matches on the sending process's cgroup",
  quota: 'matches until a byte quota is spent',
  tcpmss: 'matches on the TCP MSS option',
  frag: 'matches on the IPv6 fragment header',
  hbh: 'matches on the IPv6 hop-by-hop header',
  dst: 'matches on the IPv6 destination options header',
  rt: 'matches on the IPv6 routing header',
  ipv6header: 'matches on IPv6 extension headers',
  esp: 'matches on the ESP SPI',
  ah: 'matches on the AH SPI',
  sctp: 'matches SCTP ports and chunks (the model has tcp, udp, icmp, icmpv6)',
  dccp: 'matches DCCP ports (the model has tcp, udp, icmp, icmpv6)',
  realm: 'matches on the route realm',
  devgroup: "matches on the interface's group",
  cpu: 'matches on the CPU that handles the packet',
  cluster: 'matches a share of a cluster',
  ipvs: 'matches IPVS properties',
  rateest: 'matches on a rate estimator',
  osf: "matches on the sender's operating system",
  geoip: 'matches on the country of an address',
};

/** Targets fwemu cannot model, with what each does. */
export const UNSUPPORTED_TARGETS: Readonly<Record<string, string>> = {
  QUEUE: 'hands the packet to a user-space program for its verdict',
  NFQUEUE: 'hands the packet to a user-space program for its verdict',
  CONNMARK: "sets or restores the connection's mark (ct mark), which fwemu does not model",
  SET: 'adds to or deletes from an ipset',
  NETMAP: 'maps a whole prefix (1:1 NAT)',
  HMARK: 'sets a mark from a hash of the packet',
  SYNPROXY: 'answers TCP handshakes itself',
  TPROXY: 'diverts the packet to a local socket',
  CLUSTERIP: 'shares an address in a cluster',
  DNPT: 'translates IPv6 prefixes',
  SNPT: 'translates IPv6 prefixes',
  CONNSECMARK: 'copies SELinux labels to and from the connection',
};

/** Targets that never change a verdict: kept out of the model, with what leaving them out means. */
export const IGNORED_TARGETS: Readonly<Record<string, string>> = {
  TCPMSS: 'rewrites the MSS option of TCP SYN packets; the verdict is unchanged',
  TCPOPTSTRIP: 'removes TCP options; the verdict is unchanged',
  CHECKSUM: 'fills in checksums; the verdict is unchanged',
  TRACE: 'marks the packet for tracing; the verdict is unchanged',
  CLASSIFY: 'sets the traffic-control class; the verdict is unchanged',
  DSCP: 'rewrites the DSCP field; the verdict is unchanged (fwemu does not match on it)',
  TOS: 'rewrites the TOS field; the verdict is unchanged (fwemu does not match on it)',
  TTL: 'rewrites the TTL; the verdict is unchanged (a later -m ttl would see the old value in fwemu)',
  HL: 'rewrites the hop limit; the verdict is unchanged (a later -m hl would see the old value in fwemu)',
  ECN: 'rewrites the ECN bits; the verdict is unchanged',
  AUDIT: 'writes an audit record; the verdict is unchanged',
  SECMARK: 'sets an SELinux label; the verdict is unchanged',
  TEE: 'sends a copy of the packet to another host; the verdict is unchanged',
  IDLETIMER: 'restarts an idle timer; the verdict is unchanged',
  LED: 'blinks an LED; the verdict is unchanged',
  RATEEST: 'feeds a rate estimator; the verdict is unchanged',
};
