/**
 * Reads nftables text (`nft -f`, `nft list ruleset`) into the firewall
 * model: parser.ts makes the AST, build.ts the model.
 */
import type { ImportOptions, ImportResult } from '../types.js';
import { buildRuleset } from './build.js';
import { parseNft } from './parser.js';

export { buildRuleset } from './build.js';
export type * from './ast.js';
export { NFT_CODES, type NftCode } from './codes.js';

/** The ruleset of `text` (read from `file`); on any error diagnostics say why and the model is partial. */
export function readNft(text: string, file: string, opts: ImportOptions): ImportResult {
  const p = parseNft(text, file, opts);
  if (p.diagnostics.some((d) => d.severity === 'error'))
    return {
      format: 'nft',
      firewall: { interfaces: [], sets: [], chains: [] },
      diagnostics: p.diagnostics,
      ignored: [],
      interfaceNames: [],
    };
  return buildRuleset(p.ruleset, opts, p.diagnostics);
}
