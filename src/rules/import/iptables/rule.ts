/**
 * One rule line of an iptables-save dump (`-A CHAIN ...` or `-I CHAIN [N]
 * ...`, after the command and chain) read into a Draft. Options are read
 * as iptables reads them: the generic ones (-s -d -i -o -p -m -j -g),
 * each with `!` before it to negate it, then every `--option` belongs to a
 * match loaded by `-m` (the latest that takes it, as getopt merges the
 * options of loaded matches; -p tcp loads tcp on its own) or, after -j,
 * to the target. iptables-save writes each option after its own -m, in
 * full; a long option may also be a unique prefix (`--to` for
 * `--to-destination`), as getopt_long allows.
 */
import type { ProtoName } from '../../types.js';
import { type Draft, emptyBody, type LineContext, type Patch, report } from './draft.js';
import type { IptablesCode } from './codes.js';
import type { Word } from './lexer.js';
import { MATCHES } from './matches.js';
import { IGNORED_TARGETS, UNSUPPORTED_MATCHES, UNSUPPORTED_TARGETS } from './names.js';
import { TARGETS } from './targets.js';
import { parseAddress } from './values.js';

/** An option of a match or target: how many arguments it takes, whether `!` may stand before it. */
export interface OptDef {
  args: 0 | 1 | 2;
  neg?: boolean;
  run(r: LineReader, args: string[], neg: boolean, at: OptAt, inst: Instance): void;
}

/** Where an option stands: `col` is its value's column (bad values are shown there), `optCol` the option's. */
export interface OptAt extends Word {
  optCol: number;
}

/** A match (-m NAME) or target (-j NAME) fwemu reads. */
export interface ExtensionDef {
  /** Protocols the rule's -p must name (not negated) for the kernel to take it. */
  proto?: readonly ProtoName[];
  family?: 4 | 6;
  opts: Readonly<Record<string, OptDef>>;
  /** Runs once the rule is read (builds what needs several options; checks the required ones). */
  done?(r: LineReader, inst: Instance): void;
}

/** One loaded match or the target, with what its options set so far. */
export interface Instance {
  name: string;
  def: ExtensionDef;
  at: Word;
  given: Set<string>;
  state: Record<string, unknown>;
}

/** What the other family uses instead of a family's match (by match name and the dump's family). */
const WRONG_FAMILY_HINT: Readonly<Record<string, string>> = {
  ttl6: 'ip6tables uses -m hl --hl-eq, --hl-lt, --hl-gt',
  hl4: 'iptables uses -m ttl --ttl-eq, --ttl-lt, --ttl-gt',
};

const GENERIC: Readonly<Record<string, string>> = {
  '-s': 's',
  '--source': 's',
  '--src': 's',
  '-d': 'd',
  '--destination': 'd',
  '--dst': 'd',
  '-i': 'i',
  '--in-interface': 'i',
  '-o': 'o',
  '--out-interface': 'o',
  '-p': 'p',
  '--protocol': 'p',
  '-m': 'm',
  '--match': 'm',
  '-j': 'j',
  '--jump': 'j',
  '-g': 'g',
  '--goto': 'g',
  '-f': 'f',
  '--fragment': 'f',
  '-c': 'c',
  '--set-counters': 'c',
  '-4': '4',
  '--ipv4': '4',
  '-6': '6',
  '--ipv6': '6',
};

/** Standard verdicts of -j. */
const VERDICTS: Readonly<Record<string, 'accept' | 'drop' | 'return'>> = {
  ACCEPT: 'accept',
  DROP: 'drop',
  RETURN: 'return',
};

/** Protocols the model knows, by iptables' names and numbers. */
const PROTOS: Readonly<Record<string, ProtoName>> = {
  tcp: 'tcp',
  '6': 'tcp',
  udp: 'udp',
  '17': 'udp',
  icmp: 'icmp',
  '1': 'icmp',
  icmpv6: 'icmpv6',
  'ipv6-icmp': 'icmpv6',
  '58': 'icmpv6',
  all: 'any',
  '0': 'any',
};

