//! Work sharing across WebAssembly threads: the GEMM, and ranges of
//! elements, rows or columns of the program executor's instructions.
//!
//! The host (src/backend/thread_pool.ts) may run more instances of this
//! module in workers over the same shared linear memory, each on its own
//! stack and with no data segments of its own. A kernel that splits its work
//! writes a job description in memory, asks the host to run parts `1..parts`
//! on workers ([`spawn`]), runs part 0 itself and waits ([`join`]). Workers
//! enter through [`run_part`]. Code that a worker runs must not allocate or
//! touch mutable statics: the allocator's state belongs to the main
//! instance, so every buffer a part needs is allocated before the spawn.
//!
//! Without threads (a single-threaded host, or native builds) [`threads`]
//! is 1 and nothing here runs. Native test builds can set a simulated
//! thread count; their parts then run one after another on the caller's
//! thread, which exercises the same partitioning.

use wasm_bindgen::prelude::*;

/// The most parts one job is split into.
pub const MAX_PARTS: usize = 16;

/// Products smaller than this many multiply-adds stay on one thread: waking a
/// worker costs a few microseconds, about what 2¹⁸ multiply-adds take.
pub const MIN_PARALLEL_WORK: u64 = 1 << 19;

#[cfg(target_arch = "wasm32")]
mod host {
    #[link(wasm_import_module = "jacobi_threads")]
    extern "C" {
        /// Threads usable now, the caller's included (1 without a pool).
        pub fn threads() -> u32;
        /// Runs `run_part(job, p)` for `p` in `1..parts` on workers.
        pub fn spawn(job: usize, parts: u32);
        /// Returns when every part of the last spawn has finished.
        pub fn join();
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod host {
    use core::cell::Cell;

    std::thread_local! {
        /// Simulated thread count for native tests (per test thread, so
        /// tests running at once do not see each other's).
        pub static THREADS: Cell<u32> = const { Cell::new(1) };
        /// Jobs split so far on this thread.
        pub static SPLITS: Cell<u32> = const { Cell::new(0) };
    }

    pub unsafe fn threads() -> u32 {
        THREADS.with(Cell::get)
    }
    pub unsafe fn spawn(job: usize, parts: u32) {
        SPLITS.with(|s| s.set(s.get() + 1));
        for p in 1..parts {
            super::run_part(job, p as usize);
        }
    }
    pub unsafe fn join() {}
}

/// Simulates `n` threads in native test builds (parts run in turn), on the
/// calling thread.
#[cfg(all(test, not(target_arch = "wasm32")))]
pub fn set_simulated_threads(n: u32) {
    host::THREADS.with(|t| t.set(n));
}

/// Jobs split so far on the calling thread, in native test builds.
#[cfg(all(test, not(target_arch = "wasm32")))]
pub fn simulated_splits() -> u32 {
    host::SPLITS.with(core::cell::Cell::get)
}

/// Elementwise work below this many element-steps (elements times the
/// steps run on each) stays on one thread. Measured in wasm with two
/// threads: an f32 add is ~0.3 ns per element, a tanh ~2 ns, and a fork and
/// join costs a few microseconds.
pub const MIN_PARALLEL_ELEMENTS: u64 = 1 << 16;

/// The first word of every job: which kernel [`run_part`] hands it to.
pub const JOB_GEMM: u32 = 1;
/// A [`RangeJob`].
pub const JOB_RANGE: u32 = 2;

/// How many parts a job of `work` multiply-adds should be split into.
pub fn parts_for(work: u64) -> usize {
    if work < MIN_PARALLEL_WORK {
        return 1;
    }
    (unsafe { host::threads() } as usize).clamp(1, MAX_PARTS)
}

/// How many parts `n` elements that each take `steps` steps should be
/// split into (1: stay on this thread).
pub fn parts_for_elements(n: usize, steps: usize) -> usize {
    let work = (n as u64).saturating_mul(steps.max(1) as u64);
    if work < MIN_PARALLEL_ELEMENTS {
        return 1;
    }
    (unsafe { host::threads() } as usize).clamp(1, MAX_PARTS)
}

/// One split range, as the workers read it: `run(p, lo, hi)` for each part
/// `p` of `[0, len)` cut at multiples of `granule`.
#[repr(C)]
struct RangeJob<'a> {
    kind: u32,
    parts: usize,
    len: usize,
    granule: usize,
    run: &'a (dyn Fn(usize, usize, usize) + Sync),
}

/// Runs `run(p, lo, hi)` for the `parts` parts of `[0, len)` cut at
/// multiples of `granule` ([`part_range`]), part 0 on this thread and the
/// others on workers, and returns when all have finished. `run` is called
/// on workers: it must not allocate or touch mutable statics.
pub fn split_range(
    parts: usize,
    len: usize,
    granule: usize,
    run: &(dyn Fn(usize, usize, usize) + Sync),
) {
    let parts = parts.clamp(1, MAX_PARTS);
    let job = RangeJob {
        kind: JOB_RANGE,
        parts,
        len,
        granule,
        run,
    };
    let at = &job as *const RangeJob as usize;
    if parts == 1 {
        run_range_part(at, 0);
        return;
    }
    // SAFETY: `job` lives until every part has joined.
    unsafe { fork_join(at, parts, || run_range_part(at, 0)) }
}

fn run_range_part(job: usize, part: usize) {
    let j = unsafe { &*(job as *const RangeJob) };
    let (lo, hi) = part_range(j.len, j.granule, j.parts, part);
    (j.run)(part, lo, hi);
}

/// Runs `job`'s part 0 with `run0` while the workers run parts `1..parts`.
///
/// # Safety
/// `job` must point at a job that [`run_part`] understands and stay valid
/// until this returns.
pub unsafe fn fork_join(job: usize, parts: usize, run0: impl FnOnce()) {
    host::spawn(job, parts as u32);
    run0();
    host::join();
}

/// Rows (or columns) `[lo, hi)` of part `p` of `parts` when `len` is cut at
/// multiples of `granule`; parts differ by at most one granule.
pub fn part_range(len: usize, granule: usize, parts: usize, p: usize) -> (usize, usize) {
    let chunks = len.div_ceil(granule);
    let lo = chunks * p / parts * granule;
    let hi = (chunks * (p + 1) / parts * granule).min(len);
    (lo.min(len), hi)
}

/// A worker's entry: runs part `part` of the job at `job`, whose first word
/// says which kernel it is.
#[wasm_bindgen]
pub fn run_part(job: usize, part: usize) {
    match unsafe { *(job as *const u32) } {
        JOB_GEMM => unsafe { crate::gemm::run_gemm_part(job, part) },
        JOB_RANGE => run_range_part(job, part),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_without_overlap() {
        for &(len, g) in &[(17usize, 8usize), (512, 8), (5, 6), (100, 5), (0, 8)] {
            for parts in 1..6 {
                let mut next = 0;
                for p in 0..parts {
                    let (lo, hi) = part_range(len, g, parts, p);
                    assert_eq!(lo, next, "len {len} g {g} parts {parts}");
                    assert!(hi >= lo);
                    assert!(lo % g == 0 || lo == len);
                    next = hi;
                }
                assert_eq!(next, len);
            }
        }
    }
}
