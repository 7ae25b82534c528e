/**
 * Issue 18's model fields in the walk (rules/fw-walk.ts, engine/fw-judge.ts):
 * negation, marks across hooks, fib, notrack and raw chains, chain
 * families, inert rules. The firewalls are the YAML's, with the new fields
 * set on the model as an importer sets them; expected outcomes are worked
 * out by hand from the kernel's code (nft_cmp, nft_meta, nft_fib_ipv4/6,
 * nft_ct notrack, nft_do_chain); test/kernel/fw-model18.test.ts runs the
 * same fields against the kernel.
 */
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { rawRecord } from '../support/raw-record.js';
import { causeName } from '../../src/engine/result.js';
import { decodePacket, newDecodedPacket } from '../../src/packet/decode.js';
import { buildIpPacket, type PacketSpec } from '../../src/packet/encode.js';
import type { Firewall, FwChain, FwRule } from '../../src/rules/firewall.js';
import { parseRuleSet } from '../../src/rules/load.js';

const rec = rawRecord;

interface Outcome {
  verdict: string;
  cause: string;
  rule: string | null;
  ct: string | null;
}

type Patch = (fw: Firewall) => void;

/** Judge packets in order through the YAML's firewall with `patch` applied to its model. */
function judge(yaml: string, patch: Patch, packets: (PacketSpec | { spec: PacketSpec; on: string })[]): Outcome[] {
  const { ruleset } = parseRuleSet(yaml, 'fw.yaml');
  if (!ruleset.firewall) throw new Error('no firewall');
  patch(ruleset.firewall);
  const engine = new Engine(ruleset);
  return packets.map((x, i) => {
    const spec = 'spec' in x ? x.spec : x;
    const r0 = rec(buildIpPacket(spec), i + 1, i * 0.001, 'on' in x ? x.on : '');
    const p = decodePacket(r0.buf, 0, r0.caplen, r0.linkType, r0.direction, newDecodedPacket(), r0.len);
    const r = engine.process(r0, p)!;
    return { verdict: r.verdict, cause: causeName(r.cause), rule: r.fwRule?.id ?? null, ct: r.ct };
  });
}

const chain = (fw: Firewall, name: string): FwChain => fw.chains.find((c) => c.name === name)!;
const rule = (fw: Firewall, id: string): FwRule => fw.chains.flatMap((c) => c.rules).find((r) => r.id === id)!;

const syn = (src: string, dst: string, dport: number, sport = 40000): PacketSpec =>
  ({ ip: { src, dst }, tcp: { sport, dport, flags: 'S', seq: 1 } }) as PacketSpec;
const udp = (src: string, dst: string, dport: number): PacketSpec =>
  ({ ip: { src, dst }, udp: { sport: 40000, dport } }) as PacketSpec;

const IFACES = `
interfaces:
  lan0: { addresses: [192.168.1.1/24, "fd00:1::1/64"] }
  wan0: { addresses: [203.0.113.1/24, "2001:db8:1::1/64"], default: true }
`;

describe('negation: the value test inverted, the family and protocol it implies kept', () => {
  const yaml = `${IFACES}
chains:
  forward:
    hook: forward
    rules:
      - { id: not-lan, src: 192.168.1.0/24, action: drop }
      - { id: not-ssh, proto: tcp, dport: 22, action: drop }
`;
  const out = judge(
    yaml,
    (fw) => {
      rule(fw, 'not-lan').not = ['src'];
      rule(fw, 'not-ssh').not = ['dport'];
    },
    [
      syn('192.168.1.10', '198.51.100.1', 22),
      syn('198.51.100.1', '192.168.1.10', 22),
      syn('fd00:1::10', '2001:db8:9::1', 22),
      udp('192.168.1.10', '198.51.100.1', 53),
      syn('192.168.1.10', '198.51.100.1', 80, 40001),
    ],
  );
  it('ip saddr != 192.168.1.0/24 drops an IPv4 packet from elsewhere, not one from the LAN', () => {
    expect(out[0]).toMatchObject({ verdict: 'accept', cause: 'policy' });
    expect(out[1]).toMatchObject({ verdict: 'drop', rule: 'not-lan' });
  });
  it('never an IPv6 packet (the address implies IPv4), nor UDP for tcp dport != 22', () => {
    expect(out[2]).toMatchObject({ verdict: 'accept', cause: 'policy' });
    expect(out[3]).toMatchObject({ verdict: 'accept', cause: 'policy' });
  });
  it('tcp dport != 22 drops TCP to another port', () => {
    expect(out[4]).toMatchObject({ verdict: 'drop', rule: 'not-ssh' });
  });
});

