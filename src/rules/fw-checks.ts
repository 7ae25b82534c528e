/**
 * The firewall model's checks over the whole file (load-firewall.ts reads
 * it): what one rule cannot know alone. Each follows what the kernel or nft
 * refuses, measured with nft -f where it says so.
 */
import { fibHooks } from './fw-meta-values.js';
import type { ParsedNode } from 'yaml';
import { diag } from '../base/diag.js';
import { didYouMean } from '../base/suggest.js';
import { quoted } from '../base/yaml-nodes.js';
import { list } from '../base/yaml-reader.js';
import type { FwChain, FwRule, Hook } from './firewall.js';
import type { Reader } from './fw-read.js';
import type { ReadRule } from './load-fw-rule.js';

/** A chain read, with its rules' extras for the whole-file checks. */
export interface ReadChain {
  chain: FwChain;
  rules: ReadRule[];
}

/** Jumps the kernel follows from a base chain, plus one (NFT_JUMP_STACK_SIZE). */
const MAX_JUMP_DEPTH = 16;

/**
 * Where each kind of NAT statement may stand: the hooks the kernel's
 * validate functions take (nft_nat.c, nft_masq.c, nft_redir.c); measured
 * with nft -f: masquerade on input is refused, snat on input is not.
 */
const NAT_HOOKS: Readonly<Record<'snat' | 'dnat' | 'masquerade' | 'redirect', readonly Hook[]>> = {
  snat: ['postrouting', 'input'],
  masquerade: ['postrouting'],
  dnat: ['prerouting', 'output'],
  redirect: ['prerouting', 'output'],
};

/**
 * The checks that need the whole file: duplicate ids, jump targets, loops
 * and depth, where NAT statements stand, and conditions a hook never
 * meets. `simple`: the chains were built from rules: beside interfaces:,
 * whose preamble owns the ids established and invalid (when `stateful`).
 */
