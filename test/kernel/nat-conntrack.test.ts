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
 *   for snat (source, also `persistent`) and dnat (destination), IPv4 and IPv6;
 * - ICMP errors about NATed flows, as fw forwards them (outer addresses and
 *   the quoted packet), read from replay.py's log of frames that are not
 *   plain forwarded copies (FWEMU_REPLAY_DEBUG);
 * - the null binding: the firewall's own flows (host model, sent through
 *   its output path) and SNATed ones share the port space; whichever comes
 *   second moves.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { NatFlag } from '../../src/conntrack/index.js';
import { formatConntrackEntry } from '../../src/report/conntrack-list.js';
import { Driver, icmp as ctIcmp, icmpError as ctIcmpError, udp as ctUdp } from '../conntrack/helpers.js';
import { forward, forwardError, range } from '../conntrack/nat-helpers.js';
import { runKernel } from './harness.js';
import { kernelTest } from './kit.js';
import { echo, ether, ipPacket, udp, writePcap } from './pcapwriter.js';

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
    ip daddr 10.2.2.0/24 snat ip to 203.0.113.1-203.0.113.9 persistent
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
  /** NatFlag bits of the snat rule. */
  flags?: number;
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
  // persistent: the address depends on the source alone.
  ...['10.1.0.2', '10.1.0.3', '10.1.0.4'].map((a) => ({
    ...u(a, 7000, '10.2.2.7', RANGE4),
    flags: NatFlag.PERSISTENT,
  })),
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
      ...(p.snat !== null ? { snat: range(p.snat, undefined, p.flags ?? 0) } : {}),
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

// ---------------------------------------------------------------------------
// ICMP errors about NATed flows (nf_nat_icmp_reply_translation)