/** The match -p loads on its own (libxtables: the protocol's name, icmp6 for IPv6). */
const IMPLICIT: Readonly<Record<string, string>> = { tcp: 'tcp', udp: 'udp', icmp: 'icmp', icmpv6: 'icmp6' };

export const NEVER_MATCHES = 'the rule never matches';
export const TARGET_SKIPPED = 'the target is skipped: matching packets go on to the next rule';

export class LineReader {
  readonly draft: Draft;
  readonly cx: LineContext;
  private readonly words: readonly Word[];
  private i = 0;
  protoNeg = false;
  protoAt: Word | null = null;
  private readonly generic = new Set<string>();
  readonly matches: Instance[] = [];
  target: Instance | null = null;
  /**
   * Set after -m or -j of something fwemu does not read: its options are
   * passed over; 'jump' after -j NAME that may be a chain or a target
   * fwemu does not know (chains.ts decides, knowing the chains).
   */
  private skipping: 'match' | 'target' | 'jump' | null = null;
  private targetWords: string[] | null = null;

  constructor(cx: LineContext, words: readonly Word[]) {
    this.cx = cx;
    this.words = words;
    this.draft = {
      body: emptyBody(cx.family),
      axes: [],
      targetName: null,
      targetCol: 0,
      targetOpt: null,
      hookNeeds: [],
      failed: false,
      skipped: false,
    };
  }

  get body() {
    return this.draft.body;
  }

  /** Whether the generic option (s, d, i, o, p) was given. */
  hasGeneric(g: string): boolean {
    return this.generic.has(g);
  }

  error(col: number, message: string, code: IptablesCode): void {
    report(this.cx, col, message, code);
    this.draft.failed = true;
  }

  /**
   * A construct fwemu cannot model: an error, or with --lenient a warning
   * and the rule made inert (for a match, the rule never matches; for a
   * target, it is skipped, which for the rule comes to the same).
   */
  unsupported(col: number, what: string, why: string, kind: 'match' | 'target'): void {
    const meaning = kind === 'match' ? NEVER_MATCHES : TARGET_SKIPPED;
    if (this.cx.lenient) {
      report(
        this.cx,
        col,
        `${what} is not modelled (${why}); --lenient: ${meaning}`,
        'iptables.unsupported',
        'warning',
      );
      this.body.inert ??= meaning;
    } else
      this.error(
        col,
        `${what} is not modelled (${why}); fwemu cannot judge this rule (--lenient reads on with "${meaning}")`,
        'iptables.unsupported',
      );
  }

  addAxis(patches: Patch[]): void {
    if (patches.length > 1) this.draft.axes.push(patches);
    else if (patches.length === 1) patches[0](this.body);
  }

  negate(cond: Parameters<Draft['body']['not']['push']>[0], neg: boolean): void {
    if (neg && !this.body.not.includes(cond)) this.body.not.push(cond);
  }

  read(): Draft {
    const w = this.words;
    while (this.i < w.length) {
      let at = w[this.i];
      let neg = false;
      if (at.text === '!') {
        if (this.i + 1 >= w.length) {
          this.error(at.col, '"!" at the end of the rule negates nothing', 'iptables.syntax');
          break;
        }
        neg = true;
        at = w[++this.i];
      }
      this.i++;
      const g = Object.hasOwn(GENERIC, at.text) ? GENERIC[at.text] : null;
      if (g !== null) {
        this.skipping = null;
        this.genericOption(g, at, neg);
      } else if (this.skipping !== null) {
        // An option of a match or target fwemu does not read: its words are passed over with it.
        if (this.targetWords !== null) this.targetWords.push(neg ? `! ${at.text}` : at.text);
        if (this.skipping === 'jump' && this.draft.targetOpt === null)
          this.draft.targetOpt = { text: at.text, col: at.col };
      } else if (at.text.startsWith('--')) this.extensionOption(at, neg);
      else
        this.error(
          at.col,
          `"${at.text}" is no option here (an option starts with - or --; a value belongs after its option)`,
          'iptables.syntax',
        );
      // One error per line: the words after it may be read wrongly because of it.
      if (this.draft.failed) break;
    }
    this.finish();
    return this.draft;
  }

