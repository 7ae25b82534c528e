import { readFileSync } from 'node:fs';
import yargs, { type Argv } from 'yargs';
import { CaptureError } from '../capture/types.js';
import { DiagnosticsError, ExitCode, UserError } from '../base/errors.js';
import { requestStop, stopGracefully, stopRequested, stopsGracefully, whenStopsGraceful } from '../base/interrupt.js';
import { suggest } from '../base/suggest.js';
import { visible, visibleLines } from '../base/text-escape.js';
import { describeIoError } from '../base/output-file.js';
import { makeLogger } from './log.js';
import { processIo, type Io } from '../run/io.js';
import { STDIN_MARKER, type CommandContext, type CommonOptions } from './common.js';
import { replayCommand } from './replay.js';
import { conntrackCommand } from './conntrack.js';
import { checkCommand } from './check.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';
import { demoCommand } from './demo.js';
import { testCommand } from './test.js';
import { synthCommand } from './synth.js';
import { socketsCommand } from './sockets.js';
import { dumpCommand } from './dump.js';

const EPILOG = `Exit codes: 0 success; 1 the answer is "no" (check found errors, a policy test failed); 2 bad input (arguments, capture, rule or scenario file); 70 internal error; 74 results could not be written (disk full, I/O error); 130/143 stopped by SIGINT/SIGTERM (after writing what was judged).
Results go to stdout, diagnostics to stderr. Docs: README.md`;

/**
 * The marker never belongs in a message (it holds a NUL byte): yargs'
 * messages quote what it refuses, which may be the marker for "-".
 */
function unmark(text: string): string {
  // (yargs quotes the values it refuses as JSON: "\u0000stdin")
  return text.replaceAll(STDIN_MARKER, '-').replaceAll(JSON.stringify(STDIN_MARKER).slice(1, -1), '-');
}

/** Turns any error a command can meet into one paragraph on stderr and an exit code. */
export function presentError(err: unknown, stderr: Io['stderr'] = process.stderr): number {
  // Messages quote what the user gave (file names, arguments, values from
  // files): visibleLines() keeps their line breaks and makes every other
  // control character visible, so none can drive the terminal.
  if (err instanceof DiagnosticsError) {
    // Rule files, scenarios and policy tests report every problem, each line starting with file:line:col.
    stderr.write(`${visibleLines(err.message)}\n`);
    return err.exitCode;
  }
  if (err instanceof UserError || err instanceof CaptureError) {
    stderr.write(`fwemu: ${visibleLines(err.message)}\n`);
    return err instanceof UserError ? err.exitCode : ExitCode.BAD_INPUT;
  }
  const e = err as { message?: string; stack?: string } | null;
  stderr.write(`fwemu: internal error: ${visibleLines(String(e?.message ?? err))}\n`);
  if (process.env.FWEMU_DEBUG && e?.stack) stderr.write(`${e.stack}\n`);
  else stderr.write('(this is a bug in fwemu; FWEMU_DEBUG=1 prints the stack trace)\n');
  return ExitCode.INTERNAL;
}

export function buildCli(argv: string[], ctx: CommandContext): Argv<CommonOptions> {
  let y = yargs(argv)
    .scriptName('fwemu')
    .usage(
      'fwemu: a stateful packet-filter firewall emulator.\n\n' +
        'Replays captured (pcap, pcapng) or synthetic traffic through YAML allow-rules and a\n' +
        'connection-tracking table that behaves like Linux netfilter, and says for every\n' +
        'packet whether it passes and why.\n\nUsage: $0 <command> [options]',
    )
    .option('verbose', { alias: 'v', type: 'count', describe: 'more logging on stderr (-v info, -vv debug)' })
    .option('color', {
      choices: ['auto', 'always', 'never'] as const,
      default: 'auto' as const,
      describe: 'colour output (auto: only on a terminal, and not when NO_COLOR is set)',
    })
    .middleware((a) => {
      restoreDashes(a);
      (a as unknown as CommonOptions).log = makeLogger((a.verbose as number) ?? 0, undefined, ctx.io.stderr);
    }) as unknown as Argv<CommonOptions>;
  for (const add of [
    dumpCommand,
    replayCommand,
    conntrackCommand,
    checkCommand,
    exportCommand,
    importCommand,
    synthCommand,
    socketsCommand,
    testCommand,
    demoCommand,
  ])
    y = add(y, ctx) as unknown as Argv<CommonOptions>;
  skipHelpCache(y);
  return (
    y
      .demandCommand(1, 'Name a command; `fwemu --help` lists them.')
      .strict()
      .recommendCommands()
      .epilog(EPILOG)
      .wrap(Math.min(110, process.stdout.columns || 100))
      .help()
      .alias('help', 'h')
      .version(packageVersion())
      // English whatever the locale: every other message is, and the bundle has no yargs locale files.
      .detectLocale(false)
      .exitProcess(false)
      .fail((msg, err) => {
        // yargs' own complaints about the command line arrive as a YError
        // (an option given without its value) or as msg; anything else is
        // an error thrown by a command, presented by main().
        if (err && err.name !== 'YError') throw err;
        // An option the command does not know explains the rest (a misspelt
        // --rule leaves --rules missing): it is named first.
        const unknown = unknownOption(argv, Object.keys((y as unknown as YargsOptions).getOptions().key));
        throw new UserError(`${unknown ?? usageMessage(unmark(err ? err.message : msg))}\nRun with --help for usage.`);
      })
  );
}

