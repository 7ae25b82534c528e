/**
 * The typed form of a rule file (rules/*.yaml), as produced by `parseRuleSet()`.
 *
 * This is the cold, friendly representation: strings, arrays, source
 * positions. `compileRuleSet()` turns it into the flat, allocation-free form
 * that the per-packet hot path matches against (see compile.ts).
 */

/** What a rule (or a chain's policy) does with a packet. */
export type Action = 'accept' | 'drop' | 'reject';

/**
 * netfilter chains fwemu emulates.
 * - gateway model (default): every packet crosses the firewall -> `forward`.
 * - host model (`host:` set): packets to the host -> `input`, from it -> `output`,
 *   anything else it sees -> `forward`.
 */
export type Chain = 'input' | 'output' | 'forward';

/** The `proto:` values a rule may use. `any` matches every IP packet. */
export type ProtoName = 'tcp' | 'udp' | 'icmp' | 'icmpv6' | 'any';

/** Which model the rule set describes; decided by the presence of `host:`. */
export type FirewallModel = 'gateway' | 'host';

/** An inclusive port range; a single port is { lo: p, hi: p }. */
export interface PortRange {
  lo: number;
  hi: number;
}

/** A parsed CIDR prefix (a plain address is a /32 or /128). */
export interface Cidr {
  version: 4 | 6;
  /** Network address as four uint32 words, host bits cleared (IPv4: word 0 only, rest 0). */
  words: [number, number, number, number];
  /** Prefix length: 0-32 for IPv4, 0-128 for IPv6. */
  prefix: number;
  /** Canonical text: "10.1.0.0/16", "fd00:1::/64", or a bare address when the prefix is full. */
  text: string;
}

/**
 * An ICMP/ICMPv6 type (and optional code) condition: a packet matches when
 * its type is one of `types` and, if codes are given, its code one of
 * `codes` (nft: `icmp type { a, b } icmp code { x, y }`).
 */
export interface IcmpMatch {
  /** 0-255 each, in the file's order, without repeats; at least one. */
  types: readonly number[];
  /** 0-255 each, as types; null for any code. */
  codes: readonly number[] | null;
}

export interface Rule {
  /** The rule's `id:`, or `rule-N` (N = 1-based index in the file) when none was given. */
  id: string;
  /** True when the file gave the id explicitly. */
  idGiven: boolean;
  /** 1-based position among all rules of the file. */
  index: number;
  action: Action;
  proto: ProtoName;
  /** Port conditions, sorted and merged; null = any port. Only with tcp/udp. */
  sport: PortRange[] | null;
  dport: PortRange[] | null;
  /** Address conditions (IPv4 and IPv6 may be mixed); null = any address. */
  src: Cidr[] | null;
  dst: Cidr[] | null;
  /** ICMP type/code condition; only with icmp/icmpv6. */
  icmp: IcmpMatch | null;
  comment: string | null;
  chain: Chain;
  /** Where the rule item starts in the file (for "rule web (rules/web-server.yaml:5)"). */
  pos: SourcePos;
}

/**
 * Connection-tracking settings, named like the kernel's sysctls without the
 * `net.netfilter.nf_conntrack_` prefix; base/sysctl.ts has the type, shared
 * with conntrack, which reads them; rule files just fill it in.
 */
export type { ConntrackSettings } from '../base/sysctl.js';
import { visible } from '../base/text-escape.js';
import type { ConntrackSettings } from '../base/sysctl.js';
import { formatDiagnostic, type Diagnostic, type SourcePos } from '../base/diag.js';
import { DiagnosticsError } from '../base/errors.js';
import type { Firewall } from './firewall.js';

/**
 * The net.ipv4 sysctls a rule file may set (`ipv4:`), by their names
 * without "net.ipv4.". Their own mapping, not `conntrack:`: they are not
 * nf_conntrack sysctls (they also govern the host's own reassembly), and
 * each settings mapping stands for one sysctl directory, its prefix left out.
 */
export interface Ipv4Settings {
  /** Bytes held for incomplete IPv4 datagrams before every fragment is dropped. */
  ipfrag_high_thresh: number;
  /** Obsolete since Linux 4.17 (only low <= high is checked). */
  ipfrag_low_thresh: number;
  /** Seconds an incomplete IPv4 datagram is held. */
  ipfrag_time: number;
}

export interface RuleSet {
  /** `name:`, or the file's base name without extension when absent. */
  name: string;
  description: string | null;
  /** The file name as given to the loader (used in positions). */
  file: string;
  model: FirewallModel;
  /** Verdict for a new flow no rule accepts, on the input and forward chains. Default drop. */
  policy: Action;
  /** Verdict for the output chain (host model only). Default accept. */
  outputPolicy: Action;
  /** The host's own addresses (host model), or null in the gateway model. */
  hostAddrs: Cidr[] | null;
  /** Connection tracking on (default) or off (`stateful: false`: every packet is matched against the rules). */
  stateful: boolean;
  conntrack: ConntrackSettings;
  /** `ipv4:` (net.ipv4.ipfrag_*): IPv4 reassembly in front of conntrack. */
  ipv4: Ipv4Settings;
  /** All rules in file order (every chain). */
  rules: Rule[];
  /**
   * The firewall model (firewall.ts) when the file names `interfaces:` or
   * `chains:`; then `rules` is empty and the engine walks these chains.
   * Absent or null: the simple gateway/host model above.
   */
  firewall?: Firewall | null;
}

/** Thrown by the loader when a rule file has errors; carries every error found, in file order. */
export class RuleFileError extends DiagnosticsError {
  /** Warnings found before the errors stopped loading (not part of the message). */
  readonly warnings: Diagnostic[];
  constructor(file: string, diagnostics: Diagnostic[], warnings: Diagnostic[] = []) {
    const n = diagnostics.length;
    super(
      `${visible(file)}: ${n} error${n === 1 ? '' : 's'} in rule file\n` + diagnostics.map(formatDiagnostic).join('\n'),
      file,
      diagnostics,
    );
    this.name = 'RuleFileError';
    this.warnings = warnings;
  }
}
