/**
 * One nft rule to model rules: its statements applied in order to a list
 * of drafts (one per expansion element), then each draft made a FwRule
 * with the rule's origin. Statements that never change a verdict are kept
 * in `ignored`; constructs fwemu cannot model are errors, or with
 * --lenient warnings with a stated meaning (a match makes the rule inert,
 * a statement is skipped).
 */
import { diag } from '../../../base/diag.js';
import type { FwRule, NatStatement } from '../../firewall.js';
import { parseRejectWith } from '../../fw-values.js';
import type { IgnoredConstruct, ImportOptions } from '../types.js';
import type { Expr, MangleStmt, NatStmt, Rule, SetElem, Stmt } from './ast.js';
import { type MatchCtx, matchAlts } from './build-match.js';
import { IGNORED_MEANING, ignoredSet, markSet, natTarget, toRule } from './build-stmt.js';
import { show } from './build-values.js';
import { type Assign, applyAssign, type Draft, newDraft, Unmodelled } from './draft.js';

/** Model rules one nft rule may expand into; beyond this the rule is refused. */
export const MAX_EXPANSION = 4096;

export interface RuleCtx extends MatchCtx {
  opts: ImportOptions;
  ignored: IgnoredConstruct[];
  /** The table's family: ip 4, ip6 6, inet null. */
  family: 4 | 6 | null;
  tableFamily: 'ip' | 'ip6' | 'inet';
  /** The model's name of the table's chain, or null when the table has none of that name. */
  chain(name: string): string | null;
}

const INERT = 'the rule never matches';

