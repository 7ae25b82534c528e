/**
 * Independent truth from tshark: the clean scenario (every step type, IPv4
 * and IPv6) reads without a single warning beyond the RSTs it sends on
 * purpose, with every checksum verified and no TCP analysis flag; the odd
 * scenario produces exactly the oddities it was written for.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { generate, loadScenario, writeSynth, type SynthOutput } from '../../src/synth/index.js';
import { expertInfos, hasTshark, parseFrame, removeTmpFiles, tmpFile, tshark } from './helpers.js';
import { CHECK_CHECKSUMS, CHECKSUM_STATUS_FIELDS } from '../support/tshark.js';

afterAll(removeTmpFiles);

const CHECK = CHECK_CHECKSUMS;

async function written(scenario: string, name: string): Promise<{ out: SynthOutput; file: string }> {
  const out = generate(loadScenario(scenario));
  const file = tmpFile(name);
  await writeSynth(out, file);
  return { out, file };
}

describe.skipIf(!hasTshark)('tshark on synthesized captures', () => {
  it('every-step.yaml: no warnings or errors but its own RSTs, no analysis flags, checksums good', async () => {
    const { out, file } = await written('fixtures/scenarios/every-step.yaml', 'every.pcap');
    const rsts = out.packets.map((p) => parseFrame(p.data)).filter((f) => f.proto === 6 && f.flags & 0x04).length;
    expect(rsts).toBe(3); // reset a2, reset b1, the refused connect
    for (const twoPass of [false, true]) {
      const rows = expertInfos(file, twoPass ? ['-2'] : []);
      const bad = rows.filter((r) => r.severity === 'error' || r.severity === 'warn');
      expect(bad).toEqual([
        { severity: 'warn', count: rsts, group: 'Sequence', protocol: 'TCP', summary: 'Connection reset (RST)' },
      ]);
      // Notes: only the FIN handshakes.
      expect(new Set(rows.filter((r) => r.severity === 'note').map((r) => r.summary))).toEqual(
        new Set(['This frame initiates the connection closing', 'This frame undergoes the connection closing']),
      );
    }
    // One run for both: no TCP analysis flag (the field prints 1 where there is one), and
    // checksums verified Good (status 1) on every packet that has them; nothing malformed anywhere.
    const rows = tshark([
      '-r',
      file,
      ...CHECK,
      '-T',
      'fields',
      '-E',
      'occurrence=f',
      '-e',
      'tcp.analysis.flags',
      ...CHECKSUM_STATUS_FIELDS,
    ])
      .replace(/\n$/, '')
      .split('\n');
    expect(rows).toHaveLength(out.packets.length);
    for (const row of rows) {
      const [flags, ...status] = row.split('\t');
      expect(flags, row).toBe('');
      for (const v of status.filter((x) => x !== '')) expect(v).toBe('1');
    }
    expect(tshark(['-r', file, ...CHECK, '-V'])).not.toMatch(/Malformed|Bad checksum|\[incorrect/);
  });

  it('every-step.yaml: tshark sees the same addresses, ports, seq/ack and lengths', async () => {
    const { out, file } = await written('fixtures/scenarios/every-step.yaml', 'every2.pcap');
    const lines = tshark([
      '-r',
      file,
      '-o',
      'tcp.relative_sequence_numbers:FALSE',
      '-T',
      'fields',
      '-E',
      'separator=|',
      '-E',
      'occurrence=f',
      '-e',
      'ip.src',
      '-e',
      'ipv6.src',
      '-e',
      'tcp.srcport',
      '-e',
      'udp.srcport',
      '-e',
      'tcp.seq',
      '-e',
      'tcp.ack',
      '-e',
      'tcp.len',
      '-e',
      'frame.time_epoch',
    ])
      .trim()
      .split('\n');
    expect(lines).toHaveLength(out.packets.length);
    out.packets.forEach((p, i) => {
      const f = parseFrame(p.data);
      const [ip4, ip6, tsp, usp, seq, ack, len, epoch] = lines[i].split('|');
      expect(ip4 || ip6).toBe(f.src);
      if (f.proto === 6) {
        expect([Number(tsp), Number(seq), Number(len)]).toEqual([f.sport, f.seq, f.payloadLen]);
        if (f.flags & 0x10) expect(Number(ack)).toBe(f.ack);
      }
      if (f.proto === 17) expect(Number(usp)).toBe(f.sport);
      expect(epoch).toBe(`${p.tsSec}.${String(p.tsNsec).padStart(9, '0')}`);
    });
  });

  it('seed.yaml reads clean too', async () => {
    const { file } = await written('fixtures/scenarios/seed.yaml', 'seed.pcap');
    expect(expertInfos(file).filter((r) => r.severity === 'error' || r.severity === 'warn')).toEqual([]);
    expect(tshark(['-r', file, ...CHECK, '-T', 'fields', '-e', 'tcp.analysis.flags']).trim()).toBe('');
  });

  it('odd-cases.yaml: exactly the oddities it was written for', async () => {
    const { out, file } = await written('fixtures/scenarios/odd-cases.yaml', 'odd.pcap');
    const rows = expertInfos(file, ['-2']);
    expect(rows.filter((r) => r.severity === 'error')).toEqual([]); // nothing malformed, no bad checksum
    expect(
      rows
        .filter((r) => r.severity === 'warn')
        .map((r) => r.summary)
        .sort(),
    ).toEqual([
      'Connection reset (RST)', // the SYN to a closed port
      'D-SACK Sequence', // the duplicate ACK after the retransmission
      'No response seen to ICMP request', // ping with reply: false
      'Previous segment(s) not captured (common at capture start)', // the out-of-window segment
    ]);
    // Which frames tshark flags, by the steps that made them: one two-pass run
    // prints every flag for every frame (a flag field present prints non-empty).
    const FLAGS = [
      'tcp.analysis.spurious_retransmission',
      'tcp.analysis.duplicate_ack',
      'tcp.analysis.lost_segment',
      'tcp.analysis.keep_alive',
      'tcp.analysis.retransmission',
      'icmp.resp_not_found',
    ];
    const frames = tshark([
      '-r',
      file,
      '-2',
      '-T',
      'fields',
      '-E',
      'separator=|',
      '-e',
      'frame.number',
      ...FLAGS.flatMap((f) => ['-e', f]),
    ])
      .trim()
      .split('\n')
      .map((l) => l.split('|'));
    expect(frames).toHaveLength(out.packets.length);
    const flagged = (field: string) =>
      frames.filter((cells) => cells[1 + FLAGS.indexOf(field)] !== '').map((cells) => Number(cells[0]));
    const step = (name: string) => out.steps.find((s) => s.name === name)!.packets;
    expect(flagged('tcp.analysis.spurious_retransmission')).toEqual([step('retrans')[0]]);
    expect(flagged('tcp.analysis.duplicate_ack')).toEqual([step('retrans')[1]]);
    expect(flagged('tcp.analysis.lost_segment')).toEqual(step('oow'));
    expect(flagged('tcp.analysis.keep_alive')).toEqual(step('keepalive'));
    // Wireshark also calls the crossing SYN/ACKs of a simultaneous open retransmissions.
    expect(flagged('tcp.analysis.retransmission')).toEqual([
      step('retrans')[0],
      ...step('simopen').slice(2, 4),
      ...step('silent').slice(1, 3),
    ]);
    expect(flagged('icmp.resp_not_found')).toEqual(step('lostping'));
  });
});
