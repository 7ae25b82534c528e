/** connect: a TCP connection opened (handshake answered, refused, or unanswered). */
import type { Entry } from '../../../base/yaml-reader.js';
import type { Step, StepBase, TcpParams } from '../../types.js';
import { endpointPiece, endpointTok, familyParam, resolvePair } from '../endpoints.js';
import type { Params, ScenarioReader } from '../reader.js';

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
  if (simultaneous && params.has('answer')) {
    r.error(
      params.get('answer')!.key,
      'answer does not apply to a simultaneous open (both ends send a SYN)',
      'scenario.parameter-not-applicable',
    );
    return null;
  }
  if (simultaneous) answer = 'accept';
  if (answer === null) answer = r.flows.listening.has(`${server.addr}|${server.port}`) ? 'accept' : 'reset';
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
  const step: Step = { kind: 'connect', ...base, client, server, answer, retries, simultaneous, tcp };
  if (base.name !== null) {
    r.flows.define(
      base,
      'tcp',
      client,
      server,
      answer !== 'none',
      answer === 'accept' ? 'open' : answer === 'reset' ? 'refused' : 'syn-sent',
      answer === 'accept',
    );
    if (client.port !== null)
      r.flows.tuples.set(`${client.addr}|${client.port}|${server.addr}|${server.port}`, base.name);
  }
  return step;
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
