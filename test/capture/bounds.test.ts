/**
 * Tables the pcapng reader keeps grow with the input unless bounded: the
 * interfaces of a section (one per IDB; millions of IDBs grew memory without
 * end) and their names (an if_name option may be 64 KiB).
 */
import { describe, expect, it } from 'vitest';
import { MAX_IF_NAME_BYTES, MAX_INTERFACES_PER_SECTION } from '../../src/capture/pcapng.js';
import { CaptureError } from '../../src/capture/types.js';
import { epb, idb, opt, parseChunked, shb } from './bytes.js';

const LE = true;
const DATA = new Uint8Array(60);

/** SHB, then `n` IDBs (20 bytes each, no options), as one buffer. */
function section(n: number): Uint8Array {
  const head = shb(LE);
  const one = idb(LE, 1, 0);
  expect(one.length).toBe(20);
  const out = new Uint8Array(head.length + n * one.length);
  out.set(head, 0);
  for (let i = 0; i < n; i++) out.set(one, head.length + i * one.length);
  return out;
}

function join(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe('pcapng interfaces per section', () => {
  it('the limit is the 16-bit interface id space', () => {
    expect(MAX_INTERFACES_PER_SECTION).toBe(65_536);
  });

  it(`${MAX_INTERFACES_PER_SECTION} interfaces are read, and the last one is used`, () => {
    const file = join(
      section(MAX_INTERFACES_PER_SECTION),
      epb(LE, MAX_INTERFACES_PER_SECTION - 1, 1_000_000n, DATA, 60),
    );
    const { records, summary } = parseChunked(file, 1 << 20);
    expect(records).toHaveLength(1);
    expect(records[0].ifIndex).toBe(MAX_INTERFACES_PER_SECTION - 1);
    expect(summary.warnings).toEqual([]);
  });

  it('one more is refused with a CaptureError at the offset of the IDB that exceeds it', () => {
    const file = section(MAX_INTERFACES_PER_SECTION + 1);
    const head = shb(LE).length;
    let err: unknown = null;
    try {
      parseChunked(file, 1 << 20, 'many.pcapng');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CaptureError);
    const e = err as CaptureError;
    expect(e.offset).toBe(head + MAX_INTERFACES_PER_SECTION * 20);
    expect(e.message).toContain(
      `pcapng section describes more than ${MAX_INTERFACES_PER_SECTION} interfaces (this interface description block would be interface ${MAX_INTERFACES_PER_SECTION})`,
    );
  });

  it('a new section starts a new table (the limit is per section, as interface ids are)', () => {
    const file = join(section(MAX_INTERFACES_PER_SECTION), section(3), epb(LE, 2, 1_000_000n, DATA, 60));
    const { records } = parseChunked(file, 1 << 20);
    expect(records.map((r) => r.ifIndex)).toEqual([2]);
  });
});

describe('pcapng interface names', () => {
  it(`an if_name longer than ${MAX_IF_NAME_BYTES} bytes is cut there, with a warning`, () => {
    const long = 'x'.repeat(60_000);
    const file = join(shb(LE), idb(LE, 1, 0, [opt(2, long)]), epb(LE, 0, 1_000_000n, DATA, 60));
    const { records, summary } = parseChunked(file);
    expect(records[0].ifName).toBe('x'.repeat(MAX_IF_NAME_BYTES));
    expect(summary.warnings.map((w) => w.message)).toEqual([
      `interface 0's name (if_name) is 60000 bytes long; only its first ${MAX_IF_NAME_BYTES} bytes are kept`,
    ]);
  });

  it('a name of 255 bytes is kept whole', () => {
    const name = 'eth'.padEnd(255, '0');
    const file = join(shb(LE), idb(LE, 1, 0, [opt(2, name)]), epb(LE, 0, 1_000_000n, DATA, 60));
    expect(parseChunked(file).records[0].ifName).toBe(name);
  });
});
