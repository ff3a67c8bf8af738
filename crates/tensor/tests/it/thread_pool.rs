//! The persistent pool runs the caller's part of every job and each other participant at most
//! once, hands out every chunk exactly once across many jobs, thread counts and concurrent
//! callers, and `matmul` gives the same result at every thread count.

use std::sync::atomic::{AtomicUsize, Ordering};

use tensor::cpu::{self, parallel};
use tensor::{ops, DType, Tensor};

#[test]
fn participants_run_at_most_once_per_job() {
    for threads in [1, 2, 3, 4] {
        for _ in 0..200 {
            let hits: Vec<AtomicUsize> = (0..threads).map(|_| AtomicUsize::new(0)).collect();
            parallel::run(threads, &|i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
            assert_eq!(hits[0].load(Ordering::Relaxed), 1);
            assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) <= 1));
        }
    }
}

#[test]
fn chunks_cover_the_range_once() {
    let n = 1000;
    let seen: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
    parallel::for_each_chunk(n, 7, 3, |r| {
        for i in r {
            seen[i].fetch_add(1, Ordering::Relaxed);
        }
    });
    assert!(seen.iter().all(|s| s.load(Ordering::Relaxed) == 1));
}

#[test]
fn concurrent_callers_do_not_mix_jobs() {
    std::thread::scope(|s| {
        for k in 0..3 {
            s.spawn(move || {
                for _ in 0..100 {
                    let total = AtomicUsize::new(0);
                    parallel::for_each_chunk(64, 4, 2, |r| {
                        total.fetch_add(r.len() * (k + 1), Ordering::Relaxed);
                    });
                    assert_eq!(total.load(Ordering::Relaxed), 64 * (k + 1));
                }
            });
        }
    });
}

#[test]
fn matmul_is_the_same_at_every_thread_count() {
    let (rows, cols, n) = (96, 512, 11);
    let w: Vec<f32> = (0..rows * cols)
        .map(|i| ((i * 7919) % 211) as f32 / 211.0 - 0.5)
        .collect();
    let x: Vec<f32> = (0..n * cols)
        .map(|i| ((i * 104729) % 97) as f32 / 97.0 - 0.5)
        .collect();
    for dtype in [DType::F16, DType::Q4_0, DType::Q4K, DType::Q6K] {
        let bytes = tensor::quant::quantize(dtype, &w);
        let len = bytes.len();
        let t = Tensor::from_shared(dtype, vec![rows, cols], std::sync::Arc::new(bytes), 0..len)
            .unwrap();
        let mut want = vec![0.0f32; n * rows];
        ops::matmul(cpu::best(), 1, &t, &x, n, &mut want).unwrap();
        for threads in [2, 3, 4] {
            let mut got = vec![0.0f32; n * rows];
            ops::matmul(cpu::best(), threads, &t, &x, n, &mut got).unwrap();
            assert_eq!(got, want, "{dtype} with {threads} threads");
        }
    }
}

#[test]
fn mutable_ranges_cover_the_output_once_including_a_short_last_item() {
    for (len, item, threads) in [(1000, 7, 3), (1024, 1024, 2), (5, 8, 4), (0, 3, 2)] {
        let mut out = vec![0u32; len];
        parallel::for_each_range_mut(&mut out, item, threads, |range, part| {
            assert_eq!(part.len(), (range.end * item).min(len) - range.start * item);
            for (k, v) in part.iter_mut().enumerate() {
                *v += (range.start * item + k) as u32 + 1;
            }
        });
        assert!(
            out.iter().enumerate().all(|(i, &v)| v == i as u32 + 1),
            "len {len} item {item}"
        );
    }
}
