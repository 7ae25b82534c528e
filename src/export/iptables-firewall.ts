import { UserError } from '../base/errors.js';
import { visible } from '../base/text-escape.js';
import { CONNTRACK_PRIORITY, type Firewall, type FwChain, type FwRule, type Hook } from '../rules/firewall.js';
import type { RuleSet } from '../rules/types.js';
import { commentLine, shortText } from './comment.js';
import { iptablesComment } from './iptables.js';
import {
  alternatives,
  fail,
  fixedMatches,
  IPTABLES_LOG_PREFIX_MAX_BYTES,
  iptablesLogPrefixText,
  limitMatch,
  logTarget,
  markTarget,
  natTarget,
  rejectTarget,
} from './iptables-fw-words.js';
import { type Family, fwRuleFamilies, interfaceCommentLines, ruleWhere } from './nft-firewall.js';
import { sysctlCommentLines } from './nft.js';

/**
 * The iptables-restore / ip6tables-restore export of the firewall model
 * (rules/firewall.ts). exportIptables() (iptables.ts) hands a RuleSet here
 * when its `firewall` is set; the simple model's export is untouched.
 *
 * nft lets a rule file hang any number of base chains on a hook, each with
 * its own priority and policy, and `accept` in one of them only ends that
 * chain: the packet goes on to the next base chain of the hook. iptables
 * has one built-in chain per table and hook, at the table's fixed priority
 * (mangle -150, nat -100 on prerouting/output and 100 on input/postrouting,
 * filter 0), and ACCEPT ends the built-in chain. So (MAPPING, also written
 * at the top of every exported file):
 *
 * - each base chain goes to a table whose priority keeps its order against
 *   the other base chains of its hook: nat chains to nat, filter chains to
 *   filter (input, forward, output) or else mangle; when neither keeps the
 *   order (a filter chain after dstnat on prerouting), the export fails;
 *   a filter chain under policy accept with no rule that can match does
 *   nothing wherever it runs, and is left out;
 * - a table's only chain on a hook is written into the built-in chain,
 *   with its policy;
 * - several chains on one hook and table become user chains named after
 *   them, run in priority order from the built-in chain (policy ACCEPT).
 *   A chain's accept, and its falling off the end under policy accept,
 *   jump to the next one (which always ends in a verdict, so the jump
 *   never returns); its policy drop is an explicit DROP at its end; its
 *   `return` is its policy; its `goto X` is `-j X` and then its policy;
 *   and a user chain entered from it gets its own copy, whose accept also
 *   jumps to the next chain (named CHAIN.2, CHAIN.3 ... when needed);
 * - iptables matches one alternative per rule, so a rule with lists
 *   (addresses, interfaces, packet types, port groups beyond multiport's
 *   15) becomes one iptables rule per combination when its verdict ends the
 *   chain; otherwise (jump, continue, a log, a limit) the combinations go
 *   to a helper chain (RULE-CHAIN.N) that enters the rule's statements at
 *   most once, so a packet is logged, limited and jumped once, as in nft;
 * - named sets are written out in every rule that uses them (ipset is not
 *   used), ranges through `-m iprange`, port lists through `-m multiport`.
 *
 * What iptables cannot say is an error naming the rule: `ct status dying`,
 * TCP flags ecn/cwr, `limit ... /week` not a whole number per day, `log
 * level audit`, DROP or REJECT in a nat chain, REJECT outside the filter
 * table, masquerade/redirect flags iptables lacks, a log or limit on a
 * `return`/`goto` rule with lists, a chain name iptables cannot hold.
 */

type Table = 'raw' | 'mangle' | 'nat' | 'filter';

/** The priority of each table on each hook it has (iptables' fixed NF_IP_PRI_*). */
const TABLE_PRIORITY: Record<Table, Partial<Record<Hook, number>>> = {
  raw: { prerouting: -300, output: -300 },
  mangle: { prerouting: -150, input: -150, forward: -150, output: -150, postrouting: -150 },
  nat: { prerouting: -100, output: -100, input: 100, postrouting: 100 },
  filter: { input: 0, forward: 0, output: 0 },
};

