//! The operations the models need, on f32 activations: matrix × activations for any weight
//! `DType`, RMSNorm, rotary position embedding in both pair layouts, softmax, SwiGLU and
//! residual add. Shapes are checked here, once per call; the kernels underneath do not check.

use crate::cpu::{parallel, CacheRows, GroupFn, KernelSet};
use crate::interleaved::{self, ROWS};
use crate::quant::activation::ActFormat;
use crate::{Error, Layout, Result, Tensor};

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
    check_product("matmul", w, x, n_tokens, out)?;
    let out_ptr = SharedOut(out.as_mut_ptr());
    let store = |t: usize, r: usize, v: f32| {
        // SAFETY: `t < n_tokens` and `r < rows`, so `t * rows + r < out.len()`; each row `r`
        // belongs to exactly one chunk, so no two threads write the same element; `out`
        // outlives the parallel-for, which joins its threads before returning.
        unsafe { *out_ptr.get().add(t * rows + r) = v };
    };
    let dtype = w.dtype();
    let chunk = row_chunk(rows, n_tokens, threads);
    let work = rows * cols * n_tokens;
    match ActFormat::for_weights(dtype) {
        None => {
            let tile = kernels
                .float_tile(dtype)
                .expect("every plain-float type has a kernel");
            if n_tokens == 1 {
                // One row at a time: one sequential stream per thread, the least overhead.
                let dot = kernels.dot_float(dtype).expect("as for the tiles");
                parallel::for_each_chunk(rows, chunk, threads_for(work, threads), |range| {
                    for r in range {
                        store(0, r, dot(w.row_bytes(r), x));
                    }
                });
                return Ok(());
            }
            // Two rows by three tokens per call: every load is used six times.
            let tile_rows = 2;
            parallel::for_each_chunk(rows, chunk, threads_for(work, threads), |range| {
                let mut values = [[0.0f32; 4]; 3];
                for t0 in (0..n_tokens).step_by(TOKEN_TILE) {
                    let t_end = (t0 + TOKEN_TILE).min(n_tokens);
                    for r0 in range.clone().step_by(tile_rows) {
                        let r_end = (r0 + tile_rows).min(range.end);
                        let ws: [&[u8]; 2] =
                            std::array::from_fn(|k| w.row_bytes((r0 + k).min(r_end - 1)));
                        for t1 in (t0..t_end).step_by(3) {
                            let t2 = (t1 + 3).min(t_end);
                            let xs: [&[f32]; 3] = std::array::from_fn(|k| {
                                let t = (t1 + k).min(t2 - 1);
                                &x[t * cols..(t + 1) * cols]
                            });
                            tile(&ws[..r_end - r0], &xs[..t2 - t1], &mut values);
                            for (t, row) in (t1..t2).zip(&values) {
                                for (r, &v) in (r0..r_end).zip(row) {
                                    store(t, r, v);
                                }
                            }
                        }
                    }
                }
            });
        }
        Some(format) => {
            let dot = kernels
                .dot_quant(dtype)
                .expect("every quantized type has a kernel");
            let act_row = format.row_bytes(cols);
            with_quantized(format, threads, x, cols, |act| {
                let w_row = dtype
                    .row_bytes(cols)
                    .expect("checked when the tensor was built");
                let a = |t: usize| &act[t * act_row..(t + 1) * act_row];
                let mut first_row = 0;
                let in_file_layout = w.layout() == Layout::Rows;
                let grouped = kernels
                    .interleaved(dtype)
                    .filter(|_| !in_file_layout || n_tokens >= 2);
                if let Some(kernel) = grouped {
                    let groups = rows / ROWS;
                    first_row = groups * ROWS;
                    let job = GroupJob {
                        interleave: in_file_layout,
                        kernel,
                        act,
                        act_row,
                        n_tokens,
                        threads: threads_for(work, threads),
                    };
                    job.run([w], groups, |t0, r0, [lanes]| {
                        // SAFETY: the tokens `t0..` and rows `r0..r0 + 8` the job hands out lie
                        // inside `out`; a group (its rows) belongs to one chunk, so no two
                        // threads write them; `out` outlives the parallel-for.
                        unsafe { out_ptr.store_lanes(t0, r0, rows, lanes) };
                    });
                }
                let dot4 = kernels.dot4_quant(dtype);
                let w_bytes = w.bytes();
                let tail = rows - first_row;
                parallel::for_each_chunk(tail, chunk, threads_for(work, threads), |range| {
                    let range = first_row + range.start..first_row + range.end;
                    for t0 in (0..n_tokens).step_by(TOKEN_TILE) {
                        let t_end = (t0 + TOKEN_TILE).min(n_tokens);
                        for r in range.clone() {
                            let row = &w_bytes[r * w_row..(r + 1) * w_row];
                            let mut t = t0;
                            if let Some(dot4) = dot4 {
                                while t + 4 <= t_end {
                                    let v = dot4(row, [a(t), a(t + 1), a(t + 2), a(t + 3)]);
                                    for (k, v) in v.into_iter().enumerate() {
                                        store(t + k, r, v);
                                    }
                                    t += 4;
                                }
                            }
                            for t in t..t_end {
                                store(t, r, dot(row, a(t)));
                            }
                        }
                    }
                });
            });
        }
    }
    Ok(())
}

