/** ping: ICMP echo requests (and replies). */
import type { Entry } from '../../../base/yaml-reader.js';
import type { Step, StepBase } from '../../types.js';
import { endpointPiece, endpointTok, familyParam, resolvePair } from '../endpoints.js';
import { natParams } from '../nat.js';
import { MAX_DURATION, type Params, type ScenarioReader } from '../reader.js';

export function pingStep(r: ScenarioReader, base: StepBase, params: Params, typeEntry: Entry): Step | null {
  if (!r.requireParams('ping', params, typeEntry, ['from', 'to'])) return null;
  const fp = endpointPiece(r, params.get('from')!, 'from');
  const tp = endpointPiece(r, params.get('to')!, 'to');
  const { family, node } = familyParam(r, params);
  const count = r.int(params.get('count'), 'count', 1, 10000) ?? 1;
  const interval = r.duration(params.get('interval'), 'interval', 1, MAX_DURATION) ?? 1_000_000;
  const reply = r.bool(params.get('reply'), 'reply') ?? true;
  const bytes = r.int(params.get('bytes'), 'bytes', 0, 65000, 'the echo data size in bytes, 0-65000') ?? 56;
  const ident = r.int(params.get('ident'), 'ident', 0, 65535);
  const ft = fp && endpointTok(r, fp, 'from', 'none');
  const tt = tp && endpointTok(r, tp, 'to', 'none');
  if (!ft || !tt) return null;
  const pair = resolvePair(r, ft, tt, family, node);
  if (!pair) return null;
  const [client, server] = pair;
  const nat = natParams(r, 'ping', params, client, server);
  if (nat === undefined) return null;
  if (base.name !== null)
    r.flows.define(base, client.version === 6 ? 'icmpv6' : 'icmp', client, server, reply, 'open', true, nat);
  return { kind: 'ping', ...base, client, server, count, interval, reply, bytes, ident, nat };
}
