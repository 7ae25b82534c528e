/**
 * The corpus of real rulesets (fixtures/rulesets/, origins and licences in
 * SOURCES.md) as the kernel suite uses it: per entry, its host file, the
 * files the ruleset's own tool loads (nft -f, nft -j -f, iptables-restore,
 * ip6tables-restore), and the traffic made for it.
 *
 * The host file is read here on its own, with the yaml package: the
 * kernel's topology must not come from fwemu's reading of the same file,
 * which is under test.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { generate, loadScenario, writeSynth } from '../../src/synth/index.js';
import { readCapture, toL3 } from './capture.js';
import type { KernelSide } from './fw-conformance.js';
import type { KernelInterfaces, OriginalRuleset } from './harness.js';
import { randomTraffic } from './ruleset-random.js';

export const RULESETS = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/rulesets');

export interface CorpusEntry {
  /** Short name; the host file is fixtures/rulesets/NAME.host.yaml. */
  name: string;
  /** Scenario (fixtures/rulesets/), the traffic aimed at its ports, interfaces and NAT. */
  scenario: string;
  /** nfacct objects the ruleset's tool creates before loading it (kube-proxy). */
  nfacct?: string[];
  /**
   * This kernel cannot load the ruleset (SOURCES.md says why): it is kept
   * out of the comparison, and the suite checks that loading it still
   * fails with this error, so that the record stays true.
   */
  unloadable?: RegExp;
  /** Random sessions over its topology (ruleset-random.ts); 0: none. */
  randomSessions: number;
  /** Real captures taken where the ruleset ran (relative to fixtures/rulesets/), replayed as well. */
  captures?: readonly string[];
  /**
   * Known differences, each with why: flows whose first packet `first`
   * picks (by its TCP/UDP tuple). Their packets' and entries' differences
   * are counted and printed, not failed; any other difference fails.
   */
  known?: readonly KnownFlow[];
}

export interface KnownFlow {
  why: string;
  first: (t: Tuple) => boolean;
}

/**
 * A packet's tuple as sent: TCP/UDP ports; for an ICMP(v6) echo both ports
 * are its id; for another ICMP(v6) message both are its type.
 */
export interface Tuple {
  proto: 'tcp' | 'udp' | 'echo' | 'icmp';
  /** TTL or hop limit. */
  hops: number;
  src: string;
  sport: number;
  dst: string;
  dport: number;
}

export const CORPUS: readonly CorpusEntry[] = [
  { name: 'arch-simple-safe', scenario: 'workstation.scenario.yaml', randomSessions: 40 },
  { name: 'debian-workstation', scenario: 'workstation.scenario.yaml', randomSessions: 40 },
  { name: 'alpine-default', scenario: 'workstation.scenario.yaml', randomSessions: 40 },
  { name: 'fedora-iptables-services', scenario: 'workstation.scenario.yaml', randomSessions: 40 },
  { name: 'ufw-workstation', scenario: 'workstation.scenario.yaml', randomSessions: 40 },
  { name: 'ufw-router', scenario: 'ufw-router.scenario.yaml', randomSessions: 40 },
  { name: 'debian-nat-maps', scenario: 'debian-nat-maps.scenario.yaml', randomSessions: 40 },
  { name: 'debian-all-in-one', scenario: 'workstation.scenario.yaml', randomSessions: 40 },
  { name: 'openwrt-fw4-redirect', scenario: 'openwrt-fw4-redirect.scenario.yaml', randomSessions: 40 },
  { name: 'openwrt-fw4-zones', scenario: 'openwrt-fw4-zones.scenario.yaml', randomSessions: 40 },
  {
    name: 'openwrt-fw4-default',
    scenario: 'openwrt-fw4-redirect.scenario.yaml',
    // (nf_conntrack_rtsp is not in mainline Linux: no kernel of this suite loads it.)
    unloadable: /ct helper rtsp/,
    randomSessions: 0,
  },
  { name: 'docker-portmap', scenario: 'docker-portmap.scenario.yaml', randomSessions: 40 },
  { name: 'firewalld-router', scenario: 'firewalld-router.scenario.yaml', randomSessions: 40 },
  { name: 'firewalld-router-json', scenario: 'firewalld-router.scenario.yaml', randomSessions: 40 },
  { name: 'foomuuri-host', scenario: 'workstation.scenario.yaml', randomSessions: 40 },
  { name: 'foomuuri-router', scenario: 'foomuuri-router.scenario.yaml', randomSessions: 40 },
  {
    name: 'kube-proxy',
    scenario: 'kube-proxy.scenario.yaml',
    nfacct: ['ct_state_invalid_dropped_pkts', 'localhost_nps_accepted_pkts'],
    randomSessions: 40,
  },
  {
    name: 'home-router',
    scenario: 'home-router.scenario.yaml',
    randomSessions: 40,
    // What the real router saw on both legs (scripts/make-home-router-capture.sh).
    captures: ['../home-router.pcapng'],
  },
];

