/**
 * What a file given after -r is, from its content rather than its name
 * (issue 18): a ruleset is saved as current.nft, rules.v4, firewall.conf or
 * no extension at all. The first line that is not blank or a `#` comment
 * decides, since every format fwemu reads says what it is there:
 *
 * - nftables JSON: a JSON object whose first key is "nftables";
 * - iptables-save: `*filter` (a table), `:INPUT ACCEPT [0:0]`, `-A ...`, `COMMIT`;
 * - nftables text: a command word nft starts a line with (`table`, `flush`,
 *   `define`, `include`, `add`, ...);
 * - YAML: a top-level `key:`; a host file (rules/host) has `ruleset:`.
 *
 * Anything else is named for what it looks like, since the usual slip is
 * giving the wrong one of the files a user has at hand (a capture, the
 * output of `iptables -L` or `ip -j addr`, a shell script of iptables
 * commands, a firewalld XML zone).
 */
import { diag, type Diagnostic } from '../../base/diag.js';
import { binaryKind } from '../../base/input-file.js';
import type { RulesetFormat } from './types.js';

/** What a file is: one of fwemu's YAML files, or a ruleset of another tool. */
export type FileKind = 'yaml' | 'host' | RulesetFormat;

/** nft's command words, which begin every statement of a file nft -f reads. */
const NFT_WORDS =
  /^(table|flush|define|redefine|undefine|include|add|create|insert|replace|delete|destroy|reset|rename|list|chain|set|map|flowtable|counter|quota|ct|limit|secmark|synproxy|monitor|describe|import|export)\b/;

/** iptables-save's lines: a table, a chain with its policy and counters, a rule, the end of a table. */
const IPTABLES_LINE = /^(\*[a-z]+\s*$|:\S+ (ACCEPT|DROP|RETURN|QUEUE|-)( |$)|-[AI] \S|-N \S|COMMIT\s*$)/;

/** A YAML mapping key at the start of a line (`rules:`, `name: x`, `"rules":`). */
const YAML_KEY = /^(["']?)[A-Za-z_][\w-]*\1\s*:(\s|$)/;

/** How far a look at the start of a file reaches: the deciding line is near the top. */
const LOOK_LINES = 200;
const LOOK_BYTES = 256 * 1024;

/**
 * The kind of `text`, or the one diagnostic saying why it is none that
 * fwemu reads (positioned at the line that gave it away).
 */
export function detectFormat(text: string, file: string): { kind: FileKind } | { error: Diagnostic } {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const bytes = Buffer.from(body.slice(0, 8), 'latin1');
  const binary = binaryKind(bytes);
  if (binary !== null) return notRuleset(file, 1, 1, `${binary}`, 'captures go last: fwemu replay -r RULES CAPTURE');
  if (body.startsWith('\x7fELF')) return notRuleset(file, 1, 1, 'an executable program', null);
  if (body.slice(0, 4096).includes('\0')) return notRuleset(file, 1, 1, 'binary data (it holds NUL bytes)', null);

  const trimmed = body.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    const json = jsonKind(trimmed);
    if (json !== null) return json === 'nft-json' ? { kind: json } : jsonNotRuleset(body, file, json);
  }

  // (The head only: a ruleset may run to megabytes, and the deciding line is near the top.)
  const lines = body.slice(0, LOOK_BYTES).split('\n', LOOK_LINES);
  let yaml = false;
  let host = false;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, '');
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const col = raw.length - raw.trimStart().length + 1;
    const top = col === 1;
    if (top && YAML_KEY.test(line)) {
      yaml = true;
      if (/^(["']?)ruleset\1\s*:/.test(line)) host = true;
      continue;
    }
    if (yaml) continue;
    if (line === '---' || line.startsWith('%YAML') || (top && /^\{/.test(line))) {
      yaml = true;
      continue;
    }
    if (IPTABLES_LINE.test(line)) return { kind: 'iptables-save' };
    if (NFT_WORDS.test(line)) return { kind: 'nft' };
    return lookalike(line, file, i + 1, col);
  }
  // (An empty file is left to the YAML loader, which says what a rule file holds.)
  return { kind: host ? 'host' : 'yaml' };
}

/** What a JSON text is, from its start: nft's, `ip -j addr`'s, `ip -j route`'s, or null for other JSON. */
function jsonKind(t: string): 'nft-json' | 'ip-addr' | 'ip-route' | null {
  if (/^\{\s*"nftables"\s*:/.test(t)) return 'nft-json';
  if (/^\[\s*\{\s*"ifindex"\s*:/.test(t) || /^\[\s*\{[^}]*"addr_info"/.test(t)) return 'ip-addr';
  if (/^\[\s*\{\s*"(dst|type)"\s*:/.test(t)) return 'ip-route';
  return null;
}

function jsonNotRuleset(body: string, file: string, what: 'ip-addr' | 'ip-route'): { error: Diagnostic } {
  const at = lineCol(body, body.length - body.trimStart().length);
  return what === 'ip-addr'
    ? notRuleset(file, at.line, at.col, 'the output of `ip -j addr`', 'give it with --ip-addr FILE')
    : notRuleset(file, at.line, at.col, 'the output of `ip -j route`', 'give it with --ip-route FILE');
}

/** The diagnostic for a line that starts no format fwemu reads, naming what it resembles. */
function lookalike(line: string, file: string, n: number, col: number): { error: Diagnostic } {
  if (/^Chain \S+ \(policy \S+/.test(line) || /^Chain \S+ \(\d+ references\)/.test(line))
    return notRuleset(
      file,
      n,
      col,
      'the output of `iptables -L`, which leaves out interfaces and most matches',
      'give the output of `iptables-save` (and `ip6tables-save`) instead',
    );
  if (/^(sudo\s+)?(\S*\/)?(ip6?tables(-legacy|-nft)?|nft)\s+-?\w/.test(line))
    return notRuleset(
      file,
      n,
      col,
      'a shell script of firewall commands',
      'fwemu reads the ruleset such a script leaves: run it in a network namespace, then give `nft list ruleset` or `iptables-save` output',
    );
  if (line.startsWith('#!')) return notRuleset(file, n, col, 'a script', null);
  if (/^<(\?xml|[A-Za-z])/.test(line))
    return notRuleset(
      file,
      n,
      col,
      'XML (a firewalld zone or service file?)',
      'give the ruleset firewalld loads, as `nft list ruleset` prints it',
    );
  if (/^(\d+: \S+: <|inet6? \d|default via |\d+\.\d+\.\d+\.\d+(\/\d+)? (dev|via) )/.test(line))
    return notRuleset(
      file,
      n,
      col,
      'the text output of `ip addr` or `ip route`',
      'give `ip -j addr` and `ip -j route` output with --ip-addr and --ip-route',
    );
  return notRuleset(file, n, col, `text starting ${JSON.stringify(line.slice(0, 40))}`, null);
}

function notRuleset(
  file: string,
  line: number,
  col: number,
  what: string,
  advice: string | null,
): { error: Diagnostic } {
  return {
    error: diag(
      file,
      line,
      col,
      `this is ${what}, not a ruleset fwemu reads (fwemu YAML, a host file with ruleset:, nftables text, nftables JSON, or an iptables-save dump)${advice === null ? '' : `; ${advice}`}`,
      'import.unknown-format',
    ),
  };
}

/** 1-based line and column of a character offset. */
export function lineCol(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: offset - start + 1 };
}