const HOOKS: readonly Hook[] = ['prerouting', 'input', 'forward', 'output', 'postrouting'];
const TABLES: readonly Table[] = ['raw', 'mangle', 'nat', 'filter'];
const BUILTIN = (h: Hook): string => h.toUpperCase();

/** iptables' longest chain name (XT_EXTENSION_MAXNAMELEN less the NUL). */
const CHAIN_NAME_MAX = 28;

/** Names iptables reads as targets or built-in chains: not usable as user chain names. */
const RESERVED = new Set([
  'ACCEPT',
  'DROP',
  'QUEUE',
  'RETURN',
  'REJECT',
  'LOG',
  'SNAT',
  'DNAT',
  'MASQUERADE',
  'REDIRECT',
  'MARK',
  'NFLOG',
  ...HOOKS.map(BUILTIN),
]);

function chainWhere(c: FwChain): string {
  return `chain "${shortText(c.name)}" (${shortText(c.pos.file)}:${c.pos.line}:${c.pos.col})`;
}

/**
 * The name a chain of the rule file gets in its iptables table: its own.
 * An import names a chain "family/table/chain" where several tables have
 * one of that name (qualifiedChainName: Docker's DOCKER in filter and nat);
 * in iptables each table has names of its own, so the chain's plain name is
 * its name there (newName numbers it should two of them meet in a table).
 */
function iptablesName(name: string): string {
  return /^(?:ip|ip6|inet)\/[^/]+\/(.+)$/.exec(name)?.[1] ?? name;
}

function chainNameProblem(name: string): string | null {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name) || name.length > CHAIN_NAME_MAX || RESERVED.has(name))
    return `iptables needs a chain name of at most ${CHAIN_NAME_MAX} letters, digits, _ . - (not starting with - or .) that is not a target or built-in chain name`;
  return null;
}

/**
 * Which table each base chain goes to (see the top of this file): nat
 * chains to nat; filter chains to filter where the hook has it, else
 * mangle, whichever keeps the chain's order against every other base
 * chain of its hook. Returns the chains of each table and hook in the
 * order they run.
 */
function placeChains(fw: Firewall): Map<string, FwChain[]> {
  const groups = new Map<string, FwChain[]>();
  for (const hook of HOOKS) {
    // A filter chain with no rule that can match and policy accept does nothing wherever it runs: it needs
    // no place (OpenWrt's fw4 keeps an empty prerouting chain at priority 0, after dstnat, where iptables has none).
    const idle = (c: FwChain) => c.type === 'filter' && c.policy === 'accept' && c.rules.every((r) => r.inert);
    const base = fw.chains.filter((c) => c.hook === hook && !idle(c)).sort((a, b) => a.priority - b.priority);
    const placed = new Map<FwChain, Table>();
    for (const c of base) {
      if (c.type !== 'nat') continue;
      if (TABLE_PRIORITY.nat[hook] === undefined)
        throw new UserError(`${chainWhere(c)} cannot be exported to iptables: iptables has no nat chain on ${hook}`);
      placed.set(c, 'nat');
    }
    const keepsOrder = (c: FwChain, t: Table): boolean => {
      const tp = TABLE_PRIORITY[t][hook] as number;
      for (const [o, ot] of placed) {
        const op = TABLE_PRIORITY[ot][hook] as number;
        if (c.priority < o.priority && tp > op) return false;
        if (c.priority > o.priority && tp < op) return false;
      }
      return true;
    };
    for (const c of base) {
      if (c.type === 'nat') continue;
      // A chain before conntrack goes to raw, the one table there (ct state reads invalid in both); none other may.
      const raw = c.priority < CONNTRACK_PRIORITY && (hook === 'prerouting' || hook === 'output');
      const t = (raw ? (['raw'] as const) : (['filter', 'mangle'] as const)).find(
        (x) => TABLE_PRIORITY[x][hook] !== undefined && keepsOrder(c, x),
      );
      if (t === undefined) {
        const others = [...placed.keys()].map((o) => `"${shortText(o.name)}" (${o.type}, priority ${o.priority})`);
        throw new UserError(
          `${chainWhere(c)} cannot be exported to iptables: it runs at priority ${c.priority} on ${hook}, and iptables' filter (0) and mangle (-150) tables would change its order against ${others.join(', ')}`,
        );
      }
      placed.set(c, t);
    }
    for (const c of base) {
      const key = `${placed.get(c)}:${hook}`;
      const list = groups.get(key);
      if (list === undefined) groups.set(key, [c]);
      else list.push(c);
    }
  }
  return groups;
}

