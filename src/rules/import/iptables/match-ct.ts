/**
 * conntrack and state (xt_conntrack.c, xt_state.c): connection states and
 * status bits, the model's ct state and ct status.
 */
import type { CtStateWord, CtStatusWord } from '../../firewall.js';
import { bad, taken } from './match-common.js';
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

/**
 * --ctstate with SNAT or DNAT: xt_conntrack adds the NAT status bits to the
 * state bits, so `--ctstate NEW,DNAT` is "state new, or status dnat" and
 * `! --ctstate NEW,DNAT` is "neither".
 */
function ctDone(r: LineReader, inst: Instance): void {
  const st = inst.state.state as StateArg | undefined;
  const status = inst.state.status as { words: CtStatusWord[]; neg: boolean; col: number } | undefined;
  const b = r.body;
  if ((st !== undefined && b.ctState !== null) || (status !== undefined && b.ctStatus !== null)) {
    taken(r, inst.at.col, 'connection state');
    return;
  }
  if (status !== undefined) {
    b.ctStatus = status.words;
    r.negate('ctStatus', status.neg);
  }
  if (st === undefined) return;
  if (st.nat.length > 0 && status !== undefined) {
    r.unsupported(
      st.col,
      '--ctstate SNAT or DNAT with --ctstatus',
      'both read the status bits; the model holds one status condition',
      'match',
    );
    return;
  }
  const { states, nat, neg } = st;
  if (nat.length === 0) {
    b.ctState = states;
    r.negate('ctState', neg);
  } else if (states.length === 0) {
    b.ctStatus = nat;
    r.negate('ctStatus', neg);
  } else if (neg) {
    b.ctState = states;
    b.ctStatus = nat;
    r.negate('ctState', true);
    r.negate('ctStatus', true);
  } else
    r.addAxis([
      (x) => {
        x.ctState = states;
      },
      (x) => {
        x.ctState = states;
        x.ctStatus = nat;
        x.not.push('ctState');
      },
    ]);
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
