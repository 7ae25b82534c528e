/**
 * Issue 18's model fields against the kernel: a YAML firewall using
 * negation, marks set in prerouting and read in forward, fib (local,
 * broadcast, the reverse-path check), notrack and ct state in a raw chain,
 * and a chain of family ip, exported to nft and loaded into the firewall
 * namespace; the same packets through both (fw-conformance.ts), compared
 * packet by packet and conntrack table by table. The verdicts fwemu gives
 * are also checked against those worked out by hand (below, per packet),
 * so that each packet tests what it says.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { parseRuleSet } from '../../src/rules/load.js';
import { compareFirewall, formatFwAgreement } from './fw-conformance.js';
import { MODEL18 } from '../export/model18-cases.js';
import { kernelTest } from './kit.js';
import { echo, ether, TCP, tcp, udp, writePcap } from './pcapwriter.js';

const dir = mkdtempSync(join(tmpdir(), 'fwemu-km18-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LAN = '192.168.1.10';
const SRV = '198.51.100.10';
const CLI = '198.51.100.20';

/** Each packet and the verdict worked out by hand from the kernel's semantics. */
const CASES: [Uint8Array, string, string][] = [
  [
    tcp({ src: LAN, dst: SRV, sport: 40000, dport: 80, seq: 1000, flags: TCP.SYN }),
    'accept',
    'marked in prerouting, read in forward',
  ],
  [
    tcp({ src: SRV, dst: LAN, sport: 80, dport: 40000, seq: 5000, ack: 1001, flags: TCP.SYN | TCP.ACK }),
    'accept',
    'its reply: established',
  ],
  [tcp({ src: LAN, dst: SRV, sport: 40001, dport: 25, seq: 1, flags: TCP.SYN }), 'drop', 'dport != {25, 465} fails'],
  [
    tcp({ src: CLI, dst: LAN, sport: 50000, dport: 80, seq: 1, flags: TCP.SYN }),
    'drop',
    'a WAN packet has mark 7, not the LAN tag',
  ],
  [udp({ src: CLI, dst: LAN, sport: 50001, dport: 53, payload: 'q' }), 'accept', 'mark 7 from not-lan'],
  [udp({ src: LAN, dst: SRV, sport: 40002, dport: 53, payload: 'q' }), 'drop', 'the LAN tag is not 7'],
  [
    tcp({ src: 'fd00:1::10', dst: '2001:db8:5::10', sport: 40003, dport: 8443, seq: 1, flags: TCP.SYN }),
    'accept',
    'IPv6 never enters the ip chain',
  ],
  [
    tcp({ src: LAN, dst: SRV, sport: 40004, dport: 8443, seq: 1, flags: TCP.SYN }),
    'drop',
    'IPv4 to 8443: the ip chain drops',
  ],
  [udp({ src: '10.9.9.9', dst: LAN, sport: 1, dport: 53, payload: 'q' }), 'drop', 'no route back: rpf'],
  [
    udp({ src: '2001:db8:9::1', dst: 'fd00:1::10', sport: 1, dport: 53, payload: 'q' }),
    'drop',
    'no route back (IPv6): rpf',
  ],
  [
    udp({ src: LAN, dst: SRV, sport: 40123, dport: 123, payload: 'ntp' }),
    'accept',
    'notrack: untracked in forward, no entry',
  ],
  [
    udp({ src: SRV, dst: LAN, sport: 123, dport: 40123, payload: 'ntp' }),
    'accept',
    'the answer is tracked: new, mark 7',
  ],
  [
    tcp({ src: CLI, dst: '203.0.113.1', sport: 50002, dport: 22, seq: 1, flags: TCP.SYN }),
    'drop',
    'fib daddr type local, src != LAN',
  ],
  [tcp({ src: LAN, dst: '192.168.1.1', sport: 40005, dport: 22, seq: 1, flags: TCP.SYN }), 'accept', 'from the LAN'],
  [
    tcp({ src: CLI, dst: '192.168.1.1', sport: 50003, dport: 22, seq: 1, flags: TCP.SYN }),
    'drop',
    'the LAN address is local too',
  ],
  [
    udp({ src: LAN, dst: '192.168.1.255', sport: 40006, dport: 5000, payload: 'b' }),
    'accept',
    'fib daddr type broadcast',
  ],
  [echo({ src: CLI, dst: '203.0.113.1', id: 9, seq: 1 }), 'accept', 'iifname != lan0'],
  [echo({ src: LAN, dst: '192.168.1.1', id: 10, seq: 1 }), 'drop', 'from lan0: input policy'],
  [
    udp({ src: CLI, dst: LAN, sport: 50004, dport: 9, payload: 'x' }),
    'accept',
    'ct state reads invalid in raw: != invalid fails',
  ],
  [udp({ src: CLI, dst: LAN, sport: 50005, dport: 7, payload: 'x' }), 'drop', 'ct state invalid in raw'],
];

