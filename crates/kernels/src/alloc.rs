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

fn layout(bytes: usize) -> Option<Layout> {
    Layout::from_size_align(bytes.max(ALIGN), ALIGN).ok()
}

/// Allocate `bytes` (uninitialised, 16-byte aligned). Returns 0 when out of
/// memory (the caller throws a RangeError; no trap).
#[wasm_bindgen]
pub fn alloc(bytes: usize) -> usize {
    match layout(bytes) {
        Some(l) => unsafe { raw_alloc(l) as usize },
        None => 0,
    }
}

/// Free a block from [`alloc`] (same `bytes`). `ptr == 0` is ignored.
#[wasm_bindgen]
pub fn free(ptr: usize, bytes: usize) {
    if ptr == 0 {
        return;
    }
    if let Some(l) = layout(bytes) {
        unsafe { dealloc(ptr as *mut u8, l) }
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
}
