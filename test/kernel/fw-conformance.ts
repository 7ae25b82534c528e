/**
 * fwemu against the kernel for the firewall model (interfaces, chains,
 * NAT): the rule file exported to nft and loaded into a firewall namespace
 * whose legs are the file's interfaces, the same packets through both, then
 * compared packet by packet (verdict, the leg the packet leaves by, and the
 * addresses and ports it leaves with) and entry by entry (conntrack -L,
 * NAT reply tuples included).
 */
import { replay } from '../../src/engine/replay.js';
import { Cause } from '../../src/engine/result.js';
import { conntrackSysctls, exportNft } from '../../src/export/nft.js';
import { formatAddr } from '../../src/packet/addr.js';
import { IpProto, isPortProto, PacketKind, type DecodedPacket } from '../../src/packet/types.js';
import { explain } from '../../src/report/reason.js';
import { formatConntrackEntry } from '../../src/report/conntrack-list.js';
import type { Firewall } from '../../src/rules/firewall.js';
import type { RuleSet } from '../../src/rules/types.js';
import { sameFlow, splitTimeout } from './conformance.js';
import { runKernel, type OriginalRuleset, type WireTuple } from './harness.js';
import type { KernelInterfaces } from './topology.js';

export interface FwDisagreement {
  packet: number;
  /** What differs: verdict, leg or wire. */
  what: 'verdict' | 'leg' | 'wire';
  fwemu: string;
  kernel: string;
  reason: string;
}

export interface FwAgreement {
  packets: number;
  packetsAgree: number;
  entries: number;
  entriesAgree: number;
  disagreements: FwDisagreement[];
  entryDiffs: string[];
  /** Flows whose NAT port (or ICMP id) both sides moved on a clash, to different values: compared without it. */
  remapped: number;
  /**
   * IP fragments, not compared one by one: the kernel reassembles them
   * before conntrack and sends out what it refragments, which the harness
   * cannot pair with the fragments that came in (the datagram's verdict is
   * the simple model's conformance, conformance.ts).
   */
  fragments: number;
  /** Entries fwemu expired on the capture clock that the kernel (not replaying in real time) still holds: counted as agreeing. */
  expired: number;
  kernelConntrack: string[];
  fwemuConntrack: string[];
  /** Per packet (index = number - 1): both verdicts, for the packets compared (undefined for the rest). */
  verdicts: ({ fwemu: string; kernel: string } | undefined)[];
}

/** The rule file's interfaces as the kernel harness builds them. */
export function kernelInterfaces(fw: Firewall): KernelInterfaces {
  const out: KernelInterfaces = {};
  for (const i of fw.interfaces) {
    if (i.name === 'lo') continue;
    out[i.name] = {
      addresses: i.addresses.map((a) => `${a.addr.text.split('/')[0]}/${a.net.prefix}`),
      networks: i.networks.map((n) => n.text),
      default: i.defaultRoute,
    };
  }
  return out;
}

export function wireText(w: WireTuple | undefined): string {
  if (!w) return '';
  const inner = w.inner ? ` [quoting ${wireText(w.inner)}]` : '';
  if (w.sport !== undefined) return `${w.src}:${w.sport} > ${w.dst}:${w.dport}${inner}`;
  return `${w.src} > ${w.dst}${w.icmpId !== undefined ? ` id ${w.icmpId}` : ''}${inner}`;
}

/** The same text for a packet as fwemu leaves it (ports for TCP/UDP/SCTP..., the id for ICMP echo). */
function packetText(p: DecodedPacket): string {
  const s = formatAddr(p.ipVersion, p.src0, p.src1, p.src2, p.src3);
  const d = formatAddr(p.ipVersion, p.dst0, p.dst1, p.dst2, p.dst3);
  if (isPortProto(p.proto) && p.l4Off >= 0) return `${s}:${p.sport} > ${d}:${p.dport}`;
  const echo =
    (p.proto === IpProto.ICMP && (p.icmpType === 0 || p.icmpType === 8)) ||
    (p.proto === IpProto.ICMPV6 && (p.icmpType === 128 || p.icmpType === 129));
  const inner = p.innerValid && !echo && p.l4Off >= 0 ? ` [quoting ${quotedText(p)}]` : '';
  return `${s} > ${d}${echo ? ` id ${p.icmpId}` : ''}${inner}`;
}

