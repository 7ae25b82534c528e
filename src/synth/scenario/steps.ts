/**
 * The steps: list: each item's shape (one step type, its parameters as a
 * mapping or a shorthand, as:, rtt:), then the step kind's own reader in
 * steps/. Steps are read in order, so each is checked against the flows
 * the steps before it opened (flows.ts).
 */
import { isMap, isScalar, isSeq, type ParsedNode } from 'yaml';
import { didYouMean } from '../../base/suggest.js';
import { describeNode } from '../../base/yaml-nodes.js';
import { list, type Entry } from '../../base/yaml-reader.js';
import { STEP_TYPES, type Step, type StepBase, type StepKind } from '../types.js';
import { arrowShorthand } from './endpoints.js';
import { MAX_DURATION, MAX_SCENARIO_USEC, type Params, type ScenarioReader } from './reader.js';
import { EXAMPLE, NAT_PARAMS, NAT_STEPS, SHORTHAND, STEP_PARAMS } from './step-params.js';
import { connectStep } from './steps/connect.js';
import { connStep } from './steps/conn.js';
import { listenStep } from './steps/listen.js';
import { packetStep } from './steps/packet.js';
import { pingStep } from './steps/ping.js';
import { sendStep } from './steps/send.js';
import { udpStep } from './steps/udp.js';
import { unreachableStep } from './steps/unreachable.js';
import { waitStep } from './steps/wait.js';

export function readSteps(r: ScenarioReader, root: ParsedNode, e: Entry | undefined): Step[] {
  if (!e) {
    r.error(
      root,
      `missing steps: list; add steps: with what happens, like - ${EXAMPLE.connect}`,
      'scenario.missing-steps',
    );
    return [];
  }
  const v = e.value;
  if (v === null || !isSeq(v) || v.items.length === 0) {
    r.error(
      e.at,
      `steps must be a non-empty list of steps (each item starting with "- "), not ${isSeq(v) ? 'an empty list' : describeNode(v)}`,
      'scenario.steps-not-list',
    );
    return [];
  }
  const items = v.items.map((it) => r.deref(it));
  // Pre-scan the as: names so a reference to a later step says so.
  items.forEach((n, i) => {
    if (n === null || !isMap(n)) return;
    for (const p of n.items) {
      if (isScalar(p.key) && p.key.value === 'as') {
        const val = r.deref(p.value);
        if (val !== null && isScalar(val) && typeof val.value === 'string' && !r.flows.allNames.has(val.value)) {
          const kind =
            n.items
              .map((q) => (isScalar(q.key) ? String(q.key.value) : ''))
              .find((k) => (STEP_TYPES as readonly string[]).includes(k)) ?? 'step';
          r.flows.allNames.set(val.value, { step: i + 1, pos: r.nodePos(n), kind });
        }
      }
    }
  });
  const steps: Step[] = [];
  let total = 0;
  items.forEach((n, i) => {
    if (n === null) return;
    const s = step(r, n, i + 1);
    if (s !== null) {
      steps.push(s);
      if (s.kind === 'wait') {
        total += s.duration;
        if (total > MAX_SCENARIO_USEC)
          r.error(n, 'the waits add up to more than 30 days; a scenario lasts at most 30 days', 'scenario.too-long');
      }
    }
  });
  return steps;
}

