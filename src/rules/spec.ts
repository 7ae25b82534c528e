/**
 * The single source of truth for what a rule file may contain: allowed keys,
 * enum values, conntrack defaults and ICMP names. The loader validates
 * against these lists and a test checks that schema/fwemu-rules.schema.json
 * lists exactly the same keys and values.
 */
import type { Action, Chain, ConntrackSettings, Ipv4Settings, ProtoName } from './types.js';
import { DEFAULT_CONNTRACK_SETTINGS } from '../base/sysctl.js';

/** Keys allowed at the top level of a rule file. */
export const TOP_KEYS = [
  'name',
  'description',
  'policy',
  'output_policy',
  'host',
  'stateful',
  'conntrack',
  'ipv4',
  'rules',
] as const;

/** Keys allowed in one rule. */
export const RULE_KEYS = [
  'id',
  'comment',
  'chain',
  'action',
  'proto',
  'sport',
  'dport',
  'src',
  'dst',
  'type',
  'code',
] as const;

export const ACTIONS: readonly Action[] = ['accept', 'drop', 'reject'];
export const CHAINS: readonly Chain[] = ['input', 'output', 'forward'];
export const PROTOS: readonly ProtoName[] = ['tcp', 'udp', 'icmp', 'icmpv6', 'any'];

/** IP protocol number per proto name; -1 for any. */
export const PROTO_NUMBER: Readonly<Record<ProtoName, number>> = {
  tcp: 6,
  udp: 17,
  icmp: 1,
  icmpv6: 58,
  any: -1,
};

/**
 * Conntrack defaults, as in Linux (net/netfilter/nf_conntrack_proto_*.c).
 * `max` has no fixed kernel default: the kernel sizes nf_conntrack_max from
 * the machine's RAM at boot (since Linux 5.15: 262144 on a 64-bit host with
 * more than 4 GiB, 65536 with more than 1 GiB, less on smaller machines).
 * 262144 is what a typical server gets; set `conntrack: { max: N }` to match
 * the machine you are emulating.
 */
export const CONNTRACK_DEFAULTS: Readonly<ConntrackSettings> = DEFAULT_CONNTRACK_SETTINGS;

/** Keys allowed under `conntrack:`. */
export const CONNTRACK_KEYS = Object.keys(CONNTRACK_DEFAULTS) as (keyof ConntrackSettings)[];

/** Conntrack keys that are switches (0 or 1 as in sysctl; true/false also accepted). */
export const CONNTRACK_BOOL_KEYS: readonly (keyof ConntrackSettings)[] = [
  'tcp_loose',
  'tcp_be_liberal',
  'tcp_ignore_invalid_rst',
];

/**
 * Keys allowed under `ipv4:`: the net.ipv4.ipfrag_* sysctls (without
 * "net.ipv4."), which govern IPv4 reassembly in front of conntrack
 * (nf_defrag_ipv4 uses ip_defrag and the namespace's IPv4 budget). Kernel
 * defaults.
 */
export const IPV4_DEFAULTS: Readonly<Ipv4Settings> = Object.freeze({
  ipfrag_low_thresh: 3145728,
  ipfrag_high_thresh: 4194304,
  ipfrag_time: 30,
});
export const IPV4_KEYS = Object.keys(IPV4_DEFAULTS) as (keyof Ipv4Settings)[];

/** Upper bound for conntrack numbers (the sysctls are C ints). */
export const CONNTRACK_MAX_VALUE = 2147483647;

/** ICMP and ICMPv6 type and code names: nft's, kept with the packet layer, which names them in reports too. */
export { ICMP_TYPES, ICMPV6_TYPES, ICMP_CODES, ICMPV6_CODES } from '../packet/icmp-names.js';

/** Largest rule file the loader reads (bytes). */
export const MAX_RULE_FILE_BYTES = 1024 * 1024;

/** Largest number of alias expansions the YAML loader tolerates (defends against "billion laughs"). */
export const MAX_ALIAS_COUNT = 100;
