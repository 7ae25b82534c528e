import { originPlace } from '../rules/firewall.js';
import type { Argv } from 'yargs';
import { ExitCode } from '../base/errors.js';
import { formatRuleSet } from '../rules/describe.js';
import { RuleFileError } from '../rules/types.js';
import { UserError } from '../base/errors.js';
import { expandPaths } from '../base/find-files.js';
import { InputFileError, readHead } from '../base/input-file.js';
import { MAX_RULE_FILE_BYTES } from '../rules/spec.js';
import { visible, visibleLines } from '../base/text-escape.js';
import type { Io } from '../run/io.js';
import type { RuleFilesResult } from '../rules/import/load-rules.js';
import { loadRulesOf, type RuleArgs } from '../run/rule-args.js';
import { type CommandContext, type CommonOptions, example, HOST_OPTIONS, RULES_OPTION } from './common.js';

interface CheckArgs extends CommonOptions, Omit<RuleArgs, 'rules'> {
  /** Files checked one by one (positional). */
  rules: string[];
  /** -r: files checked together, as one ruleset (rules.v4 and rules.v6). */
  ruleset?: string[];
}

export function checkCommand(y: Argv<CommonOptions>, ctx: CommandContext) {
  return y.command<CheckArgs>(
    'check [rules..]',
    'Validate rule files and rulesets and print them as compiled, with what fwemu leaves out of them (exit 1 on any error)',
    (a) =>
      a
        .positional('rules', {
          type: 'string',
          array: true,
          // (yargs would show a variadic positional's implicit [] as its default.)
          default: undefined,
          describe:
            'rule files (YAML), rulesets (nft, nft -j, iptables-save), host files, or directories to search for YAML rule and host files; each is checked on its own; - reads one from standard input',
        })
        .option('ruleset', {
          ...RULES_OPTION,
          demandOption: false,
          describe: 'rulesets checked together as one firewall (-r rules.v4 -r rules.v6); repeatable',
        })
        .options(HOST_OPTIONS)
        .example(example('$0 check rules/*.yaml', 'validate every example'), '')
        .example(example('$0 check /etc/nftables.conf', 'what fwemu makes of a ruleset, and what it leaves out'), '')
        .example(example('$0 check -r rules.v4 -r rules.v6 --lenient', 'two dumps as one firewall'), '')
        .epilog(
          'Errors and warnings are "file:line:column: message". Warnings (e.g. a rule shadowed by an earlier one) do not fail the check. ' +
            'After each ruleset come the constructs fwemu accepted and left out because they never change a verdict ("ignored: FILE:LINE `counter` - counts packets; the verdict is unchanged"), ' +
            'and the rules --lenient kept without modelling them ("inert: FILE:LINE `...` - the rule never matches").',
        ),
    async (args) => {
      ctx.exitCode = await run(args, ctx.io);
    },
  );
}

/**
 * In a directory: the YAML files that are rule files (a top-level rules:,
 * chains: or interfaces: key), not scenarios or policy tests (which have scenario: or expect:).
 * Only the head is read.
 */
function isRuleFile(path: string): boolean {
  if (!/\.ya?ml$/.test(path) || /\.expect\.ya?ml$/.test(path)) return false;
  const head = readHead(path, MAX_RULE_FILE_BYTES);
  return head !== null && /^(rules|chains|interfaces|ruleset)\s*:/m.test(head) && !/^(scenario|expect)\s*:/m.test(head);
}

export async function run(args: CheckArgs, io: Io): Promise<number> {
  // (yargs fills a variadic positional left empty with [undefined] when -r is given.)
  const given = (args.rules ?? []).filter((f): f is string => typeof f === 'string');
  const together = args.ruleset ?? [];
  if (given.length === 0 && together.length === 0)
    throw new UserError('check: name the files to check (fwemu check FILE...), or a ruleset of several files with -r');
  if ([...given, ...together].filter((f) => f === '-').length > 1)
    throw new UserError('check: - (standard input) can be given once: it can be read only once');
  const files = given.length > 0 ? expandPaths(given, isRuleFile, 'rule file') : [];
  if (given.length > 0 && files.length === 0)
    throw new UserError(
      `no rule files found under ${given.map(visible).join(', ')} (looked for *.yaml with a rules:, chains:, interfaces: or ruleset: key)`,
    );
  let failed = false;
  let unread = false;
  const sets = [...files.map((f) => [f]), ...(together.length > 0 ? [together] : [])];
  for (const rules of sets) {
    try {
      const r = loadRulesOf({ ...args, rules }, io.stdin);
      io.stdout.write(`${formatRuleSet(r.ruleset, r.warnings)}\n`);
      const left = leftOut(r);
      if (left.length > 0) io.stdout.write(`${left.join('\n')}\n`);
    } catch (err) {
      // A file that cannot be read is bad input (2), as in every command; the others are still checked.
      if (err instanceof InputFileError) {
        io.stderr.write(`fwemu: ${visibleLines(err.message)}\n`);
        unread = true;
        continue;
      }
      if (!(err instanceof RuleFileError)) throw err;
      io.stderr.write(`${visibleLines(err.message)}\n`);
      failed = true;
    }
  }
  return unread ? ExitCode.BAD_INPUT : failed ? ExitCode.FAILED : ExitCode.OK;
}

/**
 * What fwemu left out of an imported ruleset, one line each, every user
 * string made visible: the constructs that never change a verdict (the
 * readers' list, then statements inside rules they did not list), and the
 * rules --lenient kept without modelling them.
 */
export function leftOut(r: RuleFilesResult): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const at = (file: string, line: number) => `${visible(file)}:${line}`;
  for (const i of r.ignored) {
    seen.add(`${i.pos.file}\0${i.pos.line}\0${i.text}`);
    out.push(`ignored: ${at(i.pos.file, i.pos.line)} \`${visible(i.text)}\` - ${visible(i.meaning)}`);
  }
  const rules = r.ruleset.firewall?.chains.flatMap((c) => c.rules) ?? [];
  for (const rule of rules) {
    const o = rule.origin ?? null;
    const file = o?.file ?? rule.pos.file;
    const line = o?.line ?? rule.pos.line;
    for (const s of rule.ignored ?? [])
      if (!seen.has(`${file}\0${line}\0${s}`)) {
        seen.add(`${file}\0${line}\0${s}`);
        out.push(`ignored: ${at(file, line)} \`${visible(s)}\` - never changes a verdict`);
      }
  }
  // fwemu keeps no kernel log: a log statement of an imported rule is left out, and says so.
  for (const rule of rules) {
    const o = rule.origin ?? null;
    if (o === null || rule.log === null) continue;
    const words = [
      'log',
      ...(rule.log.prefix === null ? [] : [`prefix "${rule.log.prefix}"`]),
      ...(rule.log.level === null ? [] : [`level ${rule.log.level}`]),
    ];
    out.push(
      `ignored: ${visible(o.file)}:${originPlace(o)} \`${visible(words.join(' '))}\` - logs the packet to the kernel log, which fwemu does not write; the verdict is unchanged`,
    );
  }
  for (const rule of rules)
    if (rule.inert)
      out.push(
        `inert: ${rule.origin ? `${visible(rule.origin.file)}:${originPlace(rule.origin)}` : at(rule.pos.file, rule.pos.line)} \`${visible(rule.origin?.text ?? rule.id)}\` - ${visible(rule.inert)}`,
      );
  return out;
}
