/** Rule files: load and validate (load.ts), compile (compile.ts), match (match.ts), describe (describe.ts). */
export * from './types.js';
export { loadRuleSet, parseRuleSet, ADDR_HELP, type LoadResult } from './load.js';
export { mergeRanges, PORT_HELP } from './ports.js';
export { compileRule, compileRuleSet, type CompiledRule, type CompiledRuleSet, type CompiledAddrs } from './compile.js';
export { matchRule, firstMatch, chainFor, isToHost, isFromHost } from './match.js';
export { describeRule, ruleRef, formatRuleSet } from './describe.js';
export { analyzeRules, ruleCovers, ruleFamilies, ruleName } from './shadow.js';
export { parseCidr, formatCidr, cidrContains } from './cidr.js';
export {
  TOP_KEYS,
  RULE_KEYS,
  CONNTRACK_KEYS,
  CONNTRACK_DEFAULTS,
  ACTIONS,
  CHAINS,
  PROTOS,
  ICMP_TYPES,
  ICMPV6_TYPES,
  ICMP_CODES,
  ICMPV6_CODES,
} from './spec.js';
