/**
 * tshark as an independent source of truth for tests.
 *
 * tsharkFields() runs `tshark -T fields` with every field occurrence kept
 * (`-E occurrence=a`, joined with ',') and with the preferences that make
 * tshark print raw header values instead of its own interpretations:
 *
 * - no relative TCP sequence numbers (tcp.seq/tcp.ack are the raw values),
 * - no IPv4/IPv6 reassembly (each fragment is shown as captured; the first
 *   fragment's transport header is dissected, later ones are not),
 * - no TCP reassembly or sequence analysis (they change nothing we compare,
 *   but cost time and add expert noise),
 * - no name resolution (-n: no DNS look-ups, no port names),
 * - an empty configuration directory, so a developer's own Wireshark
 *   preferences or disabled protocols cannot change the output.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TSHARK_PREFERENCES: readonly string[] = [
  'tcp.relative_sequence_numbers:FALSE',
  'tcp.analyze_sequence_numbers:FALSE',
  'tcp.desegment_tcp_streams:FALSE',
  'tcp.calculate_timestamps:FALSE',
  'tcp.try_heuristic_first:FALSE',
  'ip.defragment:FALSE',
  'ipv6.defragment:FALSE',
  'udp.try_heuristic_first:FALSE',
];

/** Joins the occurrences of one field within a frame. */
export const TSHARK_AGGREGATOR = ',';

/**
 * `-o` options that make tshark check the IPv4, TCP and UDP checksums, and
 * `-e` arguments for the outer layer's checksum statuses (Wireshark's enum:
 * 1 = PROTO_CHECKSUM_E_GOOD), in the order ip, tcp, udp, icmp, icmpv6.
 */
export const CHECK_CHECKSUMS: readonly string[] = [
  '-o',
  'ip.check_checksum:TRUE',
  '-o',
  'tcp.check_checksum:TRUE',
  '-o',
  'udp.check_checksum:TRUE',
];
export const CHECKSUM_STATUS_FIELDS: readonly string[] = [
  'ip.checksum.status',
  'tcp.checksum.status',
  'udp.checksum.status',
  'icmp.checksum.status',
  'icmpv6.checksum.status',
].flatMap((f) => ['-e', f]);

let available: boolean | undefined;

/** True when a working `tshark` is on PATH (the answer is cached). */
export function hasTshark(): boolean {
  if (available === undefined) {
    const r = spawnSync('tshark', ['--version'], { encoding: 'utf8', timeout: 30_000, env: tsharkEnv() });
    available = r.status === 0 && /TShark/i.test(r.stdout ?? '');
  }
  return available;
}

/** tshark's version as [major, minor, patch], or null without tshark. */
export function tsharkVersion(): [number, number, number] | null {
  if (!hasTshark()) return null;
  const r = spawnSync('tshark', ['--version'], { encoding: 'utf8', timeout: 30_000, env: tsharkEnv() });
  const m = /TShark \(Wireshark\) (\d+)\.(\d+)\.(\d+)/.exec(r.stdout ?? '');
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

let configDir: string | undefined;

function tsharkEnv(): NodeJS.ProcessEnv {
  // An empty configuration directory: no user preferences or profiles change what tshark prints.
  configDir ??= mkdtempSync(join(tmpdir(), 'fwemu-tshark-config-'));
  return { ...process.env, WIRESHARK_CONFIG_DIR: configDir, LC_ALL: 'C' };
}

/** Removes tshark's temporary configuration directory: `afterAll(removeTsharkConfig)` in every file that runs tshark. */
export function removeTsharkConfig(): void {
  if (configDir !== undefined) rmSync(configDir, { recursive: true, force: true });
  configDir = undefined;
}

/**
 * Runs tshark over `file` and returns one row per frame, one cell per
 * requested field (in the order given). A cell holds every occurrence of the
 * field in that frame joined with ',' (TSHARK_AGGREGATOR), or '' when the
 * field is absent. Do not request fields whose values may contain ',' or tabs
 * (free text such as expert messages).
 *
 * Throws when tshark fails (unknown field name, unreadable file).
 */
export function tsharkFields(file: string, fields: string[], extraArgs: string[] = []): string[][] {
  const args = ['-n', '-r', file];
  for (const pref of TSHARK_PREFERENCES) args.push('-o', pref);
  args.push(
    '-T',
    'fields',
    '-E',
    'header=n',
    '-E',
    'separator=/t',
    '-E',
    'quote=n',
    '-E',
    'occurrence=a',
    '-E',
    `aggregator=${TSHARK_AGGREGATOR}`,
  );
  for (const f of fields) args.push('-e', f);
  args.push(...extraArgs);
  const r = spawnSync('tshark', args, {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: 120_000,
    env: tsharkEnv(),
  });
  if (r.error) throw new Error(`tshark ${file}: ${r.error.message}`);
  if (r.status !== 0) {
    const err = (r.stderr ?? '')
      .split('\n')
      .filter((l) => l && !/Running as user/.test(l))
      .join('\n');
    throw new Error(`tshark ${file} exited with ${r.status}: ${err}`);
  }
  const out = r.stdout.endsWith('\n') ? r.stdout.slice(0, -1) : r.stdout;
  if (out === '') return [];
  return out.split('\n').map((line) => {
    const cells = line.split('\t');
    // tshark prints every column, but be safe against a short line.
    while (cells.length < fields.length) cells.push('');
    return cells;
  });
}

/** tsharkFields() rows as objects keyed by field name. */
export function tsharkRecords(file: string, fields: string[], extraArgs: string[] = []): Record<string, string>[] {
  return tsharkFields(file, fields, extraArgs).map((cells) => {
    const o: Record<string, string> = {};
    fields.forEach((f, i) => {
      o[f] = cells[i];
    });
    return o;
  });
}