export function checkFirewall(r: Reader, read: readonly ReadChain[], stateful: boolean, simple: boolean): void {
  const byName = new Map(read.map((c) => [c.chain.name, c]));

  // Duplicate ids: over the whole file, as in the simple model.
  const seen = new Map<string, FwRule>();
  for (const c of read)
    for (const { rule, idAt } of c.rules) {
      if (stateful && simple && (rule.id === 'established' || rule.id === 'invalid')) {
        r.error(
          idAt,
          `rule id "${rule.id}" is taken: the stateful preamble that opens each chain (ct_state ${rule.id === 'established' ? 'established,related accept' : 'invalid drop'}) has it; choose another id`,
          'rules.duplicate-id',
        );
        continue;
      }
      const prev = seen.get(rule.id);
      if (prev) {
        const why = !rule.idGiven
          ? ` (this rule has no id and gets the default id ${rule.id})`
          : !prev.idGiven
            ? ` (that rule has no id and gets the default id ${prev.id})`
            : '';
        r.error(
          idAt,
          `duplicate rule id "${rule.id}": also used by the rule at ${r.fmt(prev.pos)}${why}; ids must be unique in the file`,
          'rules.duplicate-id',
        );
      } else seen.set(rule.id, rule);
    }

  // Jump targets: user chains that exist.
  const userNames = read.filter((c) => c.chain.hook === null).map((c) => c.chain.name);
  const edges = new Map<string, { to: string; at: ParsedNode; kind: string }[]>();
  for (const c of read) {
    const out: { to: string; at: ParsedNode; kind: string }[] = [];
    for (const { rule, targetAt } of c.rules) {
      if (rule.target === null || targetAt === null) continue;
      const t = byName.get(rule.target);
      if (t === undefined)
        r.error(
          targetAt,
          `rule ${rule.id}: ${rule.action} ${quoted(rule.target)}: there is no chain ${quoted(rule.target)} under chains:${didYouMean(rule.target, userNames)}${userNames.length > 0 ? ` (user chains: ${list(userNames)})` : ''}`,
          'rules.unknown-chain',
        );
      else if (t.chain.hook !== null)
        r.error(
          targetAt,
          `rule ${rule.id}: ${rule.action} ${rule.target}: ${rule.target} is a base chain (hook: ${t.chain.hook}); jump and goto enter user chains (chains without hook:), as in nft`,
          'rules.jump-to-base-chain',
        );
      else out.push({ to: rule.target, at: targetAt, kind: rule.action });
    }
    edges.set(c.chain.name, out);
  }

  // Loops: a jump or goto back into a chain on the way. The kernel validates
  // what its base chains reach and refuses such a ruleset (EMLINK, "Too many
  // links"); a loop no base chain reaches is accepted, and only warned about.
  const state = new Map<string, 1 | 2>();
  const path: string[] = [];
  let reachedLoop = false;
  // Depth-first without recursion: a 1 MiB file can chain thousands of user chains.
  const visit = (root: string, fromBase: boolean): void => {
    const stack: { name: string; next: number }[] = [{ name: root, next: 0 }];
    state.set(root, 1);
    path.push(root);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const out = edges.get(top.name) ?? [];
      if (top.next === out.length) {
        stack.pop();
        path.pop();
        state.set(top.name, 2);
        continue;
      }
      const { to, at, kind } = out[top.next++];
      const s = state.get(to);
      if (s === undefined) {
        state.set(to, 1);
        path.push(to);
        stack.push({ name: to, next: 0 });
      } else if (s === 1) {
        const cycle = loopText([...path.slice(path.indexOf(to)), to]);
        if (fromBase) {
          reachedLoop = true;
          r.error(
            at,
            `${kind} ${to} closes a loop: ${cycle}; the kernel refuses a ruleset whose chains loop ("Too many links", EMLINK)`,
            'rules.jump-loop',
          );
        } else
          r.warn(
            at,
            `${kind} ${to} closes a loop: ${cycle}; no base chain reaches it, so the kernel takes the ruleset, but a jump into it from a base chain would be refused ("Too many links")`,
            'rules.jump-loop',
          );
      }
    }
  };
  for (const c of read) if (c.chain.hook !== null && !state.has(c.chain.name)) visit(c.chain.name, true);
  for (const c of read) if (!state.has(c.chain.name)) visit(c.chain.name, false);

  // Depth: the kernel follows at most NFT_JUMP_STACK_SIZE - 1 = 15 jumps and gotos from a base chain.
  if (!reachedLoop) {
    const deepest = new Map<string, number>();
    const reported = new Set<string>();
    const walk = (name: string, depth: number, trail: string[]): void => {
      for (const { to, at, kind } of edges.get(name) ?? []) {
        const d = depth + 1;
        if (d >= MAX_JUMP_DEPTH) {
          if (!reported.has(to)) {
            reported.add(to);
            r.error(
              at,
              `${kind} ${to}: chain ${to} is ${d} jumps deep (${[...trail, to].join(' -> ')}); the kernel follows at most ${MAX_JUMP_DEPTH - 1} ("Too many links", EMLINK)`,
              'rules.jump-too-deep',
            );
          }
          continue;
        }
        if ((deepest.get(to) ?? -1) >= d) continue;
        deepest.set(to, d);
        walk(to, d, [...trail, to]);
      }
    };
    for (const c of read) if (c.chain.hook !== null) walk(c.chain.name, 0, [c.chain.name]);
  }

  // NAT: only in nat chains on its hooks; in a user chain, every base chain reaching it must be one.
  const reachers = new Map<string, FwChain[]>();
  for (const c of read) {
    if (c.chain.hook === null) continue;
    const stack = [c.chain.name];
    const done = new Set<string>();
    while (stack.length > 0) {
      const x = stack.pop()!;
      if (done.has(x)) continue;
      done.add(x);
      if (!reachers.has(x)) reachers.set(x, []);
      reachers.get(x)!.push(c.chain);
      for (const { to } of edges.get(x) ?? []) stack.push(to);
    }
  }
  for (const c of read)
    for (const { rule, natAt } of c.rules) {
      if (rule.nat === null || natAt === null) continue;
      const kind = rule.nat.kind;
      if (!stateful) {
        // nf_nat keeps each translation in the flow's conntrack entry: without tracking there is none to keep.
        r.error(
          natAt,
          `rule ${rule.id}: ${kind} needs connection tracking, and the file says stateful: false; NAT is decided on a flow's first packet and kept in its conntrack entry`,
          'rules.nat-needs-conntrack',
        );
        continue;
      }
      for (const b of reachers.get(c.chain.name) ?? []) {
        const from = c.chain.hook !== null ? '' : ` (entered from base chain ${b.name})`;
        if (b.type !== 'nat') {
          r.error(
            natAt,
            `rule ${rule.id}: ${kind} in chain ${c.chain.name}${from}, a ${b.type} chain; NAT statements belong in chains of type: nat${simple ? ' (rules: beside interfaces: are all in filter chains; write chains: for NAT)' : ''}`,
            'rules.nat-outside-nat-chain',
          );
          break;
        }
        if (b.hook !== null && !NAT_HOOKS[kind].includes(b.hook)) {
          r.error(
            natAt,
            `rule ${rule.id}: ${kind} in chain ${c.chain.name}${from} on the ${b.hook} hook; the kernel runs ${kind} only on ${NAT_HOOKS[kind].join(' and ')}`,
            'rules.nat-wrong-hook',
          );
          break;
        }
      }
    }

  // fib: the kernel refuses a lookup by a device the hook's packets lack (nft_fib_validate), also through jumps.
  for (const c of read)
    for (const { rule, fibAt } of c.rules) {
      if (!rule.fib || fibAt === null) continue;
      for (const f of rule.fib) {
        const hooks = fibHooks(f);
        const bad = (reachers.get(c.chain.name) ?? []).find((b) => b.hook !== null && !hooks.includes(b.hook));
        if (bad === undefined) continue;
        const from = c.chain.hook !== null ? '' : ` (entered from base chain ${bad.name})`;
        r.error(
          fibAt,
          `rule ${rule.id}: ${f.text} in chain ${c.chain.name}${from} on the ${bad.hook} hook; the kernel takes it only on ${hooks.join(', ')} (nft: "Operation not supported")`,
          'rules.fib-wrong-hook',
        );
        break;
      }
    }

  // Conditions a hook can never meet: the kernel leaves iif unset on output and oif before routing.
  for (const c of read) {
    const h = c.chain.hook;
    if (h === null) continue;
    for (const { rule } of c.rules) {
      // (Negated, such a condition always holds: nft compares the name "".)
      const key =
        rule.iif !== null && h === 'output' && !rule.not?.includes('iif')
          ? 'iif'
          : rule.oif !== null && (h === 'prerouting' || h === 'input') && !rule.not?.includes('oif')
            ? 'oif'
            : null;
      if (key === null) continue;
      const why =
        key === 'iif'
          ? 'packets the firewall sends have no input interface'
          : 'the output interface is chosen by routing, after this hook';
      r.diags.push(
        diag(
          r.file,
          rule.pos.line,
          rule.pos.col,
          `rule ${rule.id}: ${key} in chain ${c.chain.name} (hook ${h}) never matches: ${why}`,
          'rules.never-matches',
          'warning',
        ),
      );
    }
  }
}

/** "a -> b -> a"; a long loop with its middle left out, so that the message stays one readable line. */
function loopText(chains: readonly string[]): string {
  if (chains.length <= 12) return chains.join(' -> ');
  return `${chains.slice(0, 5).join(' -> ')} -> ... (${chains.length - 10} more) -> ${chains.slice(-5).join(' -> ')}`;
}
