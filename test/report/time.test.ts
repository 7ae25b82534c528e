/**
 * --time iso without Date's range limit (it ends at year 275760; past it
 * toISOString() threw a RangeError: exit 70). The truth: Date itself, with
 * whole 400-year Gregorian cycles (146097 days) taken off and added back.
 */
import { describe, expect, it } from 'vitest';
import { isoString } from '../../src/report/time.js';

const CYCLE = 146_097 * 86_400;

/** What isoString() must say, from Date: the time shifted into Date's range by k cycles, its year moved back. */
function viaDate(sec: number, nsec: number): string {
  const k = Math.floor(sec / CYCLE) - 1;
  const d = new Date((sec - k * CYCLE) * 1000).toISOString();
  const year = Number(d.slice(0, d.indexOf('-', 1))) + 400 * k;
  const shown =
    year >= 0 && year <= 9999
      ? String(year).padStart(4, '0')
      : `${year < 0 ? '-' : '+'}${String(Math.abs(year)).padStart(6, '0')}`;
  return `${shown}${d.slice(d.indexOf('-', 1), 19)}.${String(nsec).padStart(9, '0')}Z`;
}

describe('isoString', () => {
  it('agrees with Date where Date reaches', () => {
    for (const sec of [
      0,
      59,
      86_399,
      951_782_400,
      1_767_225_599,
      2 ** 31,
      2 ** 32 - 1,
      2 ** 32,
      2 ** 33,
      253_402_300_799,
      253_402_300_800,
      8.64e12,
    ]) {
      expect(isoString(sec, 7)).toBe(new Date(sec * 1000).toISOString().replace(/\.000Z$/, '.000000007Z'));
    }
  });

  it('goes on past year 275760, where Date stops', () => {
    expect(() => new Date((8.64e12 + 1) * 1000).toISOString()).toThrow(RangeError);
    for (const sec of [8.64e12 + 1, 1e13, 2 ** 48, 2 ** 53 - 1]) expect(isoString(sec, 123)).toBe(viaDate(sec, 123));
    expect(isoString(1e13, 0)).toBe('+318857-05-20T17:46:40.000000000Z');
  });
});
