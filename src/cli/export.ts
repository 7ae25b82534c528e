import type { Argv } from 'yargs';
import { ExitCode, UserError } from '../base/errors.js';
import { exportIptables, iptablesCommentWarnings, iptablesRestoreFile } from '../export/iptables.js';
import { exportNft, nftCommentWarnings, nftTableNameProblem } from '../export/nft.js';
import { nftFirewallWarnings } from '../export/nft-firewall.js';
import { iptablesFirewallWarnings } from '../export/iptables-firewall.js';
import { visibleLines } from '../base/text-escape.js';
import { loadRuleSet } from '../rules/load.js';
import { checkOutputs, writeOutputFiles } from '../base/output-file.js';
import type { Io } from '../run/io.js';
import { warnRules } from '../run/session.js';
import { type CommandContext, type CommonOptions, example } from './common.js';

interface ExportArgs extends CommonOptions {
  rules: string;
  format: 'nft' | 'iptables';
  table: string;
  split?: string;
}

export function exportCommand(y: Argv<CommonOptions>, ctx: CommandContext) {
  return y.command<ExportArgs>(
    'export <rules>',
    'Print the rule file as an nftables ruleset, or an iptables-restore/ip6tables-restore pair (what you deploy once the policy is tested)',
    (a) =>
      a
        .positional('rules', {
          type: 'string',
          demandOption: true,
          describe: 'rule file (YAML), or - for standard input',
        })
        .option('format', {
          alias: 'f',
          choices: ['nft', 'iptables'] as const,
          default: 'nft' as const,
          describe:
            'output syntax: nft (one inet table for `nft -f`), or iptables (an IPv4 part for iptables-restore, then an IPv6 part for ip6tables-restore)',
        })
        .option('table', {
          type: 'string',
          default: 'fwemu',
          describe: 'name of the nft table (inet family; --format nft only)',
        })
        .option('split', {
          type: 'string',
          requiresArg: true,
          describe:
            '--format iptables only: write the IPv4 part to PREFIX.v4 and the IPv6 part to PREFIX.v6 instead of printing both (each replaced only once both are complete)',
        })
        .example(
          example(
            '$0 export rules/web-server.yaml > web.nft && nft -c -f web.nft',
            'generate and syntax-check with nft',
          ),
          '',
        )
        .example(
          example(
            '$0 export --format iptables rules/web-server.yaml',
            'print the IPv4 (iptables-restore) and IPv6 (ip6tables-restore) rulesets',
          ),
          '',
        )
        .example(
          example(
            '$0 export --format iptables --split /etc/iptables/rules my.yaml',
            'write rules.v4 and rules.v6 (iptables-persistent loads them at boot)',
          ),
          '',
        )
        .epilog('Check an export before loading it: nft -c -f FILE, or iptables-restore --test < FILE.'),
    async (args) => {
      ctx.exitCode = await run(args, ctx.io);
    },
  );
}

export async function run(args: ExportArgs, io: Io): Promise<number> {
  if (args.split !== undefined && args.format !== 'iptables')
    throw new UserError('--split needs --format iptables (an nft ruleset is one file: redirect stdout)');
  if (args.split === '') throw new UserError('--split needs a file name prefix, e.g. --split /etc/iptables/rules');
  if (args.format === 'nft') {
    const bad = nftTableNameProblem(args.table);
    if (bad !== null) throw new UserError(`--table: ${bad}`);
  }
  if (args.split === '-') {
    throw new UserError(
      '--split writes two files, PREFIX.v4 and PREFIX.v6, so it takes a file name prefix, not -; without --split both rulesets go to standard output',
    );
  }
  if (args.split !== undefined) {
    checkOutputs(
      [{ role: 'the rule file', path: args.rules }],
      [
        { role: '--split (IPv4)', path: `${args.split}.v4` },
        { role: '--split (IPv6)', path: `${args.split}.v6` },
      ],
    );
  }
  const { ruleset, warnings } = loadRuleSet(args.rules, io.stdin);
  warnRules(io.stderr, warnings);
  // Rule ids the export had to shorten or change alike: said once, before the ruleset.
  const fw = ruleset.firewall;
  const said = args.format === 'nft' ? nftCommentWarnings(ruleset) : iptablesCommentWarnings(ruleset);
  if (fw) for (const w of args.format === 'nft' ? nftFirewallWarnings(fw) : iptablesFirewallWarnings(fw)) said.push(w);
  for (const w of said) {
    io.stderr.write(`fwemu: warning: ${visibleLines(w)}\n`);
  }
  if (args.format === 'nft') {
    io.stdout.write(exportNft(ruleset, args.table));
  } else if (args.split === undefined) {
    io.stdout.write(exportIptables(ruleset));
  } else {
    const written = [`${args.split}.v4`, `${args.split}.v6`];
    writeOutputFiles([
      { path: written[0], data: iptablesRestoreFile(ruleset, 4) },
      { path: written[1], data: iptablesRestoreFile(ruleset, 6) },
    ]);
    io.stderr.write(
      `fwemu: wrote ${written[0]} (IPv4: iptables-restore < ${written[0]}) and ${written[1]} (IPv6: ip6tables-restore < ${written[1]})\n`,
    );
  }
  return ExitCode.OK;
}
