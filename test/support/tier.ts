/**
 * Test tiers. `npm test` is the fast tier: every behaviour, over samples (a
 * few hundred fuzz cases, part of a random corpus, some of the fixtures).
 * `npm run test:slow` sets FWEMU_TIER=slow and runs the files that import
 * this one again, over the whole sweep.
 */
export const SLOW = process.env.FWEMU_TIER === 'slow';

/** `fast` in the fast tier, `slow` in the slow one. */
export function tier<T>(fast: T, slow: T): T {
  return SLOW ? slow : fast;
}

/**
 * Every `step`-th item (counting from `offset`), or all of them in the slow
 * tier: a spread sample that still reaches both ends of a sorted list.
 */
export function sample<T>(items: readonly T[], step: number, offset = 0): T[] {
  if (SLOW || step <= 1) return [...items];
  return items.filter((_, i) => i % step === offset % step);
}
