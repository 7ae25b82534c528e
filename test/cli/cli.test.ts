import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { BIN, fwemu, fwemuIn, has, ROOT, STACK } from './run.js';

const SEED = 'fixtures/seed-three-clients.pcap';
const WEB = 'rules/web-server.yaml';
const tmp = mkdtempSync(join(tmpdir(), 'fwemu-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const capinfos = has('capinfos');

/**
 * The packets in each capture as Wireshark's reader (wiretap, as under
 * tshark) counts them: capinfos, one process for all the files (a tshark
 * run costs ~0.6 s of CPU each). A file it cannot read whole fails.
 */
function wiresharkCounts(...files: string[]): number[] {
  const r = spawnSync('capinfos', ['-T', '-r', '-c', '-M', ...files], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`capinfos ${files.join(' ')}: ${r.stderr}`);
  const rows = r.stdout.trimEnd().split('\n');
  expect(rows.map((row) => row.split('\t')[0])).toEqual(files);
  return rows.map((row) => Number(row.split('\t')[1]));
}

describe('fwemu dump', () => {
  it.skipIf(!capinfos)("lists one line per packet, as many as Wireshark's reader counts", async () => {
    const files = ['fixtures/http-curl.pcapng', 'fixtures/any-sll2.pcap', 'fixtures/vlan-qinq.pcap'];
    const counts = wiresharkCounts(...files);
    for (const [i, f] of files.entries()) {
      const r = await fwemuIn(['dump', f]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim().split('\n').length, f).toBe(counts[i]);
    }
  });

  it('reads the capture from stdin with -', async () => {
    const viaFile = await fwemuIn(['dump', '--format', 'jsonl', SEED]);
    const viaStdin = fwemu(['dump', '--format', 'jsonl', '-'], { input: readFileSync(SEED) });
    expect(viaStdin.code, viaStdin.stderr).toBe(0);
    expect(viaStdin.stdout).toBe(viaFile.stdout);
  });

  // Skipped without python3, except under CI=true, where it fails instead.
  it.skipIf(!has('python3') && process.env.CI !== 'true')(
    'reads stdin from a pipe its maker left non-blocking, written slowly',
    async () => {
      if (!has('python3')) throw new Error('python3 is not installed (CI=true does not skip this test)');
      // fwemu reads descriptor 0 itself; a non-blocking one answers EAGAIN
      // whenever the writer is behind, and fwemu must then go on as a stream.
      // Nothing is written for the first 1.5 s, longer than fwemu needs to
      // start, so its first read finds the pipe empty; then ~0.75 s of slow writes.
      const viaFile = await fwemuIn(['dump', '--format', 'jsonl', SEED]);
      const script = `
import fcntl, os, subprocess, sys, time
data = open(sys.argv[1], 'rb').read()
r, w = os.pipe()
fcntl.fcntl(r, fcntl.F_SETFL, fcntl.fcntl(r, fcntl.F_GETFL) | os.O_NONBLOCK)
p = subprocess.Popen([sys.argv[2], sys.argv[3], 'dump', '--format', 'jsonl', '-'], stdin=r, stdout=subprocess.PIPE)
os.close(r)
time.sleep(1.5)
step = len(data) // 25 + 1
for i in range(0, len(data), step):
    os.write(w, data[i:i + step])
    time.sleep(0.03)
os.close(w)
sys.stdout.buffer.write(p.stdout.read())
sys.exit(p.wait())
`;
      const r = spawnSync('python3', ['-c', script, SEED, process.execPath, BIN], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(viaFile.stdout);
    },
  );

  it('jsonl: one object per packet with the decoded fields', async () => {
    const r = await fwemuIn(['dump', '--format', 'jsonl', SEED]);
    const rows = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((x) => x.n)).toEqual(rows.map((_, i) => i + 1));
    // The first packet is alice's SYN to the server's port 8080 (see fixtures/README.md).
    expect(rows[0]).toMatchObject({ src: '10.1.0.2', dst: '10.2.0.1', dport: 8080, proto: 'tcp', tcp: { flags: 'S' } });
  });

  it('a missing file: one line naming it, exit 2, no stack trace', async () => {
    const r = await fwemuIn(['dump', 'no/such.pcap']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no\/such\.pcap.*no such file/);
    expect(r.stderr).not.toMatch(STACK);
  });

  it('a capture cut off mid-record: every complete packet, then a warning naming the byte offset', async () => {
    const whole = readFileSync(SEED);
    const cut = join(tmp, 'cut.pcap');
    writeFileSync(cut, whole.subarray(0, whole.length - 10));
    const r = await fwemuIn(['dump', cut]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').length).toBe(47);
    expect(r.stderr).toMatch(/cut off at byte \d+/);
  });

  it('not a capture: exit 2 with the offset and what was expected', async () => {
    const junk = join(tmp, 'junk.pcap');
    writeFileSync(junk, 'hello, this is not a capture file at all');
    const r = await fwemuIn(['dump', junk]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/junk\.pcap: at byte 0:/);
    expect(r.stderr).not.toMatch(STACK);
  });

  it('stops quietly when the reader of its output goes away (| head)', async () => {
    const r = fwemu([], { shell: `FWEMU dump ${SEED} | head -n 2` });
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(2);
    expect(r.stderr).toBe('');
  });
});

describe('fwemu replay', () => {
  const rows = async () => {
    const r = await fwemuIn(['replay', '-r', WEB, '--format', 'jsonl', SEED]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
  };

  it('replies from port 8080 pass only through their conntrack entries', async () => {
    const all = await rows();
    const replies = all.filter((x) => x.packet.sport === 8080);
    expect(replies.length).toBeGreaterThan(0);
    for (const x of replies) {
      expect(x).toMatchObject({ verdict: 'accept', ct: 'established', rule: 'web' });
      expect(x.flow).toMatchObject({ proto: 'tcp', dst: '10.2.0.1', dport: 8080 });
      expect(x.reason).toMatch(
        /^accepted: reply in ESTABLISHED flow tcp 10\.1\.0\.\d:\d+ -> 10\.2\.0\.1:8080 .*opened at packet \d+ by rule web \(rules\/web-server\.yaml:\d+\)$/,
      );
    }
    const syns = all.filter((x) => x.packet.tcp?.flags === 'S');
    expect(syns).toHaveLength(3);
    for (const x of syns) expect(x).toMatchObject({ verdict: 'accept', ct: 'new', rule: 'web', flow: { dport: 8080 } });
  });

  it('stateless, the same replies are dropped by the policy', async () => {
    const rules = join(tmp, 'stateless.yaml');
    writeFileSync(rules, readFileSync(WEB, 'utf8') + '\nstateful: false\n');
    const r = await fwemuIn(['replay', '-r', rules, '--format', 'jsonl', SEED]);
    const all = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    for (const x of all) {
      expect(x.ct).toBeNull();
      expect(x.verdict).toBe(x.packet.dport === 8080 ? 'accept' : 'drop');
    }
  });

  it.skipIf(!capinfos)(
    "--write-accepted/--write-dropped: captures Wireshark's reader reads, split as the verdicts say",
    async () => {
      const acc = join(tmp, 'acc.pcap');
      const drop = join(tmp, 'drop.pcapng');
      const r = await fwemuIn([
        'replay',
        '-r',
        'rules/dns-resolver.yaml',
        '--format',
        'jsonl',
        '--write-accepted',
        acc,
        '--write-dropped',
        drop,
        'fixtures/http-curl.pcap',
      ]);
      expect(r.code, r.stderr).toBe(0);
      const all = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(wiresharkCounts(acc, drop)).toEqual([
        all.filter((x) => x.verdict === 'accept').length,
        all.filter((x) => x.verdict === 'drop' || x.verdict === 'reject').length,
      ]);
    },
  );

  it('a broken rule file: file:line:col, exit 2, no stack trace', async () => {
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, 'policy: drop\nrules:\n  - id: web\n    proto: tcp\n    dport: 70000\n');
    const r = await fwemuIn(['replay', '-r', bad, SEED]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.yaml:5:12: .*70000.*out of range/);
    expect(r.stderr).not.toMatch(STACK);
  });

  it('text output: a header, one line per packet, then the summary', async () => {
    const r = await fwemuIn(['replay', '-r', WEB, SEED]);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^\s+#\s+time\s+source > destination/);
    expect(lines.filter((l) => /^\s+\d+\s+\d+\.\d{6}\s/.test(l))).toHaveLength(48);
    expect(r.stdout).toMatch(/48 packets: 48 accepted, 0 dropped/);
    expect(r.stdout).not.toMatch(/\x1b\[/); // no colour when not a terminal
  });
});

describe('fwemu conntrack', () => {
  it('lists the three seed connections, told apart by client address and port', async () => {
    const r = await fwemuIn(['conntrack', '-r', WEB, SEED]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    const clients = lines.map((l) => /src=(\S+) dst=10\.2\.0\.1 sport=(\d+) dport=8080/.exec(l)!.slice(1).join(':'));
    expect(new Set(clients).size).toBe(3);
    for (const l of lines) expect(l).toMatch(/^tcp {6}6 \d+ TIME_WAIT src=.* \[ASSURED\] mark=0 use=1$/);
  });

  it('--at N shows the table right after packet N', async () => {
    const r = await fwemuIn(['conntrack', '-r', WEB, '--at', '1', SEED]);
    expect(r.stdout.trim()).toMatch(
      /^tcp {6}6 120 SYN_SENT src=10\.1\.0\.2 dst=10\.2\.0\.1 sport=\d+ dport=8080 \[UNREPLIED\] src=10\.2\.0\.1/,
    );
    const past = await fwemuIn(['conntrack', '-r', WEB, '--at', '4000', SEED]);
    expect(past.code).toBe(2);
    expect(past.stderr).toMatch(/has only 48 packets/);
  });

  it('--events: NEW, UPDATE and the packet that caused each', async () => {
    const r = await fwemuIn(['conntrack', '-E', '-r', WEB, 'fixtures/http-curl.pcap']);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ {4}\[NEW\] tcp {6}6 120 SYN_SENT .*# packet 1$/);
    expect(lines.some((l) => /\[UPDATE\] .* ESTABLISHED .*\[ASSURED\]/.test(l))).toBe(true);
  });
});

describe('fwemu check and export', () => {
  it('check: every example rule file compiles (exit 0); a broken one exits 1 with positions', async () => {
    const ok = await fwemuIn(['check', 'rules/web-server.yaml', 'rules/workstation.yaml', 'rules/dns-resolver.yaml']);
    expect(ok.code, ok.stderr).toBe(0);
    const bad = join(tmp, 'typo.yaml');
    writeFileSync(bad, 'rules:\n  - id: web\n    dprot: 80\n');
    const r = await fwemuIn(['check', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/typo\.yaml:3:5: .*"dprot".*did you mean "dport"/);
  });

  it.skipIf(!has('nft') || process.getuid?.() !== 0)('export: nft accepts every example (nft -c)', async () => {
    for (const f of ['rules/web-server.yaml', 'rules/workstation.yaml', 'rules/dns-resolver.yaml']) {
      const out = join(tmp, 'x.nft');
      const r = await fwemuIn(['export', f]);
      expect(r.code).toBe(0);
      writeFileSync(out, r.stdout);
      const c = spawnSync('nft', ['-c', '-f', out], { encoding: 'utf8' });
      expect(c.status, `${f}: ${c.stderr}`).toBe(0);
    }
  });
});

describe('a command run in-process', () => {
  it('writes only to the streams it is given: lines, rule warnings, capture warnings, and returns its exit code', async () => {
    // A rule that the one before it shadows (a warning naming the file and line), and a capture cut inside its last record.
    const rules = join(tmp, 'shadowed.yaml');
    writeFileSync(
      rules,
      'policy: drop\nrules:\n  - id: web\n    proto: tcp\n    dport: 8080\n  - id: again\n    proto: tcp\n    dport: 8080\n',
    );
    const whole = readFileSync(SEED);
    const cut = join(tmp, 'cut-inproc.pcap');
    writeFileSync(cut, whole.subarray(0, whole.length - 10));
    const toProcess = [vi.spyOn(process.stdout, 'write'), vi.spyOn(process.stderr, 'write')];
    try {
      const r = await fwemuIn(['replay', '-r', rules, '--format', 'jsonl', cut]);
      for (const spy of toProcess) expect(spy).not.toHaveBeenCalled();
      expect(r.code, r.stderr).toBe(0);
      // 47 complete records before the cut (as dump says above), one JSON line each.
      expect(
        r.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l).n),
      ).toEqual(Array.from({ length: 47 }, (_, i) => i + 1));
      expect(r.stderr).toContain(`${rules}:6:`); // the shadowed rule, by its line
      expect(r.stderr).toMatch(/cut-inproc\.pcap: .*cut off at byte \d+/);
    } finally {
      for (const spy of toProcess) spy.mockRestore();
    }
  });

  it('a usage error: exit 2, the message on its stderr', async () => {
    const r = await fwemuIn(['replay', SEED]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^fwemu: Missing required argument: rules/);
  });
});