export interface HostFile {
  path: string;
  /** The ruleset files it names, resolved against its directory. */
  rulesets: string[];
  interfaces: KernelInterfaces;
}

export function hostPath(e: CorpusEntry): string {
  return join(RULESETS, `${e.name}.host.yaml`);
}

const list = (v: unknown): string[] =>
  v === undefined || v === null ? [] : Array.isArray(v) ? v.map(String) : [String(v)];

/** The host file as the kernel's topology: interfaces, their addresses and networks, the routes. */
export function readHost(path: string): HostFile {
  const doc = parse(readFileSync(path, 'utf8')) as {
    ruleset: string | string[];
    interfaces?: Record<string, { addresses?: unknown; networks?: unknown; default?: boolean } | null>;
    routes?: string[];
  };
  const interfaces: KernelInterfaces = {};
  for (const [name, v] of Object.entries(doc.interfaces ?? {})) {
    if (name === 'lo') continue;
    interfaces[name] = {
      addresses: list(v?.addresses),
      networks: list(v?.networks),
      ...(v?.default ? { default: true } : {}),
    };
  }
  for (const r of doc.routes ?? []) {
    const [prefix, dev] = r.split('@');
    const i = interfaces[dev] ?? (interfaces[dev] = { addresses: [], networks: [] });
    if (prefix === 'default') i.default = true;
    else i.networks = [...list(i.networks), prefix];
  }
  return { path, rulesets: list(doc.ruleset).map((f) => resolve(dirname(path), f)), interfaces };
}

