/**
 * SCTP against the kernel (nf_conntrack_proto_sctp): an association from
 * INIT to SHUTDOWN_COMPLETE with a DATA chunk under a wrong verification
 * tag, packets that must not create a flow (INIT with a non-zero tag, DATA
 * or ABORT out of the blue, INIT bundled with another chunk), a flow picked
 * up from a HEARTBEAT, and an INIT_ACK with the wrong tag. The capture is
 * made by test/kernel/sctp/make.py (scapy).
 */
import { describe, expect } from 'vitest';
import { compareWithKernel, formatAgreement } from './conformance.js';
import { kernelTest } from './kit.js';

const CAPTURE = 'test/kernel/sctp/sctp.pcap';
const RULES = 'test/kernel/sctp/rules.yaml';

describe('SCTP against the kernel', () => {
  kernelTest('states, verification tags and the INVALID cases agree packet by packet and entry by entry', async () => {
    const a = await compareWithKernel(CAPTURE, RULES);
    const report = formatAgreement(`${CAPTURE} + ${RULES}`, a);
    console.log(
      `${report}\n  kernel: ${a.kernelConntrack.join('\n          ')}\n  fwemu:  ${a.fwemuConntrack.join('\n          ')}`,
    );
    expect(a.packets).toBe(21);
    expect(a.disagreements, report).toEqual([]);
    expect(a.entryDiffs, report).toEqual([]);
  });
});