export function buildRule(ctx: RuleCtx, rule: Rule, chainName: string, n: number, out: FwRule[]): void {
  let drafts: Draft[] = [newDraft(ctx.family)];
  const diagsBefore = ctx.diags.length;
  let expanded = false;
  const report = (pos: Expr['pos'], message: string, code: string, warn = false): void => {
    ctx.diags.push(diag(pos.file, pos.line, pos.col, message, code, warn ? 'warning' : 'error'));
  };
  /** An unmodelled match: an error, or with --lenient the rule made inert. */
  const badMatch = (pos: Expr['pos'], what: string): void => {
    if (ctx.opts.lenient) {
      report(pos, `${what}; --lenient: ${INERT}`, 'nft.unsupported', true);
      drafts = drafts.map((d) => ({ ...d, inert: INERT }));
    } else report(pos, `${what} (--lenient makes the rule never match)`, 'nft.unsupported');
  };
  /** An unmodelled statement: an error, or with --lenient skipped. */
  const badStmt = (s: Stmt, what: string, meaning: string): void => {
    if (ctx.opts.lenient)
      report(s.pos, `\`${s.text}\`: ${what}; --lenient: skipped (${meaning})`, 'nft.unsupported', true);
    else report(s.pos, `\`${s.text}\`: ${what} (--lenient skips it: ${meaning})`, 'nft.unsupported');
  };
  const badValue = (pos: Expr['pos'], message: string): void => report(pos, message, 'nft.bad-value');
  const ignore = (s: Stmt, meaning: string): void => {
    drafts = drafts.map((d) => ({ ...d, ignored: [...d.ignored, s.text] }));
    ctx.ignored.push({ pos: s.pos, text: s.text, meaning });
  };
  /** Joins alternatives to the drafts; false when the result was refused. */
  const join = (alts: Assign[][], pos: Expr['pos'], extra?: (d: Draft, k: number) => Draft | null): boolean => {
    const next: Draft[] = [];
    if (alts.length > 1) expanded = true;
    for (const d of drafts)
      for (let k = 0; k < alts.length; k++) {
        let x: Draft | null = d;
        try {
          for (const a of alts[k]) {
            x = applyAssign(x, a);
            if (x === null) break;
          }
        } catch (e) {
          if (!(e instanceof Unmodelled)) throw e;
          badMatch(pos, e.why);
          return false;
        }
        if (x !== null && extra !== undefined) x = extra(x, k);
        if (x !== null) next.push(x);
        if (next.length > MAX_EXPANSION) {
          report(pos, `the rule expands into more than ${MAX_EXPANSION} model rules`, 'nft.too-big');
          return false;
        }
      }
    drafts = next;
    return true;
  };

  for (const s of rule.stmts) {
    if (drafts.length > 0 && drafts.every((d) => d.done)) break;
    switch (s.kind) {
      case 'match': {
        const r = matchAlts(ctx, s.left, s.op, s.right);
        if (!r.ok) {
          if (r.unsupported) badMatch(r.pos, `\`${s.text}\`: ${r.error}`);
          else report(r.pos, `\`${s.text}\`: ${r.error}`, 'nft.bad-value');
          break;
        }
        join(r.alts, s.pos);
        break;
      }
      case 'verdict': {
        if (s.target !== null && ctx.chain(s.target) === null) {
          report(
            s.pos,
            `${s.verdict} ${s.target}: no user chain ${s.target} in this table (jump and goto reach user chains only)`,
            'nft.unknown-chain',
          );
          break;
        }
        const target = s.target === null ? null : ctx.chain(s.target);
        drafts = drafts.map((d) => ({ ...d, action: s.verdict, target, done: true }));
        break;
      }
      case 'vmap':
        vmap(s.key, s.map, s);
        break;
      case 'counter':
        drafts = drafts.map((d) => ({ ...d, counter: true }));
        break;
      case 'log':
        drafts = drafts.map((d) => ({ ...d, log: { prefix: s.prefix, level: s.level } }));
        break;
      case 'limit': {
        if (s.name !== null) {
          badMatch(s.pos, `\`${s.text}\`: a named limit object is not modelled`);
          break;
        }
        if (s.rateUnit !== 'packets') {
          badMatch(s.pos, `\`${s.text}\`: byte rates are not modelled (fwemu limits packets)`);
          break;
        }
        const burst = s.burst ?? 5;
        if (s.rate < 1 || s.rate > 0xffffffff || burst < 1 || burst > 0xffffffff) {
          report(s.pos, `\`${s.text}\`: rate and burst must be 1-4294967295`, 'nft.bad-value');
          break;
        }
        const unit = s.per as 'second' | 'minute' | 'hour' | 'day' | 'week';
        const limit = {
          rate: s.rate,
          unit,
          burst,
          over: s.over,
          text: `${s.over ? 'over ' : ''}${s.rate}/${unit} burst ${burst} packets`,
        };
        drafts = drafts.map((d) => ({ ...d, limit }));
        break;
      }
      case 'reject':
        reject(s);
        break;
      case 'nat':
        nat(s);
        break;
      case 'mangle':
        mangle(s);
        break;
      case 'notrack':
        drafts = drafts.map((d) => ({ ...d, notrack: true }));
        break;
      case 'other':
        other(s);
        break;
    }
  }

  if (expanded && drafts.some((d) => d.limit !== null)) {
    // design-18: the kernel's one bucket would become one per model rule
    const what = `\`${rule.text}\`: a limit in a rule that expands into ${drafts.length} model rules (one per element) is not modelled`;
    if (ctx.opts.lenient)
      report(
        rule.pos,
        `${what}; --lenient: each element gets its own bucket of the same rate`,
        'nft.unsupported',
        true,
      );
    else report(rule.pos, `${what} (--lenient gives each element its own bucket of the same rate)`, 'nft.unsupported');
  }
  if (drafts.length === 0 && !ctx.diags.slice(diagsBefore).some((d) => d.severity === 'error'))
    report(
      rule.pos,
      `\`${rule.text}\`: no packet can match this rule (an empty set or map, or conditions that need different protocols or IP families); it is left out`,
      'nft.never-matches',
      true,
    );
  const many = expanded || drafts.length > 1;
  drafts.forEach((d, k) => {
    out.push(toRule(d, rule, chainName, many ? `${chainName}-${n}.${k + 1}` : `${chainName}-${n}`, out.length + 1));
  });

  function vmap(key: Expr, map: Expr, s: Stmt): void {
    const elems = mapElems(map, s);
    if (elems === null) return;
    if (rule.stmts[rule.stmts.length - 1] !== s) {
      badMatch(s.pos, `\`${s.text}\`: statements after a verdict map are not modelled`);
      return;
    }
    const alts: Assign[][] = [];
    const verdicts: Expr[] = [];
    for (const e of elems) {
      const r = matchAlts(ctx, key, 'implicit', e.key);
      if (!r.ok) {
        if (r.unsupported) badMatch(r.pos, `\`${s.text}\`: ${r.error}`);
        else report(r.pos, `\`${s.text}\`: ${r.error}`, 'nft.bad-value');
        return;
      }
      if (e.value === null) {
        report(
          e.pos,
          `\`${s.text}\`: ${show(e.key)} has no verdict (a set where a verdict map is needed)`,
          'nft.bad-value',
        );
        return;
      }
      for (const a of r.alts) {
        alts.push(a);
        verdicts.push(e.value);
      }
    }
    expanded = true;
    join(alts, s.pos, (d, k) => {
      const v = verdicts[k];
      if (v.kind !== 'verdict') {
        report(v.pos, `\`${s.text}\`: ${show(v)} is not a verdict`, 'nft.bad-value');
        return null;
      }
      const target = v.target === null ? null : ctx.chain(v.target);
      if (v.target !== null && target === null) {
        report(
          v.pos,
          `${v.verdict} ${v.target}: no user chain ${v.target} in this table (jump and goto reach user chains only)`,
          'nft.unknown-chain',
        );
        return null;
      }
      return { ...d, action: v.verdict, target, done: true };
    });
  }

  /** The elements of an anonymous map or a named one (null when reported). */
  function mapElems(map: Expr, s: Stmt): SetElem[] | null {
    if (map.kind === 'set') return map.elems;
    if (map.kind === 'setref') {
      const m = ctx.set(map.name);
      if (m === undefined || !m.isMap) {
        report(map.pos, `\`${s.text}\`: @${map.name} is not a map of this table`, 'nft.unknown-set');
        return null;
      }
      if (ctx.dynamic(map.name)) {
        badMatch(map.pos, `\`${s.text}\`: @${map.name} is filled while packets pass (a dynamic map)`);
        return null;
      }
      return m.elements;
    }
    report(map.pos, `\`${s.text}\`: ${show(map)} is not a map`, 'nft.bad-value');
    return null;
  }

  function reject(s: Stmt & { kind: 'reject' }): void {
    let text: string;
    const req: Assign[] = [];
    if (s.type === null) {
      // nft's default (evaluate.c): icmpx port-unreachable in inet, icmp / icmpv6 port-unreachable in ip / ip6
      text =
        ctx.tableFamily === 'inet'
          ? 'icmpx port-unreachable'
          : ctx.tableFamily === 'ip'
            ? 'icmp port-unreachable'
            : 'icmpv6 port-unreachable';
    } else {
      const w = parseRejectWith(s.type === 'tcp reset' ? 'tcp reset' : `${s.type} ${s.code ?? ''}`);
      if (!w.ok) {
        report(s.pos, `\`${s.text}\`: ${w.error}`, 'nft.bad-value');
        return;
      }
      text = w.value.text;
      // nft adds the dependency the reject needs: meta l4proto tcp, or the ICMP's family
      if (w.value.kind === 'tcp') req.push({ f: 'proto', v: 'tcp', family: null, neg: false });
      if (w.value.kind === 'icmp') req.push({ f: 'family', v: 4 });
      if (w.value.kind === 'icmpv6') req.push({ f: 'family', v: 6 });
    }
    join([req], s.pos, (d) => ({ ...d, action: 'reject', rejectWith: text, done: true }));
  }

  function nat(s: NatStmt): void {
    if (s.addr !== null && s.addr.kind === 'map') {
      natMap(s, s.addr);
      return;
    }
    if (s.port !== null && s.port.kind === 'map') {
      badMatch(s.port.pos, `\`${s.text}\`: ports from a map are modelled only with addresses from the same map`);
      return;
    }
    const st = natTarget(s, s.addr, s.port, badMatch, badValue);
    if (st === null) return;
    setNat(s, st);
  }

  function setNat(s: NatStmt, st: NatStatement, d0?: Draft): Draft | null {
    const apply = (d: Draft): Draft | null => {
      let x: Draft | null = d;
      if (st.addr !== null) x = applyAssign(x, { f: 'family', v: st.addr.version });
      if (x !== null && s.family !== null) x = applyAssign(x, { f: 'family', v: s.family === 'ip' ? 4 : 6 });
      if (x === null) return null;
      if (st.ports !== null && x.proto !== 'tcp' && x.proto !== 'udp') {
        report(
          s.pos,
          `\`${s.text}\`: NAT to a port needs a tcp or udp match before it (nft: transport protocol mapping is only valid after transport protocol match)`,
          'nft.bad-value',
        );
        return null;
      }
      return { ...x, nat: st, action: 'accept', done: true };
    };
    if (d0 !== undefined) return apply(d0);
    drafts = drafts.map(apply).filter((d): d is Draft => d !== null);
    return null;
  }

  /** `dnat to KEY map { k : addr [. port] }` (and the old `dnat KEY map {...} : KEY map {...}`). */
  function natMap(s: NatStmt, m: Expr & { kind: 'map' }): void {
    const elems = mapElems(m.map, s);
    if (elems === null) return;
    let portElems: SetElem[] | null = null;
    if (s.port !== null) {
      if (s.port.kind !== 'map' || show(s.port.key) !== show(m.key)) {
        badMatch(s.port.pos, `\`${s.text}\`: ports from a different key than the addresses are not modelled`);
        return;
      }
      portElems = mapElems(s.port.map, s);
      if (portElems === null) return;
    }
    const alts: Assign[][] = [];
    const targets: NatStatement[] = [];
    for (const e of elems) {
      const r = matchAlts(ctx, m.key, 'implicit', e.key);
      if (!r.ok) {
        if (r.unsupported) badMatch(r.pos, `\`${s.text}\`: ${r.error}`);
        else report(r.pos, `\`${s.text}\`: ${r.error}`, 'nft.bad-value');
        return;
      }
      let addr: Expr | null = e.value;
      let port: Expr | null = null;
      if (addr !== null && addr.kind === 'concat' && addr.parts.length === 2) [addr, port] = addr.parts;
      if (portElems !== null) {
        const pe = portElems.find((x) => show(x.key) === show(e.key));
        if (pe === undefined) continue; // no port for this key: nft's lookup fails and the rule does not match
        port = pe.value;
      }
      const st = natTarget(s, addr, port, badMatch, badValue);
      if (st === null) return;
      for (const a of r.alts) {
        alts.push(a);
        targets.push(st);
      }
    }
    expanded = true;
    join(alts, s.pos, (d, k) => setNat(s, targets[k], d));
  }

  function mangle(s: MangleStmt): void {
    const k = s.key;
    if (k.kind === 'meta' && k.key === 'mark') {
      const ms = markSet(s.value);
      if (ms === null) {
        badStmt(s, 'a mark computed from something other than the mark and constants', 'the mark is left as it was');
        return;
      }
      drafts = drafts.map((d) => ({ ...d, markSet: { ...ms, text: s.text } }));
      return;
    }
    const meaning = ignoredSet(k);
    if (meaning !== null) {
      ignore(s, meaning);
      return;
    }
    if (k.kind === 'ct' && k.key === 'mark') {
      badStmt(
        s,
        'ct mark (connmark) is not modelled',
        'the connection keeps no mark; rules that read it are reported where they do',
      );
      return;
    }
    badStmt(s, `setting ${show(k)} is not modelled`, 'the packet is judged as if the statement were not there');
  }

  function other(s: Stmt & { kind: 'other' }): void {
    switch (s.name) {
      case 'quota':
        if (/\bover\b/.test(s.text)) {
          badMatch(
            s.pos,
            `\`${s.text}\`: a quota over its limit is not modelled (fwemu takes every quota as not used up)`,
          );
          return;
        }
        ignore(s, IGNORED_MEANING.quota);
        return;
      case 'ct helper set':
        ignore(s, IGNORED_MEANING['ct helper set']);
        return;
      case 'flow add':
        ignore(s, IGNORED_MEANING['flow add']);
        return;
      case 'last':
        ignore(s, IGNORED_MEANING.last);
        return;
      case 'queue':
        badStmt(
          s,
          'queue (a userspace program decides) is not modelled',
          'the packet is not queued; the walk goes on with the next statement',
        );
        return;
      case 'xt':
        // iptables-nft's untranslated extensions: a match decides whether the rule applies
        if (/^xt match\b/.test(s.text)) badMatch(s.pos, `\`${s.text}\`: an iptables extension match is not modelled`);
        else
          badStmt(
            s,
            'an iptables extension target is not modelled',
            'the packet is judged as if the statement were not there',
          );
        return;
      case 'unknown':
        badMatch(s.pos, `\`${s.text}\`: not a statement fwemu knows`);
        return;
      default:
        badStmt(s, `${s.name} is not modelled`, 'the packet is judged as if the statement were not there');
    }
  }
}
