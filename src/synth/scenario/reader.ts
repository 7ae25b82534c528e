/**
 * The scenario reader's state and the parameter readers its steps share:
 * a YamlReader (base) that also knows the hosts, the top-level options, the
 * flows checked so far (flows.ts), and where a piece of a scalar (one end
 * of "alice -> server:80") starts, so an error points into the scalar.
 */
import { isScalar, type ParsedNode } from 'yaml';
import type { BaseCode, SourcePos } from '../../base/diag.js';
import type { ScenarioCode } from './codes.js';
import { describeNode } from '../../base/yaml-nodes.js';
import { YamlReader, type Entry } from '../../base/yaml-reader.js';
import type { HostDef, ScenarioOptions, StepKind } from '../types.js';
import { FlowChecker } from './flows.js';
import { EXAMPLE } from './step-params.js';

/** Largest payload one send/udp/packet step may carry. */
export const MAX_SEND_BYTES = 64 * 1024 * 1024;
/** Longest a scenario may last in total (microseconds): 30 days. */
export const MAX_SCENARIO_USEC = 30 * 86_400 * 1_000_000;
/** No duration in a scenario (a wait, an RTT) may exceed the whole scenario's limit. */
export const MAX_DURATION = { usec: MAX_SCENARIO_USEC, why: 'a scenario lasts at most 30 days' };

/** A step's parameters by name. */
export type Params = Map<string, Entry>;

/** A piece of a scalar's text and where it starts in that scalar's value. */
export interface Piece {
  text: string;
  node: ParsedNode;
  offset: number;
}

/** How scenarios word what differs between kinds of YAML files. */
const STYLE = {
  files: 'scenario files',
  at: 'line',
  mergeAdvice: 'write the keys out',
  unknownThenDuplicate: false,
} as const;

export class ScenarioReader extends YamlReader<ScenarioCode> {
  readonly hosts = new Map<string, HostDef>();
  /** Address (canonical text) -> the host it belongs to. */
  readonly addrOwner = new Map<string, string>();
  readonly flows = new FlowChecker(this);
  options!: ScenarioOptions;
  /** For "a -> b" shorthands: the two pieces of the scalar. */
  readonly shorthandPieces = new Map<ParsedNode, [Piece, Piece]>();

  constructor(text: string, file: string) {
    super(text, file, STYLE);
  }

  /** Position of character `offset` of a scalar's value (exact for single-line plain and simply quoted scalars). */
  piecePos(p: Piece): SourcePos {
    const n = p.node;
    if (!isScalar(n) || !n.range) return this.nodePos(n);
    const start = n.range[0];
    const raw = this.text.slice(start, n.range[1]);
    if (raw.includes('\n')) return this.posOf(start);
    if (n.type === 'PLAIN') return this.posOf(start + p.offset);
    if ((n.type === 'QUOTE_DOUBLE' && !raw.includes('\\')) || (n.type === 'QUOTE_SINGLE' && !raw.includes("''")))
      return this.posOf(start + 1 + p.offset);
    return this.posOf(start);
  }

  errorIn(p: Piece, message: string, code: ScenarioCode | BaseCode): void {
    this.errorAt(this.piecePos(p), message, code);
  }

  scalarText(e: Entry, what: string, help: string): Piece | null {
    const v = e.value;
    if (v !== null && isScalar(v) && (typeof v.value === 'string' || typeof v.value === 'number')) {
      const text = String(v.value);
      return { text, node: v, offset: 0 };
    }
    this.error(e.at, `${what} must be ${help}, not ${describeNode(v)}`, 'scenario.bad-value');
    return null;
  }

  windowValue(e: Entry | undefined): number | null {
    return this.int(
      e,
      'window',
      64,
      65535 * 2 ** 14,
      'the receive window in bytes, 64-1073725440 (above 65535 it needs wscale)',
    );
  }

  /** undefined: not given; null: false (no window scaling). */
  wscaleValue(e: Entry | undefined): number | null | undefined {
    if (!e) return undefined;
    const v = e.value;
    if (v !== null && isScalar(v) && v.value === false) return null;
    const n = this.int(e, 'wscale', 0, 14, 'a window-scale shift 0-14, or false for no window scaling');
    return n === null ? undefined : n;
  }

  requireParams(kind: StepKind, params: Params, typeEntry: Entry, names: string[]): boolean {
    const missing = names.filter((k) => !params.has(k));
    if (missing.length === 0) return true;
    this.error(
      typeEntry.key,
      `${kind} needs ${missing.map((k) => `${k}:`).join(' and ')}; like ${EXAMPLE[kind]}`,
      'scenario.missing-parameter',
    );
    return false;
  }

  /** Payload size from bytes:/data:. */
  payload(
    params: Params,
    kind: StepKind,
    dflt: number | null,
    max = MAX_SEND_BYTES,
  ): { bytes: number; data: Uint8Array | null } | null {
    const be = params.get('bytes');
    const de = params.get('data');
    if (be && de) {
      this.error(
        de.key,
        `${kind}: give bytes or data, not both (data sets the exact bytes; bytes a size filled with filler)`,
        'scenario.bad-payload',
      );
      return null;
    }
    if (de) {
      const t = this.text1(de, 'data');
      if (t === null) return null;
      const data = new TextEncoder().encode(t);
      if (data.length > max) {
        this.error(de.at, `data is ${data.length} bytes; at most ${max}`, 'scenario.bad-payload');
        return null;
      }
      return { bytes: data.length, data };
    }
    if (be) {
      const n = this.int(be, 'bytes', 0, max, `a size in bytes, 0-${max}`);
      if (n === null) return null;
      return { bytes: n, data: null };
    }
    return dflt === null ? null : { bytes: dflt, data: null };
  }
}
