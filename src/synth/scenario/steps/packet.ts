/** packet: one hand-made packet, every field given, or a packet inside a named connection. */
import { isMap, isScalar, isSeq } from 'yaml';
import { didYouMean } from '../../../base/suggest.js';
import { describeNode } from '../../../base/yaml-nodes.js';
import { list, wholeNumberIn, type Entry } from '../../../base/yaml-reader.js';
import { parseTcpFlags } from '../../../packet/tcp.js';
import { icmpOtherWords } from '../../../rules/icmp.js';
import { ICMPV6_TYPES, ICMP_TYPES } from '../../../rules/spec.js';
import type { SeqValue, Step, StepBase, TcpOptionValues } from '../../types.js';
import { endpointPiece, endpointTok, familyParam, resolvePair } from '../endpoints.js';
import type { Params, ScenarioReader } from '../reader.js';

export function packetStep(r: ScenarioReader, base: StepBase, params: Params, typeEntry: Entry): Step | null {
  const ce = params.get('conn');
  const connMode = ce !== undefined;
  const f = connMode ? r.flows.ref(ce, 'packet', 'conn', ['tcp', 'udp']) : null;
  if (connMode && f === null) return null;
  const step: Step = {
    kind: 'packet',
    ...base,
    conn: f ? f.def.name : null,
    from: 'client',
    src: null,
    dst: null,
    proto: f ? (f.def.proto as 'tcp' | 'udp') : 'tcp',
    sport: null,
    dport: null,
    flags: null,
    seq: null,
    ack: null,
    window: null,
    bytes: 0,
    data: null,
    ttl: r.int(params.get('ttl'), 'ttl', 0, 255),
    ipId: r.int(params.get('ip_id'), 'ip_id', 0, 65535),
    df: r.bool(params.get('df'), 'df'),
    options: null,
    icmpType: null,
    icmpCode: null,
    ident: null,
    icmpSeq: null,
  };
  if (connMode) {
    for (const k of ['to', 'proto', 'sport', 'dport', 'family', 'type', 'code', 'ident']) {
      const e = params.get(k);
      if (e)
        r.error(
          e.key,
          `packet with conn: takes addresses, ports and protocol from ${f!.def.name}; leave out ${k}: (or leave out conn: to give every field)`,
          'scenario.parameter-not-applicable',
        );
    }
    step.from = r.flows.side(params.get('from'), f);
    f!.sent[step.from] = true;
  } else {
    if (!r.requireParams('packet', params, typeEntry, ['from', 'to'])) return null;
    const pe = params.get('proto');
    if (pe) {
      const n = wholeNumberIn(pe.value, 0, 255);
      if (n !== null) step.proto = n;
      else step.proto = r.oneOf(pe, 'proto', ['tcp', 'udp', 'icmp', 'icmpv6'] as const) ?? 'tcp';
    }
    const ports = step.proto === 'tcp' || step.proto === 'udp';
    const fp = endpointPiece(r, params.get('from')!, 'from');
    const tp = endpointPiece(r, params.get('to')!, 'to');
    const { family, node } = familyParam(r, params);
    const ft = fp && endpointTok(r, fp, 'from', ports ? 'optional' : 'none', 0);
    const tt = tp && endpointTok(r, tp, 'to', ports ? 'optional' : 'none', 0);
    if (!ft || !tt) return null;
    const pair = resolvePair(r, ft, tt, family, node);
    if (!pair) return null;
    [step.src, step.dst] = pair;
    if (step.proto === 'icmp' && step.src.version === 6) step.proto = 'icmpv6';
    if (step.proto === 'icmpv6' && step.src.version === 4) {
      r.error(pe!.at, 'proto icmpv6 needs IPv6 addresses; write icmp for IPv4', 'scenario.no-common-family');
      return null;
    }
    for (const k of ['sport', 'dport'] as const) {
      const e = params.get(k);
      const fromEp = k === 'sport' ? step.src.port : step.dst.port;
      if (e) {
        if (!ports) {
          r.error(e.key, `${k} needs proto tcp or udp`, 'scenario.parameter-not-applicable');
          continue;
        }
        const n = r.int(e, k, 0, 65535, 'a port 0-65535');
        if (n !== null && fromEp !== null && n !== fromEp)
          r.error(
            e.key,
            `${k} ${n} contradicts the port in ${k === 'sport' ? 'from' : 'to'} (${fromEp}); give it once`,
            'scenario.port-contradicts',
          );
        step[k] = n ?? fromEp;
      } else step[k] = fromEp;
    }
    if (ports && step.dport === null)
      r.error(
        params.get('to')!.at,
        `a ${step.proto} packet needs a destination port: to: host:port or dport:`,
        'scenario.port-required',
      );
    if (step.proto === 'icmp' || step.proto === 'icmpv6') {
      const table = step.proto === 'icmp' ? ICMP_TYPES : ICMPV6_TYPES;
      const te = params.get('type');
      if (te) {
        const v = te.value;
        if (v !== null && isScalar(v) && typeof v.value === 'number') step.icmpType = r.int(te, 'type', 0, 255);
        else
          step.icmpType =
            table[r.oneOf(te, 'type', Object.keys(table), {}, icmpOtherWords(step.proto, 'type')) ?? ''] ?? null;
      } else step.icmpType = table['echo-request'];
      step.icmpCode = r.int(params.get('code'), 'code', 0, 255) ?? 0;
      step.ident = r.int(params.get('ident'), 'ident', 0, 65535);
    } else {
      for (const k of ['type', 'code', 'ident']) {
        const e = params.get(k);
        if (e)
          r.error(e.key, `${k} applies to ICMP packets (proto: icmp or icmpv6)`, 'scenario.parameter-not-applicable');
      }
    }
  }
  const isTcp = step.proto === 'tcp';
  const isIcmp = step.proto === 'icmp' || step.proto === 'icmpv6';
  for (const k of ['flags', 'ack', 'window', 'options']) {
    const e = params.get(k);
    if (e && !isTcp)
      r.error(
        e.key,
        `${k} applies to TCP packets${connMode ? ` (${f!.def.name} is ${f!.def.proto.toUpperCase()})` : ' (proto: tcp)'}`,
        'scenario.parameter-not-applicable',
      );
  }
  const se = params.get('seq');
  if (se && !isTcp && !isIcmp)
    r.error(
      se.key,
      'seq applies to TCP packets (sequence number) and ICMP echo (sequence)',
      'scenario.parameter-not-applicable',
    );
  if (isTcp) {
    const fe = params.get('flags');
    if (fe) {
      const v = fe.value;
      if (v !== null && isScalar(v) && (typeof v.value === 'string' || typeof v.value === 'number')) {
        try {
          step.flags = parseTcpFlags(typeof v.value === 'number' ? v.value : v.value.replace(/[\s,|+]/g, ''));
        } catch {
          r.error(
            fe.at,
            `flags "${v.value}" are not TCP flags; use letters S (SYN), A (ACK), F (FIN), R (RST), P (PSH), U (URG), E (ECE), C (CWR), like SA or PA`,
            'scenario.bad-tcp-flags',
          );
        }
      } else
        r.error(fe.at, `flags must be letters like SA, PA, FA, R, not ${describeNode(v)}`, 'scenario.bad-tcp-flags');
    }
    step.seq = seqParam(r, se, 'seq', connMode);
    step.ack = seqParam(r, params.get('ack'), 'ack', connMode);
    step.window = r.int(params.get('window'), 'window', 0, 65535, 'the raw 16-bit window field, 0-65535');
    step.options = tcpOptionsParam(r, params.get('options'));
  } else if (isIcmp && se) {
    step.icmpSeq = r.int(se, 'seq', 0, 65535, 'an echo sequence number 0-65535');
  }
  const pl = r.payload(params, 'packet', 0, 65000);
  if (pl) {
    step.bytes = pl.bytes;
    step.data = pl.data;
  }
  return step;
}

