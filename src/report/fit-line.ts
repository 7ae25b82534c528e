/**
 * The replay line fitted to a width (a terminal's, or --width N): the wide
 * line (text-line.ts) is 98 columns before its reason and some 240 in all,
 * so a terminal wraps every line in the middle of a word. Here the columns
 * that fit are kept, in the wide line's order, and the reason goes on the
 * line when it fits whole there, else under it, indented and wrapped
 * between words. Nothing is cut: an address, a port or a word wider than
 * the room left pushes on or starts a line of its own.
 *
 * The layout depends on the width and the time format alone, not on the
 * packets seen so far, so that the lines of one replay line up from the
 * first packet on, whichever thread wrote them (replay --jobs).
 *
 * The columns are read back from the wide line rather than written a
 * second way, so that the two never say different things; the wide
 * writer, on the path of every packet of a file, pays nothing for it. This
 * path allocates (a terminal is the reader, not a file of millions of
 * lines).
 */
import type { Engine } from '../engine/engine.js';
import type { PacketResult } from '../engine/result.js';
import type { DecodedPacket } from '../packet/types.js';
import { ByteText } from './bytes.js';
import { NO_PAINT, type Paint } from './replay-text.js';
import { writeReplayLine } from './text-line.js';
import type { TimeFormat } from './time.js';

/** The narrowest width laid out: the longest IPv6 endpoint with its port fits (indented), uncut. */
export const MIN_WIDTH = 60;

/** Where continued lines (the reason, a summary line) start: under the time column. */
const INDENT = 8;

/** The time column's width in each format (the longest usual value). */
const TIME_WIDTH: Record<TimeFormat, number> = { relative: 10, epoch: 20, iso: 30 };

/** The endpoints column: the wide line's 44, or 32 (two private IPv4 endpoints) to keep more columns, or less. */
const WIDE_ENDPOINTS = 44;
const USUAL_ENDPOINTS = 32;
const MIN_ENDPOINTS = 'source > destination'.length;

/** The columns a width has room for, and where each starts. */
export class FitLayout {
  readonly time: boolean;
  readonly proto: boolean;
  readonly ct: boolean;
  readonly endpointsWidth: number;
  private readonly timeWidth: number;
  private readonly endpointsCol: number;
  private readonly protoCol: number;
  private readonly ctCol: number;
  private readonly verdictCol: number;
  private readonly reasonCol: number;

  constructor(
    readonly width: number,
    timeFormat: TimeFormat,
  ) {
    this.timeWidth = TIME_WIDTH[timeFormat];
    // Given up in this order as the width shrinks: time, then endpoint room
    // beyond usual addresses, the ct state (the reason says it again), the
    // protocol; then the endpoint column narrows (longer ones push on).
    const need = (time: boolean, e: number, proto: boolean, ct: boolean) =>
      8 + (time ? this.timeWidth + 2 : 0) + e + (proto ? 13 : 0) + (ct ? 12 : 0) + 8;
    const choices: [boolean, number, boolean, boolean][] = [
      [true, WIDE_ENDPOINTS, true, true],
      [false, WIDE_ENDPOINTS, true, true],
      [false, USUAL_ENDPOINTS, true, true],
      [false, USUAL_ENDPOINTS, true, false],
      [false, USUAL_ENDPOINTS, false, false],
    ];
    const fits = choices.find(([t, e, p, c]) => need(t, e, p, c) <= width);
    const [time, e, proto, ct] = fits ?? [
      false,
      Math.max(MIN_ENDPOINTS, width - need(false, 0, false, false)),
      false,
      false,
    ];
    this.time = time;
    this.endpointsWidth = e;
    this.proto = proto;
    this.ct = ct;
    this.endpointsCol = 8 + (time ? this.timeWidth + 2 : 0);
    this.protoCol = this.endpointsCol + e + 1;
    this.ctCol = this.protoCol + (proto ? 13 : 0);
    this.verdictCol = this.ctCol + (ct ? 12 : 0);
    this.reasonCol = this.verdictCol + 8;
  }

