//! `OP_MATMUL_FUSED`: a matrix product and the elementwise steps that
//! consume it (a bias, an activation and its derivative, a cotangent
//! times an activation's derivative, ...) as one instruction. The GEMM
//! hands each block of C to the steps right after its last K panel
//! (gemm.rs, [`Epilogue`]), while the block is still in cache, instead of
//! writing the whole product out and reading it back in a second pass.
//!
//! Fields: `[dtype, a, b, batch, m, n, k, trans_a, trans_b, a_stride,
//! b_stride]` as `OP_MATMUL` (without `out`: the product lives only inside
//! the instruction), then the fields of an `OP_FUSED` instruction over
//! `batch·m·n` positions whose inputs of slot −1 are the product (mode 0,
//! the matmul's dtype). Position `p` of the steps is element `p` of the
//! row-major `[batch·m, n]` product, so a block of rows `r..` and columns
//! `j..` runs positions `r·n + j..` row by row (or as one range when it
//! spans whole rows).

use super::fused::{Body, BLOCK};
#[cfg(doc)]
use super::split;
use super::*;
use crate::gemm::{Epilogue, Gemm};
use core::sync::atomic::{AtomicI32, Ordering};

/// Scratch of one epilogue call, on its stack: a product split across
/// threads runs epilogues in workers, which must not allocate (parallel.rs)
/// and have 256 KiB stacks.
const SCRATCH: usize = 32 * 1024;

/// Multiply-adds a packed product does in the time an elementwise step
/// takes per element (an f32 multiply on a block in cache; a tanh counts
/// as [`split::unary_cost`] of them), for the decision to split.
const STEP_MULTIPLY_ADDS: u64 = 8;

/// Fewest elements per block worth running the steps on; with more scratch
/// rows than that leaves room for, the steps run after the product instead.
const MIN_BLOCK: usize = 64;

/// The steps of an instruction as a GEMM epilogue on an `n`-column product.
struct Steps<'a, 'b> {
    body: &'a Body<'b>,
    n: usize,
    /// Elements per block, so that the scratch rows fit in [`SCRATCH`].
    block: usize,
    /// The first failure's status (the GEMM cannot stop early; later
    /// blocks skip). Atomic: the parts of a split product run at once.
    failed: AtomicI32,
}

