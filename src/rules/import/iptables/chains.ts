/**
 * The model's chains from the tables a dump declared: names made unique
 * across tables (plain when only one table has the name, else
 * qualifiedChainName), each line's rules placed in order with ids
 * CHAIN-N (CHAIN-N.K when one line stands for several model rules), jumps
 * resolved, and what the kernel refuses once chains are linked.
 */
import type { Diagnostic, SourcePos } from '../../../base/diag.js';
import type { FwChain, FwRule, Hook, PolicyVerdict, RuleOrigin } from '../../firewall.js';
import { qualifiedChainName } from '../types.js';
import type { IptablesCode } from './codes.js';
import { type Draft, expand, type RuleBody } from './draft.js';
import { type BuiltinChain, TABLES, type TableName } from './names.js';
import { TARGET_SKIPPED } from './rule.js';

/** Jumps the kernel follows from a base chain (NFT_JUMP_STACK_SIZE). */
const MAX_JUMP_DEPTH = 16;

export interface RuleLine {
  draft: Draft;
  pos: SourcePos;
  text: string;
}

export interface ChainState {
  name: string;
  builtin: BuiltinChain | null;
  policy: PolicyVerdict;
  pos: SourcePos;
  text: string;
  rules: RuleLine[];
  modelName: string;
}

export interface TableState {
  name: TableName;
  /** The dump's family where the table stands (a file may hold an iptables-save and an ip6tables-save). */
  family: 4 | 6;
  pos: SourcePos;
  chains: Map<string, ChainState>;
  committed: boolean;
}

export type Report = (
  line: number,
  col: number,
  message: string,
  code: IptablesCode,
  severity?: Diagnostic['severity'],
) => void;

export class ChainBuilder {
  constructor(
    private readonly tables: readonly TableState[],
    private readonly cx: { readonly lenient: boolean },
    private readonly report: Report,
  ) {}

  /** The model's chains: names made unique across tables, rules placed, jumps resolved and checked. */
  build(): FwChain[] {
    const famOf = (t: TableState) => (t.family === 6 ? 'ip6' : 'ip');
    const count = new Map<string, number>();
    for (const t of this.tables) for (const c of t.chains.values()) count.set(c.name, (count.get(c.name) ?? 0) + 1);
    for (const t of this.tables)
      for (const c of t.chains.values())
        c.modelName = (count.get(c.name) ?? 0) > 1 ? qualifiedChainName(famOf(t), t.name, c.name) : c.name;
    const out: FwChain[] = [];
    for (const t of this.tables) {
      const built = new Map<ChainState, FwChain>();
      for (const c of t.chains.values()) {
        const origin: RuleOrigin = { ...c.pos, text: c.text };
        const chain: FwChain = {
          name: c.modelName,
          hook: c.builtin?.hook ?? null,
          type: c.builtin?.type ?? (t.name === 'nat' ? 'nat' : 'filter'),
          priority: c.builtin?.priority ?? 0,
          policy: c.policy,
          rules: [],
          pos: c.pos,
          family: t.family,
          table: `${famOf(t)} ${t.name}`,
          origin,
        };
        built.set(c, chain);
        out.push(chain);
      }
      for (const c of t.chains.values()) this.placeRules(t, c, built.get(c) as FwChain);
      this.checkJumps(t);
    }
    return out;
  }

