// Hostile strings into exports and text outputs (issue 14, injection).
// Registered in scripts/fuzz-lib.mjs as the kind "inject"; works on dist/.
//
// Each case builds random strings out of pieces meant to escape: C0 and C1
// controls, DEL, U+2028/2029, bidi controls, lone surrogates, quotes,
// backslashes, `;`, `{`, `}`, `#`, whole commands after a line break
// (`flush ruleset`, a `*filter` block) and, now and then, more than the
// 10240 bytes iptables-restore reads of a line. They go into a rule set's
// name, description and file name, every rule's comment and id (set in code,
// so ids the loader would refuse get in too), and a pcapng interface name.
//
// Invariants:
//   - the nft and iptables exports consist only of the lines fwemu writes
//     (each line's shape is known: the rule set is one tcp rule per id), with
//     exactly one rule line per rule (per family for iptables), no control
//     character, no line of 10239 bytes or more, and one distinct comment
//     per rule;
//   - `fwemu check`'s listing, diagnostics and CaptureError messages hold no
//     control character but fwemu's own line breaks, and as many lines as
//     the same rule set with plain strings;
//   - replay's text and jsonl lines of a capture whose interface carries the
//     string hold no control character and no line break, and each jsonl line
//     parses and gives the interface name back as the reader decoded it.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { CaptureParser } from '../dist/capture/parser.js';
import { CaptureError } from '../dist/capture/types.js';
import { PcapngWriter } from '../dist/capture/write.js';
import { replay } from '../dist/engine/replay.js';
import { exportIptables } from '../dist/export/iptables.js';
import { exportNft } from '../dist/export/nft.js';
import { replayJsonLine } from '../dist/report/json-line.js';
import { NO_PAINT } from '../dist/report/replay-text.js';
import { replayLine } from '../dist/report/text-line.js';
import { formatRuleSet } from '../dist/rules/describe.js';
import { parseRuleSet } from '../dist/rules/load.js';
import { formatDiagnostic } from '../dist/base/diag.js';

/** Raw terminal and line controls: C0 but \n, DEL, C1, U+2028/2029. */
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/;
/** The same with \n: for one line. */
const CONTROL_OR_NL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

const PIECES = [
  '\n',
  '\r',
  '\r\n',
  '\u0000',
  '\u001b[2J',
  '\u001b]0;owned\u0007',
  '\u0007',
  '\b',
  '\t',
  '\u000b',
  '\f',
  '\u007f',
  '\u0085',
  '\u009b31m',
  '\u0080',
  '\u009f',
  '\u2028',
  '\u2029',
  '\u202e',
  '\u2066',
  '\u200f',
  '\u061c',
  '\ud800',
  '\udfff',
  '\ud83d',
  '🙂',
  'é',
  '€',
  '"',
  "'",
  '\\',
  '\\"',
  ';',
  '{',
  '}',
  '#',
  '$x',
  ' ',
  '\nflush ruleset\n',
  '\ntable inet evil { chain c { type filter hook forward priority -1; policy drop; } }\n',
  '\nCOMMIT\n*filter\n:FORWARD DROP [0:0]\n-A FORWARD -j DROP\nCOMMIT\n',
  '" accept; flush ruleset; #',
  '-A FORWARD -j DROP',
];

/** A random hostile string: pieces and plain text, sometimes long enough to cross iptables-restore's 10240-byte lines. */
export function hostileString(rng) {
  let s = '';
  const n = rng.range(1, 8);
  for (let i = 0; i < n; i++) {
    s += rng.chance(0.6) ? rng.pick(PIECES) : 'abcxyz-_.0123'.slice(rng.int(6), rng.range(7, 13));
  }
  if (rng.chance(0.1)) s = 'a'.repeat(rng.range(10200, 10260)) + s + 'b'.repeat(rng.int(200));
  return s;
}

