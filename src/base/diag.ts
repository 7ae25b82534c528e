/**
 * Positioned diagnostics, shared by every reader of user files (rule files,
 * scenarios, expectations, the input-file reader): they live below all of
 * them, so that none imports another to report a problem.
 */
import { visible } from './text-escape.js';

/** A place in a user's file (rule file, scenario): 1-based line and column. */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

/** A problem found in a user's file (rule file, scenario). line/col are 1-based. */
export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  message: string;
  severity: 'error' | 'warning';
  /**
   * Which problem this is, stable across wordings ("rules.bad-port",
   * "yaml.duplicate-key"): what tests and programs match on. Listed with
   * a line of meaning in BASE_CODES below and in each reader's table
   * (RULE_CODES, SCENARIO_CODES, POLICY_CODES).
   */
  code: string;
}

/** The problems every reader of user files can report (files, YAML, plain values). */
export const BASE_CODES = {
  'file.too-big': 'the file is larger than its kind allows',
  'file.is-capture': 'a packet capture given where a YAML file was expected',
  'yaml.syntax': 'a YAML syntax error',
  'yaml.warning': 'something the YAML parser warns about',
  'yaml.multiple-documents': 'more than one YAML document ("---") in one file',
  'yaml.too-deep': 'collections nested deeper than MAX_YAML_DEPTH',
  'yaml.alias-bomb': 'aliases expanding into too many nodes',
  'yaml.unknown-alias': 'an alias with no anchor before it',
  'yaml.bad-key': 'a mapping key that is not a plain name',
  'yaml.duplicate-key': 'a key given twice in one mapping',
  'yaml.merge-key': 'a YAML merge key (<<), which fwemu does not read',
  'yaml.unknown-key': 'a key the mapping does not take',
  'value.not-text': 'text expected',
  'value.not-bool': 'true or false expected',
  'value.not-integer': 'a whole number expected',
  'value.out-of-range': 'a number outside its range',
  'value.not-allowed': 'a word that is not one of the allowed values',
  'value.bad-duration': 'not a duration (a number with a unit)',
  'value.duration-out-of-range': 'a duration too short or too long',
} as const;

export type BaseCode = keyof typeof BASE_CODES;

/**
 * Formats "file:line:col: message", one line: the file name and the
 * message (which may quote the file's text) made visible (text-escape.ts),
 * so neither can break the line or drive a terminal.
 */
export function formatDiagnostic(d: Diagnostic): string {
  return `${visible(d.file)}:${d.line}:${d.col}: ${d.severity === 'warning' ? 'warning: ' : ''}${visible(d.message)}`;
}

/** Formats "file:line" (the file name made visible). */
export function formatPos(pos: SourcePos): string {
  return `${visible(pos.file)}:${pos.line}`;
}

export function diag(
  file: string,
  line: number,
  col: number,
  message: string,
  code: string,
  severity: Diagnostic['severity'] = 'error',
): Diagnostic {
  return { file, line, col, message, severity, code };
}

/** In file order (stable for problems at the same place). */
export function sortDiags(ds: Diagnostic[]): Diagnostic[] {
  return ds
    .map((d, i) => ({ d, i }))
    .sort((a, b) => a.d.line - b.d.line || a.d.col - b.d.col || a.i - b.i)
    .map((x) => x.d);
}
