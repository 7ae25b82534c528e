/**
 * A stop asked for by a signal (SIGINT, SIGTERM) to the fwemu process:
 * the capture reader ends as if its input had ended, so that the command
 * finishes the usual way: what was judged is written with its summary,
 * written captures are closed whole, and main() then exits with 128 + the
 * signal's number, as a shell reports a process the signal killed.
 */

let signal: NodeJS.Signals | null = null;
/** main() stops on a signal by finishing the run (true), rather than letting the signal end the process. */
let graceful = false;

/** What main() installs (the signal listeners), once a command asks for graceful stops. */
let install: (() => void) | null = null;

/**
 * main(), in the real process: `fn` installs the signal listeners. Not at
 * once: a listener keeps a signal from ending a process blocked in a
 * synchronous read (`fwemu check -` waiting on a terminal), so only the
 * commands that read captures, asynchronously, get them.
 */
export function whenStopsGraceful(fn: () => void): void {
  install = fn;
}

/** Called by a command that reads a capture (its CaptureSession): a first SIGINT or SIGTERM then only asks for a stop. */
export function stopGracefully(on: boolean): void {
  graceful = on;
  if (on && install !== null) {
    const fn = install;
    install = null;
    fn();
  }
}

/**
 * True while a first signal only asks for a stop: those who clean up when
 * a signal ends the process (base/output-file.ts) leave it to the run.
 */
export function stopsGracefully(): boolean {
  return graceful;
}
let wake: () => void = () => {};
let woken = new Promise<void>((resolve) => {
  wake = resolve;
});

/** Asks every reader to stop (the first call counts). */
export function requestStop(sig: NodeJS.Signals): void {
  if (signal !== null) return;
  signal = sig;
  wake();
}

/** The signal that asked for a stop, or null. */
export function stopRequested(): NodeJS.Signals | null {
  return signal;
}

/** Resolves when a stop is asked for: a reader waiting for input races it. */
export function whenStopped(): Promise<void> {
  return woken;
}

/** For tests in one process: forget an earlier stop. */
export function resetStop(): void {
  signal = null;
  woken = new Promise<void>((resolve) => {
    wake = resolve;
  });
}