describe('mark: set in prerouting, read in forward, 0 again for the next packet', () => {
  const yaml = `${IFACES}
chains:
  mangle:
    hook: prerouting
    priority: mangle
    rules:
      - { id: tag, iif: lan0, action: continue }
  forward:
    hook: forward
    policy: drop
    rules:
      - { id: tagged, action: accept }
      - { id: untagged, action: accept }
`;
  const patch: Patch = (fw) => {
    rule(fw, 'tag').markSet = { and: 0xffff00ff, xor: 0x4200, text: 'meta mark set meta mark & 0xffff00ff ^ 0x4200' };
    rule(fw, 'tagged').mark = { value: 0x4200, mask: 0xff00, text: '' };
    rule(fw, 'untagged').mark = { value: 0, mask: 0xffffffff, text: '' };
    rule(fw, 'untagged').not = ['mark'];
  };
  const out = judge(yaml, patch, [
    syn('192.168.1.10', '198.51.100.1', 80),
    syn('198.51.100.1', '192.168.1.10', 80),
    syn('192.168.1.10', '198.51.100.1', 80, 40002),
  ]);
  it('a LAN packet carries the mark prerouting gave it into forward', () => {
    expect(out[0]).toMatchObject({ verdict: 'accept', rule: 'tagged' });
    expect(out[2]).toMatchObject({ verdict: 'accept', rule: 'tagged' });
  });
  it('a WAN packet after it starts at mark 0 (meta mark != 0 does not match): the policy drops it', () => {
    expect(out[1]).toMatchObject({ verdict: 'drop', cause: 'policy' });
  });
});

describe('fib: route types and the reverse-path check from the interfaces', () => {
  const yaml = `
interfaces:
  lan0: { addresses: [192.168.1.1/24, "fd00:1::1/64"] }
  wan0: { addresses: 203.0.113.1/24, networks: [198.51.100.0/24, "2001:db8::/32"] }
chains:
  pre:
    hook: prerouting
    rules:
      - { id: rpf, action: drop }
      - { id: local, proto: tcp, action: drop }
      - { id: bcast, proto: udp, action: drop }
      - { id: loc-on-wan, proto: udp, dport: 7, action: drop }
  forward:
    hook: forward
    rules:
      - { id: unreach6, action: drop }
`;
  const patch: Patch = (fw) => {
    rule(fw, 'rpf').fib = [{ addr: 'saddr', dev: 'iif', result: 'oif-missing', types: [], neg: false, text: '' }];
    rule(fw, 'local').fib = [{ addr: 'daddr', dev: null, result: 'type', types: ['local'], neg: false, text: '' }];
    rule(fw, 'bcast').fib = [{ addr: 'daddr', dev: null, result: 'type', types: ['broadcast'], neg: false, text: '' }];
    const low = rule(fw, 'loc-on-wan');
    low.fib = [{ addr: 'daddr', dev: 'iif', result: 'type', types: ['local'], neg: false, text: '' }];
    rule(fw, 'unreach6').fib = [
      { addr: 'daddr', dev: null, result: 'type', types: ['unreachable'], neg: false, text: '' },
    ];
    chain(fw, 'pre').priority = -300;
  };
  const out = judge(yaml, patch, [
    { spec: syn('10.9.9.9', '192.168.1.10', 80), on: 'lan0' },
    syn('192.168.1.10', '192.168.1.1', 22),
    syn('192.168.1.10', '203.0.113.1', 22),
    syn('192.168.1.10', '198.51.100.1', 22),
    udp('192.168.1.10', '192.168.1.255', 67),
    udp('192.168.1.10', '255.255.255.255', 67),
    udp('198.51.100.7', '192.168.1.1', 7),
    udp('192.168.1.10', '203.0.113.1', 7),
    udp('198.51.100.7', '198.51.100.8', 7),
    syn('fd00:1::10', '2001:db9::1', 80),
    syn('fd00:1::10', '2001:db8::1', 80),
  ]);
  it('fib saddr . iif oif missing: a source with no route back is dropped', () => {
    expect(out[0]).toMatchObject({ verdict: 'drop', rule: 'rpf' });
  });
  it('fib daddr type local: every own address, whichever interface holds it; not a forwarded destination', () => {
    expect(out[1]).toMatchObject({ verdict: 'drop', rule: 'local' });
    expect(out[2]).toMatchObject({ verdict: 'drop', rule: 'local' });
    expect(out[3]).toMatchObject({ verdict: 'accept' });
  });
  it('fib daddr type broadcast: the directed broadcast of a connected network and 255.255.255.255', () => {
    expect(out[4]).toMatchObject({ verdict: 'drop', rule: 'bcast' });
    expect(out[5]).toMatchObject({ verdict: 'drop', rule: 'bcast' });
  });
  it('fib daddr . iif type local: only an address of the interface the packet came in by', () => {
    expect(out[6]).toMatchObject({ verdict: 'accept' });
    expect(out[7]).toMatchObject({ verdict: 'accept' });
  });
  it('a forwarded packet to a routed address is unicast', () => {
    expect(out[8]).toMatchObject({ verdict: 'accept' });
  });
  it('fib daddr type unreachable (IPv6): no route; a routed destination is not', () => {
    expect(out[9]).toMatchObject({ verdict: 'drop', cause: 'not-routed' });
    expect(out[10]).toMatchObject({ verdict: 'accept' });
  });
});