  private arg(at: Word, what: string): Word | null {
    if (this.i >= this.words.length) {
      this.error(at.col, `${at.text} needs ${what}`, 'iptables.syntax');
      return null;
    }
    return this.words[this.i++];
  }

  private genericOption(g: string, at: Word, neg: boolean): void {
    if (neg && (g === 'm' || g === 'j' || g === 'g' || g === 'c' || g === '4' || g === '6')) {
      this.error(at.col, `"!" cannot negate ${at.text}`, 'iptables.syntax');
      return;
    }
    if (g !== 'm' && g !== 'c') {
      if (this.generic.has(g)) {
        this.error(
          at.col,
          `${at.text} is given twice in one rule (iptables: "multiple ${at.text} flags not allowed")`,
          'iptables.repeated-option',
        );
        return;
      }
      this.generic.add(g);
    }
    switch (g) {
      case 's':
      case 'd': {
        const v = this.arg(at, 'an address');
        if (v !== null) this.addresses(g === 's' ? 'src' : 'dst', v, neg);
        return;
      }
      case 'i':
      case 'o': {
        const v = this.arg(at, 'an interface name');
        if (v !== null) this.iface(g === 'i' ? 'iif' : 'oif', v, neg, at);
        return;
      }
      case 'p': {
        const v = this.arg(at, 'a protocol');
        if (v !== null) this.protocol(v, neg, at);
        return;
      }
      case 'm': {
        const v = this.arg(at, 'a match name');
        if (v !== null) this.loadMatch(v, at);
        return;
      }
      case 'j':
      case 'g': {
        const v = this.arg(at, g === 'j' ? 'a target or chain' : 'a chain');
        if (v !== null) this.jump(v, at, g === 'g');
        return;
      }
      case 'f':
        this.unsupported(
          at.col,
          `${neg ? '! ' : ''}-f`,
          'fragments are reassembled by conntrack before iptables sees them',
          'match',
        );
        return;
      case 'c': {
        // Counters for the rule (iptables-restore -c): they do not change a verdict.
        const v = this.arg(at, 'packet and byte counts');
        if (v !== null && !v.text.includes(':')) this.arg(at, 'a byte count');
        return;
      }
      case '4':
      case '6':
        // ip6tables-restore skips a line marked -4, iptables-restore one marked -6 (shared rule files).
        if (Number(g) !== this.cx.family) this.draft.skipped = true;
        return;
    }
  }

  private addresses(key: 'src' | 'dst', v: Word, neg: boolean): void {
    const cidrs = [];
    for (const item of v.text.split(',')) {
      const r = parseAddress(item, this.cx.family);
      if (!r.ok) {
        this.error(
          v.col,
          `${key === 'src' ? '-s' : '-d'}: ${r.error}`,
          r.error.includes('IPv') && r.error.includes('dump') ? 'iptables.wrong-family' : 'iptables.bad-value',
        );
        return;
      }
      cidrs.push(r.value);
    }
    this.negate(key, neg);
    // iptables-restore makes one kernel rule of each address (`! -s a,b` is two rules, each negating one).
    this.addAxis(
      cidrs.map((c) => (b) => {
        b[key] = { cidrs: [c], ranges: [], set: null };
      }),
    );
  }

  private iface(key: 'iif' | 'oif', v: Word, neg: boolean, at: Word): void {
    const t = v.text;
    if (t.length === 0 || t.length > 15 || /[\s/]/.test(t) || (t.slice(0, -1).includes('+') && !t.endsWith('+'))) {
      this.error(
        v.col,
        `"${t}" is not an interface name (1-15 characters, a trailing + matches any suffix)`,
        'iptables.bad-value',
      );
      return;
    }
    const name = t.endsWith('+') ? `${t.slice(0, -1)}*` : t;
    this.cx.interfaceNames.add(name);
    this.body[key] = [name];
    this.negate(key, neg);
    // iptables itself refuses these on built-in chains ("Can't use -o with INPUT").
    this.draft.hookNeeds.push({
      what: key === 'iif' ? '-i' : '-o',
      hooks: key === 'iif' ? ['prerouting', 'input', 'forward'] : ['forward', 'output', 'postrouting'],
      col: at.col,
      direct: true,
    });
  }

