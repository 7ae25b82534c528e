/**
 * The one way every command loads its rules (issue 18): the files after
 * -r, whatever they are (import/detect.ts decides from the content):
 *
 * - fwemu's own YAML rule file (load.ts), alone;
 * - rulesets of other tools (nftables text, nftables JSON, iptables-save
 *   dumps), read by their readers (readers.ts) into the firewall model and
 *   merged (merge.ts) when there are several (`-r rules.v4 -r rules.v6`);
 * - a host file (rules/host/host-file.ts), which names its rulesets and
 *   describes the firewall around them.
 *
 * The host description (flags, `ip -j` files, host files) gives the
 * firewall's interfaces: a ruleset holds none. Interfaces a ruleset names
 * but nothing describes exist without addresses; lo is always there. With
 * no description at all, one warning says that fwemu knows none of the
 * firewall's own addresses, so every packet is taken as forwarded.
 *
 * With fwemu's own YAML, the host description means what declaring the
 * interfaces in the file means; it may add interfaces the file does not
 * describe, or describe ones it names without addresses (`lan0:`). One
 * interface described by both, or default routes out of two, is an error
 * naming both places: which one is meant is the user's to say.
 */
import { globFiles } from '../../base/glob.js';
import { diag, sortDiags, type Diagnostic, type SourcePos } from '../../base/diag.js';
import {
  inputDisplayName,
  type LargerLimit,
  readInputFile,
  STDIN_NAME,
  STDIN_PATH,
  tooBig,
} from '../../base/input-file.js';
import { UserError } from '../../base/errors.js';
import { CONNTRACK_DEFAULTS, IPV4_DEFAULTS, MAX_RULE_FILE_BYTES } from '../spec.js';
import { parseRuleSet, type LoadResult } from '../load.js';
import { loopback } from '../load-interfaces.js';
import { ifNameProblem } from '../fw-read.js';
import type { Firewall, FwChain, FwInterface, RuleOrigin } from '../firewall.js';
import { RuleFileError, type RuleSet } from '../types.js';
import { HostBuilder } from '../host/build.js';
import { readHostFlags } from '../host/flags.js';
import { readHostFile } from '../host/host-file.js';
import { readIpAddr, readIpRoute } from '../host/ip-json.js';
import type { HostOptions } from '../host/options.js';
import { detectFormat, type FileKind } from './detect.js';
import { mergeImports, type FileImport } from './merge.js';
import { FORMAT_NAMES, readerFor } from './readers.js';
import type { IgnoredConstruct, ImportOptions, RulesetFormat } from './types.js';

export type { HostOptions } from '../host/options.js';
export { NO_HOST } from '../host/options.js';

/** Largest ruleset file read (kube-proxy's iptables-save of a big cluster runs to megabytes). */
export const MAX_RULESET_BYTES = 64 * 1024 * 1024;
/** fwemu's YAML stays within the loader's limit; a ruleset of another tool may be larger. */
const RULESET_LIMIT: LargerLimit = {
  maxBytes: MAX_RULESET_BYTES,
  when: (head) => {
    const k = detectFormat(head, '');
    return 'kind' in k && k.kind !== 'yaml' && k.kind !== 'host';
  },
};
/**
 * Largest nftables JSON read: JSON is read with the yaml parser for its
 * places, which needs ~100 times the bytes (firewalld's 150 rules are 40 KB).
 */
export const MAX_NFT_JSON_BYTES = 8 * 1024 * 1024;
/**
 * Largest `ip -j` file read: 4000 interfaces with four addresses each take
 * 3.6 MB, read in 5.5 s and 370 MB (the yaml parser keeps every node's
 * place); a host with 500 pod veths, 0.5 MB.
 */
export const MAX_IP_JSON_BYTES = 4 * 1024 * 1024;
/** Largest total of files an nft `include` may pull in, besides the file itself. */
const MAX_INCLUDE_BYTES = 64 * 1024 * 1024;

export interface LoadRuleOptions {
  /** Unsupported constructs of imported rulesets become warnings with a stated meaning (ImportOptions). */
  lenient: boolean;
  /** What '-' reads (tests); standard input otherwise. */
  stdin?: Uint8Array;
}

/** One file read, and what it is. */
export interface LoadedFile {
  file: string;
  kind: FileKind;
}

export interface RuleFilesResult extends LoadResult {
  /** Constructs left out of imported rulesets (never change a verdict), in file order per file. */
  ignored: IgnoredConstruct[];
  /** Every file read: host files, then the rulesets, in the order given. */
  files: LoadedFile[];
}

interface Text {
  file: string;
  text: string;
  kind: FileKind;
}

