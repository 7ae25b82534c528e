/**
 * Loading and validating rule files (cold path). Over 600 lines only as
 * Biome lays it out (one statement per line): one reader per rule field.
 *
 * The YAML is parsed into a node tree (not plain JS) so that every problem
 * can be reported with its line and column. All problems are collected;
 * the loader throws one RuleFileError carrying every error diagnostic, or
 * returns the rule set plus warnings (shadowed rules, host bits set, ...).
 */
import { inputDisplayName, readInputFile, STDIN_NAME, tooBig } from '../base/input-file.js';
import { sortDiags, type Diagnostic } from '../base/diag.js';
import { basename, extname } from 'node:path';
import { isMap, isScalar, isSeq, type ParsedNode } from 'yaml';
import { parseCidr } from './cidr.js';
import { neighbourDiscoveryGaps } from './advice.js';
import { analyzeRules } from './shadow.js';
import {
  ACTIONS,
  ALL_TOP_KEYS,
  CHAINS,
  CONNTRACK_BOOL_KEYS,
  CONNTRACK_DEFAULTS,
  CONNTRACK_KEYS,
  CONNTRACK_MAX_VALUE,
  FW_RULE_KEYS,
  IPV4_DEFAULTS,
  IPV4_KEYS,
  MAX_ALIAS_COUNT,
  MAX_RULE_FILE_BYTES,
  PROTOS,
  RULE_KEYS,
  RULE_SYNONYMS,
  TOP_KEYS,
} from './spec.js';
import { didYouMean } from '../base/suggest.js';
import { describeNode } from '../base/yaml-nodes.js';
import { list, YamlReader, type Entry } from '../base/yaml-reader.js';
import type { RuleCode } from './codes.js';
import { readIcmp } from './icmp.js';
import { readRuleId } from './rule-id.js';
import { unquotedIpv6 } from './fw-read.js';
import { readPorts } from './ports.js';
import { firewallKeyHint, readFirewall, setsWithoutFirewall } from './load-firewall.js';
import {
  RuleFileError,
  type Action,
  type Chain,
  type Cidr,
  type ConntrackSettings,
  type Ipv4Settings,
  type PortRange,
  type ProtoName,
  type Rule,
  type RuleSet,
} from './types.js';

export interface LoadResult {
  ruleset: RuleSet;
  /** Non-fatal findings, in file order: shadowed rules, rules that can never match, host bits set, ... */
  warnings: Diagnostic[];
}

/** What an address value may be, quoted in every address diagnostic. */
export const ADDR_HELP = 'an address or CIDR like 10.1.0.0/16 or fd00:1::/64, or a list of them';

/**
 * Reads and parses a rule file ('-': standard input, or `stdin` when given,
 * named <stdin>). Throws RuleFileError (with diagnostics) on any error.
 */
export function loadRuleSet(path: string, stdin?: Uint8Array): LoadResult {
  const name = inputDisplayName(path);
  const input = readInputFile(path, MAX_RULE_FILE_BYTES, 'rule', stdin);
  if ('error' in input) throw new RuleFileError(name, [input.error]);
  return parseRuleSet(input.text, name);
}

/** Parses rule-file text; `fileName` is used in positions and as the default name. */
export function parseRuleSet(text: string, fileName: string): LoadResult {
  if (text.length > MAX_RULE_FILE_BYTES || Buffer.byteLength(text, 'utf8') > MAX_RULE_FILE_BYTES)
    throw new RuleFileError(fileName, [tooBig(fileName, Buffer.byteLength(text, 'utf8'), 'rule', MAX_RULE_FILE_BYTES)]);
  const p = new Loader(text, fileName);
  const ruleset = p.run();
  const errors = p.diags.filter((d) => d.severity === 'error');
  const warnings = p.diags.filter((d) => d.severity === 'warning');
  if (errors.length > 0 || ruleset === null) throw new RuleFileError(fileName, sortDiags(errors), sortDiags(warnings));
  // (A loop, not push(...list): a spread passes every element on the stack, and 150k rules overflow it.)
  for (const w of analyzeRules(ruleset)) warnings.push(w);
  return { ruleset, warnings: sortDiags(warnings) };
}

/** How rule files word what differs between kinds of YAML files. */
const STYLE = {
  files: 'rule files',
  at: 'file:line:col',
  mergeAdvice: 'write the keys out, or share values with &anchor / *alias',
  unknownThenDuplicate: true,
} as const;

