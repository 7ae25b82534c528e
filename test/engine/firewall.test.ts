/**
 * The firewall model's walk (rules/fw-walk.ts, engine/fw-judge.ts): which
 * chain sees a packet, iif/oif from the routes, jump/goto/return, policies,
 * ct state in rules, limits. Expected outcomes are worked out by hand from
 * nftables' semantics (nft_do_chain); test/kernel/firewall*.test.ts holds the
 * same rule sets against the kernel.
 */
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { rawRecord } from '../support/raw-record.js';
import { causeName } from '../../src/engine/result.js';
import { decodePacket, newDecodedPacket } from '../../src/packet/decode.js';
import { buildIpPacket, type PacketSpec } from '../../src/packet/encode.js';
import { explain } from '../../src/report/reason.js';
import { parseRuleSet } from '../../src/rules/load.js';

const rec = (ip: Uint8Array, n: number, t: number) => rawRecord(ip, n, t);

interface Outcome {
  verdict: string;
  cause: string;
  rule: string | null;
  chain: string | null;
  iif: string | null;
  oif: string | null;
  ct: string | null;
  reason: string;
}

/** Judge packets in order (time t seconds after the first); the outcome of each. */
function judge(yaml: string, packets: { spec: PacketSpec; t?: number }[]): Outcome[] {
  const { ruleset } = parseRuleSet(yaml, 'fw.yaml');
  const engine = new Engine(ruleset);
  return packets.map(({ spec, t }, i) => {
    const r0 = rec(buildIpPacket(spec), i + 1, t ?? i * 0.001);
    const p = decodePacket(r0.buf, 0, r0.caplen, r0.linkType, r0.direction, newDecodedPacket(), r0.len);
    const r = engine.process(r0, p)!;
    return {
      verdict: r.verdict,
      cause: causeName(r.cause),
      rule: r.fwRule?.id ?? null,
      chain: r.chain,
      iif: r.iif,
      oif: r.oif,
      ct: r.ct,
      reason: explain(r, p, engine.compiled),
    };
  });
}

const syn = (src: string, sport: number, dst: string, dport: number, ttl = 64): PacketSpec =>
  ({ ip: { src, dst, ttl }, tcp: { sport, dport, flags: 'S', seq: 1000 } }) as PacketSpec;
const synAck = (src: string, sport: number, dst: string, dport: number): PacketSpec =>
  ({ ip: { src, dst }, tcp: { sport, dport, flags: 'SA', seq: 5000, ack: 1001 } }) as PacketSpec;

const ROUTER = `
name: router
interfaces:
  lan0: { addresses: [192.168.1.1/24, "fd00:1::1/64"] }
  wan0: { addresses: 203.0.113.1/24, default: true }
chains:
  input:
    hook: input
    policy: drop
    rules:
      - { id: in-est, ct_state: [established, related], action: accept }
      - { id: ssh-lan, iif: lan0, proto: tcp, dport: 22, action: accept }
  forward:
    hook: forward
    policy: drop
    rules:
      - { id: est, ct_state: [established, related], action: accept }
      - { id: drop-invalid, ct_state: invalid, action: drop }
      - { id: lan-out, iif: lan0, oif: "wan*", jump: lan_out }
  lan_out:
    rules:
      - { id: no-smtp, proto: tcp, dport: 25, action: reject }
      - { id: web-ok, proto: tcp, dport: [80, 443], action: accept }
      - { id: back, action: return }
      - { id: never, action: accept }
`;

