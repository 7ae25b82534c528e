/**
 * The diagnostic codes of the nftables reader (text and the shared
 * builder), with what each means: stable names that tests and programs
 * match on, as RULE_CODES are for rule files.
 */
export const NFT_CODES = {
  'nft.syntax': 'text nft would not parse (or a construct of nft syntax fwemu does not know)',
  'nft.too-big': "a file, line, word, nesting or element count beyond the reader's bounds",
  'nft.undefined-variable': 'a $name with no define before it',
  'nft.include': 'an include that cannot be read',
  'nft.include-loop': 'a file that includes itself, directly or through others',
  'nft.include-depth': 'includes nested deeper than 16',
  'nft.unknown-table': 'a command naming a table no command created',
  'nft.unknown-chain': 'a command or jump naming a chain its table does not have',
  'nft.unknown-set': 'an @name its table does not declare',
  'nft.unsupported': 'a construct fwemu cannot model (an error; a warning with --lenient, with its stated meaning)',
  'nft.bad-value': 'a value that does not fit where it is used (not a port, address, type name, ...)',
  'nft.bad-chain': 'a base chain declaration nft would refuse (hook, type, priority, policy)',
  'nft.never-matches':
    'a rule no packet can match (conditions of different protocols or IP families), left out (warning)',
} as const;

export type NftCode = keyof typeof NFT_CODES;
