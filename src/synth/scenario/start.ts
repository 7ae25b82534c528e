/**
 * start: when a scenario begins, as a date and time (every field checked:
 * Date.parse would roll 2026-02-30 into March) or seconds since 1970,
 * within the times fwemu judges.
 */
import { isScalar } from 'yaml';
import { describeNode } from '../../base/yaml-nodes.js';
import type { Entry } from '../../base/yaml-reader.js';
import { LATEST_TIMESTAMP_SEC, utcString } from '../../capture/timestamp.js';
import { MAX_SCENARIO_USEC, type ScenarioReader } from './reader.js';

/**
 * The latest start: a scenario lasting its longest still ends by the last
 * time fwemu judges (LATEST_TIMESTAMP_SEC, 2174). Written as pcap, times
 * after 2106-02-07T06:28:15Z need a .pcapng name (the writer says so).
 */
export const LATEST_START_SEC = LATEST_TIMESTAMP_SEC - MAX_SCENARIO_USEC / 1e6;
/** Default capture start. */
export const DEFAULT_START = '2026-01-01T00:00:00Z';

export function readStart(r: ScenarioReader, e: Entry | undefined): { sec: number; usec: number } {
  const dflt = { sec: Date.parse(DEFAULT_START) / 1000, usec: 0 };
  if (!e) return dflt;
  const v = e.value;
  const range = (sec: number, shown: string): boolean => {
    if (sec < 0)
      r.error(
        e.at,
        `start ${shown} is before 1970-01-01T00:00:00Z; capture times count from 1970`,
        'scenario.start-out-of-range',
      );
    else if (sec > LATEST_START_SEC) {
      r.error(
        e.at,
        `start ${shown} is after ${utcString(LATEST_START_SEC)}, the latest start from which a scenario (up to 30 days long) ends by ${utcString(LATEST_TIMESTAMP_SEC)}, the last time fwemu judges packets at`,
        'scenario.start-out-of-range',
      );
    } else return true;
    return false;
  };
  if (v !== null && isScalar(v) && typeof v.value === 'number') {
    if (!Number.isFinite(v.value)) {
      r.error(
        e.at,
        `start must be a date and time like 2026-01-01T00:00:00Z, or seconds since 1970, not ${describeNode(v)}`,
        'scenario.bad-start',
      );
      return dflt;
    }
    if (!range(v.value, String(v.value))) return dflt;
    const sec = Math.floor(v.value);
    return { sec, usec: Math.min(Math.round((v.value - sec) * 1e6), 999_999) };
  }
  if (v !== null && isScalar(v) && typeof v.value === 'string') {
    const s = v.value.trim();
    const m = /^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d))?(\.\d{1,9})?(Z|[+-]\d\d:?\d\d)?)?$/i.exec(s);
    if (m) {
      // Each field checked by hand: Date.parse rolls 2026-02-30 over into March 2.
      const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
      const fault = dateFault(
        year,
        month,
        day,
        m[4] === undefined ? 0 : Number(m[4]),
        m[5] === undefined ? 0 : Number(m[5]),
        m[6] === undefined ? 0 : Number(m[6]),
        m[8],
      );
      if (fault !== '') {
        r.error(e.at, `start "${s}" is not a possible date and time: ${fault}`, 'scenario.bad-start');
        return dflt;
      }
      if (m[4] !== undefined && m[8] !== undefined) {
        const zone =
          m[8].toUpperCase() === 'Z'
            ? 0
            : (m[8][0] === '-' ? -1 : 1) * (Number(m[8].slice(1, 3)) * 60 + Number(m[8].slice(-2)));
        const sec =
          daysFromCivil(year, month, day) * 86_400 +
          Number(m[4]) * 3600 +
          Number(m[5]) * 60 +
          Number(m[6] ?? 0) -
          zone * 60;
        if (!range(sec, `"${s}"`)) return dflt;
        const frac = m[7] ? Math.round(Number(`0${m[7]}`) * 1e6) : 0;
        return { sec, usec: Math.min(frac, 999_999) };
      }
    }
    const noZone = /^\d{4}-\d\d-\d\d([T ]\d\d:\d\d(:\d\d(\.\d+)?)?)?$/.test(s);
    r.error(
      e.at,
      `start "${s}" is not a date and time${noZone ? ' with a time zone (add Z for UTC)' : ''}; write it like 2026-01-01T00:00:00Z, or give seconds since 1970`,
      'scenario.bad-start',
    );
    return dflt;
  }
  r.error(
    e.at,
    `start must be a date and time like 2026-01-01T00:00:00Z, not ${describeNode(v)}`,
    'scenario.bad-start',
  );
  return dflt;
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Why a date and time cannot be (in words), or '' when it can. `zone` is "Z", "+01:00", "-0530" or undefined. */
function dateFault(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  zone: string | undefined,
): string {
  if (month < 1 || month > 12) return `there is no month ${month} (months are 01-12)`;
  const days = daysInMonth(year, month);
  if (day < 1 || day > days) return `${MONTHS[month - 1]} ${year} has ${days} days, so there is no day ${day}`;
  if (hour > 23) return `there is no hour ${hour} (hours are 00-23)`;
  if (minute > 59) return `there is no minute ${minute} (minutes are 00-59)`;
  if (second === 60)
    return 'second 60 (a leap second) has no time of its own in Unix time, which capture timestamps count; use :59';
  if (second > 59) return `there is no second ${second} (seconds are 00-59)`;
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const zh = Number(zone.slice(1, 3));
    const zm = Number(zone.slice(-2));
    if (zh > 23 || zm > 59) return `time zone ${zone} is not an offset from UTC (hours 00-23, minutes 00-59)`;
  }
  return '';
}

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}
