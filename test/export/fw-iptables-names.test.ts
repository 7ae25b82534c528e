/**
 * `fwemu export --format iptables` of imported chain names: an import
 * names a chain "family/table/chain" where several tables have one of that
 * name (Docker's DOCKER in filter and nat); iptables keeps names per
 * table, so each is written under its own name in its table. Loaded with
 * iptables-restore into a private network namespace and read back with
 * iptables-save, compared with the lines written by hand.
 *
 * Needs iptables-restore/-save, ip and root; skipped without them, except
 * under CI=true.
 */
import { describe, expect } from 'vitest';
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

const withNamespace = namespaces('fwemu-iptnames-');
const missing = toolsMissing(
  [
    ['iptables-restore', 'iptables'],
    ['iptables-save', 'iptables'],
    ['ip', 'iproute2'],
  ],
  'iptables-restore',
  () => withNamespace(() => undefined),
);

describe('export --format iptables of imported (qualified) chain names', () => {
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
