/**
 * replay's text lines fitted to a terminal (report/fit-line.ts): every
 * line within the width, and every packet's number, endpoints, verdict and
 * whole reason words still there, as the wide line (the reference, itself
 * held to its bytes from before fitting existed) has them. Pipes and files
 * keep the wide bytes.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratch } from '../support/scratch.js';
import { sample } from '../support/tier.js';
import { BIN, fwemuIn, has, ROOT } from './run.js';

const ANSI = /\x1b\[[0-9;]*m/g;
const VERDICT = /^(ACCEPT|DROP|REJECT|SKIP)$/;

/** Whether this environment lets a terminal have colours (cli/common.ts useColor). */
const COLOURS = !process.env.NO_COLOR && process.env.TERM !== 'dumb';

/** Characters a terminal shows: colour codes removed, each code point one column. */
const shown = (line: string) => [...line.replace(ANSI, '')].length;

// The tests decide the width themselves: a COLUMNS of the shell running them must not.
const columnsBefore = process.env.COLUMNS;
beforeAll(() => {
  delete process.env.COLUMNS;
});
afterAll(() => {
  if (columnsBefore !== undefined) process.env.COLUMNS = columnsBefore;
});

/** The lines of each packet (from its numbered line to the next), keyed by number; the header and summary left out. */
function packets(stdout: string): Map<number, string[]> {
  const byNumber = new Map<number, string[]>();
  let current: string[] | null = null;
  for (const raw of stdout.replace(ANSI, '').split('\n')) {
    if (raw === '') {
      current = null; // the blank line before the summary
      continue;
    }
    // A packet's number ends in column 6 (or starts the line, when longer); what is continued starts further in.
    const m = /^( *)(\d+) {2}/.exec(raw);
    if (m && (m[1].length + m[2].length === 6 || (m[1] === '' && m[2].length > 6))) {
      current = [raw];
      byNumber.set(Number(m[2]), current);
    } else current?.push(raw);
  }
  return byNumber;
}

/** A packet's words: those before the verdict, the verdict, and the reason's. */
function fields(lines: string[]): { before: string[]; verdict: string; reason: string[] } {
  const words = lines.join(' ').split(/ +/).filter(Boolean);
  const v = words.findIndex((w) => VERDICT.test(w));
  expect(v, lines.join('\n')).toBeGreaterThan(0);
  return { before: words.slice(0, v), verdict: words[v], reason: words.slice(v + 1) };
}

const CAPTURES = readdirSync(join(ROOT, 'fixtures'))
  .filter((f) => /\.pcap(ng)?$/.test(f))
  .map((f) => `fixtures/${f}`);
const CASES: [string, string][] = [
  ...CAPTURES.map((c): [string, string] => ['rules/workstation.yaml', c]),
  ['rules/web-server.yaml', 'fixtures/seed-three-clients.pcap'],
  ['rules/dns-resolver.yaml', 'fixtures/dns-udp.pcap'],
];

