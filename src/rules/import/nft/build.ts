/**
 * The AST of an nftables ruleset (ast.ts) to the firewall model: tables of
 * the IP families give their chains (base chains with type, hook,
 * priority resolved as nft's evaluate.c does, user chains), named sets of
 * addresses and ports, and rules (build-rule.ts). Bridge, arp and netdev
 * tables, flowtables and stateful objects are reported in `ignored` with
 * what leaving them out means. Takes the AST only, so that nft text and
 * nft JSON of one ruleset give one model.
 */
import { type Diagnostic, diag } from '../../../base/diag.js';
import type { AddrMatch, ChainType, FwChain, FwRule, Hook, NamedSet } from '../../firewall.js';
import { type IgnoredConstruct, type ImportOptions, type ImportResult, qualifiedChainName } from '../types.js';
import type { Chain, Ruleset, SetDecl, Table } from './ast.js';
import { addrAtom, atoms, portAtom } from './build-values.js';
import { buildRule, type RuleCtx } from './build-rule.js';

/** Model rules in all: beyond this the import stops (expansions multiply; a real ruleset has far fewer). */
export const MAX_MODEL_RULES = 1_000_000;

const HOOKS: readonly Hook[] = ['prerouting', 'input', 'forward', 'output', 'postrouting'];

/** nft's standard priorities (rule.c std_prios) and the hooks of the IP families where each is allowed (measured with nft 1.0.6). */
const PRIORITIES: Readonly<Record<string, { value: number; hooks: readonly Hook[] | null }>> = {
  raw: { value: -300, hooks: null },
  mangle: { value: -150, hooks: null },
  dstnat: { value: -100, hooks: ['prerouting'] },
  filter: { value: 0, hooks: null },
  security: { value: 50, hooks: null },
  srcnat: { value: 100, hooks: ['postrouting'] },
};

const OBJECT_MEANING: Readonly<Record<string, string>> = {
  counter: 'a named counter: counts packets; the verdict is unchanged',
  quota: 'a named quota: used through `quota name`, reported where a rule uses it',
  limit: 'a named limit: used through `limit name`, reported where a rule uses it',
  'ct helper':
    'a conntrack helper object; fwemu runs no helper, so connections it would expect are judged as new, not related',
  'ct timeout': 'conntrack timeouts for the flows a rule assigns it to; fwemu keeps its own timeouts',
  'ct expectation': 'a conntrack expectation object; fwemu creates no expectations',
  secmark: 'an SELinux label; no verdict reads it',
  synproxy: 'a synproxy object: used through `synproxy name`, reported where a rule uses it',
};

const FAMILY_MEANING: Readonly<Record<string, string>> = {
  bridge:
    'a bridge table: filters frames bridged between ports, not routed IP traffic; does not take part in IP filtering',
  arp: 'an arp table: filters ARP, which fwemu does not model; does not take part in IP filtering',
  netdev:
    'a netdev table: its chains run on the device before IP filtering and hold no rule that drops; does not take part in IP filtering',
};

