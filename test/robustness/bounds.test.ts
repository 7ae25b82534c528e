/**
 * Resource bounds on the YAML inputs, through the CLI: files whose size
 * stat() cannot tell (/dev/zero, a FIFO, a process substitution, standard
 * input) are refused once the limit is read, not read forever; '-' reads a
 * rule file, scenario or policy test from standard input; a rule file of
 * 150k rules loads (it overflowed the stack: exit 70; the fast tier loads
 * 20k on a tenth of the stack); YAML nested past the limit is a positioned
 * error, not "Maximum call stack size exceeded";
 * --jobs beyond a few per core is lowered, with a warning.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_YAML_DEPTH } from '../../src/base/yaml-nodes.js';
import { BIN, fwemu, fwemuIn, STACK, type Run } from '../cli/run.js';
import { SLOW, tier } from '../support/tier.js';

const dir = mkdtempSync(join(tmpdir(), 'fwemu-bounds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** A refusal: the exit code, no stack trace, no internal error, and each expected text. */
function refused(r: Run, code: number, ...texts: string[]): void {
  expect(r.code, r.stdout + r.stderr).toBe(code);
  expect(r.stderr + r.stdout).not.toMatch(STACK);
  expect(r.stderr + r.stdout).not.toMatch(/internal error|\u0000/);
  for (const t of texts) expect(r.stderr + r.stdout).toContain(t);
}

const CAPTURE = 'fixtures/http-curl.pcap';
const RULES = 'policy: drop\nrules:\n  - { id: web, proto: tcp, dport: 8080 }\n';
const LIMIT =
  'file is larger than 1048576 bytes (reading stopped there); rule files are limited to 1048576 bytes (1 MiB)';
/** Every shell command is cut off after this long: the old code read these inputs forever. */
const T = 'timeout 60';

