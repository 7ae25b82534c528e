/**
 * fwemu against the kernel, on one capture and one rule file: the same
 * ruleset (exported to nft) and conntrack settings loaded into a real
 * forwarding namespace, the same packets replayed through both, then
 * compared packet by packet and entry by entry.
 */
import { replay } from '../../src/engine/replay.js';
import { exportNft, conntrackSysctls } from '../../src/export/nft.js';
import { explain } from '../../src/report/reason.js';
import { formatConntrackEntry } from '../../src/report/conntrack-list.js';
import { loadRuleSet } from '../../src/rules/load.js';
import { PacketKind } from '../../src/packet/types.js';
import { isGroupDestination } from '../../src/packet/scope.js';
import { Cause } from '../../src/engine/result.js';
import { HOST_FRAGMENT_UNSEEN, HOST_SELF, runKernel } from './harness.js';

export interface Disagreement {
  packet: number;
  fwemu: string;
  kernel: string;
  reason: string;
  /** IP protocol number of the packet as fwemu decoded it (-1 when not IP). */
  proto: number;
  /** The packet is an IP fragment (IPv4 MF/offset, IPv6 fragment header). */
  fragment: boolean;
}

export interface Agreement {
  /** Packets from the first one the kernel could not be given (cut by the snaplen) to the end: not compared. */
  notReplayable: number;
  /** Host model: IP fragments to or from the host, whose own fate the kernel does not show (not compared). */
  unseenFragments: number;
  packets: number;
  packetsAgree: number;
  entries: number;
  entriesAgree: number;
  disagreements: Disagreement[];
  entryDiffs: string[];
  /**
   * Entries counted as agreeing although the lines differ, because of the
   * clock: a UDP flow fwemu calls ASSURED (seen both ways and still active
   * more than 2 s of capture time after it began) that the kernel, replaying
   * faster than the capture's clock, has not reached 2 s for yet.
   */
  clockNotes: string[];
  kernelConntrack: string[];
  fwemuConntrack: string[];
}

/** A conntrack -L line without its timeout, and the timeout apart. */
export function splitTimeout(line: string): { key: string; timeout: number } {
  const m = /^(\S+\s+\d+) (\d+) (.*)$/.exec(line.trim());
  if (!m) return { key: line.trim(), timeout: -1 };
  return { key: `${m[1]} ${m[3]}`.replace(/\s+/g, ' '), timeout: Number(m[2]) };
}

/** Same tuples (the state may have moved on in fwemu before it expired). */
export function sameFlow(a: string, b: string): boolean {
  const tuples = (s: string) =>
    s
      .replace(/\[(UNREPLIED|ASSURED)\]/g, '')
      .replace(/ [A-Z_]+2? src=/, ' src=')
      .replace(/\s+/g, ' ');
  return tuples(a) === tuples(b);
}

/**
 * Seconds by which a real-time kernel replay may differ from the capture
 * clock in `conntrack -L`'s seconds left: both round down, the kernel
 * replay runs a little behind the capture's timestamps, and `conntrack -L` is
 * read after the last packet.
 */
const TIMEOUT_DRIFT = 2;

export interface CompareOptions {
  clientNets?: string[];
  /**
   * Replay through the kernel in real time (packets spaced by their capture
   * timestamps), so that its conntrack timeouts run out as fwemu's do on the
   * capture clock. Expired entries are then compared as absent on both sides.
   */
  realTime?: boolean;
}

