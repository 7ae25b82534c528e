/**
 * `fwemu export` (nft) of issue 18's fields: negation, marks, fib,
 * notrack, a raw chain, a chain of family ip, an inert rule. The export
 * is loaded with `nft -f` into a private network namespace and listed
 * back; each rule is compared with the line written by hand as nft 1.0.6
 * prints it, so it passes only when the kernel holds what the rule file
 * says. (test/kernel/fw-model18.test.ts sends packets through it.)
 *
 * Needs nft, ip and root; skipped without them, except under CI=true.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportNft } from '../../src/export/nft.js';
import { ok } from '../rules/helpers.js';
import { namespaces, run, toolsMissing, toolTest } from './netns.js';

const MODEL18 = `
name: model18
interfaces:
  lan0: { addresses: [192.168.1.1/24, "fd00:1::1/64"] }
  wan0: { addresses: [203.0.113.1/24, "2001:db8:1::1/64"], default: true }
chains:
  raw:
    hook: prerouting
    priority: raw
    rules:
      - { id: rpf, fib: "saddr . iif oif missing", action: drop }
      - { id: no-ntp, proto: udp, dport: 123, notrack: true }
  mangle:
    hook: prerouting
    priority: mangle
    rules:
      - { id: tag, iif: lan0, mark_set: "0x4200/0xff00" }
      - { id: tag2, not: { iif: lan0 }, mark_set: "0x1" }
  input:
    hook: input
    policy: drop
    rules:
      - { id: est, ct_state: [established, related], action: accept }
      - { id: local-ssh, proto: tcp, dport: 22, fib: "daddr type local", not: { src: 192.168.1.0/24 }, action: drop }
      - { id: bcast, proto: udp, fib: ["daddr . iif type { broadcast, multicast }"], action: accept }
      - { id: icmp-not-echo, proto: icmp, not: { type: echo-request }, action: accept }
      - { id: no-unreach, proto: icmp, not: { type: destination-unreachable, code: [1, 3] }, action: drop }
  forward:
    hook: forward
    policy: drop
    rules:
      - { id: untracked, ct_state: untracked, action: accept }
      - { id: odd-state, not: { ct_state: [new, established, related] }, action: drop }
      - { id: tagged, mark: "0x4200/0xff00", action: accept }
      - { id: not-ssh, proto: tcp, not: { dport: 22, tcp_flags: "syn / syn,ack" }, mark: 1, action: accept }
      - { id: not-mark, not: { mark: 0, pkttype: broadcast }, proto: udp, action: accept }
      - { id: not-dnat, not: { ct_status: dnat, oif: "wan*" }, action: continue }
  v4only:
    hook: forward
    priority: -10
    family: ip
    policy: drop
    rules:
      - { id: not-tcp, not: { proto: tcp }, action: accept }
      - { id: not-mail, proto: tcp, not: { dport: [25, 465] }, action: accept }
`;

/** Each rule as nft 1.0.6 lists it (hand-written), by comment. */
const LISTED: Record<string, string> = {
  rpf: 'fib saddr . iif oif missing drop',
  'no-ntp': 'udp dport 123 notrack continue',
  // nft prints the and/xor pair in its and/or form: the same bits.
  tag: 'iifname "lan0" meta mark set meta mark & 0xffff42ff | 0x00004200 continue',
  tag2: 'iifname != "lan0" meta mark set 0x00000001 continue',
  est: 'ct state established,related accept',
  'local-ssh': 'ip saddr != 192.168.1.0/24 tcp dport 22 fib daddr type local drop',
  bcast: 'meta l4proto udp fib daddr . iif type { broadcast, multicast } accept',
  'icmp-not-echo': 'icmp type != echo-request accept',
  'no-unreach':
    'icmp type . icmp code != { destination-unreachable . host-unreachable, destination-unreachable . port-unreachable } drop',
  untracked: 'ct state untracked accept',
  'odd-state': 'ct state ! established,related,new drop',
  tagged: 'meta mark & 0x0000ff00 == 0x00004200 accept',
  'not-ssh': 'meta mark 0x00000001 tcp dport != 22 tcp flags != syn / syn,ack accept',
  'not-mark': 'meta l4proto udp meta pkttype != broadcast meta mark != 0x00000000 accept',
  'not-dnat': 'oifname != "wan*" ct status ! dnat continue',
  'family ip only': 'meta nfproto ipv6 accept',
  'not-tcp': 'meta l4proto != tcp accept',
  'not-mail': 'tcp dport != { 25, 465 } accept',
};

const tmp = mkdtempSync(join(tmpdir(), 'fwemu-m18-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const withNamespace = namespaces('fwemu-m18-');
const missing = toolsMissing(
  [
    ['nft', 'nftables'],
    ['ip', 'iproute2'],
  ],
  'nft',
  () => withNamespace(() => undefined),
);

describe('export (nft) of the issue 18 fields', () => {
  const text = exportNft(ok(MODEL18).ruleset);

  it('an inert rule is left out, with a comment saying why', () => {
    const rs = ok(MODEL18).ruleset;
    rs.firewall!.chains[0].rules[0].inert = 'the rule never matches\n(lenient)';
    const lines = exportNft(rs).split('\n');
    expect(lines).toContain('    # rpf: the rule never matches\\n(lenient)');
    expect(lines.some((l) => l.includes('comment "rpf"'))).toBe(false);
  });

  toolTest('nft', missing, 'every new field as nft lists it, the raw chain at -300', () => {
    const file = join(tmp, 'm18.nft');
    writeFileSync(file, text);
    const listed = withNamespace((ns) => {
      const load = run('ip', ['netns', 'exec', ns, 'nft', '-f', file]);
      expect(load.code, `nft -f: ${load.stderr}\n${text}`).toBe(0);
      return run('ip', ['netns', 'exec', ns, 'nft', 'list', 'ruleset']).stdout;
    });
    const rules: Record<string, string> = {};
    for (const l of listed.split('\n').map((x) => x.trim())) {
      const c = /^(.*) comment "([^"]*)"$/.exec(l);
      if (c !== null) rules[c[2]] = c[1];
    }
    expect(rules).toEqual(LISTED);
    expect(listed).toContain('type filter hook prerouting priority raw; policy accept;');
  });
});
