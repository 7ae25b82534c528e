/**
 * Advice on a whole rule set that no single rule shows: in the host model,
 * IPv6 depends on neighbour discovery, which conntrack never tracks
 * (ICMPv6 ND is UNTRACKED in nf_conntrack_proto_icmpv6), so an input or
 * output policy of drop kills it unless a rule lets it through; then the
 * host's IPv6 fails as a whole (TCP to an allowed port times out, ping6
 * gets nothing back). The check asks the rule matcher itself, with the
 * packets the host must take in and send, so any rule shape that accepts
 * them counts.
 */
import { LinkType } from '../base/link.js';
import { formatAddr } from '../packet/addr.js';
import { decodePacket, newDecodedPacket } from '../packet/decode.js';
import { buildPacket } from '../packet/encode.js';
import type { DecodedPacket } from '../packet/types.js';
import { compileRuleSet } from './compile.js';
import { firstMatch } from './match.js';
import type { Chain, RuleSet } from './types.js';

/** ICMPv6 types (RFC 4861). */
const NEIGHBOR_SOLICIT = 135;
const NEIGHBOR_ADVERT = 136;
/** The link-local neighbour the probe packets come from and go to. */
const NEIGHBOUR = 'fe80::1';

/** A neighbour discovery message as it crosses the link (hop limit 255), decoded as any captured packet is. */
function ndPacket(type: number, src: string, dst: string): DecodedPacket {
  const frame = buildPacket({ ip: { src, dst, ttl: 255 }, icmpv6: { type, code: 0 } });
  return decodePacket(frame, 0, frame.length, LinkType.ETHERNET, 0, newDecodedPacket());
}

/** ff02::1:ffXX:XXXX, the solicited-node group of the IPv6 address whose last word is `w3`. */
const solicitedNode = (w3: number) => formatAddr(6, 0xff020000, 0, 1, (0xff000000 | (w3 & 0xffffff)) >>> 0);
/** The neighbour's own solicited-node group (fe80::1 ends in 1). */
const NEIGHBOUR_GROUP = solicitedNode(1);

/**
 * For each chain whose policy drops neighbour discovery of one of the
 * host's IPv6 addresses: the message to show (warning text). Empty in the
 * gateway model (a router's own input is not modelled), and when rules let
 * solicitations and advertisements through both ways.
 */
export function neighbourDiscoveryGaps(rs: RuleSet): string[] {
  if (rs.model !== 'host') return [];
  const host6 = (rs.hostAddrs ?? []).filter((c) => c.version === 6);
  if (host6.length === 0) return [];
  const compiled = compileRuleSet(rs);
  const policy = { input: rs.policy, output: rs.outputPolicy, forward: rs.policy };
  const blocked = (chain: Chain, p: DecodedPacket): boolean => {
    const hit = firstMatch(compiled, chain, p);
    return (hit === null ? policy[chain] : hit.action) !== 'accept';
  };
  const out: string[] = [];
  for (const c of host6) {
    // In: a neighbour asks for the host's address, and answers the host's own question.
    // Out: the host asks, and answers.
    const host = formatAddr(6, c.words[0], c.words[1], c.words[2], c.words[3]);
    const probes: Array<[Chain, number, DecodedPacket]> = [
      ['input', NEIGHBOR_SOLICIT, ndPacket(NEIGHBOR_SOLICIT, NEIGHBOUR, solicitedNode(c.words[3]))],
      ['input', NEIGHBOR_ADVERT, ndPacket(NEIGHBOR_ADVERT, NEIGHBOUR, host)],
      ['output', NEIGHBOR_SOLICIT, ndPacket(NEIGHBOR_SOLICIT, host, NEIGHBOUR_GROUP)],
      ['output', NEIGHBOR_ADVERT, ndPacket(NEIGHBOR_ADVERT, host, NEIGHBOUR)],
    ];
    const missing = probes.filter(([chain, , p]) => blocked(chain, p));
    if (missing.length === 0) continue;
    const name = (type: number) => (type === NEIGHBOR_SOLICIT ? 'nd-neighbor-solicit' : 'nd-neighbor-advert');
    const what = missing.map(([chain, type]) => `${name(type)} on ${chain}`).join(', ');
    // One rule per chain, its types as a list where there are two (an nft set).
    const add = (['input', 'output'] as const)
      .map((chain) => {
        const types = missing.filter(([c]) => c === chain).map(([, type]) => name(type));
        if (types.length === 0) return '';
        const type = types.length === 1 ? types[0] : `[${types.join(', ')}]`;
        return `{ proto: icmpv6, type: ${type}${chain === 'output' ? ', chain: output' : ''} }`;
      })
      .filter((r) => r !== '')
      .join(' and ');
    out.push(
      `IPv6 to this host will fail: a policy drops neighbour discovery for ${c.text} (${what}), which conntrack ` +
        'never tracks, so without a rule neighbours cannot reach the host (TCP to allowed ports times out, ping6 ' +
        `gets no answer); add ${add}`,
    );
  }
  return out;
}
