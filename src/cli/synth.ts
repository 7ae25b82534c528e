import type { Argv } from 'yargs';
import { ExitCode, UserError } from '../base/errors.js';
import { generate, loadScenario, writeSynth } from '../synth/index.js';
import { visible } from '../base/text-escape.js';
import { checkOutputs } from '../base/output-file.js';
import type { Io } from '../run/io.js';
import { type CommandContext, type CommonOptions, example } from './common.js';

interface SynthArgs extends CommonOptions {
  scenario: string;
  output?: string;
  format?: 'pcap' | 'pcapng';
  quiet: boolean;
}

export function synthCommand(y: Argv<CommonOptions>, ctx: CommandContext) {
  return y.command<SynthArgs>(
    'synth <scenario>',
    'Turn a scenario (YAML: hosts, listen/connect/send/close/...) into a capture',
    (a) =>
      a
        .positional('scenario', {
          type: 'string',
          demandOption: true,
          describe: 'scenario file (see fixtures/scenarios/), or - for standard input',
        })
        .option('output', {
          alias: 'o',
          type: 'string',
          requiresArg: true,
          describe:
            'capture to write (.pcapng for pcapng), replaced only once complete; - (or no -o): pcap on stdout, when it is not a terminal',
        })
        .option('format', {
          choices: ['pcap', 'pcapng'] as const,
          describe: 'override the format the file name implies',
        })
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'do not list the steps on stderr' })
        .example(example('$0 synth fixtures/scenarios/seed.yaml -o seed.pcap', 'write a capture'), '')
        .example(example('$0 synth fixtures/scenarios/seed.yaml | tshark -r -', 'pipe it into another tool'), '')
        .epilog(
          'The same file always gives the same bytes (set seed: to vary ports and sequence numbers). Each step is listed on stderr with the packet numbers it produced and the ports chosen.',
        ),
    async (args) => {
      ctx.exitCode = await run(args, ctx.io);
    },
  );
}

export async function run(args: SynthArgs, io: Io): Promise<number> {
  const file = args.output === undefined || args.output === '-' ? null : args.output;
  if (file === null && io.stdout.isTTY) {
    throw new UserError('refusing to write a binary capture to the terminal: give -o FILE, or pipe the output');
  }
  if (file === '') throw new UserError('-o needs a file name (or - for standard output)');
  checkOutputs([{ role: 'the scenario', path: args.scenario }], [{ role: '-o', path: file ?? '-' }]);
  const out = generate(loadScenario(args.scenario, io.stdin));
  await writeSynth(out, file ?? io.stdout, { format: args.format });
  if (!args.quiet) {
    for (const s of out.steps) {
      const nums =
        s.packets.length === 0
          ? 'no packets'
          : s.packets.length === 1
            ? `packet ${s.packets[0]}`
            : `packets ${s.packets[0]}-${s.packets[s.packets.length - 1]}`;
      io.stderr.write(`${String(s.index).padStart(3)}. ${visible(s.summary)} (${nums})\n`); // names host names from the file
    }
    io.stderr.write(`fwemu: ${out.packets.length} packets${file !== null ? ` written to ${visible(file)}` : ''}\n`);
  }
  return ExitCode.OK;
}
