/** connect: a TCP connection opened (handshake answered, refused, or unanswered). */
import type { Entry } from '../../../base/yaml-reader.js';
import type { Endpoint, Step, StepBase, TcpParams } from '../../types.js';
import { endpointPiece, endpointTok, familyParam, resolvePair } from '../endpoints.js';
import { natParams, realServer, seenClient } from '../nat.js';
import type { Params, ScenarioReader } from '../reader.js';
import { epText } from '../../traffic/summary-text.js';

export function connectStep(r: ScenarioReader, base: StepBase, params: Params, typeEntry: Entry): Step | null {
  if (!r.requireParams('connect', params, typeEntry, ['from', 'to'])) return null;
  const fp = endpointPiece(r, params.get('from')!, 'from');
  const tp = endpointPiece(r, params.get('to')!, 'to');
  const { family, node: famNode } = familyParam(r, params);
  const tcp = tcpParams(r, params);
  const simultaneous = r.bool(params.get('simultaneous'), 'simultaneous') ?? false;
  let answer = r.oneOf(params.get('answer'), 'answer', ['accept', 'reset', 'none'] as const);
  const retries = r.int(params.get('retries'), 'retries', 0, 10, 'a number of SYN retransmissions, 0-10') ?? 0;
  if (fp === null || tp === null) return null;
  const ft = endpointTok(r, fp, 'from', 'optional');
  const tt = endpointTok(r, tp, 'to', 'required');
  if (ft === null || tt === null) return null;
  const pair = resolvePair(r, ft, tt, family, famNode);
  if (pair === null) return null;
  const [client, server] = pair;
  const nat = natParams(r, 'connect', params, client, server);
  if (nat === undefined) return null;
  const real = realServer(server, nat);
  if (simultaneous && params.has('answer')) {
    r.error(
      params.get('answer')!.key,
      'answer does not apply to a simultaneous open (both ends send a SYN)',
      'scenario.parameter-not-applicable',
    );
    return null;
  }
  if (simultaneous) answer = 'accept';
  if (answer === null) answer = r.flows.listening.has(`${real.addr}|${real.port}`) ? 'accept' : 'reset';
  if (params.has('retries') && answer !== 'none') {
    r.error(
      params.get('retries')!.key,
      'retries applies only with answer: none (an unanswered SYN is retransmitted)',
      'scenario.parameter-not-applicable',
    );
    return null;
  }
  if (client.port !== null) {
    const key = `${client.addr}|${client.port}|${server.addr}|${server.port}`;
    const other = r.flows.tuples.get(key);
    if (other !== undefined) {
      const f = r.flows.byName.get(other);
      if (f && (f.state === 'open' || f.state === 'syn-sent')) {
        r.errorIn(
          ft.piece,
          `${ft.piece.text} -> ${tt.piece.text} is still in use by connection ${other} (${r.fmt(f.def.pos)}); close or reset it first, or use another port`,
          'scenario.tuple-in-use',
        );
        return null;
      }
    }
  }
  // The server's side: with NAT two connections can differ at the client and still clash here.
  const seen = seenClient(client, nat);
  const clash = seen.port === null ? undefined : r.flows.replyTuples.get(replyKey(real, seen));
  const cf = clash === undefined ? undefined : r.flows.byName.get(clash);
  if (cf && (cf.state === 'open' || cf.state === 'syn-sent')) {
    r.errorIn(
      ft.piece,
      `${epText(real)} would see this connection coming from ${epText(seen)}, as it sees connection ${clash} (${r.fmt(cf.def.pos)}), which is still open; ` +
        `no two connections share a reply tuple: the kernel gives the second one another port, so say which: snat: ${seen.version === 6 ? `[${seen.addr}]` : seen.addr}:PORT`,
      'scenario.tuple-in-use',
    );
    return null;
  }
  const step: Step = { kind: 'connect', ...base, client, server, answer, retries, simultaneous, tcp, nat };
  if (base.name !== null) {
    r.flows.define(
      base,
      'tcp',
      client,
      server,
      answer !== 'none',
      answer === 'accept' ? 'open' : answer === 'reset' ? 'refused' : 'syn-sent',
      answer === 'accept',
      nat,
    );
    if (client.port !== null)
      r.flows.tuples.set(`${client.addr}|${client.port}|${server.addr}|${server.port}`, base.name);
    if (seen.port !== null) r.flows.replyTuples.set(replyKey(real, seen), base.name);
  }
  return step;
}

function replyKey(real: Endpoint, seen: Endpoint): string {
  return `${real.addr}|${real.port}|${seen.addr}|${seen.port}`;
}

export function tcpParams(r: ScenarioReader, params: Params): TcpParams {
  const o = r.options;
  const ws = r.wscaleValue(params.get('wscale'));
  return {
    mss: r.int(params.get('mss'), 'mss', 64, 65495, 'the TCP maximum segment size in bytes, 64-65495') ?? o.mss,
    window: r.windowValue(params.get('window')) ?? o.window,
    wscale: ws === undefined ? o.wscale : ws,
    timestamps: r.bool(params.get('timestamps'), 'timestamps') ?? o.timestamps,
    sack: r.bool(params.get('sack'), 'sack') ?? o.sack,
  };
}
