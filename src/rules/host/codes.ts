/**
 * The diagnostic codes of host descriptions (`--iface`, `--route`,
 * `--ip-addr`, `--ip-route`, host files) and of loading rulesets of other
 * tools (issue 18), with what each means.
 */
export const HOST_CODES = {
  'import.unknown-format': 'a file after -r that is no ruleset fwemu reads',
  'import.no-reader': 'a ruleset format this build cannot read',
  'import.mixed-yaml': "fwemu's own YAML rule file given with other -r files",
  'import.no-host': 'an imported ruleset with no host description (warning)',
  'import.duplicate-chain': 'one chain name in two -r files of different tables',
  'host.not-mapping': 'a host file that is not a mapping',
  'host.missing-ruleset': 'a host file without ruleset:',
  'host.bad-ruleset': 'ruleset: that is not a path or a list of paths',
  'host.nested-host': 'a host file naming another host file',
  'host.bad-route': 'a route that is not PREFIX@NAME or default@NAME',
  'host.bad-json': 'JSON of ip -j addr / ip -j route that is not what ip prints',
  'host.twice': 'one interface described by the rule file and by the host description',
  'host.two-defaults': 'default routes out of two interfaces',
  'host.simple-model': 'a host description for a rule file of the simple model',
  'host.skipped-route': 'a route of ip -j route that the model leaves out (warning)',
} as const;

export type HostCode = keyof typeof HOST_CODES;
