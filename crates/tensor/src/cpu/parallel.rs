//! Row-partitioned parallel-for: splits `0..n` into one contiguous range per thread and runs
//! them on scoped threads. Work too small to repay a thread start runs inline.

use std::ops::Range;

/// Work (in multiply-adds) below which splitting across threads costs more than it saves.
const MIN_PARALLEL_WORK: usize = 1 << 18;

/// Runs `f` over `0..n` split into up to `threads` contiguous ranges. `work` is the total
/// amount of work, used to decide whether threads are worth starting.
pub fn for_each_range(n: usize, threads: usize, work: usize, f: impl Fn(Range<usize>) + Sync) {
    let threads = threads.clamp(1, n.max(1));
    if threads == 1 || work < MIN_PARALLEL_WORK {
        f(0..n);
        return;
    }
    let chunk = n.div_ceil(threads);
    std::thread::scope(|s| {
        let f = &f;
        let mut ranges = (0..n)
            .step_by(chunk)
            .map(|start| start..(start + chunk).min(n));
        let first = ranges.next();
        for r in ranges {
            s.spawn(move || f(r));
        }
        if let Some(r) = first {
            f(r);
        }
    });
}