  private protocol(v: Word, neg: boolean, at: Word): void {
    const t = v.text.toLowerCase();
    const p = Object.hasOwn(PROTOS, t) ? PROTOS[t] : null;
    if (p === null) {
      const n = /^[0-9]+$/.test(t) ? Number(t) : -1;
      if (n > 255) {
        this.error(v.col, `-p ${v.text}: a protocol number is 0-255`, 'iptables.bad-value');
        return;
      }
      this.unsupported(
        at.col,
        `${neg ? '! ' : ''}-p ${v.text}`,
        'the model tells tcp, udp, icmp and icmpv6 apart, no other protocol',
        'match',
      );
      return;
    }
    if (p === 'any' && neg) {
      this.unsupported(at.col, `! -p ${v.text}`, 'it matches no packet', 'match');
      return;
    }
    this.body.proto = p;
    this.protoNeg = neg;
    this.protoAt = at;
    this.negate('proto', neg);
  }

  private loadMatch(v: Word, at: Word): void {
    const name = v.text;
    const def = Object.hasOwn(MATCHES, name) ? MATCHES[name] : null;
    if (def === null) {
      const why = Object.hasOwn(UNSUPPORTED_MATCHES, name)
        ? UNSUPPORTED_MATCHES[name]
        : 'fwemu does not know this match';
      this.unsupported(at.col, `-m ${name}`, why, 'match');
      this.skipping = 'match';
      return;
    }
    this.matches.push({ name, def, at, given: new Set(), state: {} });
  }

  private jump(v: Word, at: Word, isGoto: boolean): void {
    const name = v.text;
    if (this.target !== null || this.draft.targetName !== null || this.body.action !== 'continue') {
      this.error(at.col, 'a rule has one target (-j or -g)', 'iptables.repeated-option');
      return;
    }
    if (!isGoto && Object.hasOwn(VERDICTS, name)) {
      if (name === 'DROP' && this.cx.table === 'nat') {
        this.error(
          at.col,
          '-j DROP in the nat table: iptables refuses it ("The nat table is not intended for filtering")',
          'iptables.wrong-table',
        );
        return;
      }
      this.body.action = VERDICTS[name];
      return;
    }
    if (isGoto || !this.isExtensionTarget(name)) {
      this.body.action = isGoto ? 'goto' : 'jump';
      this.draft.targetName = name;
      this.draft.targetCol = v.col;
      if (!isGoto) this.skipping = 'jump';
      return;
    }
    if (Object.hasOwn(TARGETS, name)) {
      this.target = { name, def: TARGETS[name], at, given: new Set(), state: {} };
      return;
    }
    this.skipping = 'target';
    this.targetWords = [`-j ${name}`];
    if (Object.hasOwn(IGNORED_TARGETS, name)) this.ignoredTargetAt = at;
    else this.unsupported(at.col, `-j ${name}`, UNSUPPORTED_TARGETS[name], 'target');
  }

  private ignoredTargetAt: Word | null = null;

  private isExtensionTarget(name: string): boolean {
    return (
      Object.hasOwn(VERDICTS, name) ||
      Object.hasOwn(TARGETS, name) ||
      Object.hasOwn(IGNORED_TARGETS, name) ||
      Object.hasOwn(UNSUPPORTED_TARGETS, name)
    );
  }

