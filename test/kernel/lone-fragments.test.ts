/**
 * IPv6 first fragments that nf_defrag_ipv6 lets through unreassembled
 * (nf_ct_frag6_gather: a first fragment without the whole transport header,
 * RFC 8200 4.5; a non-last fragment whose length is not a multiple of 8,
 * -EPROTO), so that conntrack and the router see the lone fragment. fwemu
 * judges these outside judge() (Engine.fragment, DefragStatus.PASS); the
 * kernel says what the router does with them:
 * - hop limit 1: conntrack marks it at PREROUTING, but ip6_forward drops it
 *   and answers ICMPv6 time exceeded before the forward chain;
 * - udp_error on the lone fragment: INVALID only when its UDP length field
 *   is below 8 or beyond the fragment; otherwise a NEW flow the rules judge.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { replay } from '../../src/engine/replay.js';
import { Cause } from '../../src/engine/result.js';
import { exportNft } from '../../src/export/nft.js';
import { formatConntrackEntry } from '../../src/report/conntrack-list.js';
import { explain } from '../../src/report/reason.js';
import { loadRuleSet } from '../../src/rules/load.js';
import { splitTimeout } from './conformance.js';
import { runKernel } from './harness.js';
import { kernelTest } from './kit.js';
import { ether, fragment, udp, writePcap } from './pcapwriter.js';

const dir = mkdtempSync(join(tmpdir(), 'fwemu-lonefrag-'));
// Kept for a look with FWEMU_KEEP_TMP=1, as the other kernel suites keep theirs.
afterAll(() => {
  if (!process.env.FWEMU_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
});

const RULES = `
policy: drop
rules:
  - id: dns
    proto: udp
    dport: 53
`;

/**
 * The first fragment of a 108-byte UDP datagram to port 53 (UDP length 108),
 * cut to `data` bytes after the fragment header, "more fragments" set;
 * `udpLen` overwrites the UDP length field.
 */
function firstFragment(o: { hop: number; data: number; sport: number; id: number; udpLen?: number }): Uint8Array {
  const d = udp({
    src: 'fd00:1::2',
    dst: 'fd00:2::1',
    sport: o.sport,
    dport: 53,
    payload: 'x'.repeat(100),
    ttl: o.hop,
  });
  const f = fragment(d, 96, o.id)[0].slice(0, 48 + o.data);
  const dv = new DataView(f.buffer);
  dv.setUint16(4, 8 + o.data); // payload length
  if (o.udpLen !== undefined) dv.setUint16(48 + 4, o.udpLen);
  return f;
}

/** Sequential, so each packet's fragment id and source port are its own. */
const PACKETS = [
  { hop: 1, data: 4 }, // 1: 4 bytes of the UDP header
  { hop: 64, data: 4 }, // 2
  { hop: 1, data: 13 }, // 3: not a multiple of 8; UDP length 108 > 13
  { hop: 64, data: 13 }, // 4
  { hop: 64, data: 13, udpLen: 13 }, // 5: UDP length within the fragment
  { hop: 64, data: 13, udpLen: 10 }, // 6
  { hop: 64, data: 13, udpLen: 4 }, // 7: UDP length below 8
  { hop: 1, data: 13, udpLen: 13 }, // 8
].map((p, i) => firstFragment({ ...p, sport: 40001 + i, id: 0x301 + i }));

/** A conntrack -L line without its seconds left. */
const noTimeout = (l: string) => splitTimeout(l).key;

describe('IPv6 first fragments let through unreassembled, against the kernel', () => {
  kernelTest('hop limit 1 is time exceeded, not INVALID; a UDP length within the fragment is a NEW flow', async () => {
    const capture = join(dir, 'lone.pcap');
    writePcap(
      capture,
      PACKETS.map((p, i) => ({ data: ether(p), ts: 1_700_000_000 + i * 0.01 })),
      1,
    );
    const rulesPath = join(dir, 'rules.yaml');
    writeFileSync(rulesPath, RULES);
    const { ruleset } = loadRuleSet(rulesPath);

    const fwemu: { verdict: string; ttl: boolean; reason: string }[] = [];
    const summary = await replay({
      rules: ruleset,
      source: capture,
      onPacket: (r, p, _rec, engine) => {
        fwemu[r.n - 1] = {
          verdict: r.verdict,
          ttl: r.cause === Cause.TTL_EXPIRED,
          reason: explain(r, p, engine.compiled),
        };
      },
    });
    const k = await runKernel({ capture, nftRuleset: exportNft(ruleset) });

    const kernelSays = k.details.map(
      (d) => `${d.verdict}${/icmpv6-time-exceeded/.test(d.why) ? ' time-exceeded' : ''}`,
    );
    // What Linux did (6.x): time exceeded for hop limit 1, whatever conntrack
    // thought; forwarded as a NEW dns flow when udp_error finds nothing.
    expect(kernelSays, k.details.map((d) => d.why).join('\n')).toEqual([
      'drop time-exceeded',
      'drop',
      'drop time-exceeded',
      'drop',
      'accept',
      'accept',
      'drop',
      'drop time-exceeded',
    ]);
    const fwemuSays = fwemu.map((f) => `${f.verdict}${f.ttl ? ' time-exceeded' : ''}`);
    expect(fwemuSays, fwemu.map((f, i) => `${i + 1}: ${f.reason}`).join('\n')).toEqual(kernelSays);

    const engine = summary.engine;
    const ours = engine
      .ct!.entries(engine.now)
      .map((e) => noTimeout(formatConntrackEntry(e, engine.now)))
      .sort();
    expect(ours).toEqual(k.conntrack.map(noTimeout).sort());
    expect(ours).toHaveLength(2); // packets 5 and 6
  });
});
