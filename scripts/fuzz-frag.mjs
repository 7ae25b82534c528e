// Held IP fragments with large gaps (issue 14): datagrams, IPv4 and IPv6,
// fragmented at random sizes, their fragments shuffled and interleaved,
// some incomplete, some with a duplicate fragment, with up to a few hundred
// KiB of other packets between fragments; the capture is read from a file
// in small chunks (so the reader reuses its buffers many times while a
// fragment is held).
//
// Checked against what the rule file alone says (policy drop, udp port 53
// accepted), not against fwemu:
//   - every fragment of a complete datagram to port 53 is accepted, to any
//     other port dropped; every fragment of an incomplete one is dropped
//     (at the end of the capture); a duplicate fragment is dropped alone;
//   - every packet is delivered once, in capture order, with its own bytes
//     (held fragments and the packets waiting behind them included);
//   - the fragments' verdicts and reasons are the same with the gaps
//     removed (packet numbers mapped).
// Used by scripts/fuzz-lib.mjs (kind 'frag') and test/robustness/fuzz.test.ts.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCapture, readCaptureBuffer } from '../dist/capture/read.js';
import { replay } from '../dist/engine/replay.js';
import { buildFrame, buildIpPacket, fragmentIp } from '../dist/packet/encode.js';
import { explain } from '../dist/report/reason.js';
import { parseRuleSet } from '../dist/rules/load.js';
import { caseRng } from './fuzz-lib.mjs';

const RULES = 'policy: drop\nrules:\n  - id: dns\n    proto: udp\n    dport: 53\n';

function pcap(frames) {
  const parts = [];
  const gh = Buffer.alloc(24);
  gh.writeUInt32LE(0xa1b2c3d4, 0);
  gh.writeUInt16LE(2, 4);
  gh.writeUInt16LE(4, 6);
  gh.writeUInt32LE(262144, 16);
  gh.writeUInt32LE(1, 20);
  parts.push(gh);
  for (const f of frames) {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(1_700_000_000, 0);
    h.writeUInt32LE(f.us, 4);
    h.writeUInt32LE(f.data.length, 8);
    h.writeUInt32LE(f.data.length, 12);
    parts.push(h, f.data);
  }
  return Buffer.concat(parts);
}

