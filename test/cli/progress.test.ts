import { describe, expect, it } from 'vitest';
import { Progress, progressText, wantProgress } from '../../src/run/progress.js';
import { fwemuIn } from './run.js';

describe('progress line', () => {
  it('says packets, share of the file, rate and time left', () => {
    // 1.5M packets in 3 s = 500k/s; 40% of 2.5 GB read in 3 s leaves 60% = 4.5 s, shown as 5 s.
    expect(progressText('replaying x.pcap', 1_500_000, 1e9, 2.5e9, 3)).toBe(
      'replaying x.pcap: 1.50M packets (40% of 2.5 GB), 500k/s, ~5 s left',
    );
    // 200 MB at 10% after 60 s: 540 s left = 9 min 0 s.
    expect(progressText('r', 65_536, 20e6, 200e6, 60)).toBe('r: 66k packets (10% of 200 MB), 1092/s, ~9 min 0 s left');
    expect(progressText('r', 1e6, 5e8, 1e9, 7200)).toBe('r: 1.00M packets (50% of 1.0 GB), 139/s, ~2 h 0 min left');
    // No size (stdin, a scenario): packets and rate only.
    expect(progressText('replaying <stdin>', 131_072, 0, 0, 2)).toBe('replaying <stdin>: 131k packets, 66k/s');
  });

  it('draws after the first second, at most four times a second, every 65536 packets at the earliest, and erases itself', () => {
    const written: string[] = [];
    let now = 0;
    const p = new Progress('r', 0, { write: (s: string) => written.push(s) }, () => now);
    for (let i = 0; i < 65_536; i++) p.tick(0);
    expect(written).toEqual([]); // 65536 packets, but still at 0 ms
    now = 1000;
    for (let i = 0; i < 65_535; i++) p.tick(0);
    expect(written).toEqual([]); // the clock is read only at each 65536th packet
    p.tick(0);
    expect(written).toEqual(['\rr: 131k packets, 131k/s\x1b[K']);
    now = 1200;
    for (let i = 0; i < 65_536; i++) p.tick(0);
    expect(written).toHaveLength(1); // 200 ms after the last draw: not yet
    now = 1250;
    for (let i = 0; i < 65_536; i++) p.tick(0);
    // 262144 packets in 1.25 s: 209715 per second.
    expect(written).toEqual(['\rr: 131k packets, 131k/s\x1b[K', '\rr: 262k packets, 210k/s\x1b[K']);
    p.clear();
    expect(written[2]).toBe('\r\x1b[K');
    p.clear();
    expect(written).toHaveLength(3); // nothing drawn since: nothing to erase
  });

  it('a short run that never drew erases nothing', () => {
    const written: string[] = [];
    const p = new Progress('r', 100, { write: (s: string) => written.push(s) }, () => 0);
    for (let i = 0; i < 1000; i++) p.tick(i);
    p.clear();
    expect(written).toEqual([]);
  });

  it('is on by default only where it cannot land among the results', () => {
    // (asked, per-packet output, stderr a terminal, stdout a file or /dev/null)
    expect(wantProgress(undefined, true, true, true)).toBe(true); // results to a file
    expect(wantProgress(undefined, true, true, false)).toBe(false); // results to the screen, or a pipe (| less)
    expect(wantProgress(undefined, false, true, false)).toBe(true); // --format none: summary only, after the line is erased
    expect(wantProgress(undefined, false, false, true)).toBe(false); // stderr not a terminal
    expect(wantProgress(true, true, false, false)).toBe(true);
    expect(wantProgress(false, false, true, true)).toBe(false);
  });

  it('keeps to one row of the terminal (a wrapped line cannot be redrawn in place)', () => {
    const written: string[] = [];
    let now = 0;
    const p = new Progress(
      'replaying a/rather/long/path/to/a/capture.pcapng',
      0,
      { write: (s: string) => written.push(s), columns: 40 },
      () => now,
    );
    now = 2000;
    for (let i = 0; i < 65_536; i++) p.tick(0);
    // 65536 packets in 2 s: "...: 66k packets, 33k/s", cut to 39 columns.
    expect(written).toEqual([
      `\r${'replaying a/rather/long/path/to/a/capture.pcapng: 66k packets, 33k/s'.slice(0, 39)}\x1b[K`,
    ]);
  });

  it('replay and conntrack take --progress and --no-progress, and a capture shorter than 65536 packets draws nothing', async () => {
    const cap = 'fixtures/seed-three-clients.pcap';
    for (const cmd of [
      ['replay', '-r', 'rules/web-server.yaml', cap],
      ['conntrack', '-r', 'rules/web-server.yaml', cap],
    ]) {
      const plain = await fwemuIn(cmd);
      expect(plain.code, plain.stderr).toBe(0);
      for (const flag of ['--progress', '--no-progress']) {
        const r = await fwemuIn([...cmd, flag]);
        expect([r.code, r.stdout, r.stderr], `${cmd[0]} ${flag}`).toEqual([0, plain.stdout, plain.stderr]);
      }
    }
  });
});