describe('notrack in a raw chain; ct state there; chain families; inert rules', () => {
  const yaml = `${IFACES}
chains:
  raw:
    hook: prerouting
    priority: filter
    rules:
      - { id: raw-invalid, proto: udp, dport: 9, ct_state: invalid, action: drop }
      - { id: no-dns, proto: udp, dport: 53, action: continue }
  forward:
    hook: forward
    policy: drop
    rules:
      - { id: untracked, ct_state: untracked, action: accept }
      - { id: fresh, ct_state: new, proto: udp, dport: 123, action: accept }
  v4only:
    hook: forward
    priority: -10
    rules:
      - { id: v4-drop, proto: tcp, dport: 443, action: drop }
  inert:
    hook: forward
    priority: -20
    rules:
      - { id: never, action: drop }
`;
  const patch: Patch = (fw) => {
    chain(fw, 'raw').priority = -300;
    rule(fw, 'no-dns').notrack = true;
    chain(fw, 'v4only').family = 4;
    rule(fw, 'never').inert = 'the rule never matches';
  };
  const out = judge(yaml, patch, [
    udp('192.168.1.10', '198.51.100.1', 53),
    udp('192.168.1.10', '198.51.100.1', 9),
    udp('192.168.1.10', '198.51.100.1', 123),
    syn('fd00:1::10', '2001:db8:9::1', 443),
    syn('192.168.1.10', '198.51.100.1', 443),
  ]);
  it('a notracked packet reads ct state untracked later and makes no entry', () => {
    expect(out[0]).toMatchObject({ verdict: 'accept', rule: 'untracked', ct: 'untracked' });
  });
  it('before conntrack every packet reads ct state invalid', () => {
    expect(out[1]).toMatchObject({ verdict: 'drop', rule: 'raw-invalid', ct: null });
  });
  it('after the raw chain, other packets are tracked', () => {
    expect(out[2]).toMatchObject({ verdict: 'accept', rule: 'fresh', ct: 'new' });
  });
  it('a chain of family 4 never sees IPv6; an inert rule never matches', () => {
    expect(out[3]).toMatchObject({ verdict: 'drop', cause: 'policy' });
    expect(out[4]).toMatchObject({ verdict: 'drop', rule: 'v4-drop' });
  });
});

describe('hop_limit: the TTL as each hook sees it', () => {
  const yaml = `${IFACES}
chains:
  input:
    hook: input
    rules:
      - { id: in-64, family: ipv4, proto: udp, hop_limit: 64, action: drop }
  forward:
    hook: forward
    rules:
      - { id: fwd-64, family: ipv4, proto: udp, hop_limit: 64, action: drop }
      - { id: fwd-hl, family: ipv6, proto: udp, hop_limit: "!= 9", action: drop }
`;
  const ttl = (src: string, dst: string, t: number): PacketSpec =>
    ({ ip: { src, dst, ttl: t }, udp: { sport: 40000, dport: 53 } }) as PacketSpec;
  const out = judge(yaml, () => undefined, [
    ttl('192.168.1.10', '192.168.1.1', 64),
    ttl('192.168.1.10', '198.51.100.1', 64),
    ttl('192.168.1.10', '198.51.100.1', 65),
    ttl('fd00:1::10', '2001:db8:9::1', 10),
    ttl('fd00:1::10', '2001:db8:9::1', 11),
  ]);
  it('input sees it as it came', () => {
    expect(out[0]).toMatchObject({ verdict: 'drop', rule: 'in-64' });
  });
  it('forward sees one less (ip_forward and ip6_forward take it off before the hook)', () => {
    expect(out[1]).toMatchObject({ verdict: 'accept' });
    expect(out[2]).toMatchObject({ verdict: 'drop', rule: 'fwd-64' });
    expect(out[3]).toMatchObject({ verdict: 'accept' });
    expect(out[4]).toMatchObject({ verdict: 'drop', rule: 'fwd-hl' });
  });
});