  private placeRules(t: TableState, c: ChainState, chain: FwChain): void {
    c.rules.forEach((rl, li) => {
      const d = rl.draft;
      let target: string | null = null;
      if (d.targetName !== null) {
        const tc = t.chains.get(d.targetName);
        if (tc !== undefined && tc.builtin === null && d.targetOpt !== null) {
          this.report(
            rl.pos.line,
            d.targetOpt.col,
            `unknown option ${d.targetOpt.text} (a jump to chain ${tc.name} takes none)`,
            'iptables.unknown-option',
          );
          return;
        }
        const builtin = tc !== undefined || Object.hasOwn(TABLES[t.name], d.targetName);
        if (
          tc === undefined &&
          !builtin &&
          d.body.action === 'jump' &&
          (d.targetOpt !== null || /^[A-Z][A-Z0-9_-]*$/.test(d.targetName))
        ) {
          // Named like a target (TARPIT, an xtables-addons one) or given options: a target fwemu does not know.
          const what = `-j ${d.targetName}`;
          const why = 'a target fwemu does not know, and no chain of that name';
          if (!this.cx.lenient) {
            this.report(
              rl.pos.line,
              d.targetCol,
              `${what} is not modelled (${why}); fwemu cannot judge this rule (--lenient reads on with "${TARGET_SKIPPED}")`,
              'iptables.unsupported',
            );
            return;
          }
          this.report(
            rl.pos.line,
            d.targetCol,
            `${what} is not modelled (${why}); --lenient: ${TARGET_SKIPPED}`,
            'iptables.unsupported',
            'warning',
          );
          d.body.action = 'continue';
          d.body.inert ??= TARGET_SKIPPED;
          d.targetName = null;
        } else if (tc === undefined || tc.builtin !== null) {
          this.report(
            rl.pos.line,
            d.targetCol,
            builtin
              ? `${d.body.action} to built-in chain ${d.targetName}: iptables jumps to user chains only`
              : `no chain ${d.targetName} in table ${t.name} and no target fwemu knows by that name (iptables-restore: "Couldn't load target")`,
            builtin ? 'iptables.jump-to-builtin' : 'iptables.unknown-chain',
          );
          return;
        } else target = tc.modelName;
      }
      const bodies = expand(d);
      bodies.forEach((b, k) => {
        const rule = toRule(b, {
          id: bodies.length === 1 ? `${chain.name}-${li + 1}` : `${chain.name}-${li + 1}.${k + 1}`,
          index: chain.rules.length + 1,
          chain: chain.name,
          pos: rl.pos,
          target,
          origin: { file: rl.pos.file, line: rl.pos.line, col: rl.pos.col, text: rl.text },
        });
        chain.rules.push(rule);
      });
    });
  }

