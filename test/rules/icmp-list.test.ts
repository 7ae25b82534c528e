/**
 * A `type:` list matches a packet whose type is any of its members, and no
 * other (with `code:` lists likewise): hand-built ICMP and ICMPv6 packets,
 * each of a known type and code, replayed through `fwemu replay`; which
 * rule takes each is worked out by hand from the list. The same replay
 * shows each packet's type in nft's words, as the rule file writes it.
 */
import { describe, expect, it } from 'vitest';
import { LinkType } from '../../src/capture/types.js';
import { buildPacket } from '../../src/packet/encode.js';
import { fwemuIn } from '../cli/run.js';
import { pcapBytes } from '../packet/helpers.js';
import { scratch } from '../support/scratch.js';
import { y } from './helpers.js';

const RULES = y`
  stateful: false
  policy: drop
  rules:
    - id: nd
      proto: icmpv6
      type: [nd-neighbor-solicit, nd-neighbor-advert]
    - id: ping
      proto: icmp
      type: [echo-request, 0]
    - id: errors
      proto: icmp
      type: [destination-unreachable, time-exceeded]
      code: [port-unreachable, frag-needed, 0]
`;

/** [ip version, type, code, the rule that takes it (null: the policy), the type as the text line shows it]. */
const CASES: [4 | 6, number, number, string | null, string][] = [
  [6, 135, 0, 'nd', 'icmpv6 nd-neighbor-solicit'],
  [6, 136, 0, 'nd', 'icmpv6 nd-neighbor-advert'],
  [6, 133, 0, null, 'icmpv6 nd-router-solicit'],
  [6, 134, 0, null, 'icmpv6 nd-router-advert'],
  [6, 128, 0, null, 'icmpv6 echo-request'],
  [6, 137, 0, null, 'icmpv6 nd-redirect'],
  [4, 8, 0, 'ping', 'icmp echo-request'],
  [4, 0, 0, 'ping', 'icmp echo-reply'],
  [4, 13, 0, null, 'icmp timestamp-request'],
  [4, 3, 3, 'errors', 'icmp destination-unreachable port-unreachable'],
  [4, 3, 4, 'errors', 'icmp destination-unreachable frag-needed'],
  [4, 3, 0, 'errors', 'icmp destination-unreachable net-unreachable'],
  [4, 3, 1, null, 'icmp destination-unreachable host-unreachable'],
  [4, 11, 0, 'errors', 'icmp time-exceeded'],
  [4, 11, 1, null, 'icmp time-exceeded code 1'],
  [4, 11, 4, 'errors', 'icmp time-exceeded code 4'],
  [4, 12, 3, null, 'icmp parameter-problem code 3'],
  [4, 42, 3, null, 'icmp type 42 code 3'],
];

function capture(): Buffer {
  const frames = CASES.map(([v, type, code]) =>
    v === 4
      ? buildPacket({ ip: { src: '10.1.0.5', dst: '10.2.0.1' }, icmp: { type, code } })
      : buildPacket({ ip: { src: 'fd00:1::5', dst: 'fd00:2::1' }, icmpv6: { type, code } }),
  );
  return Buffer.from(pcapBytes(LinkType.ETHERNET, frames));
}

describe('type: and code: lists in a replay', () => {
  const dir = scratch('fwemu-icmp-list-');
  const rules = dir.file('icmp.yaml', RULES);

  it('a packet takes the list rule exactly when its type (and code) is a member', async () => {
    const r = await fwemuIn(['replay', '-r', rules, '--format', 'jsonl', '-'], { input: capture() });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { rule: string | null; verdict: string; packet: { icmp: { name: string } } })
      .filter((l) => 'packet' in l);
    expect(lines.map((l) => l.rule)).toEqual(CASES.map((c) => c[3]));
    expect(lines.map((l) => l.verdict)).toEqual(CASES.map((c) => (c[3] === null ? 'drop' : 'accept')));
    // jsonl keeps its numbers; its name is the text line's, without the protocol.
    expect(lines.map((l) => l.packet.icmp.name)).toEqual(CASES.map((c) => c[4].replace(/^icmp(v6)? /, '')));
  });

  it("the text line names each type as the rules do, and the reason quotes the rule or nft's words", async () => {
    const r = await fwemuIn(['replay', '-r', rules, '-'], { input: capture() });
    const lines = r.stdout.split('\n').filter((l) => /^\s+\d+ /.test(l));
    expect(lines).toHaveLength(CASES.length);
    CASES.forEach(([, , , rule, text], i) => {
      expect(lines[i]).toContain(`  ${text} `);
      if (rule === null) expect(lines[i]).toMatch(new RegExp(`no rule accepts ${text}; policy drop`));
      else expect(lines[i]).toContain(`accepted: ${text} packet matches rule ${rule} (`);
    });
  });
});
