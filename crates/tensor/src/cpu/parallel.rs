//! A persistent thread pool and the row-partitioned parallel-for the kernels use.
//!
//! Workers are started once and live for the process. A job is a `Fn(participant)` that the
//! caller runs as participant 0 while up to `threads − 1` workers join it as 1, 2, …; work is
//! shared through an atomic chunk counter inside the job, so it does not matter who joins.
//! When the caller has run out of work it closes the job: a worker that has not joined by then
//! (descheduled on a busy machine) skips it, so the caller waits only for workers that are
//! actually running it, and the job may borrow from the caller's stack. Between jobs a
//! worker spins for a short while (decode issues a job every few microseconds, and a wake-up
//! through the OS costs more than that), then sleeps on a condition variable. Work inside a job
//! is handed out in chunks from an atomic counter, so a core slowed by other load takes fewer.

use std::cell::UnsafeCell;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Work (in multiply-adds) below which splitting across threads costs more than it saves.
const MIN_PARALLEL_WORK: usize = 1 << 18;

/// How long an idle worker spins before it sleeps.
const SPIN: Duration = Duration::from_millis(3);

/// A job as the workers see it: the caller's closure with its lifetime erased.
type Job = *const (dyn Fn(usize) + Sync);

struct Shared {
    /// Job sequence number (upper bits) and number of helpers (low 16 bits), published together
    /// once per job so a worker reads a consistent pair; workers wait for it to change.
    epoch: AtomicU64,
    /// The current job; written only by the submitter while no worker runs a job.
    job: UnsafeCell<Option<Job>>,
    /// Gate of the current job: sequence number (upper 32 bits), a closed flag (bit 31) and
    /// the number of workers that joined (low bits). A worker joins only while it is open.
    gate: AtomicU64,
    /// Workers that finished the current job.
    done: AtomicUsize,
    /// A worker's job panicked.
    panicked: AtomicBool,
    /// Workers sleeping (or about to) on `wake`.
    sleepers: AtomicUsize,
    sleep_lock: Mutex<()>,
    wake: Condvar,
}

// SAFETY: `job` is written only by the one submitter holding `Pool::submit`, before it
// publishes the epoch (Release) and while every worker is idle; workers read it only after
// observing that epoch (Acquire). The closure it points to is `Sync`.
unsafe impl Sync for Shared {}

/// The process-wide pool.
struct Pool {
    shared: &'static Shared,
    /// Held for the duration of a job (one job at a time); the value is the worker count.
    submit: Mutex<usize>,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        shared: Box::leak(Box::new(Shared {
            epoch: AtomicU64::new(0),
            job: UnsafeCell::new(None),
            gate: AtomicU64::new(0),
            done: AtomicUsize::new(0),
            panicked: AtomicBool::new(false),
            sleepers: AtomicUsize::new(0),
            sleep_lock: Mutex::new(()),
            wake: Condvar::new(),
        })),
        submit: Mutex::new(0),
    })
}

fn worker(shared: &'static Shared, index: usize, mut seen: u64) {
    loop {
        let start = Instant::now();
        let mut spins = 0u32;
        loop {
            let e = shared.epoch.load(Ordering::Acquire);
            if e != seen {
                seen = e;
                break;
            }
            spins = spins.wrapping_add(1);
            if !spins.is_multiple_of(256) || start.elapsed() < SPIN {
                std::hint::spin_loop();
                continue;
            }
            let guard = shared.sleep_lock.lock().unwrap_or_else(|e| e.into_inner());
            shared.sleepers.fetch_add(1, Ordering::SeqCst);
            let mut guard = guard;
            while shared.epoch.load(Ordering::SeqCst) == seen {
                guard = shared.wake.wait(guard).unwrap_or_else(|e| e.into_inner());
            }
            shared.sleepers.fetch_sub(1, Ordering::SeqCst);
            drop(guard);
        }
        if index as u64 <= seen & 0xffff && join(shared, seen >> 16) {
            // SAFETY: the submitter wrote `job` before publishing the epoch we just observed,
            // and keeps the closure alive until every worker that joined has incremented `done`.
            let job = unsafe { (*shared.job.get()).expect("a job is published with its epoch") };
            // SAFETY: as above, the pointee outlives this call.
            let f = unsafe { &*job };
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(index))).is_err() {
                shared.panicked.store(true, Ordering::Release);
            }
            shared.done.fetch_add(1, Ordering::AcqRel);
        }
    }
}

/// Bit of `Shared::gate` that marks the job closed.
const CLOSED: u64 = 1 << 31;

/// Joins job `seq` if it is still open.
fn join(shared: &Shared, seq: u64) -> bool {
    let mut s = shared.gate.load(Ordering::Acquire);
    loop {
        if s >> 32 != seq & 0xffff_ffff || s & CLOSED != 0 {
            return false;
        }
        match shared
            .gate
            .compare_exchange_weak(s, s + 1, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => return true,
            Err(now) => s = now,
        }
    }
}

