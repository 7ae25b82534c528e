import type { Logger } from 'pino';
import type { Argv, Options } from 'yargs';
import { UserError } from '../base/errors.js';
import { MIN_WIDTH } from '../report/fit-line.js';
import type { Io } from '../run/io.js';

/** Options every command takes (set up in main.ts). */
export interface CommonOptions {
  verbose: number;
  color: 'auto' | 'always' | 'never';
  /** Filled in by main's middleware. */
  log: Logger;
}

/**
 * What a command's yargs handler is given, made by main() for one parse:
 * the streams it writes to, and where it leaves its exit code (a handler
 * cannot return one). Each command's run(args, io) returns its own.
 */
export interface CommandContext {
  io: Io;
  exitCode: number;
}

/** The capture positional of the commands that judge or list traffic. */
export const CAPTURE_ARG = {
  type: 'string',
  demandOption: true,
  describe: 'pcap or pcapng file, - for stdin, or a scenario (.yaml) to synthesize',
} as const;

/** -l: when results are written (run/inputs.ts flushing()). */
export const LINE_BUFFERED_OPTION = {
  alias: 'l',
  type: 'boolean',
  describe:
    "write each line as soon as it is made (as tcpdump -l). Default: each packet's lines as soon as it is judged when reading a pipe or standard input, or writing to a terminal; else 64 KiB batches. --no-line-buffered: batches always",
} as const;

/** Every value of a repeatable option, as a list (yargs gives one value as itself, several as an array). */
function all(v: unknown): string[] {
  return v === undefined ? [] : (Array.isArray(v) ? v : [v]).map(String);
}

/**
 * -r, the rules: repeatable (`-r rules.v4 -r rules.v6`). Not a yargs array
 * option, which would take the capture after it as one more file.
 */
export const RULES_OPTION = {
  alias: 'r',
  type: 'string',
  requiresArg: true,
  demandOption: true,
  coerce: all,
  describe:
    'rules: a fwemu rule file (YAML), an nftables ruleset (nft list ruleset, /etc/nftables.conf, nft -j list ruleset), an iptables-save dump, or a host file (ruleset: ..., interfaces: ...); the format is read from the content. Repeat -r for rulesets that run together (-r rules.v4 -r rules.v6); - reads standard input',
} as const;

/**
 * The firewall around an imported ruleset: its addresses and routes, which
 * a ruleset does not hold (rules/host). With fwemu's own YAML they mean
 * what declaring the interfaces in the file means.
 */
export const HOST_OPTIONS = {
  iface: {
    type: 'string',
    requiresArg: true,
    coerce: all,
    describe:
      "the firewall's own addresses on an interface, as `ip addr add` takes them: --iface lan0=192.168.1.1/24,fd00:1::1/64 (each address's prefix makes its network directly connected through lan0; --iface dmz0= names an interface without addresses). Repeatable",
  },
  route: {
    type: 'string',
    requiresArg: true,
    coerce: all,
    describe:
      'a network routed out of an interface (behind a router there): --route 10.8.0.0/16@lan0; the default route: --route default@wan0. Repeatable',
  },
  'ip-addr': {
    type: 'string',
    requiresArg: true,
    coerce: all,
    describe:
      'a file holding what `ip -j addr` printed on the firewall: every interface with its addresses (save it with: ip -j addr > addr.json). Repeatable',
  },
  'ip-route': {
    type: 'string',
    requiresArg: true,
    coerce: all,
    describe:
      'a file holding what `ip -j route` printed on the firewall (ip -j route > route.json; for IPv6 also ip -6 -j route > route6.json, given as a second --ip-route). Repeatable',
  },
  lenient: {
    type: 'boolean',
    default: false,
    describe:
      'read an imported ruleset even where it uses constructs fwemu cannot model (-m recent, ipsets without contents, queue, ...): each becomes a warning saying what fwemu assumes instead (e.g. "the rule never matches")',
  },
} as const;

/** Adds -r's companions (the host description and --lenient) to a command's options. */
export function withHostOptions<T>(a: Argv<T>): Argv<T> {
  let y = a;
  for (const [name, o] of Object.entries(HOST_OPTIONS)) y = y.option(name, o as Options);
  return y;
}

/**
 * A help example, given to .example() with an empty description: what it
 * does as a shell comment, then the command on a line of its own, ready to
 * copy. (yargs sets a described example in two columns, which breaks a
 * long command in the middle on an 80-column terminal; one with no
 * description gets the whole width.)
 */
export function example(command: string, what: string): string {
  return `# ${what}\n${command}`;
}

export function useColor(opt: CommonOptions['color'], stream: { isTTY?: boolean } = process.stdout): boolean {
  if (opt === 'always') return true;
  if (opt === 'never') return false;
  return Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}

/**
 * yargs drops a lone "-" positional (it takes it for an option), but "-"
 * is how users say "read from stdin" (or "write to stdout"). main() swaps
 * "-" for this marker before yargs parses, and its middleware turns every
 * argument that holds it back into "-" before a command runs: commands
 * see "-", never the marker; yargs' own messages are unmarked by main().
 */
export const STDIN_MARKER = '\u0000stdin';

/** --width and --wide: how wide the text lines of replay are (report/fit-line.ts). */
export const WIDTH_OPTIONS = {
  width: {
    type: 'number',
    requiresArg: true,
    describe:
      `fit the text lines to N columns (${MIN_WIDTH} or more): columns that do not fit are left out (time first, then ct, then proto), ` +
      'and a reason that does not fit goes under its line, wrapped between words; no address, port or word is cut. ' +
      'Default: the width of the terminal (or $COLUMNS) when stdout is a terminal; otherwise 0, the wide format: ' +
      'one line per packet, the same bytes for every pipe and file, for scripts to read',
  },
  wide: {
    type: 'boolean',
    describe: 'the wide format on a terminal too (--width 0): one line per packet, wrapped by the terminal',
  },
} as const;

/** The width the text lines are fitted to (0: the wide format), from --width/--wide, or stdout when it is a terminal. */
export function lineWidth(
  command: string,
  args: { width?: number; wide?: boolean },
  stdout: { isTTY?: boolean; columns?: number },
  env: NodeJS.ProcessEnv = process.env,
): number {
  if (args.width !== undefined) {
    const w = args.width;
    if (!(Number.isInteger(w) && (w === 0 || w >= MIN_WIDTH)))
      throw new UserError(
        `${command}: --width must be 0 (the wide format) or a whole number of columns from ${MIN_WIDTH} up, not ${Number.isNaN(w) ? 'something else' : w}`,
      );
    if (args.wide && w > 0)
      throw new UserError(`${command}: --wide and --width ${w} ask for different widths: give one`);
    return w;
  }
  if (args.wide || !stdout.isTTY) return 0;
  // As ls does: $COLUMNS, when set, over what the terminal says.
  const columns = /^\d+$/.test(env.COLUMNS ?? '') ? Number(env.COLUMNS) : 0;
  return Math.max(MIN_WIDTH, columns > 0 ? columns : (stdout.columns ?? 80));
}
