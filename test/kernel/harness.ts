/**
 * Kernel oracle: replays a capture through the real Linux netfilter and says,
 * per packet, what it did.
 *
 * Topology (all namespaces are made per run and deleted afterwards):
 *
 *   outer ns "x"                          firewall ns "fw"
 *   ┌──────────────┐   veth c <-> c     ┌──────────────────────────────┐
 *   │ replay.py    │────────────────────│ c  (client CIDRs routed here)│
 *   │ AF_PACKET on │   veth s <-> s     │ s  (default route)           │
 *   │ c and s      │────────────────────│ nft ruleset, nf_conntrack    │
 *   └──────────────┘                    └──────────────────────────────┘
 *
 * A packet whose source is in `clientNets` is sent into fw's `c`, every other
 * one into fw's `s`. fw routes it (next hops are fake addresses with
 * permanent neighbour entries pointing at the outer veth ends, so there is
 * never any ARP/ND), and replay.py watches both outer ends: the forwarded
 * copy (same IP bytes, TTL/hop limit one less) means accept; a TCP RST or
 * ICMP unreachable about the packet means reject; nothing means drop. To
 * decide "nothing" without sleeping, every packet is followed by a probe
 * frame that a netdev ingress rule in fw bounces straight back; see
 * replay.py for why its return proves the packet has been fully handled.
 *
 * The outer namespace has no addresses and IPv6 disabled (and drops every
 * frame at ingress after the packet taps), so nothing there answers.
 *
 * With `interfaces` (the firewall model) the legs are named and addressed
 * as described (topology.ts) instead of c and s, packets are matched by a
 * stamp and payload signature rather than byte for byte (NAT rewrites
 * addresses and ports), and what the firewall takes in shows as nft dup's
 * copy; see the option and README.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCapture, toL3 } from './capture.js';
import { DUP, buildLegs, inCidr, ownAddresses, parseCidr, routeLeg, type KernelInterfaces } from './topology.js';
import { parseConntrack, type CtEntry } from './conntrack.js';
import { COPY_MARK, MAC, writeSetup } from './setup.js';

export type { KernelInterface, KernelInterfaces } from './topology.js';
export type { CtEntry, CtTuple } from './conntrack.js';

export interface KernelRunOptions {
  /** pcap/pcapng path (Ethernet incl. VLAN-tagged, raw IP, IPv4/IPv6, NULL/LOOP, SLL, SLL2). */
  capture: string;
  /**
   * Full nft ruleset text, loaded in the firewall namespace with `nft -f`.
   * fw's links are named `c` (client side) and `s` (server side), for
   * `iifname`/`oifname` rules. nft 1.0.6 needs a newline or ';' after a
   * chain's closing brace: `table t { chain c { ... } }` on one line fails.
   */
  nftRuleset: string;
  /**
   * Sysctls for the firewall namespace. A bare name is taken under
   * net.netfilter (`nf_conntrack_tcp_loose` → net.netfilter.nf_conntrack_tcp_loose);
   * a dotted name is used as is (`net.ipv4.ip_forward`).
   * Applied after the harness's own (nf_conntrack_checksum=0), so they win.
   */
  sysctls?: Record<string, number | string>;
  /** CIDRs on the client side; default ['10.1.0.0/16', 'fd00:1::/64']. */
  clientNets?: string[];
  /**
   * Longest wait for a packet's outcome. With the probe (default) an outcome is
   * normally known in well under a millisecond and this is only a safety net;
   * with `probe: false` it is the time after which an unseen packet counts as
   * dropped. Default 500 with the probe, 30 without.
   */
  perPacketTimeoutMs?: number;
  /** Space packets out by their capture timestamps (for timeout tests). Default false. */
  realTime?: boolean;
  /** Collect `conntrack -E` output during the run. Default false (costs ~100-200 ms: two sync points). */
  events?: boolean;
  /** Use the probe frame to decide drops (default true); false = pure timeout. */
  probe?: boolean;
  /**
   * Host model: the firewall namespace owns these addresses (plain
   * addresses, no prefixes). Packets to them go through its input chain, and
   * an accepted one is copied out (nft `dup`, after the filter) so that
   * replay.py sees it; packets from them are sent by a raw socket inside the
   * firewall, through its output chain. The host's own network stack is
   * kept silent (whatever it would answer is dropped before conntrack sees
   * it), so the kernel sees only the capture's packets, as fwemu does.
   */
  hostAddrs?: string[];
  /**
   * Host model: the host forwards (the rule file has forward rules), so its
   * IPv6 links join ff02::2 (all routers). Without it the namespace does
   * not forward IPv6, as a host.
   */
  hostForwards?: boolean;
  /**
   * The firewall model (issue 17): fw's legs are these named interfaces
   * instead of `c` and `s`, with their addresses (with prefix: the
   * connected network), the `networks` routed out of them, and the default
   * routes out of the `default` one (without one, unrouted destinations
   * are blackholed). `clientNets` is then ignored. A packet enters by the
   * leg whose networks hold its source (longest prefix; else the default
   * leg, else the first); a packet from one of fw's own addresses (the
   * interfaces', plus `hostAddrs`) is sent by fw itself, through its
   * output chain. Whatever the kernel does with a packet to an own address
   * (input, or forwarded after DNAT / de-masquerading) shows on the wire.
   * A pcapng packet captured on an interface named as one of the legs
   * (IDB if_name) enters by that leg instead, as the firewall saw it.
   *
   * In this mode the forwarded copy is matched by a stamp and a payload
   * signature, not by its addresses: replay.py writes a stamp into every
   * non-fragment packet (IPv4 id / IPv6 flow label = send order + 1, never
   * 0; the IPv4 header checksum adjusted incrementally, so a bad one stays
   * bad), and a frame from fw is the packet when stamp, length, protocol
   * and everything NAT leaves alone agree (addresses, ports, ICMP ids and
   * checksums are not compared; TTL/hop limit one less, or kept for fw's
   * own). Each detail then carries `path`, `wire` and `answer`.
   */
  interfaces?: KernelInterfaces;
  /**
   * Packet numbers (1-based) not to send: a capture taken on the firewall
   * holds what it sent out as well as what it received, and only the
   * latter is the firewall's input. Their details say `skip`.
   */
  notSent?: ReadonlySet<number>;
  /**
   * A ruleset loaded as the tool that wrote it loads it (issue 18's corpus
   * of real rulesets), after `nftRuleset` (nft text; '' when there is
   * none). See OriginalRuleset. Every filter chain of the output hook then
   * gets, as its first rule, an accept of the firewall model's copies of
   * input packets (a ruleset's own output policy must not drop them).
   */
  original?: OriginalRuleset;
}