describe('issue 18 fields against the kernel', () => {
  kernelTest('negation, marks across hooks, fib, rpfilter, notrack in raw, a family-ip chain', async () => {
    const { ruleset } = parseRuleSet(MODEL18, 'model18.yaml');
    const path = join(dir, 'm18.pcap');
    writePcap(
      path,
      CASES.map(([p], i) => ({ data: ether(p), ts: 1_700_000_000 + i * 0.01 })),
      1,
    );
    const a = await compareFirewall(path, ruleset);
    const report = formatFwAgreement('model18', a);
    console.log(report);
    expect(a.disagreements, report).toEqual([]);
    expect(a.entryDiffs, report).toEqual([]);
    expect(a.packets).toBe(CASES.length);
    const want = CASES.map(([, v, why], i) => `${i + 1} ${v} (${why})`);
    const got = CASES.map(([, , why], i) => `${i + 1} ${a.verdicts[i]?.fwemu} (${why})`);
    expect(got).toEqual(want);
  });

  kernelTest('fib route types by interface, broadcasts, IPv6, DHCP past rpf; TTL and hop limit per hook', async () => {
    const { ruleset } = parseRuleSet(FIB, 'fib.yaml');
    const path = join(dir, 'fib.pcap');
    writePcap(
      path,
      FIB_CASES.map(([p], i) => ({ data: ether(p), ts: 1_700_000_100 + i * 0.01 })),
      1,
    );
    const a = await compareFirewall(path, ruleset);
    const report = formatFwAgreement('fib', a);
    console.log(report);
    expect(a.disagreements, report).toEqual([]);
    expect(a.entryDiffs, report).toEqual([]);
    expect(a.packets).toBe(FIB_CASES.length);
    const want = FIB_CASES.map(([, v, why], i) => `${i + 1} ${v} (${why})`);
    const got = FIB_CASES.map(([, , why], i) => `${i + 1} ${a.verdicts[i]?.fwemu} (${why})`);
    expect(got).toEqual(want);
  });
});

const FIB = `
name: fib
interfaces:
  lan0: { addresses: [192.168.1.1/24, "fd00:1::1/64"] }
  wan0: { addresses: [203.0.113.1/24, "2001:db8:1::1/64"], networks: [198.51.100.0/24, "2001:db8:5::/48"] }
chains:
  pre:
    hook: prerouting
    priority: raw
    rules:
      - { id: rpf, fib: "saddr . iif oif missing", action: drop }
      - { id: on-iif, proto: udp, dport: 1, fib: "daddr . iif type local", action: drop }
  input:
    hook: input
    policy: drop
    rules:
      - { id: local6, proto: udp, dport: 2, fib: "daddr type local", action: accept }
      - { id: mcast, proto: icmpv6, fib: "daddr type multicast", action: accept }
      - { id: bcast, proto: udp, fib: "daddr type broadcast", action: accept }
      - { id: any-udp1, proto: udp, dport: 1, action: accept }
  forward:
    hook: forward
    policy: drop
    rules:
      - { id: ttl-63, family: ipv4, proto: udp, dport: 6, hop_limit: 63, action: accept }
      - { id: hl-not-9, family: ipv6, proto: udp, dport: 6, hop_limit: "!= 9", action: accept }
      - { id: unicast, proto: udp, fib: "daddr type unicast", not: { dport: [3, 6] }, action: accept }
  ttl-in:
    hook: input
    priority: -5
    rules:
      - { id: ttl-in, family: ipv4, proto: udp, dport: 7, hop_limit: "< 64", action: drop }
  out:
    hook: output
    rules:
      - { id: out-not-iif, proto: udp, dport: 8, not: { iif: lan0 }, action: drop }
      - { id: out-not-oif, proto: udp, dport: 9, not: { oif: lan0 }, action: drop }
`;

