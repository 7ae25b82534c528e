/** udp: a UDP datagram (and its reply), starting or continuing a flow. */
import { isScalar } from 'yaml';
import type { Entry } from '../../../base/yaml-reader.js';
import type { Step, StepBase } from '../../types.js';
import { endpointPiece, endpointTok, familyParam, resolvePair } from '../endpoints.js';
import { natParams } from '../nat.js';
import type { Params, ScenarioReader } from '../reader.js';
import { NAT_PARAMS } from '../step-params.js';

export function udpStep(r: ScenarioReader, base: StepBase, params: Params, typeEntry: Entry): Step | null {
  const ce = params.get('conn');
  const pl = r.payload(params, 'udp', 32, 65000);
  let reply: number | null = null;
  const re = params.get('reply');
  if (re) {
    const v = re.value;
    if (v !== null && isScalar(v) && typeof v.value === 'boolean') reply = v.value ? -1 : null;
    else reply = r.int(re, 'reply', 0, 65000, 'true, false, or the reply size in bytes (0-65000)');
  }
  if (pl && reply === -1) reply = pl.bytes;
  if (ce) {
    for (const k of ['to', 'family']) {
      const e = params.get(k);
      if (e)
        r.error(
          e.key,
          `udp with conn: continues that flow; leave out ${k}: (from: says which side sends)`,
          'scenario.parameter-not-applicable',
        );
    }
    const f = r.flows.ref(ce, 'udp', 'conn', ['udp']);
    const from = r.flows.side(params.get('from'), f);
    if (f === null || pl === null) return null;
    const nk = NAT_PARAMS.find((k) => params.has(k));
    if (nk !== undefined) {
      r.error(
        params.get(nk)!.key,
        `udp with conn: continues ${f.def.name}, which keeps the NAT of the step that started it (${r.fmt(f.def.pos)}); give ${nk}: there`,
        'scenario.parameter-not-applicable',
      );
      return null;
    }
    if (base.name !== null) {
      r.error(
        params.get('as')!.at,
        `udp with conn: continues ${f.def.name}; name the flow at the udp step that starts it`,
        'scenario.parameter-not-applicable',
      );
      return null;
    }
    f.sent[from] = true;
    if (reply !== null) f.sent[from === 'client' ? 'server' : 'client'] = true;
    return {
      kind: 'udp',
      ...base,
      conn: f.def.name,
      from,
      client: null,
      server: null,
      bytes: pl.bytes,
      data: pl.data,
      reply,
      nat: null,
    };
  }
  if (!r.requireParams('udp', params, typeEntry, ['from', 'to'])) return null;
  const fp = endpointPiece(r, params.get('from')!, 'from');
  const tp = endpointPiece(r, params.get('to')!, 'to');
  const { family, node } = familyParam(r, params);
  const ft = fp && endpointTok(r, fp, 'from', 'optional');
  const tt = tp && endpointTok(r, tp, 'to', 'required');
  if (!ft || !tt || pl === null) return null;
  const pair = resolvePair(r, ft, tt, family, node);
  if (!pair) return null;
  const [client, server] = pair;
  const nat = natParams(r, 'udp', params, client, server);
  if (nat === undefined) return null;
  if (base.name !== null) r.flows.define(base, 'udp', client, server, reply !== null, 'open', true, nat);
  return {
    kind: 'udp',
    ...base,
    conn: null,
    from: 'client',
    client,
    server,
    bytes: pl.bytes,
    data: pl.data,
    reply,
    nat,
  };
}
