import type { Argv } from 'yargs';
import { ExitCode, UserError } from '../base/errors.js';
import { visible } from '../base/text-escape.js';
import { firewallYaml } from '../export/fwemu-yaml.js';
import { FORMAT_NAMES } from '../rules/import/readers.js';
import { MAX_RULE_FILE_BYTES } from '../rules/spec.js';
import type { RulesetFormat } from '../rules/import/types.js';
import type { Io } from '../run/io.js';
import { loadRulesOf, type RuleArgs } from '../run/rule-args.js';
import { warnRules } from '../run/session.js';
import { type CommandContext, type CommonOptions, example, HOST_OPTIONS } from './common.js';

interface ImportArgs extends CommonOptions, Omit<RuleArgs, 'rules'> {
  files: string[];
}

export function importCommand(y: Argv<CommonOptions>, ctx: CommandContext) {
  return y.command<ImportArgs>(
    'import <files..>',
    "Print an nftables or iptables ruleset as fwemu's YAML, each rule after a comment naming its line",
    (a) =>
      a
        .positional('files', {
          type: 'string',
          array: true,
          demandOption: true,
          default: undefined,
          describe:
            'the ruleset: nftables text (nft list ruleset, /etc/nftables.conf), nftables JSON (nft -j list ruleset), iptables-save dumps, or a host file; several files are one firewall (rules.v4 rules.v6); - reads standard input',
        })
        .options(HOST_OPTIONS)
        .example(
          example('$0 import /etc/nftables.conf > firewall.yaml', 'the ruleset as fwemu YAML, to read or edit'),
          '',
        )
        .example(
          example(
            '$0 import rules.v4 rules.v6 --ip-addr addr.json --ip-route route.json',
            "iptables dumps with the firewall's interfaces",
          ),
          '',
        )
        .epilog(
          "The YAML loads back into the same model (fwemu replay -r firewall.yaml ...), and fwemu export turns it into a ruleset again. What YAML does not hold is said in comments: each rule's origin (# /etc/nftables.conf:23: tcp dport 22 drop), statements that never change a verdict, and rules --lenient left out because they never match.",
        ),
    async (args) => {
      ctx.exitCode = await run(args, ctx.io);
    },
  );
}

export async function run(args: ImportArgs, io: Io): Promise<number> {
  const r = loadRulesOf({ ...args, rules: args.files }, io.stdin);
  const own = r.files.filter((f) => f.kind === 'yaml');
  if (own.length > 0)
    throw new UserError(
      `import: ${visible(own[0].file)} is fwemu's own YAML already; fwemu import reads nftables and iptables rulesets (fwemu check prints what a YAML rule file means)`,
    );
  warnRules(io.stderr, r.warnings);
  const sources = r.files.map(
    (f) => `${f.file} (${f.kind === 'host' ? 'host file' : FORMAT_NAMES[f.kind as RulesetFormat]})`,
  );
  const yaml = firewallYaml(r.ruleset, { sources, ignored: r.ignored });
  io.stdout.write(yaml);
  const bytes = Buffer.byteLength(yaml, 'utf8');
  if (bytes > MAX_RULE_FILE_BYTES)
    io.stderr.write(
      `fwemu: warning: the YAML is ${bytes} bytes, more than fwemu reads from a YAML rule file (${MAX_RULE_FILE_BYTES}); to judge traffic, give the ruleset itself: fwemu replay -r ${args.files.map(visible).join(' -r ')} ...\n`,
    );
  return ExitCode.OK;
}
