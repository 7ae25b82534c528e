/**
 * UDP and UDP-Lite connection tracking (nf_conntrack_proto_udp.c): no
 * state beyond SEEN_REPLY and ASSURED; the timeout tells an unreplied flow
 * from a stream.
 */
import { IpProto, type DecodedPacket } from '../packet/types.js';
import { DecodeNote } from '../packet/types.js';
import { F_CREATED_AT, F_DEADLINE, H_STATUS, S16, S64 } from './entry.js';
import { CtVerdict, TIME_EPS, type CtPacketCtx, type CtVerdictValue } from './l4proto.js';
import { CtStatus } from './types.js';

const NOTE_UDP_UNREPLIED = 'UDP, no reply seen yet';
const NOTE_UDP_FIRST_REPLY = 'UDP, first reply';
const NOTE_UDP_REPLIED = 'UDP, reply seen';
const NOTE_UDPLITE_REPLIED = 'UDP-Lite, reply seen: ASSURED';
const NOTE_UDP_STREAM = 'UDP stream: seen both ways and older than 2 s (assured, stream timeout)';

/**
 * udp_error, udplite_error: a header fault the decoder noted, which makes
 * conntrack call the packet INVALID before any lookup; '' for none (and for
 * other protocols).
 */
export function udpError(proto: number, note: string): string {
  if (proto === IpProto.UDP && note === DecodeNote.UDP_LENGTH_MISMATCH) {
    return 'UDP length field below 8 or beyond the IP payload: truncated/malformed (udp_error)';
  }
  if (
    proto === IpProto.UDPLITE &&
    (note === DecodeNote.UDPLITE_SHORT ||
      note === DecodeNote.UDPLITE_COVERAGE ||
      note === DecodeNote.UDPLITE_NO_CHECKSUM)
  ) {
    return `${note} (udplite_error)`;
  }
  return '';
}

/** nf_conntrack_udp_packet() */
export function udpPacket(
  c: CtPacketCtx,
  slot: number,
  dir: number,
  _isNew: boolean,
  _p: DecodedPacket,
): CtVerdictValue {
  const st = c.st;
  const now = c.now;
  const deadline = slot * S64 + F_DEADLINE;
  const hs = slot * S16 + H_STATUS;
  if (!(st.u16[hs] & CtStatus.SEEN_REPLY)) {
    st.f64[deadline] = now + c.settings.udp_timeout;
    c.note = dir === 1 ? NOTE_UDP_FIRST_REPLY : NOTE_UDP_UNREPLIED;
    return CtVerdict.ACCEPT;
  }
  // Replied, and still active two seconds after it was created: a stream (ASSURED, longer timeout).
  if (now - (st.f64[slot * S64 + F_CREATED_AT] + 2) > TIME_EPS) {
    st.f64[deadline] = now + c.settings.udp_timeout_stream;
    st.setAssured(slot);
    c.note = NOTE_UDP_STREAM;
    return CtVerdict.ACCEPT;
  }
  st.f64[deadline] = now + c.settings.udp_timeout;
  c.note = st.u16[hs] & CtStatus.ASSURED ? NOTE_UDP_STREAM : NOTE_UDP_REPLIED;
  return CtVerdict.ACCEPT;
}

/**
 * nf_conntrack_udplite_packet(): like UDP, but a reply at once makes the
 * entry ASSURED with the stream timeout (no 2-second wait).
 */
export function udplitePacket(
  c: CtPacketCtx,
  slot: number,
  dir: number,
  _isNew: boolean,
  _p: DecodedPacket,
): CtVerdictValue {
  const st = c.st;
  if (st.u16[slot * S16 + H_STATUS] & CtStatus.SEEN_REPLY) {
    st.f64[slot * S64 + F_DEADLINE] = c.now + c.settings.udp_timeout_stream;
    st.setAssured(slot);
    c.note = NOTE_UDPLITE_REPLIED;
    return CtVerdict.ACCEPT;
  }
  st.f64[slot * S64 + F_DEADLINE] = c.now + c.settings.udp_timeout;
  c.note = dir === 1 ? NOTE_UDP_FIRST_REPLY : NOTE_UDP_UNREPLIED;
  return CtVerdict.ACCEPT;
}
