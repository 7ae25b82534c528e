/** Timestamp formatting for reports (cold path). */

import { utcString } from '../capture/timestamp.js';

export type TimeFormat = 'relative' | 'epoch' | 'iso';

const pad9 = (n: number) => String(n).padStart(9, '0');

/** "1764045000.123456789": exact, as tshark prints frame.time_epoch. */
export function epochString(sec: number, nsec: number): string {
  return `${sec}.${pad9(nsec)}`;
}

/** Seconds since `base` with microsecond digits, computed without losing nanoseconds to floats. */
export function relativeString(sec: number, nsec: number, baseSec: number, baseNsec: number): string {
  let ds = sec - baseSec;
  let dn = nsec - baseNsec;
  if (dn < 0) {
    dn += 1e9;
    ds -= 1;
  }
  const sign = ds < 0 ? '-' : '';
  if (ds < 0) {
    // Earlier than the first packet (captures are not always in order).
    const total = -(ds * 1e9 + dn);
    ds = Math.floor(total / 1e9);
    dn = total - ds * 1e9;
  }
  return `${sign}${ds}.${String(Math.floor(dn / 1000)).padStart(6, '0')}`;
}

/**
 * "2026-01-01T00:00:00.123456789Z". The date is computed, not taken from
 * Date, whose range ends at year 275760 (toISOString() throws past it): any
 * whole number of seconds gets a date, later years with more digits, as
 * toISOString() writes them (+010000-01-01).
 */
export function isoString(sec: number, nsec: number): string {
  const base = utcString(sec); // 2026-01-01T00:00:00Z
  return `${base.slice(0, -1)}.${pad9(nsec)}Z`;
}

export function formatTime(fmt: TimeFormat, sec: number, nsec: number, baseSec: number, baseNsec: number): string {
  if (fmt === 'epoch') return epochString(sec, nsec);
  if (fmt === 'iso') return isoString(sec, nsec);
  return relativeString(sec, nsec, baseSec, baseNsec);
}
