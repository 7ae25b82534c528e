/** ARP (RFC 826) for Ethernet and IPv4: only built (the decoder names it and lets it be). */

import { writeU16, writeU32 } from './bytes.js';
import { EtherType } from './ethernet.js';

/** Fields, as offsets from the ARP header start (Ethernet/IPv4 sizes). */
// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
export const enum field {
  HTYPE = 0,
  PTYPE = 2,
  HLEN = 4,
  PLEN = 5,
  OPER = 6,
  SHA = 8,
  SPA = 14,
  THA = 18,
  TPA = 24,
}
export const PACKET_LEN = 28;
// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
export const enum Op {
  REQUEST = 1,
  REPLY = 2,
}
const HTYPE_ETHERNET = 1;

export function buildArpPacket(
  op: number,
  senderMac: Uint8Array,
  senderIp: number,
  targetMac: Uint8Array,
  targetIp: number,
): Uint8Array {
  const a = new Uint8Array(PACKET_LEN);
  writeU16(a, field.HTYPE, HTYPE_ETHERNET);
  writeU16(a, field.PTYPE, EtherType.IPV4);
  a[field.HLEN] = 6;
  a[field.PLEN] = 4;
  writeU16(a, field.OPER, op);
  a.set(senderMac, field.SHA);
  writeU32(a, field.SPA, senderIp);
  a.set(targetMac, field.THA);
  writeU32(a, field.TPA, targetIp);
  return a;
}