/** Builds the model; `diags` are the reader's own diagnostics, returned with the builder's in file order. */
export function buildRuleset(rs: Ruleset, opts: ImportOptions, diags: Diagnostic[]): ImportResult {
  const out: Diagnostic[] = [...diags];
  const ignored: IgnoredConstruct[] = [];
  const ifnames = new Set<string>();
  const chains: FwChain[] = [];
  const sets: NamedSet[] = [];
  const ipTables: Table[] = [];
  let total = 0;
  for (const t of rs.tables) {
    if (t.family === 'ip' || t.family === 'ip6' || t.family === 'inet') {
      if (t.flags.includes('dormant')) {
        ignored.push({
          pos: t.pos,
          text: `table ${t.family} ${t.name} { flags dormant }`,
          meaning: 'a dormant table runs none of its chains',
        });
        continue;
      }
      ipTables.push(t);
    } else outsideIp(t, t.chains, out, ignored, opts);
  }

  // chain and set names: plain where unique across the ruleset, else family/table/name
  const chainCount = new Map<string, number>();
  const setCount = new Map<string, number>();
  for (const t of ipTables) {
    for (const c of t.chains) chainCount.set(c.name, (chainCount.get(c.name) ?? 0) + 1);
    for (const s of t.sets) setCount.set(s.name, (setCount.get(s.name) ?? 0) + 1);
  }
  const chainName = (t: Table, n: string): string =>
    chainCount.get(n) === 1 ? n : qualifiedChainName(t.family, t.name, n);
  const setName = (t: Table, n: string): string =>
    setCount.get(n) === 1 ? n : qualifiedChainName(t.family, t.name, n);

  for (const t of ipTables) {
    const dynamic = dynamicSets(t);
    const setsByName = new Map(t.sets.map((s) => [s.name, s]));
    const modelSets = new Map<string, string | null>();
    for (const o of t.objects)
      ignored.push({ pos: o.pos, text: o.text, meaning: OBJECT_MEANING[o.kind] ?? 'an object no verdict reads' });
    for (const f of t.flowtables)
      ignored.push({
        pos: f.pos,
        text: f.text,
        meaning: 'a flowtable: offloaded flows skip the forward chain; fwemu judges every packet by the rules',
      });
    const ipChains = t.chains.filter((c) => c.base === null || HOOKS.includes(c.base.hook as Hook));
    const devChains = t.chains.filter((c) => c.base !== null && !HOOKS.includes(c.base.hook as Hook));
    if (devChains.length > 0) outsideIp(t, devChains, out, ignored, opts);
    const userNames = new Set(ipChains.filter((c) => c.base === null).map((c) => c.name));
    const ctx: RuleCtx = {
      opts,
      ignored,
      diags: out,
      ifnames,
      family: t.family === 'ip' ? 4 : t.family === 'ip6' ? 6 : null,
      tableFamily: t.family as 'ip' | 'ip6' | 'inet',
      set: (n) => setsByName.get(n),
      dynamic: (n) => dynamic.has(n),
      modelSet: (decl) => {
        if (!modelSets.has(decl.name)) {
          const ns = namedSet(decl, setName(t, decl.name));
          modelSets.set(decl.name, ns === null ? null : ns.name);
          if (ns !== null) sets.push(ns);
        }
        return modelSets.get(decl.name) ?? null;
      },
      // jump/goto reach user chains only (nft refuses a base chain as a target)
      chain: (n) => (userNames.has(n) ? chainName(t, n) : null),
    };
    for (const c of ipChains) {
      const fc = chainOf(t, c, chainName(t, c.name), out, ignored);
      if (fc === null) continue;
      for (let i = 0; i < c.rules.length && total <= MAX_MODEL_RULES; i++) {
        const before = fc.rules.length;
        buildRule(ctx, c.rules[i], fc.name, i + 1, fc.rules);
        total += fc.rules.length - before;
        if (total > MAX_MODEL_RULES) {
          const p = c.rules[i].pos;
          out.push(
            diag(
              p.file,
              p.line,
              p.col,
              `the ruleset expands into more than ${MAX_MODEL_RULES} model rules; not read further`,
              'nft.too-big',
            ),
          );
        }
      }
      chains.push(fc);
    }
  }
  return {
    format: 'nft',
    firewall: { interfaces: [], sets, chains },
    diagnostics: inFileOrder(out),
    ignored,
    interfaceNames: [...ifnames],
  };
}

/** Bridge, arp and netdev tables (and inet ingress chains): ignored where they cannot drop, else unsupported. */
function outsideIp(
  t: Table,
  chains: Chain[],
  out: Diagnostic[],
  ignored: IgnoredConstruct[],
  opts: ImportOptions,
): void {
  const terminal = chains.flatMap((c) =>
    c.rules.filter((r) =>
      r.stmts.some(
        (s) =>
          s.kind === 'reject' ||
          s.kind === 'vmap' ||
          s.kind === 'nat' ||
          (s.kind === 'other' && (s.name === 'fwd' || s.name === 'queue' || s.name === 'unknown')) ||
          (s.kind === 'verdict' && s.verdict !== 'accept' && s.verdict !== 'continue'),
      ),
    ),
  );
  const dropPolicy = chains.some((c) => c.base?.policy === 'drop');
  if ((t.family === 'netdev' || t.family === 'inet') && (terminal.length > 0 || dropPolicy)) {
    const where = terminal[0]?.pos ?? chains.find((c) => c.base?.policy === 'drop')?.pos ?? t.pos;
    const what = `table ${t.family} ${t.name}: chains on the ingress/egress hooks of a device can drop packets before IP filtering, which fwemu does not model`;
    out.push(
      diag(
        where.file,
        where.line,
        where.col,
        opts.lenient ? `${what}; --lenient: their rules are not applied` : `${what} (--lenient leaves them out)`,
        'nft.unsupported',
        opts.lenient ? 'warning' : 'error',
      ),
    );
    return;
  }
  const meaning =
    t.family === 'inet'
      ? FAMILY_MEANING.netdev.replace('a netdev table: its chains', 'a device (ingress/egress) chain: it')
      : FAMILY_MEANING[t.family];
  const text =
    t.family === 'inet'
      ? chains.map((c) => `chain ${c.name} (hook ${c.base?.hook})`).join(', ')
      : `table ${t.family} ${t.name}`;
  ignored.push({ pos: t.family === 'inet' ? chains[0].pos : t.pos, text, meaning });
}

