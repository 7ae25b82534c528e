import { PacketKind, type DecodedPacket } from '../../src/packet/types.js';
import { parseCidr } from '../../src/rules/cidr.js';
import { formatDiagnostic, type Diagnostic } from '../../src/base/diag.js';
import { RuleFileError, type RuleSet } from '../../src/rules/types.js';
import { parseRuleSet, type LoadResult } from '../../src/rules/load.js';

export interface PacketSpec {
  src?: string;
  dst?: string;
  proto?: number;
  sport?: number;
  dport?: number;
  icmpType?: number;
  icmpCode?: number;
  /** -1 for a non-first fragment (no transport header). */
  l4Off?: number;
}

function words(a: string): [number, number, number, number] {
  const r = parseCidr(a);
  if (!r.ok) throw new Error(r.error);
  return r.cidr.words;
}

/**
 * A hand-built DecodedPacket. Fields the matcher doesn't read get neutral
 * values; the cast keeps this compiling if the decoder adds fields.
 */
export function pkt(s: PacketSpec): DecodedPacket {
  const src = s.src ?? '10.1.0.5';
  const dst = s.dst ?? '10.2.0.1';
  const [s0, s1, s2, s3] = words(src);
  const [d0, d1, d2, d3] = words(dst);
  const v = src.includes(':') ? 6 : 4;
  const proto = s.proto ?? 6;
  const isIcmp = proto === 1 || proto === 58;
  return {
    kind: PacketKind.IP,
    error: '',
    l2Name: '',
    note: '',
    etherType: v === 4 ? 0x0800 : 0x86dd,
    vlanOuter: -1,
    vlanInner: -1,
    direction: 0,
    macOff: 0,
    linkIfIndex: -1,
    ipVersion: v,
    src0: s0,
    src1: s1,
    src2: s2,
    src3: s3,
    dst0: d0,
    dst1: d1,
    dst2: d2,
    dst3: d3,
    ipOff: 14,
    ipHeaderLen: v === 4 ? 20 : 40,
    ipTotalLen: 60,
    ipId: 0,
    ttl: 64,
    dontFragment: false,
    isFragment: (s.l4Off ?? 0) < 0,
    fragOffset: (s.l4Off ?? 0) < 0 ? 1480 : 0,
    moreFragments: false,
    proto,
    l4Off: s.l4Off ?? 34,
    l4Len: 20,
    snapTruncated: false,
    sport: s.sport ?? (isIcmp ? 0 : 40000),
    dport: s.dport ?? (isIcmp ? 0 : 8080),
    seq: 0,
    ack: 0,
    tcpFlags: 0x02,
    window: 65535,
    tcpHeaderLen: 20,
    payloadLen: 0,
    wscale: -1,
    mss: -1,
    sackPermitted: false,
    sackMaxRight: -1,
    hasTimestamp: false,
    tsVal: 0,
    tsEcr: 0,
    icmpType: s.icmpType ?? -1,
    icmpCode: s.icmpCode ?? (s.icmpType !== undefined ? 0 : -1),
    icmpId: 0,
    icmpSeq: 0,
    innerValid: false,
    innerIpVersion: 0,
    innerSrc0: 0,
    innerSrc1: 0,
    innerSrc2: 0,
    innerSrc3: 0,
    innerDst0: 0,
    innerDst1: 0,
    innerDst2: 0,
    innerDst3: 0,
    innerProto: 0,
    innerSport: 0,
    innerDport: 0,
    innerSeq: 0,
  } as DecodedPacket;
}

export const F = 'rules/t.yaml';

/** Parses `text`, expecting success. */
export function ok(text: string): LoadResult {
  return parseRuleSet(text, F);
}

/**
 * One tcp/22 rule per id, the ids set in code after loading: so they may be
 * what a rule file cannot hold (longer than 64 characters, say).
 */
export function ruleSetWithIds(ids: readonly string[]): RuleSet {
  const rs = ok(`rules:\n${ids.map((_, i) => `  - { id: r${i}, proto: tcp, dport: 22 }\n`).join('')}`).ruleset;
  ids.forEach((id, i) => (rs.rules[i].id = id));
  return rs;
}

/** Parses `text`, expecting a RuleFileError; returns its diagnostics. */
export function errors(text: string): readonly Diagnostic[] {
  try {
    parseRuleSet(text, F);
  } catch (e) {
    if (e instanceof RuleFileError) return e.diagnostics;
    throw e;
  }
  throw new Error('expected a RuleFileError');
}

/** Which problems were found, and where: "line:col code" (the code, not the wording, is what such a test is about). */
export function codes(text: string): string[] {
  return errors(text).map((d) => `${d.line}:${d.col} ${d.code}`);
}

/** Formatted diagnostics ("rules/t.yaml:3:5: ..."). */
export function errorLines(text: string): string[] {
  return errors(text).map(formatDiagnostic);
}

/** Unindents a template literal (strips the common leading indentation and the first newline). */
export function y(strings: TemplateStringsArray, ...vals: unknown[]): string {
  let s = strings.reduce((acc, str, i) => acc + str + (i < vals.length ? String(vals[i]) : ''), '');
  s = s.replace(/^\n/, '');
  const lines = s.split('\n');
  const ind = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => l.match(/^ */)![0].length));
  return lines
    .map((l) => l.slice(ind))
    .join('\n')
    .replace(/[ ]+$/, '');
}
