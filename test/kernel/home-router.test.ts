/**
 * The real home-router capture (scripts/make-home-router-capture.sh):
 * what a real masquerading nft router did, captured on both its legs, is
 * the truth here. The frames that came IN to the router (on either leg)
 * are replayed through the kernel oracle, loaded with the same ruleset
 * (fixtures/home-router.nft) and the same interfaces; each must come out as
 * it came out of the real router (verdict, leg, addresses and ports), and
 * the oracle's conntrack table must hold the real router's tuples.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect } from 'vitest';
import { readCapture } from './capture.js';
import { parseConntrack } from './conntrack.js';
import { type KernelInterfaces, runKernel, type WireTuple } from './harness.js';
import { kernelTest } from './kit.js';
import { parseIp } from './topology.js';
import { writePcap } from './pcapwriter.js';

const FIX = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures');
const dir = mkdtempSync(join(tmpdir(), 'fwemu-khome-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** As the router had them (the script's topology). */
const ROUTER: KernelInterfaces = {
  lan0: { addresses: ['192.168.1.1/24', 'fd00:1::1/64'] },
  wan0: { addresses: ['203.0.113.1/24'], default: true },
};
/** MACs of the hosts on each leg (frames from them came in) and of the router's legs (frames from them went out). */
const PEER: Record<string, string> = { lan0: '02:00:c0:a8:01:0a', wan0: '02:00:cb:00:71:fe' };
const ROUTER_MAC: Record<string, string> = { lan0: '02:00:c0:a8:01:01', wan0: '02:00:cb:00:71:01' };