/** An ICMPv4 error from `src` to `dst` quoting the first 28 bytes of `quoted`, checksum filled in. */
function icmpErr(src: string, dst: string, type: number, code: number, quoted: Uint8Array): Uint8Array {
  const l4 = new Uint8Array(8 + 28);
  l4[0] = type;
  l4[1] = code;
  l4.set(quoted.subarray(0, 28), 8);
  let sum = 0;
  for (let i = 0; i < l4.length; i += 2) sum += (l4[i] << 8) | l4[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  l4[2] = c >> 8;
  l4[3] = c & 0xff;
  return ipPacket({ src, dst }, 1, l4, null);
}

const ip4 = (b: Uint8Array, o: number): string => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;

/** A forwarded ICMP error frame as "outer src > outer dst | quoted tuple" (as nat-helpers' forwardError). */
function describeError(frame: Uint8Array): string {
  const ip = frame.subarray(14);
  const icmp = ip.subarray((ip[0] & 15) * 4);
  const q = icmp.subarray(8);
  const ql4 = q.subarray((q[0] & 15) * 4);
  const port = (o: number): number => (ql4[o] << 8) | ql4[o + 1];
  const inner =
    q[9] === 1 ? `${ip4(q, 12)} > ${ip4(q, 16)} id=${port(4)}` : `${ip4(q, 12)}:${port(0)} > ${ip4(q, 16)}:${port(2)}`;
  return `${ip4(ip, 12)} > ${ip4(ip, 16)} | ${inner}`;
}

describe('ICMP errors about NATed flows against the kernel', () => {
  kernelTest('errors in both directions, SNAT and DNAT, a quoted echo', async () => {
    const ruleset = `table ip nat {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr 10.9.9.9 udp dport 53 dnat to 10.1.0.2:5353
  }
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "s" masquerade
  }
}
`;
    const q = (src: string, sport: number, dst: string, dport: number): Uint8Array =>
      udp({ src, dst, sport, dport, payload: 'q' });
    // [packet, fwemu's view of it: a flow (with its NAT) or an error]
    const steps: Array<{ bytes: Uint8Array; flow?: () => void; error?: () => string }> = [];
    const d = new Driver();
    const flow = (bytes: Uint8Array, run: () => void): void => {
      steps.push({ bytes, flow: run });
    };
    const error = (bytes: Uint8Array, run: () => string): void => {
      steps.push({ bytes, error: run });
    };
    const masq = { snat: range(FW_S) };
    flow(q('10.1.0.2', 40000, '10.2.0.2', 53), () => {
      forward(d, ctUdp('10.1.0.2:40000 > 10.2.0.2:53', { len: 1 }), masq);
    });
    // Fragmentation needed from a router on the server side, about the masqueraded packet.
    error(
      icmpErr('10.2.0.1', FW_S, 3, 4, q(FW_S, 40000, '10.2.0.2', 53)),
      () =>
        forwardError(
          d,
          ctIcmpError(
            `10.2.0.1 > ${FW_S}`,
            { type: 3, code: 4 },
            { proto: 'udp', flow: `${FW_S}:40000 > 10.2.0.2:53` },
          ),
        ).out,
    );
    flow(q('10.2.0.2', 53, FW_S, 40000), () => {
      forward(d, ctUdp(`10.2.0.2:53 > ${FW_S}:40000`, { len: 1 }));
    });
    // Port unreachable from the inside host about that reply (original direction).
    error(
      icmpErr('10.1.0.2', '10.2.0.2', 3, 3, q('10.2.0.2', 53, '10.1.0.2', 40000)),
      () =>
        forwardError(
          d,
          ctIcmpError(
            '10.1.0.2 > 10.2.0.2',
            { type: 3, code: 3 },
            { proto: 'udp', flow: '10.2.0.2:53 > 10.1.0.2:40000' },
          ),
        ).out,
    );
    // A port forward: the server's port unreachable leaves from the public address.
    flow(q('10.2.0.9', 5555, '10.9.9.9', 53), () => {
      forward(d, ctUdp('10.2.0.9:5555 > 10.9.9.9:53', { len: 1 }), { dnat: range('10.1.0.2', '5353') });
    });
    error(
      icmpErr('10.1.0.2', '10.2.0.9', 3, 3, q('10.2.0.9', 5555, '10.1.0.2', 5353)),
      () =>
        forwardError(
          d,
          ctIcmpError(
            '10.1.0.2 > 10.2.0.9',
            { type: 3, code: 3 },
            { proto: 'udp', flow: '10.2.0.9:5555 > 10.1.0.2:5353' },
          ),
        ).out,
    );
    // Time exceeded about a masqueraded echo request.
    flow(echo({ src: '10.1.0.3', dst: '10.2.0.2', id: 77, seq: 1 }), () => {
      forward(d, ctIcmp('10.1.0.3 > 10.2.0.2', { type: 8, id: 77 }), masq);
    });
    error(
      icmpErr('10.2.0.1', FW_S, 11, 0, echo({ src: FW_S, dst: '10.2.0.2', id: 77, seq: 1 })),
      () =>
        forwardError(
          d,
          ctIcmpError(
            `10.2.0.1 > ${FW_S}`,
            { type: 11, code: 0 },
            { proto: 'icmp', flow: `${FW_S} > 10.2.0.2`, id: 77 },
          ),
        ).out,
    );

    const capture = join(dir, 'nat-icmp.pcap');
    writePcap(
      capture,
      steps.map((s, i) => ({ data: ether(s.bytes), ts: 1_700_000_000 + i * 0.01 })),
    );
    const log = join(dir, 'replay-debug.log');
    process.env.FWEMU_REPLAY_DEBUG = log;
    try {
      await runKernel({ capture, nftRuleset: ruleset });
    } finally {
      delete process.env.FWEMU_REPLAY_DEBUG;
    }
    // replay.py logs every frame fw sent that is not a plain forwarded copy: the translated errors.
    const sent: number[] = [];
    const others = new Map<number, string[]>();
    for (const line of readFileSync(log, 'utf8').split('\n')) {
      let m = /^packet (\d+): sent on /.exec(line);
      if (m) sent.push(Number(m[1]));
      m = /^packet (\d+): other frame on \S+: ([0-9a-f]+)$/.exec(line);
      if (m) {
        const frame = Uint8Array.from(Buffer.from(m[2], 'hex'));
        if (frame[23] === 1) others.set(Number(m[1]), [...(others.get(Number(m[1])) ?? []), describeError(frame)]);
      }
    }
    expect(sent).toHaveLength(steps.length);
    steps.forEach((s, i) => {
      if (s.flow) s.flow();
      else expect(others.get(sent[i]) ?? [], `packet ${i + 1}`).toEqual([s.error!()]);
    });
  });
});

// ---------------------------------------------------------------------------
// The null binding: the firewall's own flows share the port space of SNAT

describe('null binding against the kernel', () => {
  kernelTest("the firewall's own flow and a SNATed flow on the same port: the later one moves", async () => {
    const F = '203.0.113.1';
    const ruleset = `table ip nat {
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr 10.1.0.0/16 oifname "s" snat to ${F}
  }
}
`;
    const flows: Array<[string, number, boolean]> = [
      ['10.1.0.2', 40000, true], // SNATed to F:40000
      [F, 40000, false], // the firewall's own: its null binding moves it
      [F, 41000, false], // the firewall's own first
      ['10.1.0.3', 41000, true], // SNATed: F:41000 is taken, it moves
    ];
    const capture = join(dir, 'nat-null.pcap');
    writePcap(
      capture,
      flows.map(([src, sport], i) => ({
        data: ether(udp({ src, dst: '10.2.0.2', sport, dport: 53, payload: 'q' })),
        ts: 1_700_000_000 + i * 0.01,
      })),
    );
    const k = await runKernel({ capture, nftRuleset: ruleset, hostAddrs: [F] });
    const kernel = new Map(k.conntrack.map((l) => [origOf(l), untimed(l)]));
    const d = new Driver();
    for (const [src, sport, snat] of flows) {
      forward(d, ctUdp(`${src}:${sport} > 10.2.0.2:53`, { len: 1 }), snat ? { snat: range(F) } : {});
    }
    const ours = d.ct.entries(d.now).map((e) => untimed(formatConntrackEntry(e, d.now)));
    expect(ours).toHaveLength(4);
    expect([...kernel.keys()].sort()).toEqual(ours.map(origOf).sort());
    const movedIn = (lines: string[]): boolean[] => lines.map((l) => fields(l).rport !== fields(l).oport);
    expect(movedIn(ours)).toEqual([false, true, false, true]);
    expect(movedIn(ours.map((l) => kernel.get(origOf(l))!))).toEqual([false, true, false, true]);
    for (const l of ours) expect(masked(l)).toBe(masked(kernel.get(origOf(l))!));
  });
});