class Loader extends YamlReader<RuleCode> {
  constructor(text: string, file: string) {
    super(text, file, STYLE);
  }

  // --- entry point ------------------------------------------------------------

  run(): RuleSet | null {
    const ok = this.parse({
      multipleDocs: 'a rule file holds one YAML document; remove the "---" line and merge or split the files',
      hints: [
        [/[0-9a-fA-F]::?$|[0-9a-fA-F]:\s*[,\]]/, '; an IPv6 address ending in ":" must be quoted ("fd00::")'],
        [/:\s*\[?\s*@/, '; a set name starting with "@" must be quoted: src: "@admins"'],
      ],
      warnings: true,
      maxAliases: MAX_ALIAS_COUNT,
      aliasUsers: 'rule files',
    });
    return ok ? this.ruleSet() : null;
  }

  private ruleSet(): RuleSet | null {
    const root = this.doc.contents as ParsedNode | null;
    if (root === null || (isScalar(root) && root.value === null)) {
      this.error(root, 'the file is empty; a rule file is a mapping with at least a rules: list', 'rules.empty-file');
      return null;
    }
    if (!isMap(root)) {
      this.error(
        root,
        `the top level must be a mapping (name:, policy:, rules:, ...), not ${describeNode(root)}`,
        'rules.not-a-mapping',
      );
      return null;
    }
    const m = this.readMap(
      root,
      ALL_TOP_KEYS,
      (k) =>
        `unknown top-level key "${k}"${didYouMean(k, ALL_TOP_KEYS)}${this.misplacedRuleKey(k)} (allowed: ${list(ALL_TOP_KEYS)})`,
    );
    // interfaces: or chains: make the file a firewall (firewall.ts); without them it means what it always has.
    const firewallModel = m.has('interfaces') || m.has('chains');

    const name =
      this.text1(m.get('name'), 'name') ??
      (this.file === STDIN_NAME ? 'stdin' : basename(this.file, extname(this.file)));
    const description = this.text1(m.get('description'), 'description');

    const hostEntry = m.get('host');
    const hostAddrs = hostEntry ? this.hostAddrs(hostEntry) : null;
    const hostModel = hostEntry !== undefined;

    const policy = this.oneOf(m.get('policy'), 'policy', ACTIONS, {}, RULE_SYNONYMS) ?? 'drop';
    let outputPolicy: Action = 'accept';
    const op = m.get('output_policy');
    if (op) {
      const v = this.oneOf(op, 'output_policy', ACTIONS, {}, RULE_SYNONYMS);
      if (v !== null) outputPolicy = v;
      if (!hostModel && !firewallModel)
        this.error(
          op.key,
          "output_policy applies only in the host model: add host: (the firewall host's own addresses); without host:, every packet crosses the firewall on the forward chain, which uses policy",
          'rules.output-policy-needs-host',
        );
    }

    const stateful = this.bool(m.get('stateful'), 'stateful', 'strings') ?? true;

    const ctEntry = m.get('conntrack');
    const conntrack = this.conntrack(ctEntry);
    if (ctEntry && !stateful)
      this.warn(ctEntry.key, 'conntrack settings have no effect with stateful: false', 'rules.settings-without-state');
    const v4Entry = m.get('ipv4');
    const ipv4 = this.ipv4(v4Entry);
    if (v4Entry && !stateful)
      this.warn(
        v4Entry.key,
        'ipv4 settings have no effect with stateful: false (fwemu reassembles fragments only in front of conntrack)',
        'rules.settings-without-state',
      );
    this.thresholds(ctEntry, conntrack.frag6_low_thresh, conntrack.frag6_high_thresh, 'conntrack', 'frag6');
    this.thresholds(v4Entry, ipv4.ipfrag_low_thresh, ipv4.ipfrag_high_thresh, 'ipv4', 'ipfrag');

    const setsEntry = m.get('sets');
    if (setsEntry && !firewallModel) setsWithoutFirewall(this, setsEntry);
    const firewall = firewallModel ? readFirewall(this, root, m, { policy, outputPolicy, stateful, hostModel }) : null;
    const rules = firewallModel ? [] : this.rules(root, m.get('rules'), hostModel);

    const ruleset: RuleSet = {
      name,
      description,
      file: this.file,
      model: hostModel ? 'host' : 'gateway',
      policy,
      outputPolicy,
      hostAddrs: hostModel ? (hostAddrs ?? []) : null,
      stateful,
      conntrack,
      ipv4,
      rules,
    };
    if (firewall !== null) ruleset.firewall = firewall;
    if (hostEntry && !firewallModel && this.diags.every((d) => d.severity !== 'error'))
      for (const message of neighbourDiscoveryGaps(ruleset)) this.warn(hostEntry.key, message, 'rules.host-without-nd');
    return ruleset;
  }

