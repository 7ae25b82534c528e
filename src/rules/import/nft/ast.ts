/**
 * The AST of an nftables ruleset: the state `nft -f` leaves behind (tables
 * with their chains, sets, maps, flowtables and objects), after `flush`,
 * `delete`, `add rule`, `add element`, `define` and `include` have been
 * applied. Two readers produce it and one builder (build.ts) turns it into
 * the firewall model, so that text and JSON of one ruleset give one model:
 *
 * - nft text (parser.ts), positions from the file;
 * - nft JSON (`nft -j list ruleset`, ../json/), positions from the JSON.
 *
 * It follows nft's own grammar (parser_bison.y) and JSON schema
 * (libnftables-json(5)) closely, and keeps values symbolic as nft's parser
 * does: "ssh", "established", "10.0.0.0/8" get their meaning from the left
 * side of the match, as in evaluate.c. How JSON maps onto it:
 *
 *   {"table": {family, name}}                  -> Table
 *   {"chain": {type, hook, prio, policy}}      -> Chain, base (prio a number: name null)
 *   {"set"|"map": {type, flags, elem, map}}    -> SetDecl (isMap for "map"; map -> dataType)
 *   {"flowtable"|"counter"|"quota"|"ct helper"|"limit"|...} -> FlowtableDecl / ObjectDecl
 *   {"rule": {expr: [...], comment}}           -> Rule, one Stmt per element of expr
 *   {"match": {op, left, right}}               -> MatchStmt; op "in" -> 'implicit'
 *   {"payload": {protocol, field}}             -> PayloadExpr
 *   {"meta": {key}} / {"ct": {key, dir}}       -> MetaExpr / CtExpr
 *   {"fib": {result, flags}}                   -> FibExpr
 *   {"&"|"|"|"^"|"<<"|">>": [a, b]}            -> BinopExpr
 *   {"concat": [...]}                          -> ConcatExpr
 *   {"set": [...]} (a rule's anonymous set)    -> SetExpr; [k, v] pairs give SetElem.value
 *   {"range": [a, b]} / {"prefix": {addr, len}} -> RangeExpr / PrefixExpr
 *   "@name"                                    -> SetRefExpr
 *   plain strings and numbers                  -> SymbolExpr (String(n) for numbers)
 *   {"accept": null}, {"jump": {target}}, ...  -> VerdictStmt (in a map's data: VerdictExpr)
 *   {"vmap": {key, data}}                      -> VmapStmt
 *   {"map": {key, data}} (inside snat/dnat)    -> MapExpr
 *   {"counter"|"log"|"limit"|"reject"|"notrack"}   -> the statement of that kind
 *   {"snat"|"dnat"|"masquerade"|"redirect": {addr, family, port, flags}} -> NatStmt
 *   {"mangle": {key, value}}                   -> MangleStmt
 *   {"ct helper"|"ct timeout"|"ct expectation": X} (objref statements) -> MangleStmt with key CtExpr
 *                                                (the text parser reads `ct helper set X` so; OtherStmt
 *                                                'ct helper set' is accepted as well)
 *   anything else (quota, flow, queue, dup, fwd, tproxy, synproxy,
 *   set/map updates, meter, xt, ...)           -> OtherStmt, named as in OTHER_STMT_NAMES
 *
 * Expressions fwemu cannot model on a match's left side (socket, osf,
 * numgen, jhash, rt, ipsec, exthdr, raw payload, tcp option, ...) are an
 * UnsupportedExpr naming them; the builder reports it.
 */
import type { SourcePos } from '../../../base/diag.js';

export type TableFamily = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';

/** The whole ruleset, tables in the order they were first created. */
export interface Ruleset {
  tables: Table[];
}

export interface Table {
  family: TableFamily;
  name: string;
  /** `flags dormant` and others, as written. */
  flags: string[];
  comment: string | null;
  chains: Chain[];
  /** Sets and maps (SetDecl.isMap), in file order. */
  sets: SetDecl[];
  flowtables: FlowtableDecl[];
  /** Stateful objects: counter, quota, limit, ct helper, ct timeout, ct expectation, secmark, synproxy. */
  objects: ObjectDecl[];
  pos: SourcePos;
}

/** A base chain's `type T hook H priority P; policy V;`. */
export interface BaseChainSpec {
  /** filter | nat | route (nft's chain types), as written. */
  type: string;
  /** prerouting | input | forward | output | postrouting | ingress | egress, as written. */
  hook: string;
  priority: Priority;
  /** null: nft's default, accept. */
  policy: 'accept' | 'drop' | null;
  /** netdev/ingress chains: `device eth0` / `devices = { ... }`. */
  devices: string[];
  pos: SourcePos;
}

/**
 * A priority: a number (name null, offset the number), or a name with an
 * offset (`dstnat + 5`: name "dstnat", offset 5) that the builder resolves
 * for the table's family and the chain's hook, as nft's evaluate.c does.
 */