  /** The column titles (with colour as the wide header has it, dimmed). */
  header(paint: Paint): string {
    const f = new Flow(this.width, this.endpointsCol);
    f.put('#', 5, 0);
    if (this.time) f.put('time', 8 + this.timeWidth - 4, 2);
    f.put('source > destination', this.endpointsCol, 2);
    if (this.proto) f.put('proto', this.protoCol, 1);
    if (this.ct) f.put('ct', this.ctCol, 1);
    f.put('verdict', this.verdictCol, 1);
    // Where most reasons will be: on the line when there is room for a sentence, else under it.
    if (this.width - this.reasonCol >= 60) f.put('reason', this.reasonCol, 1);
    else {
      f.newLine();
      f.put('reason', INDENT, 0);
    }
    return f
      .done()
      .map((l) => paint.dim(l))
      .join('\n');
  }

  /** The line(s) of one packet, joined by newlines, without the last newline. */
  write(
    o: ByteText,
    r: PacketResult,
    p: DecodedPacket,
    engine: Engine,
    time: TimeFormat,
    base: { sec: number; nsec: number },
    paint: Paint,
  ): void {
    writeReplayLine(scratch, r, p, engine, time, base, NO_PAINT);
    const { n, time: t, endpoints, proto, ct, verdict, reason } = columnsOf(scratch.take(), r.verdict);
    const f = new Flow(this.width, this.endpointsCol);
    f.put(n, Math.max(0, 6 - n.length), 0);
    if (this.time) f.put(t, 8 + Math.max(0, this.timeWidth - t.length), 2);
    // Source and destination may go on lines of their own, neither cut.
    const split = endpoints.indexOf(' > ');
    if (split < 0) f.put(endpoints, this.endpointsCol, 2);
    else {
      f.put(endpoints.slice(0, split + 2), this.endpointsCol, 2);
      f.put(endpoints.slice(split + 3), 0, 1);
    }
    if (this.proto) f.put(proto, this.protoCol, 1);
    if (this.ct) f.put(ct, this.ctCol, 1);
    f.put(verdict, this.verdictCol, 1, paint.verdict(r.verdict, verdict));
    if (Math.max(this.reasonCol, f.x + 1) + reason.length <= this.width) f.put(reason, this.reasonCol, 1);
    else {
      f.newLine();
      f.words(reason, INDENT, INDENT);
    }
    o.text(f.done().join('\n'));
  }

  /** The same lines as a string (the demo). */
  text(
    r: PacketResult,
    p: DecodedPacket,
    engine: Engine,
    time: TimeFormat,
    base: { sec: number; nsec: number },
    paint: Paint,
  ): string {
    this.write(lines, r, p, engine, time, base, paint);
    return lines.take();
  }
}

const scratch = new ByteText();
const lines = new ByteText();

/** The columns of a wide line (text-line.ts, without colour), trimmed. */
interface Columns {
  n: string;
  time: string;
  endpoints: string;
  proto: string;
  ct: string;
  verdict: string;
  reason: string;
}

/**
 * Reads a wide line back into its columns. Each is padded to its width or
 * runs on with one space after it, and the protocol may hold spaces
 * ("tcp P. +87"), so the columns are found by what they hold: the number
 * and the time are single words; the endpoints "A > B" or one word ("-");
 * the verdict is known, in capitals (nothing before it is); the ct state
 * is the word before it, the protocol the rest; the reason follows the
 * verdict's 7 columns.
 */
export function columnsOf(line: string, verdictName: string): Columns {
  let at = 0;
  const word = (): string => {
    while (line.charCodeAt(at) === 0x20) at++;
    const from = at;
    while (at < line.length && line.charCodeAt(at) !== 0x20) at++;
    return line.slice(from, at);
  };
  const n = word();
  const time = word();
  let endpoints = word();
  if (line.startsWith(' > ', at)) {
    at += 3;
    endpoints += ` > ${word()}`;
  }
  const verdict = verdictName.toUpperCase();
  const v = line.indexOf(` ${verdict} `, at);
  const middle = line.slice(at, v).trim();
  const split = middle.lastIndexOf(' ');
  return {
    n,
    time,
    endpoints,
    proto: middle.slice(0, split).trim(),
    ct: middle.slice(split + 1),
    verdict,
    reason: line.slice(v + 1 + Math.max(7, verdict.length) + 1),
  };
}

