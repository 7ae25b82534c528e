/**
 * Proves the kernel oracle itself: known traffic through a known ruleset
 * must come out as netfilter is known to treat it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { cleanupStaleNamespaces, runKernel, type KernelRunOptions } from './harness.js';
import { kernelTest } from './kit.js';
import {
  TCP,
  arpFrame,
  ether,
  fragment,
  sll,
  sll2,
  tcp,
  udp,
  vlanEther,
  writePcap,
  writePcapng,
  type Frame,
} from './pcapwriter.js';

const dir = mkdtempSync(join(tmpdir(), 'fwemu-ktest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;

const RULESET = `
table inet fw {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    ct state invalid drop
    tcp dport 8080 accept
  }
}
`;

/** Write packets (IP) as an Ethernet pcap, 10 ms apart unless `times` are given. */
function capture(
  packets: Uint8Array[],
  o: { frame?: (ip: Uint8Array) => Uint8Array; times?: number[]; linkType?: number; ng?: boolean } = {},
): string {
  const path = join(dir, `c${++fileNo}.${o.ng ? 'pcapng' : 'pcap'}`);
  const frames: Frame[] = packets.map((p, i) => ({
    data: (o.frame ?? ether)(p),
    ts: 1_700_000_000 + (o.times ? o.times[i] : i * 0.01),
  }));
  (o.ng ? writePcapng : writePcap)(path, frames, o.linkType ?? 1);
  return path;
}

async function verdicts(packets: Uint8Array[], extra: Partial<KernelRunOptions> = {}) {
  return runKernel({ capture: capture(packets), nftRuleset: RULESET, ...extra });
}

/** A whole TCP conversation between C:cport and S:8080, plus builders for more of it. */
function conversation(C: string, S: string, cport = 40000) {
  const ci = 1000;
  const si = 5000;
  const c = (seq: number, ack: number, flags: number, payload?: string) =>
    tcp({ src: C, dst: S, sport: cport, dport: 8080, seq, ack, flags, payload, win: 65535 });
  const s = (seq: number, ack: number, flags: number, payload?: string) =>
    tcp({ src: S, dst: C, sport: 8080, dport: cport, seq, ack, flags, payload, win: 65535 });
  const req = 'GET / HTTP/1.0\r\n\r\n'; // 18
  const resp = 'HTTP/1.0 200 OK\r\n\r\n'; // 19
  const handshake = [c(ci, 0, TCP.SYN), s(si, ci + 1, TCP.SYN | TCP.ACK), c(ci + 1, si + 1, TCP.ACK)];
  const data = [
    c(ci + 1, si + 1, TCP.PSH | TCP.ACK, req),
    s(si + 1, ci + 19, TCP.ACK),
    s(si + 1, ci + 19, TCP.PSH | TCP.ACK, resp),
    c(ci + 19, si + 20, TCP.ACK),
  ];
  const close = [
    c(ci + 19, si + 20, TCP.FIN | TCP.ACK),
    s(si + 20, ci + 20, TCP.FIN | TCP.ACK),
    c(ci + 20, si + 21, TCP.ACK),
  ];
  return { c, s, ci, si, handshake, data, close, all: [...handshake, ...data, ...close] };
}

