/**
 * The firewall model against the kernel: rule files with interfaces,
 * chains, sets, ct state rules, jumps and NAT, exported to nft, loaded
 * into a namespace whose legs are the file's interfaces, and the same
 * packets through both (fw-conformance.ts). Every packet's verdict, the leg
 * it leaves by and the addresses and ports it leaves with must agree, and
 * every conntrack entry, NAT reply tuples included; the one allowance is a
 * NAT clash, where the kernel picks the new port at random (README, Known
 * differences).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { parseRuleSet } from '../../src/rules/load.js';
import { compareFirewall, formatFwAgreement } from './fw-conformance.js';
import { kernelTest } from './kit.js';
import { echo, ether, icmpError, TCP, tcp, udp, writePcap } from './pcapwriter.js';

const dir = mkdtempSync(join(tmpdir(), 'fwemu-kfw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;

async function agree(yaml: string, packets: Uint8Array[]) {
  const { ruleset } = parseRuleSet(yaml, 'fw.yaml');
  const path = join(dir, `f${++fileNo}.pcap`);
  writePcap(
    path,
    packets.map((p, i) => ({ data: ether(p), ts: 1_700_000_000 + i * 0.01 })),
    1,
  );
  return compareFirewall(path, ruleset);
}

const LAN = '192.168.1.10';
const LAN2 = '192.168.1.11';
const WAN = '203.0.113.1';
const SRV = '198.51.100.10';
const CLI = '198.51.100.20';

const HOME = `
name: home-router
interfaces:
  lan0: { addresses: [192.168.1.1/24, "fd00:1::1/64"] }
  wan0: { addresses: [203.0.113.1/24, "2001:db8:ffff::1/64"], default: true }
sets:
  admins: [192.168.1.10, 192.168.1.20-192.168.1.30]
  web: [80, 443]
chains:
  prerouting:
    hook: prerouting
    type: nat
    rules:
      - { id: web-fwd, iif: wan0, proto: tcp, dport: 8080, dnat: "192.168.1.10:80" }
  postrouting:
    hook: postrouting
    type: nat
    rules:
      - { id: lan-out, oif: wan0, family: ipv4, masquerade: true }
  input:
    hook: input
    policy: drop
    rules:
      - { id: in-est, ct_state: [established, related], action: accept }
      - { id: in-invalid, ct_state: invalid, action: drop }
      - { id: ssh, iif: lan0, proto: tcp, dport: 22, jump: ssh_in }
      - { id: ping-in, proto: icmp, type: echo-request, action: accept }
  ssh_in:
    rules:
      - { id: admins-only, src: "@admins", action: accept }
      - { id: others, proto: tcp, action: reject, reject_with: "tcp reset" }
  forward:
    hook: forward
    policy: drop
    rules:
      - { id: est, ct_state: [established, related], action: accept }
      - { id: invalid, ct_state: invalid, action: drop }
      - { id: lan-web, iif: lan0, oif: wan0, proto: tcp, dport: "@web", action: accept }
      - { id: lan-dns, iif: lan0, oif: wan0, proto: udp, dport: 53, action: accept }
      - { id: lan-ping, iif: lan0, oif: wan0, proto: icmp, type: echo-request, action: accept }
      - { id: forwarded, ct_status: dnat, action: accept }
      - { id: no-smtp, iif: lan0, proto: tcp, dport: 25, action: reject }
`;

describe('firewall model against the kernel', () => {
  kernelTest('home router: masquerade, a port forward, SSH from the LAN only, sets, ct state rules', async () => {
    const a = await agree(HOME, [
      // 1-3: a masqueraded web connection and its reply through the reply tuple.
      tcp({ src: LAN, dst: SRV, sport: 40000, dport: 80, seq: 1000, flags: TCP.SYN }),
      tcp({ src: SRV, dst: WAN, sport: 80, dport: 40000, seq: 5000, ack: 1001, flags: TCP.SYN | TCP.ACK }),
      tcp({ src: LAN, dst: SRV, sport: 40000, dport: 80, seq: 1001, ack: 5001, flags: TCP.ACK }),
      // 4-5: DNS over UDP, and its answer.
      udp({ src: LAN2, dst: SRV, sport: 33000, dport: 53, payload: 'query' }),
      udp({ src: SRV, dst: WAN, sport: 53, dport: 33000, payload: 'answer' }),
      // 6-7: ping out, its reply.
      echo({ src: LAN, dst: SRV, id: 77, seq: 1 }),
      echo({ src: SRV, dst: WAN, id: 77, seq: 1, reply: true }),
      // 8-10: the port forward: in, the inside server's answer, the client's ACK.
      tcp({ src: CLI, dst: WAN, sport: 50000, dport: 8080, seq: 1, flags: TCP.SYN }),
      tcp({ src: LAN, dst: CLI, sport: 80, dport: 50000, seq: 700, ack: 2, flags: TCP.SYN | TCP.ACK }),
      tcp({ src: CLI, dst: WAN, sport: 50000, dport: 8080, seq: 2, ack: 701, flags: TCP.ACK }),
      // 11: SSH to the router from the WAN: input policy drop.
      tcp({ src: CLI, dst: WAN, sport: 50001, dport: 22, seq: 1, flags: TCP.SYN }),
      // 12-13: SSH from an admin (jump to ssh_in, accepted), from another LAN host (rejected there).
      tcp({ src: '192.168.1.25', dst: '192.168.1.1', sport: 41000, dport: 22, seq: 1, flags: TCP.SYN }),
      tcp({ src: '192.168.1.40', dst: '192.168.1.1', sport: 41001, dport: 22, seq: 1, flags: TCP.SYN }),
      // 14: SMTP out: rejected in forward.
      tcp({ src: LAN, dst: SRV, sport: 40002, dport: 25, seq: 1, flags: TCP.SYN }),
      // 15: not a web port: forward policy drop.
      tcp({ src: LAN, dst: SRV, sport: 40003, dport: 8443, seq: 1, flags: TCP.SYN }),
      // 16: a SYN/ACK of no flow from the WAN to the router: INVALID, dropped by in-invalid.
      tcp({ src: SRV, dst: WAN, sport: 80, dport: 45000, seq: 1, ack: 1, flags: TCP.SYN | TCP.ACK }),
      // 17: a ping to the router from the WAN: accepted in input.
      echo({ src: CLI, dst: WAN, id: 9, seq: 1 }),
      // 18-19: a second LAN host, the same source port to the same server: the port is remapped.
      tcp({ src: LAN2, dst: SRV, sport: 40000, dport: 80, seq: 3000, flags: TCP.SYN }),
      tcp({ src: '192.168.1.12', dst: SRV, sport: 40010, dport: 443, seq: 3000, flags: TCP.SYN }),
      // 20: IPv6 is not masqueraded (family: ipv4): routed as it is.
      tcp({ src: 'fd00:1::10', dst: '2001:db8:5::10', sport: 42000, dport: 443, seq: 1, flags: TCP.SYN }),
    ]);
    const report = formatFwAgreement('home router', a);
    console.log(report);
    expect(a.disagreements, report).toEqual([]);
    expect(a.entryDiffs, report).toEqual([]);
    expect(a.packets).toBe(20);
  });

  kernelTest('ICMP errors about translated flows are translated back (nf_nat_icmp_reply_translation)', async () => {
    const dnsOut = udp({ src: LAN2, dst: SRV, sport: 33001, dport: 53, payload: 'query' });
    // As the server saw it: masqueraded.
    const dnsSeen = udp({ src: WAN, dst: SRV, sport: 33001, dport: 53, payload: 'query' });
    const fwdIn = tcp({ src: CLI, dst: WAN, sport: 50010, dport: 8080, seq: 1, flags: TCP.SYN });
    // As the inside server saw it: DNATed.
    const fwdSeen = tcp({ src: CLI, dst: LAN, sport: 50010, dport: 80, seq: 1, flags: TCP.SYN });
    const a = await agree(HOME, [
      dnsOut,
      icmpError(SRV, WAN, 3, 3, dnsSeen),
      fwdIn,
      icmpError(LAN, CLI, 3, 3, fwdSeen),
      // An error about no flow at all: INVALID for conntrack, dropped by the invalid rules.
      icmpError(SRV, WAN, 3, 3, udp({ src: WAN, dst: SRV, sport: 9, dport: 53, payload: 'x' })),
    ]);
    const report = formatFwAgreement('icmp errors', a);
    expect(a.disagreements, report).toEqual([]);
    expect(a.entryDiffs, report).toEqual([]);
    expect(a.packets).toBe(5);
  });
});