  private misplacedRuleKey(k: string): string {
    return (RULE_KEYS as readonly string[]).includes(k) || (FW_RULE_KEYS as readonly string[]).includes(k)
      ? `; "${k}" belongs in a rule under rules:`
      : '';
  }

  // --- host / addresses --------------------------------------------------------

  private hostAddrs(e: Entry): Cidr[] | null {
    const cidrs = this.addrList(
      e,
      'host',
      'leave host out for the gateway model',
      'an address or a list of addresses of the firewall host, like 10.1.0.2 or fd00:1::2',
    );
    if (cidrs === null) return null;
    const out: Cidr[] = [];
    for (const { cidr, node } of cidrs) {
      if (cidr.prefix !== (cidr.version === 4 ? 32 : 128)) {
        this.error(
          node,
          `host ${cidr.text}: host takes the firewall host's own addresses, not networks (like 10.1.0.2 or fd00:1::2)`,
          'rules.host-is-network',
        );
        continue;
      }
      out.push(cidr);
    }
    return out;
  }

  /** Parses an address-or-list value; reports each bad element. Null when the value is unusable. */
  private addrList(e: Entry, what: string, emptyHint: string, help: string): { cidr: Cidr; node: ParsedNode }[] | null {
    const items = this.oneOrList(
      e,
      (v) => isScalar(v) || isMap(v),
      [`${what} is an empty list; ${emptyHint}, or give ${help}`, 'rules.empty-address-list'],
      [`${what} must be ${help}, not ${describeNode(e.value)}`, 'rules.bad-address'],
    );
    if (items === null) return null;
    const out: { cidr: Cidr; node: ParsedNode }[] = [];
    let bad = false;
    for (const n of items) {
      if (unquotedIpv6(this, n, what)) {
        bad = true;
        continue;
      }
      if (!isScalar(n) || typeof n.value !== 'string') {
        this.error(n, `${what} must be ${help}, not ${describeNode(n)}`, 'rules.bad-address');
        bad = true;
        continue;
      }
      const r = parseCidr(n.value);
      if (!r.ok) {
        this.error(n, `bad address in ${what}: ${r.error}`, 'rules.bad-address');
        bad = true;
        continue;
      }
      if (r.hostBits)
        this.warn(
          n,
          `${what} ${n.value.trim()} has bits set after the /${r.cidr.prefix} prefix; it means ${r.cidr.text}`,
          'rules.host-bits-set',
        );
      out.push({ cidr: r.cidr, node: n });
    }
    return bad && out.length === 0 ? null : out;
  }

  // --- conntrack ---------------------------------------------------------------

  private conntrack(e: Entry | undefined): ConntrackSettings {
    const ct: ConntrackSettings = { ...CONNTRACK_DEFAULTS };
    if (!e) return ct;
    const v = e.value;
    if (v === null || !isMap(v)) {
      this.error(
        e.at,
        `conntrack must be a mapping of settings (like tcp_loose: 0), not ${describeNode(v)}`,
        'rules.conntrack-not-mapping',
      );
      return ct;
    }
    const keys = CONNTRACK_KEYS as readonly string[];
    const m = this.readMap(v, keys, (k) => {
      const stripped = k.replace(/^(net\.netfilter\.)?nf_conntrack_/, '');
      if (stripped !== k && keys.includes(stripped))
        return `conntrack setting "${k}": leave out the "nf_conntrack_" prefix; write ${stripped}`;
      return `unknown conntrack setting "${k}"${didYouMean(k, keys)} (allowed: ${list(keys)})`;
    });
    const out = ct as unknown as Record<string, number | boolean>;
    for (const [k, en] of m) {
      const key = k as keyof ConntrackSettings;
      const n = en.value;
      const isBool = CONNTRACK_BOOL_KEYS.includes(key);
      if (n !== null && isScalar(n)) {
        const x = n.value;
        if (isBool) {
          if (typeof x === 'boolean') {
            out[k] = x;
            continue;
          }
          if (x === 0 || x === 1) {
            out[k] = x === 1;
            continue;
          }
          this.error(
            en.at,
            `conntrack ${k} must be 0 or 1 (or false/true), not ${describeNode(n)}`,
            'rules.bad-setting',
          );
          continue;
        }
        if (typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= CONNTRACK_MAX_VALUE) {
          out[k] = x;
          continue;
        }
        if (typeof x === 'number' && Number.isInteger(x)) {
          this.error(
            en.at,
            `conntrack ${k} ${x} is out of range; it is a whole number 0-${CONNTRACK_MAX_VALUE}${k.includes('timeout') ? ' (seconds)' : ''}`,
            'rules.setting-out-of-range',
          );
          continue;
        }
      }
      this.error(
        en.at,
        `conntrack ${k} must be a whole number${k.includes('timeout') ? ' of seconds' : ''}, not ${describeNode(n)}`,
        'rules.bad-setting',
      );
    }
    return ct;
  }

