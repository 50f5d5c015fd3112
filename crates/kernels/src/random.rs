//! Counter-based RNG: Philox4x32-10 (Salmon et al., SC'11).
//!
//! Element `i` of a request is a pure function of `(seed, counter + i)`:
//! the 64-bit element counter is the Philox counter block and the 64-bit
//! seed the key, so results do not depend on how a request is chunked, and
//! disjoint counter ranges give independent streams.
//! Uniform: f32 from 24 bits, f64 from 53 bits, in [0, 1).
//! Normal: Box–Muller with u1 in (0, 1] (never log(0)), so never NaN/inf.

use wasm_bindgen::prelude::*;

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

#[inline(always)]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = a as u64 * b as u64;
    ((p >> 32) as u32, p as u32)
}

/// Philox4x32 with 10 rounds.
#[inline(always)]
pub fn philox(ctr: u64, key: u64) -> [u32; 4] {
    let mut c = [ctr as u32, (ctr >> 32) as u32, 0, 0];
    let (mut k0, mut k1) = (key as u32, (key >> 32) as u32);
    for _ in 0..10 {
        let (hi0, lo0) = mulhilo(M0, c[0]);
        let (hi1, lo1) = mulhilo(M1, c[2]);
        c = [hi1 ^ c[1] ^ k0, lo1, hi0 ^ c[3] ^ k1, lo0];
        k0 = k0.wrapping_add(W0);
        k1 = k1.wrapping_add(W1);
    }
    c
}

const F24: f64 = 1.0 / 16_777_216.0;
const F53: f64 = 1.0 / 9_007_199_254_740_992.0;

#[inline(always)]
fn u53(hi: u32, lo: u32) -> u64 {
    (((hi as u64) << 32) | lo as u64) >> 11
}

#[inline(always)]
fn join(lo: u32, hi: u32) -> u64 {
    lo as u64 | ((hi as u64) << 32)
}

fn fill<T>(out: usize, n: usize, seed: u64, ctr: u64, f: impl Fn([u32; 4]) -> T) {
    let o = out as *mut T;
    for i in 0..n {
        unsafe { o.add(i).write(f(philox(ctr.wrapping_add(i as u64), seed))) };
    }
}

#[inline(always)]
fn box_muller(u1: f64, u2: f64) -> f64 {
    (-2.0 * u1.ln()).sqrt() * (core::f64::consts::TAU * u2).cos()
}

/// `n` uniform f32 in [0, 1); element i uses counter `ctr + i`.
#[wasm_bindgen]
pub fn random_uniform_f32(
    out: usize,
    n: usize,
    seed_lo: u32,
    seed_hi: u32,
    ctr_lo: u32,
    ctr_hi: u32,
) {
    fill(out, n, join(seed_lo, seed_hi), join(ctr_lo, ctr_hi), |w| {
        ((w[0] >> 8) as f64 * F24) as f32
    });
}

/// `n` uniform f64 in [0, 1).
#[wasm_bindgen]
pub fn random_uniform_f64(
    out: usize,
    n: usize,
    seed_lo: u32,
    seed_hi: u32,
    ctr_lo: u32,
    ctr_hi: u32,
) {
    fill(out, n, join(seed_lo, seed_hi), join(ctr_lo, ctr_hi), |w| {
        u53(w[0], w[1]) as f64 * F53
    });
}

/// `n` standard-normal f32 (Box–Muller in f64, then rounded).
#[wasm_bindgen]
pub fn random_normal_f32(
    out: usize,
    n: usize,
    seed_lo: u32,
    seed_hi: u32,
    ctr_lo: u32,
    ctr_hi: u32,
) {
    fill(out, n, join(seed_lo, seed_hi), join(ctr_lo, ctr_hi), |w| {
        let u1 = ((w[0] >> 8) as f64 + 1.0) * F24;
        let u2 = (w[1] >> 8) as f64 * F24;
        box_muller(u1, u2) as f32
    });
}

/// `n` standard-normal f64.
#[wasm_bindgen]
pub fn random_normal_f64(
    out: usize,
    n: usize,
    seed_lo: u32,
    seed_hi: u32,
    ctr_lo: u32,
    ctr_hi: u32,
) {
    fill(out, n, join(seed_lo, seed_hi), join(ctr_lo, ctr_hi), |w| {
        let u1 = (u53(w[0], w[1]) as f64 + 1.0) * F53;
        let u2 = u53(w[2], w[3]) as f64 * F53;
        box_muller(u1, u2)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn philox_known_answer() {
        // Random123 KAT: philox4x32_10, ctr=0, key=0.
        let r = philox(0, 0);
        assert_eq!(r, [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]);
    }

    #[test]
    fn chunking_invariant_and_ranges() {
        let n = 1000;
        let mut all = vec![0f32; n];
        random_normal_f32(all.as_mut_ptr() as usize, n, 7, 0, 5, 0);
        let mut part = vec![0f32; n - 300];
        random_normal_f32(part.as_mut_ptr() as usize, n - 300, 7, 0, 305, 0);
        assert_eq!(&all[300..], &part[..]);
        let mut u = vec![0f64; 100_000];
        random_uniform_f64(u.as_mut_ptr() as usize, u.len(), 1, 2, 3, 4);
        assert!(u.iter().all(|&x| (0.0..1.0).contains(&x)));
        let mean = u.iter().sum::<f64>() / u.len() as f64;
        assert!((mean - 0.5).abs() < 0.01);
        let mut z = vec![0f64; 100_000];
        random_normal_f64(z.as_mut_ptr() as usize, z.len(), 1, 0, 0, 0);
        assert!(z.iter().all(|x| x.is_finite()));
        let mean = z.iter().sum::<f64>() / z.len() as f64;
        let var = z.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / z.len() as f64;
        assert!(
            mean.abs() < 0.02 && (var - 1.0).abs() < 0.02,
            "{mean} {var}"
        );
        let mut f = vec![0f32; 100_000];
        random_uniform_f32(f.as_mut_ptr() as usize, f.len(), 9, 0, 0, 0);
        assert!(f.iter().all(|&x| (0.0..1.0).contains(&x)));
        // Box–Muller extreme: u1 = 2^-24 gives a finite value.
        assert!(box_muller(F24, 0.0).is_finite());
    }
}
