/**
 * The generator as a packet source: synthSource feeds replay() directly,
 * writeSynth's files read back identically, and the seed demo behaves as
 * the demo says (rules/web-server.yaml: everything of the three connections
 * accepted, the stray packet dropped).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readCapture } from '../../src/capture/read.js';
import type { CaptureRecord } from '../../src/capture/types.js';
import { replay } from '../../src/engine/replay.js';
import { parseRuleSet } from '../../src/rules/load.js';
import { generate, loadScenario, synthSource, writeSynth, type SynthOutput } from '../../src/synth/index.js';
import { removeTmpFiles, tmpFile } from './helpers.js';

afterAll(removeTmpFiles);

interface Seen {
  n: number;
  verdict: string;
  ct: string | null;
}

async function judge(out: SynthOutput, rules: string | ReturnType<typeof parseRuleSet>['ruleset']): Promise<Seen[]> {
  const seen: Seen[] = [];
  await replay({
    rules,
    source: synthSource(out),
    onPacket: (r) => seen.push({ n: r.n, verdict: r.verdict, ct: r.ct }),
  });
  return seen;
}

const ACCEPT_ALL = parseRuleSet('name: all\npolicy: accept\nrules: []\n', 'all.yaml').ruleset;

describe('synthSource', () => {
  it('feeds one reused record per packet, numbered from 1, as a pcap reader would', async () => {
    const out = generate(loadScenario('fixtures/scenarios/seed.yaml'));
    const recs: Array<Omit<CaptureRecord, 'buf'> & { hex: string }> = [];
    let first: CaptureRecord | null = null;
    const summary = await synthSource(out)((rec) => {
      first ??= rec;
      expect(rec).toBe(first);
      const { buf, ...rest } = rec;
      recs.push({ ...rest, hex: Buffer.from(buf.subarray(rec.off, rec.off + rec.caplen)).toString('hex') });
    });
    expect(summary).toMatchObject({ format: 'pcap', records: out.packets.length, warnings: [], truncated: false });
    expect(recs.map((r) => r.n)).toEqual(out.packets.map((_, i) => i + 1));

    // Written to a file and read back: the same records.
    for (const name of ['seed.pcap', 'seed.pcapng']) {
      const file = tmpFile(name);
      await writeSynth(out, file);
      const back: typeof recs = [];
      const s = await readCapture(file, (rec) => {
        const { buf, ...rest } = rec;
        back.push({ ...rest, hex: Buffer.from(buf.subarray(rec.off, rec.off + rec.caplen)).toString('hex') });
      });
      expect(s.format).toBe(name.endsWith('ng') ? 'pcapng' : 'pcap');
      const pick = (r: (typeof recs)[number]) => [r.n, r.tsSec, r.tsNsec, r.linkType, r.caplen, r.len, r.hex];
      expect(back.map(pick)).toEqual(recs.map(pick));
      if (name.endsWith('.pcap')) {
        expect(back.map((r) => r.fileOffset)).toEqual(recs.map((r) => r.fileOffset));
        expect(s.bytesRead).toBe(summary.bytesRead);
      }
    }
  });
});

describe('the seed demo', () => {
  it('web-server.yaml accepts the three connections and drops the stray packet', async () => {
    const out = generate(loadScenario('fixtures/scenarios/seed.yaml'));
    expect([...out.conns.keys()]).toEqual(['a1', 'a2', 'b1']);
    const a1 = out.conns.get('a1')!;
    const a2 = out.conns.get('a2')!;
    expect(a1.client.addr).toBe('10.1.0.2');
    expect(a2.client.addr).toBe('10.1.0.2');
    expect(a1.client.port).not.toBe(a2.client.port);
    expect(out.conns.get('b1')!.client.addr).toBe('10.1.0.3');
    for (const c of out.conns.values()) expect(c.state).toBe('closed');

    const seen = await judge(out, 'rules/web-server.yaml');
    const stray = out.steps.find((s) => s.name === 'stray')!.packets;
    expect(stray).toEqual([out.packets.length]);
    for (const s of seen) {
      if (stray.includes(s.n)) expect(s).toMatchObject({ verdict: 'drop', ct: 'new' });
      else expect(s.verdict, `packet ${s.n}`).toBe('accept');
    }
    const syns = [...out.conns.values()].map((c) => c.packets[0]);
    expect(seen.filter((s) => s.ct === 'new' && s.verdict === 'accept').map((s) => s.n)).toEqual(syns);
  });
});

describe('conntrack sees the scenarios as written', () => {
  it('every-step.yaml: nothing INVALID; ICMP errors RELATED', async () => {
    const out = generate(loadScenario('fixtures/scenarios/every-step.yaml'));
    const seen = await judge(out, ACCEPT_ALL);
    expect(seen.filter((s) => s.ct === 'invalid')).toEqual([]);
    const errs = out.steps.filter((s) => s.kind === 'unreachable').flatMap((s) => s.packets);
    expect(errs).toHaveLength(2);
    for (const n of errs) expect(seen[n - 1].ct).toBe('related');
  });

  it('odd-cases.yaml: the out-of-window segment is INVALID, the errors RELATED', async () => {
    const out = generate(loadScenario('fixtures/scenarios/odd-cases.yaml'));
    const seen = await judge(out, ACCEPT_ALL);
    const oow = out.steps.find((s) => s.name === 'oow')!.packets;
    expect(seen.filter((s) => s.ct === 'invalid').map((s) => s.n)).toEqual(oow);
    for (const n of out.steps.filter((s) => s.kind === 'unreachable').flatMap((s) => s.packets))
      expect(seen[n - 1].ct).toBe('related');
  });
});