  // --- ipv4 (net.ipv4.ipfrag_*) -------------------------------------------------

  private ipv4(e: Entry | undefined): Ipv4Settings {
    const out: Ipv4Settings = { ...IPV4_DEFAULTS };
    if (!e) return out;
    const v = e.value;
    if (v === null || !isMap(v)) {
      this.error(
        e.at,
        `ipv4 must be a mapping of net.ipv4 settings (like ipfrag_high_thresh: 4194304), not ${describeNode(v)}`,
        'rules.ipv4-not-mapping',
      );
      return out;
    }
    const keys = IPV4_KEYS as readonly string[];
    const m = this.readMap(v, keys, (k) => {
      const stripped = k.replace(/^net\.ipv4\./, '');
      if (stripped !== k && keys.includes(stripped))
        return `ipv4 setting "${k}": leave out the "net.ipv4." prefix; write ${stripped}`;
      return `unknown ipv4 setting "${k}"${didYouMean(k, keys)} (allowed: ${list(keys)})`;
    });
    for (const [k, en] of m) {
      const n = en.value;
      const x = n !== null && isScalar(n) ? n.value : undefined;
      const unit = k === 'ipfrag_time' ? 'seconds' : 'bytes';
      if (typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= CONNTRACK_MAX_VALUE)
        out[k as keyof Ipv4Settings] = x;
      else if (typeof x === 'number' && Number.isInteger(x))
        this.error(
          en.at,
          `ipv4 ${k} ${x} is out of range; it is a whole number 0-${CONNTRACK_MAX_VALUE} (${unit})`,
          'rules.setting-out-of-range',
        );
      else
        this.error(en.at, `ipv4 ${k} must be a whole number of ${unit}, not ${describeNode(n)}`, 'rules.bad-setting');
    }
    return out;
  }

  /** The kernel refuses a high_thresh below low_thresh (and a low above high): EINVAL from the sysctl. */
  private thresholds(e: Entry | undefined, low: number, high: number, section: string, prefix: string): void {
    if (!e || low <= high) return;
    this.error(
      e.key,
      `${section} ${prefix}_low_thresh (${low}) is above ${prefix}_high_thresh (${high}); the kernel refuses that (EINVAL). low_thresh is obsolete since Linux 4.17: only high_thresh limits reassembly memory`,
      'rules.thresholds-reversed',
    );
  }

  // --- rules -------------------------------------------------------------------

  private rules(root: ParsedNode, e: Entry | undefined, hostModel: boolean): Rule[] {
    if (!e) {
      this.error(
        root,
        'missing rules: list; add rules: with a list of allow rules (rules: [] leaves every new flow to the policy)',
        'rules.missing-rules',
      );
      return [];
    }
    const v = e.value;
    if (v === null || !isSeq(v)) {
      const hint = v !== null && isScalar(v) && v.value === null ? '; write rules: [] for no rules' : '';
      this.error(
        e.at,
        `rules must be a list of rules (each item starting with "- "), not ${describeNode(v)}${hint}`,
        'rules.rules-not-list',
      );
      return [];
    }
    const out: Rule[] = [];
    const seen = new Map<string, Rule>();
    v.items.forEach((item, i) => {
      const n = this.deref(item);
      const index = i + 1;
      if (n === null) return;
      if (!isMap(n)) {
        this.error(
          n,
          `rule #${index} must be a mapping (id:, proto:, dport:, ...), not ${describeNode(n)}`,
          'rules.rule-not-mapping',
        );
        return;
      }
      const rule = this.rule(n, index, hostModel);
      if (rule === null) return;
      const prev = seen.get(rule.id);
      if (prev) {
        const why = !rule.idGiven
          ? ` (rule #${index} has no id and gets the default id ${rule.id})`
          : !prev.idGiven
            ? ` (rule #${prev.index} has no id and gets the default id ${prev.id})`
            : '';
        this.error(
          rule.idGiven ? (this.ruleIdNode(n) ?? n) : n,
          `duplicate rule id "${rule.id}": also used by the rule at ${this.fmt(prev.pos)}${why}; ids must be unique`,
          'rules.duplicate-id',
        );
      } else seen.set(rule.id, rule);
      out.push(rule);
    });
    return out;
  }

