/**
 * The files fwemu writes (replay --write-accepted/--write-dropped, synth -o,
 * export --split) and its standard output: an input is never overwritten,
 * an output is never half-written where a good file was, "-" is handled
 * cleanly in every slot, and a full disk is exit 74 with one line.
 *
 * The truth here is the file system: inputs hashed before and after each
 * refused run, directory listings (no temporary file left), file modes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLOW } from '../support/tier.js';
import { BIN, fwemu, fwemuIn, has, ROOT, STACK } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'fwemu-outputs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CAP = join(dir, 'c.pcap');
const RULES = join(dir, 'r.yaml');
const SCEN = join(dir, 's.yaml');
/** http-curl.pcap repeated: 2.3 MB per block, every packet accepted by web-server.yaml. */
const BIG = join(dir, 'big.pcap');
let bigRecords: Buffer;
let bigHeader: Buffer;

beforeAll(() => {
  copyFileSync(join(ROOT, 'fixtures/http-curl.pcap'), CAP);
  copyFileSync(join(ROOT, 'rules/web-server.yaml'), RULES);
  copyFileSync(join(ROOT, 'fixtures/scenarios/seed.yaml'), SCEN);
  const cap = readFileSync(CAP);
  bigHeader = cap.subarray(0, 24);
  bigRecords = Buffer.concat(Array<Buffer>(500).fill(cap.subarray(24)));
  writeFileSync(BIG, Buffer.concat([bigHeader, bigRecords]));
});

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Every entry of a directory tree: its kind, link target or content hash (what a refused run must leave as it was). */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) out[p] = `link`;
      else if (st.isDirectory()) walk(p);
      else out[p] = `${st.ino} ${st.mode.toString(8)} ${sha(p)}`;
    }
  };
  walk(root);
  return out;
}

const temps = (d: string) => readdirSync(d).filter((f) => /\.fwemu-\d+-[0-9a-f]+\.tmp$/.test(f));