/**
 * Loads the rules of `paths` (the -r files, in order) with the host
 * description `host`. Throws RuleFileError carrying every error found
 * (files, flags, host files, readers), or InputFileError / UserError for a
 * file that cannot be read.
 */
export function loadRuleFiles(paths: string[], host: HostOptions, opts: LoadRuleOptions): RuleFilesResult {
  if (paths.length === 0) throw new UserError('no rule file: give one with -r FILE');
  if ([...paths, ...host.ipAddr, ...host.ipRoute].filter((p) => p === STDIN_PATH).length > 1)
    throw new UserError(
      '- (standard input) can be given once among -r, --ip-addr and --ip-route: it can be read only once',
    );
  const errors: Diagnostic[] = [];
  const b = new HostBuilder();
  readHostFlags(host, b);
  for (const f of host.ipAddr) readJson(f, 'ip -j addr', opts.stdin, b, readIpAddr);
  for (const f of host.ipRoute) readJson(f, 'ip -j route', opts.stdin, b, readIpRoute);

  const loaded: LoadedFile[] = [];
  const texts: Text[] = [];
  for (const p of paths) {
    const t = readRuleText(p, opts.stdin, errors);
    if (t === null) continue;
    if (t.kind !== 'host') {
      texts.push(t);
      continue;
    }
    loaded.push({ file: t.file, kind: 'host' });
    for (const named of readHostFile(t.text, t.file, b)) {
      const inner = readRuleText(named.path, undefined, errors, named.pos);
      if (inner === null) continue;
      if (inner.kind === 'host') {
        errors.push(
          at(
            named.pos,
            `${inner.file} is a host file too; a host file names rulesets, not other host files`,
            'host.nested-host',
          ),
        );
        continue;
      }
      texts.push(inner);
    }
  }
  for (const t of texts) loaded.push({ file: t.file, kind: t.kind });

  const yaml = texts.filter((t) => t.kind === 'yaml');
  if (yaml.length > 0 && texts.length > 1) {
    const other = texts.find((t) => t !== yaml[0]) as Text;
    errors.push(
      diag(
        yaml[0].file,
        1,
        1,
        `fwemu's own YAML rule file holds the whole ruleset and is given alone; ${other.file} was given with it (several -r files are rulesets of nft or iptables, like -r rules.v4 -r rules.v6)`,
        'import.mixed-yaml',
      ),
    );
  }
  if (errors.length > 0 || texts.length === 0) fail(paths, errors, b.diags);

  if (yaml.length === 1)
    return { ...withHost(parseRuleSet(yaml[0].text, yaml[0].file), b), ignored: [], files: loaded };
  return { ...imported(texts, b, opts), files: loaded };
}

/** Reads one -r file (or one a host file names, `namedAt`) and what it is; null when it is none (recorded). */
function readRuleText(
  path: string,
  stdin: Uint8Array | undefined,
  errors: Diagnostic[],
  namedAt?: SourcePos,
): Text | null {
  const file = inputDisplayName(path);
  let input: ReturnType<typeof readInputFile>;
  try {
    input = readInputFile(path, MAX_RULE_FILE_BYTES, 'rule', stdin, RULESET_LIMIT);
  } catch (e) {
    if (namedAt === undefined) throw e;
    // A ruleset a host file names: its error is placed where the host file names it.
    errors.push(at(namedAt, e instanceof Error ? e.message : String(e), 'host.bad-ruleset'));
    return null;
  }
  if ('error' in input) {
    errors.push(input.error);
    return null;
  }
  const kind = detectFormat(input.text, file);
  if ('error' in kind) {
    errors.push(kind.error);
    return null;
  }
  const bytes = Buffer.byteLength(input.text, 'utf8');
  if (kind.kind === 'nft-json' && bytes > MAX_NFT_JSON_BYTES) {
    errors.push(tooBig(file, bytes, 'nftables JSON', MAX_NFT_JSON_BYTES));
    return null;
  }
  return { file, text: input.text, kind: kind.kind };
}

function readJson(
  path: string,
  what: string,
  stdin: Uint8Array | undefined,
  b: HostBuilder,
  read: (text: string, file: string, b: HostBuilder) => void,
): void {
  const input = readInputFile(path, MAX_IP_JSON_BYTES, `${what} output`, stdin);
  if ('error' in input) b.diags.push(input.error);
  else read(input.text, inputDisplayName(path), b);
}

function at(p: SourcePos, message: string, code: string): Diagnostic {
  return diag(p.file, p.line, p.col, message, code);
}

/** Throws the RuleFileError of `errors` (and the host description's errors), with its warnings. */
function fail(paths: string[], errors: Diagnostic[], hostDiags: Diagnostic[]): never {
  const all = [...errors, ...hostDiags];
  const errs = all.filter((d) => d.severity === 'error');
  const warns = all.filter((d) => d.severity === 'warning');
  const files = [...new Set(errs.map((d) => d.file))];
  const name = files.length === 1 ? files[0] : paths.map(inputDisplayName).join(', ');
  throw new RuleFileError(name, byFile(errs), sortDiags(warns));
}