const FIB_CASES: [Uint8Array, string, string][] = [
  [
    udp({ src: LAN, dst: '192.168.1.1', sport: 5000, dport: 1, payload: 'x' }),
    'drop',
    'an address of the input interface',
  ],
  [
    udp({ src: LAN, dst: '203.0.113.1', sport: 5001, dport: 1, payload: 'x' }),
    'accept',
    'own, but of another interface: unicast',
  ],
  [
    udp({ src: 'fd00:1::10', dst: 'fd00:1::1', sport: 5002, dport: 1, payload: 'x' }),
    'drop',
    'IPv6, the input interface',
  ],
  [
    udp({ src: 'fd00:1::10', dst: '2001:db8:1::1', sport: 5003, dport: 1, payload: 'x' }),
    'accept',
    'IPv6, another interface',
  ],
  [udp({ src: 'fd00:1::10', dst: '2001:db8:1::1', sport: 5004, dport: 2, payload: 'x' }), 'accept', 'IPv6 local'],
  [echo({ src: 'fd00:1::10', dst: 'ff02::1', id: 3, seq: 1 }), 'accept', 'IPv6 multicast to all nodes'],
  [udp({ src: LAN, dst: '255.255.255.255', sport: 5005, dport: 5, payload: 'x' }), 'accept', 'limited broadcast'],
  [udp({ src: LAN, dst: '192.168.1.255', sport: 5006, dport: 5, payload: 'x' }), 'accept', 'directed broadcast'],
  [
    udp({ src: '0.0.0.0', dst: '255.255.255.255', sport: 68, dport: 67, payload: 'dhcp' }),
    'accept',
    'DHCP from 0.0.0.0 passes rpf',
  ],
  [udp({ src: LAN, dst: SRV, sport: 5007, dport: 4, payload: 'x' }), 'accept', 'forwarded: unicast'],
  [
    udp({ src: 'fd00:1::10', dst: '2001:db8:5::10', sport: 5008, dport: 4, payload: 'x' }),
    'accept',
    'IPv6 forwarded: unicast',
  ],
  [udp({ src: LAN, dst: SRV, sport: 5009, dport: 3, payload: 'x' }), 'drop', 'negated dport'],
  [udp({ src: '2001:db8:9::1', dst: 'fd00:1::10', sport: 1, dport: 4, payload: 'x' }), 'drop', 'IPv6: no route back'],
  [udp({ src: LAN, dst: SRV, sport: 5010, dport: 6, ttl: 64, payload: 'x' }), 'accept', 'TTL 64 is 63 in forward'],
  [udp({ src: LAN, dst: SRV, sport: 5011, dport: 6, ttl: 63, payload: 'x' }), 'drop', 'TTL 63 is 62 in forward'],
  [
    udp({ src: 'fd00:1::10', dst: '2001:db8:5::10', sport: 5012, dport: 6, ttl: 10, payload: 'x' }),
    'drop',
    'hop limit 10 is 9 in forward',
  ],
  [
    udp({ src: 'fd00:1::10', dst: '2001:db8:5::10', sport: 5013, dport: 6, ttl: 9, payload: 'x' }),
    'accept',
    'hop limit 9 is 8 in forward',
  ],
  [
    udp({ src: LAN, dst: '192.168.1.1', sport: 5014, dport: 7, ttl: 64, payload: 'x' }),
    'drop',
    'input sees TTL 64 as it came: the policy',
  ],
  [udp({ src: LAN, dst: '192.168.1.1', sport: 5015, dport: 7, ttl: 63, payload: 'x' }), 'drop', 'TTL 63 < 64 in input'],
  [udp({ src: '192.168.1.1', dst: LAN, sport: 5016, dport: 8, payload: 'x' }), 'drop', 'sent: iifname "" != lan0'],
  [udp({ src: '192.168.1.1', dst: LAN, sport: 5017, dport: 9, payload: 'x' }), 'accept', 'sent out lan0'],
];