  private extensionOption(at: Word, neg: boolean): void {
    const name = at.text.slice(2);
    const found = this.findOption(name);
    if (found === null) {
      const where =
        this.target !== null
          ? `-j ${this.target.name}`
          : this.matches.length > 0
            ? this.matches.map((m) => `-m ${m.name}`).join(', ')
            : 'no -m or -j before it';
      this.error(
        at.col,
        `unknown option ${at.text} (${where} ${this.matches.length + (this.target ? 1 : 0) === 1 ? 'does' : 'do'} not take it)`,
        'iptables.unknown-option',
      );
      return;
    }
    const [inst, key, opt] = found;
    if (neg && !opt.neg) {
      this.error(at.col, `"!" cannot negate --${key}`, 'iptables.syntax');
      return;
    }
    if (inst.given.has(key)) {
      this.error(
        at.col,
        `--${key} is given twice for -${inst === this.target ? 'j' : 'm'} ${inst.name}`,
        'iptables.repeated-option',
      );
      return;
    }
    inst.given.add(key);
    const args: string[] = [];
    for (let k = 0; k < opt.args; k++) {
      const a = this.arg(at, `a value`);
      if (a === null) return;
      args.push(a.text);
    }
    const argAt = opt.args > 0 ? this.words[this.i - opt.args] : at;
    opt.run(this, args, neg, { text: at.text, col: argAt.col, optCol: at.col }, inst);
  }

  /** The loaded extension that takes --name: the target, the latest match, or the match -p loads on its own. */
  private findOption(name: string): [Instance, string, OptDef] | null {
    const insts: Instance[] = [];
    if (this.target !== null) insts.push(this.target);
    for (let k = this.matches.length - 1; k >= 0; k--) insts.push(this.matches[k]);
    for (const inst of insts) if (Object.hasOwn(inst.def.opts, name)) return [inst, name, inst.def.opts[name]];
    const impl = this.body.proto !== 'any' ? IMPLICIT[this.body.proto] : undefined;
    if (impl !== undefined && this.target === null && !this.matches.some((m) => m.name === impl)) {
      const def = MATCHES[impl];
      if (Object.hasOwn(def.opts, name)) {
        const inst: Instance = { name: impl, def, at: this.protoAt ?? this.words[0], given: new Set(), state: {} };
        this.matches.push(inst);
        return [inst, name, def.opts[name]];
      }
    }
    // getopt_long: a unique prefix of a long option stands for it.
    for (const inst of insts) {
      const keys = Object.keys(inst.def.opts).filter((k) => k.startsWith(name));
      if (keys.length === 1) return [inst, keys[0], inst.def.opts[keys[0]]];
    }
    return null;
  }

  private finish(): void {
    if (this.draft.failed) return;
    const b = this.body;
    for (const inst of [...this.matches, ...(this.target ? [this.target] : [])]) {
      const def = inst.def;
      const what = inst === this.target ? `-j ${inst.name}` : `-m ${inst.name}`;
      if (def.family !== undefined && def.family !== this.cx.family) {
        this.error(
          inst.at.col,
          `${what} is for IPv${def.family}; this dump is IPv${this.cx.family} (${WRONG_FAMILY_HINT[`${inst.name}${this.cx.family}`] ?? (this.cx.family === 6 ? 'ip6tables uses -m icmp6 --icmpv6-type' : 'iptables uses -m icmp --icmp-type')})`,
          'iptables.wrong-family',
        );
        continue;
      }
      if (def.proto !== undefined && (!def.proto.includes(b.proto) || this.protoNeg)) {
        this.error(
          inst.at.col,
          `${what} needs -p ${def.proto.join(' or -p ')}${this.protoNeg ? ' (not negated)' : ''} before it (the kernel refuses it otherwise)`,
          'iptables.needs-protocol',
        );
        continue;
      }
      def.done?.(this, inst);
    }
    if (this.ignoredTargetAt !== null && this.targetWords !== null) {
      const name = this.targetWords[0].slice(3);
      const text = this.targetWords.join(' ');
      b.ignored = [...(b.ignored ?? []), text];
      this.cx.ignored.push({
        pos: { file: this.cx.file, line: this.cx.line, col: this.ignoredTargetAt.col },
        text,
        meaning: IGNORED_TARGETS[name],
      });
    }
  }
}