/** What a ruleset's own tool loads: nft JSON, iptables-save dumps, and the objects they need first. */
export interface OriginalRuleset {
  /** `nft -j list ruleset` output, loaded with `nft -j -f`. */
  nftJson?: string;
  /** iptables-save output, loaded with iptables-restore. */
  iptables?: string;
  /** ip6tables-save output, loaded with ip6tables-restore. */
  ip6tables?: string;
  /** nfacct objects to create first (`-m nfacct --nfacct-name` needs them: kube-proxy creates its own). */
  nfacct?: string[];
  /**
   * The directory `nftRuleset` was read from: nft finds an `include
   * "./x.nft"` relative to its working directory, so nft runs there.
   */
  nftDir?: string;
}

/** Addresses, ports and ICMP id of a packet as it appeared on the wire. */
export interface WireTuple {
  /** IP protocol number (TCP 6, UDP 17, ICMP 1, ICMPv6 58, ...). */
  proto: number;
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  /** ICMP / ICMPv6 type, code, and the id of echo-like messages. */
  icmpType?: number;
  icmpCode?: number;
  icmpId?: number;
  /** ICMP errors: the packet they quote (as quoted, after any NAT of the error). */
  inner?: WireTuple;
}

/** What the kernel did with one packet. 'reject' = dropped and answered by fw (TCP RST / ICMP unreachable). */
export type KernelVerdict = 'accept' | 'drop' | 'reject' | 'skip';

export interface KernelPacketDetail {
  verdict: KernelVerdict;
  /**
   * Human-readable: where it was forwarded, what fw answered (also ICMP
   * errors that are not a reject, e.g. time exceeded for TTL 1), why it was
   * skipped, and for IP fragments that conntrack held until the datagram was
   * complete, which packet completed it.
   */
  why: string;
  /**
   * Link the forwarded copy left fw on, when accepted: 'client' / 'server',
   * or with `interfaces` the interface's name (null for a packet fw took in).
   */
  egress: string | null;
  /** Link the packet was sent into fw on (null when skipped or sent by fw itself). */
  ingress: string | null;
  /** Microseconds from sending the packet to knowing its outcome (0 when skipped). */
  elapsedUs: number;
  /**
   * With `interfaces`, for an accepted packet: 'forward' (routed through),
   * 'input' (fw took it in; `wire` is nft dup's copy, after prerouting NAT:
   * a redirect shows), 'output' (fw sent it).
   */
  path?: 'forward' | 'input' | 'output';
  /** With `interfaces`, for an accepted packet: as it left fw (or, for input, as fw took it in). */
  wire?: WireTuple;
  /** With `interfaces`: what fw answered (reject's RST / ICMP error, or e.g. time exceeded), and on which leg. */
  answer?: { what: string; leg: string; wire: WireTuple };
}