/** What `accept` does where a rule is: end the built-in chain, or go on to the next merged base chain. */
interface Cont {
  accept: string;
  key: string;
}

const ACCEPT: Cont = { accept: '-j ACCEPT', key: '' };

/** Where rules are being written. */
interface Level {
  /** The iptables chain the rules go to. */
  out: string;
  hook: Hook;
  cont: Cont;
  /** A merged base chain's user chain: its return and goto need its policy (see the top of this file). */
  basePolicy: string | null;
  /** Rules written straight into the built-in chain. */
  builtin: boolean;
}

/** What a rule does once matched, in iptables targets. */
interface Verdict {
  /** end: ends the chain (accept, drop, ...); leave: RETURN or -g, which must stay in the chain itself; call: -j and back; none. */
  kind: 'end' | 'leave' | 'call' | 'none';
  targets: string[];
}

class TableWriter {
  readonly chains = new Map<string, string[]>();
  readonly policies = new Map<string, string>();
  private readonly copies = new Map<string, string>();
  private readonly queue: { chain: FwChain; name: string; cont: Cont; hook: Hook }[] = [];

  /** Chain names written so far in this table. */
  private readonly taken = new Set<string>();
  /** The rule file's chain names: a helper or numbered copy never takes one. */
  private readonly fileNames: ReadonlySet<string>;

  constructor(
    readonly fw: Firewall,
    readonly table: Table,
    readonly fam: Family,
  ) {
    this.fileNames = new Set(fw.chains.flatMap((c) => [c.name, iptablesName(c.name)]));
    for (const h of HOOKS) {
      if (TABLE_PRIORITY[table][h] === undefined) continue;
      this.chains.set(BUILTIN(h), []);
      this.policies.set(BUILTIN(h), 'ACCEPT');
    }
  }

  /**
   * A new chain name: `want` itself for the first copy of a chain of the
   * rule file (`own`), else `want` cut and numbered, never a name taken or
   * one of the file's chain names.
   */
  newName(want: string, own = false): string {
    const free = (n: string): boolean =>
      !this.taken.has(n) && !RESERVED.has(n) && (own ? n === want : !this.fileNames.has(n));
    let name = want.length <= CHAIN_NAME_MAX && free(want) ? want : '';
    for (let n = 2; name === ''; n++) {
      const suffix = `.${n}`;
      const next = want.slice(0, CHAIN_NAME_MAX - suffix.length) + suffix;
      if (!this.taken.has(next) && !this.fileNames.has(next)) name = next;
    }
    this.taken.add(name);
    this.chains.set(name, []);
    return name;
  }

  /** The iptables chain holding user chain `target` where accept means `cont`: made (and queued for writing) once. */
  userChain(target: string, cont: Cont, hook: Hook, rule: FwRule): string {
    const key = `${target}\u0000${cont.key}`;
    const have = this.copies.get(key);
    if (have !== undefined) return have;
    const chain = this.fw.chains.find((c) => c.name === target && c.hook === null);
    if (chain === undefined) fail(rule, `its ${rule.action} target "${shortText(target)}" is not a user chain`);
    const bad = chainNameProblem(iptablesName(target));
    if (bad !== null) throw new UserError(`${chainWhere(chain)} cannot be exported to iptables: ${bad}`);
    const name = this.newName(iptablesName(target), true);
    this.copies.set(key, name);
    this.queue.push({ chain, name, cont, hook });
    return name;
  }

  /** Writes the queued user chains (and those they enter in turn). */
  drain(): void {
    for (let q = this.queue.shift(); q !== undefined; q = this.queue.shift()) {
      const level: Level = {
        out: q.name,

        hook: q.hook,
        cont: q.cont,
        basePolicy: null,
        builtin: false,
      };
      for (const r of q.chain.rules) this.rule(level, r);
    }
  }

