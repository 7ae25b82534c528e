/**
 * Types of the synthetic-traffic generator: a scenario file as parsed and
 * checked by scenario.ts, and what generate.ts makes of it.
 *
 * Times inside a scenario are whole microseconds counted from `start`, so
 * every timestamp is exact in both microsecond pcap and pcapng.
 */
import type { Document, LineCounter, ParsedNode } from 'yaml';
import { formatDiagnostic, type Diagnostic, type SourcePos } from '../base/diag.js';
import { DiagnosticsError } from '../base/errors.js';

/** One side of a flow: the host that opened it (client) or the one it went to (server). */
export type Side = 'client' | 'server';

/** The step types a scenario may use, in the order the README lists them. */
export const STEP_TYPES = [
  'listen',
  'connect',
  'send',
  'close',
  'reset',
  'wait',
  'packet',
  'retransmit',
  'udp',
  'unreachable',
  'ping',
] as const;
export type StepKind = (typeof STEP_TYPES)[number];

/** Top-level keys of a scenario file. */
export const SCENARIO_KEYS = [
  'scenario',
  'description',
  'start',
  'seed',
  'link',
  'rtt',
  'mtu',
  'mss',
  'window',
  'wscale',
  'timestamps',
  'sack',
  'ttl',
  'hosts',
  'steps',
  'expect',
  'rules',
] as const;

/** Names `unreachable: { code: ... }` accepts. */
export const UNREACH_CODES = [
  'net',
  'host',
  'protocol',
  'port',
  'frag-needed',
  'packet-too-big',
  'net-prohibited',
  'host-prohibited',
  'admin',
  'time-exceeded',
] as const;
export type UnreachCode = (typeof UNREACH_CODES)[number];

/** Settings that apply to the whole scenario (top-level keys). */
export interface ScenarioOptions {
  /** Round-trip time between the two ends of every flow, microseconds (default 10 ms). */
  rtt: number;
  /** Link MTU (default 1500): the MSS is mtu - 40 (IPv4) or mtu - 60 (IPv6) unless `mss` is set. */
  mtu: number;
  /** Fixed MSS for both families, or null to derive it from the MTU. */
  mss: number | null;
  /** Receive window in bytes, or null for Linux's choice (the largest multiple of the MSS up to 65535). */
  window: number | null;
  /** Window-scale shift both ends offer (default 7), or null for no window scaling. */
  wscale: number | null;
  /** TCP timestamps option (default true). */
  timestamps: boolean;
  /** SACK-permitted option (default true). */
  sack: boolean;
  /** TTL / hop limit of every packet (default 64). */
  ttl: number;
  /** 'ethernet' (default; every host gets a fixed MAC) or 'raw' (bare IP). */
  link: 'ethernet' | 'raw';
  /** Seed of the generator's random choices (ISNs, ephemeral ports, IP ids); default 1. */
  seed: number;
}

/** Per-connection TCP settings (the top-level ones unless the connect step overrides them). */
export interface TcpParams {
  mss: number | null;
  window: number | null;
  wscale: number | null;
  timestamps: boolean;
  sack: boolean;
}

export interface HostDef {
  name: string;
  /** Canonical address texts, in the order given. */
  addrs: string[];
  pos: SourcePos;
}

/** A resolved address (and port) of one end of a step. */
export interface Endpoint {
  /** The host's name, or null for an address no host owns. */
  host: string | null;
  /** Canonical address text. */
  addr: string;
  version: 4 | 6;
  /** Port, or null when none was given (an ephemeral one is chosen where needed). */
  port: number | null;
}

/** A sequence/acknowledgment number: absolute, or relative to the connection's current one ("+100", "-1"). */
export interface SeqValue {
  relative: boolean;
  value: number;
}

/**
 * NAT on the firewall between the two ends of a new flow (`snat:`,
 * `masquerade:`, `dnat:` on connect, udp and ping), as the capture point
 * (the firewall) receives each direction: the client's packets before the
 * firewall translates them, the server's packets as the server sent them,
 * to the client as it sees it.
 */
