/**
 * ICMP and ICMPv6 type and code names: the ones nftables uses (`nft describe
 * icmp type`, `icmpv6 type`, `icmp code`, `icmpv6 code`), and the only ones
 * fwemu reads in rule files or writes in reports, so that a name seen in a
 * replay can be pasted into a rule and into nft. test/packet/icmp-names.test.ts
 * holds these tables to what the installed nft says.
 */

/** ICMP (IPv4) type names, in nft's order. */
export const ICMP_TYPES: Readonly<Record<string, number>> = {
  'echo-reply': 0,
  'destination-unreachable': 3,
  'source-quench': 4,
  redirect: 5,
  'echo-request': 8,
  'router-advertisement': 9,
  'router-solicitation': 10,
  'time-exceeded': 11,
  'parameter-problem': 12,
  'timestamp-request': 13,
  'timestamp-reply': 14,
  'info-request': 15,
  'info-reply': 16,
  'address-mask-request': 17,
  'address-mask-reply': 18,
};

/** ICMPv6 type names, in nft's order (132 has two: nft prints the first). */
export const ICMPV6_TYPES: Readonly<Record<string, number>> = {
  'destination-unreachable': 1,
  'packet-too-big': 2,
  'time-exceeded': 3,
  'parameter-problem': 4,
  'echo-request': 128,
  'echo-reply': 129,
  'mld-listener-query': 130,
  'mld-listener-report': 131,
  'mld-listener-done': 132,
  'mld-listener-reduction': 132,
  'nd-router-solicit': 133,
  'nd-router-advert': 134,
  'nd-neighbor-solicit': 135,
  'nd-neighbor-advert': 136,
  'nd-redirect': 137,
  'router-renumbering': 138,
  'ind-neighbor-solicit': 141,
  'ind-neighbor-advert': 142,
  'mld2-listener-report': 143,
};

/**
 * ICMP code names, in nft's order. nft has names only for destination
 * unreachable's codes (its reject statement sends them); a rule may still
 * use them with any type, as in nft.
 */
export const ICMP_CODES: Readonly<Record<string, number>> = {
  'net-unreachable': 0,
  'host-unreachable': 1,
  'prot-unreachable': 2,
  'port-unreachable': 3,
  'net-prohibited': 9,
  'host-prohibited': 10,
  'admin-prohibited': 13,
  'frag-needed': 4,
};

/** ICMPv6 code names (destination unreachable's), in nft's order. */
export const ICMPV6_CODES: Readonly<Record<string, number>> = {
  'no-route': 0,
  'admin-prohibited': 1,
  'addr-unreachable': 3,
  'port-unreachable': 4,
  'policy-fail': 5,
  'reject-route': 6,
};

/** Destination unreachable: the one type whose codes nft names. */
export const DEST_UNREACH: Readonly<Record<4 | 6, number>> = { 4: 3, 6: 1 };

/** The type (kind 'type') or code names of ICMP (ipVersion 4) or ICMPv6 (6). */
export function icmpNames(ipVersion: number, kind: 'type' | 'code'): Readonly<Record<string, number>> {
  if (kind === 'type') return ipVersion === 6 ? ICMPV6_TYPES : ICMP_TYPES;
  return ipVersion === 6 ? ICMPV6_CODES : ICMP_CODES;
}

/** value -> first name, for the 256 values of a byte; null where nft has no name. */
function byValue(table: Readonly<Record<string, number>>): readonly (string | null)[] {
  const out: (string | null)[] = new Array(256).fill(null);
  for (const [name, v] of Object.entries(table)) if (out[v] === null) out[v] = name;
  return out;
}

// Made once: the reports name the type of every ICMP packet (text-line.ts, json-line.ts).
const TYPE_NAME: Readonly<Record<4 | 6, readonly (string | null)[]>> = {
  4: byValue(ICMP_TYPES),
  6: byValue(ICMPV6_TYPES),
};
const CODE_NAME: Readonly<Record<4 | 6, readonly (string | null)[]>> = {
  4: byValue(ICMP_CODES),
  6: byValue(ICMPV6_CODES),
};

/** nft's name of an ICMP (ipVersion 4) or ICMPv6 (6) type, or null: "echo-request", "nd-neighbor-solicit". */
export function icmpTypeName(ipVersion: number, type: number): string | null {
  return TYPE_NAME[ipVersion === 6 ? 6 : 4][type & 0xff] ?? null;
}

/** nft's name of a code number, whatever the type (as a rule's `code:` reads it), or null. */
export function icmpCodeName(ipVersion: number, code: number): string | null {
  return CODE_NAME[ipVersion === 6 ? 6 : 4][code & 0xff] ?? null;
}

/**
 * The name a report gives a code of this type: nft's name for a code of
 * destination unreachable, else null (code 1 of redirect is no
 * "host-unreachable", though nft would print it so).
 */
export function icmpCodeNameOf(ipVersion: number, type: number, code: number): string | null {
  return type === DEST_UNREACH[ipVersion === 6 ? 6 : 4] ? icmpCodeName(ipVersion, code) : null;
}

/**
 * A type and code in nft's words, as every report shows them: "echo-request",
 * "destination-unreachable port-unreachable", "time-exceeded code 1",
 * "type 42", "type 42 code 3". Code 0 is left out unless it has a name.
 */
export function icmpText(ipVersion: number, type: number, code: number): string {
  const v = ipVersion === 6 ? 6 : 4;
  return usual(v, type, code, 0) ?? compose(v, type, code);
}

/** icmpText() after the protocol, as rules write it: "icmp echo-request", "icmpv6 nd-neighbor-solicit". */
export function icmpWords(ipVersion: number, type: number, code: number): string {
  const v = ipVersion === 6 ? 6 : 4;
  return usual(v, type, code, 1) ?? `${PROTO[v]} ${compose(v, type, code)}`;
}

const PROTO = { 4: 'icmp', 6: 'icmpv6' } as const;

/**
 * The usual texts (code 0, destination unreachable's named codes), made
 * once: reasons ask on every ICMP packet. [without, with the protocol].
 */
function usual(v: 4 | 6, type: number, code: number, withProto: 0 | 1): string | null {
  if (type === DEST_UNREACH[v]) return UNREACH_TEXT[v][withProto][code & 0xff];
  return code === 0 ? TEXT0[v][withProto][type & 0xff] : null;
}

function compose(v: 4 | 6, type: number, code: number): string {
  const t = TYPE_NAME[v][type & 0xff];
  const c = type === DEST_UNREACH[v] ? CODE_NAME[v][code & 0xff] : null;
  const head = t ?? `type ${type}`;
  if (c !== null) return `${head} ${c}`;
  return code === 0 ? head : `${head} code ${code}`;
}

type Texts = Readonly<Record<4 | 6, readonly [readonly (string | null)[], readonly (string | null)[]]>>;

function texts(make: (v: 4 | 6, i: number) => string | null): Texts {
  const both = (v: 4 | 6) => {
    const bare = Array.from({ length: 256 }, (_, i) => make(v, i));
    return [bare, bare.map((t) => (t === null ? null : `${PROTO[v]} ${t}`))] as const;
  };
  return { 4: both(4), 6: both(6) };
}

/** Every type with code 0. */
const TEXT0 = texts((v, type) => compose(v, type, 0));
/** Destination unreachable with each code nft names (null for the others). */
const UNREACH_TEXT = texts((v, code) => (CODE_NAME[v][code] === null ? null : compose(v, DEST_UNREACH[v], code)));