describe('rule files that are not regular files', () => {
  it('/dev/zero: refused at the limit (check: exit 1; replay: exit 2)', async () => {
    refused(await fwemuIn(['check', '/dev/zero']), 1, `/dev/zero:1:1: ${LIMIT}`);
    refused(await fwemuIn(['replay', '-r', '/dev/zero', '-f', 'none', CAPTURE]), 2, `/dev/zero:1:1: ${LIMIT}`);
  }, 120_000);

  it('a FIFO fed without end, and a process substitution', async () => {
    const fifo = join(dir, 'rules.fifo');
    const r = fwemu([], {
      shell: `mkfifo ${fifo} && { yes 'policy: drop' > ${fifo} 2>/dev/null & } && ${T} FWEMU check ${fifo}`,
    });
    refused(r, 1, `${fifo}:1:1: ${LIMIT}`);
    refused(fwemu([], { shell: `${T} FWEMU replay -f none -r <(yes '# comment') ${CAPTURE}` }), 2, LIMIT);
  }, 120_000);

  it('fwemu test DIR: a FIFO among the files is passed over, not opened (it would wait for a writer forever)', async () => {
    const d = join(dir, 'tests-with-fifo');
    const t =
      readFileSync('fixtures/http-curl.expect.yaml', 'utf8').replace(
        'rules: ../rules/',
        `rules: ${join(process.cwd(), 'rules')}/`,
      ) + `capture: ${join(process.cwd(), CAPTURE)}\n`;
    const r = fwemu([], {
      shell: `mkdir ${d} && mkfifo ${d}/a.yaml && cat > ${d}/b.expect.yaml <<'EOF'\n${t}EOF\n${T} FWEMU test ${d}`,
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`PASS ${d}/b.expect.yaml`);
    expect(r.stdout).toContain('1 policy tests: 1 passed');
  }, 120_000);

  it('standard input fed without end', async () => {
    refused(fwemu([], { shell: `${T} FWEMU check - < <(yes '# comment')` }), 1, `<stdin>:1:1: ${LIMIT}`);
  }, 120_000);

  it('a FIFO holding a good rule file is read like the file', async () => {
    const f = file('good.yaml', RULES);
    const fifo = join(dir, 'good.fifo');
    const viaFifo = fwemu([], {
      shell: `mkfifo ${fifo} && { cat ${f} > ${fifo} & } && ${T} FWEMU replay -f jsonl -r ${fifo} ${CAPTURE}`,
    });
    const direct = await fwemuIn(['replay', '-f', 'jsonl', '-r', f, CAPTURE]);
    expect(viaFifo.code, viaFifo.stderr).toBe(0);
    // Reasons name the rule file (rule web (FILE:3)): the FIFO's name, else the same.
    expect(viaFifo.stdout.replaceAll(fifo, f)).toBe(direct.stdout);
    expect(direct.stdout.split('\n').length).toBeGreaterThan(10);
  }, 120_000);
});

describe("'-': YAML inputs from standard input", () => {
  const rulesFile = file('stdin-rules.yaml', RULES);

  // (These two read a real standard input, a process's file descriptor 0; the others are given it in-process.)
  it('check - and export -: the file read from stdin, named <stdin>', async () => {
    const check = fwemu(['check', '-'], { input: RULES });
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain('1  web  tcp dport 8080 accept  (<stdin>:3)');
    const fromStdin = fwemu(['export', '-'], { input: RULES });
    const fromFile = await fwemuIn(['export', rulesFile]);
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    // The same ruleset; only the comment naming the source differs.
    const body = (s: string) => s.split('\n').filter((l) => !l.startsWith('# Generated by fwemu'));
    expect(body(fromStdin.stdout)).toEqual(body(fromFile.stdout));
    expect(fromStdin.stdout).toContain('from <stdin>');
  });

  it('an error in a rule file from stdin is positioned in <stdin>', async () => {
    refused(
      await fwemuIn(['check', '-'], { input: 'rules:\n  - { proto: tpc }\n' }),
      1,
      '<stdin>:2:14: rule #1: proto "tpc" is not allowed; did you mean "tcp"?',
    );
  });

  it('replay -r - CAPTURE: the lines of replay -r FILE', async () => {
    const a = await fwemuIn(['replay', '-f', 'jsonl', '-r', '-', CAPTURE], { input: RULES });
    const b = await fwemuIn(['replay', '-f', 'jsonl', '-r', rulesFile, CAPTURE]);
    expect(a.code, a.stderr).toBe(0);
    // Reasons name the rule file (rule web (FILE:3)): <stdin>, else the same.
    expect(a.stdout).toContain('(<stdin>:3)');
    expect(a.stdout.replaceAll('<stdin>', rulesFile)).toBe(b.stdout);
    expect(a.stdout.split('\n').length).toBeGreaterThan(10);
  });

  it('replay -r - with the capture also -: refused, naming both (and conntrack -r - -)', async () => {
    refused(
      await fwemuIn(['replay', '-r', '-', '-'], { input: RULES }),
      2,
      'replay: the rule file and the capture cannot both be - (standard input)',
    );
    refused(
      await fwemuIn(['conntrack', '-r', '-', '-'], { input: RULES }),
      2,
      'conntrack: the rule file and the capture cannot both be - (standard input)',
    );
  });

  it('conntrack -r - CAPTURE: the table of conntrack -r FILE', async () => {
    const a = await fwemuIn(['conntrack', '-r', '-', CAPTURE], { input: RULES });
    const b = await fwemuIn(['conntrack', '-r', rulesFile, CAPTURE]);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toContain('TIME_WAIT src=10.1.0.2 dst=10.2.0.1');
    expect(a.stdout).toBe(b.stdout);
  });

  it('check - - : stdin can be read once', async () => {
    refused(await fwemuIn(['check', '-', '-'], { input: RULES }), 2, 'check: - (standard input) can be given once');
  });

  it('test -: a policy test from stdin, paths relative to the current directory', async () => {
    const text =
      readFileSync('fixtures/http-curl.expect.yaml', 'utf8').replace('rules: ../rules/', 'rules: rules/') +
      'capture: fixtures/http-curl.pcap\n';
    const r = await fwemuIn(['test', '-'], { input: text });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('PASS <stdin> (3 expectations, 16 packets)');
    // Without capture: there is no NAME.pcap beside standard input.
    const noCapture = await fwemuIn(['test', '-'], { input: text.replace(/^capture:.*$/m, '') });
    refused(noCapture, 2, 'a policy test read from standard input names its capture: capture: path/to/capture.pcap');
  });

  it('synth -: a scenario from stdin gives the bytes of the file', async () => {
    const a = join(dir, 'a.pcap');
    const b = join(dir, 'b.pcap');
    expect(
      (await fwemuIn(['synth', '-', '-q', '-o', a], { input: readFileSync('fixtures/scenarios/seed.yaml') })).code,
    ).toBe(0);
    expect((await fwemuIn(['synth', 'fixtures/scenarios/seed.yaml', '-q', '-o', b])).code).toBe(0);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
  });
});

describe('large rule files', () => {
  // The rule count that overflowed the stack (exit 70) with a spread of the
  // rules into a call, in a process whose stack size is known (in-process,
  // the test runner's would decide: a worker thread's 4 MB hides the bug):
  // 150k on Node's default stack (984 KB) in the slow tier; in the fast one
  // 20k on a tenth of it, which the spreading code (8578905^) overflowed too.
  const n = tier(20_000, 150_000);
  const stack = tier(['--stack-size=98'], []);
  it(`${n / 1000}k empty rules load in a process${SLOW ? '' : ' with a tenth of the stack'}: exit 0, each later rule shadowed by the first`, () => {
    const f = file('many.yaml', `rules: [${Array(n).fill('{}').join(',')}]\n`);
    expect(readFileSync(f).length).toBeLessThan(1 << 20);
    const r = spawnSync(process.execPath, [...stack, BIN, 'check', f], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    expect(r.status, r.stderr.slice(0, 2000)).toBe(0);
    expect(r.stderr + r.stdout).not.toMatch(STACK);
    const shadowed = r.stdout.split('\n').filter((l) => / warning: rule #\d+ is shadowed by rule #1 /.test(l));
    expect(shadowed).toHaveLength(n - 1);
    expect(shadowed[shadowed.length - 1]).toContain(`rule #${n} is shadowed by rule #1 (${f}:1:9)`);
  }, 300_000);
});

describe(`YAML nested deeper than ${MAX_YAML_DEPTH} levels`, () => {
  // Depth counts collections: the top-level mapping is level 1, so in
  // "rules: [[[..." the first "[" (column 8) is level 2 and level 65, the
  // first one too deep, is the 64th "[", at column 8 + 63.
  const flow = `rules: ${'['.repeat(1000)}${']'.repeat(1000)}\n`;
  // Block style: "- - - ..." on one line nests a list in a list each time.
  const block = `rules:\n  ${'- '.repeat(1000)}x\n`;
  const mapping = `rules:\n  - id: a\n    src:\n${Array.from({ length: 1000 }, (_, i) => `${' '.repeat(6 + i)}k${i}:`).join('\n')}\n`;
  const message = `YAML nested deeper than ${MAX_YAML_DEPTH} levels here (lists and mappings inside each other)`;

  it('rule files: flow, block and mapping style, positioned, exit 2', async () => {
    const f = file('deep-flow.yaml', flow);
    refused(await fwemuIn(['replay', '-r', f, '-f', 'none', CAPTURE]), 2, `${f}:1:71: ${message}`);
    refused(await fwemuIn(['check', f]), 1, `${f}:1:71: ${message}`);
    // "  - " puts level 2 at column 3, each "- " one more level: level 65 at column 3 + 2 * 63.
    const b = file('deep-block.yaml', block);
    refused(await fwemuIn(['check', b]), 1, `${b}:2:129: ${message}`);
    // Level 1 top, 2 the rules list, 3 the rule, 4 src's mapping (line 4), ... level 65 on line 65.
    const m = file('deep-map.yaml', mapping);
    refused(await fwemuIn(['check', m]), 1, `${m}:65:`, message);
  });

  it('at the limit is fine (the error is about depth, not size)', async () => {
    // Levels 2..64 are 63 brackets: no nesting error (the rule-file error that follows is about the content).
    const f = file('deep-ok.yaml', `rules: ${'['.repeat(MAX_YAML_DEPTH - 1)}${']'.repeat(MAX_YAML_DEPTH - 1)}\n`);
    const r = await fwemuIn(['check', f]);
    expect(r.stdout + r.stderr).not.toContain('nested deeper');
    expect(r.stdout + r.stderr).not.toMatch(/call stack/);
  });

  it('scenarios and policy tests', async () => {
    const head = 'scenario: t\nhosts:\n  server: 10.2.0.1\n';
    const s = file('deep-scenario.yaml', `${head}steps: ${'['.repeat(1000)}${']'.repeat(1000)}\n`);
    refused(await fwemuIn(['synth', s, '-o', join(dir, 'deep.pcap')]), 2, `${s}:4:71: ${message}`);
    const t = file(
      'deep.expect.yaml',
      `rules: ../rules/web-server.yaml\ncapture: ${join(process.cwd(), CAPTURE)}\nexpect: ${'['.repeat(1000)}${']'.repeat(1000)}\n`,
    );
    refused(await fwemuIn(['test', t]), 2, `${t}:3:72: ${message}`);
  });
});

describe('policy test packet ranges', () => {
  const test = (packet: string) =>
    fwemuIn(['test', '-'], {
      input: `rules: rules/workstation.yaml\ncapture: ${CAPTURE}\nexpect:\n  - { packet: "${packet}", verdict: accept }\n`,
    });

  it('a backwards range says so, positioned', async () => {
    refused(await test('48-1'), 2, '<stdin>:4:15: packet range "48-1" is backwards (48 is after 1); write "1-48"');
  });

  it('a range wider than 10^6 is no longer refused: it is checked up to the first packet that does not exist', async () => {
    const r = await test('1-2000000');
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toContain('packet 17 does not exist (the replay has 16 packets)');
  });

  it('numbers beyond 2^53 - 1 are refused with the limit and why', async () => {
    refused(
      await test('1-99999999999999999999'),
      2,
      'packet numbers go up to 9007199254740991 (2^53 - 1, the largest whole number counted exactly)',
    );
  });
});

describe('--jobs', () => {
  const cores = availableParallelism();
  const over = 4 * cores + 1;
  it.skipIf(over > 256)(
    'more than 4 per core is lowered to that, with a warning; the lines are those of one thread',
    async () => {
      const many = await fwemuIn(['replay', '-f', 'jsonl', '-r', 'rules/web-server.yaml', '-j', String(over), CAPTURE]);
      const one = await fwemuIn(['replay', '-f', 'jsonl', '-r', 'rules/web-server.yaml', CAPTURE]);
      expect(many.code, many.stderr).toBe(0);
      expect(many.stderr).toContain(
        `fwemu: warning: replay --jobs ${over}: using ${4 * cores} threads, 4 per core (${cores} ${cores === 1 ? 'core' : 'cores'} here)`,
      );
      expect(many.stdout).toBe(one.stdout);
      const atCap = await fwemuIn([
        'replay',
        '-f',
        'none',
        '-r',
        'rules/web-server.yaml',
        '-j',
        String(4 * cores),
        CAPTURE,
      ]);
      expect(atCap.stderr).not.toContain('warning');
    },
    120_000,
  );
});
