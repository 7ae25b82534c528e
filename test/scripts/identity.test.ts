import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT } from '../cli/run.js';
import { scratch } from '../support/scratch.js';

// scripts/identity.mjs, the before/after byte-identity check of issue 15: the
// record must be deterministic and faithful, and the diff must find and
// locate every kind of difference (tested on hand-made records, where the
// answer is known, rather than on two builds).

const SCRIPT = join(ROOT, 'scripts', 'identity.mjs');
const tmp = scratch('fwemu-identity-test-');

function identity(args: string[]) {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A record directory from { case id: [stdout, stderr, exit] }. */
function makeRecord(name: string, cases: Record<string, [string | Buffer, string, string]>): string {
  const dir = join(tmp.dir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'cases.tsv'),
    Object.keys(cases)
      .map((id) => `${id}\tfwemu ${id.replaceAll('/', ' ')}\n`)
      .join(''),
  );
  for (const [id, [out, err, exit]] of Object.entries(cases)) {
    mkdirSync(join(dir, id, '..'), { recursive: true });
    writeFileSync(join(dir, `${id}.out`), out);
    writeFileSync(join(dir, `${id}.err`), err);
    writeFileSync(join(dir, `${id}.exit`), exit);
  }
  return dir;
}

describe('identity record', () => {
  // A handful of cases (each is a process): replay as text, as jsonl from
  // the file and from stdin, and --version.
  const ONLY = ['--only', '^fixtures/ping\\.pcap/web-server/(replay|replay-jsonl|replay-stdin-jsonl)$|^misc/version$'];

  it('records the same bytes twice, and what the CLI prints', () => {
    const a = join(tmp.dir, 'rec-a');
    const b = join(tmp.dir, 'rec-b');
    const ra = identity(['record', a, ...ONLY]);
    expect(ra.stderr).toMatch(/record: \d+ cases in \d+ s/);
    expect(ra.code).toBe(0);
    expect(identity(['record', b, ...ONLY]).code).toBe(0);

    const manifest = readFileSync(join(a, 'cases.tsv'), 'utf8');
    expect(manifest).toContain(
      'fixtures/ping.pcap/web-server/replay-stdin-jsonl\tfwemu replay --format jsonl -r rules/web-server.yaml - < fixtures/ping.pcap\n',
    );
    const ids = manifest
      .trim()
      .split('\n')
      .map((l) => l.split('\t')[0]);
    expect(ids).toEqual([
      'fixtures/ping.pcap/web-server/replay',
      'fixtures/ping.pcap/web-server/replay-jsonl',
      'fixtures/ping.pcap/web-server/replay-stdin-jsonl',
      'misc/version',
    ]);
    for (const id of ids)
      for (const ext of ['out', 'err', 'exit']) expect(existsSync(join(a, `${id}.${ext}`)), `${id}.${ext}`).toBe(true);

    const same = identity(['diff', a, b]);
    expect(same.stdout).toBe(`identical: ${ids.length} cases, every stdout, stderr and exit status byte for byte\n`);
    expect(same.code).toBe(0);

    // Faithful: the recorded stdout and exit status are what the CLI gives when run by hand.
    const direct = spawnSync(process.execPath, [BIN, 'replay', '-r', 'rules/web-server.yaml', 'fixtures/ping.pcap'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, NO_COLOR: '1' },
    });
    expect(readFileSync(join(a, 'fixtures/ping.pcap/web-server/replay.out'))).toEqual(direct.stdout);
    expect(readFileSync(join(a, 'fixtures/ping.pcap/web-server/replay.exit'), 'utf8')).toBe(`${direct.status}\n`);
    // Stdin carries the capture: the same verdicts as reading the file.
    expect(readFileSync(join(a, 'fixtures/ping.pcap/web-server/replay-stdin-jsonl.out'))).toEqual(
      readFileSync(join(a, 'fixtures/ping.pcap/web-server/replay-jsonl.out')),
    );
  });

  it('will not replace a directory that is not a record', () => {
    const dir = join(tmp.dir, 'precious');
    mkdirSync(dir);
    writeFileSync(join(dir, 'keep.txt'), 'mine');
    const r = identity(['record', dir, '--only', '^misc/version$']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not a record directory');
    expect(readFileSync(join(dir, 'keep.txt'), 'utf8')).toBe('mine');
  });
});

