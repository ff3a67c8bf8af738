//! The operations the models need, on f32 activations: matrix × activations for any weight
//! `DType`, RMSNorm, rotary position embedding in both pair layouts, softmax, SwiGLU and
//! residual add. Shapes are checked here, once per call; the kernels underneath do not check.

use crate::cpu::{parallel, KernelSet};
use crate::{Error, Result, Tensor};

/// `out[t][r] = Σ_c w[r][c] · x[t][c]` for `n_tokens` activation rows: `x` is
/// `[n_tokens, cols]`, `w` is `[rows, cols]`, `out` is `[n_tokens, rows]`.
/// Weight rows are the outer loop so each row is read once for the whole batch.
pub fn matmul(
    kernels: &KernelSet,
    threads: usize,
    w: &Tensor,
    x: &[f32],
    n_tokens: usize,
    out: &mut [f32],
) -> Result<()> {
    let (rows, cols) = (w.rows(), w.cols());
    if x.len() != n_tokens * cols || out.len() != n_tokens * rows {
        return Err(Error::ShapeMismatch {
            op: "matmul",
            detail: format!(
                "weight {:?}, {n_tokens} tokens: activations have {} values (want {}), \
                 output has {} (want {})",
                w.shape(),
                x.len(),
                n_tokens * cols,
                out.len(),
                n_tokens * rows
            ),
        });
    }
    let dot = kernels.dot(w.dtype());
    let out_ptr = SharedOut(out.as_mut_ptr());
    parallel::for_each_range(rows, threads, rows * cols * n_tokens, |range| {
        let out_ptr = &out_ptr;
        for r in range {
            let row = w.row_bytes(r);
            for t in 0..n_tokens {
                let v = dot(row, &x[t * cols..(t + 1) * cols]);
                // SAFETY: `t * rows + r < n_tokens * rows == out.len()`, and each `r` belongs
                // to exactly one range, so no two threads write the same element; `out` outlives
                // the scoped threads that `for_each_range` joins before returning.
                unsafe { *out_ptr.0.add(t * rows + r) = v };
            }
        }
    });
    Ok(())
}

/// A raw output pointer shared by threads that write disjoint elements.
struct SharedOut(*mut f32);
// SAFETY: used only by `matmul`, whose threads write disjoint elements and are joined before the
// borrow of the output slice ends.
unsafe impl Sync for SharedOut {}

/// RMSNorm of each `weight.len()`-wide row of `x` into `out`: x / sqrt(mean(x²) + eps) · weight.
pub fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    let dim = weight.len();
    debug_assert_eq!(x.len(), out.len());
    for (xr, or) in x.chunks_exact(dim).zip(out.chunks_exact_mut(dim)) {
        let mean_sq = xr.iter().map(|v| v * v).sum::<f32>() / dim as f32;
        let scale = 1.0 / (mean_sq + eps).sqrt();
        for ((o, &v), &w) in or.iter_mut().zip(xr).zip(weight) {
            *o = v * scale * w;
        }
    }
}

/// How rotary embedding pairs up the dimensions of a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeStyle {
    /// Pairs (2i, 2i+1): Meta's original layout, which GGUF `llama` files keep.
    Interleaved,
    /// Pairs (i, i + n_rot/2): GPT-NeoX / Hugging Face "rotate_half" layout.
    NeoX,
}

/// Rotates the first `2 · inv_freq.len()` dimensions of each `head_dim`-wide head in `x` by
/// the angles `pos · inv_freq[i]`.
pub fn rope(x: &mut [f32], head_dim: usize, pos: usize, inv_freq: &[f32], style: RopeStyle) {
    let half = inv_freq.len();
    debug_assert!(2 * half <= head_dim);
    for head in x.chunks_exact_mut(head_dim) {
        for (i, &f) in inv_freq.iter().enumerate() {
            let (sin, cos) = (pos as f32 * f).sin_cos();
            let (a, b) = match style {
                RopeStyle::Interleaved => (2 * i, 2 * i + 1),
                RopeStyle::NeoX => (i, i + half),
            };
            let (x0, x1) = (head[a], head[b]);
            head[a] = x0 * cos - x1 * sin;
            head[b] = x0 * sin + x1 * cos;
        }
    }
}

/// In-place softmax; the maximum is subtracted first for stability.
pub fn softmax(x: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in x.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    let inv = 1.0 / sum;
    x.iter_mut().for_each(|v| *v *= inv);
}

/// SwiGLU: `gate = silu(gate) · up`, element-wise.
pub fn silu_mul(gate: &mut [f32], up: &[f32]) {
    for (g, &u) in gate.iter_mut().zip(up) {
        *g = *g / (1.0 + (-*g).exp()) * u;
    }
}

/// `acc += x`, element-wise (the residual connection).
pub fn add_assign(acc: &mut [f32], x: &[f32]) {
    for (a, &v) in acc.iter_mut().zip(x) {
        *a += v;
    }
}