function step(r: ScenarioReader, n: ParsedNode, index: number): Step | null {
  r.flows.current = index;
  if (!isMap(n)) {
    const hint =
      isScalar(n) &&
      typeof n.value === 'string' &&
      (STEP_TYPES as readonly string[]).includes(n.value.split(/[\s:]/)[0])
        ? ` (write "${n.value.split(/[\s:]/)[0]}: ..." with a colon)`
        : '';
    r.error(
      n,
      `step #${index} must be a mapping like "- ${EXAMPLE.connect}", not ${describeNode(n)}${hint}`,
      'scenario.step-not-mapping',
    );
    return null;
  }
  const typeKeys: { key: string; node: ParsedNode }[] = [];
  const unknown: { key: string; node: ParsedNode }[] = [];
  const knownParams = new Set<string>(['as', ...Object.values(STEP_PARAMS).flat()]);
  for (const p of n.items) {
    const k = r.deref(p.key);
    if (k === null || !isScalar(k)) continue;
    const key = String(k.value);
    if ((STEP_TYPES as readonly string[]).includes(key)) typeKeys.push({ key, node: k });
    else if (!knownParams.has(key)) unknown.push({ key, node: k });
  }
  if (typeKeys.length > 1) {
    r.error(
      typeKeys[1].node,
      `step #${index} has two step types, ${typeKeys[0].key} and ${typeKeys[1].key}; give each its own "- " item`,
      'scenario.two-step-types',
    );
    return null;
  }
  if (typeKeys.length === 0) {
    if (unknown.length > 0) {
      for (const u of unknown)
        r.error(
          u.node,
          `unknown step type "${u.key}"${didYouMean(u.key, STEP_TYPES)} (allowed: ${list(STEP_TYPES)})`,
          'scenario.unknown-step-type',
        );
    } else {
      r.error(n, `step #${index} has no step type; start it with one of: ${list(STEP_TYPES)}`, 'scenario.no-step-type');
    }
    return null;
  }
  const kind = typeKeys[0].key as StepKind;
  const allowed = STEP_PARAMS[kind];
  // NAT keys are read on every step, so one on a step that opens no flow gets its own message (below).
  const readable = NAT_STEPS.includes(kind) ? allowed : [...allowed, ...NAT_PARAMS];
  const siblingAllowed = ['as', kind, ...allowed];
  const params = new Map<string, Entry>();
  let typeEntry: Entry | null = null;
  const sib = r.readMap(
    n,
    ['as', kind, ...readable],
    (k) => `${kind} has no parameter "${k}"${didYouMean(k, siblingAllowed)} (allowed: as, ${list(allowed)})`,
  );
  for (const [k, e] of sib) {
    if (k === kind) typeEntry = e;
    else params.set(k, e);
  }
  if (typeEntry === null) return null;
  // The type key's value: a mapping of parameters or the shorthand.
  const tv = typeEntry.value;
  if (tv !== null && isMap(tv)) {
    const inner = r.readMap(tv, readable, (k) =>
      k === 'as'
        ? `as: names the step; put it next to "${kind}:", not inside it`
        : `${kind} has no parameter "${k}"${didYouMean(k, allowed)} (allowed: ${list(allowed)})`,
    );
    for (const [k, e] of inner) {
      const dup = params.get(k);
      if (dup) {
        r.error(
          e.key,
          `${kind}: ${k} is given twice (also at ${r.fmt(r.nodePos(dup.key))}); give it once`,
          'scenario.parameter-given-twice',
        );
        continue;
      }
      params.set(k, e);
    }
  } else if (tv === null || (isScalar(tv) && tv.value === null)) {
    r.error(typeEntry.at, `${kind} needs a value; like ${EXAMPLE[kind]}`, 'scenario.step-needs-value');
    return null;
  } else {
    if (SHORTHAND[kind] === null) {
      r.error(
        typeEntry.at,
        `${kind} takes a mapping of parameters, like ${EXAMPLE[kind]}; not ${describeNode(tv)}`,
        'scenario.bad-shorthand',
      );
      return null;
    }
    if (kind === 'connect' || kind === 'udp' || kind === 'ping') {
      if (!arrowShorthand(r, kind, typeEntry, params)) return null;
    } else {
      const first = allowed[0];
      const dup = params.get(first);
      if (dup) {
        r.error(
          dup.key,
          `${kind}: ${first} is given twice (also as the value of ${kind}); give it once`,
          'scenario.parameter-given-twice',
        );
        return null;
      }
      params.set(first, typeEntry);
    }
  }

  if (!NAT_STEPS.includes(kind)) {
    const nat = NAT_PARAMS.find((k) => params.has(k));
    if (nat !== undefined) {
      r.error(params.get(nat)!.key, natNotHere(kind, nat), 'scenario.parameter-not-applicable');
      return null;
    }
  }
  const pos = r.nodePos(n);
  const name = stepName(r, params.get('as'), kind);
  const rtt = r.duration(params.get('rtt'), 'rtt', 2, MAX_DURATION);
  const base = { index, name, pos, rtt };
  const before = r.diags.length;
  const step = READERS[kind](r, base, params, typeEntry);
  if (step === null || r.diags.length > before) return null;
  if (name !== null) r.flows.names.set(name, { step: index, pos, kind });
  return step;
}

function natNotHere(kind: StepKind, key: string): string {
  const why =
    kind === 'packet'
      ? 'a packet step is written as the firewall receives it: give it the addresses and ports it has there'
      : kind === 'send' || kind === 'close' || kind === 'reset' || kind === 'retransmit' || kind === 'unreachable'
        ? `${kind} works on a flow, which keeps the NAT of the step that opened it`
        : `${kind} opens no flow`;
  return `${key} applies only to a step that opens a flow (connect, udp, ping); ${why}`;
}

function stepName(r: ScenarioReader, e: Entry | undefined, kind: StepKind): string | null {
  if (!e) return null;
  const v = e.value;
  if (v === null || !isScalar(v) || (typeof v.value !== 'string' && typeof v.value !== 'number')) {
    r.error(e.at, `as must be a name like a1, not ${describeNode(v)}`, 'scenario.bad-name');
    return null;
  }
  const name = String(v.value);
  if (!/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(name)) {
    r.error(
      e.at,
      `name "${name}" is not allowed; a name starts with a letter and has up to 64 letters, digits, "_", "-" and "."`,
      'scenario.bad-name',
    );
    return null;
  }
  if (name === 'client' || name === 'server') {
    r.error(e.at, `"${name}" cannot be a name: it already means one side of a connection`, 'scenario.bad-name');
    return null;
  }
  const prev = r.flows.names.get(name);
  if (prev) {
    r.error(
      e.at,
      `name "${name}" is already used by the ${prev.kind} step at ${r.fmt(prev.pos)}; names must be unique`,
      'scenario.name-used-twice',
    );
    return null;
  }
  if (r.hosts.has(name)) {
    r.error(
      e.at,
      `name "${name}" is also a host; use a different name for the ${kind} step`,
      'scenario.name-used-twice',
    );
    return null;
  }
  return name;
}

/** Each step kind's reader (steps/): one signature, so the step's shape is read once, above. */
const READERS: Readonly<
  Record<StepKind, (r: ScenarioReader, base: StepBase, params: Params, typeEntry: Entry) => Step | null>
> = {
  listen: listenStep,
  connect: connectStep,
  send: sendStep,
  close: (r, base, params, typeEntry) => connStep(r, 'close', base, params, typeEntry),
  reset: (r, base, params, typeEntry) => connStep(r, 'reset', base, params, typeEntry),
  retransmit: (r, base, params, typeEntry) => connStep(r, 'retransmit', base, params, typeEntry),
  wait: waitStep,
  packet: packetStep,
  udp: udpStep,
  unreachable: unreachableStep,
  ping: pingStep,
};
