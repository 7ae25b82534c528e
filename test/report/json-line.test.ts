/**
 * The jsonl lines fwemu writes by hand (report/json-line.ts) must be what
 * JSON.stringify makes of the objects they stand for (replayJson(),
 * describePacket()), byte for byte: on every packet of every fixture
 * (malformed ones too) and scenario, under every example rule file.
 */
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureError } from '../../src/capture/types.js';
import { packetSource } from '../../src/run/inputs.js';
import { replay } from '../../src/engine/replay.js';
import { describePacket } from '../../src/packet/describe.js';
import { dumpJsonLine, jsonString, packetMembers, replayJsonLine } from '../../src/report/json-line.js';
import { epochString } from '../../src/report/time.js';
import { replayJson } from '../../src/report/replay-text.js';
import { safeJson } from '../../src/base/text-escape.js';
import { CORPUS } from '../robustness/corpus.js';
import { expectedPackets, inputs, ruleSets } from './inputs.js';

/** expect(got).toBe(want), with expect() called only on a difference: it runs for every packet here. */
function same(got: string, want: string, what: string): void {
  if (got !== want) expect(got, what).toBe(want);
}

describe('jsonl lines written by hand', () => {
  it('jsonString is JSON.stringify for strings, escapes and lone surrogates included', () => {
    for (const s of [
      '',
      'plain',
      'say "hi"',
      'back\\slash',
      'tab\there',
      'nl\n',
      '\u0000\u001f',
      'é ü 中文 🙂',
      '\ud800 lone',
      'end \udfff',
    ]) {
      expect(jsonString(s)).toBe(JSON.stringify(s));
    }
  });

  it('jsonString also escapes what JSON.stringify leaves raw but a terminal obeys: DEL, C1, U+2028/2029, bidi controls', () => {
    // Written by hand: each of these would reach a terminal raw from JSON.stringify.
    expect(jsonString('a\u007fb')).toBe('"a\\u007fb"');
    expect(jsonString('\u0080\u0085\u009b[2J\u009f')).toBe('"\\u0080\\u0085\\u009b[2J\\u009f"');
    expect(jsonString('x\u2028y\u2029z')).toBe('"x\\u2028y\\u2029z"');
    expect(jsonString('\u202eevil\u2066')).toBe('"\\u202eevil\\u2066"');
    expect(jsonString('é\u0085')).toBe('"é\\u0085"'); // after a 2-byte character
    for (const s of ['a\u007fb', '\u0085', 'x\u2028y', '\u202e']) expect(JSON.parse(jsonString(s))).toBe(s);
  });

  it('replay lines and packet members equal JSON.stringify of the objects, on every fixture and scenario', async () => {
    let packets = 0;
    let fatalEnds = 0;
    for (const input of inputs) {
      // (Loaded, and a scenario generated, once for all rule files.)
      const { source } = packetSource(input);
      for (const rules of ruleSets) {
        try {
          await replay({
            rules,
            source,
            onPacket: (r, p, rec, engine) => {
              packets++;
              same(
                replayJsonLine(r, p, rec, engine),
                safeJson(replayJson(r, p, rec, engine)),
                `${input} packet ${r.n}`,
              );
              const info = describePacket(p);
              same(`{${packetMembers(p)}}`, JSON.stringify(info), `${input} packet ${r.n} members`);
              // What dump wrote before it had dumpJsonLine().
              const dumpObject = {
                n: rec.n,
                ts: epochString(rec.tsSec, rec.tsNsec),
                caplen: rec.caplen,
                len: rec.len,
                ...(rec.ifName ? { if: rec.ifName } : {}),
                ...(info.direction ? { direction: info.direction } : {}),
                ...info,
              };
              same(dumpJsonLine(rec, p), safeJson(dumpObject), `${input} packet ${r.n} dump`);
            },
          });
        } catch (err) {
          // A malformed capture that the corpus says ends in an error ends in
          // that error, after its readable packets; anything else (a failed
          // expect above, or an error where the corpus has none) is a failure.
          const want = input.startsWith('fixtures/malformed/') ? CORPUS[basename(input)] : undefined;
          if (!(err instanceof CaptureError) || want?.exit !== 2) throw err;
          expect(err.offset, input).toBe(want.offset);
          fatalEnds++;
        }
      }
    }
    expect(packets).toBe(await expectedPackets());
    // Every capture the corpus calls fatal ended in its error, under every rule file.
    const fatal = inputs.filter((i) => i.startsWith('fixtures/malformed/') && CORPUS[basename(i)]?.exit === 2);
    expect(fatal.length).toBeGreaterThan(5);
    expect(fatalEnds).toBe(fatal.length * ruleSets.length);
  });
});
