//! CPU kernels. A `KernelSet` is a table of functions with the same signatures for every
//! instruction set; `scalar` is the specification and is always available, and `best()` picks
//! the fastest set the running CPU supports, once, at first use. Adding an instruction set means
//! one new file here and one line in `available()`.
//!
//! Two kinds of dot product: plain-float weights (F32, F16, BF16) against f32 activations, and
//! block-quantized weights against activations quantized to 8-bit blocks
//! (`quant::activation`), which run on integer multiply-adds.

pub mod parallel;
pub mod scalar;
#[cfg(target_arch = "x86_64")]
pub mod x86_avx2;

use std::sync::OnceLock;

use crate::DType;

/// Dot product of one weight row (raw bytes of a plain-float `DType`) with f32 activations:
/// the same arithmetic as a `FloatTileFn` of one row and one token, with less call overhead
/// (single-token decoding calls it once per row).
pub type DotFn = fn(row: &[u8], x: &[f32]) -> f32;

/// Dot products of one or two weight rows (raw bytes of a plain-float `DType`) with one to
/// three f32 activation rows: `out[t][r] = rows[r] · xs[t]`. Every (row, token) pair is
/// computed with the same arithmetic whatever the tile's size, so a token's values do not
/// depend on the batch; tiles of several rows and tokens reuse each load in registers.
pub type FloatTileFn = fn(rows: &[&[u8]], xs: &[&[f32]], out: &mut [[f32; 4]; 3]);

/// Dot product of one block-quantized weight row with activations quantized to the weight
/// type's `ActFormat` (raw bytes of as many activation blocks as the row has values).
pub type QDotFn = fn(row: &[u8], act: &[u8]) -> f32;

/// One block-quantized weight row · four activation rows (the inner step of the batched
/// matrix-matrix product: the row is unpacked once for four tokens).
pub type QDot4Fn = fn(row: &[u8], acts: [&[u8]; 4]) -> [f32; 4];

/// Eight weight rows interleaved as one group (`crate::interleaved`) · one to four activation
/// rows in the weight type's `ActFormat`: `out[t][r]` for `t < acts.len()`. The one kernel
/// of each such type for single tokens and batches alike.
pub type GroupFn = fn(group: &[u8], acts: &[&[u8]], out: &mut [[f32; 8]; 4]);