  add(chain: string, line: string): void {
    (this.chains.get(chain) as string[]).push(`-A ${chain} ${line}`);
  }

  /** A group of base chains of one hook in this table (see the top of this file). */
  baseChains(hook: Hook, group: FwChain[]): void {
    const builtin = BUILTIN(hook);
    if (group.length === 1) {
      const c = group[0];
      this.policies.set(builtin, c.policy === 'drop' ? 'DROP' : 'ACCEPT');
      const level: Level = { out: builtin, hook, cont: ACCEPT, basePolicy: null, builtin: true };
      for (const r of c.rules) this.rule(level, r);
      return;
    }
    const names = group.map((c) => {
      const bad = chainNameProblem(iptablesName(c.name));
      if (bad !== null) throw new UserError(`${chainWhere(c)} cannot be exported to iptables: ${bad}`);
      return this.newName(iptablesName(c.name), true);
    });
    this.add(builtin, `-j ${names[0]}`);
    group.forEach((c, i) => {
      const cont: Cont = i + 1 < group.length ? { accept: `-j ${names[i + 1]}`, key: names[i + 1] } : ACCEPT;
      if (c.policy === 'drop' && this.table === 'nat')
        throw new UserError(
          `${chainWhere(c)} cannot be exported to iptables: policy drop in a nat chain that shares its hook with another (iptables refuses DROP in the nat table)`,
        );
      const policy = c.policy === 'drop' ? '-j DROP' : cont.accept;
      const level: Level = { out: names[i], hook, cont, basePolicy: policy, builtin: false };
      for (const r of c.rules) this.rule(level, r);
      this.add(names[i], policy);
    });
  }

  verdict(level: Level, r: FwRule): Verdict {
    if (r.nat !== null) {
      if (this.table !== 'nat') fail(r, 'a NAT statement outside a nat chain');
      return { kind: 'end', targets: [natTarget(r.nat, r, this.fam)] };
    }
    switch (r.action) {
      case 'accept':
        return { kind: 'end', targets: [level.cont.accept] };
      case 'drop':
        if (this.table === 'nat') fail(r, 'iptables refuses DROP in the nat table ("not intended for filtering")');
        return { kind: 'end', targets: ['-j DROP'] };
      case 'reject':
        if (this.table !== 'filter')
          fail(r, `REJECT works only in iptables' filter table, and this chain goes to ${this.table}`);
        return { kind: 'end', targets: [rejectTarget(r, this.fam)] };
      case 'continue':
        return { kind: 'none', targets: [] };
      case 'return':
        return level.basePolicy !== null
          ? { kind: 'end', targets: [level.basePolicy] }
          : { kind: 'leave', targets: ['-j RETURN'] };
      case 'jump':
      case 'goto': {
        if (r.target === null) fail(r, `${r.action} without a target`);
        const name = this.userChain(r.target, level.cont, level.hook, r);
        if (r.action === 'jump') return { kind: 'call', targets: [`-j ${name}`] };
        if (level.basePolicy !== null) return { kind: 'call', targets: [`-j ${name}`, level.basePolicy] };
        return { kind: 'leave', targets: [`-g ${name}`] };
      }
    }
  }