export interface Priority {
  name: string | null;
  offset: number;
  /** As written ("dstnat + 5", "-150"). */
  text: string;
  pos: SourcePos;
}

export interface Chain {
  name: string;
  /** null for a user chain (reached by jump/goto only). */
  base: BaseChainSpec | null;
  comment: string | null;
  rules: Rule[];
  pos: SourcePos;
}

export interface Rule {
  stmts: Stmt[];
  comment: string | null;
  /** The rule as written, on one line (whitespace runs folded), for its origin. */
  text: string;
  pos: SourcePos;
}

/** A named set or map. */
export interface SetDecl {
  name: string;
  isMap: boolean;
  /**
   * The key's type: nft's type names (`type ipv4_addr . inet_service`:
   * ["ipv4_addr", "inet_service"]), or, for `typeof`, empty with keyTypeof set.
   */
  keyType: string[];
  /** `typeof ip saddr . tcp dport`: the expressions; null when `type` was used. */
  keyTypeof: Expr[] | null;
  /** Maps: the data type ("verdict", "ipv4_addr", "ipv4_addr . inet_service"); null for a set. */
  dataType: string | null;
  /** interval, timeout, constant, dynamic, ... as written. */
  flags: string[];
  elements: SetElem[];
  /** Anything else given (timeout, size, policy, counter, auto-merge, gc-interval), as written. */
  extra: string[];
  comment: string | null;
  pos: SourcePos;
}

/** One element of a set or map: `key` or `key : value`. */
export interface SetElem {
  key: Expr;
  /** For a map: the element's data (a VerdictExpr in a verdict map). */
  value: Expr | null;
  pos: SourcePos;
}

export interface FlowtableDecl {
  name: string;
  /** The declaration as written, one line. */
  text: string;
  pos: SourcePos;
}

export interface ObjectDecl {
  /** counter | quota | limit | ct helper | ct timeout | ct expectation | secmark | synproxy */
  kind: string;
  name: string;
  /** The declaration as written, one line. */
  text: string;
  pos: SourcePos;
}

// ---------------------------------------------------------------- expressions

interface Node {
  pos: SourcePos;
}

/** `ip saddr`, `tcp dport`, `th dport`, `icmpv6 type`, `ether saddr`, ... */
export interface PayloadExpr extends Node {
  kind: 'payload';
  /** ip, ip6, tcp, udp, udplite, sctp, dccp, icmp, icmpv6, th, ether, vlan, arp, ... */
  protocol: string;
  field: string;
}

/** `meta KEY` and its unqualified forms (`iifname`, `mark`, `pkttype`, ...). */
export interface MetaExpr extends Node {
  kind: 'meta';
  /** nft's key: l4proto, nfproto, protocol, iif, iifname, oif, oifname, mark, pkttype, nftrace, ... */
  key: string;
}

/** `ct KEY`, `ct original saddr`. */
export interface CtExpr extends Node {
  kind: 'ct';
  key: string;
  dir: 'original' | 'reply' | null;
}

/** `fib saddr . iif oif`, `fib daddr type`. */
export interface FibExpr extends Node {
  kind: 'fib';
  /** saddr, daddr, mark, iif, oif, in the order written. */
  flags: string[];
  /** oif | oifname | type */
  result: string;
}

/** An expression fwemu does not model, named as nft names it ("socket transparent", "numgen", "rt mtu"). */
export interface UnsupportedExpr extends Node {
  kind: 'unsupported';
  name: string;
  text: string;
}

export interface BinopExpr extends Node {
  kind: 'binop';
  /** `and` is written `&` here, `or` `|`, `xor` `^`. */
  op: '&' | '|' | '^' | '<<' | '>>';
  left: Expr;
  right: Expr;
}

/** `a . b . c` */
export interface ConcatExpr extends Node {
  kind: 'concat';
  parts: Expr[];
}

/** A literal as written: "22", "ssh", "10.0.0.1", "established", "eth*", "0x10"; its type comes from the match's left side. */
export interface SymbolExpr extends Node {
  kind: 'symbol';
  text: string;
  /** Written in double quotes ("eth0"). */
  quoted: boolean;
}

/** `10.0.0.0/8` */
export interface PrefixExpr extends Node {
  kind: 'prefix';
  addr: Expr;
  len: number;
}

/** `1024-65535`, `10.0.0.1-10.0.0.9` */
export interface RangeExpr extends Node {
  kind: 'range';
  lo: Expr;
  hi: Expr;
}

/** A comma list outside braces: `ct state established,related`, `tcp flags syn,ack`. */
export interface ListExpr extends Node {
  kind: 'list';
  items: Expr[];
}

/** An anonymous set or map written in the rule: `{ 22, 80 }`, `{ 80 : 10.0.0.2 }`, `{ established : accept }`. */
export interface SetExpr extends Node {
  kind: 'set';
  elems: SetElem[];
}