/** @type {{ tsSec: number, tsNsec: number, linkType: number, len: number, data: Uint8Array }[] | null} */
let packetsCache = null;
/** http-curl.pcap's records, copied. */
function packets(root) {
  if (packetsCache) return packetsCache;
  const out = [];
  const parser = new CaptureParser('http-curl.pcap', (rec) => {
    out.push({
      tsSec: rec.tsSec,
      tsNsec: rec.tsNsec,
      linkType: rec.linkType,
      len: rec.len,
      data: Uint8Array.prototype.slice.call(rec.buf, rec.off, rec.off + rec.caplen),
    });
  });
  parser.push(readFileSync(join(root, 'fixtures/http-curl.pcap')));
  parser.end();
  return (packetsCache = out);
}

/** Those records as a pcapng on one interface named `name`. */
async function pcapngWithName(root, name) {
  const chunks = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  });
  const recs = packets(root);
  const w = new PcapngWriter(sink, { application: name });
  const ifIndex = w.addInterface(recs[0].linkType, name);
  for (const r of recs) w.write(ifIndex, r.tsSec, r.tsNsec, r.data, 0, r.data.length, r.len);
  await w.close();
  return Buffer.concat(chunks);
}

/** A rule set with `n` tcp rules (ports 1000 + i), its free text `text`, its ids and file name set in code. */
function ruleSet(text, ids, file) {
  // A YAML double-quoted scalar: JSON, with what YAML may not hold raw (DEL, C1) or reads as a line break escaped too.
  const q = (s) =>
    JSON.stringify(s).replace(
      /[\u007f-\u009f\u2028\u2029]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
  const rules = ids
    .map((_, i) => `  - id: r${i}\n    proto: tcp\n    dport: ${1000 + i}\n    comment: ${q(text)}\n`)
    .join('');
  const rs = parseRuleSet(`name: ${q(text)}\ndescription: ${q(text)}\nrules:\n${rules}`, 'x.yaml').ruleset;
  ids.forEach((id, i) => (rs.rules[i].id = id));
  rs.file = file;
  for (const r of rs.rules) r.pos = { ...r.pos, file };
  return rs;
}

const NFT_LINE = [
  /^$/,
  /^#/,
  /^table inet fwemu( \{)?$/,
  /^delete table inet fwemu$/,
  /^  chain forward \{$/,
  /^    type filter hook forward priority filter; policy drop;$/,
  /^    ct state (established,related accept|invalid drop)$/,
  /^    tcp dport \d+ accept comment "[^"]*"$/,
  /^  \}$/,
  /^\}$/,
];
const IPT_LINE = [
  /^$/,
  /^#/,
  /^\*filter$/,
  /^:(INPUT|OUTPUT) ACCEPT \[0:0\]$/,
  /^:FORWARD DROP \[0:0\]$/,
  /^-A FORWARD -m conntrack --ctstate (ESTABLISHED,RELATED -j ACCEPT|INVALID -j DROP)$/,
  /^-A FORWARD -p tcp --dport \d+ -m comment --comment "(?:[^"\\]|\\.)*" -j ACCEPT$/,
  /^COMMIT$/,
];

function checkExport(text, patterns, rulePattern, rules, what, fail) {
  if (CONTROL.test(text)) fail(`${what}: a control character ${JSON.stringify(CONTROL.exec(text)?.[0])}`);
  const lines = text.split('\n');
  for (const l of lines) {
    if (!patterns.some((p) => p.test(l))) fail(`${what}: unexpected line ${JSON.stringify(l.slice(0, 120))}`);
    if (Buffer.byteLength(l) >= 10239)
      fail(`${what}: a line of ${Buffer.byteLength(l)} bytes (iptables-restore reads 10239)`);
  }
  const ruleLines = lines.filter((l) => rulePattern.test(l));
  if (ruleLines.length !== rules) fail(`${what}: ${ruleLines.length} rule lines, expected ${rules}`);
  const comments = new Set(ruleLines.map((l) => /comment "((?:[^"\\]|\\.)*)"/.exec(l)?.[1]));
  const distinct = what === 'iptables' ? rules / 2 : rules;
  if (comments.size !== distinct) fail(`${what}: ${comments.size} distinct comments for ${distinct} rules`);
}