describe('firewall model: chains, interfaces, jumps', () => {
  const out = judge(ROUTER, [
    { spec: syn('192.168.1.10', 5000, '198.51.100.10', 80) },
    { spec: synAck('198.51.100.10', 80, '192.168.1.10', 5000) },
    { spec: syn('192.168.1.10', 5001, '198.51.100.10', 25) },
    { spec: syn('192.168.1.10', 5002, '198.51.100.10', 22) },
    { spec: syn('192.168.1.10', 5003, '192.168.1.1', 22) },
    { spec: syn('198.51.100.10', 5004, '203.0.113.1', 22) },
    { spec: syn('198.51.100.10', 5005, '192.168.1.10', 80) },
    { spec: synAck('198.51.100.10', 80, '192.168.1.10', 6000) },
    { spec: syn('192.168.1.10', 5006, '198.51.100.10', 80, 1) },
    { spec: syn('fd00:1::10', 5007, '2001:db8::1', 443) },
  ]);

  it('a new flow from the LAN jumps to lan_out and is accepted there (iif by the source route, oif by the default route)', () => {
    expect(out[0]).toMatchObject({ verdict: 'accept', cause: 'rule', rule: 'web-ok', chain: 'lan_out' });
    expect(out[0]).toMatchObject({ iif: 'lan0', oif: 'wan0', ct: 'new' });
    expect(out[0].reason).toBe(
      'accepted: new tcp to port 80 matches rule web-ok (fw.yaml:23) in chain lan_out (in lan0, out wan0)',
    );
  });

  it('its reply is accepted by the ct state rule, as ESTABLISHED', () => {
    expect(out[1]).toMatchObject({ verdict: 'accept', cause: 'established', rule: 'est', chain: 'forward' });
    expect(out[1]).toMatchObject({ iif: 'wan0', oif: 'lan0', ct: 'established' });
  });

  it('reject in a user chain ends the walk', () => {
    expect(out[2]).toMatchObject({ verdict: 'reject', cause: 'rule', rule: 'no-smtp', chain: 'lan_out' });
  });

  it('return goes back to the calling chain, whose end gives the base chain policy', () => {
    expect(out[3]).toMatchObject({ verdict: 'drop', cause: 'policy', rule: null, chain: 'forward' });
    expect(out[3].reason).toMatch(
      /^dropped: no rule of chain forward accepts new tcp to port 22; policy drop \(in lan0, out wan0\)$/,
    );
  });

  it('a packet to the firewall goes to input (no oif); iif matches there', () => {
    expect(out[4]).toMatchObject({ verdict: 'accept', rule: 'ssh-lan', chain: 'input', iif: 'lan0', oif: null });
    expect(out[5]).toMatchObject({ verdict: 'drop', cause: 'policy', chain: 'input', iif: 'wan0', oif: null });
  });

  it('from the WAN, nothing but replies is forwarded', () => {
    expect(out[6]).toMatchObject({ verdict: 'drop', cause: 'policy', chain: 'forward', iif: 'wan0', oif: 'lan0' });
  });

  it('ct state invalid is matched by a rule like any other', () => {
    // A SYN/ACK without a SYN: conntrack calls it INVALID (tcp_conntracks: sNO + SYN/ACK -> invalid).
    expect(out[7]).toMatchObject({ verdict: 'drop', cause: 'invalid', rule: 'drop-invalid', ct: 'invalid' });
  });

  it('TTL 1 expires before the forward chain', () => {
    expect(out[8]).toMatchObject({ verdict: 'drop', cause: 'ttl-expired' });
  });

  it('IPv6 routes by the default route too', () => {
    expect(out[9]).toMatchObject({ verdict: 'accept', rule: 'web-ok', iif: 'lan0', oif: 'wan0' });
  });
});

describe('firewall model: goto, policy accept, routes', () => {
  const yaml = `
interfaces:
  a: { addresses: 10.0.1.1/24 }
  b: { addresses: 10.0.2.1/24, networks: [10.9.0.0/16] }
chains:
  fwd:
    hook: forward
    policy: accept
    rules:
      - { id: to-b, oif: b, goto: check }
      - { id: after, action: drop }
  check:
    rules:
      - { id: only-web, proto: tcp, dport: 80, action: accept }
`;
  const out = judge(yaml, [
    { spec: syn('10.0.1.5', 1000, '10.9.3.4', 80) },
    { spec: syn('10.0.1.5', 1001, '10.9.3.4', 22) },
    { spec: syn('10.0.2.5', 1002, '10.0.1.5', 22) },
    { spec: syn('10.0.1.5', 1003, '8.8.8.8', 53) },
  ]);

  it('a route from networks: gives the oif', () => {
    expect(out[0]).toMatchObject({ verdict: 'accept', rule: 'only-web', iif: 'a', oif: 'b' });
  });

  it('the end of a chain entered by goto gives the base chain policy, not the rules after the goto', () => {
    expect(out[1]).toMatchObject({ verdict: 'accept', cause: 'policy', chain: 'fwd' });
  });

  it('rules after a goto that did not match still run', () => {
    expect(out[2]).toMatchObject({ verdict: 'drop', rule: 'after', iif: 'b', oif: 'a' });
  });

  it('no route: dropped before the forward chain', () => {
    expect(out[3]).toMatchObject({ verdict: 'drop', cause: 'not-routed', oif: null });
    expect(out[3].reason).toMatch(/^dropped: no route to 8\.8\.8\.8/);
  });
});