export async function compareWithKernel(
  capture: string,
  rulesPath: string,
  opts: CompareOptions = {},
): Promise<Agreement> {
  const { ruleset } = loadRuleSet(rulesPath);
  const fwemu: {
    verdict: string;
    reason: string;
    proto: number;
    fragment: boolean;
    notHost: boolean;
    notJoined: boolean;
  }[] = [];
  // Entries that ran out on the capture clock: the kernel replay is not paced
  // in real time, so it still holds them (timeouts are compared separately).
  const expired: string[] = [];
  const summary = await replay({
    rules: ruleset,
    source: capture,
    onEvent: (ev) => {
      if (ev.type === 'DESTROY' && ev.cause === 'expired')
        expired.push(splitTimeout(formatConntrackEntry(ev.entry, ev.time)).key);
    },
    onPacket: (r, p, _rec, engine) => {
      // Results of IP fragments come when their datagram is decided: place by number.
      fwemu[r.n - 1] = {
        verdict: r.verdict,
        reason: explain(r, p, engine.compiled),
        proto: p.kind === PacketKind.IP ? p.proto : -1,
        fragment: p.fragOffset !== 0 || p.moreFragments,
        // (A group the host has not joined is compared: the kernel must not take it in either.)
        notHost: r.cause === Cause.NOT_HOST && !isGroupDestination(p),
        notJoined: r.cause === Cause.NOT_HOST && isGroupDestination(p),
      };
    },
  });
  const sysctls = conntrackSysctls(ruleset);
  delete sysctls.nf_conntrack_max; // global, not settable per namespace
  let hostAddrs: string[] | undefined;
  if (ruleset.model === 'host') {
    hostAddrs = (ruleset.hostAddrs ?? []).map((c) => {
      if (c.prefix !== (c.version === 4 ? 32 : 128))
        throw new Error(`kernel harness: host: ${c.text} is a prefix; the firewall namespace needs plain addresses`);
      return c.text;
    });
  }
  const kernel = await runKernel({
    capture,
    nftRuleset: exportNft(ruleset),
    sysctls,
    clientNets: opts.clientNets,
    realTime: opts.realTime,
    hostAddrs,
    hostForwards: ruleset.model === 'host' && ruleset.rules.some((r) => r.chain === 'forward'),
  });

  const disagreements: Disagreement[] = [];
  let packetsAgree = 0;
  let packets = 0;
  let notReplayable = 0;
  let unseen = 0;
  for (let i = 0; i < fwemu.length; i++) {
    const k = kernel.details[i]?.verdict ?? 'missing';
    const f = fwemu[i].verdict;
    if (f === 'skip' && k === 'skip') continue; // neither side filters non-IP frames
    // Host model: a packet neither to nor from the host is not the host's to
    // filter (fwemu: skip); what the namespace does with it is not compared.
    if (fwemu[i].notHost) continue;
    if (k === 'skip' && kernel.details[i]?.why === HOST_SELF) continue;
    if (k === 'skip' && kernel.details[i]?.why.startsWith(HOST_FRAGMENT_UNSEEN)) {
      unseen++;
      continue;
    }
    if (k === 'skip' && /truncated by snaplen/.test(kernel.details[i]?.why ?? '')) {
      // The kernel never saw this packet, so from here on its flows (and
      // windows) differ from fwemu's: nothing after it is comparable.
      notReplayable = fwemu.length - i;
      break;
    }
    packets++;
    // The kernel harness reports a reject as its own verdict; fwemu calls it reject too.
    // A group the host has not joined: fwemu skips it (no chain sees it), the kernel takes nothing in.
    if (f === k || (f === 'reject' && k === 'drop') || (fwemu[i].notJoined && k === 'drop')) packetsAgree++;
    else
      disagreements.push({
        packet: i + 1,
        fwemu: f,
        kernel: `${k}${kernel.details[i]?.why ? ` (${kernel.details[i].why})` : ''}`,
        reason: fwemu[i].reason,
        proto: fwemu[i].proto,
        fragment: fwemu[i].fragment,
      });
  }

  const engine = summary.engine;
  const fwemuConntrack = engine.ct ? engine.ct.entries(engine.now).map((e) => formatConntrackEntry(e, engine.now)) : [];
  // Host model: the namespace also tracks what it routes; only the host's own flows are compared.
  // Flows of the host with itself are not replayed (they never cross a link).
  // Traffic to a group (multicast, broadcast) is the host's when its stack took it in;
  // the kernel keeps no entry for what it did not. A router's own such traffic
  // (gateway model) goes to its input chain, which the gateway model leaves out.
  const hostFlow = (line: string) => {
    const m = /src=(\S+) dst=(\S+)/.exec(line); // the original direction
    if (m === null) return false;
    if (!hostAddrs) return !isGroupText(m[2]);
    return hostAddrs.includes(m[1]) !== (hostAddrs.includes(m[2]) || isGroupText(m[2]));
  };
  const kernelKeys = kernel.conntrack.filter(hostFlow).map(splitTimeout);
  const fwemuKeys = fwemuConntrack.filter(hostFlow).map(splitTimeout);
  const entryDiffs: string[] = [];
  let entriesAgree = 0;
  // When the kernel could not be given every packet, its table is not comparable.
  if (notReplayable > 0) kernelKeys.length = fwemuKeys.length = 0;
  const clockNotes: string[] = [];
  const assuredUdp = (key: string) => (/^udp /.test(key) ? key.replace(' [ASSURED]', '') : null);
  for (const k of kernelKeys) {
    // Not paced in real time, the kernel still holds entries that ran out on the capture clock.
    let match =
      fwemuKeys.find((f) => f.key === k.key) ??
      (opts.realTime ? undefined : expired.find((key) => sameFlow(key, k.key)));
    if (!match && /^udp /.test(k.key) && !k.key.includes('[ASSURED]')) {
      const f = fwemuKeys.find((f) => f.key.includes('[ASSURED]') && assuredUdp(f.key) === k.key);
      if (f) {
        match = f;
        clockNotes.push(`UDP stream ASSURED in fwemu only (capture clock past 2 s, kernel replay not): ${k.key}`);
      }
    }
    if (
      match &&
      typeof match !== 'string' &&
      opts.realTime &&
      k.timeout >= 0 &&
      Math.abs(match.timeout - k.timeout) > TIMEOUT_DRIFT
    ) {
      // In real time the seconds left must agree too, within the replay's drift.
      entryDiffs.push(`seconds left: kernel ${k.timeout}, fwemu ${match.timeout}: ${k.key}`);
    } else if (match) entriesAgree++;
    else entryDiffs.push(`kernel only: ${k.key}`);
  }
  for (const f of fwemuKeys) {
    if (kernelKeys.some((k) => k.key === f.key || (f.key.includes('[ASSURED]') && assuredUdp(f.key) === k.key)))
      continue;
    entryDiffs.push(`fwemu only: ${f.key}`);
  }
  return {
    notReplayable,
    unseenFragments: unseen,
    packets,
    packetsAgree,
    entries: Math.max(kernelKeys.length, fwemuKeys.length),
    entriesAgree,
    disagreements,
    entryDiffs,
    clockNotes,
    kernelConntrack: kernel.conntrack,
    fwemuConntrack,
  };
}

/** An address as conntrack prints it is IPv6 multicast, IPv4 multicast or the limited broadcast. */
function isGroupText(a: string): boolean {
  if (a.includes(':')) return /^ff/i.test(a);
  const first = Number(a.split('.')[0]);
  return (first >= 224 && first <= 239) || a === '255.255.255.255';
}

export function formatAgreement(name: string, a: Agreement): string {
  const skipped = a.notReplayable
    ? ` (the last ${a.notReplayable} packets not compared: the first of them was cut by the snaplen and cannot be replayed; tables not compared)`
    : '';
  const unseen = a.unseenFragments
    ? ` (${a.unseenFragments} IP fragments to or from the host not compared: the kernel shows only their datagram's fate)`
    : '';
  const lines = [
    `${name}: agree ${a.packetsAgree}/${a.packets} packets, ${a.entriesAgree}/${a.entries} conntrack entries${skipped}${unseen}`,
  ];
  for (const d of a.disagreements)
    lines.push(`  packet ${d.packet}: fwemu ${d.fwemu}, kernel ${d.kernel}; fwemu's reason: ${d.reason}`);
  for (const d of a.entryDiffs) lines.push(`  ${d}`);
  return lines.join('\n');
}