describe('replay on a terminal', () => {
  // Every capture at 80 columns; at 120 (the same code, other columns kept), some of them outside the slow tier.
  for (const [width, cases] of [
    [80, CASES],
    [120, sample(CASES, 3)],
  ] as const) {
    it(`fits every line in ${width} columns and keeps each packet's fields`, async () => {
      let compared = 0;
      for (const [rules, capture] of cases) {
        const wide = await fwemuIn(['replay', '-r', rules, capture]);
        const fitted = await fwemuIn(['replay', '-r', rules, capture], { tty: width });
        const where = `${rules} ${capture} at ${width}`;
        expect(fitted.code, where).toBe(wide.code);
        if (COLOURS) expect(fitted.stdout, where).toContain('\x1b['); // a terminal gets colours, as before
        for (const line of fitted.stdout.split('\n'))
          expect(shown(line), `${where}: ${line}`).toBeLessThanOrEqual(width);
        const want = packets(wide.stdout);
        const got = packets(fitted.stdout);
        expect([...got.keys()], where).toEqual([...want.keys()]);
        for (const [n, wideLine] of want) {
          const w = fields(wideLine);
          const f = fields(got.get(n)!);
          expect(f.before[0], `${where} #${n}`).toBe(String(n));
          expect(f.verdict, `${where} #${n}`).toBe(w.verdict);
          expect(f.reason, `${where} #${n}`).toEqual(w.reason);
          // The endpoints whole (after the number and time in the wide line), in order.
          const ends = w.before.slice(2, w.before[3] === '>' ? 5 : 3);
          const at = f.before.indexOf(ends[0]);
          expect(at, `${where} #${n}: ${got.get(n)!.join('\n')}`).toBeGreaterThan(0);
          expect(f.before.slice(at, at + ends.length), `${where} #${n}`).toEqual(ends);
          // Nothing that is not in the wide line's columns.
          for (const word of f.before) expect(w.before, `${where} #${n}`).toContain(word);
          compared++;
        }
      }
      expect(compared).toBeGreaterThan(100);
    });
  }

  it('lays out addresses longer than a column without cutting one, in 60 columns too', async () => {
    const s = scratch('fwemu-width-');
    const a = '2001:db8:aaaa:bbbb:cccc:dddd:eeee:1111';
    const b = '2001:db8:aaaa:bbbb:cccc:dddd:eeee:2222';
    const scenario = s.file(
      'long.yaml',
      `scenario: long IPv6 endpoints\nstart: 2026-01-01T00:00:00Z\nhosts:\n  a: ${a}\n  b: ${b}\n` +
        'steps:\n  - listen: b:65535\n  - connect: a:65000 -> b:65535\n',
    );
    const rules = s.file('r.yaml', 'policy: drop\nrules:\n  - { id: in, proto: tcp, dport: 65535 }\n');
    for (const width of [60, 80]) {
      const r = await fwemuIn(['replay', '-r', rules, scenario], { tty: width });
      expect(r.code, r.stderr).toBe(0);
      for (const line of r.stdout.split('\n')) expect(shown(line), line).toBeLessThanOrEqual(width);
      const first = packets(r.stdout).get(1)!.join('\n');
      expect(first).toContain(`[${a}]:65000 >`);
      expect(first).toContain(`[${b}]:65535`);
    }
  });

  it('takes $COLUMNS over the width the terminal reports, as ls does', async () => {
    process.env.COLUMNS = '80';
    try {
      const r = await fwemuIn(['replay', '-r', 'rules/web-server.yaml', 'fixtures/seed-three-clients.pcap'], {
        tty: 200,
      });
      const widest = Math.max(...r.stdout.split('\n').map(shown));
      expect(widest).toBeLessThanOrEqual(80);
      expect(widest).toBeGreaterThan(70);
    } finally {
      delete process.env.COLUMNS;
    }
  });

  it('gives the same fitted lines on worker threads (--jobs)', async () => {
    const args = ['replay', '-r', 'rules/workstation.yaml', 'fixtures/seed-three-clients.pcap', '--width', '80'];
    const one = await fwemuIn(args);
    const two = await fwemuIn([...args, '-j', '2']);
    expect(two.code).toBe(0);
    expect(two.stdout).toBe(one.stdout);
    expect(one.stdout.split('\n').every((l) => shown(l) <= 80)).toBe(true);
  });
});

describe('replay to a pipe or file', () => {
  // The wide format's own layout (its columns as padStart/padEnd give them)
  // is tested in test/report; here: pipes get it whatever the terminal says,
  // one line per packet, and a terminal gets it when asked.
  const CASES: [string, string][] = [
    ['rules/web-server.yaml', 'fixtures/seed-three-clients.pcap'],
    ['rules/workstation.yaml', 'fixtures/ipv6-http.pcap'],
  ];
  it.each(CASES)('keeps the wide format, one line per packet: %s %s', async (rules, capture) => {
    const piped = await fwemuIn(['replay', '-r', rules, capture]);
    const packets = Number(/^(\d+) packets:/m.exec(piped.stdout)?.[1]);
    expect(packets).toBeGreaterThan(10);
    // The header, one line per packet, a blank line, then the summary.
    const lines = piped.stdout.split('\n');
    expect(lines.slice(1, packets + 1).every((l, i) => new RegExp(`^ +${i + 1} `).test(l))).toBe(true);
    expect(lines[packets + 1]).toBe('');
    // A COLUMNS in the environment is for terminals: a pipe still gets the wide lines.
    process.env.COLUMNS = '80';
    try {
      expect((await fwemuIn(['replay', '-r', rules, capture])).bytes.equals(piped.bytes)).toBe(true);
    } finally {
      delete process.env.COLUMNS;
    }
    // On a terminal, --wide and --width 0 ask for them.
    for (const wide of ['--wide', '--width=0']) {
      const r = await fwemuIn(['replay', '-r', rules, capture, wide, '--color', 'never'], { tty: 80 });
      expect(r.bytes.equals(piped.bytes), wide).toBe(true);
    }
  });

  it('lays out for --width N on a pipe too', async () => {
    const r = await fwemuIn([
      'replay',
      '-r',
      'rules/web-server.yaml',
      'fixtures/seed-three-clients.pcap',
      '--width',
      '100',
    ]);
    const lines = r.stdout.split('\n');
    expect(lines.every((l) => shown(l) <= 100)).toBe(true);
    expect(r.stdout).not.toContain('\x1b['); // colours still follow the terminal, not --width
    expect(lines[1].trim()).toBe('reason'); // the reason's title under the others
  });
});

