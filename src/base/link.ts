/**
 * What a captured frame says about itself before its first byte is read:
 * its link-layer type and its direction. Capture readers and writers fill
 * them in from the file; the packet decoder and encoder read them. Both
 * import them from here, so the decoder needs nothing of capture files.
 */

/** Link-layer header types (LINKTYPE_* from tcpdump.org/linktypes.html). */
export const LinkType = {
  NULL: 0, // BSD loopback: 4-byte address family in host byte order of the writer
  ETHERNET: 1,
  RAW: 101, // raw IP, version taken from the first nibble
  LOOP: 108, // OpenBSD loopback: 4-byte address family in network byte order
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;
export type LinkTypeValue = (typeof LinkType)[keyof typeof LinkType];

/** Packet direction relative to the capturing interface, when the format records it. */
export const Direction = {
  UNKNOWN: 0,
  INBOUND: 1, // received by the capturing host (SLL "to us"/broadcast/multicast/other-host, EPB flags inbound)
  OUTBOUND: 2, // sent by the capturing host (SLL "outgoing", EPB flags outbound)
} as const;
export type DirectionValue = (typeof Direction)[keyof typeof Direction];
