import { icmpCodeNameOf, icmpTypeName } from '../packet/icmp-names.js';
import type { ByteText } from './bytes.js';

/**
 * icmpText() (packet/icmp-names.ts) written into the output buffer without
 * building a string: "echo-request", "destination-unreachable port-unreachable",
 * "type 42 code 3". The names come from tables made once, so a text or
 * jsonl replay names every ICMP packet without allocating. Pure ASCII that
 * needs no JSON escaping; the caller has made room.
 */
export function writeIcmpText(o: ByteText, ipVersion: number, type: number, code: number): void {
  const t = icmpTypeName(ipVersion, type);
  if (t === null) {
    o.ascii('type ');
    o.int(type);
  } else o.ascii(t);
  const c = icmpCodeNameOf(ipVersion, type, code);
  if (c !== null) {
    o.byte(0x20);
    o.ascii(c);
  } else if (code !== 0) {
    o.ascii(' code ');
    o.int(code);
  }
}
