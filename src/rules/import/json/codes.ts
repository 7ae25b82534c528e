/**
 * The diagnostic codes of the nftables JSON reader (`nft -j list ruleset`,
 * the JSON `nft -j -f` reads), with what each means. Problems of the
 * ruleset itself, once converted, carry the nft importer's codes.
 */
export const JSON_CODES = {
  'json.too-big': 'the file is larger than the JSON reader takes',
  'json.syntax': 'not JSON: a syntax error',
  'json.not-json': 'YAML that is not JSON (a comment, anchor, tag, unquoted word, trailing comma)',
  'json.too-deep': 'arrays and objects nested deeper than the reader allows',
  'json.duplicate-key': 'a key given twice in one object',
  'json.not-nftables': 'the top level is not {"nftables": [...]}',
  'json.bad-value': 'a property of the wrong kind (a string where nft wants a number, ...)',
  'json.missing': 'a property nft requires is absent',
  'json.unknown': 'an object, statement or expression nft JSON does not have, or fwemu does not read',
  'json.bad-command': 'a command other than add, create, insert, flush ruleset (or a listing object)',
  'json.schema-version': 'a json_schema_version newer than the one fwemu reads',
  'json.iptables-nft': "tables of iptables-nft, whose xt statements nft's JSON gives without options (warning)",
  'json.reference': 'a rule, set or chain naming a table or chain that was not given before it',
} as const;

export type JsonCode = keyof typeof JSON_CODES;
