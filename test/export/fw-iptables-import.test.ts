/**
 * `fwemu export --format iptables` of what imported rulesets hold. Chain
 * names: an import
 * names a chain "family/table/chain" where several tables have one of that
 * name (Docker's DOCKER in filter and nat); iptables keeps names per
 * table, so each is written under its own name in its table. Idle base
 * chains: OpenWrt's fw4 keeps an empty prerouting chain (policy accept) at
 * priority 0, after dstnat, where iptables has no table; it does nothing,
 * so it needs no place. Loaded with
 * iptables-restore into a private network namespace and read back with
 * iptables-save, compared with the lines written by hand.
 *
 * Needs iptables-restore/-save, ip and root; skipped without them, except
 * under CI=true.
 */
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/base/errors.js';
import { iptablesRestoreFile } from '../../src/export/iptables.js';
import { ok } from '../rules/helpers.js';
import { namespaces, run, toolsMissing, toolTest } from './netns.js';

const FILE = `interfaces:
  wan0: { addresses: 203.0.113.2/24, default: true }
  docker0: { addresses: 172.17.0.1/16 }
chains:
  ip/nat/PREROUTING:
    hook: prerouting
    type: nat
    priority: -100
    policy: accept
    rules:
      - { id: to-docker, jump: ip/nat/DOCKER }
  ip/nat/DOCKER:
    rules:
      - { id: web, iif: wan0, proto: tcp, dport: 8080, dnat: "172.17.0.2:80" }
  ip/filter/FORWARD:
    hook: forward
    priority: 0
    policy: drop
    rules:
      - { id: fwd-docker, oif: docker0, jump: ip/filter/DOCKER }
  ip/filter/DOCKER:
    rules:
      - { id: web-in, dst: 172.17.0.2, proto: tcp, dport: 80, action: accept }
`;

/** What iptables-save shows (hand-written), in the order it saves the tables. */
const SAVED = [
  '*filter',
  ':DOCKER - [0:0]',
  '-A FORWARD -o docker0 -m comment --comment fwd-docker -j DOCKER',
  '-A DOCKER -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -m comment --comment web-in -j ACCEPT',
  '*nat',
  ':DOCKER - [0:0]',
  '-A PREROUTING -m comment --comment to-docker -j DOCKER',
  '-A DOCKER -i wan0 -p tcp -m tcp --dport 8080 -m comment --comment web -j DNAT --to-destination 172.17.0.2:80',
];

const withNamespace = namespaces('fwemu-iptimport-');
const missing = toolsMissing(
  [
    ['iptables-restore', 'iptables'],
    ['iptables-save', 'iptables'],
    ['ip', 'iproute2'],
  ],
  'iptables-restore',
  () => withNamespace(() => undefined),
);

/** fw4's shape: dstnat at -100 and a filter chain at 0 on prerouting, `rules` its rules. */
const FW4 = (rules: string) => `interfaces:
  wan0: { addresses: 203.0.113.2/24, default: true }
  lan0: { addresses: 192.168.1.1/24 }
chains:
  dstnat:
    hook: prerouting
    type: nat
    priority: dstnat
    rules:
      - { id: fwd, iif: wan0, proto: tcp, dport: 8080, dnat: "192.168.1.10:80" }
  prerouting:
    hook: prerouting
    type: filter
    priority: 0
    policy: accept
    rules: ${rules}
`;

describe('export --format iptables of imported rulesets', () => {
  it('an idle filter chain after dstnat is left out; one with a rule there has no iptables table', () => {
    const text = iptablesRestoreFile(ok(FW4('[]')).ruleset, 4);
    expect(text).toContain('-j DNAT --to-destination 192.168.1.10:80');
    expect(text).not.toMatch(/^\*mangle/m);
    const busy = ok(FW4('[{ id: lan-only, iif: lan0, proto: udp, dport: 53, action: drop }]')).ruleset;
    expect(() => iptablesRestoreFile(busy, 4)).toThrow(UserError);
    expect(() => iptablesRestoreFile(busy, 4)).toThrow(/runs at priority 0 on prerouting/);
  });

  toolTest('iptables', missing, 'ip/nat/DOCKER and ip/filter/DOCKER are DOCKER in their own tables', () => {
    const text = iptablesRestoreFile(ok(FILE).ruleset, 4);
    const saved = withNamespace((ns) => {
      const load = run('ip', ['netns', 'exec', ns, 'iptables-restore'], text);
      expect(load.code, `iptables-restore: ${load.stderr}\n${text}`).toBe(0);
      return run('ip', ['netns', 'exec', ns, 'iptables-save']).stdout;
    });
    const lines = saved.split('\n').filter((l) => /^(\*|-A |:DOCKER)/.test(l));
    // (Tables with nothing of the file's are saved too, empty: only these two matter.)
    const tables = lines
      .join('\n')
      .split(/\n(?=\*)/)
      .filter((t) => t.split('\n').length > 1);
    expect(tables.join('\n').split('\n')).toEqual(SAVED);
  });
});
