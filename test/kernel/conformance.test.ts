import { existsSync, readdirSync } from 'node:fs';
import { describe, expect } from 'vitest';
import { kernelTest } from './kit.js';
import { compareWithKernel, formatAgreement } from './conformance.js';

/**
 * Every capture in fixtures/ replayed through the gateway-model example rule
 * files, by fwemu and by the kernel. Host-model rule files need the firewall
 * to be an endpoint, which this harness (a router between two links) is not.
 */
const GATEWAY_RULES = ['rules/web-server.yaml', 'rules/dns-resolver.yaml'];
const captures = existsSync('fixtures')
  ? readdirSync('fixtures').filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => `fixtures/${f}`)
  : [];

describe('fwemu agrees with the Linux kernel', () => {
  for (const capture of captures) {
    for (const rules of GATEWAY_RULES) {
      kernelTest(`${capture} with ${rules}`, async () => {
        const a = await compareWithKernel(capture, rules);
        const report = formatAgreement(`${capture} + ${rules}`, a);
        console.log(report);
        expect(a.disagreements, report).toEqual([]);
        expect(a.entryDiffs, report).toEqual([]);
      });
    }
  }
});
