//! Byte copies that stay inside WebAssembly for small sizes. Why: with bulk
//! memory, a copy of run-time length compiles to `memory.copy`, which V8
//! runs as a call out to C; for the 64-byte slices a loop body reads and
//! writes every step, that call costs more than the copy.

/// Copies `bytes` from `src` to `dst`, which must not overlap. Up to 64
/// bytes it moves at most four overlapping 16-byte words (straight-line
/// code: a copy loop would be turned back into `memory.copy`).
///
/// # Safety
/// `src` readable and `dst` writable for `bytes` bytes (any alignment).
#[inline]
pub unsafe fn copy(src: *const u8, dst: *mut u8, bytes: usize) {
    // Words at `i` and at `bytes - w`, read before anything is written.
    unsafe fn ends<T: Copy>(src: *const u8, dst: *mut u8, bytes: usize) {
        let w = core::mem::size_of::<T>();
        let a = (src as *const T).read_unaligned();
        let b = (src.add(bytes - w) as *const T).read_unaligned();
        (dst as *mut T).write_unaligned(a);
        (dst.add(bytes - w) as *mut T).write_unaligned(b);
    }
    match bytes {
        0 => {}
        1..=3 => {
            for i in 0..bytes {
                *dst.add(i) = *src.add(i);
            }
        }
        4..=7 => ends::<u32>(src, dst, bytes),
        8..=15 => ends::<u64>(src, dst, bytes),
        16..=32 => ends::<u128>(src, dst, bytes),
        33..=64 => {
            ends::<u128>(src, dst, 32);
            ends::<u128>(src.add(bytes - 32), dst.add(bytes - 32), 32);
        }
        _ => core::ptr::copy_nonoverlapping(src, dst, bytes),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn copies_every_length_and_offset() {
        let src: Vec<u8> = (0..700u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in (0..=80).chain([511, 512, 513, 600]) {
            for off in [0, 1, 3] {
                let mut dst = vec![0xAAu8; 700];
                unsafe { super::copy(src.as_ptr().add(off), dst.as_mut_ptr().add(off), len) };
                assert_eq!(&dst[off..off + len], &src[off..off + len]);
                assert!(dst[..off]
                    .iter()
                    .chain(&dst[off + len..])
                    .all(|&b| b == 0xAA));
            }
        }
    }
}