describe('an output is never an input, nor another output', () => {
  let cases: { name: string; args?: string[]; shell?: string; names: string[] }[];
  beforeAll(() => {
    mkdirSync(join(dir, 'sub'));
    linkSync(CAP, join(dir, 'hard.pcap'));
    symlinkSync('c.pcap', join(dir, 'soft.pcap'));
    symlinkSync('s.yaml', join(dir, 'soft.yaml'));
    symlinkSync('r.yaml', join(dir, 'rules.v4'));
    symlinkSync('two.v6', join(dir, 'two.v4'));
    const viaSub = join(dir, 'sub', '..', 'c.pcap');
    const replay = ['replay', '-r', RULES, '--format', 'none'];
    cases = [];
    for (const jobs of [[], ['--jobs', '2']]) {
      const j = jobs.length ? ' --jobs 2' : '';
      cases.push(
        {
          name: `--write-accepted the capture${j}`,
          args: [...replay, ...jobs, '--write-accepted', CAP, CAP],
          names: [CAP],
        },
        {
          name: `--write-dropped a symlink to the capture${j}`,
          args: [...replay, ...jobs, '--write-dropped', join(dir, 'soft.pcap'), CAP],
          names: ['soft.pcap', CAP],
        },
        {
          name: `--write-accepted a hard link to the capture${j}`,
          args: [...replay, ...jobs, '--write-accepted', join(dir, 'hard.pcap'), CAP],
          names: ['hard.pcap', CAP],
        },
        {
          name: `--write-accepted the capture by another path${j}`,
          args: [...replay, ...jobs, '--write-accepted', viaSub, CAP],
          names: [viaSub, CAP],
        },
        {
          name: `--write-accepted the rule file${j}`,
          args: [...replay, ...jobs, '--write-accepted', RULES, CAP],
          names: [RULES],
        },
        {
          name: `both --write-* one existing file${j}`,
          args: [...replay, ...jobs, '--write-accepted', BIG, '--write-dropped', BIG, CAP],
          names: [BIG],
        },
        {
          name: `both --write-* one new file under two names${j}`,
          args: [
            ...replay,
            ...jobs,
            '--write-accepted',
            join(dir, 'new.pcap'),
            '--write-dropped',
            join(dir, 'sub', '..', 'new.pcap'),
            CAP,
          ],
          names: ['new.pcap', join(dir, 'sub', '..', 'new.pcap')],
        },
        {
          name: `--write-accepted the capture read on stdin${j}`,
          shell: `FWEMU replay -r ${RULES} --format none${j} --write-accepted ${CAP} - < ${CAP}`,
          names: [CAP, 'standard input'],
        },
        {
          name: `the results appended to the capture${j}`,
          shell: `FWEMU replay -r ${RULES}${j} ${CAP} >> ${CAP}`,
          names: [CAP, 'standard output'],
        },
        {
          name: `the results appended to --write-accepted${j}`,
          shell: `FWEMU replay -r ${RULES}${j} --write-accepted ${BIG} ${CAP} >> ${BIG}`,
          names: [BIG, 'standard output'],
        },
      );
    }
    cases.push(
      {
        name: 'replay of a scenario into the scenario',
        args: [...replay, '--write-dropped', SCEN, SCEN],
        names: [SCEN],
      },
      { name: 'synth -o the scenario', args: ['synth', SCEN, '-o', SCEN], names: [SCEN] },
      {
        name: 'synth -o a symlink to the scenario',
        args: ['synth', SCEN, '-o', join(dir, 'soft.yaml')],
        names: ['soft.yaml', SCEN],
      },
      {
        name: 'export --split onto the rule file',
        args: ['export', '--format', 'iptables', '--split', join(dir, 'rules'), RULES],
        names: ['rules.v4', RULES],
      },
      {
        name: 'export --split: PREFIX.v4 and PREFIX.v6 one file',
        args: ['export', '--format', 'iptables', '--split', join(dir, 'two'), RULES],
        names: ['two.v4', 'two.v6'],
      },
    );
  });

  it('each is refused, exit 2, one line naming both; every file as it was, no temporary file', async () => {
    for (const c of cases) {
      const before = snapshot(dir);
      const r = c.shell ? fwemu([], { shell: c.shell }) : await fwemuIn(c.args!);
      expect(r.code, `${c.name}: ${r.stderr}`).toBe(2);
      expect(r.stderr, c.name).toMatch(/^fwemu: refusing to write /);
      expect(r.stderr.trim().split('\n'), c.name).toHaveLength(1);
      for (const n of c.names) expect(r.stderr, c.name).toContain(n);
      expect(r.stderr).not.toMatch(STACK);
      expect(snapshot(dir), c.name).toEqual(before);
    }
  });

  it('the same runs with distinct files succeed (the check is not too eager)', async () => {
    const out = join(dir, 'ok');
    mkdirSync(out);
    const r = await fwemuIn([
      'replay',
      '-r',
      RULES,
      '--format',
      'none',
      '-j',
      '2',
      '--write-accepted',
      join(out, 'a.pcap'),
      '--write-dropped',
      join(out, 'd.pcap'),
      CAP,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect((await fwemuIn(['synth', SCEN, '-q', '-o', join(out, 's.pcap')])).code).toBe(0);
    expect((await fwemuIn(['export', '--format', 'iptables', '--split', join(out, 'rules'), RULES])).code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['a.pcap', 'd.pcap', 'rules.v4', 'rules.v6', 's.pcap']);
    // Two writers of /dev/null are no conflict: it is not a regular file.
    expect(
      (
        await fwemuIn([
          'replay',
          '-r',
          RULES,
          '--format',
          'none',
          '--write-accepted',
          '/dev/null',
          '--write-dropped',
          '/dev/null',
          CAP,
        ])
      ).code,
    ).toBe(0);
  });
});

describe('outputs are replaced only when complete', () => {
  const out = join(dir, 'atomic');
  const target = join(out, 'acc.pcap');
  beforeAll(() => mkdirSync(out));
  const reset = () => {
    for (const f of readdirSync(out)) rmSync(join(out, f));
    writeFileSync(target, 'an earlier result\n');
  };

  it('a write that fails part way (file size limit: EFBIG) leaves the earlier file and no temporary file; exit 74', async () => {
    const runs = [
      `FWEMU replay -r ${RULES} --format none --write-accepted ${target} ${BIG}`,
      `FWEMU replay -r ${RULES} --format none -j 2 --write-accepted ${target} ${BIG}`,
      `FWEMU synth -q ${SCEN} -o ${target}`,
    ];
    for (const cmd of runs) {
      reset();
      // 64 KiB: the first buffers are written, then the file may grow no more. (Node ignores SIGXFSZ, so the write fails.)
      const r = fwemu([], { shell: `ulimit -f ${cmd.includes('synth') ? 8 : 64}; ${cmd}` });
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(74);
      expect(r.stderr).toContain(`cannot write ${target}: file too large`);
      expect(r.stderr).not.toMatch(STACK);
      expect(readFileSync(target, 'utf8')).toBe('an earlier result\n');
      expect(temps(out)).toEqual([]);
    }
  });

  it('a capture error part way (exit 2) leaves the earlier file, on one thread and on two', async () => {
    const cut = join(out, 'cut.pcap');
    for (const jobs of [[], ['-j', '2']]) {
      reset();
      // The big capture, then a record header claiming 4 GB: unreadable from there.
      const bad = Buffer.alloc(16);
      bad.writeUInt32LE(0xffff_fff0, 8);
      bad.writeUInt32LE(0xffff_fff0, 12);
      writeFileSync(cut, Buffer.concat([bigHeader, bigRecords, bad, bigRecords]));
      const r = await fwemuIn(['replay', '-r', RULES, '--format', 'none', ...jobs, '--write-accepted', target, cut]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`--write-accepted ${target}: not written (the run failed`);
      expect(readFileSync(target, 'utf8')).toBe('an earlier result\n');
      expect(temps(out)).toEqual([]);
      rmSync(cut);
    }
  });

  /**
   * A replay reading a capture from a pipe we feed until its output has
   * reached the disk (the temporary file holds bytes), then `signal`.
   */
  async function killMidWrite(
    signal: NodeJS.Signals,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; sawTemp: boolean }> {
    const p = spawn(
      process.execPath,
      [BIN, 'replay', '-r', RULES, '--format', 'none', '--write-accepted', target, '-'],
      { cwd: ROOT, stdio: ['pipe', 'ignore', 'pipe'] },
    );
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.stdin.on('error', () => {}); // (EPIPE once it is gone)
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      p.on('exit', (code, sig) => resolve({ code, signal: sig })),
    );
    let running = true;
    void exited.then(() => (running = false));
    p.stdin.write(bigHeader);
    let sawTemp = false;
    // (Bounded: a build that writes no temporary file must fail here, not hang.)
    for (let sent = 0; running && sent < 100; sent++) {
      const t = temps(out);
      if (t.length === 1 && statSync(join(out, t[0])).size > 0) {
        sawTemp = true;
        p.kill(signal);
        break;
      }
      await new Promise<void>((resolve) => p.stdin.write(bigRecords, () => resolve()));
    }
    if (!sawTemp) p.kill('SIGKILL');
    const end = await exited;
    return { ...end, stderr, sawTemp };
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it.skipIf(!has('tcpdump'))(
      `${signal} mid-write: the run stops and finishes, the file holds every packet judged, whole; then it ends of the signal`,
      async () => {
        reset();
        const r = await killMidWrite(signal);
        expect(r.sawTemp, r.stderr).toBe(true);
        expect(r.signal, r.stderr).toBe(signal);
        expect(temps(out)).toEqual([]);
        // tcpdump reads it to the end: a valid capture, no record cut short.
        // (A large output: spawnSync's 1 MiB default would cut tcpdump off.)
        const td = spawnSync('tcpdump', ['-nr', target], { encoding: 'utf8', maxBuffer: 1 << 28 });
        expect(td.status, td.stderr).toBe(0);
        expect(td.stderr).not.toMatch(/truncated|bogus/i);
        expect(td.stdout.split('\n').filter(Boolean).length).toBeGreaterThan(0);
      },
    );
  }

  it('SIGHUP mid-write: the process dies of it, the earlier file stays, the temporary file is removed', async () => {
    reset();
    const r = await killMidWrite('SIGHUP');
    expect(r.sawTemp, r.stderr).toBe(true);
    expect(r.signal, r.stderr).toBe('SIGHUP');
    expect(readFileSync(target, 'utf8')).toBe('an earlier result\n');
    expect(temps(out)).toEqual([]);
  });

  it('SIGKILL mid-write: the earlier file stays; only the temporary file can remain (nothing can remove it)', async () => {
    reset();
    const r = await killMidWrite('SIGKILL');
    expect(r.sawTemp).toBe(true);
    expect(r.signal).toBe('SIGKILL');
    expect(readFileSync(target, 'utf8')).toBe('an earlier result\n');
    expect(readdirSync(out).filter((f) => f !== 'acc.pcap')).toEqual(temps(out));
  });

  it('a replaced file keeps its mode; a new one gets the umask; a symlink stays a link to the new file', async () => {
    reset();
    chmodSync(target, 0o640);
    expect((await fwemuIn(['replay', '-r', RULES, '--format', 'none', '--write-accepted', target, CAP])).code).toBe(0);
    expect(statSync(target).mode & 0o777).toBe(0o640);
    expect(readFileSync(target).subarray(0, 4).readUInt32LE(0)).toBe(0xa1b23c4d);

    const fresh = join(out, 'fresh.pcap');
    expect(fwemu([], { shell: `umask 027; FWEMU synth -q ${SCEN} -o ${fresh}` }).code).toBe(0);
    expect(statSync(fresh).mode & 0o777).toBe(0o640);

    const link = join(out, 'link.pcap');
    symlinkSync('acc.pcap', link);
    expect((await fwemuIn(['synth', '-q', SCEN, '-o', link])).code).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(sha(target)).toBe(sha(fresh));
    expect(temps(out)).toEqual([]);
  });

  it('two runs writing one file at once: it ends as one run wrote it, whole (never a mix)', async () => {
    for (const f of readdirSync(out)) rmSync(join(out, f));
    const wantBig = join(out, 'big.want');
    expect((await fwemuIn(['replay', '-r', RULES, '--format', 'none', '--write-accepted', wantBig, BIG])).code).toBe(0);
    // Run A reads the big capture from a pipe; once it has written part of
    // its output, run B writes the file from start to end; then A finishes.
    const a = spawn(
      process.execPath,
      [BIN, 'replay', '-r', RULES, '--format', 'none', '--write-accepted', target, '-'],
      { cwd: ROOT, stdio: ['pipe', 'ignore', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => a.on('exit', (code) => resolve(code)));
    a.stderr.resume();
    const writtenByA = () =>
      [...temps(out), 'acc.pcap'].some((f) => existsSync(join(out, f)) && statSync(join(out, f)).size > 0);
    await new Promise<void>((resolve) => a.stdin.write(bigHeader, () => resolve()));
    let at = 0;
    const step = 1 << 20;
    for (; at < bigRecords.length && !writtenByA(); at += step) {
      await new Promise<void>((resolve) => a.stdin.write(bigRecords.subarray(at, at + step), () => resolve()));
      await new Promise<void>((resolve) => setTimeout(resolve, 20));
    }
    expect(writtenByA()).toBe(true);
    const b = await fwemuIn(['replay', '-r', RULES, '--format', 'none', '--write-accepted', target, CAP]);
    expect(b.code, b.stderr).toBe(0);
    a.stdin.end(bigRecords.subarray(at));
    expect(await exited).toBe(0);
    expect(sha(target)).toBe(sha(wantBig));
    expect(temps(out)).toEqual([]);
  });

  describe('permissions (as nobody when the tests run as root, who may write anything)', () => {
    const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const perm = join(dir, 'perm');
    const run = (args: string[]) => {
      const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', ...asUser });
      return { code: r.status, stderr: r.stderr };
    };
    beforeAll(() => {
      chmodSync(dir, 0o755);
      mkdirSync(perm);
      chmodSync(perm, 0o777);
    });

    it('a file we may not write is not replaced (as a redirection would refuse it, though rename could)', async () => {
      const ro = join(perm, 'ro.pcap');
      writeFileSync(ro, 'read-only\n');
      chmodSync(ro, 0o444);
      const r = run(['synth', '-q', SCEN, '-o', ro]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toBe(`fwemu: cannot write ${ro}: permission denied\n`);
      expect(readFileSync(ro, 'utf8')).toBe('read-only\n');
      expect(temps(perm)).toEqual([]);
    });

    it('a directory we may not write: said before the replay, naming the directory', async () => {
      const locked = join(perm, 'locked');
      mkdirSync(locked);
      writeFileSync(join(locked, 'acc.pcap'), 'earlier\n');
      chmodSync(join(locked, 'acc.pcap'), 0o666);
      chmodSync(locked, 0o555);
      const r = run(['replay', '-r', RULES, '--write-accepted', join(locked, 'acc.pcap'), BIG]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toBe(
        `fwemu: cannot write ${join(locked, 'acc.pcap')}: permission denied in ${locked} (fwemu writes a temporary file there and renames it over acc.pcap, so the directory must be writable)\n`,
      );
      expect(readFileSync(join(locked, 'acc.pcap'), 'utf8')).toBe('earlier\n');
    });

    it('a directory that turns unwritable before the end: the file is left as it was (the temporary file cannot be removed there)', async () => {
      const d = join(perm, 'turns');
      mkdirSync(d);
      chmodSync(d, 0o777);
      const t = join(d, 'acc.pcap');
      writeFileSync(t, 'earlier\n');
      chmodSync(t, 0o666);
      const p = spawn(process.execPath, [BIN, 'replay', '-r', RULES, '--format', 'none', '--write-accepted', t, '-'], {
        cwd: ROOT,
        stdio: ['pipe', 'ignore', 'pipe'],
        ...asUser,
      });
      let stderr = '';
      p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
      await new Promise<void>((resolve) => p.stdin.write(bigHeader, () => resolve()));
      for (let i = 0; i < 100 && temps(d).length === 0; i++)
        await new Promise<void>((resolve) => setTimeout(resolve, 20));
      expect(temps(d)).toHaveLength(1);
      chmodSync(d, 0o555);
      p.stdin.end(bigRecords);
      expect(await exited, stderr).toBe(2);
      expect(stderr).toContain(`fwemu: cannot replace ${t}: permission denied (it is left as it was)`);
      expect(readFileSync(t, 'utf8')).toBe('earlier\n');
      chmodSync(d, 0o777);
    });
  });

  it('export --split replaces both files or neither', async () => {
    reset();
    const prefix = join(out, 'rules');
    writeFileSync(`${prefix}.v4`, 'old v4\n');
    mkdirSync(`${prefix}.v6`); // the second cannot be written
    const r = await fwemuIn(['export', '--format', 'iptables', '--split', prefix, RULES]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot write ${prefix}.v6: it is a directory`);
    expect(readFileSync(`${prefix}.v4`, 'utf8')).toBe('old v4\n');
    expect(temps(out)).toEqual([]);
    rmSync(`${prefix}.v6`, { recursive: true });
  });
});

describe('"-" for outputs, and the stdin marker', () => {
  it('--write-accepted/--write-dropped - write the capture to stdout with --format none (summary on stderr), as to a file', async () => {
    for (const jobs of [[], ['-j', '2']]) {
      // (Every packet is accepted: --write-dropped writes the empty capture, from the small one.)
      for (const [opt, input, summary] of [
        ['--write-accepted', BIG, /^8000 packets: 8000 accepted/],
        ['--write-dropped', CAP, /^16 packets: 16 accepted/],
      ] as const) {
        const file = join(dir, `dash${jobs.length}${opt}.pcap`);
        const viaFile = await fwemuIn(['replay', '-r', RULES, '--format', 'none', ...jobs, opt, file, input]);
        expect(viaFile.code, viaFile.stderr).toBe(0);
        const viaStdout = await fwemuIn(['replay', '-r', RULES, '--format', 'none', ...jobs, opt, '-', input]);
        expect(viaStdout.code, viaStdout.stderr).toBe(0);
        expect(viaStdout.bytes.equals(readFileSync(file))).toBe(true);
        expect(viaStdout.stderr).toMatch(summary);
        // The summary went to stdout in the file case: it is what went to stderr here, before the
        // warnings both runs print on stderr (this capture's clock steps back).
        expect(viaFile.stdout + viaFile.stderr).toBe(viaStdout.stderr);
      }
    }
  });

  it('--write-* - where stdout carries lines, or twice: exit 2 saying why', async () => {
    const a = await fwemuIn(['replay', '-r', RULES, '--write-accepted', '-', CAP]);
    expect(a.code).toBe(2);
    expect(a.stderr).toBe(
      'fwemu: replay: --write-accepted -: standard output carries the packet lines; add --format none to write the capture there (the summary then goes to stderr), or name a file\n',
    );
    const b = await fwemuIn([
      'replay',
      '-r',
      RULES,
      '-f',
      'none',
      '--write-accepted',
      '-',
      '--write-dropped',
      '-',
      CAP,
    ]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/standard output can carry one capture/);
  });

  it('synth -o - writes to stdout what -o FILE writes', async () => {
    const file = join(dir, 'synth-dash.pcap');
    expect((await fwemuIn(['synth', '-q', SCEN, '-o', file])).code).toBe(0);
    const r = await fwemuIn(['synth', '-q', SCEN, '-o', '-']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.bytes.equals(readFileSync(file))).toBe(true);
  });

  it('export --split - is refused with a reason', async () => {
    const r = await fwemuIn(['export', '--format', 'iptables', '--split', '-', RULES]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /--split writes two files, PREFIX\.v4 and PREFIX\.v6, so it takes a file name prefix, not -/,
    );
  });

  it('"-" in every slot of every command: never the marker, a NUL or a stack in a message, never exit 70', async () => {
    const slots: string[][] = [
      ['dump', '-'],
      ['dump', CAP, '--time', '-'],
      ['dump', CAP, '--format', '-'],
      ['replay', '-r', '-', CAP],
      ['replay', '-r', RULES, '-'],
      ['replay', '-r', '-', '-'],
      ['replay', '-r', RULES, CAP, '-'],
      ['replay', '-r', RULES, CAP, '--time', '-'],
      ['replay', '-r', RULES, CAP, '--jobs', '-'],
      ['replay', '-r', RULES, CAP, '--format', '-'],
      ['replay', '-r', RULES, CAP, '--write-accepted', '-'],
      ['replay', '-r', RULES, '-j', '2', CAP, '--write-dropped', '-'],
      ['conntrack', '-r', '-', CAP],
      ['conntrack', '-r', RULES, '-'],
      ['conntrack', '-r', RULES, CAP, '--at', '-'],
      ['conntrack', '-r', RULES, '-', '--at', '99'],
      ['check', '-'],
      ['check', RULES, '-'],
      ['export', '-'],
      ['export', RULES, '--table', '-'],
      ['export', RULES, '--format', '-'],
      ['export', RULES, '--split', '-'],
      ['export', RULES, '--format', 'iptables', '--split', '-'],
      ['synth', '-'],
      ['synth', '-', '-o', join(dir, 'never.pcap')],
      ['synth', SCEN, '--format', '-'],
      ['synth', SCEN, '-o', '-', '-q'],
      ['sockets', '-'],
      ['sockets', CAP, '--format', '-'],
      ['test', '-'],
      ['test', 'fixtures', '-'],
      ['demo', '-'],
      ['-'],
      ['--color', '-', 'dump', CAP],
    ];
    // (In this process, "-" reading the capture's bytes; a real standard input is cli.test's and bounds.test's.)
    for (const args of slots) {
      const r = await fwemuIn(args, { input: readFileSync(CAP) });
      const what = `fwemu ${args.join(' ')}: ${r.stderr}`;
      expect(r.code, what).not.toBe(70);
      expect(r.stderr.includes('\u0000'), what).toBe(false);
      expect(r.stderr, what).not.toMatch(/\\u0000|stdin'|internal error/);
      expect(r.stderr, what).not.toMatch(STACK);
      expect(r.stdout.includes('\u0000stdin'), what).toBe(false);
      // Text results hold no NUL at all (captures, from synth -o -, do).
      if (!args.includes('synth')) expect(r.bytes.includes(0), what).toBe(false);
    }
    expect(existsSync(join(dir, 'never.pcap'))).toBe(false);
  });
});

describe('standard output on a full disk: exit 74, one line', () => {
  const runs = [
    `dump ${CAP}`,
    `dump --format jsonl ${CAP}`,
    `replay -r ${RULES} ${BIG}`,
    `replay -r ${RULES} -f jsonl ${BIG}`,
    `replay -r ${RULES} -f jsonl -j 2 ${BIG}`,
    `replay -r ${RULES} -f none ${CAP}`,
    `replay -r ${RULES} -f none --write-accepted - ${CAP}`,
    `conntrack -r ${RULES} ${CAP}`,
    `conntrack -E -r ${RULES} ${CAP}`,
    `sockets ${CAP}`,
    `check ${RULES}`,
    `export ${RULES}`,
    `export --format iptables ${RULES}`,
    `synth -q ${SCEN}`,
    `synth -q ${SCEN} -o -`,
    `test fixtures/http-curl.expect.yaml`,
  ];
  // Each command's way to standard output once in the fast tier (the
  // process's own stdout, so each is a process of its own); all in the slow one.
  const fast = new Set([
    `dump --format jsonl ${CAP}`,
    `replay -r ${RULES} ${BIG}`,
    `replay -r ${RULES} -f jsonl -j 2 ${BIG}`,
    `replay -r ${RULES} -f none --write-accepted - ${CAP}`,
    `conntrack -E -r ${RULES} ${CAP}`,
    `sockets ${CAP}`,
    `check ${RULES}`,
    `export --format iptables ${RULES}`,
    `synth -q ${SCEN} -o -`,
    `test fixtures/http-curl.expect.yaml`,
  ]);
  for (const cmd of runs.filter((c) => SLOW || fast.has(c))) {
    it(cmd.replaceAll(dir, '…'), async () => {
      const r = fwemu([], { shell: `FWEMU ${cmd} > /dev/full` });
      expect(r.code, r.stderr).toBe(74);
      expect(r.stderr).toContain('fwemu: cannot write results to standard output: no space left on device\n');
      expect(r.stderr).not.toMatch(STACK);
      expect(r.stderr).not.toMatch(/internal error/);
    });
  }

  it('a file size limit on stdout is exit 74 too; a reader that goes away is not an error', async () => {
    const r = fwemu([], { shell: `ulimit -f 16; FWEMU replay -r ${RULES} ${BIG} > ${join(dir, 'lines.txt')}` });
    expect(r.code, r.stderr).toBe(74);
    expect(r.stderr).toBe('fwemu: cannot write results to standard output: file too large\n');
    const p = fwemu([], { shell: `FWEMU replay -r ${RULES} ${BIG} | head -c 100 > /dev/null` });
    expect(p.code, p.stderr).toBe(0);
    expect(p.stderr).toBe('');
  });
});
