/** Ethernet II (IEEE 802.3) headers and 802.1Q / 802.1ad VLAN tags. */

import { u16, writeU16 } from './bytes.js';

/** Ethernet header fields, as offsets from the frame start. */
// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
export const enum field {
  DESTINATION = 0,
  SOURCE = 6,
  ETHERTYPE = 12,
}
export const HEADER_LEN = 14;
/** The minimum frame (without FCS): shorter frames are padded on the wire. */
export const MIN_FRAME_LEN = 60;

/** A VLAN tag's fields, as offsets from the tag (which follows the TPID). */
// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
export const enum vlanField {
  TCI = 0,
  ETHERTYPE = 2,
}
export const VLAN_TAG_LEN = 4;
export const VLAN_ID_MASK = 0x0fff;

// biome-ignore lint/suspicious/noConstEnum: tsc writes the numbers into the hot path (objects cost a load each, decode.ts)
export const enum EtherType {
  IPV4 = 0x0800,
  ARP = 0x0806,
  IPV6 = 0x86dd,
  /** 802.1Q tag. */
  VLAN = 0x8100,
  /** 802.1ad service tag (QinQ), and the pre-standard one. */
  QINQ = 0x88a8,
  QINQ_OLD = 0x9100,
}

/** Values below this in the ethertype field are 802.3 lengths. */
const MAX_802_3_LENGTH = 1500;

export function etherType(b: Uint8Array, frame: number): number {
  return u16(b, frame + field.ETHERTYPE);
}

export function isVlanTpid(t: number): boolean {
  return t === EtherType.VLAN || t === EtherType.QINQ || t === EtherType.QINQ_OLD;
}

const ETHERTYPE_NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  [0x0806, 'ARP'],
  [0x8035, 'RARP'],
  [0x88cc, 'LLDP'],
  [0x888e, 'EAPOL'],
  [0x8863, 'PPPoE discovery'],
  [0x8864, 'PPPoE session'],
  [0x8847, 'MPLS'],
  [0x8848, 'MPLS multicast'],
  [0x8809, 'slow protocols (LACP)'],
  [0x88f7, 'PTP'],
  [0x88e5, 'MACsec'],
  [0x8100, '802.1Q'],
  [0x9000, 'loopback'],
  [0x893a, 'IEEE 1905.1'],
  [0x88b8, 'GOOSE'],
  [0x8915, 'RoCE'],
  [0x22f0, 'AVTP'],
  [0x6003, 'DECnet'],
  [0x809b, 'AppleTalk'],
  [0x8137, 'IPX'],
  [0x88a8, '802.1ad'],
]);

const nameCache = new Map<number, string>();

/** Name of a non-IP ethertype: "ARP", "LLDP", ..., or "ethertype 0x88b5". Cached. */
export function etherTypeName(t: number): string {
  const known = ETHERTYPE_NAMES.get(t);
  if (known !== undefined) return known;
  if (t <= MAX_802_3_LENGTH) return '802.3 length field (LLC)';
  let s = nameCache.get(t);
  if (s === undefined) {
    s = 'ethertype 0x' + t.toString(16).padStart(4, '0');
    nameCache.set(t, s);
  }
  return s;
}

// ---------------------------------------------------------------------------
// Building

export function buildEthernetHeader(dst: Uint8Array, src: Uint8Array, type: number): Uint8Array {
  const h = new Uint8Array(HEADER_LEN);
  h.set(dst, field.DESTINATION);
  h.set(src, field.SOURCE);
  writeU16(h, field.ETHERTYPE, type);
  return h;
}

/** A VLAN tag: priority and id, then the ethertype of what follows it. */
export function buildVlanTag(pcp: number, vid: number, type: number): Uint8Array {
  const t = new Uint8Array(VLAN_TAG_LEN);
  writeU16(t, vlanField.TCI, ((pcp & 7) << 13) | vid);
  writeU16(t, vlanField.ETHERTYPE, type);
  return t;
}