export interface KernelRunResult {
  /** Per packet, index = packet number - 1. 'reject' is folded into 'drop' here (see details). */
  verdicts: Array<'accept' | 'drop' | 'skip'>;
  details: KernelPacketDetail[];
  /** `conntrack -L -f ipv4` then `-f ipv6` lines in fw at the end of the run. */
  conntrack: string[];
  /** The same lines taken apart: original and reply tuples (NAT shows in the reply tuple). */
  conntrackEntries: CtEntry[];
  /** `conntrack -E` lines during the replay, when `events: true`. */
  events?: string[];
  /** The same, taken apart (`event` is NEW, UPDATE or DESTROY). */
  eventEntries?: CtEntry[];
  timing: { setupMs: number; replayMs: number; teardownMs: number; perPacketUs: number };
}

const HERE = dirname(fileURLToPath(import.meta.url));
const REPLAY_PY = join(HERE, 'replay.py');
// The system interpreter first: a version-manager shim (pyenv) costs ~0.3-0.7 s a start.
const PYTHON = process.env.FWEMU_PYTHON || (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
let pythonExe = PYTHON;
const NS_PREFIX = 'fwemu-k-';
/**
 * Per-packet flags for replay.py (host model): the host sends it, from
 * inside the firewall (its copy on the wire keeps the TTL); it is for the
 * host (its nft dup copy comes out like a forwarded packet).
 */
const PKT_INJECT = 2;
const PKT_TO_HOST = 4;

/** conntrack -E sync markers (see eventMarker): addresses no capture should hold. */
const MARK = { src: '198.18.255.250', dst: '198.18.255.251' };

// ---------------------------------------------------------------- processes

interface RunOut {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], input?: string): Promise<RunOut> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    if (p.stdin) {
      p.stdin.on('error', () => {}); // a command that exits early; its exit code tells
      p.stdin.end(input);
    }
  });
}

async function must(cmd: string, args: string[], what: string, input?: string): Promise<string> {
  const r = await run(cmd, args, input);
  if (r.code !== 0)
    throw new Error(`kernel harness: ${what} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

// ------------------------------------------------------------ availability

let availability: { ok: boolean; why: string } | undefined;

/** Can this machine run the oracle? Checked once per process (~50 ms). */
export function kernelAvailable(): { ok: boolean; why: string } {
  if (availability) return availability;
  availability = checkAvailable();
  return availability;
}

function checkAvailable(): { ok: boolean; why: string } {
  if (process.platform !== 'linux')
    return { ok: false, why: `kernel oracle needs Linux (this is ${process.platform})` };
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    return { ok: false, why: 'kernel oracle needs root (network namespaces, nft, AF_PACKET)' };
  for (const [cmd, args] of [
    ['ip', ['-V']],
    ['nft', ['--version']],
    ['conntrack', ['--version']],
    [PYTHON, ['-I', '-S', '-c', 'import sys, socket; socket.AF_PACKET; print(sys.executable)']],
  ] as Array<[string, string[]]>) {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.error || r.status !== 0)
      return {
        ok: false,
        why: `kernel oracle needs \`${cmd}\` (${r.error ? r.error.message : (r.stderr || '').trim().split('\n').pop()})`,
      };
    // Resolve shims to the real executable.
    if (cmd === PYTHON && r.stdout.trim()) pythonExe = r.stdout.trim();
  }
  const ns = `${NS_PREFIX}${process.pid}-check`;
  spawnSync('ip', ['netns', 'del', ns]);
  let r = spawnSync('ip', ['netns', 'add', ns], { encoding: 'utf8' });
  if (r.status !== 0) return { ok: false, why: `cannot create a network namespace: ${(r.stderr || '').trim()}` };
  try {
    const probe = [
      // nft 1.0.6 wants a newline or ';' after a chain's closing brace.
      'table inet t {',
      '  chain f { type filter hook forward priority 0; ct state established accept; }',
      '}',
      'table netdev p {',
      '  chain i { type filter hook ingress device "lo" priority -500; ether type 0x88b5 fwd to "lo"; }',
      '}',
      '',
    ].join('\n');
    r = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: probe, encoding: 'utf8' });
    if (r.status !== 0)
      return {
        ok: false,
        why: `cannot load an nft ruleset with ct and netdev fwd: ${(r.stderr || '').trim().split('\n')[0]}`,
      };
    r = spawnSync('ip', ['netns', 'exec', ns, 'sysctl', '-n', 'net.netfilter.nf_conntrack_checksum'], {
      encoding: 'utf8',
    });
    if (r.status !== 0)
      return { ok: false, why: `nf_conntrack sysctls missing in a namespace: ${(r.stderr || '').trim()}` };
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
  return { ok: true, why: 'root, ip/nft/conntrack/python3 present, namespaces and nft work' };
}

