/**
 * The ruleset readers, one per format (issue 18): each turns a file's text
 * into the firewall model (types.ts ImportResult). loadRuleFiles() looks a
 * format up here, so wiring a reader is one line of READERS.
 */
import { readIptablesSave } from './iptables/index.js';
import { readNftJson } from './json/index.js';
import { readNft } from './nft/index.js';
import type { ImportOptions, ImportResult, RulesetFormat } from './types.js';

/** Reads one ruleset file's text; `file` is its name in positions. */
export type RulesetReader = (text: string, file: string, opts: ImportOptions) => ImportResult;

/** What each format's reader is, or null while this build has none. */
const READERS: Record<RulesetFormat, RulesetReader | null> = {
  nft: readNft,
  'nft-json': readNftJson,
  'iptables-save': readIptablesSave,
};

/** The reader of `format`, or null when this build cannot read it. */
export function readerFor(format: RulesetFormat): RulesetReader | null {
  return READERS[format];
}

/**
 * Puts `reader` in place of `format`'s (tests: a small fake reader);
 * returns what undoes it.
 */
export function setReader(format: RulesetFormat, reader: RulesetReader | null): () => void {
  const before = READERS[format];
  READERS[format] = reader;
  return () => {
    READERS[format] = before;
  };
}

/** How each format is named in messages. */
export const FORMAT_NAMES: Readonly<Record<RulesetFormat, string>> = {
  nft: 'nftables text (nft -f, nft list ruleset)',
  'nft-json': 'nftables JSON (nft -j list ruleset)',
  'iptables-save': 'an iptables-save dump',
};
