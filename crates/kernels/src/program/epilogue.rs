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

use super::fused::Body;
use super::*;
use crate::gemm::{Epilogue, MatmulEpilogue};
use core::cell::RefCell;

/// The steps of an instruction as a GEMM epilogue on an `n`-column product.
struct Steps<'a, 'b> {
    body: &'a Body<'b>,
    n: usize,
    /// The first failure (the GEMM cannot stop early; later blocks skip).
    failed: RefCell<Option<Fail>>,
}

impl<T> Epilogue<T> for Steps<'_, '_> {
    unsafe fn apply(&self, row: usize, col: usize, _: *mut T, _: usize, rows: usize, cols: usize) {
        if self.failed.borrow().is_some() {
            return;
        }
        let n = self.n;
        let r = self.body.with_scratch(&mut |scratch| {
            if col == 0 && cols == n {
                return self.body.run_with(scratch, row * n, (row + rows) * n);
            }
            for i in row..row + rows {
                self.body
                    .run_with(scratch, i * n + col, i * n + col + cols)?;
            }
            Ok(())
        });
        if let Err(e) = r {
            *self.failed.borrow_mut() = Some(e);
        }
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
        let result = self.fused_body(&f[11..], Some((c, f[0])), &mut |body, _| {
            if size == 0 {
                return Ok(());
            }
            let ep = Steps {
                body,
                n,
                failed: RefCell::new(None),
            };
            // SAFETY: sizes as the instruction states (the compiler's contract).
            let status = unsafe {
                if f64_ {
                    f64::matmul_epilogue(a, b, c, batch, m, n, k, trans, strides, &ep)
                } else {
                    f32::matmul_epilogue(a, b, c, batch, m, n, k, trans, strides, &ep)
                }
            };
            if let Some(e) = ep.failed.into_inner() {
                return Err(e);
            }
            if status != 0 {
                return Err(ERR_OOM.into());
            }
            Ok(())
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

    fn run(code: &[i32], slots: &mut [usize]) -> i32 {
        run_program(
            code.as_ptr() as usize,
            code.len(),
            slots.as_mut_ptr() as usize,
            0,
        )
    }

    fn read<T: Copy>(p: usize, n: usize) -> Vec<T> {
        unsafe { core::slice::from_raw_parts(p as *const T, n).to_vec() }
    }

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
            assert_eq!(run(&code, &mut one_go), 0);
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
