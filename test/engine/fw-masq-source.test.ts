/**
 * Masquerade out of an interface without an address of the packet's
 * family, in the engine: the source is another interface's (as the
 * kernel's ipv6_dev_get_saddr / inet_select_addr pick it, worked out by
 * hand), and only when no interface has one is the packet dropped, saying
 * so. test/kernel/fw-masq-source.test.ts checks the choice in the kernel.
 */
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { rawRecord } from '../support/raw-record.js';
import { causeName } from '../../src/engine/result.js';
import { formatAddr } from '../../src/packet/addr.js';
import { decodePacket, newDecodedPacket } from '../../src/packet/decode.js';
import { buildIpPacket, type PacketSpec } from '../../src/packet/encode.js';
import { parseRuleSet } from '../../src/rules/load.js';

function judge(yaml: string, spec: PacketSpec) {
  const { ruleset } = parseRuleSet(yaml, 'fw.yaml');
  const engine = new Engine(ruleset);
  const buf = buildIpPacket(spec);
  const rec = rawRecord(buf);
  const p = decodePacket(buf, 0, buf.length, rec.linkType, rec.direction, newDecodedPacket(), buf.length);
  const r = engine.process(rec, p)!;
  const e = r.egress;
  return {
    verdict: r.verdict,
    cause: causeName(r.cause),
    src: e ? formatAddr(e.ipVersion, e.src0, e.src1, e.src2, e.src3) : null,
    detail: r.detail,
  };
}

const fw = (lan: string) => `
interfaces:
  lan0: { addresses: [${lan}] }
  wan0: { addresses: 203.0.113.1/24, default: true }
chains:
  nat:
    hook: postrouting
    type: nat
    rules:
      - { oif: wan0, masquerade: true }
`;
const out6 = { ip: { src: 'fd00:1::10', dst: '2001:db8:5::10' }, udp: { sport: 40000, dport: 53 } } as PacketSpec;

describe('masquerade when the egress interface has no address of the family', () => {
  it('IPv6: the LAN address (the only one of global scope) and the packet is forwarded', () => {
    expect(judge(fw('192.168.1.1/24, "fd00:1::1/64"'), out6)).toMatchObject({ verdict: 'accept', src: 'fd00:1::1' });
  });
  it('no interface has one: dropped, and the reason says so', () => {
    // (The LAN addresses fd00:1::/64 by route only: a network, no address of its own.)
    const yaml = fw('192.168.1.1/24').replace(
      'lan0: { addresses: [192.168.1.1/24] }',
      'lan0: { addresses: [192.168.1.1/24], networks: ["fd00:1::/64"] }',
    );
    expect(judge(yaml, out6)).toMatchObject({
      verdict: 'drop',
      cause: 'nat-failed',
      detail: 'masquerade: no interface has an IPv6 address to translate to',
    });
  });
});