const mac = (d: Uint8Array, at: number) =>
  [...d.subarray(at, at + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
const hex = (d: Uint8Array) => Buffer.from(d).toString('hex');

interface Frame {
  leg: string;
  ts: number;
  data: Uint8Array;
  ip: Uint8Array;
}

function frames(leg: string): Frame[] {
  return readCapture(join(FIX, `home-router-${leg.slice(0, 3)}.pcap`)).map((p) => ({
    leg,
    ts: p.ts,
    data: p.data,
    ip: p.data.subarray(14),
  }));
}

/** IPv4 only (the WAN has no IPv6): protocol, id, and the bytes behind the L4 ports/checksums NAT leaves alone. */
function signature(ip: Uint8Array): string | null {
  if (ip[0] >> 4 !== 4) return null;
  const ihl = (ip[0] & 15) * 4;
  const l4 = ip.subarray(ihl);
  const proto = ip[9];
  const body =
    proto === 6
      ? hex(l4.subarray(4, 16)) + hex(l4.subarray(18))
      : proto === 17
        ? hex(l4.subarray(8))
        : hex(l4.subarray(6));
  return `${proto}/${hex(ip.subarray(4, 6))}/${body}`;
}

function tuple(ip: Uint8Array): WireTuple {
  const ihl = (ip[0] & 15) * 4;
  const t: WireTuple = {
    proto: ip[9],
    src: [...ip.subarray(12, 16)].join('.'),
    dst: [...ip.subarray(16, 20)].join('.'),
  };
  const l4 = ip.subarray(ihl);
  if (t.proto === 6 || t.proto === 17) {
    t.sport = (l4[0] << 8) | l4[1];
    t.dport = (l4[2] << 8) | l4[3];
  } else if (t.proto === 1) {
    t.icmpType = l4[0];
    t.icmpCode = l4[1];
    t.icmpId = (l4[4] << 8) | l4[5];
  }
  return t;
}

describe('kernel oracle, the real home-router capture', () => {
  kernelTest('every packet into the router comes out of the oracle as it came out of the router', async () => {
    const all = [...frames('lan0'), ...frames('wan0')];
    const isIp = (f: Frame) =>
      (f.data[12] === 0x08 && f.data[13] === 0x00) || (f.data[12] === 0x86 && f.data[13] === 0xdd);
    const incoming = all.filter((f) => mac(f.data, 6) === PEER[f.leg] && isIp(f)).sort((a, b) => a.ts - b.ts);
    const outgoing = all.filter((f) => mac(f.data, 6) === ROUTER_MAC[f.leg]);
    // IPv6 here is ND and a ping of the router itself: link-local addresses and
    // multicast that depend on the namespaces' MACs. Only the echo request is
    // replayed, and the router's echo reply (sent by the oracle's firewall
    // itself, so that its conntrack entry sees the reply as the router's did).
    const echo6 = (f: Frame, type: number) => f.ip[0] >> 4 === 6 && f.ip[6] === 58 && f.ip[40] === type;
    const replayed = [
      ...incoming.filter((f) => f.ip[0] >> 4 === 4 || echo6(f, 128)),
      ...outgoing.filter((f) => echo6(f, 129)),
    ].sort((a, b) => a.ts - b.ts);
    expect(replayed.length).toBeGreaterThan(20);
    const path = join(dir, 'in.pcap');
    writePcap(
      path,
      replayed.map((f) => ({ data: f.data, ts: f.ts })),
      1,
    );

    // What the real router did with each: its copy out of the other leg, or nothing.
    const expected = replayed.map((f) => {
      const sig = signature(f.ip);
      const out = sig === null ? undefined : outgoing.find((o) => o.leg !== f.leg && signature(o.ip) === sig);
      if (out) return { verdict: 'accept', egress: out.leg, wire: tuple(out.ip) };
      if (echo6(f, 128)) return { verdict: 'accept', egress: null, wire: undefined }; // the router answered it
      if (echo6(f, 129)) return { verdict: 'accept', egress: 'lan0', wire: undefined }; // its answer
      return { verdict: 'drop', egress: null, wire: undefined };
    });
    // The capture holds what the script made: the SSH SYN from the WAN is the one drop.
    expect(expected.filter((e) => e.verdict === 'drop').map((_, i) => i)).toHaveLength(1);

    const r = await runKernel({
      capture: path,
      nftRuleset: readFileSync(join(FIX, 'home-router.nft'), 'utf8'),
      interfaces: ROUTER,
    });
    const got = r.details.map((d) => ({
      verdict: d.verdict,
      egress: d.egress,
      wire: d.path === 'forward' ? d.wire : undefined,
    }));
    expect(got).toEqual(expected);
    expect(r.details.map((d) => d.path).filter((p) => p && p !== 'forward')).toEqual(['input', 'output']);

    // The real router's table: same tuples, same state and flags (timeouts differ: the replay is faster).
    const key = (line: string) => {
      const e = parseConntrack(line);
      return e ? JSON.stringify([e.proto, e.state ?? '', e.orig, e.reply, e.flags]) : line;
    };
    const real = readFileSync(join(FIX, 'home-router.conntrack'), 'utf8')
      .split('\n')
      .filter((l) => l.trim());
    expect(r.conntrack.map(key).sort()).toEqual(real.map(key).sort());
  });

  kernelTest('a pcapng captured on the router: each packet enters by the leg its interface names', async () => {
    const path = join(FIX, 'home-router.pcapng');
    const packets = readCapture(path);
    expect(new Set(packets.map((p) => p.ifName))).toEqual(new Set(['lan0', 'wan0']));
    const r = await runKernel({
      capture: path,
      nftRuleset: readFileSync(join(FIX, 'home-router.nft'), 'utf8'),
      interfaces: ROUTER,
    });
    const own = ['192.168.1.1', '203.0.113.1', 'fd00:1::1'].map((a) => hex(parseIp(a).bytes));
    let checked = 0;
    r.details.forEach((d, i) => {
      if (d.verdict === 'skip') return;
      const ip = packets[i].data.subarray(14);
      const src = hex(ip[0] >> 4 === 4 ? ip.subarray(12, 16) : ip.subarray(8, 24));
      if (own.includes(src)) expect(d.ingress, `packet ${i + 1}`).toBeNull();
      else {
        expect(d.ingress, `packet ${i + 1}`).toBe(packets[i].ifName);
        checked++;
      }
    });
    // (By source address alone, the replies de-masqueraded onto lan0 would have entered by wan0.)
    expect(checked).toBeGreaterThan(40);
  });
});
