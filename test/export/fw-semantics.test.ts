/**
 * Do the exports mean what the rule file says? Packets, not listings: a
 * rule set of three base chains on the output hook (priorities -10, 0, 10;
 * policies accept, drop, accept) and two user chains, reached by jump and
 * goto, with return, accept, drop, lists (helper chains in iptables) and a
 * log-and-continue rule, is exported to nft and to iptables and each is
 * loaded into its own network namespace. There UDP datagrams go from
 * 127.0.0.x:SPORT to a socket on 127.0.0.1 (the rules key on the source
 * port and address), through the output hook, and the datagrams that
 * arrive are compared with the verdicts worked out by hand from nft's
 * semantics (below, per source port): accept in a base chain goes on to
 * the next base chain, return in a user chain goes back to the chain that
 * jumped, goto's return ends the base chain with its policy, and so on.
 * The iptables export has to rebuild all of this with user chains (see
 * iptables-firewall.ts), so this is the test of that mapping.
 *
 * A last datagram from port 1999, accepted by every chain, ends the run:
 * loopback delivers in order to the one socket, so when it arrives every
 * earlier datagram that was let through has arrived too (no timing).
 *
 * Needs nft, iptables-restore, node, ip and root, as the other real-tool
 * tests; skipped without them, except under CI=true.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect } from 'vitest';
import { iptablesRestoreFile } from '../../src/export/iptables.js';
import { exportNft } from '../../src/export/nft.js';
import type { Firewall } from '../../src/rules/firewall.js';
import { addrs, chain, firewallRuleSet, ports, type RuleSpec } from './fw-build.js';
import { namespaces, run, toolsMissing, toolTest } from './netns.js';

const udp = (sport: (number | string)[], r: RuleSpec = {}): RuleSpec => ({ proto: 'udp', sport: ports(sport), ...r });
const LIST = ['127.0.0.2', '127.0.0.3-127.0.0.4'];

function semanticsFirewall(): Firewall {
  return {
    interfaces: [],
    sets: [],
    chains: [
      chain('o1', { hook: 'output', priority: -10, policy: 'accept' }, [
        udp([1999], { action: 'accept' }),
        udp([1001], { action: 'accept' }),
        udp([1002], { action: 'drop' }),
        udp([1003, 1006], { action: 'jump', target: 'u1' }),
        udp([1004], { action: 'goto', target: 'u1' }),
        udp([1005], { action: 'return' }),
        udp([1011, 1019], { src: addrs(LIST), action: 'jump', target: 'u1' }),
        udp([1012], { src: addrs(LIST), log: { prefix: 'seen ', level: null }, action: 'continue' }),
        udp([1020], { src: addrs(LIST), action: 'goto', target: 'u1' }),
      ]),
      chain('u1', {}, [
        udp([1003], { action: 'accept' }),
        udp([1004], { action: 'return' }),
        udp([1006], { action: 'drop' }),
        udp([1011, 1019, 1020], { action: 'drop' }),
        udp([1013], { action: 'accept' }),
      ]),
      chain('o2', { hook: 'output', priority: 0, policy: 'drop' }, [
        udp([1999], { action: 'accept' }),
        udp([1001, 1003, 1004, 1005, 1011, 1012, 1018, 1019], { action: 'accept' }),
        udp([1013], { action: 'jump', target: 'u1' }),
        udp([1014], { action: 'goto', target: 'u2' }),
        udp([1015], { action: 'jump', target: 'u2' }),
        udp([1015], { action: 'accept' }),
        udp([1016], { action: 'return' }),
        udp([1021], { action: 'goto', target: 'u2' }),
      ]),
      chain('u2', {}, [
        udp([1014, 1015], { action: 'return' }),
        udp([1017], { action: 'accept' }),
        udp([1021], { action: 'accept' }),
      ]),
      chain('o3', { hook: 'output', priority: 10, policy: 'accept' }, [
        udp([1003], { action: 'drop' }),
        udp([1018], { action: 'jump', target: 'u1' }),
        udp([1021], { action: 'drop' }),
      ]),
    ],
  };
}

/**
 * Each datagram (source address, source port) and whether it arrives,
 * worked out by hand from nft's semantics.
 */