/** An ICMP error's quoted packet, as wireText writes the harness's `inner`. */
function quotedText(p: DecodedPacket): string {
  const s = formatAddr(p.innerIpVersion, p.innerSrc0, p.innerSrc1, p.innerSrc2, p.innerSrc3);
  const d = formatAddr(p.innerIpVersion, p.innerDst0, p.innerDst1, p.innerDst2, p.innerDst3);
  if (isPortProto(p.innerProto)) return `${s}:${p.innerSport} > ${d}:${p.innerDport}`;
  const echo = p.innerProto === IpProto.ICMP || p.innerProto === IpProto.ICMPV6;
  return `${s} > ${d}${echo && p.innerSport !== 0 ? ` id ${p.innerSport}` : ''}`;
}

/** A wire text with the translated source port (or id) left out: for flows both sides remapped on a clash. */
export function withoutPort(t: string): string {
  return t.replace(/^(\S+):\d+ >/, '$1:* >').replace(/ id \d+$/, ' id *');
}

/**
 * What the kernel loads instead of fwemu's export of the rule file: a
 * ruleset as its own tool loads it (issue 18's corpus), with the topology
 * its host file describes.
 */
export interface KernelSide {
  nftRuleset: string;
  original?: OriginalRuleset;
  interfaces: KernelInterfaces;
}

export async function compareFirewall(
  capture: string,
  ruleset: RuleSet,
  kernelSide?: KernelSide,
): Promise<FwAgreement> {
  const fw = ruleset.firewall;
  if (!fw) throw new Error('compareFirewall: the rule file has no firewall model (interfaces: or chains:)');
  const fwemu: {
    verdict: string;
    leg: string | null;
    input: boolean;
    wire: string;
    orig: string;
    reason: string;
    kind: number;
    fragment: boolean;
  }[] = [];
  const expiredKeys: string[] = [];
  const summary = await replay({
    rules: ruleset,
    source: capture,
    onEvent: (ev) => {
      if (ev.type === 'DESTROY' && ev.cause === 'expired')
        expiredKeys.push(splitTimeout(formatConntrackEntry(ev.entry, ev.time)).key);
    },
    onPacket: (r, p, _rec, engine) => {
      const input = r.verdict === 'accept' && r.oif === null && r.iif !== null;
      fwemu[r.n - 1] = {
        verdict: r.verdict,
        leg: r.oif,
        input,
        wire: p.kind === PacketKind.IP ? packetText(r.egress ?? p) : '',
        orig: p.kind === PacketKind.IP ? packetText(p) : '',
        reason: explain(r, p, engine.compiled),
        kind: r.cause,
        fragment: r.fragOf > 0 || p.isFragment,
      };
    },
  });
  const sysctls = conntrackSysctls(ruleset);
  delete sysctls.nf_conntrack_max;
  const kernel = await runKernel({
    capture,
    nftRuleset: kernelSide ? kernelSide.nftRuleset : exportNft(ruleset),
    ...(kernelSide?.original ? { original: kernelSide.original } : {}),
    sysctls,
    interfaces: kernelSide ? kernelSide.interfaces : kernelInterfaces(fw),
    hostAddrs: (ruleset.hostAddrs ?? []).map((c) => c.text),
    // What a capture taken on the firewall saw it send is not the firewall's input.
    notSent: new Set(fwemu.flatMap((f, i) => (f?.kind === Cause.OUTGOING ? [i + 1] : []))),
  });

  const disagreements: FwDisagreement[] = [];
  const verdicts: FwAgreement['verdicts'] = [];
  let packets = 0;
  let packetsAgree = 0;
  let remapped = 0;
  let fragments = 0;
  /**
   * Kernel wire -> fwemu wire of flows both sides remapped, so that their entries compare. Keyed by the
   * whole tuple: the kernel's random port may be one another flow (to another peer) keeps as it is.
   */
  const portMap = new Map<string, string>();
  for (let i = 0; i < fwemu.length; i++) {
    const f = fwemu[i];
    const k = kernel.details[i];
    if (!f || !k) continue;
    if (f.verdict === 'skip' && k.verdict === 'skip') continue;
    if (f.kind === Cause.OUTGOING) continue;
    if (f.fragment) {
      fragments++;
      continue;
    }
    packets++;
    const kv = k.verdict;
    verdicts[i] = { fwemu: f.verdict, kernel: kv };
    const verdictOk = f.verdict === kv || (f.verdict === 'reject' && kv === 'drop');
    if (!verdictOk) {
      disagreements.push({
        packet: i + 1,
        what: 'verdict',
        fwemu: f.verdict,
        kernel: `${kv} (${k.why})`,
        reason: f.reason,
      });
      continue;
    }
    if (f.verdict !== 'accept') {
      packetsAgree++;
      continue;
    }
    const kLeg = k.path === 'input' ? null : k.egress;
    if ((f.input ? null : f.leg) !== kLeg) {
      disagreements.push({
        packet: i + 1,
        what: 'leg',
        fwemu: f.input ? 'input' : (f.leg ?? '-'),
        kernel: k.path === 'input' ? 'input' : (k.egress ?? '-'),
        reason: f.reason,
      });
      continue;
    }
    const kw = wireText(k.wire);
    if (kw === f.wire) {
      packetsAgree++;
      continue;
    }
    // A NAT clash: the kernel picks the new port at random, fwemu the next free one.
    // Both moved it away from the original: the rest must agree.
    if (withoutPort(kw) === withoutPort(f.wire) && f.wire !== f.orig && kw.split(' > ')[0] !== f.orig.split(' > ')[0]) {
      remapped++;
      portMap.set(kw, f.wire);
      packetsAgree++;
      continue;
    }
    disagreements.push({ packet: i + 1, what: 'wire', fwemu: f.wire, kernel: kw, reason: f.reason });
  }

  const engine = summary.engine;
  const fwemuConntrack = engine.ct ? engine.ct.entries(engine.now).map((e) => formatConntrackEntry(e, engine.now)) : [];
  // Entries of remapped flows: the kernel's port (or id) in the reply tuple replaced by fwemu's.
  const norm = (key: string) => withRemappedPorts(key, portMap);
  const kernelKeys = kernel.conntrack.map((l) => norm(splitTimeout(l).key));
  const fwemuKeys = fwemuConntrack.map((l) => splitTimeout(l).key);
  const entryDiffs: string[] = [];
  let entriesAgree = 0;
  let expired = 0;
  for (const k of kernelKeys) {
    if (fwemuKeys.includes(k)) entriesAgree++;
    else if (expiredKeys.some((e) => sameFlow(e, k))) {
      // Run out on the capture clock; the kernel, not replaying in real time, still holds it.
      expired++;
      entriesAgree++;
    } else entryDiffs.push(`kernel only: ${k}`);
  }
  for (const f of fwemuKeys) if (!kernelKeys.includes(f)) entryDiffs.push(`fwemu only: ${f}`);
  return {
    packets,
    packetsAgree,
    entries: Math.max(kernelKeys.length, fwemuKeys.length),
    entriesAgree,
    disagreements,
    entryDiffs,
    remapped,
    fragments,
    expired,
    kernelConntrack: kernel.conntrack,
    fwemuConntrack,
    verdicts,
  };
}

