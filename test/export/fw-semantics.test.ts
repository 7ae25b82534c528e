/**
 * Do the exports mean what the rule file says? Packets, not listings: a
 * rule set of three base chains on the output hook (priorities -10, 0, 10;
 * policies accept, drop, accept) and two user chains, reached by jump and
 * goto, with return, accept, drop, lists (helper chains in iptables) and a
 * log-and-continue rule, and two nat chains on output (dnat, redirect; in
 * iptables both in nat OUTPUT), is exported to nft and to iptables and each is
 * loaded into its own network namespace. There UDP datagrams go from
 * 127.0.0.x:SPORT to a socket on 127.0.0.1, and over IPv6 from ::1 to ::1
 * (ip6tables-restore loading the IPv6 part); the rules key on the source
 * port and address. They pass the output hook, and the datagrams that
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
import { addrs, chain, firewallRuleSet, nat, ports, type RuleSpec } from './fw-build.js';
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
        udp([1001, 1003, 1004, 1005, 1011, 1012, 1018, 1019, 1030, 1031, 1032, 1033], { action: 'accept' }),
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
      // Two nat chains on output (merged into nat OUTPUT in iptables): accept in the first goes on to the second.
      chain('nat1', { hook: 'output', type: 'nat', priority: -100 }, [
        udp([1031], { action: 'accept' }),
        udp([1030], { nat: nat('dnat', '127.0.0.1', '5000') }),
      ]),
      chain('nat2', { hook: 'output', type: 'nat', priority: -90 }, [
        udp([1031, 1032], { nat: nat('redirect', null, '5000') }),
        udp([1030], { nat: nat('redirect', null, '5999') }),
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
const SENDS: [src: string, sport: number, arrives: boolean, why: string, dport?: number][] = [
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
  ['127.0.0.1', 1030, true, 'sent to port 6000: nat1 translates it to 127.0.0.1:5000; nat2 no longer runs', 6000],
  ['127.0.0.1', 1031, true, 'sent to port 6001: nat1 accepts, which goes on to nat2: redirect to 5000', 6001],
  ['127.0.0.1', 1032, true, 'sent to port 6002: nat1 has no rule for it, nat2 redirects it to 5000', 6002],
  ['127.0.0.1', 1033, false, 'sent to port 6003: no nat rule, so it stays there, where nothing listens', 6003],
];

/**
 * The same datagrams over IPv6, all from ::1 to ::1, worked out by hand:
 * the address lists are IPv4 (an `ip saddr` rule never matches an IPv6
 * packet; the iptables export leaves it out of the IPv6 file), so 1011 is
 * not jumped to u1 and o2 accepts it, and 1020 meets o2's policy, as
 * before; nat1's dnat is to an IPv4 address (`meta nfproto ipv4`), so 1030
 * goes on to nat2, which redirects it to port 5999, where nothing listens.
 */
const ARRIVE6 = new Set([1001, 1004, 1005, 1011, 1012, 1013, 1015, 1018, 1019, 1031, 1032]);

/** Binds one socket on port 5000 of lo, sends each datagram (to port 5000 unless it says), stops at the sentinel; prints what arrived. */
const SCRIPT = `
import dgram from 'node:dgram';
const sends = JSON.parse(process.argv[2]);
const six = process.argv[3] === '6';
const lo = six ? '::1' : '127.0.0.1';
const rx = dgram.createSocket(six ? 'udp6' : 'udp4');
const got = [];
const done = new Promise((resolve) => rx.on('message', (m) => { const s = m.toString(); if (s === '1999') resolve(); else got.push(Number(s)); }));
await new Promise((r) => rx.bind(5000, lo, r));
for (const [src, sport, dport] of [...sends, [lo, 1999, 5000]]) {
  const tx = dgram.createSocket(six ? 'udp6' : 'udp4');
  await new Promise((r) => tx.bind(sport, six ? lo : src, r));
  await new Promise((r) => tx.send(String(sport), dport, lo, () => r()));
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
    ['ip6tables-restore', 'iptables'],
    ['ip', 'iproute2'],
  ],
  'loading a ruleset',
  () => withNamespace(() => undefined),
);

/** Loads a ruleset in a fresh namespace (lo up) with `load`, sends SENDS over IPv`fam`, returns the source ports that arrived. */
function arrived(load: (ns: string) => { code: number; stderr: string }, fam: 4 | 6): number[] {
  return withNamespace((ns) => {
    expect(run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']).code).toBe(0);
    const l = load(ns);
    expect(l.code, l.stderr).toBe(0);
    const sends = SENDS.map(([src, sport, , , dport]) => [src, sport, dport ?? 5000]);
    const r = run('ip', ['netns', 'exec', ns, process.execPath, script, JSON.stringify(sends), String(fam)]);
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout) as number[];
  });
}

const expected: Record<4 | 6, number[]> = {
  4: SENDS.filter(([, , ok]) => ok)
    .map(([, p]) => p)
    .sort((a, b) => a - b),
  6: [...ARRIVE6].sort((a, b) => a - b),
};

describe('export, firewall model: packets through the loaded rulesets', () => {
  for (const fam of [4, 6] as const) {
    toolTest(
      'nft',
      missing,
      `nft, IPv${fam}: the datagrams that arrive are the ones the hand-worked verdicts let through`,
      () => {
        const file = join(tmp, `sem${fam}.nft`);
        writeFileSync(file, exportNft(firewallRuleSet(semanticsFirewall())));
        expect(arrived((ns) => run('ip', ['netns', 'exec', ns, 'nft', '-f', file]), fam)).toEqual(expected[fam]);
      },
    );

    const tool = fam === 4 ? 'iptables-restore' : 'ip6tables-restore';
    toolTest('iptables', missing, `${tool} (three base chains merged into OUTPUT): the same datagrams arrive`, () => {
      const text = iptablesRestoreFile(firewallRuleSet(semanticsFirewall()), fam);
      expect(arrived((ns) => run('ip', ['netns', 'exec', ns, tool], text), fam)).toEqual(expected[fam]);
    });
  }
});
