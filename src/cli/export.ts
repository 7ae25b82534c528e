import type { Argv } from 'yargs';
import { exportNft } from '../export/nft.js';
import { loadRuleSet } from '../rules/load.js';
import { formatDiagnostic } from '../rules/types.js';
import { outcome, type CommonOptions } from './common.js';

interface ExportArgs extends CommonOptions {
  rules: string;
  format: 'nft';
  table: string;
}

export function exportCommand(y: Argv<CommonOptions>) {
  return y.command<ExportArgs>(
    'export <rules>',
    'Print the rule file as an nftables ruleset (what you deploy once the policy is tested)',
    (a) =>
      a
        .positional('rules', { type: 'string', demandOption: true, describe: 'rule file (YAML)' })
        .option('format', { choices: ['nft'] as const, default: 'nft' as const, describe: 'output syntax' })
        .option('table', { type: 'string', default: 'fwemu', describe: 'name of the nft table (inet family)' })
        .example('$0 export rules/web-server.yaml > web.nft && nft -c -f web.nft', 'generate and syntax-check with nft'),
    (args) => {
      const { ruleset, warnings } = loadRuleSet(args.rules);
      for (const w of warnings) args.log.warn(formatDiagnostic(w));
      process.stdout.write(exportNft(ruleset, args.table));
      outcome.exitCode = 0;
    },
  );
}
