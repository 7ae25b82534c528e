/**
 * nftables JSON (`nft -j list ruleset`, and the commands `nft -j -f`
 * reads) into the nft importer's AST: read with positions (read.ts), then
 * converted (convert.ts).
 */
import { diag, type Diagnostic } from '../../../base/diag.js';
import type { Ruleset } from '../nft/ast.js';
import { toRuleset } from './convert.js';
import { readJson } from './read.js';

export { JSON_CODES, type JsonCode } from './codes.js';

export interface JsonRuleset {
  /** null when the text is not nftables JSON at all. */
  ruleset: Ruleset | null;
  /** Errors in file order; the ruleset is unusable when any is an error. */
  diagnostics: Diagnostic[];
}

/** Reads nftables JSON into the AST that the nft text importer's builder takes. */
export function parseNftJson(text: string, file: string): JsonRuleset {
  const read = readJson(text);
  if (read.value === null) {
    const diagnostics = read.problems.map((p) => {
      const { line, col } = read.lineCol(p.at);
      return diag(file, line, col, p.message, p.code);
    });
    return { ruleset: null, diagnostics };
  }
  const { ruleset, diagnostics } = toRuleset(read.value, file, read.lineCol);
  return { ruleset, diagnostics };
}
