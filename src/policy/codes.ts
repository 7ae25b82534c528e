/**
 * The diagnostic codes of policy tests (NAME.expect.yaml, and the expect:
 * of a scenario), with what each means, besides BASE_CODES (base/diag.ts).
 */
export const POLICY_CODES = {
  'policy.not-a-mapping': 'the policy test is not a mapping',
  'policy.missing-rules': 'no rules: naming the rule file',
  'policy.missing-expect': 'no expect: list',
  'policy.missing-capture': 'no capture: and no capture beside the test',
  'policy.bad-path': 'rules: or capture: is not a path',
  'policy.expect-not-list': 'expect: is not a list',
  'policy.expectation-not-mapping': 'an expectation that is not a mapping',
  'policy.selector-count': 'an expectation naming none, or more than one, of step, packet, flow, conntrack',
  'policy.bad-selector': 'a step: or flow: that cannot be used',
  'policy.bad-packet-number': 'a packet number or range that cannot be used',
  'policy.bad-flow-pattern': 'a flow pattern that is not text',
  'policy.bad-check': 'a rule: or reason: check that cannot be used',
  'policy.bad-conntrack-check': 'a conntrack: check that cannot be used',
  'policy.checks-nothing': 'an expectation with no check',
} as const;

export type PolicyCode = keyof typeof POLICY_CODES;
