import { pino, type Logger } from 'pino';

/**
 * Logs go to stderr (fd 2) so stdout carries nothing but results and pipes
 * cleanly. Default level is "warn": a normal run prints results only.
 */
export function makeLogger(verbosity: number, explicitLevel?: string): Logger {
  const level = explicitLevel ?? process.env.FWEMU_LOG ?? (verbosity >= 2 ? 'debug' : verbosity === 1 ? 'info' : 'warn');
  return pino({ name: 'fwemu', level, base: undefined }, pino.destination({ fd: 2, sync: true }));
}
