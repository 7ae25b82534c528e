import { visible } from '../base/text-escape.js';

/**
 * Names from a rule file that the firewall-model exports write as words of
 * the ruleset: chain and set names (nft: `chain NAME`, `jump NAME`,
 * `@NAME`; iptables: `-N NAME`, `-j NAME`) and interface names
 * (`iifname "lan0"`, `-i lan0`). None of them can be quoted in nft
 * 1.0.6 (`chain "x"` is a syntax error) and none in iptables-restore
 * (a chain is one word), so a name that is not a plain word is refused
 * rather than escaped: there is no escape.
 */

/**
 * The words nft's scanner reads as keywords in every context (src/scanner.l,
 * rules outside a start condition), in nftables 1.0.6 and in its current
 * source: a chain or set with one of these names is a syntax error
 * wherever it is written (`chain counter {` fails; `chain filter {` does
 * not, `filter` being a keyword only after `type`). Checked against nft
 * 1.0.6 by loading a chain of each name (test/export/fw-nft.test.ts).
 */
export const NFT_KEYWORDS: ReadonlySet<string> = new Set(
  (
    'accept add ah all and arp auto-merge bridge cgroup chain comment comp constant continue counter cpu ' +
    'create ct day dccp define delete describe destroy device devices dnat drop dst dup dynamic ecn ' +
    'element elements eq esp ether exists expires export exthdr fib flags flow flowtable flush frag fwd ' +
    'gc-interval ge geneve get goto gre gretap gt handle hbh hook hour ibriport ibrname icmp icmpv6 igmp ' +
    'iif iifgroup iifname iiftype import include index inet insert interval ip ip6 ipsec jhash jump last ' +
    'le limit list log lshift lt map mark masquerade meta meter mh missing monitor ne netdev nftrace not ' +
    'notrack numgen obriport obrname offload oif oifgroup oifname oiftype or osf pkttype policy position ' +
    'priority queue quota random redefine redirect reject rename replace reset return rshift rt rt0 rt2 ' +
    'rtclassid rule ruleset sctp secmark set size skgid skuid snat socket srh symhash synproxy table tcp ' +
    'th time timeout tproxy tunnel type typeof udp udplite undefine update vlan vmap vni vxlan xor xt'
  ).split(' '),
);

/** nft's NFT_NAME_MAXLEN less its NUL: the longest chain or set name. */
const NFT_NAME_MAX = 255;

/**
 * Why `name` cannot be an nft chain or set name (`what` says which, for
 * the message), or null: nft's unquoted word (a letter or _, then letters,
 * digits, _ . - and /), not one of its keywords, at most 255 bytes.
 */
export function nftNameProblem(what: string, name: string): string | null {
  if (!/^[A-Za-z_][A-Za-z0-9_./-]*$/.test(name) || name.length > NFT_NAME_MAX)
    return `${what} "${visible(name)}" cannot be written in nft: a name must be a letter or _, then letters, digits, _ . - or / (at most ${NFT_NAME_MAX})`;
  if (NFT_KEYWORDS.has(name))
    return `${what} "${name}" is an nft keyword, which nft cannot read as a name (\`chain ${name} {\` is a syntax error): rename it`;
  return null;
}

/**
 * Why `name` cannot be written as an interface name (`iifname "NAME"`,
 * `-i NAME`), or null: the design's interface names, 1-15 of
 * [A-Za-z0-9_.-], and a trailing `*` for "any suffix".
 */
export function ifNameProblem(name: string): string | null {
  if (/^[A-Za-z0-9_.-]{1,15}\*?$/.test(name) || name === '*') return null;
  return `interface name "${visible(name)}" is not 1-15 of letters, digits, _ . - (and an optional trailing *)`;
}
