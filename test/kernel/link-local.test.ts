/**
 * Link-local, multicast and broadcast traffic, and martian addresses, as
 * the kernel treats them in both models (packet/scope.ts). The kernel
 * decides these before any filter chain, so a ruleset alone does not say
 * what happens:
 * - a router (gateway model) forwards no multicast or broadcast, and no
 *   IPv6 link-local or unspecified source to another link;
 * - a host (host model) takes in the groups it joined (224.0.0.1, ff02::1,
 *   255.255.255.255, the solicited-node group of each IPv6 address, ff02::2
 *   when it forwards) through its input chain, and nothing else;
 * - martian addresses are discarded on receipt by both.
 * Each capture is replayed by fwemu and by a kernel namespace loaded with
 * the same ruleset (compareWithKernel); every packet and conntrack entry
 * must agree. On top, the answers a user relies on are checked outright.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { replay } from '../../src/engine/replay.js';
import { causeName } from '../../src/engine/result.js';
import { loadRuleSet } from '../../src/rules/load.js';
import { compareWithKernel, formatAgreement } from './conformance.js';
import { expectOnlyKnownDifferences } from './known.js';
import { kernelTest } from './kit.js';
import { echo, ether, icmp6, ip6Bytes, tcp, TCP, udp, withRouterAlert, writePcap } from './pcapwriter.js';

const dir = mkdtempSync(join(tmpdir(), 'fwemu-linklocal-'));
afterAll(() => {
  if (!process.env.FWEMU_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
});

const ns = (src: string, dst: string, target: string) =>
  icmp6({ src, dst, ttl: 255, type: 135, body: [0, 0, 0, 0, ...ip6Bytes(target)] });
const x = 'x';

/** The host of the host-model rule files is 10.1.0.2 / fd00:1::2 (solicited-node group ff02::1:ff00:2). */
const PACKETS: Array<[string, Uint8Array]> = [
  ['ND: solicitation to the host’s solicited-node group', ns('fe80::5', 'ff02::1:ff00:2', 'fd00:1::2')],
  ['ND: solicitation to another solicited-node group', ns('fe80::5', 'ff02::1:ff00:99', 'fd00:1::99')],
  ['ND: solicitation unicast to the host', ns('fe80::5', 'fd00:1::2', 'fd00:1::2')],
  [
    'ND: advertisement to the host',
    icmp6({ src: 'fe80::5', dst: 'fd00:1::2', ttl: 255, type: 136, body: [0x60, 0, 0, 0, ...ip6Bytes('fe80::5')] }),
  ],
  ['ND: duplicate address detection from ::', ns('::', 'ff02::1:ff00:2', 'fd00:1::2')],
  [
    'ND: advertisement to all nodes',
    icmp6({ src: 'fe80::5', dst: 'ff02::1', ttl: 255, type: 136, body: [0x20, 0, 0, 0, ...ip6Bytes('fe80::5')] }),
  ],
  ['RS to all routers', icmp6({ src: 'fe80::5', dst: 'ff02::2', ttl: 255, type: 133, body: [0, 0, 0, 0] })],
  ['RA to all nodes', icmp6({ src: 'fe80::5', dst: 'ff02::1', ttl: 255, type: 134, body: new Array(12).fill(0) })],
  [
    'MLDv2 report to ff02::16',
    withRouterAlert(icmp6({ src: 'fe80::5', dst: 'ff02::16', ttl: 1, type: 143, body: [0, 0, 0, 0] })),
  ],
  ['ICMPv6 echo to all nodes', echo({ src: 'fd00:1::5', dst: 'ff02::1', id: 1, seq: 1 })],
  ['mDNS, IPv6', udp({ src: 'fe80::5', dst: 'ff02::fb', ttl: 255, sport: 5353, dport: 5353, payload: x })],
  ['DHCPv6 solicit', udp({ src: 'fe80::5', dst: 'ff02::1:2', ttl: 1, sport: 546, dport: 547, payload: x })],
  ['DHCP discover', udp({ src: '0.0.0.0', dst: '255.255.255.255', sport: 68, dport: 67, payload: x })],
  ['mDNS, IPv4', udp({ src: '10.1.0.5', dst: '224.0.0.251', ttl: 255, sport: 5353, dport: 5353, payload: x })],
  ['UDP to 224.0.0.1', udp({ src: '10.1.0.5', dst: '224.0.0.1', ttl: 1, sport: 5000, dport: 9, payload: x })],
  ['ICMP echo to 224.0.0.1', echo({ src: '10.1.0.5', dst: '224.0.0.1', id: 2, seq: 1 })],
  ['UDP to 255.255.255.255', udp({ src: '10.1.0.5', dst: '255.255.255.255', sport: 5001, dport: 9, payload: x })],
  ['UDP to 239.1.2.3', udp({ src: '10.1.0.5', dst: '239.1.2.3', sport: 5000, dport: 9, payload: x })],
  ['UDP to ff05::1:3', udp({ src: 'fd00:1::5', dst: 'ff05::1:3', sport: 5000, dport: 547, payload: x })],
  [
    'TCP from fe80::5 to a remote server',
    tcp({ src: 'fe80::5', dst: 'fd00:2::1', sport: 4000, dport: 80, seq: 1, flags: TCP.SYN }),
  ],
  ['UDP from fe80::5 to the host', udp({ src: 'fe80::5', dst: 'fd00:1::2', sport: 5000, dport: 9, payload: x })],
  ['UDP from :: to a remote server', udp({ src: '::', dst: 'fd00:2::1', sport: 5000, dport: 9, payload: x })],
  ['martian: source 127.0.0.1', udp({ src: '127.0.0.1', dst: '10.2.0.1', sport: 5000, dport: 9, payload: x })],
  ['martian: source 0.0.0.0', udp({ src: '0.0.0.0', dst: '10.2.0.1', sport: 5000, dport: 9, payload: x })],
  ['martian: multicast source', udp({ src: '224.1.1.1', dst: '10.1.0.2', sport: 5000, dport: 9, payload: x })],
  ['martian: IPv6 multicast source', udp({ src: 'ff02::5', dst: 'fd00:1::2', sport: 5000, dport: 9, payload: x })],
  ['martian: IPv6 loopback source', udp({ src: '::1', dst: 'fd00:2::1', sport: 5000, dport: 9, payload: x })],
  ['plain: UDP across', udp({ src: '10.1.0.5', dst: '10.2.0.1', sport: 5002, dport: 9, payload: x })],
  ['plain: UDP to the host', udp({ src: '10.1.0.5', dst: '10.1.0.2', sport: 5003, dport: 9, payload: x })],
  [
    '169.254/16 is routed like any address',
    udp({ src: '10.1.0.5', dst: '169.254.7.7', sport: 5004, dport: 9, payload: x }),
  ],
];
const n = (label: string) => PACKETS.findIndex(([l]) => l === label) + 1;