const SENDS: [src: string, sport: number, arrives: boolean, why: string][] = [
  ['127.0.0.1', 1001, true, 'o1 accept goes on to o2, which accepts; o3 lets it pass'],
  ['127.0.0.1', 1002, false, 'o1 drops'],
  ['127.0.0.1', 1003, false, 'u1 accepts, which ends o1 only; o2 accepts; o3 drops'],
  ['127.0.0.1', 1004, true, 'goto u1, u1 returns: o1 ends with its policy accept; o2 accepts'],
  ['127.0.0.1', 1005, true, 'return in base chain o1: its policy accept; o2 accepts'],
  ['127.0.0.1', 1006, false, 'jump u1, u1 drops'],
  ['127.0.0.3', 1011, false, 'source in the list: jump u1, which drops'],
  ['127.0.0.9', 1019, true, 'source not in the list: no jump; o2 accepts'],
  ['127.0.0.2', 1012, true, 'logged and continued once; o2 accepts'],
  ['127.0.0.4', 1020, false, 'goto u1 from a list, u1 drops'],
  ['127.0.0.1', 1013, true, 'o2 jumps u1, which accepts: o2 ends, on to o3, which lets it pass'],
  ['127.0.0.1', 1014, false, 'o2 goto u2, which returns: o2 ends with its policy drop'],
  ['127.0.0.1', 1015, true, 'o2 jumps u2, which returns into o2; the next rule accepts'],
  ['127.0.0.1', 1016, false, 'return in base chain o2: its policy drop'],
  ['127.0.0.1', 1017, false, 'no rule in o2: its policy drop (u2 would accept, but nothing enters it)'],
  ['127.0.0.1', 1018, true, 'o2 accepts; o3 jumps u1, which has no rule for it and returns; policy accept'],
  ['127.0.0.1', 1021, false, 'o2 goto u2, which accepts; o3 still drops (accept ends one base chain)'],
];

/** Binds one socket on 127.0.0.1:5000, sends each datagram, stops at the sentinel; prints what arrived. */
const SCRIPT = `
import dgram from 'node:dgram';
const sends = JSON.parse(process.argv[2]);
const rx = dgram.createSocket('udp4');
const got = [];
const done = new Promise((resolve) => rx.on('message', (m) => { const s = m.toString(); if (s === '1999') resolve(); else got.push(Number(s)); }));
await new Promise((r) => rx.bind(5000, '127.0.0.1', r));
for (const [src, sport] of [...sends, ['127.0.0.1', 1999]]) {
  const tx = dgram.createSocket('udp4');
  await new Promise((r) => tx.bind(sport, src, r));
  await new Promise((r) => tx.send(String(sport), 5000, '127.0.0.1', () => r()));
  tx.close();
}
const timer = setTimeout(() => { console.log('no sentinel'); process.exit(3); }, 20000);
await done;
clearTimeout(timer);
console.log(JSON.stringify(got.sort((a, b) => a - b)));
process.exit(0);
`;

const tmp = mkdtempSync(join(tmpdir(), 'fwemu-fw-sem-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const script = join(tmp, 'send.mjs');
writeFileSync(script, SCRIPT);
const withNamespace = namespaces('fwemu-fw-sem-');
const missing = toolsMissing(
  [
    ['nft', 'nftables'],
    ['iptables-restore', 'iptables'],
    ['ip', 'iproute2'],
  ],
  'loading a ruleset',
  () => withNamespace(() => undefined),
);

/** Loads a ruleset in a fresh namespace (lo up) with `load`, sends SENDS, returns the source ports that arrived. */
function arrived(load: (ns: string) => { code: number; stderr: string }): number[] {
  return withNamespace((ns) => {
    expect(run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']).code).toBe(0);
    const l = load(ns);
    expect(l.code, l.stderr).toBe(0);
    const sends = SENDS.map(([src, sport]) => [src, sport]);
    const r = run('ip', ['netns', 'exec', ns, process.execPath, script, JSON.stringify(sends)]);
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout) as number[];
  });
}

const expected = SENDS.filter(([, , ok]) => ok)
  .map(([, p]) => p)
  .sort((a, b) => a - b);

describe('export, firewall model: packets through the loaded rulesets', () => {
  toolTest('nft', missing, 'nft: the datagrams that arrive are the ones the hand-worked verdicts let through', () => {
    const file = join(tmp, 'sem.nft');
    writeFileSync(file, exportNft(firewallRuleSet(semanticsFirewall())));
    expect(arrived((ns) => run('ip', ['netns', 'exec', ns, 'nft', '-f', file]))).toEqual(expected);
  });

  toolTest('iptables', missing, 'iptables (three base chains merged into OUTPUT): the same datagrams arrive', () => {
    const text = iptablesRestoreFile(firewallRuleSet(semanticsFirewall()), 4);
    expect(arrived((ns) => run('ip', ['netns', 'exec', ns, 'iptables-restore'], text))).toEqual(expected);
  });
});
