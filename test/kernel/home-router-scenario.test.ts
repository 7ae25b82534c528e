/**
 * The home-router scenario (fixtures/scenarios/home-router.yaml: what a
 * masquerading router receives) through the kernel oracle loaded with
 * rules/home-router.yaml, and through fwemu: every packet's verdict, leg and
 * egress tuple, and the conntrack table with its NAT reply tuples, agree.
 *
 * One flow cannot: b2, which clashes with a1's reply tuple. The kernel
 * gives it a random port, fwemu the next free one (README, Known
 * differences), and the scenario, written before either chose, has the
 * server answer fwemu's (40001). Its SYN agrees up to the port; the kernel
 * then drops the rest of b2 (the answers go to a port its entry does not
 * name, so the entry never leaves SYN_SENT) unless it happened to pick
 * 40001 too.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { loadRuleSet } from '../../src/rules/load.js';
import { generate, loadScenario, writeSynth } from '../../src/synth/index.js';
import { compareFirewall, formatFwAgreement } from './fw-conformance.js';
import { kernelTest } from './kit.js';

const dir = mkdtempSync(join(tmpdir(), 'fwemu-khrs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

kernelTest('fixtures/scenarios/home-router.yaml with rules/home-router.yaml', async () => {
  const out = generate(loadScenario('fixtures/scenarios/home-router.yaml'));
  const file = join(dir, 'home-router.pcap');
  await writeSynth(out, file);
  const a = await compareFirewall(file, loadRuleSet('rules/home-router.yaml').ruleset);
  const report = formatFwAgreement('fixtures/scenarios/home-router.yaml + rules/home-router.yaml', a);
  console.log(report);

  const b2Packets = out.conns.get('b2')!.packets;
  expect(b2Packets.length, report).toBe(10); // handshake 3, request 2, response 2, close 3
  expect(a.packets, report).toBe(out.packets.length);
  expect(a.remapped, report).toBe(1); // b2's SYN: both moved the port, elsewhere alike
  const lost = a.disagreements.map((d) => d.packet);
  if (lost.length > 0) {
    // the kernel chose another port: every later packet of b2, and nothing else
    expect(lost, report).toEqual(b2Packets.slice(1));
    for (const d of a.disagreements)
      expect([d.what, d.fwemu, d.kernel.split(' ')[0]], report).toEqual(['verdict', 'accept', 'drop']);
    expect(a.entryDiffs.length, report).toBe(2);
    for (const e of a.entryDiffs)
      expect(e, report).toMatch(/src=192\.168\.1\.11 dst=198\.51\.100\.10 sport=40000 dport=80 /);
  } else {
    expect(a.entryDiffs, report).toEqual([]);
  }
  // Every other entry, NAT reply tuples included, is the kernel's: 7 flows.
  expect(a.entries, report).toBe(7);
  expect(a.entriesAgree, report).toBe(lost.length > 0 ? 6 : 7);
  // ... and those entries show the replies found their way back: ASSURED (a reply was seen) with the NAT reply tuple.
  const table = a.fwemuConntrack.join('\n');
  const port = (flow: string) => {
    const f = out.conns.get(flow)!;
    return f.client.port;
  };
  for (const line of [
    'src=192.168.1.10 dst=198.51.100.10 sport=40000 dport=80 src=198.51.100.10 dst=203.0.113.1 sport=80 dport=40000 [ASSURED]',
    'src=192.168.1.11 dst=198.51.100.10 sport=40000 dport=443 src=198.51.100.10 dst=203.0.113.1 sport=443 dport=40000 [ASSURED]',
    `src=198.51.100.20 dst=203.0.113.1 sport=${port('fwd')} dport=8080 src=192.168.1.10 dst=198.51.100.20 sport=80 dport=${port('fwd')} [ASSURED]`,
    `src=192.168.1.10 dst=198.51.100.53 sport=${port('dns')} dport=53 src=198.51.100.53 dst=203.0.113.1 sport=53 dport=${port('dns')}`,
  ])
    expect(table, report).toContain(line);
});
