/**
 * The flow-state checker: while the steps are read in order, what each
 * named connection or flow is (its ends, its state, what each side has
 * sent), so a step that uses one is checked against what came before it
 * ("already closed", "used before it is defined", "never sent a segment").
 */
import { isScalar } from 'yaml';
import type { SourcePos } from '../../base/diag.js';
import { didYouMean } from '../../base/suggest.js';
import { describeNode } from '../../base/yaml-nodes.js';
import { list, type Entry, type YamlReader } from '../../base/yaml-reader.js';
import type { ScenarioCode } from './codes.js';
import type { Endpoint, FlowDef, Side, StepBase, StepKind, StepNat } from '../types.js';
import { realServer } from './nat.js';

type FlowState = 'open' | 'refused' | 'syn-sent' | 'closed' | 'reset';

/** What the checker knows about a named flow while walking the steps. */
export interface FlowCheck {
  def: FlowDef;
  client: Endpoint;
  /** The endpoint the client addresses (a port forward's public one). */
  server: Endpoint;
  /** The server's real socket: `server` unless dnat: says otherwise. */
  real: Endpoint;
  nat: StepNat | null;
  state: FlowState;
  fin: { client: boolean; server: boolean };
  /** Where it was closed/reset, for messages. */
  endedAt: SourcePos | null;
  /** Has the server side ever sent a sequence-consuming segment (SYN/ACK)? */
  serverSent: boolean;
  /** Has each side sent any packet (something an ICMP error could quote)? */
  sent: { client: boolean; server: boolean };
}

export class FlowChecker {
  /** Every `as:` name in the file (pre-scan), for "used before it is defined". */
  readonly allNames = new Map<string, { step: number; pos: SourcePos; kind: string }>();
  /** Names defined so far. */
  readonly names = new Map<string, { step: number; pos: SourcePos; kind: StepKind }>();
  readonly byName = new Map<string, FlowCheck>();
  readonly defs = new Map<string, FlowDef>();
  /** Listening sockets, "addr|port". */
  readonly listening = new Set<string>();
  /** TCP 4-tuples with a fixed client port in use -> connection name. */
  readonly tuples = new Map<string, string>();
  /**
   * The same seen from the server (its real socket, the client as it sees
   * it): with NAT two connections can differ on the client's side and
   * clash on the server's, which the kernel never lets happen.
   */
  readonly replyTuples = new Map<string, string>();
  /** Index of the step being checked. */
  current = 0;

  constructor(private readonly r: YamlReader<ScenarioCode>) {}

  /** A reference to a named flow defined earlier; reports and returns null otherwise. */
  ref(e: Entry | undefined, stepKind: StepKind, what: string, protos: readonly string[] | null): FlowCheck | null {
    if (!e) return null;
    const v = e.value;
    if (v === null || !isScalar(v) || (typeof v.value !== 'string' && typeof v.value !== 'number')) {
      this.r.error(
        e.at,
        `${what} must be the name of a ${protos?.includes('udp') && !protos.includes('tcp') ? 'UDP flow' : 'connection'} (given with as:), not ${describeNode(v)}`,
        'scenario.unknown-flow',
      );
      return null;
    }
    const name = String(v.value);
    const f = this.byName.get(name);
    if (f) {
      if (protos && !protos.includes(f.def.proto)) {
        const k = f.def.proto === 'tcp' ? 'a TCP connection' : f.def.proto === 'udp' ? 'a UDP flow' : 'a ping';
        this.r.error(
          e.at,
          `${name} is ${k} (line ${f.def.pos.line}); ${stepKind} works on ${protos.map((p) => (p === 'tcp' ? 'TCP connections' : p === 'udp' ? 'UDP flows' : 'pings')).join(' and ')}`,
          'scenario.wrong-flow-kind',
        );
        return null;
      }
      return f;
    }
    const step = this.names.get(name);
    if (step) {
      this.r.error(
        e.at,
        `${name} names a ${step.kind} step (${this.r.fmt(step.pos)}), not a connection or flow; ${what} refers to a connect, udp or ping step's as: name`,
        'scenario.unknown-flow',
      );
      return null;
    }
    const later = this.allNames.get(name);
    if (later && later.step < this.current) return null; // the step that names it has errors of its own (reported there)
    if (later) {
      this.r.error(
        e.at,
        `${name} is used before it is defined: the ${later.kind} step that names it comes later (${this.r.fmt(later.pos)}); steps run in order`,
        'scenario.used-before-defined',
      );
      return null;
    }
    const known = [...this.byName.keys()];
    this.r.error(
      e.at,
      `unknown connection "${name}"${didYouMean(name, known)} (${known.length > 0 ? `named so far: ${list(known)}` : 'no connection has been named with as: yet'})`,
      'scenario.unknown-flow',
    );
    return null;
  }