/// Checks that `x` holds `n_tokens` rows of `w`'s width and `out` `n_tokens` rows of its height.
fn check_product(
    op: &'static str,
    w: &Tensor,
    x: &[f32],
    n_tokens: usize,
    out: &[f32],
) -> Result<()> {
    let (rows, cols) = (w.rows(), w.cols());
    if x.len() != n_tokens * cols || out.len() != n_tokens * rows {
        return Err(Error::ShapeMismatch {
            op,
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
    Ok(())
}

/// One product over groups of eight rows (`crate::interleaved`): the quantized activations of
/// `n_tokens` tokens (rows of `act_row` bytes) against the groups of one or more weights of the
/// same type and shape, read in place from weights interleaved at load, or (`interleave`)
/// interleaved a group at a time per call from weights in file layout.
struct GroupJob<'a> {
    interleave: bool,
    kernel: GroupFn,
    act: &'a [u8],
    act_row: usize,
    n_tokens: usize,
    threads: usize,
}

impl GroupJob<'_> {
    /// For groups `0..groups` of each of the `K` weights `ws` (a few per work item, spread
    /// over the threads) calls `emit(t0, r0, lanes)` with the K weights' values of rows
    /// `r0..r0 + 8` for tokens `t0..t0 + lanes[k].len()` (up to four at a time), for every
    /// token.
    fn run<const K: usize>(
        &self,
        ws: [&Tensor; K],
        groups: usize,
        emit: impl Fn(usize, usize, [&mut [[f32; ROWS]]; K]) + Sync,
    ) {
        let dtype = ws[0].dtype();
        let w_row = dtype
            .row_bytes(ws[0].cols())
            .expect("checked when the tensor was built");
        let group_bytes = ROWS * w_row;
        let a = |t: usize| &self.act[t * self.act_row..(t + 1) * self.act_row];
        // All tokens against one group (K of them) while it is in L1/L2.
        let multiply = |g: usize, bufs: [&[u8]; K]| {
            let mut lanes = [[[0.0f32; ROWS]; 4]; K];
            for t0 in (0..self.n_tokens).step_by(4) {
                let t_end = (t0 + 4).min(self.n_tokens);
                let acts: [&[u8]; 4] = std::array::from_fn(|k| a((t0 + k).min(t_end - 1)));
                for (buf, lanes) in bufs.iter().zip(lanes.iter_mut()) {
                    (self.kernel)(buf, &acts[..t_end - t0], lanes);
                }
                emit(t0, g * ROWS, lanes.each_mut().map(|l| &mut l[..t_end - t0]));
            }
        };
        fn group_of(w: &Tensor, g: usize, group_bytes: usize) -> &[u8] {
            &w.bytes()[g * group_bytes..(g + 1) * group_bytes]
        }
        if !self.interleave {
            // Interleaved at load: each group is read in place, one stream per work item.
            let chunk = groups.div_ceil(self.threads.max(1) * 8).max(1);
            parallel::for_each_chunk(groups, chunk, self.threads, |range| {
                for g in range {
                    multiply(g, ws.map(|w| group_of(w, g, group_bytes)));
                }
            });
            return;
        }
        let chunk = groups.div_ceil(self.threads.max(1) * 8).clamp(1, 4);
        parallel::for_each_chunk(groups, chunk, self.threads, |range| {
            GROUPS.with_borrow_mut(|bufs| {
                bufs.resize_with(K, Vec::new);
                for buf in bufs.iter_mut() {
                    buf.resize(group_bytes, 0);
                }
                for g in range {
                    for (buf, w) in bufs.iter_mut().zip(ws) {
                        interleaved::interleave_group(dtype, group_of(w, g, group_bytes), buf);
                    }
                    multiply(g, std::array::from_fn(|k| bufs[k].as_slice()));
                }
            });
        });
    }
}

/// SwiGLU's gated projection: `out[t][r] = silu(gate[r] · x[t]) · (up[r] · x[t])` for weights
/// `gate` and `up` of the same type and shape `[rows, cols]`. For weights with group kernels
/// (`crate::interleaved`: interleaved at load, or batches of such types in file layout) the
/// activations are quantized once and both products and the gating run per group of eight
/// rows, so the up projection never exists as a whole matrix; otherwise it is two `matmul`s and
/// `silu_mul`.
pub fn swiglu(
    kernels: &KernelSet,
    threads: usize,
    gate: &Tensor,
    up: &Tensor,
    x: &[f32],
    n_tokens: usize,
    out: &mut [f32],
) -> Result<()> {
    if gate.shape() != up.shape() || gate.dtype() != up.dtype() {
        return Err(Error::ShapeMismatch {
            op: "swiglu",
            detail: format!(
                "gate {:?} {} and up {:?} {} differ",
                gate.shape(),
                gate.dtype(),
                up.shape(),
                up.dtype()
            ),
        });
    }
    let (rows, cols) = (gate.rows(), gate.cols());
    let dtype = gate.dtype();
    let in_file_layout = [gate, up].map(|w| w.layout() == Layout::Rows);
    let interleave = match in_file_layout {
        [false, false] => Some(false),
        [true, true] if n_tokens >= 2 && rows >= ROWS => Some(true),
        _ => None,
    };
    let fused = ActFormat::for_weights(dtype).zip(interleave.zip(kernels.interleaved(dtype)));
    let Some((act_format, (interleave, kernel))) = fused else {
        // Unfused: the up projection in a per-thread buffer that only grows (this is the
        // single-token path of every decode step).
        return UP_SCRATCH.with_borrow_mut(|buf| {
            if buf.len() < out.len() {
                buf.resize(out.len(), 0.0);
            }
            let up_out = &mut buf[..out.len()];
            matmul(kernels, threads, gate, x, n_tokens, out)?;
            matmul(kernels, threads, up, x, n_tokens, up_out)?;
            silu_mul(threads, out, up_out);
            Ok(())
        });
    };
    check_product("swiglu", gate, x, n_tokens, out)?;
    let silu = kernels.silu_mul;
    let out_ptr = SharedOut(out.as_mut_ptr());
    let act_row = act_format.row_bytes(cols);
    with_quantized(act_format, threads, x, cols, |act| {
        let groups = rows / ROWS;
        let job = GroupJob {
            interleave,
            kernel,
            act,
            act_row,
            n_tokens,
            threads: threads_for(rows * cols * n_tokens, threads),
        };
        job.run([gate, up], groups, |t0, r0, [g, u]| {
            // One gating call for the (up to four) tokens' lanes.
            silu(g.as_flattened_mut(), u.as_flattened());
            // SAFETY: as in `matmul`'s group path.
            unsafe { out_ptr.store_lanes(t0, r0, rows, g) };
        });
        // Rows after the last whole group, by dot products.
        let first = groups * ROWS;
        if first < rows {
            let dot = kernels
                .dot_quant(dtype)
                .expect("every quantized type has a kernel");
            let w_row = dtype.row_bytes(cols).expect("checked when built");
            let (gb, ub) = (gate.bytes(), up.bytes());
            for t in 0..n_tokens {
                let a = &act[t * act_row..(t + 1) * act_row];
                let dot_row = |b: &[u8], r: usize| dot(&b[r * w_row..(r + 1) * w_row], a);
                let mut g: Vec<f32> = (first..rows).map(|r| dot_row(gb, r)).collect();
                let u: Vec<f32> = (first..rows).map(|r| dot_row(ub, r)).collect();
                silu(&mut g, &u);
                // SAFETY: the single thread here writes rows first..rows of token t, inside
                // `out`.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        g.as_ptr(),
                        out_ptr.get().add(t * rows + first),
                        g.len(),
                    )
                };
            }
        }
    });
    Ok(())
}