function shuffle(rng, xs) {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/** The case's packets: fragments (with the verdict the rules give them) and filler. */
function build(rng) {
  const lists = [];
  const n = rng.range(1, 6);
  for (let d = 0; d < n; d++) {
    const v6 = rng.chance(0.5);
    const dport = rng.chance(0.6) ? 53 : 9999;
    const ip = v6
      ? { src: `fd00:1::${d + 2}`, dst: 'fd00:2::1' }
      : { src: `10.1.0.${d + 2}`, dst: '10.2.0.1', id: 0x100 + d };
    const bytes = rng.range(16, 3000);
    const dgram = buildIpPacket({ ip, udp: { sport: 40000 + d, dport, payload: bytes } });
    // At least two fragments (one would be a whole packet, or an IPv6 atomic fragment).
    let pieces = fragmentIp(
      dgram,
      8 * rng.range(1, Math.min(175, Math.floor((bytes + 8) / 16))),
      v6 ? 0x100 + d : undefined,
    );
    const incomplete = rng.chance(0.2);
    if (incomplete) {
      const lost = rng.int(pieces.length);
      pieces = pieces.filter((_, k) => k !== lost);
    }
    const verdict = incomplete ? 'drop' : dport === 53 ? 'accept' : 'drop';
    lists.push(
      shuffle(
        rng,
        pieces.map((p) => ({ data: buildFrame(v6 ? 0x86dd : 0x0800, p), verdict })),
      ),
    );
  }
  // The datagrams' fragments merged in a random order, each datagram's in its own.
  const out = [];
  while (lists.some((l) => l.length > 0)) {
    const live = lists.filter((l) => l.length > 0);
    out.push(rng.pick(live).shift());
  }
  // A copy of an earlier fragment is dropped whatever it meets: a duplicate
  // in a queue, or the start of a new datagram that never completes.
  if (out.length > 0 && rng.chance(0.3)) {
    const at = rng.range(1, out.length);
    out.splice(at, 0, { data: out[rng.int(at)].data, verdict: 'drop', dup: true });
  }
  const packets = [];
  // (Fewer packets than MAX_WAITING (16384) in all: beyond it, replay() lets
  // the oldest held fragment's result come out of order, as documented.)
  let budget = 3 * 1024 * 1024;
  for (const f of out) {
    if (rng.chance(0.5) && budget > 0) {
      const gap = Math.min(budget, rng.range(0, 256 * 1024));
      budget -= gap;
      for (let b = 0; b < gap; ) {
        const body = new Uint8Array(rng.range(46, 1500));
        for (let j = 0; j < body.length; j += 97) body[j] = rng.int(256);
        const frame = buildFrame(0x88b5, body);
        packets.push({ data: frame, filler: true });
        b += frame.length + 16;
      }
    }
    packets.push({ data: f.data, filler: false, verdict: f.verdict, dup: f.dup === true });
  }
  return packets;
}

async function run(path, buf, chunkSize, ruleset) {
  const got = [];
  const source =
    path === null
      ? async (onRecord) => readCaptureBuffer(buf, 'x.pcap', onRecord)
      : (onRecord) => readCapture(path, onRecord, { chunkSize });
  await replay({
    rules: ruleset,
    source,
    onPacket: (r, p, rec, engine) =>
      got.push({
        n: r.n,
        verdict: r.verdict,
        reason: explain(r, p, engine.compiled),
        bytes: Buffer.from(rec.buf.subarray(rec.off, rec.off + rec.caplen)).toString('hex'),
      }),
  });
  return got;
}

/** One case: { ok, desc, error?, outcome }. */
export async function fragCase(seed, i) {
  const rng = caseRng(seed, 'frag', i);
  const desc = `frag #${i}`;
  const dir = mkdtempSync(join(tmpdir(), 'fwemu-fuzzfrag-'));
  try {
    const packets = build(rng);
    const us = packets.map((_, k) => Math.floor((k * 900_000) / Math.max(1, packets.length)));
    const withGaps = pcap(packets.map((p, k) => ({ data: p.data, us: us[k] })));
    const fragIdx = packets.map((p, k) => (p.filler ? -1 : k)).filter((k) => k >= 0);
    const noGaps = pcap(fragIdx.map((k) => ({ data: packets[k].data, us: us[k] })));
    const path = join(dir, 'gaps.pcap');
    writeFileSync(path, withGaps);
    const { ruleset } = parseRuleSet(RULES, 'fuzz.yaml');
    const chunkSize = rng.pick([512, 4096, 65536]);
    const a = await run(path, null, chunkSize, ruleset);
    const b = await run(null, noGaps, 0, ruleset);
    const problems = [];
    if (a.length !== packets.length) problems.push(`${a.length} results for ${packets.length} packets`);
    a.forEach((r, k) => {
      if (r.n !== k + 1) problems.push(`result ${k + 1} is packet ${r.n}`);
      const p = packets[k];
      if (p === undefined) return;
      if (r.bytes !== Buffer.from(p.data).toString('hex'))
        problems.push(`packet ${k + 1}: delivered with other bytes than its own`);
      if (!p.filler && r.verdict !== p.verdict)
        problems.push(
          `packet ${k + 1}: ${r.verdict}, the rules say ${p.verdict}${p.dup ? ' (a duplicate)' : ''}: ${r.reason}`,
        );
    });
    // The same fragments without the gaps: same verdicts and reasons, numbers mapped.
    const map = new Map(fragIdx.map((k, j) => [k + 1, j + 1]));
    const renumber = (s) => s.replace(/(?<=packet )\d+/g, (m) => String(map.get(Number(m)) ?? `?${m}`));
    fragIdx.forEach((k, j) => {
      const x = a[k];
      const y = b[j];
      if (x === undefined || y === undefined) return;
      if (x.verdict !== y.verdict || renumber(x.reason) !== y.reason)
        problems.push(
          `packet ${k + 1}: "${x.verdict}: ${renumber(x.reason)}" with gaps, "${y.verdict}: ${y.reason}" without`,
        );
    });
    const frags = fragIdx.length;
    const desc2 = `${desc} (${frags} fragments, ${packets.length - frags} other packets, chunks of ${chunkSize})`;
    if (problems.length > 0)
      return { ok: false, desc: desc2, error: problems.slice(0, 5).join('\n'), bytes: withGaps, base: 'frag' };
    return { ok: true, desc: desc2, outcome: `ok ${packets.length}`, base: 'frag' };
  } catch (err) {
    return { ok: false, desc, error: err instanceof Error ? (err.stack ?? err.message) : String(err), base: 'frag' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