  /** from: client|server (or the host name of one side). */
  side(e: Entry | undefined, f: FlowCheck | null, key = 'from', dflt: Side = 'client'): Side {
    if (!e) return dflt;
    const v = e.value;
    if (v !== null && isScalar(v) && typeof v.value === 'string') {
      const s = v.value;
      if (s === 'client' || s === 'server') return s;
      if (f) {
        const c = f.client.host === s || f.client.addr === s;
        const sv = f.server.host === s || f.server.addr === s || f.real.host === s || f.real.addr === s;
        if (c && !sv) return 'client';
        if (sv && !c) return 'server';
        if (c && sv) {
          this.r.error(e.at, `${s} is both ends of ${f.def.name}; say client or server`, 'scenario.bad-side');
          return dflt;
        }
      }
      if (f === null) return dflt; // the connection itself is wrong (reported); don't guess
      this.r.error(
        e.at,
        `${key} "${s}" is not a side${didYouMean(s, ['client', 'server'])}; write client or server${f ? ` (${f.def.name}: client ${f.client.host ?? f.client.addr}, server ${f.server.host ?? f.server.addr})` : ''}`,
        'scenario.bad-side',
      );
      return dflt;
    }
    this.r.error(e.at, `${key} must be client or server, not ${describeNode(v)}`, 'scenario.bad-side');
    return dflt;
  }

  stateProblem(f: FlowCheck, side: Side | null): string | null {
    const name = f.def.name;
    switch (f.state) {
      case 'refused':
        return `connection ${name} was refused at ${this.r.fmt(f.def.pos)} (nothing listens on ${f.real.host ?? f.real.addr}:${f.real.port}; add "- listen: ${f.real.host ?? f.real.addr}:${f.real.port}" before the connect)`;
      case 'syn-sent':
        return `connection ${name} never completed its handshake (its SYN went unanswered, ${this.r.fmt(f.def.pos)})`;
      case 'closed':
        return `connection ${name} is already closed (${this.r.fmt(f.endedAt!)})`;
      case 'reset':
        return `connection ${name} was reset (${this.r.fmt(f.endedAt!)})`;
      default:
        if (side && f.fin[side])
          return `the ${side} of ${name} has already closed its side (sent its FIN); it cannot send any more`;
        return null;
    }
  }

  /** A flow named by `base`, as its first step leaves it (a connect: open, refused or syn-sent). */
  define(
    base: StepBase,
    proto: FlowDef['proto'],
    client: Endpoint,
    server: Endpoint,
    serverSends: boolean,
    state: FlowState = 'open',
    serverSent = true,
    nat: StepNat | null = null,
  ): void {
    const def: FlowDef = { name: base.name!, proto, step: base.index, pos: base.pos };
    this.defs.set(def.name, def);
    this.byName.set(def.name, {
      def,
      client,
      server,
      real: realServer(server, nat),
      nat,
      state,
      fin: { client: false, server: false },
      endedAt: null,
      serverSent,
      sent: { client: true, server: serverSends },
    });
  }
}
