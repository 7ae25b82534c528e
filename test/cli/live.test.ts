/**
 * Live input: `tcpdump -U -w - | fwemu replay -r R -` must show each
 * packet's line as soon as the packet is judged, not once 64 KiB of lines
 * have built up. A writer feeds fwemu's standard input one pcap record at a
 * time and writes the next only after the line of the last one has come out:
 * buffered output never comes, and the test fails at its deadline (a hang
 * guard far above any machine's speed, not a speed requirement).
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, has, ROOT } from './run.js';

const CAP = `${ROOT}/fixtures/seed-three-clients.pcap`;

/** The file's global header and each record (header and data), as tcpdump -U writes them one by one. */
function records(path: string): { header: Buffer; records: Buffer[] } {
  const b = readFileSync(path);
  const out: Buffer[] = [];
  for (let off = 24; off + 16 <= b.length; ) {
    const caplen = b.readUInt32LE(off + 8);
    out.push(b.subarray(off, off + 16 + caplen));
    off += 16 + caplen;
  }
  return { header: b.subarray(0, 24), records: out };
}

/** Resolves once stdout so far satisfies `done`; rejects if the process ends first or the guard runs out. */
function until(child: ChildProcessWithoutNullStreams, out: { text: string }, done: (s: string) => boolean) {
  return new Promise<void>((resolve, reject) => {
    if (done(out.text)) return resolve();
    const guard = setTimeout(() => finish(new Error(`no such output after 60 s; so far:\n${out.text}`)), 60_000);
    const look = () => {
      if (done(out.text)) finish();
    };
    const ended = () => finish(new Error(`fwemu exited first; output:\n${out.text}`));
    function finish(err?: Error) {
      clearTimeout(guard);
      child.stdout.off('data', look);
      child.off('exit', ended);
      if (err) reject(err);
      else resolve();
    }
    child.stdout.on('data', look);
    child.on('exit', ended);
  });
}

async function feed(
  args: string[],
  lineOf: (n: number) => RegExp,
  total: number,
  signal: NodeJS.Signals | null = null,
  fifo: string | null = null,
): Promise<{ text: string; signal: NodeJS.Signals | null; stderr: string }> {
  const { header, records: recs } = records(CAP);
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
  const out = { text: '' };
  child.stdout.on('data', (d: Buffer) => {
    out.text += d.toString();
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  // The capture goes to fwemu's standard input, or into a FIFO it reads (`mkfifo p; tcpdump -U -w p`).
  const sink: Writable = fifo === null ? child.stdin : createWriteStream(fifo);
  sink.write(header);
  for (let i = 0; i < total; i++) {
    sink.write(recs[i]);
    await until(child, out, (s) => lineOf(i + 1).test(s));
  }
  // With a signal the writer stays silent, as tcpdump does between packets: the signal alone must end the run.
  if (signal) child.kill(signal);
  else sink.end();
  const end = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, sig) => resolve({ code, signal: sig })),
  );
  if (signal) expect(end.signal, err).toBe(signal);
  else expect(end.code, err).toBe(0);
  return { text: out.text, signal: end.signal, stderr: err };
}

describe('live input on standard input', () => {
  it('replay -: each packet line comes out before the next packet is written', async () => {
    const { text } = await feed(['replay', '-r', 'rules/web-server.yaml', '-'], (n) => new RegExp(`^ +${n} `, 'm'), 8);
    expect(text).toMatch(/^ +8 .* ACCEPT /m);
  }, 600_000);

  it('replay --jobs 3 on a FIFO: each line as its packet comes, judged by the threads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fwemu-live-'));
    try {
      const fifo = join(dir, 'live.fifo');
      expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
      const { text, stderr } = await feed(
        ['replay', '-r', 'rules/web-server.yaml', '--jobs', '3', '-v', fifo],
        (n) => new RegExp(`^ +${n} `, 'm'),
        48, // all of it: its two address pairs go to two of the three threads
        null,
        fifo,
      );
      expect(text).toMatch(/^48 packets: /m);
      // (-v logs how many packets each thread judged: more than one thread did.)
      const byThread = /"packetsByThread":\[([\d,]+)\]/.exec(stderr);
      expect(byThread, stderr).not.toBeNull();
      expect(byThread![1].split(',').filter((n) => n !== '0').length).toBeGreaterThan(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 600_000);

  it('dump -: the same', async () => {
    await feed(['dump', '-'], (n) => new RegExp(`^ +${n} `, 'm'), 8);
  }, 600_000);

  it('conntrack -E -: each event comes out before the next packet is written', async () => {
    // The first packet makes the [NEW] event of the first connection, the third its ESTABLISHED update.
    const { text } = await feed(
      ['conntrack', '-E', '-r', 'rules/web-server.yaml', '-'],
      (n) => new RegExp(`# packet ${n === 2 ? 1 : n}\\b`),
      3,
    );
    expect(text).toMatch(/\[NEW\] .*# packet 1/);
  }, 600_000);

  it.each(['SIGINT', 'SIGTERM'] as const)(
    'replay - stopped by %s: the lines so far, the summary, a whole written capture; then it ends of the signal',
    async (signal) => {
      const dir = mkdtempSync(join(tmpdir(), 'fwemu-live-'));
      try {
        const written = join(dir, 'accepted.pcap');
        const { text } = await feed(
          ['replay', '-r', 'rules/web-server.yaml', '-', '--write-accepted', written],
          (n) => new RegExp(`^ +${n} `, 'm'),
          5,
          signal,
        );
        expect(text).toMatch(/^ +5 .* ACCEPT /m);
        expect(text).toMatch(/^5 packets: 5 accepted, 0 dropped/m);
        if (has('tcpdump')) {
          const td = spawnSync('tcpdump', ['-nr', written], { encoding: 'utf8' });
          expect(td.status, td.stderr).toBe(0);
          expect(td.stdout.split('\n').filter(Boolean)).toHaveLength(5);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    600_000,
  );

  it('replay -l on a file writes each line by itself, the same lines as batched output (one write)', async () => {
    // main() in this process, with a stdout that counts its writes.
    const { main } = (await import(`${ROOT}/dist/cli/main.js`)) as {
      main: (argv: string[], io: unknown) => Promise<number>;
    };
    const run = async (flag: string) => {
      const writes: string[] = [];
      const stdout = new Writable({
        write(chunk: Buffer, _enc, done) {
          writes.push(chunk.toString());
          done();
        },
      });
      const code = await main(['replay', '-r', 'rules/web-server.yaml', CAP, flag], { stdout, stderr: { write() {} } });
      expect(code).toBe(0);
      return writes;
    };
    const perLine = await run('-l');
    const batched = await run('--no-line-buffered');
    expect(perLine.join('')).toBe(batched.join(''));
    const lines = batched.join('').split('\n').length - 1;
    expect(lines).toBeGreaterThan(48);
    expect(batched).toHaveLength(1);
    expect(perLine).toHaveLength(lines);
    for (const w of perLine) expect(w.endsWith('\n') && w.indexOf('\n') === w.length - 1, JSON.stringify(w)).toBe(true);
  });
});
