/** send: data over an open TCP connection. */
import type { Entry } from '../../../base/yaml-reader.js';
import type { Step, StepBase } from '../../types.js';
import type { Params, ScenarioReader } from '../reader.js';
import { EXAMPLE } from '../step-params.js';

export function sendStep(r: ScenarioReader, base: StepBase, params: Params, typeEntry: Entry): Step | null {
  if (!r.requireParams('send', params, typeEntry, ['conn'])) return null;
  const f = r.flows.ref(params.get('conn'), 'send', 'conn', ['tcp']);
  const from = r.flows.side(params.get('from'), f);
  if (!params.has('bytes') && !params.has('data')) {
    r.error(
      typeEntry.key,
      `send needs bytes: (a size) or data: (the exact text); like ${EXAMPLE.send}`,
      'scenario.missing-parameter',
    );
    return null;
  }
  const pl = r.payload(params, 'send', null);
  if (f === null || pl === null) return null;
  if (pl.bytes === 0) {
    r.error((params.get('bytes') ?? params.get('data'))!.at, 'send needs at least 1 byte', 'scenario.bad-payload');
    return null;
  }
  const problem = r.flows.stateProblem(f, from);
  if (problem) {
    r.error(params.get('conn')!.at, problem, 'scenario.flow-state');
    return null;
  }
  return { kind: 'send', ...base, conn: f.def.name, from, bytes: pl.bytes, data: pl.data };
}
