/**
 * `fwemu test` of a real nftables ruleset (README "In CI"): the policy test
 * in fixtures/rulesets names a host file, which names the ruleset itself.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fwemuIn } from './run.js';

const POLICY = 'fixtures/rulesets/home-router.policy.yaml';

describe('fwemu test with a ruleset the firewall runs', () => {
  it('passes on the home router as it is', async () => {
    const r = await fwemuIn(['test', POLICY]);
    expect(r.stdout, r.stderr).toMatch(/^PASS .*home-router\.policy\.yaml \(4 expectations/m);
    expect(r.code).toBe(0);
  });

  it('fails, naming the expectation, when the port forward is taken out of the ruleset', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fwemu-policy-ruleset-'));
    try {
      const nft = readFileSync('fixtures/home-router.nft', 'utf8');
      const without = nft.replace(/^\s*iifname "wan0" tcp dport 8080 dnat.*$/m, '');
      expect(without).not.toBe(nft);
      writeFileSync(join(dir, 'home-router.nft'), without);
      const host = readFileSync('fixtures/rulesets/home-router.host.yaml', 'utf8').replace(
        'ruleset: ../home-router.nft',
        'ruleset: home-router.nft',
      );
      writeFileSync(join(dir, 'home-router.host.yaml'), host);
      copyFileSync(POLICY, join(dir, 'policy.yaml'));
      const r = await fwemuIn(['test', join(dir, 'policy.yaml')]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/^FAIL /m);
      expect(r.stdout).toContain('{ step: forwarded, verdict: accept }');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
