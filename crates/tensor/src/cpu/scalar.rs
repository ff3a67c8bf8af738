//! Reference kernels: plain Rust, the specification every SIMD kernel must match.
//! A quantized dot product is defined as the f32 dot product of the dequantized weight block
//! with the dequantized activation block, summed over blocks; SIMD kernels compute the same
//! value with exact integer sums and differ only by float rounding.

use half::{bf16, f16};

use super::{CacheRows, KernelSet};
use crate::quant::activation::{self, ActFormat};
use crate::quant::dequantize_block;
use crate::DType;

/// The scalar kernel set.
pub static KERNELS: KernelSet = KernelSet {
    name: "scalar",
    dot_f32,
    dot_f16,
    dot_bf16,
    tile_f32,
    tile_f16,
    tile_bf16,
    dot_q4_0,
    dot_q4_1,
    dot_q5_0,
    dot_q5_1,
    dot_q8_0,
    dot_iq4_nl,
    dot_q2_k,
    dot_q3_k,
    dot_q4_k,
    dot_q5_k,
    dot_q6_k,
    dot_iq4_xs,
    dot4_q4_0,
    dot4_q8_0,
    dot4_q4_k,
    dot4_q6_k,
    dot_rows,
    weighted_rows,
    to_f16,
    softmax,
    silu_mul,
    interleaved_q4_0,
    interleaved_q8_0,
    interleaved_q4_k,
    interleaved_q6_k,
};

macro_rules! float_tiles {
    ($($name:ident => $dot:ident),* $(,)?) => {$(
        #[doc = concat!("Each row · each activation row by `", stringify!($dot), "`.")]
        pub fn $name(rows: &[&[u8]], xs: &[&[f32]], out: &mut [[f32; 4]; 3]) {
            for (x, out) in xs.iter().zip(out.iter_mut()) {
                for (row, o) in rows.iter().zip(out.iter_mut()) {
                    *o = $dot(row, x);
                }
            }
        }
    )*};
}

float_tiles! {
    tile_f32 => dot_f32,
    tile_f16 => dot_f16,
    tile_bf16 => dot_bf16,
}

/// F32 row · x.
pub fn dot_f32(row: &[u8], x: &[f32]) -> f32 {
    row.chunks_exact(4)
        .zip(x)
        .map(|(c, &xv)| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) * xv)
        .sum()
}

/// F16 row · x.
pub fn dot_f16(row: &[u8], x: &[f32]) -> f32 {
    row.chunks_exact(2)
        .zip(x)
        .map(|(c, &xv)| f16::from_le_bytes([c[0], c[1]]).to_f32() * xv)
        .sum()
}

/// BF16 row · x.
pub fn dot_bf16(row: &[u8], x: &[f32]) -> f32 {
    row.chunks_exact(2)
        .zip(x)
        .map(|(c, &xv)| bf16::from_le_bytes([c[0], c[1]]).to_f32() * xv)
        .sum()
}

/// Weight row of `dtype` · quantized activations: per weight block, dequantize both sides and
/// take the f32 dot product.
fn dot_quantized(dtype: DType, row: &[u8], act: &[u8]) -> f32 {
    let format = ActFormat::for_weights(dtype).expect("a block-quantized type");
    let bs = dtype.block_size();
    let act_bytes = format.block_bytes();
    let (mut w, mut x) = ([0.0f32; 256], [0.0f32; 256]);
    let mut sum = 0.0f32;
    for (b, a) in row
        .chunks_exact(dtype.block_bytes())
        .zip(act.chunks_exact(act_bytes))
    {
        dequantize_block(dtype, b, &mut w[..bs]);
        activation::dequantize(format, a, &mut x[..bs]);
        sum += w[..bs]
            .iter()
            .zip(&x[..bs])
            .map(|(a, b)| a * b)
            .sum::<f32>();
    }
    sum
}

macro_rules! quantized_dots {
    ($($name:ident => $dtype:expr),* $(,)?) => {$(
        #[doc = concat!("`", stringify!($dtype), "` row · quantized activations.")]
        pub fn $name(row: &[u8], act: &[u8]) -> f32 {
            dot_quantized($dtype, row, act)
        }
    )*};
}

quantized_dots! {
    dot_q4_0 => DType::Q4_0,
    dot_q4_1 => DType::Q4_1,
    dot_q5_0 => DType::Q5_0,
    dot_q5_1 => DType::Q5_1,
    dot_q8_0 => DType::Q8_0,
    dot_iq4_nl => DType::Iq4Nl,
    dot_q2_k => DType::Q2K,
    dot_q3_k => DType::Q3K,
    dot_q4_k => DType::Q4K,
    dot_q5_k => DType::Q5K,
    dot_q6_k => DType::Q6K,
    dot_iq4_xs => DType::Iq4Xs,
}

