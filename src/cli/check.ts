import type { Argv } from 'yargs';
import { ExitCode } from '../base/errors.js';
import { formatRuleSet } from '../rules/describe.js';
import { loadRuleSet } from '../rules/load.js';
import { RuleFileError } from '../rules/types.js';
import { UserError } from '../base/errors.js';
import { expandPaths } from '../base/find-files.js';
import { InputFileError, readHead } from '../base/input-file.js';
import { MAX_RULE_FILE_BYTES } from '../rules/spec.js';
import { visible, visibleLines } from '../base/text-escape.js';
import type { Io } from '../run/io.js';
import { type CommandContext, type CommonOptions, example } from './common.js';

interface CheckArgs extends CommonOptions {
  rules: string[];
}

export function checkCommand(y: Argv<CommonOptions>, ctx: CommandContext) {
  return y.command<CheckArgs>(
    'check <rules..>',
    'Validate rule files and print them as compiled (exit 1 on any error)',
    (a) =>
      a
        .positional('rules', {
          type: 'string',
          array: true,
          demandOption: true,
          // (yargs would show a variadic positional's implicit [] as its default.)
          default: undefined,
          describe: 'rule files (YAML), or directories to search for them; - reads one from standard input',
        })
        .example(example('$0 check rules/*.yaml', 'validate every example'), '')
        .epilog(
          'Errors and warnings are "file:line:column: message". Warnings (e.g. a rule shadowed by an earlier one) do not fail the check.',
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
  return head !== null && /^(rules|chains|interfaces)\s*:/m.test(head) && !/^(scenario|expect)\s*:/m.test(head);
}

export async function run(args: CheckArgs, io: Io): Promise<number> {
  let failed = false;
  if (args.rules.filter((f) => f === '-').length > 1)
    throw new UserError('check: - (standard input) can be given once: it can be read only once');
  const files = expandPaths(args.rules, isRuleFile, 'rule file');
  if (files.length === 0)
    throw new UserError(
      `no rule files found under ${args.rules.map(visible).join(', ')} (looked for *.yaml with a rules:, chains: or interfaces: key)`,
    );
  let unread = false;
  for (const file of files) {
    try {
      const { ruleset, warnings } = loadRuleSet(file, io.stdin);
      io.stdout.write(formatRuleSet(ruleset, warnings) + '\n');
    } catch (err) {
      // A file that cannot be read is bad input (2), as in every command; the others are still checked.
      if (err instanceof InputFileError) {
        io.stderr.write(`fwemu: ${visibleLines(err.message)}\n`);
        unread = true;
        continue;
      }
      if (!(err instanceof RuleFileError)) throw err;
      io.stderr.write(visibleLines(err.message) + '\n');
      failed = true;
    }
  }
  return unread ? ExitCode.BAD_INPUT : failed ? ExitCode.FAILED : ExitCode.OK;
}
