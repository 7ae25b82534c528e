import type { Argv } from 'yargs';
import { ExitCode } from '../base/errors.js';
import { formatRuleSet } from '../rules/describe.js';
import { loadRuleSet } from '../rules/load.js';
import { RuleFileError } from '../rules/types.js';
import { UserError } from '../base/errors.js';
import { visibleLines } from '../base/text-escape.js';
import type { Io } from '../run/io.js';
import type { CommandContext, CommonOptions } from './common.js';

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
          describe: 'rule files (YAML); - reads one from standard input',
        })
        .example('$0 check rules/*.yaml', 'validate every example')
        .epilog(
          'Errors and warnings are "file:line:column: message". Warnings (e.g. a rule shadowed by an earlier one) do not fail the check.',
        ),
    async (args) => {
      ctx.exitCode = await run(args, ctx.io);
    },
  );
}

export async function run(args: CheckArgs, io: Io): Promise<number> {
  let failed = false;
  const files = args.rules;
  if (files.filter((f) => f === '-').length > 1)
    throw new UserError('check: - (standard input) can be given once: it can be read only once');
  for (const file of files) {
    try {
      const { ruleset, warnings } = loadRuleSet(file, io.stdin);
      io.stdout.write(formatRuleSet(ruleset, warnings) + '\n');
    } catch (err) {
      if (!(err instanceof RuleFileError)) throw err;
      io.stderr.write(visibleLines(err.message) + '\n');
      failed = true;
    }
  }
  return failed ? ExitCode.FAILED : ExitCode.OK;
}