/** yargs' getOptions(), which its types leave out: the options known at this point of the parse. */
interface YargsOptions {
  getOptions(): { key: Record<string, unknown> };
}

/**
 * The first --option on the command line (before a bare --) that is not one
 * of `known` (yargs' keys: names, aliases and their camelCase forms), with
 * the closest known one, or null when every option is known.
 */
export function unknownOption(argv: readonly string[], known: readonly string[]): string | null {
  const names = known.filter((k) => k.length > 1);
  for (const a of argv) {
    if (a === '--') break;
    const m = /^--([^=]+)/.exec(a);
    if (!m) continue;
    const name = m[1];
    if (known.includes(name) || (name.startsWith('no-') && known.includes(name.slice(3)))) continue;
    const near = suggest(name, names);
    return `unknown option --${visible(name)}${near === null ? '' : `; did you mean --${near}?`}`;
  }
  return null;
}

/** yargs' wording, where it names an option without its dashes, in the user's terms. */
export function usageMessage(text: string): string {
  const m = /^Not enough arguments following: (\S+)$/.exec(text);
  if (m) return `${m[1].length === 1 ? '-' : '--'}${m[1]} needs a value`;
  return text;
}

/**
 * The version in our package.json. yargs would look for a package.json above
 * its own files, which the bundled CLI (scripts/bundle.mjs) does not have.
 */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
      .version;
  } catch {
    return 'unknown';
  }
}

/**
 * yargs renders the whole help text after every command handler starts, in
 * case a later failure wants to show it (usage.cacheHelpMessage): ~50 ms of
 * start-up per run. fwemu never shows help on failure (errors say "Run with
 * --help"), and --help renders it anyway, so the cache is skipped. Through
 * yargs' internal methods: when they are not there, nothing changes.
 */
function skipHelpCache(y: Argv<CommonOptions>): void {
  const internal = (
    y as unknown as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } }
  ).getInternalMethods;
  const usage = typeof internal === 'function' ? internal.call(y).getUsageInstance?.() : undefined;
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

/**
 * main() hides a lone "-" from yargs as STDIN_MARKER (see common.ts); once
 * parsed, every argument holding the marker holds "-" again, so that no
 * command (nor any message) ever sees the marker. (A number option given
 * "-" was already NaN: yargs converted it.)
 */
function restoreDashes(args: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(args)) {
    if (v === STDIN_MARKER) args[k] = '-';
    else if (Array.isArray(v)) args[k] = v.map((x) => (x === STDIN_MARKER ? '-' : x));
  }
}

/**
 * When the reader of our output goes away (`fwemu ... | head`), stop quietly:
 * the user has what they asked for. Any other stdout error (a full disk, an
 * I/O error) is a failure to deliver the results: one line, exit 74.
 */
function quietOnBrokenPipe(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    process.stderr.write(`fwemu: cannot write results to standard output: ${describeIoError(err)}\n`);
    process.exit(ExitCode.IO_ERROR);
  });
}

/** Exit codes of a run a signal stopped: 128 + the signal's number, as a shell reports it. */
const SIGNAL_EXIT: Readonly<Record<string, number>> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Ctrl-C (SIGINT) and SIGTERM, in a command that reads a capture (its
 * CaptureSession asks for it: stopGracefully), stop the reading
 * (base/interrupt.ts) and let the command finish: its lines, summary and
 * written captures come out whole. A second signal, or one in any other
 * command, ends the process at once (output-file.ts removes its temporary
 * files first).
 */
function stopOnSignals(): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const listener = () => {
      if (stopsGracefully() && stopRequested() === null) {
        requestStop(sig);
        return;
      }
      // Re-raised without this listener: output-file.ts's (which removes the
      // temporary files, then re-raises it) or the default action ends the process.
      stopGracefully(false);
      process.removeListener(sig, listener);
      process.kill(process.pid, sig);
    };
    process.on(sig, listener);
  }
}

/**
 * Runs one command line and returns its exit code. bin/fwemu.js gives the
 * process's streams (the only place that wires them); a test gives its own.
 */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const own = io.stdout === process.stdout;
  if (own) {
    quietOnBrokenPipe();
    whenStopsGraceful(stopOnSignals);
  }
  const ctx: CommandContext = { io, exitCode: ExitCode.OK };
  let code: number;
  try {
    await buildCli(
      argv.map((a) => (a === '-' ? STDIN_MARKER : a)),
      ctx,
    ).parseAsync();
    code = ctx.exitCode;
  } catch (err) {
    code = presentError(err, io.stderr);
  }
  const sig = stopRequested();
  if (sig === null) return code;
  if (own) {
    // Everything is written (stdout to a file, pipe or terminal is written
    // synchronously on Linux; written captures were closed). A read of a
    // silent pipe may still be pending in libuv's thread pool, and
    // process.exit() would wait for it forever: end as the signal's default
    // action does, so that the parent sees the signal (a shell: 130, 143).
    process.removeAllListeners(sig);
    process.kill(process.pid, sig);
  }
  return SIGNAL_EXIT[sig];
}