describe('firewall model: limit', () => {
  it('limit rate 2/second burst 2: the bucket starts full, each packet costs 0.5 s of tokens (nft_limit_eval)', () => {
    const yaml = `
interfaces:
  a: { addresses: 10.0.1.1/24, default: true }
chains:
  in:
    hook: input
    policy: drop
    rules:
      - { id: ping, proto: icmp, type: echo-request, limit: "2/second burst 2 packets", action: accept }
`;
    const ping = (t: number, seq: number) => ({
      spec: { ip: { src: '10.0.1.5', dst: '10.0.1.1' }, icmp: { type: 8, code: 0, id: 1, seq } } as PacketSpec,
      t,
    });
    // Bucket 1 s (2 x 0.5 s). t=0: full, take -> 0.5; t=0.1: 0.6 -> 0.1; t=0.2: 0.2 < 0.5 no;
    // t=0.5: 0.2 + 0.3 = 0.5 -> take -> 0; t=2: capped at 1 -> 0.5; t=2: 0.5 -> 0; t=2: 0 no.
    const out = judge(yaml, [ping(0, 1), ping(0.1, 2), ping(0.2, 3), ping(0.5, 4), ping(2, 5), ping(2, 6), ping(2, 7)]);
    expect(out.map((o) => o.verdict)).toEqual(['accept', 'accept', 'drop', 'accept', 'accept', 'accept', 'drop']);
  });
});

interface NatOutcome extends Outcome {
  egress: string | null;
  nat: string | null;
}

/** As judge(), with the packet as it leaves ("src:sport > dst:dport", ICMP "src > dst id N") when NAT changed it. */
function judgeNat(yaml: string, packets: PacketSpec[]): { out: NatOutcome[]; engine: Engine } {
  const { ruleset } = parseRuleSet(yaml, 'nat.yaml');
  const engine = new Engine(ruleset);
  const out = packets.map((spec, i) => {
    const r0 = rec(buildIpPacket(spec), i + 1, i * 0.001);
    const p = decodePacket(r0.buf, 0, r0.caplen, r0.linkType, r0.direction, newDecodedPacket(), r0.len);
    const r = engine.process(r0, p)!;
    const e = r.egress;
    let egress: string | null = null;
    if (e !== null) {
      const a = (w: number[]) =>
        e.ipVersion === 4 ? [w[0] >>> 24, (w[0] >>> 16) & 255, (w[0] >>> 8) & 255, w[0] & 255].join('.') : '';
      egress =
        e.proto === 1
          ? `${a([e.src0])} > ${a([e.dst0])} id ${e.icmpId}`
          : `${a([e.src0])}:${e.sport} > ${a([e.dst0])}:${e.dport}`;
    }
    return {
      verdict: r.verdict,
      cause: causeName(r.cause),
      rule: r.fwRule?.id ?? null,
      chain: r.chain,
      iif: r.iif,
      oif: r.oif,
      ct: r.ct,
      reason: explain(r, p, engine.compiled),
      egress,
      nat: r.natRule?.id ?? null,
    };
  });
  return { out, engine };
}

const HOME = `
interfaces:
  lan0: { addresses: 192.168.1.1/24 }
  wan0: { addresses: 203.0.113.1/24, default: true }
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
      - { id: lan-out, oif: wan0, masquerade: true }
  forward:
    hook: forward
    policy: drop
    rules:
      - { id: est, ct_state: [established, related], action: accept }
      - { id: lan-wan, iif: lan0, oif: wan0, action: accept }
      - { id: fwd-ok, ct_status: dnat, action: accept }
`;

