/**
 * Matches that hold for every packet and only record something on the
 * side, so a rule behaves as if they were absent: `-m nfacct` (xt_nfacct:
 * counts into an accounting object, true unless the object has a quota)
 * and `-m recent --set` (xt_recent: records the address, then matches,
 * `ret = !ret` with invert false), and `-m policy --pol none` (no packet
 * fwemu judges was decapsulated by IPsec or is bound for an IPsec
 * policy, so it holds for every one). They are listed as ignored with
 * what ignoring them means. `-m recent` that reads its list (--rcheck,
 * --update, --remove) depends on earlier packets and stays unsupported.
 */
import type { ExtensionDef, Instance, LineReader, OptDef } from './rule.js';
import { UNSUPPORTED_MATCHES } from './names.js';

/** Options kept as written, for the ignored construct's text. */
function kept(args: 0 | 1, neg = false): OptDef {
  return {
    args,
    neg,
    run(_r, a, n, at, inst) {
      const words = (inst.state.words as string[] | undefined) ?? [];
      words.push(`${n ? '! ' : ''}${at.text}${a.length > 0 ? ` ${quote(a[0])}` : ''}`);
      inst.state.words = words;
      if (n) inst.state.negated = true;
    },
  };
}

function quote(s: string): string {
  return /^[^\s"\\]+$/.test(s) ? s : `"${s.replace(/["\\]/g, '\\$&')}"`;
}

function ignore(r: LineReader, inst: Instance, meaning: string): void {
  const text = [`-m ${inst.name}`, ...((inst.state.words as string[] | undefined) ?? [])].join(' ');
  r.body.ignored = [...(r.body.ignored ?? []), text];
  r.cx.ignored.push({ pos: { file: r.cx.file, line: r.cx.line, col: inst.at.col }, text, meaning });
}

export const nfacct: ExtensionDef = {
  opts: { 'nfacct-name': kept(1) },
  done(r, inst) {
    ignore(
      r,
      inst,
      'counts packets in an accounting object; the rule matches as without it (an object with a quota, which the dump does not show, would stop matching once spent)',
    );
  },
};

const RECENT_READS = ['rcheck', 'update', 'remove'];

export const recent: ExtensionDef = {
  opts: {
    name: kept(1),
    set: kept(0, true),
    rcheck: kept(0, true),
    update: kept(0, true),
    remove: kept(0, true),
    seconds: kept(1),
    reap: kept(0),
    hitcount: kept(1),
    rttl: kept(0),
    rsource: kept(0),
    rdest: kept(0),
    mask: kept(1),
  },
  done(r, inst) {
    if (RECENT_READS.some((o) => inst.given.has(o)) || inst.state.negated === true || !inst.given.has('set')) {
      r.unsupported(inst.at.col, '-m recent', UNSUPPORTED_MATCHES.recent, 'match');
      return;
    }
    ignore(
      r,
      inst,
      'records the address in a recent list and always matches; the rules that read the list (--rcheck, --update) are what fwemu cannot model',
    );
  },
};

/** xt_policy: `--pol none` holds for every packet fwemu judges (it models no IPsec); `--pol ipsec` for none. */
export const policy: ExtensionDef = {
  opts: {
    dir: kept(1),
    pol: kept(1),
    strict: kept(0),
    reqid: kept(1, true),
    spi: kept(1, true),
    proto: kept(1, true),
    mode: kept(1, true),
    'tunnel-src': kept(1, true),
    'tunnel-dst': kept(1, true),
    next: kept(0),
  },
  done(r, inst) {
    const words = (inst.state.words as string[] | undefined) ?? [];
    const pol = words.find((w) => w.startsWith('--pol '))?.slice(6);
    const elements = ['reqid', 'spi', 'proto', 'mode', 'tunnel-src', 'tunnel-dst'].some((o) => inst.given.has(o));
    if (pol === 'none' && !elements) {
      ignore(r, inst, 'fwemu models no IPsec, so no packet has an IPsec policy and --pol none holds for every packet');
      return;
    }
    r.unsupported(inst.at.col, '-m policy', 'IPsec policies are not modelled', 'match');
  },
};
