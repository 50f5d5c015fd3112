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

/// Philox4x32 with 10 rounds, on a 64-bit counter (words 2 and 3 zero).
#[inline(always)]
pub fn philox(ctr: u64, key: u64) -> [u32; 4] {
    philox_block(
        [ctr as u32, (ctr >> 32) as u32, 0, 0],
        key as u32,
        (key >> 32) as u32,
    )
}

/// Philox4x32 with 10 rounds of a whole counter block under key (k0, k1).
#[inline(always)]
pub fn philox_block(ctr: [u32; 4], k0: u32, k1: u32) -> [u32; 4] {
    let mut c = ctr;
    let (mut k0, mut k1) = (k0, k1);
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

/// Uniform in [0, 1), as [`random_uniform_f32`] / [`random_uniform_f64`].
pub const DIST_UNIFORM: u32 = 0;
/// Standard normal (Box–Muller), as [`random_normal_f32`] / [`random_normal_f64`].
pub const DIST_NORMAL: u32 = 1;
/// A permutation of `0..n` (i32) by Fisher–Yates on the key's f64 uniforms.
pub const DIST_PERMUTATION: u32 = 2;

/// The samplers of [`sample`] by name (the `dist` field of the program's
/// `OP_RANDOM` instruction; the `randomSample` primitive's `dist` param).
pub const RANDOM_DISTS: &[(&str, u32)] = &[
    ("uniform", DIST_UNIFORM),
    ("normal", DIST_NORMAL),
    ("permutation", DIST_PERMUTATION),
];

/// Counter word 2 of a key derivation (sampling always has it 0).
pub const DOMAIN_SPLIT: u32 = 0x5117;
/// Counter word 2 of `foldIn`.
pub const DOMAIN_FOLD_IN: u32 = 0xf01d;

/// The derivation domains of [`derive`] by name (the `randomDerive`
/// primitive's `domain` param).
pub const RANDOM_DOMAINS: &[(&str, u32)] = &[("split", DOMAIN_SPLIT), ("foldIn", DOMAIN_FOLD_IN)];

/// A key's stream for the fill kernels, as the TypeScript `stream`: the
/// key's low 53 bits are the 64-bit seed, its top 11 bits select a block
/// of 2^32 counters, so distinct keys never share counters.
#[inline(always)]
fn stream(k0: u32, k1: u32) -> (u64, u64) {
    (join(k0, k1 & 0x1f_ffff), ((k1 >> 21) as u64) << 32)
}

/// Draws `n` values per key for each of `nkeys` keys (i32 word pairs at
/// `keys`) into `out` (`[nkeys, n]`), key by key: lane `b` is exactly what
/// a draw with key `b` alone gives, so a batch of keys equals a loop.
/// `f64_` selects the element type (permutations are always i32).
/// # Safety
/// `keys` holds `2 * nkeys` i32 and `out` room for `nkeys * n` elements.
pub unsafe fn sample(dist: u32, f64_: bool, keys: usize, out: usize, nkeys: usize, n: usize) {
    let k = keys as *const u32;
    for b in 0..nkeys {
        let (seed, ctr) = stream(*k.add(2 * b), *k.add(2 * b + 1));
        let (lo, hi) = (seed as u32, (seed >> 32) as u32);
        let (clo, chi) = (ctr as u32, (ctr >> 32) as u32);
        match (dist, f64_) {
            (DIST_UNIFORM, false) => random_uniform_f32(out + 4 * b * n, n, lo, hi, clo, chi),
            (DIST_UNIFORM, true) => random_uniform_f64(out + 8 * b * n, n, lo, hi, clo, chi),
            (DIST_NORMAL, false) => random_normal_f32(out + 4 * b * n, n, lo, hi, clo, chi),
            (DIST_NORMAL, true) => random_normal_f64(out + 8 * b * n, n, lo, hi, clo, chi),
            _ => permutation(out + 4 * b * n, n, seed, ctr),
        }
    }
}

/// Fisher–Yates: for i from n - 1 down to 1, swap i with
/// floor(u_i * (i + 1)), u_i the f64 uniform of counter `ctr + i`.
unsafe fn permutation(out: usize, n: usize, seed: u64, ctr: u64) {
    let p = out as *mut i32;
    for i in 0..n {
        *p.add(i) = i as i32;
    }
    for i in (1..n).rev() {
        let w = philox(ctr.wrapping_add(i as u64), seed);
        let u = u53(w[0], w[1]) as f64 * F53;
        let j = (u * (i + 1) as f64).floor() as usize;
        core::ptr::swap(p.add(i), p.add(j.min(i)));
    }
}

/// New keys: `out[b] = philox([data[b].0, data[b].1, domain, 0], key[b])`
/// (words 0 and 1) for `n` key/data pairs of i32 words; `split` and
/// `foldIn` are this hash in two domains (counter word 2), which sampling,
/// whose word 2 is always 0, never reaches.
/// # Safety
/// `keys`, `data` and `out` each hold `2 * n` i32.
pub unsafe fn derive(domain: u32, keys: usize, data: usize, out: usize, n: usize) {
    let (k, d, o) = (keys as *const u32, data as *const u32, out as *mut u32);
    for b in 0..n {
        let ctr = [*d.add(2 * b), *d.add(2 * b + 1), domain, 0];
        let w = philox_block(ctr, *k.add(2 * b), *k.add(2 * b + 1));
        *o.add(2 * b) = w[0];
        *o.add(2 * b + 1) = w[1];
    }
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
    fn a_batch_of_keys_draws_what_each_key_draws() {
        let keys: [i32; 4] = [7, -3, 123_456, i32::MIN];
        for (dist, f64_) in [
            (DIST_UNIFORM, true),
            (DIST_NORMAL, false),
            (DIST_PERMUTATION, false),
        ] {
            let w = if f64_ { 8 } else { 4 };
            let mut both = vec![0u8; 2 * 5 * w];
            unsafe {
                sample(
                    dist,
                    f64_,
                    keys.as_ptr() as usize,
                    both.as_mut_ptr() as usize,
                    2,
                    5,
                )
            };
            let mut second = vec![0u8; 5 * w];
            unsafe {
                sample(
                    dist,
                    f64_,
                    keys[2..].as_ptr() as usize,
                    second.as_mut_ptr() as usize,
                    1,
                    5,
                )
            };
            assert_eq!(&both[5 * w..], &second[..], "dist {dist}");
        }
        // The uniform stream of key (k0, k1): seed = low 53 bits, counter
        // block = the top 11 bits.
        let mut u = [0f64; 3];
        unsafe {
            sample(
                DIST_UNIFORM,
                true,
                keys[2..].as_ptr() as usize,
                u.as_mut_ptr() as usize,
                1,
                3,
            )
        };
        let (k0, k1) = (123_456u32, i32::MIN as u32);
        for (i, &v) in u.iter().enumerate() {
            let r = philox_block([i as u32, k1 >> 21, 0, 0], k0, k1 & 0x1f_ffff);
            assert_eq!(v, u53(r[0], r[1]) as f64 * F53);
        }
    }

    #[test]
    fn permutations_are_permutations_and_derive_is_the_hash() {
        let key: [i32; 2] = [1, 2];
        let mut p = vec![0i32; 1000];
        unsafe {
            sample(
                DIST_PERMUTATION,
                false,
                key.as_ptr() as usize,
                p.as_mut_ptr() as usize,
                1,
                1000,
            )
        };
        let mut sorted = p.clone();
        sorted.sort();
        assert!(sorted.iter().enumerate().all(|(i, &v)| v == i as i32));
        assert_ne!(p, sorted); // 1/1000! chance of a false failure
        let keys: [u32; 4] = [5, 6, 0xffff_ffff, 0];
        let data: [u32; 4] = [1, 0, 9, 3];
        let mut out = [0u32; 4];
        unsafe {
            derive(
                DOMAIN_FOLD_IN,
                keys.as_ptr() as usize,
                data.as_ptr() as usize,
                out.as_mut_ptr() as usize,
                2,
            )
        };
        let w = philox_block([9, 3, DOMAIN_FOLD_IN, 0], 0xffff_ffff, 0);
        assert_eq!(&out[2..], &w[..2]);
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