/// Eight interleaved rows of `dtype` (one group, `crate::interleaved`) · one to four activation
/// rows: each row's blocks are restored to file layout and go through `dot_quantized`'s
/// arithmetic, so this equals the one-row dot product on the original rows.
fn interleaved_dot(dtype: DType, group: &[u8], acts: &[&[u8]], out: &mut [[f32; 8]; 4]) {
    let format = ActFormat::for_weights(dtype).expect("a block-quantized type");
    let (bs, ab) = (dtype.block_size(), format.block_bytes());
    let nb = group.len() / (crate::interleaved::ROWS * dtype.block_bytes());
    let mut block = [0u8; 256];
    let block = &mut block[..dtype.block_bytes()];
    let (mut w, mut x) = ([0.0f32; 256], [0.0f32; 256]);
    for (a, out) in acts.iter().zip(out.iter_mut()) {
        for (r, o) in out.iter_mut().enumerate() {
            let mut sum = 0.0f32;
            for b in 0..nb {
                crate::interleaved::file_block(dtype, group, b, r, block);
                dequantize_block(dtype, block, &mut w[..bs]);
                activation::dequantize(format, &a[b * ab..(b + 1) * ab], &mut x[..bs]);
                sum += w[..bs]
                    .iter()
                    .zip(&x[..bs])
                    .map(|(a, b)| a * b)
                    .sum::<f32>();
            }
            *o = sum;
        }
    }
}

/// Eight interleaved Q4_0 rows · one to four Q8 activation rows.
pub fn interleaved_q4_0(group: &[u8], acts: &[&[u8]], out: &mut [[f32; 8]; 4]) {
    interleaved_dot(DType::Q4_0, group, acts, out);
}

/// Eight interleaved Q8_0 rows · one to four Q8 activation rows.
pub fn interleaved_q8_0(group: &[u8], acts: &[&[u8]], out: &mut [[f32; 8]; 4]) {
    interleaved_dot(DType::Q8_0, group, acts, out);
}

/// Eight interleaved Q4_K rows · one to four Q8K activation rows.
pub fn interleaved_q4_k(group: &[u8], acts: &[&[u8]], out: &mut [[f32; 8]; 4]) {
    interleaved_dot(DType::Q4K, group, acts, out);
}

/// Eight interleaved Q6_K rows · one to four Q8K activation rows.
pub fn interleaved_q6_k(group: &[u8], acts: &[&[u8]], out: &mut [[f32; 8]; 4]) {
    interleaved_dot(DType::Q6K, group, acts, out);
}

macro_rules! four_token_dots {
    ($($name:ident => $one:ident),* $(,)?) => {$(
        #[doc = concat!("Four activation rows, one `", stringify!($one), "` each.")]
        pub fn $name(row: &[u8], acts: [&[u8]; 4]) -> [f32; 4] {
            acts.map(|a| $one(row, a))
        }
    )*};
}

four_token_dots! {
    dot4_q4_0 => dot_q4_0,
    dot4_q8_0 => dot_q8_0,
    dot4_q4_k => dot_q4_k,
    dot4_q6_k => dot_q6_k,
}

/// `out[i·n + j] = qs[i·width..][..width] · rows[offsets[j]..][..width]` for the `m` queries
/// of `qs` and the `n = offsets.len()` rows.
pub fn dot_rows(qs: &[f32], width: usize, rows: CacheRows<'_>, offsets: &[usize], out: &mut [f32]) {
    let n = offsets.len();
    for (q, out) in qs.chunks_exact(width).zip(out.chunks_exact_mut(n.max(1))) {
        for (o, &off) in out.iter_mut().zip(offsets) {
            *o = (0..width).map(|c| q[c] * rows.get(off + c)).sum();
        }
    }
}

/// `out[i·width..][..width] = Σ_j ps[i·n + j] · rows[offsets[j]..][..width]` for each query `i`.
pub fn weighted_rows(
    ps: &[f32],
    rows: CacheRows<'_>,
    offsets: &[usize],
    out: &mut [f32],
    width: usize,
) {
    let n = offsets.len();
    out.fill(0.0);
    for (p, out) in ps.chunks_exact(n.max(1)).zip(out.chunks_exact_mut(width)) {
        for (&pj, &off) in p.iter().zip(offsets) {
            for (c, o) in out.iter_mut().enumerate() {
                *o += pj * rows.get(off + c);
            }
        }
    }
}

/// f32 → f16 bits, rounding to nearest even.
pub fn to_f16(src: &[f32], dst: &mut [u16]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = f16::from_f32(s).to_bits();
    }
}

/// In-place softmax with libm's `exp`; the maximum is subtracted first for stability.
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

/// `gate = silu(gate) · up`, element-wise, with libm's `exp`.
pub fn silu_mul(gate: &mut [f32], up: &[f32]) {
    for (g, &u) in gate.iter_mut().zip(up) {
        *g = *g / (1.0 + (-*g).exp()) * u;
    }
}
