/**
 * The corpus of real rulesets against the kernel (issue 18): each ORIGINAL
 * file is loaded into the firewall namespace by its own tool (nft -f,
 * nft -j -f, iptables-restore, ip6tables-restore), the namespace built
 * from its host file (interface names as the ruleset uses them), and the
 * traffic made for it (its scenario, then random sessions over its
 * topology) replayed through the kernel and through fwemu, which loads the
 * same files through loadRuleFiles (the host file, --lenient). No
 * translation stands between the kernel's input and fwemu's. Compared
 * packet by packet (verdict, egress leg, addresses and ports) and entry by
 * entry (conntrack -L, NAT reply tuples included) by compareFirewall.
 *
 * A ruleset whose format this build cannot read yet runs the kernel side
 * alone (every packet judged, the figures printed). Rulesets this kernel
 * cannot load are kept out, and checked to still fail as SOURCES.md says.
 * FWEMU_SEED replays the random sessions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect } from 'vitest';
import { loadRuleFiles, NO_HOST } from '../../src/rules/import/load-rules.js';
import { readerFor } from '../../src/rules/import/readers.js';
import type { RulesetFormat } from '../../src/rules/import/types.js';
import { loadRuleSet } from '../../src/rules/load.js';
import type { RuleSet } from '../../src/rules/types.js';
import { compareFirewall, formatFwAgreement, type FwAgreement, type KernelSide } from './fw-conformance.js';
import { runKernel } from './harness.js';
import { kernelTest } from './kit.js';
import { corpusSeed } from './random.js';
import {
  CORPUS,
  type CorpusEntry,
  captureTuples,
  entryPortKeys,
  corpusKernelSide,
  corpusTraffic,
  hostPath,
  knownPorts,
  RULESETS,
} from './ruleset-corpus.js';

const seed = corpusSeed();
const dir = mkdtempSync(join(tmpdir(), 'fwemu-kcorpus-'));
const figures: string[] = [];
afterAll(() => {
  if (figures.length > 0) console.log(`ruleset corpus (seed ${seed}):\n${figures.join('\n')}`);
  if (!process.env.FWEMU_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
});

const traffic = corpusTraffic(dir, seed);

/** The formats the entry's files are in, as the kernel side loads them. */
function formats(k: KernelSide): RulesetFormat[] {
  const f: RulesetFormat[] = [];
  if (k.nftRuleset !== '') f.push('nft');
  if (k.original?.nftJson !== undefined) f.push('nft-json');
  if (k.original?.iptables !== undefined || k.original?.ip6tables !== undefined) f.push('iptables-save');
  return f;
}

/** fwemu's side, or why there is none yet (a reader this build lacks). */
function fwemuSide(e: CorpusEntry, k: KernelSide): { ruleset: RuleSet } | { missing: RulesetFormat[] } {
  const missing = formats(k).filter((f) => readerFor(f) === null);
  if (missing.length > 0) return { missing };
  const r = loadRuleFiles([hostPath(e)], NO_HOST, { lenient: true });
  if (!loadNoted.has(e.name)) {
    // What fwemu left out or could not model: the closing figures say how much.
    loadNoted.add(e.name);
    const codes = [...new Set(r.warnings.map((w) => w.code))].sort();
    figures.push(
      `${e.name}: fwemu read it with ${r.ignored.length} ignored constructs and ${r.warnings.length} warnings${codes.length ? ` (${codes.join(', ')})` : ''}`,
    );
  }
  return { ruleset: r.ruleset };
}
const loadNoted = new Set<string>();

/** Kernel only: every packet judged, the figures kept. */
async function kernelOnly(label: string, capture: string, k: KernelSide, why: string): Promise<void> {
  const r = await runKernel({
    capture,
    nftRuleset: k.nftRuleset,
    original: k.original,
    interfaces: k.interfaces,
  });
  const judged = r.details.filter((d) => d.verdict !== 'skip');
  const count = (v: string) => judged.filter((d) => d.verdict === v).length;
  const line = `${label}: kernel only (${why}): ${judged.length} packets, ${count('accept')} accepted, ${count('drop')} dropped, ${count('reject')} rejected; ${r.conntrack.length} conntrack entries`;
  figures.push(line);
  console.log(line);
  expect(judged.length, line).toBeGreaterThan(0);
}

/**
 * Prints the comparison and keeps its figures; fails on every difference
 * but those of the entry's known flows (counted, with why).
 */
function check(e: CorpusEntry, label: string, capture: string, a: FwAgreement, hint = ''): void {
  const tuples = captureTuples(capture);
  const ports = knownPorts(tuples, e.known ?? []);
  const knownOf = (n: number) => {
    const t = tuples[n - 1];
    return t ? (ports.get(`${t.proto}/${t.sport}`) ?? ports.get(`${t.proto}/${t.dport}`)) : undefined;
  };
  const entryKnown = (d: string) => entryPortKeys(d).some((k) => ports.has(k));
  const packets = a.disagreements.filter((d) => knownOf(d.packet) === undefined);
  const entries = a.entryDiffs.filter((d) => !entryKnown(d));
  const excused = a.disagreements.length - packets.length + a.entryDiffs.length - entries.length;
  const whys = [...new Set(a.disagreements.map((d) => knownOf(d.packet)).filter((w) => w !== undefined))];
  const line = `${label}: packets ${a.packetsAgree}/${a.packets}, entries ${a.entriesAgree}/${a.entries}${excused > 0 ? ` (${excused} known differences)` : ''}`;
  figures.push(line);
  // A known difference that no longer shows is one to take out of the corpus table.
  const gone = (e.known ?? []).filter((k) => !whys.includes(k.why) && [...ports.values()].includes(k.why));
  const text = [
    formatFwAgreement(label, a),
    ...whys.map((w) => `  known: ${w}`),
    ...gone.map((k) => `  known difference no longer seen (remove it from ruleset-corpus.ts): ${k.why}`),
    hint,
  ]
    .filter(Boolean)
    .join('\n');
  console.log(text);
  expect(packets, text).toEqual([]);
  expect(entries, text).toEqual([]);
}

