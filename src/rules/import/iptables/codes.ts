/**
 * The diagnostic codes of the iptables-save reader, with what each means
 * (as RULE_CODES does for rule files). Only `iptables.unsupported` turns
 * into a warning under --lenient; every other code is an error the dump
 * must be fixed for, as iptables-restore would refuse it too (or, where
 * iptables-restore takes it, fwemu cannot read it with one meaning).
 */
export const IPTABLES_CODES = {
  'iptables.syntax': 'a line that is no table, chain, rule, COMMIT or comment, or an option without its value',
  'iptables.control-character': 'a NUL or other control character in the dump',
  'iptables.line-too-long': 'a line or one argument longer than iptables-restore reads',
  'iptables.unbalanced-quote': 'a quoted argument that is never closed',
  'iptables.outside-table': 'a chain or rule line before any *table line, or after its COMMIT',
  'iptables.unknown-table': 'a *table that is not filter, nat, mangle, raw or security',
  'iptables.duplicate-table': 'one table given twice in a dump',
  'iptables.missing-commit': 'a table without its COMMIT line (iptables-restore applies nothing)',
  'iptables.bad-chain': 'a chain line with a bad name or policy, or a built-in chain the table does not have',
  'iptables.duplicate-chain': 'a chain declared twice in one table',
  'iptables.unknown-chain': 'a rule for, or a jump to, a chain the table does not declare',
  'iptables.jump-to-builtin': 'a jump or goto to a built-in chain',
  'iptables.jump-loop': 'jumps and gotos that lead back to a chain on the way',
  'iptables.jump-too-deep': 'a chain more jumps deep than the kernel follows',
  'iptables.unknown-option': 'an option that neither iptables nor a loaded match or target takes',
  'iptables.repeated-option': 'an option given twice in one rule, or two conditions the model holds once',
  'iptables.bad-value': 'an option value iptables would not take (address, port, name, number)',
  'iptables.needs-protocol': 'a match or target that needs -p tcp, udp, icmp or icmpv6',
  'iptables.wrong-family': 'an address or ICMP construct of the other IP family',
  'iptables.family-assumed': 'nothing tells IPv4 from IPv6; the dump is read as IPv4 (warning)',
  'iptables.wrong-table': 'a target the kernel takes only in another table',
  'iptables.wrong-hook': 'a match or target the kernel refuses on a chain reached from this hook',
  'iptables.unsupported': 'a construct fwemu cannot model (with --lenient a warning with its stated meaning)',
  'iptables.too-many-rules': 'more rules than fwemu reads from one dump',
  'iptables.too-many-errors': 'reading stopped after many errors',
} as const;

export type IptablesCode = keyof typeof IPTABLES_CODES;