export function seqParam(r: ScenarioReader, e: Entry | undefined, what: string, connMode: boolean): SeqValue | null {
  if (!e) return null;
  const v = e.value;
  if (v !== null && isScalar(v) && (typeof v.value === 'number' || typeof v.value === 'string')) {
    const raw = (typeof v.value === 'string' ? v.value : r.text.slice(v.range[0], v.range[1])).trim();
    const m = /^([+-]?)(\d+)$/.exec(raw);
    if (m) {
      const n = Number(m[2]);
      if (m[1] !== '') {
        if (!connMode) {
          r.error(
            e.at,
            `${what} ${raw} is relative, which needs conn: (relative to that connection's next ${what === 'seq' ? 'sequence' : 'acknowledgment'} number); give a number 0-4294967295`,
            'scenario.bad-seq',
          );
          return null;
        }
        if (n > 0xffffffff) {
          r.error(e.at, `${what} ${raw} is out of range; an offset is at most 4294967295`, 'scenario.bad-seq');
          return null;
        }
        return { relative: true, value: m[1] === '-' ? -n : n };
      }
      if (n <= 0xffffffff) return { relative: false, value: n };
    }
  }
  r.error(
    e.at,
    `${what} must be a number 0-4294967295${connMode ? ', or +N / -N relative to the connection' : ''}, not ${describeNode(v)}`,
    'scenario.bad-seq',
  );
  return null;
}

export function tcpOptionsParam(r: ScenarioReader, e: Entry | undefined): TcpOptionValues | null {
  if (!e) return null;
  const v = e.value;
  if (v === null || !isMap(v)) {
    r.error(
      e.at,
      `options must be a mapping like { mss: 1460, wscale: 7, sack_perm: true, timestamps: [1000, 0] }, not ${describeNode(v)}`,
      'scenario.bad-tcp-options',
    );
    return null;
  }
  const keys = ['mss', 'wscale', 'sack_perm', 'timestamps'];
  const m = r.readMap(v, keys, (k) => `unknown TCP option "${k}"${didYouMean(k, keys)} (allowed: ${list(keys)})`);
  const o: TcpOptionValues = {};
  const mss = r.int(m.get('mss'), 'mss', 0, 65535);
  if (mss !== null) o.mss = mss;
  const ws = r.int(m.get('wscale'), 'wscale', 0, 255);
  if (ws !== null) o.wscale = ws;
  const sp = r.bool(m.get('sack_perm'), 'sack_perm');
  if (sp !== null) o.sackPermitted = sp;
  const ts = m.get('timestamps');
  if (ts) {
    const tv = ts.value;
    const ok =
      tv !== null &&
      isSeq(tv) &&
      tv.items.length === 2 &&
      tv.items.every(
        (x) =>
          isScalar(x) &&
          typeof x.value === 'number' &&
          Number.isInteger(x.value) &&
          x.value >= 0 &&
          x.value <= 0xffffffff,
      );
    if (ok) o.timestamps = [(tv.items[0] as { value: number }).value, (tv.items[1] as { value: number }).value];
    else
      r.error(
        ts.at,
        `timestamps must be [TSval, TSecr], two numbers 0-4294967295, not ${describeNode(tv)}`,
        'scenario.bad-tcp-options',
      );
  }
  return o;
}
