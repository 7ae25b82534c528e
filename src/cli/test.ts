import type { Argv } from 'yargs';
import { ExitCode, UserError } from '../base/errors.js';
import { discoverTests, runPolicyTest } from '../policy/run.js';
import { ANSI_PAINT, NO_PAINT } from '../report/replay-text.js';
import { visible, visibleLines } from '../base/text-escape.js';
import { clockWarningLines } from '../report/replay-text.js';
import type { Io } from '../run/io.js';
import { hostOf, type RuleArgs } from '../run/rule-args.js';
import { useColor, type CommandContext, type CommonOptions, example, HOST_OPTIONS } from './common.js';

interface TestArgs extends CommonOptions, Omit<RuleArgs, 'rules'> {
  paths: string[];
}

export function testCommand(y: Argv<CommonOptions>, ctx: CommandContext) {
  return y.command<TestArgs>(
    'test [paths..]',
    'Run policy tests: scenarios and captures with the verdicts they must get (exit 1 on any failure)',
    (a) =>
      a
        .positional('paths', {
          type: 'string',
          array: true,
          default: ['.'],
          describe: 'test files, or directories to search; - reads one test from standard input',
        })
        .options(HOST_OPTIONS)
        .example(example('$0 test fixtures/', 'run every policy test under fixtures/'), '')
        .example(
          example('$0 test --ip-addr addr.json --ip-route route.json tests/', "tests of the firewall's own ruleset"),
          '',
        )
        .epilog(
          'A policy test is a scenario file with rules: and expect: keys, or NAME.expect.yaml (rules:, expect:) beside a capture NAME.pcap or NAME.pcapng. ' +
            'rules: names a rule file, an nftables or iptables ruleset, or a host file (ruleset:, interfaces:), or a list of ruleset files ([rules.v4, rules.v6]); the host flags and --lenient apply to every test. ' +
            'Each failing expectation prints its file:line:col and the first packet (or table) that differs. See README, "Policy tests".',
        ),
    async (args) => {
      ctx.exitCode = await run(args, ctx.io);
    },
  );
}

export async function run(args: TestArgs, io: Io): Promise<number> {
  const paint = useColor(args.color, io.stdout) ? ANSI_PAINT : NO_PAINT;
  const paths = args.paths;
  if (paths.filter((f) => f === '-').length > 1)
    throw new UserError('test: - (standard input) can be given once: it can be read only once');
  const files = discoverTests(paths);
  if (files.length === 0)
    throw new UserError(
      `no policy tests found under ${paths.map(visible).join(', ')} (looked for *.expect.yaml and scenario files with rules: and expect:)`,
    );
  let passed = 0;
  let failed = 0;
  let broken = 0;
  // File names, expectations as written and messages come from the user's files: made visible (text-escape.ts).
  for (const file of files) {
    const shown = visible(file === '-' ? '<stdin>' : file);
    try {
      const r = await runPolicyTest(file, io.stdin, { host: hostOf(args), lenient: args.lenient === true });
      const counts = `(${r.expectations} expectations, ${r.packets} packets)`;
      // Before the verdict line: a jump may be why it fails.
      for (const l of clockWarningLines(r.clock, r.source)) io.stderr.write(l + '\n');
      if (r.failures.length === 0) {
        passed++;
        io.stdout.write(`${paint.verdict('accept', 'PASS')} ${shown} ${paint.dim(counts)}\n`);
      } else {
        failed++;
        io.stdout.write(`${paint.verdict('drop', 'FAIL')} ${shown} ${paint.dim(counts)}\n`);
        for (const f of r.failures)
          io.stdout.write(
            `  ${visible(f.pos.file)}:${f.pos.line}:${f.pos.col}: ${visible(f.text)}\n    ${visible(f.message)}\n`,
          );
      }
    } catch (err) {
      const message = err instanceof UserError ? err.message : null;
      if (message === null) throw err;
      broken++;
      io.stdout.write(
        `${paint.verdict('drop', 'ERROR')} ${shown}\n  ${visibleLines(message).replaceAll('\n', '\n  ')}\n`,
      );
    }
  }
  io.stdout.write(
    `${files.length} policy tests: ${passed} passed, ${failed} failed${broken ? `, ${broken} could not run` : ''}\n`,
  );
  return broken ? ExitCode.BAD_INPUT : failed ? ExitCode.FAILED : ExitCode.OK;
}