/**
 * One case: returns { ok, desc, outcome, base, error? }. `root` is the
 * repository; `rng` the case's own random stream (fuzz-lib's caseRng).
 */
export async function injectCase(rng, i, root) {
  const text = hostileString(rng);
  const ids = Array.from(
    { length: rng.range(1, 4) },
    (_, k) => `${hostileString(rng).slice(0, rng.chance(0.3) ? 400 : 60)}#${k}`,
  );
  const file = hostileString(rng).slice(0, 300);
  const ifName = hostileString(rng).slice(0, 2000);
  const desc = `inject #${i}: ${JSON.stringify(text.slice(0, 60))}`;
  const input = JSON.stringify({ text, ids, file, ifName }); // what scripts/fuzz.mjs saves of a finding
  const fail = (msg) => {
    throw new Error(msg);
  };
  try {
    const rs = ruleSet(text, ids, file);
    const n = ids.length;
    checkExport(exportNft(rs), NFT_LINE, /^    tcp dport/, n, 'nft', fail);
    checkExport(exportIptables(rs), IPT_LINE, /^-A FORWARD -p tcp/, 2 * n, 'iptables', fail);

    // check's listing: as many lines as with plain strings, no control but its line breaks.
    const plain = ruleSet(
      'plain',
      ids.map((_, k) => `id${k}`),
      'plain.yaml',
    );
    const listing = formatRuleSet(rs);
    if (CONTROL.test(listing)) fail(`check listing: a control character ${JSON.stringify(CONTROL.exec(listing)?.[0])}`);
    if (listing.split('\n').length !== formatRuleSet(plain).split('\n').length)
      fail('check listing: a different number of lines than with plain strings');
    const d = formatDiagnostic({ file, line: 1, col: 1, message: text, severity: 'warning', code: 'yaml.warning' });
    if (CONTROL_OR_NL.test(d)) fail(`diagnostic: ${JSON.stringify(d.slice(0, 80))}`);
    const ce = new CaptureError(file, 0, text).message;
    if (CONTROL_OR_NL.test(ce)) fail(`CaptureError message: ${JSON.stringify(ce.slice(0, 80))}`);

    // replay of a capture whose interface is named with the string.
    const cap = await pcapngWithName(root, ifName);
    const base = { sec: -1, nsec: 0 };
    let lines = 0;
    await replay({
      rules: rs,
      source: async (onRecord) => {
        const parser = new CaptureParser(file, onRecord);
        parser.push(cap);
        return parser.end();
      },
      onPacket: (r, p, rec, engine) => {
        if (base.sec < 0) {
          base.sec = rec.tsSec;
          base.nsec = rec.tsNsec;
        }
        const line = replayLine(r, p, engine, 'relative', base, NO_PAINT);
        if (CONTROL_OR_NL.test(line)) fail(`replay text line ${r.n}: ${JSON.stringify(line.slice(0, 120))}`);
        const json = replayJsonLine(r, p, rec, engine);
        if (CONTROL_OR_NL.test(json)) fail(`replay jsonl line ${r.n}: a raw control character`);
        const o = JSON.parse(json);
        if ((o.if ?? '') !== rec.ifName)
          fail(
            `replay jsonl line ${r.n}: "if" is ${JSON.stringify(o.if)}, the capture says ${JSON.stringify(rec.ifName)}`,
          );
        lines++;
      },
    });
    if (lines !== packets(root).length) fail(`${lines} replay lines for ${packets(root).length} packets`);
    return { ok: true, desc, outcome: 'clean', base: 'hostile strings', text: input };
  } catch (err) {
    return {
      ok: false,
      desc,
      error: err instanceof Error ? err.message : String(err),
      base: 'hostile strings',
      text: input,
    };
  }
}