/// Tokens per tile of the matrix-matrix loop: a tile's quantized activations (8 rows of a few
/// KB) stay in L1 while a chunk's weight rows stream past them once per tile from L2.
const TOKEN_TILE: usize = 8;

/// Rows per work item: small for batches (the chunk's weights must stay cached while every
/// token tile passes), about eight items per thread for single tokens.
fn row_chunk(rows: usize, n_tokens: usize, threads: usize) -> usize {
    if n_tokens > 1 {
        16
    } else {
        rows.div_ceil(threads.max(1) * 8).max(16)
    }
}

/// Threads worth waking for `work` multiply-adds.
fn threads_for(work: usize, threads: usize) -> usize {
    if work < 1 << 18 {
        1
    } else {
        threads
    }
}

thread_local! {
    /// The up projection of an unfused `swiglu`, reused across calls.
    static UP_SCRATCH: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
    /// Each thread's buffers for the groups it is interleaving, reused across calls.
    static GROUPS: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
    /// The caller's buffer for quantized activations, reused across calls.
    static ACTIVATIONS: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` on the rows of `x` (each `cols` wide) quantized to `format`, in the caller's
/// activation buffer (grown, never cleared: quantization writes every byte it hands on).
fn with_quantized<R>(
    format: ActFormat,
    threads: usize,
    x: &[f32],
    cols: usize,
    f: impl FnOnce(&[u8]) -> R,
) -> R {
    ACTIVATIONS.with_borrow_mut(|buf| {
        let need = x.len() / cols.max(1) * format.row_bytes(cols);
        if buf.len() < need {
            buf.resize(need, 0);
        }
        let act = &mut buf[..need];
        quantize_activations(format, threads, x, cols, act);
        f(act)
    })
}

/// Quantizes each `cols`-wide row of `x` into `act` (rows of `format.row_bytes(cols)`).
fn quantize_activations(format: ActFormat, threads: usize, x: &[f32], cols: usize, act: &mut [u8]) {
    let act_row = format.row_bytes(cols);
    let n = x.len() / cols;
    let threads = if n * cols < 1 << 15 { 1 } else { threads };
    parallel::for_each_range_mut(act, act_row, threads, |tokens, part| {
        for (t, ar) in tokens.zip(part.chunks_exact_mut(act_row)) {
            format.quantize(&x[t * cols..(t + 1) * cols], ar);
        }
    });
}

/// A raw output pointer shared by threads that write disjoint elements.
struct SharedOut(*mut f32);
impl SharedOut {
    fn get(&self) -> *mut f32 {
        self.0
    }

    /// Writes `lanes[k]` to rows `r0..r0 + 8` of token `t0 + k` of a `[tokens, rows]` output.
    ///
    /// # Safety
    /// Those elements must lie inside the output, and no other thread may write them.
    unsafe fn store_lanes(&self, t0: usize, r0: usize, rows: usize, lanes: &[[f32; ROWS]]) {
        for (t, lane) in (t0..).zip(lanes) {
            // SAFETY: guaranteed by the caller.
            unsafe {
                std::ptr::copy_nonoverlapping(lane.as_ptr(), self.0.add(t * rows + r0), ROWS)
            };
        }
    }
}
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

/// Attention scores with the fastest kernel set: `out[i·n + j]` is query `i` of `qs` (each
/// `width` values) · row `rows[offsets[j]..][..width]`, for `n = offsets.len()` rows gathered
/// from the cache. Panics when a row is out of bounds or the shapes disagree.
pub fn dot_rows(qs: &[f32], width: usize, rows: CacheRows<'_>, offsets: &[usize], out: &mut [f32]) {
    (crate::cpu::best().dot_rows)(qs, width, rows, offsets, out)
}

/// Attention output with the fastest kernel set: `out[i·width..][..width] = Σ_j ps[i·n + j] ·
/// rows[offsets[j]..][..width]` for each query `i` (its `n = offsets.len()` probabilities).
pub fn weighted_rows(
    ps: &[f32],
    rows: CacheRows<'_>,
    offsets: &[usize],
    out: &mut [f32],
    width: usize,
) {
    (crate::cpu::best().weighted_rows)(ps, rows, offsets, out, width)
}

/// `dst[i] = f16(src[i])` (bits, round to nearest even) with the fastest kernel set.
pub fn to_f16(src: &[f32], dst: &mut [u16]) {
    (crate::cpu::best().to_f16)(src, dst)
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
    // The angles depend only on the position: compute them once for every head.
    let mut angles = [(0.0f32, 0.0f32); 256];
    let computed = half <= angles.len();
    if computed {
        for (a, &f) in angles.iter_mut().zip(inv_freq) {
            *a = (pos as f32 * f).sin_cos();
        }
    }
    for head in x.chunks_exact_mut(head_dim) {
        for (i, &f) in inv_freq.iter().enumerate() {
            let (sin, cos) = if computed {
                angles[i]
            } else {
                (pos as f32 * f).sin_cos()
            };
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

/// In-place softmax with the fastest kernel set; the maximum is subtracted first.
pub fn softmax(x: &mut [f32]) {
    (crate::cpu::best().softmax)(x)
}

/// SwiGLU: `gate = silu(gate) · up`, element-wise, with the fastest kernel set, on up to
/// `threads` threads for big batches.
pub fn silu_mul(threads: usize, gate: &mut [f32], up: &[f32]) {
    let n = gate.len().min(up.len());
    let kernel = crate::cpu::best().silu_mul;
    if n < 1 << 15 || threads <= 1 {
        return kernel(&mut gate[..n], &up[..n]);
    }
    parallel::for_each_range_mut(&mut gate[..n], 1024, threads, |range, part| {
        let start = range.start * 1024;
        kernel(part, &up[start..start + part.len()]);
    });
}

/// `acc += x`, element-wise (the residual connection).
pub fn add_assign(acc: &mut [f32], x: &[f32]) {
    for (a, &v) in acc.iter_mut().zip(x) {
        *a += v;
    }
}
