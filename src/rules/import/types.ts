/**
 * What every ruleset importer produces (issue 18): nftables text
 * (`nft -f`, `nft list ruleset`), nftables JSON (`nft -j list ruleset`)
 * and iptables-save / ip6tables-save dumps are each read into the firewall
 * model of firewall.ts, so that one engine judges them all. A ruleset says
 * nothing of the firewall's addresses and routes: its `interfaces` come
 * empty, and the host description (host-env) supplies them.
 */
import type { Diagnostic, SourcePos } from '../../base/diag.js';
import type { Firewall } from '../firewall.js';

/** The formats fwemu reads besides its own YAML, recognised from the content. */
export type RulesetFormat = 'nft' | 'nft-json' | 'iptables-save';

/**
 * A construct accepted and left out of the model because it never changes a
 * verdict (counter, log, comment, quota objects, flowtables, ct helper
 * objects, MSS clamping), or a table that does not take part in IP
 * filtering (bridge, arp, netdev), with what leaving it out means.
 */
export interface IgnoredConstruct {
  pos: SourcePos;
  /** The construct as written, one line ("flowtable ft { ... }", "-j TCPMSS --clamp-mss-to-pmtu"). */
  text: string;
  /** What ignoring it means, one sentence: "counts packets; the verdict is unchanged". */
  meaning: string;
}

export interface ImportOptions {
  /**
   * Unsupported constructs (ipsets without contents, -m recent, statistic,
   * ct mark, queue, ...) become warnings with a stated conservative meaning
   * instead of errors: a match makes its rule inert (FwRule.inert, "the
   * rule never matches"), an unmodelled statement is skipped.
   */
  lenient: boolean;
  /**
   * Reads an `include`d file, the path already resolved against the
   * including file's directory; returns its text or a one-line reason.
   * Absent: includes are errors. Importers bound the depth (nft: 16) and
   * the total bytes they read.
   */
  readInclude?: (path: string) => { text: string } | { error: string };
  /**
   * The files a wildcard include names (`include "/etc/nftables.d/*.nft"`),
   * as nft's glob(3): regular files only, sorted, none being no error.
   * Absent: a wildcard include is read as one file name.
   */
  listInclude?: (pattern: string) => string[];
}

export interface ImportResult {
  format: RulesetFormat;
  /** The model; interfaces empty (the host description fills them). */
  firewall: Firewall;
  /** Errors (import failed when any has severity error) and lenient warnings, in file order. */
  diagnostics: Diagnostic[];
  /** Constructs left out because they never change a verdict, and tables outside IP filtering. */
  ignored: IgnoredConstruct[];
  /** Every interface name the ruleset matches on (iifname/oifname, -i/-o), wildcards as written. */
  interfaceNames: string[];
}

/** Chain names in the model are unique across tables: the plain name where it is, else qualified. */
export function qualifiedChainName(family: string, table: string, chain: string): string {
  return `${family}/${table}/${chain}`;
}
