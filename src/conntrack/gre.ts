/**
 * GRE connection tracking (nf_conntrack_proto_gre.c), with its own
 * timeouts (types.ts). Deliberate difference from the kernel: keys are
 * always 0, as for GRE version 0 or PPTP without its helper's keymap (call
 * ids are not read).
 */
import type { DecodedPacket } from '../packet/types.js';
import { F_DEADLINE, H_STATUS, S16, S64 } from './entry.js';
import { CtVerdict, type CtPacketCtx, type CtVerdictValue } from './l4proto.js';
import { CtStatus, GRE_TIMEOUT, GRE_TIMEOUT_STREAM } from './types.js';

/** IPPROTO_GRE (the decoder has no name for it: it does not read GRE headers). */
export const IPPROTO_GRE = 47;

const NOTE_GRE = 'GRE, no reply seen yet';
const NOTE_GRE_REPLIED = 'GRE, seen both ways (assured)';

/** nf_conntrack_gre_packet(): 30 s until a reply is seen, then 180 s and ASSURED. */
export function grePacket(
  c: CtPacketCtx,
  slot: number,
  _dir: number,
  _isNew: boolean,
  _p: DecodedPacket,
): CtVerdictValue {
  const st = c.st;
  if (st.u16[slot * S16 + H_STATUS] & CtStatus.SEEN_REPLY) {
    st.f64[slot * S64 + F_DEADLINE] = c.now + GRE_TIMEOUT_STREAM;
    st.setAssured(slot);
    c.note = NOTE_GRE_REPLIED;
    return CtVerdict.ACCEPT;
  }
  st.f64[slot * S64 + F_DEADLINE] = c.now + GRE_TIMEOUT;
  c.note = NOTE_GRE;
  return CtVerdict.ACCEPT;
}
