/**
 * Philox4x32-10 in TypeScript: an independent reference for the kernel in
 * crates/kernels/src/random.rs (its known answer, the sampling streams and
 * the split/foldIn derivations are checked against it). Words are
 * unsigned 32-bit numbers.
 * @module
 */

const M0 = 0xD2511F53, M1 = 0xCD9E8D57;
const W0 = 0x9E3779B9, W1 = 0xBB67AE85;

/** The high and low words of the 64-bit product of two 32-bit words. */
function mulhilo(a: number, b: number): [number, number] {
  const aH = a >>> 16, aL = a & 0xffff, bH = b >>> 16, bL = b & 0xffff;
  const ll = aL * bL, lh = aL * bH, hl = aH * bL;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  const hi = aH * bH + (lh >>> 16) + (hl >>> 16) + (mid >>> 16);
  return [hi >>> 0, Math.imul(a, b) >>> 0];
}

/** Philox4x32 with 10 rounds of the counter block `ctr` under key (k0, k1). */
export function philox(
  ctr: readonly [number, number, number, number],
  k0: number,
  k1: number,
): [number, number, number, number] {
  let [c0, c1, c2, c3] = ctr;
  for (let r = 0; r < 10; r++) {
    const [hi0, lo0] = mulhilo(M0, c0);
    const [hi1, lo1] = mulhilo(M1, c2);
    [c0, c1, c2, c3] = [
      (hi1 ^ c1 ^ k0) >>> 0,
      lo1,
      (hi0 ^ c3 ^ k1) >>> 0,
      lo0,
    ];
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  return [c0, c1, c2, c3];
}
