/**
 * The randomized corpus of the firewall model against the kernel: seeded
 * random rule files with interfaces, chains, sets and NAT, and seeded random
 * sessions between LAN, WAN, DMZ and the router itself (fw-random.ts), a few
 * captures of many interleaved sessions each, compared packet by packet
 * (verdict, egress leg, addresses and ports on the wire) and entry by entry
 * (conntrack -L with NAT reply tuples) by compareFirewall.
 *
 * The seed is printed; FWEMU_SEED replays a run. FWEMU_FW_RANDOM_BATCHES
 * and FWEMU_FW_RANDOM_SESSIONS (per batch) change the size. Figures are
 * printed per batch and, at the end, per class (session kind x NAT).
 * Every disagreement fails the test unless its class is in KNOWN_FW below.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { parseRuleSet } from '../../src/rules/load.js';
import { compareFirewall, formatFwAgreement, type FwAgreement, type FwDisagreement } from './fw-conformance.js';
import { buildFwCorpus, entryTuple, tupleIndex, type FwCorpusBatch, type FwSession } from './fw-random.js';
import { kernelAvailable } from './harness.js';
import { kernelTest } from './kit.js';
import { corpusSeed } from './random.js';

const seed = corpusSeed();
const BATCHES = Number(process.env.FWEMU_FW_RANDOM_BATCHES || 6);
const SESSIONS = Number(process.env.FWEMU_FW_RANDOM_SESSIONS || 100);
const dir = mkdtempSync(join(tmpdir(), 'fwemu-fw-random-'));
let corpus: FwCorpusBatch[] = [];

/**
 * Known differences of the firewall model (README, "Known differences from
 * Linux"): printed and counted, with
 * the conntrack entries of the sessions they hit, but not failing the test.
 * Every other disagreement fails it.
 */
const KNOWN_FW: readonly {
  id: string;
  why: string;
  /** Does this packet disagreement belong to it? */
  packet?: (d: FwDisagreement, s: FwSession | undefined) => boolean;
  /** Does this entry difference belong to it (a: the batch's agreement, s: the entry's session)? */
  entry?: (diff: string, s: FwSession | undefined, a: FwAgreement) => boolean;
}[] = [
  {
    id: 'own-rst-tracked',
    why: "the firewall's RST answering a rejected packet without an entry crosses its own conntrack and kills the router's own flow of that tuple (kernel); fwemu keeps it, so the router's next packet leaves translated",
    packet: (d, s) =>
      d.what === 'wire' &&
      (s?.role === 'lan-router' || s?.role === 'wan-router') &&
      d.kernel.startsWith(`${s.flow.dst}:${s.flow.dport} > `),
  },
];

interface Tally {
  sessions: number;
  packets: number;
  packetsAgree: number;
  /** Packets the kernel let through (forwarded, taken in or sent): how much of the class is more than drops. */
  accepted: number;
  entries: number;
  entriesAgree: number;
}
const perClass = new Map<string, Tally>();
const zero = (): Tally => ({ sessions: 0, packets: 0, packetsAgree: 0, accepted: 0, entries: 0, entriesAgree: 0 });
const tally = (cls: string): Tally => {
  let t = perClass.get(cls);
  if (!t) perClass.set(cls, (t = zero()));
  return t;
};
const todoCounts = new Map<string, number>();