/** What the ruleset's own tools load: nft text through the harness's nft -f, the rest by theirs. */
export function kernelLoad(host: HostFile, nfacct?: string[]): { nftRuleset: string; original: OriginalRuleset } {
  let nftRuleset = '';
  const original: OriginalRuleset = nfacct ? { nfacct } : {};
  for (const f of host.rulesets) {
    const text = readFileSync(f, 'utf8');
    if (/^\s*\{/.test(text)) original.nftJson = text;
    else if (/^\*(filter|nat|mangle|raw|security)\s*$/m.test(text) && /^COMMIT\s*$/m.test(text)) {
      // (ip6tables-save's dumps are told by name, as the rest of the world tells them: rules.v6, *.rules6.)
      if (/(6|\.v6)$/.test(basename(f))) original.ip6tables = text;
      else original.iptables = text;
    } else {
      nftRuleset += text.endsWith('\n') ? text : `${text}\n`;
      // (nft reads `include "./x.nft"` from its working directory: Debian's all-in-one.nft has them.)
      if (/^\s*include\s+"\.\.?\//m.test(text)) original.nftDir = dirname(f);
    }
  }
  return { nftRuleset, original };
}

/** Each packet's tuple (undefined for what is not TCP, UDP or ICMP), index = packet number - 1. */
export function captureTuples(path: string): (Tuple | undefined)[] {
  return readCapture(path).map((p) => {
    const l3 = toL3(p.linkType, p.data);
    if ('skip' in l3) return undefined;
    const ip = l3.ip;
    const v6 = ip[0] >> 4 === 6;
    const proto = v6 ? ip[6] : ip[9];
    const off = v6 ? 40 : (ip[0] & 15) * 4;
    const icmp = v6 ? proto === 58 : proto === 1;
    const echo = icmp && (v6 ? ip[off] === 128 || ip[off] === 129 : ip[off] === 8 || ip[off] === 0);
    if (proto !== 6 && proto !== 17 && !icmp) return undefined;
    const addr = (b: Uint8Array) =>
      v6
        ? Array.from({ length: 8 }, (_, i) => ((b[2 * i] << 8) | b[2 * i + 1]).toString(16)).join(':')
        : [...b].join('.');
    const id = (ip[off + 4] << 8) | ip[off + 5];
    const port = (at: number) => (echo ? id : icmp ? ip[off] : (ip[off + at] << 8) | ip[off + at + 1]);
    return {
      proto: echo ? 'echo' : icmp ? 'icmp' : proto === 6 ? 'tcp' : 'udp',
      hops: v6 ? ip[7] : ip[8],
      src: addr(v6 ? ip.subarray(8, 24) : ip.subarray(12, 16)),
      dst: addr(v6 ? ip.subarray(24, 40) : ip.subarray(16, 20)),
      sport: port(0),
      dport: port(2),
    };
  });
}

/**
 * The known flows' client ports (the first packet's source port, or an
 * echo's id): every later packet from or to such a port belongs to the
 * flow, whatever NAT did to its addresses (corpus captures give each flow
 * its own client port and id).
 */
export function knownPorts(tuples: readonly (Tuple | undefined)[], known: readonly KnownFlow[]): Map<string, string> {
  const ports = new Map<string, string>();
  for (const t of tuples) {
    if (!t || ports.has(`${t.proto}/${t.sport}`) || ports.has(`${t.proto}/${t.dport}`)) continue;
    const k = known.find((x) => x.first(t));
    if (k) ports.set(`${t.proto}/${t.sport}`, k.why);
  }
  return ports;
}

/** The key knownPorts() gives a conntrack line's flow: proto/port for each of its ports (or ids). */
export function entryPortKeys(line: string): string[] {
  const proto = /^\s*(?:\S+ only: )?(\w+)/.exec(line)?.[1];
  const p = proto === 'tcp' || proto === 'udp' ? proto : proto?.startsWith('icmp') ? 'echo' : null;
  if (p === null) return [];
  return [...line.matchAll(/\b(?:sport|dport|id)=(\d+)\b/g)].map((m) => `${p}/${m[1]}`);
}

/** The ports a ruleset names after dport-like words: what random traffic should aim at. */
export function namedPorts(host: HostFile): number[] {
  const ports = new Set<number>();
  for (const f of host.rulesets) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/(?:dport|dports|to-destination [\d.]+:|port=|"port":)\s*\{?\s*([\d,\s:-]+)/g))
      for (const p of m[1].split(/[,\s:-]+/)) {
        const n = Number(p);
        if (Number.isInteger(n) && n > 0 && n < 65536) ports.add(n);
      }
  }
  return [...ports].sort((a, b) => a - b);
}

/** The entry's files and topology as the kernel side loads them (its own tools, its host file). */
export function corpusKernelSide(e: CorpusEntry): KernelSide {
  if (e.nfacct && spawnSync('nfacct', ['version']).error)
    throw new Error(`${e.name}: its ruleset needs nfacct objects, made with the nfacct tool (apt-get install nfacct)`);
  const host = readHost(hostPath(e));
  return { ...kernelLoad(host, e.nfacct), interfaces: host.interfaces };
}

/**
 * The corpus traffic, written under `dir`: each scenario's capture once
 * (entries share scenarios), and an entry's random sessions, seeded by the
 * run's seed and the entry's name, so that every suite replaying the
 * corpus replays the same packets.
 */
export function corpusTraffic(dir: string, seed: number) {
  const captures = new Map<string, Promise<string>>();
  return {
    scenario(name: string): Promise<string> {
      let p = captures.get(name);
      if (!p) {
        const file = join(dir, `${name}.pcap`);
        p = writeSynth(generate(loadScenario(join(RULESETS, name))), file).then(() => file);
        captures.set(name, p);
      }
      return p;
    },
    /** The entry's random sessions (`sessions`, default its own count) in a capture named after `tag`. */
    random(e: CorpusEntry, tag = 'random', sessions = e.randomSessions): { capture: string; sessions: number } {
      const host = readHost(hostPath(e));
      const capture = join(dir, `${e.name}-${tag}.pcapng`);
      const t = randomTraffic(seed ^ nameHash(e.name), host, namedPorts(host), sessions, capture);
      return { capture, sessions: t.sessions.length };
    },
  };
}

/** FNV-1a of the entry's name: its random traffic's seed, mixed with the run's. */
export function nameHash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
