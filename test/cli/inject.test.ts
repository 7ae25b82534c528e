/**
 * Terminal and log injection: strings from captures and rule files (a
 * pcapng interface name, SHB and packet comments, a rule file's name,
 * comments and file name, a policy test's file name) carrying ESC, BEL, CR,
 * LF, C1 controls and U+2028 must reach no output raw. Every command's
 * stdout and stderr must hold no byte below 0x20 but \n, no DEL, no C1
 * control and no line separator; text outputs must have exactly the lines
 * the same run has without the hostile strings (nothing forged); every
 * jsonl line must parse, and give back the interface name exactly.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concat, epb, idb, opt, parseChunked, shb } from '../capture/bytes.js';
import { fwemuIn, ROOT, type Run } from './run.js';

/** Everything a terminal obeys or breaks a line at, but \n: C0, DEL, C1, U+2028/2029. */
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/u;

/** An interface name that clears the screen, retitles the terminal, rings, rewinds the line and forges one. */
const IF_NAME =
  'eth0\u001b[2J\u001b]0;owned\u0007\r\n  999  0.000000  10.6.6.6 > 10.6.6.7  tcp S.  new  ACCEPT forged\u0085nel\u2028ls\u009b31m';

const tmp = mkdtempSync(join(tmpdir(), 'fwemu-inject-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A directory and file names that carry controls too (a file name may hold anything but / and NUL). */
const DIR = join(tmp, 'd\u001b[2J');
const HOSTILE_BASE = 'x\u001b]0;t\u0007\ny\u0085\u2028z';

let packets = 0;
let plainPcapng = '';
let hostilePcapng = '';
let rules = '';
let hostileRules = '';

/** http-curl.pcap's packets as a pcapng on one interface named `name` (none: no if_name), with hostile SHB and packet comments. */
function pcapng(name: string | null): Uint8Array {
  const recs = parseChunked(readFileSync(join(ROOT, 'fixtures/http-curl.pcap'))).records;
  packets = recs.length;
  const shbOpts = name === null ? [] : [opt(2, name), opt(3, name), opt(4, name), opt(1, name)]; // hardware, os, userappl, comment
  const ifOpts = name === null ? [] : [opt(2, name), opt(3, name)]; // if_name, if_description
  return concat(
    shb(true, shbOpts),
    idb(true, recs[0].linkType, 65535, ifOpts),
    ...recs.map((r) => {
      const data = Buffer.from(r.data, 'hex');
      return epb(
        true,
        0,
        BigInt(r.tsSec) * 1_000_000n + BigInt(Math.floor(r.tsNsec / 1000)),
        data,
        r.len,
        name === null ? [] : [opt(1, name)],
      );
    }),
  );
}

/** A rule file like rules/workstation.yaml, with hostile free text. */
const RULES = (text: string) =>
  `name: ${JSON.stringify(text)}\ndescription: ${JSON.stringify(text)}\nhost: 10.1.0.2\nrules:\n` +
  `  - id: web\n    chain: output\n    proto: tcp\n    dport: 8080\n    comment: ${JSON.stringify(text)}\n` +
  `  - id: web-again\n    chain: output\n    proto: tcp\n    dport: 8080\n`; // shadowed: a warning naming the file

beforeAll(() => {
  mkdirSync(DIR);
  plainPcapng = join(tmp, 'plain.pcapng');
  writeFileSync(plainPcapng, pcapng(null));
  hostilePcapng = join(DIR, `${HOSTILE_BASE}.pcapng`);
  writeFileSync(hostilePcapng, pcapng(IF_NAME));
  rules = join(tmp, 'rules.yaml');
  writeFileSync(rules, RULES('plain'));
  hostileRules = join(DIR, `${HOSTILE_BASE}.yaml`);
  writeFileSync(hostileRules, RULES(IF_NAME));
});

function clean(r: Run, what: string): void {
  expect(CONTROL.exec(r.stdout)?.[0], `${what}: stdout`).toBeUndefined();
  expect(CONTROL.exec(r.stderr)?.[0], `${what}: stderr`).toBeUndefined();
}

const lines = (s: string): string[] => s.split('\n');

describe('no control character from a capture or a rule file reaches the output', () => {
  it('the hostile capture reads as the plain one (the test is about output, not input)', async () => {
    const a = parseChunked(readFileSync(hostilePcapng)).records;
    expect(a).toHaveLength(packets);
    expect(a[0].ifName).toBe(IF_NAME);
  });

  for (const jobs of ['1', '2']) {
    it(`replay --format text (--jobs ${jobs}): the same lines as without the hostile strings`, async () => {
      const plain = await fwemuIn(['replay', '--jobs', jobs, '-r', rules, plainPcapng]);
      const r = await fwemuIn(['replay', '--jobs', jobs, '-r', hostileRules, hostilePcapng]);
      expect(plain.code, plain.stderr).toBe(0);
      expect(r.code, r.stderr).toBe(0);
      clean(r, 'replay');
      expect(lines(r.stdout)).toHaveLength(lines(plain.stdout).length);
      expect(lines(r.stderr)).toHaveLength(lines(plain.stderr).length);
      // The reasons cite the rule by its file name, made visible.
      expect(r.stdout).toContain('\\x1b]0;t\\x07\\ny\\u0085\\u2028z.yaml:');
    });

    it(`replay --format jsonl (--jobs ${jobs}): every line parses and gives back the interface name exactly`, async () => {
      const r = await fwemuIn(['replay', '--jobs', jobs, '--format', 'jsonl', '-r', hostileRules, hostilePcapng]);
      expect(r.code, r.stderr).toBe(0);
      clean(r, 'replay jsonl');
      const out = lines(r.stdout.trimEnd());
      expect(out).toHaveLength(packets);
      for (const l of out) {
        const o = JSON.parse(l) as { if: string; reason: string };
        expect(o.if).toBe(IF_NAME);
      }
    });
  }

  it('dump (text and jsonl): one line per packet, the interface name visible', async () => {
    const t = await fwemuIn(['dump', hostilePcapng]);
    expect(t.code, t.stderr).toBe(0);
    clean(t, 'dump');
    const out = lines(t.stdout.trimEnd());
    expect(out).toHaveLength(packets);
    for (const l of out) expect(l).toContain('eth0\\x1b[2J\\x1b]0;owned\\x07\\r\\n  999');
    const j = await fwemuIn(['dump', '--format', 'jsonl', hostilePcapng]);
    expect(j.code, j.stderr).toBe(0);
    clean(j, 'dump jsonl');
    const objs = lines(j.stdout.trimEnd()).map((l) => JSON.parse(l) as { if: string });
    expect(objs).toHaveLength(packets);
    for (const o of objs) expect(o.if).toBe(IF_NAME);
  });

  it('sockets and conntrack (text, json, events): nothing raw, on stdout or stderr', async () => {
    for (const args of [
      ['sockets', hostilePcapng],
      ['sockets', '--format', 'json', hostilePcapng],
      ['conntrack', '-r', hostileRules, hostilePcapng],
      ['conntrack', '-r', hostileRules, '--format', 'json', hostilePcapng],
      ['conntrack', '-E', '-r', hostileRules, hostilePcapng],
    ]) {
      const r = await fwemuIn(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      clean(r, args.slice(0, 3).join(' '));
      if (args.includes('json')) JSON.parse(r.stdout);
    }
  });

  it('check: the name, description, comment and file name are shown visible, one line each', async () => {
    const plain = await fwemuIn(['check', rules]);
    const r = await fwemuIn(['check', hostileRules]);
    expect(r.code, r.stderr).toBe(0);
    clean(r, 'check');
    expect(lines(r.stdout)).toHaveLength(lines(plain.stdout).length);
    expect(r.stdout).toContain('eth0\\x1b[2J');
  });

  it('errors and warnings quoting a file name or a value: visible, one paragraph', async () => {
    // A rule id with a control character is refused; the message quotes it escaped.
    const badId = join(DIR, `${HOSTILE_BASE}-id.yaml`);
    writeFileSync(badId, 'rules:\n  - id: "a\\e[2Jb"\n    proto: tcp\n');
    const e = await fwemuIn(['check', badId]);
    expect(e.code).toBe(1);
    clean(e, 'check bad id');
    expect(lines(e.stderr.trimEnd())).toHaveLength(2); // "FILE: 1 error in rule file", then the error
    // A capture that is not one, under a hostile name.
    const notCapture = join(DIR, `${HOSTILE_BASE}.pcap`);
    writeFileSync(notCapture, 'not a capture at all, just text');
    const c = await fwemuIn(['dump', notCapture]);
    expect(c.code).toBe(2);
    clean(c, 'dump not a capture');
    expect(lines(c.stderr.trimEnd())).toHaveLength(1);
    // A missing file.
    const m = await fwemuIn(['replay', '-r', join(DIR, 'no\nsuch\u001b[2J.yaml'), hostilePcapng]);
    expect(m.code).toBe(2);
    clean(m, 'missing rule file');
    expect(lines(m.stderr.trimEnd())).toHaveLength(1); // "fwemu: FILE: cannot read rule file: no such file"
    // An unknown option is echoed by the argument parser.
    const u = await fwemuIn(['dump', '--bogus\u001b[2J', hostilePcapng]);
    expect(u.code).toBe(2);
    clean(u, 'unknown option');
  });

  it('test: a policy test under a hostile file name, passing and failing', async () => {
    const dir = join(DIR, 'policy');
    mkdirSync(dir);
    copyFileSync(hostilePcapng, join(dir, `${HOSTILE_BASE}.pcapng`));
    copyFileSync(hostileRules, join(dir, 'r.yaml'));
    writeFileSync(
      join(dir, `${HOSTILE_BASE}.expect.yaml`),
      `rules: r.yaml\nexpect:\n  - { packet: 1, verdict: drop, reason: "\\e[2J\\u0085" }\n`,
    );
    const r = await fwemuIn(['test', dir]);
    expect(r.code).toBe(1);
    clean(r, 'test');
    // FAIL line, one failure (position + expectation, then the message), the count.
    expect(lines(r.stdout.trimEnd()), r.stdout).toHaveLength(4);
  });

  it("a rule id with a bidirectional override is shown escaped in reasons and in the summary's rule hits", async () => {
    // U+202E is not a control character (the loader takes it) but reverses what follows on a terminal.
    const rules = join(tmp, 'bidi.yaml');
    writeFileSync(rules, 'policy: drop\nrules:\n  - id: "web\u202eevil"\n    proto: tcp\n    dport: 8080\n');
    const r = await fwemuIn(['replay', '-r', rules, join(ROOT, 'fixtures/seed-three-clients.pcap')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.includes('\u202e')).toBe(false);
    expect(r.stdout).toContain('rule hits: web\\u202eevil 3');
  });
});
