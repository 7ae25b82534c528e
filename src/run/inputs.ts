import { fstatSync, statSync, type Stats } from 'node:fs';
import type { PacketSource } from '../engine/replay.js';
import { generate, loadScenario, synthSource, type SynthOutput } from '../synth/index.js';

/** A CAPTURE argument as messages name it ('<stdin>' for '-', as the capture reader does). */
export function inputName(path: string): string {
  return path === '-' ? '<stdin>' : path;
}

/** A scenario file (YAML) rather than a capture: its packets are synthesized. */
export function isScenarioPath(path: string): boolean {
  return /\.ya?ml$/i.test(path);
}

/**
 * What a command's CAPTURE argument stands for: a capture file, stdin ("-"),
 * or a scenario (*.yaml) whose packets are generated on the fly.
 */
export function packetSource(path: string): { source: PacketSource; synth: SynthOutput | null } {
  if (!isScenarioPath(path)) return { source: path, synth: null };
  const synth = generate(loadScenario(path));
  return { source: synthSource(synth), synth };
}

/**
 * When results reach stdout: 'line', each line as soon as it is written
 * (-l, as tcpdump -l); 'chunk', the lines of each piece of input before
 * more is read, so that live traffic (a pipe from tcpdump, standard input)
 * and a terminal see every packet's line as soon as it is judged; 'batch',
 * 64 KiB writes, for a file read into a file or a pipe, where it is fast.
 * --no-line-buffered asks for 'batch' whatever the input.
 */
export type Flushing = 'line' | 'chunk' | 'batch';

export function flushing(asked: boolean | undefined, capture: string, stdout: { isTTY?: boolean }): Flushing {
  if (asked === true) return 'line';
  if (asked === false) return 'batch';
  if (stdout.isTTY || capture === '-' || isLiveInput(capture)) return 'chunk';
  return 'batch';
}

/**
 * The capture arrives as it is made (a FIFO, a socket, a character device
 * such as a tty; standard input unless it is a file, `< capture.pcap`, or
 * bytes in hand): its end is not known, and whoever watches wants each
 * packet's line as soon as it is judged.
 */
export function isLiveInput(capture: string, stdinBytes?: Uint8Array): boolean {
  if (capture === '-' && stdinBytes !== undefined) return false;
  let st: Stats | undefined;
  try {
    st = capture === '-' ? fstatSync(0) : statSync(capture, { throwIfNoEntry: false });
  } catch {
    return false; // (no standard input at all: nothing to wait for)
  }
  return st !== undefined && (st.isFIFO() || st.isSocket() || st.isCharacterDevice());
}