describe(`corpus of real rulesets, loaded by their own tools (seed ${seed})`, () => {
  for (const e of CORPUS) {
    if (e.unloadable) {
      const pattern = e.unloadable;
      kernelTest(`${e.name}: this kernel cannot load it (kept out of the comparison)`, () => {
        const k = corpusKernelSide(e);
        const ns = `fwemu-k-${process.pid}-unloadable`;
        spawnSync('ip', ['netns', 'del', ns]);
        spawnSync('ip', ['netns', 'add', ns]);
        try {
          const links = Object.keys(k.interfaces).flatMap((n, i) => [
            `link add ${n} type veth peer name p${i}`,
            `link set ${n} up`,
          ]);
          spawnSync('ip', ['-n', ns, '-batch', '-'], { input: `${links.join('\n')}\n` });
          const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: k.nftRuleset, encoding: 'utf8' });
          expect(r.status, r.stderr).not.toBe(0);
          expect(r.stderr).toMatch(pattern);
          figures.push(`${e.name}: not loadable by this kernel (${r.stderr.trim().split('\n')[0]})`);
        } finally {
          spawnSync('ip', ['netns', 'del', ns]);
        }
      });
      continue;
    }

    kernelTest(`${e.name}: ${e.scenario}`, async () => {
      const k = corpusKernelSide(e);
      const capture = await traffic.scenario(e.scenario);
      const side = fwemuSide(e, k);
      if ('missing' in side)
        return kernelOnly(`${e.name} + ${e.scenario}`, capture, k, `no ${side.missing.join(', ')} reader yet`);
      const a = await compareFirewall(capture, side.ruleset, k);
      check(e, `${e.name} + ${e.scenario}`, capture, a);
    });

    for (const c of e.captures ?? [])
      kernelTest(`${e.name}: the real capture ${c}`, async () => {
        const k = corpusKernelSide(e);
        const capture = join(RULESETS, c);
        const side = fwemuSide(e, k);
        if ('missing' in side)
          return kernelOnly(`${e.name} + ${c}`, capture, k, `no ${side.missing.join(', ')} reader yet`);
        const a = await compareFirewall(capture, side.ruleset, k);
        check(e, `${e.name} + ${c}`, capture, a);
      });

    if (e.randomSessions > 0)
      kernelTest(`${e.name}: ${e.randomSessions} random sessions over its topology`, async () => {
        const k = corpusKernelSide(e);
        const { capture, sessions } = traffic.random(e);
        const side = fwemuSide(e, k);
        if ('missing' in side)
          return kernelOnly(`${e.name} + random`, capture, k, `no ${side.missing.join(', ')} reader yet`);
        const a = await compareFirewall(capture, side.ruleset, k);
        check(e, `${e.name} + random (${sessions} sessions)`, capture, a, `(FWEMU_SEED=${seed} replays it)`);
      });
  }
});

/**
 * The harness itself, while the importers are young: the ORIGINAL file in
 * the kernel against fwemu's YAML translation of it (fixtures/rulesets/yaml/),
 * on the same traffic. A harness that built the wrong topology, failed to
 * load the original, or let the ruleset drop the copies that show input
 * packets were accepted would disagree here.
 */
describe('the corpus harness, against hand-written YAML translations', () => {
  // (Whether the translation's traffic meets a drop or reject too: the NAT example filters nothing.)
  for (const [name, filters] of [
    ['arch-simple-safe', true],
    ['debian-nat-maps', false],
  ] as const) {
    const e = CORPUS.find((x) => x.name === name)!;
    kernelTest(`${name}: original in the kernel, yaml/${name}.yaml in fwemu`, async () => {
      const k = corpusKernelSide(e);
      const { ruleset } = loadRuleSet(join(RULESETS, 'yaml', `${name}.yaml`));
      for (const capture of [await traffic.scenario(e.scenario), traffic.random(e, 'yaml-random', 40).capture]) {
        const a = await compareFirewall(capture, ruleset, k);
        const text = formatFwAgreement(`${name} (yaml) + ${capture.split('/').pop()}`, a);
        console.log(text);
        expect(a.disagreements, text).toEqual([]);
        expect(a.entryDiffs, text).toEqual([]);
        // Something of each kind: the comparison is not vacuous.
        const v = a.verdicts.filter((x) => x !== undefined).map((x) => x!.kernel);
        expect(v, text).toContain('accept');
        expect(
          v.some((x) => x !== 'accept'),
          text,
        ).toBe(filters);
        expect(a.entries, text).toBeGreaterThan(0);
      }
    });
  }
});
