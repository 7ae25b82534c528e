import { newDecodedPacket } from '../../src/packet/decode.js';
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

/** A hand-built DecodedPacket: a TCP SYN unless `s` says otherwise; what it does not set is absent, as the decoder starts it. */
export function pkt(s: PacketSpec): DecodedPacket {
  const src = s.src ?? '10.1.0.5';
  const dst = s.dst ?? '10.2.0.1';
  const [src0, src1, src2, src3] = words(src);
  const [dst0, dst1, dst2, dst3] = words(dst);
  const v = src.includes(':') ? 6 : 4;
  const proto = s.proto ?? 6;
  const isIcmp = proto === 1 || proto === 58;
  const fragment = (s.l4Off ?? 0) < 0;
  return Object.assign(newDecodedPacket(), {
    kind: PacketKind.IP,
    etherType: v === 4 ? 0x0800 : 0x86dd,
    direction: 0,
    macOff: 0,
    ipVersion: v,
    src0,
    src1,
    src2,
    src3,
    dst0,
    dst1,
    dst2,
    dst3,
    ipOff: 14,
    ipHeaderLen: v === 4 ? 20 : 40,
    ipTotalLen: 60,
    ttl: 64,
    isFragment: fragment,
    fragOffset: fragment ? 1480 : 0,
    proto,
    l4Off: s.l4Off ?? 34,
    l4Len: 20,
    sport: s.sport ?? (isIcmp ? 0 : 40000),
    dport: s.dport ?? (isIcmp ? 0 : 8080),
    tcpFlags: 0x02,
    window: 65535,
    tcpHeaderLen: 20,
    icmpType: s.icmpType ?? -1,
    icmpCode: s.icmpCode ?? (s.icmpType !== undefined ? 0 : -1),
  });
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