  /** The iptables rules of one rule at `level`. */
  rule(level: Level, r0: FwRule): void {
    // An inert rule never matches: left out.
    if (r0.inert) return;
    let r = r0;
    const fams = fwRuleFamilies(this.fw, r);
    if (!fams.includes(null) && !fams.includes(this.fam)) return;
    // iptables refuses -i on OUTPUT/POSTROUTING and -o on PREROUTING/INPUT; nft's iifname never matches there
    // (its name is ""), and a negated one always does: the condition is left out.
    const noIif = r.iif !== null && (level.hook === 'output' || level.hook === 'postrouting');
    const noOif = r.oif !== null && (level.hook === 'prerouting' || level.hook === 'input');
    if (level.builtin && noIif) {
      if (!r.not?.includes('iif')) return;
      r = { ...r, iif: null };
    }
    if (level.builtin && noOif) {
      if (!r.not?.includes('oif')) return;
      r = { ...r, oif: null };
    }
    // xt_rpfilter loads only in the raw and mangle tables.
    if (r.fib?.some((f) => f.result === 'oif-missing') && this.table !== 'raw' && this.table !== 'mangle')
      fail(r, `-m rpfilter works in the raw and mangle tables only, and this chain goes to ${this.table}`);
    const fixed = fixedMatches(r);
    const alts = alternatives(r, this.fam, level.hook);
    if (alts.length === 0) return;
    const comment = `-m comment ${iptablesComment(r.id)}`;
    const v = this.verdict(level, r);
    // Statements before the verdict, each once per packet: LOG, MARK, CT --notrack (raw only, as the kernel's CT).
    const stmts: string[] = [];
    if (r.log !== null) stmts.push(logTarget(r));
    const mark = markTarget(r);
    if (mark !== null) stmts.push(mark);
    if (r.notrack) {
      if (this.table !== 'raw')
        fail(r, `notrack needs iptables' raw table (CT --notrack), and this chain goes to ${this.table}`);
      stmts.push('-j CT --notrack');
    }
    const log = stmts.length === 0 ? null : stmts;
    const limit = r.limit === null ? null : limitMatch(r);
    const over = r.limit?.over === true;
    const line = (...parts: (string | null)[]): string => parts.filter((p) => p !== null && p !== '').join(' ');
    const body = [...stmts, ...v.targets];

    // One rule: one alternative, at most one target, a limit that gates it.
    if (alts.length === 1 && body.length <= 1 && !over) {
      this.add(level.out, line(fixed, alts[0], limit, comment, body[0] ?? null));
      return;
    }
    // Verdicts that end or leave the chain: the first matching combination decides, so repeats are harmless.
    if (limit === null && log === null && (v.kind === 'end' || v.kind === 'leave' || v.kind === 'none')) {
      for (const a of alts) this.add(level.out, line(fixed, a, comment, v.targets[0] ?? null));
      return;
    }
    if (v.kind === 'leave') {
      // RETURN and goto must be written in this chain: log first (once, through a helper), then leave.
      if (limit !== null)
        fail(r, 'a limit on a return or goto rule with lists or a log (iptables would evaluate the limit twice)');
      this.helper(level, r, fixed, alts, null, false, stmts, comment);
      for (const a of alts) this.add(level.out, line(fixed, a, comment, v.targets[0]));
      return;
    }
    this.helper(level, r, fixed, alts, limit, over, body, comment);
  }

  /**
   * The statements `body` entered once for a packet that matches any of
   * `alts` (and the limit): `-j H` from the chain, H's combinations `-g`
   * to the body chain, whose end returns to the rule's chain.
   */
  helper(
    level: Level,
    r: FwRule,
    fixed: string,
    alts: string[],
    limit: string | null,
    over: boolean,
    body: string[],
    comment: string,
  ): void {
    const base = `${level.out.slice(0, 18)}-${r.index}`;
    const b = this.newName(base);
    if (over) this.add(b, `${limit} ${comment} -j RETURN`);
    for (const t of body) this.add(b, `${comment} ${t}`);
    const gate = !over && limit !== null;
    if (alts.length === 1) {
      this.add(level.out, [fixed, alts[0], gate ? limit : '', comment, `-j ${b}`].filter((x) => x).join(' '));
      return;
    }
    let entry = b;
    if (gate) {
      entry = this.newName(`${base}l`);
      this.add(entry, `${limit} ${comment} -g ${b}`);
    }
    const h = this.newName(`${base}a`);
    this.add(level.out, [fixed, comment, `-j ${h}`].filter((x) => x).join(' '));
    // Each combination again with the fixed matches: -p must precede --dport, multiport, --icmp-type.
    for (const a of alts) this.add(h, [fixed, a, comment, `-g ${entry}`].filter((x) => x).join(' '));
  }

  lines(): string[] {
    const out = [`*${this.table}`];
    for (const [name] of this.chains) {
      const p = this.policies.get(name);
      out.push(`:${name} ${p ?? '-'} [0:0]`);
    }
    for (const [, rules] of this.chains) for (const r of rules) out.push(r);
    out.push('COMMIT');
    return out;
  }
}

