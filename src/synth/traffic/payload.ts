/**
 * Filler payloads: what generated packets carry when the scenario gives a
 * size but no bytes.
 */

/** Filler payload: lowercase letters, continuing across segments of one stream. */
export function filler(offset: number, len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = 0x61 + ((offset + i) % 26);
  return b;
}

/** UDP ports whose payload is made a well-formed DNS message (so dissectors see DNS, not garbage). */
export const DNS_PORTS = new Set([53, 5353]);

/**
 * A DNS query (or a response without answers) of exactly n bytes: the
 * question's name is made as long as needed. Null when n is too small.
 */
export function dnsMessage(n: number, id: number, response: boolean): Uint8Array | null {
  const nameLen = n - 16; // header 12, QTYPE + QCLASS 4
  if (nameLen < 1) return null;
  const b = new Uint8Array(n);
  const v = new DataView(b.buffer);
  v.setUint16(0, id);
  v.setUint16(2, response ? 0x8180 : 0x0100);
  v.setUint16(4, 1);
  let p = 12;
  let remaining = nameLen - 1; // bytes of labels before the root label
  let k = 0;
  while (remaining > 0) {
    let c = Math.min(64, remaining);
    if (remaining - c === 1) c = remaining - 2;
    if (c < 2) return null;
    b[p++] = c - 1;
    for (let i = 1; i < c; i++) b[p++] = 0x61 + (k++ % 26);
    remaining -= c;
  }
  b[p++] = 0;
  v.setUint16(p, 1); // A
  v.setUint16(p + 2, 1); // IN
  return b;
}