  /**
   * What the kernel refuses once the chains are linked: loops, more than
   * 16 jumps, and constructs on chains reached from hooks they do not run
   * on (REJECT outside input/forward/output, DNAT outside prerouting and
   * output, ...). A user chain no base chain reaches is not checked for
   * hooks, as the kernel does not.
   */
  private checkJumps(t: TableState): void {
    const hooks = new Map<ChainState, Set<Hook>>();
    const tooDeep = new Set<RuleLine>();
    // Each chain's jumps, found once: the walks below visit a chain many times.
    const edgeCache = new Map<ChainState, { to: ChainState; rl: RuleLine }[]>();
    const edges = (c: ChainState): { to: ChainState; rl: RuleLine }[] => {
      const known = edgeCache.get(c);
      if (known !== undefined) return known;
      const out: { to: ChainState; rl: RuleLine }[] = [];
      for (const rl of c.rules) {
        const name = rl.draft.targetName;
        const to = name === null ? undefined : t.chains.get(name);
        if (to !== undefined && to.builtin === null) out.push({ to, rl });
      }
      edgeCache.set(c, out);
      return out;
    };
    // Loops: depth-first over the chains (colors: 1 on the path, 2 done), with an explicit
    // stack: a dump may chain 100k user chains one after another.
    const color = new Map<ChainState, number>();
    let loops = false;
    for (const root of t.chains.values()) {
      if ((color.get(root) ?? 0) !== 0) continue;
      const stack: { c: ChainState; out: { to: ChainState; rl: RuleLine }[]; i: number }[] = [];
      color.set(root, 1);
      stack.push({ c: root, out: edges(root), i: 0 });
      while (stack.length > 0) {
        const top = stack[stack.length - 1];
        if (top.i >= top.out.length) {
          color.set(top.c, 2);
          stack.pop();
          continue;
        }
        const { to, rl } = top.out[top.i++];
        const k = color.get(to) ?? 0;
        if (k === 1) {
          loops = true;
          this.report(
            rl.pos.line,
            rl.draft.targetCol,
            `${rl.draft.body.action} to ${to.name} closes a loop (${to.name} leads back to ${top.c.name}); the kernel refuses loops`,
            'iptables.jump-loop',
          );
        } else if (k === 0) {
          color.set(to, 1);
          stack.push({ c: to, out: edges(to), i: 0 });
        }
      }
    }
    // Hooks and depth: breadth-first from each base chain (bounded by the depth limit, so loops end).
    for (const base of t.chains.values()) {
      // Behind a loop every depth is reached; the loop is the error to fix.
      if (base.builtin === null || loops) continue;
      let level = new Set<ChainState>([base]);
      for (let d = 0; level.size > 0 && d <= MAX_JUMP_DEPTH; d++) {
        const next = new Set<ChainState>();
        for (const c of level) {
          const hs = hooks.get(c) ?? new Set<Hook>();
          hooks.set(c, hs);
          hs.add(base.builtin.hook);
          for (const { to, rl } of edges(c)) {
            if (d + 1 === MAX_JUMP_DEPTH) {
              if (tooDeep.has(rl)) continue;
              tooDeep.add(rl);
              this.report(
                rl.pos.line,
                rl.draft.targetCol,
                `${to.name} would be ${MAX_JUMP_DEPTH} jumps deep from ${base.name}; the kernel follows at most ${MAX_JUMP_DEPTH - 1}`,
                'iptables.jump-too-deep',
              );
            } else next.add(to);
          }
        }
        level = next;
      }
    }
    for (const c of t.chains.values()) {
      const hs = hooks.get(c);
      if (hs === undefined) continue;
      for (const rl of c.rules)
        for (const need of rl.draft.hookNeeds) {
          if (need.direct && c.builtin === null) continue;
          const wrong = [...hs].filter((h) => !need.hooks.includes(h));
          if (wrong.length > 0)
            this.report(
              rl.pos.line,
              need.col,
              `${need.what} is valid on ${need.hooks.join(', ')} only; chain ${c.name}${c.builtin === null ? ' is reached from' : ' is on'} ${wrong.join(', ')} (${need.direct ? 'iptables' : 'the kernel'} refuses the rule)`,
              'iptables.wrong-hook',
            );
        }
    }
  }
}

/**
 * The model rule of a body, written out field by field: one object shape
 * for every rule (spreads and deletes leave objects in V8's slow
 * dictionary mode, about 2 KB a rule, which a 100k-rule dump feels).
 */
function toRule(
  b: RuleBody,
  at: { id: string; index: number; chain: string; pos: SourcePos; target: string | null; origin: RuleOrigin },
): FwRule {
  const rule: FwRule = {
    id: at.id,
    idGiven: false,
    index: at.index,
    chain: at.chain,
    comment: b.comment,
    pos: at.pos,
    proto: b.proto,
    family: b.family,
    iif: b.iif,
    oif: b.oif,
    src: b.src,
    dst: b.dst,
    sport: b.sport,
    dport: b.dport,
    icmp: b.icmp,
    tcpFlags: b.tcpFlags,
    ctState: b.ctState,
    ctStatus: b.ctStatus,
    pktType: b.pktType,
    limit: b.limit,
    counter: b.counter,
    log: b.log,
    nat: b.nat,
    action: b.action,
    rejectWith: b.rejectWith,
    target: at.target,
    mark: b.mark,
    fib: b.fib,
    markSet: b.markSet,
    notrack: b.notrack,
    ignored: b.ignored,
    inert: b.inert,
    origin: at.origin,
  };
  if (b.not.length > 0) rule.not = b.not;
  if (b.hopLimit) rule.hopLimit = b.hopLimit;
  return rule;
}
