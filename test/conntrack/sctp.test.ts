/**
 * SCTP (nf_conntrack_proto_sctp), without the kernel: the expected outcomes
 * are what Linux 6.18 did with the same capture (test/kernel/sctp.test.ts
 * replays it through the kernel; test/kernel/sctp/make.py makes it).
 */
import { describe, expect, it } from 'vitest';
import { replay } from '../../src/engine/replay.js';
import { formatConntrackEntry } from '../../src/report/conntrack-list.js';
import { chunkRow, sctpNewState, SctpChunk } from '../../src/conntrack/sctp.js';
import { SctpState } from '../../src/conntrack/types.js';

describe('SCTP', () => {
  it('follows an association, checks verification tags, and refuses what may not open one', async () => {
    const seen: string[] = [];
    const { engine } = await replay({
      rules: 'test/kernel/sctp/rules.yaml',
      source: 'test/kernel/sctp/sctp.pcap',
      onPacket: (r) => seen.push(`${r.n} ${r.verdict} ${r.ct}`),
    });
    // Kernel: packets 7 (wrong tag), 13 (INIT with a tag), 14 (DATA first),
    // 15 (ABORT first), 16 (INIT bundled) and 20 (INIT_ACK with a wrong tag) dropped.
    const dropped = [7, 13, 14, 15, 16, 20];
    expect(seen).toEqual(
      Array.from({ length: 21 }, (_, i) => i + 1).map((n) =>
        dropped.includes(n) ? `${n} drop invalid` : `${n} accept ${[1, 17, 19].includes(n) ? 'new' : 'established'}`,
      ),
    );
    expect(engine.ct!.entries(engine.now).map((e) => formatConntrackEntry(e, engine.now))).toEqual([
      'sctp     132 9 CLOSED src=10.1.0.2 dst=10.2.0.1 sport=5000 dport=38412 src=10.2.0.1 dst=10.1.0.2 sport=38412 dport=5000 [ASSURED] mark=0 use=1',
      'sctp     132 209 ESTABLISHED src=10.1.0.2 dst=10.2.0.1 sport=5005 dport=38412 src=10.2.0.1 dst=10.1.0.2 sport=38412 dport=5005 [ASSURED] mark=0 use=1',
      // The kernel printed 2: its replay ran a little after the capture's clock.
      'sctp     132 3 COOKIE_WAIT src=10.1.0.2 dst=10.2.0.1 sport=5006 dport=38412 src=10.2.0.1 dst=10.1.0.2 sport=38412 dport=5006 mark=0 use=1',
    ]);
  });

  it('transition table rows read as in sctp_conntracks (spot checks)', () => {
    // COOKIE_ACK in the reply direction establishes from COOKIE_ECHOED.
    expect(sctpNewState(1, SctpState.COOKIE_ECHOED, SctpChunk.COOKIE_ACK)).toBe(SctpState.ESTABLISHED);
    // Nothing but an ORIGINAL-direction chunk may come first.
    expect(sctpNewState(1, SctpState.NONE, SctpChunk.INIT)).toBe(SctpState.INVALID);
    // DATA and SACK do not move the state.
    expect(chunkRow(SctpChunk.DATA)).toBe(-1);
    expect(sctpNewState(0, SctpState.ESTABLISHED, SctpChunk.SACK)).toBe(SctpState.ESTABLISHED);
    // A HEARTBEAT_ACK answering a HEARTBEAT-started flow establishes it.
    expect(sctpNewState(1, SctpState.HEARTBEAT_SENT, SctpChunk.HEARTBEAT_ACK)).toBe(SctpState.ESTABLISHED);
  });
});
