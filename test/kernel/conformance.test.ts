import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { generate, loadScenario, writeSynth } from '../../src/synth/index.js';
import { afterAll, describe, expect } from 'vitest';
import { kernelTest } from './kit.js';
import { compareWithKernel, formatAgreement } from './conformance.js';
import { compareFirewall, formatFwAgreement } from './fw-conformance.js';
import { loadRuleSet } from '../../src/rules/load.js';
import { expectOnlyKnownDifferences } from './known.js';

/**
 * Every capture in fixtures/ and every scenario, replayed by fwemu and by
 * the kernel through the example rule files: the gateway-model ones (the
 * kernel namespace routes between two links) and the host-model one (the
 * namespace owns the workstation's addresses: its input and output chains
 * see the packets to and from them; see hostAddrs in harness.ts). Packets
 * neither to nor from the host are not compared in the host model.
 */
const GATEWAY_RULES = ['rules/web-server.yaml', 'rules/dns-resolver.yaml', 'rules/workstation.yaml'];
const captures = existsSync('fixtures')
  ? readdirSync('fixtures')
      .filter((f) => /\.pcap(ng)?$/.test(f))
      .map((f) => `fixtures/${f}`)
  : [];

/**
 * Differences fwemu knows about are classes in known.ts (README, "Known
 * differences from Linux"); any disagreement no class claims fails. None of
 * the fixtures or scenarios shows one today.
 */

/** Scenarios are synthesized to pcap first, so the kernel gets exactly the bytes fwemu judges. */
const SCENARIO_DIR = 'fixtures/scenarios';
const scenarios = existsSync(SCENARIO_DIR)
  ? readdirSync(SCENARIO_DIR)
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => `${SCENARIO_DIR}/${f}`)
  : [];
const tmp = mkdtempSync(join(tmpdir(), 'fwemu-conf-'));
afterAll(() => {
  if (!process.env.FWEMU_KEEP_TMP) rmSync(tmp, { recursive: true, force: true });
});

async function synthesized(scenario: string): Promise<string> {
  const out = join(tmp, `${basename(scenario)}.pcap`);
  if (!existsSync(out)) await writeSynth(generate(loadScenario(scenario)), out);
  return out;
}

describe('fwemu agrees with the Linux kernel on synthesized scenarios', () => {
  for (const scenario of scenarios) {
    for (const rules of GATEWAY_RULES) {
      kernelTest(`${scenario} with ${rules}`, async () => {
        const a = await compareWithKernel(await synthesized(scenario), rules);
        const report = formatAgreement(`${scenario} + ${rules}`, a);
        console.log(report);
        expectOnlyKnownDifferences(a, report);
      });
    }
  }
});

describe('fwemu agrees with the Linux kernel', () => {
  for (const capture of captures) {
    for (const rules of GATEWAY_RULES) {
      kernelTest(`${capture} with ${rules}`, async () => {
        const a = await compareWithKernel(capture, rules);
        const report = formatAgreement(`${capture} + ${rules}`, a);
        console.log(report);
        expectOnlyKnownDifferences(a, report);
      });
    }
  }
});

/**
 * The firewall-model example (rules/home-router.yaml: interfaces, chains,
 * NAT) on every capture and scenario: the namespace's legs are its
 * interfaces (fw-conformance.ts). Most fixtures' addresses are routed out
 * of the WAN leg both ways; the home-router captures and scenario are its
 * own traffic.
 */
describe('fwemu agrees with the Linux kernel: the firewall model', () => {
  const FIREWALL_RULES = 'rules/home-router.yaml';
  // (fixtures/scenarios/home-router.yaml answers a clashing flow at fwemu's port, which the kernel
  // picks at random: test/kernel/home-router-scenario.test.ts pins what differs.)
  for (const input of [...scenarios, ...captures].filter((f) => f !== 'fixtures/scenarios/home-router.yaml')) {
    kernelTest(`${input} with ${FIREWALL_RULES}`, async () => {
      const capture = input.startsWith(SCENARIO_DIR) ? await synthesized(input) : input;
      const a = await compareFirewall(capture, loadRuleSet(FIREWALL_RULES).ruleset);
      const report = formatFwAgreement(`${input} + ${FIREWALL_RULES}`, a);
      console.log(report.split('\n')[0]);
      expect(a.disagreements, report).toEqual([]);
      expect(a.entryDiffs, report).toEqual([]);
    });
  }
});
