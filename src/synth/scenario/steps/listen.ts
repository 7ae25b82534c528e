/** listen: the sockets that accept connections (a connect to one is answered). */
import { isSeq, type ParsedNode } from 'yaml';
import type { Entry } from '../../../base/yaml-reader.js';
import type { Endpoint, Step, StepBase } from '../../types.js';
import { candidates, endpointTok } from '../endpoints.js';
import type { Params, ScenarioReader } from '../reader.js';
import { EXAMPLE, SHORTHAND } from '../step-params.js';

export function listenStep(r: ScenarioReader, base: StepBase, params: Params, typeEntry: Entry): Step | null {
  const e = params.get('on');
  if (!e) {
    r.error(typeEntry.key, `listen needs on:; like ${EXAMPLE.listen}`, 'scenario.missing-parameter');
    return null;
  }
  const v = e.value;
  const nodes: ParsedNode[] = [];
  if (v !== null && isSeq(v))
    for (const it of v.items) {
      const n = r.deref(it);
      if (n !== null) nodes.push(n);
    }
  else if (v !== null) nodes.push(v);
  if (nodes.length === 0) {
    r.error(e.at, `listen needs an endpoint or a list of them, like ${EXAMPLE.listen}`, 'scenario.missing-parameter');
    return null;
  }
  const sockets: Endpoint[] = [];
  for (const n of nodes) {
    const p = r.scalarText({ key: e.key, value: n, at: n }, 'listen', `${SHORTHAND.listen}`);
    if (p === null) continue;
    const t = endpointTok(r, p, 'listen', 'required');
    if (t === null) continue;
    for (const c of candidates(t)) {
      const host = t.host ? t.host.name : (r.addrOwner.get(c.text) ?? null);
      sockets.push({ host, addr: c.text, version: c.version, port: t.port });
      r.flows.listening.add(`${c.text}|${t.port}`);
    }
  }
  return { kind: 'listen', ...base, sockets };
}
