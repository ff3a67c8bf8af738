//! Kernel micro-benchmark (`cargo bench -p tensor --bench kernels`): matrix × vector and
//! matrix × 64-token batches for each weight type on a matrix larger than the caches, with 1
//! and all physical cores, in file layout and (where the type has one) interleaved; prints GB/s of weights streamed and tokens·rows per second. A
//! measurement for humans, not a test: nothing is asserted.

use std::sync::Arc;
use std::time::Instant;

use tensor::cpu::{self, parallel};
use tensor::{ops, DType, Tensor};

fn main() {
    let filter = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    let (rows, cols) = (16384, 2048);
    let values: Vec<f32> = (0..rows * cols)
        .map(|i: usize| ((i.wrapping_mul(2654435761)) % 1000) as f32 / 1000.0 - 0.5)
        .collect();
    let threads = [1, parallel::physical_cores()];
    for dtype in [
        DType::F16,
        DType::Q8_0,
        DType::Q4_0,
        DType::Q4K,
        DType::Q5K,
        DType::Q6K,
        DType::Iq4Xs,
    ] {
        if filter
            .as_deref()
            .is_some_and(|f| !dtype.name().eq_ignore_ascii_case(f))
        {
            continue;
        }
        let bytes = tensor::quant::quantize(dtype, &values);
        let len = bytes.len();
        let w = Tensor::from_shared(dtype, vec![rows, cols], Arc::new(bytes), 0..len).unwrap();
        let interleaved = w.interleaved();
        for (layout, w) in
            std::iter::once(("rows", &w)).chain(interleaved.iter().map(|i| ("x8", i)))
        {
            for &t in &threads {
                for n in [1usize, 64] {
                    let x: Vec<f32> = (0..n * cols).map(|i| (i % 13) as f32 * 0.1 - 0.6).collect();
                    let mut out = vec![0.0f32; n * rows];
                    ops::matmul(cpu::best(), t, w, &x, n, &mut out).unwrap();
                    let reps = if n == 1 { 50 } else { 3 };
                    let mut best = f64::MAX;
                    for _ in 0..reps {
                        let s = Instant::now();
                        ops::matmul(cpu::best(), t, w, &x, n, &mut out).unwrap();
                        best = best.min(s.elapsed().as_secs_f64());
                    }
                    println!(
                    "{:6} {layout:4} threads {t} tokens {n:3}: {:7.2} ms, {:6.1} GB/s of weights, {:7.1} GMAC/s",
                    dtype.name(),
                    best * 1e3,
                    len as f64 / best / 1e9,
                    (rows * cols * n) as f64 / best / 1e9
                );
                }
            }
        }
    }
}