/** `@name`: a named set or map of the rule's table. */
export interface SetRefExpr extends Node {
  kind: 'setref';
  name: string;
}

/** A verdict as data (a verdict map's values). */
export interface VerdictExpr extends Node {
  kind: 'verdict';
  verdict: Verdict;
  /** jump/goto: the chain. */
  target: string | null;
}

/** `KEY map { ... }` / `KEY map @m` (NAT targets from a map). */
export interface MapExpr extends Node {
  kind: 'map';
  key: Expr;
  map: SetExpr | SetRefExpr;
}

export type Expr =
  | PayloadExpr
  | MetaExpr
  | CtExpr
  | FibExpr
  | UnsupportedExpr
  | BinopExpr
  | ConcatExpr
  | SymbolExpr
  | PrefixExpr
  | RangeExpr
  | ListExpr
  | SetExpr
  | SetRefExpr
  | VerdictExpr
  | MapExpr;

// ----------------------------------------------------------------- statements

export type Verdict = 'accept' | 'drop' | 'continue' | 'return' | 'jump' | 'goto';

/** 'implicit': no operator written (nft's OP_IMPLICIT: equality, or "any of these bits" for flags; JSON "in"). */
export type RelOp = 'implicit' | '==' | '!=' | '<' | '>' | '<=' | '>=';

interface StmtNode {
  pos: SourcePos;
  /** The statement as written, one line ("tcp option maxseg size set rt mtu"), for messages. */
  text: string;
}

export interface MatchStmt extends StmtNode {
  kind: 'match';
  left: Expr;
  op: RelOp;
  right: Expr;
}

export interface VerdictStmt extends StmtNode {
  kind: 'verdict';
  verdict: Verdict;
  target: string | null;
}

/** `KEY vmap { v : verdict, ... }` / `KEY vmap @m`. */
export interface VmapStmt extends StmtNode {
  kind: 'vmap';
  key: Expr;
  map: SetExpr | SetRefExpr;
}

export interface CounterStmt extends StmtNode {
  kind: 'counter';
  /** `counter name "x"`: a named counter object. */
  name: string | null;
}

export interface LogStmt extends StmtNode {
  kind: 'log';
  prefix: string | null;
  level: string | null;
  group: number | null;
}

export interface LimitStmt extends StmtNode {
  kind: 'limit';
  rate: number;
  /** second | minute | hour | day | week */
  per: string;
  /** packets | bytes | kbytes | mbytes */
  rateUnit: string;
  /** null: nft's default (5 packets; 0 for bytes). */
  burst: number | null;
  burstUnit: string;
  over: boolean;
  /** `limit name "x"`: a named limit object (rate etc. then unused). */
  name: string | null;
}

export interface RejectStmt extends StmtNode {
  kind: 'reject';
  /** 'tcp reset' | 'icmp' | 'icmpv6' | 'icmpx'; null: nft's default for the family. */
  type: string | null;
  /** For icmp/icmpv6/icmpx: the code's name or number; null for tcp reset or the default. */
  code: string | null;
}

export interface NatStmt extends StmtNode {
  kind: 'nat';
  type: 'snat' | 'dnat' | 'masquerade' | 'redirect';
  /** `dnat ip to ...` in an inet table. */
  family: 'ip' | 'ip6' | null;
  /** snat/dnat: address, range, prefix, or MapExpr (possibly to a concat addr . port); null otherwise. */
  addr: Expr | null;
  /** Port or port range; null: none. */
  port: Expr | null;
  /** random, fully-random, persistent, netmap */
  flags: string[];
}

/** `KEY set VALUE`: meta mark set, ct mark set, tcp option maxseg size set, ip dscp set, meta nftrace set, ... */
export interface MangleStmt extends StmtNode {
  kind: 'mangle';
  key: Expr;
  value: Expr;
}

export interface NotrackStmt extends StmtNode {
  kind: 'notrack';
}

/**
 * Statements outside the model's own, named by OTHER_STMT_NAMES; the
 * builder ignores those that never change a verdict and reports the rest.
 */
export interface OtherStmt extends StmtNode {
  kind: 'other';
  name: OtherStmtName;
}

/** The names an OtherStmt carries (nft's statement words; JSON's keys map onto them). */
export const OTHER_STMT_NAMES = [
  'quota',
  'ct helper set',
  'ct timeout set',
  'ct expectation set',
  'flow add',
  'queue',
  'dup',
  'fwd',
  'tproxy',
  'synproxy',
  'set add',
  'set update',
  'set delete',
  'meter',
  'secmark set',
  'xt',
  'last',
  'connlimit',
  'unknown',
] as const;

export type OtherStmtName = (typeof OTHER_STMT_NAMES)[number];

export type Stmt =
  | MatchStmt
  | VerdictStmt
  | VmapStmt
  | CounterStmt
  | LogStmt
  | LimitStmt
  | RejectStmt
  | NatStmt
  | MangleStmt
  | NotrackStmt
  | OtherStmt;
