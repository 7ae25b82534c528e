/**
 * The single source of truth for what a rule file may contain: allowed keys,
 * enum values, conntrack defaults and ICMP names. The loader validates
 * against these lists and a test checks that schema/fwemu-rules.schema.json
 * lists exactly the same keys and values.
 */
import type { Action, Chain, ConntrackSettings, Ipv4Settings, ProtoName } from './types.js';
import type {
  ChainType,
  CtStateWord,
  CtStatusWord,
  FwAction,
  Hook,
  LimitMatch,
  PktType,
  PolicyVerdict,
} from './firewall.js';
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

/** Words from other firewalls that people reach for, mapped to fwemu's. */
export const RULE_SYNONYMS: Readonly<Record<string, string>> = {
  allow: 'accept',
  permit: 'accept',
  pass: 'accept',
  deny: 'drop',
  block: 'drop',
  discard: 'drop',
  refuse: 'reject',
  ipv6icmp: 'icmpv6',
  'ipv6-icmp': 'icmpv6',
  icmp6: 'icmpv6',
  all: 'any',
  ip: 'any',
};

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

// --- the firewall model (firewall.ts): a file with interfaces: or chains: ------------

/** Top-level keys of the firewall model; with either of the first and third, a file is read into a Firewall. */
export const FIREWALL_TOP_KEYS = ['interfaces', 'sets', 'chains'] as const;

/** Every top-level key a rule file may hold. */
export const ALL_TOP_KEYS: readonly string[] = [...TOP_KEYS, ...FIREWALL_TOP_KEYS];

/** Keys of one interface under `interfaces:`. */
export const INTERFACE_KEYS = ['addresses', 'networks', 'default'] as const;

/** Keys of a set written as a mapping (`{ type:, elements: }`). */
export const SET_KEYS = ['type', 'elements'] as const;
export const SET_TYPES = ['ipv4_addr', 'ipv6_addr', 'inet_service'] as const;

/** Keys of one chain under `chains:`. */
export const CHAIN_KEYS = ['hook', 'type', 'priority', 'policy', 'family', 'rules'] as const;
/** A chain's table family (family:): ip 4, ip6 6, inet both. */
export const CHAIN_FAMILIES = ['ip', 'ip6', 'inet'] as const;
export const HOOKS: readonly Hook[] = ['prerouting', 'input', 'forward', 'output', 'postrouting'];
export const CHAIN_TYPES: readonly ChainType[] = ['filter', 'nat'];
export const POLICIES: readonly PolicyVerdict[] = ['accept', 'drop'];

/** Keys of a rule of the firewall model (in a chain, or under rules: beside interfaces:, where chain: is allowed too). */
export const FW_RULE_KEYS = [
  'id',
  'comment',
  'chain',
  'proto',
  'family',
  'iif',
  'oif',
  'src',
  'dst',
  'sport',
  'dport',
  'type',
  'code',
  'tcp_flags',
  'ct_state',
  'ct_status',
  'pkttype',
  'limit',
  'counter',
  'log',
  'action',
  'jump',
  'goto',
  'to',
  'reject_with',
  'snat',
  'dnat',
  'masquerade',
  'redirect',
  'nat_flags',
  // issue 18
  'not',
  'mark',
  'mark_set',
  'fib',
  'notrack',
  'hop_limit',
] as const;

export const FW_ACTIONS: readonly FwAction[] = ['accept', 'drop', 'reject', 'jump', 'goto', 'return', 'continue'];
export const FAMILIES = ['ipv4', 'ipv6'] as const;
export const CT_STATES: readonly CtStateWord[] = ['new', 'established', 'related', 'invalid', 'untracked'];
export const CT_STATUSES: readonly CtStatusWord[] = [
  'expected',
  'seen-reply',
  'assured',
  'confirmed',
  'snat',
  'dnat',
  'dying',
];
/** nft's pkttype words; `unicast` is read as `host` (what nft calls a frame addressed to this host). */
export const PKT_TYPES: readonly PktType[] = ['host', 'unicast', 'broadcast', 'multicast', 'other'];
export const LIMIT_UNITS: readonly LimitMatch['unit'][] = ['second', 'minute', 'hour', 'day', 'week'];
export const TCP_FLAG_BITS: Readonly<Record<string, number>> = {
  fin: 0x01,
  syn: 0x02,
  rst: 0x04,
  psh: 0x08,
  ack: 0x10,
  urg: 0x20,
  ecn: 0x40,
  cwr: 0x80,
};
/** `log level` words (nft's, syslog's). */
export const LOG_LEVELS = ['emerg', 'alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug', 'audit'] as const;
export const NAT_FLAGS = ['random', 'fully-random', 'persistent'] as const;
/**
 * What `reject with` takes, by its first word: the code names after it, as
 * `nft describe icmp_code` (icmpv6_code, icmpx_code) lists them; each one
 * loads with nft -f.
 */
export const REJECT_WITH: Readonly<Record<'icmp' | 'icmpv6' | 'icmpx', readonly string[]>> = {
  icmp: [
    'net-unreachable',
    'host-unreachable',
    'prot-unreachable',
    'port-unreachable',
    'net-prohibited',
    'host-prohibited',
    'admin-prohibited',
    'frag-needed',
  ],
  icmpv6: ['no-route', 'admin-prohibited', 'addr-unreachable', 'port-unreachable', 'policy-fail', 'reject-route'],
  icmpx: ['port-unreachable', 'admin-prohibited', 'no-route', 'host-unreachable'],
};

/** Most bytes of an interface name: IFNAMSIZ (16) less the NUL. */
export const IFNAME_MAX = 15;
/** Most bytes of a `log prefix` (NF_LOG_PREFIXLEN 128 less the NUL). */
export const LOG_PREFIX_MAX = 127;
