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
