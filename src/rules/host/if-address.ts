/**
 * An interface address as `ip addr add` takes it: ADDR/PREFIX is the
 * address and the network it connects; a bare ADDR connects only itself
 * (/32, /128), as ip does.
 */
import { parseCidr } from '../cidr.js';
import type { IfAddress } from '../firewall.js';

export function parseIfAddress(text: string): IfAddress | { error: string } {
  const slash = text.indexOf('/');
  const a = parseCidr(slash === -1 ? text : text.slice(0, slash));
  if (!a.ok) return { error: a.error };
  const n = parseCidr(text);
  if (!n.ok) return { error: n.error };
  return { addr: a.cidr, net: n.cidr };
}

/** The address `local` with the network of `prefixlen` (ip -j addr's fields). */
export function ifAddressOf(local: string, prefixlen: number): IfAddress | { error: string } {
  return parseIfAddress(`${local}/${prefixlen}`);
}
