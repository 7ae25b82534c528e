/** close, reset and retransmit: the steps that act on an existing TCP connection (one reader: they differ in a few checks). */
import type { Entry } from '../../../base/yaml-reader.js';
import type { Side, Step, StepBase } from '../../types.js';
import type { Params, ScenarioReader } from '../reader.js';

export function connStep(
  r: ScenarioReader,
  kind: 'close' | 'reset' | 'retransmit',
  base: StepBase,
  params: Params,
  typeEntry: Entry,
): Step | null {
  if (!r.requireParams(kind, params, typeEntry, ['conn'])) return null;
  const ce = params.get('conn')!;
  const f = r.flows.ref(ce, kind, kind === 'close' ? 'close' : kind === 'reset' ? 'reset' : 'retransmit', ['tcp']);
  const from = r.flows.side(params.get('from'), f);
  const half = kind === 'close' ? (r.bool(params.get('half'), 'half') ?? false) : false;
  const ack = kind === 'retransmit' ? (r.bool(params.get('ack'), 'ack') ?? true) : true;
  if (f === null) return null;
  if (kind === 'retransmit') {
    if (from === 'server' && !f.serverSent) {
      r.error(
        ce.at,
        `the server of ${f.def.name} never sent a segment to retransmit (${f.state === 'refused' ? 'the connection was refused' : 'its SYN went unanswered'})`,
        'scenario.flow-state',
      );
      return null;
    }
    return { kind, ...base, conn: f.def.name, from, ack };
  }
  const problem = r.flows.stateProblem(f, kind === 'close' ? from : null);
  if (problem) {
    r.error(ce.at, problem, 'scenario.flow-state');
    return null;
  }
  if (kind === 'reset') {
    f.state = 'reset';
    f.endedAt = base.pos;
    return { kind, ...base, conn: f.def.name, from };
  }
  const other: Side = from === 'client' ? 'server' : 'client';
  f.fin[from] = true;
  if (!half) f.fin[other] = true;
  if (f.fin.client && f.fin.server) {
    f.state = 'closed';
    f.endedAt = base.pos;
  }
  return { kind, ...base, conn: f.def.name, from, half };
}