const ND_RULES = `
  - { id: ns, proto: icmpv6, type: nd-neighbor-solicit }
  - { id: na, proto: icmpv6, type: nd-neighbor-advert }
  - { id: ra, proto: icmpv6, type: nd-router-advert }
  - { id: dhcp, proto: udp, dport: 67 }
`;
const RULES: Record<string, string> = {
  'gateway, policy accept': 'policy: accept\nrules: []\n',
  'gateway, policy drop': 'policy: drop\nrules:\n  - { id: dns, proto: udp, dport: 53 }\n',
  'host, input policy accept': 'host: [10.1.0.2, fd00:1::2]\npolicy: accept\nrules: []\n',
  'host, input policy drop, no ND rule': 'host: [10.1.0.2, fd00:1::2]\npolicy: drop\nrules: []\n',
  'host, input policy drop, ND and DHCP rules': `host: [10.1.0.2, fd00:1::2]\npolicy: drop\nrules:${ND_RULES}`,
  'host that forwards': `host: [10.1.0.2, fd00:1::2]\npolicy: accept\nrules:\n  - { id: fwd, chain: forward, proto: tcp, dport: 80 }\n`,
};

const capture = join(dir, 'link-local.pcap');
writePcap(
  capture,
  PACKETS.map(([, p], i) => ({ data: ether(p), ts: 1_700_000_000 + i * 0.01 })),
  1,
);

