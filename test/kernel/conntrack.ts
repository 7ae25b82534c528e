/**
 * `conntrack -L` / `conntrack -E` lines (conntrack-tools' default output)
 * taken apart into the original and reply tuples, so that NAT can be
 * compared field by field: after SNAT/masquerade the reply tuple's
 * destination is the translated source, after DNAT its source is the
 * translated destination.
 */

export interface CtTuple {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  /** ICMP / ICMPv6: type, code and id (the reply tuple's type is the reply type). */
  type?: number;
  code?: number;
  id?: number;
}

export interface CtEntry {
  /** `conntrack -E` only: NEW, UPDATE, DESTROY. */
  event?: string;
  proto: string;
  protonum: number;
  /** Seconds left (absent in DESTROY events). */
  timeout?: number;
  /** TCP/SCTP/DCCP state. */
  state?: string;
  orig: CtTuple;
  reply: CtTuple;
  /** UNREPLIED, ASSURED, ... in the order printed. */
  flags: string[];
  mark?: number;
  /** The line as printed. */
  line: string;
}

const NUM: Record<string, keyof CtTuple> = { sport: 'sport', dport: 'dport', type: 'type', code: 'code', id: 'id' };

/** One line, or null when it is not an entry (e.g. the "flow entries have been shown" summary). */
export function parseConntrack(line: string): CtEntry | null {
  const words = line.trim().split(/\s+/);
  let k = 0;
  let event: string | undefined;
  const ev = /^\[([A-Z]+)\]$/.exec(words[0] ?? '');
  if (ev) {
    event = ev[1];
    k = 1;
  }
  const proto = words[k];
  const protonum = Number(words[k + 1]);
  if (!proto || !Number.isInteger(protonum)) return null;
  k += 2;
  let timeout: number | undefined;
  if (/^\d+$/.test(words[k] ?? '')) timeout = Number(words[k++]);
  let state: string | undefined;
  if (/^[A-Z_0-9]+$/.test(words[k] ?? '')) state = words[k++];
  const tuples: CtTuple[] = [];
  const flags: string[] = [];
  let mark: number | undefined;
  let cur: Partial<CtTuple> | undefined;
  for (; k < words.length; k++) {
    const w = words[k];
    const f = /^\[([A-Z_]+)\]$/.exec(w);
    if (f) {
      flags.push(f[1]);
      continue;
    }
    const eq = w.indexOf('=');
    if (eq < 0) continue;
    const key = w.slice(0, eq);
    const val = w.slice(eq + 1);
    if (key === 'src') {
      cur = { src: val };
      tuples.push(cur as CtTuple);
    } else if (key === 'dst' && cur) cur.dst = val;
    else if (key in NUM && cur) (cur as Record<string, unknown>)[NUM[key]] = Number(val);
    else if (key === 'mark') mark = Number(val);
  }
  if (tuples.length < 2) return null;
  return {
    ...(event ? { event } : {}),
    proto,
    protonum,
    ...(timeout !== undefined ? { timeout } : {}),
    ...(state ? { state } : {}),
    orig: tuples[0],
    reply: tuples[1],
    flags,
    ...(mark !== undefined ? { mark } : {}),
    line: line.trim(),
  };
}

/** "src:sport > dst:dport" (or "src > dst id N" for ICMP), for messages. */
export function tupleText(t: CtTuple): string {
  const host = (a: string, p?: number) => (p === undefined ? a : a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`);
  const id = t.id !== undefined ? ` id ${t.id}` : '';
  return `${host(t.src, t.sport)} > ${host(t.dst, t.dport)}${id}`;
}
