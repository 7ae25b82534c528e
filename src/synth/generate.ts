/**
 * Scenario -> packets. A small, deterministic model of two Linux TCP/IP
 * stacks talking through the capture point (the firewall), which sits in
 * the middle of the path: an answer to a packet is seen rtt/2 after it.
 *
 * What is modelled, Linux-like:
 * - TCP: random ISNs; SYN options MSS, SACK-permitted, timestamps, window
 *   scale in Linux's order; SYN window = the largest multiple of the MSS up
 *   to 65535 (64240 for IPv4), SYN/ACK the same for MSS minus the timestamp
 *   option (65160); afterwards windows scaled by the sender's shift and
 *   growing as data arrives (receive-buffer autotuning); TSval = a per-
 *   connection random offset + milliseconds, TSecr = the peer's latest TSval;
 *   data segmented by MSS minus options, sent within min(cwnd, receive
 *   window) with an initial cwnd of 10 segments growing in slow start, the
 *   receiver acking every second segment (and the last one), a delayed ACK
 *   after 40 ms when the sender stalls; PSH on the last segment of a send.
 * - IPv4: DF on TCP, UDP and echo requests; IP ids counting up per socket
 *   from a random start (0 on SYN/ACKs from a listener and on RSTs for a
 *   closed port, as Linux sends them); ICMP errors with TOS 0xc0 quoting up
 *   to 576 bytes. IPv6: a random flow label per socket; ICMPv6 errors
 *   quoting up to 1280 bytes.
 * - Ephemeral ports from 32768-60999 (even ones for TCP connect, as Linux
 *   prefers), never reused within a scenario.
 * Every random choice comes from one generator seeded by `seed:`, so the
 *
 * This file runs the steps in order; traffic/ holds the model: emitter.ts
 * (addresses, timeline, packet queue), tcp-segment.ts and tcp.ts, udp.ts,
 * icmp.ts, raw-packet.ts.
 */
import type { ConnRecord, FlowEnd, Scenario, Step, StepRecord, SynthOutput } from './types.js';
import type { End } from './traffic/flow.js';
import { Emitter } from './traffic/emitter.js';
import { ping, unreachable } from './traffic/icmp.js';
import { rawPacket } from './traffic/raw-packet.js';
import { epText, formatDuration, plural } from './traffic/summary-text.js';
import { close, connect, reset, retransmit, sendData } from './traffic/tcp.js';
import { sides } from './traffic/tcp-segment.js';
import { udp } from './traffic/udp.js';

/**
 * What one scenario may generate. A scenario file is at most 1 MiB, but each
 * step may send up to 64 MiB, so without a bound on the whole a small file
 * could ask for terabytes. These are far beyond what a test needs, and keep
 * the generator (which holds every frame) well within memory.
 */
export const MAX_SCENARIO_PACKETS = 1_000_000;
export const MAX_SCENARIO_FRAME_BYTES = 256 * 1024 * 1024;

/** Bounds on what generate() may produce (defaults MAX_SCENARIO_PACKETS, MAX_SCENARIO_FRAME_BYTES); tests lower them. */
export interface GenerateLimits {
  packets?: number;
  frameBytes?: number;
}

/** Turns a checked scenario into packets. Deterministic: the same scenario gives the same bytes. */
export function generate(scenario: Scenario, limits: GenerateLimits = {}): SynthOutput {
  const g = new Emitter(
    scenario,
    limits.packets ?? MAX_SCENARIO_PACKETS,
    limits.frameBytes ?? MAX_SCENARIO_FRAME_BYTES,
  );
  const records: StepRecord[] = [];
  for (const step of scenario.steps) {
    g.step = step;
    const summary = runStep(g, step);
    const numbers = g.flush();
    records.push({ index: step.index, name: step.name, kind: step.kind, pos: step.pos, packets: numbers, summary });
  }
  const conns = new Map<string, ConnRecord>();
  for (const [name, f] of g.flows) {
    const icmp = f.proto === 'icmp' || f.proto === 'icmpv6';
    const end = (e: End['ep'], port = icmp ? null : e.port): FlowEnd => ({ host: e.host, addr: e.addr, port });
    // The server's packets: from its real socket to the client as the server sees it.
    const src = end(f.server.ep);
    const dst = end(f.client.dst, f.client.dst.port);
    const plain = src.addr === f.server.dst.addr && src.port === f.server.dst.port;
    const same = plain && dst.addr === f.client.ep.addr && dst.port === f.client.ep.port;
    conns.set(name, {
      name,
      proto: f.proto,
      client: end(f.client.ep),
      server: end(f.server.dst),
      packets: f.packets,
      step: f.step,
      state: f.state,
      reply: same ? null : { src, dst },
    });
  }
  return { scenario, linkType: g.linkType, packets: g.packets, steps: records, conns, listening: g.listening };
}

/** Generates one step's packets (queued in g until flush()); returns the step's one-line summary. */
function runStep(g: Emitter, s: Step): string {
  switch (s.kind) {
    case 'listen':
      for (const e of s.sockets) g.listening.push({ host: e.host, addr: e.addr, port: e.port!, step: s.index });
      return `listen ${s.sockets.map((e) => epText(e)).join(', ')}`;
    case 'wait':
      g.pendingWait += s.duration;
      return `wait ${formatDuration(s.duration)}`;
    case 'connect':
      return connect(g, s);
    case 'send': {
      const f = g.flowByName(s.conn);
      const { S, R } = sides(f, s.from);
      const n = sendData(g, f, S, R, g.begin(), s.data, s.bytes);
      return `send ${s.conn}: ${s.from} -> ${s.from === 'client' ? 'server' : 'client'}, ${plural(s.bytes, 'byte')} in ${plural(n, 'segment')}`;
    }
    case 'close':
      return close(g, g.flowByName(s.conn), s.from, s.half);
    case 'reset':
      return reset(g, g.flowByName(s.conn), s.from);
    case 'retransmit':
      return retransmit(g, g.flowByName(s.conn), s.from, s.ack);
    case 'packet':
      return rawPacket(g, s);
    case 'udp':
      return udp(g, s);
    case 'unreachable':
      return unreachable(g, s);
    case 'ping':
      return ping(g, s);
  }
}

/**
 * Packet numbers for a name or step: a connection/flow name gives every
 * packet of that flow, another `as:` name or a 1-based step index the
 * packets that step produced. Null when nothing has that name or index.
 */
export function packetsFor(out: SynthOutput, ref: string | number): number[] | null {
  if (typeof ref === 'number') return out.steps[ref - 1]?.packets ?? null;
  const c = out.conns.get(ref);
  if (c) return c.packets;
  const s = out.steps.find((r) => r.name === ref);
  return s ? s.packets : null;
}
