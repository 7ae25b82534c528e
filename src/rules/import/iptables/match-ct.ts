/**
 * conntrack and state (xt_conntrack.c, xt_state.c): connection states and
 * status bits, the model's ct state and ct status.
 */
import type { CtStateWord, CtStatusWord } from '../../firewall.js';
import { bad, taken } from './match-common.js';
import type { Patch } from './draft.js';
import type { ExtensionDef, Instance, LineReader, OptDef } from './rule.js';

const CT_STATES: Readonly<Record<string, CtStateWord | 'snat' | 'dnat'>> = {
  INVALID: 'invalid',
  ESTABLISHED: 'established',
  NEW: 'new',
  RELATED: 'related',
  UNTRACKED: 'untracked',
  SNAT: 'snat',
  DNAT: 'dnat',
};

interface StateArg {
  states: CtStateWord[];
  nat: CtStatusWord[];
  neg: boolean;
  col: number;
}

function stateOpt(allowNat: boolean): OptDef {
  return {
    args: 1,
    neg: true,
    run(r, [v], neg, at, inst) {
      const states: CtStateWord[] = [];
      const nat: CtStatusWord[] = [];
      for (const w of v.split(',')) {
        const s = CT_STATES[w.toUpperCase()];
        if (s === undefined || (!allowNat && (s === 'snat' || s === 'dnat')))
          return bad(
            r,
            at.col,
            `"${w}" is not a connection state (INVALID, ESTABLISHED, NEW, RELATED, UNTRACKED${allowNat ? ', SNAT, DNAT' : ''})`,
          );
        if (s === 'snat' || s === 'dnat') nat.push(s);
        else states.push(s);
      }
      inst.state.state = { states, nat, neg, col: at.col } satisfies StateArg;
    },
  };
}

const CT_STATUSES: Readonly<Record<string, CtStatusWord>> = {
  EXPECTED: 'expected',
  SEEN_REPLY: 'seen-reply',
  ASSURED: 'assured',
  CONFIRMED: 'confirmed',
};

/** The states of a packet without a conntrack entry: xt_conntrack then reads no status bit at all. */
const NO_ENTRY: readonly CtStateWord[] = ['invalid', 'untracked'];

/** One alternative's ct conditions (the rule's other negations kept). */
function ct(state: CtStateWord[] | null, stateNeg: boolean, status: CtStatusWord[] | null, statusNeg: boolean): Patch {
  return (x) => {
    x.ctState = state;
    x.ctStatus = status;
    x.not = x.not.filter((k) => k !== 'ctState' && k !== 'ctStatus');
    if (state !== null && stateNeg) x.not.push('ctState');
    if (status !== null && statusNeg) x.not.push('ctStatus');
  };
}

/**
 * xt_conntrack (conntrack_mt) in the model's words. SNAT and DNAT in
 * --ctstate are the NAT status bits added to the state bit, so `--ctstate
 * NEW,DNAT` is "state new, or status dnat" and `! --ctstate NEW,DNAT`
 * "neither". A packet without an entry (invalid, untracked) has its state
 * tested and then matches whenever --ctstate was given (`if (ct == NULL)
 * return info->match_flags & XT_CONNTRACK_STATE`), whatever --ctstatus
 * says; the model's status condition never holds without an entry (as
 * nft's `ct status`), so such packets get an alternative of their own.
 * Alternatives never overlap, so a LOG or jump runs once.
 */
function ctDone(r: LineReader, inst: Instance): void {
  const st = inst.state.state as StateArg | undefined;
  const status = inst.state.status as { words: CtStatusWord[]; neg: boolean; col: number } | undefined;
  const b = r.body;
  if ((st !== undefined && b.ctState !== null) || (status !== undefined && b.ctStatus !== null)) {
    taken(r, inst.at.col, 'connection state');
    return;
  }
  if (st === undefined) {
    if (status !== undefined) r.addAxis([ct(null, false, status.words, status.neg)]);
    return;
  }
  const { states, nat, neg } = st;
  if (nat.length > 0 && status !== undefined) {
    r.unsupported(
      st.col,
      '--ctstate SNAT or DNAT with --ctstatus',
      'both read the status bits; the model holds one status condition',
      'match',
    );
    return;
  }
  // The entry-less states that pass the state test.
  const noEntry = NO_ENTRY.filter((w) => states.includes(w) !== neg);
  const alts: Patch[] = [];
  if (status !== undefined) {
    alts.push(ct(states, neg, status.words, status.neg));
    if (noEntry.length > 0) alts.push(ct(noEntry, false, null, false));
  } else if (nat.length === 0) alts.push(ct(states, neg, null, false));
  else if (!neg) {
    if (states.length > 0) alts.push(ct(states, false, null, false));
    alts.push(ct(states.length > 0 ? states : null, true, nat, false));
  } else {
    alts.push(ct(states.length > 0 ? states : null, true, nat, true));
    if (noEntry.length > 0) alts.push(ct(noEntry, false, null, false));
  }
  r.addAxis(alts);
}

function ctUnsupported(name: string): OptDef {
  return {
    args: 1,
    neg: true,
    run(r, _a, _n, at) {
      r.unsupported(
        at.optCol,
        `-m conntrack --${name}`,
        'the conntrack tuple, direction and expiry are not matched on',
        'match',
      );
    },
  };
}

export const conntrack: ExtensionDef = {
  opts: {
    ctstate: stateOpt(true),
    ctstatus: {
      args: 1,
      neg: true,
      run(r, [v], neg, at, inst) {
        const words: CtStatusWord[] = [];
        for (const w of v.split(',')) {
          const s = CT_STATUSES[w.toUpperCase()];
          if (s === undefined) {
            // NONE (no bit) never matches in xt_conntrack: (status & 0) == 0.
            if (w.toUpperCase() === 'NONE')
              return r.unsupported(at.col, '--ctstatus NONE', 'xt_conntrack matches no packet with it', 'match');
            return bad(r, at.col, `"${w}" is not a connection status (EXPECTED, SEEN_REPLY, ASSURED, CONFIRMED)`);
          }
          words.push(s);
        }
        inst.state.status = { words, neg, col: at.col };
      },
    },
    ...Object.fromEntries(
      [
        'ctproto',
        'ctorigsrc',
        'ctorigdst',
        'ctreplsrc',
        'ctrepldst',
        'ctorigsrcport',
        'ctorigdstport',
        'ctreplsrcport',
        'ctrepldstport',
        'ctexpire',
      ].map((n) => [n, ctUnsupported(n)]),
    ),
    ctdir: {
      args: 1,
      run(r, _a, _n, at) {
        r.unsupported(at.optCol, '-m conntrack --ctdir', 'the packet direction is not matched on', 'match');
      },
    },
  },
  done: ctDone,
};

export const state: ExtensionDef = { opts: { state: stateOpt(false) }, done: ctDone };