/** fwemu's verdict and cause word for each packet. */
async function fwemuSays(rulesPath: string): Promise<{ says: string[]; hits: number[] }> {
  const { ruleset } = loadRuleSet(rulesPath);
  const says: string[] = [];
  const summary = await replay({
    rules: ruleset,
    source: capture,
    onPacket: (r) => {
      says[r.n - 1] = `${r.verdict} ${causeName(r.cause)}${r.chain ? ` ${r.chain}` : ''}`;
    },
  });
  return { says, hits: summary.stats.ruleHits };
}

describe('link-local, multicast, broadcast and martian traffic against the kernel', () => {
  for (const [name, text] of Object.entries(RULES)) {
    kernelTest(name, async () => {
      const rulesPath = join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
      writeFileSync(rulesPath, text);
      const a = await compareWithKernel(capture, rulesPath);
      const report =
        formatAgreement(`${name}`, a) +
        '\n' +
        (await fwemuSays(rulesPath)).says.map((s, i) => `  ${i + 1} ${PACKETS[i][0]}: fwemu ${s}`).join('\n');
      console.log(report);
      expectOnlyKnownDifferences(a, report);
      // Most packets are compared: the host model leaves out only other hosts' unicast.
      expect(a.packets, report).toBeGreaterThanOrEqual(text.includes('host:') ? 20 : PACKETS.length);
    });
  }

  kernelTest('what a user is told', async () => {
    const path = (name: string) => join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
    for (const [name, text] of Object.entries(RULES)) writeFileSync(path(name), text);
    const gw = (await fwemuSays(path('gateway, policy accept'))).says;
    // Nothing that stays on its link reaches the forward chain or its policy.
    for (const label of ['ND: solicitation to the host’s solicited-node group', 'DHCP discover', 'UDP to 224.0.0.1'])
      expect(gw[n(label) - 1], label).toBe('drop not-routed');
    expect(gw[n('TCP from fe80::5 to a remote server') - 1]).toBe('drop not-routed');
    expect(gw[n('martian: source 127.0.0.1') - 1]).toBe('drop not-routed');
    expect(gw[n('plain: UDP across') - 1]).toBe('accept policy forward');

    const noNd = (await fwemuSays(path('host, input policy drop, no ND rule'))).says;
    expect(noNd[n('ND: solicitation to the host’s solicited-node group') - 1]).toBe('drop policy input');
    expect(noNd[n('ND: solicitation to another solicited-node group') - 1]).toBe('skip not-host');
    expect(noNd[n('mDNS, IPv6') - 1]).toBe('skip not-host');
    const nd = await fwemuSays(path('host, input policy drop, ND and DHCP rules'));
    expect(nd.says[n('ND: solicitation to the host’s solicited-node group') - 1]).toBe('accept rule input');
    expect(nd.says[n('DHCP discover') - 1]).toBe('accept rule input');
    // Rule hits in file order: ns (the three solicitations the host takes in), na (two), ra, dhcp.
    expect(nd.hits).toEqual([3, 2, 1, 1]);

    // check's warning (rules/advice.ts) is given exactly when the host drops neighbour discovery.
    for (const [name, text] of Object.entries(RULES)) {
      if (!text.includes('host:')) continue;
      const { ruleset, warnings } = loadRuleSet(path(name));
      const warned = warnings.some((w) => w.code === 'rules.host-without-nd');
      const says = (await fwemuSays(path(name))).says;
      const dropped = ['ND: solicitation to the host’s solicited-node group', 'ND: advertisement to the host'].some(
        (label) => says[n(label) - 1].startsWith('drop'),
      );
      expect(warned, `${name}: ${ruleset.rules.length} rules`).toBe(dropped);
    }
  });
});
