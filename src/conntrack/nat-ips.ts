/**
 * find_best_ips_proto() of nf_nat_core.c: which address of a range a flow
 * gets. Deterministic in the kernel (jhash2 with no random seed, so the
 * same client gets the same address across reboots), reproduced exactly:
 * test/kernel/nat-conntrack.test.ts checks it against the kernel.
 */
import type { CtTuple } from './entry.js';
import { NatFlag, NatManip, type NatRange } from './nat-types.js';

/**
 * find_best_ips_proto(): the address, from the range by jhash2 of the
 * tuple's addresses. `w` is scratch (8 words).
 */
export function findBestIps(tuple: CtTuple, range: NatRange, manip: number, w: Uint32Array): void {
  const a = range.addr;
  if (a === null) return;
  // w: source words 0-3, destination words 4-7
  w[0] = tuple.src0;
  w[1] = tuple.src1;
  w[2] = tuple.src2;
  w[3] = tuple.src3;
  w[4] = tuple.dst0;
  w[5] = tuple.dst1;
  w[6] = tuple.dst2;
  w[7] = tuple.dst3;
  const v = manip === NatManip.SRC ? 0 : 4;
  if (a.lo[0] === a.hi[0] && a.lo[1] === a.hi[1] && a.lo[2] === a.hi[2] && a.lo[3] === a.hi[3]) {
    for (let i = 0; i < 4; i++) w[v + i] = a.lo[i];
  } else {
    const max = tuple.l3 === 4 ? 0 : 3;
    const persistent = (range.flags & NatFlag.PERSISTENT) !== 0;
    // The kernel hashes the __be32 words as they lie in memory, read little-endian (x86).
    let j = jhash2(bswap(w[0]), bswap(w[1]), bswap(w[2]), bswap(w[3]), persistent ? 0 : bswap(w[4 + max]));
    let full = false;
    for (let i = 0; i <= max; i++) {
      let minip: number, dist: number;
      if (!full) {
        minip = a.lo[i] >>> 0;
        dist = ((a.hi[i] >>> 0) - minip + 1) >>> 0;
      } else {
        minip = 0;
        dist = 0xffffffff;
      }
      w[v + i] = (minip + reciprocalScale(j, dist)) >>> 0;
      if (w[v + i] !== a.hi[i] >>> 0) full = true;
      if (!persistent) j = (j ^ bswap(w[4 + i])) >>> 0;
    }
  }
  tuple.src0 = w[0];
  tuple.src1 = w[1];
  tuple.src2 = w[2];
  tuple.src3 = w[3];
  tuple.dst0 = w[4];
  tuple.dst1 = w[5];
  tuple.dst2 = w[6];
  tuple.dst3 = w[7];
}

function bswap(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
}

function rol32(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** include/linux/jhash.h jhash2() of four words (sizeof(union nf_inet_addr) / 4), as unsigned. */
export function jhash2(k0: number, k1: number, k2: number, k3: number, initval: number): number {
  let a = (0xdeadbeef + (4 << 2) + initval) >>> 0;
  let b = a;
  let c = a;
  a = (a + k0) >>> 0;
  b = (b + k1) >>> 0;
  c = (c + k2) >>> 0;
  // __jhash_mix
  a = (a - c) >>> 0;
  a = (a ^ rol32(c, 4)) >>> 0;
  c = (c + b) >>> 0;
  b = (b - a) >>> 0;
  b = (b ^ rol32(a, 6)) >>> 0;
  a = (a + c) >>> 0;
  c = (c - b) >>> 0;
  c = (c ^ rol32(b, 8)) >>> 0;
  b = (b + a) >>> 0;
  a = (a - c) >>> 0;
  a = (a ^ rol32(c, 16)) >>> 0;
  c = (c + b) >>> 0;
  b = (b - a) >>> 0;
  b = (b ^ rol32(a, 19)) >>> 0;
  a = (a + c) >>> 0;
  c = (c - b) >>> 0;
  c = (c ^ rol32(b, 4)) >>> 0;
  b = (b + a) >>> 0;
  // the last word, then __jhash_final
  a = (a + k3) >>> 0;
  c = ((c ^ b) - rol32(b, 14)) >>> 0;
  a = ((a ^ c) - rol32(c, 11)) >>> 0;
  b = ((b ^ a) - rol32(a, 25)) >>> 0;
  c = ((c ^ b) - rol32(b, 16)) >>> 0;
  a = ((a ^ c) - rol32(c, 4)) >>> 0;
  b = ((b ^ a) - rol32(a, 14)) >>> 0;
  c = ((c ^ b) - rol32(b, 24)) >>> 0;
  return c;
}

/** reciprocal_scale(): (u64)val * ep_ro >> 32, exactly, in doubles. */
function reciprocalScale(val: number, epRo: number): number {
  const hi = val >>> 16;
  const lo = val & 0xffff;
  return Math.floor((hi * epRo + Math.floor((lo * epRo) / 65536)) / 65536) >>> 0;
}
