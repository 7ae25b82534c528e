/**
 * snat:, masquerade: and dnat: on the step that opens a flow: NAT on the
 * firewall between its two ends. The capture is what the firewall receives,
 * so NAT shows in which addresses each direction carries: the server's
 * packets go to the client as the server sees it (source NAT) and come from
 * the server's real socket behind a public endpoint (a port forward).
 */
import { isScalar } from 'yaml';
import type { Endpoint, StepNat } from '../types.js';
import { endpointOf, endpointTok, type EpTok } from './endpoints.js';
import type { Params, ScenarioReader } from './reader.js';

const HELP = {
  snat: 'the address (and port) the server sees the client as, like 203.0.113.1 or 203.0.113.1:40000',
  masquerade: 'the firewall address the client is masqueraded to, like 203.0.113.1 (or 203.0.113.1:40000)',
  dnat: 'the real server behind the public endpoint, like 192.168.1.10:80 or a host (alice:80)',
} as const;

/**
 * The NAT of a step that opens a flow from `client` to `server` (a ping's
 * port is its echo id). Null when the step gives none; undefined when what
 * it gives is wrong (reported).
 */
export function natParams(
  r: ScenarioReader,
  kind: 'connect' | 'udp' | 'ping',
  params: Params,
  client: Endpoint,
  server: Endpoint,
): StepNat | null | undefined {
  const se = params.get('snat');
  const me = params.get('masquerade');
  const de = params.get('dnat');
  if (!se && !me && !de) return null;
  let ok = true;
  if (se && me) {
    r.error(
      me.key,
      'snat and masquerade both say which address the server sees the client as; give one (masquerade is snat to the address of the way out)',
      'scenario.bad-nat',
    );
    ok = false;
  }
  const flowText = `${kind === 'connect' ? 'connection' : 'flow'} ${fmt(client)} -> ${fmt(server)}`;
  const read = (key: 'snat' | 'masquerade' | 'dnat', e: NonNullable<typeof se>): Endpoint | null => {
    const v = e.value;
    if (key === 'masquerade' && v !== null && isScalar(v) && typeof v.value === 'boolean') {
      r.error(
        e.at,
        `masquerade needs the address the firewall masquerades to (its address on the way to the server), like masquerade: 203.0.113.1; a scenario has no interfaces to take it from`,
        'scenario.bad-nat',
      );
      return null;
    }
    const p = r.scalarText(e, key, HELP[key]);
    if (p === null) return null;
    // A ping has no ports; source NAT may still change its echo id (0-65535), dnat only the address.
    const t: EpTok | null =
      kind === 'ping'
        ? endpointTok(r, p, key, key === 'dnat' ? 'none' : 'optional', 0)
        : endpointTok(r, p, key, 'optional');
    if (t === null) return null;
    const ep = endpointOf(r, t, client.version);
    if (ep === null) {
      const what = t.host
        ? `host ${t.host.name} has no IPv${client.version} address`
        : `${t.literal!.text} is an IPv${t.literal!.version} address`;
      r.errorIn(
        t.piece,
        `${key}: ${what}, and the ${flowText} is IPv${client.version}; NAT keeps the address family`,
        'scenario.nat-family',
      );
      return null;
    }
    return ep;
  };
  let source: StepNat['source'] = null;
  const sourceEntry = se ?? me;
  if (sourceEntry && ok) {
    const how = se ? 'snat' : 'masquerade';
    const to = read(how, sourceEntry);
    if (to === null) ok = false;
    else source = { how, to };
  }
  let dnat: Endpoint | null = null;
  if (de) {
    dnat = read('dnat', de);
    if (dnat === null) ok = false;
  }
  return ok ? { source, dnat } : undefined;
}

function fmt(e: Endpoint): string {
  const a = e.version === 6 && e.port !== null ? `[${e.addr}]` : e.addr;
  return e.port === null ? a : `${a}:${e.port}`;
}

/** The server's real socket (the dnat target, its port defaulting to the public one). */
export function realServer(server: Endpoint, nat: StepNat | null): Endpoint {
  const d = nat?.dnat;
  return d ? { ...d, port: d.port ?? server.port } : server;
}

/** The client as the server sees it (the source NAT address, its port defaulting to the client's). */
export function seenClient(client: Endpoint, nat: StepNat | null): Endpoint {
  const s = nat?.source?.to;
  return s ? { ...s, port: s.port ?? client.port } : client;
}