export interface StepNat {
  /**
   * Source NAT: the client as the server sees it, so the address (and port;
   * for a ping the echo id) the server's packets are addressed to. Port null:
   * kept (the kernel keeps it when the reply tuple is free). Null: none.
   */
  source: { how: 'snat' | 'masquerade'; to: Endpoint } | null;
  /**
   * Destination NAT (a port forward): the server's real socket behind the
   * public endpoint the client addresses (the step's server); the server's
   * packets come from it. Port null: the public port. Null: none.
   */
  dnat: Endpoint | null;
}

export interface StepBase {
  /** 1-based position among the steps. */
  index: number;
  /** The step's `as:` name, or null. */
  name: string | null;
  pos: SourcePos;
  /** RTT override for this step (microseconds), or null. On connect/udp/ping it becomes the flow's RTT. */
  rtt: number | null;
}

export interface ListenStep extends StepBase {
  kind: 'listen';
  sockets: Endpoint[];
}

export interface ConnectStep extends StepBase {
  kind: 'connect';
  client: Endpoint;
  server: Endpoint;
  /** accept: full handshake; reset: RST/ACK (closed port); none: the SYN goes unanswered. */
  answer: 'accept' | 'reset' | 'none';
  /** With answer none: SYN retransmissions (1 s, 2 s, 4 s ... apart, like Linux). */
  retries: number;
  /** Both ends send a SYN (simultaneous open). */
  simultaneous: boolean;
  tcp: TcpParams;
  /** NAT on the firewall, or null. */
  nat: StepNat | null;
}

export interface SendStep extends StepBase {
  kind: 'send';
  conn: string;
  from: Side;
  bytes: number;
  /** Exact payload (from `data:`), or null for filler bytes. */
  data: Uint8Array | null;
}

export interface CloseStep extends StepBase {
  kind: 'close';
  conn: string;
  from: Side;
  /** Only this side's FIN (and the peer's ACK); the peer may keep sending. */
  half: boolean;
}

export interface ResetStep extends StepBase {
  kind: 'reset';
  conn: string;
  from: Side;
}

export interface WaitStep extends StepBase {
  kind: 'wait';
  /** Microseconds of silence before the next packet. */
  duration: number;
}

export interface TcpOptionValues {
  mss?: number;
  wscale?: number;
  sackPermitted?: boolean;
  timestamps?: [number, number];
}

export interface PacketStep extends StepBase {
  kind: 'packet';
  /** conn mode: addresses, ports, seq/ack and options come from this connection or flow. */
  conn: string | null;
  from: Side;
  /** Free mode: the two ends (ports may be null and come from sport/dport). */
  src: Endpoint | null;
  dst: Endpoint | null;
  proto: 'tcp' | 'udp' | 'icmp' | 'icmpv6' | number;
  sport: number | null;
  dport: number | null;
  /** TCP flag bits, or null for the default (conn mode: ACK, PSH/ACK with data; free: SYN). */
  flags: number | null;
  seq: SeqValue | null;
  ack: SeqValue | null;
  window: number | null;
  bytes: number;
  data: Uint8Array | null;
  ttl: number | null;
  ipId: number | null;
  df: boolean | null;
  options: TcpOptionValues | null;
  icmpType: number | null;
  icmpCode: number | null;
  ident: number | null;
  icmpSeq: number | null;
}

export interface RetransmitStep extends StepBase {
  kind: 'retransmit';
  conn: string;
  from: Side;
  /** The peer answers with a duplicate ACK (default true). */
  ack: boolean;
}

export interface UdpStep extends StepBase {
  kind: 'udp';
  /** Continue a named UDP flow (from: client|server), or null for a new one. */
  conn: string | null;
  from: Side;
  client: Endpoint | null;
  server: Endpoint | null;
  bytes: number;
  data: Uint8Array | null;
  /** Reply size in bytes, or null for no reply. */
  reply: number | null;
  /** NAT on the firewall (a new flow only; a continued one keeps its own), or null. */
  nat: StepNat | null;
}

export interface UnreachableStep extends StepBase {
  kind: 'unreachable';
  about: string;
  code: UnreachCode;
  /** Who sends the error (a router), or null for the receiver of the quoted packet. */
  from: Endpoint | null;
  /** Quote the last packet this side sent, or null for the flow's last packet. */
  side: Side | null;
  mtu: number;
}