/** Diagnostics grouped by file (in first-seen order), each file's in line order. */
function byFile(ds: Diagnostic[]): Diagnostic[] {
  const files = [...new Set(ds.map((d) => d.file))];
  return files.flatMap((f) => sortDiags(ds.filter((d) => d.file === f)));
}

/** fwemu's YAML with a host description: the flags declare interfaces as the file would. */
function withHost(res: LoadResult, b: HostBuilder): LoadResult {
  if (!b.given) return res;
  const described = b.build();
  const errors = b.diags.filter((d) => d.severity === 'error');
  const fw = res.ruleset.firewall;
  if (!fw) {
    errors.push(
      diag(
        res.ruleset.file,
        1,
        1,
        `the host description (--iface, --route, --ip-addr, --ip-route, a host file) is for the firewall model, and ${res.ruleset.file} is a simple rule file (rules: without interfaces: or chains:); add interfaces: to the file (the flags then mean the same as declaring them), or leave the flags out`,
        'host.simple-model',
      ),
    );
  } else for (const e of applyToYaml(fw, described)) errors.push(e);
  if (errors.length > 0) throw new RuleFileError(res.ruleset.file, byFile(errors), res.warnings);
  const names = fw ? fw.interfaces.map((i) => i.name) : [];
  const still = res.warnings.filter((w) => !nowKnown(w, names));
  return { ruleset: res.ruleset, warnings: [...still, ...b.diags.filter((d) => d.severity === 'warning')] };
}

/**
 * Whether a loader's warning that a rule names an interface the file does
 * not declare (rules.unknown-interface) no longer holds: the host
 * description declared it. (The loader checks before the flags are read.)
 */
