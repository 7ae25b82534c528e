/**
 * 64-bit timestamp arithmetic without BigInt.
 *
 * pcapng timestamps are 64-bit counts of if_tsresol units; a nanosecond
 * epoch value (~1.7e18) is far beyond 2^53, so plain doubles would silently
 * round. Values are held as 16-bit limbs in a reused Uint32Array and divided
 * by numbers <= 2^32, which keeps every intermediate below 2^48: exact in a
 * double, and no allocation per packet.
 */

const LIMB = 0x10000;
const TWO32 = 0x1_0000_0000;
/** 1e9 = 2^9 * 5^9: scaling by 1e9 / 2^k is a multiply by 5^9 and a shift. */
const FIVE_POW_9 = 1_953_125;
/** 10^i for i <= 9, read instead of computed: `10 ** e` costs as much as the rest of a conversion. */
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/** How an interface's timestamp units relate to seconds (pcapng if_tsresol). */
export interface TsResolution {
  /** true: units are 2^-exponent s; false: 10^-exponent s. */
  binary: boolean;
  exponent: number;
}

export const MICROSECONDS: TsResolution = { binary: false, exponent: 6 };
export const NANOSECONDS: TsResolution = { binary: false, exponent: 9 };

/** Decodes the one-byte if_tsresol option value. */
export function tsResolutionFromOption(value: number): TsResolution {
  return (value & 0x80) !== 0 ? { binary: true, exponent: value & 0x7f } : { binary: false, exponent: value };
}

/** Splits 64-bit unit counts into seconds + nanoseconds; results land in `sec` and `nsec`. */
export class TimestampConverter {
  sec = 0;
  nsec = 0;
  /** Little-endian 16-bit limbs; 6 of them so that a 64-bit value times 5^9 (< 2^85) fits. */
  private readonly limbs = new Uint32Array(6);

  convert(hi: number, lo: number, res: TsResolution): void {
    const e = res.exponent;
    if (!res.binary && e >= 4 && e <= 9 && this.convertDecimal(hi, lo, POW10[e], POW10[9 - e])) return;
    this.load(hi, lo);
    if (!res.binary) {
      if (e <= 9) {
        const rem = this.divide(POW10[e]);
        this.sec = this.value();
        this.nsec = rem * POW10[9 - e];
        return;
      }
      // Finer than 1 ns: floor to whole nanoseconds first, in steps whose
      // divisors stay <= 1e9 (floor(floor(x/a)/b) == floor(x/(ab))).
      for (let left = e - 9; left > 0; left -= 9) this.divide(10 ** Math.min(left, 9));
    } else {
      if (e <= 32) {
        const rem = this.divide(2 ** e);
        this.sec = this.value();
        // rem * 5^9 < 2^32 * 2^21 = 2^53, so this product and the power-of-2 scaling are exact.
        this.nsec = e >= 9 ? Math.floor((rem * FIVE_POW_9) / 2 ** (e - 9)) : rem * FIVE_POW_9 * 2 ** (9 - e);
        return;
      }
      // floor(ts * 1e9 / 2^e) == floor(ts * 5^9 / 2^(e-9)): whole nanoseconds.
      this.multiply(FIVE_POW_9);
      this.shiftRight(e - 9);
    }
    this.nsec = this.divide(1e9);
    this.sec = this.value();
  }

  /**
   * The common resolutions (microseconds, nanoseconds: 10^4..10^9 units per
   * second) without limbs, which cost ~10% of a pcapng replay. hi * 2^32 + lo
   * rounds to within 2^10 of itself as a double, far less than one unit of
   * `units`, so the quotient estimated from it is off by at most one; the
   * exact remainder then says which way. Returns false (nothing set) when the
   * quotient is 2^32 s or more (after the year 2106), for convert()'s limbs.
   */
  private convertDecimal(hi: number, lo: number, units: number, scale: number): boolean {
    let q = Math.floor((hi * TWO32 + lo) / units);
    if (q >= TWO32 - 1) return false;
    if (hi < 0x10_0000) {
      // The value is below 2^52: exact as a double, and so is q * units (<= value + units).
      let r = hi * TWO32 + lo - q * units;
      if (r < 0) {
        q--;
        r += units;
      } else if (r >= units) {
        q++;
        r -= units;
      }
      this.sec = q;
      this.nsec = r * scale;
      return true;
    }
    // The remainder modulo 2^32, exact in 32-bit integer arithmetic. It lies in
    // (-units, 2 * units) with units <= 1e9, so its value mod 2^32 tells the cases apart.
    let r = (lo - Math.imul(q, units)) >>> 0;
    if (r >= units) {
      if (r < 2 * units) {
        q++;
        r -= units;
      } else {
        q--;
        r = r - TWO32 + units;
      }
    }
    this.sec = q;
    this.nsec = r * scale;
    return true;
  }

