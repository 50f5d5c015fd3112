//! Allocator exports for tensor storage in linear memory.
//!
//! Every block is 16-byte aligned (so any f32x4/f64x2 load on a whole
//! vector is aligned) and at least 16 bytes, so `alloc(0)` returns a valid,
//! unique, non-null pointer. `free` must get the same byte count. Backed by
//! Rust's global allocator (dlmalloc on wasm32), which reuses freed blocks;
//! linear memory never shrinks, it only grows.

use std::alloc::{alloc as raw_alloc, dealloc, Layout};
use wasm_bindgen::prelude::*;

const ALIGN: usize = 16;

/// Alignment the global allocator gives without its `memalign` path
/// (dlmalloc on wasm32 hands out 8-byte-aligned chunks; asking it for 16
/// over-allocates and splits every block, about three mallocs' work).
const BASE: usize = 8;

/// A block of `bytes` from the global allocator at its own alignment,
/// with room to move the start up to the next multiple of [`ALIGN`]; the
/// distance moved sits in the byte just before the returned address.
fn layout(bytes: usize) -> Option<Layout> {
    let size = bytes.max(ALIGN).checked_add(ALIGN)?;
    Layout::from_size_align(size, BASE).ok()
}

/// Allocate `bytes` (uninitialised, 16-byte aligned). Returns 0 when out of
/// memory (the caller throws a RangeError; no trap).
#[wasm_bindgen]
pub fn alloc(bytes: usize) -> usize {
    let Some(l) = layout(bytes) else {
        return 0;
    };
    let raw = unsafe { raw_alloc(l) } as usize;
    if raw == 0 {
        return 0;
    }
    // 1..=16 bytes up: there is always a byte below the block for the shift.
    let p = (raw + ALIGN) & !(ALIGN - 1);
    unsafe { *((p - 1) as *mut u8) = (p - raw) as u8 };
    p
}

/// Free a block from [`alloc`] (same `bytes`). `ptr == 0` is ignored.
#[wasm_bindgen]
pub fn free(ptr: usize, bytes: usize) {
    if ptr == 0 {
        return;
    }
    if let Some(l) = layout(bytes) {
        let raw = ptr - unsafe { *((ptr - 1) as *const u8) } as usize;
        unsafe { dealloc(raw as *mut u8, l) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_and_nonnull() {
        let p0 = alloc(0);
        let p1 = alloc(0);
        assert!(p0 != 0 && p1 != 0 && p0 != p1);
        let p = alloc(1000);
        assert_eq!(p % 16, 0);
        assert_eq!(p0 % 16, 0);
        free(p, 1000);
        free(p0, 0);
        free(p1, 0);
        free(0, 0);
    }

    #[test]
    fn blocks_are_aligned_writable_and_disjoint() {
        // Many sizes at once: every block 16-aligned, filled with its own
        // byte, still intact when all are written, then freed.
        let sizes: Vec<usize> = (0..200).map(|i| (i * 37) % 300).collect();
        let blocks: Vec<(usize, usize)> = sizes.iter().map(|&b| (alloc(b), b)).collect();
        for (k, &(p, b)) in blocks.iter().enumerate() {
            assert_eq!(p % 16, 0);
            unsafe { core::ptr::write_bytes(p as *mut u8, k as u8, b) };
        }
        for (k, &(p, b)) in blocks.iter().enumerate() {
            let s = unsafe { core::slice::from_raw_parts(p as *const u8, b) };
            assert!(s.iter().all(|&v| v == k as u8), "block {k}");
        }
        for (p, b) in blocks {
            free(p, b);
        }
    }
}