function nowKnown(w: Diagnostic, names: readonly string[]): boolean {
  if (w.code !== 'rules.unknown-interface') return false;
  const m = /interface "([^"]+)" is not one|"([^"]+)\*" matches no interface/.exec(w.message);
  if (m === null) return false;
  return m[1] !== undefined ? names.includes(m[1]) : names.some((n) => n.startsWith(m[2]));
}

/** Adds the described interfaces to a YAML firewall's; the conflicts, as errors. */
function applyToYaml(fw: Firewall, described: FwInterface[]): Diagnostic[] {
  const errors: Diagnostic[] = [];
  const fileDefault = fw.interfaces.find((i) => i.defaultRoute) ?? null;
  const hostDefault = described.find((i) => i.defaultRoute) ?? null;
  if (fileDefault !== null && hostDefault !== null && fileDefault.name !== hostDefault.name)
    errors.push(
      at(
        hostDefault.pos,
        `the default route goes out of ${hostDefault.name} here and out of ${fileDefault.name} in the rule file (${fileDefault.pos.file}:${fileDefault.pos.line}:${fileDefault.pos.col}); fwemu models one default route: leave one out`,
        'host.two-defaults',
      ),
    );
  for (const d of described) {
    const mine = fw.interfaces.find((i) => i.name === d.name);
    if (mine === undefined) {
      if (d.name === 'lo') continue;
      fw.interfaces.push(d);
      continue;
    }
    const builtIn = d.name === 'lo' ? 2 : 0;
    const fileDescribes = mine.addresses.length > builtIn || mine.networks.length > 0 || mine.defaultRoute;
    const hostAdds =
      d.addresses.some((a) => !mine.addresses.some((m) => m.addr.text === a.addr.text && m.net.text === a.net.text)) ||
      d.networks.length > 0;
    if (fileDescribes && (hostAdds || (d.defaultRoute && !mine.defaultRoute))) {
      errors.push(
        at(
          d.pos,
          `interface ${d.name} is described here and in the rule file (${mine.pos.file}:${mine.pos.line}:${mine.pos.col}); describe it in one place: the rule file's interfaces:, or the host description`,
          'host.twice',
        ),
      );
      continue;
    }
    for (const a of d.addresses) if (!mine.addresses.some((m) => m.addr.text === a.addr.text)) mine.addresses.push(a);
    for (const n of d.networks) mine.networks.push(n);
    if (d.defaultRoute) mine.defaultRoute = true;
  }
  return errors;
}

/** Rulesets of other tools, merged, with the host around them. */
function imported(texts: Text[], b: HostBuilder, opts: LoadRuleOptions): RuleFilesResult {
  const errors: Diagnostic[] = [];
  const results: FileImport[] = [];
  let includeBytes = 0;
  const readInclude: ImportOptions['readInclude'] = (path) => {
    try {
      const input = readInputFile(path, MAX_RULESET_BYTES, 'included', undefined);
      if ('error' in input) return { error: input.error.message };
      includeBytes += input.text.length;
      if (includeBytes > MAX_INCLUDE_BYTES)
        return { error: `the included files add up to more than ${MAX_INCLUDE_BYTES} bytes` };
      return { text: input.text };
    } catch (e) {
      return { error: e instanceof UserError ? e.message : String(e) };
    }
  };
  for (const t of texts) {
    const format = t.kind as RulesetFormat;
    const reader = readerFor(format);
    if (reader === null) {
      errors.push(
        diag(
          t.file,
          1,
          1,
          `this is ${FORMAT_NAMES[format]}, which this build of fwemu cannot read yet`,
          'import.no-reader',
        ),
      );
      continue;
    }
    results.push({
      file: t.file,
      result: reader(t.text, t.file, { lenient: opts.lenient, readInclude, listInclude: globFiles }),
    });
  }
  const merged = mergeImports(results);
  markSharedLines(merged.firewall.chains);
  for (const d of merged.diagnostics) errors.push(d);
  const interfaces = hostInterfaces(b, merged.interfaceNames, { file: texts[0].file, line: 1, col: 1 });
  const all = [...errors, ...b.diags];
  if (all.some((d) => d.severity === 'error'))
    fail(
      texts.map((t) => t.file),
      all,
      [],
    );
  const warnings = all.filter((d) => d.severity === 'warning');
  // (A host file naming only its ruleset, or --iface NAME= alone, describes no address either.)
  if (!interfaces.some((i) => i.name !== 'lo' && (i.addresses.length > 0 || i.networks.length > 0 || i.defaultRoute)))
    warnings.push(
      diag(
        texts[0].file,
        1,
        1,
        "no host description: fwemu knows none of the firewall's own addresses or routes, so every packet is taken as forwarded (none reaches input); describe the host with --ip-addr FILE --ip-route FILE (saved `ip -j addr` / `ip -j route` output), --iface NAME=ADDR/PREFIX and --route PREFIX@NAME, or a host file with ruleset: and interfaces:",
        'import.no-host',
        'warning',
      ),
    );
  const firewall: Firewall = { ...merged.firewall, interfaces };
  const first = texts[0].file;
  const ruleset: RuleSet = {
    name: first === STDIN_NAME ? 'stdin' : baseName(first),
    description: null,
    file: first,
    model: 'gateway',
    policy: 'drop',
    outputPolicy: 'accept',
    hostAddrs: null,
    stateful: true,
    conntrack: { ...CONNTRACK_DEFAULTS },
    ipv4: { ...IPV4_DEFAULTS },
    rules: [],
    firewall,
  };
  return { ruleset, warnings: byFile(warnings), ignored: merged.ignored, files: [] };
}

/**
 * Marks the origins of rules that start on a line another rule starts on
 * too (nft's JSON is one line), so that places name their column. Rules one
 * origin expanded into (a verdict map) share it and do not count.
 */
function markSharedLines(chains: readonly FwChain[]): void {
  const cols = new Map<string, Set<number>>();
  const key = (o: RuleOrigin) => `${o.file}\0${o.line}`;
  for (const c of chains)
    for (const r of c.rules) {
      const o = r.origin;
      if (!o) continue;
      let set = cols.get(key(o));
      if (set === undefined) cols.set(key(o), (set = new Set()));
      set.add(o.col);
    }
  for (const c of chains)
    for (const r of c.rules) {
      const o = r.origin;
      if (o && (cols.get(key(o))?.size ?? 0) > 1) o.sharedLine = true;
    }
}

function baseName(file: string): string {
  const b = file.slice(file.lastIndexOf('/') + 1);
  const dot = b.lastIndexOf('.');
  return dot > 0 ? b.slice(0, dot) : b;
}

/**
 * The firewall's interfaces: lo (with any addresses described for it), the
 * described ones, then those the ruleset names that nothing described
 * (without addresses; names with a wildcard are patterns, not interfaces).
 */
export function hostInterfaces(b: HostBuilder, named: readonly string[], pos: SourcePos): FwInterface[] {
  const lo = loopback(pos);
  const out: FwInterface[] = [lo];
  for (const i of b.build()) {
    if (i.name === 'lo') {
      for (const a of i.addresses) if (!lo.addresses.some((x) => x.addr.text === a.addr.text)) lo.addresses.push(a);
      continue;
    }
    out.push(i);
  }
  for (const n of named) {
    if (n.endsWith('*') || ifNameProblem(n, false) !== null || out.some((i) => i.name === n)) continue;
    out.push({ name: n, addresses: [], networks: [], defaultRoute: false, pos });
  }
  return out;
}
