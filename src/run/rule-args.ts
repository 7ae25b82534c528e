/**
 * The rules a command judges with, as its options give them (issue 18):
 * -r files (repeatable; fwemu YAML, nftables text or JSON, iptables-save
 * dumps, host files), the host description flags and --lenient, loaded by
 * the one entry every command shares (rules/import/load-rules.ts).
 */
import type { HostOptions } from '../rules/host/options.js';
import { loadRuleFiles, type RuleFilesResult } from '../rules/import/load-rules.js';

/** The options of the rules, as yargs gives them (each repeatable flag an array). */
export interface RuleArgs {
  rules: string[];
  iface?: string[];
  route?: string[];
  'ip-addr'?: string[];
  'ip-route'?: string[];
  lenient?: boolean;
}

/** The host description flags of `args`. */
export function hostOf(args: Omit<RuleArgs, 'rules'>): HostOptions {
  return {
    iface: args.iface ?? [],
    route: args.route ?? [],
    ipAddr: args['ip-addr'] ?? [],
    ipRoute: args['ip-route'] ?? [],
  };
}

/** Loads the rules `args` name ('-' reads `stdin`, or standard input). */
export function loadRulesOf(args: RuleArgs, stdin?: Uint8Array): RuleFilesResult {
  return loadRuleFiles(args.rules, hostOf(args), { lenient: args.lenient === true, stdin });
}

/** Whether any of the files (rules, or host JSON) is standard input. */
export function readsStdin(args: RuleArgs): boolean {
  return [...args.rules, ...(args['ip-addr'] ?? []), ...(args['ip-route'] ?? [])].includes('-');
}
