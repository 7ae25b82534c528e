/** wait: time passing (timers in the firewall run on). */
import type { Entry } from '../../../base/yaml-reader.js';
import type { Step, StepBase } from '../../types.js';
import { MAX_DURATION, type Params, type ScenarioReader } from '../reader.js';
import { EXAMPLE } from '../step-params.js';

export function waitStep(r: ScenarioReader, base: StepBase, params: Params, typeEntry: Entry): Step | null {
  if (!params.has('for')) {
    r.error(typeEntry.key, `wait needs for:; like ${EXAMPLE.wait}`, 'scenario.missing-parameter');
    return null;
  }
  const d = r.duration(params.get('for'), 'wait', 0, MAX_DURATION);
  return d === null ? null : { kind: 'wait', ...base, duration: d };
}