describe('dump on a terminal', () => {
  it('fits every line in 80 columns, with every word of the wide line in order', async () => {
    let count = 0;
    for (const capture of CAPTURES) {
      const wide = await fwemuIn(['dump', capture]);
      const fitted = await fwemuIn(['dump', capture], { tty: 80 });
      expect(fitted.code, capture).toBe(wide.code);
      for (const line of fitted.stdout.split('\n')) expect(shown(line), `${capture}: ${line}`).toBeLessThanOrEqual(80);
      const want = packets(wide.stdout);
      const got = packets(fitted.stdout);
      expect([...got.keys()], capture).toEqual([...want.keys()]);
      for (const [n, lines] of want) {
        const words = (l: string[]) => l.join(' ').split(/ +/).filter(Boolean);
        expect(words(got.get(n)!), `${capture} #${n}`).toEqual(words(lines));
        count++;
      }
    }
    expect(count).toBeGreaterThan(200);
  });

  it('keeps the wide lines on a pipe, and with --wide', async () => {
    const pipe = await fwemuIn(['dump', 'fixtures/router-two-if.pcapng']);
    const wide = await fwemuIn(['dump', 'fixtures/router-two-if.pcapng', '--wide', '--color', 'never'], { tty: 80 });
    expect(wide.bytes.equals(pipe.bytes)).toBe(true);
    expect(Math.max(...pipe.stdout.split('\n').map(shown))).toBeGreaterThan(80);
  });
});

describe('demo', () => {
  it("shows replay's wide lines on a pipe", async () => {
    const demo = (await fwemuIn(['demo'])).stdout.split('\n');
    const replay = (await fwemuIn(['replay', '-r', 'rules/web-server.yaml', 'fixtures/scenarios/seed.yaml'])).stdout;
    const wide = replay.slice(0, replay.indexOf('\n\n')).split('\n'); // the header and the packet lines
    const from = demo.indexOf(wide[0]);
    expect(from).toBeGreaterThan(0);
    expect(demo.slice(from, from + wide.length)).toEqual(wide);
  });

  it('fits a terminal of 80 columns, but for the table of sockets', async () => {
    const wide = (await fwemuIn(['demo'])).stdout;
    const r = await fwemuIn(['demo'], { tty: 80 });
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n').map((l) => l.replace(ANSI, ''));
    // The sockets table (as `fwemu sockets` prints it): from its heading to the conclusion after it.
    const from = lines.findIndex((l) => l.startsWith('3. '));
    const to = lines.findIndex((l, i) => i > from && l.startsWith('=> '));
    expect(from).toBeGreaterThan(0);
    for (const [i, line] of lines.entries())
      if (i <= from + 1 || i >= to) expect(shown(line), line).toBeLessThanOrEqual(80);
    // The same words, in the same order, as the wide tour (which has the time column and more spaces).
    const words = (text: string) =>
      text
        .replace(ANSI, '')
        .split(/\s+/)
        .filter((w) => !/^\d+\.\d{6}$/.test(w));
    expect(words(r.stdout)).toEqual(words(wide).filter((w) => w !== 'time'));
  });
});

describe('--width and --wide that cannot be', () => {
  it.each([
    [['--width', '30'], 'replay: --width must be 0 (the wide format) or a whole number of columns from 60 up, not 30'],
    [
      ['--width', '80.5'],
      'replay: --width must be 0 (the wide format) or a whole number of columns from 60 up, not 80.5',
    ],
    [
      ['--width', 'x'],
      'replay: --width must be 0 (the wide format) or a whole number of columns from 60 up, not something else',
    ],
    [['--width', '80', '--wide'], 'replay: --wide and --width 80 ask for different widths: give one'],
  ])('%j', async (extra, message) => {
    const r = await fwemuIn(['replay', '-r', 'rules/web-server.yaml', 'fixtures/ping.pcap', ...extra]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`fwemu: ${message}\n`);
  });
});

describe.runIf(has('script') && has('stty'))('replay in a real pseudo-terminal', () => {
  it('finds the terminal and its width (script, stty cols 80)', () => {
    const cmd = `stty cols 80; exec env -u COLUMNS ${process.execPath} ${BIN} replay -r rules/web-server.yaml fixtures/seed-three-clients.pcap`;
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NO_COLOR' && k !== 'COLUMNS'));
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], {
      cwd: ROOT,
      encoding: 'utf8',
      input: '',
      env: { ...env, TERM: 'xterm' },
    });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.replaceAll('\r\n', '\n').split('\n');
    expect(lines.length).toBeGreaterThan(100); // each packet's reason under its line
    for (const line of lines) expect(shown(line), line).toBeLessThanOrEqual(80);
    expect(r.stdout).toContain('\x1b[32mACCEPT\x1b[0m');
    expect(lines[1].replace(ANSI, '').trim()).toBe('reason');
  });
});
