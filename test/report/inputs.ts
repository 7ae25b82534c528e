/** What the report tests replay: every fixture (malformed ones too) and scenario, under every example rule file. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export const inputs = [
  ...readdirSync('fixtures').filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => join('fixtures', f)),
  ...readdirSync('fixtures/malformed').filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => join('fixtures/malformed', f)),
  ...readdirSync('fixtures/scenarios').filter((f) => f.endsWith('.yaml')).map((f) => join('fixtures/scenarios', f)),
];

export const ruleFiles = readdirSync('rules').filter((f) => f.endsWith('.yaml')).map((f) => join('rules', f));
