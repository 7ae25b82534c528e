import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import { UserError } from '../base/errors.js';
import { visible } from '../base/text-escape.js';

const requireCjs = createRequire(import.meta.url);

/** pino's numeric levels: a call below the logger's level prints nothing. */
const LEVELS: Record<string, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
};
const noop = (): void => {};

/**
 * Logs go to stderr (fd 2, or the command's injected stderr) so stdout carries nothing but results and pipes
 * cleanly. Default level is "warn": a normal run prints results only.
 *
 * pino is loaded on the first call that would print something: loading it
 * costs ~50 ms of start-up, which a run that logs nothing (the usual case at
 * the default level) need not pay.
 */
export function makeLogger(
  verbosity: number,
  explicitLevel?: string,
  stderr: { write(s: string): unknown } = process.stderr,
): Logger {
  const level =
    explicitLevel ?? process.env.FWEMU_LOG ?? (verbosity >= 2 ? 'debug' : verbosity === 1 ? 'info' : 'warn');
  if (!Object.hasOwn(LEVELS, level)) {
    throw new UserError(`FWEMU_LOG=${visible(level)} is not a log level; use one of ${Object.keys(LEVELS).join(', ')}`);
  }
  const threshold = LEVELS[level];
  let real: Logger | null = null;
  const load = (): Logger => {
    if (real === null) {
      const { pino } = requireCjs('pino') as typeof import('pino');
      real = pino(
        {
          name: 'fwemu',
          level,
          base: undefined,
          // Log messages quote file names and values from files: made visible (text-escape.ts), since JSON
          // leaves DEL, C1 controls and U+2028 raw and a person reads stderr on a terminal.
          hooks: {
            logMethod(args, method) {
              method.apply(
                this,
                args.map((a) => (typeof a === 'string' ? visible(a) : a)) as Parameters<typeof method>,
              );
            },
          },
        },
        // (A stream other than the process's own is a test's: written to as it is.)
        stderr === process.stderr
          ? pino.destination({ fd: 2, sync: true })
          : { write: (s: string) => void stderr.write(s) },
      );
    }
    return real;
  };
  return new Proxy({} as Logger, {
    get(_target, prop) {
      if (typeof prop === 'string' && prop in LEVELS && LEVELS[prop] < threshold && real === null) return noop;
      const logger = load();
      const value = (logger as unknown as Record<PropertyKey, unknown>)[prop];
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(logger) : value;
    },
  });
}