/**
 * A conntrack key with the reply tuple's port (or ICMP id) of each
 * remapped flow put back as the other side chose it: `portMap` maps the
 * wire text (wireText) of the flow's first packet on one side to the
 * other's.
 */
export function withRemappedPorts(key: string, portMap: ReadonlyMap<string, string>): string {
  const at = key.indexOf(' src=', key.indexOf(' src=') + 1);
  if (at < 0) return key;
  let reply = key.slice(at);
  const re = (t: string) => t.replace(/[.]/g, '\\.');
  for (const [kw, fw] of portMap) {
    // The flow's reply tuple: from its peer to the translated source, port (or id) as the kernel chose.
    const p = /^(\S+):(\d+) > (\S+):(\d+)$/.exec(kw);
    const fp = /^\S+:(\d+) > /.exec(fw)?.[1];
    if (p && fp)
      reply = reply.replace(new RegExp(`( src=${re(p[3])} dst=${re(p[1])} sport=${p[4]} dport=)${p[2]}\\b`), `$1${fp}`);
    const q = /^(\S+) > (\S+) id (\d+)$/.exec(kw);
    const fq = / id (\d+)$/.exec(fw)?.[1];
    if (q && fq)
      reply = reply.replace(
        new RegExp(`( src=${re(q[2])} dst=${re(q[1])} type=\\d+ code=\\d+ id=)${q[3]}\\b`),
        `$1${fq}`,
      );
  }
  return key.slice(0, at) + reply;
}

export function formatFwAgreement(name: string, a: FwAgreement): string {
  const lines = [
    `${name}: agree ${a.packetsAgree}/${a.packets} packets (${a.remapped} NAT ports remapped on both sides, compared without the port; ${a.fragments} IP fragments not compared one by one), ${a.entriesAgree}/${a.entries} conntrack entries (${a.expired} expired on the capture clock)`,
  ];
  for (const d of a.disagreements)
    lines.push(`  packet ${d.packet} ${d.what}: fwemu ${d.fwemu}, kernel ${d.kernel}; fwemu's reason: ${d.reason}`);
  for (const d of a.entryDiffs) lines.push(`  ${d}`);
  return lines.join('\n');
}
