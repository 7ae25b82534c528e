/** The generic tracker (nf_conntrack_proto_generic.c): any protocol no other tracker knows. */
import type { DecodedPacket } from '../packet/types.js';
import { F_DEADLINE, S64 } from './entry.js';
import { CtVerdict, type CtPacketCtx, type CtVerdictValue } from './l4proto.js';

const NOTE_GENERIC = 'generic protocol tracker';

/** generic_packet(): one timeout, no state. */
export function genericPacket(
  c: CtPacketCtx,
  slot: number,
  _dir: number,
  _isNew: boolean,
  _p: DecodedPacket,
): CtVerdictValue {
  c.st.f64[slot * S64 + F_DEADLINE] = c.now + c.settings.generic_timeout;
  c.note = NOTE_GENERIC;
  return CtVerdict.ACCEPT;
}
