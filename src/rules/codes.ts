/**
 * The diagnostic codes of rule files, with what each means: stable names
 * for the problems the loader (load.ts) and the shadow analysis
 * (shadow.ts) report, besides the shared ones (BASE_CODES, base/diag.ts).
 */
export const RULE_CODES = {
  'rules.empty-file': 'the rule file holds nothing',
  'rules.not-a-mapping': 'the top level is not a mapping',
  'rules.missing-rules': 'no rules: list',
  'rules.rules-not-list': 'rules: is not a list',
  'rules.rule-not-mapping': 'an item of rules: is not a mapping',
  'rules.output-policy-needs-host': 'output_policy without host: (the gateway model has no output chain)',
  'rules.chain-needs-host': 'a chain other than forward without host:',
  'rules.settings-without-state': 'conntrack: or ipv4: settings with stateful: false (warning)',
  'rules.host-is-network': 'host: given a network rather than an address',
  'rules.host-without-nd':
    'host model: a policy drops IPv6 neighbour discovery for a host address and no rule accepts it',
  'rules.empty-address-list': 'an empty list of addresses',
  'rules.bad-address': 'not an address or CIDR',
  'rules.unquoted-ipv6': 'an IPv6 address ending in ":" that YAML read as a mapping key',
  'rules.host-bits-set': 'a CIDR with bits set after its prefix (warning)',
  'rules.conntrack-not-mapping': 'conntrack: is not a mapping',
  'rules.ipv4-not-mapping': 'ipv4: is not a mapping',
  'rules.bad-setting': 'a conntrack or ipv4 setting of the wrong kind',
  'rules.setting-out-of-range': 'a conntrack or ipv4 setting out of range',
  'rules.thresholds-reversed': 'a low_thresh above its high_thresh',
  'rules.duplicate-id': 'two rules with one id',
  'rules.bad-id': 'a rule id that is not a usable name',
  'rules.port-needs-tcp-udp': 'sport or dport on a rule that is not tcp or udp',
  'rules.empty-port-list': 'an empty list of ports',
  'rules.bad-port': 'not a port, range or list of them',
  'rules.port-out-of-range': 'a port above 65535',
  'rules.port-range-backwards': 'a port range written high-low',
  'rules.icmp-needs-icmp-proto': 'type or code on a rule that is not icmp or icmpv6',
  'rules.icmp-code-needs-type': 'an ICMP code without its type',
  'rules.icmp-wrong-family': 'an ICMP type or code name of the other IP version',
  'rules.bad-icmp': "not an ICMP type or code of the rule's protocol",
  'rules.icmp-repeated': 'an ICMP type or code listed twice in one list (warning)',
  'rules.never-matches': 'a rule that can never match (warning)',
  'rules.shadowed': 'a rule shadowed by an earlier one (warning)',
  'rules.shadow-check-stopped': 'the shadow analysis stopped at its limit (warning)',
} as const;

export type RuleCode = keyof typeof RULE_CODES;