  private ruleIdNode(n: ParsedNode): ParsedNode | null {
    if (!isMap(n)) return null;
    for (const p of n.items) if (isScalar(p.key) && p.key.value === 'id') return (p.value ?? p.key) as ParsedNode;
    return null;
  }

  /** Parses one rule mapping; returns null when it has errors (they are recorded). */
  private rule(n: ParsedNode, index: number, hostModel: boolean): Rule | null {
    const before = this.errors;
    const pos = this.nodePos(n);

    // id first, so later messages can name the rule
    let id = `rule-${index}`;
    let idGiven = false;
    let label = `#${index}`;
    const given = readRuleId(this, n, label).id;
    if (given !== null) {
      id = given;
      idGiven = true;
      label = given;
    }

    const m = this.readMap(
      n,
      RULE_KEYS,
      (k) =>
        `unknown key "${k}" in rule ${label}${didYouMean(k, RULE_KEYS)}${this.misplacedTopKey(k)}${firewallKeyHint(k)} (allowed: ${list(RULE_KEYS)})`,
    );

    const action = this.oneOf(m.get('action'), `rule ${label}: action`, ACTIONS, {}, RULE_SYNONYMS) ?? 'accept';
    const protoEntry = m.get('proto');
    const protoValue = this.oneOf(protoEntry, `rule ${label}: proto`, PROTOS, {}, RULE_SYNONYMS);
    const protoOk = protoEntry === undefined || protoValue !== null;
    const proto: ProtoName = protoValue ?? 'any';

    let chain: Chain = hostModel ? 'input' : 'forward';
    const ce = m.get('chain');
    if (ce) {
      const c = this.oneOf(ce, `rule ${label}: chain`, CHAINS, {}, RULE_SYNONYMS);
      if (c !== null) {
        if (!hostModel && c !== 'forward')
          this.error(
            ce.at,
            `rule ${label}: chain ${c} exists only in the host model: add host: (the firewall host's own addresses) at the top level; without host:, every packet crosses the firewall on the forward chain`,
            'rules.chain-needs-host',
          );
        else chain = c;
      }
    }

    const comment = this.text1(m.get('comment'), `rule ${label}: comment`);

    // ports
    const ports = (key: 'sport' | 'dport'): PortRange[] | null => {
      const e = m.get(key);
      if (!e) return null;
      const r = readPorts(this, e, key, label);
      if (protoOk && proto !== 'tcp' && proto !== 'udp') {
        const has = protoEntry ? `has proto ${proto}` : 'has no proto (so any protocol)';
        this.error(
          e.key,
          `rule ${label}: ${key} needs proto tcp or udp; rule ${label} ${has}, and only TCP and UDP have ports (use two rules to allow both tcp and udp)`,
          'rules.port-needs-tcp-udp',
        );
        return null;
      }
      return r;
    };
    const sport = ports('sport');
    const dport = ports('dport');

    // addresses
    const addrs = (key: 'src' | 'dst'): Cidr[] | null => {
      const e = m.get(key);
      if (!e) return null;
      const r = this.addrList(e, `rule ${label}: ${key}`, `leave ${key} out to match any address`, ADDR_HELP);
      return r === null ? null : r.map((x) => x.cidr);
    };
    const src = addrs('src');
    const dst = addrs('dst');

    // icmp
    const icmp = readIcmp(this, m.get('type'), m.get('code'), label, protoOk ? proto : null, protoEntry !== undefined);

    if (this.errors > before) return null;
    return { id, idGiven, index, action, proto, sport, dport, src, dst, icmp, comment, chain, pos };
  }

  private misplacedTopKey(k: string): string {
    return (TOP_KEYS as readonly string[]).includes(k) && k !== 'description'
      ? `; "${k}" is a top-level key, not a rule key`
      : '';
  }
}