// ------------------------------------------------------------------ cleanup

let staleCleaned = false;

/** Delete fwemu-k-* namespaces whose creating process is gone. */
export async function cleanupStaleNamespaces(): Promise<string[]> {
  const r = await run('ip', ['netns', 'list']);
  const removed: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const name = line.split(' ')[0];
    const m = /^fwemu-k-(\d+)-/.exec(name ?? '');
    if (!m || !name) continue;
    const pid = Number(m[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (e) {
      alive = (e as NodeJS.ErrnoException).code === 'EPERM';
    }
    if (pid === process.pid || !alive) {
      if (pid === process.pid && liveNamespaces.has(name)) continue;
      await run('ip', ['netns', 'del', name]);
      removed.push(name);
    }
  }
  return removed;
}

const liveNamespaces = new Set<string>();
let runCounter = 0;

// -------------------------------------------------------------------- CIDRs

/** IPv4 multicast or limited broadcast, IPv6 multicast: a destination for whoever listens, not one host. */
function isGroupAddress(v: number, addr: Uint8Array): boolean {
  if (v === 6) return addr[0] === 0xff;
  return (addr[0] & 0xf0) === 0xe0 || addr.every((b) => b === 0xff);
}

/** IPv6 fe80::/10 or ::. */
function isLinkScopedSource(addr: Uint8Array): boolean {
  return (addr[0] === 0xfe && (addr[1] & 0xc0) === 0x80) || addr.every((b) => b === 0);
}

// ---------------------------------------------------------------------- run

/**
 * A snaplen-cut IP packet at the length its header gives, the missing bytes
 * zero-filled; null unless the IP header and the transport header conntrack
 * reads (TCP with options, UDP, ICMP with the quoted header of an error) are
 * all captured.
 */
function padToIpLength(ip: Uint8Array): Uint8Array | null {
  const v = ip.length > 0 ? ip[0] >> 4 : 0;
  let total: number;
  let l4: number;
  let proto: number;
  let fragment = false;
  if (v === 4) {
    if (ip.length < 20) return null;
    l4 = (ip[0] & 15) * 4;
    total = (ip[2] << 8) | ip[3];
    proto = ip[9];
    fragment = (((ip[6] << 8) | ip[7]) & 0x1fff) !== 0;
  } else if (v === 6) {
    if (ip.length < 40) return null;
    l4 = 40;
    total = 40 + ((ip[4] << 8) | ip[5]);
    proto = ip[6];
  } else return null;
  let need = l4;
  if (!fragment) {
    if (proto === 6) need = ip.length >= l4 + 13 ? l4 + (ip[l4 + 12] >> 4) * 4 : l4 + 20;
    else if (proto === 17) need = l4 + 8;
    else if (proto === 1 || proto === 58) {
      need = l4 + 8;
      const type = ip.length > l4 ? ip[l4] : -1;
      const error = proto === 1 ? [3, 4, 5, 11, 12].includes(type) : type >= 1 && type <= 4;
      if (error) need = l4 + 8 + (proto === 1 ? (ip.length > l4 + 8 ? (ip[l4 + 8] & 15) * 4 : 20) : 40) + 8;
    } else if (v === 6) return null; // extension headers: not worth parsing here
  }
  if (ip.length < need || total <= ip.length) return null;
  const out = new Uint8Array(total);
  out.set(ip);
  return out;
}

/** KernelPacketDetail.why of a packet from the host to itself (host model): not sent, not compared. */
export const HOST_SELF = 'from the host to itself: it never crosses a link';

/** KernelPacketDetail.why of a fragment for the host (host model): not comparable. */
export const HOST_FRAGMENT_UNSEEN =
  'IP fragment to or from the host: the kernel filters the reassembled datagram, and what leaves is its own refragmentation';

function isIpFragment(ip: Uint8Array): boolean {
  const v = ip[0] >> 4;
  if (v === 4) return ip.length >= 20 && (((ip[6] << 8) | ip[7]) & 0x3fff) !== 0;
  if (v !== 6 || ip.length < 40) return false;
  let nh = ip[6];
  let off = 40;
  while ((nh === 0 || nh === 43 || nh === 60) && off + 2 <= ip.length) {
    nh = ip[off];
    off += (ip[off + 1] + 1) * 8;
  }
  return nh === 44;
}

/** Replay `opts.capture` through the real kernel firewall. */
export async function runKernel(opts: KernelRunOptions): Promise<KernelRunResult> {
  const avail = kernelAvailable();
  if (!avail.ok) throw new Error(`kernel oracle unavailable: ${avail.why}`);
  if (!staleCleaned) {
    staleCleaned = true;
    await cleanupStaleNamespaces();
  }
  const clientNetText = opts.clientNets ?? ['10.1.0.0/16', 'fd00:1::/64'];
  const clientNets = clientNetText.map(parseCidr);
  const legs = opts.interfaces ? buildLegs(opts.interfaces) : null;
  const useProbe = opts.probe ?? true;
  const timeoutMs = opts.perPacketTimeoutMs ?? (useProbe ? 500 : 30);

  // Decide what to send before touching the kernel.
  const read = readCapture(opts.capture);
  // A capture taken on several named interfaces is in each interface's buffer order, not in time
  // order; the router saw it in time order (fwemu judges it so too: engine/time-order.ts).
  const packets =
    opts.interfaces && read.some((p) => p.ifName) ? [...read].sort((a, b) => a.ts - b.ts || a.n - b.n) : read;
  const details: KernelPacketDetail[] = [];
  const toSend: Array<{ idx: number; link: number; flags: number; ethertype: number; ip: Uint8Array; ts: number }> = [];
  const hosts = (opts.hostAddrs ?? []).map(parseCidr);
  const own = legs ? [...ownAddresses(legs), ...hosts] : [];
  const padded: number[] = [];
  for (const p of packets) {
    const i = p.n - 1;
    if (opts.notSent?.has(p.n)) {
      details[i] = {
        verdict: 'skip',
        why: 'not sent: the firewall sent it (captured leaving)',
        egress: null,
        ingress: null,
        elapsedUs: 0,
      };
      continue;
    }
    const l3 = toL3(p.linkType, p.data);
    if ('skip' in l3) {
      details[i] = {
        verdict: 'skip',
        why: p.caplen < p.len ? `truncated by snaplen (${p.caplen} of ${p.len} bytes)` : `not IP: ${l3.skip}`,
        egress: null,
        ingress: null,
        elapsedUs: 0,
      };
      continue;
    }
    let ip = l3.ip;
    if (p.caplen < p.len) {
      // Cut by the snaplen: conntrack and the filter read headers only
      // (checksums are off), so when every header is there, the packet is
      // sent at its full length with the missing payload zero-filled.
      const full = padToIpLength(ip);
      if (full === null) {
        details[i] = {
          verdict: 'skip',
          why: `truncated by snaplen (${p.caplen} of ${p.len} bytes)`,
          egress: null,
          ingress: null,
          elapsedUs: 0,
        };
        continue;
      }
      ip = full;
      padded.push(i);
    }
    const v = ip[0] >> 4;
    let src: Uint8Array | undefined;
    if (v === 4 && ip.length >= 20 && l3.ethertype === 0x0800) src = ip.subarray(12, 16);
    else if (v === 6 && ip.length >= 40 && l3.ethertype === 0x86dd) src = ip.subarray(8, 24);
    if (legs) {
      // Firewall model: the leg the source lives behind, or fw itself.
      let link = 0;
      let flags = 0;
      if (src !== undefined) {
        const dst = v === 4 ? ip.subarray(16, 20) : ip.subarray(24, 40);
        const fromOwn = own.some((h) => inCidr(h, v, src!));
        if (fromOwn && own.some((h) => inCidr(h, v, dst))) {
          details[i] = { verdict: 'skip', why: HOST_SELF, egress: null, ingress: null, elapsedUs: 0 };
          continue;
        }
        const named = p.ifName === undefined ? -1 : legs.findIndex((l) => l.name === p.ifName);
        if (fromOwn) {
          flags = PKT_INJECT; // the probe goes on the leg it leaves by
          link = routeLeg(legs, v, dst);
        } else if (named >= 0) link = named;
        else if (v === 6 && isLinkScopedSource(src)) {
          // No side of its own: in by a leg its destination is not behind.
          const out = routeLeg(legs, v, dst);
          link = out === 0 && legs.length > 1 ? 1 : 0;
        } else link = routeLeg(legs, v, src);
        // (Only a hint for IP fragments, whose fate fw's input hides; the rest shows on the wire.)
        if (own.some((h) => inCidr(h, v, dst))) flags |= PKT_TO_HOST;
      } else link = legs.findIndex((l) => l.isDefault) >= 0 ? legs.findIndex((l) => l.isDefault) : 0;
      details[i] = {
        verdict: 'drop',
        why: '',
        egress: null,
        ingress: flags & PKT_INJECT ? null : legs[link].name,
        elapsedUs: 0,
      };
      toSend.push({ idx: i, link, flags, ethertype: l3.ethertype, ip, ts: p.ts });
      continue;
    }
    // Undecodable IP still goes to the kernel (it decides), on the server link.
    let client = src !== undefined && clientNets.some((c) => inCidr(c, v, src!));
    if (v === 6 && src !== undefined && isLinkScopedSource(src)) {
      // A link-local or unspecified source has no side of its own: it comes
      // in on the link its destination is not on, so that the router would
      // have to forward it to another link (the case ip6_forward refuses).
      const dst = ip.subarray(24, 40);
      client = !clientNets.some((c) => inCidr(c, 6, dst));
    }
    let link = client ? 0 : 1;
    let flags = 0;
    if (hosts.length > 0 && src !== undefined) {
      const dst = v === 4 ? ip.subarray(16, 20) : ip.subarray(24, 40);
      const fromHost = hosts.some((h) => inCidr(h, v, src!));
      // Multicast and broadcast go to the host's input chain when its stack
      // receives them (a group it joined); the kernel decides, the copy tells.
      const toHost = hosts.some((h) => inCidr(h, v, dst)) || isGroupAddress(v, dst);
      // (An input packet's copy comes out like a forwarded packet: nf_dup
      // takes one off the TTL at LOCAL_IN, as at PRE_ROUTING.)
      if (fromHost && toHost) {
        // From the host to itself: over loopback, never on a link; not sent, not compared.
        details[i] = { verdict: 'skip', why: HOST_SELF, egress: null, ingress: null, elapsedUs: 0 };
        continue;
      }
      if (fromHost) {
        // Sent by the host itself; the probe goes on the link it leaves by.
        flags = PKT_INJECT;
        link = clientNets.some((c) => inCidr(c, v, dst)) ? 0 : 1;
      } else if (toHost) flags = PKT_TO_HOST;
    }
    details[i] = {
      verdict: 'drop',
      why: '',
      egress: null,
      ingress: flags & PKT_INJECT ? null : client ? 'client' : 'server',
      elapsedUs: 0,
    };
    toSend.push({ idx: i, link, flags, ethertype: l3.ethertype, ip, ts: p.ts });
  }

  const id = `${process.pid}-${++runCounter}`;
  const F = `${NS_PREFIX}${id}-fw`;
  const X = `${NS_PREFIX}${id}-x`;
  const dir = mkdtempSync(join(tmpdir(), 'fwemu-k-'));
  liveNamespaces.add(F);
  liveNamespaces.add(X);
  const t0 = performance.now();
  let tSetup = t0;
  let tReplay = t0;
  let events: string[] | undefined;
  let conntrack: string[] = [];
  let conntrackEntries: CtEntry[] = [];
  let evProc: ReturnType<typeof spawn> | undefined;
  let replayer: Replayer | undefined;
  try {
    await must('ip', ['-batch', writeSetup(F, X, clientNets, clientNetText, dir, opts, legs)], 'namespace setup');
    // The two namespaces are configured in parallel; the replayer starts as
    // soon as its (outer) namespace is ready and waits for packets on stdin.
    let evBuf = '';
    await Promise.all([
      must('ip', ['netns', 'exec', X, 'sh', '-e', join(dir, 'x.sh')], 'outer namespace setup').then(() => {
        const links = legs
          ? legs.map((l) => ({ name: l.name, fw: l.fwMac, peer: l.xMac }))
          : [
              { name: 'c', fw: MAC.fwC, peer: MAC.xC },
              { name: 's', fw: MAC.fwS, peer: MAC.xS },
            ];
        replayer = new Replayer(X, {
          links,
          timeoutMs,
          probe: useProbe,
          realTime: !!opts.realTime,
          fwNetns: F,
          stamp: !!legs,
          dupMac: DUP.mac,
        });
      }),
      must('ip', ['netns', 'exec', F, 'sh', '-e', join(dir, 'fw.sh')], 'firewall namespace setup').then(async () => {
        if (!opts.events) return;
        evProc = spawn('ip', ['netns', 'exec', F, 'conntrack', '-E'], { stdio: ['ignore', 'pipe', 'pipe'] });
        evProc.stdout!.setEncoding('utf8').on('data', (d: string) => (evBuf += d));
        await eventMarker(F, 1, () => evBuf);
      }),
    ]);
    if (opts.original) await acceptCopiesInOutput(F);
    tSetup = performance.now();

    const results = await replayer!.run(toSend);
    toSend.forEach((s, k) => {
      const r = results[k];
      const d = details[s.idx];
      d.verdict = r.v;
      d.why = padded.includes(s.idx)
        ? `${r.why}; cut by the snaplen, sent with the missing payload zero-filled`
        : r.why;
      d.egress = legs ? r.out : r.out === 'c' ? 'client' : r.out === 's' ? 'server' : null;
      if (r.path) d.path = r.path;
      if (r.wire) d.wire = r.wire;
      if (r.ans) d.answer = r.ans;
      d.elapsedUs = r.us;
    });
    for (const a of replayer!.amends) {
      const d = details[toSend[a.amend].idx];
      const by = toSend[a.by].idx + 1;
      d.verdict = 'accept';
      d.egress = legs ? (a.path === 'input' ? null : a.out) : a.out === 'c' ? 'client' : 'server';
      if (a.wire) d.wire = a.wire;
      if (a.path) d.path = a.path;
      d.why = a.frag
        ? `forwarded out ${a.out} when packet ${by} completed the datagram (IP fragment held by conntrack defrag)`
        : `forwarded out ${a.out}, late: seen while packet ${by} was handled`;
    }
    // A fragment for the host: the kernel reassembles before the input chain,
    // so the copy that shows an accept is of the whole datagram, and the
    // fragment's own fate cannot be seen. A fragment the host sends is
    // reassembled at output and refragmented as the host's stack sees fit,
    // not always into the fragments of the capture.
    for (const s of toSend) {
      if (s.flags & (PKT_TO_HOST | PKT_INJECT) && isIpFragment(s.ip)) {
        details[s.idx].verdict = 'skip';
        details[s.idx].why = `${HOST_FRAGMENT_UNSEEN}; sent, so the kernel's state follows it`;
      }
    }
    tReplay = performance.now();

    if (evProc) {
      await eventMarker(F, 2, () => evBuf);
      events = evBuf.split('\n').filter((l) => l.trim() && !l.includes(MARK.src));
    }
    const ct = await must(
      'ip',
      ['netns', 'exec', F, 'sh', '-ec', 'conntrack -L -f ipv4; conntrack -L -f ipv6'],
      'conntrack -L',
    );
    conntrack = ct.split('\n').filter((l) => l.trim());
    conntrackEntries = conntrack.map(parseConntrack).filter((e): e is CtEntry => e !== null);
  } finally {
    if (evProc && evProc.exitCode === null) evProc.kill();
    replayer?.kill();
    await run('ip', ['-force', '-batch', '-'], `netns del ${F}\nnetns del ${X}\n`);
    liveNamespaces.delete(F);
    liveNamespaces.delete(X);
    if (!process.env.FWEMU_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
  }
  const tEnd = performance.now();
  return {
    verdicts: details.map((d) => (d.verdict === 'reject' ? 'drop' : d.verdict)),
    details,
    conntrack,
    conntrackEntries,
    ...(events ? { events, eventEntries: events.map(parseConntrack).filter((e): e is CtEntry => e !== null) } : {}),
    timing: {
      setupMs: Math.round(tSetup - t0),
      replayMs: Math.round(tReplay - tSetup),
      teardownMs: Math.round(tEnd - tReplay),
      perPacketUs: toSend.length ? Math.round(((tReplay - tSetup) * 1000) / toSend.length) : 0,
    },
  };
}

/**
 * Firewall model with an original ruleset: the copies that show an input
 * packet was accepted leave through the output hook; a rule at the head of
 * every filter chain of that hook (the ruleset's, whatever wrote it) lets
 * them pass. Only the copies carry the mark.
 */
async function acceptCopiesInOutput(F: string): Promise<void> {
  const out = await must('ip', ['netns', 'exec', F, 'nft', '-j', 'list', 'chains'], 'nft -j list chains');
  const cmds: string[] = [];
  for (const o of (JSON.parse(out) as { nftables: { chain?: Record<string, unknown> }[] }).nftables) {
    const c = o.chain;
    if (c?.hook !== 'output' || c.type !== 'filter' || String(c.table).startsWith('fwemu_')) continue;
    const [family, table, name] = [c.family, c.table, c.name].map(String);
    // (Imported chains keep names such as ip/filter/OUTPUT: nft takes the / in a bare name.)
    if (![family, table, name].every((x) => /^[\w./-]+$/.test(x)))
      throw new Error(`kernel harness: output chain ${family} ${table} ${name}: a name the harness cannot write`);
    cmds.push(`insert rule ${family} ${table} ${name} meta mark ${COPY_MARK} accept`);
  }
  if (cmds.length > 0)
    await must('ip', ['netns', 'exec', F, 'nft', '-f', '-'], 'accepting copies in output', `${cmds.join('\n')}\n`);
}

/** Insert and delete a marker conntrack entry and wait until `conntrack -E` has shown it: a sync point. */
async function eventMarker(F: string, port: number, text: () => string): Promise<void> {
  const tuple = ['-s', MARK.src, '-d', MARK.dst, '-p', 'udp', '--sport', String(port), '--dport', String(port)];
  const deadline = Date.now() + 3000;
  // conntrack -E may not have subscribed yet: re-insert until an event shows.
  while (Date.now() < deadline) {
    await run('ip', ['netns', 'exec', F, 'conntrack', '-I', ...tuple, '-t', '30']);
    await run('ip', ['netns', 'exec', F, 'conntrack', '-D', ...tuple]);
    const until = Date.now() + 100;
    while (Date.now() < until) {
      const seen = text()
        .split('\n')
        .some((l) => l.includes('[DESTROY]') && l.includes(MARK.src) && l.includes(`sport=${port} dport=${port}`));
      if (seen) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  throw new Error('kernel harness: conntrack -E never reported the marker entry');
}

/** A packet whose forwarded copy appeared only while a later one (`by`) was handled. */
interface PyAmend {
  amend: number;
  by: number;
  out: string;
  frag: boolean;
  wire?: WireTuple;
  /** Stamp mode: the way the late copy took, as a result's path. */
  path?: 'forward' | 'input' | 'output';
}

interface PyResult {
  v: 'accept' | 'drop' | 'reject';
  why: string;
  /** Name of the link the packet (or its copy) left by. */
  out: string | null;
  us: number;
  path?: 'forward' | 'input' | 'output';
  wire?: WireTuple;
  ans?: { what: string; leg: string; wire: WireTuple };
}

/** replay.py running in the outer namespace; see the protocol in its docstring. */
class Replayer {
  private readonly py: ReturnType<typeof spawn>;
  private readonly results: PyResult[] = [];
  readonly amends: PyAmend[] = [];
  private stdoutBuf = '';
  private stderr = '';
  private done = false;
  private readonly closed: Promise<number>;

  constructor(
    X: string,
    o: {
      links: Array<{ name: string; fw: string; peer: string }>;
      timeoutMs: number;
      probe: boolean;
      realTime: boolean;
      fwNetns: string;
      stamp: boolean;
      dupMac: string;
    },
  ) {
    const cfg = o;
    this.py = spawn('ip', ['netns', 'exec', X, pythonExe, '-I', '-S', REPLAY_PY, JSON.stringify(cfg)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.py.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.stdoutBuf += d;
      let nl: number;
      while ((nl = this.stdoutBuf.indexOf('\n')) >= 0) {
        const line = this.stdoutBuf.slice(0, nl);
        this.stdoutBuf = this.stdoutBuf.slice(nl + 1);
        const o = JSON.parse(line);
        if (o.done) this.done = true;
        else if (typeof o.amend === 'number') this.amends.push(o as PyAmend);
        else this.results.push(o as PyResult);
      }
    });
    this.py.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.py.stdin!.on('error', () => {}); // reported via 'close'
    this.closed = new Promise((resolve) => {
      this.py.on('error', (e) => {
        this.stderr += String(e);
        resolve(-1);
      });
      this.py.on('close', (code) => resolve(code ?? -1));
    });
  }

  async run(
    toSend: Array<{ link: number; flags: number; ethertype: number; ip: Uint8Array; ts: number }>,
  ): Promise<PyResult[]> {
    const t0 = toSend.length ? toSend[0].ts : 0;
    const chunks: Buffer[] = [];
    for (const s of toSend) {
      const h = Buffer.alloc(16);
      h.writeUInt32LE(s.ip.length, 0);
      h.writeUInt8(s.link, 4);
      h.writeUInt8(s.flags, 5);
      h.writeUInt16LE(s.ethertype, 6);
      h.writeDoubleLE(s.ts - t0, 8);
      chunks.push(h, Buffer.from(s.ip.buffer, s.ip.byteOffset, s.ip.byteLength));
    }
    const end = Buffer.alloc(16);
    end.writeUInt8(255, 4);
    chunks.push(end);
    this.py.stdin!.end(Buffer.concat(chunks));
    const code = await this.closed;
    if (this.done && this.results.length === toSend.length) return this.results;
    throw new Error(
      `kernel harness: replay.py ended (exit ${code}) after ${this.results.length}/${toSend.length} packets: ${this.stderr.trim()}`,
    );
  }

  kill(): void {
    if (this.py.exitCode === null && this.py.signalCode === null) this.py.kill();
  }
}