/** The semantics note every exported file starts with (see the top of this file). */
export const MAPPING_NOTE: readonly string[] = [
  '# How nft base chains map to iptables: each base chain goes to the table whose fixed priority keeps',
  "# its order on its hook (nat chains to nat; filter chains to filter, or mangle before dstnat). A table's",
  '# only chain on a hook is its built-in chain, with its policy. Several chains on one hook and table run',
  '# as user chains in priority order from the built-in chain: accept (and policy accept) jumps to the next',
  "# one, which always ends in a verdict; policy drop is a DROP at the chain's end; return is the policy;",
  '# goto X is -j X then the policy; a user chain entered before the last one gets a copy (NAME.N) whose',
  '# accept also goes on. A rule with lists becomes one rule per combination, or a helper chain (CHAIN-N...)',
  '# when it logs, limits, jumps or continues, so that it acts once per packet. Named sets are written out.',
];

/** The tables of one family: mangle and nat when used, filter always. */
export function iptablesFirewallTables(fw0: Firewall, fam: Family): string[] {
  // A base chain of the other family (an ip6 chain in the IPv4 part) is not there at all.
  const fw: Firewall = {
    ...fw0,
    chains: fw0.chains.filter((c) => c.hook === null || c.family == null || c.family === fam),
  };
  const groups = placeChains(fw);
  const out: string[] = [];
  for (const table of TABLES) {
    const present = HOOKS.some((h) => groups.has(`${table}:${h}`));
    if (!present && table !== 'filter') continue;
    const w = new TableWriter(fw, table, fam);
    for (const h of HOOKS) {
      const g = groups.get(`${table}:${h}`);
      if (g !== undefined) w.baseChains(h, g);
    }
    w.drain();
    for (const l of w.lines()) out.push(l);
  }
  return out;
}

export function iptablesFirewallRestoreFile(rs: RuleSet, fw: Firewall, fam: Family): string {
  const tool = fam === 4 ? 'iptables-restore' : 'ip6tables-restore';
  return (
    [
      commentLine(
        `Generated by fwemu from ${shortText(rs.file)} (${shortText(rs.name)}): the IPv${fam} part. Load with: ${tool} < FILE`,
      ),
      ...MAPPING_NOTE,
      ...sysctlCommentLines(rs),
      ...interfaceCommentLines(fw),
      ...iptablesFirewallTables(fw, fam),
    ].join('\n') + '\n'
  );
}

export function exportIptablesFirewall(rs: RuleSet, fw: Firewall): string {
  return (
    [
      commentLine(`Generated by fwemu from ${shortText(rs.file)} (${shortText(rs.name)}).`),
      '# Two rulesets: feed the IPv4 part to iptables-restore and the IPv6 part to ip6tables-restore',
      '# (`fwemu export --format iptables --split PREFIX` writes them to PREFIX.v4 and PREFIX.v6).',
      ...MAPPING_NOTE,
      ...sysctlCommentLines(rs),
      ...interfaceCommentLines(fw),
      '# --- iptables-restore (IPv4) ---',
      ...iptablesFirewallTables(fw, 4),
      '# --- ip6tables-restore (IPv6) ---',
      ...iptablesFirewallTables(fw, 6),
    ].join('\n') + '\n'
  );
}

/** What the iptables export must tell the user beyond rule comments: log prefixes cut to LOG's 29 bytes. */
export function iptablesFirewallWarnings(fw: Firewall): string[] {
  const out: string[] = [];
  for (const c of fw.chains) {
    for (const r of c.rules) {
      const p = r.log?.prefix;
      if (p == null || Buffer.byteLength(visible(p), 'utf8') <= IPTABLES_LOG_PREFIX_MAX_BYTES) continue;
      out.push(
        `${ruleWhere(r)}: its log prefix is longer than iptables' LOG keeps (${IPTABLES_LOG_PREFIX_MAX_BYTES} bytes): the export cuts it to "${shortText(iptablesLogPrefixText(p))}"`,
      );
    }
  }
  return out;
}
