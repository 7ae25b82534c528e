/**
 * The TTL / hop-limit condition against the kernel: a YAML firewall with
 * hop_limit: on every hook, exported to nft (ip ttl / ip6 hoplimit) and to
 * iptables-restore files (-m ttl / -m hl), each loaded into the firewall
 * namespace; the same packets through both (fw-conformance.ts). The
 * verdicts are also checked against those worked out by hand: prerouting
 * and input see the TTL as it arrived, forward and postrouting one less
 * (ip_forward decrements it before NF_INET_FORWARD), and TTL 1 never
 * reaches forward (ICMP time exceeded).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { iptablesFirewallRestoreFile } from '../../src/export/iptables-firewall.js';
import { parseRuleSet } from '../../src/rules/load.js';
import { compareFirewall, formatFwAgreement, kernelInterfaces } from './fw-conformance.js';
import { kernelTest } from './kit.js';
import { ether, icmp6, udp, writePcap } from './pcapwriter.js';

const dir = mkdtempSync(join(tmpdir(), 'fwemu-khop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOP = `
name: hop
interfaces:
  lan0: { addresses: [192.168.1.1/24, "fd00:1::1/64"] }
  wan0: { addresses: [203.0.113.1/24, "2001:db8:1::1/64"], networks: [198.51.100.0/24, "2001:db8:5::/48"] }
chains:
  pre:
    hook: prerouting
    rules:
      - { id: pre-9, family: ipv4, proto: udp, dport: 9, hop_limit: 9, action: drop }
  input:
    hook: input
    policy: drop
    rules:
      - { id: nd, proto: icmpv6, type: 135, hop_limit: 255, action: accept }
      - { id: in-low, family: ipv4, proto: udp, dport: 1, hop_limit: "< 5", action: accept }
  forward:
    hook: forward
    policy: drop
    rules:
      - { id: fwd-9, proto: udp, dport: 9, action: accept }
      - { id: fwd-63, family: ipv4, proto: udp, dport: 2, hop_limit: 63, action: accept }
      - { id: fwd-range, family: ipv4, proto: udp, dport: 3, hop_limit: "10-20", action: accept }
      - { id: fwd-not, proto: udp, dport: 4, family: ipv6, hop_limit: "!= 30", action: accept }
      - { id: fwd-gt, family: ipv4, proto: udp, dport: 5, hop_limit: "> 250", action: accept }
      - { id: fwd-gt6, family: ipv6, proto: udp, dport: 5, hop_limit: ">= 251", action: accept }
  post:
    hook: postrouting
    rules:
      - { id: post-19, family: ipv4, proto: udp, dport: 3, hop_limit: 19, action: drop }
`;

const LAN = '192.168.1.10';
const SRV = '198.51.100.10';
const LAN6 = 'fd00:1::10';
const SRV6 = '2001:db8:5::10';
let port = 40000;
const u = (src: string, dst: string, dport: number, ttl: number) =>
  udp({ src, dst, sport: port++, dport, ttl, payload: 'x' });
// A neighbour solicitation for the firewall's address (target fd00:1::1).
const ns = (ttl: number) =>
  icmp6({
    src: LAN6,
    dst: 'fd00:1::1',
    ttl,
    type: 135,
    body: [0, 0, 0, 0, 0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
  });

/** Each packet and the verdict worked out by hand. */
const CASES: [Uint8Array, string, string][] = [
  [u(LAN, SRV, 9, 9), 'drop', 'prerouting sees 9 as it arrived'],
  [u(LAN, SRV, 9, 10), 'accept', 'prerouting sees 10'],
  [u(LAN, SRV, 2, 64), 'accept', 'forward sees 63 of 64'],
  [u(LAN, SRV, 2, 63), 'drop', 'forward sees 62'],
  [u(LAN, SRV, 3, 11), 'accept', 'forward sees 10, in 10-20; postrouting 10'],
  [u(LAN, SRV, 3, 20), 'drop', 'forward sees 19, postrouting 19 too'],
  [u(LAN, SRV, 3, 22), 'drop', 'forward sees 21, outside 10-20'],
  [u(LAN6, SRV6, 4, 31), 'drop', 'forward sees hop limit 30'],
  [u(LAN6, SRV6, 4, 30), 'accept', 'forward sees 29, != 30'],
  [u(LAN, SRV, 5, 255), 'accept', 'forward sees 254, > 250'],
  [u(LAN, SRV, 5, 251), 'drop', 'forward sees 250'],
  [u(LAN6, SRV6, 5, 251), 'drop', 'IPv6 alike: forward sees 250'],
  [u(LAN, SRV, 2, 1), 'drop', 'TTL 1: time exceeded before forward'],
  [u(LAN, '192.168.1.1', 1, 4), 'accept', 'input sees 4 as it arrived'],
  [u(LAN, '192.168.1.1', 1, 5), 'drop', 'input sees 5'],
  [ns(255), 'accept', 'neighbour solicitation with hop limit 255'],
  [ns(254), 'drop', 'with 254: not from the link'],
];

describe('the TTL / hop limit against the kernel', () => {
  const { ruleset } = parseRuleSet(HOP, 'hop.yaml');
  const path = join(dir, 'hop.pcap');
  writePcap(
    path,
    CASES.map(([p], i) => ({ data: ether(p), ts: 1_700_000_000 + i * 0.01 })),
    1,
  );
  const check = (name: string, a: Awaited<ReturnType<typeof compareFirewall>>) => {
    const report = formatFwAgreement(name, a);
    console.log(report);
    expect(a.disagreements, report).toEqual([]);
    expect(a.entryDiffs, report).toEqual([]);
    expect(a.packets).toBe(CASES.length);
    const want = CASES.map(([, v, why], i) => `${i + 1} ${v} (${why})`);
    const got = CASES.map(([, , why], i) => `${i + 1} ${a.verdicts[i]?.fwemu} (${why})`);
    expect(got).toEqual(want);
  };

  kernelTest('hop_limit: exported to nft (ip ttl, ip6 hoplimit)', async () => {
    check('hop nft', await compareFirewall(path, ruleset));
  });

  kernelTest('hop_limit: exported to iptables-restore and ip6tables-restore (-m ttl, -m hl)', async () => {
    const fw = ruleset.firewall!;
    const a = await compareFirewall(path, ruleset, {
      nftRuleset: '',
      original: {
        iptables: iptablesFirewallRestoreFile(ruleset, fw, 4),
        ip6tables: iptablesFirewallRestoreFile(ruleset, fw, 6),
      },
      interfaces: kernelInterfaces(fw),
    });
    check('hop iptables', a);
  });
});