/** The columns of one `fwemu dump` line (cli/dump.ts), unpadded; `where` is '' when the capture names no interface or direction. */
export interface DumpColumns {
  n: string;
  time: string;
  where: string;
  endpoints: string;
  proto: string;
  detail: string;
}

/**
 * A dump line fitted to `width`: its columns in the wide line's order
 * (number, time, interface, endpoints, protocol), the endpoint column
 * narrower when the wide one does not fit, and the details on the line
 * when they fit whole there, else under it, wrapped between words.
 */
export function fitDumpLine(width: number, c: DumpColumns): string {
  const f = new Flow(width, 0);
  f.put(c.n, Math.max(0, 6 - c.n.length), 0);
  f.put(c.time, 8 + Math.max(0, 12 - c.time.length), 2);
  let col = 8 + Math.max(12, c.time.length) + 2;
  if (c.where !== '') {
    f.put(c.where, col, 2);
    col += Math.max(9, c.where.length) + 1;
  }
  const e = col + WIDE_ENDPOINTS + 1 + 6 <= width ? WIDE_ENDPOINTS : USUAL_ENDPOINTS;
  f.indent = col;
  const split = c.endpoints.indexOf(' > ');
  if (split < 0) f.put(c.endpoints, col, 2);
  else {
    f.put(c.endpoints.slice(0, split + 2), col, 2);
    f.put(c.endpoints.slice(split + 3), 0, 1);
  }
  f.put(c.proto, col + e + 1, 1);
  if (c.detail !== '') {
    if (f.x + 1 + c.detail.length <= width) f.put(c.detail, 0, 1);
    else {
      f.newLine();
      f.words(c.detail, INDENT, INDENT);
    }
  }
  return f.done().join('\n');
}

/**
 * A line of prose wrapped between words to `width`, the lines after the
 * first indented `hang` more than it (a summary line's figures: 2).
 */
export function wrapText(line: string, width: number, hang = 2): string[] {
  const lead = line.length - line.trimStart().length;
  const f = new Flow(width, lead + hang);
  f.words(line.slice(lead), lead, lead + hang);
  return f.done();
}

/**
 * Text placed left to right: each piece at its column, or `gap` spaces
 * after the last; on a new line, at the indent, when it would pass the
 * width (unless the line holds nothing: a piece is never cut).
 */
class Flow {
  private readonly lines: string[] = [];
  private cur = '';
  /** The current line's width so far (colour codes not counted). */
  x = 0;

  constructor(
    private readonly width: number,
    /** Where a piece that does not fit starts its new line. */
    public indent: number,
  ) {}

  put(text: string, at: number, gap: number, shown = text): void {
    let col = this.x === 0 ? at : Math.max(at, this.x + gap);
    if (col + text.length > this.width && this.x > 0) {
      this.newLine();
      // Under its column when it fits there; else from the indent (a long ICMP name, say).
      col = Math.max(at, this.indent);
      if (col + text.length > this.width) col = this.indent;
    }
    this.cur += ' '.repeat(col - this.x) + shown;
    this.x = col + text.length;
  }

  /** Words, one space apart, from `at` on; lines after the first at `indent`. */
  words(text: string, at: number, indent: number): void {
    this.indent = indent;
    let first = true;
    for (const w of text.split(' ')) {
      this.put(w, first ? at : 0, 1);
      first = false;
    }
  }

  newLine(): void {
    this.lines.push(this.cur);
    this.cur = '';
    this.x = 0;
  }

  done(): string[] {
    if (this.x > 0 || this.lines.length === 0) this.lines.push(this.cur);
    return this.lines;
  }
}
