/**
 * nftables JSON (`nft -j list ruleset`, and the commands `nft -j -f`
 * reads) into the firewall model: read with positions (read.ts),
 * converted into the nft text importer's AST (convert.ts), and built by
 * that importer's builder, so that text and JSON of one ruleset give one
 * model.
 */
import { diag, type Diagnostic, sortDiags } from '../../../base/diag.js';
import type { Ruleset } from '../nft/ast.js';
import { buildRuleset } from '../nft/build.js';
import type { ImportOptions, ImportResult } from '../types.js';
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

/**
 * The firewall model of nftables JSON read from `file`. On any error the
 * diagnostics say why (file:line:col) and the model is empty.
 */
export function readNftJson(text: string, file: string, opts: ImportOptions): ImportResult {
  const p = parseNftJson(text, file);
  if (p.ruleset === null || p.diagnostics.some((d) => d.severity === 'error'))
    return {
      format: 'nft-json',
      firewall: { interfaces: [], sets: [], chains: [] },
      diagnostics: sortDiags(p.diagnostics),
      ignored: [],
      interfaceNames: [],
    };
  return { ...buildRuleset(p.ruleset, opts, p.diagnostics), format: 'nft-json' };
}