impl<T> Epilogue<T> for Steps<'_, '_> {
    unsafe fn apply(&self, row: usize, col: usize, _: *mut T, _: usize, rows: usize, cols: usize) {
        if self.failed.load(Ordering::Relaxed) != 0 {
            return;
        }
        let mut local = core::mem::MaybeUninit::<[u64; SCRATCH / 8]>::uninit();
        let scratch = local.as_mut_ptr() as usize;
        let (n, body, block) = (self.n, self.body, self.block);
        let r = if col == 0 && cols == n {
            body.run_with(scratch, block, row * n, (row + rows) * n)
        } else {
            (row..row + rows)
                .try_for_each(|i| body.run_with(scratch, block, i * n + col, i * n + col + cols))
        };
        if let Err(Fail(status, _)) = r {
            let _ = self
                .failed
                .compare_exchange(0, status, Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    fn cost(&self) -> u64 {
        self.body.cost() as u64 * STEP_MULTIPLY_ADDS
    }
}

impl Exec<'_> {
    #[inline(never)]
    pub(super) fn matmul_fused(&self, f: &[i32]) -> Result<(), Fail> {
        if f.len() < 12 {
            return Err(ERR_TRUNCATED.into());
        }
        let f64_ = float64(f[0])?;
        let (a, b) = (self.input(f[1])?, self.input(f[2])?);
        let (batch, m, n, k) = (count(f[3])?, count(f[4])?, count(f[5])?, count(f[6])?);
        let trans = (f[7] != 0, f[8] != 0);
        let strides = (count(f[9])?, count(f[10])?);
        let size = product(&[batch, m, n])?;
        if count(f[11])? != size {
            return Err(ERR_FIELD.into());
        }
        let bytes = size.checked_mul(if f64_ { 8 } else { 4 }).ok_or(ERR_OOM)?;
        let c = if size > 0 { alloc(bytes) } else { 0 };
        if size > 0 && c == 0 {
            return Err(ERR_OOM.into());
        }
        let result = self.fused_body(&f[11..], &[], Some((c, f[0])), &mut |body, _| {
            if size == 0 {
                return Ok(());
            }
            let block = (SCRATCH / 8 / body.rows.max(1)).min(BLOCK) / 8 * 8;
            if block < MIN_BLOCK {
                // Too many scratch registers for an epilogue: two passes.
                let g = if f64_ { matmul_f64 } else { matmul_f32 };
                let (ta, tb) = trans;
                if g(a, b, c, batch, m, n, k, ta, tb, strides.0, strides.1) != 0 {
                    return Err(ERR_OOM.into());
                }
                return body.run(0, size);
            }
            let ep = Steps {
                body,
                n,
                block,
                failed: AtomicI32::new(0),
            };
            // SAFETY: sizes as the instruction states (the compiler's contract).
            let status = unsafe {
                if f64_ {
                    f64::matmul_epilogue(a, b, c, batch, m, n, k, trans, strides, &ep)
                } else {
                    f32::matmul_epilogue(a, b, c, batch, m, n, k, trans, strides, &ep)
                }
            };
            match ep.failed.into_inner() {
                0 if status != 0 => Err(ERR_OOM.into()),
                0 => Ok(()),
                e => Err(e.into()),
            }
        });
        if size > 0 {
            free(c, bytes);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elementwise::{ADD, MUL, SQUARE, SUB, TANH};

    use crate::program::tests::{read, run};

    /// `t = tanh(x Wᵀ + b)` and `d = (1 − t²)·g` from one instruction equal
    /// the matmul and fused instructions run apart; shapes cover the packed
    /// path with ragged tiles and two row blocks, whole-row blocks split
    /// by NC (n > 4096, so blocks run row by row), gemv, and a batch.
    #[test]
    fn matmul_with_steps_matches_the_separate_instructions() {
        for &(batch, m, n, k) in &[
            (1, 131, 45, 300),
            (1, 7, 4100, 3),
            (1, 1, 50, 70),
            (2, 9, 13, 5),
        ] {
            let x: Vec<f32> = (0..batch * m * k)
                .map(|i| ((i * 7 % 23) as f32 - 11.0) * 0.02)
                .collect();
            let w: Vec<f32> = (0..n * k)
                .map(|i| ((i * 5 % 17) as f32 - 8.0) * 0.03)
                .collect();
            let bias: Vec<f32> = (0..n).map(|j| j as f32 * 0.01 - 0.2).collect();
            let g: Vec<f32> = (0..batch * m * n)
                .map(|i| 1.0 + (i % 11) as f32 * 0.1)
                .collect();
            let one = [1.0f32];
            let size = (batch * m * n) as i32;
            let (bm, mm, nn, kk) = (batch as i32, m as i32, n as i32, k as i32);
            let inputs = [
                x.as_ptr() as usize,
                w.as_ptr() as usize,
                bias.as_ptr() as usize,
                g.as_ptr() as usize,
                one.as_ptr() as usize,
            ];
            // Steps over registers 0 product, 1 bias (mode 2), 2 g, 3 one;
            // 4 pre (scratch), 5 t (out), 6 t² (scratch), 7 1 − t², 8 d (out).
            let steps = |product: i32, t: i32, d: i32| {
                #[rustfmt::skip]
                let v = vec![
                    size, 4, 5, 5,
                    product, F32, 0, 0, 2, F32, 2, nn, 3, F32, 0, 0, 4, F32, 1, 0,
                    F32, -1, F32, t, F32, -1, F32, -1, F32, d,
                    1, F32, ADD as i32, 4, 0, 1,
                    0, F32, TANH as i32, 5, 4, 0,
                    0, F32, SQUARE as i32, 6, 5, 0,
                    1, F32, SUB as i32, 7, 3, 6,
                    1, F32, MUL as i32, 8, 7, 2,
                ];
                v
            };
            let sb = 0; // one W for the whole batch
            let mut apart = vec![0usize; 8];
            apart[..5].copy_from_slice(&inputs);
            let mut code = vec![
                MAGIC,
                8,
                OP_MATMUL,
                14,
                F32,
                5,
                0,
                1,
                bm,
                mm,
                nn,
                kk,
                0,
                1,
                mm * kk,
                sb,
            ];
            let s = steps(5, 6, 7);
            code.extend([OP_FUSED, 2 + s.len() as i32]);
            code.extend(&s);
            assert_eq!(run(&code, &mut apart), 0);
            let mut one_go = vec![0usize; 7];
            one_go[..5].copy_from_slice(&inputs);
            let s = steps(-1, 5, 6);
            let mut code = vec![
                MAGIC,
                7,
                OP_MATMUL_FUSED,
                0,
                F32,
                0,
                1,
                bm,
                mm,
                nn,
                kk,
                0,
                1,
                mm * kk,
                sb,
            ];
            code.extend(&s);
            code[3] = code.len() as i32 - 2;
            // Split across (simulated) threads when large enough.
            crate::parallel::set_simulated_threads(3);
            let status = run(&code, &mut one_go);
            crate::parallel::set_simulated_threads(1);
            assert_eq!(status, 0);
            let len = batch * m * n;
            for (p, q) in [(apart[6], one_go[5]), (apart[7], one_go[6])] {
                let (u, v) = (read::<f32>(p, len), read::<f32>(q, len));
                for i in 0..len {
                    assert!(
                        (u[i] - v[i]).abs() <= 1e-6 * (1.0 + u[i].abs()),
                        "{m}x{n}x{k} at {i}: {} vs {}",
                        u[i],
                        v[i]
                    );
                }
            }
            free(apart[5], 4 * len);
            free(apart[6], 4 * len);
            free(apart[7], 4 * len);
            free(one_go[5], 4 * len);
            free(one_go[6], 4 * len);
        }
    }

    /// A product too small to split on its multiply-adds alone (128 × 256
    /// × 10) splits once its steps' work counts, with the same bits.
    #[test]
    fn the_steps_work_counts_toward_splitting_the_product() {
        use crate::parallel::{set_simulated_threads, simulated_splits};
        let (m, n, k) = (128usize, 256usize, 10usize);
        let x: Vec<f32> = (0..m * k).map(|i| (i % 19) as f32 * 0.05 - 0.4).collect();
        let w: Vec<f32> = (0..k * n).map(|i| (i % 23) as f32 * 0.03 - 0.3).collect();
        let g: Vec<f32> = (0..m * n).map(|i| (i % 7) as f32 * 0.1).collect();
        let size = (m * n) as i32;
        // out = tanh(x·w) · g: registers 0 product, 1 g; 2 t, 3 out.
        #[rustfmt::skip]
        let mut code = vec![
            MAGIC, 4, OP_MATMUL_FUSED, 0,
            F32, 0, 1, 1, m as i32, n as i32, k as i32, 0, 0, 0, 0,
            size, 2, 2, 2,
            -1, F32, 0, 0, 2, F32, 0, 0,
            F32, -1, F32, 3,
            0, F32, TANH as i32, 2, 0, 0,
            1, F32, MUL as i32, 3, 2, 1,
        ];
        code[3] = code.len() as i32 - 2;
        let mut outs = vec![];
        for threads in [1, 2] {
            set_simulated_threads(threads);
            let before = simulated_splits();
            let mut slots = [
                x.as_ptr() as usize,
                w.as_ptr() as usize,
                g.as_ptr() as usize,
                0,
            ];
            let status = run(&code, &mut slots);
            let split = simulated_splits() - before;
            set_simulated_threads(1);
            assert_eq!(status, 0);
            assert_eq!(split > 0, threads > 1, "{threads} threads");
            outs.push(read::<u32>(slots[3], m * n));
            free(slots[3], 4 * m * n);
        }
        assert_eq!(outs[0], outs[1]);
    }

    /// More scratch registers than an epilogue's stack scratch holds: the
    /// steps run after the product (here 70 negations: the product again).
    #[test]
    fn many_scratch_registers_run_after_the_product() {
        let (m, n, k) = (20usize, 30usize, 40usize);
        let x: Vec<f64> = (0..m * k).map(|i| (i % 13) as f64 - 6.0).collect();
        let w: Vec<f64> = (0..k * n).map(|i| (i % 7) as f64 * 0.5).collect();
        let neg = crate::elementwise::NEG as i32;
        let steps = 70;
        let mut code = vec![
            MAGIC,
            4,
            OP_MATMUL_FUSED,
            0,
            F64,
            0,
            1,
            1,
            m as i32,
            n as i32,
        ];
        code.extend([k as i32, 0, 0, 0, 0, (m * n) as i32, 1, steps, steps]);
        code.extend([-1, F64, 0, 0]);
        for t in 0..steps {
            code.extend([F64, if t == steps - 1 { 3 } else { -1 }]);
        }
        for t in 0..steps {
            code.extend([0, F64, neg, 1 + t, t, 0]);
        }
        code[3] = code.len() as i32 - 2;
        let mut fused = vec![x.as_ptr() as usize, w.as_ptr() as usize, 0, 0];
        assert_eq!(run(&code, &mut fused), 0);
        let mut plain = vec![x.as_ptr() as usize, w.as_ptr() as usize, 0];
        #[rustfmt::skip]
        let mm = [MAGIC, 3, OP_MATMUL, 14, F64, 2, 0, 1, 1, m as i32, n as i32, k as i32, 0, 0, 0, 0];
        assert_eq!(run(&mm, &mut plain), 0);
        assert_eq!(read::<f64>(fused[3], m * n), read::<f64>(plain[2], m * n));
        free(fused[3], 8 * m * n);
        free(plain[2], 8 * m * n);
    }

    #[test]
    fn a_product_input_must_be_whole_and_of_the_matmul_dtype() {
        let x = [1.0f64; 4];
        let mut slots = vec![x.as_ptr() as usize, x.as_ptr() as usize, 0];
        // [2, 2] @ [2, 2] f64; one step: out = neg(product).
        let neg = crate::elementwise::NEG as i32;
        let code = |dtype: i32, mode: i32| {
            #[rustfmt::skip]
            let c = vec![
                MAGIC, 3, OP_MATMUL_FUSED, 2 + 11 + 4 + 4 + 2 + 6,
                F64, 0, 1, 1, 2, 2, 2, 0, 0, 0, 0,
                4, 1, 1, 1,
                -1, dtype, mode, 2,
                F64, 2,
                0, F64, neg, 1, 0, 0,
            ];
            c
        };
        assert_eq!(run(&code(F64, 0), &mut slots), 0);
        assert_eq!(read::<f64>(slots[2], 4), vec![-2.0; 4]);
        free(slots[2], 32);
        slots[2] = 0;
        assert_eq!(run(&code(F32, 0), &mut slots), ERR_FIELD);
        assert_eq!(run(&code(F64, 2), &mut slots), ERR_FIELD);
        // Without OP_MATMUL_FUSED, slot −1 is just out of range.
        let mut plain = code(F64, 0)[15..].to_vec();
        plain.splice(0..0, [MAGIC, 3, OP_FUSED, 0]);
        plain[3] = plain.len() as i32 - 2;
        assert_eq!(run(&plain, &mut slots), ERR_SLOT);
        assert_eq!(slots[2], 0);
    }
}