/// Runs `f(0)` on the calling thread and `f(1)`, …, `f(threads − 1)` on pool workers that join
/// before `f(0)` returns, and returns when every call made has returned. A participant may be
/// skipped (its worker was busy or descheduled), so `f` must share its work dynamically, as
/// `for_each_chunk` does. Jobs from different callers run one after another.
pub fn run(threads: usize, f: &(dyn Fn(usize) + Sync)) {
    if threads <= 1 {
        f(0);
        return;
    }
    let pool = pool();
    let shared = pool.shared;
    let mut workers = pool.submit.lock().unwrap_or_else(|e| e.into_inner());
    let helpers = (threads - 1).min(0xffff);
    while *workers < helpers {
        *workers += 1;
        let (index, seen) = (*workers, shared.epoch.load(Ordering::Acquire));
        std::thread::Builder::new()
            .name(format!("behemoth-worker-{index}"))
            .spawn(move || worker(shared, index, seen))
            .expect("spawning a worker thread");
    }
    // SAFETY: the closure is erased to 'static only for the workers, and this function does not
    // return before every worker that joined has finished calling it (the wait on `done`
    // below); workers that did not join never read it.
    let job: Job = unsafe { std::mem::transmute::<&(dyn Fn(usize) + Sync), Job>(f) };
    // SAFETY: we hold `submit`, and every worker that joined the previous job finished it (we
    // waited for its `done` count) while the others can no longer join it, so no one reads
    // `job` now.
    unsafe { *shared.job.get() = Some(job) };
    shared.done.store(0, Ordering::Release);
    let seq = (shared.epoch.load(Ordering::Relaxed) >> 16) + 1;
    shared
        .gate
        .store((seq & 0xffff_ffff) << 32, Ordering::Release);
    shared
        .epoch
        .store((seq << 16) | helpers as u64, Ordering::SeqCst);
    if shared.sleepers.load(Ordering::SeqCst) > 0 {
        let _g = shared.sleep_lock.lock().unwrap_or_else(|e| e.into_inner());
        shared.wake.notify_all();
    }
    let mine = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(0)));
    let joined = (shared.gate.fetch_or(CLOSED, Ordering::AcqRel) & (CLOSED - 1)) as usize;
    let mut spins = 0u32;
    while shared.done.load(Ordering::Acquire) < joined {
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(1024) {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
    let theirs = shared.panicked.swap(false, Ordering::AcqRel);
    drop(workers);
    if let Err(p) = mine {
        std::panic::resume_unwind(p);
    }
    assert!(!theirs, "a worker thread panicked");
}

/// Runs `f` over `0..n` in chunks of `chunk` (the last may be shorter) on up to `threads`
/// threads; each chunk goes to whichever thread asks next.
pub fn for_each_chunk(n: usize, chunk: usize, threads: usize, f: impl Fn(Range<usize>) + Sync) {
    let chunk = chunk.max(1);
    let threads = threads.clamp(1, n.div_ceil(chunk).max(1));
    if threads == 1 {
        f(0..n);
        return;
    }
    let next = AtomicUsize::new(0);
    run(threads, &|_| loop {
        let start = next.fetch_add(chunk, Ordering::Relaxed);
        if start >= n {
            break;
        }
        f(start..(start + chunk).min(n));
    });
}

/// Runs `f` over `0..n` split into chunks for up to `threads` threads. `work` is the total
/// amount of work, used to decide whether threads are worth waking.
pub fn for_each_range(n: usize, threads: usize, work: usize, f: impl Fn(Range<usize>) + Sync) {
    if threads <= 1 || work < MIN_PARALLEL_WORK {
        f(0..n);
        return;
    }
    let chunk = n.div_ceil(threads * 8).max(1);
    for_each_chunk(n, chunk, threads, f);
}

/// Runs `f` over the `n = ⌈out.len() / item⌉` items of `item` elements each (the last may be
/// shorter), in about eight chunks per thread, handing `f` the item range together with those items of `out`, mutably: threads
/// write disjoint parts of one output without unsafe code at the caller. The caller decides
/// whether the work is worth the threads.
pub fn for_each_range_mut<T: Send>(
    out: &mut [T],
    item: usize,
    threads: usize,
    f: impl Fn(Range<usize>, &mut [T]) + Sync,
) {
    let item = item.max(1);
    let len = out.len();
    let n = len.div_ceil(item);
    let base = SharedSlice(out.as_mut_ptr());
    let chunk = n.div_ceil(threads.max(1) * 8).max(1);
    for_each_chunk(n, chunk, threads, |range| {
        let (start, end) = (range.start * item, (range.end * item).min(len));
        // SAFETY: `range` lies inside `0..n`, so `start..end` lies inside `out`; the ranges
        // handed out by `for_each_chunk` are disjoint, so no element is borrowed twice; `out`
        // stays mutably borrowed until every thread has finished.
        let part = unsafe { std::slice::from_raw_parts_mut(base.get().add(start), end - start) };
        f(range, part);
    });
}

/// A raw pointer to the output of `for_each_range_mut`, shared by its threads.
struct SharedSlice<T>(*mut T);
impl<T> SharedSlice<T> {
    fn get(&self) -> *mut T {
        self.0
    }
}
// SAFETY: the threads of `for_each_range_mut` write disjoint ranges through it.
unsafe impl<T: Send> Sync for SharedSlice<T> {}

/// Physical cores of this machine (logical CPUs when that cannot be read), the default thread
/// count: a second hyper-thread on a core shares its load ports and adds nothing to a
/// bandwidth-bound matrix-vector product.
pub fn physical_cores() -> usize {
    let logical = std::thread::available_parallelism().map_or(1, |n| n.get());
    #[cfg(target_os = "linux")]
    if let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") {
        let mut cores = std::collections::HashSet::new();
        let mut physical = String::new();
        for line in info.lines() {
            if let Some(v) = line.strip_prefix("physical id") {
                physical = v.trim_start_matches([' ', '\t', ':']).to_string();
            } else if let Some(v) = line.strip_prefix("core id") {
                cores.insert((
                    physical.clone(),
                    v.trim_start_matches([' ', '\t', ':']).to_string(),
                ));
            }
        }
        if !cores.is_empty() {
            return cores.len().min(logical);
        }
    }
    logical
}
