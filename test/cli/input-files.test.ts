/**
 * An input that cannot be read is named in one wording, whatever its kind
 * and whichever command reads it: "FILE: cannot read KIND: WHY", one line,
 * no position (there is none before a byte is read), exit 2.
 */
import { chmodSync, closeSync, mkdirSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratch } from '../support/scratch.js';
import { fwemuIn } from './run.js';

const RULES = 'rules/web-server.yaml';
const CAPTURE = 'fixtures/ping.pcap';
const DIRECTORY = 'it is a directory (give a file; fwemu check and fwemu test take directories)';

const s = scratch('fwemu-inputs-');
const aFile = s.file('a-file', 'not a directory\n');

/** The ways a path fails to be a readable file, each as made for a file name. */
const WAYS: Record<string, { why: string; make: (name: string) => string | null }> = {
  missing: { why: 'no such file', make: (name) => join(s.dir, 'missing', name) },
  directory: {
    why: DIRECTORY,
    make: (name) => {
      const p = join(s.dir, 'dirs', name);
      mkdirSync(p, { recursive: true });
      return p;
    },
  },
  'under a file': { why: 'a part of the path is not a directory', make: (name) => join(aFile, name) },
  unreadable: { why: 'permission denied', make: unreadableFile },
};

/**
 * A file that open() refuses with EACCES. chmod 000 does it for a user;
 * root reads any mode, but not a sysctl that may only be written
 * (/proc/sys/vm/drop_caches, mode 0200, refused even to root), reached
 * here through a link of the wanted name. Null where neither works.
 */
function unreadableFile(name: string): string | null {
  const p = join(s.dir, 'unreadable', name);
  mkdirSync(join(s.dir, 'unreadable'), { recursive: true });
  rmSync(p, { force: true });
  writeFileSync(p, 'rules: []\n');
  chmodSync(p, 0o000);
  if (refused(p)) return p;
  rmSync(p, { force: true });
  symlinkSync('/proc/sys/vm/drop_caches', p);
  return refused(p) ? p : null;
}

function refused(p: string): boolean {
  try {
    closeSync(openSync(p, 'r'));
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EACCES';
  }
}

/** A command line reading one input of a kind, given the path in its place; the name the path gets. */
interface Reader {
  kind: string;
  name: string;
  args: (path: string) => string[];
}

const READERS: Reader[] = [
  { kind: 'rule file', name: 'r.yaml', args: (p) => ['replay', '-r', p, CAPTURE] },
  { kind: 'rule file', name: 'r.yaml', args: (p) => ['export', p] },
  { kind: 'rule file', name: 'r.yaml', args: (p) => ['conntrack', '-r', p, CAPTURE] },
  { kind: 'rule file', name: 'r.yaml', args: (p) => ['check', p] },
  { kind: 'capture file', name: 'c.pcap', args: (p) => ['replay', '-r', RULES, p] },
  { kind: 'capture file', name: 'c.pcap', args: (p) => ['replay', '-j', '2', '-r', RULES, p] },
  { kind: 'capture file', name: 'c.pcap', args: (p) => ['dump', p] },
  { kind: 'capture file', name: 'c.pcap', args: (p) => ['conntrack', '-r', RULES, p] },
  { kind: 'capture file', name: 'c.pcap', args: (p) => ['sockets', p] },
  { kind: 'scenario file', name: 's.yaml', args: (p) => ['replay', '-r', RULES, p] },
  { kind: 'scenario file', name: 's.yaml', args: (p) => ['synth', p, '-o', join(s.dir, 'out.pcap')] },
  { kind: 'scenario file', name: 's.yaml', args: (p) => ['dump', p] },
  { kind: 'policy test file', name: 't.expect.yaml', args: (p) => ['test', p] },
];

/** check and test take directories (the files below them): a directory is no error of this kind there. */
const takesDirectories = (args: string[]) => args[0] === 'check' || args[0] === 'test';

describe('an input that cannot be read', () => {
  for (const [way, { why, make }] of Object.entries(WAYS)) {
    for (const reader of READERS) {
      const shown = reader.args('FILE').join(' ');
      if (way === 'directory' && takesDirectories(reader.args('FILE'))) continue;
      it(`${way}: fwemu ${shown}`, async (ctx) => {
        const path = make(reader.name);
        if (path === null) ctx.skip('no way to make a file this process cannot open (not root, no /proc/sys)');
        const r = await fwemuIn(reader.args(path!));
        const line = `${path}: cannot read ${reader.kind}: ${why}`;
        expect(r.code, r.stderr).toBe(2);
        if (reader.args(path!)[0] === 'test' && way === 'unreadable') {
          // A test file that is there but cannot be read is one that could not run; the others still run.
          expect(r.stdout).toContain(`\n  ${line}\n`);
          expect(r.stderr).toBe('');
        } else expect(r.stderr).toBe(`fwemu: ${line}\n`);
      });
    }
  }

  it("a policy test's rule file, named as every rule file is", async () => {
    const t = s.file('ref.expect.yaml', 'rules: nowhere/r.yaml\nexpect:\n  - packet: 1\n    verdict: accept\n');
    s.file('ref.pcap', Buffer.alloc(0));
    const r = await fwemuIn(['test', t]);
    expect(r.code).toBe(2);
    // (named as the command line would reach it: relative to the current directory)
    const rules = relative(process.cwd(), join(s.dir, 'nowhere/r.yaml'));
    expect(r.stdout).toContain(`\n  ${rules}: cannot read rule file: no such file\n`);
  });

  it("a policy test's named capture, named as every capture is", async () => {
    const t = s.file(
      'cap.expect.yaml',
      `rules: ${join(process.cwd(), RULES)}\ncapture: nowhere.pcap\nexpect:\n  - packet: 1\n    verdict: accept\n`,
    );
    const r = await fwemuIn(['test', t]);
    expect(r.code).toBe(2);
    const capture = relative(process.cwd(), join(s.dir, 'nowhere.pcap'));
    expect(r.stdout).toContain(`\n  ${capture}: cannot read capture file: no such file\n`);
  });

  it('check goes on to the files after one it cannot read, and exits 2', async (ctx) => {
    const path = unreadableFile('second.yaml');
    if (path === null) ctx.skip('no way to make a file this process cannot open (not root, no /proc/sys)');
    const alone = await fwemuIn(['check', RULES]);
    const r = await fwemuIn(['check', path!, RULES]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`fwemu: ${path}: cannot read rule file: permission denied\n`);
    expect(r.stdout).toBe(alone.stdout);
  });
});