describe(`firewall-model random corpus against the kernel (seed ${seed}; FWEMU_SEED=${seed} replays it)`, () => {
  beforeAll(() => {
    console.log(`fw random corpus: seed ${seed}, ${BATCHES} batches x ${SESSIONS} sessions, files in ${dir}`);
    if (kernelAvailable().ok || process.env.CI === 'true')
      corpus = buildFwCorpus({ seed, batches: BATCHES, sessionsPerBatch: SESSIONS, dir });
  });

  afterAll(() => {
    if (perClass.size > 0) console.log(classTable());
    if (!process.env.FWEMU_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
  });

  for (let b = 0; b < BATCHES; b++) {
    kernelTest(
      `batch ${b + 1}`,
      async () => {
        const batch = corpus[b];
        const { ruleset } = parseRuleSet(batch.rulesYaml, batch.rulesPath);
        const a = await compareFirewall(batch.capturePath, ruleset);
        const failing = count(batch, a);
        const report = describeBatch(batch, a);
        console.log(report);
        const hint = `\n(replay: FWEMU_SEED=${seed} FWEMU_KEEP_TMP=1 npx vitest run -c test/kernel/vitest.config.ts test/kernel/fw-random.test.ts; files ${batch.rulesPath}, ${batch.capturePath})`;
        expect(failing.packets, report + hint).toEqual([]);
        expect(failing.entries, report + hint).toEqual([]);
      },
      120_000,
    );
  }
});

function todoOf(d: FwDisagreement, s: FwSession | undefined): string | null {
  return KNOWN_FW.find((t) => t.packet?.(d, s))?.id ?? null;
}

/** Adds the batch to the per-class figures; returns the differences no KNOWN_FW class claims. */
function count(batch: FwCorpusBatch, a: FwAgreement): { packets: number[]; entries: string[] } {
  const byId = new Map(batch.sessions.map((s) => [s.id, s]));
  const bad = new Set(a.disagreements.map((d) => d.packet));
  let counted = 0;
  for (const s of batch.sessions) {
    const t = tally(s.cls);
    t.sessions++;
    const compared = s.packets.filter((n) => a.verdicts[n - 1] !== undefined);
    t.packets += compared.length;
    t.packetsAgree += compared.filter((n) => !bad.has(n)).length;
    t.accepted += compared.filter((n) => a.verdicts[n - 1]?.kernel === 'accept').length;
    counted += compared.length;
  }
  if (counted !== a.packets) console.log(`note: ${a.packets} packets compared, ${counted} in sessions`);
  const index = tupleIndex(batch);
  const sessionOf = (line: string) => {
    const k = entryTuple(line.replace(/^(kernel|fwemu) only: /, ''));
    return k === null ? undefined : index.get(k);
  };
  const clsOf = (line: string) => sessionOf(line)?.cls ?? 'entry of no session';
  for (const l of a.kernelConntrack) {
    const t = tally(clsOf(l));
    t.entries++;
    t.entriesAgree++;
  }
  for (const d of a.entryDiffs) {
    const t = tally(clsOf(d));
    if (d.startsWith('kernel only')) t.entriesAgree--;
    else t.entries++;
  }
  const packets: number[] = [];
  /** Sessions a KNOWN_FW class claimed a packet of: their entries are claimed too. */
  const claimed = new Map<FwSession, string>();
  for (const d of a.disagreements) {
    const s = byId.get(batch.packetSession[d.packet - 1]);
    const todo = todoOf(d, s);
    if (todo) {
      todoCounts.set(todo, (todoCounts.get(todo) ?? 0) + 1);
      if (s) claimed.set(s, todo);
    } else packets.push(d.packet);
  }
  const entries: string[] = [];
  for (const d of a.entryDiffs) {
    const s = sessionOf(d);
    const todo = (s ? claimed.get(s) : undefined) ?? KNOWN_FW.find((t) => t.entry?.(d, s, a))?.id;
    if (todo) todoCounts.set(todo, (todoCounts.get(todo) ?? 0) + 1);
    else entries.push(d);
  }
  return { packets, entries };
}

/** The agreement line, every difference, and the sessions they belong to. */
function describeBatch(batch: FwCorpusBatch, a: FwAgreement): string {
  const lines = [
    formatFwAgreement(
      `${batch.name} (${batch.sessions.length} sessions, ${batch.packetSession.length} packets, ${batch.duration.toFixed(2)} s of capture)`,
      a,
    ),
  ];
  const seen = new Set<string>();
  for (const d of a.disagreements) {
    const sid = batch.packetSession[d.packet - 1];
    if (!sid || seen.has(sid)) continue;
    seen.add(sid);
    const s = batch.sessions.find((x) => x.id === sid);
    if (s) {
      const todo = todoOf(d, s);
      lines.push(
        `  session ${s.id} (${s.cls}${todo ? `; known: ${todo}` : ''}): IPv${s.family}, ${s.summary}; packets ${s.packets.join(',')}`,
      );
    }
  }
  return lines.join('\n');
}

/** The figures per class, then summed per session kind and per NAT kind. */
function classTable(): string {
  const lines = [`fw random corpus, seed ${seed}: agreement per class (session kind x NAT)`];
  const table = (title: string, rows: [string, Tally][]) => {
    rows.sort(([a], [b]) => a.localeCompare(b));
    const all = zero();
    const w = Math.max(5, ...rows.map(([c]) => c.length));
    const line = (c: string, t: Tally) =>
      `  ${c.padEnd(w)} ${String(t.sessions).padStart(5)} sessions  packets ${`${t.packetsAgree}/${t.packets}`.padEnd(11)} (${t.accepted} accepted)  entries ${t.entriesAgree}/${t.entries}`;
    lines.push(title);
    for (const [c, t] of rows) {
      lines.push(line(c, t));
      for (const k of Object.keys(all) as (keyof Tally)[]) all[k] += t[k];
    }
    lines.push(line('total', all));
  };
  const sum = (key: (cls: string) => string): [string, Tally][] => {
    const m = new Map<string, Tally>();
    for (const [c, t] of perClass) {
      const k = key(c);
      const s = m.get(k) ?? zero();
      for (const f of Object.keys(s) as (keyof Tally)[]) s[f] += t[f];
      m.set(k, s);
    }
    return [...m];
  };
  table('per class:', [...perClass]);
  table(
    'per session kind:',
    sum((c) => c.split(' x ')[0]),
  );
  table(
    'per NAT:',
    sum((c) => c.split(' x ')[1] ?? c),
  );
  for (const [id, n] of todoCounts) lines.push(`  known: ${id}: ${n} differences not failing the test`);
  return lines.join('\n');
}