for (const [fam, C, S] of [
  ['IPv4', '10.1.0.2', '10.2.0.1'],
  ['IPv6', 'fd00:1::2', 'fd00:2::1'],
] as const) {
  describe(`kernel oracle, ${fam}`, () => {
    kernelTest('a full allowed conversation is accepted and leaves a conntrack entry', async () => {
      const conv = conversation(C, S);
      const r = await verdicts(conv.all, { events: true });
      expect(r.verdicts).toEqual(conv.all.map(() => 'accept'));
      expect(r.details.map((d) => d.egress)).toEqual([
        'server',
        'client',
        'server',
        'server',
        'client',
        'client',
        'server',
        'server',
        'client',
        'server',
      ]);
      const entry = r.conntrack.find((l) => l.includes(`src=${C}`) && l.includes('dport=8080'));
      expect(entry, r.conntrack.join('\n')).toBeDefined();
      expect(entry).toMatch(/^tcp\s+6\s+\d+\s+TIME_WAIT\b/);
      expect(entry).toContain('[ASSURED]');
      expect(r.events?.some((e) => e.includes('[NEW]') && e.includes('SYN_SENT') && e.includes(`src=${C}`))).toBe(true);
      expect(r.events?.some((e) => e.includes('ESTABLISHED'))).toBe(true);
    });

    kernelTest('a SYN to a port the ruleset does not allow is dropped', async () => {
      const syn = tcp({ src: C, dst: S, sport: 40001, dport: 9999, seq: 1, flags: TCP.SYN });
      const r = await verdicts([syn]);
      expect(r.verdicts).toEqual(['drop']);
      expect(r.details[0].why).toContain('not forwarded');
      expect(r.conntrack.filter((l) => l.includes('dport=9999'))).toEqual([]);
    });

    kernelTest('a stray server packet to a client port never opened is dropped', async () => {
      const conv = conversation(C, S);
      const stray = tcp({
        src: S,
        dst: C,
        sport: 8080,
        dport: 45000,
        seq: 777,
        ack: 888,
        flags: TCP.PSH | TCP.ACK,
        payload: 'boo',
      });
      const r = await verdicts([...conv.handshake, stray]);
      expect(r.verdicts).toEqual(['accept', 'accept', 'accept', 'drop']);
    });

    kernelTest('an out-of-window segment in an established flow is INVALID and dropped; the flow goes on', async () => {
      const conv = conversation(C, S);
      const far = conv.c(conv.ci + 1 + 10_000_000, conv.si + 1, TCP.PSH | TCP.ACK, 'far ahead');
      const r = await verdicts([...conv.handshake, far, ...conv.data]);
      expect(r.verdicts).toEqual(['accept', 'accept', 'accept', 'drop', 'accept', 'accept', 'accept', 'accept']);
    });

    kernelTest(
      'IP fragments: held by conntrack defrag, all accepted once the datagram is complete, or all dropped',
      async () => {
        const conv = conversation(C, S);
        const big = conv.c(conv.ci + 1, conv.si + 1, TCP.PSH | TCP.ACK, 'z'.repeat(3000));
        const denied = udp({ src: C, dst: S, sport: 40006, dport: 9999, payload: 'q'.repeat(3000) });
        const r = await verdicts([...conv.handshake, ...fragment(big, 1232, 7), ...fragment(denied, 1232, 8)]);
        expect(r.verdicts).toEqual([...Array(6).fill('accept'), 'drop', 'drop', 'drop']);
        expect(r.details[3].why).toContain('when packet 6 completed the datagram');
      },
    );

    kernelTest('sysctls reach the firewall namespace (nf_conntrack_tcp_loose)', async () => {
      // A mid-stream segment with no handshake: picked up as NEW when loose (default 1), INVALID when not.
      const mid = tcp({
        src: C,
        dst: S,
        sport: 40002,
        dport: 8080,
        seq: 123456,
        ack: 654321,
        flags: TCP.PSH | TCP.ACK,
        payload: 'hi',
      });
      const loose = await verdicts([mid]);
      const strict = await verdicts([mid], { sysctls: { nf_conntrack_tcp_loose: 0 } });
      expect(loose.verdicts).toEqual(['accept']);
      expect(strict.verdicts).toEqual(['drop']);
    });

    kernelTest('a reject rule is told apart: verdict drop, detail reject', async () => {
      const ruleset = `
table inet fw {
  chain forward {
    type filter hook forward priority 0; policy drop;
    tcp dport 9999 reject with tcp reset
    udp dport 9999 reject
  }
}
`;
      const syn = tcp({ src: C, dst: S, sport: 40003, dport: 9999, seq: 1, flags: TCP.SYN });
      const dgram = udp({ src: C, dst: S, sport: 40004, dport: 9999, payload: 'x' });
      const quiet = udp({ src: C, dst: S, sport: 40005, dport: 9998, payload: 'y' });
      const r = await runKernel({ capture: capture([syn, dgram, quiet]), nftRuleset: ruleset });
      expect(r.verdicts).toEqual(['drop', 'drop', 'drop']);
      expect(r.details.map((d) => d.verdict)).toEqual(['reject', 'reject', 'drop']);
      expect(r.details[0].why).toContain('tcp-reset');
      expect(r.details[1].why).toMatch(fam === 'IPv4' ? /icmp-unreachable code 3/ : /icmpv6-unreachable code 4/);
    });
  });
}

