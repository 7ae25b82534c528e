/**
 * Synthetic traffic: scenario files (YAML) -> realistic packet streams.
 *
 *   const sc = loadScenario('fixtures/scenarios/seed.yaml');
 *   const out = generate(sc);
 *   await replay({ rules: 'rules/web-server.yaml', source: synthSource(out) });
 *   await writeSynth(out, 'seed.pcap');
 */
export { loadScenario, parseScenario, MAX_SCENARIO_BYTES } from './scenario.js';
export { DEFAULT_START } from './scenario/start.js';
export {
  generate,
  packetsFor,
  MAX_SCENARIO_PACKETS,
  MAX_SCENARIO_FRAME_BYTES,
  type GenerateLimits,
} from './generate.js';
export { STEP_GAP_US } from './traffic/emitter.js';
export { synthSource, writeSynth, type WriteSynthOptions } from './output.js';
export * from './types.js';
