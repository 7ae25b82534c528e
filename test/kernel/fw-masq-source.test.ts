/**
 * The address masquerade takes when the egress interface has none of the
 * packet's family (rules/source-address.ts), against the kernel: IPv6 takes
 * ipv6_dev_get_saddr's pick among every interface's addresses (label, then
 * longest prefix), IPv4 the first universe-scope address in device order.
 * The egress tuples of both sides are compared (fw-conformance.ts): a
 * different source is a wire disagreement. The sources below, worked out
 * by hand, are those source-address.test.ts asserts for the same addresses.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { parseRuleSet } from '../../src/rules/load.js';
import { compareFirewall, formatFwAgreement } from './fw-conformance.js';
import { kernelTest } from './kit.js';
import { ether, udp, writePcap } from './pcapwriter.js';

const dir = mkdtempSync(join(tmpdir(), 'fwemu-kmasq-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MASQ = `
name: masq-source
interfaces:
  lan0: { addresses: [192.168.1.1/24, "fd00:1::1/64"] }
  dmz0: { addresses: ["2001:db8:7::1/64"] }
  v6only0: { addresses: ["2001:db8:9::1/64"], networks: [198.18.0.0/15] }
  wan0: { addresses: 203.0.113.1/24, default: true }
chains:
  forward:
    hook: forward
    rules:
      - { action: accept }
  nat:
    hook: postrouting
    type: nat
    rules:
      - { oif: [wan0, v6only0], masquerade: true }
`;

/** Each packet and the source masquerade gives it, worked out by hand. */
const CASES: [Uint8Array, string, string][] = [
  [
    udp({ src: 'fd00:1::10', dst: '2001:db8:5::10', sport: 40001, dport: 53 }),
    '2001:db8:7::1',
    'label 6 (2001::/32) of dmz0',
  ],
  [udp({ src: 'fd00:1::10', dst: 'fd99::10', sport: 40002, dport: 53 }), 'fd00:1::1', 'label 5 (fc00::/7) of lan0'],
  [udp({ src: 'fd00:1::10', dst: '2a00::10', sport: 40003, dport: 53 }), '2001:db8:7::1', 'longest common prefix'],
  // fe00::/16 is label 1 as dmz0's address, and shares 6 bits with lan0's fd00:: against none: the label decides.
  [udp({ src: 'fd00:1::10', dst: 'fe00::10', sport: 40005, dport: 53 }), '2001:db8:7::1', 'label before prefix'],
  [udp({ src: '192.168.1.10', dst: '198.18.0.10', sport: 40004, dport: 53 }), '192.168.1.1', 'first IPv4 address'],
];

describe('masquerade out of an interface without an address of the family', () => {
  kernelTest('the source the kernel picks from the other interfaces, IPv6 and IPv4', async () => {
    const { ruleset } = parseRuleSet(MASQ, 'masq.yaml');
    const path = join(dir, 'masq.pcap');
    writePcap(
      path,
      CASES.map(([p], i) => ({ data: ether(p), ts: 1_700_000_000 + i * 0.01 })),
      1,
    );
    const a = await compareFirewall(path, ruleset);
    const report = formatFwAgreement('masq-source', a);
    console.log(report);
    expect(a.disagreements, report).toEqual([]);
    expect(a.entryDiffs, report).toEqual([]);
    expect(a.packets).toBe(CASES.length);
    const got = CASES.map(([, , why], i) => `${a.verdicts[i]?.fwemu} ${why}`);
    expect(got).toEqual(CASES.map(([, , why]) => `accept ${why}`));
  });
});