describe('firewall model: NAT (hand-computed tuples, as nf_nat keeps a free port)', () => {
  const { out, engine } = judgeNat(HOME, [
    syn('192.168.1.10', 5000, '198.51.100.10', 80),
    synAck('198.51.100.10', 80, '203.0.113.1', 5000),
    syn('192.168.1.11', 5000, '198.51.100.10', 80),
    synAck('198.51.100.10', 80, '203.0.113.1', 5001),
    syn('198.51.100.20', 40000, '203.0.113.1', 8080),
    synAck('192.168.1.10', 80, '198.51.100.20', 40000),
    { ip: { src: '192.168.1.10', dst: '198.51.100.10' }, icmp: { type: 8, code: 0, id: 77, seq: 1 } } as PacketSpec,
    { ip: { src: '198.51.100.10', dst: '203.0.113.1' }, icmp: { type: 0, code: 0, id: 77, seq: 1 } } as PacketSpec,
    syn('198.51.100.20', 40001, '203.0.113.1', 8081),
  ]);

  it('masquerade: the first packet leaves from the WAN address, keeping its free port', () => {
    expect(out[0]).toMatchObject({ verdict: 'accept', rule: 'lan-wan', nat: 'lan-out', iif: 'lan0', oif: 'wan0' });
    expect(out[0].egress).toBe('203.0.113.1:5000 > 198.51.100.10:80');
    expect(out[0].reason).toMatch(/; masqueraded to 203\.0\.113\.1:5000 by rule lan-out \(nat\.yaml:\d+\)$/);
  });

  it('the reply, addressed to the firewall, is found by the reply tuple and sent on to the inside socket', () => {
    expect(out[1]).toMatchObject({
      verdict: 'accept',
      cause: 'established',
      iif: 'wan0',
      oif: 'lan0',
      ct: 'established',
    });
    expect(out[1].egress).toBe('198.51.100.10:80 > 192.168.1.10:5000');
  });

  it('a second inside host with the same port to the same server: the reply tuple clashes, the port moves (fwemu: the next free one)', () => {
    expect(out[2].egress).toBe('203.0.113.1:5001 > 198.51.100.10:80');
    expect(out[3]).toMatchObject({ verdict: 'accept', cause: 'established', oif: 'lan0' });
    expect(out[3].egress).toBe('198.51.100.10:80 > 192.168.1.11:5000');
  });

  it('port forward: DNAT at prerouting, so the forward chain sees the inside address (ct status dnat)', () => {
    expect(out[4]).toMatchObject({ verdict: 'accept', rule: 'fwd-ok', nat: 'web-fwd', iif: 'wan0', oif: 'lan0' });
    expect(out[4].egress).toBe('198.51.100.20:40000 > 192.168.1.10:80');
    expect(out[5]).toMatchObject({ verdict: 'accept', cause: 'established', iif: 'lan0', oif: 'wan0' });
    expect(out[5].egress).toBe('203.0.113.1:8080 > 198.51.100.20:40000');
  });

  it('ICMP echo is masqueraded by its id', () => {
    expect(out[6].egress).toBe('203.0.113.1 > 198.51.100.10 id 77');
    expect(out[7]).toMatchObject({ verdict: 'accept', cause: 'established' });
    expect(out[7].egress).toBe('198.51.100.10 > 192.168.1.10 id 77');
  });

  it('a WAN packet to the firewall on another port is not forwarded: it goes to input (no input chain: accepted)', () => {
    expect(out[8]).toMatchObject({ verdict: 'accept', cause: 'policy', oif: null, egress: null, nat: null });
  });

  it('conntrack lists the translated reply tuples', () => {
    const list = engine.ct!.entries(engine.now).map((e) => `${e.orig.sport}>${e.reply.dport}`);
    expect(list).toContain('5000>5000');
    expect(list).toContain('5000>5001');
  });
});

describe('firewall model: counter', () => {
  it('counts the packets and IP bytes that reach and match the rule (nft counts skb->len: the IP packet), never deciding', () => {
    const yaml = `
interfaces:
  lan0: { addresses: 192.168.1.1/24 }
  wan0: { addresses: 203.0.113.1/24, default: true }
chains:
  forward:
    hook: forward
    policy: drop
    rules:
      - { id: tcp-seen, proto: tcp, counter: true, action: continue }
      - { id: out, iif: lan0, action: accept }
`;
    const { ruleset } = parseRuleSet(yaml, 'c.yaml');
    const engine = new Engine(ruleset);
    const specs = [
      syn('192.168.1.10', 1000, '198.51.100.10', 80),
      syn('198.51.100.10', 1001, '192.168.1.10', 80),
      { ip: { src: '192.168.1.10', dst: '198.51.100.10' }, udp: { sport: 1, dport: 53, payload: 20 } } as PacketSpec,
      syn('192.168.1.10', 1002, '203.0.113.1', 22),
    ];
    const verdicts = specs.map((spec, i) => {
      const r0 = rec(buildIpPacket(spec), i + 1, i);
      const p = decodePacket(r0.buf, 0, r0.caplen, r0.linkType, r0.direction, newDecodedPacket(), r0.len);
      return engine.process(r0, p)!.verdict;
    });
    // Two TCP SYNs cross the forward chain (40 bytes each: 20 IP + 20 TCP); the UDP one does not match,
    // the SYN to the router goes to input; the counter decides nothing (the WAN SYN falls to the policy).
    expect(verdicts).toEqual(['accept', 'drop', 'accept', 'accept']);
    expect(engine.stats.counters).toEqual([{ id: 'tcp-seen', packets: 2, bytes: 80 }]);
  });
});
