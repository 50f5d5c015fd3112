//! Byte copies that stay inside WebAssembly for small sizes. Why: with bulk
//! memory, a copy of run-time length compiles to `memory.copy`, which V8
//! runs as a call out to C; for the 64-byte slices a loop body reads and
//! writes every step, that call costs more than the copy.

/// Bytes up to which [`copy`] moves the words itself.
const SMALL: usize = 512;

/// Copies `bytes` from `src` to `dst`, which must not overlap.
///
/// # Safety
/// `src` readable and `dst` writable for `bytes` bytes (any alignment).
#[inline]
pub unsafe fn copy(src: *const u8, dst: *mut u8, bytes: usize) {
    if bytes > SMALL {
        core::ptr::copy_nonoverlapping(src, dst, bytes);
        return;
    }
    let mut i = 0;
    while i + 8 <= bytes {
        // Volatile, so that the loop is not turned back into memory.copy.
        let v = core::ptr::read_volatile(src.add(i) as *const [u8; 8]);
        core::ptr::write_volatile(dst.add(i) as *mut [u8; 8], v);
        i += 8;
    }
    while i < bytes {
        *dst.add(i) = *src.add(i);
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn copies_every_length_and_offset() {
        let src: Vec<u8> = (0..700u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in [0, 1, 7, 8, 9, 63, 64, 65, 511, 512, 513, 600] {
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
