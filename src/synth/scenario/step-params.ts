/** What each step type takes: its parameters, its shorthand, an example (quoted in messages). */
import type { StepKind } from '../types.js';

/**
 * NAT on the firewall, given on the step that opens a flow (the rule file's
 * words): the flow's later steps keep it.
 */
export const NAT_PARAMS = ['snat', 'masquerade', 'dnat'] as const;
/** The step kinds that open a flow, and so take NAT_PARAMS. */
export const NAT_STEPS: readonly StepKind[] = ['connect', 'udp', 'ping'];

/** Parameters each step type takes (besides `as`). The first one is what the shorthand form sets. */
export const STEP_PARAMS: Readonly<Record<StepKind, readonly string[]>> = {
  listen: ['on'],
  connect: [
    'from',
    'to',
    'family',
    'rtt',
    'answer',
    'retries',
    'simultaneous',
    'mss',
    'window',
    'wscale',
    'timestamps',
    'sack',
    ...NAT_PARAMS,
  ],
  send: ['conn', 'from', 'bytes', 'data', 'rtt'],
  close: ['conn', 'from', 'half', 'rtt'],
  reset: ['conn', 'from'],
  wait: ['for'],
  packet: [
    'conn',
    'from',
    'to',
    'family',
    'proto',
    'sport',
    'dport',
    'flags',
    'seq',
    'ack',
    'window',
    'bytes',
    'data',
    'ttl',
    'ip_id',
    'df',
    'options',
    'type',
    'code',
    'ident',
  ],
  retransmit: ['conn', 'from', 'ack', 'rtt'],
  udp: ['from', 'to', 'conn', 'family', 'bytes', 'data', 'reply', 'rtt', ...NAT_PARAMS],
  unreachable: ['about', 'code', 'from', 'side', 'mtu'],
  ping: ['from', 'to', 'family', 'count', 'interval', 'reply', 'bytes', 'ident', 'rtt', ...NAT_PARAMS],
};

/** What the shorthand value of each step type is (for messages), or null when it has none. */
export const SHORTHAND: Readonly<Record<StepKind, string | null>> = {
  listen: 'an endpoint or a list of them, like listen: server:8080',
  connect: '"client -> server:port", like connect: alice -> server:8080',
  send: null,
  close: 'a connection name, like close: a1',
  reset: 'a connection name, like reset: a1',
  wait: 'a duration, like wait: 30s',
  packet: null,
  retransmit: 'a connection name, like retransmit: a1',
  udp: '"client -> server:port", like udp: alice -> server:53',
  unreachable: 'a flow name, like unreachable: u2',
  ping: '"from -> to", like ping: alice -> server',
};

/** How each step type is written, for "like ..." in messages. */
export const EXAMPLE: Readonly<Record<StepKind, string>> = {
  listen: 'listen: server:8080',
  connect: 'connect: alice -> server:8080',
  send: 'send: { conn: a1, from: client, bytes: 120 }',
  close: 'close: a1',
  reset: 'reset: a1',
  wait: 'wait: 30s',
  packet: 'packet: { from: server:8080, to: alice:33333, flags: PA }',
  retransmit: 'retransmit: { conn: a1, from: server }',
  udp: 'udp: { from: alice, to: server:53, bytes: 40, reply: true }',
  unreachable: 'unreachable: { about: u2, code: port }',
  ping: 'ping: { from: alice, to: server }',
};
