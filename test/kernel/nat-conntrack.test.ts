/**
 * NAT in the conntrack layer (src/conntrack/nat.ts) against the kernel's
 * own `conntrack -L`: the firewall namespace masquerades (and snats to an
 * address range) what it forwards, and the same packets go through fwemu's
 * table with the same NAT decisions. Compared:
 * - every entry's tuples, except the port or echo id the kernel picks at
 *   random on a clash (fwemu takes the next free one, a known difference):
 *   for those, the kernel's is checked to have moved and fwemu's to be 40001 / 78;
 * - find_appropriate_src: an inside socket already mapped keeps its mapping
 *   to another server, in both;
 * - find_best_ips_proto: the address of a range chosen by jhash2, exactly,
 *   for snat (source) and dnat (destination), IPv4 and IPv6.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { formatConntrackEntry } from '../../src/report/conntrack-list.js';
import { Driver, icmp as ctIcmp, udp as ctUdp } from '../conntrack/helpers.js';
import { forward, range } from '../conntrack/nat-helpers.js';
import { runKernel } from './harness.js';
import { kernelTest } from './kit.js';
import { echo, ether, udp, writePcap } from './pcapwriter.js';

const dir = mkdtempSync(join(tmpdir(), 'fwemu-nat-'));
afterAll(() => {
  if (!process.env.FWEMU_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
});

/** fw's address on its server-side link `s` (harness.ts FW_ADDR.s4): what masquerade picks. */
const FW_S = '198.18.255.254';

const RULESET = `table inet nat {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr 10.9.9.9 dnat ip to 10.2.5.1-10.2.5.9
    ip6 daddr fd00:9::9 dnat ip6 to fd00:2:5::1-fd00:2:5::2:ff
  }
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    ip daddr 10.2.1.0/24 snat ip to 203.0.113.1-203.0.113.9
    ip6 daddr fd00:2:1::/64 snat ip6 to 2001:db8::1-2001:db8::1:9
    ip6 daddr fd00:2:5::/64 accept
    oifname "s" masquerade
  }
}
`;

interface Pkt {
  bytes: Uint8Array;
  /** The same packet for fwemu's table, and the NAT its flow gets there. */
  ct: () => ReturnType<typeof ctUdp>;
  /** snat (or masquerade) address or range; null: no rule (the null binding). */
  snat: string | null;
  dnat?: string;
}

const u = (src: string, sport: number, dst: string, snat: string | null): Pkt => ({
  bytes: udp({ src, dst, sport, dport: 53, payload: 'q' }),
  ct: () => ctUdp(src.includes(':') ? `[${src}]:${sport} > [${dst}]:53` : `${src}:${sport} > ${dst}:53`, { len: 1 }),
  snat,
});
const ping = (src: string, dst: string, id: number): Pkt => ({
  bytes: echo({ src, dst, id, seq: 1 }),
  ct: () => ctIcmp(`${src} > ${dst}`, { type: 8, id }),
  snat: FW_S,
});

const dn = (src: string, dst: string, to: string, snat: string | null): Pkt => ({
  ...u(src, 6000, dst, snat),
  dnat: to,
});
const RANGE4 = '203.0.113.1-203.0.113.9';
const RANGE6 = '2001:db8::1-2001:db8::1:9';
const PACKETS: Pkt[] = [
  u('10.1.0.2', 40000, '10.2.0.2', FW_S),
  u('10.1.0.3', 40000, '10.2.0.2', FW_S), // clash: the kernel picks a random port
  u('10.1.0.3', 40000, '10.2.0.3', FW_S), // find_appropriate_src: keeps that port
  ping('10.1.0.2', '10.2.0.2', 77),
  ping('10.1.0.3', '10.2.0.2', 77), // clash: a random id
  ...['10.1.0.2', '10.1.0.3', '10.1.0.4', '10.1.0.5', '10.1.7.9'].map((a) => u(a, 5000, '10.2.1.7', RANGE4)),
  u('10.1.0.2', 5001, '10.2.1.200', RANGE4),
  ...['fd00:1::2', 'fd00:1::3', 'fd00:1::4:5'].map((a) => u(a, 5000, 'fd00:2:1::7', RANGE6)),
  // DNAT to a range: find_best_ips_proto on the destination, then masquerade (IPv6: no SRC rule).
  ...['10.1.0.2', '10.1.0.3', '10.1.3.4'].map((a) => dn(a, '10.9.9.9', '10.2.5.1-10.2.5.9', FW_S)),
  ...['fd00:1::2', 'fd00:1::3', 'fd00:1::77'].map((a) => dn(a, 'fd00:9::9', 'fd00:2:5::1-fd00:2:5::2:ff', null)),
];

