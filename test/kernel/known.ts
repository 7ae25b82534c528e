/**
 * Differences from the kernel that fwemu knows about and does not model on
 * purpose, as classes a disagreement can be matched against (so that a
 * randomized corpus, whose packet numbers change with the seed, can tell a
 * known difference from a new one). Each is listed in README under "Known
 * differences from Linux"; the conformance tests fail on any disagreement
 * that no class claims.
 */
import { expect } from 'vitest';
import type { Agreement, Disagreement } from './conformance.js';

export interface KnownDifference {
  id: string;
  /** One line: what differs and why it is left alone. */
  why: string;
  /** Does this packet disagreement belong to the class? */
  packet?: (d: Disagreement) => boolean;
  /** Does this conntrack entry difference ("kernel only: ...", "fwemu only: ...") belong to it? */
  entry?: (diff: string) => boolean;
}

// Empty since SCTP and UDP-Lite got trackers of their own; a class added
// here needs its README item (test/readme.test.ts).
export const KNOWN_DIFFERENCES: readonly KnownDifference[] = [];

export interface Classified {
  /** Disagreements and entry differences no known class claims. */
  packets: Disagreement[];
  entries: string[];
  /** Per known class id: how many packets and entries it claimed. */
  known: Map<string, { packets: number; entries: number }>;
}

/** Splits an agreement's differences into known classes and the rest. */
export function classify(a: Agreement, classes: readonly KnownDifference[] = KNOWN_DIFFERENCES): Classified {
  const known = new Map<string, { packets: number; entries: number }>();
  const bump = (id: string, k: 'packets' | 'entries') => {
    const c = known.get(id) ?? { packets: 0, entries: 0 };
    c[k]++;
    known.set(id, c);
  };
  const packets = a.disagreements.filter((d) => {
    const c = classes.find((k) => k.packet?.(d));
    if (c) bump(c.id, 'packets');
    return !c;
  });
  const entries = a.entryDiffs.filter((e) => {
    const c = classes.find((k) => k.entry?.(e));
    if (c) bump(c.id, 'entries');
    return !c;
  });
  return { packets, entries, known };
}

/** Fails, with `report`, on any packet or entry difference no known class claims. */
export function expectOnlyKnownDifferences(a: Agreement, report: string): void {
  const c = classify(a);
  expect(
    c.packets.map((d) => d.packet),
    report,
  ).toEqual([]);
  expect(c.entries, report).toEqual([]);
}
