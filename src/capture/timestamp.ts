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
    this.load(hi, lo);
    const e = res.exponent;
    if (!res.binary) {
      if (e <= 9) {
        const rem = this.divide(10 ** e);
        this.sec = this.value();
        this.nsec = rem * 10 ** (9 - e);
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
