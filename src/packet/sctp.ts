/** SCTP (RFC 9260): the common header and the chunk walk conntrack makes (nf_conntrack_proto_sctp). */

import { u16, u32 } from './bytes.js';
import { portsHeader } from './udp.js';
import { DecodeNote, SCTP_MAX_CHUNKS, type DecodedPacket } from './types.js';

/** Common header fields, as offsets from the header start. */
// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
export const enum field {
  SRC_PORT = 0,
  DST_PORT = 2,
  VERIFICATION_TAG = 4,
  CHECKSUM = 8,
}
export const HEADER_LEN = 12;

/** Chunk header fields, as offsets from the chunk start; INIT and INIT_ACK carry the initiate tag after it. */
// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
export const enum chunkField {
  TYPE = 0,
  FLAGS = 1,
  LENGTH = 2,
  INIT_TAG = 4,
}
export const CHUNK_HEADER_LEN = 4;
/** The fixed part of an INIT / INIT_ACK chunk after its header (initiate tag, a_rwnd, streams, TSN). */
const INIT_PARAMS_LEN = 16;

// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
export const enum ChunkType {
  INIT = 1,
  INIT_ACK = 2,
  COOKIE_ECHO = 10,
  COOKIE_ACK = 11,
  SHUTDOWN_COMPLETE = 14,
}

/** The SCTP packet at `l4`: ports, verification tag and chunks; a packet shorter than the header is only noted. */
export function decodeSctp(
  buf: Uint8Array,
  l4: number,
  ipEnd: number,
  capEnd: number,
  dataEnd: number,
  out: DecodedPacket,
): DecodedPacket {
  if (!portsHeader(buf, l4, HEADER_LEN, ipEnd - l4, ipEnd, capEnd, DecodeNote.SCTP_SHORT, out)) return out;
  out.sctpVtag = u32(buf, l4 + field.VERIFICATION_TAG);
  sctpChunks(buf, l4 + HEADER_LEN, dataEnd, out);
  return out;
}

/**
 * The chunk walk of nf_conntrack_proto_sctp (for_each_sctp_chunk and
 * do_basic_checks): a chunk header is read while one fits before the end,
 * and each chunk's length, rounded up to 4, leads to the next.
 */
function sctpChunks(buf: Uint8Array, pos: number, end: number, out: DecodedPacket): void {
  const map = out.sctpMap;
  map.fill(0);
  let count = 0;
  let alone = false;
  let bad = false;
  while (pos + CHUNK_HEADER_LEN <= end) {
    const type = buf[pos + chunkField.TYPE];
    const len = u16(buf, pos + chunkField.LENGTH);
    if (type === ChunkType.INIT || type === ChunkType.INIT_ACK || type === ChunkType.SHUTDOWN_COMPLETE) alone = true;
    // COOKIE_ECHO / COOKIE_ACK not first, INIT / INIT_ACK / SHUTDOWN_COMPLETE not alone, or zero length.
    if (((type === ChunkType.COOKIE_ECHO || type === ChunkType.COOKIE_ACK || alone) && count !== 0) || len === 0) {
      bad = true;
      break;
    }
    map[type >>> 5] |= 1 << (type & 31);
    if (count < SCTP_MAX_CHUNKS) {
      out.sctpTypes[count] = type;
      out.sctpFlags[count] = buf[pos + chunkField.FLAGS];
      // INIT and INIT_ACK: the initiate tag, when the INIT parameters fit.
      out.sctpInitTag[count] =
        (type === ChunkType.INIT || type === ChunkType.INIT_ACK) && pos + CHUNK_HEADER_LEN + INIT_PARAMS_LEN <= end
          ? u32(buf, pos + chunkField.INIT_TAG)
          : -1;
    }
    count++;
    pos += (len + 3) & ~3;
  }
  out.sctpChunks = count;
  out.sctpBad = bad || count === 0;
}