describe('identity diff', () => {
  const base: Record<string, [string | Buffer, string, string]> = {
    'fixtures/x.pcap/web-server/replay': ['line one\nline two ACCEPT\nline three\n', '', '0\n'],
    'fixtures/x.pcap/dump': ['a\nb\n', '', '0\n'],
    'misc/version': ['0.1.0\n', '', '0\n'],
  };

  it('finds no difference between equal records', () => {
    const r = identity(['diff', makeRecord('eq-a', base), makeRecord('eq-b', base)]);
    expect(r.stdout).toBe('identical: 3 cases, every stdout, stderr and exit status byte for byte\n');
    expect(r.code).toBe(0);
  });

  it('names the file, command, line and column of the first differing byte, with both lines', () => {
    const b = makeRecord('ne-b', {
      ...base,
      'fixtures/x.pcap/web-server/replay': ['line one\nline two DROP\nline three\n', '', '0\n'],
      'fixtures/x.pcap/dump': ['a\nb\n', 'warning\n', '1\n'],
    });
    const r = identity(['diff', makeRecord('ne-a', base), b]);
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n');
    const at = lines.indexOf('fixtures/x.pcap/web-server/replay.out    (fwemu fixtures x.pcap web-server replay)');
    expect(at).toBeGreaterThanOrEqual(0);
    // "line two " is 9 bytes, so the difference is at column 10 of line 2, byte 9 + 9.
    expect(lines[at + 1]).toBe('  line 2, column 10 (byte 18; sizes 36 and 34)');
    expect(lines[at + 2]).toMatch(/\| line two ACCEPT$/);
    expect(lines[at + 3]).toMatch(/\| line two DROP$/);
    expect(lines[at + 4].indexOf('^')).toBe(lines[at + 2].indexOf('| ') + 2 + 9);
    // A changed exit status and a new stderr line are differences too.
    expect(r.stdout).toContain('fixtures/x.pcap/dump.exit');
    expect(r.stdout).toMatch(
      /fixtures\/x\.pcap\/dump\.err.*\n.*line 1, column 1 \(byte 0; sizes 0 and 8\)\n.*\| \(ends before this line\)\n.*\| warning\n/,
    );
    expect(r.stdout).toContain('DIFFERENT: 2 of 3 cases (3 files); by kind: dump 1, replay 1\n');
  });

  it('reports a case on one side only, a longer output, and bytes that are not text', () => {
    const b = makeRecord('one-b', {
      ...base,
      'fixtures/x.pcap/dump': [Buffer.from([0x61, 0x0a, 0x62, 0x0a, 0x00, 0xff]), '', '0\n'],
      'misc/help': ['usage\n', '', '0\n'],
    });
    const r = identity(['diff', makeRecord('one-a', base), b]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /fixtures\/x\.pcap\/dump\.out.*\n {2}line 3, column 1 \(byte 4; sizes 4 and 6\)\n.*\| \(ends before this line\)\n.*\| \\x00\\xff {2}\(escaped: not plain text\)\n/,
    );
    expect(r.stdout).toMatch(/misc\/help\.out .*\n {2}only in .*one-b\n/);
  });

  it('refuses what is not a record, with exit status 2', () => {
    const r = identity(['diff', tmp.dir, makeRecord('x', base)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a record directory/);
    expect(identity(['diff', 'only-one']).code).toBe(2);
    expect(identity(['frobnicate']).code).toBe(2);
    expect(identity(['compare', 'no-such-revision-xyz']).stderr).toContain('not a commit');
  });
});