/// `out[i·n + j] = Σ_c qs[i·width + c] · rows[offsets[j] + c]`: `m = qs.len() / width` queries
/// against `n = offsets.len()` gathered key rows (attention scores; the queries of one
/// key-value head share each row load).
pub type DotRowsFn =
    fn(qs: &[f32], width: usize, rows: CacheRows<'_>, offsets: &[usize], out: &mut [f32]);

/// `out[i·width + c] = Σ_j ps[i·n + j] · rows[offsets[j] + c]`: each query's
/// probability-weighted sum of the `n = offsets.len()` gathered value rows (attention output).
pub type WeightedRowsFn =
    fn(ps: &[f32], rows: CacheRows<'_>, offsets: &[usize], out: &mut [f32], width: usize);

/// f32 → f16 bits, rounding to nearest even (writing a key or value into an f16 cache).
pub type ToF16Fn = fn(src: &[f32], dst: &mut [u16]);

/// Rows of a key-value cache, in the element type the cache stores.
#[derive(Debug, Clone, Copy)]
pub enum CacheRows<'a> {
    /// f32 values.
    F32(&'a [f32]),
    /// f16 values (their bits).
    F16(&'a [u16]),
}

impl CacheRows<'_> {
    /// Values held.
    pub fn len(&self) -> usize {
        match self {
            CacheRows::F32(r) => r.len(),
            CacheRows::F16(r) => r.len(),
        }
    }

    /// True when no values are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value `i` as f32.
    #[inline]
    pub fn get(&self, i: usize) -> f32 {
        match self {
            CacheRows::F32(r) => r[i],
            CacheRows::F16(r) => half::f16::from_bits(r[i]).to_f32(),
        }
    }

    /// The values from `start` on.
    pub fn skip(&self, start: usize) -> Self {
        match self {
            CacheRows::F32(r) => CacheRows::F32(&r[start..]),
            CacheRows::F16(r) => CacheRows::F16(&r[start..]),
        }
    }
}

/// In-place softmax of a row (the maximum is subtracted first).
pub type SoftmaxFn = fn(x: &mut [f32]);

/// SwiGLU's `gate[i] = silu(gate[i]) · up[i]`.
pub type SiluMulFn = fn(gate: &mut [f32], up: &[f32]);

/// One instruction set's kernels.
#[derive(Debug)]
pub struct KernelSet {
    /// Name shown in logs and test failures, e.g. `avx2`.
    pub name: &'static str,
    /// F32 row · f32.
    pub dot_f32: DotFn,
    /// F16 row · f32.
    pub dot_f16: DotFn,
    /// BF16 row · f32.
    pub dot_bf16: DotFn,
    /// F32 rows · f32 rows.
    pub tile_f32: FloatTileFn,
    /// F16 rows · f32 rows.
    pub tile_f16: FloatTileFn,
    /// BF16 rows · f32 rows.
    pub tile_bf16: FloatTileFn,
    /// Q4_0 row · Q8 activations.
    pub dot_q4_0: QDotFn,
    /// Q4_1 row · Q8 activations.
    pub dot_q4_1: QDotFn,
    /// Q5_0 row · Q8 activations.
    pub dot_q5_0: QDotFn,
    /// Q5_1 row · Q8 activations.
    pub dot_q5_1: QDotFn,
    /// Q8_0 row · Q8 activations.
    pub dot_q8_0: QDotFn,
    /// IQ4_NL row · Q8 activations.
    pub dot_iq4_nl: QDotFn,
    /// Q2_K row · Q8K activations.
    pub dot_q2_k: QDotFn,
    /// Q3_K row · Q8K activations.
    pub dot_q3_k: QDotFn,
    /// Q4_K row · Q8K activations.
    pub dot_q4_k: QDotFn,
    /// Q5_K row · Q8K activations.
    pub dot_q5_k: QDotFn,
    /// Q6_K row · Q8K activations.
    pub dot_q6_k: QDotFn,
    /// IQ4_XS row · Q8K activations.
    pub dot_iq4_xs: QDotFn,
    /// Q4_0 row · four Q8 activation rows.
    pub dot4_q4_0: QDot4Fn,
    /// Q8_0 row · four Q8 activation rows.
    pub dot4_q8_0: QDot4Fn,
    /// Q4_K row · four Q8K activation rows.
    pub dot4_q4_k: QDot4Fn,
    /// Q6_K row · four Q8K activation rows.
    pub dot4_q6_k: QDot4Fn,
    /// Query · gathered rows.
    pub dot_rows: DotRowsFn,
    /// Weighted sum of gathered rows.
    pub weighted_rows: WeightedRowsFn,
    /// f32 → f16.
    pub to_f16: ToF16Fn,
    /// Softmax.
    pub softmax: SoftmaxFn,
    /// SwiGLU's gating.
    pub silu_mul: SiluMulFn,
    /// Eight interleaved Q4_0 rows (`crate::interleaved`) · one to four Q8 activation rows.
    pub interleaved_q4_0: GroupFn,
    /// Eight interleaved Q8_0 rows · one to four Q8 activation rows.
    pub interleaved_q8_0: GroupFn,
    /// Eight interleaved Q4_K rows · one to four Q8K activation rows.
    pub interleaved_q4_k: GroupFn,
    /// Eight interleaved Q6_K rows · one to four Q8K activation rows.
    pub interleaved_q6_k: GroupFn,
}

impl KernelSet {
    /// The one-row f32-activation kernel for plain-float weights of `dtype`.
    pub fn dot_float(&self, dtype: DType) -> Option<DotFn> {
        Some(match dtype {
            DType::F32 => self.dot_f32,
            DType::F16 => self.dot_f16,
            DType::Bf16 => self.dot_bf16,
            _ => return None,
        })
    }

    /// The tile kernel for plain-float weights of `dtype`.
    pub fn float_tile(&self, dtype: DType) -> Option<FloatTileFn> {
        Some(match dtype {
            DType::F32 => self.tile_f32,
            DType::F16 => self.tile_f16,
            DType::Bf16 => self.tile_bf16,
            _ => return None,
        })
    }

    /// The quantized-activation kernel for block-quantized weights of `dtype`.
    pub fn dot_quant(&self, dtype: DType) -> Option<QDotFn> {
        Some(match dtype {
            DType::Q4_0 => self.dot_q4_0,
            DType::Q4_1 => self.dot_q4_1,
            DType::Q5_0 => self.dot_q5_0,
            DType::Q5_1 => self.dot_q5_1,
            DType::Q8_0 => self.dot_q8_0,
            DType::Iq4Nl => self.dot_iq4_nl,
            DType::Q2K => self.dot_q2_k,
            DType::Q3K => self.dot_q3_k,
            DType::Q4K => self.dot_q4_k,
            DType::Q5K => self.dot_q5_k,
            DType::Q6K => self.dot_q6_k,
            DType::Iq4Xs => self.dot_iq4_xs,
            DType::F32 | DType::F16 | DType::Bf16 => return None,
        })
    }
}

impl KernelSet {
    /// The four-token kernel for weights of `dtype`, for the types that have one.
    pub fn dot4_quant(&self, dtype: DType) -> Option<QDot4Fn> {
        Some(match dtype {
            DType::Q4_0 => self.dot4_q4_0,
            DType::Q8_0 => self.dot4_q8_0,
            DType::Q4K => self.dot4_q4_k,
            DType::Q6K => self.dot4_q6_k,
            _ => return None,
        })
    }
}

impl KernelSet {
    /// The kernel for weights of `dtype` in `Layout::Interleaved8`, for the types that have
    /// that layout: eight rows of a group against one to four tokens.
    pub fn interleaved(&self, dtype: DType) -> Option<GroupFn> {
        match dtype {
            DType::Q4_0 => Some(self.interleaved_q4_0),
            DType::Q8_0 => Some(self.interleaved_q8_0),
            DType::Q4K => Some(self.interleaved_q4_k),
            DType::Q6K => Some(self.interleaved_q6_k),
            _ => None,
        }
    }
}

/// Every kernel set this CPU can run, scalar first.
pub fn available() -> Vec<&'static KernelSet> {
    #[allow(unused_mut)]
    let mut sets = vec![&scalar::KERNELS];
    #[cfg(target_arch = "x86_64")]
    if let Some(k) = x86_avx2::kernels() {
        sets.push(k);
    }
    sets
}

/// The fastest kernel set this CPU can run (the last of `available()`), chosen once.
/// Setting the environment variable `BEHEMOTH_KERNELS=scalar` forces the reference kernels.
pub fn best() -> &'static KernelSet {
    static BEST: OnceLock<&'static KernelSet> = OnceLock::new();
    BEST.get_or_init(|| {
        let sets = available();
        match std::env::var("BEHEMOTH_KERNELS") {
            Ok(name) => sets
                .iter()
                .copied()
                .find(|k| k.name == name)
                .unwrap_or(sets[0]),
            Err(_) => sets[sets.len() - 1],
        }
    })
}