/** A conntrack -L line without its timeout (listed at another moment). */
function untimed(line: string): string {
  return line.replace(/^(\S+\s+\d+) \d+ /, '$1 ');
}

/** The original tuple of a listing line (its first src= ... up to the second src=). */
function origOf(line: string): string {
  const m = /(src=.*?)(?= (?:\[UNREPLIED\] )?src=)/.exec(line);
  return m ? m[1] : line;
}

/** The key (original tuple text) fwemu lists packet `p`'s flow under. */
function keyOf(p: Pkt): string {
  const d = new Driver();
  forward(d, p.ct());
  return origOf(untimed(formatConntrackEntry(d.only(), d.now)));
}

function fwemuListing(): string[] {
  const d = new Driver();
  for (const p of PACKETS) {
    const h = forward(d, p.ct(), {
      ...(p.snat !== null ? { snat: range(p.snat) } : {}),
      ...(p.dnat !== undefined ? { dnat: range(p.dnat) } : {}),
    });
    if (!h.setup) throw new Error('fwemu: NAT setup failed');
  }
  return d.ct.entries(d.now).map((e) => untimed(formatConntrackEntry(e, d.now)));
}

describe('NAT conntrack entries against the kernel', () => {
  kernelTest('masquerade clashes, find_appropriate_src and snat address ranges', async () => {
    const capture = join(dir, 'nat.pcap');
    writePcap(
      capture,
      PACKETS.map((p, i) => ({ data: ether(p.bytes), ts: 1_700_000_000 + i * 0.01 })),
    );
    const k = await runKernel({ capture, nftRuleset: RULESET });
    const kernel = new Map(k.conntrack.map((l) => [origOf(l), untimed(l)]));
    const ours = new Map(fwemuListing().map((l) => [origOf(l), l]));
    expect([...kernel.keys()].sort()).toEqual([...ours.keys()].sort());

    // Where the kernel moved the port or echo id (a clash), it picked it at random and fwemu
    // took the next free one (a known difference): both must have moved it; the rest must agree.
    const moved = (line: string): boolean => {
      const f = fields(line);
      return f.rport !== f.oport;
    };
    for (const [orig, line] of ours) {
      const want = kernel.get(orig)!;
      expect(moved(line), `${orig}: moved in fwemu as in the kernel`).toBe(moved(want));
      expect(masked(line), orig).toBe(masked(want));
    }
    // find_appropriate_src in the kernel: the third flow reuses the second's random port.
    const [, second, third] = PACKETS.slice(0, 3).map((p) => kernel.get(origOf(ours.get(keyOf(p))!))!);
    expect(fields(third).rport).toBe(fields(second).rport);
    expect(fields(second).rport).not.toBe('40000');
  });
});

/** The original's source port (or echo id) and the reply's destination port (or id) of a listing line. */
function fields(line: string): { oport: string; rport: string } {
  const ports = [...line.matchAll(/(?:sport|id)=(\d+)/g)].map((m) => m[1]);
  const dports = [...line.matchAll(/dport=(\d+)/g)].map((m) => m[1]);
  if (line.includes(' id=')) return { oport: ports[0], rport: ports[1] };
  return { oport: ports[0], rport: dports[1] };
}

/** The line with the reply's destination port (or id) blanked. */
function masked(line: string): string {
  if (line.includes(' id=')) return line.replace(/id=\d+ mark/, 'id=* mark');
  return line.replace(/dport=\d+ mark/, 'dport=* mark');
}
