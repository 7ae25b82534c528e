/**
 * `fwemu export` of a rule file with `interfaces:` and `chains:`, through
 * the CLI and the YAML loader: what a user runs. The design's home router
 * is exported and, where the tools are, loaded (nft -f, iptables-restore);
 * what cannot be exported is an error naming file, line and rule, exit 2,
 * no stack trace; a cut log prefix is a warning.
 */
import { describe, expect, it } from 'vitest';
import { STACK, fwemuIn } from '../cli/run.js';
import { y } from '../rules/helpers.js';
import { namespaces, run, toolsMissing, toolTest } from './netns.js';

const HOME = y`
  name: home-router
  interfaces:
    lan0:
      addresses: [192.168.1.1/24, "fd00:1::1/64"]
      networks: [192.168.2.0/24]
    wan0:
      addresses: 203.0.113.1/24
      default: true
  sets:
    admins: [192.168.1.10, 192.168.1.20-192.168.1.30]
    web: [80, 443, "8000-8099"]
  chains:
    prerouting:
      hook: prerouting
      type: nat
      rules:
        - { id: web-fwd, iif: wan0, proto: tcp, dport: 80, dnat: "192.168.1.10:8080" }
    postrouting:
      hook: postrouting
      type: nat
      rules:
        - { id: lan-out, oif: wan0, masquerade: true }
    forward:
      hook: forward
      policy: drop
      rules:
        - { ct_state: [established, related], action: accept }
        - { ct_state: invalid, action: drop }
        - { iif: lan0, oif: wan0, action: accept }
        - { ct_status: dnat, action: accept }
    input:
      hook: input
      policy: drop
      rules:
        - { ct_state: [established, related], action: accept }
        - { iif: lo, action: accept }
        - { iif: lan0, proto: tcp, dport: "@web", action: jump, to: ssh_in }
    ssh_in:
      rules:
        - { src: "@admins", limit: "10/minute burst 5", log: "ssh: ", action: accept }
        - { action: return }
`;

describe('fwemu export: a firewall-model rule file', () => {
  it('nft: the chains, sets and NAT of the file, exit 0', async () => {
    const r = await fwemuIn(['export', '-'], { input: HOME });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n').map((l) => l.trim());
    for (const l of [
      '# interface wan0: 203.0.113.1/24; default route out of it',
      'set admins {',
      'type nat hook prerouting priority -100; policy accept;',
      'meta nfproto ipv4 iifname "wan0" tcp dport 80 dnat ip to 192.168.1.10:8080 comment "web-fwd"',
      'oifname "wan0" masquerade comment "lan-out"',
      'iifname "lan0" tcp dport @web jump ssh_in comment "input-3"',
      'ip saddr @admins limit rate 10/minute burst 5 packets log prefix "ssh: " accept comment "ssh_in-1"',
    ])
      expect(lines).toContain(l);
  });

  it('iptables: what it cannot express is exit 2, naming file, line and rule, without a stack trace', async () => {
    const bad = HOME.replace('{ ct_status: dnat, action: accept }', '{ id: gone, ct_status: dying, action: accept }');
    const r = await fwemuIn(['export', '--format', 'iptables', '-'], { input: bad });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^fwemu: rule "gone" \(<stdin>:30:9\) in chain forward cannot be exported to iptables: conntrack has no match for ct status dying\n$/,
    );
    expect(r.stderr).not.toMatch(STACK);
  });

  it('nft: a chain named after an nft keyword is exit 2 at its position', async () => {
    const r = await fwemuIn(['export', '-'], { input: HOME.replaceAll('ssh_in', 'limit') });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^fwemu: <stdin>:38:3: chain name "limit" is an nft keyword/);
  });

  it('iptables: a log prefix longer than LOG keeps is cut, with a warning', async () => {
    const r = await fwemuIn(['export', '--format', 'iptables', '-'], {
      input: HOME.replace('"ssh: "', `"${'s'.repeat(40)}"`),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /^fwemu: warning: rule "ssh_in-1" .*LOG keeps \(29 bytes\): the export cuts it to "s{29}"\n$/,
    );
    expect(r.stdout).toContain(`-j LOG --log-prefix "${'s'.repeat(29)}"`);
  });
});

const withNamespace = namespaces('fwemu-fw-cli-');
const missing = toolsMissing(
  [
    ['nft', 'nftables'],
    ['iptables-restore', 'iptables'],
    ['ip6tables-restore', 'iptables'],
    ['ip', 'iproute2'],
  ],
  'loading a ruleset',
  () => withNamespace(() => undefined),
);

describe('fwemu export: a firewall-model rule file, loaded', () => {
  toolTest(
    'nft',
    missing,
    'both exports of the file load: nft -f, iptables-restore and ip6tables-restore',
    async () => {
      const nft = await fwemuIn(['export', '-'], { input: HOME });
      const ipt = await fwemuIn(['export', '--format', 'iptables', '-'], { input: HOME });
      const v6 = ipt.stdout.indexOf('# --- ip6tables-restore (IPv6) ---');
      withNamespace((ns) => {
        for (const [cmd, text] of [
          [['nft', '-f', '-'], nft.stdout],
          [['iptables-restore'], ipt.stdout.slice(0, v6)],
          [['ip6tables-restore'], ipt.stdout.slice(v6)],
        ] as const) {
          const r = run('ip', ['netns', 'exec', ns, ...cmd], text);
          expect(r.code, `${cmd.join(' ')}: ${r.stderr}`).toBe(0);
        }
        expect(run('ip', ['netns', 'exec', ns, 'nft', 'list', 'chain', 'inet', 'fwemu', 'ssh_in']).stdout).toContain(
          'ip saddr @admins limit rate 10/minute log prefix "ssh: " accept comment "ssh_in-1"',
        );
      });
    },
  );
});