export interface PingStep extends StepBase {
  kind: 'ping';
  client: Endpoint;
  server: Endpoint;
  count: number;
  /** Microseconds between echo requests. */
  interval: number;
  reply: boolean;
  bytes: number;
  ident: number | null;
  /** NAT on the firewall (source NAT may give the echo id the server sees as its port), or null. */
  nat: StepNat | null;
}

export type Step =
  | ListenStep
  | ConnectStep
  | SendStep
  | CloseStep
  | ResetStep
  | WaitStep
  | PacketStep
  | RetransmitStep
  | UdpStep
  | UnreachableStep
  | PingStep;

/** One item of the top-level `expect:` list, kept for `fwemu test` (not checked here). */
export interface ExpectEntry {
  /** The item as plain JavaScript. */
  value: unknown;
  /** The item's YAML node (for positions of its parts: lineCounter.linePos(node.range[0])). */
  node: ParsedNode;
  pos: SourcePos;
}

/** A flow a scenario names with `as:` (a connect, a new udp flow, a ping). */
export interface FlowDef {
  name: string;
  proto: 'tcp' | 'udp' | 'icmp' | 'icmpv6';
  step: number;
  pos: SourcePos;
}

export interface Scenario {
  file: string;
  /** `scenario:` text, or the file's base name. */
  title: string;
  description: string | null;
  /** Capture start: seconds since the epoch and microseconds. */
  start: { sec: number; usec: number };
  options: ScenarioOptions;
  hosts: HostDef[];
  steps: Step[];
  /** Named flows, by name. */
  flows: Map<string, FlowDef>;
  /** The `expect:` list, or null when the file has none. */
  expect: ExpectEntry[] | null;
  /** The `rules:` value of a policy test written as a scenario (kept as is for `fwemu test`), or null. */
  rules: ExpectEntry | null;
  /** The parsed YAML and its line counter, for callers that report positions inside `expect:`. */
  doc: Document.Parsed;
  lineCounter: LineCounter;
}

/** Thrown by parseScenario/loadScenario: every error found, in file order. */
export class ScenarioError extends DiagnosticsError {
  constructor(file: string, diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'), file, diagnostics);
    this.name = 'ScenarioError';
  }
}

// ---------------------------------------------------------------------------
// Generator output

export interface SynthPacket {
  tsSec: number;
  tsNsec: number;
  /** The whole frame (link header included). */
  data: Uint8Array;
  linkType: number;
  /** 1-based index of the step that produced it. */
  step: number;
  /** Name of the flow it belongs to (named flows only), else null. */
  flow: string | null;
}

export interface StepRecord {
  /** 1-based step index. */
  index: number;
  name: string | null;
  kind: StepKind;
  pos: SourcePos;
  /** 1-based numbers of the packets the step produced. */
  packets: number[];
  /** One line saying what happened, with the chosen ports: "connect alice 10.1.0.2:40112 -> server 10.2.0.1:8080: handshake". */
  summary: string;
}

export interface FlowEnd {
  host: string | null;
  addr: string;
  /** Port, or null for ICMP. */
  port: number | null;
}

export interface ConnRecord {
  name: string;
  proto: 'tcp' | 'udp' | 'icmp' | 'icmpv6';
  client: FlowEnd;
  server: FlowEnd;
  /** Every packet of the flow (both directions; ICMP errors about it are not included), 1-based. */
  packets: number[];
  /** The step that opened it. */
  step: number;
  /** TCP: how it ended up: established, closed, reset, refused, syn-sent, half-closed. Others: open. */
  state: string;
  /**
   * With NAT on the firewall: the source and destination of the server's
   * packets as the firewall receives them (from the server's real socket, to
   * the client as the server sees it); null when they are simply server and
   * client. ICMP: dst.port is the echo id the replies carry; src.port is null.
   */
  reply: { src: FlowEnd; dst: FlowEnd } | null;
}

export interface ListenRecord {
  host: string | null;
  addr: string;
  port: number;
  step: number;
}

export interface SynthOutput {
  scenario: Scenario;
  /** LINKTYPE_* of every packet. */
  linkType: number;
  packets: SynthPacket[];
  /** One record per step, in order (steps[i].index === i + 1). */
  steps: StepRecord[];
  /** Named flows: `as:` names of connect, udp and ping steps. */
  conns: Map<string, ConnRecord>;
  listening: ListenRecord[];
}