describe('kernel oracle, captures', () => {
  const mixed = () => {
    const v4 = conversation('10.1.0.2', '10.2.0.1');
    const v6 = conversation('fd00:1::2', 'fd00:2::1', 40010);
    const syn = tcp({ src: '10.1.0.3', dst: '10.2.0.1', sport: 40001, dport: 9999, seq: 1, flags: TCP.SYN });
    const pkts = [...v4.handshake, ...v6.handshake, syn, ...v4.data, ...v6.data];
    const expected = [...Array(6).fill('accept'), 'drop', ...Array(8).fill('accept')];
    return { pkts, expected };
  };

  kernelTest('every link type gives the same verdicts; runs may go concurrently', async () => {
    const { pkts, expected } = mixed();
    const caps = [
      capture(pkts),
      capture(pkts, { ng: true }),
      capture(pkts, { frame: vlanEther }),
      capture(pkts, { frame: (p) => p, linkType: 101, ng: true }),
      capture(pkts, { frame: sll, linkType: 113 }),
      capture(pkts, { frame: sll2, linkType: 276 }),
    ];
    const runs = await Promise.all(caps.map((c) => runKernel({ capture: c, nftRuleset: RULESET })));
    for (const r of runs) expect(r.verdicts).toEqual(expected);
  });

  kernelTest('non-IP frames are skipped and keep their packet numbers', async () => {
    const conv = conversation('10.1.0.2', '10.2.0.1');
    const path = join(dir, 'arp.pcap');
    const frames = [arpFrame(), ...conv.handshake.map((p) => ether(p))].map((data, i) => ({
      data,
      ts: 1_700_000_000 + i / 100,
    }));
    writePcap(path, frames);
    const r = await runKernel({ capture: path, nftRuleset: RULESET });
    expect(r.verdicts).toEqual(['skip', 'accept', 'accept', 'accept']);
    expect(r.details[0].why).toContain('ethertype 0x0806');
  });

  kernelTest('clientNets decides the ingress link', async () => {
    // 192.168.7.0/24 as the client side; 10.1.0.2 is now on the server side.
    const a = tcp({ src: '192.168.7.9', dst: '10.1.0.2', sport: 40000, dport: 8080, seq: 1, flags: TCP.SYN });
    const b = tcp({
      src: '10.1.0.2',
      dst: '192.168.7.9',
      sport: 8080,
      dport: 40000,
      seq: 9,
      ack: 2,
      flags: TCP.SYN | TCP.ACK,
    });
    const r = await runKernel({ capture: capture([a, b]), nftRuleset: RULESET, clientNets: ['192.168.7.0/24'] });
    expect(r.verdicts).toEqual(['accept', 'accept']);
    expect(r.details.map((d) => [d.ingress, d.egress])).toEqual([
      ['client', 'server'],
      ['server', 'client'],
    ]);
  });

  kernelTest('pure-timeout mode (probe: false) agrees with the probe', async () => {
    const conv = conversation('10.1.0.2', '10.2.0.1');
    const syn = tcp({ src: '10.1.0.2', dst: '10.2.0.1', sport: 40001, dport: 9999, seq: 1, flags: TCP.SYN });
    const r = await verdicts([...conv.handshake, syn], { probe: false, perPacketTimeoutMs: 50 });
    expect(r.verdicts).toEqual(['accept', 'accept', 'accept', 'drop']);
  });

  kernelTest(
    'realTime spaces packets by timestamp, so conntrack timeouts run out',
    async () => {
      const ruleset = `
table inet fw {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    udp dport 53 accept
  }
}
`;
      const q = udp({ src: '10.1.0.2', dst: '10.2.0.1', sport: 33333, dport: 53, payload: 'query' });
      const a = udp({ src: '10.2.0.1', dst: '10.1.0.2', sport: 53, dport: 33333, payload: 'answer' });
      const path = capture([q, a], { times: [0, 1.6] });
      const o = { capture: path, nftRuleset: ruleset, sysctls: { nf_conntrack_udp_timeout: 1 } };
      const fast = await runKernel(o);
      const slow = await runKernel({ ...o, realTime: true });
      expect(fast.verdicts).toEqual(['accept', 'accept']);
      expect(slow.verdicts).toEqual(['accept', 'drop']);
    },
    30_000,
  );

  kernelTest('a ruleset nft rejects fails the run with nft’s message, and cleans up', async () => {
    const before = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    const conv = conversation('10.1.0.2', '10.2.0.1');
    await expect(
      runKernel({ capture: capture(conv.handshake), nftRuleset: 'table inet fw { chain forward { bogus } }' }),
    ).rejects.toThrow(/nft ruleset/);
    const after = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    const ours = (s: string) => s.split('\n').filter((l) => l.startsWith(`fwemu-k-${process.pid}-`));
    expect(ours(after)).toEqual(ours(before));
  });

  kernelTest('stale namespaces of dead processes are removed', async () => {
    const dead = spawnSync('true').pid; // has exited by now
    const name = `fwemu-k-${dead}-1-fw`;
    spawnSync('ip', ['netns', 'add', name]);
    const removed = await cleanupStaleNamespaces();
    expect(removed).toContain(name);
    expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).not.toContain(name);
  });
});