function chainOf(t: Table, c: Chain, name: string, out: Diagnostic[], ignored: IgnoredConstruct[]): FwChain | null {
  const family: 4 | 6 | null = t.family === 'ip' ? 4 : t.family === 'ip6' ? 6 : null;
  const base = {
    name,
    rules: [] as FwRule[],
    pos: c.pos,
    family,
    table: `${t.family} ${t.name}`,
    origin: { file: c.pos.file, line: c.pos.line, col: c.pos.col, text: c.name },
  };
  if (c.base === null) return { ...base, hook: null, type: 'filter', priority: 0, policy: 'accept' };
  const b = c.base;
  const bad = (msg: string): null => {
    out.push(diag(b.pos.file, b.pos.line, b.pos.col, msg, 'nft.bad-chain'));
    return null;
  };
  const hook = b.hook as Hook;
  let type: ChainType;
  if (b.type === 'filter' || b.type === 'nat') type = b.type;
  else if (b.type === 'route') {
    type = 'filter';
    ignored.push({
      pos: b.pos,
      text: `chain ${c.name} { type route hook ${b.hook} ... }`,
      meaning:
        'a route chain is judged as a filter chain; fwemu does not route a packet again when this chain changes its mark',
    });
  } else return bad(`chain ${c.name}: "${b.type}" is not a chain type (filter, nat, route)`);
  if (type === 'nat' && hook === 'forward') return bad(`chain ${c.name}: a nat chain cannot hook forward`);
  let priority = b.priority.offset;
  if (b.priority.name !== null) {
    const p = PRIORITIES[b.priority.name];
    if (p === undefined)
      return bad(
        `chain ${c.name}: "${b.priority.name}" is not a priority name (${Object.keys(PRIORITIES).join(', ')})`,
      );
    if (p.hooks !== null && !p.hooks.includes(hook))
      return bad(
        `chain ${c.name}: priority ${b.priority.name} is for the ${p.hooks.join('/')} hook only (nft: invalid priority expression value in this context)`,
      );
    priority += p.value;
  }
  return { ...base, hook, type, priority, policy: b.policy ?? 'accept' };
}

/** Sets a rule fills while packets pass: `flags dynamic`, or the target of `add @s` / `update @s`. */
function dynamicSets(t: Table): Set<string> {
  const out = new Set(t.sets.filter((s) => s.flags.includes('dynamic')).map((s) => s.name));
  for (const c of t.chains)
    for (const r of c.rules)
      for (const s of r.stmts)
        if (s.kind === 'other' && (s.name === 'set add' || s.name === 'set update' || s.name === 'meter')) {
          const m = /@("?)([^\s"{]+)\1/.exec(s.text);
          if (m !== null) out.add(m[2]);
        }
  return out;
}

/** A named set the model holds (addresses or ports), or null for others (their elements are used inline). */
function namedSet(s: SetDecl, name: string): NamedSet | null {
  let kind: NamedSet['kind'] | null = null;
  if (s.keyType.length === 1) {
    const k = s.keyType[0];
    if (k === 'ipv4_addr' || k === 'ipv6_addr' || k === 'inet_service') kind = k;
  } else if (s.keyTypeof !== null && s.keyTypeof.length === 1) {
    const e = s.keyTypeof[0];
    if (e.kind === 'payload' && (e.field === 'saddr' || e.field === 'daddr'))
      kind = e.protocol === 'ip' ? 'ipv4_addr' : e.protocol === 'ip6' ? 'ipv6_addr' : null;
    if (e.kind === 'payload' && (e.field === 'sport' || e.field === 'dport')) kind = 'inet_service';
  }
  if (kind === null || s.isMap) return null;
  const elems = s.elements.flatMap((e) => atoms(e.key));
  if (kind === 'inet_service') {
    const ranges = [];
    for (const e of elems) {
      const p = portAtom(e);
      if (!p.ok) return null;
      ranges.push(p.value);
    }
    return { name, kind, addrs: null, ports: { ranges, set: name }, pos: s.pos };
  }
  const m: AddrMatch = { cidrs: [], ranges: [], set: name };
  for (const e of elems) {
    const a = addrAtom(e, kind === 'ipv4_addr' ? 4 : 6);
    if (!a.ok) return null;
    if ('cidr' in a.value) m.cidrs.push(a.value.cidr);
    else m.ranges.push(a.value.range);
  }
  return { name, kind, addrs: m, ports: null, pos: s.pos };
}

/**
 * In file order, file by file in the order the files were read (an
 * included file's problems stay together rather than interleaving with the
 * including file's by line number); stable for one place.
 */
function inFileOrder(ds: Diagnostic[]): Diagnostic[] {
  const fileIndex = new Map<string, number>();
  for (const d of ds) if (!fileIndex.has(d.file)) fileIndex.set(d.file, fileIndex.size);
  return ds
    .map((d, i) => ({ d, i }))
    .sort(
      (a, b) =>
        (fileIndex.get(a.d.file) ?? 0) - (fileIndex.get(b.d.file) ?? 0) ||
        a.d.line - b.d.line ||
        a.d.col - b.d.col ||
        a.i - b.i,
    )
    .map((x) => x.d);
}
