/** unreachable: an ICMP error about a named flow. */
import type { Entry } from '../../../base/yaml-reader.js';
import { UNREACH_CODES, type Endpoint, type Side, type Step, type StepBase, type UnreachCode } from '../../types.js';
import { endpointOf, endpointPiece, endpointTok } from '../endpoints.js';
import type { Params, ScenarioReader } from '../reader.js';

/** Other names people use for unreachable codes. */
export const CODE_SYNONYMS: Readonly<Record<string, UnreachCode>> = {
  'net-unreachable': 'net',
  'host-unreachable': 'host',
  'port-unreachable': 'port',
  'prot-unreachable': 'protocol',
  'protocol-unreachable': 'protocol',
  'no-route': 'net',
  'addr-unreachable': 'host',
  'admin-prohibited': 'admin',
  prohibited: 'admin',
  'too-big': 'packet-too-big',
  frag: 'frag-needed',
  ttl: 'time-exceeded',
  'ttl-exceeded': 'time-exceeded',
};

export function unreachableStep(r: ScenarioReader, base: StepBase, params: Params, typeEntry: Entry): Step | null {
  if (!r.requireParams('unreachable', params, typeEntry, ['about'])) return null;
  const f = r.flows.ref(params.get('about'), 'unreachable', 'about', null);
  const code = params.has('code') ? r.oneOf(params.get('code'), 'code', UNREACH_CODES, CODE_SYNONYMS) : 'port';
  const se = params.get('side');
  let side: Side | null = null;
  if (se) side = r.flows.side(se, f, 'side');
  const mtu = r.int(params.get('mtu'), 'mtu', 68, 65535, 'the next-hop MTU in bytes, 68-65535');
  if (f === null || code === null) return null;
  if (side !== null && !f.sent[side]) {
    r.error(
      se!.at,
      `the ${side} of ${f.def.name} has sent nothing yet, so there is no packet of it to quote`,
      'scenario.flow-state',
    );
    return null;
  }
  let from: Endpoint | null = null;
  const fe = params.get('from');
  if (fe) {
    const p = endpointPiece(r, fe, 'from');
    const t = p && endpointTok(r, p, 'from', 'none');
    if (!t) return null;
    from = endpointOf(r, t, f.client.version);
    if (from === null) {
      r.errorIn(
        t.piece,
        `${t.piece.text} has no IPv${f.client.version} address, and ${f.def.name} is IPv${f.client.version}`,
        'scenario.no-common-family',
      );
      return null;
    }
  }
  const v6 = f.client.version === 6;
  if (v6 && code === 'protocol') {
    r.error(
      params.get('code')!.at,
      'code protocol exists only in ICMP (IPv4); IPv6 reports an unknown next header with a parameter problem',
      'scenario.parameter-not-applicable',
    );
    return null;
  }
  if (mtu !== null && code !== 'frag-needed' && code !== 'packet-too-big') {
    r.error(
      params.get('mtu')!.key,
      'mtu applies only to code frag-needed / packet-too-big',
      'scenario.parameter-not-applicable',
    );
    return null;
  }
  if (v6 && mtu !== null && mtu < 1280) {
    r.error(params.get('mtu')!.at, `mtu ${mtu} is below the IPv6 minimum of 1280`, 'scenario.value-out-of-range');
    return null;
  }
  return { kind: 'unreachable', ...base, about: f.def.name, code, from, side, mtu: mtu ?? (v6 ? 1280 : 1400) };
}