  private load(hi: number, lo: number): void {
    const l = this.limbs;
    l[0] = lo & 0xffff;
    l[1] = lo >>> 16;
    l[2] = hi & 0xffff;
    l[3] = hi >>> 16;
    l[4] = 0;
    l[5] = 0;
  }

  /** Replaces the value by its quotient and returns the remainder. divisor must be <= 2^32. */
  private divide(divisor: number): number {
    const l = this.limbs;
    let rem = 0;
    for (let i = 5; i >= 0; i--) {
      const cur = rem * LIMB + l[i];
      const q = Math.floor(cur / divisor);
      rem = cur - q * divisor;
      l[i] = q;
    }
    return rem;
  }

  /** factor must be < 2^21 so that limb * factor + carry stays exact. */
  private multiply(factor: number): void {
    const l = this.limbs;
    let carry = 0;
    for (let i = 0; i < 6; i++) {
      const cur = l[i] * factor + carry;
      l[i] = cur % LIMB;
      carry = Math.floor(cur / LIMB);
    }
  }

  private shiftRight(bits: number): void {
    const l = this.limbs;
    const limbShift = Math.floor(bits / 16);
    const bitShift = bits % 16;
    for (let i = 0; i < 6; i++) {
      const src = i + limbShift;
      const low = src < 6 ? l[src] : 0;
      const high = src + 1 < 6 ? l[src + 1] : 0;
      l[i] = ((low >>> bitShift) | (high << (16 - bitShift))) & 0xffff;
    }
  }

  /** The value as a double; exact below 2^53, which any plausible seconds count is. */
  private value(): number {
    const l = this.limbs;
    return ((((l[5] * LIMB + l[4]) * LIMB + l[3]) * LIMB + l[2]) * LIMB + l[1]) * LIMB + l[0];
  }
}

/**
 * Splits sec * 10^9 + nsec into 32-bit halves for a nanosecond-resolution
 * EPB, exactly, for any sec < 2^33 (the year 2242).
 */
export function nanosToHiLo(sec: number, nsec: number, out: { hi: number; lo: number }): void {
  const secHigh = Math.floor(sec / LIMB);
  const secLow = sec - secHigh * LIMB;
  // total = high * 2^16 + low; each part < 2^48, so exact.
  const high = secHigh * 1e9;
  const low = secLow * 1e9 + nsec;
  const highLimb = high % LIMB;
  const highRest = (high - highLimb) / LIMB;
  const lowLo32 = low % TWO32;
  let lo = lowLo32 + highLimb * LIMB;
  const carry = lo >= TWO32 ? 1 : 0;
  lo -= carry * TWO32;
  out.hi = (low - lowLo32) / TWO32 + highRest + carry;
  out.lo = lo;
}

/**
 * The latest timestamp (seconds since 1970) fwemu judges packets at:
 * 2^33 - 2^31 s, 2174-02-25T09:42:24Z. Times are doubles of seconds, compared
 * to the microsecond (conntrack's TIME_EPS); below 2^33 s a double still
 * resolves 2^-20 s (< 1 us), and no timeout a rule file may set reaches 2^31 s,
 * so `deadline = timestamp + timeout` stays exact enough to judge for any
 * timestamp up to here and any timeout. Past it (pcapng if_tsoffset or a coarse
 * if_tsresol can reach 2^64 s) a deadline could round onto its own start and
 * every flow would expire at the next packet: readers refuse such records.
 */
export const LATEST_TIMESTAMP_SEC = 2 ** 33 - 2 ** 31;

const DAY = 86_400;

/**
 * "2026-01-01T00:00:00Z" for whole seconds since 1970, for any integer
 * (years past 9999 get more digits, before year 0 a sign), without Date, whose
 * range ends at year 275760 (toISOString() throws a RangeError past it).
 */
export function utcString(sec: number): string {
  if (!Number.isFinite(sec)) return String(sec);
  const s = Math.floor(sec);
  let days = Math.floor(s / DAY);
  const rest = s - days * DAY;
  // civil_from_days (H. Hinnant): days since 1970-01-01 to a proleptic Gregorian date.
  days += 719_468;
  const era = Math.floor(days / 146_097);
  const doe = days - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const two = (n: number) => String(n).padStart(2, '0');
  const year =
    y >= 0 && y <= 9999 ? String(y).padStart(4, '0') : `${y < 0 ? '-' : '+'}${String(Math.abs(y)).padStart(6, '0')}`;
  const hh = Math.floor(rest / 3600);
  const mm = Math.floor((rest % 3600) / 60);
  return `${year}-${two(m)}-${two(d)}T${two(hh)}:${two(mm)}:${two(rest % 60)}Z`;
}
